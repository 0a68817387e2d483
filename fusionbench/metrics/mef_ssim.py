"""MEF-SSIM: Ma, Zeng & Wang's structural similarity for multi-exposure fusion (2015), multi-scale."""
from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Sequence

import cv2
import numpy as np

from ..errors import MetricError
from ..registry import register_metric
from . import kept_maps
from .evaluation import accepts_uint8_grey
from .filtering import box_sum_valid, exact_samples, filter_valid, gaussian_kernel_1d, valid_maps

WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
SCALE_WEIGHTS = np.array([0.0448, 0.2856, 0.3001]) / (0.0448 + 0.2856 + 0.3001)
STABILITY = (0.03 * 255.0) ** 2  # C = (K L)^2 with K = 0.03, L = 255: 58.5225
SIGNAL_OFFSET = 0.001  # added to every signal strength to avoid 0/0
MAX_EXPONENT = 10.0  # p = min(tan(pi R / 2), 10)
EPS = float(np.finfo(np.float64).eps)
#: Angles pi R / 2 at or above this have tan > 10 (atan(10) = 1.4711, plus a margin of 1e-9).
TANGENT_LIMIT = math.atan(MAX_EXPONENT) + 1e-9


def downsample(image: np.ndarray) -> np.ndarray:
    """Mean of each 2x2 block whose top-left is the pixel (last row/column replicated), then every
    other row and column starting with the first: ceil(M/2) x ceil(N/2), not rounded (float64).
    Grey levels (uint8) are summed as uint16: exact, as in float64."""
    rows, columns = -(-image.shape[0] // 2), -(-image.shape[1] // 2)
    padded = np.pad(image, ((0, 1), (0, 1)), mode="edge")
    if padded.dtype == np.uint8:
        padded = padded.astype(np.uint16)
    # Only the kept positions are averaged: top-left corners at even (0-based) rows and columns.
    top, bottom = padded[0:2 * rows:2], padded[1:2 * rows + 1:2]
    return (top[:, 0:2 * columns:2] + bottom[:, 0:2 * columns:2]
            + top[:, 1:2 * columns + 1:2] + bottom[:, 1:2 * columns + 1:2]) / 4.0


def single_scale_quality(stack: list[np.ndarray], fused: np.ndarray, keys: list[tuple] | None = None) -> float:
    """Mean MEF-SSIM quality map of one scale (``mef_ssim.m``) over the 'valid' grid of the 11x11
    window, computed in strips (:func:`quality_map`).

    The stack's part (:func:`desired_patches`) depends on the exposures alone: with ``keys`` (per
    exposure, what names this scale of it: see :func:`mef_ssim`) it is computed for the whole
    scale once and kept (:mod:`~fusionbench.metrics.kept_maps`), the exposures' Gaussian window
    means shared with SSIM-SUM, so the other fused images of the item only pay for
    :func:`fused_quality`.
    """
    count = len(stack)
    kept = None
    if keys is not None:
        desired = kept_maps.kept("mef_ssim.desired_patches", tuple(keys), lambda: kept_maps.whole_valid_maps(
            lambda *strips: _without_means(desired_patches(*strips)), stack, WINDOW_SIZE, count=count + 1))
        means = [kept_maps.window_moments(image, key, WINDOW_SIZE, WINDOW_SIGMA)[0] for image, key in zip(stack, keys)]
        kept = [*desired[:count], *means, desired[count]]

    def strip_quality(rows, *strips):
        parts = desired_patches(*strips[:-1]) if kept is None else [part[rows] for part in kept]
        return (fused_quality(strips[:-1], strips[-1], parts),)

    quality, = valid_maps(strip_quality, [*stack, fused], WINDOW_SIZE, with_rows=True)
    return float(np.mean(quality))


def _without_means(desired: list[np.ndarray]) -> list[np.ndarray]:
    count = (len(desired) - 1) // 2
    return [*desired[:count], desired[-1]]


def quality_map(stack: list[np.ndarray], fused: np.ndarray) -> np.ndarray:
    """MEF-SSIM quality per 11x11 window of (a strip of) one scale, vectorised over the 'valid' grid.

    For each 11x11 window with box means mu_k and signal strengths ed_k = ||x_k - mu_k|| + 0.001:
    consistency R = (||sum_k (x_k-mu_k)|| + eps) / (sum_k ||x_k-mu_k|| + eps) clipped into (0, 1);
    p = min(tan(pi R / 2), 10); w_k = (ed_k/11)^p + eps normalised; desired patch
    r = sum_k w_k (x_k - mu_k)/ed_k rescaled to norm max_k ed_k (when non-zero); score
    (2 s_rf + C) / (s_r^2 + s_f^2 + C) with Gaussian (sigma 1.5) weighted moments, C = 58.5225.
    Because r is linear in the exposures with per-window coefficients a_k, its norms and moments
    follow from the pairwise box and Gaussian covariances of the exposures, so no window loop is
    needed: :func:`desired_patches` (the stack alone), then :func:`fused_quality`.
    """
    return fused_quality(stack, fused, desired_patches(*stack))


def desired_patches(*stack: np.ndarray) -> list[np.ndarray]:
    """The desired patch of every window of (a strip of) one scale, as maps of the stack alone:
    ``[a_1..a_K, mu_1..mu_K, s_r^2]``: the coefficients a_k of r = sum_k a_k (x_k - mu_k) (box
    statistics, see :func:`quality_map`), the exposures' Gaussian window means mu_k and the
    Gaussian-weighted variance s_r^2 = sum_kl a_k a_l cov(x_k, x_l) of the desired patch.

    The per-window formulas run in compiled passes (:mod:`~fusionbench.metrics.window_kernels`:
    NumPy's operations in order), the tangent and power vectorised in between
    (:func:`consistency_exponent`, :func:`power`)."""
    from . import window_kernels  # Numba: imported on first use

    stack = [exact_samples(image) for image in stack]
    pairs = np.array(list(itertools.combinations_with_replacement(range(len(stack)), 2)), dtype=np.intp)
    products = [stack[k] * stack[l] for k, l in pairs]  # shared by box and Gaussian moments
    coefficients = patch_coefficients(stack, products, pairs)
    kernel = gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA)
    # Stacked (contiguous) maps: the kernels' row loops vectorise.
    means = np.stack([filter_valid(image, kernel) for image in stack])
    desired_var = np.empty(means.shape[1:])
    window_kernels.mef_desired_variance(coefficients, np.stack([filter_valid(product, kernel) for product in products]),
                                        means, pairs, desired_var)
    return [*coefficients, *means, desired_var]


