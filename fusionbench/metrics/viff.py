"""VIFF: multi-resolution visual information fidelity for fusion (Han, Cai, Cao & Xu 2013)."""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..errors import MetricError
from ..registry import register_metric
from . import kept_maps
from .evaluation import accepts_uint8_grey
from .filtering import WindowStatistics, filter_decimate, filter_valid, gaussian_kernel_1d, valid_maps

#: Visual noise variance of the HVS model: 0.005 * 255^2.
VISUAL_NOISE_VARIANCE = 0.005 * 255.0 * 255.0
#: Per-scale weights [1, 0, 0.15, 1] / 2.15 of the released code.
SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
SCALES = 4
#: Variance floor and the per-pixel constant added to VID and VIND before summing.
VARIANCE_FLOOR = 1e-10
SUM_CONSTANT = 1e-7
#: log10(x) = ln(x) / ln(10): OpenCV's vectorised natural logarithm, 5x faster than NumPy's log10.
INVERSE_LN10 = 1.0 / math.log(10.0)


def _window_size(scale: int) -> int:
    return 2 ** (SCALES - scale + 1) + 1  # 17, 9, 5, 3


def _level_sizes(size: int) -> list[int]:
    """Side length at each scale for an input side of ``size`` ('valid' filter, then keep every other)."""
    sizes = [size]
    for scale in range(2, SCALES + 1):
        valid = max(sizes[-1] - _window_size(scale) + 1, 0)
        sizes.append((valid + 1) // 2)
    return sizes


def minimum_side() -> int:
    """Smallest image side for which every scale still holds its window (41 pixels)."""
    side = 1
    while any(level < _window_size(scale) for scale, level in enumerate(_level_sizes(side), start=1)):
        side += 1
    return side


def pyramid(image: np.ndarray, key: tuple | None = None) -> list[np.ndarray]:
    """The image at each of the 4 scales: scale 1 as given; scale s > 1 filtered ('valid') with
    scale s's window and decimated by 2 (odd rows/columns, 1-based), as ``VIFF_Public.m``.
    With ``key`` (the image's content key) the levels of a source are kept for the item's other
    fused images (:mod:`~fusionbench.metrics.kept_maps`)."""
    levels = [image]
    for scale in range(2, SCALES + 1):
        size = _window_size(scale)
        below = levels[-1]
        compute = lambda: filter_decimate(below, gaussian_kernel_1d(size, size / 5.0))  # noqa: E731
        levels.append(compute() if key is None else kept_maps.kept(("viff.level", scale), (key,), compute))
    return levels


def channel_terms(source: WindowStatistics, fused: WindowStatistics,
                  var_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(g, s_x^2, s_v^2)`` of one source against the fused image (Sheikh & Bovik's pixel-domain
    VIF channel, as revised by Han et al.); ``var_y`` is the fused variance clamped at 0. The
    readable NumPy form of what :func:`~fusionbench.metrics.window_kernels.viff_log_arguments`
    computes per window (a test holds them equal bit for bit).

    With sigma^2 = E[x^2]-mu^2 clamped at 0, g = s_xy/(s_x^2+1e-10), s_v^2 = s_y^2 - g s_xy, then
    in this order: s_x^2 < 1e-10 -> g=0, s_v^2=s_y^2, s_x^2=0; s_y^2 < 1e-10 -> g=0, s_v^2=0;
    g < 0 -> s_v^2=s_y^2, g=0; s_v^2 <= 1e-10 -> 1e-10.
    """
    cov_xy = source.covariance(fused)
    var_x = np.maximum(source.variance, 0.0)
    gain = cov_xy / (var_x + VARIANCE_FLOOR)
    noise = var_y - gain * cov_xy
    flat_source = var_x < VARIANCE_FLOOR
    np.putmask(gain, flat_source, 0.0)
    np.copyto(noise, var_y, where=flat_source)
    np.putmask(var_x, flat_source, 0.0)
    flat_fused = var_y < VARIANCE_FLOOR
    np.putmask(gain, flat_fused, 0.0)
    np.putmask(noise, flat_fused, 0.0)
    negative = gain < 0
    np.copyto(noise, var_y, where=negative)
    np.putmask(gain, negative, 0.0)
    np.putmask(noise, noise <= VARIANCE_FLOOR, VARIANCE_FLOOR)
    return gain, var_x, noise


def information_maps(first: np.ndarray, second: np.ndarray | None, fused: np.ndarray,
                     kernel: np.ndarray, kept: list[np.ndarray | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(VID, VIND)`` of (a strip of) one scale, each pixel from source 1 where g1 < g2 strictly,
    else from source 2 (``second=None``: source 1 twice). ``kept``: each source's
    :func:`~fusionbench.metrics.kept_maps.window_moments` on the strip's rows (None: computed here).

    VID = log10(1 + g^2 s_x^2/(s_v^2 + s_n^2)), VIND = log10(1 + s_x^2/s_n^2), with the channel
    terms of :func:`channel_terms`; the logarithms are taken of the chosen source's terms only.
    The per-window terms are computed by the compiled
    :func:`~fusionbench.metrics.window_kernels.viff_log_arguments` (channel_terms' operations).
    """
    from . import window_kernels  # Numba: imported on first use

    kept = kept or [None, None]
    fused_stats = WindowStatistics(fused, kernel)
    sources = [_statistics(first, kernel, kept[0])]
    if second is not None:
        sources.append(_statistics(second, kernel, kept[1]))
    terms = [(source.mean, source.variance, filter_valid(source.image * fused_stats.image, kernel))
             for source in sources]
    vid, vind = np.empty_like(fused_stats.mean), np.empty_like(fused_stats.mean)
    window_kernels.viff_log_arguments(*terms[0], *terms[-1], fused_stats.mean, fused_stats.variance,
                                      VARIANCE_FLOOR, VISUAL_NOISE_VARIANCE, vid, vind)
    return _log10(vid), _log10(vind)


def _statistics(image: np.ndarray, kernel: np.ndarray, moments: np.ndarray | None) -> WindowStatistics:
    if moments is None:
        return WindowStatistics(image, kernel)
    return WindowStatistics.from_maps(image, kernel, moments[0], moments[1])


def _log10(values: np.ndarray) -> np.ndarray:
    """log10(values) as ln(values) / ln(10) (within 2 ulp of NumPy's log10)."""
    logarithm = cv2.log(values)
    logarithm *= INVERSE_LN10
    return logarithm


@register_metric(
    "VIFF", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="Y. Han, Y. Cai, Y. Cao, X. Xu, A new image fusion performance metric based on visual "
             "information fidelity, Information Fusion 14 (2) (2013) 127-135",
    variant="VIFF_Public.m on MATLAB-rounded grey 0..255: 4 scales, weights [1 0 0.15 1]/2.15, "
            "VID/VIND per pixel from source 1 where g1 < g2 else source 2")
@accepts_uint8_grey
def viff(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """VIFF(A, B, F) = sum_s p_s * sum(VID_s + 1e-7) / sum(VIND_s + 1e-7).

    Per pixel and scale, VID and VIND are taken from source A where g_A < g_B strictly and from
    source B otherwise, exactly as the released ``VIFF_Public.m`` (so the order of the sources is
    part of the definition). Colour inputs arrive as grey (the released code would use CIELAB L*,
    the golden values and the IFCNN paper use grey). A constant image pair has VIND = 0
    everywhere and VIFF = 1 by the 1e-7 constants; the value is always finite. Each scale's maps
    are computed in strips (:func:`information_maps`); scale 2 has weight 0 and is not computed.
    The sources' pyramids and window moments of images up to
    :data:`~fusionbench.metrics.kept_maps.KEPT_PIXELS` are kept for the item's other fused images.
    """
    first, second = sources
    if min(fused.shape[:2]) < minimum_side():
        raise MetricError(f"VIFF needs images at least {minimum_side()} pixels on the shorter side (4 scales), "
                          f"got {fused.shape[1]}x{fused.shape[0]}")
    # The ifcnn-paper protocol passes the same array twice: its maps are those of source 1 alone.
    images = [first, fused] if second is first else [first, fused, second]
    # Sources' pyramids and window moments are kept for the item's other fused images; the fused
    # image's are not (its key is None).
    keys = [None] * len(images)
    if kept_maps.worth_keeping(fused.shape):
        keys[0], *keys[2:] = kept_maps.image_keys([first] if second is first else [first, second])
    pyramids = [pyramid(image, None if index == 1 else key) for index, (image, key) in enumerate(zip(images, keys))]
    total = 0.0
    for scale, weight in enumerate(SCALE_WEIGHTS, start=1):
        if weight == 0:
            continue  # adds weight * (a finite ratio) = 0 exactly
        size = _window_size(scale)
        kernel = gaussian_kernel_1d(size, size / 5.0)
        levels = [levels[scale - 1] for levels in pyramids]
        # keyed by the source's content and the scale (the level is a function of both)
        moments = [None if key is None else kept_maps.window_moments(level, (key, "viff", scale), size, size / 5.0)
                   for index, (level, key) in enumerate(zip(levels, keys)) if index != 1]

        def strip_maps(rows, first_strip, fused_strip, second_strip=None):
            kept = [None if source is None else source[:, rows] for source in moments]
            return information_maps(first_strip, second_strip, fused_strip, kernel, kept)

        vid, vind = valid_maps(strip_maps, levels, size, count=2, with_rows=True)
        vid += SUM_CONSTANT
        vind += SUM_CONSTANT
        total += weight * (np.sum(vid) / np.sum(vind))
    return float(total)
