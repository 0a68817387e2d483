"""``fusionbench run``: fuse every selected item with every suitable algorithm, measure, tabulate.

The plan is a list of *tasks*, one per (dataset item, algorithm). A task fuses the item (or
reuses its cached fused image) and computes every selected metric under every selected
protocol that is not cached yet (:mod:`fusionbench.run_cache`). CPU algorithms run in a pool
of ``jobs`` processes; algorithms that run on torch (IFCNN: a ``device`` option) fuse in the
main process, one at a time, so torch keeps its own threads and never competes with itself,
and their metrics then go to the pool.

Outputs (the run-directory contract; every file written through a temp file and a rename):
``fused/ALGORITHM/DATASET/ITEM.png``, ``metrics.csv``, ``timings.csv``, ``failures.csv``,
``run.json``, ``cache/`` and ``tables/``. The CSVs are rebuilt from the cache records — at the
end, every ``CSV_REFRESH_SECONDS`` during the run and on Ctrl-C — so an interrupted and
resumed run ends with byte-identical CSVs to an uninterrupted one.

A failure of an algorithm or a metric on one item is recorded in ``failures.csv`` with its
message and the run goes on.
"""
from __future__ import annotations

import concurrent.futures
import datetime
import fnmatch
import json
import math
import multiprocessing
import os
import platform
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import __version__
from .cache_key import file_sha256
from .datasets import Dataset, get_dataset, list_datasets
from .errors import ConfigError, DataNotFoundError, FusionBenchError, MetricError
from .families import MULTI_EXPOSURE
from .image_io import read_image, write_png, write_text_atomic
from .registry import ALGORITHMS, METRICS, AlgorithmSpec, MetricSpec
from .run_cache import RunCache, fused_key, metric_key

PROTOCOLS = ("standard", "ifcnn-paper")
CSV_REFRESH_SECONDS = 10.0

#: The paper's metrics per family (Sec. 3.1): two-source sets and multi-exposure stacks.
PAPER_PAIR_METRICS = ("VIFF", "ISSIM", "NMI", "SF", "AG")
PAPER_MEF_METRICS = ("MEF-SSIM", "SF", "AG")


# ---------------------------------------------------------------------------------------------
# Plan


@dataclass(frozen=True)
class MetricJob:
    """One metric value to produce for a task: name, protocol (None = protocol-free), cache key."""

    name: str
    protocols: tuple[str, ...]  # the protocol columns this value fills
    key: str


@dataclass
class Task:
    """Fuse one item with one algorithm and measure it."""

    dataset: str
    item: str
    family: str
    source_paths: list[str]
    algorithm: str
    options: dict[str, Any]
    in_main_process: bool
    key: str
    png: str  # relative to the run directory
    metrics: list[MetricJob] = field(default_factory=list)


@dataclass
class RunSettings:
    """What ``fusionbench run`` was asked to do."""

    out: Path
    datasets: list[str] | None = None  # None: all
    algorithms: list[str] | None = None  # None: all that suit
    metrics: list[str] | None = None  # None: all that accept the item
    protocols: tuple[str, ...] = ("standard",)
    jobs: int = 0  # 0: all cores
    device: str | None = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # algorithm pattern -> options
    max_items: int | None = None
    progress: bool = True
    command_line: str = ""
    compare_paper: bool = False
    write_tables: bool = True
    paper_metrics_only: bool = False  # per family, only the metrics the paper reports


def default_run_directory() -> Path:
    """``runs/<UTC timestamp>``."""
    return Path("runs") / datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")


def parse_protocols(values: Iterable[str] | None) -> tuple[str, ...]:
    """Registered protocol names or ``both`` (= standard, ifcnn-paper), comma-separated or repeated.

    Order is kept and duplicates dropped; the default is ``standard``.
    """
    from .metrics.protocols import get_protocol

    chosen: list[str] = []
    for value in values or ["standard"]:
        for part in str(value).split(","):
            for name in (PROTOCOLS if part == "both" else (part,)):
                get_protocol(name)  # unknown names raise with a suggestion
                if name not in chosen:
                    chosen.append(name)
    return tuple(chosen)


def metric_accepts(spec: MetricSpec, source_count: int) -> bool:
    """A metric applies to an item with that many sources (the metrics package's rule)."""
    from .metrics.evaluation import metric_applies

    return metric_applies(spec, source_count)


def paper_metrics(family: str) -> tuple[str, ...]:
    """The metrics the paper reports for a family."""
    return PAPER_MEF_METRICS if family == MULTI_EXPOSURE else PAPER_PAIR_METRICS


