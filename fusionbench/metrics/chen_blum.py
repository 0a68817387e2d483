"""Q_CB: Chen & Blum's human-perception-inspired fusion metric (2009), contrast preservation."""
from __future__ import annotations

from functools import lru_cache, partial

import cv2
import numpy as np

from ..registry import register_metric
from .evaluation import accepts_uint8_grey
from . import filtering, image_memo, spectral
from .filtering import same_maps

#: DoG contrast sensitivity function S(f) = exp(-(f/f0)^2) - a exp(-(f/f1)^2), f in cycles/degree.
CSF_F0 = 15.3870
CSF_F1 = 1.3456
CSF_A = 0.7622
#: Viewing geometry: the image spans 15 degrees of visual angle in each direction, so a frequency
#: of k cycles per image is k/15 cycles per degree (the reference code's hang/30, lie/30 scaling).
DEGREES_PER_IMAGE = 15.0
#: Local band-limited contrast C = (G_2 * I) / (G_4 * I) - 1 with Gaussians of sigma 2 and 4 (31x31).
CONTRAST_SIGMAS = (2.0, 4.0)
CONTRAST_WINDOW = 31
#: Masking response C' = k C^p / (h C^q + Z).
MASKING_K, MASKING_H, MASKING_P, MASKING_Q, MASKING_Z = 1.0, 1.0, 3.0, 2.0, 1e-4
#: |G_4 * I| below this is treated as no signal: contrast 0 there instead of x/0.
SIGNAL_FLOOR = 1e-10


#: The CSF of shapes up to this many pixels is kept (at most 4 shapes, 16 MiB each); larger ones
#: are computed a strip at a time where they are applied.
CACHED_CSF_PIXELS = 1 << 21


