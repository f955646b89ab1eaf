"""Closed limit cycles of alternating two-task training: (D6)-(D11) of the paper.

Training task alpha for ``tau / 2`` then task beta for ``tau / 2``, over and over, drives the
gates onto a closed orbit whose start ``G0`` solves (D10)::

    G0 = A_beta (A_alpha G0 + b_alpha) + b_beta,      A_mu = exp(-tau/2 M_mu)   (D8), (D9)

:func:`periodic_orbit` solves it for one period or a whole sweep of periods at once, stably for
every ``tau``, splitting off the drift along any null direction the two tasks share (where no
closed orbit exists). :class:`Orbit` holds the result and samples the trajectory.

*The algorithm.* The paper's literal (D11), ``G0 = (1 - A_beta A_alpha)^-1 (A_beta b_alpha +
b_beta)``, loses up to ~10 digits at small ``tau`` (``1 - A_beta A_alpha`` cancels) and needs an
inverse. :func:`periodic_orbit` solves the algebraically identical *symmetric mid-alpha* form
instead. With ``h = tau / 2``, ``q = h / 2``, ``C = A_alpha(q) = exp(-q M_alpha)`` and ``E = 1 -
A``, the state ``z = G(q)`` on the closed orbit obeys (the period map (D10) started at ``q``)::

    (1 - C A_beta C) z = C (A_beta b_alpha(q) + b_beta(h)) + b_alpha(q),
    1 - C A_beta C = E_alpha(h) + C E_beta(h) C        (using C^2 = A_alpha(h)),

a sum of two positive semi-definite matrices: no cancellation at any ``tau``. In the eigenbasis of
``M_alpha``, with ``W = U_alpha^T U_beta`` computed once, the matrix is ``S = diag(1 - exp(-h
lam_alpha)) + V V^T`` with ``V = diag(exp(-q lam_alpha)) W diag(sqrt(1 - exp(-h lam_beta)))``; every
exponential comes from ``exp``/``expm1``. Then ``G_half = C z + b_alpha(q)`` and ``G0 = G_half + h
phi_1(-h M_beta) v_beta(G_half)`` ((D5) for task beta), with ``b_mu(s) = U diag((1 - exp(-s lam)) /
lam) U^T (M G* + B)`` (``s`` at ``lam = 0``): the phi_1 form of (D9), which needs no threshold for
each task's own nullspace. No inverse and no pseudoinverse anywhere. ``S`` is Jacobi-scaled to unit
diagonal and Cholesky-factored: one SYRK (``~n^3`` flops) and one Cholesky (``n^3 / 3``) per period,
versus an LU of a general matrix plus a GEMM for (D11). ``n = 2`` uses explicit 2 x 2 algebra on
length-T arrays (the determinant of ``S`` is a sum of four non-negative terms); ``n < 16`` numpy
stacks over the periods; ``n < 48`` one LAPACK ``dposv`` per period; beyond, BLAS ``dsyrk`` + LAPACK
``dpotrf``/``dpotrs`` per period. If Cholesky fails (a nearly common null direction left above the
rate threshold), an LU solve with an :class:`~clln_theory.errors.AccuracyWarning` carrying the
condition number is used, or :class:`~clln_theory.errors.SingularSystemError` is raised. Coordinates
are taken relative to ``G*_alpha`` so that small deviations (span, bias shift) keep relative
accuracy.

*Accuracy.* The relative error of ``G0`` is a small multiple of ``eps * Orbit.condition`` (the
estimated sensitivity to rounding of the inputs, see :class:`Orbit`); at large ``tau`` with
rank-deficient tasks ``G0`` holds drift terms ``~ h N B`` whose null directions and rates are
themselves only defined to ``~eps |M|`` by the float64 inputs, and nearly parallel solution spaces
make ``S`` ill-conditioned: there ``condition`` is large and no float64 method can do better.

*No closed orbit.* The paper notes that when no closed orbit exists (D11) "should be taken as a
pseudoinverse". :func:`periodic_orbit` departs from that: the common nullspace of ``M_alpha`` and
``M_beta`` (the nullspace of ``M_alpha + M_beta`` at the rate threshold) is split off; there the
gates move at ``drift = Q Q^T B``; in the complement the reduced tasks ``P^T M_mu P`` (coupling to
the null directions, zero up to the threshold, dropped) have a closed orbit, solved as above. ``G0``
then has the common-null component of ``G_ref``, and the orbit is periodic up to ``drift * tau``.
``span`` is (4) on that trajectory (periodic part and the drift over ``tau / 2``); ``span_periodic``
is the periodic part alone.

The float64 kernels live in ``_orbit_float.py``, the mpmath route in ``_orbit_mp.py``, their
driver in ``_orbit_solve.py`` and the common-null split in ``_nullspace.py`` (engines of this
room); the result types in :mod:`~clln_theory.theory.orbit_results`.
"""

