"""Q_CB's per-pixel work in compiled loops (Numba): the two 31x31 Gaussian filterings of a
CSF-filtered image with the contrast and masking that follow, and the preservation map.

NumPy and OpenCV spend most of Q_CB's time outside arithmetic: each of the dozen full-size maps
between the filtering and the preservation map is a pass over memory (and fresh pages). Here
rows are filtered into a ring of 32 rows that stays in cache, and the maps between are one row
long: the masked contrast of a 768x576 image takes ~6 ms instead of ~31, the preservation map
0.6 ms instead of ~29 (single thread, the 2-core AMD EPYC development machine).

The arithmetic is that of the NumPy/OpenCV route in the same order, so the maps are equal bit for
bit (``tests/metrics/test_fast_paths.py`` checks it against ``cv2.sepFilter2D``): the Gaussian
rows and columns as OpenCV filters them (:mod:`fusionbench.metrics.separable_kernel`), then
contrast, masking and preservation as :func:`fusionbench.metrics.chen_blum.masked_contrast` and
``_contrast_preservation`` write them. No fast-math: every operation rounds as NumPy's.

Importing Numba costs ~0.3 s, so this module is imported on Q_CB's first use; kernels are cached
on disk where a cache directory is writable.
"""
from __future__ import annotations

import numpy as np

from ..numba_kernels import compiled_kernel
from .separable_kernel import filter_column as _filter_column, filter_column_pair as _filter_column_pair, \
    filter_row as _filter_row


def _compile(function=None, **options):
    """:func:`~fusionbench.numba_kernels.compiled_kernel` with ``nogil=True, error_model="numpy"``;
    ``@_compile(option=...)`` adds options. nogil: planes run in threads. NumPy's error model: x/0
    is inf or nan as in NumPy, not an exception, so divisions need no check and vectorise (the
    masking 1.4 -> 0.4 ms)."""
    return compiled_kernel(function, **{"nogil": True, "error_model": "numpy", **options})


@_compile
def masked_contrast(image, fine_taps, coarse_taps, signal_floor, masking_k, masking_h, masking_z, start, stop, out):
    """C' = k |C|^3 / (h |C|^2 + z), C = (G_fine * I) / (G_coarse * I) - 1 (0 where
    |G_coarse * I| <= signal_floor), on rows start..stop-1 of ``image`` into ``out`` (stop - start
    rows); filtering 'same' size with zero padding, separable, taps of equal length (odd).

    Rows are filtered along the rows as the column filter first needs them, into rings of 2r + 2
    rows (r the radius; output rows are made two at a time): 0.4 MB for 768 columns, kept in
    cache, instead of two full-size maps (whose fresh pages alone cost as much as the filtering).
    """
    rows, columns = image.shape
    radius = fine_taps.shape[0] // 2
    fine_ring = np.empty((2 * radius + 2, columns))
    coarse_ring = np.empty((2 * radius + 2, columns))
    padded = np.zeros(columns + 2 * radius)
    fine = np.empty((2, columns))
    coarse = np.empty((2, columns))
    filtered = max(0, start - radius)  # rows filtered so far: those before this one are not needed
    for i in range(start, stop, 2):
        pair = i + 1 < stop
        while filtered < min(rows, i + int(pair) + radius + 1):  # the last row the column filter reads
            _filter_row(image[filtered], fine_taps, padded, fine_ring[filtered % fine_ring.shape[0]])
            _filter_row(image[filtered], coarse_taps, padded, coarse_ring[filtered % coarse_ring.shape[0]])
            filtered += 1
        if pair:
            _filter_column_pair(fine_ring, fine_taps, i, rows, fine[0], fine[1])
            _filter_column_pair(coarse_ring, coarse_taps, i, rows, coarse[0], coarse[1])
        else:
            _filter_column(fine_ring, fine_taps, i, rows, fine[0])
            _filter_column(coarse_ring, coarse_taps, i, rows, coarse[0])
        for m in range(1 + int(pair)):
            _mask(fine[m], coarse[m], signal_floor, masking_k, masking_h, masking_z, out[i - start + m])


@_compile
def _mask(fine, coarse, signal_floor, masking_k, masking_h, masking_z, out):
    """One row of C' from the filtered rows: the operations of chen_blum.masked_contrast_reference
    in its order. The quotient is formed everywhere and replaced where the coarse response is below
    the floor, and k, h multiply unconditionally (x * 1.0 is x): no branch, so the loop vectorises."""
    for j in range(out.shape[0]):
        quotient = fine[j] / coarse[j]
        contrast = abs((quotient if abs(coarse[j]) > signal_floor else 1.0) - 1.0)
        square = contrast * contrast
        out[j] = contrast * square * masking_k / (square * masking_h + masking_z)


@_compile
def contrast_preservation(fused, first, second, out):
    """lambda_A Q_AF + lambda_B Q_BF per pixel from the masked contrasts (see
    ``chen_blum._contrast_preservation``): lambda_A = C'_A^2 / (C'_A^2 + C'_B^2), 0.5 where both
    vanish; Q_XF = min(C'_X, C'_F) / max(C'_X, C'_F), 1 where the larger vanishes."""
    rows, columns = fused.shape
    for i in range(rows):
        for j in range(columns):
            f, a, b = fused[i, j], first[i, j], second[i, j]
            square_a = a * a
            total = square_a + b * b
            saliency = square_a / total if total > 0 else 0.5
            larger = max(a, f)
            ratio_a = min(a, f) / larger if larger > 0 else 1.0
            larger = max(b, f)
            ratio_b = min(b, f) / larger if larger > 0 else 1.0
            out[i, j] = saliency * ratio_a + (1.0 - saliency) * ratio_b
