"""Crafted datasets for the hostile-input tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_pair(folder: Path, stem: str) -> tuple[str, str]:
    """Two small grey PNGs ``STEM-1.png``, ``STEM-2.png`` in ``folder``; their file names."""
    from fusionbench.image_io import write_png

    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng([ord(character) for character in stem])
    names = (f"{stem}-1.png", f"{stem}-2.png")
    for name in names:
        write_png(folder / name, generator.integers(0, 256, (6, 8), dtype=np.uint8))
    return names


def write_manifest(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fusionbench-dataset.toml").write_text(text, encoding="utf-8")
    return folder


def write_tiny_dataset(folder: Path) -> Path:
    """Three 6x8 grey pairs a, b, c with a grouping manifest (name 'tiny')."""
    for item in "abc":
        write_pair(folder, item)
    return write_manifest(folder, 'name = "tiny"\nfamily = "multi-focus"\n'
                                  "[grouping]\npattern = '(?P<item>[a-z]+)-[12]\\.png'\n")
