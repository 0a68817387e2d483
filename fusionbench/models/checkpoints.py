"""IFCNN checkpoints: the official released snapshots and the checkpoints the in-repo training writes.

Two file formats are accepted by :func:`load_checkpoint`:

* **official** — a bare PyTorch state dict as released in ``uzeful/IFCNN`` (``Code/snapshots/
  IFCNN-{MAX,MEAN,SUM}.pth``); the fusion rule is not stored in the file, so it comes from the
  caller (the algorithm name) or from the file name.
* **fusionbench-ifcnn** (``format_version`` 1) — a dict written by :mod:`fusionbench.training` with
  ``variant``, ``fusion_rule``, ``state_dict`` (same keys as the official files), ``iteration``,
  ``recipe``, ``data`` and ``code_version``; optimiser state in it is ignored here.

Weights that do not fit the architecture of :class:`~fusionbench.models.ifcnn_network.IFCNN`
raise :class:`~fusionbench.errors.ConfigError` naming the missing, unexpected and mis-shaped keys.

Every checkpoint is read as plain data only (:func:`read_plain_checkpoint`: tensors, numbers, text,
lists, dicts): a file from a stranger cannot run code when it is loaded or listed. Every error about
a file's content starts with the file's path.
"""
from __future__ import annotations

import io
import os
import pickle
import pickletools
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, DataNotFoundError, FusionBenchError

CHECKPOINT_FORMAT = "fusionbench-ifcnn"
SUPPORTED_FORMAT_VERSIONS = (1,)
#: Where trained checkpoints are looked for besides ``<repository>/checkpoints``.
CHECKPOINTS_ENVIRONMENT_VARIABLE = "FUSIONBENCH_CHECKPOINTS"
FUSION_RULES = ("max", "mean", "sum")
#: Trained variants and the algorithm name each registers as.
TRAINED_VARIANT_NAMES = {
    "ifcnn-max": "ifcnn-max-trained",
    "ifcnn-mean": "ifcnn-mean-trained",
    "ifcnn-sum": "ifcnn-sum-trained",
    "baseline-max": "baseline-max",
    "baseline-mean": "baseline-mean",
}
#: Largest ``data.pkl`` (bytes) that :func:`read_checkpoint_summary` reads itself; IFCNN's is ~3 KB.
SUMMARY_PICKLE_LIMIT = 1 << 20
# BatchNorm's batch counter is not in the official files and plays no part in inference.
_OPTIONAL_KEY_SUFFIXES = ("num_batches_tracked",)


def check_fusion_rule(rule: str) -> str:
    """``rule`` lower-cased if it is one of :data:`FUSION_RULES`, else a ConfigError listing them."""
    folded = str(rule).lower()
    if folded not in FUSION_RULES:
        raise ConfigError(f"unknown fusion rule {rule!r}; valid: {', '.join(FUSION_RULES)}")
    return folded


def official_checkpoint_mirror_path(rule: str) -> str:
    """Mirror path of the official snapshot for a fusion rule, e.g. ``ifcnn-official/snapshots/IFCNN-MAX.pth``."""
    return f"ifcnn-official/snapshots/IFCNN-{check_fusion_rule(rule).upper()}.pth"


def official_checkpoint_path(rule: str, *, download: bool = True) -> Path:
    """Local, SHA-256-verified path of the official IFCNN-{MAX,MEAN,SUM} snapshot.

    Searched in the data directories (``--data-dir`` / ``FUSIONBENCH_DATA``), then the cache, then
    downloaded from the pinned upstream commit. A missing file raises DataNotFoundError saying where
    to put it; a corrupt one ChecksumError.
    """
    from ..datasets.registry import upstream_files

    mirror_path = official_checkpoint_mirror_path(rule)
    remote = upstream_files().get(mirror_path)
    if remote is None:  # the packaged file list lost the entry: a packaging bug, still say what is missing
        raise DataNotFoundError(f"{mirror_path}: not listed in fusionbench/datasets/upstream_files.csv")
    from ..datasets.fetching import fetch

    return fetch(remote, download=download)


