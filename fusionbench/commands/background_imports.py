"""Import modules in a background thread while the run's workers compute.

After a cold run the driver writes tables and the report, whose modules take about 1.8 s to
import on a 2-core machine (scipy.stats alone 1 s), time in which the driver otherwise only waits
for results. :class:`BackgroundImports` imports them during the execute stage instead.

A fork while another thread is inside an import could leave the child with a module lock held
for ever, so every later ``os.fork`` (a replacement worker) first waits for the imports to finish
(:func:`os.register_at_fork` runs the hook before the interpreter takes its own import lock).
"""
from __future__ import annotations

import importlib
import os
import threading
from typing import Sequence


class BackgroundImports:
    """``start()`` imports ``modules`` in a daemon thread; ``wait()`` until done (errors surface on the real import)."""

    def __init__(self, modules: Sequence[str]):
        self.modules = list(modules)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None or not self.modules:
            return
        self._thread = threading.Thread(target=self._import_all, name="fusionbench-imports", daemon=True)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=self.wait)
        self._thread.start()

    def _import_all(self) -> None:
        for module in self.modules:
            try:
                importlib.import_module(module)
            except Exception:  # the caller's own import reports it where it matters
                return

    def wait(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
