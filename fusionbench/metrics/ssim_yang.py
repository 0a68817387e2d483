"""ISSIM (Q_Y): Yang, Zhang, Wang & Liu's SSIM-based fusion metric (2008), with a defined flat-window rule."""
from __future__ import annotations

import numpy as np

from ..registry import register_metric
from .evaluation import accepts_uint8_grey
from .filtering import WindowStatistics, gaussian_kernel_1d, valid_maps

WINDOW_SIZE = 7
WINDOW_SIGMA = 1.5
#: metricYang.m's stabilising constants (C1 = C2 = 2e-16, i.e. essentially none).
C1 = 2e-16
C2 = 2e-16
#: Windows whose A-B similarity reaches this use the weighted rule, others the max rule.
SIMILARITY_THRESHOLD = 0.75
#: Local variances below this (grey levels^2) are rounding residue of E[x^2]-mu^2: set to 0.
FLAT_VARIANCE = 1e-6


class GuardedStatistics(WindowStatistics):
    """Gaussian 7x7 (sigma 1.5) window statistics with metricYang's flat-window guard applied:
    a local variance below 1e-6 is rounding residue of E[x^2]-mu^2 and becomes 0."""

    def __init__(self, image: np.ndarray, kernel: np.ndarray | None = None):
        super().__init__(image, gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA) if kernel is None else kernel)
        self.flat = self.variance < FLAT_VARIANCE
        np.putmask(self.variance, self.flat, 0.0)


def guarded_ssim_map(x: GuardedStatistics, y: GuardedStatistics) -> np.ndarray:
    """SSIM map of metricYang.m on the 'valid' grid.

    SSIM = ((2 mu_x mu_y + C1)(2 s_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)) with
    Gaussian (7x7, sigma 1.5) weighted population moments. Guard (the released code is undefined
    there): the covariance is 0 where either variance was zeroed as flat.
    """
    covariance = x.covariance(y)
    np.putmask(covariance, x.flat | y.flat, 0.0)
    return ((2.0 * x.mean * y.mean + C1) * (2.0 * covariance + C2)) / (
        (x.mean_square + y.mean_square + C1) * (x.variance + y.variance + C2))


@register_metric(
    "ISSIM", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, A novel similarity based quality metric for "
             "image fusion, Information Fusion 9 (2) (2008) 156-160",
    variant="metricYang.m (Gaussian 7x7, sigma 1.5, C1=C2=2e-16, threshold 0.75, valid map mean) "
            "with flat windows defined: variance < 1e-6 -> 0, lambda = 0.5 when both variances are 0")
@accepts_uint8_grey
def issim(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """Q_Y = mean over windows w of
    lambda_w SSIM(A,F|w) + (1-lambda_w) SSIM(B,F|w)  where SSIM(A,B|w) >= 0.75, else
    max(SSIM(A,F|w), SSIM(B,F|w)); lambda_w = s_A^2 / (s_A^2 + s_B^2), and 0.5 where both are 0.

    The released ``metricYang.m`` returns NaN or arbitrary ratios on flat windows (0/0 in lambda,
    floating-point residue against C = 2e-16); this implementation equals it to 10 digits wherever
    no window is flat, and is defined everywhere (a constant image pair scores 1 when all three
    images are equal and constant). The map is computed in strips (:func:`yang_score_map`).
    """
    first, second = sources
    kernel = gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA)
    score, = valid_maps(lambda *strips: (yang_score_map(*strips, kernel=kernel),),
                        [first, fused] if second is first else [first, fused, second], WINDOW_SIZE)
    return float(np.mean(score))


def yang_score_map(first: np.ndarray, fused: np.ndarray, second: np.ndarray | None = None, *,
                   kernel: np.ndarray) -> np.ndarray:
    """Per-window Q_Y of (a strip of) the images; ``second=None`` means the first source twice."""
    stats_first, stats_fused = GuardedStatistics(first, kernel), GuardedStatistics(fused, kernel)
    stats_second = stats_first if second is None else GuardedStatistics(second, kernel)
    similarity = guarded_ssim_map(stats_first, stats_second)
    ssim_first = guarded_ssim_map(stats_first, stats_fused)
    ssim_second = ssim_first if second is None else guarded_ssim_map(stats_second, stats_fused)
    var_first, var_second = stats_first.variance, stats_second.variance
    variance_sum = var_first + var_second
    weight = np.divide(var_first, variance_sum, out=np.full_like(variance_sum, 0.5), where=variance_sum > 0)
    weighted = weight * ssim_first + (1.0 - weight) * ssim_second
    return np.where(similarity >= SIMILARITY_THRESHOLD, weighted, np.maximum(ssim_first, ssim_second))
