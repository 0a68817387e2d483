"""``published_reproduction``: a model's fused images against the published ones, on a run directory built here."""
from __future__ import annotations

import math

import numpy as np
import pytest

from fusionbench.image_io import write_png
from fusionbench.reports.reproduction import (PUBLISHED_COUNTERPARTS, VIFB_JPEG_QUALITY, as_jpeg,
                                              published_reproduction, published_reproduction_items, summarise)


def write_fused(run_dir, algorithm_folder: str, item: str, image: np.ndarray) -> None:
    write_png(run_dir / "fused" / algorithm_folder / "vifb" / f"{item}.png", image)


@pytest.fixture
def run_dir(tmp_path):
    """seafusion vs vifb:SeAFusion on two common items, u2fusion grey vs RGB, ifcnn-max alone."""
    model = np.full((4, 5, 3), 100, np.uint8)
    # 60 values: 30 equal, 15 off by 1, 10 off by 2 (one down), 5 off by 10
    offsets = np.array([0] * 30 + [1] * 15 + [2] * 5 + [-2] * 5 + [10] * 5).reshape(4, 5, 3)
    write_fused(tmp_path, "seafusion", "carLight", model)
    write_fused(tmp_path, "vifb@SeAFusion", "carLight", (model + offsets).astype(np.uint8))
    write_fused(tmp_path, "seafusion", "kettle", model)
    write_fused(tmp_path, "vifb@SeAFusion", "kettle", model)
    write_fused(tmp_path, "seafusion", "only-here", model)  # no published counterpart: not counted
    write_fused(tmp_path, "vifb@SeAFusion", "only-published", model)
    write_fused(tmp_path, "u2fusion", "fight", np.full((2, 3), 10, np.uint8))
    write_fused(tmp_path, "vifb@U2Fusion", "fight", np.full((2, 3, 3), 11, np.uint8))
    write_fused(tmp_path, "ifcnn-max", "fight", np.full((2, 3), 10, np.uint8))
    return tmp_path


def test_pairs_are_the_zoo_models_with_a_vifb_counterpart():
    assert PUBLISHED_COUNTERPARTS == {"seafusion": "vifb:SeAFusion", "u2fusion": "vifb:U2Fusion",
                                      "ifcnn-max": "vifb:IFCNN"}


def test_values_are_pooled_over_the_common_items(run_dir):
    table = published_reproduction(run_dir).set_index("model")
    assert list(table.index) == ["seafusion", "u2fusion"]  # ifcnn-max has no published images here
    seafusion = table.loc["seafusion"]
    assert seafusion["published"] == "vifb:SeAFusion" and seafusion["dataset"] == "vifb"
    assert seafusion["items"] == 2
    assert seafusion["exact_percent"] == pytest.approx(100 * 90 / 120)
    assert seafusion["within_one_percent"] == pytest.approx(100 * 105 / 120)
    assert seafusion["within_two_percent"] == pytest.approx(100 * 115 / 120)
    assert seafusion["mean_absolute_difference"] == pytest.approx((15 + 20 + 50) / 120)
    assert seafusion["psnr"] == pytest.approx(10 * math.log10(255 ** 2 / ((15 + 40 + 500) / 120)))


def test_a_grey_model_image_is_compared_with_a_grey_looking_rgb_one(run_dir):
    u2fusion = published_reproduction(run_dir).set_index("model").loc["u2fusion"]
    assert u2fusion["items"] == 1 and u2fusion["exact_percent"] == 0 and u2fusion["within_one_percent"] == 100
    assert u2fusion["mean_absolute_difference"] == 1 and u2fusion["psnr"] == pytest.approx(20 * math.log10(255))


def test_item_rows_hold_exact_counts(run_dir):
    items = published_reproduction_items(run_dir, {"seafusion": "vifb:SeAFusion"})
    assert list(items["item"]) == ["carLight", "kettle"]
    assert items[["values", "exact", "within_one", "within_two"]].values.tolist() == [[60, 30, 45, 55],
                                                                                      [60, 60, 60, 60]]
    assert list(items["squared_difference_sum"]) == [555, 0]


def test_identical_images_give_infinite_psnr_and_no_pairs_give_no_rows(run_dir, tmp_path_factory):
    kettle = published_reproduction_items(run_dir, {"seafusion": "vifb:SeAFusion"}).query("item == 'kettle'")
    summary = summarise(kettle)
    assert summary["exact_percent"].item() == 100 and summary["psnr"].item() == math.inf
    empty = published_reproduction(tmp_path_factory.mktemp("empty-run"))
    assert empty.empty and "within_one_percent" in empty.columns


