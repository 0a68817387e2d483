"""Q_CV's gradient power map in one compiled pass (Numba) instead of two OpenCV Sobel maps and
four NumPy maps.

g^5 per pixel, g the 3x3 Sobel gradient magnitude ('same', zero padding) of an image of integer
grey levels (Q_CV's stretched images). On integer levels every Sobel response and g^2 = sx^2 + sy^2
is an integer below 2^53, so exact in float64 whatever the order of the additions; g^4 = (g^2)^2
is exact too, and g^5 = g^4 sqrt(g^2) rounds once, as NumPy's does: the map equals the OpenCV and
NumPy one bit for bit. Imported on Q_CV's first use (Numba costs ~0.3 s to import).
"""
from __future__ import annotations

import math

import numba


def _compile(function):
    """``numba.njit(nogil=True)`` (planes run in threads) with an on-disk cache where one can be
    written, else compiled once per process."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # no writable cache directory
        return numba.njit(nogil=True)(function)


@_compile
def gradient_power(levels, out):
    """out = (sx^2 + sy^2)^2 sqrt(sx^2 + sy^2), sx, sy the 3x3 Sobel responses of ``levels`` with
    zeros outside the image (integer-valued float64 levels)."""
    rows, columns = levels.shape
    for i in range(rows):
        for j in range(columns):
            sx = 0.0
            sy = 0.0
            for di in range(-1, 2):
                r = i + di
                if r < 0 or r >= rows:
                    continue
                weight_row = 2.0 if di == 0 else 1.0
                left = levels[r, j - 1] if j > 0 else 0.0
                right = levels[r, j + 1] if j + 1 < columns else 0.0
                sx += weight_row * (right - left)
                if di != 0:
                    sy += di * (left + 2.0 * levels[r, j] + right)
            squared = sx * sx + sy * sy
            out[i, j] = squared * squared * math.sqrt(squared)
