"""Q^AB/F's per-pixel work for grey levels in two compiled passes (Numba), instead of a dozen
full-size NumPy maps per source.

From the three images' integer Sobel responses (computed here: those of
:func:`fusionbench.metrics.qabf.sobel_responses`) each pixel's edge strength and orientation are
looked up in QABF's tables (the same values NumPy gives), then, per source X, the strength and
orientation preservation and the sigmoids' exponents (:func:`sigmoid_arguments`); after OpenCV's
vectorised exp of a strip of rows, the two
sigmoids and the weight, summed into ``sum(Q^XF w_X)`` and ``sum(w_X)``
(:func:`weighted_row_sums_of_exponentials`). The operations are those of
:func:`fusionbench.metrics.qabf.edge_preservation` in the same order; what differs is the
summation (row sums, then the sum of the rows, instead of NumPy's pairwise sum of the whole map)
and the exponential (OpenCV's, within an ulp of NumPy's), so values agree to about 1e-15 relative
(every VIFB value is reproduced either way). Importing Numba costs ~0.3 s, so this module is
imported on QABF's first use; kernels are cached on disk where a cache directory is writable.
"""
from __future__ import annotations

import numpy as np
from numba import types

from ..numba_kernels import compiled_kernel, image_type, output_type


def _compile(function=None, **options):
    """:func:`~fusionbench.numba_kernels.compiled_kernel` with ``nogil=True`` (planes run in
    threads); ``@_compile(option=...)`` adds options. No fast-math: each operation rounds as NumPy's."""
    return compiled_kernel(function, **{"nogil": True, **options})


@_compile
def _sobel_row(image, i, smoothed, differences, sx, sy):
    """Row ``i`` of the 3x3 Sobel correlations of a uint8 image with zeros outside it (OpenCV's
    ``Sobel(..., CV_16S, ksize=3, BORDER_CONSTANT)``, exact integers): sx = [-1 0 1] across the
    column sums [1 2 1] down, sy = [1 2 1] across the differences [-1 0 1] down. ``smoothed`` and
    ``differences``: scratch of len(row) + 2, zero at both ends."""
    rows, columns = image.shape
    for j in range(columns):
        above = np.int32(image[i - 1, j]) if i > 0 else np.int32(0)
        below = np.int32(image[i + 1, j]) if i + 1 < rows else np.int32(0)
        smoothed[j + 1] = above + 2 * np.int32(image[i, j]) + below
        differences[j + 1] = below - above
    for j in range(columns):
        sx[j] = smoothed[j + 2] - smoothed[j]
        sy[j] = differences[j] + 2 * differences[j + 1] + differences[j + 2]


@_compile
def _edges_row(sx, sy, strengths, orientations, limit, flip, strength_out, orientation_out):
    """(strength, orientation) of a row of integer Sobel responses, looked up as
    :func:`fusionbench.metrics.qabf.sobel_strength_orientation` does. The sign is applied as a
    product with +-1 (exactly the negation) instead of a branch: gradient signs are close to
    random, and the mispredicted branch cost a fifth of the lookups' time."""
    for j in range(strength_out.shape[0]):
        x, y = sx[j], sy[j]
        index = abs(x) * (limit + 1) + abs(y)
        negate = (((x < 0) != (y < 0)) != flip) & (x != 0)
        strength_out[j] = strengths[index]
        orientation_out[j] = orientations[index] * (1.0 - 2.0 * negate)


# NumPy's error model: a 0/0 is nan (then replaced by 1), not a raised error, so the loop has no
# branch and vectorises.
@_compile(error_model="numpy")
def _arguments_row(strength_x, orientation_x, strength_f, orientation_f, modulo_pi, scale_equal, equal_scale,
                   kappa_g, centre_g, kappa_a, centre_a, strength_out, orientation_out, weight_out):
    """One source's row of sigmoid arguments and weights from the row's edges (the operations of
    :func:`fusionbench.metrics.qabf.edge_preservation` up to the exponentials, in its order)."""
    half_pi = np.pi / 2
    for j in range(strength_out.shape[0]):
        strength, fused_strength = strength_x[j], strength_f[j]
        larger = max(strength, fused_strength)
        quotient = min(strength, fused_strength) / larger
        relative_strength = quotient if larger > 0 else 1.0
        if scale_equal:
            relative_strength = fused_strength * equal_scale if strength == fused_strength else relative_strength
        difference = abs(orientation_x[j] - orientation_f[j])
        if modulo_pi:
            difference = min(difference, np.pi - difference)
        relative_orientation = 1.0 - difference / half_pi
        strength_out[j] = (relative_strength - centre_g) * kappa_g
        orientation_out[j] = (relative_orientation - centre_a) * kappa_a
        weight_out[j] = strength


