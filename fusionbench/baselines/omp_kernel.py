"""The compiled inner loop of :func:`.sparse_coding.omp_error_constrained` (Numba).

Imported on first use only, so that commands which never code a patch do not pay for importing
Numba. The algorithm and its stopping rules are documented in :mod:`.sparse_coding`; this module
holds the loops, written for the compiler:

* per step, one BLAS product ``R D`` gives the correlations of a whole block of signals (a block is
  small enough that its orthonormal bases, ``block x n x n`` doubles, stay in a core's L2 cache);
* then each active signal takes its atom, extends its orthonormal basis and updates its residual,
  in plain loops (no temporaries, no per-step Python);
* at the end, one back substitution per signal turns the projections into codes.

``fastmath`` is limited to reassociation and contraction: it lets LLVM vectorise the dot products
(which changes rounding at the 1e-16 level, like any BLAS) without assuming away NaN or infinity.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ..numba_kernels import compiled_kernel

#: OMP-Box's thresholds for "inner product too small" and "atoms dependent".
NEGLIGIBLE = 1e-14
_FASTMATH = {"reassoc", "contract"}


_compile = partial(compiled_kernel, nogil=True, fastmath=_FASTMATH)


@_compile
def _strongest_atom(correlation):
    """Index of the largest ``|correlation|``, the first one on ties (MATLAB's ``max``)."""
    best, best_magnitude = 0, -1.0
    for atom in range(correlation.shape[0]):
        magnitude = abs(correlation[atom])
        if magnitude > best_magnitude:
            best, best_magnitude = atom, magnitude
    return best


@_compile
def _extend_basis(step, atom, basis, lower, scratch):
    """Orthonormalise ``atom`` against ``basis[:step]``: writes row ``step`` of ``basis`` and of L.

    ``w = Q' d`` is the new row of L, ``sqrt(1 - |w|^2)`` its diagonal and ``q = (d - Q w) / diagonal``
    the new basis vector. Returns the diagonal, or 0 when the atom depends on the chosen ones.
    """
    length = atom.shape[0]
    pivot = 1.0
    for previous in range(step):
        inner = 0.0
        for index in range(length):
            inner += basis[previous, index] * atom[index]
        lower[step, previous] = inner
        pivot -= inner * inner
    if pivot <= NEGLIGIBLE:
        return 0.0
    diagonal = np.sqrt(pivot)
    # scratch, not basis[step]: a separate array lets LLVM vectorise without aliasing checks
    for index in range(length):
        scratch[index] = atom[index]
    for previous in range(step):
        weight = lower[step, previous]
        for index in range(length):
            scratch[index] -= weight * basis[previous, index]
    for index in range(length):
        basis[step, index] = scratch[index] / diagonal
    lower[step, step] = diagonal
    return diagonal


@_compile
def _back_substitute(lower, projections, size, gamma):
    """Solve ``L' gamma = z`` for the first ``size`` coefficients."""
    for index in range(size - 1, -1, -1):
        total = projections[index]
        for later in range(index + 1, size):
            total -= lower[later, index] * gamma[later]
        gamma[index] = total / lower[index, index]


@_compile
def code_signals(signals, dictionary, atom_rows, tolerance, codes, block):
    """Write into ``codes`` the OMP codes of ``signals`` (rows), coding ``block`` signals at a time.

    ``atom_rows`` is ``dictionary.T`` made contiguous; ``tolerance`` is ``epsilon**2``.
    """
    count, length = signals.shape
    atoms_total = dictionary.shape[1]
    residual = np.empty((block, length))
    correlation = np.empty((block, atoms_total))
    basis = np.empty((block, length, length))
    lower = np.empty((block, length, length))
    projections = np.empty((block, length))
    chosen = np.empty((block, length), np.intp)
    taken = np.empty((block, atoms_total), np.bool_)
    energy = np.empty(block)
    atom_count = np.zeros(block, np.intp)
    active = np.empty(block, np.bool_)
    scratch = np.empty(length)
    gamma = np.empty(length)
    for start in range(0, count, block):
        size = min(block, count - start)
        any_active = False
        for member in range(size):
            signal = signals[start + member]
            residual[member] = signal
            energy[member] = np.dot(signal, signal)
            active[member] = energy[member] > tolerance
            any_active = any_active or active[member]
            atom_count[member] = 0
            taken[member] = False
        for step in range(length):
            if not any_active:
                break
            np.dot(residual[:size], dictionary, correlation[:size])
            any_active = False
            for member in range(size):
                if not active[member]:
                    continue
                atom = _strongest_atom(correlation[member])
                value = correlation[member, atom]
                # OMP-Box stops before adding an atom chosen twice, negligible, or dependent on the others.
                diagonal = 0.0
                if not taken[member, atom] and value * value >= NEGLIGIBLE:
                    diagonal = _extend_basis(step, atom_rows[atom], basis[member], lower[member], scratch)
                if diagonal == 0.0:
                    active[member] = False
                    continue
                projection = value / diagonal
                projections[member, step] = projection
                chosen[member, step] = atom
                taken[member, atom] = True
                atom_count[member] = step + 1
                for index in range(length):
                    residual[member, index] -= projection * basis[member, step, index]
                energy[member] -= projection * projection
                active[member] = energy[member] > tolerance and step + 1 < length
                any_active = any_active or active[member]
        for member in range(size):
            atoms_used = atom_count[member]
            _back_substitute(lower[member], projections[member], atoms_used, gamma)
            for index in range(atoms_used):
                codes[start + member, chosen[member, index]] = gamma[index]
