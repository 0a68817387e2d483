"""Exact integer reductions over 8-bit grey levels in compiled loops (Numba): histograms, joint
histograms and sums of squared differences (between two images, and between neighbours).

NumPy's ``bincount`` first copies a strided colour plane to a flat array and widens every level
to a 64-bit index (a 768x576 plane: about 1 ms); reading the plane where it lies takes a fifth of
that. Each kernel is compiled once, for planes of any layout (:func:`~fusionbench.numba_kernels.image_type`).
Counts and integer sums are exact, so the results equal NumPy's whatever the order. Importing
Numba costs ~0.3 s, so callers import this module on first use; kernels are cached on disk where a
cache directory is writable.
"""
from __future__ import annotations

from functools import partial

import numpy as np
from numba import types

from ..numba_kernels import compiled_kernel, image_type, output_type

_compile = partial(compiled_kernel, nogil=True)
_LEVELS = image_type(np.uint8)


@_compile(signatures=[types.void(_LEVELS, output_type(np.int64, 1))])
def histogram(levels, counts):
    """Add the count of each level of the 2-D uint8 array ``levels`` to ``counts`` (int64[256])."""
    for i in range(levels.shape[0]):
        for j in range(levels.shape[1]):
            counts[levels[i, j]] += 1


@_compile(signatures=[types.void(_LEVELS, _LEVELS, output_type(np.int64, 2))])
def joint_histogram(first, second, counts):
    """Add the count of each level pair (first[i, j], second[i, j]) of two 2-D uint8 arrays of one
    shape to ``counts`` (int64[256, 256], rows the first array's levels)."""
    for i in range(first.shape[0]):
        for j in range(first.shape[1]):
            counts[first[i, j], second[i, j]] += 1


@_compile(signatures=[types.int64(_LEVELS, _LEVELS)])
def squared_difference_sum(first, second):
    """sum (first - second)^2 over two 2-D uint8 arrays of one shape, as an int64."""
    total = 0
    for i in range(first.shape[0]):
        row = 0
        for j in range(first.shape[1]):
            difference = np.int64(first[i, j]) - np.int64(second[i, j])
            row += difference * difference
        total += row
    return total


@_compile(signatures=[types.int64(_LEVELS)])
def squared_neighbour_difference_sum(levels):
    """sum dx^2 + sum dy^2 over every horizontal (M x (N-1)) and vertical ((M-1) x N) difference of
    neighbouring levels of a 2-D uint8 array, as an int64."""
    rows, columns = levels.shape
    total = 0
    for i in range(rows):
        row = 0
        for j in range(columns - 1):
            difference = np.int64(levels[i, j + 1]) - np.int64(levels[i, j])
            row += difference * difference
        if i + 1 < rows:
            for j in range(columns):
                difference = np.int64(levels[i + 1, j]) - np.int64(levels[i, j])
                row += difference * difference
        total += row
    return total
