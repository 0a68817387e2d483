"""Report speed and size on a run directory: ``python benchmarks/report.py [RUN_DIR] [--repeat N]``.

Writes the report of RUN_DIR (default ``runs/paper``) into a temporary folder — linked pictures
(``report_files/``) from scratch, the same rebuilt over a previous report (unchanged pictures and
charts reused), and everything embedded in one file — and prints a table: median wall time over
``--repeat`` builds, page size, picture-folder size, total and number of files.
The acceptance target is ≤ 30 MB in total for the full paper run. Source images are found through
the data directories (``--data-dir`` / ``FUSIONBENCH_DATA``), as for ``fusionbench report``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def folder_bytes(folder: Path) -> tuple[int, int]:
    """(total bytes, number of files) under ``folder`` (0, 0 when it does not exist)."""
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return sum(path.stat().st_size for path in files), len(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", default="runs/paper", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", action="append")
    arguments = parser.parse_args()
    from fusionbench.datasets.fetching import set_data_directories
    from fusionbench.reports.html import write_report

    if arguments.data_dir:
        set_data_directories(arguments.data_dir)
    rows = []
    for mode, embed, warm in (("linked", False, False), ("linked, rebuilt", False, True), ("embedded", True, False)):
        seconds = []
        for _ in range(arguments.repeat):
            with tempfile.TemporaryDirectory() as folder:
                page = Path(folder) / "report.html"
                if warm:  # a previous report in place: unchanged pictures and charts are reused
                    write_report(arguments.run_dir, page, embed_images=embed)
                start = time.perf_counter()
                write_report(arguments.run_dir, page, embed_images=embed)
                seconds.append(time.perf_counter() - start)
                pictures, count = folder_bytes(Path(folder) / "report_files")
                page_bytes = page.stat().st_size
        rows.append((mode, statistics.median(seconds), page_bytes, pictures, page_bytes + pictures, count))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"run directory: {arguments.run_dir}  (load average at the end: {load:.1f}, "
          f"{os.cpu_count()} cores; median of {arguments.repeat})")
    print(f"{'pictures':<17}{'seconds':>9}{'page MB':>10}{'files MB':>10}{'total MB':>10}{'files':>7}")
    for mode, median, page_bytes, picture_bytes, total, count in rows:
        print(f"{mode:<17}{median:>9.2f}{page_bytes / 1e6:>10.2f}{picture_bytes / 1e6:>10.2f}{total / 1e6:>10.2f}"
              f"{count:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
