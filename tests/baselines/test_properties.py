"""Acceptance 2 and 4: behaviour beyond Lytro (grey pairs, N-input stacks, order) and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

from fusionbench.baselines import lp_fusion
from fusionbench.errors import FusionBenchError, InputMismatchError
from fusionbench.image_io import read_image
from fusionbench.registry import create_algorithm, get_algorithm

BASELINES = ("gff", "lp", "lpsr", "average", "max-abs")


def smooth_image(seed: int, shape=(120, 136)) -> np.ndarray:
    """A deterministic textured grey image (random walk rows + columns)."""
    generator = np.random.default_rng(seed)
    field = np.cumsum(generator.normal(size=shape), axis=0) + np.cumsum(generator.normal(size=shape), axis=1)
    field = (field - field.min()) / (np.ptp(field) + 1e-9) * 235 + 10
    return np.round(field).astype(np.uint8)


@pytest.fixture(scope="module")
def grey_pair():
    return [smooth_image(1), smooth_image(2)]


@pytest.fixture
def tno_pair(reference_file):
    return [read_image(reference_file(f"tno-iv/Camp1_{side}.png")) for side in ("Vis", "IR")]


def test_registered_with_metadata():
    for name in ("gff", "lp", "lpsr", "mertens", "average", "max-abs"):
        spec = get_algorithm(name)
        assert spec.min_inputs == 2 and spec.max_inputs is None and spec.colour == "any"
    assert get_algorithm("mertens").families == ("multi-exposure",)
    assert "Li, Kang, Hu" in get_algorithm("gff").citation


@pytest.mark.parametrize("name", ["gff", "lp", "lpsr"])
def test_grey_in_grey_out_and_same_as_repeated_colour(tno_pair, name):
    """Grey sources give a grey result equal to fusing the grey repeated to RGB (GFF: same weights for all
    channels; LP/LP-SR: per channel), so the grey path is the colour path, not a special case."""
    fused = create_algorithm(name).fuse(tno_pair, family="infrared-visual")
    assert fused.ndim == 2 and fused.shape == tno_pair[0].shape and fused.dtype == np.uint8
    colour = create_algorithm(name).fuse([np.dstack([image] * 3) for image in tno_pair])
    for channel in range(3):
        np.testing.assert_array_equal(colour[:, :, channel], fused)


@pytest.mark.parametrize("name", ["gff", "lp"])
def test_identical_sources_give_the_source(grey_pair, name):
    image = grey_pair[0]
    np.testing.assert_array_equal(create_algorithm(name).fuse([image, image]), image)


def test_lpsr_of_identical_sources_is_within_one_level(grey_pair):
    """The base band is re-synthesised from OMP codes (residual <= 0.1 per patch), not copied."""
    image = grey_pair[0]
    fused = create_algorithm("lpsr").fuse([image, image])
    assert np.abs(fused.astype(int) - image).max() <= 1


@pytest.mark.parametrize("name", ["lp", "lpsr"])
def test_n_inputs_fuse_sequentially_without_intermediate_rounding(grey_pair, name):
    """fuse([A, B, C]) = uint8(pair(pair(A, B), C)) with the float pair result passed on, as the mef runs did."""
    from fusionbench.baselines import lpsr

    third = smooth_image(3)
    stack = [grey_pair[0], grey_pair[1], third]
    fused = create_algorithm(name).fuse(stack)
    rule = lp_fusion.average_base if name == "lp" else lpsr.fuse_base_bands
    planes = [lp_fusion.as_planes(image) for image in stack]
    expected = lp_fusion.fuse_pair(lp_fusion.fuse_pair(planes[0], planes[1], rule), planes[2], rule)
    np.testing.assert_array_equal(fused, lp_fusion.to_uint8_image(expected, grey=True))
    # Rounding in between is a different result (the max-|c| choices are discontinuous).
    rounded_first = create_algorithm(name).fuse(stack[:2])
    assert not np.array_equal(create_algorithm(name).fuse([rounded_first, third]), fused)


def test_lp_order_matters():
    """Band-pass ties go to the second input (see test_components), so the order of the sources matters."""
    a, b, c = smooth_image(4, (48, 48)), smooth_image(5, (48, 48)), smooth_image(6, (48, 48))
    assert not np.array_equal(create_algorithm("lp").fuse([a, b, c]), create_algorithm("lp").fuse([c, b, a]))


def test_gff_fuses_n_sources_at_once(grey_pair):
    """A duplicated source loses every arg-max tie to its first copy, so it barely changes the result."""
    two = create_algorithm("gff").fuse(grey_pair)
    three = create_algorithm("gff").fuse([grey_pair[0], grey_pair[1], grey_pair[1]])
    difference = np.abs(three.astype(int) - two)
    assert difference.max() <= 1 and np.mean(difference == 0) > 0.99


@pytest.mark.parametrize("name", ["gff", "lp", "lpsr", "mertens", "average", "max-abs"])
def test_multi_exposure_stack(reference_file, name):
    """The 5-exposure colour stack 'chair' fuses to one colour image of the same size."""
    stack = [read_image(reference_file(f"mef/chair/chairs{index}.jpg")) for index in range(1, 6)]
    fused = create_algorithm(name).fuse(stack, family="multi-exposure")
    assert fused.shape == stack[0].shape and fused.dtype == np.uint8
    # the fused image lies within the range the exposures span, up to filter overshoot
    darkest, brightest = np.min(stack, axis=0).astype(int), np.max(stack, axis=0).astype(int)
    inside = (fused >= darkest - 10) & (fused <= brightest + 10)
    assert inside.mean() > 0.95


def test_average_and_max_abs_hand_values():
    a = np.array([[0, 10], [255, 3]], np.uint8)
    b = np.array([[1, 20], [254, 3]], np.uint8)
    c = np.array([[2, 0], [0, 3]], np.uint8)
    np.testing.assert_array_equal(create_algorithm("average").fuse([a, b]), [[1, 15], [255, 3]])  # halves round up
    np.testing.assert_array_equal(create_algorithm("average").fuse([a, b, c]), [[1, 10], [170, 3]])
    np.testing.assert_array_equal(create_algorithm("max-abs").fuse([a, b, c]), [[2, 20], [255, 3]])


def test_mertens_grey_stack_and_identical_exposures(grey_pair):
    image = grey_pair[0]
    fused = create_algorithm("mertens").fuse([image, image, image], family="multi-exposure")
    assert fused.ndim == 2 and fused.dtype == np.uint8
    assert np.abs(fused.astype(int) - image).max() <= 1
    colour = create_algorithm("mertens").fuse([np.dstack([g] * 3) for g in grey_pair])
    assert colour.shape == image.shape + (3,)


@pytest.mark.parametrize("name", BASELINES + ("mertens",))
def test_bad_inputs_are_clear_errors(grey_pair, name):
    algorithm = create_algorithm(name)
    with pytest.raises(InputMismatchError, match="at least 2"):
        algorithm.fuse([grey_pair[0]])
    with pytest.raises(InputMismatchError, match="same size"):
        algorithm.fuse([grey_pair[0], grey_pair[1][:-1]])
    with pytest.raises(InputMismatchError, match="channel"):
        algorithm.fuse([grey_pair[0], np.dstack([grey_pair[1]] * 3)])


@pytest.mark.parametrize("name, side, message", [("lp", 16, "too small for a 4-level"),
                                                  ("lpsr", 16, "too small for a 4-level"),
                                                  ("gff", 90, "too small for gff's guided filter radius 45")])
def test_too_small_images_are_refused(name, side, message):
    small = [smooth_image(7, (side, side + 20)), smooth_image(8, (side, side + 20))]
    with pytest.raises(FusionBenchError, match=message):
        create_algorithm(name).fuse(small)
    bigger = [smooth_image(7, (side + 1, side + 20)), smooth_image(8, (side + 1, side + 20))]
    assert create_algorithm(name).fuse(bigger).shape == (side + 1, side + 20)


def test_gff_smaller_radius_handles_small_images():
    small = [smooth_image(9, (30, 30)), smooth_image(10, (30, 30))]
    assert create_algorithm("gff", r1=7).fuse(small).shape == (30, 30)


@pytest.mark.parametrize("name, options, message", [("lp", {"levels": 0}, "at least 1 level"),
                                                     ("lpsr", {"epsilon": 0}, "epsilon > 0"),
                                                     ("gff", {"eps1": -1}, "eps > 0")])
def test_bad_options_are_clear_errors(grey_pair, name, options, message):
    with pytest.raises(FusionBenchError, match=message):
        create_algorithm(name, **options).fuse(grey_pair)
