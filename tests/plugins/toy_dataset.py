"""A three-item dataset folder (manifest, no code) whose items are dark, bright and mid-grey.

``broken_plugin`` fails on the dark item (raises) and the bright one (wrong shape), so a run over
this folder exercises both failure paths next to a success.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fusionbench.image_io import write_png

LEVELS = {"dark": 30, "bright": 220, "mid": 128}
MANIFEST = """name = "toy-levels"
family = "medical"
[grouping]
pattern = '(?P<item>[a-z]+)-[AB]\\.png'
"""


def make_toy_dataset(folder: Path, height: int = 48, width: int = 64) -> Path:
    """Write ``folder/{dark,bright,mid}-{A,B}.png`` (noisy grey) and the manifest; returns ``folder``."""
    rng = np.random.default_rng(0)
    for name, level in LEVELS.items():
        for tag in "AB":
            image = np.clip(level + rng.normal(0, 10, (height, width)), 0, 255).astype(np.uint8)
            write_png(folder / f"{name}-{tag}.png", image)
    (folder / "fusionbench-dataset.toml").write_text(MANIFEST)
    return folder
