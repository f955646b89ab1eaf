"""Linear dynamics with a state-dependent bias ``B(G) = B0 + J (G - G_ref)`` (beyond the paper).

With an :class:`~clln_theory.model.AffineBias` the linearized dynamics (D2) of task ``k`` become

    dG/dt = -M_k (G - G*_k) + B0 + J (G - G_ref) = -A_k G + c_k,      A_k = M_k - J,

with ``c_k = M_k G*_k + B0 - J G_ref``. ``A_k`` is not symmetric, so the eigenbasis-and-``expm1``
route of :mod:`~clln_theory.theory.linear` does not apply. Everything here comes instead from
one matrix exponential of an augmented matrix (Van Loan's construction)::

    expm([[-A h, A h, c h],        [[exp(-A h), 1 - exp(-A h), phi(h) c],
          [  0,   0,   0 ],    =    [    0,          1,           0   ],
          [  0,   0,   0 ]])        [    0,          0,           1   ]],

``phi(h) = int_0^h exp(-A s) ds``: the map of one segment ``x -> exp(-A h) x + phi(h) c`` and
``E = 1 - exp(-A h)`` are read off the blocks, each accurate to a few ulps relative to its own
size for every ``h`` (no ``1 - exp`` cancellation at small ``h``: the blocks are integrals, and
the scaling-and-squaring Padé of :func:`scipy.linalg.expm` computes them directly).

*Closed orbit.* For tasks trained in turn for durations ``h_1 .. h_K`` (``K = 2`` and ``h =
tau/2`` for :func:`affine_orbit`) the period map is ``x -> Phi x + d`` with ``Phi = prod_k (1 -
E_k)``; its fixed point solves ``R x0 = d`` with ``R = 1 - Phi`` built by the recursion
``R_k = R_{k-1} + E_k (1 - R_{k-1})`` — sums of ``O(h)`` terms and ``O(h^2)`` products, never
``1 - Phi`` formed from ``Phi`` (which cancels as ``h -> 0``). ``R`` and ``d`` are both ``O(h)``,
and ``R / h -> sum_k (M_k - J) h_k / h``: the solve is as well conditioned as the mean dynamics.

*Stability.* The cycle exists iff every Floquet multiplier ``mu`` (eigenvalue of ``Phi``) on the
complement of the common null space lies inside the unit circle. ``1 - |mu|^2 = 2 Re nu -
|nu|^2`` with ``nu`` the eigenvalues of ``R`` (no cancellation), and the cycle's rate
``kappa = -ln|mu| / T`` (``T`` the period) is the real part of an eigenvalue of the effective
``M - J`` of one period (``-log(Phi) / T``, which tends to the time-weighted mean of ``M_k - J``
as ``T -> 0``). ``kappa <= `` the rate threshold raises
:class:`~clln_theory.errors.StabilityError` naming it.

*Common null space.* Directions ``Q`` with ``A_k Q = 0`` and ``Q^T A_k = 0`` for every task (for
``J = 0`` the common nullspace of the ``M_k``) are split off as in
:func:`~clln_theory.theory.periodic_orbit`: the gates drift along them at ``Q Q^T B0``. A
direction that is neutral on one side only (``A_k Q = 0`` but ``Q^T A_k != 0``) is a neutral
Floquet mode coupled to the rest: StabilityError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import count, finite_outputs, number, times, vector
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError
from ..model.bias import AffineBias
from ._affine import affine_flow, cycle_fields, stretch_points
from ._phase import split_phase
from .linear import (
    LinearTask,
    check_affine,
    check_pair,
    check_samples,
    check_task,
)
from .trajectories import OrbitTrajectory

__all__ = ["AffineOrbit", "affine_orbit", "cyclic_affine_orbit", "evolve_affine"]


@finite_outputs("", args=("G0", "t", "B"))
def evolve_affine(task: LinearTask, G0: ArrayLike, *, t: ArrayLike, B: AffineBias) -> NDArray:
    """Gates at times ``t`` under one task with a state-dependent bias (closed form).

    Solves ``dG/dt = -M (G - G*) + B(G)`` exactly: ``G(t) = G0 + phi(t) v`` with ``v`` the
    initial velocity and ``phi(t) = int_0^t exp(-(M - J) s) ds`` from one augmented matrix
    exponential per time (no cancellation at small ``t``). ``evolve(task, G0, t=..., B=b)``
    with an :class:`AffineBias` ``b`` calls this.

    Parameters
    ----------
    task : LinearTask
        The task trained: ``M`` (1/s) and ``G_star`` (V).
    G0 : (n,) array_like
        Gates at ``t = 0``, V.
    t : float or array_like of shape (...)
        Times, s, each ``>= 0``.
    B : AffineBias
        The bias ``B0 + J (G - G_ref)``.

    Returns
    -------
    ndarray of shape ``t.shape + (n,)``
        Gates, V.

    Raises
    ------
    ShapeError
        If ``G0`` or ``B`` does not match the task.
    ArgumentError
        If ``task`` is not a LinearTask, ``B`` not an AffineBias, ``G0`` not finite or a time
        negative, NaN or inf.
    NumericalRangeError
        If the gates leave float64's range (an unstable ``M - J`` over a long time, or huge
        inputs).

    Examples
    --------
    With ``J = 0`` it is the constant-bias solution (D5):

    >>> import numpy as np
    >>> from clln_theory.model import AffineBias
    >>> from clln_theory.theory import LinearTask, evolve
    >>> task = LinearTask([[2.0, 2.0], [2.0, 2.0]], G_star=[1.0, 3.0])
    >>> b = AffineBias([0.0, 0.1], np.zeros((2, 2)), [0.0, 0.0])
    >>> np.allclose(evolve(task, [0, 0], t=10.0, B=b), evolve(task, [0, 0], t=10.0, B=b.B0))
    True
    """
    n = check_task(task).n
    Bv = check_affine(B, n)
    G0v = vector(G0, "G0", n)
    tv = times(t, "t", positive=False)
    return affine_flow(task.M, task.G_star, G0v, tv, Bv)


@dataclass(frozen=True, slots=True)
class AffineOrbit:
    """Closed orbit of tasks trained in turn under a state-dependent bias.

    One period (``tau`` a scalar): for a sweep, one orbit per period.

    Attributes
    ----------
    tasks : tuple of LinearTask
        The tasks, in training order.
    B : AffineBias
        The bias.
    durations : (K,) ndarray
        Time each task is trained per period, s.
    tau : float
        The period ``sum(durations)``, s.
    G_starts : (K, n) ndarray
        State at the start of each task's segment on the orbit, V.
    G0, G_half : (n,) ndarray
        ``G_starts[0]`` and ``G_starts[1]`` (for two tasks: the paper's ``G0`` and ``G(tau/2)``).
    span : float
        ``|G_starts[1] - G_starts[0]|`` for two tasks, (4), including the drift over the first
        segment; NaN for ``K != 2``.
    span_periodic : float
        The same without the common-null drift.
    drift : (n,) ndarray
        Velocity along the common null space, ``Q Q^T B0``, V/s.
    null_basis : (n, k) ndarray
        Orthonormal basis of the common null space.
    floquet : (m,) ndarray of complex
        Floquet multipliers (eigenvalues of the period map) on the complement, ``|mu| < 1``.
    rate : float
        The slowest decay rate of the cycle, ``min(-ln|mu|) / tau``, 1/s (``> 0``; a lower
        bound, ``-ln(tiny) / tau``, when every multiplier underflows float64).
    """

    __repr__ = short_repr

    tasks: tuple[LinearTask, ...]
    B: AffineBias
    durations: NDArray
    tau: float
    G_starts: NDArray
    span: float
    span_periodic: float
    drift: NDArray
    null_basis: NDArray = field(repr=False)
    floquet: NDArray = field(repr=False)
    rate: float = field(default=float("nan"))

    @property
    def G0(self) -> NDArray:
        """State at the start of the first task, V."""
        return self.G_starts[0]

    @property
    def G_half(self) -> NDArray:
        """State at the start of the second task, V."""
        return self.G_starts[1]

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> OrbitTrajectory:
        """Sample the gates along the orbit.

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            An ``int`` ``m >= 2`` samples one period at ``m`` equally spaced times from 0 to
            ``tau``; an array gives times in s (``>= 0``) from the start of the first task;
            past ``tau`` the motion repeats, plus ``drift * t``.

        Returns
        -------
        OrbitTrajectory
            ``times`` (m,) and ``G`` (m, n).

        Raises
        ------
        ArgumentError
            If an ``int`` is below 2 or a time is negative, NaN or inf.
        ShapeError
            If the times are not 1-D.
        """
        if isinstance(times_or_n, (int, np.integer)) and not isinstance(times_or_n, bool):
            m = count(times_or_n, "times_or_n", minimum=2)
            check_samples(m, 1, self.G_starts.shape[1])  # at most MAX_SAMPLE_VALUES
            t = self.tau * np.linspace(0.0, 1.0, m)
        else:
            t = times(times_or_n, "times_or_n", positive=False)
            if t.ndim != 1:
                raise ShapeError(f"Argument `times_or_n` must be 1-D, but has shape {t.shape}.")
            check_samples(t.size, 1, self.G_starts.shape[1])
        base, phase = split_phase(t, self.tau)  # exact phase (fmod)
        G = stretch_points(self.tasks, self.durations, self.G_starts, self.B, phase)
        G += base[:, None] * self.drift
        return OrbitTrajectory(times=t, G=G)


@finite_outputs("G_starts", "drift", args=("B", "durations"))
def cyclic_affine_orbit(
    tasks: Sequence[LinearTask],
    *,
    B: AffineBias,
    durations: ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
) -> AffineOrbit:
    """Closed orbit of ``K`` tasks trained in turn under a state-dependent bias.

    Parameters
    ----------
    tasks : sequence of LinearTask
        The tasks in training order (``K >= 1``), same ``n``.
    B : AffineBias
        ``B(G) = B0 + J (G - G_ref)``.
    durations : (K,) array_like
        Training time of each task per period, s, each ``> 0``.
    G_ref : (n,) array_like, optional
        The orbit's component along the common null space (any value is an orbit that slides by
        ``drift * tau`` per period). Default: the mean of the tasks' ``G_star``.
    rate_tol : float, optional
        Rate threshold, 1/s, for the common null space and for stability. Default: the largest
        ``rate_tol`` of the tasks.

    Returns
    -------
    AffineOrbit
        ``G_starts``, ``span`` (``K = 2``), ``drift``, Floquet multipliers and ``rate``.

    Raises
    ------
    StabilityError
        If the period map has a Floquet exponent with real part ``<=`` the rate threshold on
        the complement of the common null space (``M - J`` has an eigenvalue with
        non-positive real part there): the message names it. The cycle does not exist.
    SingularSystemError
        If the fixed-point system is singular to working precision.
    NumericalRangeError
        If the period map or the orbit leaves float64's range (durations times rates, or
        ``B0``, too large).
    ShapeError, ArgumentError
        Bad tasks (not a sequence of LinearTask), bias, durations, ``G_ref`` or ``rate_tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.model import AffineBias
    >>> from clln_theory.theory import LinearTask
    >>> from clln_theory.theory.affine import cyclic_affine_orbit
    >>> a = LinearTask([[10.0, 0.0], [0.0, 0.0]], G_star=[1.0, 1.0])
    >>> b = LinearTask([[7.2, 9.6], [9.6, 12.8]], G_star=[1.0, 1.0])
    >>> bias = AffineBias([0.5, 0.5], [[-1.0, 0.0], [0.0, -1.0]], [1.0, 1.0])
    >>> orbit = cyclic_affine_orbit([a, b], B=bias, durations=[0.1, 0.1])
    >>> orbit.rate > 0
    True
    """
    if isinstance(tasks, LinearTask) or not isinstance(tasks, Sequence):
        raise ArgumentError(
            "Argument `tasks` must be a sequence of LinearTask (one or more), but is "
            f"{type(tasks).__name__}; pass [task] for a single task."
        )
    tasks = tuple(tasks)
    if not tasks:
        raise ArgumentError("Argument `tasks` must hold at least one LinearTask, but is empty.")
    n = check_task(tasks[0], "tasks[0]").n
    for i, t in enumerate(tasks):
        if check_task(t, f"tasks[{i}]").n != n:
            raise ShapeError(f"Argument `tasks[{i}]` must have {n} gates, but has {t.n}.")
    h = times(durations, "durations", positive=True)
    if h.shape != (len(tasks),):
        raise ShapeError(
            f"Argument `durations` must have shape ({len(tasks)},), but has shape {h.shape}."
        )
    return affine_orbit_checked(tasks, B, h, G_ref, rate_tol)


def affine_orbit_checked(
    tasks: tuple[LinearTask, ...],
    B: object,
    h: NDArray,
    G_ref: ArrayLike | None,
    rate_tol: float | None,
) -> AffineOrbit:
    """Check ``B``, ``G_ref`` and ``rate_tol`` for checked tasks and durations ``h``; solve the
    cycle (the shared tail of the affine faces, not in ``__all__``)."""
    n = tasks[0].n
    Bv = check_affine(B, n)
    G_ref_v = (
        np.mean([t.G_star for t in tasks], axis=0) if G_ref is None else vector(G_ref, "G_ref", n)
    )
    tol = (
        max(t.rate_tol for t in tasks)
        if rate_tol is None
        else number(rate_tol, "rate_tol", low=0.0, unit="1/s")
    )
    return AffineOrbit(**cycle_fields(tasks, Bv, h, G_ref_v, tol))


@finite_outputs("G_starts", "drift", args=("B", "tau"))
def affine_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: AffineBias,
    tau: float,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
) -> AffineOrbit:
    """Closed orbit of alternating training (``tau / 2`` each) under a state-dependent bias.

    ``periodic_orbit(task_a, task_b, B=b, tau=...)`` with an :class:`AffineBias` ``b`` returns
    the same orbit; it is :func:`cyclic_affine_orbit` with durations ``(tau / 2, tau / 2)``.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Task alpha (first) and beta.
    B : AffineBias
        ``B(G) = B0 + J (G - G_ref)``.
    tau : float
        Period, s, ``> 0``.
    G_ref : (n,) array_like, optional
        Component along a common null space (see :func:`cyclic_affine_orbit`).
    rate_tol : float, optional
        Rate threshold, 1/s (see :func:`cyclic_affine_orbit`).

    Returns
    -------
    AffineOrbit
        ``G0``, ``G_half``, ``span``, ``drift``, ``floquet``, ``rate``.

    Raises
    ------
    StabilityError
        If ``M - J`` has an eigenvalue with non-positive real part on the complement of the
        common null space (the cycle does not exist); the message names it.
    SingularSystemError, NumericalRangeError, ShapeError, ArgumentError
        As :func:`cyclic_affine_orbit`; ``tau`` must be a finite scalar ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.model import AffineBias
    >>> from clln_theory.theory import LinearTask, periodic_orbit
    >>> a = LinearTask([[10.0, 0.0], [0.0, 0.0]], G_star=[1.0, 1.0])
    >>> b = LinearTask([[7.2, 9.6], [9.6, 12.8]], G_star=[1.0, 1.0])
    >>> B = np.array([0.5, 0.5])
    >>> flat = AffineBias(B, np.zeros((2, 2)), [0.0, 0.0])
    >>> o1 = periodic_orbit(a, b, B=flat, tau=0.2)
    >>> o2 = periodic_orbit(a, b, B=B, tau=0.2)
    >>> bool(np.allclose(o1.G0, o2.G0, rtol=1e-12)) and bool(np.isclose(o1.span, o2.span))
    True
    """
    check_pair(task_a, task_b)
    assert isinstance(task_a, LinearTask) and isinstance(task_b, LinearTask)  # check_pair
    t = number(tau, "tau", low=0.0, low_open=True, unit="s")
    h = np.asarray([t / 2, t / 2], dtype=float)
    return affine_orbit_checked((task_a, task_b), B, h, G_ref, rate_tol)
