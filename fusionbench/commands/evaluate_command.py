"""``fusionbench evaluate``: metrics of a folder of fused images (from any tool) on a dataset."""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

NAME = "evaluate"
HELP = "evaluate a folder of fused images against a dataset's sources, one CSV row per image and metric"
COLUMNS = ("dataset", "item", "algorithm", "protocol", "metric", "value", "dialect")  # as run's metrics.csv


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-outside-sources", action="store_true",
                        help="let a dataset manifest name sources outside its folder (absolute paths, ../, links "
                             "pointing out); refused by default because a manifest may come from a stranger")
    parser.add_argument("--dataset", required=True, metavar="NAME",
                        help="dataset name (lytro, lytro-triple, tno-iv, medical, mef; see 'fusionbench list datasets')")
    parser.add_argument("--fused-dir", required=True, metavar="DIR", help="folder holding the fused images")
    parser.add_argument("--pattern", default="{name}.png",
                        help="file name of an item's fused image, {name} = the item name "
                             "(default '{name}.png'; e.g. 'IFCNN-MAX-IV-{name}.png')")
    parser.add_argument("--algorithm", metavar="LABEL", help="label for the algorithm column (default: the folder name)")
    parser.add_argument("--protocol",
                        help="'standard' = metric(A, B, F) (default) or 'ifcnn-paper' = metric(A, A, F)")
    parser.add_argument("--dialect", action="append", default=[], metavar="NAME",
                        help="compute the metrics as a toolbox's code does (see 'fusionbench list dialects'): "
                             "fusionbench (default), ifcnn-paper, vifb; repeatable, rows of each")
    parser.add_argument("--metric", metavar="NAME", dest="metrics", action="extend", nargs="+",
                        help="metrics to compute (repeatable; default: every registered metric that applies)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="skip items without a fused image instead of stopping with an error")
    parser.add_argument("--out", required=True, metavar="FILE.csv", help="where to write the CSV")


def fused_path(directory: Path, pattern: str, item: str) -> Path:
    """The fused image of ``item``: ``directory / pattern.format(name=item)``."""
    from ..errors import ConfigError

    if "{name}" not in pattern:
        raise ConfigError(f"--pattern {pattern!r} must contain '{{name}}' (the item name)")
    try:
        return directory / pattern.format(name=item)
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(f"--pattern {pattern!r} is not a valid pattern ({error}); use '{{name}}' only") from None


def selected_dialects(protocol: str | None, dialects: list[str]) -> list:
    """The dialects of ``--protocol`` and ``--dialect`` (each once, in order; default ``standard``)."""
    from ..metrics.dialects import dialect_for
    from ..metrics.protocols import get_protocol

    names = ([get_protocol(protocol).name] if protocol else []) + list(dialects)
    chosen = {}
    for name in names or ["standard"]:
        dialect = dialect_for(name)
        chosen.setdefault(dialect.name, dialect)
    return list(chosen.values())


def requested_metrics(names: list[str] | None, dialects: list) -> list[str] | None:
    """``--metric`` names checked against the dialects (None: every metric that applies)."""
    from ..metrics.dialects import check_metric_names
    from ..registry import get_metric

    if not names:
        return None
    if all(dialect.protocol is not None for dialect in dialects):
        return [get_metric(name).name for name in names]  # the registry's message and suggestion
    check_metric_names(dialects, names)
    return list(names)


def values_in_dialect(dialect, requested: list[str] | None, fused, sources, labels: list[str]) -> dict[str, float]:
    """The metrics of one fused image in ``dialect``: a protocol's registered metrics on the images with grey
    sources repeated to RGB beside colour ones (as always), a dialect of its own on the images as decoded."""
    from ..image_io import match_channels
    from ..metrics.evaluation import compute_metrics, prepare_images

    names = dialect.metric_names(requested, len(sources))
    if dialect.protocol is not None:
        fused, sources = prepare_images(fused, match_channels(sources), labels=labels)
        return compute_metrics(names, fused, sources, dialect.protocol)
    values = dialect.compute_many(names, fused, sources)  # all metrics' planes in one thread pool
    for value in values.values():
        if isinstance(value, Exception):
            raise value
    return values


def run(arguments: argparse.Namespace) -> int:
    from ..datasets.manifest import allow_outside_sources

    allow_outside_sources(arguments.allow_outside_sources)
    from ..datasets import get_dataset
    from ..errors import ConfigError, DataNotFoundError, FusionBenchError, ImageError
    from ..image_io import read_image

    out = Path(arguments.out)
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a CSV file name")
    dataset = get_dataset(arguments.dataset)
    dialects = selected_dialects(arguments.protocol, arguments.dialect)
    directory = Path(arguments.fused_dir)
    if not directory.is_dir():
        raise ImageError(f"{directory}: no such folder (--fused-dir)")
    algorithm = arguments.algorithm or directory.resolve().name
    requested = requested_metrics(arguments.metrics, dialects)

    rows: list[tuple] = []
    missing: list[Path] = []
    bad: list[tuple[str, str, str]] = []  # (item, file, why) of images that could not be evaluated
    paths = {item.name: fused_path(directory, arguments.pattern, item.name) for item in dataset.items}
    missing = [path for path in paths.values() if not path.exists()]
    if missing and not arguments.skip_missing:
        raise DataNotFoundError(f"{len(missing)} of {len(dataset.items)} fused images are missing, first "
                                f"{missing[0]} (check --fused-dir/--pattern, or pass --skip-missing)")
    for item in dataset.items:
        path = paths[item.name]
        if not path.exists():
            continue
        try:
            source_paths = item.source_paths()
            fused, sources = read_image(path), [read_image(source) for source in source_paths]
            labels = [str(path), *map(str, source_paths)]
            values = {dialect: values_in_dialect(dialect, requested, fused, sources, labels) for dialect in dialects}
        except FusionBenchError as error:  # one bad image must not cost the others their values
            bad.append((item.name, str(path), str(error)))
            print(f"{item.name}: skipped: {error}", file=sys.stderr)
            continue
        for dialect, measured in values.items():
            rows.extend((dataset.name, item.name, algorithm, dialect.label, name, f"{value:.10g}", dialect.name)
                        for name, value in measured.items())
            print(f"{item.name}{'' if len(dialects) == 1 else f' ({dialect.name})'}: "
                  + ", ".join(f"{name} {value:.4g}" for name, value in measured.items()), file=sys.stderr)
    if not rows and not bad:
        raise DataNotFoundError(f"no fused images of {dataset.name} found in {directory} with pattern {arguments.pattern!r}")
    _write_csv(out, COLUMNS, rows)
    failures_file = out.with_name(out.stem + ".failures.csv")
    if bad:
        _write_csv(failures_file, ("item", "file", "message"), bad)
    elif failures_file.exists():
        failures_file.unlink()  # from an earlier evaluation into the same file: no longer true
    if rows:
        _print_means(rows)
    print(f"wrote {len(rows)} rows to {arguments.out}" + (f" ({len(missing)} items skipped)" if missing else ""))
    if bad:
        print(f"error: {len(bad)} of {len(dataset.items)} fused images could not be evaluated (listed in "
              f"{failures_file}), first {bad[0][1]}: {bad[0][2]}", file=sys.stderr)
        return 1
    return 0


def _write_csv(path: Path, header: tuple, rows: list[tuple]) -> None:
    from ..errors import ConfigError
    from ..image_io import write_text_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    try:
        write_text_atomic(path, buffer.getvalue())
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None


def _print_means(rows: list[tuple]) -> None:
    several = len({row[6] for row in rows}) > 1
    by_metric: dict[str, list[float]] = {}
    for row in rows:
        by_metric.setdefault(f"{row[4]} ({row[6]})" if several else row[4], []).append(float(row[5]))
    width = max(len(name) for name in by_metric)
    for name, values in by_metric.items():
        print(f"{name.ljust(width)}  mean {sum(values) / len(values):.6g}  (n={len(values)})")
