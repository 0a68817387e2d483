"""Pixel-difference cores of metric dialects: VIFB's error term and the PSNR formed from it.

These are not registered metrics; :mod:`fusionbench.metrics.dialects` combines them per source
and per colour plane as a dialect prescribes.
"""
from __future__ import annotations

import numpy as np

#: Peak value of 8-bit images (2^8 - 1).
PEAK = 255.0


def root_sum_squared_error(x: np.ndarray, y: np.ndarray) -> float:
    """E(X, Y) = sqrt(sum (X - Y)^2) / (M N): the root of the summed squared differences divided
    by the pixel count (not a mean squared error: for M N pixels it is RMSE / sqrt(M N)).

    The error VIFB's ``metricsRmse.m`` and ``metricsPsnr.m`` compute (after P. Jagalingam,
    A. V. Hegde, A review of quality metrics for fused image, Aquatic Procedia 4 (2015) 133-142),
    so on 0..255 data its values are about 0.04..0.3. Differences are exact for integer input.
    """
    if x.dtype == np.uint8 and y.dtype == np.uint8 and x.ndim == 2:  # exact integers: an int64 sum
        from .level_counts_kernel import squared_difference_sum  # Numba: imported on first use

        return float(np.sqrt(float(squared_difference_sum(x, y))) / x.size)
    if x.dtype == np.uint8 and y.dtype == np.uint8:
        difference = np.subtract(x, y, dtype=np.int16)
        return float(np.sqrt(float(np.sum(np.square(difference, dtype=np.int32), dtype=np.int64))) / difference.size)
    difference = np.subtract(x, y, dtype=np.float64)
    return float(np.sqrt(np.sum(difference * difference)) / difference.size)


def psnr_from_error(error: float, peak: float = PEAK) -> float:
    """PSNR = 20 log10(peak / sqrt(error)), with ``error`` the (combined) error term in place of
    the mean squared error, as VIFB's ``metricsPsnr.m`` forms it; infinite for error 0."""
    if error == 0:
        return float("inf")
    return float(20.0 * np.log10(peak / np.sqrt(error)))
