"""Running a loaded IFCNN on NumPy planes: device choice, fast path, tiling (imports torch)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch

from ..errors import ConfigError
from .fast_inference import FastIFCNN
from .ifcnn_network import IFCNN
from .tiling import tiled_forward

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a ConfigError."""
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.split(":")[0] not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}; valid: {', '.join(DEVICES)}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but PyTorch sees no CUDA GPU; use device=cpu or auto")
    return torch.device(name)


@contextmanager
def exact_float32_convolutions(device: torch.device) -> Iterator[None]:
    """On CUDA, run cuDNN convolutions in true float32 rather than TF32 for the duration.

    PyTorch lets cuDNN use TF32 (10-bit mantissa) for float32 convolutions by default, which moved
    IFCNN's outputs by up to 3e-3 against the CPU on an H200 (float32: 3e-6), and the metric values
    with them; a benchmark must give the same numbers on every device. At IFCNN's size the GPU is
    fast either way (2.4 ms against 1.2 ms per 520x520 pair, see benchmarks/ifcnn.py).
    """
    if device.type != "cuda":
        yield
        return
    previous = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = previous


class IFCNNRunner:
    """A network ready to fuse float32 (3, H, W) planes on one device.

    ``fast=True`` uses :class:`FastIFCNN` (outputs within 1e-4 of the plain network);
    ``tile_size`` bounds the tile side so that large images do not exhaust memory.
    """

    def __init__(self, network: IFCNN, device: str = "auto", fast: bool = True, tile_size: int | None = 768):
        self.device = resolve_device(device)
        network = network.eval()
        self.model = (FastIFCNN(network) if fast else network).to(self.device).eval()
        self.tile_size = tile_size

    def _forward(self, inputs: Sequence[torch.Tensor], affine: tuple[torch.Tensor, torch.Tensor] | None
                 ) -> torch.Tensor:
        with torch.inference_mode(), exact_float32_convolutions(self.device):
            if affine is None:
                return self.model(list(inputs))
            if isinstance(self.model, FastIFCNN):
                return self.model(list(inputs), channel_affine=affine)
            scale, shift = (value.to(inputs[0].device).view(1, 3, 1, 1) for value in affine)
            return self.model([image * scale + shift for image in inputs])

    def run(self, planes: Sequence[np.ndarray], channel_affine: tuple[np.ndarray, np.ndarray] | None = None
            ) -> np.ndarray:
        """Fused float32 (3, H, W) output of the network for N float32 (3, H, W) inputs.

        With ``channel_affine = (scale, shift)`` the inputs are single planes (1, H, W) standing for
        the three channels ``plane * scale[c] + shift[c]`` (see ``preprocessing.channel_affine``).
        """
        inputs = [torch.from_numpy(np.ascontiguousarray(plane, dtype=np.float32))[None] for plane in planes]
        affine = None if channel_affine is None else tuple(
            torch.from_numpy(np.asarray(value, dtype=np.float32)) for value in channel_affine)
        output = tiled_forward(lambda tiles: self._forward(tiles, affine), inputs, self.tile_size, device=self.device)
        return output[0].numpy()
