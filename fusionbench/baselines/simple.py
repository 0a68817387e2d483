"""The trivial references every fusion table wants: ``average`` and ``max-abs``.

They calibrate the metrics (any method worth publishing should beat them) and cost nothing: in
memory too, uint8 sources are combined in place, row strip by row strip (the output plus ~1 MB).
"""
from __future__ import annotations

import numpy as np

from ..families import FAMILIES
from ..registry import register_algorithm
from .strips import row_strips, strip_rows


@register_algorithm("average", families=FAMILIES, min_inputs=2, max_inputs=None, colour="any", version="1",
                    citation="", summary="pixel-wise mean of the sources, rounded half up")
def fuse_average(images: list[np.ndarray]) -> np.ndarray:
    """``F = round(mean_n I_n)`` per pixel and channel (exact integer arithmetic, halves round up)."""
    count = len(images)
    if not all(image.dtype == np.uint8 for image in images):
        total = np.sum([image.astype(np.int64) for image in images], axis=0)
        # floor((2 * total + count) / (2 * count)) == round-half-up of total / count, without float error.
        return ((2 * total + count) // (2 * count)).astype(np.uint8)
    # The same integers in the narrowest type that holds 2 * 255 * count + count.
    dtype = np.uint16 if 511 * count <= np.iinfo(np.uint16).max else np.int64
    fused = np.empty(images[0].shape, np.uint8)
    values_per_row = int(np.prod(images[0].shape[1:]))
    for start, stop, _, _ in row_strips(len(fused), strip_rows(values_per_row, minimum=1)):
        total = images[0][start:stop].astype(dtype)
        for image in images[1:]:
            total += image[start:stop]
        total *= 2
        total += count
        total //= 2 * count
        fused[start:stop] = total
    return fused


@register_algorithm("max-abs", families=FAMILIES, min_inputs=2, max_inputs=None, colour="any", version="1",
                    citation="", summary="pixel-wise maximum of the sources (|I| = I for uint8 images)")
def fuse_max_abs(images: list[np.ndarray]) -> np.ndarray:
    """``F = max_n I_n`` per pixel and channel: the maximum-absolute rule on non-negative intensities.

    For uint8 images the absolute value is the value itself, so this is the pixel-wise maximum.
    """
    if not all(image.dtype == np.uint8 for image in images):
        return np.maximum.reduce(list(images)).astype(np.uint8)
    fused = images[0].copy()
    for image in images[1:]:
        np.maximum(fused, image, out=fused)
    return fused
