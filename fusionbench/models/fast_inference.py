"""A faster, numerically equivalent IFCNN forward pass for inference.

Each rewrite below is exact in real arithmetic; in float32 the outputs stay within 1e-4 of
:class:`~fusionbench.models.ifcnn_network.IFCNN` (tested). In the order they paid on a CPU:

* ``channels_last`` memory format (oneDNN's preferred layout for 3x3 convolutions).
* BatchNorm folded into the preceding convolution: ``w' = w * g/sqrt(v + eps)``,
  ``b' = beta - m * g/sqrt(v + eps)`` (inference uses the running statistics only).
* CONV1 (7x7, linear, no bias) followed by CONV2 (3x3) is one 9x9 convolution whose kernel is the
  full correlation of the two, ``K[o,i] = sum_m w2[o,m] * w1[m,i]``. With the input replicate-padded
  by 4 this equals the two-step path (pad 3, conv1, pad 1, conv2) everywhere except the outermost
  1-pixel ring, where the original pads CONV1's *output* rather than the image; that ring is
  recomputed with the two-step path, one side at a time, from the 5 image lines it depends on
  (:meth:`FastIFCNN.outer_line`: 2 lines of CONV1, 1 line of CONV2).
* MAX fusion before the ReLU (``max(relu a, relu b) = relu(max(a, b))`` since ReLU is monotonic),
  element-wise in place; ReLU in place.
* CONV3's replicate padding done by the convolution's free zero padding plus a recomputed
  1-pixel ring (:func:`replicate_padded_conv`), instead of copying the 64-channel map.
* On the CPU, CONV3 (64 -> 64, 3x3, about half the work left) by Winograd's F(4x4, 3x3) on the
  ``channels_last`` map with its ReLU applied on the way out
  (:class:`~fusionbench.models.winograd_channels_last.ChannelsLastWinograd`): 0.25 -> 0.14 s of
  CPU per 520x520 fusion on one core; CUDA keeps cuDNN's convolution.
* CONV4 (1x1) as one matrix product over the ``channels_last`` pixels, which oneDNN's convolution
  does at half the speed for three output channels.
* ``torch.inference_mode`` (no autograd bookkeeping).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from .ifcnn_network import IFCNN
from .winograd_channels_last import ChannelsLastWinograd

# Strip height for recomputing the ring: output row 0 needs CONV1 rows 0-1, which need image rows 0-4.
_RING_STRIP = 5
# Per side: (axis, at the start of it, replicate padding of the image strip for CONV1 and of CONV1's two
# lines for CONV2, each as (left, right, top, bottom)): outer side and across padded, inner side 'valid'.
_SIDES = {"top": (2, True, (3, 3, 3, 0), (1, 1, 1, 0)), "bottom": (2, False, (3, 3, 0, 3), (1, 1, 0, 1)),
          "left": (3, True, (3, 0, 3, 3), (1, 0, 1, 1)), "right": (3, False, (0, 3, 3, 3), (0, 1, 1, 1))}


def fold_batch_norm(weight: torch.Tensor, batch_norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a bias-free convolution followed by ``batch_norm`` in eval mode."""
    scale = batch_norm.weight / torch.sqrt(batch_norm.running_var + batch_norm.eps)
    return weight * scale[:, None, None, None], batch_norm.bias - batch_norm.running_mean * scale


