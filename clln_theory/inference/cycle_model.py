"""The closed orbit at given times as an exact affine function of the bias: ``G = g + J B``.

On the closed orbit of (D7)-(D11) of the paper every point is an **affine** function of ``B``:
``G0`` of (D11) is linear in ``b_alpha`` and ``b_beta``, which are affine in ``B`` (D9), and the
trajectory chains (D5), affine in its start and in ``B``. So for fixed tasks, period and sample
times,

    G(t_k; B) = g(t_k) + J(t_k) B,                                        (*)

with ``g`` the orbit without bias and ``J`` the ``n x n`` sensitivity, exactly. `affine_cycle`
builds (*); the bias fits of `clln_theory.inference.cycle_fit` solve it by least squares.

The other functions are the building blocks those fits share: validated measured cycles
(`measured_cycles`), cached orbits sampled at trial phases (`closed_orbits`, `sample_orbits`),
their velocity (`orbit_velocity`) and the nearest points of a closed curve (`nearest_times`,
`interpolate_cycle`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import (
    check_record,
    construction,
    finite_result,
    quote,
    readonly,
    real_array,
    validator,
    vector,
)
from .._checks import times as as_times
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError, TaskError
from ..theory import LinearTask, Orbit, periodic_orbit
from ..theory._lowrank import any_low_rank
from ..theory._orbit_build import orbit_from
from ..theory._orbit_solve import dense_orbit
from ..theory._tasks import flow
from ..theory.orbit_results import LowRankOrbit

#: What to check when a closed orbit overflows float64 (its tasks and bias are checked values).
_TAU_HINT = "Check the magnitude of the cycle's period `tau`."

__all__ = [
    "AffineCycle",
    "MeasuredCycle",
    "affine_cycle",
    "at_bias",
    "check_linear_tasks",
    "closed_orbits",
    "interpolate_cycle",
    "measured_cycles",
    "nearest_times",
    "orbit_velocity",
    "sample_orbits",
    "spacing_list",
]


@dataclass(frozen=True, slots=True)
class AffineCycle:
    """The closed orbit at given times as an affine function of the bias: ``G = g + J B``.

    Attributes
    ----------
    tau : float
        Period, s.
    times : (m,) ndarray
        Times, s, counted from the start of task alpha (any ``>= 0``; periodic in ``tau``).
    g : (m, n) ndarray
        Gates on the orbit without bias, V.
    J : (m, n, n) ndarray
        ``J[k, i, j] = dG_i(t_k) / dB_j``, s.
    """

    __repr__ = short_repr

    tau: float
    times: NDArray
    g: NDArray
    J: NDArray

    def __call__(self, B: ArrayLike) -> NDArray:
        """Gates ``g + J B`` at the sample times, shape (m, n), V.

        Parameters
        ----------
        B : (n,) array_like
            Bias, V/s.
        """
        B = vector(B, "B", self.g.shape[1])
        return self.g + self.J @ B


def affine_cycle(
    task_a: LinearTask, task_b: LinearTask, *, tau: float, times: ArrayLike
) -> AffineCycle:
    """The closed orbit (D11) sampled at ``times``, as an exact affine function of ``B``.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Task alpha (trained during ``[0, tau/2)`` of each period) and task beta.
    tau : float
        Period, s, ``> 0``.
    times : (m,) array_like
        Sample times, s, ``>= 0``, counted from the start of task alpha.

    Returns
    -------
    AffineCycle
        ``g`` (orbit at ``B = 0``) and ``J`` (its derivative with respect to ``B``).

    Raises
    ------
    TaskError
        If the two tasks share a null direction: then no closed orbit exists and the component
        of ``B`` along that direction only makes the gates drift (see
        `clln_theory.theory.periodic_orbit`); a closed cycle cannot be fitted.
    ArgumentError
        A ``tau`` that is not a finite number > 0, or a negative or non-finite time.
    ShapeError
        ``times`` not of shape (m,), m >= 1.

    Notes
    -----
    ``J`` is found from ``n + 1`` orbits (``B = 0`` and the unit vectors), by differences that
    are exact up to rounding. Cost: ``n + 1`` calls of `clln_theory.theory.periodic_orbit` and
    of its trajectory.

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, periodic_orbit
    >>> u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    >>> a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    >>> model = affine_cycle(a, b, tau=0.5, times=np.linspace(0, 0.5, 7))
    >>> B = np.array([0.3, -0.2])
    >>> direct = periodic_orbit(a, b, B=B, tau=0.5).trajectory(np.linspace(0, 0.5, 7)).G
    >>> bool(np.allclose(model(B), direct, rtol=0, atol=1e-12))
    True
    """
    check_linear_tasks(task_a, task_b)
    tau_arr = as_times(tau, "tau")
    if tau_arr.ndim != 0:
        raise ShapeError(f"Argument `tau` must be one number (s), but has shape {tau_arr.shape}.")
    tau = float(tau_arr)
    t = as_times(times, "times", positive=False)
    if t.ndim != 1 or t.size == 0:
        raise ShapeError(f"Argument `times` must have shape (m,), but has shape {t.shape}.")
    return sample_orbits(closed_orbits(task_a, task_b, tau), tau, t)


@validator
def check_linear_tasks(task_a: Any, task_b: Any) -> None:
    """Raise `TaskError` unless both arguments are `LinearTask` objects.

    Parameters
    ----------
    task_a, task_b : Any
        The arguments to check.
    """
    if not isinstance(task_a, LinearTask) or not isinstance(task_b, LinearTask):
        raise TaskError(
            "Arguments `task_a` and `task_b` must be LinearTask objects, but are "
            f"{type(task_a).__name__} and {type(task_b).__name__}."
        )


def closed_orbits(task_a: LinearTask, task_b: LinearTask, tau: float) -> list:
    """The ``n + 1`` closed orbits at ``B = 0`` and ``B = e_j`` (phase-independent, cacheable).

    Parameters
    ----------
    task_a, task_b : LinearTask
        Tasks alpha and beta.
    tau : float
        Period, s.

    Returns
    -------
    list of Orbit
        ``B = 0`` first, then the unit vectors.

    Raises
    ------
    TaskError
        If the tasks share a null direction (no closed orbit).
    """
    n = task_a.n
    basis = np.vstack([np.zeros(n), np.eye(n)])
    if any_low_rank(task_a, task_b):  # the factor form: through the face (checks again)
        return _no_drift([periodic_orbit(task_a, task_b, B=B, tau=tau) for B in basis])
    # dense tasks: the float64 route of `periodic_orbit` on its engines (G_ref between the two
    # G*, the larger rate_tol), so that nothing is validated again
    taus = np.array([float(tau)])
    G_ref = 0.5 * (task_a.G_star + task_b.G_star)
    tol = max(task_a.rate_tol, task_b.rate_tol)
    orbits = []
    for row in basis:
        B = np.array(row, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            d = dense_orbit(task_a, task_b, B, taus, G_ref, tol, dps=None, rtol=None)
            orbit = orbit_from(task_a, task_b, B, taus, True, d)
        for field in ("G0", "G_half", "span"):  # as `periodic_orbit` refuses an overflow
            finite_result(getattr(orbit, field), f"closed orbit {field}", hint=_TAU_HINT)
        orbits.append(orbit)
    return _no_drift(orbits)


def _no_drift(orbits: list) -> list:
    """``orbits``, or a `TaskError` when the tasks share a null direction (no closed orbit)."""
    if orbits[0].null_basis.shape[1]:
        raise TaskError(
            f"Tasks alpha and beta share {orbits[0].null_basis.shape[1]} null direction(s), so "
            "there is no closed orbit (the bias along them drifts the gates away); fit a cycle "
            "only to tasks whose rate matrices have no common null direction."
        )
    return orbits


def sample_orbits(orbits: list, tau: float, t: NDArray) -> AffineCycle:
    """The `AffineCycle` at times ``t`` from the orbits of `closed_orbits`.

    Parameters
    ----------
    orbits : list of Orbit
        From `closed_orbits`.
    tau : float
        Period, s.
    t : (m,) ndarray
        Times, s, ``>= 0``.

    Returns
    -------
    AffineCycle
    """
    G = np.stack([_points(o, t) for o in orbits])  # (n + 1, m, n)
    g = G[0]
    J = np.moveaxis(G[1:] - g, 0, -1)  # (m, n, n): J[k, i, j] = G_i(t_k; e_j) - g_i(t_k)
    return AffineCycle(tau=tau, times=readonly(t, float), g=readonly(g), J=readonly(J))


def _points(orbit: Orbit, t: NDArray) -> NDArray:
    """`Orbit.trajectory` of a scalar-``tau`` orbit at checked times ``t`` (m,), s: (D5) for
    task alpha from ``G0`` over ``[0, tau/2]``, for task beta from ``G_half`` after, plus the
    drift; a low-rank orbit samples through its own method (which checks ``t`` again)."""
    if isinstance(orbit, LowRankOrbit):
        return orbit.trajectory(t).G
    tau = float(orbit.tau)
    cycles = np.floor(t / tau)
    phase = t - cycles * tau
    # a time that is an exact multiple of tau (t > 0) is reported at the end of its period
    at_end = (phase == 0.0) & (cycles > 0)
    cycles = np.where(at_end, cycles - 1, cycles)
    phase = np.where(at_end, tau, phase)
    h = tau / 2
    first = phase <= h
    G = flow(orbit.task_a, orbit.G0, np.where(first, phase, 0.0), orbit.B)
    second = flow(orbit.task_b, orbit.G_half, np.where(first, 0.0, phase - h), orbit.B)
    G = np.where(first[:, None], G, second)
    G += (cycles * tau)[:, None] * orbit.drift
    return G


def at_bias(model: AffineCycle, B: NDArray) -> NDArray:
    """``model(B)`` for a checked bias ``B`` (n,), V/s: the gates ``g + J B`` (m, n), V."""
    return model.g + model.J @ B


def orbit_velocity(
    task_a: LinearTask, task_b: LinearTask, tau: float, t: NDArray, G: NDArray, B: NDArray
) -> NDArray:
    """``dG/dt`` of the orbit at times ``t``: the active task's (D2), V/s.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (first half period) and beta.
    tau : float
        Period, s.
    t : (m,) ndarray
        Times, s (at a switching time, the task that starts there).
    G : (m, n) ndarray
        Gates on the orbit at those times, V.
    B : (n,) ndarray
        Bias, V/s.

    Returns
    -------
    (m, n) ndarray
    """
    first = np.mod(t, tau) < 0.5 * tau
    return np.where(first[:, None], _velocity(task_a, G, B), _velocity(task_b, G, B))


def _velocity(task: LinearTask, G: NDArray, B: NDArray) -> NDArray:
    """`LinearTask.velocity` (D2) at checked gates ``G`` (m, n) and bias ``B`` (n,), V/s; a
    low-rank task through its own method (which checks them again)."""
    if task.low_rank:
        return task.velocity(G, B=B)
    return -(G - task.G_star) @ task.M + B


def nearest_times(curve: NDArray, t_curve: NDArray, samples: NDArray) -> NDArray:
    """Times of the points of a closed polyline nearest each sample (projection on segments).

    Parameters
    ----------
    curve : (K + 1, n) ndarray
        The polyline, V (first and last point the same for a closed curve).
    t_curve : (K + 1,) ndarray
        Times of its vertices, s.
    samples : (m, n) ndarray
        Points to project, V.

    Returns
    -------
    (m,) ndarray
        Time of each sample's nearest point, s (linear in time along a segment).
    """
    P0 = curve[:-1]
    d = curve[1:] - P0  # (K, n) segments
    dd = np.einsum("kn,kn->k", d, d)
    dd = np.where(dd > 0, dd, 1.0)
    w = np.einsum("mkn,kn->mk", samples[:, None, :] - P0[None], d) / dd
    w = np.clip(w, 0.0, 1.0)
    proj = P0[None] + w[..., None] * d[None]
    dist = np.einsum("mkn,mkn->mk", samples[:, None, :] - proj, samples[:, None, :] - proj)
    j = np.argmin(dist, axis=1)
    rows = np.arange(samples.shape[0])
    return t_curve[j] + w[rows, j] * (t_curve[j + 1] - t_curve[j])


def interpolate_cycle(dense: AffineCycle, t: NDArray, B: NDArray) -> NDArray:
    """Orbit points at times ``t`` by linear interpolation of a dense (closed) sampling, V.

    Parameters
    ----------
    dense : AffineCycle
        The orbit sampled densely over one period.
    t : (m,) ndarray
        Times within the period, s.
    B : (n,) ndarray
        Bias, V/s.

    Returns
    -------
    (m, n) ndarray
    """
    curve = at_bias(dense, B)
    return np.column_stack([np.interp(t, dense.times, curve[:, i]) for i in range(curve.shape[1])])


@dataclass(frozen=True, slots=True)
class MeasuredCycle:
    """Samples of one measured limit cycle, validated.

    Attributes
    ----------
    tau : float
        Period, s.
    G : (m, n) ndarray
        Gates over one period in time order, V.
    dt : float
        Time between two samples, s.
    """

    __repr__ = short_repr

    tau: float
    G: NDArray
    dt: float

    @construction
    def __post_init__(self) -> None:
        check_record(self, tau="real", G="array", dt="real")
        for name in ("tau", "dt"):
            if not getattr(self, name) > 0:
                raise ArgumentError(
                    f"Field `{name}` of MeasuredCycle must be a number > 0 (s), but is "
                    f"{quote(getattr(self, name))}."
                )
        if self.G.ndim != 2 or self.G.shape[0] < 3 or self.G.shape[1] < 1:
            raise ShapeError(
                f"Field `G` of MeasuredCycle must have shape (m, n) with m >= 3, but has shape "
                f"{self.G.shape}."
            )


def measured_cycles(cycles: Any, n: int, *, spacing: Any = None) -> list[MeasuredCycle]:
    """Validate measured cycles: ``(tau, samples_G)`` pairs or objects with ``tau`` and ``G``.

    Parameters
    ----------
    cycles : sequence of (tau, samples_G) or CycleSamples
        Each ``samples_G`` of shape (m_i, n), m_i >= 3, V; ``tau`` in s.
    n : int
        Number of gates.
    spacing : float or (c,) array_like, optional
        Time between samples, s; default ``tau / (m_i - 1)`` (one period, both ends included).

    Returns
    -------
    list of MeasuredCycle

    Raises
    ------
    ShapeError
        Not a non-empty sequence, samples not of shape (m, n) with m >= 3, or ``spacing``
        mis-sized.
    TaskError
        A sample that is not finite.
    ArgumentError
        A period or spacing that is not a finite number > 0.
    """
    if isinstance(cycles, (str, bytes)) or not isinstance(cycles, Sequence) or not cycles:
        raise ShapeError(
            "Argument `cycles` must be a non-empty sequence of (tau, samples_G) pairs or "
            f"CycleSamples, but is {type(cycles).__name__}."
        )
    spacings = spacing_list(spacing, len(cycles))
    out = []
    for i, c in enumerate(cycles):
        if hasattr(c, "tau") and hasattr(c, "G"):
            tau, G = c.tau, c.G
        else:
            try:
                tau, G = c
            except (TypeError, ValueError):
                raise ShapeError(
                    f"Entry {i} of `cycles` must be a (tau, samples_G) pair or a CycleSamples, "
                    f"but is {type(c).__name__}."
                ) from None
        tau = float(as_times(tau, f"cycles[{i}].tau"))
        G = real_array(G, f"cycles[{i}].G", finite=False)
        if G.ndim != 2 or G.shape[1] != n or G.shape[0] < 3:
            raise ShapeError(
                f"Samples of cycle {i} must have shape (m, {n}) with m >= 3 (one row per "
                f"sample, gates in the tasks' order), but have shape {G.shape}."
            )
        if not np.all(np.isfinite(G)):
            raise TaskError(f"Samples of cycle {i} must be finite, but contain NaN or inf.")
        # a given spacing is checked by `spacing_list`; the default is > 0 by construction
        dt = spacings[i] if spacings is not None else tau / (G.shape[0] - 1)
        out.append(MeasuredCycle(tau=tau, G=G, dt=dt))
    return out


@validator
def spacing_list(spacing: Any, k: int) -> list[float] | None:
    """``spacing`` as ``k`` times between samples, s (each a finite number > 0), or None.

    Parameters
    ----------
    spacing : float or (k,) array_like or None
        Time between samples of each of ``k`` cycles, s.
    k : int
        Number of cycles.

    Returns
    -------
    list of float or None
    """
    if spacing is None:
        return None
    sp = np.atleast_1d(real_array(spacing, "spacing"))
    if sp.size == 1:
        sp = np.full(k, sp[0])
    if sp.shape != (k,):
        raise ShapeError(
            f"Argument `spacing` must be a scalar or have shape ({k},), but has shape {sp.shape}."
        )
    return [float(as_times(s, f"spacing[{i}]")) for i, s in enumerate(sp)]
