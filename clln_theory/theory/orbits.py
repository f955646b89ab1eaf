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

The float64 kernels live in ``_orbit_float.py`` and the mpmath route in ``_orbit_mp.py`` (private
modules of this room).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import count, finite_outputs, number, times
from ..errors import AccuracyWarning, ShapeError, SingularSystemError
from ..model.bias import AffineBias
from ._limits import check_samples
from ._lowrank import any_low_rank
from ._orbit_float import SINGULAR_MESSAGE, orbit_float
from ._orbit_mp import orbit_mpmath
from ._pair import pair_inputs, periods
from ._spectral import EPS, flow, rank_threshold
from .affine import affine_orbit
from .linear import LinearTask

__all__ = ["ACCURACY_WARN_LEVEL", "RTOL_SAFETY", "Orbit", "OrbitTrajectory", "periodic_orbit"]

#: Estimated relative error (condition number of ``M_alpha + M_beta`` on the complement of the
#: common nullspace, times machine epsilon) above which :func:`periodic_orbit` warns.
ACCURACY_WARN_LEVEL = 1e-6

#: Safety factor on the attainable-accuracy estimate ``eps * Orbit.condition`` when deciding,
#: for ``periodic_orbit(..., rtol=...)``, which periods float64 cannot deliver: the engine's
#: observed error stayed within 9.8 eps * kappa * |G0| (typically 1.2) over 1,960 sampled (pair,
#: tau) cases, tau = 1e-9..1e3 s (tests/benchmarks/survey_accuracy.py).
RTOL_SAFETY = 30.0

# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrbitTrajectory:
    """Gates sampled along an orbit.

    Attributes
    ----------
    times : ndarray of shape (m,) or (T, m)
        Sample times, s, counted from the start of task alpha.
    G : ndarray of shape (m, n) or (T, m, n)
        Gates at those times, V.
    """

    times: NDArray
    G: NDArray