def patch_coefficients(stack: list[np.ndarray], products: list[np.ndarray], pairs: np.ndarray) -> np.ndarray:
    """Per window, the coefficients a_k of the desired patch r = sum_k a_k (x_k - mu_k), ``(K,
    rows, columns)`` (box statistics of the 11x11 window; ``products[p]`` = x_k x_l for the p-th
    pair k <= l): the weights w_k / sum w / ed_k rescaled so that ||r|| = max_k ed_k (see
    :func:`quality_map`)."""
    from . import window_kernels

    box_sums = np.stack([box_sum_valid(image, WINDOW_SIZE) for image in stack])
    box_products = np.stack([box_sum_valid(product, WINDOW_SIZE) for product in products])
    scatter, strengths = np.empty(box_products.shape), np.empty(box_sums.shape)
    angle = np.empty(box_sums.shape[1:])
    window_kernels.mef_consistency(box_sums, box_products, pairs, float(WINDOW_SIZE * WINDOW_SIZE), SIGNAL_OFFSET,
                                   EPS, scatter, strengths, angle)
    powers = power(strengths / WINDOW_SIZE, consistency_exponent(angle))
    coefficients = np.empty(strengths.shape)
    window_kernels.mef_coefficients(powers, strengths, scatter, pairs, EPS, coefficients)
    return coefficients


def consistency_exponent(angle: np.ndarray) -> np.ndarray:
    """p = min(tan(angle), 10) for the angles pi R / 2. The tangent is only evaluated below
    atan(10) (plus a margin far above its rounding): above, tan exceeds 10 and p is 10 whatever
    it returns."""
    exponent = np.full_like(angle, MAX_EXPONENT)
    np.tan(angle, out=exponent, where=angle < TANGENT_LIMIT)
    return np.minimum(exponent, MAX_EXPONENT, out=exponent)


