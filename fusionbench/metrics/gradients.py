"""Gradient-based sharpness of the fused image: spatial frequency (SF) and average gradient (AG)."""
from __future__ import annotations

import numpy as np

from ..errors import MetricError
from ..registry import register_metric
from .evaluation import accepts_uint8_grey


def forward_differences(fused: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dx = F(i, j+1) - F(i, j) and dy = F(i+1, j) - F(i, j) on the top-left (M-1) x (N-1) block.

    Grey levels (uint8) give int32 differences: exact, as are their squares and sums, so every
    value below equals the float64 computation.
    """
    if fused.shape[0] < 2 or fused.shape[1] < 2:
        raise MetricError(f"image of {fused.shape[1]}x{fused.shape[0]} pixels has no pixel pairs; "
                          "gradients need at least 2x2")
    if fused.dtype == np.uint8:
        fused = fused.astype(np.int32)
    block = fused[:-1, :-1]
    return fused[:-1, 1:] - block, fused[1:, :-1] - block


@register_metric(
    "SF", higher_is_better=True, sources=0, colour="grey", version="1",
    citation="S. Li, B. Yang, Multifocus image fusion using region segmentation and spatial "
             "frequency, Image and Vision Computing 26 (7) (2008) 971-979",
    variant="SF = sqrt(mean(dx^2) + mean(dy^2)), forward differences on the top-left (M-1)x(N-1) "
            "block — the IFCNN paper's variant")
@accepts_uint8_grey
def spatial_frequency(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """SF = sqrt(RF^2 + CF^2) with RF^2 = mean(dx^2), CF^2 = mean(dy^2) over the (M-1)x(N-1) block.

    This block convention reproduces the IFCNN paper's SF column (and the GFF/LP-SR columns to
    0.02%). A constant image has SF = 0.
    """
    dx, dy = forward_differences(fused)
    dx *= dx
    dy *= dy
    return float(np.sqrt(np.mean(dx) + np.mean(dy)))


@register_metric(
    "AG", higher_is_better=True, sources=0, colour="grey", version="1",
    citation="as used by H. Zhang et al., IFCNN, Information Fusion 54 (2020) 99-118",
    variant="AG = mean(sqrt(dx^2+dy^2))/4 on the top-left (M-1)x(N-1) block — the IFCNN paper's variant")
@accepts_uint8_grey
def average_gradient(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """AG = mean(sqrt(dx^2 + dy^2)) / 4 over the (M-1)x(N-1) block of forward differences.

    Several toolboxes compute mean(sqrt((dx^2+dy^2)/2)), which is 2*sqrt(2) times larger; the
    IFCNN paper's numbers are this variant. A constant image has AG = 0.
    """
    dx, dy = forward_differences(fused)
    dx *= dx
    dy *= dy
    dx += dy
    return float(np.mean(np.sqrt(dx, dtype=np.float64)) / 4.0)
