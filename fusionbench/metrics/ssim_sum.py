"""SSIM-SUM: the sum of the fused image's SSIM with each source (Wang, Bovik, Sheikh & Simoncelli 2004)."""
from __future__ import annotations

import numpy as np

from ..registry import register_metric
from . import kept_maps
from .evaluation import accepts_uint8_grey
from .filtering import WindowStatistics, check_window_fits, filter_valid, gaussian_kernel_1d, valid_maps

WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
DYNAMIC_RANGE = 255.0
C1 = (0.01 * DYNAMIC_RANGE) ** 2  # K1 = 0.01
C2 = (0.03 * DYNAMIC_RANGE) ** 2  # K2 = 0.03


def ssim_map(x: WindowStatistics, y: WindowStatistics) -> np.ndarray:
    """SSIM = ((2 mu_x mu_y + C1)(2 s_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)) per
    window, by the compiled :func:`~fusionbench.metrics.window_kernels.ssim` (NumPy's operations
    in the formula's order)."""
    from . import window_kernels  # Numba: imported on first use

    out = np.empty_like(x.mean)
    window_kernels.ssim(x.mean, x.variance, y.mean, y.variance, filter_valid(x.image * y.image, x.kernel),
                        C1, C2, out)
    return out


def mean_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM index of Wang et al. 2004 (``ssim_index.m``): Gaussian 11x11 window, sigma 1.5,
    K1 = 0.01, K2 = 0.03, L = 255, population moments, mean over the 'valid' map, no downsampling.

    SSIM = ((2 mu_x mu_y + C1)(2 s_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)).
    Always defined (C1, C2 > 0); identical images give exactly 1. The map is computed in strips
    (:func:`~fusionbench.metrics.filtering.valid_maps`).
    """
    return mean_ssims([x], y)[0]


def mean_ssims(sources: list[np.ndarray], fused: np.ndarray) -> list[float]:
    """:func:`mean_ssim` of each source with the fused image. One or two sources, all images uint8
    or all float64: in one compiled pass (:func:`fusionbench.metrics.ssim_kernel.ssim_maps`, equal
    bit for bit to :func:`strip_mean_ssims`, about half its time and none of its temporaries);
    otherwise by :func:`strip_mean_ssims`."""
    images = [fused, *sources]
    if (len(sources) in (1, 2) and all(image.ndim == 2 for image in images)
            and len({image.dtype for image in images}) == 1 and fused.dtype in (np.uint8, np.float64)):
        from . import ssim_kernel  # Numba: imported on first use

        check_window_fits(fused.shape, WINDOW_SIZE)
        rows, columns = fused.shape[0] - WINDOW_SIZE + 1, fused.shape[1] - WINDOW_SIZE + 1
        maps = [np.empty((rows, columns)) for _ in sources]
        ssim_kernel.ssim_maps(fused, sources[0], sources[-1], len(sources), gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA),
                              C1, C2, maps[0], maps[-1])
        return [float(np.mean(ssim)) for ssim in maps]
    return strip_mean_ssims(sources, fused)


def strip_mean_ssims(sources: list[np.ndarray], fused: np.ndarray) -> list[float]:
    """:func:`mean_ssims` by OpenCV's filters in strips sharing the fused image's statistics (any
    real dtype, any number of sources; the compiled pass's reference). The sources' window means
    and variances of images up to :data:`~fusionbench.metrics.kept_maps.KEPT_PIXELS` are kept for
    the item's other fused images (:func:`~fusionbench.metrics.kept_maps.window_moments`)."""
    kernel = gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA)
    moments = [None] * len(sources)
    if kept_maps.worth_keeping(fused.shape):
        moments = [kept_maps.window_moments(source, (key,), WINDOW_SIZE, WINDOW_SIGMA)
                   for source, key in zip(sources, kept_maps.image_keys(sources))]

    def strip_maps(rows, fused_strip, *source_strips):
        fused_stats = WindowStatistics(fused_strip, kernel)
        return tuple(ssim_map(_statistics(strip, kernel, kept, rows), fused_stats)
                     for strip, kept in zip(source_strips, moments))

    maps = valid_maps(strip_maps, [fused, *sources], WINDOW_SIZE, count=len(sources), with_rows=True)
    return [float(np.mean(ssim)) for ssim in maps]


def _statistics(strip: np.ndarray, kernel: np.ndarray, kept: np.ndarray | None, rows: slice) -> WindowStatistics:
    if kept is None:
        return WindowStatistics(strip, kernel)
    return WindowStatistics.from_maps(strip, kernel, kept[0, rows], kept[1, rows])


@register_metric(
    "SSIM-SUM", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, Image quality assessment: from error "
             "visibility to structural similarity, IEEE TIP 13 (4) (2004) 600-612",
    variant="SSIM(A,F) + SSIM(B,F), each the mean SSIM map (Gaussian 11x11, sigma 1.5, K1=0.01, K2=0.03, "
            "L=255, 'valid', no downsampling); range up to 2")
@accepts_uint8_grey
def ssim_sum(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """SSIM(A, F) + SSIM(B, F) with :func:`mean_ssim` (range [-2, 2]; 2 only if F = A = B).

    Both maps are computed in one pass over strips, sharing the fused image's statistics
    (:func:`mean_ssims`).
    """
    first, second = sources
    if second is first:
        first_score, = mean_ssims([first], fused)
        return first_score + first_score
    first_score, second_score = mean_ssims([first, second], fused)
    return first_score + second_score
