"""``fusionbench dialects compare|verify --dataset NAME``: how much the metric dialects disagree, and
whether a dialect reproduces its toolbox's published values.

Both compute the metrics of the dataset's published results (``SET:METHOD`` algorithms, e.g.
``vifb:*``) through the ``run`` pipeline, into a resumable run directory (``--run-dir``, default
``runs/dialects-DATASET``), so a second call, or ``verify`` after ``compare``, reuses the values.

* ``compare`` (default dialects ``fusionbench`` and ``vifb``): per metric both dialects define, the
  relative difference per image (median, max) and how the ranking of the methods changes
  (Kendall tau, the methods that move most), as Markdown (:mod:`fusionbench.reports.dialect_comparison`).
* ``verify`` (default dialect: the dataset's name, e.g. ``vifb``): every published value of
  ``dialects/DIALECT/values.csv`` (found in the data mirrors, ``FUSIONBENCH_DATA``) recomputed
  from the published images; per method how many are reproduced at the published digits
  (:mod:`fusionbench.metrics.published_values`). Methods whose published values are known not to
  belong to their images (the published set's ``notes``) are flagged, not failed. Exit 1 when an
  unflagged method misses a value.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

NAME = "dialects"
HELP = "compare metric dialects on a dataset's published results, or verify a dialect's published values"
DEFAULT_COMPARED = ("fusionbench", "vifb")
EXIT_NOT_REPRODUCED = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("compare", "verify"),
                        help="compare: differences and ranking changes between dialects; verify: recompute a "
                             "dialect's published values")
    parser.add_argument("--dataset", required=True, metavar="NAME", help="dataset with published results, e.g. vifb")
    parser.add_argument("--dialect", action="append", metavar="NAME",
                        help="compare: dialects to compare (repeatable; default fusionbench and vifb); "
                             "verify: the dialect whose published values to check (default: the dataset's name)")
    parser.add_argument("--algorithm", nargs="+", action="extend", metavar="NAME",
                        help="algorithms (names or globs; default: the dataset's published results, e.g. 'vifb:*')")
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="also write the Markdown to FILE")
    parser.add_argument("--run-dir", type=Path, metavar="DIR",
                        help="where the values are computed and kept (default runs/dialects-DATASET; resumable)")
    parser.add_argument("--max-items", type=int, metavar="N",
                        help="only the first N items of the dataset (verify then checks those items' values)")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: one per core)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(arguments: argparse.Namespace) -> int:
    from ..datasets import get_dataset
    from ..errors import ConfigError

    dataset = get_dataset(arguments.dataset)
    arguments.items = [item.name for item in dataset.items[:arguments.max_items]]
    if arguments.out is not None and arguments.out.is_dir():
        raise ConfigError(f"--out {arguments.out} is a directory; give a Markdown file name")
    if arguments.jobs < 0:
        raise ConfigError(f"--jobs {arguments.jobs}: must be 0 (all cores) or positive")
    if arguments.max_items is not None and arguments.max_items < 1:
        raise ConfigError(f"--max-items {arguments.max_items}: must be at least 1")
    if arguments.action == "compare":
        return _compare(arguments, dataset.name)
    return _verify(arguments, dataset.name)


# --- compare ---------------------------------------------------------------------------------------

def _compare(arguments: argparse.Namespace, dataset: str) -> int:
    from ..errors import ConfigError
    from ..metrics.dialects import get_dialect
    from ..reports.dialect_comparison import compare_dialects, format_markdown

    dialects = [get_dialect(name).name for name in dict.fromkeys(arguments.dialect or DEFAULT_COMPARED)]
    if len(dialects) < 2:
        raise ConfigError(f"--dialect {dialects[0]}: compare needs two or more dialects")
    algorithms = arguments.algorithm or _published_algorithms(dataset)
    metrics = _shared_metric_names(dialects)
    if not metrics:
        raise ConfigError(f"dialects {', '.join(dialects)} define no metric in common")
    values = _computed_values(arguments, dataset, algorithms, dialects, metrics)
    comparison = compare_dialects(values)
    text = _compare_preamble(arguments, dataset, dialects, values) + format_markdown(comparison, title=None)
    _emit(text, arguments.out)
    return 0


def _shared_metric_names(dialects: list[str]) -> list[str]:
    """Every dialect's metrics that some other selected dialect also defines (the run computes no more)."""
    from ..metrics.dialects import get_dialect

    def key(dialect, metric: str) -> str:
        return (dialect.rule(metric).same_as or metric).casefold()

    tables = [get_dialect(name) for name in dialects]
    keys = [{key(dialect, metric) for metric in dialect.metrics()} for dialect in tables]
    names: list[str] = []
    for index, dialect in enumerate(tables):
        others = set().union(*(keys[other] for other in range(len(tables)) if other != index))
        names += [metric for metric in dialect.metrics() if key(dialect, metric) in others and metric not in names]
    return names