def compose_kernels(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Kernel of ``conv(second) o conv(first)`` (cross-correlations, stride 1, no padding).

    ``first`` (M, C, k1, k1), ``second`` (O, M, k2, k2) -> (O, C, k1+k2-1, k1+k2-1) with
    ``K[o,c,u] = sum_m sum_a second[o,m,a] first[m,c,u-a]``: a transposed convolution of ``first``
    (channels C as batch) with ``second``.
    """
    composed = functional.conv_transpose2d(first.permute(1, 0, 2, 3), second.permute(1, 0, 2, 3))
    return composed.permute(1, 0, 2, 3).contiguous()


def edge_strips(tensor: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(top and bottom ``width`` rows stacked on the batch axis, left and right columns likewise)."""
    rows = torch.cat([tensor[:, :, :width, :], tensor[:, :, -width:, :]], dim=0)
    columns = torch.cat([tensor[:, :, :, :width], tensor[:, :, :, -width:]], dim=0)
    return rows, columns


def replace_ring(target: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor, radius: int) -> None:
    """Write a recomputed outer ring of width ``radius`` into ``target`` (strips as from :func:`edge_strips`).

    ``rows``/``columns`` hold the top (bottom) strips in their first (second) half of the batch axis.
    Corners come from the column strips, which are complete (full height).
    """
    half = rows.shape[0] // 2
    target[:, :, :radius, :] = rows[:half, :, :radius, :]
    target[:, :, -radius:, :] = rows[half:, :, -radius:, :]
    target[:, :, :, :radius] = columns[:half, :, :, :radius]
    target[:, :, :, -radius:] = columns[half:, :, :, -radius:]


def replicate_padded_conv(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                          layout=lambda tensor: tensor, zero_padded=None, relu: bool = False) -> torch.Tensor:
    """``conv2d(pad(features, r, "replicate"), weight, bias)`` (then ReLU if ``relu``) for an odd square kernel.

    Replicate-padding a 64-channel feature map copies all of it (and in ``channels_last`` that copy
    is slow); the convolution's own zero padding is free. The two agree everywhere but the outer
    ring of width r, which is recomputed from strips of 2r rows/columns padded the original way.
    ``zero_padded(features, relu)`` may replace the zero-padded convolution (e.g. by Winograd).
    """
    radius = weight.shape[-1] // 2
    height, width = features.shape[-2:]

    def exact(tensor: torch.Tensor) -> torch.Tensor:
        output = functional.conv2d(layout(functional.pad(tensor, (radius,) * 4, mode="replicate")), weight, bias)
        return output.relu_() if relu else output

    if height < 2 * radius or width < 2 * radius:
        return exact(features)
    if zero_padded is None:
        output = functional.conv2d(features, weight, bias, padding=radius)
        output = output.relu_() if relu else output
    else:
        output = zero_padded(features, relu)
    rows, columns = edge_strips(features, 2 * radius)
    replace_ring(output, exact(rows), exact(columns), radius)
    return output


def pointwise_conv(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``conv2d(features, weight, bias)`` for a 1x1 kernel: a matrix product when ``features`` is NHWC in memory.

    A ``channels_last`` (N, C, H, W) tensor is an (N*H*W, C) matrix; the product with the (C, O)
    weights gives the (N*H*W, O) output, returned as an (N, O, H, W) view.
    """
    if not features.is_contiguous(memory_format=torch.channels_last):
        return functional.conv2d(features, weight, bias)
    batch, channels, height, width = features.shape
    pixels = features.permute(0, 2, 3, 1).reshape(-1, channels)  # a view: no copy
    output = torch.addmm(bias, pixels, weight.reshape(weight.shape[0], channels).t())
    return output.view(batch, height, width, -1).permute(0, 3, 1, 2)


def single_plane_convolution(padded: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                             block_bytes: int = 8 << 20) -> np.ndarray:
    """'valid' cross-correlation of one float32 plane with K kernels ``(K, k, k)``: ``(H, W, K)`` float32.

    One-channel convolutions are slow in oneDNN (for IFCNN's 9x9 x 64 no faster than three
    channels); here each block of output rows is a matrix product of its k*k-tap windows
    (``sliding_window_view``, copied into a block of at most ``block_bytes``) with the kernels as a
    (k*k, K) matrix: 78 against 124 ms for a 505x389 plane on one core. The result is
    ``channels_last`` memory for an (1, K, H, W) tensor.
    """
    kernels, size = weight.shape[0], weight.shape[-1]
    height, width = padded.shape[0] - size + 1, padded.shape[1] - size + 1
    matrix = np.ascontiguousarray(weight.reshape(kernels, size * size).T, dtype=np.float32)
    output = np.empty((height, width, kernels), np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    rows = max(1, block_bytes // (width * size * size * 4))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        block = np.ascontiguousarray(windows[top:bottom]).reshape(-1, size * size)
        np.matmul(block, matrix, out=output[top:bottom].reshape(-1, kernels))
    output += bias
    return output


class FastIFCNN(nn.Module):
    """Inference-only IFCNN built from a loaded :class:`IFCNN`; ``forward(list of (B,3,H,W))``."""

    def __init__(self, network: IFCNN, channels_last: bool = True):
        super().__init__()
        self.fusion_rule = network.fusion_rule
        self.channels_last = channels_last
        with torch.no_grad():
            conv1 = network.conv1.weight.detach().float()
            conv2, bias2 = fold_batch_norm(network.conv2.conv.weight.detach().float(), network.conv2.bn)
            conv3, bias3 = fold_batch_norm(network.conv3.conv.weight.detach().float(), network.conv3.bn)
            composed = compose_kernels(conv1, conv2)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        self.register_buffer("conv1", conv1.contiguous(memory_format=layout))
        self.register_buffer("conv2", conv2.contiguous(memory_format=layout))
        self.register_buffer("bias2", bias2.detach().clone())
        self.register_buffer("conv12", composed.contiguous(memory_format=layout))
        self.register_buffer("conv3", conv3.contiguous(memory_format=layout))
        self.register_buffer("bias3", bias3.detach().clone())
        self.register_buffer("conv4", network.conv4.weight.detach().float().contiguous(memory_format=layout))
        self.register_buffer("bias4", network.conv4.bias.detach().float().clone())
        self._conv3_winograd: ChannelsLastWinograd | None = None  # built on first CPU use

    def _layout(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.contiguous(memory_format=torch.channels_last) if self.channels_last else tensor

    def _two_step(self, image: torch.Tensor) -> torch.Tensor:
        """CONV1 + CONV2 (BN folded, before ReLU) exactly as the original network pads them."""
        first = functional.conv2d(self._layout(functional.pad(image, (3, 3, 3, 3), mode="replicate")), self.conv1)
        return functional.conv2d(self._layout(functional.pad(first, (1, 1, 1, 1), mode="replicate")),
                                 self.conv2, self.bias2)

    def _combine(self, features: torch.Tensor, fused: torch.Tensor | None) -> torch.Tensor:
        """Accumulate one input's CONV2 features: running max before ReLU, or running sum after it."""
        if self.fusion_rule == "max":
            return features if fused is None else torch.maximum(fused, features, out=fused)
        features = features.relu_()
        return features if fused is None else fused.add_(features)

    def outer_line(self, stacked: torch.Tensor, side: str) -> torch.Tensor:
        """CONV1 + CONV2 (BN folded, before ReLU) on the outermost row/column ``side`` of the images.

        Exactly as the original network pads: CONV1 on the 5 image lines the result depends on
        (replicate-padded outwards and across), giving CONV1's 2 outer lines; those replicate-padded
        by one line outwards and across, and CONV2 gives the one line. ``stacked`` is (N, 3, H, W).
        """
        axis, at_start, image_padding, feature_padding = _SIDES[side]
        length = stacked.shape[axis]
        strip = stacked.narrow(axis, 0 if at_start else length - _RING_STRIP, _RING_STRIP)
        first = functional.conv2d(self._layout(functional.pad(strip, image_padding, mode="replicate")), self.conv1)
        return functional.conv2d(self._layout(functional.pad(first, feature_padding, mode="replicate")),
                                 self.conv2, self.bias2)

    def _combine_inputs(self, features: torch.Tensor) -> torch.Tensor:
        """Fuse pre-ReLU features of N inputs stacked on the batch axis into one (1, 64, h, w) map."""
        if self.fusion_rule == "max":
            return features.amax(dim=0, keepdim=True)
        return features.relu().sum(dim=0, keepdim=True)

    def _replace_outer_ring(self, fused: torch.Tensor, inputs: Sequence[torch.Tensor]) -> None:
        """Overwrite the fused map's 1-pixel ring with its exact two-step value (see the module docstring)."""
        stacked = torch.cat(list(inputs), dim=0)
        fused[:, :, :1, :] = self._combine_inputs(self.outer_line(stacked, "top"))
        fused[:, :, -1:, :] = self._combine_inputs(self.outer_line(stacked, "bottom"))
        fused[:, :, :, :1] = self._combine_inputs(self.outer_line(stacked, "left"))
        fused[:, :, :, -1:] = self._combine_inputs(self.outer_line(stacked, "right"))

    def fuse(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Fused CONV2 features (after ReLU) of N inputs of shape (1, 3, H, W).

        Each input goes through the 9x9 composed kernel and is folded into one accumulator in place;
        the outer ring of the fused map is then replaced by the fusion of the exactly recomputed
        rings of all inputs (:meth:`outer_line`, all inputs batched, one call per side).
        """
        count = len(inputs)
        height, width = inputs[0].shape[-2:]
        fused = None
        if height < _RING_STRIP or width < _RING_STRIP or inputs[0].shape[0] != 1:
            for image in inputs:
                fused = self._combine(self._two_step(image), fused)
        else:
            for image in inputs:
                padded = self._layout(functional.pad(image, (4, 4, 4, 4), mode="replicate"))
                fused = self._combine(functional.conv2d(padded, self.conv12, self.bias2), fused)
            self._replace_outer_ring(fused, inputs)
        return self._finish(fused, count)

    def _finish(self, fused: torch.Tensor, count: int) -> torch.Tensor:
        """The fused map after the rule's last step: ReLU of the running max, or the mean of the sum."""
        if self.fusion_rule == "max":
            return fused.relu_()
        if self.fusion_rule == "mean":
            return fused.div_(count)
        return fused

    def _winograd_conv3(self, features: torch.Tensor, relu: bool) -> torch.Tensor:
        """CONV3 with zero padding by Winograd F(4x4, 3x3) on the CPU's ``channels_last`` map; else oneDNN's."""
        if (features.device.type != "cpu" or features.dtype != torch.float32 or features.shape[0] != 1
                or not features.is_contiguous(memory_format=torch.channels_last)):
            output = functional.conv2d(features, self.conv3, self.bias3, padding=1)
            return output.relu_() if relu else output
        if self._conv3_winograd is None:
            self._conv3_winograd = ChannelsLastWinograd(self.conv3, self.bias3)
        pixels = features[0].permute(1, 2, 0).numpy()  # (H, W, C): a view of the channels_last memory
        output = self._conv3_winograd(pixels, relu=relu, threads=torch.get_num_threads())
        return torch.from_numpy(output).permute(2, 0, 1)[None]

    def reconstruct(self, fused: torch.Tensor) -> torch.Tensor:
        """CONV3 (BN folded, replicate padding) + ReLU + CONV4."""
        hidden = replicate_padded_conv(fused, self.conv3, self.bias3, self._layout, self._winograd_conv3, relu=True)
        del fused
        return pointwise_conv(hidden, self.conv4, self.bias4)

    def grey_kernel(self, scale: torch.Tensor, shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The 9x9 composed kernel (64, 1, 9, 9) and bias for one plane ``x`` standing for the channels
        ``x * scale[c] + shift[c]``: ``K'[o] = sum_c K[o,c] scale[c]``, ``b' = b + sum_c shift[c] sum K[o,c]``.

        Exact with replicate padding, which keeps every padded pixel an image pixel (the constant
        ``shift`` then meets the whole kernel everywhere).
        """
        weight = (self.conv12 * scale.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        bias = self.bias2 + (self.conv12.sum(dim=(2, 3)) * shift.view(1, 3)).sum(dim=1)
        return weight, bias

    def fuse_grey(self, inputs: Sequence[torch.Tensor], scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        """:meth:`fuse` of N single planes (1, 1, H, W) that stand for ``plane * scale[c] + shift[c]``.

        On the CPU, a third of the 3-channel work: the composed 9x9 convolution of one plane as a
        matrix product (:func:`single_plane_convolution`); elsewhere the three channels are built.
        """
        expanded = [image * scale.view(1, 3, 1, 1) + shift.view(1, 3, 1, 1) for image in inputs]
        height, width = inputs[0].shape[-2:]
        if (inputs[0].device.type != "cpu" or height < _RING_STRIP or width < _RING_STRIP
                or inputs[0].shape[0] != 1 or not self.channels_last):
            return self.fuse(expanded)
        weight, bias = self.grey_kernel(scale, shift)
        fused = None
        for image in inputs:
            padded = functional.pad(image, (4, 4, 4, 4), mode="replicate")[0, 0].numpy()
            features = single_plane_convolution(padded, weight[:, 0].numpy(), bias.numpy())
            fused = self._combine(torch.from_numpy(features).permute(2, 0, 1)[None], fused)
        self._replace_outer_ring(fused, expanded)
        return self._finish(fused, len(inputs))

    def forward(self, inputs: Sequence[torch.Tensor],
                channel_affine: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Fused (1, 3, H, W) output; ``channel_affine = (scale, shift)``: inputs are single planes (see
        :meth:`fuse_grey`)."""
        with torch.inference_mode():
            fused = self.fuse(inputs) if channel_affine is None else self.fuse_grey(inputs, *channel_affine)
            return self.reconstruct(fused).contiguous()
