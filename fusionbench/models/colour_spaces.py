"""Colour conversions and float-to-uint8 rules of published fusion networks, as named data (NumPy only).

Networks for infrared-visual fusion usually fuse a luma plane and put the visible image's chroma
back afterwards, and each upstream repository does it with its own coefficients, clamping and
rounding. Reproducing their published outputs to the grey level needs those details exactly, so
they are kept here as named coefficient sets rather than buried in each model:

* :data:`YCBCR_SPACES` — luma/chroma conversions in "difference" form, applied by
  :func:`rgb_to_ycbcr` and :func:`ycbcr_to_rgb`::

      Y  = wR R + wG G + wB B
      Cb = cb_scale (B - Y) + offset          Cr = cr_scale (R - Y) + offset
      R  = Y + r_cr (Cr - offset)
      G  = Y - g_cr (Cr - offset) - g_cb (Cb - offset)
      B  = Y + b_cb (Cb - offset)

  with optional clamping of each plane after the forward conversion and of R, G, B after the
  inverse one. Planes are float32 in [0, 1] (``uint8 / 255``) and the arithmetic is done in float32
  in the order written above, as the upstream PyTorch code does.
* :data:`GREY_CONVERSIONS` — RGB uint8 to one uint8 channel (:func:`rgb_to_single_channel`).
* :data:`QUANTISATIONS` — float planes to uint8 (:func:`quantise`): optional min-max stretch over
  the whole image (all channels together), then ``x 255`` and truncation or rounding.

To add a network's conventions, add an entry to the dictionary (with ``source`` saying where the
numbers come from) and a known-value test in ``tests/models/``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class YCbCrSpace:
    """One RGB <-> luma/chroma conversion (see the module docstring for the formulas)."""

    name: str
    luma_weights: tuple[float, float, float]
    cb_scale: float
    cr_scale: float
    r_cr: float
    g_cr: float
    g_cb: float
    b_cb: float
    offset: float = 0.5
    clamp: tuple[float, float] | None = (0.0, 1.0)
    source: str = ""


@dataclass(frozen=True)
class GreyConversion:
    """RGB uint8 -> grey uint8 as ``round_half_up(wR R + wG G + wB B)`` (or truncation)."""

    name: str
    weights: tuple[float, float, float]
    rounding: str  # "half-up" or "truncate"
    source: str = ""


@dataclass(frozen=True)
class Quantisation:
    """Float planes -> uint8: optional min-max stretch, ``x 255``, then truncation or rounding.

    ``stretch="minmax"`` maps the image's smallest value to 0 and its largest to 1 first, over all
    channels together (a constant image stays as it is, clamped to [0, 1]). ``rounding`` is
    ``"truncate"`` (``astype(uint8)``, i.e. floor for non-negative values) or ``"nearest"``
    (NumPy ``rint``: halves to even). Values are clipped to 0..255 before the cast.
    """

    name: str
    stretch: str  # "none" or "minmax"
    rounding: str  # "truncate" or "nearest"
    source: str = ""


YCBCR_SPACES: dict[str, YCbCrSpace] = {
    "seafusion": YCbCrSpace(
        name="seafusion", luma_weights=(0.299, 0.587, 0.114), cb_scale=0.564, cr_scale=0.713,
        r_cr=1.403, g_cr=0.714, g_cb=0.344, b_cb=1.773, offset=0.5, clamp=(0.0, 1.0),
        source="SeAFusion utils.py RGB2YCrCb / YCbCr2RGB (Linfeng-Tang/SeAFusion, also VIF-Benchmark): "
               "each of Y, Cr, Cb clamped to [0, 1], RGB clamped to [0, 1]"),
}

GREY_CONVERSIONS: dict[str, GreyConversion] = {
    # Pillow's convert('L'): (19595 R + 38470 G + 7471 B + 0x8000) >> 16 — exact in float64.
    "pillow-L": GreyConversion(
        name="pillow-L", weights=(19595 / 65536, 38470 / 65536, 7471 / 65536), rounding="half-up",
        source="Pillow Image.convert('L') (ITU-R 601-2 luma, 16-bit fixed point, Pillow >= 9)"),
    # OpenCV's COLOR_RGB2GRAY / COLOR_BGR2GRAY on uint8: (9798 R + 19235 G + 3735 B + 2^14) >> 15 — exact in
    # float64 (checked against cv2.cvtColor on all 2^24 colours in tests/models/test_tardal.py).
    "opencv-gray": GreyConversion(
        name="opencv-gray", weights=(9798 / 32768, 19235 / 32768, 3735 / 32768), rounding="half-up",
        source="OpenCV cvtColor COLOR_BGR2GRAY on 8-bit images (15-bit fixed point), as TarDAL's "
               "utils/image_pair.py converted the visible image"),
}

QUANTISATIONS: dict[str, Quantisation] = {
    "minmax-truncate": Quantisation(
        "minmax-truncate", stretch="minmax", rounding="truncate",
        source="SeAFusion utils.py tensor2img: (x - min) / (max - min) * 255, astype(uint8)"),
    "minmax-round": Quantisation("minmax-round", stretch="minmax", rounding="nearest"),
    "scale-truncate": Quantisation(
        "scale-truncate", stretch="none", rounding="truncate",
        source="scikit-image < 0.16 img_as_ubyte (float x 255, astype)"),
    "scale-round": Quantisation(
        "scale-round", stretch="none", rounding="nearest",
        source="scikit-image >= 0.16 img_as_ubyte (float x 255, np.rint), used by skimage.io.imsave"),
}


def _lookup(table: dict, name: str, kind: str):
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(table))}") from None


def ycbcr_space(name: str) -> YCbCrSpace:
    """The named conversion (ConfigError listing the names if unknown)."""
    return _lookup(YCBCR_SPACES, name, "colour space")


def grey_conversion(name: str) -> GreyConversion:
    """The named RGB-to-grey conversion (ConfigError listing the names if unknown)."""
    return _lookup(GREY_CONVERSIONS, name, "grey conversion")


def quantisation(name: str) -> Quantisation:
    """The named float-to-uint8 rule (ConfigError listing the names if unknown)."""
    return _lookup(QUANTISATIONS, name, "quantisation")


def _clamp(plane: np.ndarray, bounds: tuple[float, float] | None) -> np.ndarray:
    if bounds is None:
        return plane
    return np.clip(plane, np.float32(bounds[0]), np.float32(bounds[1]), out=plane)


def unit_planes(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W[, C]) -> float32 ``x / 255`` (what ``torchvision to_tensor`` computes), same layout."""
    return image.astype(np.float32) / np.float32(255)


