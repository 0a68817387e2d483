"""``fusionbench run``: fuse the datasets with the algorithms, measure, write the paper's tables."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

NAME = "run"
HELP = "run algorithms on datasets, compute metrics and write tables into a run directory (resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true",
                        help="every suite (see 'fusionbench list suites'; the default when nothing is selected)")
    parser.add_argument("--suite", action="append", metavar="NAME",
                        help="a named selection of datasets and algorithms, e.g. paper; repeatable")
    parser.add_argument("--dataset", nargs="+", action="extend", metavar="NAME",
                        help="dataset names, or folders with a fusionbench-dataset.toml manifest")
    parser.add_argument("--allow-outside-sources", action="store_true",
                        help="let a dataset manifest name sources outside its folder (absolute paths, ../, links "
                             "pointing out); refused by default because a manifest may come from a stranger")
    parser.add_argument("--algorithm", nargs="+", action="extend", metavar="NAME", help="algorithm names")
    parser.add_argument("--metric", nargs="+", action="extend", metavar="NAME", help="metric names")
    parser.add_argument("--published", action="append", default=[], metavar="FILE.toml",
                        help="a paper's released fused images as read-only algorithms SET:METHOD (a TOML mapping a "
                             "dataset's items to the files; see fusionbench/published/results.py); repeatable")
    parser.add_argument("--dialect", action="append", default=[], metavar="NAME",
                        help="compute the metrics as a toolbox's code does (see 'fusionbench list dialects'): "
                             "fusionbench (default), ifcnn-paper, vifb; repeatable, values side by side in metrics.csv")
    parser.add_argument("--protocol", action="append", metavar="NAME",
                        help="how two-source metrics are called: standard (default), ifcnn-paper (metric(A, A, F), "
                             "as the paper did) or both; repeatable")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="run directory (default runs/<UTC timestamp>); rerunning into it resumes")
    parser.add_argument("--jobs", type=int, default=0, metavar="N",
                        help="worker processes of the local executor (default: one per core)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where the work runs: local worker processes (default) or a Dask cluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --executor dask: tcp://HOST:PORT of a running scheduler, or local:N to start a "
                             "LocalCluster of N worker processes (default local:JOBS)")
    parser.add_argument("--threads-per-worker", type=int, metavar="N",
                        help="torch/BLAS/Numba threads of each worker (default: cores / workers)")
    parser.add_argument("--item-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="longest one fusion or metric call may take before its worker is stopped and the call "
                             "recorded as failed (local executor; default 600)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every call in this process (for a debugger; no isolation, no timeout)")
    parser.add_argument("--device", metavar="DEVICE", help="device for torch algorithms, e.g. cpu or cuda")
    parser.add_argument("--set", action="append", default=[], metavar="ALGORITHM.KEY=VALUE", dest="assignments",
                        help="algorithm option (ALGORITHM may be a glob, e.g. 'ifcnn-*.preprocessing=paper'); repeatable")
    parser.add_argument("--paper-metrics", action="store_true",
                        help="per family only the paper's metrics (VIFF, ISSIM, NMI, SF, AG; MEF-SSIM, SF, AG)")
    parser.add_argument("--max-items", type=int, metavar="N", help="only the first N items of each dataset")
    parser.add_argument("--compare-paper", action="store_true", help="add the paper's value and the difference to tables")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="do not write RUN_DIR/report.html")  # issue 7


def settings_from(arguments: argparse.Namespace, command_line: str):
    from ..errors import ConfigError
    from ..harness import RunSettings, default_run_directory, parse_option_assignment, parse_protocols

    options: dict[str, dict] = {}
    for text in arguments.assignments:
        pattern, key, value = parse_option_assignment(text)
        options.setdefault(pattern, {})[key] = value
    if arguments.jobs < 0:
        raise ConfigError(f"--jobs {arguments.jobs}: must be 0 (all cores) or positive")
    if arguments.max_items is not None and arguments.max_items < 1:
        raise ConfigError(f"--max-items {arguments.max_items}: must be at least 1")
    if arguments.threads_per_worker is not None and arguments.threads_per_worker < 1:
        raise ConfigError(f"--threads-per-worker {arguments.threads_per_worker}: must be at least 1")
    if not arguments.item_timeout > 0:
        raise ConfigError(f"--item-timeout {arguments.item_timeout:g}: must be a positive number of seconds")
    if arguments.scheduler and arguments.executor != "dask":
        raise ConfigError("--scheduler needs --executor dask")
    suites = tuple(arguments.suite or ())
    if arguments.all:
        from ..harness.suites import list_suites

        suites = tuple(list_suites())
    scheduler = arguments.scheduler
    if arguments.executor == "dask" and not scheduler:
        import os

        scheduler = f"local:{arguments.jobs or os.cpu_count() or 1}"
    return RunSettings(out=arguments.out or default_run_directory(), datasets=arguments.dataset,
                       algorithms=arguments.algorithm, metrics=arguments.metric,
                       protocols=parse_protocols((arguments.protocol or []) + arguments.dialect or None),
                       jobs=arguments.jobs, device=arguments.device,
                       options=options, max_items=arguments.max_items, progress=not arguments.no_progress,
                       command_line=command_line, compare_paper=arguments.compare_paper,
                       paper_metrics_only=arguments.paper_metrics, executor=arguments.executor,
                       scheduler=scheduler, threads_per_worker=arguments.threads_per_worker,
                       item_timeout=arguments.item_timeout, in_process=arguments.in_process,
                       plugins=tuple(arguments.plugin or ()), suites=suites)


def run(arguments: argparse.Namespace) -> int:
    from ..datasets.manifest import allow_outside_sources

    allow_outside_sources(arguments.allow_outside_sources)
    if arguments.published:
        from ..published import add_published_file

        for path in arguments.published:
            add_published_file(path)
    import time

    from ..harness import run as run_benchmark
    from ..harness.collect import record_stage_seconds
    from .background_imports import BackgroundImports

    command_line = shlex.join(["fusionbench"] + list(getattr(arguments, "argv", sys.argv[1:])))
    # The tables' and report's modules load while the workers compute (see background_imports).
    report_modules = [] if arguments.no_report else ["fusionbench.reports.html"]
    imports = BackgroundImports(["fusionbench.reports.tables", *report_modules])
    summary = run_benchmark(settings_from(arguments, command_line), log=lambda text: print(text, file=sys.stderr),
                            while_executing=imports.start)
    imports.wait()
    from ..reports.tables import write_tables_if_changed

    print(f"{summary.tasks} fusions ({summary.cached} from cache, {summary.fused} computed now), "
          f"{len(summary.failures)} failures, {summary.seconds:.1f} s -> {summary.run_dir}")
    for failure in summary.failures[:20]:
        what = f"{failure['stage']} {failure['metric']}".strip()
        print(f"  failed: {failure['algorithm']} on {failure['dataset']}/{failure['item']} ({what}): {failure['message']}")
    if len(summary.failures) > 20:
        print(f"  ... {len(summary.failures) - 20} more in {summary.run_dir / 'failures.csv'}")
    # Tables and the report are a separate step over the finished run directory.
    started = time.perf_counter()
    tables_written = write_tables_if_changed(summary.run_dir, arguments.compare_paper)
    stages = {"tables": time.perf_counter() - started}
    print(f"tables: {summary.run_dir / 'tables'}")
    report = summary.run_dir / "report.html"
    if not arguments.no_report and not tables_written and report.is_file():
        # Same inputs as when report.html was written (tables unchanged): keep it; 'fusionbench report' rewrites it.
        print(f"report: {report} (unchanged)")
    elif not arguments.no_report:
        from ..reports.html import write_report

        started = time.perf_counter()
        print(f"report: {write_report(summary.run_dir, compare_paper=arguments.compare_paper)}")
        stages["report"] = time.perf_counter() - started
    record_stage_seconds(summary.run_dir, stages)
    return 0
