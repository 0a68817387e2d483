"""Winograd F(4x4, 3x3) convolutions against float64 direct convolutions: sizes, paddings, threads, statistics."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional  # noqa: E402

from fusionbench.models import winograd  # noqa: E402


def _reference(features, weight, bias, reflect, scale=None, shift=None, leak=0.2):
    tensor = torch.from_numpy(features)[None].double()
    if scale is not None:
        tensor = torch.relu(tensor * torch.from_numpy(scale).double()[:, None, None]
                            + torch.from_numpy(shift).double()[:, None, None])
    tensor = functional.pad(tensor, (1, 1, 1, 1), mode="reflect" if reflect else "constant")
    output = functional.conv2d(tensor, torch.from_numpy(weight).double(), torch.from_numpy(bias).double())
    return torch.maximum(output, leak * output)[0].numpy()


@pytest.mark.parametrize("height,width,channels,outputs", [
    (5, 7, 3, 4), (2, 2, 2, 3), (1, 9, 4, 2), (33, 18, 16, 8), (101, 130, 44, 44), (60, 60, 8, 128)])
@pytest.mark.parametrize("reflect", [False, True])
@pytest.mark.parametrize("affine", [False, True])
def test_convolution_matches_direct(height, width, channels, outputs, reflect, affine):
    if reflect and min(height, width) < 2:
        pytest.skip("reflect padding needs 2 pixels")
    random = np.random.default_rng(height * width + channels)
    features = random.random((channels, height, width), dtype=np.float32)
    weight = (random.standard_normal((outputs, channels, 3, 3)) * 0.3).astype(np.float32)
    bias = random.standard_normal(outputs).astype(np.float32)
    scale = (random.random(channels) + 0.5).astype(np.float32) if affine else None
    shift = (random.random(channels) - 0.5).astype(np.float32) if affine else None
    rows, columns = winograd.tile_grid(height, width)
    # The transform goes into rows 2.. of a wider array and the output into channels 1.., as in the networks.
    transformed = np.full((winograd.POSITIONS, channels + 3, rows * columns), np.nan, np.float32)
    winograd.input_transform(features, transformed, 2, reflect, scale, shift, threads=3)
    output = np.full((outputs + 1, height, width), np.nan, np.float32)
    sums = winograd.convolve(transformed[:, 2:2 + channels], winograd.transform_kernels(weight), bias, output, 1,
                             "leaky", 0.2, threads=2, statistics=True)
    expected = _reference(features, weight, bias, reflect, scale, shift)
    assert np.isfinite(output[1:]).all() and np.isnan(output[0]).all()
    assert np.abs(output[1:] - expected).max() <= 1e-5 * np.abs(expected).max()
    expected_sums = np.stack([expected.sum(axis=(1, 2)), (expected ** 2).sum(axis=(1, 2))], axis=1)
    magnitudes = np.stack([np.abs(expected).sum(axis=(1, 2)), (expected ** 2).sum(axis=(1, 2))], axis=1)
    assert (np.abs(sums - expected_sums) <= 1e-5 * magnitudes + 1e-6).all()


def test_thread_count_does_not_change_the_result():
    random = np.random.default_rng(5)
    features = random.random((20, 77, 91), dtype=np.float32)
    kernels = winograd.transform_kernels(random.standard_normal((24, 20, 3, 3)).astype(np.float32))
    bias = random.standard_normal(24).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        rows, columns = winograd.tile_grid(77, 91)
        transformed = np.empty((winograd.POSITIONS, 20, rows * columns), np.float32)
        winograd.input_transform(features, transformed, 0, True, threads=threads)
        output = np.empty((24, 77, 91), np.float32)
        with winograd.single_threaded_blas():
            sums = winograd.convolve(transformed, kernels, bias, output, 0, "relu", threads=threads, statistics=True)
        results.append((output, sums))
    for output, sums in results[1:]:
        np.testing.assert_array_equal(output, results[0][0])
        np.testing.assert_array_equal(sums, results[0][1])
