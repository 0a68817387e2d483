"""Q^AB/F's per-pixel work for grey levels in one compiled pass (Numba), instead of a dozen
full-size NumPy maps per source.

From the three images' integer Sobel responses (:func:`fusionbench.metrics.qabf.sobel_responses`)
each pixel's edge strength and orientation are looked up in QABF's tables (the same values NumPy
gives), then, per source X, the strength and orientation preservation, the two sigmoids and the
weight, summed into ``sum(Q^XF w_X)`` and ``sum(w_X)``. The operations are those of
:func:`fusionbench.metrics.qabf.edge_preservation` in the same order; what differs is the
summation (row sums, then the sum of the rows, instead of NumPy's pairwise sum of the whole map)
and the exponential (the C library's, called per value), so values agree to about 1e-15 relative
(every VIFB value is reproduced either way). Importing Numba costs ~0.3 s, so this module is
imported on QABF's first use; kernels are cached on disk where a cache directory is writable.
"""
from __future__ import annotations

import math

import numba
import numpy as np


def _compile(function):
    """``numba.njit(nogil=True)`` with an on-disk cache where one can be written. No fast-math:
    each operation rounds as NumPy's does."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # no writable cache directory: compile once per process
        return numba.njit(nogil=True)(function)


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
def weighted_row_sums(responses, strengths, orientations, limit, flip, modulo_pi, scale_equal, equal_scale,
                      strength_sigmoid, orientation_sigmoid, row_sums):
    """Per row: sum(Q^XF w_X) and sum(w_X) for X = source 1, 2, into ``row_sums`` (H x 4).

    ``responses``: int16 array (3, 2, H, W): the fused image's, then each source's (sx, sy).
    """
    gamma_g, kappa_g, centre_g = strength_sigmoid[0], strength_sigmoid[1], strength_sigmoid[2]
    gamma_a, kappa_a, centre_a = orientation_sigmoid[0], orientation_sigmoid[1], orientation_sigmoid[2]
    half_pi = np.pi / 2
    rows, columns = responses.shape[2], responses.shape[3]
    row_sums[:] = 0.0
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
                preservation = gamma_g / (1.0 + math.exp((relative_strength - centre_g) * kappa_g))
                preservation *= gamma_a / (1.0 + math.exp((relative_orientation - centre_a) * kappa_a))
                row_sums[i, 2 * source] += preservation * strength_x
                row_sums[i, 2 * source + 1] += strength_x
