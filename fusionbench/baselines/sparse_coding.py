"""Error-constrained orthogonal matching pursuit over many signals at once.

OMP (Pati, Rezaiifar, Krishnaprasad 1993) as Rubinstein's OMP-Box ``omp2`` runs it, which is what
LP-SR's ``sparse_fusion.m`` calls (``omp2(D, x, D'D, epsilon)``), for unit-norm atoms:

* pick the atom with the largest ``|d_j' r|`` (first one on ties);
* stop before adding it when it was already chosen, when ``(d_j' r)^2 < 1e-14``, or when it is
  numerically dependent on the chosen ones (``1 - |w|^2 <= 1e-14``, ``w`` the new Cholesky row);
* otherwise add it and project: the residual energy becomes ``|x|^2 - |z|^2`` with
  ``z = L^{-1} D_I' x`` (``L L' = D_I' D_I``);
* continue while that energy is above ``epsilon^2`` and fewer than ``n`` (signal length) atoms are
  chosen; the codes are ``gamma_I = L'^{-1} z``.

Instead of one Cholesky solve per signal and step, the chosen atoms are orthonormalised as they
come (``q = (d_j - Q w) / sqrt(1 - |w|^2)``, ``w = Q' d_j`` is exactly the new row of ``L``), so a
step costs two small matrix-vector products per signal plus one shared matrix product for the
correlations ``D' r`` of a block of signals. The loops are compiled with Numba
(:mod:`.omp_kernel`) and release the GIL, so a few threads code separate ranges of signals (BLAS
held to one thread inside, which is faster than letting it spread). scikit-learn's
``orthogonal_mp_gram`` returns the same codes (a test checks it) but loops over signals in Python.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import lru_cache

import numpy as np

#: Signals per block: 16 keeps a block's bases (16 x 64 x 64 doubles, 512 KiB) in a 1 MiB L2. Measured
#: on the 1014 base-band signals of a Lytro pair, 2 threads: 8 -> 40.7 ms, 16 -> 41.6 ms, 32 -> 41.3 ms,
#: 64 -> 46.9 ms, 128 -> 47.7 ms (the NumPy batched version this replaced: 112 ms).
BLOCK_SIGNALS = 16
DEFAULT_THREADS = 2


def default_threads() -> int:
    """Threads for one call: a run's worker share (``FUSIONBENCH_THREADS``), else ``DEFAULT_THREADS``.

    The codes do not depend on it (threads take whole blocks), only the speed does.
    """
    try:
        return max(1, int(os.environ.get("FUSIONBENCH_THREADS", DEFAULT_THREADS)))
    except ValueError:
        return DEFAULT_THREADS


def omp_error_constrained(signals: np.ndarray, dictionary: np.ndarray, epsilon: float,
                          threads: int | None = None, block: int = BLOCK_SIGNALS) -> np.ndarray:
    """Sparse codes ``(P, m)`` of ``signals (P, n)`` over unit-norm ``dictionary (n, m)`` with ``|x - D g| <= eps``."""
    from .omp_kernel import code_signals  # Numba is imported on first use only

    signals = np.ascontiguousarray(signals, dtype=np.float64)
    dictionary = np.ascontiguousarray(dictionary, dtype=np.float64)
    atom_rows = np.ascontiguousarray(dictionary.T)
    count = signals.shape[0]
    codes = np.zeros((count, dictionary.shape[1]))
    if block < 1:
        raise ValueError(f"block must be at least 1 signal, got {block}")
    if count == 0:
        return codes
    blocks = -(-count // block)
    threads = max(1, min(threads or default_threads(), os.cpu_count() or 1, blocks))
    # Threads take whole blocks, so every block holds the same signals whatever the thread count:
    # BLAS may round a row differently in a product of another height (1e-12 measured for 1 or 4 rows).
    bounds = [min(count, block * round(part * blocks / threads)) for part in range(threads + 1)]
    tolerance = float(epsilon) ** 2

    def run(part: int) -> None:
        start, stop = bounds[part], bounds[part + 1]
        code_signals(signals[start:stop], dictionary, atom_rows, tolerance, codes[start:stop], int(block))

    with single_threaded_blas():
        if threads == 1:
            run(0)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(run, range(threads)))
    return codes


@lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries (inspecting them costs ~1 ms: done once)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it BLAS keeps its own thread count
        return None
    # Numba's compiled products call SciPy's BLAS, a library apart from NumPy's: load it before looking.
    import scipy.linalg.cython_blas  # noqa: F401
    return ThreadpoolController()


def single_threaded_blas():
    """Context holding every loaded BLAS to one thread.

    Also for the small products around OMP: a multithreaded OpenBLAS call leaves its worker threads
    spinning for up to ~0.1 s afterwards, which took a core from the next OMP (42 -> 80 ms measured).
    """
    controller = _blas_controller()
    return nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def compile_kernel() -> None:
    """Compile (or load from Numba's on-disk cache) the OMP kernel by coding one tiny signal.

    A run calls this once in the driver before its workers start, so that they find the kernel in
    the cache instead of each compiling it (about 4 s each on first use).
    """
    dictionary = np.eye(4)
    omp_error_constrained(np.ones((1, 4)), dictionary, 0.1, threads=1)
