"""The work of one task, as a worker process does it: decode, fuse, measure — and write nothing.

A :class:`WorkOrder` carries everything a worker needs and nothing that points into the run
directory: the algorithm and its options, the sources as encoded bytes (or local paths, when the
driver and the worker share a file system) and, when only metric values are missing, the cached
fused image as PNG bytes. The answer, a :class:`WorkResult`, carries the new fused image as PNG
bytes, its fusion time, the metric values and the failures; the driver's collector
(:mod:`.collect`) is the only writer of the run directory.

``perform`` reports each call it starts to an optional ``report(stage, metric, partial_result)``
callback, so that an executor can time a call out, name the call that killed its worker, and keep
what was finished before it (the fused image, earlier metric values).
"""
from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import FusionBenchError, MetricError
from .plan import MetricJob, Task

#: Stages of a call, as ``failures.csv`` names them.
FUSE = "fuse"
METRIC = "metric"


@dataclass
class WorkOrder:
    """One task to perform: its missing metric values, and the fused image if it exists already."""

    task: Task
    metrics: list[MetricJob]
    fused_png: bytes | None = None  # cached fused image: only the metrics are computed
    sources: list[bytes] | None = None  # encoded sources; None: read task.source_paths


@dataclass
class WorkResult:
    """What a worker sends back for one order."""

    task: Task
    fused_png: bytes | None = None  # a fused image computed now (None: cached, or the fusion failed)
    seconds: float = 0.0  # the fusion call alone
    setup_seconds: float = 0.0  # creating the algorithm in this worker (e.g. loading a checkpoint)
    device: str = "cpu"
    width: int = 0
    height: int = 0
    values: dict[str, float] = field(default_factory=dict)  # metric key -> value
    failures: list[dict] = field(default_factory=list)
    fusion_failed: bool = False
    final: bool = True  # False: more results for this task follow (its worker died mid-way)
    busy_seconds: float = 0.0  # wall time of the whole order in the worker


#: Algorithms created in this process, by (name, options): checkpoints are loaded once per worker.
_ALGORITHM_INSTANCES: dict[str, Any] = {}


def algorithm_instance(name: str, options: dict[str, Any]) -> tuple[Any, float]:
    """The worker's instance of an algorithm and the seconds spent creating it now (0 if cached)."""
    from ..registry import ALGORITHMS

    memo = repr((name, sorted(options.items())))
    if memo in _ALGORITHM_INSTANCES:
        return _ALGORITHM_INSTANCES[memo], 0.0
    start = time.perf_counter()
    instance = ALGORITHMS.get(name).create(**options)
    _ALGORITHM_INSTANCES[memo] = instance
    return instance, time.perf_counter() - start


def device_label(algorithm: Any) -> str:
    """The device an algorithm ran on: its resolved ``device`` attribute ("auto" resolved), else cpu."""
    instance = getattr(algorithm, "_instance", None)
    device = str(getattr(instance, "device", None) or algorithm.options.get("device") or "cpu")
    if device == "auto":
        import torch  # only algorithms that run on torch have a device option

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return device


def compute_metric_value(job: MetricJob, inputs, fused, sources) -> float:
    """One metric value: the registered metric under its protocol, or the job's dialect's rule.

    ``inputs`` is the fused image's :class:`~fusionbench.metrics.evaluation.MetricInputs`, kept for
    all its metrics so that validation and each grey conversion happen once per image.
    """
    if job.dialect is None:
        value = float(inputs.compute(job.name, job.protocols[0]))
    else:
        from ..metrics.dialects import get_dialect

        value = float(get_dialect(job.dialect).compute(job.name, fused, sources))
    name = job.name
    if not math.isfinite(value):
        raise MetricError(f"{name} returned {value}")
    return value


def failure_record(task: Task, stage: str, metric: str, message: str, protocol: str = "") -> dict:
    """A row of ``failures.csv`` (``protocol`` is kept for the collector's bookkeeping only)."""
    return {"dataset": task.dataset, "item": task.item, "algorithm": task.algorithm, "stage": stage,
            "metric": metric, "message": " ".join(message.split()), "protocol": protocol}


def describe_error(error: BaseException) -> str:
    """Our errors speak for themselves; anything else is a bug somewhere, so keep where it happened."""
    if isinstance(error, FusionBenchError):
        return str(error)
    message = f"{type(error).__name__}: {error}"
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        message += f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})"
    return message


def _decode_sources(order: WorkOrder) -> list:
    from ..image_io import decode_image, match_channels, read_image

    task = order.task
    if order.sources is None:
        return match_channels([read_image(path) for path in task.source_paths])
    return match_channels([decode_image(data, Path(path).name) for data, path in zip(order.sources, task.source_paths)])


def perform(order: WorkOrder, report: Callable[[str, str, WorkResult], None] | None = None) -> WorkResult:
    """Fuse (unless the order carries the fused image) and compute the order's metric values.

    Never raises for a failure of the algorithm or of a metric on this item: it is recorded in
    the result and the rest goes on. ``report(stage, metric, result)`` is called before each call.
    """
    report = report or (lambda stage, metric, partial: None)
    started = time.perf_counter()
    result = _perform(order, report)
    result.busy_seconds = time.perf_counter() - started
    return result


def _perform(order: WorkOrder, report: Callable[[str, str, WorkResult], None]) -> WorkResult:
    from ..image_io import decode_image, encode_png

    task = order.task
    result = WorkResult(task)
    try:
        sources = _decode_sources(order)
    except Exception as error:  # an unreadable source fails this item only
        result.failures.append(failure_record(task, FUSE, "", describe_error(error)))
        result.fusion_failed = True
        return result
    if order.fused_png is None:
        report(FUSE, "", result)
        try:
            algorithm, result.setup_seconds = algorithm_instance(task.algorithm, task.options)
            start = time.perf_counter()
            fused = algorithm.fuse(sources, family=task.family)
            result.seconds = time.perf_counter() - start
            result.fused_png = encode_png(fused, task.png)
            result.device = device_label(algorithm)
        except Exception as error:  # any failure of one algorithm on one item is recorded, not fatal
            result.failures.append(failure_record(task, FUSE, "", describe_error(error)))
            result.fusion_failed = True
            return result
        result.height, result.width = int(fused.shape[0]), int(fused.shape[1])
    else:
        fused = decode_image(order.fused_png, task.png)
    from ..metrics.evaluation import MetricInputs

    inputs = MetricInputs(fused, sources)
    for job in order.metrics:
        report(METRIC, job.name, result)
        try:
            result.values[job.key] = compute_metric_value(job, inputs, fused, sources)
        except Exception as error:  # recorded per item; the run goes on
            message = describe_error(error)
            result.failures.extend(failure_record(task, METRIC, job.name, message, protocol)
                                   for protocol in job.protocols)
    return result
