"""VIFF: multi-resolution visual information fidelity for fusion (Han, Cai, Cao & Xu 2013)."""
from __future__ import annotations

import numpy as np

from ..errors import MetricError
from ..registry import register_metric
from .filtering import WindowStatistics, filter_valid, gaussian_kernel_1d

#: Visual noise variance of the HVS model: 0.005 * 255^2.
VISUAL_NOISE_VARIANCE = 0.005 * 255.0 * 255.0
#: Per-scale weights [1, 0, 0.15, 1] / 2.15 of the released code.
SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
SCALES = 4
#: Variance floor and the per-pixel constant added to VID and VIND before summing.
VARIANCE_FLOOR = 1e-10
SUM_CONSTANT = 1e-7


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


def pyramid(image: np.ndarray) -> list[np.ndarray]:
    """The image at each of the 4 scales: scale 1 as given; scale s > 1 filtered ('valid') with
    scale s's window and decimated by 2 (odd rows/columns, 1-based), as ``VIFF_Public.m``."""
    levels = [image]
    for scale in range(2, SCALES + 1):
        size = _window_size(scale)
        levels.append(filter_valid(levels[-1], gaussian_kernel_1d(size, size / 5.0))[::2, ::2].copy())
    return levels


def information_maps(source_levels: list[np.ndarray],
                     fused_statistics: list[WindowStatistics]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per scale ``(g, VID, VIND)`` maps of one source against the fused image (Sheikh & Bovik's
    pixel-domain VIF channel, as revised by Han et al.).

    Scale s uses a Gaussian window N = 2^(5-s)+1, sigma = N/5 (see :func:`pyramid`).
    With sigma^2 = E[x^2]-mu^2 clamped at 0, g = s_xy/(s_x^2+1e-10), s_v^2 = s_y^2 - g s_xy, then
    in this order: s_x^2 < 1e-10 -> g=0, s_v^2=s_y^2, s_x^2=0; s_y^2 < 1e-10 -> g=0, s_v^2=0;
    g < 0 -> s_v^2=s_y^2, g=0; s_v^2 <= 1e-10 -> 1e-10.
    VID = log10(1 + g^2 s_x^2/(s_v^2 + s_n^2)), VIND = log10(1 + s_x^2/s_n^2).
    """
    maps = []
    for level, fused_stats in zip(source_levels, fused_statistics):
        source_stats = WindowStatistics(level, fused_stats.kernel)
        cov_xy = source_stats.covariance(fused_stats)
        var_x = np.maximum(source_stats.variance, 0.0)
        var_y = np.maximum(fused_stats.variance, 0.0)
        gain = cov_xy / (var_x + VARIANCE_FLOOR)
        noise = var_y - gain * cov_xy
        flat_source = var_x < VARIANCE_FLOOR
        gain[flat_source] = 0.0
        noise[flat_source] = var_y[flat_source]
        var_x[flat_source] = 0.0
        flat_fused = var_y < VARIANCE_FLOOR
        gain[flat_fused] = 0.0
        noise[flat_fused] = 0.0
        negative = gain < 0
        noise[negative] = var_y[negative]
        gain[negative] = 0.0
        noise[noise <= VARIANCE_FLOOR] = VARIANCE_FLOOR
        vid = np.log10(1.0 + gain * gain * var_x / (noise + VISUAL_NOISE_VARIANCE))
        vind = np.log10(1.0 + var_x / VISUAL_NOISE_VARIANCE)
        maps.append((gain, vid, vind))
    return maps


def fused_statistics(fused: np.ndarray) -> list[WindowStatistics]:
    """Window statistics of the fused image at every scale (shared by both sources)."""
    return [WindowStatistics(level, gaussian_kernel_1d(_window_size(scale), _window_size(scale) / 5.0))
            for scale, level in enumerate(pyramid(fused), start=1)]


@register_metric(
    "VIFF", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="Y. Han, Y. Cai, Y. Cao, X. Xu, A new image fusion performance metric based on visual "
             "information fidelity, Information Fusion 14 (2) (2013) 127-135",
    variant="VIFF_Public.m on MATLAB-rounded grey 0..255: 4 scales, weights [1 0 0.15 1]/2.15, "
            "VID/VIND per pixel from source 1 where g1 < g2 else source 2")
def viff(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """VIFF(A, B, F) = sum_s p_s * sum(VID_s + 1e-7) / sum(VIND_s + 1e-7).

    Per pixel and scale, VID and VIND are taken from source A where g_A < g_B strictly and from
    source B otherwise, exactly as the released ``VIFF_Public.m`` (so the order of the sources is
    part of the definition). Colour inputs arrive as grey (the released code would use CIELAB L*,
    the golden values and the IFCNN paper use grey). A constant image pair has VIND = 0
    everywhere and VIFF = 1 by the 1e-7 constants; the value is always finite.
    """
    first, second = sources
    if min(fused.shape[:2]) < minimum_side():
        raise MetricError(f"VIFF needs images at least {minimum_side()} pixels on the shorter side (4 scales), "
                          f"got {fused.shape[1]}x{fused.shape[0]}")
    fused_stats = fused_statistics(fused)
    maps_first = information_maps(pyramid(first), fused_stats)
    # The ifcnn-paper protocol passes the same array twice: reuse its maps.
    maps_second = maps_first if second is first else information_maps(pyramid(second), fused_stats)
    total = 0.0
    for weight, (g1, vid1, vind1), (g2, vid2, vind2) in zip(SCALE_WEIGHTS, maps_first, maps_second):
        from_first = g1 < g2
        vid = np.where(from_first, vid1, vid2)
        vind = np.where(from_first, vind1, vind2)
        total += weight * (np.sum(vid + SUM_CONSTANT) / np.sum(vind + SUM_CONSTANT))
    return float(total)
