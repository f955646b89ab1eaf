"""Bias inference from measured dynamics (Appendix E of the paper).

Three steps, each a function:

1. :func:`drift_velocity` — a single-point task trained alone drifts along its solution line at
   ``dG/dt ≈ N B`` ((D5) at long times); its velocity is the mean of the finite-difference
   velocities over a window of the measured trajectory.
2. :func:`stationary_projection` — a task without a zero-curvature direction (two points, two
   gates; a `LinearTask` with rate matrix ``M`` at ``G*``) comes to rest at ``G`` where
   ``0 = −M (G − G*) + B`` ((D2)), so ``B = M (G − G*)``; only the projection on the
   smallest-curvature direction is kept (App. E), because the large curvatures of ``M`` are
   imprecise.
3. :func:`combine_projections` — the unique ``B`` whose projections on the measured directions
   equal the measured values, ``B·â = |a|``, ``B·b̂ = |b|`` (App. E).

Examples
--------
>>> import numpy as np
>>> t = np.arange(20) * 0.03
>>> G = np.c_[1 + 1.0 * t, 2 + 2.0 * t]  # drifting at (1, 2) V/s
>>> v = drift_velocity(t, G, window=10, skip=2)
>>> np.round(v.velocity, 12)
array([1., 2.])
>>> est = combine_projections([[1, 0], [0.6, 0.8]], [3.0, 5.0])
>>> np.round(est.B, 12)
array([3., 4.])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import count, positive, readonly, real_array, vector
from ..errors import ShapeError, SingularSystemError, TaskError
from ..theory import LinearTask

__all__ = [
    "BiasEstimate",
    "DriftVelocity",
    "Projection",
    "combine_projections",
    "drift_velocity",
    "stationary_projection",
]

DEFAULT_SKIP = 2
"""Samples at the start of a published drift test that are not part of the run (data README)."""

DEFAULT_MAX_CONDITION = 1e8
"""Largest condition number of the projection system accepted in :func:`combine_projections`:
beyond it two measured directions are parallel to within ~1e-8 rad and B is not determined."""


@dataclass(frozen=True, slots=True)
class Projection:
    """One linear measurement of the bias: ``direction · B = value``.

    Attributes
    ----------
    direction : (n,) ndarray
        Unit vector in gate space.
    value : float
        The measured projection of the bias on ``direction``, V/s.
    source : str
        Where the measurement comes from (a file name, for reports).
    """

    direction: np.ndarray
    value: float
    source: str = ""

    def __post_init__(self):
        d = readonly(self.direction, float)
        if d.ndim != 1 or not np.isclose(np.linalg.norm(d), 1.0):
            raise ShapeError(
                f"Argument `direction` must be a unit vector of shape (n,), but is {d!r}."
            )
        object.__setattr__(self, "direction", d)
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True, slots=True)
class DriftVelocity:
    """Mean drift of a measured trajectory over a window.

    Attributes
    ----------
    velocity : (n,) ndarray
        Mean velocity, V/s (``speed = |velocity|``, ``direction = velocity / speed``).
    start : int
        The first sample used.
    window : int
        The number of finite-difference velocities averaged.
    source : str
        Where the trajectory comes from (a file name, for reports).
    """

    velocity: np.ndarray
    start: int
    window: int
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "velocity", readonly(self.velocity, float))

    @property
    def speed(self) -> float:
        """``|velocity|`` in V/s."""
        return float(np.linalg.norm(self.velocity))

    @property
    def direction(self) -> np.ndarray:
        """Unit vector of the drift."""
        return self.velocity / self.speed

    def projection(self, direction: Any = None) -> Projection:
        """The bias measurement this drift gives: ``B · d = velocity · d``.

        Parameters
        ----------
        direction : (n,) array_like, optional
            With None (default) the drift's own direction is used (``B·â = |a|``, App. E);
            otherwise ``direction`` (e.g. the solution line's null direction) is normalized,
            oriented like the drift, and the velocity projected on it.

        Returns
        -------
        Projection
        """
        if direction is None:
            return Projection(direction=self.direction, value=self.speed, source=self.source)
        d = vector(direction, "direction", self.velocity.size)
        d = d / np.linalg.norm(d)
        if d @ self.velocity < 0:
            d = -d
        return Projection(direction=d, value=float(d @ self.velocity), source=self.source)


@dataclass(frozen=True, slots=True)
class BiasEstimate:
    """The inferred bias and the projections it satisfies exactly.

    Attributes
    ----------
    B : (n,) ndarray
        The bias, V/s.
    projections : tuple of Projection
        The measurements it was solved from.
    condition : float
        Condition number of the system of measured directions.
    """

    B: np.ndarray
    projections: tuple[Projection, ...]
    condition: float

    def __post_init__(self):
        object.__setattr__(self, "B", readonly(self.B, float))


def drift_velocity(
    times: Any, G: Any, *, window: int, skip: int = DEFAULT_SKIP, source: str = ""
) -> DriftVelocity:
    """Mean finite-difference velocity of a trajectory over a window (App. E).

    Parameters
    ----------
    times : (n_samples,) array_like
        Sample times in s, increasing over the window.
    G : (n_samples, n_gates) array_like
        Gate voltages in V.
    window : int
        Number of finite-difference velocities averaged: samples ``skip`` … ``skip + window``.
    skip : int
        Samples at the start that are not part of the run (2 for the published drift tests).
    source : str
        Where the trajectory comes from (kept in the result, for reports).

    Returns
    -------
    DriftVelocity

    Notes
    -----
    ``v_k = (G[k+1] − G[k]) / (t[k+1] − t[k])`` for ``k = skip … skip + window − 1``, and the
    result is their mean. The published windows (13/13 for experiment 1, 20/30 for experiment 2)
    are read as counts of velocities after the two skipped samples; reading them as counts of
    samples (one velocity fewer) moves experiment 1's B by ~6 % (see the test module).

    Raises
    ------
    ShapeError
        If shapes disagree, the window does not fit in the samples, or times do not increase.
    TaskError
        A time or gate that is NaN or inf.
    ArgumentError
        A ``window`` that is not an integer >= 1, or a ``skip`` that is not an integer >= 0.
    """
    times = real_array(times, "times", finite=False)
    G = real_array(G, "G", finite=False)
    if G.ndim != 2 or times.shape != (G.shape[0],):
        raise ShapeError(
            f"Arguments `times` and `G` must have shapes (n,) and (n, n_gates), "
            f"but have {times.shape} and {G.shape}."
        )
    times = real_array(times, "times", error=TaskError)
    G = real_array(G, "G", error=TaskError)
    window = count(window, "window")
    skip = count(skip, "skip", minimum=0)
    if skip + window >= times.size:
        raise ShapeError(
            f"A drift window of {window} velocities after skipping {skip} samples needs at least "
            f"{skip + window + 1} samples, but the trajectory has {times.size}."
        )
    sl = slice(skip, skip + window + 1)
    dt = np.diff(times[sl])
    if np.any(dt <= 0):
        raise ShapeError(f"Argument `times` must increase over the window, but does not: {dt}.")
    v = np.diff(G[sl], axis=0) / dt[:, None]
    return DriftVelocity(velocity=v.mean(axis=0), start=skip, window=window, source=source)


def stationary_projection(task: LinearTask, G: Any, *, source: str = "") -> Projection:
    """Bias projection from a stationary point of a task with no null direction (App. E).

    Parameters
    ----------
    task : LinearTask
        The task linearized at its solution: rate matrix ``M`` (1/s, symmetric positive
        definite) at ``G_star`` (V).
    G : (n,) array_like
        Measured stationary point, V.
    source : str
        Where the stationary point comes from (kept in the result, for reports).

    Returns
    -------
    Projection
        ``u · B = u · M (G − G*)`` with ``u`` the eigenvector of the smallest eigenvalue of M
        (sign chosen so that the value is non-negative). From (D2) with ``dG/dt = 0``.

    Raises
    ------
    TaskError
        ``task`` is not a `LinearTask`, or ``G`` holds NaN or inf.
    ShapeError
        ``G`` not of shape (n,).
    """
    if not isinstance(task, LinearTask):
        raise TaskError(f"Argument `task` must be a LinearTask, but is {type(task).__name__}.")
    M, G_star = np.asarray(task.M, dtype=float), np.asarray(task.G_star, dtype=float)
    G = vector(G, "G", task.n, error=TaskError)
    _, U = np.linalg.eigh(0.5 * (M + M.T))
    u = U[:, 0]
    value = float(u @ (M @ (G - G_star)))  # (D2) with dG/dt = 0: B = M (G − G*)
    if value < 0:
        u, value = -u, -value
    return Projection(direction=u, value=value, source=source)


def combine_projections(
    directions: Any, values: Any = None, *, max_condition: float = DEFAULT_MAX_CONDITION
) -> BiasEstimate:
    """The unique bias with the given projections: ``d_i · B = value_i`` (App. E).

    Parameters
    ----------
    directions : sequence of n Projection, or (n, n) array_like of directions
        One measurement per row; rows are normalized.
    values : (n,) array_like, optional
        The measured projections (V/s); omit when ``directions`` holds Projection objects.
    max_condition : float
        Largest accepted condition number of the system (default ``DEFAULT_MAX_CONDITION``).

    Returns
    -------
    BiasEstimate

    Raises
    ------
    SingularSystemError
        If the directions are (nearly) parallel, so that B is not determined.
    ShapeError
        If the number of measurements is not the number of gates, or ``values`` is missing for
        plain directions.
    ArgumentError
        A ``max_condition`` that is not a finite number > 0.
    """
    max_condition = positive(max_condition, "max_condition")
    if values is None:
        projections = tuple(directions)
        if not all(isinstance(p, Projection) for p in projections):
            raise ShapeError("Give `values`, or pass a sequence of Projection as `directions`.")
    else:
        D = np.atleast_2d(np.asarray(directions, dtype=float))
        vals = np.asarray(values, dtype=float).ravel()
        if D.shape[0] != vals.size:
            raise ShapeError(
                f"Arguments `directions` and `values` must have n rows and n values, "
                f"but have shapes {D.shape} and {vals.shape}."
            )
        projections = tuple(
            Projection(direction=d / np.linalg.norm(d), value=v)
            for d, v in zip(D, vals, strict=True)
        )
    D = np.array([p.direction for p in projections])
    s = np.array([p.value for p in projections])
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ShapeError(
            f"The bias of {D.shape[1] if D.ndim == 2 else '?'} gates needs exactly that many "
            f"independent projections, but {D.shape[0]} were given."
        )
    cond = float(np.linalg.cond(D))
    if not np.isfinite(cond) or cond > max_condition:
        raise SingularSystemError(
            f"The measured directions are (nearly) parallel (condition number {cond:.3g} > "
            f"{max_condition:.3g}), so the bias is not determined; measure a task whose drift "
            "points elsewhere."
        )
    return BiasEstimate(B=np.linalg.solve(D, s), projections=projections, condition=cond)
