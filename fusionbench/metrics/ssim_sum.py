"""SSIM-SUM: the sum of the fused image's SSIM with each source (Wang, Bovik, Sheikh & Simoncelli 2004)."""
from __future__ import annotations

import numpy as np

from ..registry import register_metric
from .filtering import gaussian_kernel_1d, local_moments

WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
DYNAMIC_RANGE = 255.0
C1 = (0.01 * DYNAMIC_RANGE) ** 2  # K1 = 0.01
C2 = (0.03 * DYNAMIC_RANGE) ** 2  # K2 = 0.03


def mean_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM index of Wang et al. 2004 (``ssim_index.m``): Gaussian 11x11 window, sigma 1.5,
    K1 = 0.01, K2 = 0.03, L = 255, population moments, mean over the 'valid' map, no downsampling.

    SSIM = ((2 mu_x mu_y + C1)(2 s_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)).
    Always defined (C1, C2 > 0); identical images give exactly 1.
    """
    kernel = gaussian_kernel_1d(WINDOW_SIZE, WINDOW_SIGMA)
    mu_x, mu_y, var_x, var_y, cov_xy = local_moments(x, y, kernel)
    ssim = ((2.0 * mu_x * mu_y + C1) * (2.0 * cov_xy + C2)) / (
        (mu_x * mu_x + mu_y * mu_y + C1) * (var_x + var_y + C2))
    return float(np.mean(ssim))


@register_metric(
    "SSIM-SUM", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, Image quality assessment: from error "
             "visibility to structural similarity, IEEE TIP 13 (4) (2004) 600-612",
    variant="SSIM(A,F) + SSIM(B,F), each the mean SSIM map (Gaussian 11x11, sigma 1.5, K1=0.01, K2=0.03, "
            "L=255, 'valid', no downsampling); range up to 2")
def ssim_sum(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """SSIM(A, F) + SSIM(B, F) with :func:`mean_ssim` (range [-2, 2]; 2 only if F = A = B)."""
    first, second = sources
    first_score = mean_ssim(first, fused)
    return first_score + (first_score if second is first else mean_ssim(second, fused))
