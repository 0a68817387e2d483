"""``fusionbench run`` as a library call: plan -> execute -> collect. Tables and the report are a
separate step (:mod:`fusionbench.reports`) that the command calls on the finished run directory.

``run.json`` records the executor, its workers and threads, the wall time of each stage and the
parallel efficiency (busy worker-seconds / (execution wall time x workers)); it ends as
``finished``, ``finished with failures`` or ``interrupted``.
"""
from __future__ import annotations

import datetime
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .collect import FINISHED, FINISHED_WITH_FAILURES, INTERRUPTED, RUNNING, Collector
from .executors import WorkerSetup, create_executor
from .metadata import run_metadata
from .plan import Plan, Selection, build_plan
from .settings import RunSettings
from .suites import get_suite, list_suites
from .threads import default_threads_per_worker

#: Algorithm factories whose compiled kernels are built once in the driver, before workers start:
#: LP-SR's OMP, and every IFCNN's (official or trained) CPU Winograd for CONV3.
_KERNELS_TO_COMPILE = {
    "fusionbench.baselines.lpsr.fuse": ("fusionbench.baselines.sparse_coding", "compile_kernel"),
    "fusionbench.models.algorithms.IFCNNFusion": ("fusionbench.models.winograd_channels_last", "compile_kernels")}


@dataclass
class RunSummary:
    run_dir: Path
    tasks: int
    fused: int
    cached: int
    failures: list[dict]
    seconds: float
    skipped: dict[str, str]
    status: str = FINISHED
    stages: dict[str, float] = field(default_factory=dict)


def selections(settings: RunSettings) -> list[Selection]:
    """The suites asked for, or the explicit --dataset/--algorithm/--metric selection (default: all)."""
    explicit = settings.datasets or settings.algorithms or settings.metrics
    if settings.suites or not explicit:
        chosen = [get_suite(name).selection() for name in (settings.suites or list_suites())]
        chosen = [selection for selection in chosen if selection.algorithms]
        return [Selection(selection.datasets, selection.algorithms, settings.metrics,
                          settings.paper_metrics_only) for selection in chosen]
    return [Selection(tuple(settings.datasets) if settings.datasets else None,
                      tuple(settings.algorithms) if settings.algorithms else None,
                      tuple(settings.metrics) if settings.metrics else None,
                      settings.paper_metrics_only, explicit_algorithms=bool(settings.algorithms))]


def worker_count(settings: RunSettings) -> int:
    if settings.executor == "dask" and settings.scheduler and settings.scheduler.startswith("local:"):
        try:
            return max(1, int(settings.scheduler.split(":", 1)[1]))
        except ValueError:
            return 1
    return settings.jobs or os.cpu_count() or 1


def compile_kernels(plan: Plan) -> None:
    """Build Numba kernels into the on-disk cache once, so that no worker compiles its own."""
    import importlib

    from ..registry import ALGORITHMS

    kernels = set()
    for algorithm in {task.algorithm for task in plan.tasks}:
        factory = getattr(ALGORITHMS.get(algorithm), "factory", None)
        factory_name = f"{getattr(factory, '__module__', '')}.{getattr(factory, '__qualname__', '')}"
        if factory_name in _KERNELS_TO_COMPILE:
            kernels.add(_KERNELS_TO_COMPILE[factory_name])
    for module, function in sorted(kernels):
        getattr(importlib.import_module(module), function)()
    warm_metrics(plan)


def warm_metrics(plan: Plan, side: int = 96) -> None:
    """Compute each kind of planned metric job once on a small synthetic colour item, in the driver.

    Several metrics run Numba kernels (QABF, Q_CB, Q_CV, the SSIM-family windows): this compiles
    them, or loads them from the disk cache, once, and forked workers inherit them instead of each
    doing it (about 0.1 s per kernel loaded, seconds per kernel compiled). Only fusionbench's own
    metrics: a plugin's code runs in the isolated workers alone. A metric that refuses the
    synthetic item is simply not warmed.
    """
    import numpy as np

    from ..metrics.evaluation import MetricInputs
    from .work import compute_metric_value

    jobs = {}
    for task in plan.tasks:
        for job in task.metrics:
            jobs.setdefault((job.name, job.protocols[0], job.dialect, len(task.source_paths)), job)
    jobs = {kind: job for kind, job in jobs.items() if _built_in_metric(job)}
    random = np.random.default_rng(0)
    for (_, _, _, count), job in jobs.items():
        fused, *sources = (random.integers(0, 256, (side, side, 3), dtype=np.uint8) for _ in range(count + 1))
        try:
            compute_metric_value(job, MetricInputs(fused, sources), fused, sources)
        except Exception:  # noqa: BLE001 - warming is an optimisation; the real item reports any error
            continue