def options_for(name: str, settings: RunSettings, spec: AlgorithmSpec) -> dict[str, Any]:
    """Options from ``--set`` patterns matching ``name`` (later patterns win), plus ``--device``."""
    options: dict[str, Any] = {}
    for pattern, values in settings.options.items():
        if fnmatch.fnmatchcase(name, pattern):
            options.update(values)
    if settings.device and "device" in spec.defaults:
        options.setdefault("device", settings.device)
    return options


def runs_in_main_process(spec: AlgorithmSpec) -> bool:
    """Torch algorithms (a ``device`` option, or defined in fusionbench.models) stay in one process."""
    module = getattr(spec.factory, "__module__", "") or ""
    return "device" in spec.defaults or module.startswith("fusionbench.models")


def _select_datasets(settings: RunSettings) -> list[Dataset]:
    return [get_dataset(name) for name in (settings.datasets or list_datasets())]


def _select_algorithms(settings: RunSettings) -> list[AlgorithmSpec]:
    if settings.algorithms:
        return [ALGORITHMS.get(name) for name in settings.algorithms]
    return ALGORITHMS.specs()


def _select_metrics(settings: RunSettings) -> list[MetricSpec]:
    if settings.metrics:
        return [METRICS.get(name) for name in settings.metrics]
    return METRICS.specs()


def source_hash(source: Any, path: Path) -> str:
    """A source's SHA-256: the registry's (already verified by fetch) or the file's."""
    return getattr(source, "sha256", None) or file_sha256(path)


@dataclass
class Plan:
    tasks: list[Task]
    datasets: dict[str, dict]
    algorithms: dict[str, dict]
    metrics: dict[str, dict]
    skipped: dict[str, str]
    notes: list[str]


def build_plan(settings: RunSettings, log: Callable[[str], None] = print) -> Plan:
    """Resolve names, fetch sources, create each algorithm once (identity), list the tasks."""
    datasets = _select_datasets(settings)
    algorithm_specs = _select_algorithms(settings)
    metric_specs = _select_metrics(settings)
    explicit_algorithms = bool(settings.algorithms)
    identities: dict[str, dict] = {}
    options_by_name: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    notes: list[str] = []
    tasks: list[Task] = []
    dataset_records: dict[str, dict] = {}
    used_metrics: dict[str, MetricSpec] = {}
    for dataset in datasets:
        items = list(dataset.items[: settings.max_items] if settings.max_items else dataset.items)
        suitable = [spec for spec in algorithm_specs if any(spec.suits(dataset.family, len(item.sources))
                                                            for item in items)]
        if not suitable:
            notes.append(f"{dataset.name}: no selected algorithm suits family {dataset.family}")
            continue
        record = {"family": dataset.family, "items": [], "sources": {}}
        for item in items:
            paths = item.source_paths()
            hashes = [source_hash(source, path) for source, path in zip(item.sources, paths)]
            record["items"].append(item.name)
            record["sources"][item.name] = [{"file": path.name, "sha256": digest} for path, digest in zip(paths, hashes)]
            accepted = [spec for spec in metric_specs if metric_accepts(spec, len(paths)) and (
                not settings.paper_metrics_only or spec.name in paper_metrics(dataset.family))]
            for spec in accepted:
                used_metrics[spec.name] = spec
            for spec in suitable:
                if not spec.suits(dataset.family, len(paths)) or spec.name in skipped:
                    continue
                if spec.name not in identities:
                    options = options_for(spec.name, settings, spec)
                    try:
                        identities[spec.name] = _json_safe(spec.create(**options).identity())
                    except DataNotFoundError as error:
                        if explicit_algorithms:
                            raise
                        skipped[spec.name] = str(error)
                        log(f"note: skipping {spec.name}: {error}")
                        continue
                    options_by_name[spec.name] = options
                key = fused_key(identities[spec.name], hashes)
                # Protocols decide only how two-source metrics are called: other values are shared.
                jobs = [MetricJob(metric.name, settings.protocols, metric_key(metric.name, metric.version, None, key))
                        for metric in accepted if metric.sources != 2]
                jobs += [MetricJob(metric.name, (protocol,), metric_key(metric.name, metric.version, protocol, key))
                         for metric in accepted if metric.sources == 2 for protocol in settings.protocols]
                tasks.append(Task(dataset.name, item.name, dataset.family, [str(path) for path in paths], spec.name,
                                  options_by_name[spec.name], runs_in_main_process(spec), key,
                                  f"fused/{spec.name}/{dataset.name}/{item.name}.png", jobs))
        dataset_records[dataset.name] = record
    metrics = {name: {"version": spec.version, "higher_is_better": spec.higher_is_better, "sources": spec.sources}
               for name, spec in sorted(used_metrics.items())}
    return Plan(tasks, dataset_records, identities, metrics, skipped, notes)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


