"""IFCNN pre- and post-processing per dataset family, in two named presets (NumPy only, no torch).

The network sees 3-channel float32 images; how uint8 sources become those and how the network's
3-channel output becomes a uint8 image differs by family and by preset:

``paper`` — what produced the paper's Tables 1-3 (measured: with it the official IFCNN-MAX and
IFCNN-SUM checkpoints reproduce the paper's columns on lytro, tno-iv and medical). Every pair
family: grey sources repeated to 3 channels, ``x/255`` then ImageNet normalisation
``(x - mean)/std``; the output is de-normalised ``y*std + mean``, clamped to [0, 1], multiplied by
255 and truncated to uint8; grey sources give a grey result by MATLAB ``rgb2gray`` (rounded).

``released-demo`` — what the upstream demo (``uzeful/IFCNN`` ``Code/IFCNN_Main.py``) did to make
the released result PNGs: colour multi-focus as ``paper``; every other pair family without
normalisation (mean 0, std 1), grey result by OpenCV's ``COLOR_RGB2GRAY``.

Multi-exposure, in both presets (the paper does not describe its procedure): each exposure is
converted to YCbCr (Pillow's JPEG/BT.601 full-range conversion); the Y planes, ``/255`` and repeated
to 3 channels without normalisation, go through the network; its output is clamped, ``x255``,
truncated and turned to one channel with OpenCV grey weights. Cb and Cr are fused by Prabhakar et
al.'s weighting (DeepFuse, ICCV 2017), ``C = sum_k C_k |C_k - 128| / sum_k |C_k - 128|`` (128 where
the denominator is 0). With ``clahe=True`` (default, the released demo's step, not in the paper)
Y is mapped to the studio range ``y/255*235 + (1 - y/255)*16``, truncated, and enhanced with CLAHE
(clip limit 2.0, 8x8 tiles); then Y, Cr, Cb go back to RGB with OpenCV's ``COLOR_YCrCb2RGB``.

Arithmetic follows the demo's float32 order of operations so results agree to the grey level.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
from PIL import Image

from ..errors import ConfigError
from ..families import FAMILIES, INFRARED_VISUAL, MEDICAL, MULTI_EXPOSURE, MULTI_FOCUS
from ..image_io import rgb_to_grey

PRESETS = ("paper", "released-demo")
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CLAHE_CLIP_LIMIT = 2.0
CLAHE_TILES = (8, 8)
STUDIO_BLACK, STUDIO_WHITE = 16, 235


@dataclass(frozen=True)
class PairProcessing:
    """How one family of pair fusion is fed to the network and read back."""

    normalise: bool  # ImageNet mean/std normalisation of the [0, 1] input
    grey_conversion: str  # "matlab" (rgb2gray, rounded) or "opencv" (COLOR_RGB2GRAY)


_PAIR_PROCESSING = {
    "paper": {family: PairProcessing(True, "matlab") for family in (MULTI_FOCUS, INFRARED_VISUAL, MEDICAL)},
    "released-demo": {MULTI_FOCUS: PairProcessing(True, "opencv"),
                      INFRARED_VISUAL: PairProcessing(False, "opencv"),
                      MEDICAL: PairProcessing(False, "opencv")},
}


def check_preset(preset: str) -> str:
    """``preset`` if it is one of :data:`PRESETS`, else ConfigError listing them."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preprocessing preset {preset!r}; valid: {', '.join(PRESETS)}")
    return preset


def check_family(family: str | None, images: Sequence[np.ndarray]) -> str:
    """The family to process ``images`` as: ``family`` checked, or inferred when None.

    Inference: grey sources -> infrared-visual (the same path as medical), colour -> multi-focus.
    """
    if family is None:
        return INFRARED_VISUAL if images[0].ndim == 2 else MULTI_FOCUS
    if family not in FAMILIES:
        raise ConfigError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    return family


def pair_processing(preset: str, family: str) -> PairProcessing:
    """The processing of a pair family (multi-focus, infrared-visual, medical) under a preset."""
    return _PAIR_PROCESSING[check_preset(preset)][family]


def to_network_input(image: np.ndarray, normalise: bool) -> np.ndarray:
    """uint8 grey or RGB image -> float32 (3, H, W): ``x/255``, then ``(x - mean)/std`` if ``normalise``.

    Grey images are repeated to three channels (as the demo's Pillow ``convert('RGB')`` did).
    """
    colour = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
    planes = np.ascontiguousarray(colour.transpose(2, 0, 1)).astype(np.float32) / np.float32(255)
    if normalise:
        planes = (planes - IMAGENET_MEAN[:, None, None]) / IMAGENET_STD[:, None, None]
    return planes