from __future__ import annotations

import warnings
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from .._checks import count, finite_outputs, number
from ..errors import AccuracyWarning, ArgumentError, GateBoxWarning, SingularSystemError
from ..model.bias import AffineBias
from ._box_build import box_cycle_orbits, box_orbit_from
from ._lowrank import any_low_rank, project_pair
from ._orbit_build import lowrank_orbit_from, orbit_from
from ._orbit_solve import dense_orbit
from .affine import AffineOrbit, affine_orbit_checked
from .box_results import BoxOrbit
from .linear import LinearTask, check_pair, pair_inputs, periods
from .orbit_results import ClosedOrbit, Orbit
from .trajectories import OrbitTrajectory, check_box

__all__ = ["BoxOrbit", "ClosedOrbit", "Orbit", "OrbitTrajectory", "periodic_orbit"]


@overload
def periodic_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: AffineBias,
    tau: float,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
    dps: None = None,
    rtol: None = None,
    box: None = None,
) -> AffineOrbit: ...


@overload
def periodic_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    tau: float | ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
    dps: int | None = None,
    rtol: float | None = None,
    box: None = None,
) -> Orbit: ...


@overload
def periodic_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    tau: float | ArrayLike,
    G_ref: None = None,
    rate_tol: float | None = None,
    dps: None = None,
    rtol: None = None,
    box: tuple[Any, Any],
) -> BoxOrbit: ...


