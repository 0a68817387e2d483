"""Wall time of ``fusionbench run --all``: cold (empty run directory) and warm (everything cached).

Targets (issue 6): cold <= 5 minutes, warm <= 15 seconds on a 2-core machine. Prints a table;
the machine's load average is printed too, because other work on the machine slows the cold run.

    python benchmarks/harness_run.py [--jobs N] [--keep DIR] [extra fusionbench run arguments...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(run_dir: Path, jobs: int, extra: list[str]) -> float:
    command = [sys.executable, "-m", "fusionbench", "run", "--all", "--out", str(run_dir), "--no-progress"]
    command += (["--jobs", str(jobs)] if jobs else []) + extra
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="run directory to use and keep (default: a temporary one)")
    arguments, extra = parser.parse_known_args()
    run_dir = arguments.keep or Path(tempfile.mkdtemp(prefix="fusionbench-bench-")) / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    rows = []
    for label in ("cold", "warm"):
        load = os.getloadavg()[0]
        seconds = timed_run(run_dir, arguments.jobs, extra)
        rows.append((label, seconds, load))
    print(f"{'run':<6} {'seconds':>9} {'load avg (1 min) before':>24}")
    for label, seconds, load in rows:
        print(f"{label:<6} {seconds:>9.1f} {load:>24.2f}")
    print(f"cores: {os.cpu_count()}; run directory: {run_dir}")
    if arguments.keep is None:
        shutil.rmtree(run_dir.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
