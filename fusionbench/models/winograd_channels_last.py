"""3x3 convolutions (stride 1, zero padding 1) by Winograd's F(4x4, 3x3) on channels-last maps.

IFCNN's CONV3 (64 -> 64 channels, 3x3) is about half of its inference time on a CPU. Its feature
maps are ``channels_last`` (oneDNN's fast layout for the layers before it), while the kernels of
:mod:`fusionbench.models.winograd` read planar ``(C, H, W)`` maps, and transposing a 64-channel map
costs nearly as much as Winograd saves. Here the same arithmetic, ``Y = A' [(G g G') * (B' d B)] A``
(Lavin & Gray, CVPR 2016), runs with every inner loop over the channels, which are contiguous in
an ``(H, W, C)`` array:

* the image is processed in bands of a few 4x4-tile rows, so that a band's transformed input
  ``V`` ``(36, T_band, C)``, its products ``M[p] = V[p] @ U[p]`` ``(36, T_band, K)`` and its output
  stay in cache between the three steps;
* :func:`_band_input` copies the band's rows into a zero-bordered buffer (the zero padding) and
  applies ``B'`` along each tile's rows and then its columns, one vectorised loop over C each;
* :func:`_band_output` applies ``A'`` both ways, adds the bias, optionally applies ReLU and writes
  the tile's pixels that lie inside the image.

36 multiplications per channel pair and output tile instead of 144. In float32 the result stays
within a few 1e-6 of the direct convolution, relative to its magnitude (tested).
"""
from __future__ import annotations

import numba
import numpy as np

from .winograd import POSITIONS, SPAN, TILE, _compile, _run, _split, single_threaded_blas, tile_grid, transform_kernels

_TWO, _FOUR, _FIVE, _EIGHT = np.float32(2), np.float32(4), np.float32(5), np.float32(8)
#: Bytes of transformed input per band: small enough to stay in the cache with the products.
_BAND_BYTES = 1 << 21


@numba.njit(inline="always")
def _copy_band(features, first_tile_row, tile_rows, padded):
    """The band's input rows, zero-padded: ``padded[i, j] = x[4 r0 - 1 + i, j - 1]`` or 0 outside the image.

    The transform then reads six rows and columns per tile with no bounds test in its loops.
    """
    height, width, channels = features.shape
    top = TILE * first_tile_row - 1
    for i in range(TILE * tile_rows + 2):
        y = top + i
        row = padded[i]
        if 0 <= y < height:
            source = features[y]
            for c in range(channels):
                row[0, c] = np.float32(0)
            for x in range(width):
                for c in range(channels):
                    row[x + 1, c] = source[x, c]
            for x in range(width + 1, row.shape[0]):
                for c in range(channels):
                    row[x, c] = np.float32(0)
        else:
            for x in range(row.shape[0]):
                for c in range(channels):
                    row[x, c] = np.float32(0)


@_compile
def _band_input(features, first_tile_row, tile_rows, padded, transformed):
    """``V = B' d B`` of the band's tiles into ``transformed`` ``(36, tile_rows * tile_columns, C)``.

    ``padded``: scratch of at least ``(4 tile_rows + 2, 4 tile_columns + 2, C)``. Each loop runs over
    the contiguous channels with the six values it combines in registers (no intermediate views),
    which LLVM vectorises; 3x faster than calling a row helper per tile.
    """
    channels = features.shape[2]
    tile_columns = (features.shape[1] + TILE - 1) // TILE
    _copy_band(features, first_tile_row, tile_rows, padded)
    partial = np.empty((SPAN, SPAN, channels), np.float32)  # [input row, column-transform index, c]
    for band_row in range(tile_rows):
        for tile_column in range(tile_columns):
            left = TILE * tile_column
            for i in range(SPAN):  # B' along each of the tile's six rows
                row = padded[TILE * band_row + i]
                for c in range(channels):
                    d0, d1, d2 = row[left, c], row[left + 1, c], row[left + 2, c]
                    d3, d4, d5 = row[left + 3, c], row[left + 4, c], row[left + 5, c]
                    partial[i, 0, c] = _FOUR * d0 - _FIVE * d2 + d4
                    partial[i, 1, c] = d3 + d4 - _FOUR * (d1 + d2)
                    partial[i, 2, c] = d4 - d3 + _FOUR * (d1 - d2)
                    partial[i, 3, c] = d4 - d2 + _TWO * (d3 - d1)
                    partial[i, 4, c] = d4 - d2 - _TWO * (d3 - d1)
                    partial[i, 5, c] = _FOUR * d1 - _FIVE * d3 + d5
            tile = band_row * tile_columns + tile_column
            for b in range(SPAN):  # then along its columns, into V[6a + b]
                for c in range(channels):
                    d0, d1, d2 = partial[0, b, c], partial[1, b, c], partial[2, b, c]
                    d3, d4, d5 = partial[3, b, c], partial[4, b, c], partial[5, b, c]
                    transformed[b, tile, c] = _FOUR * d0 - _FIVE * d2 + d4
                    transformed[SPAN + b, tile, c] = d3 + d4 - _FOUR * (d1 + d2)
                    transformed[2 * SPAN + b, tile, c] = d4 - d3 + _FOUR * (d1 - d2)
                    transformed[3 * SPAN + b, tile, c] = d4 - d2 + _TWO * (d3 - d1)
                    transformed[4 * SPAN + b, tile, c] = d4 - d2 - _TWO * (d3 - d1)
                    transformed[5 * SPAN + b, tile, c] = _FOUR * d1 - _FIVE * d3 + d5


