"""``fusionbench list algorithms|metrics|datasets|suites``: what is registered, with its metadata."""
from __future__ import annotations

import argparse

NAME = "list"
HELP = "list registered algorithms, metrics, datasets or suites"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("algorithms", "metrics", "datasets", "suites", "dialects"),
                        help="what to list")
    parser.add_argument("--dialect", metavar="NAME",
                        help="with 'metrics': the metrics of this dialect and what it does for each (e.g. vifb)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="with 'algorithms': each algorithm's details and, for networks run from their "
                             "authors' weights, its model card (code, licence, weights SHA-256, verification, page)")


def run(arguments: argparse.Namespace) -> int:
    listers = {"algorithms": _algorithm_rows, "metrics": _metric_rows, "datasets": _dataset_rows,
               "suites": _suite_rows, "dialects": _dialect_rows}
    if arguments.what == "algorithms" and arguments.verbose:
        print(algorithm_descriptions())
        return 0
    if arguments.what == "metrics" and arguments.dialect:
        header, rows = _dialect_metric_rows(arguments.dialect)
    else:
        header, rows = listers[arguments.what]()
    print(format_table(header, rows))
    return 0


def _algorithm_rows():
    from ..registry import ALGORITHMS

    rows = [(spec.name, spec.kind, ",".join(spec.families), _input_range(spec.min_inputs, spec.max_inputs),
             spec.colour, spec.origin, spec.summary) for spec in ALGORITHMS.specs()]
    return ("name", "kind", "families", "inputs", "colour", "origin", "summary"), rows


def algorithm_descriptions() -> str:
    """Every algorithm as a block of ``key: value`` lines, with its model card where it has one."""
    from ..models.model_cards import model_cards
    from ..registry import ALGORITHMS

    cards = model_cards()
    return "\n\n".join(_algorithm_description(spec, cards.get(spec.name)) for spec in ALGORITHMS.specs())


def _algorithm_description(spec, card) -> str:
    fields = [("kind", spec.kind), ("families", ", ".join(spec.families)),
              ("inputs", _input_range(spec.min_inputs, spec.max_inputs)), ("colour", spec.colour),
              ("origin", spec.origin), ("source", spec.citation), ("summary", spec.summary)]
    if card is not None:
        fields += [("code", card.code), ("licence", card.licence)]
        fields += [("weights", f"{remote.file_name} sha256 {remote.sha256}") for remote in card.weights]
        fields += [("verified", card.verification), ("card", card.document)]
    # An empty field (a plugin without a citation) says nothing; leave it out.
    return "\n".join([spec.name] + [f"  {key + ':':<10}{value}" for key, value in fields if value])


def _metric_rows():
    from ..registry import METRICS

    rows = [(spec.name, "higher" if spec.higher_is_better else "lower", _sources_text(spec.sources), spec.colour,
             spec.version, spec.origin, spec.variant) for spec in METRICS.specs()]
    return ("name", "better", "sources", "colour", "version", "origin", "variant"), rows


def _dataset_rows():
    from ..datasets import get_dataset, list_datasets

    rows = [(dataset.name, dataset.family, str(len(dataset.items)), dataset.title)
            for dataset in map(get_dataset, list_datasets())]
    return ("name", "family", "items", "title"), rows


def _suite_rows():
    from ..harness.suites import SUITES

    rows = []
    for suite in SUITES.values():
        datasets = ",".join(suite.datasets) if suite.datasets else "every registered dataset"
        rows.append((suite.name, str(len(suite.algorithm_names())), datasets, suite.description))
    return ("name", "algorithms", "datasets", "description"), rows


def _dialect_rows():
    from ..metrics.dialects import get_dialect, list_dialects

    rows = [(name, str(len(get_dialect(name).metrics())), get_dialect(name).description) for name in list_dialects()]
    return ("name", "metrics", "description"), rows


def _dialect_metric_rows(name: str):
    from ..metrics.dialects import get_dialect

    dialect = get_dialect(name)
    rows = [(metric, dialect.rule(metric).core_name(), dialect.describe(metric)) for metric in dialect.metrics()]
    return ("metric", "core", f"how {dialect.name} computes it"), rows


def _input_range(minimum: int, maximum: int | None) -> str:
    return f"{minimum}+" if maximum is None else (str(minimum) if minimum == maximum else f"{minimum}-{maximum}")


def _sources_text(sources: int | None) -> str:
    return {0: "fused only", None: "N>=2"}.get(sources, str(sources))  # None: a stack of any size (metric_applies)


def format_table(header, rows) -> str:
    """Plain aligned text table (last column left unpadded)."""
    table = [tuple(header)] + [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header) - 1)]
    lines = ["  ".join([cell.ljust(width) for cell, width in zip(row[:-1], widths)] + [row[-1]]) for row in table]
    return "\n".join(line.rstrip() for line in lines)
