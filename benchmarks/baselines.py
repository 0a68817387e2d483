"""Speed of the classical baselines: seconds per 520x520 colour Lytro pair (median of warm calls).

    python benchmarks/baselines.py [--repeats 7] [--item lytro-05] [--data-dir DIR]

Targets (issue 4): GFF <= 0.06 s, LP <= 0.04 s, LP-SR <= 0.15 s on the 2-core development machine.
For context, the authors' code in GNU Octave on that machine: GFF 0.63 s, LP 0.46 s, LP-SR 1.61 s.
The verdict uses the wall-clock median, which depends on what else runs: the fastest call, the CPU
time (all threads of this process) and the load average printed with the table say how busy the
machine was.

Each configuration runs in its own process: as fusionbench runs them (glibc allocator tuned, see
``fusionbench.allocator``; the verdict) and with glibc's defaults (``FUSIONBENCH_TUNE_ALLOCATOR=0``,
the column ``glibc default s``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import statistics
import sys
import time

TARGETS = {"gff": 0.06, "lp": 0.04, "lpsr": 0.15}
OCTAVE = {"gff": 0.63, "lp": 0.46, "lpsr": 1.61}
ALGORITHMS = ("gff", "lp", "lpsr", "mertens", "average", "max-abs")


def measure(function, repeats: int) -> tuple[float, float, float]:
    """Median wall-clock, fastest wall-clock and median CPU seconds of ``repeats`` calls after a warm-up."""
    function()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def measure_all(names: list[str], item_name: str, repeats: int) -> dict:
    """Time each algorithm in this process: {name: (median, fastest, cpu)} plus the image size."""
    from fusionbench.datasets import get_dataset
    from fusionbench.image_io import read_image
    from fusionbench.registry import create_algorithm

    item = get_dataset("lytro").item(item_name)
    sources = [read_image(path) for path in item.source_paths()]
    results = {}
    for name in names:
        algorithm = create_algorithm(name)
        family = "multi-exposure" if name == "mertens" else "multi-focus"
        results[name] = measure(lambda: algorithm.fuse(sources, family=family), repeats)
    height, width = sources[0].shape[:2]
    return {"item": item.name, "size": f"{width}x{height}", "results": results}


def in_subprocess(arguments: list[str], tuned: bool) -> dict:
    environment = {**os.environ, "FUSIONBENCH_TUNE_ALLOCATOR": "1" if tuned else "0"}
    result = subprocess.run([sys.executable, __file__, *arguments, "--worker"], capture_output=True, text=True,
                            env=environment)
    if result.returncode != 0:
        raise SystemExit(f"benchmark worker failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per algorithm (at least 5)")
    parser.add_argument("--item", default="lytro-05", help="Lytro item to fuse (520x520 colour pair)")
    parser.add_argument("--data-dir", action="append", help="data mirror directory (default: FUSIONBENCH_DATA)")
    parser.add_argument("--algorithm", action="append", choices=ALGORITHMS, help="only these (repeatable)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.repeats < 5:
        parser.error("--repeats must be at least 5")
    names = arguments.algorithm or list(ALGORITHMS)
    if arguments.worker:
        from fusionbench.datasets.fetching import set_data_directories

        if arguments.data_dir:
            set_data_directories(arguments.data_dir)
        print(json.dumps(measure_all(names, arguments.item, arguments.repeats)))
        return 0

    forwarded = ["--repeats", str(arguments.repeats), "--item", arguments.item]
    forwarded += [option for directory in arguments.data_dir or [] for option in ("--data-dir", directory)]
    forwarded += [option for name in names for option in ("--algorithm", name)]
    load_before = os.getloadavg()[0]
    tuned = in_subprocess(forwarded, tuned=True)
    default = in_subprocess(forwarded, tuned=False)
    print(f"{tuned['item']}: {tuned['size']} colour pair, median of {arguments.repeats} warm calls; "
          f"load average before: {load_before:.2f}")
    rows = []
    for name in names:
        wall, fastest, cpu = tuned["results"][name]
        target = TARGETS.get(name)
        verdict = "" if target is None else ("yes" if wall <= target else "NO")
        rows.append((name, f"{wall:.3f}", f"{fastest:.3f}", f"{cpu:.3f}", f"{default['results'][name][0]:.3f}",
                     f"{target:.2f}" if target else "-", verdict, f"{OCTAVE[name]:.2f}" if name in OCTAVE else "-"))
    header = ("algorithm", "median s", "fastest s", "cpu s", "glibc default s", "target s", "met", "octave s")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
