"""Plumbing shared by the networks run from their authors' published weights (SeAFusion, DIDFuse).

Nothing here imports torch at import time (the algorithms register without it); the functions
that need it import it when called. What is shared:

* option parsing (``device``, ``tile_size``) with the same messages as IFCNN's options;
* :func:`load_weights`: a :class:`~fusionbench.datasets.fetching.RemoteFile` found in a mirror,
  the cache or downloaded (SHA-256 checked), then read as plain data only (``weights_only=True``);
* :func:`weight_misfits`: why a file's weights do not fit a network (missing, unexpected, non-tensor
  and misshaped entries), in the same words for every network;
* :func:`infrared_visual_pair`: fusionbench gives infrared-visual sources visible first, infrared
  second; the pair is checked and returned in that order;
* :class:`TiledRunner`: a forward function run on a device, in overlapping tiles when the image
  is larger than the tile size (outputs unchanged, see :mod:`fusionbench.models.tiling`), on CUDA
  with true float32 convolutions and matrix products (no TF32).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, InputMismatchError

DEVICES = ("auto", "cpu", "cuda")


def check_device(device: Any) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (lower-cased), else a ConfigError."""
    text = str(device).strip().lower()
    if text.split(":")[0] not in DEVICES or (text.startswith("auto") and text != "auto"):
        raise ConfigError(f"unknown device {device!r}; valid: {', '.join(DEVICES)}")
    return text


def check_tile_size(value: Any, minimum: int = 64) -> int | None:
    """Largest tile side in pixels, or None (``none``/``off``/``0``) for whole-image inference."""
    if value is None or str(value).strip().lower() in ("none", "0", "off"):
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option tile_size={value!r} is not a whole number of pixels (or 'none')") from None
    if size < minimum:
        raise ConfigError(f"option tile_size={value!r} is too small; use at least {minimum} pixels")
    return size


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` (lower-cased) if it is one of ``choices``, else a ConfigError listing them."""
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError(f"unknown {name} {value!r}; valid: {', '.join(choices)}")
    return text


def load_weights(remote) -> Any:
    """The content of a published weight file, fetched and SHA-256-checked, read as plain data only."""
    from ..datasets.fetching import fetch
    from .checkpoints import read_plain_checkpoint

    return read_plain_checkpoint(fetch(remote))


#: Names of a kind of misfit listed in an error message, at most.
_NAMES_LISTED = 6


def weight_misfits(shapes: Mapping[str, tuple[int, ...] | None], expected: Mapping[str, tuple[int, ...]], *,
                   noun: str = "keys", unexpected: Sequence[str] = ()) -> list[str]:
    """Why weights do not fit a network: one phrase per kind of misfit, none when they fit.

    ``shapes``: the entries the file holds with their shapes (None for an entry that is not a tensor
    or array); ``expected``: the network's entries and shapes; ``unexpected``: entries the caller
    counts as foreign (what a format may carry besides the weights differs by network).
    """
    missing = [name for name in expected if name not in shapes]
    not_tensors = [name for name in expected if name in shapes and shapes[name] is None]
    misshaped = [f"{name} {shapes[name]} (expected {shape})" for name, shape in expected.items()
                 if shapes.get(name) is not None and shapes[name] != shape]
    kinds = ((f"missing {noun} ", missing), (f"unexpected {noun} ", list(unexpected)),
             ("not tensors: ", not_tensors), ("wrong shapes ", misshaped))
    return [label + _first_names(names) for label, names in kinds if names]


def _first_names(names: list[str]) -> str:
    more = " and more" if len(names) > _NAMES_LISTED else ""
    return ", ".join(names[:_NAMES_LISTED]) + more


def infrared_visual_pair(images: Sequence[np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    """(visible, infrared) from fusionbench's source order (visible first), checked."""
    if len(images) != 2:
        raise InputMismatchError(f"{name} fuses exactly 2 sources (visible, infrared), got {len(images)}")
    visible, infrared = images
    if visible.shape[:2] != infrared.shape[:2]:
        raise InputMismatchError(f"{name}: the visible image is {visible.shape[1]}x{visible.shape[0]} but the "
                                 f"infrared image is {infrared.shape[1]}x{infrared.shape[0]}")
    for label, image in (("visible", visible), ("infrared", infrared)):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise InputMismatchError(f"{name}: the {label} image must be uint8 grey (H, W) or RGB (H, W, 3), "
                                     f"got {image.dtype} {image.shape}")
    return visible, infrared


class TiledRunner:
    """``forward(list of (1, C, h, w) tensors) -> (1, C', h, w)`` on a device, tiled for large images.

    ``halo`` must be at least the network's receptive-field radius (stride-1 networks only): each
    tile is cut with that many extra pixels on every side that lies inside the image, and only its
    core is kept, so the result equals whole-image inference.
    """

    def __init__(self, forward: Callable, device: str, tile_size: int | None, halo: int):
        from .inference import resolve_device

        self.forward = forward
        self.device = resolve_device(device)
        self.tile_size = tile_size
        self.halo = halo

    def _guarded(self, tiles):
        import torch

        from .inference import exact_float32_convolutions

        with torch.inference_mode(), exact_float32_convolutions(self.device), _exact_float32_matmul(self.device):
            return self.forward(tiles)

    def run(self, planes: Sequence[np.ndarray]) -> np.ndarray:
        """float32 (H, W) planes in -> the network's float32 (C', H, W) output on the CPU."""
        import torch

        from .tiling import tiled_forward

        inputs = [torch.from_numpy(np.ascontiguousarray(plane, dtype=np.float32))[None, None] for plane in planes]
        output = tiled_forward(self._guarded, inputs, self.tile_size, halo=self.halo, device=self.device)
        return output[0].numpy()


@contextmanager
def _exact_float32_matmul(device) -> Iterator[None]:
    """On CUDA, matrix products in true float32 for the duration (as for convolutions: no TF32)."""
    import torch

    if device.type != "cuda":
        yield
        return
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


def channels_last(tensor):
    """A 4-D tensor with explicit channels-last strides, even with one channel or a 1x1 window.

    ``contiguous(memory_format=torch.channels_last)`` leaves a (N, 1, H, W) tensor (or a (C, 1, 3, 3)
    weight) in NCHW strides, as both layouts fit it; a convolution fed such a tensor and weight
    then answers in NCHW, and the next one copies it back (measured: a 0.6 s copy in DIDFuse).
    """
    import torch

    if tensor.ndim != 4:
        return tensor
    return torch.empty_like(tensor, memory_format=torch.channels_last).copy_(tensor)


def move_tensors(value, device):
    """Tensors in nested tuples/lists/dicts moved to ``device``, 4-D ones in channels-last order."""
    import torch

    if isinstance(value, torch.Tensor):
        return channels_last(value.to(device))
    if isinstance(value, (tuple, list)):
        return type(value)(move_tensors(item, device) for item in value)
    if isinstance(value, dict):
        return {key: move_tensors(item, device) for key, item in value.items()}
    return value
