"""``fusionbench paper-report``: run the paper's subset under both protocols and write the comparison."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "paper-report"
HELP = "regenerate the paper's Tables 1-5 (both protocols) and write the reproduction report (Markdown)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("reports/paper-reproduction.md"), metavar="FILE",
                        help="the Markdown report (default reports/paper-reproduction.md)")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/paper"), metavar="DIR",
                        help="run directory for the fused images, metrics and tables (default runs/paper; resumes)")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: all cores)")
    parser.add_argument("--device", metavar="DEVICE", help="device for IFCNN, e.g. cpu or cuda")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def paper_run_settings(run_dir, jobs: int = 0, device: str | None = None, progress: bool = True,
                       command_line: str = ""):
    """The run behind the report: the paper's datasets, algorithms we have, metrics, both protocols.

    IFCNN-type algorithms (those with a ``preprocessing`` option) use the ``paper`` preprocessing.
    """
    from ..harness import RunSettings
    from ..registry import ALGORITHMS
    from ..reports.paper import PAPER_DATASETS, PAPER_PROTOCOL, STANDARD_PROTOCOL, load_paper_values

    wanted = {value.algorithm for value in load_paper_values().values}
    specs = [spec for spec in ALGORITHMS.specs() if spec.name in wanted]
    options = {spec.name: {"preprocessing": "paper"} for spec in specs if "preprocessing" in spec.defaults}
    return RunSettings(out=run_dir, datasets=list(PAPER_DATASETS), algorithms=[spec.name for spec in specs],
                       metrics=None, protocols=(PAPER_PROTOCOL, STANDARD_PROTOCOL), jobs=jobs, device=device,
                       options=options, progress=progress, command_line=command_line, compare_paper=True,
                       paper_metrics_only=True)


def run(arguments: argparse.Namespace) -> int:
    from ..harness import run as run_benchmark
    from ..image_io import write_text_atomic
    from ..reports.paper import reproduction_markdown
    from ..reports.tables import write_tables_if_changed

    command = "fusionbench paper-report" + ("" if arguments.out == Path("reports/paper-reproduction.md")
                                            else f" --out {arguments.out}")
    settings = paper_run_settings(arguments.run_dir, jobs=arguments.jobs, device=arguments.device,
                                  progress=not arguments.no_progress, command_line=command)
    summary = run_benchmark(settings, log=lambda text: print(text, file=sys.stderr))
    write_tables_if_changed(summary.run_dir, compare_paper=True)
    write_text_atomic(arguments.out, reproduction_markdown(summary.run_dir, command))
    print(f"{summary.tasks} fusions ({summary.cached} cached), {len(summary.failures)} failures, "
          f"{summary.seconds:.1f} s; wrote {arguments.out}")
    return 0
