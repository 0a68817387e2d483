"""Wall time of ``fusionbench run``: cold (empty run directory) and warm (everything cached), by stage.

Targets (harness issue) on a quiet 2-core machine, data and checkpoints already local:
``run --suite paper`` cold <= 150 s including tables and ``report.html`` (report <= 15 s), warm <= 5 s;
``run --all`` cold <= 10 minutes. Prints the wall time and the stages ``run.json`` records (plan,
compile, execute, collect, tables, report) with the parallel efficiency, and the machine's load
average, because other work on the machine slows the cold run.

    python benchmarks/harness_run.py [--suite paper | --all] [--jobs N] [--keep DIR] [extra run arguments...]
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


STAGES = ("plan", "compile", "execute", "collect", "tables", "report")

#: Stand-alone IFCNN fusions of the same Lytro items, with the thread count a run's worker had.
STANDALONE = r"""
import json, statistics, sys, time
from fusionbench.datasets import get_dataset
from fusionbench.harness.threads import apply_thread_limit
from fusionbench.image_io import read_image
from fusionbench.registry import create_algorithm

threads, items = int(sys.argv[1]), sys.argv[2].split(",")
apply_thread_limit(threads)
algorithm = create_algorithm("ifcnn-max")
dataset = get_dataset("lytro")
pairs = {item.name: [read_image(path) for path in item.source_paths()] for item in dataset.items if item.name in items}
algorithm.fuse(next(iter(pairs.values())), family="multi-focus")  # load the checkpoint, warm the allocator
seconds = []
for sources in pairs.values():
    started = time.perf_counter()
    algorithm.fuse(sources, family="multi-focus")
    seconds.append(time.perf_counter() - started)
print(json.dumps(statistics.median(seconds)))
"""


def timed_run(run_dir: Path, selection: list[str], jobs: int, extra: list[str]) -> tuple[float, dict]:
    """Wall seconds of one ``fusionbench run`` (process start to exit) and its ``run.json``."""
    command = [sys.executable, "-m", "fusionbench", "run", *selection, "--out", str(run_dir), "--no-progress"]
    command += (["--jobs", str(jobs)] if jobs else []) + extra
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds, json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="paper", help="suite to run (default paper)")
    parser.add_argument("--all", action="store_true", help="run every suite instead")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="run directory to use and keep (default: a temporary one)")
    arguments, extra = parser.parse_known_args()
    run_dir = arguments.keep or Path(tempfile.mkdtemp(prefix="fusionbench-bench-")) / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    selection = ["--all"] if arguments.all else ["--suite", arguments.suite]
    rows = []
    for label in ("cold", "warm"):
        load = os.getloadavg()[0]
        seconds, run = timed_run(run_dir, selection, arguments.jobs, extra)
        rows.append((label, seconds, load, run))
    stage_header = " ".join(f"{stage:>8}" for stage in STAGES)
    print(f"{' '.join(selection)}: seconds")
    print(f"{'run':<6} {'wall':>8} {stage_header} {'efficiency':>10} {'tasks':>6} {'load before':>11}")
    for label, seconds, load, run in rows:
        stages = run.get("stage_seconds", {})
        stage_cells = " ".join(f"{stages.get(stage, float('nan')):>8.1f}" for stage in STAGES)
        efficiency = run.get("parallel_efficiency")
        tasks = run.get("counts", {}).get("tasks", "")
        print(f"{label:<6} {seconds:>8.1f} {stage_cells} {efficiency if efficiency is not None else float('nan'):>10.2f} "
              f"{tasks!s:>6} {load:>11.2f}")
    print(f"cores: {os.cpu_count()}; executor: {rows[0][3].get('executor')}; run directory: {run_dir}")
    print_algorithm_seconds(run_dir)
    print_ifcnn_ratio(run_dir, rows[0][3].get("threads_per_worker") or 1)
    if arguments.keep is None:
        shutil.rmtree(run_dir.parent, ignore_errors=True)
    return 0


def print_algorithm_seconds(run_dir: Path) -> None:
    """Where the execution time goes: fusion seconds per algorithm (timings.csv, summed over items)."""
    import pandas as pd

    timings = pd.read_csv(run_dir / "timings.csv")
    totals = timings.groupby("algorithm")["seconds"].agg(["count", "sum", "median"]).sort_values("sum", ascending=False)
    print("fusion seconds per algorithm (cold run; metrics are the rest of the execute stage's busy time):")
    print(f"{'algorithm':<24} {'fusions':>7} {'total s':>8} {'median s':>9}")
    for name, row in totals.iterrows():
        print(f"{name:<24} {int(row['count']):>7} {row['sum']:>8.1f} {row['median']:>9.3f}")


def print_ifcnn_ratio(run_dir: Path, threads: int) -> None:
    """IFCNN per fusion inside the run against stand-alone with the same threads (goal <= 1.2)."""
    import pandas as pd

    timings = pd.read_csv(run_dir / "timings.csv")
    chosen = timings[(timings.algorithm == "ifcnn-max") & (timings.dataset == "lytro")]
    if chosen.empty:
        return
    completed = subprocess.run([sys.executable, "-c", STANDALONE, str(threads), ",".join(chosen["item"])],
                               capture_output=True, text=True, check=True)
    alone = json.loads(completed.stdout.strip().splitlines()[-1])
    inside = float(chosen["seconds"].median())
    print(f"ifcnn-max on lytro, median per fusion: {inside:.3f} s in the run, {alone:.3f} s stand-alone with "
          f"{threads} thread(s): ratio {inside / alone:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    sys.exit(main())
