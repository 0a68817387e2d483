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


def run(arguments: argparse.Namespace) -> int:
    from ..image_io import write_text_atomic
    from ..reports.paper import paper_run_settings, reproduction_markdown
    from ..runner import run as run_benchmark

    command = "fusionbench paper-report" + ("" if arguments.out == Path("reports/paper-reproduction.md")
                                            else f" --out {arguments.out}")
    settings = paper_run_settings(arguments.run_dir, jobs=arguments.jobs, device=arguments.device,
                                  progress=not arguments.no_progress, command_line=command)
    summary = run_benchmark(settings, log=lambda text: print(text, file=sys.stderr))
    write_text_atomic(arguments.out, reproduction_markdown(summary.run_dir, command))
    print(f"{summary.tasks} fusions ({summary.cached} cached), {len(summary.failures)} failures, "
          f"{summary.seconds:.1f} s; wrote {arguments.out}")
    return 0
