"""Tables and report at the scale of issue #20: 40 algorithms x 15 metrics x 3 datasets x 10 items.

    python benchmarks/report_scale.py [--repeat N] [--keep DIR] [--screenshots DIR]

Builds the synthetic run directory of ``tests/reports/large_run_factory.py`` (tiny PNGs generated
with numpy and OpenCV, never shipped) in a temporary folder, then times each stage: the fixture,
``write_tables``, a cold ``write_report`` and a rebuild over it (as every rerun of ``fusionbench run``
does). Prints a table of wall-clock and CPU seconds per stage (the median over ``--repeat`` runs),
the page and picture sizes, the load average and the number of cores: on a shared machine the wall
clock mostly measures the other users. The goal: tables + cold report within 15 s on two cores,
``report.html`` at most 5 MB with the pictures as separate files.

``--screenshots DIR`` also builds the same run with 320 x 240 pictures (3 items a dataset) and saves
``report-overview.png`` and ``report-gallery.png`` (1280 px wide) of its page in headless Chromium
(the README's pictures: ``--screenshots docs/images``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reports"))  # the fixture and browser helpers live with the tests


def timed(work) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result) of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def folder_bytes(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return sum(path.stat().st_size for path in files), len(files)


def one_round(folder: Path) -> tuple[dict[str, tuple[float, float]], Path]:
    from large_run_factory import make_large_run

    from fusionbench.reports.html import write_report
    from fusionbench.reports.tables import write_tables

    stages = {}
    wall, cpu, run = timed(lambda: make_large_run(folder))
    stages["fixture (not timed by the goal)"] = (wall, cpu)
    stages["tables"] = timed(lambda: write_tables(run))[:2]
    stages["report, cold"] = timed(lambda: write_report(run))[:2]
    stages["report, rebuild"] = timed(lambda: write_report(run))[:2]
    return stages, run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="save the page's screenshots here")
    arguments = parser.parse_args(argv)
    rounds, run = [], None
    for index in range(arguments.repeat):
        folder = arguments.keep / f"round-{index}" if arguments.keep else Path(tempfile.mkdtemp(prefix="report-scale-"))
        stages, run = one_round(folder)
        rounds.append(stages)
    print(f"cores: {len(os.sched_getaffinity(0))}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'stage':34} {'wall s':>8} {'CPU s':>8}")
    for stage in rounds[0]:
        walls = [entry[stage][0] for entry in rounds]
        cpus = [entry[stage][1] for entry in rounds]
        print(f"{stage:34} {statistics.median(walls):8.2f} {statistics.median(cpus):8.2f}")
    goal = [entry["tables"][0] + entry["report, cold"][0] for entry in rounds]
    goal_cpu = [entry["tables"][1] + entry["report, cold"][1] for entry in rounds]
    print(f"{'tables + cold report (goal 15 s)':34} {statistics.median(goal):8.2f} {statistics.median(goal_cpu):8.2f}")
    page = run / "report.html"
    pictures, files = folder_bytes(run / "report_files")
    print(f"report.html: {page.stat().st_size / 1e6:.2f} MB (goal <= 5 MB); report_files/: {files} files, "
          f"{pictures / 1e6:.1f} MB")
    if arguments.screenshots:
        from browser_session import save_report_screenshots
        from large_run_factory import make_large_run

        from fusionbench.reports.html import write_report
        from fusionbench.reports.tables import write_tables

        # the same run with 320 x 240 pictures (3 items a dataset), so the gallery shows something
        shown = make_large_run(Path(tempfile.mkdtemp(prefix="report-screenshots-")), size=(240, 320), items=3)
        write_tables(shown)
        for path in save_report_screenshots(write_report(shown), arguments.screenshots):
            print(f"screenshot: {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
