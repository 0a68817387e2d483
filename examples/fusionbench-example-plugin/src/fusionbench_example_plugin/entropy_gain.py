"""Entropy gain: how much more information (in bits) the fused image carries than its best source.

    EN(X)   = -sum_i p_i log2 p_i      over the 256-bin histogram of the grey image X (0 log 0 = 0)
    EN-GAIN = EN(F) - max_k EN(S_k)

Higher is better; 0 means the fused image is exactly as "busy" as its busiest source. Entropy alone
rewards noise, which is why a fusion study reports it next to structural metrics, never alone
(Liu et al., IEEE TPAMI 34 (2012), the EN metric). Grey images are MATLAB ``rgb2gray`` of the inputs,
passed by fusionbench as float64 in 0..255 with integer values.
"""
from __future__ import annotations

import numpy as np

from fusionbench import register_metric


def grey_entropy(image: np.ndarray) -> float:
    """Shannon entropy in bits of the 256-bin histogram of an image with integer grey values 0..255."""
    counts = np.bincount(np.asarray(image, dtype=np.int64).ravel(), minlength=256)
    probabilities = counts[counts > 0] / counts.sum()
    return float(-(probabilities * np.log2(probabilities)).sum())


@register_metric("EN-GAIN", higher_is_better=True, sources=None, colour="grey", version="1",
                 citation="Liu et al., IEEE TPAMI 34 (2012)",
                 variant="EN(F) - max_k EN(S_k), 256-bin grey histograms, bits")
def entropy_gain(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """Entropy of the fused image minus the largest entropy among the sources, in bits."""
    return grey_entropy(fused) - max(grey_entropy(source) for source in sources)
