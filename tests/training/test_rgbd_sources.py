"""Training sources: disparity -> depth, PFM, Middlebury layout, NYU .mat, RGB+depth folders, plain images."""
import cv2
import numpy as np
import pytest

from fusionbench.errors import DataNotFoundError
from fusionbench.training.rgbd_sources import (discover_training_data, disparity_to_depth, load_middlebury,
                                               load_nyu_labelled, load_plain_images, load_rgbd_folders,
                                               read_pfm, synthetic_depth)


def test_unknown_disparity_takes_the_farther_neighbour():
    disparity = np.array([[40.0, 0.0, 0.0, 20.0, 20.0],
                          [0.0, 30.0, 30.0, 0.0, 0.0],
                          [0.0, 0.0, 0.0, 0.0, 0.0]] * 40)  # 120 rows: the 1st-percentile floor stays at 20
    depth = disparity_to_depth(disparity)
    np.testing.assert_allclose(depth[0], 1.0 / np.array([40, 20, 20, 20, 20]), rtol=1e-6)
    np.testing.assert_allclose(depth[1], 1.0 / np.array([30, 30, 30, 30, 30]), rtol=1e-6)
    np.testing.assert_allclose(depth[2], 1.0 / np.full(5, 20.0), rtol=1e-6)  # empty row: farthest known


def test_rare_tiny_disparities_are_clipped_at_the_first_percentile():
    disparity = np.full((20, 20), 50.0)
    disparity[5:15, :] = 100.0
    disparity[0, 0] = 1.0  # one mismatched pixel would make max depth 50x too large
    depth = disparity_to_depth(disparity)
    assert depth.max() == pytest.approx(1.0 / 50.0)


def _write_pfm(path, array):
    height, width = array.shape
    with open(path, "wb") as handle:
        handle.write(b"Pf\n%d %d\n-1.0\n" % (width, height))
        handle.write(np.flipud(array).astype("<f4").tobytes())


def test_read_pfm_flips_rows_and_keeps_inf(tmp_path):
    array = np.array([[1.0, 2.0, np.inf], [4.0, 5.0, 6.0]], dtype=np.float32)
    _write_pfm(tmp_path / "d.pfm", array)
    np.testing.assert_array_equal(read_pfm(tmp_path / "d.pfm"), array)


def test_load_middlebury_layouts(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    scene = tmp_path / "eval2" / "Aloe"
    scene.mkdir(parents=True)
    cv2.imwrite(str(scene / "view1.png"), rgb[..., ::-1])
    disparity = np.full((30, 40), 80, np.uint8)
    disparity[:, 20:] = 40
    disparity[0, 0] = 0
    cv2.imwrite(str(scene / "disp1.png"), disparity)
    quarter = tmp_path / "eval3-trainingQ" / "Adirondack"
    quarter.mkdir(parents=True)
    cv2.imwrite(str(quarter / "im0.png"), rgb[..., ::-1])
    pfm = np.where(disparity > 0, disparity, np.inf).astype(np.float32)
    _write_pfm(quarter / "disp0GT.pfm", pfm)
    images = load_middlebury(tmp_path)
    assert len(images) == 2
    for image in images:
        np.testing.assert_array_equal(image.rgb, rgb)
        assert image.depth[5, 5] == pytest.approx(1 / 80) and image.depth[5, 30] == pytest.approx(1 / 40)
        assert image.depth[0, 0] == pytest.approx(1 / 80)  # unknown, left edge: its right neighbour
    assert discover_training_data(tmp_path)[1].startswith("middlebury: 2 images")


def test_load_nyu_labelled_mat(tmp_path):
    h5py = pytest.importorskip("h5py")
    rgb = np.random.default_rng(1).integers(0, 256, size=(2, 24, 32, 3), dtype=np.uint8)
    depth = np.random.default_rng(2).uniform(0.5, 9.0, size=(2, 24, 32)).astype(np.float32)
    with h5py.File(tmp_path / "nyu_depth_v2_labeled.mat", "w") as handle:  # MATLAB v7.3 stores arrays transposed
        handle["images"] = rgb.transpose(0, 3, 2, 1)
        handle["depths"] = depth.transpose(0, 2, 1)
    images = load_nyu_labelled(tmp_path / "nyu_depth_v2_labeled.mat")
    np.testing.assert_array_equal(images[1].rgb, rgb[1])
    np.testing.assert_array_equal(images[1].depth, depth[1])
    assert discover_training_data(tmp_path)[1].startswith("nyu: 2 images")


def test_rgb_and_depth_folders(tmp_path):
    (tmp_path / "rgb").mkdir()
    (tmp_path / "depth").mkdir()
    cv2.imwrite(str(tmp_path / "rgb" / "a.png"), np.zeros((10, 12, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "rgb" / "b.png"), np.zeros((10, 12, 3), np.uint8))  # no depth: skipped
    depth = np.arange(120, dtype=np.uint16).reshape(10, 12) * 100
    cv2.imwrite(str(tmp_path / "depth" / "a.png"), depth)
    images = load_rgbd_folders(tmp_path / "rgb", tmp_path / "depth")
    assert len(images) == 1
    assert images[0].depth[0, 0] == depth.max() and images[0].depth[1, 1] == depth[1, 1]


def test_plain_images_get_repeatable_smooth_positive_depth(tmp_path):
    cv2.imwrite(str(tmp_path / "x.jpg"), np.full((50, 60, 3), 128, np.uint8))
    first, second = load_plain_images(tmp_path), load_plain_images(tmp_path)
    np.testing.assert_array_equal(first[0].depth, second[0].depth)
    depth = synthetic_depth(50, 60, seed=3)
    assert depth.shape == (50, 60) and depth.min() >= 1.0 and depth.max() > 1.1
    assert np.abs(np.diff(depth, axis=1)).max() < 0.2  # smooth: no jumps between neighbours


def test_missing_or_empty_data_folder(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        discover_training_data(tmp_path / "nope")
    with pytest.raises(DataNotFoundError, match="no auto training images"):
        discover_training_data(tmp_path)
