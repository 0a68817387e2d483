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
from functools import partial

import numpy as np

from ..numba_kernels import compiled_kernel


#: Planes run in threads (nogil); NumPy's error model: no division checks.
_compile = partial(compiled_kernel, nogil=True, error_model="numpy")


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


@_compile
def block_sums_16(values, square, out):
    """Sums of ``values`` (of their squares if ``square``) over 16x16 blocks from the top-left,
    zeros beyond the edges, in NumPy's order for ``padded.reshape(R, 16, C, 16).sum(axis=(1, 3))``:
    per block, its 16 row segments in order, each by NumPy's pairwise sum of 16 values (8 partial
    sums r_m = x_m + x_(m+8), then ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))), added from 0.
    Equal bit for bit (the tests compare with NumPy), one pass, no padded copy."""
    rows, columns = values.shape
    segment = np.empty(16)
    for block_row in range(out.shape[0]):
        for block_column in range(out.shape[1]):
            total = 0.0
            for i in range(block_row * 16, min(rows, block_row * 16 + 16)):
                for m in range(16):
                    j = block_column * 16 + m
                    value = values[i, j] if j < columns else 0.0
                    segment[m] = value * value if square else value
                r0, r1, r2, r3 = segment[0] + segment[8], segment[1] + segment[9], segment[2] + segment[10], \
                    segment[3] + segment[11]
                r4, r5, r6, r7 = segment[4] + segment[12], segment[5] + segment[13], segment[6] + segment[14], \
                    segment[7] + segment[15]
                total += ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            out[block_row, block_column] = total
