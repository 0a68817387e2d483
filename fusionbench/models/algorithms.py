"""IFCNN as fusionbench algorithms: ``ifcnn-max``, ``ifcnn-mean``, ``ifcnn-sum`` and trained checkpoints.

Importing this module registers the algorithms without importing torch; the network is loaded on
the first ``fuse`` (torch is imported then), so that listing algorithms stays fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError
from ..families import FAMILIES, MULTI_EXPOSURE
from ..registry import register_algorithm
from .checkpoints import check_fusion_rule, discover_trained_checkpoints, official_checkpoint_path
from .preprocessing import (
    channel_affine,
    check_family,
    check_preset,
    enhance_luma,
    from_network_output,
    fuse_chroma,
    grey_network_input,
    merge_ycbcr,
    pair_processing,
    split_ycbcr,
    to_grey,
    to_network_input,
)

VERSION = "1"
CITATION = "Zhang et al., Information Fusion 54 (2020) 99-118"
DEFAULT_TILE_SIZE = 768
_DEVICES = ("auto", "cpu", "cuda")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _as_bool(name: str, value: Any) -> bool:
    """Options may arrive as text from the command line (``--option clahe=false``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"option {name}={value!r} is not a yes/no value (use true or false)")


def _as_tile_size(value: Any) -> int | None:
    if value is None or str(value).strip().lower() in ("none", "0", "off"):
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option tile_size={value!r} is not a whole number of pixels (or 'none')") from None
    if size < 16:
        raise ConfigError(f"option tile_size={value!r} is too small; use at least 16 pixels")
    return size


class IFCNNFusion:
    """IFCNN (Zhang et al. 2020): CNN features fused element-wise (MAX/MEAN/SUM), any number of inputs.

    Options: ``fusion_rule`` (max|mean|sum), ``preprocessing`` (paper|released-demo),
    ``checkpoint`` (None: the official snapshot of the rule; or a path to an official or
    fusionbench checkpoint), ``device`` (auto|cpu|cuda), ``clahe`` (the released demo's
    multi-exposure Y enhancement, default on), ``fast`` (the equivalent fast forward pass),
    ``tile_size`` (largest tile side in pixels; larger images are processed in overlapping
    tiles with identical results). On the CPU the glibc allocator settings of
    :mod:`fusionbench.allocator` matter as much as the network (applied to every algorithm).
    """

    def __init__(self, fusion_rule: str = "max", preprocessing: str = "paper", device: str = "auto",
                 checkpoint: str | None = None, clahe: Any = True, fast: Any = True,
                 tile_size: Any = DEFAULT_TILE_SIZE):
        self.fusion_rule = check_fusion_rule(fusion_rule)
        self.preprocessing = check_preset(preprocessing)
        if str(device).lower().split(":")[0] not in _DEVICES:
            raise ConfigError(f"unknown device {device!r}; valid: {', '.join(_DEVICES)}")
        self.device = str(device).lower()
        self.clahe = _as_bool("clahe", clahe)
        self.fast = _as_bool("fast", fast)
        self.tile_size = _as_tile_size(tile_size)
        if checkpoint in (None, "", "official"):
            self.checkpoint_path = official_checkpoint_path(self.fusion_rule)
        else:
            self.checkpoint_path = Path(checkpoint).expanduser()
            if not self.checkpoint_path.is_file():
                raise ConfigError(f"{checkpoint}: checkpoint file not found; put the file there or pass "
                                  f"checkpoint=PATH to an existing one")
        self._runner = None
        self._metadata: dict[str, Any] | None = None

    def identity(self) -> dict[str, Any]:
        """What decides the output beyond the options: the checkpoint's SHA-256 and the rule."""
        from ..cache_key import file_sha256

        return {"checkpoint_sha256": file_sha256(self.checkpoint_path), "fusion_rule": self.fusion_rule,
                "preprocessing": self.preprocessing, "clahe": self.clahe}

    def runner(self):
        """The loaded network on its device (loaded, and torch imported, on first use)."""
        if self._runner is None:
            from .checkpoints import load_checkpoint
            from .inference import IFCNNRunner

            network, self._metadata = load_checkpoint(self.checkpoint_path, self.fusion_rule)
            self._runner = IFCNNRunner(network, device=self.device, fast=self.fast, tile_size=self.tile_size)
        return self._runner

    def fuse(self, images: Sequence[np.ndarray], family: str | None = None) -> np.ndarray:
        """Fuse N >= 2 uint8 sources (all grey or all RGB); grey in -> grey out.

        ``family`` selects the pre/post-processing (see :mod:`fusionbench.models.preprocessing`);
        None infers it: grey -> infrared-visual, colour -> multi-focus.
        """
        family = check_family(family, images)
        if family == MULTI_EXPOSURE:
            return self._fuse_exposures(images)
        processing = pair_processing(self.preprocessing, family)
        if all(image.ndim == 2 for image in images):  # one plane each, its normalisation folded into CONV1
            output = self.runner().run([grey_network_input(image) for image in images],
                                       channel_affine(processing.normalise))
        else:
            output = self.runner().run([to_network_input(image, processing.normalise) for image in images])
        fused = from_network_output(output, processing.normalise)
        return to_grey(fused, processing.grey_conversion) if images[0].ndim == 2 else fused

    def _fuse_exposures(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Multi-exposure: Y through the network, Cb/Cr by Prabhakar's weighting (see preprocessing)."""
        planes = [split_ycbcr(image) for image in images]
        output = self.runner().run([grey_network_input(luma) for luma, _, _ in planes], channel_affine(False))
        luma = to_grey(from_network_output(output, normalise=False), "opencv")
        if self.clahe:
            luma = enhance_luma(luma)
        if images[0].ndim == 2:
            return luma
        return merge_ycbcr(luma, fuse_chroma([cb for _, cb, _ in planes]), fuse_chroma([cr for _, _, cr in planes]))


def _defaults(fusion_rule: str, checkpoint: str | None = None) -> dict[str, Any]:
    return {"fusion_rule": fusion_rule, "preprocessing": "paper", "device": "auto", "checkpoint": checkpoint,
            "clahe": True, "fast": True, "tile_size": DEFAULT_TILE_SIZE}


def _register(name: str, fusion_rule: str, summary: str, checkpoint: str | None = None) -> None:
    register_algorithm(name, families=FAMILIES, min_inputs=2, colour="any", needs_family=True, version=VERSION,
                       citation=CITATION, summary=summary,
                       defaults=_defaults(fusion_rule, checkpoint))(IFCNNFusion)


def register_official_algorithms() -> None:
    """``ifcnn-max``, ``ifcnn-mean``, ``ifcnn-sum`` with the official released checkpoints."""
    for rule in ("max", "mean", "sum"):
        _register(f"ifcnn-{rule}", rule, f"IFCNN, {rule.upper()} fusion rule, official released checkpoint")


def register_trained_checkpoints(directories: list[Path] | None = None) -> list[str]:
    """Register every fusionbench checkpoint found (see :func:`checkpoints.discover_trained_checkpoints`).

    Variant ``ifcnn-max`` -> ``ifcnn-max-trained`` (etc.), ``baseline-max``/``baseline-mean`` keep
    their names. Returns the names registered.
    """
    names = []
    for name, path, metadata in discover_trained_checkpoints(directories):
        iteration = metadata.get("iteration")
        summary = (f"IFCNN, {metadata['fusion_rule'].upper()} rule, trained checkpoint {path.name}"
                   + (f" (iteration {iteration})" if iteration is not None else ""))
        _register(name, metadata["fusion_rule"], summary, checkpoint=str(path))
        names.append(name)
    return names
