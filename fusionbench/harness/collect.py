"""The single writer of a run directory: fused PNGs, cache records, the CSVs and ``run.json``.

Executors hand results to the :class:`Collector` in the driver; nothing else writes the run
directory, so the cache, resume and ``failures.csv`` behave the same whatever ran the work, and
concurrent writers cannot interleave. Every file is written to a temporary name and renamed.

The CSVs are rebuilt from the records of the planned tasks — at the end, every
``CSV_REFRESH_SECONDS`` during the run and on Ctrl-C — so an interrupted and resumed run ends with
byte-identical CSVs to an uninterrupted one.
"""
from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..cache_key import file_sha256
from ..image_io import write_bytes_atomic, write_text_atomic
from ..path_safety import path_inside
from ..run_cache import RunCache
from .plan import Plan, Task
from .settings import dialect_of
from .work import WorkOrder, WorkResult

CSV_REFRESH_SECONDS = 10.0

METRICS_HEADER = ("dataset", "item", "algorithm", "protocol", "metric", "value", "dialect")
TIMINGS_HEADER = ("dataset", "item", "algorithm", "device", "seconds", "width", "height", "setup_seconds")
FAILURES_HEADER = ("dataset", "item", "algorithm", "stage", "metric", "message")

#: run.json's final status.
FINISHED = "finished"
FINISHED_WITH_FAILURES = "finished with failures"
INTERRUPTED = "interrupted"
RUNNING = "running"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _format_float(value: float) -> str:
    return repr(float(value))


class Collector:
    """Receives work results, keeps the records, writes the run directory."""

    def __init__(self, run_dir: Path, plan: Plan, metadata: dict):
        self.run_dir = Path(run_dir)
        self.plan = plan
        self.metadata = metadata
        self.cache = RunCache(self.run_dir)
        self.records: dict[str, dict] = {}  # task key -> cache record
        self.failures: dict[str, list[dict]] = {}  # task key -> failures of this run
        self.cached = 0
        self.fused_now = 0
        self._last_csv_write = time.monotonic()

    # -- what is left to do -------------------------------------------------------------------

    def pending_orders(self) -> list[WorkOrder]:
        """An order per task whose fused image or some metric value is not cached yet."""
        orders = []
        for task in self.plan.tasks:
            record = self.cache.load(task.key)
            if record is not None:
                self.records[task.key] = record
            missing = [job for job in task.metrics if record is None or job.key not in record["metrics"]]
            if record is not None and not missing:
                self.cached += 1
                continue
            fused_png = (self.run_dir / record["png"]).read_bytes() if record is not None else None
            orders.append(WorkOrder(task, missing, fused_png=fused_png))
        return orders

    # -- results ------------------------------------------------------------------------------

    def accept(self, result: WorkResult) -> None:
        """Store what a worker computed: the fused PNG, its record, the metric values, failures."""
        task = result.task
        if result.failures:
            self.failures.setdefault(task.key, []).extend(result.failures)
        record = self.records.get(task.key)
        if result.fused_png is not None:
            record = self._store_fused(task, result)
        if record is not None and result.values:
            record["metrics"].update({key: {"metric": _metric_name(task, key), "value": value}
                                      for key, value in result.values.items()})
            self.cache.store(record)
        if time.monotonic() - self._last_csv_write > CSV_REFRESH_SECONDS:
            self.write_csvs()

    def _store_fused(self, task: Task, result: WorkResult) -> dict:
        png = path_inside(self.run_dir, task.png)  # names were checked when planned; this is the backstop
        write_bytes_atomic(png, result.fused_png)
        record = {"key": task.key, "algorithm": task.algorithm, "dataset": task.dataset, "item": task.item,
                  "png": task.png, "png_sha256": file_sha256(png), "seconds": result.seconds,
                  "setup_seconds": result.setup_seconds, "device": result.device, "width": result.width,
                  "height": result.height, "metrics": {}}
        self.records[task.key] = record
        self.cache.store(record)
        self.fused_now += 1
        return record

    def all_failures(self) -> list[dict]:
        return [failure for task in self.plan.tasks for failure in self.failures.get(task.key, [])]

    # -- outputs ------------------------------------------------------------------------------

    def write_csvs(self) -> None:
        """metrics.csv, timings.csv and failures.csv from the records of the planned tasks (sorted)."""
        metric_rows, timing_rows = [], []
        for task in self.plan.tasks:
            record = self.records.get(task.key)
            if record is None:
                continue
            timing_rows.append((task.dataset, task.item, task.algorithm, record["device"],
                                _format_float(record["seconds"]), record["width"], record["height"],
                                _format_float(record.get("setup_seconds", 0.0))))
            for job in task.metrics:
                stored = record["metrics"].get(job.key)
                if stored is not None:
                    metric_rows.extend((task.dataset, task.item, task.algorithm, protocol, job.name,
                                        _format_float(stored["value"]), dialect_of(protocol))
                                       for protocol in job.protocols)
        failure_rows = sorted({(failure["dataset"], failure["item"], failure["algorithm"], failure["stage"],
                                failure["metric"], failure["message"]) for failure in self.all_failures()})
        metric_rows.sort(key=lambda row: row[:5])
        timing_rows.sort(key=lambda row: row[:3])
        write_text_atomic(self.run_dir / "metrics.csv", csv_text(METRICS_HEADER, metric_rows))
        write_text_atomic(self.run_dir / "timings.csv", csv_text(TIMINGS_HEADER, timing_rows))
        write_text_atomic(self.run_dir / "failures.csv", csv_text(FAILURES_HEADER, failure_rows))
        self._last_csv_write = time.monotonic()

    def write_run_json(self, status: str, **extra: Any) -> None:
        self.metadata.update(status=status, **extra)
        write_text_atomic(self.run_dir / "run.json", json.dumps(self.metadata, indent=1) + "\n")


def _metric_name(task: Task, key: str) -> str:
    return next(job.name for job in task.metrics if job.key == key)


def record_stage_seconds(run_dir: Path, stages: dict[str, float]) -> None:
    """Add the seconds of later stages (tables, report) to a finished run's ``run.json``."""
    path = Path(run_dir) / "run.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata.setdefault("stage_seconds", {}).update({name: round(value, 3) for name, value in stages.items()})
    write_text_atomic(path, json.dumps(metadata, indent=1) + "\n")
