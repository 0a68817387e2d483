"""``fusionbench metrics FUSED SOURCE [SOURCE ...]``: metric values of one fused image."""
from __future__ import annotations

import argparse
import json
import sys

NAME = "metrics"
HELP = "compute fusion metrics of one fused image against its source images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("fused", metavar="FUSED", help="the fused image file")
    parser.add_argument("sources", metavar="SOURCE", nargs="+", help="the source image files, in the dataset's order")
    parser.add_argument("--metric", metavar="NAME", dest="metrics", action="extend", nargs="+",
                        help="metrics to compute (repeatable; default: every registered metric that "
                             "applies to this many sources; see 'fusionbench list metrics')")
    parser.add_argument("--protocol",
                        help="how two-source metrics receive the sources: 'standard' = metric(A, B, F) "
                             "(default), 'ifcnn-paper' = metric(A, A, F) as the IFCNN paper computed them")
    parser.add_argument("--dialect", action="append", default=[], metavar="NAME",
                        help="compute the metrics as a toolbox's code does (see 'fusionbench list dialects'): "
                             "fusionbench (default), ifcnn-paper, vifb; repeatable: one column per dialect "
                             "(with --json: an object per dialect under \"dialects\")")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(arguments: argparse.Namespace) -> int:
    from ..errors import FusionBenchError
    from ..image_io import read_image
    from .evaluate_command import requested_metrics, selected_dialects

    dialects = selected_dialects(arguments.protocol, arguments.dialect)
    requested = requested_metrics(arguments.metrics, dialects)
    paths = [arguments.fused, *arguments.sources]
    fused, *sources = (read_image(path) for path in paths)
    results = {}
    for dialect in dialects:
        values: dict[str, float] = {}
        failures: dict[str, str] = {}
        for name, outcome in _outcomes(dialect, requested, fused, sources, paths).items():
            if isinstance(outcome, FusionBenchError):
                if requested:
                    raise outcome  # an explicitly requested metric that cannot be computed is the user's error
                failures[name] = str(outcome)
            else:
                values[name] = outcome
        results[dialect] = (values, failures)
    if arguments.json:
        print(json.dumps(_json_object(arguments, results), indent=2))
    else:
        print(_table(results))
    for dialect, (_, failures) in results.items():
        for name, message in failures.items():
            print(f"error: {name}{'' if len(results) == 1 else f' ({dialect.name})'}: {message}", file=sys.stderr)
    return 2 if any(failures for _, failures in results.values()) else 0


def _outcomes(dialect, requested: list[str] | None, fused, sources, paths: list[str]) -> dict:
    """Each metric's value or the error it raised: a dialect of its own computes all of them in one
    thread pool (:meth:`~fusionbench.metrics.dialects.Dialect.compute_many`), a protocol's metric by metric."""
    from ..errors import FusionBenchError
    from .evaluate_command import values_in_dialect

    names = dialect.metric_names(requested, len(sources))
    if dialect.protocol is None:
        try:
            return dialect.compute_many(names, fused, sources)
        except FusionBenchError as error:  # the images themselves (sizes): every metric fails alike
            return {name: error for name in names}
    outcomes: dict = {}
    for name in names:
        try:
            outcomes.update(values_in_dialect(dialect, [name], fused, sources, paths))
        except FusionBenchError as error:
            outcomes[name] = error
    return outcomes


def _json_object(arguments: argparse.Namespace, results: dict) -> dict:
    """One dialect: the flat form (fused, sources, protocol, metrics, failures) plus its name; several: an
    object per dialect under ``dialects``."""
    head = {"fused": arguments.fused, "sources": arguments.sources}
    per_dialect = {dialect.name: {"protocol": dialect.label, "metrics": values, "failures": failures}
                   for dialect, (values, failures) in results.items()}
    if len(results) == 1:
        (name, body), = per_dialect.items()
        return {**head, "protocol": body["protocol"], "dialect": name, "metrics": body["metrics"],
                "failures": body["failures"]}
    return {**head, "dialects": per_dialect}


def _table(results: dict) -> str:
    """``name  value`` lines; with several dialects a column per dialect (blank where one lacks the metric)."""
    if len(results) == 1:
        (values, _), = results.values()
        width = max((len(name) for name in values), default=0)
        return "\n".join(f"{name.ljust(width)}  {value:.10g}" for name, value in values.items())
    from .list_command import format_table

    def key(dialect, name: str) -> str:  # the same metric in two dialects: QABF/Qabf, SSIM-SUM/SSIM
        return (dialect.rule(name).same_as or name).casefold()

    columns = [{key(dialect, name): value for name, value in values.items()} for dialect, (values, _) in results.items()]
    names = {}  # key -> the first dialect's name of it
    for dialect, (values, _) in results.items():
        for name in values:
            names.setdefault(key(dialect, name), name)
    rows = [(name, *(f"{column[folded]:.10g}" if folded in column else "" for column in columns))
            for folded, name in names.items()]
    return format_table(("metric", *(dialect.name for dialect in results)), rows)
