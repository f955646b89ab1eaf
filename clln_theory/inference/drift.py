"""Bias inference from measured dynamics (Appendix E of the paper).

Three steps, each a function:

1. :func:`drift_velocity` — a single-point task trained alone drifts along its solution line at
   ``dG/dt ≈ N B`` ((D5) at long times); its velocity is the mean of the finite-difference
   velocities over a window of the measured trajectory.
2. :func:`stationary_projection` — a task without a zero-curvature direction (two points, two
   gates) comes to rest at ``G`` where ``0 = −M (G − G*) + B`` ((D2)), so ``B = M (G − G*)``;
   only the projection on the smallest-curvature direction is kept (App. E), because the large
   curvatures of ``M`` are imprecise.
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

import numpy as np

from ..errors import ShapeError, SingularSystemError, TaskError

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


def _finite(**arrays: np.ndarray) -> None:
    """Raise :class:`TaskError` naming the first argument that holds NaN or inf."""
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise TaskError(f"Argument `{name}` must be finite, but contains NaN or inf.")


def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True)
class Projection:
    """One linear measurement of the bias: ``direction · B = value`` (``direction`` unit, (n,))."""

    direction: np.ndarray
    value: float
    source: str = ""

    def __post_init__(self):
        d = _readonly(self.direction)
        if d.ndim != 1 or not np.isclose(np.linalg.norm(d), 1.0):
            raise ShapeError(
                f"Argument `direction` must be a unit vector of shape (n,), but is {d!r}."
            )
        object.__setattr__(self, "direction", d)
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True, slots=True)
class DriftVelocity:
    """Mean drift of a measured trajectory over a window.

    ``velocity`` (n,) V/s, ``speed = |velocity|``, ``direction = velocity / speed``; ``start`` is
    the first sample used and ``window`` the number of finite-difference velocities averaged.
    """

    velocity: np.ndarray
    start: int
    window: int
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "velocity", _readonly(self.velocity))

    @property
    def speed(self) -> float:
        """``|velocity|`` in V/s."""
        return float(np.linalg.norm(self.velocity))

    @property
    def direction(self) -> np.ndarray:
        """Unit vector of the drift."""
        return self.velocity / self.speed

    def projection(self, direction=None) -> Projection:
        """The bias measurement this drift gives: ``B · d = velocity · d``.

        With ``direction=None`` the drift's own direction is used (``B·â = |a|``, App. E);
        otherwise ``direction`` (e.g. the solution line's null direction, oriented like the
        drift) is normalized and the velocity projected on it.
        """
        if direction is None:
            return Projection(self.direction, self.speed, self.source)
        d = np.asarray(direction, dtype=float)
        d = d / np.linalg.norm(d)
        if d @ self.velocity < 0:
            d = -d
        return Projection(d, float(d @ self.velocity), self.source)


@dataclass(frozen=True, slots=True)
class BiasEstimate:
    """The inferred bias ``B`` (n,) V/s and the projections it satisfies exactly."""

    B: np.ndarray
    projections: tuple[Projection, ...]
    condition: float

    def __post_init__(self):
        object.__setattr__(self, "B", _readonly(self.B))


def drift_velocity(
    times, G, *, window: int, skip: int = DEFAULT_SKIP, source: str = ""
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
    """
    times = np.asarray(times, dtype=float)
    G = np.asarray(G, dtype=float)
    if G.ndim != 2 or times.shape != (G.shape[0],):
        raise ShapeError(
            f"Arguments `times` and `G` must have shapes (n,) and (n, n_gates), "
            f"but have {times.shape} and {G.shape}."
        )
    _finite(times=times, G=G)
    window, skip = int(window), int(skip)
    if window < 1 or skip < 0 or skip + window >= times.size:
        raise ShapeError(
            f"A drift window of {window} velocities after skipping {skip} samples needs at least "
            f"{skip + window + 1} samples, but the trajectory has {times.size}."
        )
    sl = slice(skip, skip + window + 1)
    dt = np.diff(times[sl])
    if np.any(dt <= 0):
        raise ShapeError(f"Argument `times` must increase over the window, but does not: {dt}.")
    v = np.diff(G[sl], axis=0) / dt[:, None]
    return DriftVelocity(v.mean(axis=0), skip, window, source)


def stationary_projection(M, G, G_star, *, source: str = "") -> Projection:
    """Bias projection from a stationary point of a task with no null direction (App. E).

    Parameters
    ----------
    M : (n, n) array_like
        Rate matrix of the task at its solution (1/s), symmetric positive definite.
    G : (n,) array_like
        Measured stationary point (V).
    G_star : (n,) array_like
        The task's solution (V).

    Returns
    -------
    Projection
        ``u · B = u · M (G − G*)`` with ``u`` the eigenvector of the smallest eigenvalue of M
        (sign chosen so that the value is non-negative). From (D2) with ``dG/dt = 0``.
    """
    M = np.asarray(M, dtype=float)
    G, G_star = np.asarray(G, dtype=float), np.asarray(G_star, dtype=float)
    n = G.shape[0] if G.ndim == 1 else -1
    if M.shape != (n, n) or G_star.shape != (n,):
        raise ShapeError(
            f"Arguments `M`, `G`, `G_star` must have shapes (n, n), (n,), (n,), "
            f"but have {M.shape}, {G.shape}, {G_star.shape}."
        )
    _finite(M=M, G=G, G_star=G_star)
    _, U = np.linalg.eigh(0.5 * (M + M.T))
    u = U[:, 0]
    value = float(u @ (M @ (G - G_star)))  # (D2) with dG/dt = 0: B = M (G − G*)
    if value < 0:
        u, value = -u, -value
    return Projection(u, value, source)


def combine_projections(
    directions, values=None, *, max_condition: float = DEFAULT_MAX_CONDITION
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

    Raises
    ------
    SingularSystemError
        If the directions are (nearly) parallel, so that B is not determined.
    """
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
            Projection(d / np.linalg.norm(d), v) for d, v in zip(D, vals, strict=True)
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
    return BiasEstimate(np.linalg.solve(D, s), projections, cond)
