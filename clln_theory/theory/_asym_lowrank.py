"""Small- and large-period asymptotics of low-rank pairs: the dense forms in the span of the ranges.

:func:`~clln_theory.theory.asymptotics.small_tau` and
:func:`~clln_theory.theory.asymptotics.large_tau` hand a pair with a task in factor form here. Both
tasks are reduced to the span ``U`` of their ranges (:mod:`clln_theory.theory._lowrank`), the
dense asymptotics are taken of the ``k x k`` pair, and every vector is lifted with ``U``; on the
complement (the common nullspace) the centre and start take ``G_ref``'s component and the gates
drift at ``(1 - U U^T) B``, exactly as the dense forms treat a common null direction. Public
names for the theory's modules; not part of the package's API.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import readonly
from ._asymptotics import large_tau_fields, small_tau_fields
from ._lowrank import ProjectedPair, any_low_rank, project_pair
from ._tasks import min_rate
from .linear import LinearTask

__all__ = ["large_fields", "large_tau_lowrank", "small_fields", "small_tau_lowrank"]


def small_fields(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, G_ref: NDArray, rate_tol: float
) -> dict[str, Any]:
    """The fields of ``SmallTauAsymptotics`` of two checked tasks, dense or low-rank."""
    if any_low_rank(task_a, task_b):  # factor form: the span of the ranges, drift on the rest
        return small_tau_lowrank(project_pair(task_a, task_b, B, G_ref, rate_tol), rate_tol)
    return small_tau_fields(task_a, task_b, B, G_ref, rate_tol)


def large_fields(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, G_ref: NDArray, rate_tol: float
) -> dict[str, Any]:
    """The fields of ``LargeTauAsymptotics`` of two checked tasks, dense or low-rank."""
    if any_low_rank(task_a, task_b):
        pp = project_pair(task_a, task_b, B, G_ref, rate_tol)
        return large_tau_lowrank(pp, rate_tol, task_a, task_b)
    return large_tau_fields(task_a, task_b, B, G_ref, rate_tol)


def small_tau_lowrank(pp: ProjectedPair, rate_tol: float) -> dict[str, Any]:
    """``small_tau`` of a pair reduced to ``pp``: the ``k x k`` forms lifted (fields)."""
    n, k = pp.U.shape
    if k == 0:
        zero = np.zeros(n)
        c, drift = pp.G_ref_perp, pp.B_perp
        vecs = (c, c, zero, zero, zero, drift)
        slopes, compatible = (0.0, 0.0), True
    else:
        assert pp.task_a is not None and pp.task_b is not None  # k > 0
        s = small_tau_fields(pp.task_a, pp.task_b, pp.B, pp.G_ref, rate_tol)
        off = pp.G_ref_perp
        vecs = (
            pp.lift(s["centre"]) + off,
            pp.lift(s["centre_bias_free"]) + off,
            pp.lift(s["bias_shift"]),
            pp.lift(s["velocity"]),
            pp.lift(s["velocity_bias_free"]),
            pp.lift(s["drift"]) + pp.B_perp,
        )
        slopes, compatible = (s["span_slope"], s["span_slope_bias_free"]), s["compatible"]
    c, c0, sh, v, v0, drift = (readonly(x) for x in vecs)
    return dict(
        centre=c,
        centre_bias_free=c0,
        bias_shift=sh,
        velocity=v,
        velocity_bias_free=v0,
        span_slope=slopes[0],
        span_slope_bias_free=slopes[1],
        drift=drift,
        compatible=compatible,
    )


def large_tau_lowrank(
    pp: ProjectedPair, rate_tol: float, task_a: LinearTask, task_b: LinearTask
) -> dict[str, Any]:
    """``large_tau`` of the pair ``task_a``, ``task_b`` reduced to ``pp``, lifted (fields)."""
    n, k = pp.U.shape
    off = pp.G_ref_perp
    if k == 0:
        zero = np.zeros(n)
        vecs: tuple[NDArray, ...] = (off, zero, off, pp.B_perp, zero, zero, pp.B_perp)
        plateau = slope = 0.0
    else:
        assert pp.task_a is not None and pp.task_b is not None  # k > 0
        L = large_tau_fields(pp.task_a, pp.task_b, pp.B, pp.G_ref, rate_tol)
        lift = pp.lift
        vecs = (
            lift(L["g0"]) + off,
            lift(L["g1"]),
            lift(L["k0"]) + off,
            lift(L["k1"]) + pp.B_perp,
            lift(L["d0"]),
            lift(L["d1"]),
            lift(L["drift"]) + pp.B_perp,
        )
        plateau, slope = L["plateau"], L["span_slope"]
    g0, g1, k0, k1, d0, d1, drift = (readonly(x) for x in vecs)
    return dict(
        g0=g0,
        g1=g1,
        k0=k0,
        k1=k1,
        d0=d0,
        d1=d1,
        plateau=plateau,
        span_slope=slope,
        relaxation_rate=min(min_rate(task_a), min_rate(task_b)),
        drift=drift,
    )
