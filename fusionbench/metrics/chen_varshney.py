"""Q_CV: Chen & Varshney's human-perception-inspired fusion metric (2007), a dialect core.

Not a registered metric: :mod:`fusionbench.metrics.dialects` uses it for VIFB's ``Qcv``.
"""
from __future__ import annotations

from functools import lru_cache, partial

import cv2
import numpy as np

from . import chen_blum, image_memo, spectral
from .chen_blum import stretch_to_grey_levels

#: Local regions are WINDOW x WINDOW blocks; region saliency is sum(g^ALPHA) over the block
#: (ALPHA = 5 is computed as (g^2)^2 g).
WINDOW = 16
ALPHA = 5
#: Viewing-distance scaling of the frequency grid: k cycles per image -> k / FREQUENCY_DIVISOR
#: (the reference code's ``u = lie/8 * u`` on MATLAB's ``freqspace`` grid of step 2/N).
FREQUENCY_DIVISOR = 4.0


@lru_cache(maxsize=4)
def mannos_sakrison(shape: tuple[int, int]) -> np.ndarray:
    """Mannos-Sakrison CSF 2.6 (0.0192 + 0.144 r) exp(-(0.144 r)^1.1) on the real-FFT grid of
    ``shape`` (``np.fft.rfft2`` layout: unshifted, DC at [0, 0], columns 0..N/2), r the radial
    frequency scaled as above. It depends on |frequency| only, so the full spectrum's filter is
    symmetric and filtering a real image keeps it real: ``irfft2`` gives the reference's
    ``real(ifft2(...))`` (to rounding)."""
    rows = np.fft.fftfreq(shape[0]) * shape[0] / FREQUENCY_DIVISOR
    columns = np.fft.rfftfreq(shape[1]) * shape[1] / FREQUENCY_DIVISOR
    radius = np.hypot(rows[:, None], columns[None, :])
    response = _mannos_sakrison_radial(radius)
    response.setflags(write=False)
    return response


def _mannos_sakrison_radial(radius: np.ndarray) -> np.ndarray:
    return 2.6 * (0.0192 + 0.144 * radius) * np.exp(-(0.144 * radius) ** 1.1)


def csf_filter(image: np.ndarray) -> np.ndarray:
    """The image filtered by the Mannos-Sakrison CSF (real part): OpenCV's real DFT where the
    sides are even (:mod:`fusionbench.metrics.spectral`, equal to rounding), else NumPy's."""
    if spectral.packs(image.shape):
        return spectral.filter_even(image, spectral.packed_response(_mannos_sakrison_radial, image.shape,
                                                                    FREQUENCY_DIVISOR))
    return np.fft.irfft2(np.fft.rfft2(image) * mannos_sakrison(image.shape), s=image.shape)


