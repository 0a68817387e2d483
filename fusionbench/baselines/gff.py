"""Guided-filtering fusion (``gff``): Li, Kang, Hu, "Image fusion with guided filtering", IEEE TIP 22(7) 2013.

The steps and constants of the authors' MATLAB code (defaults r1 = 45, eps1 = 0.3, r2 = 7,
eps2 = 1e-6), for N >= 2 sources fused at once:

1. grey ``g_n`` of each source: MATLAB ``rgb2gray`` rounded to uint8 (grey sources as they are);
2. saliency ``S_n = Gauss_{11x11, sigma 5} * |Laplacian * (g_n / 255)|`` (kernel ``[0 1 0; 1 -4 1; 0 1 0]``,
   both filters with replicated borders), then ``S_n + 1e-12`` normalised over n;
3. initial weights ``P_n = 1`` where ``S_n`` is the largest (ties go to the first source), else 0;
4. refined weights ``W_n = GF(guide g_n / 255, P_n, r, eps)`` (:mod:`.guided_filter`, truncated
   windows), **quantised as uint8(W_n * 255) / 255** (which also clips them to [0, 1]), ``+ 1e-12``
   and normalised over n — once with (r1, eps1) for the base layer, once with (r2, eps2) for detail;
5. two-scale split of each source ``I_n / 255`` (all colour channels): base ``B_n`` = 31x31 mean
   filter with replicated borders, detail ``D_n = I_n - B_n``;
6. ``F = sum_n W^B_n B_n + W^D_n D_n`` with the same weight maps for every colour channel;
   output ``uint8(F * 255)`` (round half away from zero, saturate).

Images smaller than ``2 r + 1`` pixels on a side are refused, as the reference's box filter
cannot handle them either.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import ConfigError, InputMismatchError
from ..families import FAMILIES
from ..image_io import rgb_to_grey
from ..registry import register_algorithm
from .guided_filter import GuideStatistics, window_counts

LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
SALIENCY_SIZE, SALIENCY_SIGMA = 11, 5.0
BASE_SIZE = 31
DEFAULTS = {"r1": 45, "eps1": 0.3, "r2": 7, "eps2": 1e-6}


def gaussian_taps(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)`` (normalised to sum 1)."""
    offsets = np.arange(size) - (size - 1) / 2.0
    taps = np.exp(-(offsets * offsets) / (2.0 * sigma * sigma))
    return taps / taps.sum()


def saliency(greys: list[np.ndarray]) -> list[np.ndarray]:
    """Normalised saliency maps of uint8 grey sources (one float64 map per source)."""
    taps = gaussian_taps(SALIENCY_SIZE, SALIENCY_SIGMA)
    maps = []
    for grey in greys:
        detail = np.abs(cv2.filter2D(grey / 255.0, cv2.CV_64F, LAPLACIAN, borderType=cv2.BORDER_REPLICATE))
        smoothed = cv2.sepFilter2D(detail, cv2.CV_64F, taps, taps, borderType=cv2.BORDER_REPLICATE)
        smoothed += 1e-12
        maps.append(smoothed)
    return _normalised(maps)


def _normalised(maps: list[np.ndarray]) -> list[np.ndarray]:
    total = maps[0].copy()
    for other in maps[1:]:
        total += other
    return [weights / total for weights in maps]


def initial_weights(saliency_maps: list[np.ndarray]) -> list[np.ndarray]:
    """One-hot arg-max maps over sources (float64); ties go to the first source."""
    best = saliency_maps[0]
    winner = np.zeros(best.shape, np.intp)
    for n, candidate in enumerate(saliency_maps[1:], start=1):
        better = candidate > best  # strictly greater: an equal later source does not take over
        winner[better] = n
        best = np.where(better, candidate, best)
    return [(winner == n).astype(np.float64) for n in range(len(saliency_maps))]


def refined_weights(guides: list[GuideStatistics], initial: list[np.ndarray], eps: float) -> list[np.ndarray]:
    """Guided-filtered weights, quantised to uint8 levels, ``+1e-12`` and normalised over sources."""
    quantised = []
    for guide, weights in zip(guides, initial):
        filtered = guide.filter(weights, eps)
        filtered *= 255.0
        filtered += 0.5
        np.floor(filtered, out=filtered)
        np.clip(filtered, 0.0, 255.0, out=filtered)
        filtered /= 255.0
        filtered += 1e-12
        quantised.append(filtered)
    return _normalised(quantised)


def two_scale(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Base (31x31 mean, replicated borders) and detail layers of one uint8 plane, scaled to 0..1."""
    scaled = plane / 255.0
    base = cv2.blur(scaled, (BASE_SIZE, BASE_SIZE), borderType=cv2.BORDER_REPLICATE)
    scaled -= base
    return base, scaled


@register_algorithm("gff", families=FAMILIES, min_inputs=2, max_inputs=None, colour="any", version="1",
                    citation="Li, Kang, Hu, IEEE TIP 22(7) 2013",
                    summary="guided-filtering fusion, two-scale, authors' defaults r1=45 eps1=0.3 r2=7 eps2=1e-6")
def fuse(images: list[np.ndarray], r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6) -> np.ndarray:
    """GFF of N >= 2 uint8 sources (grey or RGB) at once, as the authors' code (see module docstring)."""
    r1, r2, eps1, eps2 = int(r1), int(r2), float(eps1), float(eps2)
    if r1 < 1 or r2 < 1 or eps1 <= 0 or eps2 <= 0:
        raise ConfigError(f"gff needs radii >= 1 and eps > 0, got r1={r1}, eps1={eps1}, r2={r2}, eps2={eps2}")
    rows, columns = images[0].shape[:2]
    largest = max(r1, r2)
    if min(rows, columns) < 2 * largest + 1:
        # He's cumulative-sum box filter (used by the reference) indexes 2r+1 rows and columns.
        raise InputMismatchError(
            f"image of {columns}x{rows} pixels is too small for gff's guided filter radius {largest} "
            f"(each side needs at least {2 * largest + 1} pixels; pass a smaller --option r1=...)")
    greys = [rgb_to_grey(image) for image in images]
    initial = initial_weights(saliency(greys))
    guides = [grey / 255.0 for grey in greys]
    counts = {radius: window_counts(guides[0].shape, radius) for radius in {r1, r2}}
    base_weights = refined_weights([GuideStatistics.of(g, r1, counts[r1]) for g in guides], initial, eps1)
    detail_weights = refined_weights([GuideStatistics.of(g, r2, counts[r2]) for g in guides], initial, eps2)
    channels = 1 if images[0].ndim == 2 else images[0].shape[2]
    fused_channels = []
    for channel in range(channels):
        # Summation order of the reference: all base terms, all detail terms, then their sum.
        fused_base, fused_detail = None, None
        for n, image in enumerate(images):
            base, detail = two_scale(image if channels == 1 else image[:, :, channel])
            base *= base_weights[n]
            detail *= detail_weights[n]
            fused_base = base if fused_base is None else fused_base + base
            fused_detail = detail if fused_detail is None else fused_detail + detail
        fused = fused_base + fused_detail
        fused *= 255.0
        fused += 0.5
        fused_channels.append(np.clip(np.floor(fused), 0, 255).astype(np.uint8))
    return fused_channels[0] if channels == 1 else np.dstack(fused_channels)