def _compare_preamble(arguments: argparse.Namespace, dataset: str, dialects: list[str], values) -> str:
    from ..metrics.dialects import get_dialect

    algorithms = sorted(set(values["algorithm"]))
    command = ["fusionbench", "dialects", "compare", "--dataset", dataset]
    if arguments.dialect:
        command += [part for name in dialects for part in ("--dialect", name)]
    if arguments.algorithm:
        command += [part for name in arguments.algorithm for part in ("--algorithm", name)]
    if arguments.out is not None:
        command += ["--out", str(arguments.out)]
    lines = [f"# Metric dialects compared on {dataset}", "",
             f"Regenerate with `{shlex.join(command)}`. {len(algorithms)} algorithms, "
             f"{values['item'].nunique()} items; values of the same fused images in each dialect:", ""]
    lines += [f"* `{name}`: {get_dialect(name).description}" for name in dialects]
    lines += ["", "Per metric both dialects define: the relative difference of each image's value, "
              "|b − a| / |a| with a the first dialect's value (median and maximum over the images), and how "
              "the ranking of the algorithms by their mean changes (Kendall τ-b; 1 = the same order; the "
              "three algorithms whose rank moves most, rank in the first → the second dialect; rank 1 is the "
              "best in the dialect's direction).", ""]
    return "\n".join(lines) + "\n"


# --- verify ----------------------------------------------------------------------------------------

def _verify(arguments: argparse.Namespace, dataset: str) -> int:
    from ..datasets.fetching import find_in_mirrors
    from ..errors import ConfigError, DataNotFoundError
    from ..metrics.dialects import get_dialect
    from ..metrics.published_values import read_published_values, verify_published

    if arguments.dialect and len(arguments.dialect) > 1:
        raise ConfigError("verify checks one dialect; give --dialect once")
    dialect = get_dialect(arguments.dialect[0] if arguments.dialect else dataset).name
    relative = f"dialects/{dialect}/values.csv"
    path = find_in_mirrors(relative)
    if path is None:
        raise DataNotFoundError(f"{relative}: published values of dialect {dialect!r} not found in the data "
                                "mirrors (FUSIONBENCH_DATA or --data-dir)")
    published = read_published_values(path)
    methods = _published_methods(dataset)
    unknown = sorted(set(published["method"]) - set(methods))
    if unknown:
        raise ConfigError(f"{path}: methods {', '.join(unknown)} have no published images in dataset {dataset}")
    published = published[published["metric"].isin(get_dialect(dialect).metrics())
                          & published["image"].isin(arguments.items)]
    if published.empty:
        raise ConfigError(f"{path}: no value of a metric that dialect {dialect!r} defines")
    algorithms = [methods[name][0] for name in sorted(set(published["method"]))]
    values = _computed_values(arguments, dataset, algorithms, [dialect], sorted(set(published["metric"])))
    method_of = {algorithm: method for method, (algorithm, _) in methods.items()}
    computed = values[values["dialect"] == dialect].assign(method=lambda frame: frame["algorithm"].map(method_of))
    computed = computed.rename(columns={"item": "image"})
    table = verify_published(published, computed, {method: note for method, (_, note) in methods.items() if note})
    _emit(_verification_markdown(table, dialect, dataset, path.name), arguments.out)
    failed = table[(table["missed"] > 0) & (table["note"] == "")]
    if not failed.empty:
        print(f"error: {int(failed['missed'].sum())} published values of {', '.join(failed['method'])} are not "
              "reproduced", file=sys.stderr)
        return EXIT_NOT_REPRODUCED
    return 0


