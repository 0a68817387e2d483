"""The per-pixel gradient magnitudes of VIFB's AG and EI for uint8 planes in one compiled pass each
(Numba), instead of integer difference maps, index maps and a lookup through NumPy.

Each kernel reads the plane where it lies (strided colour planes too), forms the exact integer
differences or Sobel responses of a pixel and looks its magnitude up in the metric's table
(:func:`fusionbench.metrics.gradients._central_magnitude_table`, QABF's hypot table), so the map
holds the values of the NumPy route bit for bit; the metrics sum it with NumPy as before. Importing
Numba costs ~0.3 s, so callers import this module on first use; kernels are cached on disk where
a cache directory is writable.
"""
from __future__ import annotations

import numpy as np
from numba import types

from ..numba_kernels import compiled_kernel, image_type, output_type

_PLANE = image_type(np.uint8)
_TABLE = image_type(np.float64, 1)
_MAP = output_type(np.float64, 2)


@compiled_kernel(nogil=True)
def _lookup_row(across, down, table, limit, out):
    """out[j] = table[|across[j]| (limit + 1) + |down[j]|]."""
    for j in range(out.shape[0]):
        out[j] = table[abs(across[j]) * (limit + 1) + abs(down[j])]


@compiled_kernel(nogil=True, signatures=[types.void(_PLANE, _TABLE, types.int64, _MAP)])
def central_magnitudes(image, table, limit, out):
    """table[|2 gx| (limit + 1) + |2 gy|] per pixel, 2 gx and 2 gy twice MATLAB ``gradient``'s
    differences (central inside, one-sided and doubled in the first and last column or row);
    at least 2 x 2 pixels."""
    rows, columns = image.shape
    across = np.empty(columns, np.int32)
    down = np.empty(columns, np.int32)
    for i in range(rows):
        for j in range(1, columns - 1):
            across[j] = np.int32(image[i, j + 1]) - np.int32(image[i, j - 1])
        across[0] = 2 * (np.int32(image[i, 1]) - np.int32(image[i, 0]))
        across[columns - 1] = 2 * (np.int32(image[i, columns - 1]) - np.int32(image[i, columns - 2]))
        above, below, scale = i - 1, i + 1, 1
        if i == 0:
            above, below, scale = 0, 1, 2
        elif i == rows - 1:
            above, below, scale = rows - 2, rows - 1, 2
        for j in range(columns):
            down[j] = scale * (np.int32(image[below, j]) - np.int32(image[above, j]))
        _lookup_row(across, down, table, limit, out[i])


@compiled_kernel(nogil=True, signatures=[types.void(_PLANE, _TABLE, types.int64, _MAP)])
def replicated_sobel_magnitudes(image, table, limit, out):
    """table[|sx| (limit + 1) + |sy|] per pixel, sx and sy the 3x3 Sobel correlations with
    replicated borders (OpenCV's ``Sobel(..., CV_16S, ksize=3, BORDER_REPLICATE)``, exact integers):
    per row, the columns' [1 2 1] sums and [-1 0 1] differences down (the border rows repeated),
    then sx = [-1 0 1] and sy = [1 2 1] across them (the border columns repeated)."""
    rows, columns = image.shape
    smoothed = np.empty(columns + 2, np.int32)
    differences = np.empty(columns + 2, np.int32)
    sx = np.empty(columns, np.int32)
    sy = np.empty(columns, np.int32)
    for i in range(rows):
        above, below = max(i - 1, 0), min(i + 1, rows - 1)
        for j in range(columns):
            top, middle, low = np.int32(image[above, j]), np.int32(image[i, j]), np.int32(image[below, j])
            smoothed[j + 1] = top + 2 * middle + low
            differences[j + 1] = low - top
        smoothed[0], smoothed[columns + 1] = smoothed[1], smoothed[columns]
        differences[0], differences[columns + 1] = differences[1], differences[columns]
        for j in range(columns):
            sx[j] = smoothed[j + 2] - smoothed[j]
            sy[j] = differences[j] + 2 * differences[j + 1] + differences[j + 2]
        _lookup_row(sx, sy, table, limit, out[i])