@finite_outputs("G0", "G_half", "span", args=("B", "tau"))
def periodic_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    tau: float | ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
    dps: int | None = None,
    rtol: float | None = None,
    box: tuple[Any, Any] | None = None,
) -> Orbit | AffineOrbit | BoxOrbit:
    """Closed orbit of alternating training on two tasks, (D7)-(D11) of the paper.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Task alpha (trained during ``[0, tau/2)`` of each period) and task beta, same ``n``.
    B : (n,) array_like or AffineBias
        Bias, V/s; an ``AffineBias`` (scalar ``tau``) returns the
        :class:`~clln_theory.theory.affine.AffineOrbit` of ``affine.affine_orbit(...)``.
    tau : float or (T,) array_like
        Period(s), s, each finite and ``> 0``. An array computes the whole sweep in one
        vectorized batch after one eigendecomposition per task.
    G_ref : (n,) array_like, optional
        Only used when the tasks share a null direction: the orbit's component in the common
        nullspace is that of ``G_ref`` (any choice is an equally valid orbit, it merely slides by
        ``drift * tau`` per period). Default ``(G_star_alpha + G_star_beta) / 2``.
    rate_tol : float, optional
        Absolute threshold (1/s) on the eigenvalues of ``M_alpha + M_beta`` below which a
        direction is a common null direction; the threshold used is
        ``max(rate_tol, n * eps * max eig)``. Default: the larger ``rate_tol`` of the two tasks.
    dps : int, optional
        If given (an integer ``>= 16``), compute instead with mpmath at ``dps`` decimal digits
        by an independent route (``mpmath.expm`` of the augmented matrices
        ``[[-M h, (M G* + B) h], [0, 0]]``, LU solve of (D11) in high precision). For
        verification; slow (milliseconds per period). Default None: float64. Refused together
        with ``rtol`` or an ``AffineBias``.
    rtol : float, optional
        Guaranteed relative accuracy of ``G0`` and ``G_half``, a number in (0, 1). The float64
        engine is accurate to a small multiple of ``eps * condition``; periods where
        ``30 * eps * condition > rtol`` (ill-conditioned: nearly parallel solution
        spaces, rank-deficient tasks at very long ``tau``) are recomputed by the mpmath route
        with enough digits (``Orbit.dps`` says which, and how many). Costs milliseconds per
        recomputed period for a few gates and grows as ``n^3`` in pure Python: meant for small
        networks. Default None: float64 throughout, with ``condition`` to judge the result.
        Refused together with ``dps`` or an ``AffineBias``.
    box : (lo, hi), optional
        Gate limits, V: each a number or an ``(n,)`` array, finite, with ``lo < hi``. The
        result is then the limit cycle of the *projected* dynamics, in which a gate at a limit
        stays there while its velocity (D2) points outward and is released when it turns
        inward: a :class:`~clln_theory.theory.box_results.BoxOrbit`, exact to round-off at
        every ``tau`` (pieces in closed form, event times to machine precision, the fixed point
        of the piecewise-affine period map by Newton; ``theory/_box_orbit.py``). ``G_star``
        may lie outside the box (the cycle then saturates on that side); the cycle itself
        always lies inside. Where the orbit without limits stays inside, the result equals it
        (``unconstrained_in_box``). Refused with ``G_ref`` (the box fixes the orbit along
        common null directions), ``dps``, ``rtol`` or an ``AffineBias``. Default None.

    Returns
    -------
    Orbit or AffineOrbit or BoxOrbit
        ``G0``, ``G_half``, ``span``, ``drift``, ``condition`` (and the inputs); an
        ``AffineOrbit`` for an ``AffineBias``; a ``BoxOrbit`` with ``box`` (``G0``,
        ``G_half``, ``span``, ``saturated``, ``pieces``, ``unconstrained_in_box``). All satisfy
        :class:`ClosedOrbit`.

    Raises
    ------
    ShapeError
        If the tasks have different sizes or ``B``, ``G_ref``, ``tau`` have the wrong shape.
    ArgumentError
        If a task is not a :class:`LinearTask`; ``B`` or ``G_ref`` has a NaN or inf; a period
        is ``<= 0``, NaN or inf; ``rate_tol`` is not a finite number ``>= 0``, ``rtol`` not a
        number in (0, 1) or ``dps`` not an integer ``>= 16``; or ``dps`` is given with ``rtol``,
        or either with an ``AffineBias`` (options the call would not honour); ``box`` is not a
        pair of finite limits with ``lo < hi``, or is given with ``G_ref``, ``dps``, ``rtol``
        or an ``AffineBias``.
    SingularSystemError
        If the system on the complement of the common nullspace is singular to working precision.
    ConvergenceError
        With ``box``, if no periodic orbit is found at some period: the event sequence of the
        period map does not settle within 60 Newton steps (never a wrong cycle is returned).

    Warns
    -----
    AccuracyWarning
        If the condition number of ``M_alpha + M_beta`` on that complement times machine epsilon
        exceeds 1e-6 (the message carries the estimate); if ``rtol``
        cannot be met because the common nullspace is ill-determined by the inputs; if the
        system is numerically semidefinite and solved by LU.
    GateBoxWarning
        With ``box``, if the orbit without limits leaves the box at some period (the message
        lists them; ``unconstrained_in_box`` is False there and the result is the cycle pinned
        at the limits). Not raised for an orbit that stays inside.

    Notes
    -----
    Long function: the docstring is the full contract; the body is some thirty lines.

    With a low-rank task (``LinearTask.from_factor``; the other may be dense) both tasks are
    reduced to the span ``U`` (n, k) of their ranges, ``k <= r_alpha + r_beta``, solved there by
    this engine and lifted; the complement is the common nullspace (``drift = (1 - U U^T) B``, the
    component of ``G0`` from ``G_ref``). The result is a ``LowRankOrbit`` (an :class:`Orbit` with
    ``range_basis`` = ``U`` and ``reduced`` = the ``k x k`` orbit) that forms ``G0`` and
    ``G_half`` only when read: ``O(n r^2)`` setup, memory ``O(n k + T k)``.

    Solves the symmetric mid-alpha form of (D10), algebraically identical to the paper's (D11)
    but a sum of two positive semi-definite matrices (no cancellation at any ``tau``, no
    inverse, no pseudoinverse), Cholesky-factored per period; the common nullspace of
    ``M_alpha`` and ``M_beta`` is split off and drifts instead of being taken "as a
    pseudoinverse". The module docstring of ``clln_theory.theory.orbits`` gives the algebra,
    the solver paths and the accuracy.

    Examples
    --------
    Two single-point tasks in two gates (solution lines crossing at (1, 1)):

    >>> import numpy as np
    >>> from clln_theory import LinearTask, periodic_orbit
    >>> u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    >>> a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    >>> orbit = periodic_orbit(a, b, B=[0.1, -0.2], tau=[1e-3, 1.0, 1e3])
    >>> orbit.G0.shape, [f"{D:.4g}" for D in orbit.span]
    ((3, 2), ['0.0002236', '0.2236', '223.6'])
    >>> orbit.trajectory(5).G.shape  # 5 samples of each of the 3 periods
    (3, 5, 2)

    Inside the box [0.9, 1.1] V the longer periods saturate: gate 1, free under task alpha,
    drifts to its lower limit and is pinned there for the rest of the half period, and the
    span levels off:

    >>> boxed = periodic_orbit(a, b, B=[0.1, -0.2], tau=[1e-3, 1.0, 1e3], box=(0.9, 1.1))
    >>> boxed.saturated.tolist(), [f"{D:.4g}" for D in boxed.span]
    ([False, True, True], ['0.0002236', '0.08996', '0.09049'])
    >>> boxed.pieces[2][1]  # doctest: +ELLIPSIS
    BoxPiece(task=0, t_start=0.0468..., t_end=500.0, pinned_lo=(1,), pinned_hi=())
    """
    if box is not None:
        return _boxed(task_a, task_b, B, tau, box, G_ref, rate_tol, dps, rtol)
    if isinstance(B, AffineBias):  # state-dependent bias: theory/_affine.py
        return _affine(task_a, task_b, B, tau, G_ref, rate_tol, dps, rtol)
    task_a, task_b, Bv, G_ref_v, tol = pair_inputs(task_a, task_b, B, G_ref, rate_tol)
    taus, scalar = periods(tau)
    if dps is not None and rtol is not None:
        raise ArgumentError(
            "Arguments `dps` and `rtol` of `periodic_orbit` exclude each other: `dps` computes "
            "every period in mpmath, `rtol` only those float64 cannot deliver; pass one."
        )
    rtol_v = None
    if rtol is not None:
        rtol_v = number(rtol, "rtol", low=0.0, high=1.0, low_open=True, high_open=True)
    dps_v = None if dps is None else count(dps, "dps", minimum=16)
    if any_low_rank(task_a, task_b):  # factor form: the span of the ranges, drift on the rest
        pp = project_pair(task_a, task_b, Bv, G_ref_v, tol)
        reduced = None
        if pp.task_a is not None and pp.task_b is not None:
            d = dense_orbit(pp.task_a, pp.task_b, pp.B, taus, pp.G_ref, tol, dps=dps_v, rtol=rtol_v)
            reduced = orbit_from(pp.task_a, pp.task_b, pp.B, taus, scalar, d)
        return lowrank_orbit_from(task_a, task_b, Bv, taus, scalar, pp, reduced)
    d = dense_orbit(task_a, task_b, Bv, taus, G_ref_v, tol, dps=dps_v, rtol=rtol_v)
    return orbit_from(task_a, task_b, Bv, taus, scalar, d)


