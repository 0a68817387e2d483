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

from functools import partial

import numpy as np

from ..numba_kernels import compiled_kernel


#: No fast-math: each operation rounds as NumPy's does.
_compile = partial(compiled_kernel, nogil=True)


@_compile
def _edge(sx, sy, strengths, orientations, limit, flip):
    """(strength, orientation) of one pixel's integer Sobel responses, as sobel_strength_orientation."""
    index = abs(sx) * (limit + 1) + abs(sy)
    orientation = orientations[index]
    opposite = (sx < 0) != (sy < 0)
    if flip:
        opposite = not opposite
    if opposite and sx != 0:
        orientation = -orientation
    return strengths[index], orientation


@_compile
def sigmoid_arguments(responses, strengths, orientations, limit, flip, modulo_pi, scale_equal, equal_scale,
                      strength_sigmoid, orientation_sigmoid, arguments, weights):
    """The per-pixel work up to the exponentials: per pixel and source X,
    kappa_g (G^XF - sigma_g) and kappa_a (A^XF - sigma_a) into ``arguments`` (4, H, W: source 1's
    two, then source 2's) and g_X into ``weights`` (2, H, W). The exponentials are then taken of
    the whole strip at once by OpenCV's vectorised exp (4x faster than one libm call per value)."""
    kappa_g, centre_g = strength_sigmoid[1], strength_sigmoid[2]
    kappa_a, centre_a = orientation_sigmoid[1], orientation_sigmoid[2]
    half_pi = np.pi / 2
    rows, columns = responses.shape[2], responses.shape[3]
    for i in range(rows):
        for j in range(columns):
            strength_f, orientation_f = _edge(responses[0, 0, i, j], responses[0, 1, i, j], strengths, orientations,
                                              limit, flip)
            for source in range(2):
                strength_x, orientation_x = _edge(responses[source + 1, 0, i, j], responses[source + 1, 1, i, j],
                                                  strengths, orientations, limit, flip)
                larger = max(strength_x, strength_f)
                relative_strength = min(strength_x, strength_f) / larger if larger > 0 else 1.0
                if scale_equal and strength_x == strength_f:
                    relative_strength = strength_f * equal_scale
                difference = abs(orientation_x - orientation_f)
                if modulo_pi:
                    difference = min(difference, np.pi - difference)
                relative_orientation = 1.0 - difference / half_pi
                arguments[2 * source, i, j] = (relative_strength - centre_g) * kappa_g
                arguments[2 * source + 1, i, j] = (relative_orientation - centre_a) * kappa_a
                weights[source, i, j] = strength_x


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
