"""Information-theoretic metrics on 256-level grey histograms: NMI (Hossny et al.), MI (Qu et al.), EN.

All three use the same histogram convention: the grey image (MATLAB-rounded, levels 0..255) is
binned at one bin per grey level (256 bins, 256 x 256 for joint histograms), probabilities are
counts / pixel count, and 0 log 0 = 0. Entropies are in bits (log base 2).
"""
from __future__ import annotations

import numpy as np

from ..registry import register_metric
from .evaluation import accepts_uint8_grey

LEVELS = 256


def grey_levels(image: np.ndarray) -> np.ndarray:
    """Integer grey levels 0..255 of a grey image in 0..255 (rounded, clipped), as uint8 of the
    image's shape: uint8 input as it is (no copy), anything else rounded and clipped."""
    if image.dtype == np.uint8:
        return image
    return np.clip(np.rint(image), 0, LEVELS - 1).astype(np.uint8)


def histogram(levels: np.ndarray) -> np.ndarray:
    """Counts of each of the 256 grey levels of a uint8 array (int64)."""
    from . import level_counts_kernel  # Numba: imported on first use

    counts = np.zeros(LEVELS, np.int64)
    level_counts_kernel.histogram(_two_dimensional(levels), counts)
    return counts


def joint_histogram(levels_x: np.ndarray, levels_y: np.ndarray) -> np.ndarray:
    """256 x 256 counts of the level pairs (x, y) of two uint8 arrays of one shape (int64)."""
    from . import level_counts_kernel

    counts = np.zeros((LEVELS, LEVELS), np.int64)
    level_counts_kernel.joint_histogram(_two_dimensional(levels_x), _two_dimensional(levels_y), counts)
    return counts


def _two_dimensional(levels: np.ndarray) -> np.ndarray:
    """The array as rows (a view where it can be): the kernels read 2-D arrays in place, strided or not."""
    return levels if levels.ndim == 2 else levels.reshape(-1, levels.shape[-1] if levels.ndim else 1)


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy in bits of a histogram of counts (0 log 0 = 0)."""
    probabilities = counts[counts > 0] / counts.sum()
    return float(-np.sum(probabilities * np.log2(probabilities))) + 0.0  # + 0.0 turns -0.0 into 0.0


def information_terms(levels_x: np.ndarray, levels_y: np.ndarray) -> tuple[float, float, float]:
    """(H(X), H(Y), MI(X;Y)) in bits from one 256x256 joint histogram (:func:`joint_histogram`)."""
    joint = joint_histogram(levels_x, levels_y)
    entropy_x = entropy_bits(joint.sum(axis=1))
    entropy_y = entropy_bits(joint.sum(axis=0))
    joint_entropy = entropy_bits(joint.ravel())
    # Clamp the floating-point residue of H(X)+H(Y)-H(X,Y) for independent images at 0.
    return entropy_x, entropy_y, max(entropy_x + entropy_y - joint_entropy, 0.0)


@register_metric(
    "NMI", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="M. Hossny, S. Nahavandi, D. Creighton, Comments on 'Information measure for performance "
             "of image fusion', Electronics Letters 44 (18) (2008) 1066-1067",
    variant="metricMI.m sw=1: 2*[MI(A,F)/(H(A)+H(F)) + MI(B,F)/(H(B)+H(F))], 256-bin histograms "
            "of grey levels; a term with H(X)+H(F)=0 counts 0")
@accepts_uint8_grey
def normalized_mutual_information(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """NMI = 2 [MI(A,F) / (H(A) + H(F)) + MI(B,F) / (H(B) + H(F))].

    One bin per grey level (the reference ``normalize1`` min-max rescaling only relabels the
    levels of an integer image one-to-one and does not change the value); the log base cancels.
    Range 0..2; NMI(A, A, A) = 2 for any non-constant A. Defined value: a term whose entropies
    are both 0 (constant source and constant fused image; the reference divides 0 by 0) is 0.
    """
    fused_levels = grey_levels(fused)
    total = 0.0
    cache: dict[int, float] = {}
    for source in sources:
        key = id(source)
        if key not in cache:
            entropy_source, entropy_fused, mutual = information_terms(grey_levels(source), fused_levels)
            denominator = entropy_source + entropy_fused
            cache[key] = mutual / denominator if denominator > 0 else 0.0
        total += cache[key]
    return 2.0 * total


@register_metric(
    "MI", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="G. Qu, D. Zhang, P. Yan, Information measure for performance of image fusion, "
             "Electronics Letters 38 (7) (2002) 313-315",
    variant="MI = MI(A,F) + MI(B,F) in bits, 256x256 joint histograms of grey levels 0..255")
@accepts_uint8_grey
def mutual_information(fused: np.ndarray, sources: list[np.ndarray], *, unit: str = "bits") -> float:
    """MI = I(A;F) + I(B;F), each I(X;F) = H(X) + H(F) - H(X,F) in bits (log2), one bin per level.

    Unnormalised, so its scale grows with the sources' entropy (0..16 bits for two sources); a
    constant fused image or constant sources give 0.

    ``unit="nats"`` gives the natural-log value (bits x ln 2), as VIFB's ``metricsMutinf.m``.
    That code also min-max stretches each image to 0..255 and rounds before binning; for integer
    grey levels this only relabels the occupied levels one-to-one (the stretch factor is >= 1, so
    no two levels merge) and a constant image stays one level, so the value is the same.
    """
    if unit not in ("bits", "nats"):
        raise ValueError(f"unit must be 'bits' or 'nats', not {unit!r}")
    fused_levels = grey_levels(fused)
    bits = float(sum(information_terms(grey_levels(source), fused_levels)[2] for source in sources))
    return bits * np.log(2.0) if unit == "nats" else bits


@register_metric(
    "EN", higher_is_better=True, sources=0, colour="grey", version="1",
    citation="J. W. Roberts, J. A. van Aardt, F. B. Ahmed, Assessment of image fusion procedures using "
             "entropy, image quality, and multispectral classification, J. Appl. Remote Sens. 2 (2008) 023522",
    variant="EN = -sum p_l log2 p_l over the 256-bin histogram of the fused grey levels (bits)")
@accepts_uint8_grey
def entropy(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """EN = -sum_l p_l log2 p_l, p_l the fraction of pixels with grey level l (256 bins), in bits.

    Range 0..8; a constant image has EN = 0.
    """
    return entropy_bits(histogram(grey_levels(fused)))


def cross_entropy(source: np.ndarray, fused: np.ndarray) -> float:
    """CE(X, F) = sum_l p_X(l) log2(p_X(l) / p_F(l)) over the levels where both p_X and p_F are
    non-zero (256-bin histograms of grey levels 0..255, in bits).

    The relative entropy of the fused image's grey-level distribution from the source's, with
    levels absent from either image skipped (so it stays finite). Reference: D. M. Bulanon,
    T. F. Burks, V. Alchanatis, Image fusion of visible and thermal images for fruit detection,
    Biosystems Engineering 103 (1) (2009) 12-22 (as computed by VIFB's ``metricsCross_entropy.m``).
    """
    counts_x = histogram(grey_levels(source))
    counts_f = histogram(grey_levels(fused))
    both = (counts_x > 0) & (counts_f > 0)
    p_x = counts_x[both] / counts_x.sum()
    p_f = counts_f[both] / counts_f.sum()
    return float(np.sum(p_x * np.log2(p_x / p_f))) + 0.0
