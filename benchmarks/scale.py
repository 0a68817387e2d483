"""Throughput of the run pipeline by executor: pairs per second and parallel efficiency.

A synthetic multi-focus dataset of N pairs (generated here, never shipped: a random texture,
each source blurred on one half) is run through ``average`` and ``gff`` with two metrics (SF,
QABF), cold, with the local executor (one worker per core) and with a Dask LocalCluster of 1 and
2 workers. Prints a table (pairs per second = N / wall time of the run; efficiency = busy
worker-seconds / (execution wall time x workers), from run.json) and writes a plot.

    python benchmarks/scale.py [--pairs 50 200 1000] [--size 256] [--plot scale.png]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ALGORITHMS = ("average", "gff")
METRICS = ("SF", "QABF")


def write_dataset(folder: Path, pairs: int, size: int) -> Path:
    """N multi-focus pairs of size x size grey images and their manifest."""
    import cv2

    from fusionbench.image_io import write_png

    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(pairs)
    half = size // 2
    for index in range(pairs):
        scene = cv2.GaussianBlur(generator.integers(0, 256, (size, size)).astype(np.float32), (0, 0), 2.0)
        blurred = cv2.GaussianBlur(scene, (0, 0), 4.0)
        first, second = scene.copy(), scene.copy()
        first[:, half:], second[:, :half] = blurred[:, half:], blurred[:, :half]
        for suffix, image in (("A", first), ("B", second)):
            write_png(folder / f"pair{index:05d}-{suffix}.png", np.clip(image, 0, 255).astype(np.uint8))
    (folder / "fusionbench-dataset.toml").write_text(
        f'name = "synthetic-{pairs}"\nfamily = "multi-focus"\ntitle = "synthetic pairs"\n'
        "[grouping]\npattern = '(?P<item>pair[0-9]+)-[AB]\\.png'\n", encoding="utf-8")
    return folder


def timed_run(dataset: Path, out: Path, executor: list[str]) -> tuple[float, dict]:
    command = [sys.executable, "-m", "fusionbench", "run", "--dataset", str(dataset), "--algorithm", *ALGORITHMS,
               "--metric", *METRICS, "--out", str(out), "--no-progress", "--no-report", *executor]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, json.loads((out / "run.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    parser.add_argument("--plot", type=Path, default=Path("scale.png"))
    arguments = parser.parse_args()
    cores = os.cpu_count() or 1
    executors = {f"local ({cores} workers)": [],
                 "dask local:1": ["--executor", "dask", "--scheduler", "local:1"],
                 "dask local:2": ["--executor", "dask", "--scheduler", "local:2"]}
    folder = Path(tempfile.mkdtemp(prefix="fusionbench-scale-"))
    rows = []
    try:
        for pairs in arguments.pairs:
            dataset = write_dataset(folder / f"data-{pairs}", pairs, arguments.size)
            for label, options in executors.items():
                out = folder / "run"
                shutil.rmtree(out, ignore_errors=True)
                seconds, record = timed_run(dataset, out, options)
                execute = record.get("stage_seconds", {}).get("execute", float("nan"))
                rows.append((pairs, label, seconds, pairs / seconds, pairs / execute,
                             record.get("parallel_efficiency") or float("nan")))
                print(f"{pairs:>6} {label:<22} {seconds:8.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'pairs':>6} {'executor':<22} {'wall s':>8} {'pairs/s':>8} {'pairs/s (execute)':>18} {'efficiency':>10}")
    for pairs, label, seconds, rate, execute_rate, efficiency in rows:
        print(f"{pairs:>6} {label:<22} {seconds:>8.1f} {rate:>8.2f} {execute_rate:>18.2f} {efficiency:>10.2f}")
    print(f"{len(ALGORITHMS)} algorithms ({', '.join(ALGORITHMS)}) and {len(METRICS)} metrics per pair, "
          f"{arguments.size}x{arguments.size} grey; {cores} cores")
    plot(rows, arguments.plot)
    print(f"plot: {arguments.plot}")
    return 0


def plot(rows: list[tuple], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (rate_axes, efficiency_axes) = pyplot.subplots(1, 2, figsize=(9, 3.5), constrained_layout=True)
    for label in dict.fromkeys(row[1] for row in rows):
        chosen = [row for row in rows if row[1] == label]
        rate_axes.plot([row[0] for row in chosen], [row[3] for row in chosen], marker="o", label=label)
        efficiency_axes.plot([row[0] for row in chosen], [row[5] for row in chosen], marker="o", label=label)
    for axes, title in ((rate_axes, "pairs per second (whole run)"), (efficiency_axes, "parallel efficiency")):
        axes.set_xscale("log")
        axes.set_xlabel("pairs")
        axes.set_title(title)
        axes.grid(alpha=0.3)
    efficiency_axes.set_ylim(0, 1.05)
    rate_axes.legend()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
