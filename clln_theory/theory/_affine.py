"""Engine of the state-dependent bias (``theory/affine.py``): Van Loan blocks, the cycle's fixed
point and its stability, on checked values (see the module docstring of ``affine.py``).

Engines of the theory room take validated arrays and never validate; the functions have public
names so that the faces can import them, and are not part of the package's API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
from numpy.typing import NDArray

from ..errors import NumericalRangeError, SingularSystemError, StabilityError
from ..model.bias import AffineBias
from ._spectral import rank_threshold

__all__ = [
    "affine_flow",
    "check_stable",
    "common_null_affine",
    "cycle_fields",
    "expm_blocks",
    "overflow_error",
    "stretch_points",
]


def expm_blocks(A: NDArray, cols: NDArray, h: NDArray) -> tuple[NDArray, NDArray]:
    """``exp(-A h)`` and ``int_0^h exp(-A s) ds @ cols`` for every ``h`` (batched Van Loan)."""
    n, m = A.shape[0], cols.shape[1]
    h = np.asarray(h, dtype=float).reshape(-1)
    X = np.zeros((h.size, n + m, n + m))
    X[:, :n, :n] = -A[None] * h[:, None, None]
    X[:, :n, n:] = cols[None] * h[:, None, None]
    with np.errstate(all="ignore"):
        try:
            Y = scipy.linalg.expm(X)
        except (np.linalg.LinAlgError, ValueError):  # inf/NaN inside: the exponent overflowed
            Y = np.full_like(X, np.nan)
    return Y[:, :n, :n], Y[:, :n, n:]


def overflow_error(what: str) -> NumericalRangeError:
    """The error of a segment map or cycle that left float64's range (valid-looking input)."""
    return NumericalRangeError(
        f"The computed {what} is not finite (float64 overflow): the durations times the rates "
        "|M - J|, or the bias `B0`, are too large for it; check the magnitudes of `tau` (or "
        "`durations`) and `B`."
    )


def affine_flow(M: NDArray, G_star: NDArray, G0: NDArray, t: NDArray, B: AffineBias) -> NDArray:
    """Gates at times ``t`` under ``dG/dt = -M (G - G*) + B(G)``: ``G0 + phi(t) v`` (checked input).

    ``v`` is the initial velocity and ``phi(t) = int_0^t exp(-(M - J) s) ds`` comes from one
    augmented matrix exponential per time; returns shape ``t.shape + (n,)``.
    """
    n = G0.shape[0]
    A = M - B.J
    v = -M @ (G0 - G_star) + B(G0)
    _, phi_v = expm_blocks(A, v[:, None], t)
    return (G0 + phi_v[:, :, 0]).reshape(*t.shape, n)


def stretch_points(
    tasks: Sequence[Any], durations: NDArray, G_starts: NDArray, B: AffineBias, phase: NDArray
) -> NDArray:
    """The gates (m, n), V, of a cycle of ``tasks`` trained in turn for ``durations`` (s) from
    the stretch starts ``G_starts`` (K, n), with the bias ``B``, at the phases ``phase`` (m,)
    in [0, sum(durations)] (s): (D4) with an affine bias on each task's own stretch."""
    edges = np.concatenate([[0.0], np.cumsum(durations)])
    seg = np.clip(np.searchsorted(edges, phase, side="right") - 1, 0, len(tasks) - 1)
    G = np.empty((phase.size, G_starts.shape[1]))
    for k, task in enumerate(tasks):
        sel = seg == k
        if np.any(sel):
            G[sel] = affine_flow(task.M, task.G_star, G_starts[k], phase[sel] - edges[k], B)
    return G


def common_null_affine(As: list[NDArray], rate_tol: float) -> tuple[NDArray, NDArray]:
    """Orthonormal ``P`` (complement) and ``Q`` (directions with ``A_k Q = 0`` for all k)."""
    n = As[0].shape[0]
    stacked = np.vstack(As)
    _, s, Vt = np.linalg.svd(stacked)
    thr = rank_threshold(rate_tol, n, s[0] if s.size else 0.0)
    s_full = np.zeros(n)
    s_full[: s.size] = s
    null = s_full <= thr
    Q, P = Vt[null].T, Vt[~null].T
    if Q.shape[1]:
        left = max(float(np.linalg.norm(Q.T @ A, 2)) for A in As)
        if left > thr:
            raise StabilityError(
                f"The tasks share a neutral direction (A_k q = 0 for q = {Q[:, 0].round(6)}) "
                f"that M - J couples back into the dynamics (|Q^T (M_k - J)| = {left:.3g} 1/s): "
                "M - J has the eigenvalue 0 there and the cycle does not exist."
            )
    return P, Q


