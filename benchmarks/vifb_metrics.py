"""Milliseconds per VIFB-dialect metric on one 768x576 colour pair, and the total.

    python benchmarks/vifb_metrics.py [--repeats 5] [--image carLight] [--method ADF]

The pair is VIFB's ``<image>`` (visible colour, infrared as stored) with ``<method>``'s fused
image, resized to 768x576 (VIFB holds no image of that size; the metrics' cost hardly depends on
the content). Each number is the minimum wall time over the repeats after one warm-up, computed
through :func:`fusionbench.metrics.dialects.compute_in_dialect` exactly as the harness calls it;
on the shared machine the minimum is the least disturbed run.
"""
from __future__ import annotations

import argparse
import time

import cv2

from fusionbench.datasets.fetching import find_in_mirrors
from fusionbench.image_io import read_image
from fusionbench.metrics.dialects import compute_in_dialect, get_dialect


def min_ms(function, repeats: int) -> float:
    function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
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
    total = 0.0
    for metric in dialect.metrics():
        ms = min_ms(lambda: compute_in_dialect(dialect, metric, fused, [visible, infrared]), arguments.repeats)
        total += ms
        print(f"{metric:6s} {ms:8.1f} ms")
    whole = min_ms(lambda: [compute_in_dialect(dialect, metric, fused, [visible, infrared])
                            for metric in dialect.metrics()], max(1, arguments.repeats // 2))
    print(f"{'sum':6s} {total:8.1f} ms  (of the per-metric minima)")
    print(f"{'total':6s} {whole:8.1f} ms  (all 13 in one go, minimum of {max(1, arguments.repeats // 2)})")


if __name__ == "__main__":
    main()