@dataclass(frozen=True, slots=True)
class Orbit:
    """Limit cycle of alternating training (D7)-(D11), for one ``tau`` or a sweep.

    With a scalar ``tau`` the arrays have the shapes below; with ``T`` periods every field except
    ``task_a``, ``task_b``, ``B`` and ``null_basis`` gains a leading axis of length ``T``.

    Attributes
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first in each period) and beta.
    B : (n,) ndarray
        Bias, V/s.
    tau : float or (T,) ndarray
        Period, s.
    G0 : (n,) ndarray
        State at the start of task alpha on the orbit, (D11) (solved in the symmetric form
        described in the module docstring).
    G_half : (n,) ndarray
        State at ``tau / 2``, when training switches to task beta.
    span : float or (T,) ndarray
        Cycle span ``D = |G(tau/2) - G(tau)|`` of (4), taken literally on the trajectory: with a
        common-null drift it is ``sqrt(span_periodic**2 + (tau/2)**2 |drift|**2)``.
    span_periodic : float or (T,) ndarray
        Span of the periodic part alone (the component orthogonal to the common nullspace);
        equal to ``span`` when a closed orbit exists.
    dps : int or (T,) ndarray of int
        0 where the period was computed in float64; otherwise the mpmath precision (decimal
        digits) used, by request (``dps=``) or to meet ``rtol=``.
    null_coupling : float
        With a common null direction: how well the inputs determine the split at all, the
        largest coupling ``|P^T M_mu Q|`` (plus the largest eigenvalue magnitude inside the
        nullspace) relative to the slowest rate kept. Zero for exactly PSD inputs with an exact
        shared null; included in ``condition`` (as ``null_coupling / eps``).
    drift : (n,) ndarray
        Velocity along the common nullspace of ``M_alpha`` and ``M_beta`` (V/s): the projection
        of ``B`` on it; zeros when a closed orbit exists. The orbit then closes up to
        ``drift * tau``: ``G(tau) = G0 + drift * tau``.
    null_basis : (n, k) ndarray
        Orthonormal basis of the common nullspace (``k = 0`` when a closed orbit exists).
    condition : float or (T,) ndarray
        Estimated relative condition number ``kappa`` of ``G0``: perturbing ``M_alpha``,
        ``M_beta``, ``G*`` and ``B`` by a relative ``eps`` (what rounding the inputs to float64,
        or a backward-stable eigendecomposition, does) moves the exact ``G0`` by up to about
        ``eps * kappa * |G0|``, so ``eps * kappa`` (``eps = 2.2e-16``) is the attainable
        relative accuracy and the engine's error is a small multiple of it. It is
        ``|S_hat^-1| + (|G*_alpha| + |G_half - G*_alpha|) / |G0| +
        |S^-1| sum_mu phi_mu |M_mu| R_mu / |G0|`` with ``S`` the matrix of the
        symmetric mid-alpha system (see the module docstring), ``S_hat`` its
        Jacobi-scaled form, ``phi_mu = (1 - exp(-h lam_min)) / lam_min`` (``h`` for a singular
        ``M_mu``) the flow's sensitivity to its rate matrix and
        ``R_mu = max|G - G*_mu| + |G*_mu| + |B| / |M_mu|`` over ``G0`` and ``G_half``. Norms of
        inverses are exact for ``n = 2`` and estimates (inverse iteration, LAPACK ``dpocon``)
        otherwise. The second term is the rounding of the final sums (the engine works
        relative to ``G*_alpha``); it matters only when ``|G0|`` is far below ``|G*_alpha|``.
        NaN on the ``dps`` (mpmath) path.
    """

    task_a: LinearTask
    task_b: LinearTask
    B: NDArray
    tau: float | NDArray
    G0: NDArray
    G_half: NDArray
    span: float | NDArray
    drift: NDArray
    null_basis: NDArray = field(repr=False)
    condition: float | NDArray = field(default=float("nan"), repr=False)
    span_periodic: float | NDArray = field(default=float("nan"), repr=False)
    dps: int | NDArray = field(default=0, repr=False)
    null_coupling: float = field(default=0.0, repr=False)

    @property
    def low_rank(self) -> bool:
        """Whether the orbit is held in factored form (a pair with a low-rank task)."""
        return False

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> OrbitTrajectory:
        """Sample the gates along the orbit.

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            An ``int`` ``m >= 2`` samples one period at ``m`` equally spaced times from 0 to
            ``tau`` (inclusive); an array gives absolute times in s (``>= 0``), applied to every
            period of a sweep. Times past ``tau`` continue the periodic motion, plus
            ``drift * t`` along the common nullspace.

        Returns
        -------
        OrbitTrajectory
            ``times`` of shape (m,) or (T, m) and ``G`` of shape (m, n) or (T, m, n).

        Raises
        ------
        ArgumentError
            If an ``int`` is below 2, or a time is negative, NaN or inf, or the samples would
            hold more than ``MAX_SAMPLE_VALUES`` (10⁸) gate values.
        ShapeError
            If the array of times is not 1-D.

        Notes
        -----
        Chains (D5) for task alpha from ``G0`` over ``[0, tau/2]`` with (D5) for task beta from
        ``G_half`` over ``[tau/2, tau]``, as the last sentence of Appendix D of the paper says.
        """
        tau = np.atleast_1d(np.asarray(self.tau, dtype=float))
        G0 = np.atleast_2d(self.G0)
        G_half = np.atleast_2d(self.G_half)
        drift = np.atleast_2d(self.drift)
        if isinstance(times_or_n, (int, np.integer)) and not isinstance(times_or_n, bool):
            m = count(times_or_n, "times_or_n", minimum=2)
            check_samples(m, tau.size, G0.shape[-1])  # at most MAX_SAMPLE_VALUES
            t_abs = tau[:, None] * np.linspace(0.0, 1.0, m)[None, :]
        else:
            t = times(times_or_n, "times_or_n", positive=False)
            if t.ndim != 1:
                raise ShapeError(
                    f"Argument `times_or_n` must be 1-D, but has shape {t.shape}; pass an int "
                    "for equally spaced samples."
                )
            check_samples(t.size, tau.size, G0.shape[-1])
            t_abs = np.broadcast_to(t[None, :], (tau.size, t.size))
        cycles = np.floor(t_abs / tau[:, None])
        phase = t_abs - cycles * tau[:, None]
        # a time that is an exact multiple of tau (t > 0) is reported at the end of its period
        at_end = (phase == 0.0) & (cycles > 0)
        cycles = np.where(at_end, cycles - 1, cycles)
        phase = np.where(at_end, tau[:, None], phase)
        h = tau[:, None] / 2
        G = np.empty((*t_abs.shape, G0.shape[-1]))
        for i in range(tau.size):
            first = phase[i] <= h[i]
            G[i] = flow(self.task_a, G0[i], np.where(first, phase[i], 0.0), self.B)
            second = flow(self.task_b, G_half[i], np.where(first, 0.0, phase[i] - h[i]), self.B)
            G[i] = np.where(first[:, None], G[i], second)
            G[i] += (cycles[i] * tau[i])[:, None] * drift[i]
        if np.ndim(self.tau) == 0:
            return OrbitTrajectory(times=t_abs[0], G=G[0])
        return OrbitTrajectory(times=t_abs, G=G)


