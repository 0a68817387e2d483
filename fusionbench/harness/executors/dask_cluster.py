"""Orders on a dask.distributed cluster: a ``LocalCluster`` (``local:N``) or a running scheduler.

No shared file system is assumed: the driver reads each item's source files once and scatters
their bytes to the cluster, workers send back the fused image as PNG bytes with the metric
values, and only the driver writes the run directory. A worker that dies is restarted by its
nanny and its order retried once; an order that kills a second worker is recorded as failed
(``distributed.scheduler.allowed-failures = 1`` for clusters started here; a remote scheduler
uses its own setting). Each worker runs one order at a time, its libraries limited to
``--threads-per-worker`` threads.

Plugins: those installed as packages (entry points) load on workers as everywhere; a ``--plugin
file.py`` is uploaded to every worker; a ``--plugin module`` must be importable on the workers
(installed, or on their ``PYTHONPATH``).

``--item-timeout`` is not enforced here: Dask cannot stop a running task without stopping its
worker. Use the local executor to bound calls, or the scheduler's own limits.
"""
from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator

from ...errors import ConfigError
from ..work import WorkOrder, WorkResult, describe_error, perform
from .base import Executor, WorkerSetup, failed_result

#: Orders in flight per worker: enough to keep every worker busy, few enough that scattered
#: source bytes of a 15,000-item dataset never sit in the cluster's memory all at once.
_ORDERS_PER_WORKER = 4


def _perform_on_worker(order: WorkOrder, sources: list[bytes], threads: int) -> WorkResult:
    from ..threads import apply_thread_limit

    apply_thread_limit(threads)
    order.sources = list(sources)
    return perform(order)


def _setup_plugin(setup: WorkerSetup):
    """A WorkerPlugin preparing every worker, present and future (restarted ones included)."""
    from distributed import WorkerPlugin

    class FusionbenchWorkerSetup(WorkerPlugin):
        name = "fusionbench-worker-setup"

        def setup(self, worker) -> None:
            from ..worker_setup import prepare_worker

            prepare_worker(setup, ignore_interrupts=False)

    return FusionbenchWorkerSetup()


class DaskExecutor(Executor):
    """Orders as Dask tasks, results streamed back with ``as_completed``."""

    name = "dask"

    def __init__(self, setup: WorkerSetup, scheduler: str = "local:2"):
        try:
            import dask
            import distributed
        except ImportError:
            raise ConfigError("--executor dask needs dask.distributed: pip install 'fusionbench[dask]'") from None
        self.setup = setup
        self._cluster = None
        if scheduler.startswith("local:"):
            workers = _worker_count(scheduler)
            with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                self._cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.ERROR, memory_limit=0)
            self.client = distributed.Client(self._cluster)
        else:
            try:
                self.client = distributed.Client(scheduler, timeout="30s")
            except OSError as error:
                raise ConfigError(f"--scheduler {scheduler}: cannot connect ({error})") from None
        plugins = []
        for plugin in setup.plugins:
            if plugin.endswith(".py"):
                self.client.upload_file(plugin)  # importable on workers under its file name
                plugins.append(Path(plugin).stem)
            else:
                plugins.append(plugin)
        self.setup = WorkerSetup(setup.threads, tuple(plugins), setup.data_directories, setup.environment)
        self.client.register_plugin(_setup_plugin(self.setup))

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    @property
    def threads_per_worker(self) -> int:
        return self.setup.threads

    def execute(self, orders: Iterable[WorkOrder]) -> Iterator[WorkResult]:
        from distributed import as_completed

        waiting = deque(orders)
        scattered: dict[tuple[str, str], tuple[list, int]] = {}  # item -> (futures, orders in flight)
        running = as_completed()
        submitted: dict = {}
        try:
            while waiting or submitted:
                while waiting and len(submitted) < self.workers * _ORDERS_PER_WORKER:
                    order = waiting.popleft()
                    future = self.client.submit(_perform_on_worker, order, self._sources(order, scattered),
                                                self.setup.threads, pure=False)
                    submitted[future] = order
                    running.add(future)
                future = next(running)
                order = submitted.pop(future)
                yield self._result(future, order)
                self._release(order, scattered)
        finally:
            for future in submitted:
                future.cancel()

    def _sources(self, order: WorkOrder, scattered: dict) -> list:
        """The item's source bytes on the cluster, read and scattered once per item."""
        item = (order.task.dataset, order.task.item)
        if item not in scattered:
            data = [Path(path).read_bytes() for path in order.task.source_paths]
            scattered[item] = (self.client.scatter(data, hash=False), 0)
        futures, count = scattered[item]
        scattered[item] = (futures, count + 1)
        return futures

    def _release(self, order: WorkOrder, scattered: dict) -> None:
        item = (order.task.dataset, order.task.item)
        futures, count = scattered[item]
        if count <= 1:
            del scattered[item]  # dropping the futures frees the bytes on the cluster
        else:
            scattered[item] = (futures, count - 1)

    @staticmethod
    def _result(future, order: WorkOrder) -> WorkResult:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker:
            return failed_result(order, "worker died (the order killed two workers in a row)")
        except Exception as error:  # the task itself failed outside perform's own handling
            return failed_result(order, f"on the Dask worker: {describe_error(error)}")

    def close(self) -> None:
        client, self.client = getattr(self, "client", None), None
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _worker_count(scheduler: str) -> int:
    try:
        count = int(scheduler.split(":", 1)[1])
    except ValueError:
        count = 0
    if count < 1:
        raise ConfigError(f"--scheduler {scheduler}: expected local:N with N >= 1 workers")
    return count
