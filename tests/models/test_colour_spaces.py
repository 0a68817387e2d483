"""The named colour conversions and float-to-uint8 rules of :mod:`fusionbench.models.colour_spaces`."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fusionbench.errors import ConfigError
from fusionbench.models import colour_spaces as cs


def random_rgb(seed: int = 0, shape=(64, 80)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape + (3,), dtype=np.uint8)


def test_seafusion_known_values():
    rgb = np.array([[[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]], dtype=np.float32)
    luma, cb, cr = cs.rgb_to_ycbcr(rgb, "seafusion")
    np.testing.assert_allclose(luma[0], [1.0, 0.299, 0.114, 0.0], atol=1e-6)
    np.testing.assert_allclose(cr[0], [0.5, 0.713 * 0.701 + 0.5, 0.713 * -0.114 + 0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(cb[0], [0.5, 0.564 * -0.299 + 0.5, 0.564 * 0.886 + 0.5, 0.5], atol=1e-6)
    back = cs.ycbcr_to_rgb(np.array([[0.5]], np.float32), np.array([[0.6]], np.float32),
                           np.array([[0.7]], np.float32), "seafusion")
    np.testing.assert_allclose(back[0, 0], [0.5 + 1.403 * 0.2, 0.5 - 0.714 * 0.2 - 0.344 * 0.1, 0.5 + 1.773 * 0.1],
                               atol=1e-6)


def test_seafusion_clamps_every_plane():
    luma, cb, cr = cs.rgb_to_ycbcr(np.full((1, 1, 3), 1.0, np.float32) * [2, 2, 2], "seafusion")
    assert luma.max() == 1.0 and 0 <= cb.min() and cb.max() <= 1 and 0 <= cr.min() and cr.max() <= 1
    rgb = cs.ycbcr_to_rgb(np.array([[1.0]], np.float32), np.array([[1.0]], np.float32),
                          np.array([[1.0]], np.float32), "seafusion")
    assert rgb.min() >= 0 and rgb.max() == 1.0


def test_seafusion_round_trip_within_one_grey_level():
    rgb = cs.unit_planes(random_rgb(1))
    back = cs.ycbcr_to_rgb(*cs.rgb_to_ycbcr(rgb, "seafusion"), "seafusion")
    # The published coefficients are rounded to three decimals, so the inverse is not exact.
    assert float(np.abs(back - rgb).max()) < 2.5e-3
    assert int(np.abs(np.rint(back * 255) - np.rint(rgb * 255)).max()) <= 1


def test_float32_arithmetic_in_the_upstream_order():
    rgb = cs.unit_planes(random_rgb(2))
    red, green, blue = (rgb[..., index] for index in range(3))
    luma = np.float32(0.299) * red + np.float32(0.587) * green + np.float32(0.114) * blue
    cr = (red - luma) * np.float32(0.713) + np.float32(0.5)
    ours = cs.rgb_to_ycbcr(rgb, "seafusion")
    np.testing.assert_array_equal(ours[0], np.clip(luma, 0, 1))
    np.testing.assert_array_equal(ours[2], np.clip(cr, 0, 1))
    assert ours[0].dtype == np.float32


def test_unit_planes_is_torchvision_to_tensor():
    image = random_rgb(3)
    expected = image.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(cs.unit_planes(image), expected)


def test_pillow_grey_equals_pillow():
    image = random_rgb(4)
    expected = np.asarray(Image.fromarray(image).convert("L"))
    np.testing.assert_array_equal(cs.rgb_to_single_channel(image, "pillow-L"), expected)


def test_equal_channels_give_that_channel_and_grey_is_unchanged():
    grey = np.random.default_rng(5).integers(0, 256, (20, 30), dtype=np.uint8)
    np.testing.assert_array_equal(cs.rgb_to_single_channel(np.repeat(grey[:, :, None], 3, axis=2)), grey)
    assert cs.rgb_to_single_channel(grey) is grey


@pytest.mark.parametrize("rule,expected", [
    ("minmax-truncate", [0, 127, 255, 63]),
    ("minmax-round", [0, 128, 255, 64]),
    ("scale-truncate", [63, 159, 255, 111]),
    ("scale-round", [64, 159, 255, 112]),
])
def test_quantisation_known_values(rule, expected):
    values = np.array([0.25, 0.625, 1.0, 0.4375], dtype=np.float32)  # exact; min-max: 0, 0.5, 1, 0.25
    np.testing.assert_array_equal(cs.quantise(values, rule), expected)


def test_rounding_rules_differ_at_halves():
    values = np.array([0.5, 1.5, 2.5, 254.6], dtype=np.float32) / np.float32(255)
    assert list(cs.quantise(values, "scale-truncate")) == [0, 1, 2, 254]
    assert list(cs.quantise(values, "scale-round")) == [0, 2, 2, 255]  # NumPy rint: halves to even


def test_scale_round_is_scikit_image_img_as_ubyte():
    skimage = pytest.importorskip("skimage")
    values = np.random.default_rng(6).random((50, 70), dtype=np.float32)
    np.testing.assert_array_equal(cs.quantise(values, "scale-round"), skimage.img_as_ubyte(values))


def test_minmax_is_over_all_channels_together():
    values = np.zeros((2, 2, 3), np.float32)
    values[0, 0, 0], values[1, 1, 2] = 0.5, 0.25
    out = cs.quantise(values, "minmax-truncate")
    assert out[0, 0, 0] == 255 and out[1, 1, 2] == 127 and out.sum() == 255 + 127


def test_minmax_of_a_constant_image():
    assert list(cs.quantise(np.full(3, 0.5, np.float32), "minmax-truncate")) == [127] * 3


def test_minmax_truncate_is_seafusions_tensor2img():
    values = np.random.default_rng(7).random((3, 40, 50), dtype=np.float32) * 0.8 + 0.1
    expected = ((values - np.min(values)) / (np.max(values) - np.min(values)) * 255.0).astype(np.uint8)
    np.testing.assert_array_equal(cs.quantise(values, "minmax-truncate"), expected)


@pytest.mark.parametrize("function,name,message", [
    (cs.ycbcr_space, "bt709", r"unknown colour space 'bt709'; valid: .*seafusion"),
    (cs.grey_conversion, "matlab", "unknown grey conversion 'matlab'"),
    (cs.quantisation, "round", r"unknown quantisation 'round'; valid: .*minmax-truncate"),
])
def test_unknown_names_list_the_known_ones(function, name, message):
    with pytest.raises(ConfigError, match=message):
        function(name)


def test_every_entry_is_named_by_its_key():
    for table in (cs.YCBCR_SPACES, cs.GREY_CONVERSIONS, cs.QUANTISATIONS):
        for key, entry in table.items():
            assert entry.name == key
