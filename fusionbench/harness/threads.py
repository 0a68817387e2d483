"""Each worker process uses its share of the cores, never all of them.

Without this, every worker's torch, BLAS and Numba start one thread per core: with 2 workers on
2 cores IFCNN took 0.50-0.56 s per fusion inside a run against 0.23 s alone. The limit is set
through the environment (read by libraries a worker has not loaded yet) and through threadpoolctl
and torch for those already loaded; :func:`apply_thread_limit` is cheap and called before every
order, because a fusion may have imported torch since the last one.
"""
from __future__ import annotations

import os
import sys

#: Read by fusionbench's own multi-threaded code (LP-SR's sparse coding).
THREADS_VARIABLE = "FUSIONBENCH_THREADS"
_LIBRARY_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                      "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

_applied: dict[str, int] = {}


def default_threads_per_worker(workers: int) -> int:
    """cores / workers, at least 1."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def set_thread_environment(threads: int) -> None:
    """Environment variables for libraries not loaded yet in this process (and its children).

    ``NUMBA_NUM_THREADS`` is left alone once Numba is loaded: Numba re-reads its configuration at
    every compilation and raises if the variable differs from the pool it has launched (an
    in-process run with 2 threads after one with 1 made every later compilation fail);
    :func:`apply_thread_limit` limits a loaded Numba through ``numba.set_num_threads`` instead.
    """
    numba_loaded = "numba" in sys.modules
    for name in (THREADS_VARIABLE, *_LIBRARY_VARIABLES):
        if name == "NUMBA_NUM_THREADS" and numba_loaded:
            continue
        os.environ[name] = str(threads)


def apply_thread_limit(threads: int) -> None:
    """Limit the libraries this process has loaded to ``threads`` threads (idempotent, cheap)."""
    set_thread_environment(threads)
    if _applied.get("process") != threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
        _single_threaded_opencv()
        _applied["process"] = threads
    torch = sys.modules.get("torch")
    if torch is not None and _applied.get("torch") != threads:
        torch.set_num_threads(threads)
        _applied["torch"] = threads
    numba = sys.modules.get("numba")
    if numba is not None and _applied.get("numba") != threads:
        try:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        except (ValueError, AttributeError):  # a Numba without a threading layer
            pass
        _applied["numba"] = threads


def single_threaded_opencv() -> None:
    """One OpenCV thread per process, whatever the worker count.

    OpenCV splits some filters (e.g. MergeMertens) over its threads and the floating-point sums
    then depend on the split: the same run gave fused images one grey level apart with 1 and
    with 2 threads. One thread makes results independent of the executor; parallelism comes from
    the worker processes. The driver calls it before forking workers: a forked child that changes
    the thread count of a pool its parent had running blocks for ever (its threads were not
    copied), so the child must find the setting already made and leave it alone.
    """
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)


_single_threaded_opencv = single_threaded_opencv
