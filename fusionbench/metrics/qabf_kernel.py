"""Q^AB/F's per-pixel work for grey levels in two compiled passes (Numba), instead of a dozen
full-size NumPy maps per source.

From the three images' integer Sobel responses (:func:`fusionbench.metrics.qabf.sobel_responses`)
each pixel's edge strength and orientation are looked up in QABF's tables (the same values NumPy
gives), then, per source X, the strength and orientation preservation and the sigmoids'
exponents (:func:`sigmoid_arguments`); after OpenCV's vectorised exp of a whole strip, the two
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

from ..numba_kernels import compiled_kernel


def _compile(function=None, **options):
    """:func:`~fusionbench.numba_kernels.compiled_kernel` with ``nogil=True`` (planes run in
    threads); ``@_compile(option=...)`` adds options. No fast-math: each operation rounds as NumPy's."""
    return compiled_kernel(function, **{"nogil": True, **options})


@_compile
def sigmoid_arguments(responses, strengths, orientations, limit, flip, modulo_pi, scale_equal, equal_scale,
                      strength_sigmoid, orientation_sigmoid, arguments, weights):
    """The per-pixel work up to the exponentials: per pixel and source X,
    kappa_g (G^XF - sigma_g) and kappa_a (A^XF - sigma_a) into ``arguments`` (4, H, W: source 1's
    two, then source 2's) and g_X into ``weights`` (2, H, W). The exponentials are then taken of
    the whole strip at once by OpenCV's vectorised exp (4x faster than one libm call per value).

    A row at a time: first the three images' table lookups (:func:`_edges_row`), then each
    source's arithmetic in a loop without lookups or branches (:func:`_arguments_row`), which
    LLVM vectorises: 30% less time than both in one loop per pixel."""
    kappa_g, centre_g = strength_sigmoid[1], strength_sigmoid[2]
    kappa_a, centre_a = orientation_sigmoid[1], orientation_sigmoid[2]
    rows, columns = responses.shape[2], responses.shape[3]
    edges = np.empty((3, 2, columns))  # per image: strength, orientation of the row
    for i in range(rows):
        for image in range(3):
            _edges_row(responses, image, i, strengths, orientations, limit, flip, edges[image, 0], edges[image, 1])
        for source in range(2):
            _arguments_row(edges[source + 1, 0], edges[source + 1, 1], edges[0, 0], edges[0, 1], modulo_pi,
                           scale_equal, equal_scale, kappa_g, centre_g, kappa_a, centre_a,
                           arguments[2 * source, i], arguments[2 * source + 1, i], weights[source, i])


@_compile
def _edges_row(responses, image, i, strengths, orientations, limit, flip, strength_out, orientation_out):
    """(strength, orientation) of row ``i`` of one image's integer Sobel responses, looked up as
    :func:`fusionbench.metrics.qabf.sobel_strength_orientation` does."""
    for j in range(strength_out.shape[0]):
        sx, sy = responses[image, 0, i, j], responses[image, 1, i, j]
        index = abs(sx) * (limit + 1) + abs(sy)
        orientation = orientations[index]
        opposite = (sx < 0) != (sy < 0)
        if flip:
            opposite = not opposite
        if opposite and sx != 0:
            orientation = -orientation
        strength_out[j] = strengths[index]
        orientation_out[j] = orientation


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


@_compile
def weighted_row_sums_of_exponentials(exponentials, weights, strength_sigmoid, orientation_sigmoid, row_sums):
    """The per-pixel work after the exponentials: from ``exponentials`` (``arguments`` of
    :func:`sigmoid_arguments`, exponentiated) Q^XF = gamma_g / (1 + e_g) * gamma_a / (1 + e_a),
    then per row sum(Q^XF w_X) and sum(w_X) into ``row_sums`` (H x 4), in the same order."""
    gamma_g, gamma_a = strength_sigmoid[0], orientation_sigmoid[0]
    rows, columns = weights.shape[1], weights.shape[2]
    row_sums[:] = 0.0
    for i in range(rows):
        for j in range(columns):
            for source in range(2):
                preservation = gamma_g / (1.0 + exponentials[2 * source, i, j])
                preservation *= gamma_a / (1.0 + exponentials[2 * source + 1, i, j])
                strength_x = weights[source, i, j]
                row_sums[i, 2 * source] += preservation * strength_x
                row_sums[i, 2 * source + 1] += strength_x
