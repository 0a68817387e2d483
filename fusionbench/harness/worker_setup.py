"""Preparing a worker process (local or Dask) before its first order."""
from __future__ import annotations

import faulthandler
import os
import signal

from .executors.base import WorkerSetup
from .threads import apply_thread_limit


def prepare_worker(setup: WorkerSetup, ignore_interrupts: bool = True) -> None:
    """Threads, environment, data directories and plugins of one worker process."""
    if ignore_interrupts:
        # Only the driver handles Ctrl-C: it stops the workers and saves what is finished.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A worker killed by a plugin's crash is reported in one line of failures.csv; a Python
        # stack dump inherited from the driver (pytest enables faulthandler) would only add noise.
        faulthandler.disable()
    os.environ.update(setup.environment)
    if setup.data_directories:
        from ..datasets.fetching import set_data_directories

        set_data_directories(list(setup.data_directories))
    apply_thread_limit(setup.threads)
    if setup.plugins:
        from ..registry import load_plugin

        for module in setup.plugins:
            load_plugin(module)