# ---------------------------------------------------------------------------------------------
# Work (runs in a worker process or in the main process)

_ALGORITHM_INSTANCES: dict[str, Any] = {}


def _algorithm_instance(name: str, options: dict[str, Any]):
    memo = json.dumps([name, options], sort_keys=True, default=str)
    if memo not in _ALGORITHM_INSTANCES:
        _ALGORITHM_INSTANCES[memo] = ALGORITHMS.get(name).create(**options)
    return _ALGORITHM_INSTANCES[memo]


def compute_metric_value(name: str, fused: np.ndarray, sources: list[np.ndarray], protocol: str) -> float:
    """One metric value through the metrics package's evaluation (colour policy + protocol)."""
    from .metrics.evaluation import compute_metrics

    value = float(compute_metrics([name], fused, sources, protocol)[name])
    if not math.isfinite(value):
        raise MetricError(f"{name} returned {value}")
    return value


def device_label(algorithm: Any) -> str:
    """The device an algorithm ran on: its resolved ``device`` attribute ("auto" resolved), else cpu."""
    instance = getattr(algorithm, "_instance", None)
    device = str(getattr(instance, "device", None) or algorithm.options.get("device") or "cpu")
    if device == "auto":
        import torch  # only algorithms that run on torch have a device option

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return device


@dataclass
class TaskResult:
    task: Task
    record: dict | None  # the cache record (None when the fusion failed)
    failures: list[dict]
    fused_now: bool = False


def perform(task: Task, run_dir: str, with_metrics: bool = True) -> TaskResult:
    """Fuse (unless cached) and compute the missing metric values; never raises for item errors."""
    cache = RunCache(run_dir)
    failures: list[dict] = []
    record = cache.load(task.key)
    fused_now = False
    sources: list[np.ndarray] | None = None
    fused: np.ndarray | None = None
    if record is None:
        try:
            sources = [read_image(path) for path in task.source_paths]
            algorithm = _algorithm_instance(task.algorithm, task.options)
            start = time.perf_counter()
            fused = algorithm.fuse(sources, family=task.family)
            seconds = time.perf_counter() - start
            png = Path(run_dir) / task.png
            write_png(png, fused)
        except Exception as error:  # any failure of one algorithm on one item is recorded, not fatal
            failures.append(_failure(task, "fuse", "", error))
            return TaskResult(task, None, failures)
        record = {"key": task.key, "algorithm": task.algorithm, "dataset": task.dataset, "item": task.item,
                  "png": task.png, "png_sha256": file_sha256(png), "seconds": seconds,
                  "device": device_label(algorithm), "width": int(fused.shape[1]), "height": int(fused.shape[0]),
                  "metrics": {}}
        cache.store(record)
        fused_now = True
    if not with_metrics:
        return TaskResult(task, record, failures, fused_now)
    missing = [job for job in task.metrics if job.key not in record["metrics"]]
    if missing:
        if fused is None:
            fused = read_image(Path(run_dir) / task.png)
        if sources is None:
            sources = [read_image(path) for path in task.source_paths]
        for job in missing:
            try:
                value = compute_metric_value(job.name, fused, sources, job.protocols[0])
            except Exception as error:  # recorded per item; the run goes on
                for protocol in job.protocols:
                    failures.append(_failure(task, "metric", job.name, error, protocol))
                continue
            record["metrics"][job.key] = {"metric": job.name, "value": value}
        cache.store(record)
    return TaskResult(task, record, failures, fused_now)


def _failure(task: Task, stage: str, metric: str, error: BaseException, protocol: str = "") -> dict:
    message = str(error) if isinstance(error, FusionBenchError) else f"{type(error).__name__}: {error}"
    if not isinstance(error, FusionBenchError):
        # An unexpected exception is a bug somewhere: keep where it happened.
        frames = traceback.extract_tb(error.__traceback__)
        if frames:
            message += f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})"
    message = " ".join(message.split())
    return {"dataset": task.dataset, "item": task.item, "algorithm": task.algorithm, "stage": stage,
            "metric": metric, "message": message, "protocol": protocol}


