"""``fusionbench tables RUN_DIR``: (re)write the paper-style tables of a run directory."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "tables"
HELP = "write tables/DATASET.{md,tex,csv} and Table 5 timings from a run directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("--compare-paper", action="store_true", help="add the paper's value and the difference")
    parser.add_argument("--print", action="store_true", dest="show", help="also print the Markdown tables")
    parser.add_argument("--dialect", action="append", default=[], metavar="NAME",
                        help="only the metric values of this dialect (repeatable; default: all)")


def run(arguments: argparse.Namespace) -> int:
    from ..reports.tables import write_tables

    written = write_tables(arguments.run_dir, compare_paper=arguments.compare_paper, dialects=arguments.dialect)
    for path in written:
        if arguments.show and path.suffix == ".md":
            print(path.read_text(encoding="utf-8"))
    print(f"wrote {len(written)} files to {arguments.run_dir / 'tables'}")
    return 0
