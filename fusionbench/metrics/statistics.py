"""Global intensity statistics of the fused image: standard deviation (SD)."""
from __future__ import annotations

import numpy as np

from ..registry import register_metric
from .evaluation import accepts_uint8_grey


@register_metric(
    "SD", higher_is_better=True, sources=0, colour="grey", version="1",
    citation="Y.-J. Rao, In-fibre Bragg grating sensors, Meas. Sci. Technol. 8 (4) (1997) 355-375 "
             "(the contrast measure as used in fusion surveys)",
    variant="SD = sqrt(mean((F - mean(F))^2)) over all pixels, population (ddof=0), grey levels 0..255")
@accepts_uint8_grey
def standard_deviation(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """SD = sqrt((1/MN) sum (F(i,j) - mu)^2): the population standard deviation of the grey levels.

    Population (divide by MN, not MN-1) as in the fusion literature's formula; a constant image
    has SD = 0. Grey levels (uint8) give the same value as float64: the mean is an exact sum of
    integers, and the deviations are formed in float64.
    """
    return float(np.std(fused, dtype=np.float64))