def read_checkpoint_file(path: str | os.PathLike) -> Mapping[str, Any]:
    """The raw content of a checkpoint file: a dict read by :func:`read_plain_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: checkpoint not found; put the file there or pass another "
                                f"checkpoint=PATH")
    content = read_plain_checkpoint(path)
    if not isinstance(content, Mapping):
        raise ConfigError(f"{path}: checkpoint holds a {type(content).__name__}, expected a state dict "
                          f"or a {CHECKPOINT_FORMAT} dict")
    return content


def read_plain_checkpoint(path: str | os.PathLike) -> Any:
    """``torch.load`` of ``path`` on the CPU restricted to tensors and plain data (``weights_only=True``).

    The only way this package reads a PyTorch file. A pickle that names any other Python object
    (whose loading could run code), or a corrupt, truncated or non-PyTorch file, raises ConfigError
    starting with the path; nothing in the file is executed. torch's own message is not passed on:
    it suggests lifting the weights-only restriction, the very thing that would run the file's code.
    """
    import torch

    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it does not write itself; the error says enough, on one line.
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated/corrupt/pickled files
        raise ConfigError(f"{path}: {_unreadable_reason(error)}; replace the file") from None


def _unreadable_reason(error: Exception) -> str:
    """Why torch's restricted loader refused a file, in one line without torch's advice."""
    named = re.search(r"GLOBAL ([\w.]+)", str(error))
    if named:
        return (f"not a readable PyTorch checkpoint: it names the Python object {named.group(1)}, which is "
                f"refused because loading it could run code (only tensors and plain data are accepted)")
    return (f"not a readable PyTorch checkpoint ({type(error).__name__}): corrupt, truncated, or holding "
            f"more than tensors and plain data")


def checkpoint_metadata(content: Mapping[str, Any], path: str | os.PathLike) -> dict[str, Any]:
    """Format, variant and fusion rule of a loaded checkpoint (rule None when the file does not say)."""
    if content.get("format") == CHECKPOINT_FORMAT:
        version = content.get("format_version")
        if version not in SUPPORTED_FORMAT_VERSIONS:
            raise ConfigError(f"{path}: {CHECKPOINT_FORMAT} format_version {version!r} is not supported "
                              f"(supported: {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))})")
        if not isinstance(content.get("state_dict"), Mapping):
            raise ConfigError(f"{path}: {CHECKPOINT_FORMAT} checkpoint has no 'state_dict'")
        return {"format": CHECKPOINT_FORMAT, "format_version": version,
                "variant": _optional_field(content, "variant", str, path),
                "fusion_rule": _stored_fusion_rule(content, path),
                "iteration": _optional_field(content, "iteration", int, path), "recipe": content.get("recipe"),
                "data": _optional_field(content, "data", str, path),
                "code_version": _optional_field(content, "code_version", str, path)}
    if "format" in content and not _looks_like_state_dict(content):
        raise ConfigError(f"{path}: unknown checkpoint format {content.get('format')!r}; "
                          f"expected {CHECKPOINT_FORMAT!r} or an official IFCNN state dict")
    return {"format": "official", "variant": None, "fusion_rule": _rule_from_file_name(path)}


def _optional_field(content: Mapping[str, Any], key: str, kind: type, path) -> Any:
    """``content[key]`` if absent/None or of ``kind``, else ConfigError.

    The values end up in algorithm descriptions and messages: a crafted file must not smuggle in a
    structure whose text rendering never ends (pickles can share sub-lists, so a few bytes can
    describe an exponentially large nesting).
    """
    value = content.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise ConfigError(f"{path}: {CHECKPOINT_FORMAT} field {key!r} is a {type(value).__name__}, "
                          f"expected {kind.__name__}")
    return value


def _stored_fusion_rule(content: Mapping[str, Any], path) -> str | None:
    """The fusion rule a fusionbench checkpoint declares (None if it declares none)."""
    rule = _optional_field(content, "fusion_rule", str, path)
    if rule is None:
        return None
    try:
        return check_fusion_rule(rule)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def _looks_like_state_dict(content: Mapping[str, Any]) -> bool:
    import torch

    return all(isinstance(value, torch.Tensor) for value in content.values())


def _rule_from_file_name(path: str | os.PathLike) -> str | None:
    """``IFCNN-MAX.pth`` -> ``max``: the official files carry their rule only in their names."""
    match = re.search(r"(?i)(?:^|[-_])(max|mean|sum)(?:[-_.]|$)", Path(path).name)
    return match.group(1).lower() if match else None


def state_dict_of(content: Mapping[str, Any]) -> Mapping[str, Any]:
    """The network weights inside a checkpoint (the dict itself for official files)."""
    return content["state_dict"] if content.get("format") == CHECKPOINT_FORMAT else content


def load_weights(network, state_dict: Mapping[str, Any], source: str) -> None:
    """Copy ``state_dict`` into ``network``, refusing weights that do not fit.

    Raises ConfigError naming every missing, unexpected and mis-shaped key (``source`` names the
    file). BatchNorm ``num_batches_tracked`` counters may be absent (the official files lack them).
    """
    import torch

    expected = network.state_dict()
    not_tensors = [str(key) for key, value in state_dict.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise ConfigError(f"{source}: weights must be tensors, but {', '.join(not_tensors[:5])}"
                          f"{' and more' if len(not_tensors) > 5 else ''} are not")
    missing = [key for key in expected if key not in state_dict and not key.endswith(_OPTIONAL_KEY_SUFFIXES)]
    unexpected = [key for key in state_dict if key not in expected]
    misshaped = [f"{key} {tuple(state_dict[key].shape)} (expected {tuple(expected[key].shape)})"
                 for key in expected if key in state_dict and hasattr(state_dict[key], "shape")
                 and tuple(state_dict[key].shape) != tuple(expected[key].shape)]
    problems = []
    if missing:
        problems.append(f"missing keys {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {', '.join(unexpected)}")
    if misshaped:
        problems.append(f"wrong shapes {', '.join(misshaped)}")
    if problems:
        raise ConfigError(f"{source}: weights do not fit the IFCNN architecture: {'; '.join(problems)}")
    network.load_state_dict(dict(state_dict), strict=False)


def load_checkpoint(path: str | os.PathLike, fusion_rule: str | None = None):
    """``(IFCNN network in eval mode on the CPU, metadata dict)`` from an official or trained checkpoint.

    The fusion rule is, in order: ``fusion_rule`` if given, the rule stored in a fusionbench
    checkpoint, the rule in an official file's name (``IFCNN-MAX.pth``); otherwise ConfigError.
    ``metadata`` adds ``path`` and ``sha256`` (the file's, for cache keys) to :func:`checkpoint_metadata`.
    """
    from ..cache_key import file_sha256
    from .ifcnn_network import IFCNN

    content = read_checkpoint_file(path)
    metadata = checkpoint_metadata(content, path)
    rule = check_fusion_rule(fusion_rule) if fusion_rule is not None else metadata["fusion_rule"]
    if rule is None:
        raise ConfigError(f"{path}: the checkpoint does not say its fusion rule; pass one of "
                          f"{', '.join(FUSION_RULES)}")
    network = IFCNN(fusion_rule=rule)
    load_weights(network, state_dict_of(content), str(path))
    network.eval()
    metadata.update(fusion_rule=rule, path=str(path), sha256=file_sha256(path))
    return network, metadata


def trained_checkpoint_directories() -> list[Path]:
    """``$FUSIONBENCH_CHECKPOINTS`` (os.pathsep list) then ``<repository>/checkpoints`` if it exists."""
    import fusionbench

    value = os.environ.get(CHECKPOINTS_ENVIRONMENT_VARIABLE, "")
    directories = [Path(part).expanduser() for part in value.split(os.pathsep) if part]
    directories.append(Path(fusionbench.__file__).resolve().parents[1] / "checkpoints")
    return [directory for directory in directories if directory.is_dir()]


class _SummaryUnpickler(pickle.Unpickler):
    """Reads a ``torch.save`` pickle without torch: tensors become None, nothing else is built.

    Every global goes through :meth:`find_class` (GLOBAL, STACK_GLOBAL, INST, OBJ and the copyreg
    extension codes alike), so this is the whole allow-list: ``collections.OrderedDict`` becomes a
    :class:`_SummaryDict`, every ``torch.*`` global (tensor rebuilders, storage types, dtypes) a
    placeholder that returns None, and any other global is refused -- reading a file cannot run code.
    Tensor data (persistent ids) is never read.
    """

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return _SummaryDict
        if module == "torch" or module.startswith("torch."):
            return _no_tensor
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a checkpoint summary")

    def persistent_load(self, persistent_id):
        return None


class _SummaryDict(dict):
    """An ``OrderedDict`` of the summary, without attributes.

    A real OrderedDict would let the pickle's BUILD opcode set instance attributes -- ``get`` or
    ``keys`` replaced by whatever the file likes -- so that the caller's ``content.get(...)`` does
    something else. Here BUILD lands in :meth:`__setstate__`, which drops the state (torch keeps
    only ``_metadata`` there, which a summary does not need), and ``__slots__`` leaves no ``__dict__``.
    """

    __slots__ = ()

    def __setstate__(self, state) -> None:
        return None


def _no_tensor(*arguments, **keywords) -> None:
    return None


def _summary_pickle(archive: zipfile.ZipFile) -> bytes:
    """The bytes of the archive's one ``data.pkl``, if small and free of copyreg extension codes.

    The size limit bounds the memory a crafted archive can claim (torch writes the pickle
    uncompressed, a few KB for IFCNN). Extension codes (EXT1/2/4 opcodes) are refused because the
    C unpickler resolves a code it has met before from a process-wide cache, without asking
    :meth:`_SummaryUnpickler.find_class`. Anything refused here is read by torch's loader instead.
    """
    pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") or name == "data.pkl"]
    if len(pickles) != 1:
        raise ValueError("no single data.pkl")
    if archive.getinfo(pickles[0]).file_size > SUMMARY_PICKLE_LIMIT:
        raise ValueError("data.pkl too large for a summary")
    data = archive.read(pickles[0])
    if any(opcode.name.startswith("EXT") for opcode, _, _ in pickletools.genops(data)):
        raise pickle.UnpicklingError("copyreg extension codes are not allowed in a checkpoint summary")
    return data


def read_checkpoint_summary(path: str | os.PathLike) -> Mapping[str, Any]:
    """A checkpoint's top-level content with tensors as None, read without importing torch.

    Used to register trained checkpoints cheaply when the algorithm list is built. Files in another
    layout (legacy, non-zip) fall back to :func:`read_checkpoint_file`.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            data = _summary_pickle(archive)
        content = _SummaryUnpickler(io.BytesIO(data)).load()
        if not isinstance(content, Mapping):
            raise ValueError("not a dict")
        return content
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, AttributeError,
            TypeError, IndexError, KeyError):
        return read_checkpoint_file(path)