def cycle_fields(
    tasks: Sequence[Any], B: AffineBias, h: NDArray, G_ref: NDArray, rate_tol: float
) -> dict[str, Any]:
    """The fixed point of the period map on the complement, the drift: the fields of
    ``AffineOrbit`` for checked ``LinearTask``s, durations ``h``, ``G_ref`` and ``rate_tol``."""
    n = tasks[0].n
    s = tasks[0].G_star  # coordinates relative to the first task's solution
    As = [t.M - B.J for t in tasks]
    P, Q = common_null_affine(As, rate_tol)
    m = P.shape[1]
    drift = Q @ (Q.T @ B.B0)
    Bs = B(s)
    R = np.zeros((m, m))
    d = np.zeros(m)
    maps = []
    mono = np.eye(m)  # the period map Phi_K ... Phi_1: its small multipliers, accurately
    for A, task, hk in zip(As, tasks, h, strict=True):
        Ap = P.T @ A @ P
        cp = P.T @ (task.M @ (task.G_star - s) + Bs)
        Phi, blocks = expm_blocks(Ap, np.column_stack([Ap, cp]), np.array([hk]))
        Phi, E, dk = Phi[0], blocks[0, :, :m], blocks[0, :, m]
        if not (np.all(np.isfinite(Phi)) and np.all(np.isfinite(blocks))):
            raise overflow_error("period map of the state-dependent bias")
        maps.append((Phi, dk))
        R = R + E - E @ R  # 1 - Phi_k ... Phi_1, no cancellation
        mono = Phi @ mono
        d = Phi @ d + dk
    tau = float(np.sum(h))
    floquet, rate = check_stable(R, tau, rate_tol, As, P, h, mono)
    x0: NDArray
    with np.errstate(all="ignore"):
        try:
            x0 = scipy.linalg.solve(R, d)
        except (np.linalg.LinAlgError, ValueError):
            x0 = np.full(m, np.nan)
    if not np.all(np.isfinite(x0)):
        raise SingularSystemError(
            "The closed-orbit system of the state-dependent bias is singular to working "
            "precision; check the tasks and J."
        )
    q0 = Q @ (Q.T @ (G_ref - s))
    starts = np.empty((len(tasks), n))
    x = x0
    for k, (Phi, dk) in enumerate(maps):
        starts[k] = s + P @ x + q0 + drift * float(np.sum(h[:k]))
        x = Phi @ x + dk
    span = span_p = float("nan")
    if len(tasks) == 2:
        span_p = float(np.linalg.norm(P.T @ (starts[1] - starts[0])))
        span = float(np.hypot(span_p, h[0] * np.linalg.norm(drift)))
    for a in (starts, drift, Q, h, floquet):
        a.setflags(write=False)
    return dict(
        tasks=tuple(tasks),
        B=B,
        durations=h,
        tau=tau,
        G_starts=starts,
        span=span,
        span_periodic=span_p,
        drift=drift,
        null_basis=Q,
        floquet=floquet,
        rate=rate,
    )


def check_stable(
    R: NDArray,
    tau: float,
    rate_tol: float,
    As: list[NDArray],
    P: NDArray,
    h: NDArray,
    mono: NDArray | None = None,
) -> tuple[NDArray, float]:
    """Floquet multipliers ``1 - nu`` and the slowest rate; StabilityError when it is <= 0.

    Multipliers so small that ``1 - |mu|^2`` rounds to 1 take their rate from the eigenvalues
    of ``mono`` (the period map itself, accurate for small multipliers); one that underflows
    float64 there too gives the rate of the smallest normal number, a lower bound."""
    if R.shape[0] == 0:
        return np.zeros(0, dtype=complex), float("inf")
    nu = np.linalg.eigvals(R)
    one_minus_mu2 = 2.0 * nu.real - np.abs(nu) ** 2  # 1 - |1 - nu|^2, no cancellation
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = -np.log1p(-one_minus_mu2) / (2.0 * tau)
    if np.any(one_minus_mu2 >= 1.0):  # |mu|^2 below the resolution of 1 - |mu|^2
        mu = np.max(np.abs(np.linalg.eigvals(mono))) if mono is not None else 0.0
        slow = -np.log(max(float(mu), np.finfo(float).tiny)) / tau
        rates = np.where(one_minus_mu2 >= 1.0, slow, rates)
    scale = max(float(np.max(np.abs(A))) for A in As)
    thr = rank_threshold(rate_tol, R.shape[0], scale)
    i = int(np.argmin(rates))
    if not rates[i] > thr:
        mean = sum(hk * (P.T @ A @ P) for A, hk in zip(As, h, strict=True)) / tau
        lam = np.linalg.eigvals(mean)
        j = int(np.argmin(lam.real))
        raise StabilityError(
            f"M - J has an eigenvalue with non-positive real part on the complement of the "
            f"common null space: the period map's Floquet exponent is {rates[i]:.6g} 1/s "
            f"(multiplier {1 - nu[i]:.6g}) at tau = {tau:.6g} s (time-averaged M - J: "
            f"eigenvalue {lam[j]:.6g} 1/s); the cycle does not exist."
        )
    return 1.0 - nu, float(rates[i])
