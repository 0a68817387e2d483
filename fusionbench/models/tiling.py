"""Tiled IFCNN inference: large images in overlapping tiles, identical to whole-image inference.

IFCNN is fully convolutional with stride 1 and replicate padding. An output pixel depends only on
input pixels within the receptive-field radius ``R = 3 (CONV1 7x7) + 1 (CONV2 3x3) + 1 (CONV3 3x3)
+ 0 (CONV4 1x1) = 5``. A tile cut from the image with a halo of R pixels on every side that lies
inside the image therefore yields its core exactly as the whole image would: the tile's own
(wrong) replicate padding at an interior cut contaminates at most R pixels inward, all within the
discarded halo; along the image's true border the tile border *is* the image border, so the padding
is the original one. Tiles are processed one at a time, so peak memory follows the tile size,
not the image size (each 64-channel float32 feature map is 256 bytes per pixel).
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import torch

#: Receptive-field radius of IFCNN (see the module docstring).
RECEPTIVE_FIELD_RADIUS = 3 + 1 + 1 + 0


def tile_ranges(length: int, tile: int) -> Iterator[tuple[int, int]]:
    """Consecutive ``[start, stop)`` cores of at most ``tile`` pixels covering ``0..length``, balanced in size."""
    count = max(1, -(-length // tile))
    bounds = [round(index * length / count) for index in range(count + 1)]
    for start, stop in zip(bounds[:-1], bounds[1:]):
        yield start, stop


def tiled_forward(forward: Callable[[Sequence[torch.Tensor]], torch.Tensor], inputs: Sequence[torch.Tensor],
                  tile_size: int | None, halo: int = RECEPTIVE_FIELD_RADIUS,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """``forward(inputs)`` computed tile by tile; inputs (B, C, H, W) on any device, result on the CPU.

    ``tile_size`` is the largest core side in pixels (None or larger than the image: one pass).
    Each tile is moved to ``device`` for its forward pass, so the whole image never has to fit there.
    """
    height, width = inputs[0].shape[-2:]
    if tile_size is None or (height <= tile_size and width <= tile_size):
        return forward([image.to(device) for image in inputs]).cpu()
    if tile_size < 1 or halo < RECEPTIVE_FIELD_RADIUS:
        raise ValueError(f"tile_size must be >= 1 and halo >= {RECEPTIVE_FIELD_RADIUS}")
    output = None
    # Every tile is cut at one size (the largest core plus both halos), the edge ones shifted inward:
    # equal shapes let the allocator reuse the same blocks tile after tile. With ragged edge tiles the
    # retained heap fragmented: 2000x3000 pair, tile 768, peak RSS 1.29-2.03 GiB, now 1.05-1.19 GiB.
    row_cores, column_cores = list(tile_ranges(height, tile_size)), list(tile_ranges(width, tile_size))
    window_height = max(stop - start for start, stop in row_cores) + 2 * halo
    window_width = max(stop - start for start, stop in column_cores) + 2 * halo
    for top, bottom in row_cores:
        for left, right in column_cores:
            outer_top, outer_bottom = _window(top, height, window_height, halo)
            outer_left, outer_right = _window(left, width, window_width, halo)
            tile = [image[..., outer_top:outer_bottom, outer_left:outer_right].to(device) for image in inputs]
            result = forward(tile)
            if output is None:
                output = torch.empty(result.shape[:-2] + (height, width), dtype=result.dtype)
            output[..., top:bottom, left:right] = result[..., top - outer_top:bottom - outer_top,
                                                         left - outer_left:right - outer_left].cpu()
            del tile, result
    return output


def _window(start: int, length: int, size: int, halo: int) -> tuple[int, int]:
    """``[outer_start, outer_stop)`` of ``size`` pixels (at most ``length``) holding a core starting at ``start``.

    It begins ``halo`` before the core, or at the image border, or earlier when it would run past the
    far border; ``size`` >= core + 2 * halo keeps at least ``halo`` pixels after the core there too.
    """
    size = min(size, length)
    outer_start = min(max(0, start - halo), length - size)
    return outer_start, outer_start + size
