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


def box_sum(plane: np.ndarray, radius: int) -> np.ndarray:
    """Sum over the ``(2r+1)^2`` window truncated at the border (zero padding) of a float64 plane."""
    size = 2 * radius + 1
    return cv2.boxFilter(plane, cv2.CV_64F, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)


def window_counts(shape: tuple[int, int], radius: int) -> np.ndarray:
    """Pixels inside each truncated ``(2r+1)^2`` window: the product of the row and column counts."""
    def counts(length: int) -> np.ndarray:
        index = np.arange(length)
        return (np.minimum(index + radius, length - 1) - np.maximum(index - radius, 0) + 1).astype(np.float64)

    return np.outer(counts(shape[0]), counts(shape[1]))


@dataclass(frozen=True)
class GuideStatistics:
    """Window count, mean and variance of one grey guide (float64, ``H x W``) for one radius."""

    guide: np.ndarray
    radius: int
    count: np.ndarray
    mean: np.ndarray
    variance: np.ndarray

    @classmethod
    def of(cls, guide: np.ndarray, radius: int, count: np.ndarray | None = None) -> "GuideStatistics":
        count = window_counts(guide.shape, radius) if count is None else count
        mean = box_sum(guide, radius) / count
        variance = box_sum(guide * guide, radius) / count
        variance -= mean * mean
        return cls(guide, radius, count, mean, variance)

    def filter(self, values: np.ndarray, eps: float) -> np.ndarray:
        """Guided filter output ``q`` for input ``values`` (same size as the guide)."""
        mean_values = box_sum(values, self.radius) / self.count
        slope = box_sum(self.guide * values, self.radius) / self.count
        slope -= self.mean * mean_values  # covariance
        slope /= self.variance + eps
        mean_values -= slope * self.mean  # offset b
        output = box_sum(slope, self.radius) / self.count
        output *= self.guide
        output += box_sum(mean_values, self.radius) / self.count
        return output


def guided_filter(guide: np.ndarray, values: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """One-off guided filter (see :class:`GuideStatistics` to reuse the guide's statistics)."""
    return GuideStatistics.of(guide, radius).filter(values, eps)
