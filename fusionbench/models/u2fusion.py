"""U2Fusion (Xu et al., TPAMI 2022) with the authors' TensorFlow 1 checkpoint, run in PyTorch: ``u2fusion``.

Importing this module registers the algorithm without importing torch; the checkpoint is fetched
(SHA-256 checked), read by :mod:`.tf_checkpoint` (no TensorFlow) and the network built on the
first ``fuse``.

What the reference run (VIF-Benchmark's ``U2Fusion/U2Fusion.py`` wrapper, as run in
Nonex111/vif_benchmark) did, and what ``fuse`` therefore does (sources arrive visible first, infrared
second; the network takes infrared first):

* Network input: both images as Pillow ``convert('L')`` planes (``scipy.misc.imread(mode='L')``:
  ``(19595 R + 38470 G + 7471 B + 2^15) >> 16`` for RGB), each ``/255``.
* Output rescaling (option ``rescale``): ``"minmax"`` (default) is what ``scipy.misc.imsave`` did
  to the float output in SciPy <= 1.1 (``bytescale``): the image's minimum to 0, its maximum to
  255, ``(x - min) * (255 / (max - min)) + 0.5`` truncated, in float32 (a constant output becomes
  0). The reference PNGs agree with it and not with clipping (see the model card). ``"clip"``:
  ``x255`` of the network's [0, 1] output, rounded half up — no stretch.
* Colour visible image: that grey becomes Y with the visible image's Cb and Cr from Pillow's
  ``convert('YCbCr')``, back with Pillow's ``convert('RGB')`` (Pillow's 8-bit JPEG/BT.601 tables).
  A grey visible image gives the grey result.

The network is cut into overlapping tiles of at most ``tile_size`` pixels (10-pixel halo: ten 3x3
convolutions, each reflect-padded), with the whole image's result; the min-max stretch is applied to
the assembled float output, so tiling does not change it. On the CPU the network runs its Winograd
forward pass (option ``fast``, default on; see :mod:`.u2fusion_network`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..datasets.fetching import RemoteFile
from ..errors import InputMismatchError
from ..families import INFRARED_VISUAL
from ..registry import register_algorithm
from .algorithms import _as_bool
from .colour_spaces import rgb_to_single_channel, unit_planes
from .pretrained import check_choice, check_device, check_tile_size, infrared_visual_pair

VERSION = "1"
CITATION = "Xu et al., U2Fusion: A Unified Unsupervised Image Fusion Network, IEEE TPAMI 44(1) (2022) 502-518"
REPOSITORY = "hanna-xu/U2Fusion"
COMMIT = "0a5882140df67b3e0b588e1f2233e18cf944f1a4"
_RAW = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/model/"

#: The authors' checkpoint (prefix ``model.ckpt``) at the pinned commit; the ``.meta`` graph is not needed.
CHECKPOINT_INDEX = RemoteFile("models/u2fusion/weights/model.ckpt.index", _RAW + "model.ckpt.index",
                              "15b7d283a1de8f616cc42978346bd24d47a9c380d624370368b956beb593014e", 905)
CHECKPOINT_DATA = RemoteFile("models/u2fusion/weights/model.ckpt.data-00000-of-00001",
                             _RAW + "model.ckpt.data-00000-of-00001",
                             "e50cada8d4ec92f2577ad5db5d212fba521dffb35d04e00a20364b43512c64c8", 2_636_868)
RESCALE_MODES = ("minmax", "clip")
#: 640: a 640x480 pair in one pass; the fast pass needs about 3 KB per pixel of a tile, so a
#: 3000x2000 pair peaks under 2 GiB (process included).
DEFAULT_TILE_SIZE = 640
#: Pillow ``convert('L')`` (see :mod:`.colour_spaces`), as ``scipy.misc.imread(mode='L')`` did.
GREY_CONVERSION = "pillow-L"


def scipy_bytescale(values: np.ndarray) -> np.ndarray:
    """float32 -> uint8 as SciPy <= 1.1 ``bytescale`` (what ``scipy.misc.imsave`` applied to float images).

    ``low, high`` = the image's extremes (float32); ``scale = float32(255 / (high - low))`` (the
    span counts as 1 when 0); ``((x - low) * scale).clip(0, 255) + 0.5`` truncated, all in float32
    as NumPy 1.x computed it (a float64 scalar did not promote a float32 array).
    """
    values = np.asarray(values, dtype=np.float32)
    low, high = values.min(), values.max()
    span = high - low
    scale = np.float32(255.0 / float(span if span != 0 else np.float32(1)))
    stretched = (values - low) * scale
    return (np.clip(stretched, np.float32(0), np.float32(255)) + np.float32(0.5)).astype(np.uint8)


def clip_to_uint8(values: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 ``x255`` rounded half up, values outside [0, 1] clipped."""
    values = np.clip(np.asarray(values, dtype=np.float32), np.float32(0), np.float32(1))
    return (values * np.float32(255) + np.float32(0.5)).astype(np.uint8)