def grey_network_input(image: np.ndarray) -> np.ndarray:
    """uint8 grey image -> float32 (1, H, W) ``x/255``: with :func:`channel_affine` the network's input.

    Channel ``c`` of :func:`to_network_input` is ``x/255 * scale[c] + shift[c]`` (to float32
    rounding), so a network can take the one plane and fold the affine map into its first weights.
    """
    return (image.astype(np.float32) / np.float32(255))[None]


def channel_affine(normalise: bool) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) float32 (3,) with ``to_network_input(grey)[c] = grey/255 * scale[c] + shift[c]``."""
    if not normalise:
        return np.ones(3, np.float32), np.zeros(3, np.float32)
    return (np.float32(1) / IMAGENET_STD).astype(np.float32), (-IMAGENET_MEAN / IMAGENET_STD).astype(np.float32)


def from_network_output(output: np.ndarray, normalise: bool) -> np.ndarray:
    """float (3, H, W) network output -> uint8 RGB (H, W, 3): de-normalise, clamp to [0,1], x255, truncate."""
    planes = output.astype(np.float32, copy=False)
    if normalise:
        planes = planes * IMAGENET_STD[:, None, None] + IMAGENET_MEAN[:, None, None]
    scaled = np.clip(planes, 0, 1) * np.float32(255)
    return np.ascontiguousarray(scaled.astype(np.uint8).transpose(1, 2, 0))  # astype truncates, as the demo


def to_grey(rgb: np.ndarray, conversion: str) -> np.ndarray:
    """RGB uint8 -> grey uint8 by MATLAB ``rgb2gray`` (rounded) or OpenCV ``COLOR_RGB2GRAY``."""
    if conversion == "matlab":
        return rgb_to_grey(rgb)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


# ---- multi-exposure: YCbCr path ------------------------------------------------------------------

def split_ycbcr(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """uint8 RGB -> (Y, Cb, Cr) uint8 planes by Pillow's conversion; grey -> (image, None, None)."""
    if image.ndim == 2:
        return image, None, None
    ycbcr = np.asarray(Image.fromarray(image, mode="RGB").convert("YCbCr"))
    return ycbcr[:, :, 0], ycbcr[:, :, 1], ycbcr[:, :, 2]


def fuse_chroma(planes: Sequence[np.ndarray]) -> np.ndarray:
    """Prabhakar's chroma weighting: ``sum_k C_k w_k / W`` with ``w_k = |C_k - 128|``, ``W = sum_k w_k``.

    float32 in the demo's order (per-source ratios summed, 128 where W = 0), truncated to uint8.
    The demo's planes went through ``/255`` then ``*255`` in float32, which is kept.
    """
    values = [(plane.astype(np.float32) / np.float32(255)) * np.float32(255) for plane in planes]
    weights = [np.abs(value - np.float32(128)) for value in values]
    total = np.zeros_like(values[0])
    for weight in weights:
        total = total + weight
    fused = np.zeros_like(values[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        for value, weight in zip(values, weights):
            fused = fused + (value * weight) / total
    fused[np.isnan(fused)] = 128
    return fused.astype(np.uint8)


def studio_range(y: np.ndarray) -> np.ndarray:
    """Full-range luma to the studio range: ``y/255*235 + (1 - y/255)*16``, truncated to uint8 (0 -> 16, 255 -> 235)."""
    scaled = y / 255.0
    return (scaled * STUDIO_WHITE + (1 - scaled) * STUDIO_BLACK).astype(np.uint8)


def enhance_luma(y: np.ndarray) -> np.ndarray:
    """The released demo's Y enhancement: :func:`studio_range`, then CLAHE (clip 2.0, 8x8 tiles, OpenCV)."""
    return cv2.createCLAHE(clipLimit=CLAHE_CLIP_LIMIT, tileGridSize=CLAHE_TILES).apply(studio_range(y))


def merge_ycbcr(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Y, Cb, Cr uint8 planes -> RGB uint8 by OpenCV's full-range ``COLOR_YCrCb2RGB``."""
    return cv2.cvtColor(np.dstack([y, cr, cb]), cv2.COLOR_YCrCb2RGB)
