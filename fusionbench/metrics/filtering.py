"""Windowed filtering shared by the metrics: MATLAB ``fspecial``/``filter2`` semantics in float64.

Every window used by the reference code is separable (Gaussian or box), so filtering is two 1-D
passes with OpenCV (double-precision accumulation). ``'valid'`` means MATLAB's
``filter2(w, x, 'valid')``: only the positions where the whole window lies inside the image, an
(M-K+1) x (N-K+1) result.

Two things keep the metrics fast and their memory bounded without changing a single bit:

* :func:`exact_samples`: grey levels (uint8) are handed to OpenCV as float32. Integers below 2^24
  (grey levels and their products, at most 255^2) are exact in float32, and OpenCV's float32 ->
  float64 filters promote each sample to double before the multiply-adds, so the result equals
  filtering the float64 image bit for bit, from half the memory.
* :func:`valid_strips`: a 'valid' map is computed in strips of whole rows (each strip's input
  holds the window's K-1 extra rows), about :data:`STRIP_PIXELS` pixels at a time. Every output
  value is computed from the same samples by the same operations as on the whole image (OpenCV
  filters each row and column identically wherever it lies), so the map is identical, while the
  temporaries stay in the cache (about twice as fast) and memory grows with the strip, not the
  image. Means are taken over the assembled map, so reductions see the same array as before.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from ..errors import MetricError

#: Pixels per strip of a windowed computation (float64 temporaries of 512 KiB: cache-sized).
STRIP_PIXELS = 1 << 16


def exact_samples(image: np.ndarray) -> np.ndarray:
    """The image as the filters take it: uint8 as float32 (exact, see the module docstring),
    float32 and float64 as they are, anything else as float64."""
    if image.dtype == np.uint8:
        return image.astype(np.float32)
    if image.dtype in (np.float32, np.float64):
        return image
    return image.astype(np.float64)


def valid_strips(shape: tuple[int, ...], size: int, step: int = 1) -> Iterator[tuple[slice, slice]]:
    """``(output_rows, input_rows)`` of the 'valid' grid of a ``size`` x ``size`` window, strip
    by strip: filtering ``image[input_rows]`` with :func:`filter_valid` gives ``output_rows`` of
    the whole image's 'valid' map (full width). Strips start at multiples of ``step``."""
    check_window_fits(shape, size)
    rows = shape[0] - size + 1
    height = max(-(-STRIP_PIXELS // max(shape[1], 1)), 2 * (size - 1), 8)
    height += -height % step
    for start in range(0, rows, height):
        stop = min(start + height, rows)
        yield slice(start, stop), slice(start, stop + size - 1)


def same_strips(rows: int, columns: int, radius: int,
                strip_pixels: int | None = None) -> Iterator[tuple[slice, slice]]:
    """``(output_rows, input_rows)`` of a 'same'-size filter with zero padding whose window reaches
    ``radius`` rows up and down, strip by strip: filtering ``image[input_rows]`` with a zero
    border and keeping its rows ``output_rows`` (shifted by ``input_rows.start``) gives those rows
    of the whole image's result. Where a strip meets the image's top or bottom the zero border is
    the image's own; elsewhere the strip holds the ``radius`` rows the window needs."""
    strip_pixels = STRIP_PIXELS if strip_pixels is None else strip_pixels
    height = max(-(-strip_pixels // max(columns, 1)), 2 * radius, 8)
    for start in range(0, rows, height):
        stop = min(start + height, rows)
        yield slice(start, stop), slice(max(start - radius, 0), min(stop + radius, rows))


def same_maps(compute: Callable[..., tuple[np.ndarray, ...]], images: Sequence[np.ndarray], radius: int,
              count: int = 1, strip_pixels: int | None = None) -> list[np.ndarray]:
    """``count`` float64 maps of the images' size, assembled strip by strip (:func:`same_strips`)
    from ``compute(keep, *image_strips)``, which returns the maps' values on rows ``keep`` of the
    strips (a tuple of ``count`` arrays). Identical to computing on whole images."""
    maps = [np.empty(images[0].shape[:2]) for _ in range(count)]
    for output_rows, input_rows in same_strips(images[0].shape[0], images[0].shape[1], radius, strip_pixels):
        keep = slice(output_rows.start - input_rows.start, output_rows.stop - input_rows.start)
        for target, values in zip(maps, compute(keep, *(image[input_rows] for image in images))):
            target[output_rows] = values
    return maps


@lru_cache(maxsize=None)
def gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)`` (normalised to sum 1).

    The 2-D MATLAB window is the outer product of this vector with itself; ``fspecial`` also
    zeroes entries below ``eps * max``, which only touches weights below 1e-16 and is ignored.
    """
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    kernel = np.exp(-(offsets ** 2) / (2.0 * sigma * sigma))
    kernel /= kernel.sum()
    kernel.setflags(write=False)
    return kernel


def filter_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``filter2(outer(kernel, kernel), image, 'valid')`` for a symmetric 1-D ``kernel``."""
    size = kernel.shape[0]
    check_window_fits(image.shape, size)
    radius_low = (size - 1) // 2
    radius_high = size - 1 - radius_low
    filtered = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    return filtered[radius_low:image.shape[0] - radius_high, radius_low:image.shape[1] - radius_high]


def box_sum_valid(image: np.ndarray, size: int) -> np.ndarray:
    """Sum over every ``size`` x ``size`` window lying inside the image (the 'valid' grid).

    Computed with running sums (OpenCV's unnormalised box filter), so sums of integer (or
    dyadic) values are exact in float64.
    """
    check_window_fits(image.shape, size)
    low = (size - 1) // 2
    high = size - 1 - low
    sums = cv2.boxFilter(image, cv2.CV_64F, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return sums[low:image.shape[0] - high, low:image.shape[1] - high]


def check_window_fits(shape: tuple[int, ...], size: int) -> None:
    """Refuse images smaller than the window (the reference code would return an empty map)."""
    if shape[0] < size or shape[1] < size:
        raise MetricError(f"image of {shape[1]}x{shape[0]} pixels is smaller than the metric's "
                          f"{size}x{size} window")


def filter_decimate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``filter_valid(image, kernel)[::2, ::2]`` (odd rows and columns, 1-based), in strips."""
    size = kernel.shape[0]
    check_window_fits(image.shape, size)
    rows, columns = image.shape[0] - size + 1, image.shape[1] - size + 1
    decimated = np.empty(((rows + 1) // 2, (columns + 1) // 2))
    for output_rows, input_rows in valid_strips(image.shape, size, step=2):
        filtered = filter_valid(exact_samples(image[input_rows]), kernel)
        decimated[output_rows.start // 2:(output_rows.stop + 1) // 2] = filtered[::2, ::2]
    return decimated


class WindowStatistics:
    """Window-weighted mean and population variance of one image (or strip) on the 'valid' grid.

    ``variance = E[x^2] - E[x]^2`` exactly as the reference codes form it (no clamping here; each
    metric applies its own guard). Computed once per image and shared by every pair it is in.
    Grey levels are filtered as exact float32 samples (:func:`exact_samples`), so products of two
    images are exact as well.
    """

    def __init__(self, image: np.ndarray, kernel: np.ndarray):
        self.image = exact_samples(image)
        self.kernel = kernel
        self.mean = filter_valid(self.image, kernel)
        self.mean_square = self.mean * self.mean  # also in every SSIM denominator
        self.variance = filter_valid(self.image * self.image, kernel)
        self.variance -= self.mean_square

    @classmethod
    def from_maps(cls, image: np.ndarray, kernel: np.ndarray, mean: np.ndarray,
                  variance: np.ndarray) -> "WindowStatistics":
        """Statistics whose mean and variance were computed before (e.g. kept by content); the
        image (strip) is still needed for covariances. The maps may be read-only."""
        statistics = cls.__new__(cls)
        statistics.image = exact_samples(image)
        statistics.kernel = kernel
        statistics.mean = mean
        statistics.mean_square = mean * mean
        statistics.variance = variance
        return statistics

    def covariance(self, other: "WindowStatistics") -> np.ndarray:
        """Window-weighted population covariance with another image's statistics."""
        covariance = filter_valid(self.image * other.image, self.kernel)
        covariance -= self.mean * other.mean
        return covariance


def local_moments(x: np.ndarray, y: np.ndarray, kernel: np.ndarray):
    """``(mu_x, mu_y, var_x, var_y, cov_xy)``: window-weighted moments on the 'valid' grid."""
    stats_x, stats_y = WindowStatistics(x, kernel), WindowStatistics(y, kernel)
    return stats_x.mean, stats_y.mean, stats_x.variance, stats_y.variance, stats_x.covariance(stats_y)


def valid_maps(compute: Callable[..., tuple[np.ndarray, ...]], images: Sequence[np.ndarray], size: int,
               count: int = 1, with_rows: bool = False) -> list[np.ndarray]:
    """``count`` float64 maps on the 'valid' grid of a ``size`` x ``size`` window, assembled strip
    by strip (:func:`valid_strips`) from ``compute(*image_strips)``, which returns the maps'
    rows for those strips (a tuple of ``count`` arrays). Identical to computing on whole images.
    ``with_rows``: ``compute(output_rows, *image_strips)``, to read maps kept for the whole grid."""
    rows, columns = images[0].shape[0] - size + 1, images[0].shape[1] - size + 1
    maps = [np.empty((max(rows, 0), max(columns, 0))) for _ in range(count)]
    for output_rows, input_rows in valid_strips(images[0].shape, size):
        strips = [image[input_rows] for image in images]
        for target, values in zip(maps, compute(output_rows, *strips) if with_rows else compute(*strips)):
            target[output_rows] = values
    return maps
