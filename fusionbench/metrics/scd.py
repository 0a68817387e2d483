"""SCD: the sum of the correlations of differences (Aslantas & Bendes 2015)."""
from __future__ import annotations

import numpy as np

from ..registry import register_metric
from .evaluation import accepts_uint8_grey


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation coefficient over all pixels; 0 when either image is constant
    (no variation to correlate: the coefficient is 0/0 there)."""
    x = x - x.mean()
    y = y - y.mean()
    denominator = np.sqrt(np.sum(x * x) * np.sum(y * y))
    if denominator == 0:
        return 0.0
    return float(np.clip(np.sum(x * y) / denominator, -1.0, 1.0))


@register_metric(
    "SCD", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="V. Aslantas, E. Bendes, A new image quality metric for image fusion: the sum of the "
             "correlations of differences, AEU Int. J. Electron. Commun. 69 (12) (2015) 1890-1896",
    variant="SCD = r(F-B, A) + r(F-A, B), r the Pearson correlation over all pixels (grey 0..255); "
            "r = 0 for a constant image")
@accepts_uint8_grey
def scd(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """SCD = r(D1, A) + r(D2, B) with D1 = F - B (what F took from A), D2 = F - A, and
    r(X, Y) = sum((X - mean X)(Y - mean Y)) / sqrt(sum((X - mean X)^2) sum((Y - mean Y)^2)).

    Range [-2, 2]. Defined value: a correlation involving a constant image (e.g. D2 when F = A)
    is 0.
    """
    first, second = sources
    # Differences in float64 (exact for grey levels; uint8 arithmetic would wrap around).
    return (correlation(np.subtract(fused, second, dtype=np.float64), first)
            + correlation(np.subtract(fused, first, dtype=np.float64), second))
