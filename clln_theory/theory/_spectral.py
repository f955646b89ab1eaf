"""Numerical kernels shared by the linear theory's modules (private to the theory room).

Everything here works on already validated float arrays: the public functions of
:mod:`~clln_theory.theory.linear`, :mod:`~clln_theory.theory.orbits` and
:mod:`~clln_theory.theory.asymptotics` check their arguments first. The functions have public
names so that the theory's modules can share them; they are not part of the package's API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .linear import LinearTask

__all__ = [
    "EPS",
    "flow",
    "knee_period",
    "max_rate",
    "min_rate",
    "phi1_times",
    "rank_threshold",
    "scaled_norm",
    "thin_eig",
]

#: Machine epsilon of float64 (2.2e-16): the relative rounding of one operation.
EPS = np.finfo(float).eps


def rank_threshold(rate_tol: float, n: int, lam_max: float) -> float:
    """The rank threshold (1/s) for ``n`` eigenvalues up to ``lam_max``.

    ``max(rate_tol, n * eps * lam_max)``: eigenvalues at or below it count as zero. The second
    term is the round-off level of a symmetric eigensolver on an ``n x n`` matrix.
    """
    return max(float(rate_tol), n * EPS * float(lam_max))


def phi1_times(lam: NDArray, t: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Return ``e = 1 - exp(-t lam)``, ``a = exp(-t lam)`` and ``phi = e / lam`` (``t`` at 0).

    ``lam`` has shape ``(n,)``, ``t`` any shape; outputs have shape ``t.shape + (n,)``. ``phi``
    equals ``t * phi_1(-t lam)`` and is accurate to a few ulps for every ``t lam >= 0``.
    """
    x = np.multiply.outer(t, lam)
    e = -np.expm1(-x)
    a = np.exp(-x)
    pos = x > 0
    ratio = np.divide(e, x, out=np.ones_like(x), where=pos)
    phi = ratio * np.asarray(t)[..., None]
    return e, a, phi


def flow(task: LinearTask, G0: NDArray, t: NDArray, B: NDArray) -> NDArray:
    """(D4)/(D5) of the paper from ``G0`` at times ``t`` (any shape), on validated input.

    ``G0 + U diag(phi) U^T v`` with ``v = -M (G0 - G_star) + B`` the initial velocity of (D2)
    and ``phi`` from :func:`phi1_times`; returns shape ``t.shape + (n,)``.
    """
    if task.low_rank:  # M = F F^T: the range of F in its thin basis, drift t v on the rest
        F, U = task.factor, task.factor_basis
        v = -((G0 - task.G_star) @ F) @ F.T + B  # (D2) at G0, O(n r)
        c = v @ U
        _, _, phi = phi1_times(task.factor_eigvals, t)
        G = G0 + (phi * c) @ U.T
        if U.shape[1] < U.shape[0]:  # a complement exists (else v - U c is round-off times t)
            G += np.multiply.outer(t, v - U @ c)
        return G
    U = task.eigvecs
    v = U.T @ (-(G0 - task.G_star) @ task.M + B)  # (D2) at G0, in the eigenbasis
    _, _, phi = phi1_times(task.eigvals, t)  # (D4) with phi_1 = (D5)
    return G0 + (phi * v) @ U.T


def thin_eig(F: NDArray) -> tuple[NDArray, NDArray]:
    """Nonzero spectrum of ``M = F F^T`` from the thin SVD of ``F`` (n, r), never forming ``M``.

    Returns ``U`` (n, min(n, r)) with orthonormal columns and ``lam`` (ascending, ``>= 0``) with
    ``M = U diag(lam) U^T``: QR of ``F`` then SVD of its ``r x r`` triangle (``O(n r^2)``) when
    ``r <= n``, a thin SVD of ``F`` otherwise.
    """
    n, r = F.shape
    if r == 0:
        return np.zeros((n, 0)), np.zeros(0)
    if r <= n:
        Qf, R = np.linalg.qr(F)
        Ur, s, _ = np.linalg.svd(R)
        U = Qf @ Ur
    else:
        U, s, _ = np.linalg.svd(F, full_matrices=False)
    order = np.argsort(s)
    return np.ascontiguousarray(U[:, order]), s[order] ** 2


def scaled_norm(x: NDArray) -> float:
    """Euclidean norm of a vector without underflow or overflow of its squares (BLAS nrm2 style).

    ``np.linalg.norm`` squares the entries: a vector of 1e-300 V/s has norm 0 and one of 1e200 has
    norm inf; scaling by the largest entry first keeps every representable norm.
    """
    x = np.asarray(x, dtype=float)
    s = float(np.max(np.abs(x), initial=0.0))
    if s == 0.0 or not np.isfinite(s):
        return s
    return s * float(np.linalg.norm(x / s))


def knee_period(cs: float, cl: float, d0: NDArray, d1: NDArray) -> float:
    """Where ``cs tau = |d0 + (tau/2) d1|`` (the knee of ``crossover_tau``), s; NaN if none.

    The positive root of ``(cs^2 - cl^2) tau^2 - (d0 . d1) tau - |d0|^2 = 0`` with
    ``cl = |d1| / 2``, unique when ``cs > cl``. The root does not depend on the scale of the
    bias, so the coefficients are first scaled to ~1: their squares neither underflow (a tiny
    ``B``) nor overflow (a huge one).
    """
    unit = max(
        cs, cl, float(np.max(np.abs(d0), initial=0.0)), float(np.max(np.abs(d1), initial=0.0))
    )
    if unit > 0:
        cs, cl, d0, d1 = cs / unit, cl / unit, d0 / unit, d1 / unit
    a2 = cs * cs - cl * cl
    a1 = -float(d0 @ d1)
    a0 = -float(d0 @ d0)
    if not (a2 > 0 and a0 < 0):
        return float("nan")
    disc = np.sqrt(a1 * a1 - 4.0 * a2 * a0)
    # positive root of a2 t^2 + a1 t + a0, in the form without cancellation
    return float((-a1 + disc) / (2.0 * a2) if a1 <= 0 else -2.0 * a0 / (a1 + disc))


def max_rate(task: LinearTask) -> float:
    """The largest rate (eigenvalue of M) of a task, 1/s; 0 for M = 0 (factor form: never M)."""
    lam = task.factor_eigvals if task.low_rank else task.eigvals
    return float(lam[-1]) if lam.size else 0.0


def min_rate(task: LinearTask) -> float:
    """The smallest nonzero rate of a task, 1/s; inf when M = 0."""
    if task.low_rank:
        lam = task.range_eigvals
        return float(lam[0]) if lam.size else np.inf
    pos = task.eigvals[task.eigvals > task.rank_threshold]
    return float(pos[0]) if pos.size else np.inf
