"""Validation of the arguments shared by the two-task functions of the linear theory.

:func:`~clln_theory.theory.orbits.periodic_orbit` and the asymptotics of
:mod:`~clln_theory.theory.asymptotics` take the same ``task_a, task_b`` and the same ``B``,
``G_ref``, ``rate_tol`` and ``tau``; they read them here, so that the same mistake gets the same
error everywhere. Public names for the theory's modules; not part of the package's API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import number, times, vector
from ..errors import ShapeError
from ._limits import bias_vector, check_periods
from ._spectral import rank_threshold
from .linear import LinearTask, check_task

__all__ = ["RangeSplit", "check_pair", "pair_inputs", "periods", "range_split"]


def check_pair(task_a: object, task_b: object) -> int:
    """Check that both are :class:`LinearTask` of one size; return that size ``n``.

    Raises ArgumentError for a non-task and ShapeError for tasks of different sizes.
    """
    n = check_task(task_a, "task_a").n
    if check_task(task_b, "task_b").n != n:
        raise ShapeError(
            f"Argument `task_b` must have as many gates as `task_a` ({n}), but has {task_b.n}."
        )
    return n


def pair_inputs(
    task_a: LinearTask,
    task_b: LinearTask,
    B: ArrayLike,
    G_ref: ArrayLike | None,
    rate_tol: float | None,
) -> tuple[NDArray, NDArray, float]:
    """``B``, ``G_ref`` and ``rate_tol`` of a two-task call, validated and with their defaults.

    ``G_ref`` defaults to ``(G*_alpha + G*_beta) / 2`` and ``rate_tol`` to the larger
    ``rate_tol`` of the two tasks. Raises ShapeError or ArgumentError naming the argument.
    """
    n = check_pair(task_a, task_b)
    B = bias_vector(B, n)
    if G_ref is None:
        G_ref = 0.5 * (task_a.G_star + task_b.G_star)
    else:
        G_ref = vector(G_ref, "G_ref", n)
    if rate_tol is None:
        rate_tol = max(task_a.rate_tol, task_b.rate_tol)
    else:
        rate_tol = number(rate_tol, "rate_tol", low=0.0, unit="1/s")
    return B, G_ref, rate_tol


def periods(tau: float | ArrayLike, name: str = "tau") -> tuple[NDArray, bool]:
    """Periods (s, each finite and ``> 0``) as a 1-D array, and whether ``tau`` was a scalar.

    Raises ArgumentError for a bad value or more than `MAX_PERIODS` periods, and ShapeError for
    more than one dimension.
    """
    t = times(tau, name, positive=True)
    if t.ndim > 1:
        raise ShapeError(f"Argument `{name}` must be a scalar or 1-D, but has shape {t.shape}.")
    check_periods(t.size, name)  # at most MAX_PERIODS
    return np.atleast_1d(t), t.ndim == 0


@dataclass(frozen=True, slots=True)
class RangeSplit:
    """Eigen-split of ``S = M_alpha + M_beta`` into range ``P`` and common nullspace ``Q``.

    ``lam`` are the eigenvalues of ``S`` on its range (above the threshold), ascending; ``P``
    (n, m) and ``Q`` (n, k) are orthonormal bases of the range and of the common nullspace.
    """

    lam: NDArray
    P: NDArray
    Q: NDArray

    @property
    def S_pinv(self) -> NDArray:
        """The pseudoinverse ``S^+`` (s) at the threshold."""
        return (self.P / self.lam) @ self.P.T


def range_split(task_a: LinearTask, task_b: LinearTask, rate_tol: float) -> RangeSplit:
    """Common nullspace of two tasks from one eigendecomposition of ``M_alpha + M_beta``.

    The threshold is that of ``periodic_orbit``, ``max(rate_tol, n * eps * max eig)`` (which,
    unlike this function, skips the eigendecomposition when Weyl's bounds on the tasks' cached
    spectra already exclude a common null direction).
    """
    n = task_a.n
    lam, U = np.linalg.eigh(task_a.M + task_b.M)
    thr = rank_threshold(rate_tol, n, max(float(lam[-1]), 0.0))
    null = lam <= thr
    return RangeSplit(lam=lam[~null], P=U[:, ~null], Q=U[:, null])
