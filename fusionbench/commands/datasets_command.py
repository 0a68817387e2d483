"""``fusionbench datasets list|fetch|verify``: the test sets, their files and their checksums."""
from __future__ import annotations

import argparse

NAME = "datasets"
HELP = "list datasets, fetch their files (mirror, cache or download) or verify their SHA-256"

EXIT_PROBLEMS = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "fetch", "verify"),
                        help="list: names, families, items; fetch: make every file local (downloading if needed); "
                             "verify: check that every file is present with the right SHA-256, without downloading")
    parser.add_argument("--allow-outside-sources", action="store_true",
                        help="let a dataset manifest name sources outside its folder (absolute paths, ../, links "
                             "pointing out); refused by default because a manifest may come from a stranger")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="datasets (default: all built-in); a folder with a fusionbench-dataset.toml also works")


def run(arguments: argparse.Namespace) -> int:
    from ..datasets.manifest import allow_outside_sources

    allow_outside_sources(arguments.allow_outside_sources)
    from ..datasets import get_dataset, list_datasets
    from .list_command import format_table

    datasets = [get_dataset(name) for name in (arguments.names or list_datasets())]
    if arguments.action == "list":
        rows = [(d.name, d.family, str(len(d.items)), _input_counts(d), d.licence, d.title) for d in datasets]
        print(format_table(("name", "family", "items", "sources", "licence", "title"), rows))
        return 0
    problems = 0
    rows = []
    for dataset in datasets:
        files = sum(len(item.sources) for item in dataset.items)
        failed = check_dataset(dataset, download=arguments.action == "fetch")
        problems += len(failed)
        rows.append((dataset.name, str(files), "ok" if not failed else f"{len(failed)} problem(s)"))
        for message in failed[:3]:  # the first few say what is wrong; the count says how much
            print(f"  {dataset.name}: {message}")
        if len(failed) > 3:
            print(f"  {dataset.name}: ... and {len(failed) - 3} more")
    print(format_table(("dataset", "files", arguments.action), rows))
    return 0 if problems == 0 else EXIT_PROBLEMS


def check_dataset(dataset, download: bool) -> list[str]:
    """Messages for every source file that is missing or has the wrong SHA-256."""
    from ..datasets import fetch
    from ..errors import FusionBenchError

    problems = []
    for item in dataset.items:
        for source in item.sources:
            try:
                fetch(source, download=download)
            except FusionBenchError as error:
                problems.append(str(error))
    return problems


def _input_counts(dataset) -> str:
    counts = sorted({len(item.sources) for item in dataset.items})
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