def _affine(
    task_a: object,
    task_b: object,
    B: AffineBias,
    tau: Any,
    G_ref: ArrayLike | None,
    rate_tol: float | None,
    dps: int | None,
    rtol: float | None,
) -> AffineOrbit:
    """The ``AffineBias`` route of :func:`periodic_orbit` (one scalar ``tau``): refuses ``dps``
    and ``rtol`` (the affine engine is float64 only), checks once, solves the cycle."""
    for name, value in (("dps", dps), ("rtol", rtol)):
        if value is not None:
            raise ArgumentError(
                f"Arguments `B` (an AffineBias) and `{name}` of `periodic_orbit` exclude each "
                f"other: the state-dependent orbit is computed in float64 only; drop `{name}`."
            )
    check_pair(task_a, task_b)
    assert isinstance(task_a, LinearTask) and isinstance(task_b, LinearTask)  # check_pair
    t = number(tau, "tau", low=0.0, low_open=True, unit="s")
    h = np.asarray([t / 2, t / 2], dtype=float)
    return affine_orbit_checked((task_a, task_b), B, h, G_ref, rate_tol)


def _boxed(
    task_a: object,
    task_b: object,
    B: Any,
    tau: Any,
    box: Any,
    G_ref: ArrayLike | None,
    rate_tol: float | None,
    dps: int | None,
    rtol: float | None,
) -> BoxOrbit:
    """The ``box`` route of :func:`periodic_orbit`: refuses what it does not honour, checks
    once, hands the unconstrained orbit to the box engine as its candidate."""
    for name, value in (("G_ref", G_ref), ("dps", dps), ("rtol", rtol)):
        if value is not None:
            raise ArgumentError(
                f"Arguments `box` and `{name}` of `periodic_orbit` exclude each other: the orbit "
                f"in the gate box is computed in float64 and fixed by the box; drop `{name}`."
            )
    if isinstance(B, AffineBias):
        raise ArgumentError(
            "Arguments `box` and `B` (an AffineBias) of `periodic_orbit` exclude each other: "
            "the orbit in the gate box is computed for a constant bias."
        )
    task_a, task_b, Bv, G_ref_v, tol = pair_inputs(task_a, task_b, B, None, rate_tol)
    taus, scalar = periods(tau)
    lo, hi = check_box(box, task_a.n)
    unc = None
    if not any_low_rank(task_a, task_b):  # the package's orbit, verified by the box engine
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AccuracyWarning)
                d = dense_orbit(task_a, task_b, Bv, taus, G_ref_v, tol, dps=None, rtol=None)
            if d.Q.shape[1] == 0 or not np.any(d.Q.T @ Bv):
                unc = np.stack([d.G0, d.G_half], axis=1)
        except SingularSystemError:
            unc = None
    H = np.stack([taus / 2, taus / 2], axis=1)
    orbits = box_cycle_orbits((task_a, task_b), Bv, H, lo, hi, tol, unc)
    out = box_orbit_from(task_a, task_b, Bv, taus, scalar, (lo, hi), tol, orbits)
    outside = ~np.atleast_1d(out.unconstrained_in_box)
    if np.any(outside):  # the gate range is known here: say that the limits act
        warnings.warn(
            GateBoxWarning(
                f"The orbit without limits leaves the gate box at {int(outside.sum())} of "
                f"{outside.size} periods (tau = {np.round(taus[outside], 9).tolist()[:5]} s): "
                "there the result is the cycle pinned at the limits (`unconstrained_in_box` "
                "False), not the linear theory's unconstrained orbit."
            ),
            stacklevel=3,
        )
    return out
