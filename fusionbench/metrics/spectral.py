"""Filtering a real image by a real, even frequency response, through OpenCV's real DFT.

The contrast sensitivity functions of Q_CB and Q_CV depend on the radius of the frequency only,
so sampled on the unshifted FFT grid they are even (``fftfreq`` samples -f wherever it samples f,
and the Nyquist frequency is its own mirror). The filtered image of a real image,
``real(ifft2(fft2(image) * response))``, is then real and equals
``idft(dft(image) * packed(response))`` with OpenCV's real-input transform, whose spectrum is
packed (CCS) into an M x N real array: a product of real numbers per entry instead of complex
transforms of the whole image, about 8x faster than NumPy's complex FFTs. The result differs from
theirs by rounding only (around 1e-13 of the image's range: the imaginary residue the complex
route drops is of the same size).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import cv2
import numpy as np

#: A response is kept per shape up to this many pixels (at most 8 shapes, 16 MiB each).
CACHED_PIXELS = 1 << 21


def packs(shape: tuple[int, ...]) -> bool:
    """Can an image of ``shape`` be filtered by :func:`filter_even` (2-D, even sides, not huge)?"""
    return len(shape) == 2 and shape[0] % 2 == 0 and shape[1] % 2 == 0 and shape[0] * shape[1] <= CACHED_PIXELS


def filter_even(image: np.ndarray, packed_response: np.ndarray) -> np.ndarray:
    """``real(ifft2(fft2(image) * response))`` for a response packed by :func:`pack_even_response`."""
    transformed = spectrum(image)
    transformed *= packed_response
    return inverse(transformed)


def spectrum(image: np.ndarray) -> np.ndarray:
    """OpenCV's real DFT of ``image`` (float64, CCS-packed M x N): what :func:`filter_even`
    multiplies, for callers that keep it (one image filtered by several responses)."""
    return cv2.dft(np.asarray(image, np.float64))


def filter_spectrum(spectrum: np.ndarray, packed_response: np.ndarray, subtract: np.ndarray | None = None
                    ) -> np.ndarray:
    """:func:`filter_even` of the image whose :func:`spectrum` is given (left as it is), or, with
    ``subtract``, of the difference of two images: the DFT is linear, so the spectrum of X - Y is
    spectrum(X) - spectrum(Y) (to rounding, a few ulps of the spectrum's largest entries)."""
    if subtract is None:
        return inverse(spectrum * packed_response)
    difference = spectrum - subtract
    difference *= packed_response
    return inverse(difference)


def inverse(spectrum: np.ndarray) -> np.ndarray:
    """The real image of a CCS-packed spectrum (OpenCV's inverse DFT, scaled by 1/MN)."""
    return cv2.idft(spectrum, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)


def pack_even_response(response: np.ndarray) -> np.ndarray:
    """An even M x N response (unshifted FFT grid, M and N even) at the entries of OpenCV's CCS
    spectrum: column 0 holds the real transform of frequency column 0 down the rows (Re Y_00; Re,
    Im Y_k0 for k = 1..M/2-1 in rows 2k-1, 2k; Re Y_(M/2)0 in the last row), column N-1 the same for
    frequency column N/2, and columns 2p-1, 2p of row j hold Re, Im Y_jp for p = 1..N/2-1."""
    rows, columns = response.shape
    packed = np.empty(response.shape)
    halves = np.arange(1, columns // 2)
    packed[:, 2 * halves - 1] = response[:, halves]
    packed[:, 2 * halves] = response[:, halves]
    ks = np.arange(1, rows // 2)
    for column, frequency in ((0, 0), (columns - 1, columns // 2)):
        packed[0, column] = response[0, frequency]
        packed[2 * ks - 1, column] = response[ks, frequency]
        packed[2 * ks, column] = response[ks, frequency]
        packed[rows - 1, column] = response[rows // 2, frequency]
    packed.setflags(write=False)
    return packed


def radial_frequencies(shape: tuple[int, int], scale: float) -> np.ndarray:
    """|f| on the unshifted FFT grid, f in cycles per image divided by ``scale``."""
    rows = np.fft.fftfreq(shape[0]) * shape[0] / scale
    columns = np.fft.fftfreq(shape[1]) * shape[1] / scale
    return np.hypot(rows[:, None], columns[None, :])


@lru_cache(maxsize=8)
def packed_response(function: Callable[[np.ndarray], np.ndarray], shape: tuple[int, int], scale: float) -> np.ndarray:
    """``pack_even_response(function(radial_frequencies(shape, scale)))``, kept per shape."""
    return pack_even_response(function(radial_frequencies(shape, scale)))