def recolour(luma: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Fused Y with the visible image's Cb, Cr (Pillow's YCbCr), back to RGB with Pillow."""
    from PIL import Image

    _, cb, cr = Image.fromarray(np.ascontiguousarray(visible), "RGB").convert("YCbCr").split()
    merged = Image.merge("YCbCr", (Image.fromarray(np.ascontiguousarray(luma), "L"), cb, cr))
    return np.asarray(merged.convert("RGB"))


class U2FusionFusion:
    """U2Fusion with the authors' checkpoint; see the module docstring for the processing.

    Options: ``rescale`` (minmax | clip), ``device`` (auto | cpu | cuda), ``tile_size`` (largest tile
    side; None for whole images), ``fast`` (on the CPU, the Winograd forward pass of
    :meth:`.U2FusionNetwork.fast`; same result to float32 rounding).
    """

    def __init__(self, rescale: str = "minmax", device: str = "auto", tile_size: Any = DEFAULT_TILE_SIZE,
                 fast: Any = True):
        self.rescale = check_choice("rescale", rescale, RESCALE_MODES)
        self.device = check_device(device)
        self.tile_size = check_tile_size(tile_size)
        self.fast = _as_bool("fast", fast)
        self._runner = None

    def identity(self) -> dict[str, Any]:
        """What decides the output beyond the name: the checkpoint files' SHA-256 and the rescaling."""
        return {"weights_sha256": [CHECKPOINT_INDEX.sha256, CHECKPOINT_DATA.sha256], "rescale": self.rescale,
                "grey_conversion": GREY_CONVERSION}

    def runner(self):
        """The network on its device, tiled (checkpoint fetched and read, torch imported, on first use)."""
        if self._runner is None:
            from ..datasets.fetching import fetch
            from .pretrained import TiledRunner
            from .tf_checkpoint import read_tf_checkpoint
            from .u2fusion_network import RECEPTIVE_FIELD_RADIUS, U2FusionNetwork

            index = fetch(CHECKPOINT_INDEX)
            network = U2FusionNetwork(read_tf_checkpoint(index, [fetch(CHECKPOINT_DATA)]), str(index), fast=self.fast)
            self._runner = TiledRunner(lambda tiles: network(*tiles), self.device, self.tile_size,
                                       RECEPTIVE_FIELD_RADIUS)
            network.to(self._runner.device)
        return self._runner

    def fuse_grey(self, visible: np.ndarray, infrared: np.ndarray) -> np.ndarray:
        """The fused uint8 grey plane of two uint8 grey planes (the network takes infrared first)."""
        output = self.runner().run([unit_planes(infrared), unit_planes(visible)])[0]
        return scipy_bytescale(output) if self.rescale == "minmax" else clip_to_uint8(output)

    def fuse(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Fuse ``[visible, infrared]`` uint8 images (grey or RGB) into a uint8 image."""
        visible, infrared = infrared_visual_pair(images, "u2fusion")
        if min(visible.shape[:2]) < 2:
            raise InputMismatchError(f"u2fusion: images must be at least 2x2 pixels (reflect padding), got "
                                     f"{visible.shape[1]}x{visible.shape[0]}")
        luma = self.fuse_grey(rgb_to_single_channel(visible, GREY_CONVERSION),
                              rgb_to_single_channel(infrared, GREY_CONVERSION))
        return recolour(luma, visible) if visible.ndim == 3 else luma


register_algorithm("u2fusion", families=(INFRARED_VISUAL,), min_inputs=2, max_inputs=2, colour="any",
                   version=VERSION, citation=CITATION,
                   summary="U2Fusion (Xu et al. 2022), authors' TensorFlow checkpoint; sources visible, infrared; "
                           "min-max output stretch as VIF-Benchmark's run saved it",
                   defaults={"rescale": "minmax", "device": "auto", "tile_size": DEFAULT_TILE_SIZE,
                             "fast": True})(U2FusionFusion)
