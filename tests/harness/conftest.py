"""Fixtures of the harness tests: test algorithms/metrics in the registry and a tiny dataset."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import harness_plugin  # noqa: E402

#: The tiny dataset: item -> (first source value pattern, second source) as 8x6 grey images.
ITEM_NAMES = ("a", "b", "c")


def tiny_sources(item: str) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic 6x8 grey sources; item 'b' starts with 200 (test-broken fails on it)."""
    seed = ord(item[0])
    generator = np.random.default_rng(seed)
    first = generator.integers(0, 256, size=(6, 8), dtype=np.uint8)
    second = generator.integers(0, 256, size=(6, 8), dtype=np.uint8)
    first[0, 0] = 200 if item == "b" else 10
    return first, second


def write_tiny_dataset(folder: Path, name: str = "tiny", items=ITEM_NAMES) -> Path:
    from fusionbench.image_io import write_png

    folder.mkdir(parents=True, exist_ok=True)
    for item in items:
        first, second = tiny_sources(item)
        write_png(folder / f"{item}-1.png", first)
        write_png(folder / f"{item}-2.png", second)
    (folder / "fusionbench-dataset.toml").write_text(
        f'name = "{name}"\nfamily = "multi-focus"\ntitle = "tiny test pairs"\n'
        '[grouping]\npattern = \'(?P<item>[a-z]+)-[12]\\.png\'\n', encoding="utf-8")
    return folder


@pytest.fixture
def test_registry():
    """The harness test algorithms and metrics, registered for one test."""
    harness_plugin.register()
    yield harness_plugin
    harness_plugin.unregister()


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    return write_tiny_dataset(tmp_path / "tiny-data")
