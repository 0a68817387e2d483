"""Executors run work orders and stream back their results; see :mod:`.base` for the interface.

``local`` (worker processes on this machine, :mod:`.local`) and ``dask`` (a dask.distributed
cluster, :mod:`.dask_cluster`); :func:`create_executor` picks one from the run settings.
"""
from __future__ import annotations

from .base import Executor, WorkerSetup


def create_executor(name: str, setup: WorkerSetup, *, workers: int, scheduler: str | None = None,
                    item_timeout: float | None = None, in_process: bool = False) -> Executor:
    """The executor called ``name`` ("local" or "dask")."""
    from ...errors import ConfigError

    if name == "local":
        from .local import LocalExecutor

        return LocalExecutor(setup, workers=workers, item_timeout=item_timeout, in_process=in_process)
    if name == "dask":
        from .dask_cluster import DaskExecutor

        return DaskExecutor(setup, scheduler=scheduler or f"local:{workers}")
    raise ConfigError(f"unknown executor {name!r}; choose local or dask")


__all__ = ["Executor", "WorkerSetup", "create_executor"]
