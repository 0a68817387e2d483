"""The trained-checkpoint file format shared with the inference side (``fusionbench.models``).

``torch.save`` of a dict::

    {"format": "fusionbench-ifcnn", "format_version": 1, "variant": "ifcnn-max", "fusion_rule": "max",
     "state_dict": IFCNN.state_dict(), "iteration": completed iterations over all stages,
     "stage": "pre-training" | "fine-training" (stage of the last completed iteration),
     "recipe": Recipe.as_dict() (every number, incl. the input normalisation mean/std),
     "data": one-line description of the training data, "code_version": "0.1.0+git<commit>",
     "optimizer": SGD state or None, "rng": data-generator state or None, ...}

Released (committed) checkpoints drop ``optimizer``/``rng`` and the AMP scaler state (~0.35 MB).

Everything in the file is a tensor or plain data (dicts, lists, tuples, text, numbers, booleans, None):
the SGD state is tensors and numbers, the data generator's state a uint8 tensor, the AMP scaler's state
numbers. So the file is read with ``weights_only=True`` and a file from a stranger -- a ``last.pt``
given to ``--resume``, a file given to ``--init-from`` -- cannot run code; anything else, and any
field of the wrong type, is a :class:`ConfigError` whose message starts with the file's path.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import torch

from ..errors import ConfigError, DataNotFoundError

FORMAT = "fusionbench-ifcnn"
FORMAT_VERSION = 1
#: Fields every checkpoint has, and their types.
FIELD_TYPES = {"variant": str, "fusion_rule": str, "state_dict": dict, "iteration": int, "stage": str,
               "recipe": dict, "data": str, "code_version": str}
#: Training state: present in training checkpoints, None in released ones.
TRAINING_STATE_TYPES = {"optimizer": dict, "rng": torch.Tensor, "scaler": dict}
TRAINING_STATE_KEYS = tuple(TRAINING_STATE_TYPES)


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
    """A checkpoint dict of this format, read as plain data only; :class:`ConfigError` for anything else."""
    from ..models.checkpoints import read_plain_checkpoint

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such checkpoint file.")
    payload = read_plain_checkpoint(path)
    check_payload(payload, path)
    return payload


def check_payload(payload, path: Path) -> None:
    """Refuse (ConfigError naming ``path``) a payload that is not this format with fields of the right types.

    The trainer indexes and converts these fields; checking them here turns a crafted or damaged file
    into one clear message instead of a traceback from deep inside the training loop.
    """
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a {FORMAT} checkpoint.")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: format version {payload.get('format_version')!r}, expected {FORMAT_VERSION}.")
    for key, kind in FIELD_TYPES.items():
        _check_field(payload, key, kind, path, required=True)
    for key, kind in TRAINING_STATE_TYPES.items():
        _check_field(payload, key, kind, path, required=False)
    if payload["iteration"] < 0:
        raise ConfigError(f"{path}: iteration {payload['iteration']} is negative.")
    _check_state_dict(payload["state_dict"], path)
    _check_generator_state(payload.get("rng"), path)


def _check_field(payload: dict, key: str, kind: type, path: Path, required: bool) -> None:
    value = payload.get(key)
    if value is None and not required:
        return
    # bool is an int subclass: an iteration of True is a damaged file, not iteration 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        found = "missing" if key not in payload else f"a {type(value).__name__}"
        raise ConfigError(f"{path}: field {key!r} is {found}, expected {kind.__name__}.")


def _check_state_dict(state_dict: dict, path: Path) -> None:
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ConfigError(f"{path}: state_dict entry {str(key)[:80]!r} is not a named tensor.")


def _check_generator_state(state, path: Path) -> None:
    """``torch.Generator.get_state()`` is a flat uint8 tensor; anything else cannot be restored."""
    if state is not None and (state.dtype != torch.uint8 or state.dim() != 1):
        raise ConfigError(f"{path}: rng is a {state.dtype} tensor of {state.dim()} dimensions, "
                          f"expected a flat uint8 generator state.")


def release_checkpoint(source: Path, target: Path) -> dict:
    """Copy ``source`` to ``target`` without the training state (optimizer, RNG, AMP scaler)."""
    payload = load_checkpoint(source)
    released = {key: value for key, value in payload.items() if key not in TRAINING_STATE_KEYS}
    released.update({key: None for key in TRAINING_STATE_KEYS if key in payload})
    save_checkpoint(released, target)
    return released
