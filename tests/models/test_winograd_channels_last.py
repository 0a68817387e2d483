"""Channels-last Winograd F(4x4, 3x3) against a float64 direct convolution: sizes, ReLU, threads, IFCNN."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional  # noqa: E402

from fusionbench.models.winograd_channels_last import ChannelsLastWinograd  # noqa: E402


def _direct(pixels: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``conv2d(x, w, b, padding=1)`` in float64 on an (H, W, C) array, as (H, W, K)."""
    tensor = torch.from_numpy(pixels).double().permute(2, 0, 1)[None]
    output = functional.conv2d(tensor, torch.from_numpy(weight).double(), torch.from_numpy(bias).double(), padding=1)
    return output[0].permute(1, 2, 0).numpy()


def _case(height, width, channels, outputs, seed=0):
    random = np.random.default_rng(seed + height * width + channels)
    pixels = random.standard_normal((height, width, channels), dtype=np.float32)
    weight = (random.standard_normal((outputs, channels, 3, 3)) * 0.3).astype(np.float32)
    bias = random.standard_normal(outputs).astype(np.float32)
    return pixels, weight, bias


@pytest.mark.parametrize("height,width,channels,outputs", [
    (1, 1, 8, 8), (2, 3, 4, 5), (5, 7, 3, 4), (4, 8, 16, 16), (33, 18, 16, 8), (61, 70, 64, 64), (9, 130, 24, 3)])
@pytest.mark.parametrize("relu", [False, True])
def test_matches_direct_convolution(height, width, channels, outputs, relu):
    pixels, weight, bias = _case(height, width, channels, outputs)
    expected = _direct(pixels, weight, bias)
    if relu:
        expected = np.maximum(expected, 0)
    output = ChannelsLastWinograd(weight, bias)(pixels, relu=relu)
    assert output.shape == (height, width, outputs) and output.dtype == np.float32
    # F(4x4, 3x3)'s transforms grow float32 rounding by about 10x over a direct sum: a few 1e-6 of the scale.
    assert np.abs(output - expected).max() <= 2e-5 * max(1.0, np.abs(expected).max())


def test_threads_give_the_same_bits():
    pixels, weight, bias = _case(150, 90, 32, 32, seed=3)
    convolution = ChannelsLastWinograd(torch.from_numpy(weight), torch.from_numpy(bias))
    one = convolution(pixels, threads=1)
    assert np.array_equal(one, convolution(pixels, threads=2))
    assert np.array_equal(one, convolution(pixels, threads=5))


def test_reads_a_channels_last_tensor_view_without_copying_it_wrongly():
    pixels, weight, bias = _case(20, 28, 16, 16, seed=4)
    tensor = torch.from_numpy(pixels).permute(2, 0, 1)[None].contiguous(memory_format=torch.channels_last)
    view = tensor[0].permute(1, 2, 0).numpy()
    assert np.shares_memory(view, tensor.numpy()) and view.flags.c_contiguous
    expected = functional.conv2d(tensor, torch.from_numpy(weight), torch.from_numpy(bias), padding=1)
    output = ChannelsLastWinograd(weight, bias)(view)
    assert np.abs(output - expected[0].permute(1, 2, 0).numpy()).max() <= 1e-4


def test_wrong_channel_count_is_refused():
    pixels, weight, bias = _case(8, 8, 4, 4)
    with pytest.raises(ValueError, match="expected 4 channels, got 3"):
        ChannelsLastWinograd(weight, bias)(pixels[:, :, :3])
