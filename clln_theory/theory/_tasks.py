"""Engine of the linear tasks: build a ``LinearTask`` from checked arrays, flow along one task.

The faces validate; the functions here take a ``LinearTask`` and arrays already checked and never
validate again. Public names for the theory's modules; not part of the package's API.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._spectral import (
    PSD_TOL,
    SYM_TOL,
    check_rate_matrix,
    dense_spectrum,
    flow_dense,
    flow_factor,
    require_finite,
)
from .linear import LinearTask

__all__ = ["checked_task", "flow", "max_rate", "min_rate"]


def checked_task(M: NDArray, G_star: NDArray, rate_tol: float) -> LinearTask:
    """``LinearTask(M, G_star, rate_tol=rate_tol)`` for a computed ``M`` (n, n) and a checked
    ``G_star`` (n,): the same arrays and checks of content (finite, symmetric, PSD), without
    validating the arguments again."""
    task = object.__new__(LinearTask)
    M = np.array(M, dtype=float)  # private copies, as the constructor makes
    G_star = np.array(G_star, dtype=float)
    require_finite(M, "M")
    check_rate_matrix(M, SYM_TOL)
    require_finite(G_star, "G_star")
    fields = dense_spectrum(M, G_star, float(rate_tol), PSD_TOL)
    for name, value in (("rate_tol", float(rate_tol)), ("psd_tol", PSD_TOL), ("sym_tol", SYM_TOL)):
        object.__setattr__(task, name, value)
    for key, item in fields.items():
        object.__setattr__(task, key, item)
    return task


def flow(task: LinearTask, G0: NDArray, t: NDArray, B: NDArray) -> NDArray:
    """(D4)/(D5) of the paper from ``G0`` at times ``t`` (any shape), on validated input.

    Dense tasks in their eigenbasis, low-rank tasks in the thin basis of their factor (see
    ``_spectral.flow_dense`` and ``flow_factor``); returns shape ``t.shape + (n,)``.
    """
    if task.low_rank:  # M = F F^T: the range of F in its thin basis, drift t v on the rest
        F, U, lam = task.factor, task.factor_basis, task.factor_eigvals
        assert F is not None and U is not None and lam is not None  # a low-rank task
        return flow_factor(F, U, lam, task.G_star, G0, t, B)
    return flow_dense(task.eigvecs, task.eigvals, task.M, task.G_star, G0, t, B)


def max_rate(task: LinearTask) -> float:
    """The largest rate (eigenvalue of M) of a task, 1/s; 0 for M = 0 (factor form: never M)."""
    lam = task.factor_eigvals if task.low_rank else task.eigvals
    assert lam is not None
    return float(lam[-1]) if lam.size else 0.0


def min_rate(task: LinearTask) -> float:
    """The smallest nonzero rate of a task, 1/s; inf when M = 0."""
    if task.low_rank:
        lam = task.range_eigvals
        return float(lam[0]) if lam.size else np.inf
    pos = task.eigvals[task.eigvals > task.rank_threshold]
    return float(pos[0]) if pos.size else np.inf
