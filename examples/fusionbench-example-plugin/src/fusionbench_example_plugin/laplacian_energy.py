"""Laplacian-energy weighted fusion: each pixel is a weighted mean of the sources, weighted by focus.

For sources ``S_k`` (uint8, grey or RGB, all the same size) with grey versions ``G_k`` (MATLAB
``rgb2gray``):

    L_k = G_k * [[0, 1, 0], [1, -4, 1], [0, 1, 0]]      (4-neighbour Laplacian, replicate border)
    E_k = box_w(L_k ** 2)                               (local Laplacian energy, w x w mean, replicate)
    W_k = (E_k + eps) / sum_j (E_j + eps)               (per-pixel weights; equal weights on flat regions)
    F   = round(clip(sum_k W_k * S_k, 0, 255))          (the same weights for every colour channel)

The energy of the Laplacian is the classic "sum-modified-Laplacian"-style focus measure (Nayar &
Nakagawa 1994; Huang & Jing 2007): in-focus regions have strong second derivatives. Soft weights
instead of a hard choice avoid block artefacts at the cost of some contrast. ``eps`` (in squared grey
levels) keeps flat, textureless regions at an even blend. Window ``w`` = 7 by default.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from fusionbench import register_algorithm
from fusionbench.image_io import rgb_to_grey

_LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_energy(grey: np.ndarray, window: int) -> np.ndarray:
    """Local mean of the squared 4-neighbour Laplacian of a grey image (float64, replicate border)."""
    laplacian = ndimage.correlate(grey.astype(np.float64), _LAPLACIAN, mode="nearest")
    return ndimage.uniform_filter(laplacian * laplacian, size=window, mode="nearest")


@register_algorithm("laplacian-energy", version="1", citation="Huang & Jing, Pattern Recognit. Lett. 28 (2007)",
                    summary="weighted mean of the sources by local Laplacian energy (example plugin)",
                    defaults={"window": 7, "eps": 1.0})
def fuse(images: list[np.ndarray], window: int = 7, eps: float = 1.0) -> np.ndarray:
    """Fuse uint8 sources by per-pixel weights proportional to local Laplacian energy."""
    greys = [image if image.ndim == 2 else rgb_to_grey(image) for image in images]
    energies = np.stack([laplacian_energy(grey, window) + eps for grey in greys])
    weights = energies / energies.sum(axis=0)
    stack = np.stack([image.astype(np.float64) for image in images])
    if stack.ndim == 4:  # colour: one weight map per source, shared by the three channels
        weights = weights[..., np.newaxis]
    fused = (weights * stack).sum(axis=0)
    return np.clip(np.round(fused), 0, 255).astype(np.uint8)