def power(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """base ** exponent for base > 0 as exp(exponent log base) with OpenCV's vectorised exp and
    log (5x faster than NumPy's pow here); ``exponent`` broadcasts against ``base``. Relative error
    below 1e-14 for the exponents 0..10 and bases 1e-4..1e3 of MEF-SSIM's weights, against pow's
    1 ulp."""
    logarithm = cv2.log(base.reshape(-1, base.shape[-1])).reshape(base.shape)  # OpenCV takes 2-D
    logarithm *= exponent
    return cv2.exp(logarithm.reshape(-1, base.shape[-1])).reshape(base.shape)


def fused_quality(stack: Sequence[np.ndarray], fused: np.ndarray, desired: Sequence[np.ndarray]) -> np.ndarray:
    """(2 s_rf + C) / (s_r^2 + s_f^2 + C) per window of (a strip of) one scale, from the stack's
    :func:`desired_patches` ``desired``: s_rf = sum_k a_k cov(x_k, f) with Gaussian moments."""
    count = len(stack)
    coefficients, means, desired_var = desired[:count], desired[count:2 * count], desired[2 * count]
    from . import window_kernels  # Numba: imported on first use

    kernel = gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA)
    fused = exact_samples(fused)
    fused_mean = filter_valid(fused, kernel)
    cross = np.zeros_like(fused_mean)
    for k in range(count):
        window_kernels.add_cross_term(cross, coefficients[k], filter_valid(exact_samples(stack[k]) * fused, kernel),
                                      means[k], fused_mean)
    quality = np.empty_like(fused_mean)
    window_kernels.mef_quality(cross, desired_var, filter_valid(fused * fused, kernel), fused_mean, STABILITY, quality)
    return quality


@register_metric(
    "MEF-SSIM", higher_is_better=True, sources=None, colour="grey", version="1",
    citation="K. Ma, K. Zeng, Z. Wang, Perceptual quality assessment for multi-exposure image fusion, "
             "IEEE Transactions on Image Processing 24 (11) (2015) 3345-3356",
    variant="mef_ms_ssim.m defaults on grey 0..255: 3 scales, weights [0.0448 0.2856 0.3001] "
            "renormalised, Gaussian 11x11 sigma 1.5, C=(0.03*255)^2; does NOT reproduce the IFCNN paper")
@accepts_uint8_grey
def mef_ssim(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """Overall multi-scale MEF-SSIM = prod_l Q_l^(w_l), w = [0.0448, 0.2856, 0.3001] / 0.6305.

    Q_l is :func:`single_scale_quality` of scale l; between scales every image is replaced by
    :func:`downsample`. Input: the grey of every source of the stack (N >= 2) and of the fused
    image, values 0..255. The image's shorter side must be at least 44 pixels (the reference
    returns -Inf there; we refuse). Matches ``mef_ms_ssim.m`` value for value, but **does not
    reproduce the IFCNN paper's MEF-SSIM column** (+4.1% on GFF; about 90 input/constant variants
    were tried by the project, none within 0.1%): do not expect the paper's numbers from it.
    A constant image stack and fused image score 1; when any scale score is negative the
    overall score is defined as 0. The stack's desired patches of images up to
    :data:`~fusionbench.metrics.kept_maps.KEPT_PIXELS` are kept for the item's other fused images.
    """
    if len(sources) < 2:
        raise MetricError(f"MEF-SSIM compares the fused image with a stack of at least 2 sources, "
                          f"got {len(sources)}")
    shorter = min(fused.shape[:2])
    minimum = WINDOW_SIZE * 2 ** (len(SCALE_WEIGHTS) - 1)
    if shorter < minimum:
        raise MetricError(f"MEF-SSIM needs images at least {minimum} pixels on the shorter side, "
                          f"got {fused.shape[1]}x{fused.shape[0]}")
    stack = list(sources)
    keys = kept_maps.image_keys(stack) if kept_maps.worth_keeping(fused.shape) else None
    scores = []
    for level in range(len(SCALE_WEIGHTS)):
        # Scale 1 of an exposure is named by its content key, scale l by the key and l (with the
        # same kind, SSIM-SUM's window moments of the sources are the same entries).
        level_keys = None if keys is None else [(key,) if level == 0 else (key, "mef_ssim", level) for key in keys]
        if level > 0:
            stack = [downsample(image) for image in stack] if keys is None else [
                kept_maps.kept("mef_ssim.downsampled", level_key, partial(downsample, image))
                for image, level_key in zip(stack, level_keys)]
            fused = downsample(fused)
        scores.append(single_scale_quality(stack, fused, level_keys))
    # A scale score can be negative (structure anti-correlated with the desired patches); its
    # fractional power is not real (MATLAB returns a complex number). Defined here: such a scale
    # counts as 0, so the overall score is 0 (no structural fidelity).
    scores = np.maximum(np.array(scores), 0.0)
    return float(np.prod(scores ** SCALE_WEIGHTS))
