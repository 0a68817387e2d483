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

Images over ``strips.WHOLE_IMAGE_PIXELS`` (1 MP) are fused in row strips with the same operations in
the same order (:func:`_fuse_in_strips`, bit-identical output): peak memory ~15-20 bytes per source
pixel instead of ~150 (random 2000x2000 colour pair: 152 -> 21 B/px; 4000x4000: 15 B/px).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import ConfigError, InputMismatchError
from ..families import FAMILIES
from ..image_io import rgb_to_grey
from ..registry import register_algorithm
from .guided_filter import GuideStatistics, window_counts
from . import strips
from .strips import RunningBoxSum, row_pass, row_strips, strip_rows, use_strips

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
    winner = winners(saliency_maps)
    return [(winner == n).astype(np.float64) for n in range(len(saliency_maps))]


def winners(saliency_maps: list[np.ndarray], dtype=np.intp) -> np.ndarray:
    """Index of the source with the largest saliency per pixel; ties go to the first source."""
    best = saliency_maps[0]
    winner = np.zeros(best.shape, dtype)
    for n, candidate in enumerate(saliency_maps[1:], start=1):
        better = candidate > best  # strictly greater: an equal later source does not take over
        winner[better] = n
        best = np.where(better, candidate, best)
    return winner


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
    if use_strips(images[0].shape):
        return _fuse_in_strips(images, r1, eps1, r2, eps2)
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


# --- The same arithmetic on large images, in row strips (see :mod:`.strips`) ---------------------------
#
# Whole-image arrays kept: the grey sources (uint8), the arg-max source per pixel (uint8), the quantised
# weight levels ``uint8(W * 255)`` of every source for both radii (float16, which holds 0..255 and a NaN
# exactly) and the output. Saliency is computed in strips with a halo (pointwise filters); the guided
# filters and the 31x31 mean, which are box filters, stream their rows through :class:`RunningBoxSum`.

SALIENCY_REACH = 1 + SALIENCY_SIZE // 2  # Laplacian 3x3, then Gaussian 11x11


def _fuse_in_strips(images: list[np.ndarray], r1: int, eps1: float, r2: int, eps2: float) -> np.ndarray:
    rows, columns = images[0].shape[:2]
    chunk = strip_rows(columns, pixels=strips.CHUNK_PIXELS)
    greys = []
    for image in images:
        if image.ndim == 2:
            greys.append(image)
            continue
        grey = np.empty((rows, columns), np.uint8)
        for start, stop, _, _ in row_strips(rows, chunk):
            grey[start:stop] = rgb_to_grey(image[start:stop])
        greys.append(grey)
    winner = _winners_in_strips(greys, chunk)
    base_levels = _quantised_guided_filters(greys, winner, r1, eps1, chunk)
    detail_levels = _quantised_guided_filters(greys, winner, r2, eps2, chunk)
    del winner
    return _combine_in_strips(images, base_levels, detail_levels, chunk)


def _winners_in_strips(greys: list[np.ndarray], chunk: int) -> np.ndarray:
    """:func:`winners` of :func:`saliency`, strip by strip (uint8 for up to 256 sources)."""
    rows = greys[0].shape[0]
    dtype = np.uint8 if len(greys) <= 256 else np.intp
    winner = np.empty(greys[0].shape, dtype)
    for start, stop, low, high in row_strips(rows, chunk, SALIENCY_REACH):
        maps = saliency([grey[low:high] for grey in greys])
        winner[start:stop] = winners([weights[start - low:stop - low] for weights in maps], dtype)
    return winner


def _window_counts_1d(length: int, radius: int) -> np.ndarray:
    index = np.arange(length)
    return (np.minimum(index + radius, length - 1) - np.maximum(index - radius, 0) + 1).astype(np.float64)


def _box_rows(planes: np.ndarray, size: int, border: int) -> np.ndarray:
    """:func:`row_pass` of ``rows x P x W`` planes (one OpenCV call: a row never mixes with another)."""
    rows, count, columns = planes.shape
    return row_pass(planes.reshape(rows * count, columns), size, border).reshape(rows, count, columns)


