"""Worker processes on this machine, each call isolated, each call bounded in time.

Every fusion and metric call runs in a worker process — with one worker too — so that a plugin
that crashes (a signal, ``os._exit``, ``SystemExit``, the kernel's out-of-memory killer) or hangs
fails that one call: the worker is replaced, the call is recorded as failed with its cause
(``worker died: SIGABRT``, ``timeout after 30 s``), and the rest of the order (the metrics after
the fatal call) is sent to another worker with the fused image it had already reported.

``in_process=True`` runs everything in the calling process instead (for a debugger or a
profiler): no isolation and no timeout.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: one dead worker breaks the whole pool
(every pending future fails with ``BrokenProcessPool``), nothing says which call killed it, and a
call cannot be timed out. Each worker here serves one order at a time over its own pipe, so the
driver always knows which call is running where, since when.
"""
from __future__ import annotations

import multiprocessing
import sys
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Iterable, Iterator

from ..threads import apply_thread_limit, default_threads_per_worker, single_threaded_opencv
from ..work import FUSE, WorkOrder, WorkResult, perform
from .base import Executor, WorkerSetup, failed_result, worker_death_cause

#: Seconds a worker is given to exit after being asked to, before it is terminated.
_EXIT_GRACE = 2.0


def _context():
    # fork: workers inherit what the driver registered (test algorithms, --plugin modules) and
    # start in milliseconds; elsewhere (macOS, Windows) spawn, and the plugins are imported anew.
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _serve(connection, setup: WorkerSetup) -> None:
    """A worker's loop: receive an order, report each call as it starts, send the result."""
    from ..worker_setup import prepare_worker

    prepare_worker(setup)
    while True:
        try:
            order = connection.recv()
        except EOFError:
            return
        if order is None:
            return
        apply_thread_limit(setup.threads)
        reporter = _Reporter(connection)
        result = perform(order, reporter)
        connection.send(("done", result))


class _Reporter:
    """Sends the driver each call as it starts, with what finished since the previous call."""

    def __init__(self, connection):
        self.connection = connection
        self.fused_sent = False
        self.values_sent: set[str] = set()
        self.failures_sent = 0

    def __call__(self, stage: str, metric: str, partial: WorkResult) -> None:
        fused = None
        if partial.fused_png is not None and not self.fused_sent:
            fused = (partial.fused_png, partial.seconds, partial.setup_seconds, partial.device, partial.width,
                     partial.height)
            self.fused_sent = True
        values = {key: value for key, value in partial.values.items() if key not in self.values_sent}
        self.values_sent.update(values)
        failures = partial.failures[self.failures_sent:]
        self.failures_sent = len(partial.failures)
        self.connection.send(("call", stage, metric, fused, values, failures))


@dataclass
class _Busy:
    """The order a worker is performing, the call it is in, and what it reported so far."""

    order: WorkOrder
    stage: str
    metric: str
    started: float
    partial: WorkResult


class _Worker:
    def __init__(self, setup: WorkerSetup):
        driver_end, worker_end = _context().Pipe(duplex=True)
        self.connection = driver_end
        self.process = _context().Process(target=_serve, args=(worker_end, setup), daemon=True,
                                          name="fusionbench-worker")
        self.process.start()
        worker_end.close()
        self.busy: _Busy | None = None

    def send(self, order: WorkOrder) -> None:
        self.busy = _Busy(order, FUSE, "", time.monotonic(), WorkResult(order.task))
        self.connection.send(order)

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.connection.send(None)
            except OSError:
                pass
        self.process.join(_EXIT_GRACE)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(_EXIT_GRACE)
        self.connection.close()