def block_sums(values: np.ndarray, size: int = WINDOW, square: bool = False) -> np.ndarray:
    """Sums over size x size blocks from the top-left (of the squared values if ``square``),
    partial blocks at the right and bottom padded with zeros (MATLAB ``blkproc(values, [size
    size], [0 0], @(x) sum(x(:)))``).

    16x16 blocks, two block columns or more: one compiled pass in NumPy's order of the reference
    (:func:`fusionbench.metrics.chen_varshney_kernel.block_sums_16`, equal bit for bit, 0.3 ms
    instead of 1.1 for 768x576 with the squares); with one block column NumPy merges each block's
    rows into one pairwise sum, so those (and other sizes) take :func:`block_sums_reference`.
    """
    rows, columns = -(-values.shape[0] // size), -(-values.shape[1] // size)
    if size != 16 or columns < 2:
        return block_sums_reference(values * values if square else values, size)
    from . import chen_varshney_kernel  # Numba: imported on first use

    sums = np.empty((rows, columns))
    chen_varshney_kernel.block_sums_16(np.ascontiguousarray(values, np.float64), square, sums)
    return sums


def block_sums_reference(values: np.ndarray, size: int = WINDOW) -> np.ndarray:
    """:func:`block_sums` by NumPy: the blocks of a zero-padded copy summed over their two axes
    (sides that are multiples of ``size``: in place, the same layout and so the same sums)."""
    rows, columns = -(-values.shape[0] // size), -(-values.shape[1] // size)
    if (rows * size, columns * size) == values.shape and values.flags.c_contiguous:
        padded = values
    else:
        padded = np.zeros((rows * size, columns * size))
        padded[:values.shape[0], :values.shape[1]] = values
    return padded.reshape(rows, size, columns, size).sum(axis=(1, 3))


def chen_varshney(first: np.ndarray, second: np.ndarray, fused: np.ndarray) -> float:
    """Q_CV = sum_blocks(lambda_A D_A + lambda_B D_B) / sum_blocks(lambda_A + lambda_B) (lower is better).

    All images min-max stretched to 0..255 and rounded (:func:`stretch_to_grey_levels`).
    lambda_X = sum over a 16x16 block of g_X^5, g_X the 3x3 Sobel gradient magnitude ('same',
    zero padding); D_X = sum over the block of e_X^2 / 256 (also for partial blocks), e_X the
    difference X - F filtered by the Mannos-Sakrison CSF in the frequency domain (real part).
    Reference: H. Chen, P. K. Varshney, A human perception inspired quality metric for image
    fusion based on regional information, Information Fusion 8 (2) (2007) 193-207, as computed
    by VIFB's ``metricsQcv.m`` (from the zhengliu6699 toolbox).
    """
    # Each source's block saliencies, and every image's spectrum, are kept by content (image_memo):
    # VIFB pairs one infrared plane with the three colour planes, and Q_CB (with stretch) filters
    # the same stretched images by its own CSF.
    fused_key = image_memo.content_key(fused)
    saliencies, distortions = [], []
    for source in (first, second):
        key = image_memo.content_key(source)
        saliencies.append(image_memo.memoized("chen_varshney.saliency", source,
                                              partial(_block_saliency_of_levels, source), key))
        difference = _filtered_difference(source, key, fused, fused_key)
        distortions.append(block_sums(difference, square=True) / (WINDOW * WINDOW))
    numerator = float(np.sum(saliencies[0] * distortions[0] + saliencies[1] * distortions[1]))
    denominator = float(np.sum(saliencies[0] + saliencies[1]))
    return numerator / denominator


def _filtered_difference(source: np.ndarray, source_key: tuple, fused: np.ndarray, fused_key: tuple) -> np.ndarray:
    """e = CSF-filtered (stretched source - stretched fused): from the two images' kept spectra
    where the sides are even (the DFT is linear: their difference is the difference's spectrum to
    rounding; Q_CV moved by at most 1e-15 relative on VIFB's images), else by filtering the
    difference."""
    if spectral.packs(fused.shape):
        packed = spectral.packed_response(_mannos_sakrison_radial, fused.shape, FREQUENCY_DIVISOR)
        return spectral.filter_spectrum(chen_blum.image_spectrum(source, True, source_key), packed,
                                        subtract=chen_blum.image_spectrum(fused, True, fused_key))
    return csf_filter(stretch_to_grey_levels(source) - stretch_to_grey_levels(fused))


def _block_saliency_of_levels(image: np.ndarray) -> np.ndarray:
    return _block_saliency(stretch_to_grey_levels(image))


def _block_saliency(stretched: np.ndarray) -> np.ndarray:
    """lambda per 16x16 block: sum of g^ALPHA over the block, g the 3x3 Sobel gradient magnitude
    ('same', zero padding) of the stretched image (:func:`stretch_to_grey_levels`). The g^5 map
    is computed in one compiled pass (:mod:`fusionbench.metrics.chen_varshney_kernel`; exact on
    the stretched integer levels, so equal to :func:`gradient_power_reference` bit for bit)."""
    if ALPHA != 5:
        return block_sums(gradient_power_reference(stretched))
    from . import chen_varshney_kernel  # Numba: imported on first use

    power = np.empty(stretched.shape)
    chen_varshney_kernel.gradient_power(np.ascontiguousarray(stretched, np.float64), power)
    return block_sums(power)


def gradient_power_reference(stretched: np.ndarray) -> np.ndarray:
    """g^ALPHA of the stretched levels by OpenCV's Sobel and NumPy (the tests' reference)."""
    sx = cv2.Sobel(stretched, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_CONSTANT)
    sy = cv2.Sobel(stretched, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_CONSTANT)
    squared = sx * sx
    squared += sy * sy
    if ALPHA != 5:
        return squared ** (ALPHA / 2)
    power = squared * squared  # g^5 = (g^2)^2 g for ALPHA = 5
    power *= np.sqrt(squared)
    return power
