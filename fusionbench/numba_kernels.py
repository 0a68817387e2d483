"""How fusionbench compiles its Numba kernels: with Numba's on-disk cache where it can write one.

A cached kernel loads in about 0.1 s instead of compiling for seconds, in every process that uses
it (the run's driver compiles each once before its workers start). Where no cache directory can
be written (a read-only install with no writable home), Numba raises ``RuntimeError`` at
decoration; the kernel is then compiled once per process instead.
"""
from __future__ import annotations

from typing import Callable

import numba


def compiled_kernel(function: Callable | None = None, **options) -> Callable:
    """``numba.njit(cache=True, **options)(function)``, without the cache where none can be written.

    Usable as ``@compiled_kernel`` or ``@compiled_kernel(nogil=True, ...)``; a module fixes its
    own options with ``functools.partial(compiled_kernel, ...)``.
    """
    if function is None:
        return lambda decorated: compiled_kernel(decorated, **options)
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # no writable cache directory
        return numba.njit(**options)(function)
