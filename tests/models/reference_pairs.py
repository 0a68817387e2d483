"""Reference pairs of the networks run from their authors' weights (imported by name: pytest puts this
folder on sys.path).

The mirror holds, per model, ``models/<model>/<set>/{vi,ir,fused}/<stem>.<ext>`` (see each folder's
PROVENANCE.md and MANIFEST.csv): inputs and the fused image a published run of the same weights
produced. :func:`reference_pairs` lists every pair of every set, so a set added to the mirror is
tested without touching the tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fusionbench.datasets.fetching import find_in_mirrors

#: Run with ``python -c LARGE_PAIR_PROBE NAME [OPTION=VALUE ...]``: fuses a random 3000x2000 pair (visible
#: RGB, infrared as equal-channel RGB) on the CPU and prints the process's peak resident memory in MiB
#: (Linux VmHWM: getrusage's ru_maxrss carries a parent's larger peak across fork + exec).
LARGE_PAIR_PROBE = """
import sys, numpy as np, fusionbench
name, options = sys.argv[1], dict(pair.split("=", 1) for pair in sys.argv[2:])
random = np.random.default_rng(0)
visible = random.integers(0, 256, (2000, 3000, 3), dtype=np.uint8)
infrared = np.repeat(random.integers(0, 256, (2000, 3000, 1), dtype=np.uint8), 3, axis=2)
algorithm = fusionbench.create_algorithm(name, device="cpu", **options)
fused = algorithm.fuse([visible, infrared], family="infrared-visual")
assert fused.shape[:2] == (2000, 3000), fused.shape
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(int(status["VmHWM"].split()[0]) / 1024)
"""

#: The agreement every reference pair must reach: this fraction of values within +-1 grey level.
WITHIN_ONE_GOAL = 0.999


@dataclass(frozen=True)
class ReferencePair:
    model: str
    set_name: str
    stem: str
    visible: Path
    infrared: Path
    fused: Path

    @property
    def label(self) -> str:
        return f"{self.set_name}/{self.stem}"


def model_folder(model: str) -> Path | None:
    """``models/<model>`` in the data directories (the reference mirror), or None."""
    manifest = find_in_mirrors(f"models/{model}/MANIFEST.csv")
    return None if manifest is None else manifest.parent


def reference_pairs(model: str) -> list[ReferencePair]:
    """Every (visible, infrared, fused) triple under ``models/<model>/*/`` ([] without the mirror)."""
    folder = model_folder(model)
    if folder is None:
        return []
    pairs = []
    for fused in sorted(folder.glob("*/fused/*")):
        set_folder, stem = fused.parent.parent, fused.stem
        visible = sorted((set_folder / "vi").glob(f"{stem}.*"))
        infrared = sorted((set_folder / "ir").glob(f"{stem}.*"))
        if len(visible) != 1 or len(infrared) != 1:
            raise AssertionError(f"{fused}: expected one vi/{stem}.* and one ir/{stem}.*, found "
                                 f"{[path.name for path in visible]} and {[path.name for path in infrared]}")
        pairs.append(ReferencePair(model, set_folder.name, stem, visible[0], infrared[0], fused))
    return pairs


def pair_parameters(model: str) -> list:
    """pytest parameters, one per pair; a single skipping parameter when the mirror is absent."""
    import pytest

    pairs = reference_pairs(model)
    if not pairs:
        return [pytest.param(None, id="mirror-absent", marks=pytest.mark.skip(
            reason=f"reference mirror models/{model} not found in FUSIONBENCH_DATA (run via .ci/run)"))]
    return [pytest.param(pair, id=pair.label) for pair in pairs]


@dataclass(frozen=True)
class Agreement:
    within_one: float  # fraction of values within +-1 grey level
    exact: float  # fraction of equal values
    max_difference: int
    values: int

    def __str__(self) -> str:
        return (f"within +-1: {self.within_one:.6f}, exact: {self.exact:.6f}, max |diff|: {self.max_difference}, "
                f"values: {self.values}")


def agreement(fused: np.ndarray, reference: np.ndarray) -> Agreement:
    """How closely ``fused`` matches ``reference`` (same shape, uint8)."""
    assert fused.shape == reference.shape, (fused.shape, reference.shape)
    difference = np.abs(fused.astype(np.int16) - reference.astype(np.int16))
    return Agreement(within_one=float(np.mean(difference <= 1)), exact=float(np.mean(difference == 0)),
                     max_difference=int(difference.max()), values=int(difference.size))
