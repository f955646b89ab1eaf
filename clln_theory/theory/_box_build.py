"""Engine of the gate box: solve the box orbits of checked tasks and build their results.

The one place a :class:`~clln_theory.theory.box_results.BoxOrbit` or
:class:`~clln_theory.theory.box_results.BoxCyclicOrbit` is assembled: the engine tasks are built
once per call (their free-block caches shared by every period of a sweep), the unconstrained
orbit of the faces is handed in as the candidate that ``_box_orbit`` verifies, and the pieces are
turned into :class:`~clln_theory.theory.trajectories.BoxPiece` with times from the start of the
period. Takes checked values only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import readonly
from ._box import as_box_pieces, box_task
from ._box_orbit import CycleOrbit, cycle_sweep
from .box_results import BoxCyclicOrbit, BoxOrbit
from .linear import LinearTask
from .trajectories import BoxPiece

__all__ = ["box_cycle_orbits", "box_cyclic_from", "box_orbit_from"]


def box_cycle_orbits(
    tasks: tuple[LinearTask, ...],
    B: NDArray,
    H: NDArray,
    lo: NDArray,
    hi: NDArray,
    rate_tol: float,
    unc: NDArray | None,
) -> list[CycleOrbit]:
    """The box orbits of ``tasks`` for the schedules ``H`` (T, K); ``unc`` (T, K, n) the
    unconstrained orbits (NaN rows where there is none)."""
    bts = [box_task(np.asarray(t.M, dtype=float), t.G_star, B, lo, hi, rate_tol) for t in tasks]
    return cycle_sweep(bts, H, unc)


def _pieces(orb: CycleOrbit, h: NDArray) -> tuple[BoxPiece, ...]:
    edges = np.concatenate([[0.0], np.cumsum(h)])
    out: tuple[BoxPiece, ...] = ()
    for k, seg in enumerate(orb.pieces):
        out += as_box_pieces(seg, k, float(edges[k]))
    return out


def _span(starts: NDArray) -> NDArray:
    """Largest distance between two segment ends (the starts, cyclically): (T,)."""
    d = np.linalg.norm(starts[:, :, None, :] - starts[:, None, :, :], axis=-1)
    return d.reshape(starts.shape[0], -1).max(axis=1)


def box_orbit_from(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    scalar: bool,
    box: tuple[NDArray, NDArray],
    rate_tol: float,
    orbits: list[CycleOrbit],
) -> BoxOrbit:
    """The :class:`BoxOrbit` of the engine's orbits at the periods ``taus`` (T,)."""
    starts = np.stack([o.starts for o in orbits])
    G0, G_half = readonly(starts[:, 0]), readonly(starts[:, 1])
    span = readonly(np.linalg.norm(starts[:, 1] - starts[:, 0], axis=1))
    sat = readonly(np.array([o.saturated for o in orbits]))
    inside = readonly(np.array([o.untouched for o in orbits]))
    its = readonly(np.array([o.iterations for o in orbits]))
    pieces = tuple(_pieces(o, np.array([t / 2, t / 2])) for o, t in zip(orbits, taus, strict=True))
    common: dict[str, Any] = dict(
        task_a=task_a, task_b=task_b, B=readonly(B), box=box, rate_tol=rate_tol
    )
    if scalar:
        return BoxOrbit(
            tau=float(taus[0]),
            G0=G0[0],
            G_half=G_half[0],
            span=float(span[0]),
            saturated=bool(sat[0]),
            pieces=pieces[0],
            unconstrained_in_box=bool(inside[0]),
            newton_iterations=int(its[0]),
            **common,
        )
    return BoxOrbit(
        tau=readonly(taus),
        G0=G0,
        G_half=G_half,
        span=span,
        saturated=sat,
        pieces=pieces,
        unconstrained_in_box=inside,
        newton_iterations=its,
        **common,
    )


def box_cyclic_from(
    tasks: tuple[LinearTask, ...],
    B: NDArray,
    H: NDArray,
    single: bool,
    box: tuple[NDArray, NDArray],
    rate_tol: float,
    orbits: list[CycleOrbit],
) -> BoxCyclicOrbit:
    """The :class:`BoxCyclicOrbit` of the engine's orbits for the schedules ``H`` (T, K)."""
    starts = np.stack([o.starts for o in orbits])
    span = _span(starts)
    sat = np.array([o.saturated for o in orbits])
    inside = np.array([o.untouched for o in orbits])
    pieces = tuple(_pieces(o, h) for o, h in zip(orbits, H, strict=True))
    common: dict[str, Any] = dict(tasks=tasks, B=readonly(B), box=box, rate_tol=rate_tol)
    if single:
        return BoxCyclicOrbit(
            durations=readonly(H[0]),
            tau=float(H[0].sum()),
            G_starts=readonly(starts[0]),
            span=float(span[0]),
            saturated=bool(sat[0]),
            pieces=pieces[0],
            unconstrained_in_box=bool(inside[0]),
            **common,
        )
    return BoxCyclicOrbit(
        durations=readonly(H),
        tau=readonly(H.sum(axis=1)),
        G_starts=readonly(starts),
        span=readonly(span),
        saturated=readonly(sat),
        pieces=pieces,
        unconstrained_in_box=readonly(inside),
        **common,
    )
