"""CPU milliseconds per metric, single-threaded, for a 520x520 and a 768x576 colour pair.

    python benchmarks/metrics.py [--repeats 7] [--data-dir DIR]

Measures what a run's worker does for each fused image: every applicable metric, one thread
(threadpoolctl and OpenCV limited to 1, as the harness limits its workers). Two columns per pair:

* ``shared``: ``MetricInputs(fused, sources).compute(name)`` on one MetricInputs per image, as the
  harness's workers call it (validation and grey conversion once per image, not per metric);
* ``per call``: ``compute_metrics([name], fused, sources)``, a fresh conversion every call.

Each number is the minimum CPU time (``time.process_time``) over the repeats: on the shared 2-core
machine wall-clock time mostly measures the other jobs. The 520x520 pair is Lytro lytro-01; the
768x576 pair is Lytro lytro-02 resized (the datasets hold no colour pair of that size); the fused
image is the pair's per-pixel mean (the metrics' cost hardly depends on it). The glibc allocator
settings are on, as in every run (``FUSIONBENCH_TUNE_ALLOCATOR=0`` turns them off).
"""
from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from fusionbench.datasets import get_dataset, set_data_directories
from fusionbench.image_io import read_image
from fusionbench.metrics.evaluation import MetricInputs, applicable_metrics, compute_metrics


def min_cpu_ms(function, repeats: int) -> float:
    """Minimum CPU milliseconds of ``function()`` over ``repeats`` runs after one warm-up."""
    function()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best * 1000.0


def pairs() -> dict[str, tuple[np.ndarray, list[np.ndarray]]]:
    lytro = get_dataset("lytro")
    small = [read_image(path) for path in lytro.item("lytro-01").source_paths()]
    large = [cv2.resize(read_image(path), (768, 576), interpolation=cv2.INTER_CUBIC)
             for path in lytro.item("lytro-02").source_paths()]
    return {f"{sources[0].shape[1]}x{sources[0].shape[0]}": (
        ((sources[0].astype(np.uint16) + sources[1]) // 2).astype(np.uint8), sources) for sources in (small, large)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--data-dir", action="append", help="dataset mirror (default: $FUSIONBENCH_DATA)")
    arguments = parser.parse_args()
    if arguments.data_dir:
        set_data_directories(arguments.data_dir)
    threadpool_limits(1)
    cv2.setNumThreads(1)

    images = pairs()
    names = applicable_metrics(2)
    table: dict[str, dict[str, tuple[float, float]]] = {name: {} for name in names}
    for label, (fused, sources) in images.items():
        inputs = MetricInputs(fused, sources)
        for name in names:
            shared = min_cpu_ms(lambda: inputs.compute(name), arguments.repeats)
            per_call = min_cpu_ms(lambda: compute_metrics([name], fused, sources), arguments.repeats)
            table[name][label] = (shared, per_call)

    print(f"CPU ms per metric, 1 thread, minimum of {arguments.repeats} runs; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    header = "".join(f"  {label + ' shared':>16} {'per call':>9}" for label in images)
    print(f"{'metric':<10}{header}")
    for name in names:
        print(f"{name:<10}" + "".join(f"  {table[name][label][0]:>16.1f} {table[name][label][1]:>9.1f}"
                                      for label in images))
    print(f"{'total':<10}" + "".join(
        f"  {sum(table[name][label][0] for name in names):>16.1f} {sum(table[name][label][1] for name in names):>9.1f}"
        for label in images))


if __name__ == "__main__":
    main()
