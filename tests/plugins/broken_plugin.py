"""A deliberately broken plugin for the robustness tests: ``fusionbench run --plugin tests.plugins.broken_plugin``.

``broken-plugin`` decides how to misbehave from the first source's mean grey level, so that a test
can pick the failing items by making their images dark or bright:

- mean < 64 (a dark item): raises ``RuntimeError`` — an ordinary plugin bug;
- mean > 192 (a bright item): returns an image one row short — a wrong shape;
- otherwise: the per-pixel mean of the sources, rounded — a correct fusion.
"""
from __future__ import annotations

import numpy as np

from fusionbench import register_algorithm

DARK_LIMIT = 64
BRIGHT_LIMIT = 192


@register_algorithm("broken-plugin", summary="raises on dark items, wrong shape on bright ones (test plugin)")
def broken_fuse(images: list[np.ndarray]) -> np.ndarray:
    """Mean of the sources, except that it fails on dark and bright items (see module docstring)."""
    level = float(images[0].mean())
    if level < DARK_LIMIT:
        raise RuntimeError(f"deliberate failure on a dark item (mean {level:.1f})")
    fused = np.round(np.mean(np.stack(images).astype(np.float64), axis=0)).astype(np.uint8)
    if level > BRIGHT_LIMIT:
        return fused[:-1]
    return fused
