"""How fusionbench compiles its Numba kernels: with Numba's on-disk cache where it can write one.

A cached kernel loads in about 0.1 s instead of compiling for seconds, in every process that uses
it (the run's driver compiles each once before its workers start). Where no cache directory can
be written (a read-only install with no writable home), Numba raises ``RuntimeError`` at
decoration; the kernel is then compiled once per process instead.
"""
from __future__ import annotations

from typing import Callable

import numba
import numpy as np


def compiled_kernel(function: Callable | None = None, *, signatures: list | None = None, **options) -> Callable:
    """``numba.njit(cache=True, **options)(function)``, without the cache where none can be written.

    Usable as ``@compiled_kernel`` or ``@compiled_kernel(nogil=True, ...)``; a module fixes its
    own options with ``functools.partial(compiled_kernel, ...)``. ``signatures``: the only argument
    types the kernel is compiled for, at import (loaded from the cache where it has them); declare
    image arguments as read-only arrays of any layout (:func:`image_type`) and one compiled version
    takes contiguous, strided and read-only images alike, instead of one compilation per
    combination met in a worker.
    """
    if function is None:
        return lambda decorated: compiled_kernel(decorated, signatures=signatures, **options)
    arguments = () if signatures is None else (signatures,)
    try:
        return numba.njit(*arguments, cache=True, **options)(function)
    except RuntimeError:  # no writable cache directory
        return numba.njit(*arguments, **options)(function)


def image_type(dtype, dimensions: int = 2) -> "numba.types.Array":
    """The Numba type of an input array of ``dtype`` (a NumPy scalar type) in any layout, read-only:
    C-contiguous, strided (a colour plane) and writable arrays all convert to it."""
    return numba.types.Array(numba.from_dtype(np.dtype(dtype)), dimensions, "A", readonly=True)


def output_type(dtype, dimensions: int) -> "numba.types.Array":
    """The Numba type of a C-contiguous, writable output array of ``dtype``."""
    return numba.types.Array(numba.from_dtype(np.dtype(dtype)), dimensions, "C")
