"""Engine of the small- and large-period asymptotics (``theory/asymptotics.py``), dense tasks.

On checked tasks and arrays: the fields of ``SmallTauAsymptotics`` and ``LargeTauAsymptotics``
(see the docstrings of :mod:`clln_theory.theory.asymptotics` for the algebra). Public names for
the theory's modules; not part of the package's API.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import readonly
from ..errors import SingularSystemError
from ._nullspace import range_split
from ._spectral import EPS, scaled_norm
from ._tasks import min_rate
from .linear import LinearTask

__all__ = [
    "COMPATIBLE_RTOL",
    "SINGULAR_LEVEL",
    "large_tau_fields",
    "relaxed_start",
    "small_tau_fields",
]

#: Relative tolerance for "the tasks have a joint solution": the bias-free velocity at the
#: averaged centre, ``|M_alpha (G_c0 - G*_alpha)|``, must be at most this times
#: ``(|M_alpha| + |M_beta|) |G*_beta - G*_alpha|``. For an exact joint solution it is zero up to
#: round-off in ``(M_alpha + M_beta)^+``, ~ cond * eps, i.e. below 1e-10 for condition numbers up
#: to 1e6 (where :func:`~clln_theory.theory.orbits.periodic_orbit` itself starts warning).
COMPATIBLE_RTOL = 1e-8

#: :func:`large_tau` raises :class:`~clln_theory.errors.SingularSystemError` when the condition
#: number of ``I - N_beta N_alpha`` times machine epsilon exceeds this (fewer than two correct
#: digits could remain): the tasks' nullspaces then intersect to working precision.
SINGULAR_LEVEL = 1e-2


def small_tau_fields(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, G_ref: NDArray, rate_tol: float
) -> dict[str, Any]:
    """The fields of ``SmallTauAsymptotics`` of two checked dense tasks."""
    sp = range_split(task_a, task_b, rate_tol)
    n = task_a.n
    P, Q, S_pinv = sp.P, sp.Q, sp.S_pinv
    Ma, Mb = task_a.M, task_b.M
    delta = task_b.G_star - task_a.G_star
    PB = P @ (P.T @ B)
    base = P @ (P.T @ task_a.G_star) + Q @ (Q.T @ G_ref)
    u0 = S_pinv @ (Mb @ delta)  # bias-free centre relative to P P^T G*_alpha
    shift = 2.0 * (S_pinv @ B)  # bias shift of the centre
    v0 = -(Ma @ u0)  # M_alpha (P P^T G*_alpha - G*_alpha) = 0: G*_alpha - P P^T G*_alpha in null
    v = v0 - Ma @ shift + PB
    scale = (np.linalg.norm(Ma, 2) + np.linalg.norm(Mb, 2)) * np.linalg.norm(delta)
    compatible = bool(np.linalg.norm(v0) <= COMPATIBLE_RTOL * scale)
    if compatible:
        v0 = np.zeros(n)
        v = -(Ma - Mb) @ (S_pinv @ B)  # same vector, without the cancellation of v0
    c, c0, sh, vv, vv0, drift = (
        readonly(x) for x in (base + u0 + shift, base + u0, shift, v, v0, Q @ (Q.T @ B))
    )
    return dict(
        centre=c,
        centre_bias_free=c0,
        bias_shift=sh,
        velocity=vv,
        velocity_bias_free=vv0,
        span_slope=0.5 * scaled_norm(v),
        span_slope_bias_free=0.5 * scaled_norm(v0),
        drift=drift,
        compatible=compatible,
    )


def relaxed_start(K: NDArray, r0: NDArray, r1: NDArray) -> tuple[NDArray, NDArray]:
    """``g0, g1`` of :func:`large_tau` from ``K g = r`` (``K = I - N_beta N_alpha``, reduced)."""
    if K.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    cond = np.linalg.cond(K)
    if not np.isfinite(cond) or cond * EPS > SINGULAR_LEVEL:
        raise SingularSystemError(
            f"I - N_beta N_alpha is singular (condition number {cond:.3g}) on the complement "
            "of the common nullspace: the tasks' nullspaces (nearly) intersect; raise "
            "`rate_tol` to treat the shared direction as common."
        )
    g = np.linalg.solve(K, np.column_stack([r0, r1]))
    return g[:, 0], g[:, 1]


def large_tau_fields(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, G_ref: NDArray, rate_tol: float
) -> dict[str, Any]:
    """The fields of ``LargeTauAsymptotics`` of two checked dense tasks."""
    sp = range_split(task_a, task_b, rate_tol)
    n = task_a.n
    P, Q = sp.P, sp.Q
    m = P.shape[1]
    eye = np.eye(n)
    ca, cb = (P.T @ ((eye - t.N) @ t.G_star + t.M_pinv @ B) for t in (task_a, task_b))
    Na = P.T @ task_a.N @ P
    Nb = P.T @ task_b.N @ P
    nBa = P.T @ (task_a.N @ B)
    nBb = P.T @ (task_b.N @ B)
    g0, g1 = relaxed_start(np.eye(m) - Nb @ Na, Nb @ ca + cb, Nb @ nBa + nBb)
    k0 = Na @ g0 + ca
    k1 = Na @ g1 + nBa
    d0, d1 = P @ (k0 - g0), P @ (k1 - g1)
    q = Q @ (Q.T @ G_ref)
    drift = Q @ (Q.T @ B)
    G0c, G1c, K0c, K1c, d0, d1 = (
        readonly(x) for x in (P @ g0 + q, P @ g1, P @ k0 + q, P @ k1 + drift, d0, d1)
    )
    return dict(
        g0=G0c,
        g1=G1c,
        k0=K0c,
        k1=K1c,
        d0=d0,
        d1=d1,
        plateau=scaled_norm(d0),
        span_slope=0.5 * scaled_norm(d1),
        relaxation_rate=min(min_rate(task_a), min_rate(task_b)),
        drift=drift,
    )
