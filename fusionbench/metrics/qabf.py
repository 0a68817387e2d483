"""Q^AB/F: Xydeas & Petrović's edge-preservation fusion metric (2000)."""
from __future__ import annotations

from functools import lru_cache, partial

import cv2
import numpy as np

from ..registry import register_metric
from .evaluation import accepts_uint8_grey
from .filtering import same_maps

#: Sigmoid constants of the paper: strength (Gamma_g, kappa_g, sigma_g) and orientation
#: (Gamma_a, kappa_a, sigma_a). Note that with these printed values perfect preservation
#: (G = A = 1) scores Q_g Q_a = 0.99885 * 0.97592 = 0.97479, not 1.
STRENGTH_SIGMOID = (0.9994, -15.0, 0.5)
ORIENTATION_SIGMOID = (0.9879, -22.0, 0.8)
#: Weighting exponent L of w = g^L.
WEIGHT_EXPONENT = 1.0

_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


#: Largest magnitude of a Sobel response of grey levels 0..255 (4 x 255).
SOBEL_LIMIT = 4 * 255


def sobel_responses(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x3 Sobel responses (sx, sy) as MATLAB ``filter2(sobel, image, 'same')``: correlation with
    zero padding outside the image (the convention of the public reference codes). Grey levels
    (uint8) give the exact integer responses as int16, anything else float64."""
    if image.dtype == np.uint8:
        return tuple(cv2.Sobel(image, cv2.CV_16S, dx, 1 - dx, ksize=3, borderType=cv2.BORDER_CONSTANT)
                     for dx in (1, 0))
    return (cv2.filter2D(image, cv2.CV_64F, _SOBEL_X, borderType=cv2.BORDER_CONSTANT),
            cv2.filter2D(image, cv2.CV_64F, _SOBEL_X.T.copy(), borderType=cv2.BORDER_CONSTANT))


@lru_cache(maxsize=1)
def integer_edge_tables() -> tuple[np.ndarray, np.ndarray]:
    """``hypot(a, b)`` and ``atan(b / a)`` (pi/2 where a = 0), computed with NumPy as
    :func:`sobel_strength_orientation` computes them, for all integers 0 <= a, b <= 1020,
    flattened at ``a * 1021 + b`` (16 MiB, built once per process in about 30 ms)."""
    magnitudes = np.arange(SOBEL_LIMIT + 1, dtype=np.float64)
    sx, sy = magnitudes[:, None], magnitudes[None, :]
    strength = np.hypot(sx, sy).ravel()
    orientation = np.arctan(np.divide(sy, sx, out=np.full(strength.shape, np.inf).reshape(-1, SOBEL_LIMIT + 1),
                                      where=sx != 0)).ravel()
    return strength, orientation


def sobel_strength_orientation(image: np.ndarray, keep: slice = slice(None), *,
                               x_kernel: str = "correlation") -> tuple[np.ndarray, np.ndarray]:
    """Edge strength g = sqrt(sx^2 + sy^2) = ``hypot(sx, sy)`` and orientation
    alpha = atan(sy / sx) in [-pi/2, pi/2] (pi/2 where sx = 0) of the Sobel responses
    (:func:`sobel_responses`), on rows ``keep``.

    Integer responses (grey levels) are looked up in :func:`integer_edge_tables` by |sx|, |sy|:
    hypot ignores signs, and atan(sy/sx) is odd in the sign of the quotient, so the values are
    those of the direct computation bit for bit (a test checks all 4.2 million pairs).

    ``x_kernel="convolution"``: sx is MATLAB ``conv2(image, [-1 0 1; -2 0 2; -1 0 1], 'same')``
    (the correlation's negative, as VIFB's ``metricsQabf.m``): the orientation is negated where
    sx != 0 (it stays pi/2 where sx = 0); the strength is the same.
    """
    if x_kernel not in ("correlation", "convolution"):
        raise ValueError(f"x_kernel must be 'correlation' or 'convolution', not {x_kernel!r}")
    flip = x_kernel == "convolution"
    sx, sy = (response[keep] for response in sobel_responses(image))
    if sx.dtype == np.int16:
        strengths, orientations = integer_edge_tables()
        index = np.abs(sx).astype(np.intp)  # take() would convert any other index type on each call
        index *= SOBEL_LIMIT + 1
        index += np.abs(sy)
        orientation = orientations.take(index)
        opposite = (sx < 0) != (sy < 0)  # the quotient sy/sx is negative (or -0)
        if flip:
            opposite = ~opposite
        np.negative(orientation, out=orientation, where=opposite & (sx != 0))
        return strengths.take(index), orientation
    strength = np.hypot(sx, sy)
    orientation = np.arctan(np.divide(sy, -sx if flip else sx, out=np.full_like(sy, np.inf), where=sx != 0))
    return strength, orientation


def _sigmoid(values: np.ndarray, constants: tuple[float, float, float]) -> np.ndarray:
    """gamma / (1 + exp(kappa (values - centre))): the same operations in the same order, in one
    temporary (the maps are large; fresh temporaries cost page faults)."""
    gamma, kappa, centre = constants
    result = np.subtract(values, centre, out=np.empty(np.shape(values)))  # an array also for 0-d values
    result *= kappa
    np.exp(result, out=result)
    result += 1.0
    return np.divide(gamma, result, out=result)


def edge_preservation(source: tuple[np.ndarray, np.ndarray], fused: tuple[np.ndarray, np.ndarray], *,
                      orientation_modulo_pi: bool = True, equal_strength_scale: float | None = None) -> np.ndarray:
    """Q^XF map: Q_g(G^XF) * Q_a(A^XF) for one source X.

    G^XF = g_F/g_X where g_X > g_F, else g_X/g_F (1 where both are 0: nothing to lose);
    A^XF = 1 - d/(pi/2) with d the orientation difference modulo pi (edges are undirected,
    so opposite gradient directions count as the same orientation).

    Variants (VIFB's ``metricsQabf.m``): ``orientation_modulo_pi=False`` takes d = |alpha_X -
    alpha_F| as it is (A^XF then runs -1..1); ``equal_strength_scale=s`` sets G^XF = s g_F where
    g_X = g_F (that code's branch order, with its images scaled by s = 255 a second time) instead
    of 1.
    """
    strength_x, orientation_x = source
    strength_f, orientation_f = fused
    larger = np.maximum(strength_x, strength_f)
    smaller = np.minimum(strength_x, strength_f)
    relative_strength = np.divide(smaller, larger, out=np.ones_like(larger), where=larger > 0)
    if equal_strength_scale is not None:
        equal = strength_x == strength_f
        relative_strength[equal] = strength_f[equal] * equal_strength_scale
    difference = np.subtract(orientation_x, orientation_f)
    np.abs(difference, out=difference)
    if orientation_modulo_pi:
        difference = np.minimum(difference, np.pi - difference)
    difference /= np.pi / 2
    relative_orientation = np.subtract(1.0, difference, out=difference)
    preservation = _sigmoid(relative_strength, STRENGTH_SIGMOID)
    preservation *= _sigmoid(relative_orientation, ORIENTATION_SIGMOID)
    return preservation


@register_metric(
    "QABF", higher_is_better=True, sources=2, colour="grey", version="1",
    citation="C. S. Xydeas, V. Petrović, Objective image fusion performance measure, Electronics "
             "Letters 36 (4) (2000) 308-309",
    variant="Q^AB/F: 3x3 Sobel (zero-padded 'same'), sigmoids (0.9994,-15,0.5) and (0.9879,-22,0.8), "
            "orientation modulo pi, weights g^1 (F = A = B scores 0.9748)")
@accepts_uint8_grey
def qabf(fused: np.ndarray, sources: list[np.ndarray], *, orientation_modulo_pi: bool = True,
         equal_strength_scale: float | None = None, x_kernel: str = "correlation") -> float:
    """Q^AB/F = sum(Q^AF w_A + Q^BF w_B) / sum(w_A + w_B), w_X = g_X^L with L = 1.

    Strength and orientation preservation per pixel (see :func:`edge_preservation`) with the
    paper's constants. Range [0, 0.9748] (the printed constants cap it below 1; Q^AF for F = A is
    0.97479 everywhere). Defined value: when both sources have no gradient anywhere (all-zero
    images, since zero padding gives any other constant image border edges) the result is
    0.97479, the score of perfect preservation. The maps are computed in strips of rows; the
    sums are taken over whole-image maps, as the reference code does.

    Keyword variants (defaults: the above) are described in :func:`edge_preservation` and
    :func:`sobel_strength_orientation`; VIFB's dialect uses ``orientation_modulo_pi=False,
    equal_strength_scale=255, x_kernel="convolution"``.
    """
    first, second = sources
    levels = [_grey_levels(image) for image in (fused, first, second)]
    if all(image is not None for image in levels):
        totals = _compiled_totals(levels, orientation_modulo_pi, equal_strength_scale, x_kernel)
        return _quotient(totals[0] + totals[2], totals[1] + totals[3])
    options = dict(orientation_modulo_pi=orientation_modulo_pi, equal_strength_scale=equal_strength_scale,
                   x_kernel=x_kernel)
    sums = same_maps(partial(_weighted_preservation, options), [fused, first] if second is first else [fused, first, second],
                     radius=1, count=2 if second is first else 4)
    totals = [float(np.sum(values)) for values in sums]  # Q^XF w_X and w_X, for X = A (and B)
    if second is first:
        totals += totals
    return _quotient(0.0 + totals[0] + totals[2], 0.0 + totals[1] + totals[3])


def _quotient(numerator: float, denominator: float) -> float:
    if denominator == 0:  # no gradient in either source: perfect preservation's score
        return float(_sigmoid(np.array(1.0), STRENGTH_SIGMOID) * _sigmoid(np.array(1.0), ORIENTATION_SIGMOID))
    return float(numerator / denominator)


def _grey_levels(image: np.ndarray) -> np.ndarray | None:
    """``image`` as uint8 when it holds grey levels (uint8, or floats that are integers 0..255, which
    give the same integer Sobel responses), else None."""
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind == "f" and image.size and float(image.min()) >= 0 and float(image.max()) <= 255:
        levels = image.astype(np.uint8)
        if np.array_equal(levels, image):
            return levels
    return None


#: Rows per strip of the compiled path: its 6 maps (arguments and weights, float64) of a strip of a
#: 768-column image take 300 KB and stay in the core's cache between the three passes.
COMPILED_STRIP_ROWS = 8


def _compiled_totals(images: list[np.ndarray], orientation_modulo_pi: bool, equal_strength_scale: float | None,
                     x_kernel: str) -> list[float]:
    """sum(Q^AF w_A), sum(w_A), sum(Q^BF w_B), sum(w_B) of grey levels by the compiled kernels
    (:mod:`fusionbench.metrics.qabf_kernel`: Sobel responses, table lookups and sigmoid arguments in
    one pass), a strip of :data:`COMPILED_STRIP_ROWS` rows at a time; the per-row sums are summed
    once at the end, so the value does not depend on the strips. The sigmoids' exponentials are
    taken between the two kernels by OpenCV's vectorised exp (within an ulp of the C library's;
    the whole takes 40% less time than one kernel calling it)."""
    from . import qabf_kernel

    if x_kernel not in ("correlation", "convolution"):
        raise ValueError(f"x_kernel must be 'correlation' or 'convolution', not {x_kernel!r}")
    strengths, orientations = integer_edge_tables()
    rows, columns = images[0].shape
    row_sums = np.empty((rows, 4))
    sigmoids = np.array(STRENGTH_SIGMOID), np.array(ORIENTATION_SIGMOID)
    height = min(COMPILED_STRIP_ROWS, rows)
    arguments, weights = np.empty((4, height, columns)), np.empty((2, height, columns))
    for start in range(0, rows, height):
        stop = min(start + height, rows)
        if stop - start < height:  # the last strip
            arguments, weights = arguments[:, :stop - start].copy(), weights[:, :stop - start].copy()
        qabf_kernel.sigmoid_arguments(*images, start, stop, strengths, orientations, SOBEL_LIMIT,
                                      x_kernel == "convolution", orientation_modulo_pi,
                                      equal_strength_scale is not None, float(equal_strength_scale or 0.0),
                                      *sigmoids, arguments, weights)
        exponentials = cv2.exp(arguments.reshape(-1, columns)).reshape(arguments.shape)
        qabf_kernel.weighted_row_sums_of_exponentials(exponentials, weights, *sigmoids, row_sums[start:stop])
    return [float(np.sum(row_sums[:, column])) for column in range(4)]


def _weighted_preservation(options: dict, keep: slice, fused: np.ndarray, *sources: np.ndarray) -> list[np.ndarray]:
    """Q^XF w_X and w_X = g_X^L on rows ``keep`` of a strip, for each source X."""
    x_kernel = options["x_kernel"]
    fused_edges = sobel_strength_orientation(fused, keep, x_kernel=x_kernel)
    maps = []
    for source in sources:
        strength, orientation = sobel_strength_orientation(source, keep, x_kernel=x_kernel)
        weight = strength ** WEIGHT_EXPONENT
        maps += [edge_preservation((strength, orientation), fused_edges,
                                   orientation_modulo_pi=options["orientation_modulo_pi"],
                                   equal_strength_scale=options["equal_strength_scale"]) * weight, weight]
    return maps
