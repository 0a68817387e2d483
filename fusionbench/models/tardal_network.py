"""TarDAL's generator (Liu et al., CVPR 2022) as plain tensor operations, for inference (imports torch).

The released generator (``dim=32, depth=3``) is eight 3x3 convolutions, stride 1, zero padding 1:

====  =========================  ========  ==========================================
step  weights (state-dict keys)  channels  after the convolution
====  =========================  ========  ==========================================
1     ``encoder.0/1``            2 -> 32   BatchNorm, ReLU
2-4   ``dense.{0,1,2}.0/1``      32k -> 32 BatchNorm, ReLU; output appended to the input
5     ``fuse.0.0``               128->128  ReLU
6     ``fuse.1.0/1``             128->64   BatchNorm, ReLU
7     ``fuse.2.0/1``             64->32    BatchNorm, ReLU
8     ``fuse.3.0``               32->1     tanh
====  =========================  ========  ==========================================

The input is the infrared and the visible grey plane stacked in that order, each ``uint8 / 255``.

BatchNorm runs in one of two ways (the released files were made to be used both ways):

* ``"running"`` — the stored running mean and variance (PyTorch ``eval()``); folded into the
  preceding convolution's weights and bias (``w * g / sqrt(v + eps)``, ``b' = beta + (b - m) * g /
  sqrt(v + eps)``), so the forward pass is eight convolutions.
* ``"image"`` — every BatchNorm normalises with the mean and (biased) variance of its input over the
  image itself, as PyTorch does in training mode with a batch of one; the authors' notebook ran
  ``tardal.pt`` this way. Every output pixel then depends on the whole image. To cut such an
  image into tiles, the statistics can be gathered first (``until=step`` returns a layer's raw
  output for summing) and then passed in fixed (``statistics=``), see :class:`.tardal.TarDALFusion`.

Two forward passes give the same result to float32 rounding (within 1e-5, tested): :meth:`
TarDALGenerator.plain` (PyTorch convolutions, ``channels_last``; any device) and, on the CPU by
default, :meth:`TarDALGenerator.fast`, whose six inner convolutions (99.8 % of the work) run by
Winograd's F(4x4, 3x3) (:mod:`.winograd`), a quarter of the arithmetic.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch.nn import functional

from ..errors import ConfigError
from . import winograd
from .pretrained import weight_misfits

WIDTH = 32
DENSE_LAYERS = 3
BATCH_NORM_EPS = 1e-5
BATCH_NORM_MODES = ("image", "running")
#: Receptive-field radius: eight 3x3 convolutions.
RECEPTIVE_FIELD_RADIUS = 8
#: Fixed BatchNorm statistics: step -> (mean, biased variance), float64 per channel.
Statistics = dict[int, tuple[np.ndarray, np.ndarray]]


def _layer_table() -> list[tuple[str, str | None, int, int, str]]:
    """(convolution key, BatchNorm key or None, input channels, output channels, activation) per step."""
    table = [("encoder.0", "encoder.1", 2, WIDTH, "relu")]
    for index in range(DENSE_LAYERS):
        table.append((f"dense.{index}.0", f"dense.{index}.1", WIDTH * (index + 1), WIDTH, "relu"))
    concatenated = WIDTH * (DENSE_LAYERS + 1)
    table += [("fuse.0.0", None, concatenated, 4 * WIDTH, "relu"),
              ("fuse.1.0", "fuse.1.1", 4 * WIDTH, 2 * WIDTH, "relu"),
              ("fuse.2.0", "fuse.2.1", 2 * WIDTH, WIDTH, "relu"),
              ("fuse.3.0", None, WIDTH, 1, "tanh")]
    return table


LAYERS = _layer_table()


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """State-dict key -> shape of the released generator (``num_batches_tracked`` counters excluded)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for convolution, norm, inputs, outputs, _ in LAYERS:
        shapes[f"{convolution}.weight"] = (outputs, inputs, 3, 3)
        shapes[f"{convolution}.bias"] = (outputs,)
        if norm is not None:
            for field in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{norm}.{field}"] = (outputs,)
    return shapes


def check_state_dict(state_dict: Mapping[str, object], source: str) -> dict[str, torch.Tensor]:
    """The generator's float32 tensors from ``state_dict``, or ConfigError naming every misfit key."""
    expected = expected_shapes()
    shapes = {key: tuple(value.shape) if isinstance(value, torch.Tensor) else None for key, value in state_dict.items()}
    unexpected = [str(key) for key in state_dict
                  if key not in expected and not str(key).endswith("num_batches_tracked")]
    problems = weight_misfits(shapes, expected, unexpected=unexpected)
    if problems:
        raise ConfigError(f"{source}: weights do not fit TarDAL's generator (dim {WIDTH}, depth {DENSE_LAYERS}): "
                          f"{'; '.join(problems)}")
    tensors = {key: state_dict[key].detach().to(torch.float32) for key in expected}
    bad = [key for key, tensor in tensors.items() if not torch.isfinite(tensor).all()]
    bad += [key for key in tensors if key.endswith("running_var") and (tensors[key] < 0).any()]
    if bad:
        raise ConfigError(f"{source}: weights hold non-finite values or negative variances in {', '.join(bad[:6])}")
    return tensors


