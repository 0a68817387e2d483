"""The Laplacian pyramid of Liu, Liu & Wang's MST-SR toolbox (after Rockinger's fusion toolbox).

Exactly the reference's border and size rules, because each of them moves fused pixels by tens of
grey levels near the borders when done differently:

* Analysis filter ``w = [1 4 6 4 1] / 16``, applied separably ('valid' after a 2-pixel symmetric
  extension, see :func:`symmetric_extension`); synthesis uses ``2 w`` in both directions.
* :func:`symmetric_extension` (the toolbox's ``es2``) mirrors rows and columns *without* repeating
  the edge sample and leaves the four corner blocks at **zero** (``np.pad(mode="reflect")`` or
  OpenCV's pyramids mirror the corners too).
* Odd sizes are first made even by mirroring one row/column (:func:`pad_to_even`, the toolbox's
  ``adb``); the band is cropped back after synthesis.
* ``dec2`` keeps rows/columns 0, 2, 4, ... ; ``undec2`` puts samples back there with zeros between.

Arrays are float64 planes ``H x W`` (colour channels and sources are separate planes: one OpenCV
call per plane is faster than one call on interleaved channels).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputMismatchError

#: Binomial analysis filter of the toolbox (``w = [1 4 6 4 1] / 16``).
ANALYSIS_FILTER = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
#: Synthesis filter ``2 w`` (compensates the zeros inserted by upsampling, per direction).
SYNTHESIS_FILTER = 2.0 * ANALYSIS_FILTER
_EXTENSION = 2  # half the filter length: the 'valid' filtering of the extension gives the input size


def symmetric_extension(plane: np.ndarray, width: int) -> np.ndarray:
    """The toolbox's ``es2``: mirror ``width`` rows/columns on each side (edge not repeated), corners 0.

    ``Y[width + i, width - 1 - k] = X[i, k + 1]`` etc.; the ``width x width`` corner blocks stay 0.
    """
    extended = cv2.copyMakeBorder(plane, width, width, width, width, cv2.BORDER_REFLECT_101)
    extended[:width, :width] = 0.0
    extended[:width, -width:] = 0.0
    extended[-width:, :width] = 0.0
    extended[-width:, -width:] = 0.0
    return extended


def pad_to_even(plane: np.ndarray) -> np.ndarray:
    """The toolbox's ``adb``: append one mirrored row/column (``X[z-2]``) where the size is odd."""
    rows, columns = plane.shape
    if rows % 2 == 0 and columns % 2 == 0:
        return plane
    return cv2.copyMakeBorder(plane, 0, rows % 2, 0, columns % 2, cv2.BORDER_REFLECT_101)