class LocalExecutor(Executor):
    """``workers`` isolated worker processes; every call bounded by ``item_timeout`` seconds."""

    name = "local"

    def __init__(self, setup: WorkerSetup, workers: int = 0, item_timeout: float | None = None,
                 in_process: bool = False):
        self._workers_wanted = max(1, workers or default_threads_per_worker(1))
        self.setup = setup
        self.item_timeout = item_timeout
        self.in_process = in_process
        self._pool: list[_Worker] = []

    @property
    def workers(self) -> int:
        return 1 if self.in_process else self._workers_wanted

    @property
    def threads_per_worker(self) -> int:
        return self.setup.threads

    def execute(self, orders: Iterable[WorkOrder]) -> Iterator[WorkResult]:
        if self.in_process:
            apply_thread_limit(self.setup.threads)
            for order in orders:
                yield perform(order)
            return
        queue = deque(orders)
        try:
            while queue or any(worker.busy for worker in self._pool):
                self._dispatch(queue)
                yield from self._receive(queue)
        finally:
            self.close()

    def close(self) -> None:
        pool, self._pool = self._pool, []
        for worker in pool:
            worker.stop(kill=worker.busy is not None)

    # -- the driver's side ------------------------------------------------------------------------

    def _dispatch(self, queue: deque) -> None:
        if len(self._pool) < self._workers_wanted:
            single_threaded_opencv()  # in the driver, before any fork (see its docstring)
        while len(self._pool) < min(self._workers_wanted, len(queue) + self._busy_count()):
            self._pool.append(_Worker(self.setup))
        for worker in self._pool:
            if worker.busy is None and queue:
                worker.send(queue.popleft())

    def _busy_count(self) -> int:
        return sum(1 for worker in self._pool if worker.busy is not None)

    def _receive(self, queue: deque) -> Iterator[WorkResult]:
        busy = [worker for worker in self._pool if worker.busy is not None]
        handles = [worker.connection for worker in busy] + [worker.process.sentinel for worker in busy]
        ready = set(wait(handles, timeout=self._seconds_to_next_deadline(busy)))
        for worker in busy:
            if worker.connection in ready:
                result = self._read(worker)
                if result is not None:
                    self._send_next(worker, queue)  # it computes while the driver stores this result
                    yield result
            if worker.busy is not None and (worker.process.sentinel in ready or not worker.process.is_alive()):
                yield from self._replace(worker, queue, worker_death_cause(self._exit_code(worker)))
            elif worker.busy is not None and self._timed_out(worker):
                worker.process.kill()
                yield from self._replace(worker, queue, f"timeout after {self.item_timeout:g} s")

    def _send_next(self, worker: _Worker, queue: deque) -> None:
        """Give an idle, live worker the next order now rather than after the result is stored
        (writing a fused PNG with fsync takes the driver a few ms, 6% of a VIFB run's worker time)."""
        if not queue or worker.busy is not None or not worker.process.is_alive():
            return
        order = queue.popleft()
        try:
            worker.send(order)
        except OSError:  # it died meanwhile: the order goes back; its sentinel says why
            worker.busy = None
            queue.appendleft(order)

    def _read(self, worker: _Worker) -> WorkResult | None:
        """Take every message the worker has sent; the result once its order is done."""
        while worker.busy is not None and worker.connection.poll():
            try:
                message = worker.connection.recv()
            except (EOFError, OSError):
                return None  # the worker is gone; its sentinel says why
            if message[0] == "done":
                worker.busy = None
                return message[1]
            _, stage, metric, fused, values, failures = message
            busy = worker.busy
            busy.stage, busy.metric, busy.started = stage, metric, time.monotonic()
            if fused is not None:
                partial = busy.partial
                (partial.fused_png, partial.seconds, partial.setup_seconds, partial.device, partial.width,
                 partial.height) = fused
            busy.partial.values.update(values)
            busy.partial.failures.extend(failures)
        return None

    def _exit_code(self, worker: _Worker) -> int | None:
        worker.process.join(_EXIT_GRACE)
        return worker.process.exitcode

    def _timed_out(self, worker: _Worker) -> bool:
        return self.item_timeout is not None and time.monotonic() - worker.busy.started > self.item_timeout

    def _seconds_to_next_deadline(self, busy: list[_Worker]) -> float | None:
        if self.item_timeout is None or not busy:
            return None
        now = time.monotonic()
        return max(0.0, min(worker.busy.started + self.item_timeout - now for worker in busy))

    def _replace(self, worker: _Worker, queue: deque, cause: str) -> Iterator[WorkResult]:
        """The worker died in its current call: fail that call, requeue the rest, start another."""
        self._read(worker)  # anything it sent before dying
        busy = worker.busy
        self._pool.remove(worker)
        worker.busy = None
        worker.stop(kill=True)
        if busy is None:
            return
        order = busy.order
        partial = busy.partial
        result = failed_result(order, cause, busy.stage, busy.metric, partial)
        if busy.stage != FUSE:
            remaining = [job for job in order.metrics
                         if job.name != busy.metric and job.key not in partial.values
                         and not any(failure["metric"] == job.name for failure in partial.failures)]
            if remaining:
                fused_png = partial.fused_png if partial.fused_png is not None else order.fused_png
                queue.appendleft(WorkOrder(order.task, remaining, fused_png=fused_png, sources=order.sources))
                result.final = False
        yield result
