"""The paper's test sets: names, families, items and their source files in the paper's order.

The file list with SHA-256 sums comes from the upstream IFCNN repository (``uzeful/IFCNN`` at
a pinned commit), stored in ``upstream_files.csv`` beside this module.
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import ConfigError, UnknownNameError
from ..families import INFRARED_VISUAL, MEDICAL, MULTI_EXPOSURE, MULTI_FOCUS
from ..registry import unknown_name_message
from .fetching import LocalFile, RemoteFile, fetch, github_raw_url

IFCNN_REPOSITORY = "uzeful/IFCNN"
IFCNN_COMMIT = "8fe59c2b1553e52acc793986208ca479d134a8da"
VIFB_REPOSITORY = "xingchenzhang/VIFB"
VIFB_COMMIT = "22b2ea9d91499cc5962d9bdcae9c290270f0fade"

#: Packaged file lists: (CSV, repository, commit). Each row: mirror path, upstream path, SHA-256, bytes.
_FILE_LISTS = (("upstream_files.csv", IFCNN_REPOSITORY, IFCNN_COMMIT),
               ("vifb_files.csv", VIFB_REPOSITORY, VIFB_COMMIT))


@dataclass(frozen=True)
class Item:
    """One fusion case: the sources of one scene, in the order the paper passes them."""

    dataset: str
    name: str
    family: str
    sources: tuple[RemoteFile | LocalFile, ...]

    def source_paths(self) -> list[Path]:
        """Local, verified paths of the sources (mirror, cache or download)."""
        return [fetch(source) for source in self.sources]


@dataclass(frozen=True)
class Dataset:
    """A named test set of one family."""

    name: str
    family: str
    title: str
    citation: str
    licence: str
    items: tuple[Item, ...] = field(repr=False)

    def item(self, name: str) -> Item:
        for item in self.items:
            if item.name == name:
                return item
        raise UnknownNameError(unknown_name_message(f"item of {self.name}", name, [i.name for i in self.items]))


@lru_cache(maxsize=1)
def upstream_files() -> dict[str, RemoteFile]:
    """Every upstream file by mirror path (e.g. ``lytro/lytro-01-A.jpg``, ``vifb/vi/carLight.jpg``)."""
    files = {}
    for table_name, repository, commit in _FILE_LISTS:
        table = resources.files(__package__).joinpath(table_name).read_text(encoding="utf-8")
        for row in csv.DictReader(table.splitlines()):
            files[row["mirror_path"]] = RemoteFile(
                mirror_path=row["mirror_path"], url=github_raw_url(repository, commit, row["upstream_path"]),
                sha256=row["sha256"], size=int(row["bytes"]))
    return files


def _group(folder: str, pattern: str) -> dict[str, list[RemoteFile]]:
    """Files under ``folder`` grouped by the item name captured by ``pattern``."""
    groups: dict[str, list[RemoteFile]] = defaultdict(list)
    for path, remote in upstream_files().items():
        directory, _, name = path.rpartition("/")
        match = re.fullmatch(pattern, name) if directory.split("/")[0] == folder else None
        if match:
            item = match.group("item") if "item" in match.groupdict() else directory.split("/")[-1]
            groups[item].append(remote)
    return groups


def _vifb_groups() -> dict[str, list[RemoteFile]]:
    """VIFB's inputs: ``vifb/vi/NAME.jpg`` and ``vifb/ir/NAME.jpg`` (its published results are not sources)."""
    groups: dict[str, list[RemoteFile]] = defaultdict(list)
    for path, remote in upstream_files().items():
        match = re.fullmatch(r"vifb/(vi|ir)/(?P<item>[^/]+)\.jpg", path)
        if match:
            groups[match.group("item")].append(remote)
    return groups


def _items(dataset: str, family: str, groups: dict[str, list[RemoteFile]], order) -> tuple[Item, ...]:
    return tuple(Item(dataset, name, family, tuple(sorted(files, key=order)))
                 for name, files in sorted(groups.items()))


_LYTRO_CITATION = ("M. Nejati, S. Samavi, S. Shirani, Multi-focus image fusion using dictionary-based "
                   "sparse representation, Information Fusion 25 (2015) 72-84")