def discover_trained_checkpoints(directories: list[Path] | None = None) -> list[tuple[str, Path, dict]]:
    """``(algorithm name, path, metadata)`` for every readable fusionbench checkpoint (``*.pt``).

    Files that are not fusionbench checkpoints, or are unreadable, are skipped: a stray file in a
    checkpoint folder must not stop the tool from listing its algorithms. When several files declare
    the same variant, an earlier directory wins (``$FUSIONBENCH_CHECKPOINTS`` before the repository's)
    and within a directory the highest ``iteration`` (ties: the first file name).
    """
    found: dict[str, tuple[str, Path, dict]] = {}
    for directory in directories if directories is not None else trained_checkpoint_directories():
        in_directory: dict[str, tuple[str, Path, dict]] = {}
        for path in sorted(directory.glob("*.pt")):
            try:
                content = read_checkpoint_summary(path)
                if content.get("format") != CHECKPOINT_FORMAT:
                    continue
                metadata = checkpoint_metadata(content, path)
            except FusionBenchError:
                continue
            name = TRAINED_VARIANT_NAMES.get(str(metadata.get("variant")))
            if name is None or metadata["fusion_rule"] is None:
                continue
            previous = in_directory.get(name)
            if previous is None or _iteration(metadata) > _iteration(previous[2]):
                in_directory[name] = (name, path.resolve(), metadata)
        for name, entry in in_directory.items():
            found.setdefault(name, entry)
    return list(found.values())


def _iteration(metadata: dict) -> int:
    iteration = metadata.get("iteration")
    return iteration if isinstance(iteration, int) else -1