def _filter_valid(extended: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """``conv2(conv2(E, taps, 'valid'), taps', 'valid')`` of an extension made by :func:`symmetric_extension`."""
    filtered = cv2.sepFilter2D(extended, cv2.CV_64F, taps, taps, borderType=cv2.BORDER_CONSTANT)
    return filtered[_EXTENSION:-_EXTENSION, _EXTENSION:-_EXTENSION]


def lowpass(plane: np.ndarray) -> np.ndarray:
    """Analysis smoothing ``G`` of an even-sized band (same size as the band)."""
    return _filter_valid(symmetric_extension(plane, _EXTENSION), ANALYSIS_FILTER)


def expand(coarse: np.ndarray) -> np.ndarray:
    """Upsample by 2 with zeros (``undec2``) and interpolate with ``2 w`` after ``es2``: twice the size."""
    rows, columns = coarse.shape
    # Built directly with its es2 extension: zeros between samples, mirrored borders, zero corners.
    extended = np.zeros((2 * rows + 2 * _EXTENSION, 2 * columns + 2 * _EXTENSION))
    extended[_EXTENSION:-_EXTENSION:2, _EXTENSION:-_EXTENSION:2] = coarse
    inner = extended[_EXTENSION:-_EXTENSION, _EXTENSION:-_EXTENSION]
    extended[_EXTENSION:-_EXTENSION, :_EXTENSION] = inner[:, _EXTENSION:0:-1]
    extended[_EXTENSION:-_EXTENSION, -_EXTENSION:] = inner[:, -2:-2 - _EXTENSION:-1]
    extended[:_EXTENSION, _EXTENSION:-_EXTENSION] = inner[_EXTENSION:0:-1]
    extended[-_EXTENSION:, _EXTENSION:-_EXTENSION] = inner[-2:-2 - _EXTENSION:-1]
    return _filter_valid(extended, SYNTHESIS_FILTER)


def reduce(band: np.ndarray) -> np.ndarray:
    """``dec2(lowpass(band))`` of an even-sized band (at least 4x4), computed by ``cv2.pyrDown``.

    ``pyrDown`` applies the same 5-tap filter at the even samples with mirrored (reflect-101) borders;
    it differs from the toolbox only at the four corner samples, where ``es2`` leaves zeros: those
    four values are recomputed with :func:`lowpass` on a 4x4 corner crop. The arithmetic is exact for
    the dyadic values of an integer image's pyramid; on arbitrary floats it can differ by ~1e-14.
    """
    decimated = cv2.pyrDown(band)
    decimated[0, 0] = lowpass(band[:4, :4])[0, 0]
    decimated[0, -1] = lowpass(band[:4, -4:])[0, -2]
    decimated[-1, 0] = lowpass(band[-4:, :4])[-2, 0]
    decimated[-1, -1] = lowpass(band[-4:, -4:])[-2, -2]
    return decimated


def fast_expand(coarse: np.ndarray) -> np.ndarray:
    """:func:`expand` computed by ``cv2.pyrUp`` in the interior.

    ``pyrUp`` is the same zero-insertion and ``2 w`` interpolation; it differs from ``es2`` only in
    the first and last two rows and columns (bottom/right mirroring, zero corners), which are
    recomputed with :func:`expand` on 3-sample strips. Exact for dyadic values (see :func:`reduce`).
    """
    rows, columns = coarse.shape
    if min(rows, columns) < 4:
        return expand(coarse)
    expanded = cv2.pyrUp(coarse, dstsize=(2 * columns, 2 * rows))
    expanded[:2] = expand(coarse[:3])[:2]
    expanded[-2:] = expand(coarse[-3:])[-2:]
    expanded[:, :2] = expand(coarse[:, :3])[:, :2]
    expanded[:, -2:] = expand(coarse[:, -3:])[:, -2:]
    return expanded


@dataclass
class Pyramid:
    """Band-pass levels (finest first, each at its even-padded size), the base band, original sizes."""

    levels: list[np.ndarray]
    base: np.ndarray
    sizes: list[tuple[int, int]]


def minimum_size(levels: int) -> int:
    """Smallest side the toolbox's pyramid handles: ``2**levels + 1``.

    The coarsest analysis runs on a band of ``ceil(side / 2**(levels-1))`` samples, padded to even, and
    ``es2`` needs at least 3 there, so that band must have 3 or more samples.
    """
    return 2 ** levels + 1


def check_size(shape: tuple[int, ...], levels: int) -> None:
    """Refuse images smaller than :func:`minimum_size` on a side."""
    rows, columns = shape[:2]
    if min(rows, columns) < minimum_size(levels):
        raise InputMismatchError(
            f"image of {columns}x{rows} pixels is too small for a {levels}-level Laplacian pyramid "
            f"(each side needs at least {minimum_size(levels)} pixels)")


def level_shapes(shape: tuple[int, ...], levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]], tuple[int, int]]:
    """What :func:`decompose` makes of a ``rows x columns`` plane: the sizes it records, the band-pass
    shapes (even-padded) and the base band's shape."""
    current = tuple(shape[:2])
    sizes, bands = [], []
    for _ in range(levels):
        sizes.append(current)
        padded = (current[0] + current[0] % 2, current[1] + current[1] % 2)
        bands.append(padded)
        current = (padded[0] // 2, padded[1] // 2)
    return sizes, bands, current


def decompose(plane: np.ndarray, levels: int) -> Pyramid:
    """Laplacian pyramid of a float64 plane as in ``lp_fuse``: ``levels`` band-passes + base."""
    check_size(plane.shape, levels)
    band_passes, sizes = [], []
    current = plane
    for _ in range(levels):
        sizes.append(current.shape[:2])
        current = pad_to_even(current)
        decimated = reduce(current)
        band_passes.append(current - fast_expand(decimated))
        current = decimated
    return Pyramid(band_passes, current, sizes)


def reconstruct(band_passes: list[np.ndarray], base: np.ndarray, sizes: list[tuple[int, int]]) -> np.ndarray:
    """Inverse of :func:`decompose` (coarsest first: expand, add the band-pass, crop to the stored size)."""
    current = base
    for band_pass, (rows, columns) in zip(reversed(band_passes), reversed(sizes)):
        current = (fast_expand(current) + band_pass)[:rows, :columns]
    return current


def reconstruct_in_place(band_passes: list[np.ndarray], base: np.ndarray,
                         sizes: list[tuple[int, int]]) -> np.ndarray:
    """:func:`reconstruct` adding each expansion into its band-pass array (the same sums: addition
    commutes): no third full-size array. The band-passes are overwritten; the result is a view of the
    finest one."""
    current = base
    for band_pass, (rows, columns) in zip(reversed(band_passes), reversed(sizes)):
        band_pass += fast_expand(current)
        current = band_pass[:rows, :columns]
    return current