def _single_threaded_opencv() -> None:
    """One OpenCV thread per process, whatever ``--jobs`` is.

    OpenCV splits some filters (e.g. MergeMertens) over its threads and the floating-point sums
    then depend on the split: the same run gave fused images one grey level apart with 1 and
    with 2 threads. One thread makes results independent of ``--jobs``; parallelism comes from
    the worker processes. (Forked workers inherit the setting.)
    """
    import cv2

    cv2.setNumThreads(1)


def _ignore_interrupts() -> None:
    # Only the main process handles Ctrl-C: it stops the pool and saves what is finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# ---------------------------------------------------------------------------------------------
# Outputs


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _format_float(value: float) -> str:
    return repr(float(value))


def write_result_csvs(run_dir: Path, tasks: list[Task], results: dict[str, TaskResult]) -> None:
    """metrics.csv, timings.csv and failures.csv from the records of the planned tasks (sorted)."""
    metric_rows, timing_rows, failure_rows = [], [], []
    for task in tasks:
        result = results.get(task.key)
        if result is None:
            continue
        for failure in result.failures:
            failure_rows.append((failure["dataset"], failure["item"], failure["algorithm"], failure["stage"],
                                 failure["metric"], failure["message"]))
        record = result.record
        if record is None:
            continue
        timing_rows.append((task.dataset, task.item, task.algorithm, record["device"],
                            _format_float(record["seconds"]), record["width"], record["height"]))
        for job in task.metrics:
            stored = record["metrics"].get(job.key)
            if stored is None:
                continue
            for protocol in job.protocols:
                metric_rows.append((task.dataset, task.item, task.algorithm, protocol, job.name,
                                    _format_float(stored["value"])))
    metric_rows.sort(key=lambda row: row[:5])
    timing_rows.sort(key=lambda row: row[:3])
    failure_rows = sorted(set(failure_rows))
    write_text_atomic(run_dir / "metrics.csv",
                      csv_text(("dataset", "item", "algorithm", "protocol", "metric", "value"), metric_rows))
    write_text_atomic(run_dir / "timings.csv",
                      csv_text(("dataset", "item", "algorithm", "device", "seconds", "width", "height"), timing_rows))
    write_text_atomic(run_dir / "failures.csv",
                      csv_text(("dataset", "item", "algorithm", "stage", "metric", "message"), failure_rows))


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "fusionbench": __version__, "numpy": np.__version__}
    for label, module in (("scipy", "scipy"), ("opencv", "cv2"), ("pandas", "pandas"), ("pillow", "PIL"),
                          ("torch", "torch"), ("torchvision", "torchvision")):
        try:
            versions[label] = str(__import__(module).__version__)
        except Exception:  # an optional package that is absent or broken is simply not listed
            continue
    return versions


def processor_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_metadata(settings: RunSettings, plan: Plan, jobs: int, created: str) -> dict:
    return {
        "fusionbench_version": __version__,
        "created": created,
        "command_line": settings.command_line,
        "protocol": settings.protocols[0] if len(settings.protocols) == 1 else ",".join(settings.protocols),
        "protocols": list(settings.protocols),
        "device": settings.device or "auto",  # per item, timings.csv holds the device actually used
        "jobs": jobs,
        "platform": {"processor": processor_name(), "cores": os.cpu_count(), "system": platform.platform()},
        "versions": software_versions(),
        "datasets": plan.datasets,
        "algorithms": plan.algorithms,
        "metrics": plan.metrics,
        "skipped_algorithms": plan.skipped,
    }


def remove_stale_temporaries(run_dir: Path) -> None:
    """Temp files of a killed run (``.NAME.xxxx.tmp``) are never under a final name; tidy them."""
    for path in run_dir.rglob(".*.tmp"):
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class RunSummary:
    run_dir: Path
    tasks: int
    fused: int
    cached: int
    failures: list[dict]
    seconds: float
    skipped: dict[str, str]
    tables_written: bool = False  # False: nothing changed since the last tables were written