_TNO_CITATION = "A. Toet, TNO Image Fusion Dataset, figshare (2014), doi:10.6084/m9.figshare.1008029"
_MEDICAL_CITATION = "The Whole Brain Atlas, Harvard Medical School (K. A. Johnson, J. A. Becker)"
_VIFB_CITATION = ("X. Zhang, P. Ye, G. Xiao, VIFB: A Visible and Infrared Image Fusion Benchmark, CVPR "
                  "Workshops 2020; images from the INO video analytics dataset and RGB-T tracking datasets")
_MEF_CITATION = ("K. Ma, K. Zeng, Z. Wang, Perceptual quality assessment for multi-exposure image fusion, "
                 "IEEE TIP 24 (11) (2015) 3345-3356")


@lru_cache(maxsize=1)
def builtin_datasets() -> dict[str, Dataset]:
    """The five test sets of the IFCNN paper, as shipped in its repository."""
    source_letter = lambda remote: remote.file_name  # noqa: E731 - A < B < C sorts by name
    tno_order = lambda remote: 0 if remote.file_name.endswith("_Vis.png") else 1  # noqa: E731
    visible_first = lambda remote: 0 if "/vi/" in remote.mirror_path else 1  # noqa: E731
    datasets = [
        Dataset("lytro", MULTI_FOCUS, "Lytro multi-focus (20 colour pairs, 520x520)", _LYTRO_CITATION,
                "research use; cite the dataset paper",
                _items("lytro", MULTI_FOCUS, _group("lytro", r"(?P<item>lytro-\d\d)-[AB]\.jpg"), source_letter)),
        Dataset("lytro-triple", MULTI_FOCUS, "Lytro multi-focus series with three sources", _LYTRO_CITATION,
                "research use; cite the dataset paper",
                _items("lytro-triple", MULTI_FOCUS,
                       _group("lytro-triple", r"(?P<item>lytro-\d\d)-[ABC]\.jpg"), source_letter)),
        Dataset("tno-iv", INFRARED_VISUAL, "TNO infrared-visual (14 grey pairs; visual first)", _TNO_CITATION,
                "CC BY 4.0 (TNO Image Fusion Dataset)",
                _items("tno-iv", INFRARED_VISUAL, _group("tno-iv", r"(?P<item>.+)_(Vis|IR)\.png"), tno_order)),
        Dataset("medical", MEDICAL, "Multi-modal medical (8 grey pairs: CT/MR, MR/MR)", _MEDICAL_CITATION,
                "research use; Whole Brain Atlas terms",
                _items("medical", MEDICAL, _group("medical", r"(?P<item>c\d\d)_[12]\.tif"), source_letter)),
        Dataset("vifb", INFRARED_VISUAL, "VIFB visible-infrared (21 pairs: colour visible first, infrared)",
                _VIFB_CITATION, "no licence stated upstream; research use, cite VIFB and the image sources",
                _items("vifb", INFRARED_VISUAL, _vifb_groups(), visible_first)),
        Dataset("mef", MULTI_EXPOSURE, "Multi-exposure stacks (6 colour stacks, 3-6 exposures)", _MEF_CITATION,
                "research use; cite the dataset paper",
                _items("mef", MULTI_EXPOSURE, _group("mef", r".+\.jpg"), source_letter)),
    ]
    return {dataset.name: dataset for dataset in datasets}


_USER_DATASETS: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> Dataset:
    """Add a dataset (e.g. from :func:`~fusionbench.datasets.manifest.load_manifest`) by its name."""
    if dataset.name in builtin_datasets():
        raise ConfigError(f"dataset name {dataset.name!r} is taken by a built-in dataset; rename it in its manifest")
    _USER_DATASETS[dataset.name] = dataset
    return dataset


def get_dataset(name: str) -> Dataset:
    """A registered dataset by name, or a dataset folder/manifest path (registered on first use).

    Raises UnknownNameError with suggestions for an unknown name.
    """
    datasets = {**builtin_datasets(), **_USER_DATASETS}
    if name in datasets:
        return datasets[name]
    from .manifest import load_manifest, manifest_path

    if manifest_path(name) is not None:
        return register_dataset(load_manifest(name))
    raise UnknownNameError(unknown_name_message("dataset", name, list(datasets)))


def list_datasets() -> list[str]:
    """Names of the registered datasets (built-in first, then user datasets)."""
    return list(builtin_datasets()) + [name for name in _USER_DATASETS if name not in builtin_datasets()]
