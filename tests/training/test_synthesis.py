"""Multi-focus synthesis obeys the paper's Eqs. 3-5 (checked against OpenCV and hand-built masks)."""
import cv2
import numpy as np
import pytest
import torch

from fusionbench.training.synthesis import (SynthesisDraw, compose_multifocus, draw_synthesis, focus_map,
                                            gaussian_blur, gaussian_kernel_1d, gaussian_sigma, synthesize_pair)


@pytest.mark.parametrize("radius", [1, 2, 3, 7, 15])
def test_sigma_is_opencvs_default_for_kernel_size_2kr_plus_1(radius):
    size = 2 * radius + 1
    assert gaussian_sigma(radius) == pytest.approx(0.3 * ((size - 1) * 0.5 - 1) + 0.8)
    assert gaussian_sigma(radius) == pytest.approx(0.3 * (radius - 1) + 0.8)


@pytest.mark.parametrize("radius", range(1, 16))
def test_kernel_matches_opencv_gaussian_kernel(radius):
    expected = cv2.getGaussianKernel(2 * radius + 1, gaussian_sigma(radius), cv2.CV_64F).ravel()
    np.testing.assert_allclose(gaussian_kernel_1d(radius, dtype=torch.float64).numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("radius", [1, 4, 15])
def test_blur_matches_opencv_gaussian_blur_with_reflect101_borders(radius):
    rng = np.random.default_rng(radius)
    image = rng.uniform(0, 1, size=(37, 45, 3)).astype(np.float32)
    size = 2 * radius + 1
    expected = cv2.GaussianBlur(image, (size, size), gaussian_sigma(radius), borderType=cv2.BORDER_REFLECT_101)
    blurred = gaussian_blur(torch.from_numpy(image).permute(2, 0, 1)[None], radius)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(blurred, expected, atol=2e-6)


def test_focus_map_is_one_where_depth_at_most_threshold():
    depth = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 10.0]])
    # threshold 0.5 * max(depth) = 5.0; equality counts as near (<=)
    expected = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    assert torch.equal(focus_map(depth, 0.5), expected)


def test_eq5_with_hand_built_mask():
    source = torch.full((3, 2, 3), 0.8)
    blurred = torch.full((3, 2, 3), 0.2)
    mask = torch.tensor([[[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]])
    near, far = compose_multifocus(source, blurred, mask)
    expected_near = torch.tensor([[0.8, 0.2, 0.8], [0.2, 0.2, 0.8]]).expand(3, 2, 3)
    expected_far = torch.tensor([[0.2, 0.8, 0.2], [0.8, 0.8, 0.2]]).expand(3, 2, 3)
    torch.testing.assert_close(near, expected_near)
    torch.testing.assert_close(far, expected_far)


def test_synthesized_pair_equals_opencv_blur_composed_by_hand():
    rng = np.random.default_rng(7)
    source = rng.uniform(0, 1, size=(40, 50, 3)).astype(np.float32)
    depth = np.tile(np.linspace(1.0, 9.0, 50, dtype=np.float32), (40, 1))  # near left, far right
    draw = SynthesisDraw(kernel_radius=5, threshold_fraction=0.4)
    near, far, truth = synthesize_pair(torch.from_numpy(source).permute(2, 0, 1), torch.from_numpy(depth), draw)
    blurred = cv2.GaussianBlur(source, (11, 11), 1.0 * 0.3 * 4 + 0.8, borderType=cv2.BORDER_REFLECT_101)
    mask = (depth <= 0.4 * 9.0)[..., None]
    assert 0 < mask.mean() < 1
    np.testing.assert_allclose(near.permute(1, 2, 0).numpy(), np.where(mask, source, blurred), atol=2e-6)
    np.testing.assert_allclose(far.permute(1, 2, 0).numpy(), np.where(mask, blurred, source), atol=2e-6)
    np.testing.assert_array_equal(truth.permute(1, 2, 0).numpy(), source)


def test_draws_cover_the_papers_ranges():
    generator = torch.Generator().manual_seed(0)
    draws = [draw_synthesis(generator) for _ in range(600)]
    assert {draw.kernel_radius for draw in draws} == set(range(1, 16))
    fractions = np.array([draw.threshold_fraction for draw in draws])
    assert fractions.min() >= 0.3 and fractions.max() <= 0.7
    assert fractions.min() < 0.32 and fractions.max() > 0.68