def _verification_markdown(table, dialect: str, dataset: str, file_name: str) -> str:
    lines = [f"# Dialect {dialect}: published values recomputed from the published images of {dataset}", "",
             f"{int(table['values'].sum())} values of {len(table)} methods in {file_name}; a value is reproduced "
             "when the computed one, rounded to the published significant digits, equals it.", "",
             "| method | values | reproduced | missed | misses by metric | largest rel. diff. | note |",
             "|---|---:|---:|---:|---|---:|---|"]
    for row in table.itertuples(index=False):
        flag = f"**flagged**: {row.note}" if row.note else ""
        lines.append(f"| {row.method} | {row.values} | {row.reproduced} | {row.missed} | {row.missed_by_metric or '—'} "
                     f"| {row.largest_relative_difference:.2e} | {flag} |")
    return "\n".join(lines) + "\n"


# --- shared ----------------------------------------------------------------------------------------

def _published_methods(dataset: str) -> dict[str, tuple[str, str]]:
    """method -> (algorithm name, note) of the published sets of ``dataset``."""
    from ..published import packaged_sets, user_sets

    methods: dict[str, tuple[str, str]] = {}
    for published in packaged_sets() + user_sets():
        if published.dataset == dataset:
            for method in published.methods:
                methods.setdefault(method, (published.algorithm_name(method), published.notes.get(method, "")))
    return methods


def _published_algorithms(dataset: str) -> list[str]:
    from ..errors import ConfigError

    algorithms = [algorithm for algorithm, _ in _published_methods(dataset).values()]
    if not algorithms:
        raise ConfigError(f"dataset {dataset} has no published results; name the algorithms with --algorithm")
    return algorithms


def _computed_values(arguments: argparse.Namespace, dataset: str, algorithms: list[str], dialects: list[str],
                     metrics: list[str]):
    """The metrics.csv rows of a run of ``algorithms`` on ``dataset`` in ``dialects`` (computed or resumed)."""
    import pandas as pd

    from ..errors import FusionBenchError
    from ..harness import RunSettings
    from ..harness import run as run_benchmark
    from ..harness.settings import parse_protocols

    run_dir = arguments.run_dir or Path("runs") / f"dialects-{dataset}"
    command_line = shlex.join(["fusionbench"] + list(getattr(arguments, "argv", sys.argv[1:])))
    settings = RunSettings(out=run_dir, datasets=[dataset], algorithms=list(algorithms), metrics=list(metrics),
                           protocols=parse_protocols(dialects), jobs=arguments.jobs, max_items=arguments.max_items,
                           progress=not arguments.no_progress, command_line=command_line,
                           plugins=tuple(arguments.plugin or ()))
    summary = run_benchmark(settings, log=lambda text: print(text, file=sys.stderr))
    print(f"{summary.tasks} fused images ({summary.cached} from cache), {len(summary.failures)} failures, "
          f"{summary.seconds:.1f} s -> {summary.run_dir}", file=sys.stderr)
    for failure in summary.failures[:5]:
        print(f"  failed: {failure['algorithm']} on {failure['item']} ({failure['stage']} {failure['metric']}): "
              f"{failure['message']}", file=sys.stderr)
    values = pd.read_csv(summary.run_dir / "metrics.csv", dtype=str, keep_default_na=False)
    values = values[(values["dataset"] == dataset) & values["dialect"].isin(dialects)]
    if values.empty:
        raise FusionBenchError(f"no metric value was computed (see {summary.run_dir / 'failures.csv'})")
    return values


def _emit(text: str, out: Path | None) -> None:
    from ..errors import ConfigError
    from ..image_io import write_text_atomic

    print(text, end="")
    if out is not None:
        try:
            write_text_atomic(out, text)
        except OSError as error:
            raise ConfigError(f"cannot write {out}: {error.strerror or error}") from None
        print(f"wrote {out}", file=sys.stderr)
