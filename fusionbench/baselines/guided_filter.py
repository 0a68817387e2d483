"""He's guided filter with truncated border windows, as GFF's reference code uses it.

He, Sun, Tang, "Guided image filtering", ECCV 2010 / IEEE TPAMI 35(6) 2013. For guide ``I`` and
input ``p``, with window means over ``(2r+1) x (2r+1)`` boxes:

    a = cov(I, p) / (var(I) + eps),  b = mean(p) - a mean(I),  q = mean(a) I + mean(b).

The box filter is He's O(1) cumulative-sum ``boxfilter``: at the border the window is *truncated*
and the mean divides by the number of pixels actually inside (``N = boxfilter(ones)``), which is
not replicate or reflect padding. Here each box sum is one OpenCV ``boxFilter`` call with zero
padding. The guide's statistics (mean, variance, window counts) depend only on the guide and the
radius, so :class:`GuideStatistics` computes them once and serves any number of inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def box_sum(planes: np.ndarray, radius: int) -> np.ndarray:
    """Sum over the ``(2r+1)^2`` window truncated at the border (zero padding), per plane."""
    size = 2 * radius + 1
    summed = cv2.boxFilter(planes, cv2.CV_64F, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    if planes.ndim == 3 and summed.ndim == 2:
        summed = summed[:, :, None]
    return summed


@dataclass(frozen=True)
class GuideStatistics:
    """Window count, mean and variance of one grey guide (float64, ``H x W``) for one radius."""

    guide: np.ndarray
    radius: int
    count: np.ndarray
    mean: np.ndarray
    variance: np.ndarray

    @classmethod
    def of(cls, guide: np.ndarray, radius: int) -> "GuideStatistics":
        count = box_sum(np.ones_like(guide), radius)
        sums = box_sum(np.dstack([guide, guide * guide]), radius)
        mean = sums[:, :, 0] / count
        variance = sums[:, :, 1] / count - mean * mean
        return cls(guide, radius, count, mean, variance)

    def filter(self, values: np.ndarray, eps: float) -> np.ndarray:
        """Guided filter output ``q`` for input ``values`` (same size as the guide)."""
        sums = box_sum(np.dstack([values, self.guide * values]), self.radius)
        mean_values = sums[:, :, 0] / self.count
        covariance = sums[:, :, 1] / self.count - self.mean * mean_values
        slope = covariance / (self.variance + eps)
        offset = mean_values - slope * self.mean
        means = box_sum(np.dstack([slope, offset]), self.radius)
        return (means[:, :, 0] / self.count) * self.guide + means[:, :, 1] / self.count


def guided_filter(guide: np.ndarray, values: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """One-off guided filter (see :class:`GuideStatistics` to reuse the guide's statistics)."""
    return GuideStatistics.of(guide, radius).filter(values, eps)