@_compile
def _band_output(products, bias, output, first_tile_row, tile_rows, relu):
    """``A' M A + bias`` (then ReLU if ``relu``) of the band's tiles, written inside ``output`` ``(H, W, K)``."""
    height, width, channels = output.shape
    tile_columns = (width + TILE - 1) // TILE
    partial = np.empty((SPAN, TILE, channels), np.float32)  # [row-transform input, output column, k]
    result = np.empty((TILE, TILE, channels), np.float32)
    for band_row in range(tile_rows):
        top = TILE * (first_tile_row + band_row)
        for tile_column in range(tile_columns):
            tile = band_row * tile_columns + tile_column
            for a in range(SPAN):  # A' along each row of the tile's 6x6 products
                base = SPAN * a
                for k in range(channels):
                    m0, m1, m2 = products[base, tile, k], products[base + 1, tile, k], products[base + 2, tile, k]
                    m3, m4, m5 = products[base + 3, tile, k], products[base + 4, tile, k], products[base + 5, tile, k]
                    partial[a, 0, k] = m0 + m1 + m2 + m3 + m4
                    partial[a, 1, k] = m1 - m2 + _TWO * (m3 - m4)
                    partial[a, 2, k] = m1 + m2 + _FOUR * (m3 + m4)
                    partial[a, 3, k] = m1 - m2 + _EIGHT * (m3 - m4) + m5
            for j in range(TILE):  # then along its columns, plus the bias
                for k in range(channels):
                    p0, p1, p2 = partial[0, j, k], partial[1, j, k], partial[2, j, k]
                    p3, p4, p5 = partial[3, j, k], partial[4, j, k], partial[5, j, k]
                    offset = bias[k]
                    result[0, j, k] = p0 + p1 + p2 + p3 + p4 + offset
                    result[1, j, k] = p1 - p2 + _TWO * (p3 - p4) + offset
                    result[2, j, k] = p1 + p2 + _FOUR * (p3 + p4) + offset
                    result[3, j, k] = p1 - p2 + _EIGHT * (p3 - p4) + p5 + offset
            left = TILE * tile_column
            for i in range(min(TILE, height - top)):
                for j in range(min(TILE, width - left)):
                    pixel = output[top + i, left + j]
                    if relu:
                        for k in range(channels):
                            pixel[k] = max(result[i, j, k], np.float32(0))
                    else:
                        for k in range(channels):
                            pixel[k] = result[i, j, k]


class ChannelsLastWinograd:
    """``conv2d(x, weight, bias, padding=1)`` for float32 ``(H, W, C)`` maps; ``weight`` ``(K, C, 3, 3)``."""

    def __init__(self, weight, bias):
        # U[p] as (C, K), so that a band's products are V[p] (T, C) @ U[p] (C, K) -> (T, K): channels last.
        self.kernels = np.ascontiguousarray(transform_kernels(weight).transpose(0, 2, 1))
        self.bias = np.ascontiguousarray(bias.detach().cpu().numpy() if hasattr(bias, "detach") else bias,
                                         dtype=np.float32)

    def __call__(self, features: np.ndarray, relu: bool = False, threads: int = 1) -> np.ndarray:
        """The convolution of ``features`` ``(H, W, C)`` (then ReLU if ``relu``) as a new ``(H, W, K)`` array.

        Bands of tile rows are shared among ``threads`` threads, each band's products on
        single-threaded BLAS.
        """
        features = np.ascontiguousarray(features, dtype=np.float32)
        height, width, channels = features.shape
        if channels != self.kernels.shape[1]:
            raise ValueError(f"expected {self.kernels.shape[1]} channels, got {channels}")
        output = np.empty((height, width, self.kernels.shape[2]), np.float32)
        tile_rows, tile_columns = tile_grid(height, width)
        band_rows = max(1, min(tile_rows, _BAND_BYTES // (POSITIONS * tile_columns * channels * 4)))
        bands = [(first, min(band_rows, tile_rows - first)) for first in range(0, tile_rows, band_rows)]

        def work(indices: range) -> None:
            size = band_rows * tile_columns
            transformed = np.empty((POSITIONS, size, channels), np.float32)
            padded = np.empty((TILE * band_rows + 2, TILE * tile_columns + 2, channels), np.float32)
            products = np.empty((POSITIONS, size, self.kernels.shape[2]), np.float32)
            for index in indices:
                first, rows = bands[index]
                tiles = rows * tile_columns
                _band_input(features, first, rows, padded, transformed)
                np.matmul(transformed[:, :tiles], self.kernels, out=products[:, :tiles])
                _band_output(products, self.bias, output, first, rows, relu)

        with single_threaded_blas():
            _run([lambda part=part: work(range(*part)) for part in _split(len(bands), threads)], threads)
        return output


def compile_kernels() -> None:
    """Compile (or load from the on-disk cache) both band kernels by one tiny convolution."""
    ChannelsLastWinograd(np.zeros((2, 2, 3, 3), np.float32), np.zeros(2, np.float32))(np.ones((3, 5, 2), np.float32))
