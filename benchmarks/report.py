"""Tables and report speed (and report size) on a run directory:
``python benchmarks/report.py [RUN_DIR] [--repeat N] [--data-dir DIR] [--embedded]``.

The run directory is not modified: its CSVs and run.json are copied into a temporary folder (with
``fused/`` linked), and there, each of ``--repeat`` times,

* ``tables, cold``: ``write_tables`` with no ``tables/`` folder;
* ``report, cold``: ``write_report`` with no previous report (every chart drawn, every picture encoded);
* ``report, warm``: ``write_report`` again over the report just written (unchanged charts and
  pictures reused, as on every rerun of ``fusionbench run``);
* ``report, embedded`` (with ``--embedded``): everything as data URIs in one file.

It prints the median wall-clock seconds and the median CPU seconds (all threads of this process),
with the load average and the number of cores: on a shared machine the wall clock mostly measures
the other users, the CPU time much less so. The acceptance targets for the full paper run are a
report in at most 15 s (tables far less) on two cores, and at most 30 MB in all. Source images are
found through the data directories (``--data-dir`` / ``FUSIONBENCH_DATA``), as for
``fusionbench report``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

RUN_FILES = ("metrics.csv", "timings.csv", "failures.csv", "run.json")


def folder_bytes(folder: Path) -> tuple[int, int]:
    """(total bytes, number of files) under ``folder`` (0, 0 when it does not exist)."""
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return sum(path.stat().st_size for path in files), len(files)


def copy_run(run_dir: Path, folder: Path) -> Path:
    """A run directory in ``folder`` with ``run_dir``'s CSVs and run.json, and its fused/ linked."""
    copy = folder / run_dir.resolve().name
    copy.mkdir()
    for name in RUN_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, copy / name)
    if (run_dir / "fused").is_dir():
        (copy / "fused").symlink_to((run_dir / "fused").resolve(), target_is_directory=True)
    return copy


def timed(function, *arguments, **keywords) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(*arguments, **keywords)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", default="runs/paper", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", action="append")
    parser.add_argument("--embedded", action="store_true", help="also time a report with embedded pictures")
    arguments = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    from fusionbench.datasets.fetching import set_data_directories
    from fusionbench.reports.html import write_report
    from fusionbench.reports.tables import write_tables

    if arguments.data_dir:
        set_data_directories(arguments.data_dir)
    modes = ["tables, cold", "report, cold", "report, warm"] + (["report, embedded"] if arguments.embedded else [])
    seconds: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    sizes: dict[str, tuple[int, int, int]] = {}
    for _ in range(arguments.repeat):
        with tempfile.TemporaryDirectory(prefix="fusionbench-report-benchmark-") as folder:
            run = copy_run(arguments.run_dir, Path(folder))
            page = run / "report.html"
            seconds["tables, cold"].append(timed(write_tables, run))
            for mode in modes[1:]:
                if mode == "report, embedded":
                    shutil.rmtree(run / "report_files", ignore_errors=True)
                seconds[mode].append(timed(write_report, run, embed_images=mode == "report, embedded"))
                pictures, count = folder_bytes(run / "report_files")
                sizes[mode] = (page.stat().st_size, pictures, count)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"run directory: {arguments.run_dir}  ({cores} cores; load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f} at the end; median of {arguments.repeat})")
    print(f"{'step':<18}{'wall s':>8}{'CPU s':>8}{'page MB':>9}{'files MB':>10}{'total MB':>10}{'files':>7}")
    for mode in modes:
        wall = statistics.median(entry[0] for entry in seconds[mode])
        cpu = statistics.median(entry[1] for entry in seconds[mode])
        line = f"{mode:<18}{wall:>8.2f}{cpu:>8.2f}"
        if mode in sizes:
            page_bytes, picture_bytes, count = sizes[mode]
            line += (f"{page_bytes / 1e6:>9.2f}{picture_bytes / 1e6:>10.2f}{(page_bytes + picture_bytes) / 1e6:>10.2f}"
                     f"{count:>7}")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
