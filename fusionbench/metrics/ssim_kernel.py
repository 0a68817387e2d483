"""SSIM of one fused image with one or two sources in one compiled pass (Numba), instead of eight
OpenCV filterings per pair of images, each through full-size temporaries.

Per row of the images, the quantities SSIM filters (the fused image F and F^2, and per source X: X,
X^2 and X F) are filtered along the row into rings of 2r + 2 rows that stay in cache, then down the
columns two output rows at a time, and the SSIM formula is applied to the window moments as soon
as they exist. The filtering is OpenCV's arithmetic in its order
(:mod:`fusionbench.metrics.separable_kernel`) on the same exact samples (grey levels and their
products are integers below 2^24, exact in float64 as in the float32 images OpenCV is given), and
the moments and the formula are :class:`~fusionbench.metrics.filtering.WindowStatistics` and
:func:`fusionbench.metrics.window_kernels.ssim` in the same order, so the maps are equal bit for
bit to :func:`fusionbench.metrics.ssim_sum.mean_ssims` by OpenCV (tested).
"""
from __future__ import annotations

import numpy as np
from numba import types

from ..numba_kernels import image_type, output_type
from .separable_kernel import _compile, filter_column, filter_column_pair, filter_row

# Compiled at import (from the cache where it has them), so the helpers come first.
#: Compiled for uint8 and for float64 images (three of one dtype), in any layout.
_SIGNATURES = [types.void(image_type(dtype), image_type(dtype), image_type(dtype), types.int64,
                          image_type(np.float64, 1), types.float64, types.float64,
                          output_type(np.float64, 2), output_type(np.float64, 2))
               for dtype in (np.uint8, np.float64)]


@_compile
def _products(fused, first, second, count, i, row):
    """Row ``i`` of F, F^2, X, X^2, X F (per source) as float64 (exact: integers below 2^24)."""
    for j in range(row.shape[1]):
        f = float(fused[i, j])
        row[0, j] = f
        row[1, j] = f * f
        x = float(first[i, j])
        row[2, j] = x
        row[3, j] = x * x
        row[4, j] = x * f
        if count == 2:
            y = float(second[i, j])
            row[5, j] = y
            row[6, j] = y * y
            row[7, j] = y * f


# NumPy's error model: the division needs no zero check (the denominator is at least C1 C2 > 0
# up to rounding), so the loop vectorises.
@_compile(error_model="numpy")
def _ssim_row(filtered, source, radius, c1, c2, out):
    """One row of the SSIM map of the source whose filtered X, X^2, X F rows start at index
    ``source`` of ``filtered`` (F and F^2 at 0 and 1), on the valid columns: the moments as
    WindowStatistics forms them (var = E[x^2] - mu^2), then window_kernels.ssim's formula."""
    for j in range(out.shape[0]):
        column = j + radius
        my = filtered[0, column]
        var_y = filtered[1, column] - my * my
        mx = filtered[source, column]
        var_x = filtered[source + 1, column] - mx * mx
        numerator = 2.0 * mx * my + c1
        numerator *= (filtered[source + 2, column] - mx * my) * 2.0 + c2
        denominator = (mx * mx + my * my + c1) * (var_x + var_y + c2)
        out[j] = numerator / denominator


@_compile(signatures=_SIGNATURES)
def ssim_maps(fused, first, second, count, taps, c1, c2, first_out, second_out):
    """The 'valid' SSIM maps of ``first`` (and ``second`` when ``count`` is 2) with ``fused``
    (2-D arrays of one shape and dtype, uint8 or float64) into ``first_out`` and
    ``second_out`` ((M - 2r) x (N - 2r)), for the symmetric window ``taps`` (odd length 2r + 1)."""
    rows, columns = fused.shape
    radius = taps.shape[0] // 2
    size = 2 * radius + 2
    quantities = 2 + 3 * count  # F, F^2, then X, X^2, X F per source
    rings = np.empty((quantities, size, columns))
    row = np.empty((quantities, columns))
    padded = np.zeros(columns + 2 * radius)
    filtered = np.empty((quantities, 2, columns))
    stop = rows - radius
    next_row = 0
    for i in range(radius, stop, 2):
        pair = i + 1 < stop
        while next_row <= i + int(pair) + radius:
            _products(fused, first, second, count, next_row, row)
            for quantity in range(quantities):
                filter_row(row[quantity], taps, padded, rings[quantity, next_row % size])
            next_row += 1
        for quantity in range(quantities):
            if pair:
                filter_column_pair(rings[quantity], taps, i, rows, filtered[quantity, 0], filtered[quantity, 1])
            else:
                filter_column(rings[quantity], taps, i, rows, filtered[quantity, 0])
        for m in range(1 + int(pair)):
            output = i - radius + m
            _ssim_row(filtered[:, m], 2, radius, c1, c2, first_out[output])
            if count == 2:
                _ssim_row(filtered[:, m], 5, radius, c1, c2, second_out[output])