def _frequency_axes(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return (np.fft.fftfreq(shape[0]) * shape[0] / DEGREES_PER_IMAGE,
            np.fft.fftfreq(shape[1]) * shape[1] / DEGREES_PER_IMAGE)


def _response(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    return _radial_response(np.hypot(rows[:, None], columns[None, :]))


@lru_cache(maxsize=4)
def contrast_sensitivity(shape: tuple[int, int]) -> np.ndarray:
    """DoG CSF sampled on the FFT grid of an image of ``shape`` (unshifted, DC at [0, 0])."""
    response = _response(*_frequency_axes(shape))
    response.setflags(write=False)
    return response


def csf_filter(image: np.ndarray) -> np.ndarray:
    """The image filtered by the CSF in the frequency domain (real part; periodic boundary):
    ``real(ifft2(fft2(image) * csf))``.

    The CSF is even on the FFT grid, so an image with even sides is filtered through OpenCV's
    real DFT (:func:`fusionbench.metrics.spectral.filter_even`; equal to rounding, below 1e-13 of
    the image's range, and every VIFB value reproduced either way); odd sides and large images go
    the complex route of :func:`complex_csf_filter`.
    """
    if spectral.packs(image.shape) and image.size <= CACHED_CSF_PIXELS:
        return spectral.filter_even(image, spectral.packed_response(_radial_response, image.shape, DEGREES_PER_IMAGE))
    return complex_csf_filter(image)


def _radial_response(radius: np.ndarray) -> np.ndarray:
    return np.exp(-(radius / CSF_F0) ** 2) - CSF_A * np.exp(-(radius / CSF_F1) ** 2)


def complex_csf_filter(image: np.ndarray) -> np.ndarray:
    """:func:`csf_filter` by complex FFTs: exactly ``real(ifft2(fft2(image) * csf))``, the same 1-D
    transforms in the same order (rows, then columns; back: rows, then columns), but in place on
    one complex array, a block of rows or columns at a time, so the filter holds one complex image
    instead of three (and, for images over :data:`CACHED_CSF_PIXELS`, the CSF a block at a time).
    """
    spectrum = np.empty(image.shape, np.complex128)
    for start in range(0, image.shape[0], FFT_BLOCK):
        spectrum[start:start + FFT_BLOCK] = np.fft.fft(image[start:start + FFT_BLOCK], axis=1)
    _transform_columns(spectrum, np.fft.fft)
    if image.size <= CACHED_CSF_PIXELS:
        spectrum *= contrast_sensitivity(image.shape)
    else:
        rows, columns = _frequency_axes(image.shape)
        for start in range(0, image.shape[0], FFT_BLOCK):
            spectrum[start:start + FFT_BLOCK] *= _response(rows[start:start + FFT_BLOCK], columns)
    for start in range(0, image.shape[0], FFT_BLOCK):
        spectrum[start:start + FFT_BLOCK] = np.fft.ifft(spectrum[start:start + FFT_BLOCK], axis=1)
    _transform_columns(spectrum, np.fft.ifft)
    return spectrum.real.copy()


#: Images up to this many pixels get their masked contrasts whole and kept by content (see
#: :func:`chen_blum`); larger ones are computed in strips.
WHOLE_IMAGE_PIXELS = CACHED_CSF_PIXELS

#: Rows or columns transformed per call in :func:`csf_filter`.
FFT_BLOCK = 64


def _transform_columns(spectrum: np.ndarray, transform) -> None:
    for start in range(0, spectrum.shape[1], FFT_BLOCK):
        spectrum[:, start:start + FFT_BLOCK] = transform(spectrum[:, start:start + FFT_BLOCK], axis=0)


@lru_cache(maxsize=4)
def _gaussian(sigma: float, normalised: bool = True) -> np.ndarray:
    offsets = np.arange(CONTRAST_WINDOW, dtype=np.float64) - (CONTRAST_WINDOW - 1) / 2
    kernel = np.exp(-(offsets ** 2) / (2 * sigma * sigma))
    if not normalised:  # 1-D factor of exp(-r^2 / 2 sigma^2) / (2 pi sigma^2), truncated at 31x31
        kernel = kernel / (np.sqrt(2.0 * np.pi) * sigma)
    else:
        kernel = kernel / kernel.sum()
    kernel.setflags(write=False)
    return kernel


def masked_contrast(filtered: np.ndarray, keep: slice = slice(None), normalised: bool = True) -> np.ndarray:
    """C' = |C|^3 / (|C|^2 + 1e-4) of the local contrast C = (G_2*I)/(G_4*I) - 1, on rows ``keep``
    (of a strip: see :func:`~fusionbench.metrics.filtering.same_maps`).

    Gaussian filtering is 'same' size with zero padding, as the reference code's ``filter2``;
    kernels are normalised to sum 1 (``normalised=False``: the continuous Gaussian's
    1/(2 pi sigma^2), as the zhengliu6699/VIFB code, whose truncated kernels sum to slightly less).
    Computed in compiled passes (:mod:`fusionbench.metrics.chen_blum_kernel`), equal bit for bit
    to ``cv2.sepFilter2D`` and the NumPy masking of :func:`masked_contrast_reference`, in a fifth
    of their time.
    """
    if (MASKING_P, MASKING_Q) != (3.0, 2.0):  # the kernel has the paper's powers built in
        return masked_contrast_reference(filtered, keep, normalised)
    from . import chen_blum_kernel  # Numba: imported on first use

    filtered = np.ascontiguousarray(filtered, np.float64)
    start, stop, _ = keep.indices(filtered.shape[0])
    contrast = np.empty((max(0, stop - start), filtered.shape[1]))
    fine, coarse = (_gaussian(sigma, normalised) for sigma in CONTRAST_SIGMAS)
    chen_blum_kernel.masked_contrast(filtered, fine, coarse, SIGNAL_FLOOR, MASKING_K, MASKING_H, MASKING_Z,
                                     start, stop, contrast)
    return contrast


def masked_contrast_reference(filtered: np.ndarray, keep: slice = slice(None), normalised: bool = True) -> np.ndarray:
    """:func:`masked_contrast` by OpenCV and NumPy (any masking powers; the tests' reference)."""
    fine, coarse = (cv2.sepFilter2D(filtered, cv2.CV_64F, _gaussian(s, normalised), _gaussian(s, normalised),
                                    borderType=cv2.BORDER_CONSTANT)[keep] for s in CONTRAST_SIGMAS)
    contrast = np.divide(fine, coarse, out=np.ones_like(fine), where=np.abs(coarse) > SIGNAL_FLOOR)
    contrast -= 1.0
    np.abs(contrast, out=contrast)
    return _masking(contrast)


def _masking(contrast: np.ndarray) -> np.ndarray:
    """k C^p / (h C^q + Z), in place on ``contrast``. With the paper's p = 3, q = 2 the powers are
    products (C*C is C**2 bit for bit; (C*C)*C is within an ulp of pow(C, 3), at a tenth of the time)."""
    if (MASKING_P, MASKING_Q) != (3.0, 2.0):
        return MASKING_K * contrast ** MASKING_P / (MASKING_H * contrast ** MASKING_Q + MASKING_Z)
    square = contrast * contrast
    contrast *= square
    if MASKING_K != 1.0:
        contrast *= MASKING_K
    if MASKING_H != 1.0:
        square *= MASKING_H
    square += MASKING_Z
    contrast /= square
    return contrast


def stretch_to_grey_levels(image: np.ndarray) -> np.ndarray:
    """min-max stretch to 0..255, rounded half away from zero (``normalize1`` of the zhengliu6699
    code, used by VIFB's Q_CB and Q_CV): round(255 (I - min) / (max - min)), float64. An all-zero
    image stays as it is; any other constant image becomes NaN there (0/0), here all zeros."""
    if image.dtype == np.uint8:  # the same arithmetic on the 256 possible levels, then looked up
        low, high = int(image.min()), int(image.max())
        if high == low:
            return np.zeros(image.shape)
        levels = _stretch_levels(np.arange(256, dtype=np.float64), float(low), float(high))
        # cv2.LUT reads a strided plane as it is (take converts the indices to intp first): 0.3 ms, not 1-6
        return cv2.LUT(image, levels) if image.ndim == 2 else levels.take(image)
    image = np.asarray(image, np.float64)
    low, high = float(image.min()), float(image.max())
    if high == low:
        return np.zeros_like(image)
    return _stretch_levels(image, low, high)


def _stretch_levels(image: np.ndarray, low: float, high: float) -> np.ndarray:
    stretched = (image - low) / (high - low) * 255.0
    rounded = np.floor(stretched)  # values are >= 0: half away from zero is half up
    rounded += (stretched - rounded) >= 0.5
    return rounded


def _ratio_of_smaller(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    larger = np.maximum(x, y)
    return np.divide(np.minimum(x, y), larger, out=np.ones_like(larger), where=larger > 0)


@register_metric(
    "QCB", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="Y. Chen, R. S. Blum, A new automated quality assessment algorithm for image fusion, "
             "Image and Vision Computing 27 (10) (2009) 1421-1432",
    variant="Q_CB with the DoG CSF (f0=15.387, f1=1.3456, a=0.7622; image = 15 deg), contrast "
            "G_sigma2/G_sigma4 - 1, masking |C|^3/(|C|^2+1e-4), saliency C'^2, grey 0..255")
@accepts_uint8_grey
def chen_blum(fused: np.ndarray, sources: list[np.ndarray], *, stretch: bool = False,
              normalised_gaussians: bool = True) -> float:
    """Q_CB = mean over pixels of lambda_A Q_AF + lambda_B Q_BF.

    Each image is CSF-filtered (:func:`csf_filter`), its masked contrast C' computed
    (:func:`masked_contrast`); Q_XF = min(C'_X, C'_F) / max(C'_X, C'_F) is contrast preservation
    (1 where both are 0), lambda_X = C'_X^2 / (C'_A^2 + C'_B^2) the saliency (0.5 where both are 0).
    Choices stated: images are used in grey levels 0..255 as given (the zhengliu6699 code also
    min-max stretches each image, which is undefined for constant images); the real part of the
    inverse FFT is kept; contrast is 0 where the coarse response vanishes. Equal constant images
    score 1.

    Images up to :data:`WHOLE_IMAGE_PIXELS` pixels: each image's masked contrast is computed on the
    whole image and kept by content (:mod:`fusionbench.metrics.image_memo`; VIFB pairs one
    infrared plane with three colour planes). Larger ones: the quality map is computed in strips
    of rows from the whole CSF-filtered images, so memory stays bounded. Both give the same bits
    (OpenCV filters every row and column of a strip as of the whole image).
    """
    first, second = sources
    images = [fused, first] if second is first else [fused, first, second]
    if fused.size <= WHOLE_IMAGE_PIXELS:
        kind = ("chen_blum.masked_contrast", stretch, normalised_gaussians)
        keys = [image_memo.content_key(image) for image in images]  # one hash per image for both maps
        # Sources first, the last one first: they are the maps other calls share (VIFB's infrared
        # plane with every colour plane, run in threads), so a thread that waits for one waits least.
        contrasts = {index: image_memo.memoized(kind, images[index], partial(
            _whole_masked_contrast, images[index], stretch, normalised_gaussians, keys[index]), keys[index])
            for index in reversed(range(len(images)))}
        return float(np.mean(_contrast_preservation(*(contrasts[index] for index in range(len(images))))))
    if stretch:
        images = [stretch_to_grey_levels(image) for image in images]
    filtered = [csf_filter(image) for image in images]
    # Strips twice the usual size: the 31-row window's 30 extra rows per strip cost less.
    quality, = same_maps(partial(_preservation_map, normalised_gaussians), filtered, radius=CONTRAST_WINDOW // 2,
                         strip_pixels=2 * filtering.STRIP_PIXELS)
    return float(np.mean(quality))


def compile_kernels() -> None:
    """Compile Q_CB's and Q_CV's Numba kernels into the on-disk cache (or load them from it) by one
    tiny call each, through the paths whole images take (the same argument types), so that
    workers started afterwards only load them: ~10 s the first time, ~1 s from the cache."""
    from .chen_varshney import chen_varshney

    ramp = np.tile(np.arange(0, 64, 4, dtype=np.uint8), (16, 1))
    for stretch in (False, True):
        chen_blum(ramp, [ramp, ramp.T.copy()], stretch=stretch)
    chen_varshney(ramp, ramp.T.copy(), ramp)


def _whole_masked_contrast(image: np.ndarray, stretch: bool, normalised: bool, key: tuple | None = None
                           ) -> np.ndarray:
    """C' of one whole image: stretched (if asked), CSF-filtered, masked contrast. Where the CSF
    goes through OpenCV's real DFT a stretched image's spectrum is kept by content
    (:func:`image_spectrum`: Q_CV filters the same stretched images by another CSF; unstretched
    ones meet no other user, so their spectra take no room in the memo); ``key``: the image's
    content key."""
    if spectral.packs(image.shape) and image.size <= CACHED_CSF_PIXELS:
        packed = spectral.packed_response(_radial_response, image.shape, DEGREES_PER_IMAGE)
        spectrum = image_spectrum(image, stretch, key) if stretch else spectral.spectrum(image)
        filtered = spectral.filter_spectrum(spectrum, packed)
    else:
        filtered = csf_filter(stretch_to_grey_levels(image) if stretch else image)
    return masked_contrast(filtered, slice(None), normalised)


def image_spectrum(image: np.ndarray, stretch: bool, key: tuple | None = None) -> np.ndarray:
    """:func:`fusionbench.metrics.spectral.spectrum` of the image (stretched by
    :func:`stretch_to_grey_levels` if asked), kept by content (read-only; ``key``: the image's
    :func:`~fusionbench.metrics.image_memo.content_key` if known)."""
    return image_memo.memoized(("chen_blum.spectrum", stretch), image, partial(
        _spectrum_of, image, stretch), key)


def _spectrum_of(image: np.ndarray, stretch: bool) -> np.ndarray:
    return spectral.spectrum(stretch_to_grey_levels(image) if stretch else image)


def _preservation_map(normalised: bool, keep: slice, fused: np.ndarray, first: np.ndarray,
                      second: np.ndarray | None = None) -> tuple[np.ndarray]:
    """lambda_A Q_AF + lambda_B Q_BF on rows ``keep`` of a strip of the CSF-filtered images."""
    fused_contrast = masked_contrast(fused, keep, normalised)
    first_contrast = masked_contrast(first, keep, normalised)
    second_contrast = first_contrast if second is None else masked_contrast(second, keep, normalised)
    return _contrast_preservation(fused_contrast, first_contrast, second_contrast),


def _contrast_preservation(fused_contrast: np.ndarray, first_contrast: np.ndarray,
                           second_contrast: np.ndarray | None = None) -> np.ndarray:
    """lambda_A Q_AF + lambda_B Q_BF from the masked contrasts (the second source's: the first's if
    None), in one compiled pass (the same operations as :func:`contrast_preservation_reference`)."""
    from . import chen_blum_kernel

    contrasts = [np.ascontiguousarray(contrast, np.float64) for contrast in
                 (fused_contrast, first_contrast, first_contrast if second_contrast is None else second_contrast)]
    quality = np.empty(contrasts[0].shape)
    chen_blum_kernel.contrast_preservation(*contrasts, quality)
    return quality


def contrast_preservation_reference(fused_contrast: np.ndarray, first_contrast: np.ndarray,
                                    second_contrast: np.ndarray | None = None) -> np.ndarray:
    """:func:`_contrast_preservation` by NumPy (the tests' reference)."""
    contrasts = [first_contrast, first_contrast if second_contrast is None else second_contrast]
    squares = [contrast * contrast for contrast in contrasts]
    total = squares[0] + squares[1]
    saliency_first = np.divide(squares[0], total, out=np.full_like(total, 0.5), where=total > 0)
    return (saliency_first * _ratio_of_smaller(contrasts[0], fused_contrast)
            + (1.0 - saliency_first) * _ratio_of_smaller(contrasts[1], fused_contrast))