def _built_in_metric(job) -> bool:
    """Whether the job's metric function is fusionbench's own (not a plugin's)."""
    from ..metrics.dialects import get_dialect
    from ..registry import get_metric

    try:
        if job.dialect is None:
            function = get_metric(job.name).function
        else:
            function = get_dialect(job.dialect).rule(job.name).core
    except Exception:  # noqa: BLE001 - unknown here: treat as foreign
        return False
    return getattr(function, "__module__", "").startswith("fusionbench.")


def remove_stale_temporaries(run_dir: Path) -> None:
    """Temp files of a killed run (``.NAME.xxxx.tmp``) are never under a final name; tidy them."""
    for path in run_dir.rglob(".*.tmp"):
        path.unlink(missing_ok=True)


def run(settings: RunSettings, log: Callable[[str], None] = print,
        while_executing: Callable[[], None] | None = None) -> RunSummary:
    """Plan, execute (resuming from the cache) and collect; write the CSVs and run.json.

    ``while_executing()`` is called once, when the first result is in (the workers have started):
    the caller may begin work of its own that overlaps the execute stage.
    """
    started = time.perf_counter()
    run_dir = Path(settings.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(run_dir)
    plan = build_plan(settings, selections(settings), log)
    for note in plan.notes:
        log(f"note: {note}")
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    collector = Collector(run_dir, plan, run_metadata(settings, plan, created))
    orders = collector.pending_orders()
    stages = {"plan": time.perf_counter() - started}
    workers = worker_count(settings)
    threads = settings.threads_per_worker or default_threads_per_worker(workers)
    collector.write_run_json(RUNNING, executor=settings.executor, workers=workers, threads_per_worker=threads)
    status = INTERRUPTED
    busy_seconds = 0.0
    execute_started = time.perf_counter()
    try:
        if orders:
            compile_kernels(plan)
            stages["compile"] = time.perf_counter() - execute_started
            setup = WorkerSetup(threads=threads, plugins=tuple(settings.plugins),
                                data_directories=_data_directories())
            progress = _progress_bar(len(plan.tasks), collector.cached, settings.progress)
            try:
                with create_executor(settings.executor, setup, workers=workers, scheduler=settings.scheduler,
                                     item_timeout=settings.item_timeout, in_process=settings.in_process) as executor:
                    for result in executor.execute(orders):
                        if while_executing is not None:
                            hook, while_executing = while_executing, None
                            hook()
                        collector.accept(result)
                        busy_seconds += result.busy_seconds
                        if result.final:
                            progress.update(1)
            finally:
                progress.close()
        status = FINISHED_WITH_FAILURES if collector.all_failures() else FINISHED
    finally:
        stages["execute"] = time.perf_counter() - execute_started
        collect_started = time.perf_counter()
        collector.write_csvs()
        stages["collect"] = time.perf_counter() - collect_started
        elapsed = time.perf_counter() - started
        efficiency = busy_seconds / (stages["execute"] * workers) if orders and stages["execute"] > 0 else None
        collector.write_run_json(
            status, wall_seconds=round(elapsed, 3), stage_seconds={k: round(v, 3) for k, v in stages.items()},
            parallel_efficiency=None if efficiency is None else round(efficiency, 3),
            counts={"tasks": len(plan.tasks), "cached": collector.cached, "failures": len(collector.all_failures())})
    return RunSummary(run_dir, len(plan.tasks), collector.fused_now, collector.cached, collector.all_failures(),
                      time.perf_counter() - started, plan.skipped, status, stages)


def _data_directories() -> tuple[str, ...]:
    from ..datasets.fetching import data_directories

    return tuple(str(path) for path in data_directories())


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    # tqdm's bar shows the remaining time from the recent rate (smoothing) of finished tasks.
    return tqdm(total=total, initial=initial, unit="task", desc="fusing + measuring", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
