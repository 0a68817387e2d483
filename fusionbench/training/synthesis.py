"""Online multi-focus synthesis from an RGB-D image (IFCNN paper, Sec. 2.3, Eqs. 3-5).

Everything works on torch tensors so that it runs on the training device (GPU when present)
and never starves the model:

* Eq. 3-4: the blurry image ``I_b = G * I_s`` with a Gaussian of kernel radius ``kr`` (1..15 px) and
  ``sigma = 0.3 * (kr - 1) + 0.8``. The paper cites OpenCV for this formula; OpenCV derives it from the
  kernel *size* ``k`` as ``sigma = 0.3 * ((k - 1) / 2 - 1) + 0.8``, which equals the paper's formula exactly
  when ``k = 2 * kr + 1``. So a "radius" ``kr`` means a ``(2kr+1) x (2kr+1)`` kernel. The kernel is Eq. 4's
  Gaussian sampled at integer offsets and normalised to sum 1 (the 1/(sqrt(2 pi) sigma) factor cancels).
  Borders follow OpenCV's default, BORDER_REFLECT_101 (torch's ``reflect`` padding).
* focus map ``I_m = 1`` where ``depth <= d_th``, ``d_th = t * max(depth)`` with ``t ~ U[0.3, 0.7]``.
* Eq. 5: ``I_1 = I_s*I_m + I_b*(1-I_m)`` (near focused), ``I_2 = I_s*(1-I_m) + I_b*I_m`` (far focused);
  the ground truth is ``I_s``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

KERNEL_RADIUS_RANGE = (1, 15)
DEPTH_THRESHOLD_RANGE = (0.3, 0.7)


def gaussian_sigma(kernel_radius: int) -> float:
    """Eq. 4's standard deviation for a kernel radius: ``0.3 * (kr - 1) + 0.8``."""
    return 0.3 * (kernel_radius - 1) + 0.8


def gaussian_kernel_1d(kernel_radius: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian of length ``2*kr + 1`` (Eq. 4 is separable: G(x,y) = g(x) g(y))."""
    if kernel_radius < 1:
        raise ValueError(f"kernel radius must be >= 1, got {kernel_radius}")
    offsets = torch.arange(-kernel_radius, kernel_radius + 1, dtype=torch.float64)
    weights = torch.exp(-offsets**2 / (2.0 * gaussian_sigma(kernel_radius) ** 2))
    return (weights / weights.sum()).to(dtype=dtype, device=device)


def gaussian_blur(images: torch.Tensor, kernel_radius: int) -> torch.Tensor:
    """Blur (B,C,H,W) float images with Eq. 4's Gaussian, BORDER_REFLECT_101 borders (Eq. 3).

    Separable: a horizontal then a vertical depthwise convolution. Reflect-101 padding needs the
    image to be larger than the radius in both directions.
    """
    channels = images.shape[1]
    kernel = gaussian_kernel_1d(kernel_radius, dtype=images.dtype, device=images.device)
    horizontal = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    padded = functional.pad(images, (kernel_radius, kernel_radius, 0, 0), mode="reflect")
    blurred = functional.conv2d(padded, horizontal, groups=channels)
    padded = functional.pad(blurred, (0, 0, kernel_radius, kernel_radius), mode="reflect")
    return functional.conv2d(padded, vertical, groups=channels)


def focus_map(depth: torch.Tensor, threshold_fraction: float) -> torch.Tensor:
    """``I_m``: 1.0 where ``depth <= threshold_fraction * max(depth)`` (near portions), else 0.0."""
    threshold = threshold_fraction * depth.amax()
    return (depth <= threshold).to(depth.dtype)


def compose_multifocus(source: torch.Tensor, blurred: torch.Tensor, mask: torch.Tensor):
    """Eq. 5: ``(I_1, I_2)`` from ``I_s``, ``I_b`` and the focus map ``I_m`` (broadcast over channels)."""
    near_focused = source * mask + blurred * (1.0 - mask)
    far_focused = source * (1.0 - mask) + blurred * mask
    return near_focused, far_focused


@dataclass(frozen=True)
class SynthesisDraw:
    """The random choices of one synthesised pair."""

    kernel_radius: int
    threshold_fraction: float


def draw_synthesis(generator: torch.Generator) -> SynthesisDraw:
    """``kr`` uniform over the integers 1..15, ``d_th / max depth`` uniform in [0.3, 0.7]."""
    low, high = KERNEL_RADIUS_RANGE
    kernel_radius = int(torch.randint(low, high + 1, (1,), generator=generator))
    fraction = DEPTH_THRESHOLD_RANGE[0] + (DEPTH_THRESHOLD_RANGE[1] - DEPTH_THRESHOLD_RANGE[0]) * float(
        torch.rand((1,), generator=generator, dtype=torch.float64))
    return SynthesisDraw(kernel_radius, fraction)


def synthesize_pair(source: torch.Tensor, depth: torch.Tensor, draw: SynthesisDraw):
    """One multi-focus triple ``(I_1, I_2, I_s)`` from a (3,H,W) image in [0,1] and its (H,W) depth."""
    blurred = gaussian_blur(source.unsqueeze(0), draw.kernel_radius)[0]
    mask = focus_map(depth, draw.threshold_fraction).unsqueeze(0)
    near_focused, far_focused = compose_multifocus(source, blurred, mask)
    return near_focused, far_focused, source
