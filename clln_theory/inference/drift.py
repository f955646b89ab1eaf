"""Bias inference from measured dynamics (Appendix E of the paper).

Three steps, each a function (and two more measurements from a measured limit cycle):

1. :func:`drift_velocity` — a single-point task trained alone drifts along its solution line at
   ``dG/dt ≈ N B`` ((D5) at long times); its velocity is the mean of the finite-difference
   velocities over a window of the measured trajectory.
2. :func:`stationary_projection` — a task without a zero-curvature direction (two points, two
   gates; a `LinearTask` with rate matrix ``M`` at ``G*``) comes to rest at ``G`` where
   ``0 = −M (G − G*) + B`` ((D2)), so ``B = M (G − G*)``; only the projection on the
   smallest-curvature direction is kept (App. E), because the large curvatures of ``M`` are
   imprecise.
2b. From a measured limit cycle (a bow-tie: samples over one period) —
   :func:`cycle_drift_projection` (the mean finite-difference velocity over a window of a
   half-period in which a single-point task drifts along its line) and
   :func:`cycle_stationary_projection` (``a = M (G[k] − G*)`` at a sample where a full-rank task
   has come to rest).
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

from .._checks import count, number, positive, quote, real_array, vector
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError, TaskError
from ..theory import LinearTask
from ._args import require_full_rank, window_bounds
from ._drift import MAX_CONDITION as _MAX_CONDITION
from ._drift import (
    cycle_drift_of,
    cycle_stationary_of,
    drift_projection,
    solve_projections,
    stationary_of,
    window_velocity,
)
from .estimates import BiasEstimate, Projection, record_vector

__all__ = [
    "BiasEstimate",
    "DriftVelocity",
    "Projection",
    "combine_projections",
    "cycle_drift_projection",
    "cycle_stationary_projection",
    "drift_velocity",
    "stationary_projection",
]

_SKIP = 2
"""Samples at the start of a published drift test that are not part of the run (data README)."""


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

    __repr__ = short_repr

    velocity: np.ndarray
    start: int
    window: int
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "velocity", record_vector(self.velocity, "velocity"))
        for name, low in (("start", 0), ("window", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ArgumentError(
                    f"Argument `{name}` must be an integer >= {low}, but is {quote(value)}."
                )
            object.__setattr__(self, name, int(value))
        if not isinstance(self.source, str):
            raise ArgumentError(f"Argument `source` must be a str, but is {quote(self.source)}.")

    @property
    def speed(self) -> float:
        """``|velocity|`` in V/s."""
        return float(np.linalg.norm(self.velocity))

    @property
    def direction(self) -> np.ndarray:
        """Unit vector of the drift; TaskError when the gates did not move (no direction)."""
        return self.velocity / _moving_speed(self.velocity, self.source)

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
            _moving_speed(self.velocity, self.source)
            return drift_projection(self.velocity, None, self.source)
        return drift_projection(
            self.velocity, nonzero_direction(direction, self.velocity.size), self.source
        )


def _moving_speed(velocity: np.ndarray, source: str) -> float:
    """``|velocity|``, or TaskError when it is 0 (a drift without a direction)."""
    speed = float(np.linalg.norm(velocity))
    if not speed > 0:
        raise TaskError(
            f"The drift{f' of {source!r}' if source else ''} is zero: the gates did not move "
            "over the window, so it has no direction; pass a `direction` to project on."
        )
    return speed


def nonzero_direction(direction: Any, n: int, name: str = "direction") -> np.ndarray:
    """``direction`` as a finite, nonzero (n,) vector (ArgumentError/ShapeError naming it):
    the `vector` check, then a zero vector (no direction) refused."""
    d = vector(direction, name, n)
    if not np.any(d):
        raise ArgumentError(f"Argument `{name}` must be a nonzero vector, but is all zeros.")
    return d


def drift_velocity(
    times: Any, G: Any, *, window: int, skip: int = _SKIP, source: str = ""
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
        Samples at the start that are not part of the run; default 2 (the published drift
        tests).
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
    times, G, window, skip = checked_drift(times, G, window, skip)
    velocity = window_velocity(times, G, skip, window)
    return DriftVelocity(velocity=velocity, start=skip, window=window, source=source)


def checked_drift(
    times: Any, G: Any, window: Any, skip: Any
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The checks of a drift test (`drift_velocity`, `drift_measurement`), each argument once:
    ``times`` (N,) and ``G`` (N, n) finite, ``window`` >= 1 and ``skip`` >= 0 with
    ``skip + window < N``."""
    times = real_array(times, "times", finite=False)
    G = real_array(G, "G", finite=False)
    if G.ndim != 2 or times.shape != (G.shape[0],):
        raise ShapeError(
            f"Arguments `times` and `G` must have shapes (n,) and (n, n_gates), "
            f"but have {times.shape} and {G.shape}."
        )
    for arr, name in ((times, "times"), (G, "G")):
        if not np.all(np.isfinite(arr)):  # the TaskError naming the first bad entry
            real_array(arr, name, error=TaskError)
    window = count(window, "window")
    skip = count(skip, "skip", minimum=0)
    if skip + window >= times.size:
        raise ShapeError(
            f"A drift window of {window} velocities after skipping {skip} samples needs at least "
            f"{skip + window + 1} samples, but the trajectory has {times.size}."
        )
    return times, G, window, skip


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
        ``task`` is not a `LinearTask`, is rank-deficient (its smallest-curvature direction is a
        null direction, on which the stationary condition says nothing about B), or ``G`` holds
        NaN or inf.
    ShapeError
        ``G`` not of shape (n,).
    """
    require_full_rank(task)
    return stationary_of(task, vector(G, "G", task.n, error=TaskError), source)


def cycle_drift_projection(G: Any, *, tau: float, window: Any, source: str = "") -> Projection:
    """Bias projection from the drift in a window of a measured limit cycle (``cycle-drift``).

    In a half-period where a single-point task drifts along its solution line, the mean velocity
    ``a`` of the samples is the drift of (D5); the measurement is ``B · â = |a|``.

    Parameters
    ----------
    G : (N, n) array_like
        Gate samples over one period (V), equally spaced by ``tau / N``.
    tau : float
        The period, s.
    window : (int, int)
        ``[start, stop)``: the velocities ``(G[i] − G[i−1]) / (tau / N)`` for
        ``start <= i < stop`` are averaged (``1 <= start < stop <= N``).
    source : str
        Where the samples come from (kept in the result, for reports).

    Returns
    -------
    Projection
        Direction ``a / |a|``, value ``|a|`` (V/s).

    Raises
    ------
    ShapeError
        ``G`` not 2-D, or the window outside the samples.
    ArgumentError
        A ``tau`` that is not a finite number > 0, or a window that is not two integers.
    TaskError
        ``G`` holds NaN or inf, or the samples do not move over the window.

    Examples
    --------
    >>> G = np.c_[np.arange(10) * 0.1, np.arange(10) * 0.2]  # 1 and 2 V per period / 10
    >>> p = cycle_drift_projection(G, tau=1.0, window=[2, 8])
    >>> np.round(p.direction * p.value, 12)
    array([1., 2.])
    """
    G = real_array(G, "G", error=TaskError)
    if G.ndim != 2:
        raise ShapeError(f"Argument `G` must have shape (N, n_gates), but has {G.shape}.")
    tau = positive(tau, "tau", unit="s")
    start, stop = window_bounds(window, G.shape[0])
    return cycle_drift_of(G, tau, start, stop, source)


def cycle_stationary_projection(task: LinearTask, G: Any, *, source: str = "") -> Projection:
    """Bias measurement from a sample of a measured cycle where a full-rank task is at rest
    (``cycle-stationary``).

    From (D2) with ``dG/dt = 0``: ``a = M (G − G*)`` equals B when G is the task's stationary
    point; the measurement is ``B · â = |a|``.

    Parameters
    ----------
    task : LinearTask
        The task linearized at its solution: ``M`` (1/s) at ``G_star`` (V), of full rank.
    G : (n,) array_like
        The sample, V.
    source : str
        Where the sample comes from (kept in the result, for reports).

    Returns
    -------
    Projection
        Direction ``a / |a|``, value ``|a|`` (V/s).

    Raises
    ------
    TaskError
        ``task`` is not a `LinearTask` or is rank-deficient, ``G`` holds NaN or inf, or
        ``G = G*`` (no bias to see).
    ShapeError
        ``G`` not of shape (n,).

    Examples
    --------
    >>> from clln_theory.theory import LinearTask
    >>> task = LinearTask(np.diag([2.0, 4.0]), [1.0, 1.0])
    >>> p = cycle_stationary_projection(task, [1.5, 1.25])
    >>> np.round(p.direction * p.value, 12)
    array([1., 1.])
    """
    require_full_rank(task)
    return cycle_stationary_of(task, vector(G, "G", task.n, error=TaskError), source)


def combine_projections(
    directions: Any, values: Any = None, *, max_condition: float = _MAX_CONDITION
) -> BiasEstimate:
    """The unique bias with the given projections: ``d_i · B = value_i`` (App. E).

    Parameters
    ----------
    directions : sequence of n Projection, or (n, n) array_like of directions
        One measurement per row; rows are normalized.
    values : (n,) array_like, optional
        The measured projections (V/s); omit when ``directions`` holds Projection objects.
    max_condition : float
        Largest accepted condition number of the system, >= 1 (default 1e8).

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
    max_condition = number(max_condition, "max_condition", low=1.0)  # cond(D) >= 1 always
    if values is None:
        projections = tuple(directions)
        if not all(isinstance(p, Projection) for p in projections):
            raise ShapeError("Give `values`, or pass a sequence of Projection as `directions`.")
    else:
        D = np.atleast_2d(real_array(directions, "directions"))
        vals = real_array(values, "values").ravel()
        if D.ndim != 2:
            raise ShapeError(f"Argument `directions` must be (n, n), but has shape {D.shape}.")
        scale = np.max(np.abs(D), axis=1, keepdims=True)
        if not np.all(scale > 0):
            raise ShapeError("Argument `directions` has a zero row: no direction to project on.")
        D = D / scale  # rows of order 1: their norms neither overflow nor underflow
        if D.shape[0] != vals.size:
            raise ShapeError(
                f"Arguments `directions` and `values` must have n rows and n values, "
                f"but have shapes {D.shape} and {vals.shape}."
            )
        projections = tuple(
            Projection(direction=d / np.linalg.norm(d), value=v)
            for d, v in zip(D, vals, strict=True)
        )
    return solve_projections(projections, max_condition)
