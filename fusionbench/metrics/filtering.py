"""Windowed filtering shared by the metrics: MATLAB ``fspecial``/``filter2`` semantics in float64.

Every window used by the reference code is separable (Gaussian or box), so filtering is two 1-D
passes with OpenCV (double-precision accumulation), which is what keeps all metrics of one image
pair well under the speed target. ``'valid'`` means MATLAB's ``filter2(w, x, 'valid')``: only the
positions where the whole window lies inside the image, an (M-K+1) x (N-K+1) result.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ..errors import MetricError


@lru_cache(maxsize=None)
def gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)`` (normalised to sum 1).

    The 2-D MATLAB window is the outer product of this vector with itself; ``fspecial`` also
    zeroes entries below ``eps * max``, which only touches weights below 1e-16 and is ignored.
    """
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    kernel = np.exp(-(offsets ** 2) / (2.0 * sigma * sigma))
    kernel /= kernel.sum()
    kernel.setflags(write=False)
    return kernel


def filter_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``filter2(outer(kernel, kernel), image, 'valid')`` for a symmetric 1-D ``kernel``."""
    size = kernel.shape[0]
    check_window_fits(image.shape, size)
    radius_low = (size - 1) // 2
    radius_high = size - 1 - radius_low
    filtered = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    return filtered[radius_low:image.shape[0] - radius_high, radius_low:image.shape[1] - radius_high]


def box_sum_valid(image: np.ndarray, size: int) -> np.ndarray:
    """Sum over every ``size`` x ``size`` window lying inside the image (the 'valid' grid).

    Computed with running sums (OpenCV's unnormalised box filter), so sums of integer (or
    dyadic) values are exact in float64.
    """
    check_window_fits(image.shape, size)
    low = (size - 1) // 2
    high = size - 1 - low
    sums = cv2.boxFilter(image, cv2.CV_64F, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return sums[low:image.shape[0] - high, low:image.shape[1] - high]


def check_window_fits(shape: tuple[int, ...], size: int) -> None:
    """Refuse images smaller than the window (the reference code would return an empty map)."""
    if shape[0] < size or shape[1] < size:
        raise MetricError(f"image of {shape[1]}x{shape[0]} pixels is smaller than the metric's "
                          f"{size}x{size} window")


class WindowStatistics:
    """Window-weighted mean and population variance of one image on the 'valid' grid.

    ``variance = E[x^2] - E[x]^2`` exactly as the reference codes form it (no clamping here; each
    metric applies its own guard). Computed once per image and shared by every pair it is in.
    """

    def __init__(self, image: np.ndarray, kernel: np.ndarray):
        self.image = image
        self.kernel = kernel
        self.mean = filter_valid(image, kernel)
        self.variance = filter_valid(image * image, kernel)
        self.variance -= self.mean * self.mean

    def covariance(self, other: "WindowStatistics") -> np.ndarray:
        """Window-weighted population covariance with another image's statistics."""
        covariance = filter_valid(self.image * other.image, self.kernel)
        covariance -= self.mean * other.mean
        return covariance


def local_moments(x: np.ndarray, y: np.ndarray, kernel: np.ndarray):
    """``(mu_x, mu_y, var_x, var_y, cov_xy)``: window-weighted moments on the 'valid' grid."""
    stats_x, stats_y = WindowStatistics(x, kernel), WindowStatistics(y, kernel)
    return stats_x.mean, stats_y.mean, stats_x.variance, stats_y.variance, stats_x.covariance(stats_y)
