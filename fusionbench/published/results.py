"""A paper's released fused images as a read-only algorithm: it "fuses" by returning the published
image of the item whose sources it is given, so every metric, dialect, table and the report apply to
published methods as to any other.

A set of published results is a TOML file::

    name = "vifb"                 # algorithms are called NAME:METHOD, e.g. vifb:GFF
    dataset = "vifb"              # the dataset whose items the images belong to
    methods = ["GFF", "IFCNN"]
    title = "..."; citation = "..."; licence = "..."
    # where an item's image is, {method} and {item} filled in:
    mirror_pattern = "vifb/fused/{method}/{item}_{method}.jpg"   # a pinned upstream file (SHA-256 known), or
    pattern = "results/{method}/{item}.png"                      # a file beside the TOML
    [sha256]                      # optional, for `pattern` files: relative path -> SHA-256
    "results/GFF/a.png" = "..."

Which item is being fused is recognised from the sources themselves (the SHA-256 of their decoded
pixels), so the algorithm works in ``run``, ``fuse`` and the Python API alike, and refuses sources
that belong to no item. Files are checked against their SHA-256 when one is known (always for
``mirror_pattern`` files, which come from the packaged, pinned file lists).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import AlgorithmError, ConfigError
from ..path_safety import check_name, is_inside


@dataclass(frozen=True)
class PublishedSet:
    """One TOML file: a dataset's items mapped to each method's published image."""

    name: str
    dataset: str
    methods: tuple[str, ...]
    title: str = ""
    citation: str = ""
    licence: str = ""
    mirror_pattern: str | None = None
    pattern: str | None = None
    folder: Path | None = None  # where ``pattern`` files are (the TOML's folder)
    sha256: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def algorithm_name(self, method: str) -> str:
        return f"{self.name}:{method}"

    def file_of(self, method: str, item: str):
        """The published image of ``item`` by ``method``: a RemoteFile or a LocalFile."""
        from ..datasets.fetching import LocalFile
        from ..datasets.registry import upstream_files

        if self.mirror_pattern is not None:
            mirror_path = self.mirror_pattern.format(method=method, item=item)
            remote = upstream_files().get(mirror_path)
            if remote is None:
                raise AlgorithmError(f"{self.algorithm_name(method)}: {mirror_path} is not a pinned upstream file")
            return remote
        relative = self.pattern.format(method=method, item=item)
        path = self.folder / relative
        if not is_inside(self.folder, path):
            raise ConfigError(f"{self.name}: published file {relative!r} lies outside {self.folder}")
        return LocalFile(path, self.sha256.get(relative))


def load_published_set(path: str | Path) -> PublishedSet:
    """A :class:`PublishedSet` from its TOML file (untrusted: names and paths are checked)."""
    import tomllib

    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: not a readable published-results TOML ({error})") from None
    where = str(path)
    name = check_name(_text(table, "name", where), "published set name", where)
    methods = table.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(method, str) for method in methods):
        raise ConfigError(f"{where}: 'methods' must be a non-empty list of method names")
    for method in methods:
        check_name(method, "method name", where)
    patterns = [key for key in ("mirror_pattern", "pattern") if key in table]
    if len(patterns) != 1:
        raise ConfigError(f"{where}: give exactly one of 'mirror_pattern' (pinned upstream files) or 'pattern'")
    pattern = _text(table, patterns[0], where)
    if "{item}" not in pattern or "{method}" not in pattern:
        raise ConfigError(f"{where}: {patterns[0]} must contain {{item}} and {{method}}")
    hashes = table.get("sha256", {})
    if not isinstance(hashes, dict):
        raise ConfigError(f"{where}: [sha256] must map file paths to SHA-256 digests")
    return PublishedSet(name=name, dataset=_text(table, "dataset", where), methods=tuple(methods),
                        title=str(table.get("title", "")), citation=str(table.get("citation", "")),
                        licence=str(table.get("licence", "")),
                        mirror_pattern=pattern if patterns[0] == "mirror_pattern" else None,
                        pattern=pattern if patterns[0] == "pattern" else None, folder=path.parent.resolve(),
                        sha256={str(key): str(value).lower() for key, value in hashes.items()},
                        notes={str(key): str(value) for key, value in dict(table.get("notes", {})).items()})


def _text(table: dict, key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def sources_key(images: Sequence[Any]) -> str:
    """SHA-256 over the sources' shapes and decoded pixels: which item is being fused."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(repr((image.shape, str(image.dtype))).encode())
        digest.update(image.tobytes())
    return digest.hexdigest()


#: dataset name -> {sources key: item name}, built once per process for all methods of all sets.
_ITEM_INDEX: dict[str, dict[str, str]] = {}


def item_index(dataset_name: str) -> dict[str, str]:
    """Which item of ``dataset_name`` a set of decoded sources is (decodes each item's sources once)."""
    if dataset_name not in _ITEM_INDEX:
        from ..datasets import get_dataset
        from ..image_io import match_channels, read_image

        _ITEM_INDEX[dataset_name] = {
            sources_key(match_channels([read_image(path) for path in item.source_paths()])): item.name
            for item in get_dataset(dataset_name).items}
    return _ITEM_INDEX[dataset_name]


class PublishedResult:
    """The published images of one method of a set: ``fuse`` returns the item's image."""

    def __init__(self, published: PublishedSet, method: str):
        self.published = published
        self.method = method

    def identity(self) -> dict:
        """The set, the method and the SHA-256 of every published file known in advance."""
        files = []
        for item in self._dataset().items:
            known = getattr(self.published.file_of(self.method, item.name), "sha256", None)
            files.append(known or "")
        return {"set": self.published.name, "method": self.method, "dataset": self.published.dataset,
                "files": hashlib.sha256("\n".join(files).encode()).hexdigest()}

    def _dataset(self):
        from ..datasets import get_dataset

        return get_dataset(self.published.dataset)

    def _item_of(self, images: Sequence[Any]) -> str:
        items = item_index(self.published.dataset)
        key = sources_key(images)
        if key not in items:
            raise AlgorithmError(f"{self.published.algorithm_name(self.method)} has published images for the items "
                                 f"of dataset {self.published.dataset!r} only; these sources are none of them")
        return items[key]

    def fuse(self, images: Sequence[Any]):
        from ..datasets.fetching import fetch
        from ..image_io import read_image

        item = self._item_of(images)
        return read_image(fetch(self.published.file_of(self.method, item)))
