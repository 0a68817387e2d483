"""Orders on a dask.distributed cluster: a ``LocalCluster`` (``local:N``) or a running scheduler.

No shared file system is assumed: the driver reads each item's source files once and sends their
bytes with the item's orders, workers send back the fused image as PNG bytes with the metric
values, and only the driver writes the run directory. A worker that dies is restarted by its
nanny and its order retried once; an order that kills a second worker is recorded as failed
(``distributed.scheduler.allowed-failures = 0`` for clusters started here, so that this
executor counts the deaths itself; a remote scheduler's own setting multiplies the retries). Each worker runs one order at a time, its libraries limited to
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

#: Orders in flight per worker (see ``_ORDER_DEATHS``); it also bounds the source bytes in the
#: cluster's memory, whatever the size of the dataset.
_ORDERS_PER_WORKER = 1


#: For clusters started here: the scheduler fails a task as soon as its worker dies, and this
#: executor decides about retrying (see ``_ORDER_DEATHS``), because it knows what was running.
_CLUSTER_SETTINGS = {"distributed.scheduler.allowed-failures": 0}

#: Worker deaths an order may take part in: retried after the first, recorded as failed at the
#: second. Orders in flight are limited to one per worker, so that an order is on a dying worker
#: almost only when it is the one that killed it (Dask puts several tasks on one worker when it
#: has room; an innocent order beside a crashing one would be retried, and fail only if that
#: happened twice).
_ORDER_DEATHS = 2

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
            with dask.config.set(_CLUSTER_SETTINGS):
                self._cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.CRITICAL, memory_limit=0)
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
        from distributed import KilledWorker, as_completed

        waiting = deque(orders)
        read: dict[tuple[str, str], tuple[list, int]] = {}  # item -> (source bytes, orders in flight)
        deaths: dict[int, int] = {}  # id(order) -> worker deaths it was part of
        running = as_completed()
        submitted: dict = {}
        try:
            while waiting or submitted:
                while waiting and len(submitted) < self.workers * _ORDERS_PER_WORKER:
                    order = waiting.popleft()
                    future = self.client.submit(_perform_on_worker, order, self._sources(order, read),
                                                self.setup.threads, pure=False)
                    submitted[future] = order
                    running.add(future)
                future = next(running)
                order = submitted.pop(future)
                try:
                    result = future.result()
                except KilledWorker:
                    deaths[id(order)] = deaths.get(id(order), 0) + 1
                    if deaths[id(order)] < _ORDER_DEATHS:
                        waiting.appendleft(order)
                        self._release(order, read)
                        continue
                    result = failed_result(order, f"worker died ({_ORDER_DEATHS} workers died running it)")
                except Exception as error:  # the task itself failed outside perform's own handling
                    result = failed_result(order, f"on the Dask worker: {describe_error(error)}")
                yield result
                self._release(order, read)
        finally:
            for future in submitted:
                future.cancel()

    def _sources(self, order: WorkOrder, read: dict) -> list[bytes]:
        """The item's source bytes, read once per item while its orders are in flight.

        They travel inside each order rather than scattered once: scattered data pulls every order
        of its item to the worker that holds it (after a worker restart, only the survivor holds
        it), two at a time, and a crash there would take the innocent order along.
        """
        item = (order.task.dataset, order.task.item)
        if item not in read:
            read[item] = ([Path(path).read_bytes() for path in order.task.source_paths], 0)
        data, count = read[item]
        read[item] = (data, count + 1)
        return data

    def _release(self, order: WorkOrder, read: dict) -> None:
        item = (order.task.dataset, order.task.item)
        data, count = read[item]
        if count <= 1:
            del read[item]
        else:
            read[item] = (data, count - 1)

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
