"""Milliseconds per VIFB-dialect metric on one 768x576 colour pair, and the total.

    python benchmarks/vifb_metrics.py [--repeats 15] [--image carLight] [--method ADF]

The pair is VIFB's ``<image>`` (visible colour, infrared as stored) with ``<method>``'s fused
image, resized to 768x576 (VIFB holds no image of that size; the metrics' cost hardly depends on
the content). Each number is the minimum over the repeats after one warm-up, each repeat from an
empty image memo (maps kept by content would otherwise make a repeat look free), computed through
:func:`fusionbench.metrics.dialects.compute_in_dialect` as the harness calls it (one metric at a
time; a run's workers keep the cores busy): wall time and this process's CPU time (all its
threads; less disturbed by other work on a shared machine). ``total`` is the goal's number (all
13 in 150 ms on 2 cores): the 13 through :meth:`~fusionbench.metrics.dialects.Dialect.compute_many`,
one pool of threads for every metric's planes, as ``fusionbench evaluate`` and ``fusionbench
metrics`` compute one fused image. On the shared machine the minimum is the least
disturbed run (the host takes CPU time from this virtual machine unpredictably: the same 13
metrics have cost 240 ms of CPU in one run and 360 ms in the next, at load 0.5), hence 15
repeats by default; the load averages and a reference DFT time before and after are printed so
the numbers can be judged.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import cv2
import numpy as np

from fusionbench.datasets.fetching import find_in_mirrors
from fusionbench.image_io import read_image
from fusionbench.metrics import image_memo
from fusionbench.metrics.chen_blum import compile_kernels
from fusionbench.metrics.dialects import compute_in_dialect, get_dialect, plane_workers


def min_ms(function, repeats: int) -> tuple[float, float, float]:
    """(least wall ms, least CPU ms, median wall ms) of ``function`` over ``repeats`` runs after a
    warm-up, each from an empty image memo (:mod:`fusionbench.metrics.image_memo`): a new pair's cost."""
    function()
    walls, cpus = [], []
    for _ in range(repeats):
        image_memo.clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
    return min(walls) * 1000.0, min(cpus) * 1000.0, statistics.median(walls) * 1000.0


def reference_ms() -> float:
    """Least time of a fixed piece of work (OpenCV's DFT of a 768x576 float64 image, one thread):
    the shared machine's speed varies by a third over minutes, and this says how fast it is now."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    image = np.random.default_rng(0).random((576, 768))
    best = float("inf")
    for _ in range(30):
        started = time.perf_counter()
        cv2.dft(image)
        best = min(best, time.perf_counter() - started)
    cv2.setNumThreads(previous)
    return best * 1000.0


def load() -> str:
    return "load average " + " ".join(f"{value:.1f}" for value in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--image", default="carLight")
    parser.add_argument("--method", default="ADF")
    arguments = parser.parse_args()
    root = find_in_mirrors("vifb/MANIFEST.sha256")
    if root is None:
        raise SystemExit("vifb dataset not found in FUSIONBENCH_DATA")
    root = root.parent
    paths = [root / "fused" / arguments.method / f"{arguments.image}_{arguments.method}.jpg",
             root / "vi" / f"{arguments.image}.jpg", root / "ir" / f"{arguments.image}.jpg"]
    fused, visible, infrared = (cv2.resize(read_image(path), (768, 576), interpolation=cv2.INTER_LINEAR)
                                for path in paths)
    dialect = get_dialect("vifb")
    compile_kernels()  # Numba's first compilation is not a pair's cost
    print(f"before: {load()}; {plane_workers()} plane threads; reference DFT {reference_ms():.2f} ms")
    print(f"{'metric':6s} {'wall ms':>8s} {'CPU ms':>8s}  (least of {arguments.repeats})")
    total = total_cpu = 0.0
    for metric in dialect.metrics():
        wall, cpu, _ = min_ms(lambda: compute_in_dialect(dialect, metric, fused, [visible, infrared]),
                              arguments.repeats)
        total, total_cpu = total + wall, total_cpu + cpu
        print(f"{metric:6s} {wall:8.1f} {cpu:8.1f}")
    pair = [visible, infrared]
    in_order, in_order_cpu, in_order_median = min_ms(
        lambda: [compute_in_dialect(dialect, metric, fused, pair) for metric in dialect.metrics()], arguments.repeats)
    together, together_cpu, together_median = min_ms(
        lambda: dialect.compute_many(dialect.metrics(), fused, pair), arguments.repeats)
    print(f"{'sum':6s} {total:8.1f} {total_cpu:8.1f}  (of the per-metric minima)")
    print(f"{'serial':6s} {in_order:8.1f} {in_order_cpu:8.1f}  (the 13 one after another, each metric's planes "
          f"in threads; median {in_order_median:.1f} ms)")
    print(f"{'total':6s} {together:8.1f} {together_cpu:8.1f}  (all 13 in one thread pool, as 'evaluate' and "
          f"'metrics' compute them; median {together_median:.1f} ms; goal 150 ms wall)")
    print(f"after: {load()}; reference DFT {reference_ms():.2f} ms")


if __name__ == "__main__":
    main()
