"""A separable filter's rows and columns as OpenCV's ``sepFilter2D`` computes them for float64
work (``BORDER_CONSTANT``), in compiled loops (Numba) that callers run a row at a time into rings
of rows kept in cache: Q_CB's masked contrast (:mod:`fusionbench.metrics.chen_blum_kernel`) and
SSIM's window moments (:mod:`fusionbench.metrics.ssim_kernel`).

The arithmetic is OpenCV's, in its order, so the filtered values are equal bit for bit
(``tests/metrics/test_fast_paths.py`` checks both users against ``cv2.sepFilter2D``):

* rows, as OpenCV's ``RowFilter`` for float64 work: the products ``w[k] x[j+k]`` summed for
  k = 0, 1, ... from the left, outside the image zeros, fused multiply-adds where OpenCV's AVX2
  build fuses them (see :func:`_filter_row_fused`);
* columns, as OpenCV's ``SymmColumnFilter`` (symmetric kernels): the centre row's product, then
  ``w[r+k] (R[i+k] + R[i-k])`` added for k = 1..r, zero rows outside the image. No fast-math.

Importing Numba costs ~0.3 s, so the users import this module on first use; kernels are cached
on disk where a cache directory is writable.
"""
from __future__ import annotations

from ..numba_kernels import compiled_kernel


def _compile(function=None, **options):
    """:func:`~fusionbench.numba_kernels.compiled_kernel` with ``nogil=True`` (callers run in
    threads); ``@_compile(option=...)`` adds options."""
    return compiled_kernel(function, **{"nogil": True, **options})


#: Taps added per pass over a row: the partial sums stay in registers for 5 taps instead of one
#: (a third of the memory traffic); the order of the additions is unchanged.
GROUP = 5


@_compile
def filter_row(row, taps, padded, out):
    """``row`` filtered along itself into ``out``: out[j] = sum_k taps[k] row[j + k - r] from k = 0
    up, zero outside (r the radius; ``padded``: scratch of len(row) + 2r, zero at both ends)."""
    radius = taps.shape[0] // 2
    columns = row.shape[0]
    fused_columns = columns - columns % 4
    padded[radius:radius + columns] = row
    _filter_row_fused(padded, taps, fused_columns, out)
    _filter_row_tail(padded, taps, fused_columns, out)


# OpenCV's float64 row filter computes 4 columns at a time with fused multiply-adds where the CPU
# has them (its AVX2 build), s = fma(w[k], x[j+k], s), and the last columns % 4 one at a time
# without. "contract" lets LLVM fuse the same products here; the tail, the column filter and
# everything after must not be fused, so only this function has the flag.
@_compile(fastmath={"contract"})
def _filter_row_fused(padded, taps, columns, out):
    """out[j] for j < ``columns``: taps[0] padded[j], then taps[k] padded[j + k] added for k = 1 up."""
    first = taps[0]
    for j in range(columns):
        out[j] = first * padded[j]
    k = 1
    while k + GROUP <= taps.shape[0]:
        t1, t2, t3, t4, t5 = taps[k], taps[k + 1], taps[k + 2], taps[k + 3], taps[k + 4]
        for j in range(columns):
            total = out[j]
            total += t1 * padded[j + k]
            total += t2 * padded[j + k + 1]
            total += t3 * padded[j + k + 2]
            total += t4 * padded[j + k + 3]
            total += t5 * padded[j + k + 4]
            out[j] = total
        k += GROUP
    for k in range(k, taps.shape[0]):
        tap = taps[k]
        for j in range(columns):
            out[j] += tap * padded[j + k]


@_compile
def _filter_row_tail(padded, taps, start, out):
    """out[j] for j >= ``start`` as :func:`_filter_row_fused`, each product rounded."""
    for j in range(start, out.shape[0]):
        total = taps[0] * padded[j]
        for k in range(1, taps.shape[0]):
            total += taps[k] * padded[j + k]
        out[j] = total


