"""3x3 convolutions (stride 1, padding 1) by Winograd's minimal filtering F(4x4, 3x3), for the CPU.

Used by the fast forward passes of TarDAL and U2Fusion, whose 3x3 convolutions are nearly all of
their work. Each 4x4 block of outputs is computed from a 6x6 block of input as
``Y = A' [(G g G') * (B' d B)] A`` (Lavin & Gray, CVPR 2016; interpolation points 0, +-1, +-2,
infinity): 36 multiplications per input-output channel pair instead of 144, so the matrix
products that remain do a quarter of a direct convolution's arithmetic. In float32 the outputs
stay within a few 1e-6 of the direct convolution, relative to their magnitude (tested).

Data path (features are planar float32 ``(C, H, W)`` arrays, i.e. NCHW with a batch of one; T is
the number of 4x4 output tiles, ``ceil(H/4) * ceil(W/4)``, numbered row by row):

* :func:`transform_kernels` — weights ``(K, C, 3, 3)`` -> ``U`` ``(36, K, C)`` (float64, then float32).
* :func:`input_transform` — features ``(C, H, W)`` -> rows ``c0 .. c0+C`` of ``V`` ``(36, C_all, T)``,
  with zero or reflect padding, optionally after a per-channel affine map and ReLU (a BatchNorm on
  image statistics, applied while reading). A network whose layers read growing concatenations of
  feature maps (dense blocks) transforms each map once into its rows of one ``V``; every later
  layer reads a contiguous run of rows.
* :func:`convolve` — the 36 products ``M[p] = U[p] @ V[p]`` ``(K, T)`` on a row range of ``V``, a
  few tile rows at a time, each block then transformed back, ``A' M A`` plus bias and an optional
  activation, into channels ``k0 .. k0+K`` of a ``(K_all, H, W)`` array; on request it returns
  per-channel sums and sums of squares (float64), for image statistics.

Every transformed value and product row is contiguous over the tiles of a tile row, so the Numba
loops are vectorised and write whole cache lines. For each block row the six padded input rows are
first split into their column phases modulo 4 (a small buffer that stays in cache), so that a
block's six columns are six contiguous runs. The kernels are compiled on first use (cached on disk
where the package directory is writable) and release the GIL; ``threads`` Python threads share the
channels of a transform or the tile-row blocks of a convolution, each block's matrix product on
single-threaded BLAS. So only one set of worker threads exists, and none is left spinning while
another works (idle OpenBLAS or OpenMP workers spin for a while after each call, which on two cores
took a core from the next kernel).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterator

import numba
import numpy as np

from ..numba_kernels import compiled_kernel

#: Output tile side (F(4x4, 3x3)) and input tile side.
TILE = 4
SPAN = TILE + 2
POSITIONS = SPAN * SPAN
ACTIVATIONS = {"none": 0, "relu": 1, "leaky": 2}

# B', G and A' of F(4, 3) (rows of B' are spelled out in the loops below).
INPUT_MATRIX = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                         [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=np.float64)
KERNEL_MATRIX = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                          [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=np.float64)
OUTPUT_MATRIX = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                          [0, 1, -1, 8, -8, 1]], dtype=np.float64)

_TWO, _FOUR, _FIVE, _EIGHT = np.float32(2), np.float32(4), np.float32(5), np.float32(8)
#: Values of M computed per block (4 MiB of float32): a block is transformed while still in cache.
_BLOCK_VALUES = 1 << 20
_FASTMATH = {"contract"}


_compile = partial(compiled_kernel, nogil=True, fastmath=_FASTMATH)


def tile_grid(height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of 4x4 output tiles covering an image."""
    return -(-height // TILE), -(-width // TILE)


def transform_kernels(weight) -> np.ndarray:
    """Weights ``(K, C, 3, 3)`` (array or tensor) -> float32 ``U`` ``(36, K, C)``, ``U[6a + b] = (G g G')[a, b]``."""
    if hasattr(weight, "detach"):
        weight = weight.detach().cpu().double().numpy()
    kernels = np.asarray(weight, dtype=np.float64)
    transformed = np.einsum("ai,kcij,bj->abkc", KERNEL_MATRIX, kernels, KERNEL_MATRIX)
    return np.ascontiguousarray(transformed.reshape(POSITIONS, kernels.shape[0], kernels.shape[1]),
                                dtype=np.float32)


@numba.njit(inline="always")
def _activate(value, activation, leak):
    if activation == 1:
        return max(value, np.float32(0))
    if activation == 2:
        return max(value, value * leak)
    return value


@numba.njit(nogil=True, fastmath={"reassoc", "contract"})
def _sums(values):
    """(sum, sum of squares) of a float32 row in float64; reassociation lets the loop be vectorised."""
    total = np.float64(0)
    squares = np.float64(0)
    for index in range(values.shape[0]):
        value = np.float64(values[index])
        total += value
        squares += value * value
    return total, squares


@numba.njit(inline="always")
def _apply_input_matrix(d0, d1, d2, d3, d4, d5, out0, out1, out2, out3, out4, out5, count):
    """``B'`` of F(4x4, 3x3) on six rows of ``count`` values: ``out_k[t] = sum_j B'[k, j] d_j[t]``.

    The input transform applies it twice, along the rows of a block and then along its columns;
    inlined, each call is one vectorised loop over the tiles.
    """
    for t in range(count):
        out0[t] = _FOUR * d0[t] - _FIVE * d2[t] + d4[t]
        out1[t] = d3[t] + d4[t] - _FOUR * (d1[t] + d2[t])
        out2[t] = d4[t] - d3[t] + _FOUR * (d1[t] - d2[t])
        out3[t] = d4[t] - d2[t] + _TWO * (d3[t] - d1[t])
        out4[t] = d4[t] - d2[t] - _TWO * (d3[t] - d1[t])
        out5[t] = _FOUR * d1[t] - _FIVE * d3[t] + d5[t]


@numba.njit(inline="always")
def _source(position, length, reflect):
    """Index of padded coordinate ``position`` in ``0..length-1``, or -1 for a zero."""
    if 0 <= position < length:
        return position
    if reflect and position == -1:
        return 1 if length > 1 else 0
    if reflect and position == length:
        return length - 2 if length > 1 else 0
    return -1


@_compile
def _input_transform(features, transformed, first_channel, reflect, scale, shift, affine, begin, end):
    _, height, width = features.shape
    tile_rows, tile_columns = (height + TILE - 1) // TILE, (width + TILE - 1) // TILE
    for c in range(begin, end):
        # One block row at a time: its six padded input rows split into column phases modulo 4
        # (phases[i, r, t] = padded row i, column 4t + r), so a block's six columns are contiguous runs.
        phases = np.empty((SPAN, TILE, tile_columns + 1), np.float32)
        partial = np.empty((SPAN, SPAN, tile_columns), np.float32)  # B' applied along each row of the blocks
        for tile_row in range(tile_rows):
            for i in range(SPAN):
                row = _source(TILE * tile_row + i - 1, height, reflect)
                if row < 0:
                    phases[i] = np.float32(0)
                else:
                    line = features[c, row]
                    for r in range(TILE):
                        target = phases[i, r]
                        # Columns 4t + r - 1 inside the image for first <= t < last; the others are padding.
                        first = 1 if r == 0 else 0
                        last = max(first, min(tile_columns + 1, (width - r) // TILE + 1))
                        if affine:
                            for t in range(first, last):
                                value = line[TILE * t + r - 1] * scale[c] + shift[c]
                                target[t] = value if value > 0 else np.float32(0)
                        else:
                            for t in range(first, last):
                                target[t] = line[TILE * t + r - 1]
                        for edge in range(tile_columns + 1 - (last - first)):
                            t = edge if edge < first else edge + last - first
                            column = _source(TILE * t + r - 1, width, reflect)
                            if column < 0:
                                target[t] = np.float32(0)
                            elif affine:
                                value = line[column] * scale[c] + shift[c]
                                target[t] = value if value > 0 else np.float32(0)
                            else:
                                target[t] = line[column]
                d0, d1, d2, d3 = phases[i, 0, :tile_columns], phases[i, 1, :tile_columns], \
                    phases[i, 2, :tile_columns], phases[i, 3, :tile_columns]
                d4, d5 = phases[i, 0, 1:], phases[i, 1, 1:]
                _apply_input_matrix(d0, d1, d2, d3, d4, d5, partial[i, 0], partial[i, 1], partial[i, 2],
                                    partial[i, 3], partial[i, 4], partial[i, 5], tile_columns)
            start = tile_row * tile_columns
            row = first_channel + c
            for b in range(SPAN):
                p0, p1, p2, p3, p4, p5 = partial[0, b], partial[1, b], partial[2, b], partial[3, b], \
                    partial[4, b], partial[5, b]
                v0 = transformed[b, row, start:start + tile_columns]
                v1 = transformed[SPAN + b, row, start:start + tile_columns]
                v2 = transformed[2 * SPAN + b, row, start:start + tile_columns]
                v3 = transformed[3 * SPAN + b, row, start:start + tile_columns]
                v4 = transformed[4 * SPAN + b, row, start:start + tile_columns]
                v5 = transformed[5 * SPAN + b, row, start:start + tile_columns]
                _apply_input_matrix(p0, p1, p2, p3, p4, p5, v0, v1, v2, v3, v4, v5, tile_columns)


@_compile
def _output_transform(products, bias, output, first_channel, first_tile_row, activation, leak, sums, summing):
    height, width = output.shape[1], output.shape[2]
    channels = products.shape[1]
    tile_columns = (width + TILE - 1) // TILE
    tile_rows = products.shape[2] // tile_columns
    for k in range(channels):
        partial = np.empty((SPAN, TILE, tile_columns), np.float32)  # A' applied along each row of M's blocks
        result = np.empty((TILE, TILE, tile_columns), np.float32)  # output rows x column phases x tiles
        plane = output[first_channel + k]
        whole_tiles = width // TILE
        total = np.float64(0)
        squares = np.float64(0)
        for block_row in range(tile_rows):
            tile_row = first_tile_row + block_row
            start = block_row * tile_columns
            for a in range(SPAN):
                m0 = products[SPAN * a, k, start:start + tile_columns]
                m1 = products[SPAN * a + 1, k, start:start + tile_columns]
                m2 = products[SPAN * a + 2, k, start:start + tile_columns]
                m3 = products[SPAN * a + 3, k, start:start + tile_columns]
                m4 = products[SPAN * a + 4, k, start:start + tile_columns]
                m5 = products[SPAN * a + 5, k, start:start + tile_columns]
                s0, s1, s2, s3 = partial[a, 0], partial[a, 1], partial[a, 2], partial[a, 3]
                for t in range(tile_columns):
                    s0[t] = m0[t] + m1[t] + m2[t] + m3[t] + m4[t]
                    s1[t] = m1[t] - m2[t] + _TWO * (m3[t] - m4[t])
                    s2[t] = m1[t] + m2[t] + _FOUR * (m3[t] + m4[t])
                    s3[t] = m1[t] - m2[t] + _EIGHT * (m3[t] - m4[t]) + m5[t]
            for j in range(TILE):
                p0, p1, p2, p3, p4, p5 = partial[0, j], partial[1, j], partial[2, j], partial[3, j], \
                    partial[4, j], partial[5, j]
                r0, r1, r2, r3 = result[0, j], result[1, j], result[2, j], result[3, j]
                offset = bias[k]
                for t in range(tile_columns):
                    r0[t] = p0[t] + p1[t] + p2[t] + p3[t] + p4[t] + offset
                    r1[t] = p1[t] - p2[t] + _TWO * (p3[t] - p4[t]) + offset
                    r2[t] = p1[t] + p2[t] + _FOUR * (p3[t] + p4[t]) + offset
                    r3[t] = p1[t] - p2[t] + _EIGHT * (p3[t] - p4[t]) + p5[t] + offset
            for i in range(min(TILE, height - TILE * tile_row)):
                line = plane[TILE * tile_row + i]
                q0, q1, q2, q3 = result[i, 0], result[i, 1], result[i, 2], result[i, 3]
                for t in range(whole_tiles):  # the four phases interleaved back into the row
                    line[TILE * t] = _activate(q0[t], activation, leak)
                    line[TILE * t + 1] = _activate(q1[t], activation, leak)
                    line[TILE * t + 2] = _activate(q2[t], activation, leak)
                    line[TILE * t + 3] = _activate(q3[t], activation, leak)
                for j in range(width - TILE * whole_tiles):  # a last, partial tile
                    line[TILE * whole_tiles + j] = _activate(result[i, j, whole_tiles], activation, leak)
                if summing:
                    row_total, row_squares = _sums(line)
                    total += row_total
                    squares += row_squares
        sums[k, 0] += total
        sums[k, 1] += squares


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fusionbench-winograd")
        return _POOLS[threads]


def _run(tasks: list[Callable[[], object]], threads: int) -> list:
    """Run ``tasks`` on up to ``threads`` threads (the kernels release the GIL); results in order."""
    if threads <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    return [future.result() for future in [_pool(threads).submit(task) for task in tasks]]


def _split(count: int, parts: int) -> list[tuple[int, int]]:
    bounds = [count * index // parts for index in range(parts + 1)]
    return [(start, stop) for start, stop in zip(bounds[:-1], bounds[1:]) if stop > start]


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread for the duration: the products already run on the Winograd threads.

    Idle OpenBLAS workers spin for a while after each call, which would take a core from the
    Numba kernel that runs next on the same cores.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def input_transform(features: np.ndarray, transformed: np.ndarray, first_channel: int, reflect: bool,
                    scale: np.ndarray | None = None, shift: np.ndarray | None = None, threads: int = 1) -> None:
    """Write the transform of ``features`` (float32 ``(C, H, W)``) into ``transformed[:, c0:c0+C]``.

    ``reflect``: padding by reflection (``tf.pad(..., 'REFLECT')``), else zeros. With ``scale`` and
    ``shift`` the features are first mapped to ``relu(x * scale + shift)`` (padding stays zero).
    Channels are shared among ``threads`` threads.
    """
    channels = features.shape[0]
    affine = scale is not None
    if not affine:
        scale = shift = np.zeros(channels, np.float32)
    features = np.ascontiguousarray(features, np.float32)
    scale, shift = np.ascontiguousarray(scale, np.float32), np.ascontiguousarray(shift, np.float32)
    _run([lambda begin=begin, end=end: _input_transform(features, transformed, first_channel, reflect, scale,
                                                         shift, affine, begin, end)
          for begin, end in _split(channels, threads)], threads)


def convolve(transformed: np.ndarray, kernels: np.ndarray, bias: np.ndarray, output: np.ndarray,
             first_channel: int = 0, activation: str = "none", leak: float = 0.0, threads: int = 1,
             statistics: bool = False) -> np.ndarray | None:
    """The convolution of already transformed input, written into ``output[c0:c0+K]`` (float32 ``(*, H, W)``).

    ``transformed`` ``(36, C, T)`` (may be a row range of a larger array: no copy), ``kernels``
    ``U`` ``(36, K, C)``. The products ``M[p] = U[p] @ V[p]`` are computed a few tile rows at a time
    (NumPy's matrix product, OpenBLAS: 54-60 GFLOP/s per core on the development machine against
    43 for ``torch.bmm``'s MKL) and each block goes through ``A' M A + bias`` and the activation while
    it is still in cache; the blocks are shared among ``threads`` threads (call this inside
    :func:`single_threaded_blas`). With ``statistics`` returns float64 ``(K, 2)``: per channel, the
    sum and the sum of squares of the written values (added block by block in order: the same for
    any thread count).
    """
    channels = kernels.shape[1]
    tile_columns = tile_grid(output.shape[1], output.shape[2])[1]
    tile_rows = transformed.shape[2] // tile_columns
    block_rows = max(1, min(tile_rows, _BLOCK_VALUES // (POSITIONS * channels * tile_columns)))
    blocks = [(first, min(block_rows, tile_rows - first)) for first in range(0, tile_rows, block_rows)]
    bias = np.ascontiguousarray(bias, np.float32)
    code, leak = ACTIVATIONS[activation], np.float32(leak)
    sums = np.zeros((len(blocks), channels, 2), np.float64)

    def work(indices: range) -> None:
        buffer = np.empty((POSITIONS, channels, block_rows * tile_columns), dtype=np.float32)
        for index in indices:
            first, rows = blocks[index]
            block = buffer[:, :, :rows * tile_columns]
            np.matmul(kernels, transformed[:, :, first * tile_columns:(first + rows) * tile_columns], out=block)
            _output_transform(block, bias, output, first_channel, first, code, leak, sums[index], statistics)

    _run([lambda part=part: work(range(*part)) for part in _split(len(blocks), threads)], threads)
    return sums.sum(axis=0) if statistics else None