def run(settings: RunSettings, log: Callable[[str], None] = print) -> RunSummary:
    """Plan, execute (resuming from the cache), write CSVs, run.json and tables."""
    started = time.perf_counter()
    run_dir = Path(settings.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(run_dir)
    plan = build_plan(settings, log)
    for note in plan.notes:
        log(f"note: {note}")
    jobs = settings.jobs or os.cpu_count() or 1
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    metadata = run_metadata(settings, plan, jobs, created)
    write_text_atomic(run_dir / "run.json", json.dumps({**metadata, "status": "running"}, indent=1) + "\n")

    cache = RunCache(run_dir)
    results: dict[str, TaskResult] = {}
    pending: list[Task] = []
    for task in plan.tasks:
        record = cache.load(task.key)
        if record is not None and all(job.key in record["metrics"] for job in task.metrics):
            results[task.key] = TaskResult(task, record, [])
        else:
            pending.append(task)
    cached = len(results)
    progress = _progress_bar(len(plan.tasks), cached, settings.progress)
    last_write = [time.monotonic()]

    def finished(result: TaskResult) -> None:
        results[result.task.key] = result
        progress.update(1)
        if time.monotonic() - last_write[0] > CSV_REFRESH_SECONDS:
            write_result_csvs(run_dir, plan.tasks, results)
            last_write[0] = time.monotonic()

    fused_in_main: set[str] = set()
    try:
        _execute(pending, run_dir, jobs, finished, fused_in_main)
    finally:
        progress.close()
        write_result_csvs(run_dir, plan.tasks, results)
    failures = [failure for result in results.values() for failure in result.failures]
    elapsed = time.perf_counter() - started
    metadata.update(status="complete", wall_seconds=round(elapsed, 3),
                    counts={"tasks": len(plan.tasks), "cached": cached, "failures": len(failures)})
    write_text_atomic(run_dir / "run.json", json.dumps(metadata, indent=1) + "\n")
    tables_written = write_tables_if_changed(run_dir, settings.compare_paper) if settings.write_tables else False
    fused = sum(1 for result in results.values() if result.fused_now or result.task.key in fused_in_main)
    return RunSummary(run_dir, len(plan.tasks), fused, cached, failures, time.perf_counter() - started, plan.skipped,
                      tables_written)


TABLES_STAMP = "tables/.inputs.sha256"


def write_tables_if_changed(run_dir: Path, compare_paper: bool) -> bool:
    """Write ``tables/`` unless they were written from exactly these CSVs and options.

    Tables (with their significance tests) are a pure function of metrics.csv, timings.csv,
    failures.csv, run.json's metric directions and ``compare_paper``; a fully cached rerun skips
    them. Returns True when the tables were written.
    """
    from .cache_key import content_key
    from .reports.tables import write_tables

    parts = [(run_dir / name).read_bytes().decode("utf-8") for name in ("metrics.csv", "timings.csv", "failures.csv")]
    metrics = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("metrics", {})
    stamp = content_key(parts, metrics, compare_paper, __version__)
    stamp_path = run_dir / TABLES_STAMP
    if stamp_path.is_file() and stamp_path.read_text(encoding="utf-8") == stamp:
        return False
    write_tables(run_dir, compare_paper=compare_paper)
    write_text_atomic(stamp_path, stamp)
    return True


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="item", desc="fusing + measuring", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def _execute(pending: list[Task], run_dir: Path, jobs: int, finished: Callable[[TaskResult], None],
             fused_in_main: set[str]) -> None:
    """CPU tasks in a process pool; torch fusions in this process, their metrics then in the pool."""
    in_pool = [task for task in pending if not task.in_main_process]
    in_main = [task for task in pending if task.in_main_process]
    _single_threaded_opencv()
    if jobs <= 1:
        for task in in_pool + in_main:
            finished(perform(task, str(run_dir)))
        return
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    executor = concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                                      initializer=_ignore_interrupts)
    futures: set[concurrent.futures.Future] = set()
    try:
        futures = {executor.submit(perform, task, str(run_dir)) for task in in_pool}
        for task in in_main:
            fused = perform(task, str(run_dir), with_metrics=False)
            if fused.fused_now:
                fused_in_main.add(task.key)
            if fused.record is None:
                finished(fused)
            else:
                futures.add(executor.submit(perform, task, str(run_dir)))
            futures = _collect(futures, finished, block=False)
        while futures:
            futures = _collect(futures, finished, block=True)
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()  # a worker mid-task leaves only temp files, never a final one
        raise
    executor.shutdown(wait=True)


def _collect(futures: set, finished: Callable[[TaskResult], None], block: bool) -> set:
    done, waiting = concurrent.futures.wait(futures, timeout=None if block else 0,
                                            return_when=concurrent.futures.FIRST_COMPLETED)
    for future in done:
        finished(future.result())
    return waiting


def parse_option_assignment(text: str) -> tuple[str, str, Any]:
    """``PATTERN.KEY=VALUE`` -> (pattern, key, value); VALUE is JSON when it parses, else a string."""
    target, separator, raw = text.partition("=")
    pattern, dot, key = target.rpartition(".")
    if not separator or not dot or not pattern or not key:
        raise ConfigError(f"option {text!r} is not of the form ALGORITHM.KEY=VALUE (e.g. ifcnn-max.preprocessing=paper)")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return pattern, key, value
