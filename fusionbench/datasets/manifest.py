"""Users' own datasets: a folder of images with a small TOML manifest, no code.

``FOLDER/fusionbench-dataset.toml``::

    name = "my-pairs"                # the dataset's name in tables and run directories
    family = "multi-focus"           # multi-focus | infrared-visual | medical | multi-exposure
    title = "Two phone-camera focus stacks"          # optional
    citation = "..."                 # optional
    licence = "CC BY 4.0"            # optional

    # Either list the items, sources in the order the algorithms receive them ...
    [[items]]
    name = "desk"
    sources = ["desk-near.jpg", "desk-far.jpg"]

    # ... or group the folder's files by a regular expression whose group ``item`` names the
    # item (sources sorted by file name):
    [grouping]
    pattern = '(?P<item>.+)-(near|far)\\.jpg'

Paths are relative to the folder. A source may also be ``{file = "a.png", sha256 = "..."}`` to
have its bytes checked. ``fusionbench run --dataset FOLDER`` (or a manifest path) uses it.

A manifest may come from a stranger, so the dataset and item names must be safe path components
(:func:`fusionbench.path_safety.check_name`), unique (also ignoring case), and every source must
resolve — symbolic links followed — inside the dataset folder, unless the user allows otherwise
(``--allow-outside-sources``, :func:`allow_outside_sources`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..families import FAMILIES
from ..path_safety import check_name, is_inside, refuse_case_twins
from .fetching import LocalFile

MANIFEST_NAME = "fusionbench-dataset.toml"

#: A manifest's sources must lie inside its folder unless the user said otherwise (one setting per
#: process, like the data directories: the CLI sets it from --allow-outside-sources).
_OUTSIDE_SOURCES = {"allowed": False}


def allow_outside_sources(allowed: bool = True) -> None:
    """Let manifests name sources outside their folder (absolute paths, ``../``, outward links)."""
    _OUTSIDE_SOURCES["allowed"] = bool(allowed)


def manifest_path(location: str | Path) -> Path | None:
    """The manifest of a folder (or the file itself), or None when there is none."""
    path = Path(location).expanduser()
    if path.is_dir() and (path / MANIFEST_NAME).is_file():
        return path / MANIFEST_NAME
    if path.is_file() and path.suffix == ".toml":
        return path
    return None


def load_manifest(location: str | Path):
    """A :class:`~fusionbench.datasets.registry.Dataset` from a folder with a manifest."""
    import tomllib

    from .registry import Dataset, Item

    path = manifest_path(location)
    if path is None:
        raise ConfigError(f"{location}: no {MANIFEST_NAME} found (a dataset folder needs one)")
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    folder = path.parent
    name = check_name(_required_text(manifest, "name", path), "dataset name", str(path))
    family = _required_text(manifest, "family", path)
    if family not in FAMILIES:
        raise ConfigError(f"{path}: family {family!r} is not one of {', '.join(FAMILIES)}")
    if "items" in manifest:
        entries = manifest["items"] if isinstance(manifest["items"], list) else []
        if not all(isinstance(entry, dict) for entry in entries):
            raise ConfigError(f"{path}: [[items]] entries must be tables with a name and sources")
        names = [_required_text(entry, "name", path) for entry in entries]
        refuse_case_twins(names, "item", str(path))
        groups = {item: [_source(folder, source, path) for source in _list(entry.get("sources", []), path)]
                  for item, entry in zip(names, entries)}
    elif "grouping" in manifest:
        groups = _group_by_pattern(folder, manifest["grouping"], path)
    else:
        raise ConfigError(f"{path}: give either [[items]] with their sources or [grouping] with a pattern")
    if not groups:
        raise ConfigError(f"{path}: the manifest defines no items")
    for item_name in groups:
        check_name(item_name, "item name", str(path))
    refuse_case_twins(groups, "item", str(path))
    for item_name, sources in groups.items():
        if len(sources) < 2:
            raise ConfigError(f"{path}: item {item_name!r} has {len(sources)} source(s); fusion needs at least 2")
    items = tuple(Item(name, item_name, family, tuple(sources)) for item_name, sources in groups.items())
    return Dataset(name, family, str(manifest.get("title", name)), str(manifest.get("citation", "")),
                   str(manifest.get("licence", manifest.get("license", ""))), items)


def _required_text(table: dict, key: str, path: Path) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: '{key}' must be a non-empty string")
    return value.strip()


def _list(value: Any, path: Path) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{path}: 'sources' must be a list of file names, got {type(value).__name__}")
    return value


def _source(folder: Path, entry: Any, path: Path) -> LocalFile:
    if isinstance(entry, str):
        return _inside(folder, LocalFile(folder / entry), entry, path)
    if isinstance(entry, dict) and isinstance(entry.get("file"), str):
        digest = entry.get("sha256")
        if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-fA-F]{64}", digest)):
            raise ConfigError(f"{path}: sha256 of {entry['file']!r} must be 64 hexadecimal digits")
        return _inside(folder, LocalFile(folder / entry["file"], digest.lower() if digest else None), entry["file"], path)
    raise ConfigError(f"{path}: a source must be a file name or {{file = ..., sha256 = ...}}, got {entry!r}")


def _inside(folder: Path, source: LocalFile, written: str, path: Path) -> LocalFile:
    """Refuse a source that resolves outside the dataset folder (absolute, ../, outward link)."""
    if not _OUTSIDE_SOURCES["allowed"] and not is_inside(folder, source.path):
        raise ConfigError(f"{path}: source {written!r} resolves outside the dataset folder {folder}; "
                          "pass --allow-outside-sources to use it")
    return source


def _group_by_pattern(folder: Path, grouping: dict, path: Path) -> dict[str, list[LocalFile]]:
    pattern_text = grouping.get("pattern")
    try:
        pattern = re.compile(pattern_text)
    except (re.error, TypeError) as error:
        raise ConfigError(f"{path}: grouping pattern {pattern_text!r} is not a valid regular expression ({error})") from None
    if "item" not in pattern.groupindex:
        raise ConfigError(f"{path}: grouping pattern {pattern_text!r} needs a group named 'item'")
    groups: dict[str, list[LocalFile]] = {}
    for file in sorted(folder.iterdir()):
        match = pattern.fullmatch(file.name) if file.is_file() else None
        if match:
            groups.setdefault(match.group("item"), []).append(_inside(folder, LocalFile(file), file.name, path))
    return dict(sorted(groups.items()))
