"""Engine of `clln_theory.inference.drift`: the bias measurements of Appendix E on checked
values (float arrays of consistent shapes, windows inside the samples, full-rank tasks).

The faces of ``drift`` validate and call these; the reproduction pipeline calls them with the
measured files its face read and checked. Nothing here validates an argument; the errors raised
are about what the numbers turn out to be (times that do not increase, samples that do not move,
parallel directions).
"""

from __future__ import annotations

import numpy as np

from ..errors import NumericalRangeError, ShapeError, SingularSystemError, TaskError
from ..theory import LinearTask
from .estimates import BiasEstimate, Projection

__all__ = [
    "MAX_CONDITION",
    "cycle_drift_of",
    "cycle_stationary_of",
    "drift_projection",
    "solve_projections",
    "stationary_of",
    "window_velocity",
]

MAX_CONDITION = 1e8
"""Largest condition number of the projection system accepted by default (`combine_projections`,
the reproduction): beyond it two measured directions are parallel to within ~1e-8 rad and B is
not determined."""


def window_velocity(times: np.ndarray, G: np.ndarray, skip: int, window: int) -> np.ndarray:
    """Mean of ``(G[k+1] - G[k]) / (t[k+1] - t[k])`` for ``k = skip ... skip + window - 1``.

    ``times`` (N,) and ``G`` (N, n) finite floats with ``skip + window < N``; raises ShapeError
    if the times do not increase over the window.
    """
    sl = slice(skip, skip + window + 1)
    dt = np.diff(times[sl])
    if np.any(dt <= 0):
        raise ShapeError(f"Argument `times` must increase over the window, but does not: {dt}.")
    v = np.diff(G[sl], axis=0) / dt[:, None]
    return v.mean(axis=0)


def drift_projection(velocity: np.ndarray, direction: np.ndarray | None, source: str) -> Projection:
    """``B · d = velocity · d``: the drift's own direction (``direction`` None, ``B·â = |a|``),
    or the float (n,) ``direction`` normalized and oriented like the drift."""
    if direction is None:
        speed = float(np.linalg.norm(velocity))
        return Projection(direction=velocity / speed, value=speed, source=source)
    with np.errstate(over="ignore", under="ignore"):
        norm = np.linalg.norm(direction)
    if not 1e-150 < norm < 1e150:  # a tiny or huge vector: its norm under- or overflows
        direction = direction / np.max(np.abs(direction))
        norm = np.linalg.norm(direction)
    d = direction / norm
    if d @ velocity < 0:
        d = -d
    return Projection(direction=d, value=float(d @ velocity), source=source)


def stationary_of(task: LinearTask, G: np.ndarray, source: str) -> Projection:
    """``u · B = u · M (G − G*)`` at a stationary point ``G`` (n,) of a full-rank ``task``,
    ``u`` the eigenvector of the smallest eigenvalue of ``M`` (sign: value >= 0)."""
    M, G_star = np.asarray(task.M, dtype=float), np.asarray(task.G_star, dtype=float)
    _, U = np.linalg.eigh(0.5 * (M + M.T))
    u = U[:, 0]
    value = float(u @ (M @ (G - G_star)))  # (D2) with dG/dt = 0: B = M (G − G*)
    if value < 0:
        u, value = -u, -value
    return Projection(direction=u, value=value, source=source)


def cycle_drift_of(G: np.ndarray, tau: float, start: int, stop: int, source: str) -> Projection:
    """The mean velocity over ``[start, stop)`` of the samples ``G`` (N, n) of one period
    ``tau`` (``1 <= start < stop <= N``): direction ``a / |a|``, value ``|a|``."""
    dt = tau / G.shape[0]
    a = (np.diff(G[start - 1 : stop], axis=0) / dt).mean(axis=0)
    speed = scaled_norm(a, "drift velocity of `G` over `tau`")
    if not speed > 0:
        raise TaskError(f"The samples of '{source}' do not move over the window [{start}, {stop}).")
    return Projection(direction=a / speed, value=speed, source=source)


def cycle_stationary_of(task: LinearTask, G: np.ndarray, source: str) -> Projection:
    """``a = M (G − G*)`` at a sample ``G`` (n,) where a full-rank task is at rest."""
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.asarray(task.M, dtype=float) @ (G - np.asarray(task.G_star, dtype=float))
    size = scaled_norm(a, "velocity M (G - G*) of argument `G`")
    if not size > 0:
        raise TaskError(f"The sample of '{source}' sits at G*: it shows no bias.")
    return Projection(direction=a / size, value=size, source=source)


def scaled_norm(a: np.ndarray, quantity: str) -> float:
    """Euclidean norm of ``a`` scaled by its largest entry (no overflow of the squares)."""
    s = float(np.max(np.abs(a), initial=0.0))
    if not np.isfinite(s):
        raise NumericalRangeError(f"The {quantity} is not finite (float64 overflow).")
    return s * float(np.linalg.norm(a / s)) if s > 0 else 0.0


def solve_projections(projections: tuple[Projection, ...], max_condition: float) -> BiasEstimate:
    """The bias ``B`` with ``d_i · B = value_i`` for n projections of n gates (App. E)."""
    D = np.array([p.direction for p in projections])
    s = np.array([p.value for p in projections])
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ShapeError(
            f"Argument `directions`: the bias of {D.shape[1] if D.ndim == 2 else '?'} gates needs "
            f"exactly that many independent projections, but {D.shape[0]} were given."
        )
    cond = float(np.linalg.cond(D))
    if not np.isfinite(cond) or cond > max_condition:
        raise SingularSystemError(
            f"The measured directions are (nearly) parallel (condition number {cond:.3g} > "
            f"{max_condition:.3g}), so the bias is not determined; measure a task whose drift "
            "points elsewhere."
        )
    return BiasEstimate(B=np.linalg.solve(D, s), projections=projections, condition=cond)
