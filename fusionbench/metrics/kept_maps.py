"""Maps that depend on the sources alone, kept by content while a worker measures the fused images
of one item.

A run plans its tasks item by item, so a worker measures the fused images of many methods on the
same sources one after another. A map that depends on the sources only (a source's window mean and
variance, MEF-SSIM's desired-patch coefficients, ISSIM's source similarity) is then the same for
all of them: it is kept in :mod:`fusionbench.metrics.image_memo`, keyed by the content of the
images it was computed from, so a hit returns exactly what the computation returned for equal
input and no value can change.

Only images of at most :data:`KEPT_PIXELS` pixels are kept: whole maps are stored, and all of an
item's kept maps must fit the memo's budget together with what one fused image adds, or the
metrics evict each other's maps every fused image (least recently used goes first, and a fused
image's maps are younger than the sources' maps used before them). A pair's kept maps take about
155 bytes per pixel (some 19 float64 maps over the metrics' scales), Q_CB's about 50 more (its
sources' and one fused image's contrasts and spectra). Larger images are computed strip by strip
as before, so memory stays bounded on large pairs.
"""
from __future__ import annotations

from typing import Callable, Hashable, Sequence

import numpy as np

from . import image_memo
from .filtering import WindowStatistics, check_window_fits, gaussian_kernel_1d, valid_strips

#: Largest image (pixels) whose source-only maps are kept: 240 bytes per pixel of the memo's
#: budget, a margin over the ~205 used (279,620 pixels: 520x520 and 568x444 pairs, not 640x480).
KEPT_PIXELS = image_memo.MEMO_BYTES // 240


def worth_keeping(shape: tuple[int, ...]) -> bool:
    """True when maps of an image of this shape are kept."""
    return shape[0] * shape[1] <= KEPT_PIXELS


def image_keys(images: Sequence[np.ndarray]) -> tuple:
    """The content key of each image (:func:`~fusionbench.metrics.image_memo.content_key`: dtype,
    shape and SHA-256 of the bytes), computed once per metric call."""
    return tuple(image_memo.content_key(image) for image in images)


def kept(kind: Hashable, keys: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, or what it returned before for ``kind`` and images of equal content
    (``keys`` from :func:`image_keys`). Read-only."""
    return image_memo.memoized(kind, None, compute, keys)


def whole_valid_maps(compute: Callable[..., Sequence[np.ndarray]], images: Sequence[np.ndarray], size: int,
                     count: int) -> np.ndarray:
    """``count`` maps on the 'valid' grid of a ``size`` x ``size`` window as one
    ``(count, rows, columns)`` array, assembled strip by strip from ``compute(*image_strips)``
    (as :func:`~fusionbench.metrics.filtering.valid_maps`: identical to whole images)."""
    check_window_fits(images[0].shape, size)
    rows, columns = images[0].shape[0] - size + 1, images[0].shape[1] - size + 1
    maps = np.empty((count, rows, columns))
    for output_rows, input_rows in valid_strips(images[0].shape, size):
        for target, values in zip(maps, compute(*(image[input_rows] for image in images))):
            target[output_rows] = values
    return maps


def window_moments(image: np.ndarray, keys: tuple, size: int, sigma: float) -> np.ndarray:
    """The window-weighted mean and variance (:class:`~fusionbench.metrics.filtering.WindowStatistics`,
    Gaussian ``size`` x ``size``, ``sigma``) of an image on the 'valid' grid, ``(2, rows,
    columns)``, kept by ``keys``: the image's content key, and anything more that names it (e.g.
    a pyramid level of the image that ``keys[0]`` is the key of)."""
    kernel = gaussian_kernel_1d(size, sigma)

    def compute():
        return whole_valid_maps(lambda strip: _moments(WindowStatistics(strip, kernel)), [image], size, 2)

    return kept(("window_moments", size, sigma), keys, compute)


def _moments(statistics: WindowStatistics) -> tuple[np.ndarray, np.ndarray]:
    return statistics.mean, statistics.variance