class TarDALGenerator:
    """The generator with one BatchNorm mode, on one device: ``generator(infrared, visible)``.

    Inputs are float32 ``(N, 1, H, W)`` tensors in [0, 1]; the output is ``(N, 1, H, W)``, the
    network's tanh, in [-1, 1]. Convolutions run in the ``channels_last`` layout (oneDNN's
    preferred one on the CPU).
    """

    def __init__(self, state_dict: Mapping[str, object], batch_norm: str, source: str = "TarDAL weights",
                 fast: bool = True):
        if batch_norm not in BATCH_NORM_MODES:
            raise ConfigError(f"unknown batch_norm {batch_norm!r}; valid: {', '.join(BATCH_NORM_MODES)}")
        tensors = check_state_dict(state_dict, source)
        self.batch_norm = batch_norm
        # Per step: (weight, bias, (gamma, beta) for image statistics or None, activation).
        self.steps: list[tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None, str]] = []
        for convolution, norm, _, _, activation in LAYERS:
            weight, bias = tensors[f"{convolution}.weight"], tensors[f"{convolution}.bias"]
            affine = None
            if norm is not None:
                gamma, beta = tensors[f"{norm}.weight"], tensors[f"{norm}.bias"]
                if batch_norm == "running":
                    # Folded in float64, then rounded once: closer to the unfolded float32 pass.
                    scale = gamma.double() / torch.sqrt(tensors[f"{norm}.running_var"].double() + BATCH_NORM_EPS)
                    weight = (weight.double() * scale[:, None, None, None]).float()
                    bias = (beta.double() + (bias.double() - tensors[f"{norm}.running_mean"].double()) * scale).float()
                else:
                    affine = (gamma, beta)
            self.steps.append((weight.contiguous(memory_format=torch.channels_last), bias, affine, activation))
        self.fast_enabled = fast
        # Winograd-domain kernels (36, out, in) of the six inner convolutions (steps 1-6).
        self._transformed = [winograd.transform_kernels(weight) for weight, *_ in self.steps[1:-1]]
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> "TarDALGenerator":
        self.steps = [(weight.to(device), bias.to(device),
                       None if affine is None else (affine[0].to(device), affine[1].to(device)), activation)
                      for weight, bias, affine, activation in self.steps]
        self.device = device
        return self

    @property
    def normalised_steps(self) -> list[int]:
        """Steps whose BatchNorm uses image statistics ([] with running statistics)."""
        return [index for index, (_, _, affine, _) in enumerate(self.steps) if affine is not None]

    def _step(self, features: torch.Tensor, index: int, statistics: Statistics | None = None,
              raw: bool = False) -> torch.Tensor:
        weight, bias, affine, activation = self.steps[index]
        output = functional.conv2d(features, weight, bias, padding=1)
        if raw:
            return output
        if affine is not None and statistics is not None and index in statistics:
            mean, variance = (torch.from_numpy(values).float().to(output.device) for values in statistics[index])
            output = functional.batch_norm(output, mean, variance, affine[0], affine[1], training=False,
                                           eps=BATCH_NORM_EPS)
        elif affine is not None:
            # On the CPU PyTorch sums a contiguous (NCHW) tensor's statistics in float64 but a
            # channels_last one's in float32; the former matches the authors' run (99.996 % of the
            # notebook's values exact, against 98.2 %).
            output = functional.batch_norm(output.contiguous(), None, None, affine[0], affine[1], training=True,
                                           eps=BATCH_NORM_EPS).contiguous(memory_format=torch.channels_last)
        return torch.relu_(output) if activation == "relu" else torch.tanh_(output)

    def __call__(self, infrared: torch.Tensor, visible: torch.Tensor, statistics: Statistics | None = None,
                 until: int | None = None) -> torch.Tensor:
        """The tanh output: :meth:`fast` on the CPU when enabled, else :meth:`plain`.

        ``statistics``: ``{step: (mean, variance)}`` (float64 arrays) used by those steps' BatchNorm
        instead of the image's own; ``until``: stop at that step and return its convolution's raw
        output ``(1, K, H, W)`` (before BatchNorm). Both serve image statistics gathered tile by tile.
        """
        if self.fast_enabled and self.device.type == "cpu" and infrared.shape[0] == 1:
            return self.fast(infrared, visible, statistics, until)
        return self.plain(infrared, visible, statistics, until)

    def plain(self, infrared: torch.Tensor, visible: torch.Tensor, statistics: Statistics | None = None,
              until: int | None = None) -> torch.Tensor:
        """The forward pass with PyTorch convolutions (any device, any batch size)."""
        features = torch.cat([infrared, visible], dim=1).contiguous(memory_format=torch.channels_last)
        for index in range(len(self.steps)):
            if index == until:
                return self._step(features, index, raw=True)
            output = self._step(features, index, statistics)
            features = torch.cat([features, output], dim=1) if 1 <= index <= DENSE_LAYERS else output
        return features

    def fast(self, infrared: torch.Tensor, visible: torch.Tensor, statistics: Statistics | None = None,
             until: int | None = None) -> torch.Tensor:
        """The forward pass with the six inner convolutions by Winograd's F(4x4, 3x3) (CPU, batch of one).

        Same result as :meth:`plain` to float32 rounding. The dense block's four feature maps are
        transformed once each into their rows of one ``(36, 128, tiles)`` array, which the later
        convolutions read; with image statistics each BatchNorm's sums come with its convolution's
        output and the normalisation and ReLU are applied while the next convolution reads it.
        """
        threads = torch.get_num_threads()
        with winograd.single_threaded_blas():
            return self._fast(infrared, visible, threads, statistics or {}, until)

    def _fast(self, infrared: torch.Tensor, visible: torch.Tensor, threads: int, statistics: Statistics,
              until: int | None) -> torch.Tensor:
        height, width = infrared.shape[-2:]
        tile_rows, tile_columns = winograd.tile_grid(height, width)
        pair = torch.cat([infrared, visible], dim=1)
        if until == 0:
            return self._step(pair, 0, raw=True)
        first = self._first_step(pair, statistics)
        transformed = np.empty((winograd.POSITIONS, WIDTH * (DENSE_LAYERS + 1), tile_rows * tile_columns),
                               dtype=np.float32)
        winograd.input_transform(first[0].numpy(), transformed, 0, False, threads=threads)
        channels = WIDTH
        for index in range(1, len(self.steps) - 1):
            features, normalise = self._winograd_step(index, transformed[:, :channels], height, width, threads,
                                                      statistics)
            if index == until:
                return torch.from_numpy(features)[None]
            if index <= DENSE_LAYERS:  # dense block: append the new map's transform
                winograd.input_transform(features, transformed, channels, False, *normalise, threads=threads)
                channels += WIDTH
            elif index < len(self.steps) - 2:  # fuse.0 and fuse.1: the next layer reads only this map
                channels = features.shape[0]
                winograd.input_transform(features, transformed, 0, False, *normalise, threads=threads)
        features = torch.from_numpy(features)[None]
        if normalise[0] is not None:  # fuse.2's BatchNorm and ReLU, in place
            scale, shift = (torch.from_numpy(values)[:, None, None] for values in normalise)
            features.mul_(scale).add_(shift).relu_()
        weight, bias, _, _ = self.steps[-1]
        output = functional.conv2d(features, weight.contiguous(), bias, padding=1)
        return torch.tanh_(output)

    def _first_step(self, pair: torch.Tensor, statistics: Statistics) -> torch.Tensor:
        """Step 0 (2 -> 32 channels, direct) in the NCHW layout the Winograd transforms read."""
        weight, bias, affine, _ = self.steps[0]
        output = functional.conv2d(pair, weight.contiguous(), bias, padding=1)
        if affine is not None:
            mean, variance = ((torch.from_numpy(values).float() for values in statistics[0]) if 0 in statistics
                              else (None, None))
            output = functional.batch_norm(output, mean, variance, affine[0], affine[1], training=mean is None,
                                           eps=BATCH_NORM_EPS)
        return torch.relu_(output)

    def _winograd_step(self, index: int, transformed: np.ndarray, height: int, width: int, threads: int,
                       statistics: Statistics):
        """Output ``(K, H, W)`` of step ``index`` from its transformed input, and its pending normalisation.

        Returns ``(features, (scale, shift))``: with image statistics the features are the raw
        convolution and ``relu(x * scale + shift)`` is still to be applied; otherwise ReLU is
        applied and ``(None, None)`` is returned.
        """
        _, bias, affine, _ = self.steps[index]
        kernels = self._transformed[index - 1]
        features = np.empty((kernels.shape[1], height, width), dtype=np.float32)
        sums = winograd.convolve(transformed, kernels, bias.numpy(), features, 0,
                                 "none" if affine is not None else "relu", threads=threads,
                                 statistics=affine is not None and index not in statistics)
        if affine is None:
            return features, (None, None)
        mean, variance = statistics[index] if index in statistics else statistics_of(sums, height * width)
        scale = affine[0].double().numpy() / np.sqrt(variance + BATCH_NORM_EPS)
        shift = affine[1].double().numpy() - mean * scale
        return features, (scale.astype(np.float32), shift.astype(np.float32))


def statistics_of(sums: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, biased variance) per channel from float64 ``(K, 2)`` sums and sums of squares of ``count`` values."""
    mean = sums[:, 0] / count
    return mean, np.maximum(sums[:, 1] / count - mean * mean, 0.0)
