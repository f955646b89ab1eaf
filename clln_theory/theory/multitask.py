"""K tasks trained in a cycle: the closed orbit of K affine segment maps (beyond the paper).

Task ``k`` (k = 1..K) is trained for ``h_k`` s, then task ``k + 1``, and after task K task 1
again. Each segment is the affine map (D8)/(D9) ``G -> A_k G + b_k`` with ``A_k = exp(-h_k
M_k)``; the state ``x_1`` at the start of task 1 on the closed orbit is the fixed point of the
composed map, and ``x_{k+1} = A_k x_k + b_k``. :func:`cyclic_orbit` solves it for one schedule or
a sweep of schedules, stably for every duration, and splits off the drift along null directions
that all K tasks share (where no closed orbit exists), exactly as
:func:`~clln_theory.theory.orbits.periodic_orbit` does for K = 2.

*The algorithm (telescoped form).* With ``Pi_k = A_k ... A_1`` (``Pi_0 = I``) and ``E_k = I -
A_k`` from ``expm1``, the fixed point ``x_1 = Pi_K x_1 + c`` is solved as ::

    (I - Pi_K) x_1 = c,     I - Pi_K = sum_k E_k Pi_{k-1},     c = sum_k A_K ... A_{k+1} b_k,

a telescoping identity (``derivations/d06_many_tasks_noise.md``). Every term is a product of
accurately computed factors and no ``I - (something close to I)`` is ever formed: as ``h -> 0``
the sum tends to ``sum_k h_k M_k``, a sum of positive semi-definite matrices, so the relative
conditioning of the system is that of ``sum_k h_k M_k`` on the complement of the common
nullspace, as for ``periodic_orbit``. The ``b_k`` are the phi_1 form of (D9) (no pseudoinverse,
no threshold for each task's own nullspace), coordinates are taken relative to ``G*_1``, the
``K - 1`` other segment starts follow by (D4)/(D5) in the phi_1 form, and the system (``n x n``
per schedule) is solved by LU with partial pivoting. For K = 2 it agrees with the symmetric
mid-alpha form of ``periodic_orbit`` to a small multiple of ``eps * Orbit.condition``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import (
    check_record,
    construction,
    count,
    finite_outputs,
    finite_result,
    number,
    readonly,
    times,
    validator,
    vector,
)
from .._repr import short_repr
from ..errors import ArgumentError, GateBoxWarning, ShapeError, SingularSystemError
from ..model.bias import AffineBias, bias_vector
from ._box_build import box_cycle_orbits, box_cyclic_from
from ._multitask import reduce_tasks, segment_maps, telescoped
from ._phase import split_phase
from ._spectral import phi1_times
from ._tasks import flow
from .affine import AffineOrbit, affine_orbit_checked
from .box_results import BoxCyclicOrbit
from .linear import LinearTask, check_samples, check_task
from .trajectories import check_box

__all__ = ["BoxCyclicOrbit", "CyclicOrbit", "CyclicTrajectory", "cyclic_orbit"]


@dataclass(frozen=True, slots=True)
class CyclicTrajectory:
    """Gates sampled along a cyclic orbit.

    Attributes
    ----------
    times : ndarray of shape (m,) or (T, m)
        Sample times, s, counted from the start of task 1.
    G : ndarray of shape (m, n) or (T, m, n)
        Gates at those times, V.
    task_index : ndarray of int, shape (m,) or (T, m)
        Index (0-based) of the task being trained at each sample.
    """

    __repr__ = short_repr

    times: NDArray
    G: NDArray
    task_index: NDArray


@dataclass(frozen=True, slots=True)
class CyclicOrbit:
    """Closed orbit of K tasks trained in a cycle, for one schedule or a sweep of T schedules.

    With one schedule (``durations`` of shape (K,)) the arrays have the shapes below; with a
    sweep every field except ``tasks``, ``B`` and ``null_basis`` gains a leading axis of length
    ``T``.

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
        State at the start of each task's segment on the orbit, V (``G_starts[0]`` at ``t = 0``).
    span : float
        The span (4) generalized to K tasks: the largest distance between two of the K states
        at the ends of the segments, ``s_k = G(t_1 + ... + t_k)`` (``s_K = G(tau)``), measured on
        the trajectory (drift included). For K = 2 it is exactly ``|G(tau/2) - G(tau)|`` of (4).
    span_periodic : float
        The same for the periodic part alone (orthogonal to the common nullspace).
    drift : (n,) ndarray
        Velocity along the null directions shared by all K tasks, V/s: the projection of ``B``
        on their common nullspace; zeros when a closed orbit exists. The orbit closes up to
        ``drift * tau``.
    null_basis : (n, k) ndarray
        Orthonormal basis of the common nullspace (``k = 0`` when a closed orbit exists).
    condition : float
        Condition number (2-norm) of the telescoped system ``I - Pi_K`` on the complement of the
        common nullspace: ``eps * condition`` estimates the attainable relative accuracy.
    """

    __repr__ = short_repr

    tasks: tuple[LinearTask, ...]
    B: NDArray
    durations: NDArray
    tau: float | NDArray
    G_starts: NDArray
    span: float | NDArray
    drift: NDArray
    null_basis: NDArray = field(repr=False)
    span_periodic: float | NDArray = field(default=float("nan"), repr=False)
    condition: float | NDArray = field(default=float("nan"), repr=False)

    @construction
    def __post_init__(self) -> None:
        # an input too (`OrbitCovariance.D2` and `.expected_errors` take it): fields checked
        check_record(self, tasks="tuple", B="array", durations="array", G_starts="array",
                     drift="array", null_basis="array")  # fmt: skip
        if not all(isinstance(t, LinearTask) for t in self.tasks):
            raise ArgumentError("Field `tasks` of CyclicOrbit must hold LinearTask objects.")
        for name in ("tau", "span", "span_periodic", "condition"):  # a number, or T of them
            kind = "array" if isinstance(getattr(self, name), np.ndarray) else "real"
            check_record(self, **{name: kind})

    @property
    def K(self) -> int:
        """Number of tasks in the cycle."""
        return len(self.tasks)

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> CyclicTrajectory:
        """Sample the gates along the orbit.

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            An ``int`` ``m >= 2`` samples one cycle at ``m`` equally spaced times from 0 to
            ``tau`` (inclusive); an array gives absolute times in s (``>= 0``), applied to every
            schedule of a sweep. Times past ``tau`` continue the periodic motion, plus
            ``drift * t`` along the common nullspace.

        Returns
        -------
        CyclicTrajectory
            ``times``, ``G`` and ``task_index``, with a leading ``T`` axis for a sweep.

        Raises
        ------
        ArgumentError
            If an ``int`` is below 2, or a time is negative, NaN or inf.
        ShapeError
            If the array of times is not 1-D.

        Notes
        -----
        Chains (D5) of task ``k`` from ``G_starts[k]`` over its segment. A time at an exact
        switch is reported at the end of the earlier segment.
        """
        durs = np.atleast_2d(self.durations)
        G_st = np.asarray(self.G_starts).reshape(durs.shape[0], self.K, -1)
        drift = np.asarray(self.drift).reshape(durs.shape[0], -1)
        tau = durs.sum(axis=1)
        if isinstance(times_or_n, (int, np.integer)) and not isinstance(times_or_n, bool):
            m = count(times_or_n, "times_or_n", minimum=2)
            check_samples(m, tau.size, G_st.shape[-1])  # at most MAX_SAMPLE_VALUES
            t_abs = tau[:, None] * np.linspace(0.0, 1.0, m)[None, :]
        else:
            t = times(times_or_n, "times_or_n", positive=False)
            if t.ndim != 1:
                raise ShapeError(
                    f"Argument `times_or_n` must be 1-D, but has shape {t.shape}; pass an int "
                    "for equally spaced samples."
                )
            check_samples(t.size, tau.size, G_st.shape[-1])
            t_abs = np.broadcast_to(t[None, :], (tau.size, t.size))
        G = np.empty((*t_abs.shape, G_st.shape[-1]))
        index = np.empty(t_abs.shape, dtype=int)
        for i in range(tau.size):
            base, phase = split_phase(t_abs[i], tau[i])  # exact phase (fmod)
            starts = np.concatenate([[0.0], np.cumsum(durs[i])[:-1]])
            seg = np.clip(np.searchsorted(starts, phase, side="left") - 1, 0, self.K - 1)
            index[i] = seg
            for k in range(self.K):
                sel = seg == k
                if np.any(sel):
                    G[i, sel] = flow(self.tasks[k], G_st[i, k], phase[sel] - starts[k], self.B)
            G[i] += base[:, None] * drift[i]
        if np.ndim(self.tau) == 0:
            return CyclicTrajectory(times=t_abs[0], G=G[0], task_index=index[0])
        return CyclicTrajectory(times=t_abs, G=G, task_index=index)


@validator
def check_tasks(tasks: object, name: str = "tasks", minimum: int = 2) -> tuple[LinearTask, ...]:
    """A sequence of at least ``minimum`` :class:`LinearTask` of one size, as a tuple.

    Not in ``__all__``: the shared check of the theory's multi-task functions.
    """
    if isinstance(tasks, LinearTask) or not isinstance(tasks, Sequence):
        raise ArgumentError(
            f"Argument `{name}` must be a sequence of LinearTask, but is {type(tasks).__name__}."
        )
    out = tuple(check_task(t, f"{name}[{i}]") for i, t in enumerate(tasks))
    if len(out) < minimum:
        raise ArgumentError(
            f"Argument `{name}` must hold at least {minimum} tasks, but holds {len(out)}."
        )
    for i, t in enumerate(out):
        if t.n != out[0].n:
            raise ShapeError(
                f"Argument `{name}[{i}]` must have as many gates as `{name}[0]` ({out[0].n}), "
                f"but has {t.n}."
            )
    return out


@validator
def schedule(durations: ArrayLike, K: int, name: str = "durations") -> tuple[NDArray, bool]:
    """Durations (s, each finite and ``> 0``) as a ``(T, K)`` array, and whether one schedule
    of shape ``(K,)`` was given. Not in ``__all__``."""
    d = times(durations, name, positive=True)
    if d.ndim not in (1, 2) or d.shape[-1] != K:
        raise ShapeError(
            f"Argument `{name}` must have shape ({K},) or (T, {K}), but has shape {d.shape}."
        )
    return np.atleast_2d(d), d.ndim == 1


def rate_tolerance(tasks: tuple[LinearTask, ...], rate_tol: float | None) -> float:
    """``rate_tol`` checked (a number ``>= 0``, 1/s), or the largest of the tasks' (default).

    Not in ``__all__``: the shared check of the multi-task faces.
    """
    if rate_tol is None:
        return max(t.rate_tol for t in tasks)
    return number(rate_tol, "rate_tol", low=0.0, unit="1/s")


@finite_outputs("G_starts", args=("B", "durations"))
def cyclic_orbit(
    tasks: Sequence[LinearTask],
    *,
    B: ArrayLike,
    durations: ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
    box: tuple[Any, Any] | None = None,
) -> CyclicOrbit | AffineOrbit | BoxCyclicOrbit:
    """Closed orbit of K tasks trained in a cycle (the paper's (D10)/(D11) for K tasks).

    Parameters
    ----------
    tasks : sequence of LinearTask
        The K >= 2 tasks in training order, all on the same ``n`` gates.
    B : (n,) array_like or AffineBias
        Bias, V/s. A state-dependent `AffineBias` is handed to
        :func:`~clln_theory.theory.affine.cyclic_affine_orbit` (one schedule of shape (K,)), which
        returns an ``AffineOrbit``.
    durations : (K,) or (T, K) array_like
        Training time of each task in one cycle, s, each finite and ``> 0``; a 2-D array is a
        sweep of T schedules (e.g. ``np.outer(taus, [1/3, 1/3, 1/3])``).
    G_ref : (n,) array_like, optional
        Only used when all tasks share a null direction: the orbit's component in the common
        nullspace at ``t = 0`` is that of ``G_ref``. Default: the mean of the tasks' ``G_star``.
    rate_tol : float, optional
        Absolute threshold (1/s) on the eigenvalues of ``sum_k M_k`` below which a direction is a
        common null direction (the threshold used is ``max(rate_tol, n * eps * max eig)``).
        Default: the largest ``rate_tol`` of the tasks.
    box : (lo, hi), optional
        Gate limits, V (numbers or ``(n,)`` arrays, finite, ``lo < hi``): the cycle of the
        projected dynamics, task by task, as ``periodic_orbit(..., box=)`` computes it for two
        tasks; returns a :class:`~clln_theory.theory.box_results.BoxCyclicOrbit`. Refused with
        ``G_ref`` or an ``AffineBias``. Default None.

    Returns
    -------
    CyclicOrbit or BoxCyclicOrbit
        ``G_starts``, ``span``, ``span_periodic``, ``drift``, ``condition`` and the inputs
        (with ``box``: ``G_starts``, ``span``, ``saturated``, ``pieces``,
        ``unconstrained_in_box``).

    Raises
    ------
    ArgumentError
        If ``tasks`` is not a sequence of at least two :class:`LinearTask`, ``B`` or ``G_ref``
        has a NaN or inf, a duration is ``<= 0``, NaN or inf, or ``rate_tol`` is not a finite
        number ``>= 0``.
    ShapeError
        If the tasks differ in size, or ``B``, ``G_ref`` or ``durations`` have the wrong shape.
    SingularSystemError
        If the telescoped system is singular to working precision.
    NumericalRangeError
        If the orbit or its span leaves float64's range (huge durations or bias), as
        :func:`~clln_theory.theory.periodic_orbit` refuses it.
    ConvergenceError
        With ``box``, if no periodic orbit is found (the event sequence does not settle).

    Warns
    -----
    GateBoxWarning
        With ``box``, if the orbit without limits leaves the box for some schedule (the
        message lists their periods; ``unconstrained_in_box`` is False there and the result is
        the cycle pinned at the limits). Not raised for a cycle that stays inside.

    Notes
    -----
    Solves ``(sum_k E_k Pi_{k-1}) x_1 = sum_k A_K..A_{k+1} b_k`` (module docstring): no inverse,
    no pseudoinverse, no ``I - expm`` cancellation. Cost per schedule: ``2K`` products of ``n x
    n`` matrices and one LU.

    Examples
    --------
    Three single-point tasks in two gates whose solution lines cross pairwise:

    >>> import numpy as np
    >>> from clln_theory import LinearTask, cyclic_orbit
    >>> us = [np.array([1.0, 0.0]), np.array([0.6, 0.8]), np.array([0.0, 1.0])]
    >>> tasks = [LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0]) for u in us]
    >>> orbit = cyclic_orbit(tasks, B=[0.1, -0.2], durations=[0.5, 0.5, 0.5])
    >>> orbit.G_starts.shape, f"{orbit.span:.4f}"
    ((3, 2), '0.2038')
    """
    tasks = check_tasks(tasks)
    n, K = tasks[0].n, len(tasks)
    if box is not None:
        return _boxed(tasks, B, durations, G_ref, rate_tol, box)
    if isinstance(B, AffineBias):  # state-dependent bias: theory/_affine.py, one schedule
        h, single = schedule(durations, K)
        if not single:
            raise ShapeError(
                f"Argument `durations` must have shape ({K},) with an AffineBias `B` (one "
                f"schedule), but has shape {np.shape(durations)}."
            )
        return affine_orbit_checked(tasks, B, h[0], G_ref, rate_tol)
    B = bias_vector(B, n)
    if G_ref is None:
        G_ref = np.mean([t.G_star for t in tasks], axis=0)
    else:
        G_ref = vector(G_ref, "G_ref", n)
    h, single = schedule(durations, K)
    tol = rate_tolerance(tasks, rate_tol)
    red = reduce_tasks(tasks, B, tol)
    P, Q = red.P, red.Q
    T, m = h.shape[0], P.shape[1]
    drift = Q @ (Q.T @ B)
    y = np.zeros((T, K, m))
    cond = np.zeros(T)
    if m > 0:
        A, E, b = segment_maps(red, h)
        S, _, c = telescoped(A, E, b)
        with np.errstate(all="ignore"):
            try:
                y[:, 0] = np.linalg.solve(S, c[..., None])[..., 0]
            except np.linalg.LinAlgError:
                y[:, 0] = np.nan
            cond = np.linalg.cond(S)
        if not np.all(np.isfinite(y[:, 0])) or not np.all(np.isfinite(cond)):
            raise SingularSystemError(
                "The cyclic orbit's system is singular to working precision: the tasks nearly "
                "share a null direction above `rate_tol`; raise `rate_tol` to split it off."
            )
    inc = np.zeros((T, K, m))  # the change over each segment, (D4)/(D5) in the phi_1 form
    for k in range(K):
        if m == 0:
            break
        U = red.U[k]
        _, _, phi = phi1_times(red.lam[k], h[:, k])
        v = (red.c[k] - y[:, k] @ red.M[k]) @ U
        inc[:, k] = (phi * v) @ U.T
        if k + 1 < K:
            y[:, k + 1] = y[:, k] + inc[:, k]
    starts = np.concatenate([np.zeros((T, 1)), np.cumsum(h, axis=1)[:, :-1]], axis=1)
    base = red.ref + Q @ (Q.T @ (G_ref - red.ref))
    G_starts = base + y @ P.T + starts[..., None] * drift
    fields = _fields(h, inc, G_starts, drift, cond, single)
    finite_result(
        fields["span"], "cyclic_orbit span", hint="Check the magnitudes of `B`, `durations`."
    )  # as periodic_orbit refuses it
    return CyclicOrbit(tasks=tasks, B=readonly(B), null_basis=readonly(Q), **fields)


def _boxed(
    tasks: tuple[LinearTask, ...],
    B: Any,
    durations: ArrayLike,
    G_ref: ArrayLike | None,
    rate_tol: float | None,
    box: Any,
) -> BoxCyclicOrbit:
    """The ``box`` route of :func:`cyclic_orbit` on checked ``tasks``."""
    if G_ref is not None or isinstance(B, AffineBias):
        other = "G_ref" if G_ref is not None else "B"
        raise ArgumentError(
            f"Arguments `box` and `{other}` of `cyclic_orbit` exclude each other: the cycle in "
            "the gate box is fixed by the box and computed for a constant bias."
        )
    Bv = bias_vector(B, tasks[0].n)
    h, single = schedule(durations, len(tasks))
    tol = rate_tolerance(tasks, rate_tol)
    lo, hi = check_box(box, tasks[0].n)
    orbits = box_cycle_orbits(tasks, Bv, h, lo, hi, tol, None)
    out = box_cyclic_from(tasks, Bv, h, single, (lo, hi), tol, orbits)
    outside = ~np.atleast_1d(out.unconstrained_in_box)
    if np.any(outside):  # the gate range is known here: say that the limits act
        periods_out = np.round(h.sum(axis=1)[outside], 9).tolist()[:5]
        warnings.warn(
            GateBoxWarning(
                f"The orbit without limits leaves the gate box at {int(outside.sum())} of "
                f"{outside.size} schedules (periods {periods_out}"
                " s): there the result is the cycle pinned at the limits "
                "(`unconstrained_in_box` False), not the linear theory's unconstrained orbit."
            ),
            stacklevel=3,
        )
    return out


def _fields(
    h: NDArray, inc: NDArray, G_starts: NDArray, drift: NDArray, cond: NDArray, single: bool
) -> dict:
    """The per-schedule fields of :class:`CyclicOrbit`: the generalized span (4) from the
    segment increments, and the shapes of one schedule or a sweep."""
    T, n = h.shape[0], drift.size
    # ends of the segments s_k: differences are sums of increments (no cancellation of |y|)
    ends_y = np.cumsum(inc, axis=1)
    ends = np.cumsum(h, axis=1)
    dy = np.linalg.norm(ends_y[:, :, None, :] - ends_y[:, None, :, :], axis=-1)
    dt = np.abs(ends[:, :, None] - ends[:, None, :])
    span_periodic = dy.reshape(T, -1).max(axis=1)
    span = np.hypot(dy, dt * float(np.linalg.norm(drift))).reshape(T, -1).max(axis=1)
    tau = h.sum(axis=1)
    if single:
        fields = dict(
            durations=readonly(h[0]),
            tau=float(tau[0]),
            G_starts=readonly(G_starts[0]),
            span=float(span[0]),
            span_periodic=float(span_periodic[0]),
            condition=float(cond[0]),
            drift=readonly(drift),
        )
    else:
        fields = dict(
            durations=readonly(h),
            tau=readonly(tau),
            G_starts=readonly(G_starts),
            span=readonly(span),
            span_periodic=readonly(span_periodic),
            condition=readonly(cond),
            drift=readonly(np.broadcast_to(drift, (T, n))),
        )
    return fields
