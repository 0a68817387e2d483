"""TarDAL (Liu et al., CVPR 2022) with the authors' released generators: ``tardal``, ``tardal+``, ``tardal++``.

Importing this module registers the three algorithms without importing torch; the weights are
fetched (SHA-256 checked) and the network built on the first ``fuse``.

What the reference runs did, and what ``fuse`` therefore does (sources arrive visible first,
infrared second; the network takes infrared first):

* Network input: the infrared plane (a grey image; RGB with equal channels gives that channel,
  other RGB OpenCV's grey) and the visible image's OpenCV ``COLOR_BGR2GRAY`` plane, each ``/255``.
* Output: ``tanh`` clipped to [0, 1], ``x255`` and truncated to uint8 (``astype``) — the fused grey.
* Colour visible image: that grey becomes Y, with the visible image's Cr and Cb from OpenCV's
  8-bit ``COLOR_BGR2YCrCb``, back to RGB with ``COLOR_YCrCb2BGR`` (OpenCV's fixed-point
  conversions; the result is RGB even when the visible image's channels are equal).
  A grey visible image gives the grey result.

Option ``batch_norm``: ``"image"`` normalises with each image's own statistics (PyTorch training
mode, batch of one) — how the authors' notebook ran ``tardal.pt`` (the default for ``tardal``);
``"running"`` uses the stored running statistics (``eval()``), the notebook's mode for ``tardal+``
and ``tardal++`` and the mode of the VIF-Benchmark run of ``tardal++`` (their default). ``tardal.pt``
with running statistics is far from the notebook's image (5 % of values within +-1): its running
statistics do not fit its weights.

Large images: with running statistics an image larger than ``tile_size`` is processed in
overlapping tiles (8-pixel halo: eight 3x3 convolutions), with the whole image's result. With image
statistics an image up to ``tile_size`` is processed at once (about 1.8 KB per pixel at the peak);
a larger one first has each BatchNorm's statistics gathered over all tiles (six passes, each up to
that layer, about 3.3 times the work of one pass), then every tile is fused with them fixed — the
whole image's result to float rounding, in memory bounded by the tile size.

On the CPU the generator runs its Winograd forward pass (option ``fast``, default on; see
:mod:`.tardal_network`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..datasets.fetching import RemoteFile
from ..errors import ConfigError
from ..families import INFRARED_VISUAL
from ..registry import register_algorithm
from .algorithms import _as_bool
from .colour_spaces import rgb_to_single_channel, unit_planes
from .pretrained import check_choice, check_device, check_tile_size, infrared_visual_pair

VERSION = "1"
CITATION = ("Liu et al., Target-aware Dual Adversarial Learning and a Multi-scenario Multi-modality Benchmark "
            "to Fuse Infrared and Visible for Object Detection, CVPR 2022")
REPOSITORY = "JinyuanLiu-CV/TarDAL"
COMMIT = "8ef276f6559b4aa4c696f77b7c623db3148e64d8"
_RAW = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/weights/"

#: The authors' generator weights at the pinned commit ('+' written %2B in the URLs).
WEIGHTS: dict[str, RemoteFile] = {
    "tardal": RemoteFile("models/tardal/weights/tardal.pt", _RAW + "tardal.pt",
                         "e0fa61e25cffa9fb14ff17b47ea7ba237a6e8c6f37e1b9b115d63354ff0f13e1", 1_203_451),
    "tardal+": RemoteFile("models/tardal/weights/tardal+.pt", _RAW + "tardal%2B.pt",
                          "cff3756548b511e3e415616debc557cdc85b3bb19393ca158cac8d08f232897c", 1_201_819),
    "tardal++": RemoteFile("models/tardal/weights/tardal++.pt", _RAW + "tardal%2B%2B.pt",
                           "7009d125e36db043d6918d9358e10c6dca7fdf2dd08ada09c5ecd294f45f98c5", 1_201_819),
}
#: BatchNorm mode of each variant's reference run (see the module docstring).
DEFAULT_BATCH_NORM = {"tardal": "image", "tardal+": "running", "tardal++": "running"}
BATCH_NORM_MODES = ("image", "running")
#: 640: a 640x480 pair in one pass; the fast pass needs about 1.7 KB per pixel of a tile, so a
#: 3000x2000 pair peaks under 2 GiB (process included).
DEFAULT_TILE_SIZE = 640
#: OpenCV ``COLOR_BGR2GRAY`` (see :mod:`.colour_spaces`), for the visible image and an RGB infrared one.
GREY_CONVERSION = "opencv-gray"
_SUMMARIES = {
    "tardal": "TarDAL, authors' tardal.pt (BatchNorm on image statistics, as the authors' notebook ran it)",
    "tardal+": "TarDAL+, authors' tardal+.pt (BatchNorm running statistics)",
    "tardal++": "TarDAL++, authors' tardal++.pt (BatchNorm running statistics, as VIF-Benchmark ran it)",
}


def recolour(luma: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Fused Y with the visible image's Cr, Cb (OpenCV 8-bit YCrCb), back to RGB."""
    import cv2

    ycrcb = cv2.cvtColor(np.ascontiguousarray(visible), cv2.COLOR_RGB2YCrCb)
    ycrcb[..., 0] = luma
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)