def test_images_of_different_sizes_are_refused(tmp_path):
    write_fused(tmp_path, "seafusion", "carLight", np.zeros((4, 5, 3), np.uint8))
    write_fused(tmp_path, "vifb@SeAFusion", "carLight", np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="different sizes"):
        published_reproduction(tmp_path)


def test_the_model_compressed_as_the_published_jpeg_matches_that_jpeg_exactly(tmp_path):
    rows, columns = np.mgrid[0:32, 0:48]
    model = np.stack([(rows * 7 + columns * 3) % 256, (rows * 2) % 256, (columns * 5) % 256], axis=2).astype(np.uint8)
    published = as_jpeg(model, VIFB_JPEG_QUALITY)
    assert published.shape == model.shape and published.dtype == np.uint8
    assert 0 < np.abs(published.astype(int) - model).mean() < 8  # the compression changes values
    write_fused(tmp_path, "seafusion", "carLight", model)
    write_fused(tmp_path, "vifb@SeAFusion", "carLight", published)
    plain = published_reproduction(tmp_path).iloc[0]
    compressed = published_reproduction(tmp_path, model_jpeg_quality=VIFB_JPEG_QUALITY).iloc[0]
    assert plain["exact_percent"] < 100
    assert compressed["exact_percent"] == 100 and compressed["psnr"] == math.inf


# ---- on VIFB's published images (the mirror), as in reports/zoo-reproduction.md ----------------------------------


def fuse_into_run(run_dir, names: list[str], items: list[str]) -> None:
    """Write what ``fusionbench run`` would: each algorithm's fused image of each VIFB item."""
    import fusionbench
    from fusionbench.datasets import get_dataset
    from fusionbench.image_io import match_channels, read_image

    dataset = get_dataset("vifb")
    for item in items:
        sources = match_channels([read_image(path) for path in dataset.item(item).source_paths()])
        for name in names:
            options = {} if ":" in name else {"device": "cpu"}  # published images take no options
            fused = fusionbench.create_algorithm(name, **options).fuse(sources, family=dataset.family)
            write_fused(run_dir, name.replace(":", "@"), item, fused)


def require_vifb(reference_file) -> None:
    pytest.importorskip("torch")
    reference_file("vifb/fused/SeAFusion/carLight_SeAFusion.jpg")


def test_seafusion_and_ifcnn_give_vifbs_images_up_to_the_jpeg_compression(reference_file, tmp_path):
    # carLight, measured: seafusion 80.5 % within +-1 as is, 92.9 % compressed alike; ifcnn-max 82.6 %, 97.7 %
    require_vifb(reference_file)
    fuse_into_run(tmp_path, ["seafusion", "ifcnn-max", "vifb:SeAFusion", "vifb:IFCNN"], ["carLight"])
    plain = published_reproduction(tmp_path).set_index("model")
    compressed = published_reproduction(tmp_path, model_jpeg_quality=VIFB_JPEG_QUALITY).set_index("model")
    assert list(plain.index) == ["seafusion", "ifcnn-max"]
    assert plain.loc["seafusion", "within_one_percent"] == pytest.approx(80.5, abs=0.5)
    assert compressed.loc["seafusion", "within_one_percent"] == pytest.approx(92.9, abs=0.5)
    assert plain.loc["ifcnn-max", "within_one_percent"] == pytest.approx(82.6, abs=0.5)
    assert compressed.loc["ifcnn-max", "within_one_percent"] == pytest.approx(97.7, abs=0.5)


@pytest.mark.slow
def test_the_zoo_reproduction_report_on_all_21_pairs(reference_file, tmp_path):
    """The numbers of reports/zoo-reproduction.md (pooled over VIFB's 21 pairs)."""
    from fusionbench.datasets import get_dataset

    require_vifb(reference_file)
    items = [item.name for item in get_dataset("vifb").items]
    fuse_into_run(tmp_path, ["seafusion", "u2fusion", "ifcnn-max", "vifb:SeAFusion", "vifb:U2Fusion", "vifb:IFCNN"],
                  items)
    plain = published_reproduction(tmp_path).set_index("model")
    compressed = published_reproduction(tmp_path, model_jpeg_quality=VIFB_JPEG_QUALITY).set_index("model")
    assert (plain["items"] == 21).all()
    expected = {"seafusion": (62.98, 1.55, 87.07), "ifcnn-max": (64.17, 1.51, 91.04), "u2fusion": (14.72, 7.93, 14.83)}
    for model, (within_one, difference, compressed_within_one) in expected.items():
        assert plain.loc[model, "within_one_percent"] == pytest.approx(within_one, abs=0.2), model
        assert plain.loc[model, "mean_absolute_difference"] == pytest.approx(difference, abs=0.02), model
        assert compressed.loc[model, "within_one_percent"] == pytest.approx(compressed_within_one, abs=0.2), model