# --------------------------------------------------------------------------------------------
# periodic_orbit
# --------------------------------------------------------------------------------------------


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
) -> Orbit:
    """Closed orbit of alternating training on two tasks, (D7)-(D11) of the paper.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Task alpha (trained during ``[0, tau/2)`` of each period) and task beta, same ``n``.
    B : (n,) array_like or AffineBias
        Bias, V/s; an ``AffineBias`` (scalar ``tau``) returns ``affine.affine_orbit(...)``.
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
        verification; slow (milliseconds per period).
    rtol : float, optional
        Guaranteed relative accuracy of ``G0`` and ``G_half``, a number in (0, 1). The float64
        engine is accurate to a small multiple of ``eps * condition``; periods where
        ``RTOL_SAFETY * eps * condition > rtol`` (ill-conditioned: nearly parallel solution
        spaces, rank-deficient tasks at very long ``tau``) are recomputed by the mpmath route
        with enough digits (``Orbit.dps`` says which, and how many). Costs milliseconds per
        recomputed period for a few gates and grows as ``n^3`` in pure Python: meant for small
        networks. Default: float64 throughout, with ``condition`` to judge the result.

    Returns
    -------
    Orbit
        ``G0``, ``G_half``, ``span``, ``drift``, ``condition`` (and the inputs).

    Raises
    ------
    ShapeError
        If the tasks have different sizes or ``B``, ``G_ref``, ``tau`` have the wrong shape.
    ArgumentError
        If a task is not a :class:`LinearTask`; ``B`` or ``G_ref`` has a NaN or inf; a period
        is ``<= 0``, NaN or inf; ``rate_tol`` is not a finite number ``>= 0``, ``rtol`` not a
        number in (0, 1) or ``dps`` not an integer ``>= 16``.
    SingularSystemError
        If the system on the complement of the common nullspace is singular to working precision.

    Warns
    -----
    AccuracyWarning
        If the condition number of ``M_alpha + M_beta`` on that complement times machine epsilon
        exceeds :data:`ACCURACY_WARN_LEVEL` (the message carries the estimate); if ``rtol``
        cannot be met because the common nullspace is ill-determined by the inputs; if the
        system is numerically semidefinite and solved by LU.

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
    """
    if isinstance(B, AffineBias):  # state-dependent bias: theory/affine.py
        return affine_orbit(task_a, task_b, B=B, tau=tau, G_ref=G_ref, rate_tol=rate_tol)
    if any_low_rank(task_a, task_b):  # factor form: theory/_orbit_lowrank.py
        return _lowrank(
            task_a, task_b, B=B, tau=tau, G_ref=G_ref, rate_tol=rate_tol, dps=dps, rtol=rtol
        )
    B, G_ref, rate_tol = pair_inputs(task_a, task_b, B, G_ref, rate_tol)
    taus, scalar = periods(tau)
    if rtol is not None:
        rtol = number(rtol, "rtol", low=0.0, high=1.0, low_open=True, high_open=True)
    if dps is not None:
        dps = count(dps, "dps", minimum=16)
    split = _common_null(task_a, task_b, rate_tol)
    null_coupling = _null_coupling(task_a, task_b, split)
    G0, G_half, span, cond, used_dps = _solve(
        task_a, task_b, B, taus, G_ref, split, null_coupling, dps=dps, rtol=rtol
    )
    return _assemble(
        task_a,
        task_b,
        B,
        taus,
        scalar,
        split.Q,
        null_coupling,
        G0=G0,
        G_half=G_half,
        span_periodic=np.asarray(span, dtype=float),
        cond=cond,
        used_dps=used_dps,
    )


