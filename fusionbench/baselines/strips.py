"""Bounded memory for the baselines on large images: row strips and streamed box filters, values unchanged.

A whole-image float64 temporary costs 8 bytes per pixel, and the baselines hold many at once (GFF
held ~19 of them, 152 bytes per source pixel). Large images are therefore processed in horizontal
strips of full rows (:func:`row_strips`); small ones (at most :data:`WHOLE_IMAGE_PIXELS`) keep the
whole-image code, which is faster there. Every output pixel must come out bit-identical, which holds
for two kinds of steps:

* **Pointwise dot products** (``cv2.filter2D``, ``cv2.sepFilter2D``, ``cv2.pyrDown``/``pyrUp``,
  ``cv2.dilate``, ``rgb_to_grey``): each output is the same fixed sum of its neighbours wherever it is
  computed, so a strip with at least the filter's reach as halo rows gives the whole-image values in
  its core (and the true image edge where the strip touches it). Checked by the tests.
* **Box filters are not** pointwise: ``cv2.boxFilter``/``cv2.blur`` sum each row over the window
  (RowSum), then keep a *running* sum down the columns (ColumnSum), so an output's rounding depends on
  every row above it (an independent strip differs by ~1e-11). :class:`RunningBoxSum` does that
  column pass itself, carrying the running sum from strip to strip in OpenCV's exact operation order,
  after OpenCV's own row pass (:func:`row_pass`, a ``(size, 1)`` box filter). The two agree bit for bit
  with ``cv2.boxFilter`` on the whole image (checked by the tests, border modes constant and replicate).
"""
from __future__ import annotations

from collections import deque
from typing import Iterator

import cv2
import numpy as np

#: Images with at most this many pixels take the whole-image path (faster, no strip bookkeeping).
WHOLE_IMAGE_PIXELS = 1 << 20
#: Target pixels in one strip (core rows x width) where strips are computed with halo rows.
STRIP_PIXELS = 1 << 18
#: Core rows of a strip per halo row, at least (the halo is computed twice: 4 keeps that under half the work).
CORE_PER_HALO = 4
#: Target pixels in one chunk of rows streamed through :class:`RunningBoxSum` (which keeps 2r+1 rows more).
CHUNK_PIXELS = 1 << 16


def use_strips(shape: tuple[int, ...]) -> bool:
    """True when an image of this shape is large enough for the strip path."""
    return shape[0] * shape[1] > WHOLE_IMAGE_PIXELS


def strip_rows(width: int, halo: int = 0, align: int = 1, minimum: int = 16, pixels: int | None = None) -> int:
    """Core rows per strip: about ``pixels`` (default :data:`STRIP_PIXELS`) pixels, at least
    ``CORE_PER_HALO * halo`` rows and ``minimum``, a multiple of ``align``."""
    rows = max(minimum, CORE_PER_HALO * halo, (STRIP_PIXELS if pixels is None else pixels) // max(1, width))
    return -(-rows // align) * align


def row_strips(height: int, rows: int, halo: int = 0) -> Iterator[tuple[int, int, int, int]]:
    """``(start, stop, extended_start, extended_stop)`` of consecutive core strips of ``rows`` rows.

    The extended range adds ``halo`` rows on each side, clipped to the image.
    """
    for start in range(0, height, rows):
        stop = min(height, start + rows)
        yield start, stop, max(0, start - halo), min(height, stop + halo)


def row_pass(planes: np.ndarray, size: int, border: int) -> np.ndarray:
    """OpenCV's row stage of a ``size x size`` box sum: every row summed over ``size`` columns (float64).

    ``planes`` is ``rows x W`` or ``rows x W x C`` (channels summed separately, as separate planes).
    """
    return cv2.boxFilter(planes, cv2.CV_64F, (size, 1), normalize=False, borderType=border)


class RunningBoxSum:
    """The column stage of ``cv2.boxFilter`` (``(2r+1)`` rows), fed rows top to bottom in any chunks.

    OpenCV's ColumnSum on padded rows ``R`` (``r`` border rows above and below: zeros for
    ``BORDER_CONSTANT``, copies of the edge row for ``BORDER_REPLICATE``):
    ``S = R[0] + ... + R[2r-1]`` added in that order from zero; then for each output row ``y``:
    ``s = S + R[y + 2r]``, output ``s`` (times ``scale`` when normalised), ``S = s - R[y]``.
    NumPy does it row by row: on rows of thousands of values the loop is memory-bound, as fast as a
    compiled loop was (Numba's import would also cost ~130 MB and seconds per process).

    :meth:`push` takes the next source rows after :func:`row_pass` and returns the output rows that
    became computable (output row ``y`` needs source row ``y + r``); rows come out in order, all
    ``height`` of them by the time the last source row is pushed.
    """

    def __init__(self, height: int, radius: int, border: int, scale: float | None = None):
        if border not in (cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE):
            raise ValueError("RunningBoxSum supports BORDER_CONSTANT and BORDER_REPLICATE")
        self.height, self.radius, self.size = height, radius, 2 * radius + 1
        self.border, self.scale = border, scale
        self.fed = 0  # source rows pushed
        self.padded = 0  # padded rows consumed
        self.emitted = 0  # output rows returned
        self._window: deque[np.ndarray] = deque()  # padded rows still to be subtracted (views)
        self._sum: np.ndarray | None = None

    def push(self, rows: np.ndarray) -> np.ndarray:
        """Consume source rows (``n x ...``, after :func:`row_pass`); return the new output rows."""
        if self.fed + len(rows) > self.height:
            raise ValueError(f"pushed {self.fed + len(rows)} rows into a box sum of height {self.height}")
        if len(rows) == 0:
            return np.empty(rows.shape)
        padded: list[np.ndarray] = []
        if self.fed == 0:
            padded += [self._edge(rows[0])] * self.radius
        padded += list(rows)
        self.fed += len(rows)
        if self.fed == self.height:
            padded += [self._edge(rows[-1])] * self.radius
        return self._consume(padded, rows.shape[1:])

    def _edge(self, row: np.ndarray) -> np.ndarray:
        return np.zeros(row.shape) if self.border == cv2.BORDER_CONSTANT else row

    def _consume(self, padded: list[np.ndarray], row_shape: tuple[int, ...]) -> np.ndarray:
        warm_up = self.size - 1  # padded rows summed before the first output
        count = max(0, self.padded + len(padded) - max(self.padded, warm_up))
        output = np.empty((count, *row_shape))
        targets = iter(output)
        window, scale = self._window, self.scale
        if self._sum is None:
            self._sum = np.zeros(row_shape)
        total = self._sum
        for row in padded:
            window.append(row)
            if self.padded < warm_up:
                np.add(total, row, out=total)
            else:
                oldest = window.popleft()
                target = next(targets)
                if scale is None:
                    np.add(total, row, out=target)
                    np.subtract(target, oldest, out=total)
                else:
                    np.add(total, row, out=total)
                    np.multiply(total, scale, out=target)
                    np.subtract(total, oldest, out=total)
            self.padded += 1
        self.emitted += count
        return output
