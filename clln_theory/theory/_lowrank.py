"""Two tasks in the span of their ranges: the reduction behind low-rank orbits and asymptotics.

For two tasks ``M_mu = F_mu F_mu^T`` (at least one held in factor form,
:meth:`~clln_theory.theory.linear.LinearTask.from_factor`), every rate matrix vanishes on the
orthogonal complement of ``span(range F_alpha, range F_beta)``. With ``U`` (n, k) an orthonormal
basis of that span (``k <= r_alpha + r_beta``), (D2) splits exactly into

* a ``k``-dimensional problem, ``dg/dt = -U^T M_mu U (g - U^T G*_mu) + U^T B``, handed to the
  dense engine (:func:`~clln_theory.theory.orbits.periodic_orbit`, the asymptotics) as two
  ``k x k`` tasks, so its stability and accuracy carry over;
* the complement, where ``dG/dt = (1 - U U^T) B``: the drift of a common null direction, with the
  orbit's component there fixed by ``G_ref``, exactly the dense engine's common-null convention.

``U`` is taken from the Gram matrix of ``[F_alpha, F_beta]`` (``M_alpha + M_beta`` has its
eigenvalues ``sigma^2``; see :func:`span_basis`) keeping ``sigma^2`` above the dense engine's
threshold ``max(rate_tol, n * eps * max sigma^2)``: the complement is precisely the common nullspace
the dense engine splits off. Setup ``O(n (r_alpha + r_beta)^2)``; lifting a ``k``-vector ``O(n k)``.
Public names for the theory's modules; not part of the package's API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numpy.typing import NDArray

from ._spectral import rank_threshold
from ._tasks import checked_task
from .linear import LinearTask

__all__ = [
    "ProjectedPair",
    "SpanBasis",
    "any_low_rank",
    "project_pair",
    "span_basis",
    "thin_spectrum",
]


def any_low_rank(task_a: object, task_b: object) -> bool:
    """Whether either argument is a :class:`LinearTask` held in factor form."""
    return any(isinstance(t, LinearTask) and t.low_rank for t in (task_a, task_b))


def thin_spectrum(task: LinearTask) -> tuple[NDArray, NDArray]:
    """``(U, lam)`` with ``M = U diag(lam) U^T``, ``lam > 0``: the thin SVD of a factor, or the
    positive eigenpairs of a dense task (which exists, so ``n`` is small enough for that)."""
    if task.low_rank:
        U, lam = task.factor_basis, task.factor_eigvals
        assert U is not None and lam is not None  # a low-rank task
        return U, lam
    pos = task.eigvals > 0
    return task.eigvecs[:, pos], task.eigvals[pos]


@dataclass(frozen=True, slots=True)
class ProjectedPair:
    """Two tasks reduced to the span ``U`` of their ranges (see the module docstring).

    ``task_a``, ``task_b`` are the dense ``k x k`` tasks ``U^T M_mu U`` with solutions
    ``U^T G*_mu`` (rank threshold: the full task's; None when ``k = 0``); ``B``, ``G_ref`` are
    ``U^T B``, ``U^T G_ref``; ``B_perp`` and ``G_ref_perp`` the complement components (n,);
    ``null_coupling`` the dropped
    couplings relative to the slowest kept rate, as ``Orbit.null_coupling``.
    """

    U: NDArray
    task_a: LinearTask | None
    task_b: LinearTask | None
    B: NDArray
    G_ref: NDArray
    B_perp: NDArray
    G_ref_perp: NDArray
    null_coupling: float

    def lift(self, g: NDArray) -> NDArray:
        """``U g`` for ``g`` of shape (..., k): a vector of the span in gate space, (..., n)."""
        return g @ self.U.T


@dataclass(frozen=True, slots=True)
class SpanBasis:
    """Orthonormal ``basis`` (n, k) of the range of ``C C^T`` above the threshold; ``eigvals``
    (ascending, all columns of ``C``) and the ``keep`` mask that chose the ``k``."""

    basis: NDArray
    eigvals: NDArray
    keep: NDArray


def span_basis(C: NDArray, rate_tol: float) -> SpanBasis:
    """Range of ``S = C C^T`` (C of shape (n, m), m << n) at the dense engine's threshold.

    The eigenvalues of ``S`` are those of the ``m x m`` Gram matrix ``C^T C = V diag(s2) V^T``
    (absolute error ``~ eps max s2``, as for an ``n x n`` eigensolver); the basis ``C V / sqrt(s2)``
    on the kept columns is re-orthonormalized by two Cholesky-QR passes (``U <- U L^-T`` with
    ``L L^T = U^T U``), orthonormal to round-off. Three GEMMs of ``O(n m^2)``: several times
    faster than a Householder QR of a tall ``n x m`` matrix, which forms ``Q`` column by column.
    """
    n, m = C.shape
    s2, V = np.linalg.eigh(C.T @ C)
    s2 = np.clip(s2, 0.0, None)
    lam_max = float(s2[-1]) if m else 0.0
    keep = s2 > rank_threshold(rate_tol, n, lam_max)
    U = C @ (V[:, keep] / np.sqrt(s2[keep]))
    for _ in range(2):
        if U.shape[1] == 0:
            break
        L = np.linalg.cholesky(U.T @ U)
        U = scipy.linalg.solve_triangular(L, U.T, lower=True, check_finite=False).T
    return SpanBasis(basis=np.ascontiguousarray(U), eigvals=s2, keep=keep)


def project_pair(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, G_ref: NDArray, rate_tol: float
) -> ProjectedPair:
    """Reduce two validated tasks (same ``n``) and validated ``B``, ``G_ref`` to the span of
    their ranges; ``rate_tol`` is the common-null threshold of ``periodic_orbit``."""
    n = task_a.n
    (Ua, la), (Ub, lb) = thin_spectrum(task_a), thin_spectrum(task_b)
    sb = span_basis(np.hstack([Ua * np.sqrt(la), Ub * np.sqrt(lb)]), rate_tol)
    s2, keep, U = sb.eigvals, sb.keep, sb.basis
    projected: list[LinearTask | None] = []
    coupling = 0.0
    for task, Ut, lt in ((task_a, Ua, la), (task_b, Ub, lb)):
        A = (U.T @ Ut) * np.sqrt(lt)  # U^T F (k, r)
        R = Ut * np.sqrt(lt) - U @ A  # the part of F outside the span (dropped, ~ threshold)
        if R.size and A.size:
            RtR = R.T @ R
            coupling = max(coupling, float(np.sqrt(max(np.linalg.eigvalsh(A @ RtR @ A.T)[-1], 0))))
        if U.shape[1] == 0:  # both rate matrices vanish: no k-dimensional problem
            projected.append(None)
            continue
        thr = max(task.rank_threshold, task.rate_tol)
        projected.append(checked_task(A @ A.T, U.T @ task.G_star, thr))
    dropped = float(np.max(s2[~keep])) if np.any(~keep) else 0.0
    null_coupling = (coupling + dropped) / float(s2[keep][0]) if 0 < U.shape[1] < n else 0.0
    Bk, Gk = U.T @ B, U.T @ G_ref
    return ProjectedPair(
        U=U,
        task_a=projected[0],
        task_b=projected[1],
        B=Bk,
        G_ref=Gk,
        B_perp=B - U @ Bk,
        G_ref_perp=G_ref - U @ Gk,
        null_coupling=null_coupling,
    )
