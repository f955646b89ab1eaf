"""The result types of the cycles inside the gate box: :class:`BoxOrbit`, :class:`BoxCyclicOrbit`.

``periodic_orbit(..., box=(lo, hi))`` returns a :class:`BoxOrbit` (it satisfies
:class:`~clln_theory.theory.orbit_results.ClosedOrbit`) and ``cyclic_orbit(..., box=)`` a
:class:`BoxCyclicOrbit`: the limit cycle of the projected dynamics, with the pieces of each
period (which gates are pinned when) and a ``trajectory`` drawn with the box. The engine
``_box_build`` assembles them from the solver's results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import count, times
from .._repr import short_repr
from ..errors import ShapeError
from ._box import BoxTask, box_task, flow, sample, sides_at
from ._phase import split_phase
from .linear import LinearTask, check_samples
from .trajectories import BoxPiece, BoxTrajectory

__all__ = ["BoxCyclicOrbit", "BoxOrbit", "BoxPiece", "BoxTrajectory"]


def _sample_times(tau: NDArray, times_or_n: int | ArrayLike, n: int) -> NDArray:
    """Absolute sample times (T, m): ``m`` equally spaced over each period, or given times."""
    if isinstance(times_or_n, (int, np.integer)) and not isinstance(times_or_n, bool):
        m = count(times_or_n, "times_or_n", minimum=2)
        check_samples(m, tau.size, n)  # at most MAX_SAMPLE_VALUES
        return tau[:, None] * np.linspace(0.0, 1.0, m)[None, :]
    t = times(times_or_n, "times_or_n", positive=False)
    if t.ndim != 1:
        raise ShapeError(
            f"Argument `times_or_n` must be 1-D, but has shape {t.shape}; pass an int for "
            "equally spaced samples."
        )
    check_samples(t.size, tau.size, n)
    return np.broadcast_to(t[None, :], (tau.size, t.size))


def _draw(
    tasks: list[BoxTask], H: NDArray, starts: NDArray, t_abs: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """Gates, pinned flags and task indices at the absolute times ``t_abs`` (T, m) on the
    periodic orbits with durations ``H`` (T, K) and segment starts ``starts`` (T, K, n)."""
    T, K = H.shape
    n = starts.shape[-1]
    G = np.empty((*t_abs.shape, n))
    pinned = np.zeros((*t_abs.shape, n), dtype=bool)
    index = np.zeros(t_abs.shape, dtype=int)
    for i in range(T):
        tau = float(H[i].sum())
        _, phase = split_phase(t_abs[i], tau)  # exact (fmod); a multiple of tau: the end
        edges = np.concatenate([[0.0], np.cumsum(H[i])])
        seg = np.clip(np.searchsorted(edges, phase, side="left") - 1, 0, K - 1)
        index[i] = seg
        for k in range(K):
            sel = seg == k
            if np.any(sel):
                fl = flow(tasks[k], starts[i, k], float(H[i, k]), False)
                local = phase[sel] - edges[k]
                G[i, sel] = sample(tasks[k], fl.pieces, local)
                pinned[i, sel] = sides_at(fl.pieces, local) != 0
    return G, pinned, index


@dataclass(frozen=True, slots=True)
class BoxOrbit:
    """Limit cycle of alternating training inside the gate box, for one ``tau`` or a sweep.

    With a scalar ``tau`` the arrays have the shapes below; with ``T`` periods the per-period
    fields gain a leading axis of length ``T`` (``pieces`` becomes a tuple of T tuples).

    Attributes
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first in each period) and beta.
    B : (n,) ndarray
        Bias, V/s.
    tau : float or (T,) ndarray
        Period, s.
    G0 : (n,) ndarray
        State at the start of task alpha on the cycle, V (inside the box).
    G_half : (n,) ndarray
        State at ``tau / 2``, when training switches to task beta, V.
    span : float or (T,) ndarray
        Cycle span (4), ``|G_half - G0|``, V.
    saturated : bool or (T,) bool ndarray
        Whether some gate is pinned at some time of the cycle.
    pieces : tuple of BoxPiece (or a tuple of them per period)
        The pieces of one period in order: task (0 alpha, 1 beta), start and end (s from the
        start of the period) and the gates pinned at their lower and upper limits.
    box : (lo, hi) of (n,) ndarrays
        The gate limits, V.
    unconstrained_in_box : bool or (T,) bool ndarray
        Whether the orbit without limits stays strictly inside the box over the whole period
        (then it *is* this cycle, and ``G0`` equals ``periodic_orbit`` without ``box``); False
        when it leaves the box or drifts along a common null direction.
    newton_iterations : int or (T,) int ndarray
        Newton steps the solver took (0 when the unconstrained orbit stays inside).
    rate_tol : float
        Rate threshold, 1/s: eigenvalues of a free block at or below it are null modes.
    """

    __repr__ = short_repr

    task_a: LinearTask
    task_b: LinearTask
    B: NDArray
    tau: float | NDArray
    G0: NDArray
    G_half: NDArray
    span: float | NDArray
    saturated: bool | NDArray
    pieces: tuple = field(repr=False)
    box: tuple[NDArray, NDArray] = field(repr=False)
    unconstrained_in_box: bool | NDArray = field(repr=False)
    newton_iterations: int | NDArray = field(default=0, repr=False)
    rate_tol: float = field(default=0.0, repr=False)

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> BoxTrajectory:
        """Sample the gates along the cycle, drawn with the box.

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            An ``int`` ``m >= 2`` samples one period at ``m`` equally spaced times from 0 to
            ``tau`` (inclusive); an array gives absolute times in s (``>= 0``), applied to every
            period of a sweep (times past ``tau`` continue the periodic motion).

        Returns
        -------
        BoxTrajectory
            ``times`` (m,) or (T, m), ``G`` (m, n) or (T, m, n), ``pinned``, ``task_index``
            and the ``pieces`` of the period(s).

        Raises
        ------
        ArgumentError
            If an ``int`` is below 2, or a time is negative, NaN or inf, or the samples would
            hold more than ``MAX_SAMPLE_VALUES`` (10⁸) gate values.
        ShapeError
            If the array of times is not 1-D.
        """
        tau = np.atleast_1d(np.asarray(self.tau, dtype=float))
        G0, Gh = np.atleast_2d(self.G0), np.atleast_2d(self.G_half)
        t_abs = _sample_times(tau, times_or_n, G0.shape[-1])
        lo, hi = self.box
        tasks = [
            box_task(t.M, t.G_star, self.B, lo, hi, self.rate_tol)
            for t in (self.task_a, self.task_b)
        ]
        H = np.stack([tau / 2, tau / 2], axis=1)
        G, pinned, index = _draw(tasks, H, np.stack([G0, Gh], axis=1), t_abs)
        if np.ndim(self.tau) == 0:
            return BoxTrajectory(t_abs[0], G[0], pinned[0], index[0], self.pieces)
        return BoxTrajectory(t_abs, G, pinned, index, self.pieces)


@dataclass(frozen=True, slots=True)
class BoxCyclicOrbit:
    """Closed orbit of K tasks trained in a cycle inside the gate box (one schedule or T).

    With one schedule the arrays have the shapes below; with a sweep the per-schedule fields
    gain a leading axis of length ``T``.

    Attributes
    ----------
    tasks : tuple of LinearTask
        The K tasks, in training order.
    B : (n,) ndarray
        Bias, V/s.
    durations : (K,) ndarray
        Training time of each task per cycle, s.
    tau : float
        The cycle's period, ``durations.sum()``, s.
    G_starts : (K, n) ndarray
        State at the start of each task's segment on the cycle, V.
    span : float
        The largest distance between two of the K segment ends (the span (4) for K = 2), V.
    saturated : bool
        Whether some gate is pinned at some time of the cycle.
    pieces : tuple of BoxPiece (a tuple of them per schedule)
        The pieces of one cycle (task index, times from the start of the cycle, pinned gates).
    box : (lo, hi) of (n,) ndarrays
        The gate limits, V.
    unconstrained_in_box : bool
        Whether the orbit without limits stays strictly inside the box over the whole cycle.
    rate_tol : float
        Rate threshold, 1/s, for the null modes of the free blocks.
    """

    __repr__ = short_repr

    tasks: tuple[LinearTask, ...]
    B: NDArray
    durations: NDArray
    tau: float | NDArray
    G_starts: NDArray
    span: float | NDArray
    saturated: bool | NDArray
    pieces: tuple = field(repr=False)
    box: tuple[NDArray, NDArray] = field(repr=False)
    unconstrained_in_box: bool | NDArray = field(repr=False)
    rate_tol: float = field(default=0.0, repr=False)

    @property
    def K(self) -> int:
        """Number of tasks in the cycle."""
        return len(self.tasks)

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> BoxTrajectory:
        """Sample the gates along the cycle, drawn with the box.

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            An ``int`` ``m >= 2`` samples one cycle at ``m`` equally spaced times; an array gives
            absolute times in s (``>= 0``), applied to every schedule of a sweep.

        Returns
        -------
        BoxTrajectory
            ``times``, ``G``, ``pinned``, ``task_index`` and the ``pieces``.

        Raises
        ------
        ArgumentError
            If an ``int`` is below 2, or a time is negative, NaN or inf.
        ShapeError
            If the array of times is not 1-D.
        """
        H = np.atleast_2d(self.durations)
        starts = np.asarray(self.G_starts).reshape(H.shape[0], self.K, -1)
        t_abs = _sample_times(H.sum(axis=1), times_or_n, starts.shape[-1])
        lo, hi = self.box
        tasks = [box_task(t.M, t.G_star, self.B, lo, hi, self.rate_tol) for t in self.tasks]
        G, pinned, index = _draw(tasks, H, starts, t_abs)
        if np.ndim(self.tau) == 0:
            return BoxTrajectory(t_abs[0], G[0], pinned[0], index[0], self.pieces)
        return BoxTrajectory(t_abs, G, pinned, index, self.pieces)
