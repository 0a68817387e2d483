"""Laplacian-pyramid fusion (``lp``), as ``lp_fuse(A, B, 4, 3, 3)`` of Liu, Liu & Wang's toolbox.

Liu, Liu, Wang, "A general framework for image fusion based on multi-scale transform and sparse
representation", Information Fusion 24 (2015) 147-164; pyramid code after Rockinger's toolbox.

Per band-pass level (see :mod:`.laplacian_pyramid` for the pyramid itself):

1. activity ``A_k`` = 3x3 maximum of ``|c_k|`` over the band extended by ``es2(., 1)`` (corners 0);
2. decision ``A_1 > A_2`` (ties go to the *second* input), on the extended grid;
3. consistency check: a coefficient comes from input 1 where more than 4 of the 9 decisions in its
   3x3 neighbourhood (of the extended grid, 'valid') chose input 1, else from input 2.

The base band is the average of the two. Pixels are float64 in 0..255 throughout; the result is
``uint8(round(F))`` with MATLAB's rounding (half away from zero) and saturation.

**Colour** images are fused channel by channel (R, G, B independently). **More than two sources**
are fused sequentially in the given order, ``F = fuse(fuse(fuse(I1, I2), I3), ...)``, without
rounding in between — how the reference's multi-exposure runs were made (there in sorted file
order). Order matters: ties go to the later image.
"""
from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np

from ..errors import ConfigError
from ..families import FAMILIES
from ..registry import register_algorithm
from .laplacian_pyramid import decompose, reconstruct, symmetric_extension

#: Decomposition depth of ``lp_fuse(A, B, 4, 3, 3)``.
LEVELS = 4
_NEIGHBOURHOOD = np.ones((3, 3), np.uint8)

#: A base-band rule: ``(bases_1, bases_2) -> fused bases``, lists of float64 planes (one per channel).
BaseRule = Callable[[list[np.ndarray], list[np.ndarray]], list[np.ndarray]]


def select_band_pass(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The toolbox's ``selc`` rule 3: 3x3 max-|c| activity, majority consistency check, ties to ``second``."""
    chosen_first = cv2.compare(_activity(first), _activity(second), cv2.CMP_GT)  # 255 where input 1 wins
    # 'valid' 3x3 count over the extended grid (back to the band's own size); > 4 of 9 votes keeps input 1.
    votes = cv2.boxFilter(chosen_first, cv2.CV_16U, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    keep_first = votes[1:-1, 1:-1] > 4 * 255
    fused = second.copy()
    np.copyto(fused, first, where=keep_first)
    return fused


def _activity(band: np.ndarray) -> np.ndarray:
    """3x3 maximum of ``|es2(band, 1)|`` (corners 0). ordfilt2 pads with 0, which cannot change a max of |c|."""
    extended = symmetric_extension(np.abs(band), 1)
    return cv2.dilate(extended, _NEIGHBOURHOOD, borderType=cv2.BORDER_REPLICATE)


def average_base(first: list[np.ndarray], second: list[np.ndarray]) -> list[np.ndarray]:
    """The toolbox's ``selb`` rule 3: the mean of the two base bands."""
    return [(one + other) / 2.0 for one, other in zip(first, second)]


def fuse_pair(first: list[np.ndarray], second: list[np.ndarray], base_rule: BaseRule = average_base,
              levels: int = LEVELS) -> list[np.ndarray]:
    """One ``lp_fuse``-style fusion of two images given as lists of float64 planes (no rounding)."""
    pyramids_first = [decompose(plane, levels) for plane in first]
    pyramids_second = [decompose(plane, levels) for plane in second]
    bases = base_rule([pyramid.base for pyramid in pyramids_first], [pyramid.base for pyramid in pyramids_second])
    fused = []
    for one, other, base in zip(pyramids_first, pyramids_second, bases):
        band_passes = [select_band_pass(a, b) for a, b in zip(one.levels, other.levels)]
        fused.append(reconstruct(band_passes, base, one.sizes))
    return fused


def fuse_sequentially(images: Sequence[np.ndarray], base_rule: BaseRule = average_base,
                      levels: int = LEVELS) -> np.ndarray:
    """Fuse uint8 sources left to right with :func:`fuse_pair`; round only the final result."""
    if levels < 1:
        raise ConfigError(f"the Laplacian pyramid needs at least 1 level, got levels={levels}")
    planes = [as_planes(image) for image in images]
    fused = planes[0]
    for following in planes[1:]:
        fused = fuse_pair(fused, following, base_rule, levels)
    return to_uint8_image(fused, grey=images[0].ndim == 2)


def as_planes(image: np.ndarray) -> list[np.ndarray]:
    """uint8 grey or RGB -> list of float64 planes (1 or 3) in 0..255."""
    if image.ndim == 2:
        return [image.astype(np.float64)]
    return [image[:, :, channel].astype(np.float64) for channel in range(image.shape[2])]


def to_uint8_image(planes: list[np.ndarray], grey: bool) -> np.ndarray:
    """MATLAB ``uint8()`` of the planes: round half away from zero, saturate to 0..255.

    Negative values saturate to 0 either way, so ``floor(x + 0.5)`` then clipping is the same rule.
    """
    rounded = [np.clip(np.floor(plane + 0.5), 0, 255).astype(np.uint8) for plane in planes]
    return rounded[0] if grey else np.dstack(rounded)


@register_algorithm("lp", families=FAMILIES, min_inputs=2, max_inputs=None, colour="any", version="1",
                    citation="Liu, Liu, Wang, Information Fusion 24 (2015) 147-164",
                    summary="Laplacian pyramid, 4 levels, max-|c| with 3x3 consistency check, averaged base")
def fuse(images: list[np.ndarray], levels: int = LEVELS) -> np.ndarray:
    """Laplacian-pyramid fusion as the MST-SR toolbox's ``lp_fuse(A, B, 4, 3, 3)`` (see module docstring)."""
    return fuse_sequentially(images, average_base, int(levels))
