"""``fusionbench regress RUN_DIR --expected FILE``: fail when metric values drift."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "regress"
HELP = "compare a run's metrics.csv with expected values; exit 1 on drift, missing or extra rows"

EXIT_DRIFT = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..regression import DEFAULT_ATOL, DEFAULT_RTOL

    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory (or a metrics.csv)")
    parser.add_argument("--expected", type=Path, required=True, metavar="FILE",
                        help="expected values, e.g. tests/regression/expected_metrics.csv")
    parser.add_argument("--rtol", type=float, default=DEFAULT_RTOL, help=f"relative tolerance (default {DEFAULT_RTOL:g})")
    parser.add_argument("--rtol-for", action="append", metavar="PATTERN=RTOL",
                        help="relative tolerance for algorithms matching a glob, e.g. 'ifcnn-*=1e-4' "
                             "(repeatable; later ones win): CNN outputs move by a grey level here and there "
                             "with the CPU's or GPU's convolution kernels")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL, help=f"absolute tolerance (default {DEFAULT_ATOL:g})")
    parser.add_argument("--dialect", action="append", metavar="NAME",
                        help="compare only this metric dialect's rows (repeatable; e.g. vifb; rows of an expected "
                             "file without a dialect column belong to their protocol's dialect, 'standard': "
                             "fusionbench); with --update only its rows are rewritten")
    parser.add_argument("--update", action="store_true", help="rewrite FILE from the run's values (deliberately)")


def run(arguments: argparse.Namespace) -> int:
    from ..regression import (compare, format_report, parse_tolerance_overrides, read_values, select_dialects,
                              update_expected)

    source = arguments.run_dir / "metrics.csv" if arguments.run_dir.is_dir() else arguments.run_dir
    actual = select_dialects(read_values(source, "run metrics"), arguments.dialect)
    if arguments.update:
        count = update_expected(actual, arguments.expected, arguments.dialect)
        print(f"wrote {count} expected values to {arguments.expected}")
        return 0
    overrides = parse_tolerance_overrides(arguments.rtol_for)
    expected = select_dialects(read_values(arguments.expected, "expected metrics"), arguments.dialect)
    if arguments.dialect and actual.empty and expected.empty:
        from ..errors import ConfigError

        raise ConfigError(f"no row of dialect {', '.join(arguments.dialect)} in {source} or {arguments.expected}")
    report = compare(actual, expected, arguments.rtol, arguments.atol, overrides)
    print(format_report(report, arguments.rtol, arguments.atol, overrides=overrides))
    print("regression check passed" if report.passed else "regression check FAILED")
    return 0 if report.passed else EXIT_DRIFT
