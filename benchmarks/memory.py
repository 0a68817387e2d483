"""Peak memory of one fusion plus every pair metric on a large pair, as a run's worker does it.

Each algorithm runs in its own process: read the two sources from PNG files (as a worker does),
fuse, then compute every metric that applies to a pair on the fused image. The process's own
peak (``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` would carry the parent's peak) is printed
with the peak per source pixel. Goal (hostile-inputs issue): an 8000 x 8000 pair within 6 GB,
at most 90 bytes per source pixel.

    python benchmarks/memory.py [--side 8000] [--algorithms average gff lp lpsr] [--colour]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_BYTES = 6 * 10**9
GOAL_BYTES_PER_PIXEL = 90.0

WORKER = r"""
import json, sys, time
from pathlib import Path

def status(field):
    with open("/proc/self/status") as lines:
        return int(lines.read().split(field + ":")[1].split()[0]) * 1024

algorithm_name, folder = sys.argv[1], Path(sys.argv[2])
started = time.perf_counter()
from fusionbench.image_io import read_image
from fusionbench.metrics.evaluation import MetricInputs, applicable_metrics
from fusionbench.registry import create_algorithm

sources = [read_image(folder / "A.png"), read_image(folder / "B.png")]
algorithm = create_algorithm(algorithm_name)
fused = algorithm.fuse(sources, family="multi-focus")
fusion_seconds = time.perf_counter() - started
after_fusion = status("VmHWM")
inputs = MetricInputs(fused, sources)
values = {name: inputs.compute(name) for name in applicable_metrics(2)}
print(json.dumps({"peak": status("VmHWM"), "after_fusion": after_fusion, "metrics": len(values),
                  "fusion_seconds": fusion_seconds, "seconds": time.perf_counter() - started}))
"""


def write_pair(folder: Path, side: int, colour: bool) -> None:
    """A textured multi-focus pair: one source blurred on its top half, the other on its bottom half."""
    import cv2
    import numpy as np

    from fusionbench.image_io import write_png

    generator = np.random.default_rng(0)
    shape = (side // 8, side // 8, 3) if colour else (side // 8, side // 8)
    scene = cv2.resize(generator.integers(0, 256, shape, dtype=np.uint8), (side, side),
                       interpolation=cv2.INTER_LINEAR)
    blurred = cv2.GaussianBlur(scene, (0, 0), 3)
    first, second = scene.copy(), scene.copy()
    first[: side // 2], second[side // 2:] = blurred[: side // 2], blurred[side // 2:]
    write_png(folder / "A.png", first)
    write_png(folder / "B.png", second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=8000)
    parser.add_argument("--algorithms", nargs="+", default=["average", "gff", "lp", "lpsr"])
    parser.add_argument("--colour", action="store_true", help="colour sources (default grey)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_pair(folder, arguments.side, arguments.colour)
        pixels = arguments.side ** 2
        kind = "colour" if arguments.colour else "grey"
        print(f"{arguments.side} x {arguments.side} {kind} pair, fusion + every pair metric, one process each")
        print(f"{'algorithm':<10} {'peak GB':>8} {'B/px':>6} {'after fusion GB':>16} {'metrics':>8} "
              f"{'fusion s':>9} {'total s':>8}  verdict")
        for name in arguments.algorithms:
            started = time.perf_counter()
            completed = subprocess.run([sys.executable, "-c", WORKER, name, str(folder)],
                                       capture_output=True, text=True)
            if completed.returncode != 0:
                print(f"{name:<10} failed after {time.perf_counter() - started:.0f} s: "
                      f"{completed.stderr.strip().splitlines()[-1:]}")
                continue
            result = json.loads(completed.stdout.strip().splitlines()[-1])
            per_pixel = result["peak"] / pixels
            verdict = "ok" if result["peak"] <= GOAL_BYTES and per_pixel <= GOAL_BYTES_PER_PIXEL else "OVER"
            print(f"{name:<10} {result['peak'] / 1e9:>8.2f} {per_pixel:>6.1f} {result['after_fusion'] / 1e9:>16.2f} "
                  f"{result['metrics']:>8} {result['fusion_seconds']:>9.1f} {result['seconds']:>8.1f}  {verdict}")


if __name__ == "__main__":
    main()
