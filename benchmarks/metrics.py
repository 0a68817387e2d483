"""Milliseconds per metric for one 520x520 Lytro pair (median of repeats).

    python benchmarks/metrics.py [--repeats 15] [--item lytro-01] [--data-dir DIR]

Times each registered metric's function on the pre-converted grey images (what
``compute_metrics`` calls after converting once), plus the whole ``compute_metrics`` call for the
six paper metrics (decoding excluded, validation and grey conversion included), run in order and
with its default thread pool. Target: the six
paper metrics together <= 150 ms per pair on the project's 2-core machine. Timings are medians;
run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from fusionbench.datasets import get_dataset, set_data_directories
from fusionbench.image_io import read_image, rgb_to_grey
from fusionbench.metrics import PAPER_METRICS, compute_metrics
from fusionbench.registry import get_metric, list_metrics

TARGET_MS = 150.0


def median_ms(function, repeats: int) -> tuple[float, float]:
    """Median wall-clock and median CPU milliseconds (CPU time of this process, all threads:
    less sensitive than wall time to other jobs competing for the cores)."""
    function()  # warm-up (kernel caches, lazy imports)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--item", default="lytro-01")
    parser.add_argument("--data-dir", action="append", help="dataset mirror (default: $FUSIONBENCH_DATA)")
    arguments = parser.parse_args()
    if arguments.data_dir:
        set_data_directories(arguments.data_dir)

    item = get_dataset("lytro").item(arguments.item)
    sources = [read_image(path) for path in item.source_paths()]
    # A realistic fused image: the per-pixel mean of the pair (the metrics' cost does not depend on it).
    fused = ((sources[0].astype(np.uint16) + sources[1]) // 2).astype(np.uint8)
    grey_fused = rgb_to_grey(fused).astype(np.float64)
    grey_sources = [rgb_to_grey(source).astype(np.float64) for source in sources]

    print(f"{item.name}: {fused.shape[1]}x{fused.shape[0]}, median of {arguments.repeats} runs, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{'metric':<10} {'standard ms':>12} {'(cpu ms)':>9} {'ifcnn-paper ms':>15} {'(cpu ms)':>9}")
    paper_total = [0.0, 0.0]
    for name in list_metrics():
        spec = get_metric(name)
        standard = median_ms(lambda: spec.function(grey_fused, grey_sources), arguments.repeats)
        paper = (median_ms(lambda: spec.function(grey_fused, [grey_sources[0], grey_sources[0]]), arguments.repeats)
                 if spec.sources == 2 else standard)
        if name in PAPER_METRICS:
            paper_total = [paper_total[0] + standard[0], paper_total[1] + standard[1]]
        marker = " *" if name in PAPER_METRICS else ""
        print(f"{name + marker:<10} {standard[0]:>12.1f} {standard[1]:>9.1f} {paper[0]:>15.1f} {paper[1]:>9.1f}")
    print(f"{'* sum':<10} {paper_total[0]:>12.1f} {paper_total[1]:>9.1f}")
    for label, workers in (("in order", 1), ("threads", None)):
        whole, whole_cpu = median_ms(lambda: compute_metrics(PAPER_METRICS, fused, sources, workers=workers),
                                     arguments.repeats)
        verdict = "meets" if whole <= TARGET_MS else "misses"
        print(f"compute_metrics(six paper metrics, RGB uint8 pair, {label}): {whole:.1f} ms wall, "
              f"{whole_cpu:.1f} ms CPU — {verdict} the {TARGET_MS:.0f} ms target")
    print(f"load average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
