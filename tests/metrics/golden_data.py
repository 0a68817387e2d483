"""Where the golden metric values' fused images and sources are (test-side knowledge of the
reference mirror layout, as listed in metrics-golden/README.md)."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from fusionbench.datasets import get_dataset
from fusionbench.image_io import read_image

GOLDEN_FILES = ("official-ifcnn.csv", "gff-reference-lytro.csv", "gff-reference-lytro-ifcnn-paper.csv")

#: (algorithm label in the golden files, dataset) -> fused image path in the reference mirror.
FUSED_PATTERNS = {
    ("ifcnn-official", "lytro"): "ifcnn-official/results/IFCNN-MAX-CMF-{item}.png",
    ("ifcnn-official", "medical"): "ifcnn-official/results/IFCNN-MAX-MD-{item}.png",
    ("ifcnn-official", "mef"): "ifcnn-official/results/IFCNN-MEAN-ME-{item}.png",
    ("gff-reference", "lytro"): "baselines-octave/GFF/{item}.png",
}


def read_golden(path: Path) -> list[dict]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


@lru_cache(maxsize=64)
def sources_of(dataset: str, item: str) -> tuple[np.ndarray, ...]:
    """Decoded sources of a dataset item, in the paper's order (cached across tests)."""
    return tuple(read_image(path) for path in get_dataset(dataset).item(item).source_paths())


@lru_cache(maxsize=64)
def decoded(path: Path) -> np.ndarray:
    return read_image(path)