_GREY = image_type(np.uint8)
_TABLE = image_type(np.float64, 1)


# Compiled at import (from the cache where it has them), for uint8 planes in any layout.
@_compile(signatures=[types.void(_GREY, _GREY, _GREY, types.int64, types.int64, _TABLE, _TABLE, types.int64,
                                 types.boolean, types.boolean, types.boolean, types.float64, _TABLE, _TABLE,
                                 output_type(np.float64, 3), output_type(np.float64, 3))])
def sigmoid_arguments(fused, first, second, start, stop, strengths, orientations, limit, flip, modulo_pi,
                      scale_equal, equal_scale, strength_sigmoid, orientation_sigmoid, arguments, weights):
    """The per-pixel work up to the exponentials on rows start..stop-1 of three uint8 images: per
    pixel and source X, kappa_g (G^XF - sigma_g) and kappa_a (A^XF - sigma_a) into ``arguments``
    (4, stop - start, W: source 1's two, then source 2's) and g_X into ``weights`` (2, ..., W).
    The exponentials are then taken of the strip at once by OpenCV's vectorised exp (4x faster
    than one libm call per value).

    A row at a time: the three images' Sobel responses (:func:`_sobel_row`), their table lookups
    (:func:`_edges_row`), then each source's arithmetic in a loop without lookups or branches
    (:func:`_arguments_row`), which LLVM vectorises."""
    kappa_g, centre_g = strength_sigmoid[1], strength_sigmoid[2]
    kappa_a, centre_a = orientation_sigmoid[1], orientation_sigmoid[2]
    columns = fused.shape[1]
    smoothed = np.zeros(columns + 2, np.int32)
    differences = np.zeros(columns + 2, np.int32)
    sx = np.empty(columns, np.int32)
    sy = np.empty(columns, np.int32)
    edges = np.empty((3, 2, columns))  # per image: strength, orientation of the row
    for i in range(start, stop):
        for index in range(3):
            image = fused if index == 0 else (first if index == 1 else second)
            _sobel_row(image, i, smoothed, differences, sx, sy)
            _edges_row(sx, sy, strengths, orientations, limit, flip, edges[index, 0], edges[index, 1])
        row = i - start
        for source in range(2):
            _arguments_row(edges[source + 1, 0], edges[source + 1, 1], edges[0, 0], edges[0, 1], modulo_pi,
                           scale_equal, equal_scale, kappa_g, centre_g, kappa_a, centre_a,
                           arguments[2 * source, row], arguments[2 * source + 1, row], weights[source, row])


# NumPy's error model: the divisions need no zero check (1 + e >= 1), so they vectorise.
@_compile(error_model="numpy")
def weighted_row_sums_of_exponentials(exponentials, weights, strength_sigmoid, orientation_sigmoid, row_sums):
    """The per-pixel work after the exponentials: from ``exponentials`` (``arguments`` of
    :func:`sigmoid_arguments`, exponentiated) Q^XF = gamma_g / (1 + e_g) * gamma_a / (1 + e_a),
    then per row sum(Q^XF w_X) and sum(w_X) into ``row_sums`` (H x 4), each sum in column order.
    The products of a row are formed first, in a loop LLVM vectorises (its divisions), then summed
    in order: the same sums as one loop, in half the time."""
    gamma_g, gamma_a = strength_sigmoid[0], orientation_sigmoid[0]
    rows, columns = weights.shape[1], weights.shape[2]
    products = np.empty((2, columns))
    for i in range(rows):
        for source in range(2):
            for j in range(columns):
                preservation = gamma_g / (1.0 + exponentials[2 * source, i, j])
                preservation *= gamma_a / (1.0 + exponentials[2 * source + 1, i, j])
                products[source, j] = preservation * weights[source, i, j]
        first = first_weight = second = second_weight = 0.0
        for j in range(columns):
            first += products[0, j]
            first_weight += weights[0, i, j]
            second += products[1, j]
            second_weight += weights[1, i, j]
        row_sums[i, 0], row_sums[i, 1], row_sums[i, 2], row_sums[i, 3] = first, first_weight, second, second_weight
