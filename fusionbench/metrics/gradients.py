"""Gradient-based sharpness of the fused image: spatial frequency (SF), average gradient (AG) and
edge intensity (EI, a core used by metric dialects, see :mod:`fusionbench.metrics.dialects`)."""
from __future__ import annotations

from functools import lru_cache

import cv2
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
def spatial_frequency(fused: np.ndarray, sources: list[np.ndarray], *, region: str = "block") -> float:
    """SF = sqrt(RF^2 + CF^2) with RF^2 = mean(dx^2), CF^2 = mean(dy^2) over the (M-1)x(N-1) block.

    This block convention reproduces the IFCNN paper's SF column (and the GFF/LP-SR columns to
    0.02%). A constant image has SF = 0.

    ``region="all"`` (VIFB's ``metricsSpatial_frequency.m``, Eskicioglu & Fisher 1995): every
    horizontal difference (M x (N-1)) and every vertical one ((M-1) x N), each sum divided by MN:
    SF = sqrt((sum dx^2 + sum dy^2) / MN).
    """
    if region == "all":
        if fused.shape[0] < 1 or fused.shape[1] < 1:
            raise MetricError("empty image has no spatial frequency")
        if fused.dtype == np.uint8 and fused.ndim == 2:  # exact integers: one compiled pass, no int64 copy
            from .level_counts_kernel import squared_neighbour_difference_sum  # Numba: imported on first use

            return float(np.sqrt(float(squared_neighbour_difference_sum(fused)) / fused.size))
        image = fused.astype(np.int64) if fused.dtype == np.uint8 else np.asarray(fused, np.float64)
        dx = np.diff(image, axis=1)
        dy = np.diff(image, axis=0)
        total = float(np.sum(dx * dx)) + float(np.sum(dy * dy))
        return float(np.sqrt(total / image.size))
    if region != "block":
        raise ValueError(f"region must be 'block' or 'all', not {region!r}")
    dx, dy = forward_differences(fused)
    dx *= dx
    dy *= dy
    return float(np.sqrt(np.mean(dx) + np.mean(dy)))


@register_metric(
    "AG", higher_is_better=True, sources=0, colour="grey", version="1",
    citation="as used by H. Zhang et al., IFCNN, Information Fusion 54 (2020) 99-118",
    variant="AG = mean(sqrt(dx^2+dy^2))/4 on the top-left (M-1)x(N-1) block — the IFCNN paper's variant")
@accepts_uint8_grey
def average_gradient(fused: np.ndarray, sources: list[np.ndarray], *, differences: str = "forward") -> float:
    """AG = mean(sqrt(dx^2 + dy^2)) / 4 over the (M-1)x(N-1) block of forward differences.

    Several toolboxes compute mean(sqrt((dx^2+dy^2)/2)), which is 2*sqrt(2) times larger; the
    IFCNN paper's numbers are this variant. A constant image has AG = 0.

    ``differences="central"`` (VIFB's ``metricsAvg_gradient.m``, Cui et al. 2015): the
    differences of MATLAB ``gradient`` (:func:`matlab_gradient`: central inside, one-sided at the
    edges) on the whole image, AG = sum(sqrt((gx^2 + gy^2) / 2)) / ((M-1)(N-1)).
    """
    if differences == "central":
        rows, columns = fused.shape[:2]
        if fused.dtype == np.uint8 and fused.ndim == 2 and rows >= 2 and columns >= 2:
            from .gradient_kernels import central_magnitudes  # Numba: imported on first use

            magnitudes = np.empty(fused.shape)
            central_magnitudes(fused, _central_magnitude_table(), _DOUBLED_GRADIENT_LIMIT, magnitudes)
            return float(np.sum(magnitudes) / ((rows - 1) * (columns - 1)))
        gx, gy = matlab_gradient(fused)
        gx *= gx
        gy *= gy
        gx += gy
        gx *= 0.5
        return float(np.sum(np.sqrt(gx)) / ((rows - 1) * (columns - 1)))
    if differences != "forward":
        raise ValueError(f"differences must be 'forward' or 'central', not {differences!r}")
    dx, dy = forward_differences(fused)
    dx *= dx
    dy *= dy
    dx += dy
    return float(np.mean(np.sqrt(dx, dtype=np.float64)) / 4.0)


