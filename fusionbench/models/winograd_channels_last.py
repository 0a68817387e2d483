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
* :func:`_band_input` applies ``B'`` along each tile's columns and then its rows (the inlined
  :func:`~fusionbench.models.winograd._apply_input_matrix`, one vectorised loop over C per call);
  positions outside the image read a zero vector, which is the zero padding;
* :func:`_band_output` applies ``A'`` both ways, adds the bias, optionally applies ReLU and writes
  the tile's pixels that lie inside the image.

36 multiplications per channel pair and output tile instead of 144. In float32 the result stays
within a few 1e-6 of the direct convolution, relative to its magnitude (tested).
"""
from __future__ import annotations

import numba
import numpy as np

from .winograd import (
    POSITIONS, SPAN, TILE, _apply_input_matrix, _compile, _run, _split, single_threaded_blas, tile_grid,
    transform_kernels,
)

_TWO, _FOUR, _EIGHT = np.float32(2), np.float32(4), np.float32(8)
#: Bytes of transformed input per band: small enough to stay in the cache with the products.
_BAND_BYTES = 1 << 21


@numba.njit(inline="always")
def _apply_output_matrix(m0, m1, m2, m3, m4, m5, out0, out1, out2, out3, count):
    """``A'`` of F(4x4, 3x3) on six vectors of ``count`` values: ``out_i = sum_j A'[i, j] m_j``."""
    for c in range(count):
        out0[c] = m0[c] + m1[c] + m2[c] + m3[c] + m4[c]
        out1[c] = m1[c] - m2[c] + _TWO * (m3[c] - m4[c])
        out2[c] = m1[c] + m2[c] + _FOUR * (m3[c] + m4[c])
        out3[c] = m1[c] - m2[c] + _EIGHT * (m3[c] - m4[c]) + m5[c]


@numba.njit(inline="always")
def _pixel(features, y, x, zero):
    """The channel vector at (y, x), or ``zero`` outside the image (the zero padding)."""
    if 0 <= y < features.shape[0] and 0 <= x < features.shape[1]:
        return features[y, x]
    return zero


@_compile
def _band_input(features, first_tile_row, tile_rows, transformed):
    """``V = B' d B`` of the band's tiles into ``transformed`` ``(36, tile_rows * tile_columns, C)``."""
    height, width, channels = features.shape
    tile_columns = (width + TILE - 1) // TILE
    zero = np.zeros(channels, np.float32)
    partial = np.empty((SPAN, SPAN, channels), np.float32)  # [input row, column-transform index, c]
    for band_row in range(tile_rows):
        top = TILE * (first_tile_row + band_row) - 1
        for tile_column in range(tile_columns):
            left = TILE * tile_column - 1
            for i in range(SPAN):
                y = top + i
                _apply_input_matrix(_pixel(features, y, left, zero), _pixel(features, y, left + 1, zero),
                                    _pixel(features, y, left + 2, zero), _pixel(features, y, left + 3, zero),
                                    _pixel(features, y, left + 4, zero), _pixel(features, y, left + 5, zero),
                                    partial[i, 0], partial[i, 1], partial[i, 2], partial[i, 3], partial[i, 4],
                                    partial[i, 5], channels)
            tile = band_row * tile_columns + tile_column
            for b in range(SPAN):
                _apply_input_matrix(partial[0, b], partial[1, b], partial[2, b], partial[3, b], partial[4, b],
                                    partial[5, b], transformed[b, tile], transformed[SPAN + b, tile],
                                    transformed[2 * SPAN + b, tile], transformed[3 * SPAN + b, tile],
                                    transformed[4 * SPAN + b, tile], transformed[5 * SPAN + b, tile], channels)


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
            for a in range(SPAN):
                base = SPAN * a
                _apply_output_matrix(products[base, tile], products[base + 1, tile], products[base + 2, tile],
                                     products[base + 3, tile], products[base + 4, tile], products[base + 5, tile],
                                     partial[a, 0], partial[a, 1], partial[a, 2], partial[a, 3], channels)
            for j in range(TILE):
                _apply_output_matrix(partial[0, j], partial[1, j], partial[2, j], partial[3, j], partial[4, j],
                                     partial[5, j], result[0, j], result[1, j], result[2, j], result[3, j],
                                     channels)
            left = TILE * tile_column
            for i in range(min(TILE, height - top)):
                for j in range(min(TILE, width - left)):
                    pixel = output[top + i, left + j]
                    values = result[i, j]
                    for k in range(channels):
                        value = values[k] + bias[k]
                        pixel[k] = max(value, np.float32(0)) if relu else value


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
            products = np.empty((POSITIONS, size, self.kernels.shape[2]), np.float32)
            for index in indices:
                first, rows = bands[index]
                tiles = rows * tile_columns
                _band_input(features, first, rows, transformed)
                np.matmul(transformed[:, :tiles], self.kernels, out=products[:, :tiles])
                _band_output(products, self.bias, output, first, rows, relu)

        with single_threaded_blas():
            _run([lambda part=part: work(range(*part)) for part in _split(len(bands), threads)], threads)
        return output


def compile_kernels() -> None:
    """Compile (or load from the on-disk cache) both band kernels by one tiny convolution."""
    ChannelsLastWinograd(np.zeros((2, 2, 3, 3), np.float32), np.zeros(2, np.float32))(np.ones((3, 5, 2), np.float32))
