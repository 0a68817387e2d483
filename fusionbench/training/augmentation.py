"""Augmentations of a synthesised triple (IFCNN paper, Secs. 2.3 step 4 and 2.5), on torch tensors.

The triple ``(I_1, I_2, I_s)`` is stacked into one (9,H,W) tensor and every geometric or colour
operation is applied to that stack with one random draw, so inputs and ground truth stay aligned and
receive identical colour changes by construction.

* random resized crop: area fraction ``U[0.5, 1]`` of the image and aspect ratio log-uniform in
  [3/4, 4/3] (torchvision's ``RandomResizedCrop`` convention, which the authors' PyTorch code most
  likely used), resized bilinearly (with antialiasing when shrinking) to ``size x size`` (224 in the paper);
* horizontal and vertical flips, each with probability 0.5;
* fine-training only: HSV jitter, each of H, S, V multiplied by its own ``U[0.8, 1.2]`` (hue wraps
  around, S and V are clipped to [0, 1]); then conversion to grey with probability 0.5 (ITU-R 601 luma,
  repeated to 3 channels).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional

CROP_AREA_RANGE = (0.5, 1.0)
CROP_ASPECT_RANGE = (3.0 / 4.0, 4.0 / 3.0)
HSV_FACTOR_RANGE = (0.8, 1.2)
GREY_PROBABILITY = 0.5
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class CropBox:
    top: int
    left: int
    height: int
    width: int


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((1,), generator=generator, dtype=torch.float64))


def draw_crop(height: int, width: int, generator: torch.Generator) -> CropBox:
    """A crop of area fraction U[0.5,1] and aspect log-U[3/4,4/3]; falls back to the largest centred fit."""
    area = height * width
    for _ in range(10):
        target_area = area * _uniform(generator, *CROP_AREA_RANGE)
        aspect = math.exp(_uniform(generator, math.log(CROP_ASPECT_RANGE[0]), math.log(CROP_ASPECT_RANGE[1])))
        crop_width = int(round(math.sqrt(target_area * aspect)))
        crop_height = int(round(math.sqrt(target_area / aspect)))
        if 0 < crop_width <= width and 0 < crop_height <= height:
            top = int(torch.randint(0, height - crop_height + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - crop_width + 1, (1,), generator=generator))
            return CropBox(top, left, crop_height, crop_width)
    side = min(height, width)
    return CropBox((height - side) // 2, (width - side) // 2, side, side)


def crop_and_resize(stack: torch.Tensor, box: CropBox, size: int) -> torch.Tensor:
    """Crop a (C,H,W) stack to ``box`` and resize it bilinearly to (C,size,size)."""
    patch = stack[:, box.top:box.top + box.height, box.left:box.left + box.width].unsqueeze(0)
    shrinking = box.height > size or box.width > size
    return functional.interpolate(patch, size=(size, size), mode="bilinear", align_corners=False,
                                  antialias=shrinking)[0]


def random_flips(stack: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip the whole (C,H,W) stack horizontally and vertically, each with probability 0.5."""
    flip_horizontal, flip_vertical = (torch.rand((2,), generator=generator) < 0.5).tolist()
    dims = [dim for dim, flip in ((2, flip_horizontal), (1, flip_vertical)) if flip]
    return torch.flip(stack, dims=dims) if dims else stack


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0,1] to HSV with H in [0,1) (fraction of a turn), S and V in [0,1]."""
    red, green, blue = rgb.unbind(dim=-3)
    value, _ = rgb.max(dim=-3)
    minimum, _ = rgb.min(dim=-3)
    chroma = value - minimum
    saturation = torch.where(value > 0, chroma / value.clamp_min(1e-12), torch.zeros_like(value))
    safe_chroma = chroma.clamp_min(1e-12)
    hue = torch.where(value == red, ((green - blue) / safe_chroma) % 6.0,
                      torch.where(value == green, (blue - red) / safe_chroma + 2.0, (red - green) / safe_chroma + 4.0))
    hue = torch.where(chroma > 0, hue / 6.0, torch.zeros_like(hue)) % 1.0
    return torch.stack((hue, saturation, value), dim=-3)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`."""
    hue, saturation, value = hsv.unbind(dim=-3)
    sector = hue * 6.0
    channels = []
    for offset in (5.0, 3.0, 1.0):  # the standard f(n) = V - V S max(0, min(k, 4-k, 1)), k = (n + 6H) mod 6
        k = (offset + sector) % 6.0
        channels.append(value - value * saturation * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0))
    return torch.stack(channels, dim=-3)


def hsv_jitter(stack: torch.Tensor, factors: tuple[float, float, float]) -> torch.Tensor:
    """Multiply H, S and V of every RGB image in a (3k,H,W) stack by ``factors`` (same for all images)."""
    images = stack.reshape(-1, 3, *stack.shape[-2:])
    hsv = rgb_to_hsv(images)
    hue = (hsv[:, 0] * factors[0]) % 1.0
    saturation = (hsv[:, 1] * factors[1]).clamp(0.0, 1.0)
    value = (hsv[:, 2] * factors[2]).clamp(0.0, 1.0)
    return hsv_to_rgb(torch.stack((hue, saturation, value), dim=1)).reshape(stack.shape)


def to_grey(stack: torch.Tensor) -> torch.Tensor:
    """Every RGB image of a (3k,H,W) stack to luma (0.299 R + 0.587 G + 0.114 B) repeated to 3 channels."""
    images = stack.reshape(-1, 3, *stack.shape[-2:])
    weights = torch.tensor(LUMA_WEIGHTS, dtype=stack.dtype, device=stack.device).view(1, 3, 1, 1)
    luma = (images * weights).sum(dim=1, keepdim=True)
    return luma.expand(-1, 3, -1, -1).reshape(stack.shape)


def colour_augment(stack: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Fine-training colour augmentation: HSV jitter x U[0.8,1.2] per channel, then grey with p = 0.5."""
    factors = tuple(_uniform(generator, *HSV_FACTOR_RANGE) for _ in range(3))
    stack = hsv_jitter(stack, factors)
    if float(torch.rand((1,), generator=generator)) < GREY_PROBABILITY:
        stack = to_grey(stack)
    return stack


def augment_triple(stack: torch.Tensor, size: int, generator: torch.Generator, colour: bool) -> torch.Tensor:
    """Crop+resize, flips and (when ``colour``) the colour augmentation of a (9,H,W) triple stack."""
    box = draw_crop(stack.shape[-2], stack.shape[-1], generator)
    stack = random_flips(crop_and_resize(stack, box, size), generator)
    return colour_augment(stack, generator) if colour else stack
