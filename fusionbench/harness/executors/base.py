"""The executor interface: submit work orders, stream results back as they finish.

An executor never writes the run directory (the driver's collector does); it only turns
:class:`~fusionbench.harness.work.WorkOrder` s into :class:`~fusionbench.harness.work.WorkResult` s.
Whatever happens to a worker — an exception, a crash, a timeout — comes back as a result with a
failure for that order, never as an exception that stops the run.
"""
from __future__ import annotations

import signal
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ..work import FUSE, WorkOrder, WorkResult, failure_record


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker process needs before its first order."""

    threads: int = 1  # torch / BLAS / Numba threads per worker
    plugins: tuple[str, ...] = ()  # modules (or .py files) to import so that their names register
    data_directories: tuple[str, ...] = ()  # FUSIONBENCH_DATA of the driver, for workers started afresh
    environment: dict[str, str] = field(default_factory=dict)


class Executor(ABC):
    """Runs work orders somewhere; a context manager that releases its workers on exit."""

    name = "executor"

    @property
    @abstractmethod
    def workers(self) -> int:
        """Worker processes it runs orders on."""

    @property
    @abstractmethod
    def threads_per_worker(self) -> int:
        """Threads each worker's libraries may use."""

    @abstractmethod
    def execute(self, orders: Iterable[WorkOrder]) -> Iterator[WorkResult]:
        """Perform every order and yield each result as soon as it is finished (any order)."""

    def close(self) -> None:
        """Stop the workers (idempotent)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exception) -> None:
        self.close()


def worker_death_cause(exit_code: int | None) -> str:
    """'worker died: SIGABRT' (a signal), or 'worker exited with status 3' (sys.exit, os._exit)."""
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"worker died: {name}{hint}"
    return f"worker exited with status {exit_code}"


def failed_result(order: WorkOrder, cause: str, stage: str = FUSE, metric: str = "",
                  partial: WorkResult | None = None) -> WorkResult:
    """The result of an order whose worker died or timed out in ``stage`` (on ``metric``).

    ``partial`` holds what the worker reported before (the fused image, earlier metric values).
    """
    result = partial if partial is not None else WorkResult(order.task)
    task = order.task
    if stage == FUSE:
        result.fusion_failed = True
        result.failures.append(failure_record(task, FUSE, "", cause))
    else:
        job = next((job for job in order.metrics if job.name == metric), None)
        protocols = job.protocols if job is not None else ("",)
        result.failures.extend(failure_record(task, stage, metric, cause, protocol) for protocol in protocols)
    return result
