"""U2Fusion's network (Xu et al., TPAMI 2022) as plain tensor operations, for inference (imports torch).

The released TensorFlow 1 checkpoint holds ten 3x3 convolutions (kernel and bias each), every one
applied to its input reflect-padded by one pixel (``tf.pad(..., 'REFLECT')``, then a 'VALID'
convolution), with no normalisation:

======================================  ===========  =====================================
variables (``Generator/encoder/``...)   channels     after the convolution
======================================  ===========  =====================================
``conv1_1``                             2 -> 44      leaky ReLU ``max(x, 0.2 x)``
``dense_block_conv1`` ... ``conv5``     44k -> 44    leaky ReLU; output *placed before* the input
``Generator_1/decoder/conv2_1``         264 -> 128   leaky ReLU
``Generator_1/decoder/conv2_2``         128 -> 64    leaky ReLU
``Generator_1/decoder/conv2_3``         64 -> 32     leaky ReLU
``Generator_1/decoder/conv2_4``         32 -> 1      ``tanh(x) / 2 + 0.5``
======================================  ===========  =====================================

(The decoder's variables live under ``Generator_1`` because the upstream code opened its scope with
``tf.name_scope``.) The input is the infrared and the visible grey plane stacked in that order, each
``uint8 / 255``; the output lies in [0, 1].

Two forward passes give the same result to float32 rounding (within 1e-5, tested):

* :meth:`U2FusionNetwork.plain` — PyTorch convolutions. All feature maps are kept in one
  preallocated ``(264, H, W)`` buffer whose channel order is the network's concatenation order, so
  each dense convolution reads a contiguous run of channels and writes its 44 just in front of them.
* :meth:`U2FusionNetwork.fast` (CPU, the default there) — the eight inner convolutions by
  Winograd's F(4x4, 3x3) (:mod:`.winograd`), a quarter of the arithmetic. Each feature map of the
  dense block is transformed once into its channel range of one ``(36, tiles, 264)`` array, which
  every later convolution reads from; the first (2 -> 44) and last (32 -> 1) convolutions stay
  direct (they are 0.2 % of the work).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch.nn import functional

from ..errors import ConfigError
from . import winograd
from .pretrained import weight_misfits

GROWTH = 44
DENSE_LAYERS = 5
LEAK = 0.2
ENCODER = ["Generator/encoder/conv1_1"] + [f"Generator/encoder/dense_block_conv{index}"
                                           for index in range(1, DENSE_LAYERS + 1)]
DECODER = [f"Generator_1/decoder/conv2_{index}" for index in range(1, 5)]
ENCODER_CHANNELS = GROWTH * (DENSE_LAYERS + 1)
DECODER_CHANNELS = (ENCODER_CHANNELS, 128, 64, 32, 1)
#: Receptive-field radius: ten 3x3 convolutions.
RECEPTIVE_FIELD_RADIUS = 10


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Checkpoint variable -> TensorFlow shape (kernels ``(3, 3, in, out)``)."""
    shapes = {}
    inputs = [2] + [GROWTH * index for index in range(1, DENSE_LAYERS + 1)]
    layers = list(zip(ENCODER, inputs, [GROWTH] * len(ENCODER)))
    layers += list(zip(DECODER, DECODER_CHANNELS[:-1], DECODER_CHANNELS[1:]))
    for name, channels_in, channels_out in layers:
        shapes[f"{name}/kernel"] = (3, 3, channels_in, channels_out)
        shapes[f"{name}/bias"] = (channels_out,)
    return shapes