class TarDALFusion:
    """TarDAL's generator with the authors' weights; see the module docstring for the processing.

    Options: ``variant`` (tardal | tardal+ | tardal++: which weights), ``batch_norm`` (image | running;
    default: the variant's reference mode), ``device`` (auto | cpu | cuda), ``tile_size`` (largest
    tile side; None for whole images), ``fast`` (on the CPU, the Winograd
    forward pass of :meth:`.TarDALGenerator.fast`; same result to float32 rounding).
    """

    def __init__(self, variant: str = "tardal", batch_norm: str | None = None, device: str = "auto",
                 tile_size: Any = DEFAULT_TILE_SIZE, fast: Any = True):
        self.variant = check_choice("TarDAL variant", variant, tuple(WEIGHTS))
        self.batch_norm = DEFAULT_BATCH_NORM[self.variant] if batch_norm in (None, "", "default") else \
            check_choice("batch_norm", batch_norm, BATCH_NORM_MODES)
        self.device = check_device(device)
        self.tile_size = check_tile_size(tile_size)
        self.fast = _as_bool("fast", fast)
        self._generator = None

    def identity(self) -> dict[str, Any]:
        """What decides the output beyond the name: the weights' SHA-256 and the BatchNorm mode."""
        return {"weights_sha256": [WEIGHTS[self.variant].sha256], "variant": self.variant,
                "batch_norm": self.batch_norm, "grey_conversion": GREY_CONVERSION}

    def generator(self):
        """The network on its device (weights fetched, torch imported, on first use)."""
        if self._generator is None:
            from .inference import resolve_device
            from .pretrained import load_weights
            from .tardal_network import TarDALGenerator

            remote = WEIGHTS[self.variant]
            content = load_weights(remote)
            if not isinstance(content, dict):
                raise ConfigError(f"{remote.file_name}: holds a {type(content).__name__}, expected a state dict")
            generator = TarDALGenerator(content, self.batch_norm, remote.file_name, fast=self.fast)
            self._generator = generator.to(resolve_device(self.device))
        return self._generator

    def fuse_grey(self, visible: np.ndarray, infrared: np.ndarray) -> np.ndarray:
        """The fused uint8 grey plane of two uint8 grey planes (the network takes infrared first)."""
        from .pretrained import TiledRunner
        from .tardal_network import RECEPTIVE_FIELD_RADIUS

        generator = self.generator()
        planes = [unit_planes(infrared), unit_planes(visible)]
        whole = self.tile_size is None or max(visible.shape) <= self.tile_size
        # Image statistics of an image larger than a tile: gathered first, then fixed for every tile.
        statistics = self._tiled_statistics(planes) if generator.normalised_steps and not whole else None
        runner = TiledRunner(lambda tiles: generator(*tiles, statistics=statistics), self.device,
                             None if whole else self.tile_size, RECEPTIVE_FIELD_RADIUS)
        output = runner.run(planes)[0]
        return (np.clip(output, np.float32(0), np.float32(1)) * np.float32(255)).astype(np.uint8)

    def _tiled_statistics(self, planes: list[np.ndarray]) -> dict:
        """Each image-statistics BatchNorm's mean and variance over the whole image, gathered tile by tile.

        One pass over the tiles per BatchNorm (six), each running the network up to that layer's
        convolution with the statistics already known and summing its output over the tile cores
        (float64): the statistics of the whole image, in bounded memory, for about 3.3 times the
        work of one pass.
        """
        import torch

        from .inference import exact_float32_convolutions
        from .tardal_network import RECEPTIVE_FIELD_RADIUS, statistics_of
        from .tiling import tile_ranges

        generator = self.generator()
        height, width = planes[0].shape
        tensors = [torch.from_numpy(np.ascontiguousarray(plane))[None, None] for plane in planes]
        halo = RECEPTIVE_FIELD_RADIUS
        statistics: dict = {}
        rows, columns = list(tile_ranges(height, self.tile_size)), list(tile_ranges(width, self.tile_size))
        # Every window of one size (edge windows shifted inward), as in tiled_forward: reuses memory.
        window_height = min(height, max(bottom - top for top, bottom in rows) + 2 * halo)
        window_width = min(width, max(right - left for left, right in columns) + 2 * halo)
        for step in generator.normalised_steps:
            sums = 0.0
            for top, bottom in rows:
                for left, right in columns:
                    upper = min(max(0, top - halo), height - window_height)
                    first = min(max(0, left - halo), width - window_width)
                    tiles = [tensor[..., upper:upper + window_height, first:first + window_width].to(generator.device)
                             for tensor in tensors]
                    with torch.inference_mode(), exact_float32_convolutions(generator.device):
                        raw = generator(*tiles, statistics=statistics, until=step)
                    core = raw[0, :, top - upper:bottom - upper, left - first:right - first].double()
                    totals = torch.stack([core.sum(dim=(1, 2)), (core * core).sum(dim=(1, 2))], dim=1)
                    sums = sums + totals.cpu().numpy()
            statistics[step] = statistics_of(sums, height * width)
        return statistics

    def fuse(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Fuse ``[visible, infrared]`` uint8 images (grey or RGB) into a uint8 image."""
        visible, infrared = infrared_visual_pair(images, self.variant)
        luma = self.fuse_grey(rgb_to_single_channel(visible, GREY_CONVERSION),
                              rgb_to_single_channel(infrared, GREY_CONVERSION))
        return recolour(luma, visible) if visible.ndim == 3 else luma


for _variant in WEIGHTS:
    register_algorithm(_variant, families=(INFRARED_VISUAL,), min_inputs=2, max_inputs=2, colour="any",
                       version=VERSION, citation=CITATION, summary=_SUMMARIES[_variant],
                       defaults={"variant": _variant, "batch_norm": DEFAULT_BATCH_NORM[_variant], "device": "auto",
                                 "tile_size": DEFAULT_TILE_SIZE, "fast": True})(TarDALFusion)
