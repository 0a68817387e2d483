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

**Large images** (over ``strips.WHOLE_IMAGE_PIXELS``) are decomposed in row strips with a halo
(:func:`fused_band_passes`), bit-identical to the whole-image pyramids: a random 2000x2000 colour
pair peaks at 33 bytes per source pixel instead of 185 (grey: 32 instead of 89).
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from ..errors import ConfigError
from ..families import FAMILIES
from ..registry import register_algorithm
from .laplacian_pyramid import (check_size, decompose, level_shapes, pad_to_even, reconstruct_in_place, reduce,
                                symmetric_extension)
from .strips import row_strips, strip_rows, use_strips

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
    """One ``lp_fuse``-style fusion of two images given as lists of planes (no rounding).

    Planes are float64 or uint8 (converted to float64 as needed); the result is float64 planes.
    """
    return list(_fused_planes(first, second, base_rule, levels))


def _fused_planes(first: list[np.ndarray], second: list[np.ndarray], base_rule: BaseRule,
                  levels: int) -> Iterator[np.ndarray]:
    """:func:`fuse_pair`'s planes, each yielded as soon as it is rebuilt (and then no longer held here).

    Each plane's two pyramids live only while its band-passes are chosen (:func:`fused_band_passes`).
    The base bands of all planes go to ``base_rule`` together: on large images with several planes they
    are computed first, alone (:func:`base_band`, cheap), so that the chosen band-passes of one plane
    at a time are held, not of all planes during the base rule.
    """
    check_size(first[0].shape, levels)
    sizes = level_shapes(first[0].shape, levels)[0]
    if len(first) > 1 and use_strips(first[0].shape):
        bases = base_rule([base_band(plane, levels) for plane in first],
                          [base_band(plane, levels) for plane in second])
        for one, other, base in zip(first, second, bases):
            yield reconstruct_in_place(fused_band_passes(one, other, levels)[0], base, sizes)
        return
    chosen = [fused_band_passes(one, other, levels) for one, other in zip(first, second)]
    bases = base_rule([bands[1] for bands in chosen], [bands[2] for bands in chosen])
    for index, base in enumerate(bases):
        bands, chosen[index] = chosen[index][0], None
        yield reconstruct_in_place(bands, base, sizes)


