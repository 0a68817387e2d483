"""``fusionbench report RUN_DIR [-o report.html] [--compare-paper] [--self-contained] [--dialect NAME]``:
the HTML report of a run."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "report"
HELP = "write an HTML report (tables, plots, gallery, timings, failures, metadata) from a run directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory written by 'fusionbench run'")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="where to write the page (default RUN_DIR/report.html); its pictures go to a "
                             "sibling folder FILE-stem_files/")
    parser.add_argument("--compare-paper", action="store_true",
                        help="show the paper's value (Tables 1-5) and the difference beside each of ours")
    parser.add_argument("--self-contained", "--embed-images", action="store_true", dest="embed_images",
                        help="embed the charts and gallery pictures in the page: one file, larger "
                             "(--embed-images is the older name)")
    parser.add_argument("--dialect", action="append", default=[], metavar="NAME",
                        help="only the metric values of this dialect (repeatable; default: all)")
    parser.add_argument("--no-gallery", action="store_true", help="leave out the image gallery")


def run(arguments: argparse.Namespace) -> int:
    from ..reports.html import write_report

    path = write_report(arguments.run_dir, arguments.output, compare_paper=arguments.compare_paper,
                        embed_images=arguments.embed_images, gallery=not arguments.no_gallery,
                        dialects=arguments.dialect)
    print(f"report: {path}")
    return 0