# --------------------------------------------------------------------------------------------
# the steps of periodic_orbit
# --------------------------------------------------------------------------------------------


def _lowrank(task_a: LinearTask, task_b: LinearTask, **kw: object) -> Orbit:
    """The factor-form route (``theory/_orbit_lowrank.py``, which imports this module)."""
    from ._orbit_lowrank import lowrank_orbit

    return lowrank_orbit(task_a, task_b, **kw)


@dataclass(frozen=True, slots=True)
class _NullSplit:
    """Orthonormal bases ``P`` of the complement and ``Q`` of the common nullspace of
    ``M_alpha`` and ``M_beta``, the threshold ``thr`` (1/s) that decided, and the eigenvalues
    ``lam`` of ``M_alpha + M_beta`` with their ``null`` mask (None when Weyl's bounds alone
    excluded a common null direction and an ill-conditioned sum)."""

    thr: float
    P: NDArray
    Q: NDArray
    lam: NDArray | None
    null: NDArray


def _common_null(task_a: LinearTask, task_b: LinearTask, rate_tol: float) -> _NullSplit:
    """The common nullspace of ``M_alpha`` and ``M_beta`` = the nullspace of their (PSD) sum.

    When one task has full rank there is none unless the threshold says so, and eigenvalues
    alone decide that. Weyl's inequalities bound the spectrum of the sum by the cached spectra
    of the tasks: ``lam_min(M_a + M_b) >= max(lam_min(M_a), lam_min(M_b))`` and ``lam_max`` is at
    most the sum of the ``lam_max``. When those bounds already exclude a common null direction
    and an ill-conditioned sum, no eigendecomposition of the sum is needed (it is ~2 ms of a
    100-period sweep at n = 256).
    """
    n = task_a.n
    M_sum = task_a.M + task_b.M
    lo = max(float(task_a.eigvals[0]), float(task_b.eigvals[0]))
    hi = float(task_a.eigvals[-1]) + float(task_b.eigvals[-1])
    thr_hi = rank_threshold(rate_tol, n, hi)
    if lo > thr_hi and hi * EPS <= ACCURACY_WARN_LEVEL * lo:
        null = np.zeros(n, dtype=bool)
        U_S = np.eye(n)
        return _NullSplit(thr=thr_hi, P=U_S[:, ~null], Q=U_S[:, null], lam=None, null=null)
    U_S = None
    if max(task_a.rank, task_b.rank) == n:
        lam_S = np.linalg.eigvalsh(M_sum)
    else:
        lam_S, U_S = np.linalg.eigh(M_sum)
    thr = rank_threshold(rate_tol, n, max(float(lam_S[-1]), 0.0))
    null = lam_S <= thr
    if U_S is None:
        if np.any(null):
            lam_S, U_S = np.linalg.eigh(M_sum)
            null = lam_S <= thr
        else:
            U_S = np.eye(n)
    return _NullSplit(thr=thr, P=U_S[:, ~null], Q=U_S[:, null], lam=lam_S, null=null)


def _null_coupling(task_a: LinearTask, task_b: LinearTask, split: _NullSplit) -> float:
    """How well the inputs determine the split (``Orbit.null_coupling``); warns when
    ``M_alpha + M_beta`` is ill-conditioned on the complement of the common nullspace.

    Splitting off the common nullspace drops the couplings ``P^T M_mu Q``, zero for exactly PSD
    inputs with an exact shared null but of the size of the inputs' indefiniteness otherwise
    (``LinearTask`` accepts eigenvalues down to ``-psd_tol``). Relative to the slowest rate kept
    they bound how well the split, and so ``G0``, is determined by the inputs at all, whatever
    the arithmetic: ``null_coupling`` reports it and ``condition`` includes it.
    """
    n, k = task_a.n, split.Q.shape[1]
    lam_S, null, P, Q = split.lam, split.null, split.P, split.Q
    if lam_S is None:  # Weyl's bounds: no common null direction, well-conditioned sum
        return 0.0
    null_coupling = 0.0
    if 0 < k < n:
        coupling = max(np.linalg.norm(P.T @ task_a.M @ Q, 2), np.linalg.norm(P.T @ task_b.M @ Q, 2))
        null_coupling = float((coupling + np.max(np.abs(lam_S[null]))) / lam_S[~null][0])
    if k < n:
        cond = float(lam_S[-1] / lam_S[~null][0])
        if cond * EPS > ACCURACY_WARN_LEVEL:
            warnings.warn(
                f"M_alpha + M_beta has condition number {cond:.3g} on the complement of the "
                f"common nullspace: expect a relative error in G0 up to ~{cond * EPS:.1e}.",
                AccuracyWarning,
                stacklevel=3,  # the caller of periodic_orbit
            )
    return null_coupling


