"""The fast forward pass equals the plain IFCNN to float32 rounding."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional  # noqa: E402

from fusionbench.models.fast_inference import FastIFCNN, compose_kernels, fold_batch_norm  # noqa: E402
from fusionbench.models.ifcnn_network import IFCNN  # noqa: E402
from ifcnn_testing import plain, random_network  # noqa: E402


@pytest.mark.parametrize("rule", ["max", "mean", "sum"])
@pytest.mark.parametrize("count", [2, 3])
def test_fast_path_equals_plain_model(rule, count):
    network = random_network(rule)
    inputs = [torch.rand(1, 3, 41, 67) for _ in range(count)]
    difference = (FastIFCNN(network)(inputs) - plain(network, inputs)).abs().max().item()
    assert difference <= 1e-4


@pytest.mark.parametrize("size", [(1, 1), (3, 9), (4, 4), (5, 5), (6, 17)])
def test_fast_path_on_tiny_images(size):
    network = random_network("max", seed=1)
    inputs = [torch.rand(1, 3, *size) for _ in range(2)]
    assert (FastIFCNN(network)(inputs) - plain(network, inputs)).abs().max().item() <= 1e-4


def test_fast_path_with_official_weights_on_normalised_input(reference_file):
    from fusionbench.models.checkpoints import load_checkpoint

    network, _ = load_checkpoint(reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth"))
    torch.manual_seed(2)
    inputs = [(torch.rand(1, 3, 64, 80) - 0.45) / 0.225 for _ in range(2)]
    assert (FastIFCNN(network, channels_last=False)(inputs) - plain(network, inputs)).abs().max().item() <= 1e-4
    assert (FastIFCNN(network)(inputs) - plain(network, inputs)).abs().max().item() <= 1e-4


def test_composed_kernel_is_the_two_convolutions():
    torch.manual_seed(3)
    first, second = torch.randn(5, 2, 7, 7, dtype=torch.float64), torch.randn(4, 5, 3, 3, dtype=torch.float64)
    image = torch.randn(1, 2, 20, 23, dtype=torch.float64)
    expected = functional.conv2d(functional.conv2d(image, first), second)
    assert torch.allclose(functional.conv2d(image, compose_kernels(first, second)), expected, atol=1e-10)


def test_folded_batch_norm_matches_conv_then_batch_norm():
    network = random_network("max", seed=4)
    weight, bias = fold_batch_norm(network.conv2.conv.weight, network.conv2.bn)
    features = torch.randn(1, 64, 9, 9)
    with torch.no_grad():
        expected = network.conv2.bn(network.conv2.conv(features))
        assert torch.allclose(functional.conv2d(features, weight, bias), expected, atol=1e-5)


def _affine(normalise: bool):
    from fusionbench.models.preprocessing import channel_affine

    return tuple(torch.from_numpy(value) for value in channel_affine(normalise))


@pytest.mark.parametrize("rule", ["max", "mean", "sum"])
@pytest.mark.parametrize("size", [(41, 67), (5, 5), (3, 9), (64, 80)])
@pytest.mark.parametrize("normalise", [True, False])
def test_single_plane_inputs_equal_their_three_channel_expansion(rule, size, normalise):
    network = random_network(rule, seed=3)
    scale, shift = _affine(normalise)
    planes = [torch.rand(1, 1, *size) for _ in range(2)]
    expanded = [plane * scale.view(1, 3, 1, 1) + shift.view(1, 3, 1, 1) for plane in planes]
    output = FastIFCNN(network)(planes, channel_affine=(scale, shift))
    assert (output - plain(network, expanded)).abs().max().item() <= 1e-4


def test_channel_affine_reproduces_the_network_input():
    import numpy as np

    from fusionbench.models.preprocessing import channel_affine, grey_network_input, to_network_input

    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for normalise in (True, False):
        scale, shift = channel_affine(normalise)
        folded = grey_network_input(grey) * scale[:, None, None] + shift[:, None, None]
        assert np.abs(folded - to_network_input(grey, normalise)).max() <= 1e-6


def test_single_plane_convolution_is_the_convolution():
    import numpy as np

    from fusionbench.models.fast_inference import single_plane_convolution

    random = np.random.default_rng(5)
    padded = random.random((37, 50), dtype=np.float32)
    weight = random.standard_normal((6, 9, 9)).astype(np.float32)
    bias = random.standard_normal(6).astype(np.float32)
    expected = functional.conv2d(torch.from_numpy(padded).double()[None, None], torch.from_numpy(weight).double()[:, None],
                                 torch.from_numpy(bias).double())[0].permute(1, 2, 0).numpy()
    for block_bytes in (1, 4096, 8 << 20):  # one row per block, a few rows, everything at once
        output = single_plane_convolution(padded, weight, bias, block_bytes=block_bytes)
        assert output.shape == (29, 42, 6)
        assert np.abs(output - expected).max() <= 1e-4