def check_variables(variables: Mapping[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """The network's float32 arrays from a checkpoint's variables, or ConfigError naming the misfits.

    Variables the network does not use (optimiser slots, a step counter) are ignored.
    """
    expected = expected_shapes()
    # only the network's entries are looked at: optimiser slots are never read
    shapes = {name: tuple(np.shape(variables[name])) for name in expected if name in variables}
    problems = weight_misfits(shapes, expected, noun="variables")
    if problems:
        raise ConfigError(f"{source}: checkpoint does not fit U2Fusion's network: {'; '.join(problems)}")
    arrays = {name: np.asarray(variables[name], dtype=np.float32) for name in expected}
    bad = [name for name, array in arrays.items() if not np.isfinite(array).all()]
    if bad:
        raise ConfigError(f"{source}: checkpoint holds non-finite values in {', '.join(bad[:6])}")
    return arrays


class U2FusionNetwork:
    """The network on one device: ``network(infrared, visible)`` -> fused plane in [0, 1].

    Inputs are float32 ``(1, 1, H, W)`` tensors in [0, 1] (H, W >= 2 for the reflect padding).
    """

    def __init__(self, variables: Mapping[str, np.ndarray], source: str = "U2Fusion checkpoint",
                 fast: bool = True):
        arrays = check_variables(variables, source)

        def convolution(name: str) -> tuple[torch.Tensor, torch.Tensor]:
            # TensorFlow (kh, kw, in, out) -> PyTorch (out, in, kh, kw); both are cross-correlations.
            kernel = torch.from_numpy(arrays[f"{name}/kernel"]).permute(3, 2, 0, 1).contiguous()
            return kernel, torch.from_numpy(arrays[f"{name}/bias"]).clone()

        self.encoder = [convolution(name) for name in ENCODER]
        self.decoder = [convolution(name) for name in DECODER]
        self.fast_enabled = fast
        # Winograd-domain kernels (36, in, out) of the eight inner convolutions.
        self._transformed = [winograd.transform_kernels(weight) for weight, _ in self.encoder[1:] + self.decoder[:-1]]
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> "U2FusionNetwork":
        self.encoder = [(weight.to(device), bias.to(device)) for weight, bias in self.encoder]
        self.decoder = [(weight.to(device), bias.to(device)) for weight, bias in self.decoder]
        self.device = device
        return self

    @staticmethod
    def _convolve(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return functional.conv2d(functional.pad(features, (1, 1, 1, 1), mode="reflect"), weight, bias)

    @staticmethod
    def _leaky(features: torch.Tensor) -> torch.Tensor:
        """``max(x, 0.2 x)`` in place (``features`` is a fresh convolution output)."""
        return torch.maximum(features, features * LEAK, out=features)

    def __call__(self, infrared: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Fused ``(1, 1, H, W)`` plane in [0, 1]: :meth:`fast` on the CPU when enabled, else :meth:`plain`."""
        if self.fast_enabled and self.device.type == "cpu" and infrared.shape[0] == 1:
            return self.fast(infrared, visible)
        return self.plain(infrared, visible)

    def plain(self, infrared: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """The forward pass with PyTorch convolutions (any device, any batch size)."""
        batch, _, height, width = infrared.shape
        stack = torch.empty((batch, ENCODER_CHANNELS, height, width), dtype=torch.float32, device=self.device)
        start = ENCODER_CHANNELS - GROWTH
        stack[:, start:] = self._leaky(self._convolve(torch.cat([infrared, visible], dim=1), *self.encoder[0]))
        for weight, bias in self.encoder[1:]:
            stack[:, start - GROWTH:start] = self._leaky(self._convolve(stack[:, start:], weight, bias))
            start -= GROWTH
        features = stack
        for weight, bias in self.decoder[:-1]:
            features = self._leaky(self._convolve(features, weight, bias))
        del stack
        output = self._convolve(features, *self.decoder[-1])
        return torch.tanh_(output).mul_(0.5).add_(0.5)

    def fast(self, infrared: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """The forward pass with Winograd convolutions (CPU, batch of one); see the module docstring."""
        threads = torch.get_num_threads()
        with winograd.single_threaded_blas():
            return self._fast(infrared, visible, threads)

    def _fast(self, infrared: torch.Tensor, visible: torch.Tensor, threads: int) -> torch.Tensor:
        height, width = infrared.shape[-2:]
        tile_rows, tile_columns = winograd.tile_grid(height, width)
        tiles = tile_rows * tile_columns
        first = self._leaky(self._convolve(torch.cat([infrared, visible], dim=1), *self.encoder[0]))
        transformed = np.empty((winograd.POSITIONS, ENCODER_CHANNELS, tiles), dtype=np.float32)
        start = ENCODER_CHANNELS - GROWTH
        winograd.input_transform(first[0].numpy(), transformed, start, True, threads=threads)
        kernels = iter(self._transformed)
        for _, bias in self.encoder[1:]:
            features = self._winograd_layer(transformed[:, start:], next(kernels), bias, height, width, threads)
            start -= GROWTH
            winograd.input_transform(features, transformed, start, True, threads=threads)
        for index, (_, bias) in enumerate(self.decoder[:-1]):
            features = self._winograd_layer(transformed, next(kernels), bias, height, width, threads)
            if index == 0:  # the 264-channel transform is done with; conv2_2 and conv2_3 share one buffer
                del transformed
                transformed = np.empty((winograd.POSITIONS, features.shape[0], tiles), dtype=np.float32)
            if index < len(self.decoder) - 2:
                winograd.input_transform(features, transformed, 0, True, threads=threads)
                transformed = transformed[:, :features.shape[0]]
        del transformed
        output = self._convolve(torch.from_numpy(features)[None], *self.decoder[-1])
        return torch.tanh_(output).mul_(0.5).add_(0.5)

    @staticmethod
    def _winograd_layer(transformed: np.ndarray, kernels: np.ndarray, bias: torch.Tensor, height: int,
                        width: int, threads: int) -> np.ndarray:
        """Leaky-ReLU output ``(K, H, W)`` of a convolution whose input is already transformed."""
        features = np.empty((kernels.shape[1], height, width), dtype=np.float32)
        winograd.convolve(transformed, kernels, bias.numpy(), features, 0, "leaky", LEAK, threads)
        return features