def matlab_gradient(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gx, gy) as MATLAB ``gradient(image)`` with unit spacing, float64: central differences
    (F(j+1) - F(j-1)) / 2 inside, forward/backward differences in the first/last column (row)."""
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise MetricError(f"image of {image.shape[1]}x{image.shape[0]} pixels has no pixel pairs; "
                          "gradients need at least 2x2")
    image = np.asarray(image, np.float64)
    gradients = []
    for axis in (1, 0):
        gradient = np.empty_like(image)
        inner = [slice(None)] * 2
        inner[axis] = slice(1, -1)
        ahead, behind = [slice(None)] * 2, [slice(None)] * 2
        ahead[axis], behind[axis] = slice(2, None), slice(None, -2)
        np.subtract(image[tuple(ahead)], image[tuple(behind)], out=gradient[tuple(inner)])
        gradient[tuple(inner)] *= 0.5
        first, second, last, before_last = ([slice(None)] * 2 for _ in range(4))
        first[axis], second[axis], last[axis], before_last[axis] = 0, 1, -1, -2
        gradient[tuple(first)] = image[tuple(second)] - image[tuple(first)]
        gradient[tuple(last)] = image[tuple(last)] - image[tuple(before_last)]
        gradients.append(gradient)
    return gradients[0], gradients[1]


#: Largest |2 g| of MATLAB ``gradient`` on grey levels: twice a central difference, or twice a
#: one-sided one at the edges (2 x 255).
_DOUBLED_GRADIENT_LIMIT = 510


@lru_cache(maxsize=1)
def _central_magnitude_table() -> np.ndarray:
    """sqrt((gx^2 + gy^2) / 2) for every gx = a/2, gy = b/2 with integers 0 <= a, b <= 510, by the
    float operations of :func:`average_gradient` (each intermediate is exact, so any exact
    arrangement gives the same bits), flattened at ``a * 511 + b``."""
    halves = np.arange(_DOUBLED_GRADIENT_LIMIT + 1, dtype=np.float64) * 0.5
    squares = halves * halves
    table = squares[:, None] + squares[None, :]
    table *= 0.5
    table = np.sqrt(table).ravel()
    table.setflags(write=False)
    return table


def edge_intensity(fused: np.ndarray) -> float:
    """EI = mean(sqrt(sx^2 + sy^2)) over all pixels, sx, sy the 3x3 Sobel correlations of the
    image with replicated borders (MATLAB ``imfilter(F, fspecial('sobel'), 'replicate')``).

    Reference: B. Rajalingam, R. Priya, Hybrid multimodality medical image fusion technique for
    feature enhancement in medical diagnosis, IJESI 2018 (as computed by VIFB's
    ``metricsEdge_intensity.m``). A grey image (H x W) or a stack of planes (H x W x C: the mean is
    over all planes). uint8 input gives exact integer responses, whose magnitudes are looked up
    (:func:`fusionbench.metrics.gradient_kernels.replicated_sobel_magnitudes`).
    """
    planes = fused[:, :, None] if fused.ndim == 2 else fused
    total = 0.0
    for index in range(planes.shape[2]):
        plane = planes[:, :, index]
        if plane.dtype == np.uint8:  # |responses| <= 1020: hypot looked up (QABF's table, the same NumPy hypot)
            from .gradient_kernels import replicated_sobel_magnitudes  # Numba: imported on first use
            from .qabf import SOBEL_LIMIT, integer_edge_tables

            magnitudes = np.empty(plane.shape)
            replicated_sobel_magnitudes(plane, integer_edge_tables()[0], SOBEL_LIMIT, magnitudes)
        else:
            plane = np.ascontiguousarray(plane, np.float64)
            magnitudes = np.hypot(cv2.Sobel(plane, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE),
                                  cv2.Sobel(plane, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE))
        total += float(np.sum(magnitudes))
    return total / planes.size