def _quantised_guided_filters(greys: list[np.ndarray], winner: np.ndarray, radius: int, eps: float,
                              chunk: int) -> list[np.ndarray]:
    """``floor(GF(g_n / 255, winner == n) * 255 + 0.5)`` clipped to 0..255 as :func:`refined_weights`
    quantises it, for every source ``n`` (float16 maps, which hold those integers and NaN exactly)."""
    rows, columns = greys[0].shape
    sources = len(greys)
    size = 2 * radius + 1
    row_counts, column_counts = _window_counts_1d(rows, radius), _window_counts_1d(columns, radius)
    # Box sums of guide, guide^2, input and guide*input per source, then of slope and offset per source.
    first = RunningBoxSum(rows, radius, cv2.BORDER_CONSTANT)
    second = RunningBoxSum(rows, radius, cv2.BORDER_CONSTANT)
    quantised = [np.empty((rows, columns), np.float16) for _ in greys]
    for start, stop, _, _ in row_strips(rows, chunk):
        planes = np.empty((stop - start, 4 * sources, columns))
        for n, grey in enumerate(greys):
            guide = grey[start:stop] / 255.0
            planes[:, 4 * n] = guide
            np.multiply(guide, guide, out=planes[:, 4 * n + 1])
            values = (winner[start:stop] == n).astype(np.float64)
            planes[:, 4 * n + 2] = values
            np.multiply(guide, values, out=planes[:, 4 * n + 3])
        done = first.emitted
        sums = first.push(_box_rows(planes, size, cv2.BORDER_CONSTANT))
        del planes
        if len(sums) == 0:
            continue
        count = np.outer(row_counts[done:done + len(sums)], column_counts)
        coefficients = np.empty((len(sums), 2 * sources, columns))
        for n in range(sources):
            # GuideStatistics.of, then GuideStatistics.filter up to the second box sums, operation for operation.
            mean = sums[:, 4 * n] / count
            variance = sums[:, 4 * n + 1] / count
            variance -= mean * mean
            mean_values = sums[:, 4 * n + 2] / count
            slope = np.divide(sums[:, 4 * n + 3], count, out=coefficients[:, 2 * n])
            slope -= mean * mean_values
            slope /= variance + eps
            mean_values -= slope * mean
            coefficients[:, 2 * n + 1] = mean_values
        del sums, mean, variance, mean_values, slope
        done = second.emitted
        sums = second.push(_box_rows(coefficients, size, cv2.BORDER_CONSTANT))
        del coefficients
        if len(sums) == 0:
            continue
        low, high = done, done + len(sums)
        count = np.outer(row_counts[low:high], column_counts)
        for n, grey in enumerate(greys):
            output = sums[:, 2 * n] / count
            output *= grey[low:high] / 255.0
            output += sums[:, 2 * n + 1] / count
            # refined_weights' quantisation up to the clip (the division by 255 is done where it is used).
            output *= 255.0
            output += 0.5
            np.floor(output, out=output)
            np.clip(output, 0.0, 255.0, out=output)
            quantised[n][low:high] = output
    return quantised


def _weights(levels: list[np.ndarray], low: int, high: int) -> list[np.ndarray]:
    """Rows ``low:high`` of :func:`refined_weights`' result, from the quantised levels."""
    quantised = []
    for level in levels:
        filtered = level[low:high].astype(np.float64)
        filtered /= 255.0
        filtered += 1e-12
        quantised.append(filtered)
    return _normalised(quantised)


def _combine_in_strips(images: list[np.ndarray], base_levels: list[np.ndarray], detail_levels: list[np.ndarray],
                       chunk: int) -> np.ndarray:
    """The two-scale split (31x31 mean streamed) and weighted sum of :func:`fuse`, strip by strip."""
    rows, columns = images[0].shape[:2]
    channels = 1 if images[0].ndim == 2 else images[0].shape[2]
    fused = np.empty(images[0].shape, np.uint8)
    planes_out = fused if channels > 1 else fused[:, :, None]
    sources = [image if channels > 1 else image[:, :, None] for image in images]
    mean = RunningBoxSum(rows, BASE_SIZE // 2, cv2.BORDER_REPLICATE, 1.0 / (BASE_SIZE * BASE_SIZE))
    for start, stop, _, _ in row_strips(rows, chunk):
        scaled = np.empty((stop - start, len(sources) * channels, columns))
        for n, source in enumerate(sources):
            for channel in range(channels):
                np.divide(source[start:stop, :, channel], 255.0, out=scaled[:, n * channels + channel])
        done = mean.emitted
        bases = mean.push(_box_rows(scaled, BASE_SIZE, cv2.BORDER_REPLICATE))
        del scaled
        if len(bases) == 0:
            continue
        low, high = done, done + len(bases)
        base_weights = _weights(base_levels, low, high)
        detail_weights = _weights(detail_levels, low, high)
        for channel in range(channels):
            # Summation order of the reference: all base terms, all detail terms, then their sum.
            fused_base, fused_detail = None, None
            for n, source in enumerate(sources):
                base = bases[:, n * channels + channel]
                detail = source[low:high, :, channel] / 255.0
                detail -= base
                base = base * base_weights[n]
                detail *= detail_weights[n]
                fused_base = base if fused_base is None else fused_base + base
                fused_detail = detail if fused_detail is None else fused_detail + detail
            result = fused_base + fused_detail
            result *= 255.0
            result += 0.5
            planes_out[low:high, :, channel] = np.clip(np.floor(result), 0, 255).astype(np.uint8)
    return fused