def _solve(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    split: _NullSplit,
    null_coupling: float,
    *,
    dps: int | None,
    rtol: float | None,
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """``G0``, ``G_half``, periodic span, ``condition`` and ``dps`` of every period: mpmath
    when ``dps`` is given, else float64 with the periods ``rtol`` needs redone in mpmath."""
    if dps is not None:
        G0, G_half, span = orbit_mpmath(task_a, task_b, B, taus, G_ref, split.thr, dps)
        return G0, G_half, span, np.full(taus.size, np.nan), np.full(taus.size, dps)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        G0, G_half, span, cond = orbit_float(task_a, task_b, B, taus, G_ref, split.P, split.Q)
    if not (np.all(np.isfinite(G0)) and np.all(np.isfinite(G_half))):
        raise SingularSystemError(SINGULAR_MESSAGE)
    cond = cond + null_coupling / EPS
    used_dps = np.zeros(taus.size, dtype=int)
    if rtol is None:
        return G0, G_half, span, cond, used_dps
    if RTOL_SAFETY * null_coupling > rtol:
        warnings.warn(
            f"rtol={rtol:.1e} cannot be met: the common nullspace of M_alpha and M_beta is "
            f"only determined to a relative {null_coupling:.1e} by the inputs (their "
            "couplings to it, or their eigenvalues in it, are not zero: slightly indefinite "
            "inputs or a rate_tol too large); no precision helps. Returning float64.",
            AccuracyWarning,
            stacklevel=3,  # the caller of periodic_orbit
        )
        return G0, G_half, span, cond, used_dps
    redo = ~(RTOL_SAFETY * EPS * cond <= rtol)
    if np.any(redo):
        # digits: those lost to conditioning, those asked for, and a margin of 10
        need = np.log10(RTOL_SAFETY * np.max(cond[redo])) - np.log10(rtol)
        n_dps = max(30, int(np.ceil(need)) + 10)
        G0m, Ghm, spm = orbit_mpmath(task_a, task_b, B, taus[redo], G_ref, split.thr, n_dps)
        G0[redo], G_half[redo], span[redo] = G0m, Ghm, spm
        used_dps[redo] = n_dps
    return G0, G_half, span, cond, used_dps


def _assemble(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    scalar: bool,
    Q: NDArray,
    null_coupling: float,
    *,
    G0: NDArray,
    G_half: NDArray,
    span_periodic: NDArray,
    cond: NDArray,
    used_dps: NDArray,
) -> Orbit:
    """The :class:`Orbit` (the one place it is built): drift, the span (4), read-only arrays,
    and the scalar fields of a scalar ``tau``."""
    n = task_a.n
    drift = Q @ (Q.T @ B)
    drift_T = np.broadcast_to(drift, (taus.size, n)).copy()
    # (4) literally: G(tau/2) - G(tau) = -(periodic step) - (tau/2) drift, the two orthogonal
    span = np.hypot(span_periodic, 0.5 * taus * float(np.linalg.norm(drift)))
    for a in (B, G0, G_half, span, drift, drift_T, Q, taus, cond, span_periodic, used_dps):
        a.setflags(write=False)
    if scalar:
        per_tau = dict(
            tau=float(taus[0]),
            G0=G0[0],
            G_half=G_half[0],
            span=float(span[0]),
            drift=drift,
            condition=float(cond[0]),
            span_periodic=float(span_periodic[0]),
            dps=int(used_dps[0]),
        )
    else:
        per_tau = dict(
            tau=taus,
            G0=G0,
            G_half=G_half,
            span=span,
            drift=drift_T,
            condition=cond,
            span_periodic=span_periodic,
            dps=used_dps,
        )
    return Orbit(
        task_a=task_a, task_b=task_b, B=B, null_basis=Q, null_coupling=null_coupling, **per_tau
    )
