"""Small, hand-made run directories following the run-directory contract (no harness needed).

Two-source items are a synthetic multi-focus scene (blurred left or right half); three
"algorithms" fuse them in different, known ways; metric values are deterministic functions of the
item and algorithm, so that the expected table cells are computable by hand.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from fusionbench.image_io import write_png

ALGORITHMS = ("gff", "lpsr", "ifcnn-max")
HEADERS = {
    "metrics.csv": "dataset,item,algorithm,protocol,metric,value",
    "timings.csv": "dataset,item,algorithm,device,seconds,width,height",
    "failures.csv": "dataset,item,algorithm,stage,metric,message",
}


def scene(size: int, colour: bool, seed: int) -> np.ndarray:
    """A textured test picture: smooth gradient plus random blocks plus a sharp grid."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    base = 60 + 100 * (x / size) + 40 * np.sin(y / 7.0)
    blocks = np.kron(rng.uniform(-40, 40, (size // 8 + 1, size // 8 + 1)), np.ones((8, 8)))[:size, :size]
    grid = np.where((x % 16 < 2) | (y % 16 < 2), 50, 0)
    grey = np.clip(base + blocks + grid, 0, 255)
    if not colour:
        return grey.astype(np.uint8)
    return np.clip(np.stack([grey, grey * 0.8 + 30, 255 - grey * 0.7], axis=2), 0, 255).astype(np.uint8)


def focus_pair(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left half sharp, right half sharp) versions of ``image``."""
    sigma = (3, 3, 0) if image.ndim == 3 else 3
    blurred = ndimage.gaussian_filter(image.astype(float), sigma).astype(np.uint8)
    half = image.shape[1] // 2
    a, b = image.copy(), image.copy()
    a[:, half:] = blurred[:, half:]
    b[:, :half] = blurred[:, :half]
    return a, b


def fuse_like(algorithm: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    half = a.shape[1] // 2
    if algorithm == "ifcnn-max":  # the ideal choice
        fused = a.copy()
        fused[:, half:] = b[:, half:]
        return fused
    if algorithm == "gff":  # average: blurry everywhere
        return ((a.astype(int) + b) // 2).astype(np.uint8)
    # "lpsr": ideal choice but with a wrong, darker patch in the lower right quarter
    fused = a.copy()
    fused[:, half:] = b[:, half:]
    fused[half:, half:] = (fused[half:, half:] * 0.5).astype(np.uint8)
    return fused


def metric_value(metric: str, item_index: int, algorithm: str) -> float:
    """Hand-checkable values: ifcnn-max best, then lpsr, then gff, plus 0.01 per item index."""
    base = {"ifcnn-max": 0.9, "lpsr": 0.8, "gff": 0.7}[algorithm]
    return round(base + 0.01 * item_index + (1.0 if metric == "SF" else 0.0), 6)


def make_run_directory(root: Path, datasets: dict[str, tuple[str, int, bool]] | None = None, *,
                       size: int = 64, failures: list[tuple[str, str, str, str]] = (),
                       protocol: str = "standard") -> Path:
    """Write a run directory under ``root``; ``datasets``: name -> (family, item count, colour).

    ``failures`` lists (dataset, item, algorithm, message) fusions that failed: no PNG, no metric
    values, a failures.csv row. Source files are written under ``root/sources``.
    """
    datasets = datasets or {"lytro": ("multi-focus", 3, True), "medical": ("medical", 2, False)}
    run = root / "run"
    (run / "fused").mkdir(parents=True, exist_ok=True)
    lines = {name: [header] for name, header in HEADERS.items()}
    failed = {(d, i, a): m for d, i, a, m in failures}
    record = {"fusionbench_version": "0.1.0", "created": "2026-11-25T21:00:00Z",
              "command_line": "fusionbench run --dataset " + " ".join(datasets), "protocol": protocol,
              "device": "cpu", "jobs": 2, "versions": {"python": "3.11.7", "numpy": np.__version__},
              "datasets": {}, "algorithms": {name: {"name": name, "version": "1", "options": {}}
                                             for name in ALGORITHMS},
              "metrics": {"VIFF": {"version": "1", "higher_is_better": True, "sources": 2},
                          "SF": {"version": "1", "higher_is_better": True, "sources": 0}}}
    for dataset_index, (dataset, (family, count, colour)) in enumerate(datasets.items()):
        items = [f"{dataset}-{index + 1:02d}" for index in range(count)]
        record["datasets"][dataset] = {"family": family, "items": items, "sources": {}}
        for item_index, item in enumerate(items):
            a, b = focus_pair(scene(size, colour, seed=100 * dataset_index + item_index))
            paths = [write_png(root / "sources" / dataset / f"{item}-{tag}.png", image)
                     for tag, image in (("A", a), ("B", b))]
            record["datasets"][dataset]["sources"][item] = [{"file": str(path), "sha256": "0" * 64}
                                                            for path in paths]
            for algorithm in ALGORITHMS:
                if (dataset, item, algorithm) in failed:
                    lines["failures.csv"].append(f"{dataset},{item},{algorithm},fuse,,"
                                                 f"{failed[dataset, item, algorithm]}")
                    continue
                write_png(run / "fused" / algorithm / dataset / f"{item}.png", fuse_like(algorithm, a, b))
                lines["timings.csv"].append(f"{dataset},{item},{algorithm},cpu,"
                                            f"{0.01 * (1 + ALGORITHMS.index(algorithm)):.4f},{size},{size}")
                for metric in ("VIFF", "SF"):
                    lines["metrics.csv"].append(f"{dataset},{item},{algorithm},{protocol},{metric},"
                                                f"{metric_value(metric, item_index, algorithm)}")
    for name, rows in lines.items():
        (run / name).write_text("\n".join(rows) + "\n")
    (run / "run.json").write_text(json.dumps(record, indent=1))
    return run
