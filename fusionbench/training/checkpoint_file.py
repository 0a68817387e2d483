"""The trained-checkpoint file format shared with the inference side (``fusionbench.models``).

``torch.save`` of a dict::

    {"format": "fusionbench-ifcnn", "format_version": 1, "variant": "ifcnn-max", "fusion_rule": "max",
     "state_dict": IFCNN.state_dict(), "iteration": completed iterations over all stages,
     "stage": "pre-training" | "fine-training" (stage of the last completed iteration),
     "recipe": Recipe.as_dict() (every number, incl. the input normalisation mean/std),
     "data": one-line description of the training data, "code_version": "0.1.0+git<commit>",
     "optimizer": SGD state or None, "rng": data-generator state or None, ...}

Released (committed) checkpoints drop ``optimizer``/``rng`` and the AMP scaler state (~0.35 MB).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import torch

from ..errors import ConfigError, DataNotFoundError

FORMAT = "fusionbench-ifcnn"
FORMAT_VERSION = 1
TRAINING_STATE_KEYS = ("optimizer", "rng", "scaler")


def code_version() -> str:
    """``fusionbench.__version__`` plus the git commit of the source tree when it is a git checkout."""
    from .. import __version__

    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).resolve().parent,
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+git{commit}" if commit else __version__


def save_checkpoint(payload: dict, path: Path) -> None:
    """Atomic ``torch.save`` (temporary file + rename), so an interrupted run never leaves a torn file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(payload, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint dict of this format; :class:`ConfigError` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"the checkpoint {path} does not exist.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ConfigError(f"{path} is not a readable PyTorch checkpoint ({type(error).__name__}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a {FORMAT} checkpoint.")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path} has format version {payload.get('format_version')}, expected {FORMAT_VERSION}.")
    return payload


def release_checkpoint(source: Path, target: Path) -> dict:
    """Copy ``source`` to ``target`` without the training state (optimizer, RNG, AMP scaler)."""
    payload = load_checkpoint(source)
    released = {key: value for key, value in payload.items() if key not in TRAINING_STATE_KEYS}
    released.update({key: None for key in TRAINING_STATE_KEYS if key in payload})
    save_checkpoint(released, target)
    return released
