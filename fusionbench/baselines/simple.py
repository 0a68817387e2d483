"""The trivial references every fusion table wants: ``average`` and ``max-abs``.

They calibrate the metrics (any method worth publishing should beat them) and cost nothing.
"""
from __future__ import annotations

import numpy as np

from ..families import FAMILIES
from ..registry import register_algorithm


@register_algorithm("average", families=FAMILIES, min_inputs=2, max_inputs=None, colour="any", version="1",
                    citation="", summary="pixel-wise mean of the sources, rounded half up")
def fuse_average(images: list[np.ndarray]) -> np.ndarray:
    """``F = round(mean_n I_n)`` per pixel and channel (exact integer arithmetic, halves round up)."""
    total = np.sum([image.astype(np.int64) for image in images], axis=0)
    count = len(images)
    # floor((2 * total + count) / (2 * count)) == round-half-up of total / count, without float error.
    return ((2 * total + count) // (2 * count)).astype(np.uint8)


@register_algorithm("max-abs", families=FAMILIES, min_inputs=2, max_inputs=None, colour="any", version="1",
                    citation="", summary="pixel-wise maximum of the sources (|I| = I for uint8 images)")
def fuse_max_abs(images: list[np.ndarray]) -> np.ndarray:
    """``F = max_n I_n`` per pixel and channel: the maximum-absolute rule on non-negative intensities.

    For uint8 images the absolute value is the value itself, so this is the pixel-wise maximum.
    """
    return np.maximum.reduce(list(images)).astype(np.uint8)
