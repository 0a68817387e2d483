"""ISSIM (Q_Y): Yang, Zhang, Wang & Liu's SSIM-based fusion metric (2008), with a defined flat-window rule."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..registry import register_metric
from . import kept_maps
from .evaluation import accepts_uint8_grey
from .filtering import WindowStatistics, exact_samples, filter_valid, gaussian_kernel_1d, valid_maps

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

    @classmethod
    def from_kept(cls, image: np.ndarray, kernel: np.ndarray, mean: np.ndarray,
                  guarded_variance: np.ndarray) -> "GuardedStatistics":
        """Statistics from a kept mean and guarded variance: flat where the variance was zeroed
        (a guarded variance is 0 or at least 1e-6, so ``< 1e-6`` finds the same windows)."""
        statistics = cls.from_maps(image, kernel, mean, guarded_variance)
        statistics.flat = guarded_variance < FLAT_VARIANCE
        return statistics


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
    images are equal and constant). The map is computed in strips (:func:`kept_score_map`, the
    compiled form of :func:`yang_score_map`); the sources' parts of images up to
    :data:`~fusionbench.metrics.kept_maps.KEPT_PIXELS` are kept for the item's other fused
    images (:func:`source_maps`).
    """
    first, second = sources
    kernel = gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA)
    distinct = [first] if second is first else [first, second]
    kept = source_maps(distinct) if kept_maps.worth_keeping(fused.shape) else None

    def strip_scores(rows, fused_strip, *source_strips):
        maps = source_strip_maps(source_strips, kernel) if kept is None else [part[..., rows, :] for part in kept]
        return (kept_score_map(source_strips, fused_strip, maps, kernel),)

    score, = valid_maps(strip_scores, [fused, *distinct], WINDOW_SIZE, with_rows=True)
    return float(np.mean(score))


def source_maps(sources: list[np.ndarray]) -> list[np.ndarray]:
    """The sources' part of Q_Y, kept by content for the item's other fused images
    (:mod:`~fusionbench.metrics.kept_maps`): each source's guarded mean and variance ``(2, rows,
    columns)``, then for two sources their :func:`weighting_rule` map (from the kept moments)."""
    kernel = gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA)
    keys = kept_maps.image_keys(sources)
    maps = [kept_maps.kept("ssim_yang.moments", (key,), lambda source=source: kept_maps.whole_valid_maps(
        lambda strip: _moments(GuardedStatistics(strip, kernel)), [source], WINDOW_SIZE, 2))
        for source, key in zip(sources, keys)]
    if len(sources) == 2:
        maps.append(kept_maps.kept("ssim_yang.weighting_rule", keys,
                                   lambda: weighting_rule(sources, maps, kernel)))
    return maps


def source_strip_maps(sources: tuple[np.ndarray, ...], kernel: np.ndarray) -> list[np.ndarray]:
    """:func:`source_maps` of a strip of the sources, not kept (large images)."""
    maps = [np.stack(_moments(GuardedStatistics(source, kernel))) for source in sources]
    return maps + [weighting_rule(sources, maps, kernel)] if len(sources) == 2 else maps


def _moments(statistics: GuardedStatistics) -> tuple[np.ndarray, np.ndarray]:
    return statistics.mean, statistics.variance


def pair_maps(first: GuardedStatistics, second: GuardedStatistics) -> tuple[np.ndarray, np.ndarray]:
    """The fused image's part of Q_Y that depends on the sources alone: SSIM(A, B) and
    lambda = s_A^2 / (s_A^2 + s_B^2) (0.5 where both are 0)."""
    similarity = guarded_ssim_map(first, second)
    var_first, var_second = first.variance, second.variance
    variance_sum = var_first + var_second
    weight = np.divide(var_first, variance_sum, out=np.full_like(variance_sum, 0.5), where=variance_sum > 0)
    return similarity, weight


def weighting_rule(sources: Sequence[np.ndarray], moments: list[np.ndarray], kernel: np.ndarray) -> np.ndarray:
    """lambda (0..1) where SSIM(A, B) >= 0.75 (the weighted rule applies), -1 elsewhere (the max
    rule): the sources' part of Q_Y in one map, from their guarded ``moments`` (mean, variance),
    by the compiled :func:`~fusionbench.metrics.window_kernels.yang_rule` (:func:`pair_maps`'
    operations)."""
    from . import window_kernels  # Numba: imported on first use

    product = filter_valid(exact_samples(sources[0]) * exact_samples(sources[1]), kernel)
    rule = np.empty_like(product)
    window_kernels.yang_rule(moments[0][0], moments[0][1], moments[1][0], moments[1][1], product, FLAT_VARIANCE,
                             SIMILARITY_THRESHOLD, C1, C2, rule)
    return rule


def kept_score_map(sources: tuple[np.ndarray, ...], fused: np.ndarray, kept: list[np.ndarray],
                   kernel: np.ndarray) -> np.ndarray:
    """:func:`yang_score_map` of a strip from the sources' kept maps (:func:`source_maps`, on the
    strip's rows), by the compiled :func:`~fusionbench.metrics.window_kernels.yang_score`: the
    same operations on the same values."""
    from . import window_kernels  # Numba: imported on first use

    fused_stats = GuardedStatistics(fused, kernel)
    products = [filter_valid(exact_samples(source) * fused_stats.image, kernel) for source in sources]
    if len(sources) == 1:  # A = B: lambda = 0.5 and both rules give SSIM(A, F) exactly
        kept, products = kept + [kept[0], np.full(kept[0].shape[1:], 0.5)], products * 2
    out = np.empty_like(fused_stats.mean)
    window_kernels.yang_score(kept[0][0], kept[0][1], products[0], kept[1][0], kept[1][1], products[1],
                              fused_stats.mean, fused_stats.variance, kept[2], FLAT_VARIANCE, C1, C2, out)
    return out


def combined_score(similar: np.ndarray, ssim_first: np.ndarray, ssim_second: np.ndarray,
                   weight: np.ndarray) -> np.ndarray:
    """lambda SSIM(A,F) + (1 - lambda) SSIM(B,F) where the sources are ``similar``
    (SSIM(A,B) >= 0.75), else the larger SSIM."""
    weighted = weight * ssim_first + (1.0 - weight) * ssim_second
    return np.where(similar, weighted, np.maximum(ssim_first, ssim_second))


def yang_score_map(first: np.ndarray, fused: np.ndarray, second: np.ndarray | None = None, *,
                   kernel: np.ndarray) -> np.ndarray:
    """Per-window Q_Y of (a strip of) the images; ``second=None`` means the first source twice.
    The readable NumPy form of what :func:`kept_score_map` computes by compiled kernels (a test
    holds them equal bit for bit)."""
    stats_first, stats_fused = GuardedStatistics(first, kernel), GuardedStatistics(fused, kernel)
    stats_second = stats_first if second is None else GuardedStatistics(second, kernel)
    similarity, weight = pair_maps(stats_first, stats_second)
    ssim_first = guarded_ssim_map(stats_first, stats_fused)
    ssim_second = ssim_first if second is None else guarded_ssim_map(stats_second, stats_fused)
    return combined_score(similarity >= SIMILARITY_THRESHOLD, ssim_first, ssim_second, weight)
