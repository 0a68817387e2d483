"""Error-constrained orthogonal matching pursuit over many signals at once (batched OMP).

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
step costs two small matrix-vector products per signal plus one shared matrix product for all
correlations ``D' r``; signals are processed in cache-sized chunks on a few threads (BLAS held to
one thread inside, which is faster than letting it spread). scikit-learn's ``orthogonal_mp_gram``
returns the same codes (a test checks it) but loops over signals in Python.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

#: OMP-Box's thresholds for "inner product too small" and "atoms dependent".
NEGLIGIBLE = 1e-14
CHUNK_SIGNALS = 128
DEFAULT_THREADS = 2


def omp_error_constrained(signals: np.ndarray, dictionary: np.ndarray, epsilon: float,
                          threads: int | None = None, chunk: int = CHUNK_SIGNALS) -> np.ndarray:
    """Sparse codes ``(P, m)`` of ``signals (P, n)`` over unit-norm ``dictionary (n, m)`` with ``|x - D g| <= eps``."""
    signals = np.ascontiguousarray(signals, dtype=np.float64)
    dictionary = np.ascontiguousarray(dictionary, dtype=np.float64)
    count = signals.shape[0]
    codes = np.zeros((count, dictionary.shape[1]))
    if count == 0:
        return codes
    threads = threads or min(DEFAULT_THREADS, os.cpu_count() or 1)
    bounds = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]

    def run(bound: tuple[int, int]) -> None:
        start, stop = bound
        codes[start:stop] = _omp_chunk(signals[start:stop], dictionary, epsilon * epsilon)

    with _single_threaded_blas():
        if threads > 1 and len(bounds) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(run, bounds))
        else:
            for bound in bounds:
                run(bound)
    return codes


def _single_threaded_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own thread count
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _omp_chunk(signals: np.ndarray, dictionary: np.ndarray, tolerance: float) -> np.ndarray:
    """OMP of one chunk; every signal takes one atom per step until it stops (see module docstring)."""
    count, length = signals.shape
    atoms_total = dictionary.shape[1]
    transposed = np.ascontiguousarray(dictionary.T)
    codes = np.zeros((count, atoms_total))
    energy = np.einsum("pn,pn->p", signals, signals)

    live = np.flatnonzero(energy > tolerance)  # original row of each signal still being coded
    residual = signals[live].copy()
    energy = energy[live]
    correlation = residual @ dictionary
    basis = np.zeros((live.size, length, length))  # orthonormalised chosen atoms, one per row
    cholesky = np.zeros((live.size, length, length))
    projections = np.zeros((live.size, length))  # z = L^{-1} D_I' x
    chosen = np.zeros((live.size, length), dtype=np.intp)
    taken = np.zeros((live.size, atoms_total), dtype=bool)

    step = 0
    while live.size and step < length:
        rows = np.arange(live.size)
        best = np.argmax(np.abs(correlation), axis=1)
        best_value = correlation[rows, best]
        atom = transposed[best]
        if step:
            row = np.matmul(basis[:, :step], atom[:, :, None])[:, :, 0]
            pivot = 1.0 - np.einsum("pk,pk->p", row, row)
        else:
            row = np.zeros((live.size, 0))
            pivot = np.ones(live.size)
        halted = taken[rows, best] | (best_value * best_value < NEGLIGIBLE) | (pivot <= NEGLIGIBLE)
        if halted.any():
            _store_codes(codes, live[halted], cholesky[halted], projections[halted], chosen[halted], step)
            keep = ~halted
            live, residual, energy, correlation = live[keep], residual[keep], energy[keep], correlation[keep]
            basis, cholesky, projections = basis[keep], cholesky[keep], projections[keep]
            chosen, taken = chosen[keep], taken[keep]
            best, best_value, atom, row, pivot = best[keep], best_value[keep], atom[keep], row[keep], pivot[keep]
            rows = np.arange(live.size)
            if not live.size:
                break
        diagonal = np.sqrt(pivot)
        direction = atom - np.matmul(row[:, None, :], basis[:, :step])[:, 0, :] if step else atom.copy()
        direction /= diagonal[:, None]
        projection = best_value / diagonal
        basis[:, step] = direction
        cholesky[:, step, :step] = row
        cholesky[:, step, step] = diagonal
        projections[:, step] = projection
        chosen[:, step] = best
        taken[rows, best] = True
        residual -= projection[:, None] * direction
        correlation = residual @ dictionary
        energy = energy - projection * projection
        step += 1
        finished = energy <= tolerance
        if step == length:
            finished[:] = True
        if finished.any():
            _store_codes(codes, live[finished], cholesky[finished], projections[finished], chosen[finished], step)
            keep = ~finished
            live, residual, energy, correlation = live[keep], residual[keep], energy[keep], correlation[keep]
            basis, cholesky, projections = basis[keep], cholesky[keep], projections[keep]
            chosen, taken = chosen[keep], taken[keep]
    return codes


def _store_codes(codes: np.ndarray, rows: np.ndarray, cholesky: np.ndarray, projections: np.ndarray,
                 chosen: np.ndarray, size: int) -> None:
    """Solve ``L' gamma = z`` (back substitution, all signals at once) and scatter into ``codes``."""
    if size == 0 or rows.size == 0:
        return
    gamma = np.zeros((rows.size, size))
    for index in range(size - 1, -1, -1):
        known = np.einsum("pk,pk->p", cholesky[:, index + 1:size, index], gamma[:, index + 1:size])
        gamma[:, index] = (projections[:, index] - known) / cholesky[:, index, index]
    codes[rows[:, None], chosen[:, :size]] = gamma
