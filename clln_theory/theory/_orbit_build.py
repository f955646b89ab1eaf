"""Engine: build the closed-orbit results from the dense and low-rank kernels' arrays.

The one place an :class:`~clln_theory.theory.orbit_results.Orbit` (or its low-rank form) is
assembled: the drift along the common null directions, the span (4) and read-only per-period
fields. Takes checked values only (the faces `periodic_orbit` and the reproduction pipeline call
it after their own checks).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._lowrank import ProjectedPair
from ._orbit_solve import DenseOrbit
from ._spectral import EPS
from .linear import LinearTask
from .orbit_results import LowRankOrbit, Orbit

__all__ = ["lowrank_orbit_from", "orbit_from"]


def orbit_from(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, taus: NDArray, scalar: bool, d: DenseOrbit
) -> Orbit:
    """The :class:`Orbit` (the one place it is built): drift, the span (4), read-only arrays,
    and the scalar fields of a scalar ``tau``."""
    G0, G_half, span_periodic, cond, used_dps = d.G0, d.G_half, d.span_periodic, d.cond, d.used_dps
    Q, null_coupling = d.Q, d.null_coupling
    n = task_a.n
    drift = Q @ (Q.T @ B)
    drift_T = np.broadcast_to(drift, (taus.size, n)).copy()
    # (4) literally: G(tau/2) - G(tau) = -(periodic step) - (tau/2) drift, the two orthogonal
    span = np.hypot(span_periodic, 0.5 * taus * float(np.linalg.norm(drift)))
    for a in (B, G0, G_half, span, drift, drift_T, Q, taus, cond, span_periodic, used_dps):
        a.setflags(write=False)
    if scalar:
        per_tau = dict(
            tau=float(taus[0]),
            G0=G0[0],
            G_half=G_half[0],
            span=float(span[0]),
            drift=drift,
            condition=float(cond[0]),
            span_periodic=float(span_periodic[0]),
            dps=int(used_dps[0]),
        )
    else:
        per_tau = dict(
            tau=taus,
            G0=G0,
            G_half=G_half,
            span=span,
            drift=drift_T,
            condition=cond,
            span_periodic=span_periodic,
            dps=used_dps,
        )
    return Orbit(
        task_a=task_a, task_b=task_b, B=B, null_basis=Q, null_coupling=null_coupling, **per_tau
    )


def lowrank_orbit_from(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    scalar: bool,
    pp: ProjectedPair,
    reduced: Orbit | None,
) -> LowRankOrbit:
    """The :class:`LowRankOrbit` of a pair reduced to ``pp`` (``reduced``: the orbit of the
    ``k x k`` pair, None for ``k = 0``), lifted: drift, span (4), per-period fields."""
    drift_n = pp.B_perp
    if reduced is None:  # k = 0: no dynamics left, pure drift from G_ref
        span_periodic = np.zeros(taus.size)
        span_r = span_periodic
        cond = np.ones(taus.size)
        null_coupling, used_dps = 0.0, np.zeros(taus.size, dtype=int)
    else:
        drift_n = drift_n + pp.lift(np.atleast_2d(reduced.drift)[0])
        span_periodic = np.atleast_1d(np.asarray(reduced.span_periodic, dtype=float))
        span_r = np.atleast_1d(np.asarray(reduced.span, dtype=float))
        null_coupling = pp.null_coupling + reduced.null_coupling
        cond = np.atleast_1d(np.asarray(reduced.condition, dtype=float)) + pp.null_coupling / EPS
        used_dps = np.atleast_1d(np.asarray(reduced.dps))
    span = np.hypot(span_r, 0.5 * taus * float(np.linalg.norm(pp.B_perp)))
    for a in (drift_n, span, cond, span_periodic, used_dps):
        a.setflags(write=False)
    if scalar:
        per_tau = dict(
            tau=float(taus[0]),
            span=float(span[0]),
            drift=drift_n,
            condition=float(cond[0]),
            span_periodic=float(span_periodic[0]),
            dps=int(used_dps[0]),
        )
    else:
        per_tau = dict(
            tau=taus,
            span=span,
            drift=np.broadcast_to(drift_n, (taus.size, drift_n.size)),
            condition=cond,
            span_periodic=span_periodic,
            dps=used_dps,
        )
    return LowRankOrbit(
        pp, reduced, task_a=task_a, task_b=task_b, B=B, null_coupling=null_coupling, **per_tau
    )