def rgb_to_ycbcr(rgb: np.ndarray, space: str | YCbCrSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float32 (H, W, 3) RGB in [0, 1] -> float32 Y, Cb, Cr planes (H, W), clamped as the space says."""
    space = ycbcr_space(space) if isinstance(space, str) else space
    red, green, blue = (np.asarray(rgb[..., channel], dtype=np.float32) for channel in range(3))
    w_red, w_green, w_blue = space.luma_weights
    luma = w_red * red + w_green * green + w_blue * blue
    offset = np.float32(space.offset)
    cr = (red - luma) * np.float32(space.cr_scale) + offset
    cb = (blue - luma) * np.float32(space.cb_scale) + offset
    return _clamp(luma, space.clamp), _clamp(cb, space.clamp), _clamp(cr, space.clamp)


def ycbcr_to_rgb(luma: np.ndarray, cb: np.ndarray, cr: np.ndarray, space: str | YCbCrSpace) -> np.ndarray:
    """Float32 Y, Cb, Cr planes (H, W) -> float32 (H, W, 3) RGB, clamped as the space says."""
    space = ycbcr_space(space) if isinstance(space, str) else space
    luma = np.asarray(luma, dtype=np.float32)
    offset = np.float32(space.offset)
    cr_centred = np.asarray(cr, dtype=np.float32) - offset
    cb_centred = np.asarray(cb, dtype=np.float32) - offset
    rgb = np.empty(luma.shape + (3,), dtype=np.float32)
    rgb[..., 0] = luma + np.float32(space.r_cr) * cr_centred
    rgb[..., 1] = luma - np.float32(space.g_cr) * cr_centred - np.float32(space.g_cb) * cb_centred
    rgb[..., 2] = luma + np.float32(space.b_cb) * cb_centred
    return _clamp(rgb, space.clamp)


def rgb_to_single_channel(image: np.ndarray, conversion: str | GreyConversion = "pillow-L") -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> uint8 (H, W).

    Grey input is returned as it is; RGB with three equal channels gives that channel (every
    conversion here maps R = G = B = v to v); other RGB goes through the named conversion.
    """
    if image.ndim == 2:
        return image
    if image.ndim != 3 or image.shape[2] != 3:
        raise ConfigError(f"expected a grey (H, W) or RGB (H, W, 3) image, got shape {image.shape}")
    first = image[..., 0]
    if np.array_equal(first, image[..., 1]) and np.array_equal(first, image[..., 2]):
        return np.ascontiguousarray(first)
    conversion = grey_conversion(conversion) if isinstance(conversion, str) else conversion
    grey = image.astype(np.float64) @ np.array(conversion.weights, dtype=np.float64)
    grey = np.floor(grey + 0.5) if conversion.rounding == "half-up" else np.floor(grey)
    return np.clip(grey, 0, 255).astype(np.uint8)


def quantise(planes: np.ndarray, rule: str | Quantisation) -> np.ndarray:
    """Float (H, W) or (H, W, C) values -> uint8 by the named rule, in float32 arithmetic."""
    rule = quantisation(rule) if isinstance(rule, str) else rule
    values = np.asarray(planes, dtype=np.float32)
    if rule.stretch == "minmax":
        low, high = values.min(), values.max()
        if high > low:
            values = (values - low) / (high - low)
        else:
            values = np.clip(values, np.float32(0), np.float32(1))
    elif rule.stretch != "none":
        raise ConfigError(f"quantisation {rule.name!r}: unknown stretch {rule.stretch!r}")
    scaled = values * np.float32(255)
    if rule.rounding == "nearest":
        scaled = np.rint(scaled)
    elif rule.rounding != "truncate":
        raise ConfigError(f"quantisation {rule.name!r}: unknown rounding {rule.rounding!r}")
    return np.clip(scaled, np.float32(0), np.float32(255)).astype(np.uint8)