def base_band(plane: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """The base band of :func:`decompose` alone: ``levels`` times pad to even and reduce.

    Large planes go in row strips with ``2 * 2**levels`` rows of halo (a base value depends on the
    full-resolution rows within ``2 * (2**levels - 1)`` of its own), as in :func:`fused_band_passes`.
    """
    def reduced(rows: np.ndarray) -> np.ndarray:
        current = _as_float(rows)
        for _ in range(levels):
            current = reduce(pad_to_even(current))
        return current

    if not use_strips(plane.shape):
        return reduced(plane)
    base = np.empty(level_shapes(plane.shape, levels)[2])
    halo, step = 2 * 2 ** levels, 2 ** levels
    rows = plane.shape[0]
    for start, stop, low, high in row_strips(rows, strip_rows(plane.shape[1], halo, step), halo):
        _keep_core(base, reduced(plane[low:high]), start, stop, low, rows, step)
    return base


def fused_band_passes(first: np.ndarray, second: np.ndarray,
                      levels: int = LEVELS) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The chosen band-passes of two planes (:func:`select_band_pass` per level) and both base bands.

    Large planes (over ``strips.WHOLE_IMAGE_PIXELS``) are decomposed in row strips with
    :func:`pyramid_halo` rows of halo on each side, starting at multiples of ``2**levels`` rows (so that
    every level samples the same rows): each kept value is computed from exactly the inputs of the
    whole-image pyramid, in the same operations. Only the chosen band-passes (4/3 of a plane) are kept
    at full size, not four pyramids.
    """
    if not use_strips(first.shape):
        one, other = decompose(_as_float(first), levels), decompose(_as_float(second), levels)
        chosen = [select_band_pass(a, b) for a, b in zip(one.levels, other.levels)]
        return chosen, one.base, other.base
    _, band_shapes, base_shape = level_shapes(first.shape, levels)
    chosen = [np.empty(shape) for shape in band_shapes]
    bases = (np.empty(base_shape), np.empty(base_shape))
    halo, step = pyramid_halo(levels), 2 ** levels
    rows = first.shape[0]
    for start, stop, low, high in row_strips(rows, strip_rows(first.shape[1], halo, step), halo):
        one = decompose(_as_float(first[low:high]), levels)
        other = decompose(_as_float(second[low:high]), levels)
        for level, (a, b) in enumerate(zip(one.levels, other.levels)):
            target, local = _core_rows(start, stop, low, rows, 2 ** level, len(chosen[level]))
            # A chosen value depends on the band rows within 2 of its own (3x3 activity, then 3x3 vote).
            near = slice(max(0, local.start - SELECTION_REACH), min(len(a), local.stop + SELECTION_REACH))
            selected = select_band_pass(a[near], b[near])
            chosen[level][target] = selected[local.start - near.start:local.stop - near.start]
        del a, b, selected
        _keep_core(bases[0], one.base, start, stop, low, rows, step)
        _keep_core(bases[1], other.base, start, stop, low, rows, step)
    return chosen, bases[0], bases[1]


#: Band rows on each side that one chosen band-pass value depends on (see :func:`select_band_pass`).
SELECTION_REACH = 2


def pyramid_halo(levels: int) -> int:
    """Halo rows for a strip of an ``levels``-level pyramid fusion.

    A chosen band-pass value of level ``k`` depends on full-resolution rows within ``8 * 2**k - 2`` of
    its own: the 3x3 activity and 3x3 vote reach 2 samples of level ``k``, its band-pass 4 more (the
    5-tap reduction and the expansion), and each reduction down to level ``k`` 2 samples of its level.
    The finest of ``4 * 2**levels`` rows covers the coarsest level; it is a multiple of ``2**levels``.
    """
    return 4 * 2 ** levels


def _core_rows(start: int, stop: int, low: int, rows: int, scale: int, length: int) -> tuple[slice, slice]:
    """Rows of a level of scale ``scale`` (``length`` rows in all) that the core ``start:stop`` (full
    resolution) of a strip from row ``low`` holds: in the whole level and in the strip's level."""
    first = start // scale
    last = stop // scale if stop < rows else length  # the last strip keeps the padded rows too
    return slice(first, last), slice(first - low // scale, last - low // scale)


def _keep_core(target: np.ndarray, strip: np.ndarray, start: int, stop: int, low: int, rows: int,
               scale: int) -> None:
    """Copy the core rows ``start:stop`` (full resolution) of a strip's level of scale ``scale``."""
    whole, local = _core_rows(start, stop, low, rows, scale, len(target))
    target[whole] = strip[local]


def _as_float(plane: np.ndarray) -> np.ndarray:
    return np.asarray(plane, dtype=np.float64)


def fuse_sequentially(images: Sequence[np.ndarray], base_rule: BaseRule = average_base,
                      levels: int = LEVELS, planewise: bool = False) -> np.ndarray:
    """Fuse uint8 sources left to right with :func:`fuse_pair`; round only the final result.

    ``planewise``: the base rule treats each colour plane on its own (as :func:`average_base`), so each
    plane goes through the whole sequence alone (less memory); else all planes go together.
    """
    if levels < 1:
        raise ConfigError(f"the Laplacian pyramid needs at least 1 level, got levels={levels}")
    grey = images[0].ndim == 2
    channels = 1 if grey else images[0].shape[2]
    fused = np.empty(images[0].shape, np.uint8)
    target = fused[:, :, None] if grey else fused
    groups = [[channel] for channel in range(channels)] if planewise else [list(range(channels))]
    for group in groups:
        current = [_plane(images[0], channel) for channel in group]
        for following in images[1:-1]:
            current = fuse_pair(current, [_plane(following, channel) for channel in group], base_rule, levels)
        last = [_plane(images[-1], channel) for channel in group]
        # The last fusion's planes are rounded into the output one by one, as they come.
        for plane, channel in zip(_fused_planes(current, last, base_rule, levels), group):
            _round_into(plane, target[:, :, channel])
            del plane
        del current
    return fused


def _plane(image: np.ndarray, channel: int) -> np.ndarray:
    return image if image.ndim == 2 else image[:, :, channel]


def _round_into(plane: np.ndarray, target: np.ndarray) -> None:
    """:func:`to_uint8_image` of one plane, written into ``target`` strip by strip."""
    for start, stop, _, _ in row_strips(len(plane), strip_rows(plane.shape[1])):
        target[start:stop] = np.clip(np.floor(plane[start:stop] + 0.5), 0, 255).astype(np.uint8)


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
    return fuse_sequentially(images, average_base, int(levels), planewise=True)
