"""Crops, flips and colour changes are identical across I_1, I_2 and the ground truth."""
import math

import cv2
import numpy as np
import pytest
import torch

from fusionbench.training.augmentation import (augment_triple, draw_crop, hsv_jitter, hsv_to_rgb, random_flips,
                                               rgb_to_hsv, to_grey)


def _coordinate_triple(height=60, width=80):
    rows = torch.arange(height, dtype=torch.float32).view(1, -1, 1).expand(3, height, width) / height
    columns = torch.arange(width, dtype=torch.float32).view(1, 1, -1).expand(3, height, width) / width
    return torch.cat([rows, columns, rows + columns], dim=0)


@pytest.mark.parametrize("seed", range(8))
def test_crop_resize_and_flips_are_identical_across_the_triple(seed):
    # Bilinear resampling and flips are linear: if all three images share one geometry, GT = I_1 + I_2.
    generator = torch.Generator().manual_seed(seed)
    stack = augment_triple(_coordinate_triple(), 32, generator, colour=False)
    assert stack.shape == (9, 32, 32)
    torch.testing.assert_close(stack[6:9], stack[0:3] + stack[3:6], atol=1e-5, rtol=0)
    assert not torch.allclose(stack[0:3], stack[3:6])


@pytest.mark.parametrize("seed", range(4))
def test_colour_augmentation_is_identical_across_the_triple(seed):
    image = torch.rand(3, 40, 40, generator=torch.Generator().manual_seed(100 + seed))
    stack = augment_triple(torch.cat([image, image, image]), 24, torch.Generator().manual_seed(seed), colour=True)
    torch.testing.assert_close(stack[0:3], stack[3:6], atol=0, rtol=0)
    torch.testing.assert_close(stack[0:3], stack[6:9], atol=0, rtol=0)


def test_crop_boxes_have_area_half_to_all_and_aspect_in_range():
    generator = torch.Generator().manual_seed(1)
    for _ in range(300):
        box = draw_crop(321, 422, generator)
        assert 0 <= box.top and box.top + box.height <= 321 and 0 <= box.left and box.left + box.width <= 422
        fraction = box.height * box.width / (321 * 422)
        assert 0.49 <= fraction <= 1.0
        if fraction < 0.99:  # not the centred fallback
            assert 3 / 4 - 0.02 <= box.width / box.height <= 4 / 3 + 0.02


def test_flips_are_one_of_the_four_flips_and_all_occur():
    stack = torch.rand(9, 5, 6)
    generator = torch.Generator().manual_seed(3)
    seen = set()
    for _ in range(40):
        flipped = random_flips(stack, generator)
        for key, dims in {"none": [], "h": [2], "v": [1], "hv": [1, 2]}.items():
            if torch.equal(flipped, torch.flip(stack, dims) if dims else stack):
                seen.add(key)
                break
        else:
            pytest.fail("random_flips returned something other than a flip")
    assert seen == {"none", "h", "v", "hv"}


def test_hsv_matches_opencv_and_round_trips():
    rgb = np.random.default_rng(0).uniform(0, 1, size=(20, 30, 3)).astype(np.float32)
    hsv = rgb_to_hsv(torch.from_numpy(rgb).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)  # float input: H in degrees, S and V in [0, 1]
    hue_difference = np.abs(hsv[..., 0] * 360.0 - expected[..., 0])
    assert np.minimum(hue_difference, 360.0 - hue_difference).max() < 1e-3
    np.testing.assert_allclose(hsv[..., 1:], expected[..., 1:], atol=1e-5)
    back = hsv_to_rgb(torch.from_numpy(hsv).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(back, rgb, atol=1e-5)


def test_hsv_jitter_scales_saturation_and_value():
    stack = torch.rand(6, 8, 8, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(hsv_jitter(stack, (1.0, 1.0, 1.0)), stack, atol=1e-5, rtol=0)
    jittered = rgb_to_hsv(hsv_jitter(stack, (1.0, 0.8, 0.9)).reshape(2, 3, 8, 8))
    original = rgb_to_hsv(stack.reshape(2, 3, 8, 8))
    torch.testing.assert_close(jittered[:, 1], original[:, 1] * 0.8, atol=1e-5, rtol=0)
    torch.testing.assert_close(jittered[:, 2], original[:, 2] * 0.9, atol=1e-5, rtol=0)


def test_grey_uses_luma_weights_on_every_image():
    stack = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]).view(9, 1, 1)
    grey = to_grey(stack).view(3, 3)
    torch.testing.assert_close(grey, torch.tensor([[0.299] * 3, [0.587] * 3, [0.114] * 3]))
    assert math.isclose(0.299 + 0.587 + 0.114, 1.0)