@_compile
def filter_column(ring, taps, i, count, out):
    """out = taps[r] R(i) + sum_{k=1..r} taps[r+k] (R(i+k) + R(i-k)) added in order of k, R(m) the
    row-filtered row m (held in ``ring[m % len(ring)]``), zero outside rows 0..count-1 (OpenCV's
    SymmColumnFilter)."""
    radius = taps.shape[0] // 2
    size, columns = ring.shape
    centre, middle = taps[radius], ring[i % size]
    for j in range(columns):
        out[j] = centre * middle[j]
    k = 1
    while k + GROUP - 1 <= radius and i - k - GROUP + 1 >= 0 and i + k + GROUP - 1 < count:
        t1, t2, t3, t4, t5 = taps[radius + k], taps[radius + k + 1], taps[radius + k + 2], taps[radius + k + 3], \
            taps[radius + k + 4]
        b1, b2, b3, b4, b5 = (ring[(i + k) % size], ring[(i + k + 1) % size], ring[(i + k + 2) % size],
                              ring[(i + k + 3) % size], ring[(i + k + 4) % size])
        a1, a2, a3, a4, a5 = (ring[(i - k) % size], ring[(i - k - 1) % size], ring[(i - k - 2) % size],
                              ring[(i - k - 3) % size], ring[(i - k - 4) % size])
        for j in range(columns):
            total = out[j]
            total += t1 * (b1[j] + a1[j])
            total += t2 * (b2[j] + a2[j])
            total += t3 * (b3[j] + a3[j])
            total += t4 * (b4[j] + a4[j])
            total += t5 * (b5[j] + a5[j])
            out[j] = total
        k += GROUP
    for k in range(k, radius + 1):
        tap = taps[radius + k]
        below, above = i + k, i - k
        if below < count and above >= 0:
            lower, upper = ring[below % size], ring[above % size]
            for j in range(columns):
                out[j] += tap * (lower[j] + upper[j])
        elif below < count or above >= 0:  # the zero row outside adds nothing (OpenCV: tap * (row + 0.0))
            inside = ring[(below if below < count else above) % size]
            for j in range(columns):
                out[j] += tap * inside[j]


@_compile
def filter_column_pair(ring, taps, i, count, first, second):
    """:func:`filter_column` of rows i and i+1 together (the same sums in the same order): the
    two outputs share 10 of their 12 input rows per 5 taps, so each row is loaded once for both.
    Interior rows and radii that are multiples of 5 only; elsewhere one row at a time."""
    radius = taps.shape[0] // 2
    size = ring.shape[0]
    if radius % GROUP != 0 or i - radius < 0 or i + 1 + radius >= count:
        filter_column(ring, taps, i, count, first)
        filter_column(ring, taps, i + 1, count, second)
        return
    centre, middle, next_row = taps[radius], ring[i % size], ring[(i + 1) % size]
    for j in range(first.shape[0]):
        first[j] = centre * middle[j]
        second[j] = centre * next_row[j]
    for k in range(1, radius + 1, GROUP):
        t1, t2, t3, t4, t5 = taps[radius + k], taps[radius + k + 1], taps[radius + k + 2], taps[radius + k + 3], \
            taps[radius + k + 4]
        b0, b1, b2, b3, b4, b5 = (ring[(i + k) % size], ring[(i + k + 1) % size], ring[(i + k + 2) % size],
                                  ring[(i + k + 3) % size], ring[(i + k + 4) % size], ring[(i + k + 5) % size])
        a1, a0, a_1, a_2, a_3, a_4 = (ring[(i - k + 1) % size], ring[(i - k) % size], ring[(i - k - 1) % size],
                                      ring[(i - k - 2) % size], ring[(i - k - 3) % size], ring[(i - k - 4) % size])
        for j in range(first.shape[0]):
            x0, x1, x2, x3, x4, x5 = b0[j], b1[j], b2[j], b3[j], b4[j], b5[j]
            y1, y0, y_1, y_2, y_3, y_4 = a1[j], a0[j], a_1[j], a_2[j], a_3[j], a_4[j]
            total = first[j]  # row i: rows i+k+m and i-k-m
            total += t1 * (x0 + y0)
            total += t2 * (x1 + y_1)
            total += t3 * (x2 + y_2)
            total += t4 * (x3 + y_3)
            total += t5 * (x4 + y_4)
            first[j] = total
            total = second[j]  # row i+1: rows i+1+k+m and i+1-k-m
            total += t1 * (x1 + y1)
            total += t2 * (x2 + y0)
            total += t3 * (x3 + y_1)
            total += t4 * (x4 + y_2)
            total += t5 * (x5 + y_3)
            second[j] = total
