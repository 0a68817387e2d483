"""CPU milliseconds per metric, single-threaded, for a 520x520 and a 768x576 colour pair.

    python benchmarks/metrics.py [--repeats 7] [--data-dir DIR]

Measures what a run's worker does for each fused image: every applicable metric, one thread
(threadpoolctl and OpenCV limited to 1, as the harness limits its workers). Three columns per pair:

* ``cold``: ``MetricInputs(fused, sources).compute(name)`` on one MetricInputs per image, as the
  harness's workers call it (validation and grey conversion once per image, not per metric), with
  nothing kept from earlier images (:mod:`fusionbench.metrics.image_memo` cleared before each
  repeat): a worker's first fused image of an item;
* ``kept``: the same on a new fused image of the same sources each repeat, the maps that depend
  on the sources alone kept from the images before (:mod:`fusionbench.metrics.kept_maps`): the
  worker's other fused images of the item (a run plans its tasks item by item). Images above
  ``kept_maps.KEPT_PIXELS`` (279,620: the 768x576 pair) keep nothing, so there it equals ``cold``
  but for Q_CB's own memo;
* ``per call``: ``compute_metrics([name], fused, sources)`` after clearing the memo, a fresh
  conversion every call.

Each number is the minimum CPU time (``time.process_time``) over the repeats: on the shared 2-core
machine wall-clock time mostly measures the other jobs. The 520x520 pair is Lytro lytro-01; the
768x576 pair is Lytro lytro-02 resized (the datasets hold no colour pair of that size); the fused
images are weighted means of the pair (the metrics' cost hardly depends on them). The glibc
allocator settings are on, as in every run (``FUSIONBENCH_TUNE_ALLOCATOR=0`` turns them off).
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from fusionbench.datasets import get_dataset, set_data_directories
from fusionbench.image_io import read_image
from fusionbench.metrics import image_memo
from fusionbench.metrics.evaluation import MetricInputs, applicable_metrics, compute_metrics
from fusionbench.registry import get_metric

COLUMNS = ("cold", "kept", "per call")


def min_cpu_ms(function: Callable[[int], object], repeats: int, prepare: Callable[[], object] = lambda: None) -> float:
    """Minimum CPU milliseconds of ``function(repeat)`` over ``repeats`` runs after one warm-up
    (``repeat`` 0), ``prepare()`` untimed before each."""
    prepare()
    function(0)
    best = float("inf")
    for repeat in range(1, repeats + 1):
        prepare()
        start = time.process_time()
        function(repeat)
        best = min(best, time.process_time() - start)
    return best * 1000.0


def pairs() -> dict[str, list[np.ndarray]]:
    lytro = get_dataset("lytro")
    small = [read_image(path) for path in lytro.item("lytro-01").source_paths()]
    large = [cv2.resize(read_image(path), (768, 576), interpolation=cv2.INTER_CUBIC)
             for path in lytro.item("lytro-02").source_paths()]
    return {f"{sources[0].shape[1]}x{sources[0].shape[0]}": sources for sources in (small, large)}


def fused_images(sources: list[np.ndarray], count: int) -> list[np.ndarray]:
    """``count`` different fused images: weighted means of the pair (the first the plain mean)."""
    weights = np.linspace(0.5, 0.9, count)
    return [cv2.addWeighted(sources[0], weight, sources[1], 1.0 - weight, 0.0) for weight in weights]


def measure(name: str, sources: list[np.ndarray], repeats: int) -> tuple[float, float, float]:
    """(cold, kept, per call) CPU ms of one metric on one pair."""
    fused = fused_images(sources, repeats + 2)
    inputs = MetricInputs(fused[0], sources)
    cold = min_cpu_ms(lambda _: inputs.compute(name), repeats, image_memo.clear)
    fresh = [MetricInputs(image, sources) for image in fused]
    for fresh_inputs in fresh:
        fresh_inputs.arguments(get_metric(name))  # converted beforehand, as in "cold"
    image_memo.clear()
    kept = min_cpu_ms(lambda repeat: fresh[repeat + 1].compute(name), repeats)
    per_call = min_cpu_ms(lambda _: compute_metrics([name], fused[0], sources), repeats, image_memo.clear)
    return cold, kept, per_call


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
    table = {name: {label: measure(name, sources, arguments.repeats) for label, sources in images.items()}
             for name in names}

    print(f"CPU ms per metric, 1 thread, minimum of {arguments.repeats} runs; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    header = "".join(f"  {label + ' ' + COLUMNS[0]:>14}" + "".join(f" {column:>9}" for column in COLUMNS[1:])
                     for label in images)
    print(f"{'metric':<10}{header}")
    rows = [(name, [table[name][label] for label in images]) for name in names]
    rows.append(("total", [tuple(sum(table[name][label][column] for name in names) for column in range(3))
                           for label in images]))
    for name, values in rows:
        print(f"{name:<10}" + "".join(f"  {cells[0]:>14.1f}" + "".join(f" {cell:>9.1f}" for cell in cells[1:])
                                      for cells in values))


if __name__ == "__main__":
    main()
