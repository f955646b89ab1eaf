"""Closed limit cycles of alternating two-task training: (D6)-(D11) of the paper.

Training task alpha for ``tau / 2`` then task beta for ``tau / 2``, over and over, drives the
gates onto a closed orbit whose start ``G0`` solves (D10)::

    G0 = A_beta (A_alpha G0 + b_alpha) + b_beta,      A_mu = exp(-tau/2 M_mu)   (D8), (D9)

:func:`periodic_orbit` solves it for one period or a whole sweep of periods at once, stably for
every ``tau`` (see its Notes), splitting off the drift along any null direction the two tasks
share (where no closed orbit exists). :class:`Orbit` holds the result and samples the trajectory.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, NDArray

from ..errors import AccuracyWarning, ShapeError, SingularSystemError, TaskError
from .linear import _EPS, LinearTask, _as_times, _as_vector, _phi1_times

_dsyrk = scipy.linalg.blas.dsyrk
_dpotrf = scipy.linalg.lapack.dpotrf
_dpotrs = scipy.linalg.lapack.dpotrs
_dposv = scipy.linalg.lapack.dposv

__all__ = ["Orbit", "OrbitTrajectory", "periodic_orbit"]

#: Estimated relative error (condition number of ``M_alpha + M_beta`` on the complement of the
#: common nullspace, times machine epsilon) above which :func:`periodic_orbit` warns.
ACCURACY_WARN_LEVEL = 1e-6

#: Safety factor on the attainable-accuracy estimate ``eps * Orbit.condition`` when deciding,
#: for ``periodic_orbit(..., rtol=...)``, which periods float64 cannot deliver: the engine's
#: observed error stayed within 9.8 eps * kappa * |G0| (typically 1.2) over 1,960 sampled (pair,
#: tau) cases, tau = 1e-9..1e3 s (tests/benchmarks/survey_accuracy.py).
RTOL_SAFETY = 30.0

#: From this size on, periods are looped over calling BLAS ``dsyrk`` and LAPACK ``dpotrf`` /
#: ``dpotrs`` / ``dpocon`` directly (BLAS-3 dominated); below it, batched numpy over the periods.
_LOOP_MIN_N = 48

#: Below this size the periods are solved as numpy stacks (``np.linalg.cholesky`` / ``solve`` on
#: (T, n, n)); from it on (and below ``_LOOP_MIN_N``) by one LAPACK ``dposv`` call per period.
_STACK_MAX_N = 16

#: ``exp(-x)`` for ``x`` beyond this (``< 1e-150``) is set to 0: it multiplies quantities of
#: order 1 (relative contribution below 1e-150) and its products would be subnormal numbers,
#: which slow floating-point arithmetic down by orders of magnitude.
_FLUSH_X = 345.0

#: Largest number of ``tau * n * n`` matrix entries held at once by the batched solver (~64 MB).
_CHUNK_ENTRIES = 8_000_000


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
        State at the start of task alpha on the orbit, (D11) (solved in the symmetric form of
        :func:`periodic_orbit`, Notes).
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
        symmetric mid-alpha system (see :func:`periodic_orbit`, Notes), ``S_hat`` its
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
            if times_or_n < 2:
                raise ShapeError(
                    f"Argument `times_or_n` must be an int >= 2 or an array of times, "
                    f"but is {times_or_n}."
                )
            times = tau[:, None] * np.linspace(0.0, 1.0, int(times_or_n))[None, :]
        else:
            t = _as_times(times_or_n, "times_or_n", positive=False)
            if t.ndim != 1:
                raise ShapeError(
                    f"Argument `times_or_n` must be 1-D, but has shape {t.shape}; pass an int "
                    "for equally spaced samples."
                )
            times = np.broadcast_to(t[None, :], (tau.size, t.size))
        cycles = np.floor(times / tau[:, None])
        phase = times - cycles * tau[:, None]
        # a time that is an exact multiple of tau (t > 0) is reported at the end of its period
        at_end = (phase == 0.0) & (cycles > 0)
        cycles = np.where(at_end, cycles - 1, cycles)
        phase = np.where(at_end, tau[:, None], phase)
        h = tau[:, None] / 2
        G = np.empty((*times.shape, G0.shape[-1]))
        for i in range(tau.size):
            first = phase[i] <= h[i]
            G[i] = _evolve_rows(self.task_a, G0[i], np.where(first, phase[i], 0.0), self.B)
            second = _evolve_rows(
                self.task_b, G_half[i], np.where(first, 0.0, phase[i] - h[i]), self.B
            )
            G[i] = np.where(first[:, None], G[i], second)
            G[i] += (cycles[i] * tau[i])[:, None] * drift[i]
        if np.ndim(self.tau) == 0:
            return OrbitTrajectory(times=times[0], G=G[0])
        return OrbitTrajectory(times=times, G=G)


def _evolve_rows(task: LinearTask, G0: NDArray, t: NDArray, B: NDArray) -> NDArray:
    """(D5) from ``G0`` at times ``t`` (1-D), without re-validating (internal)."""
    U = task.eigvecs
    v = U.T @ task.velocity(G0, B)
    _, _, phi = _phi1_times(task.eigvals, t)
    return G0 + (phi * v) @ U.T


# --------------------------------------------------------------------------------------------
# periodic_orbit
# --------------------------------------------------------------------------------------------


def periodic_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    B: ArrayLike,
    tau: float | ArrayLike,
    *,
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
    B : (n,) array_like
        Bias, V/s.
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
        If given, compute instead with mpmath at ``dps`` decimal digits by an independent route
        (``mpmath.expm`` of the augmented matrices ``[[-M h, (M G* + B) h], [0, 0]]``, LU solve
        of (D11) in high precision). For verification; slow (milliseconds per period).
    rtol : float, optional
        Guaranteed relative accuracy of ``G0`` and ``G_half``. The float64 engine is accurate
        to a small multiple of ``eps * condition``; periods where ``RTOL_SAFETY * eps *
        condition > rtol`` (ill-conditioned: nearly parallel solution spaces, rank-deficient
        tasks at very long ``tau``) are recomputed by the mpmath route with enough digits
        (``Orbit.dps`` says which, and how many). Costs milliseconds per recomputed period for
        a few gates and grows as ``n^3`` in pure Python: meant for small networks. Default:
        float64 throughout, with ``condition`` to judge the result.

    Returns
    -------
    Orbit
        ``G0``, ``G_half``, ``span``, ``drift``, ``condition`` (and the inputs).

    Raises
    ------
    ShapeError
        If the tasks have different sizes or ``B``, ``G_ref``, ``tau`` have the wrong shape.
    TaskError
        If ``B`` or ``G_ref`` has a NaN or inf, or a task is not a :class:`LinearTask`.
    ProtocolError
        If a period is ``<= 0``, NaN or inf.
    SingularSystemError
        If the system on the complement of the common nullspace is singular to working precision.

    Warns
    -----
    AccuracyWarning
        If the condition number of ``M_alpha + M_beta`` on that complement times machine epsilon
        exceeds :data:`ACCURACY_WARN_LEVEL` (the message carries the estimate).

    Notes
    -----
    The paper's literal (D11), ``G0 = (1 - A_beta A_alpha)^-1 (A_beta b_alpha + b_beta)``, loses
    up to ~10 digits at small ``tau`` (``1 - A_beta A_alpha`` cancels) and needs an inverse.
    This function solves the algebraically identical *symmetric mid-alpha* form instead. With
    ``h = tau / 2``, ``q = h / 2``, ``C = A_alpha(q) = exp(-q M_alpha)`` and ``E = 1 - A``, the
    state ``z = G(q)`` on the closed orbit obeys (the period map (D10) started at ``q``)

        (1 - C A_beta C) z = C (A_beta b_alpha(q) + b_beta(h)) + b_alpha(q),
        1 - C A_beta C = E_alpha(h) + C E_beta(h) C        (using C^2 = A_alpha(h)),

    a sum of two positive semi-definite matrices: no cancellation at any ``tau``. In the
    eigenbasis of ``M_alpha``, with ``W = U_alpha^T U_beta`` computed once, the matrix is
    ``S = diag(1 - exp(-h lam_alpha)) + V V^T`` with ``V = diag(exp(-q lam_alpha)) W
    diag(sqrt(1 - exp(-h lam_beta)))``; every exponential comes from ``exp``/``expm1``. Then
    ``G_half = C z + b_alpha(q)`` and ``G0 = G_half + h phi_1(-h M_beta) v_beta(G_half)`` ((D5)
    for task beta), with ``b_mu(s) = U diag((1 - exp(-s lam)) / lam) U^T (M G* + B)`` (``s`` at
    ``lam = 0``): the phi_1 form of (D9), which needs no threshold for each task's own
    nullspace. No inverse and no pseudoinverse anywhere. ``S`` is Jacobi-scaled to unit
    diagonal and Cholesky-factored: one SYRK (``~n^3`` flops) and one Cholesky (``n^3 / 3``) per
    period, versus an LU of a general matrix plus a GEMM for (D11). ``n = 2`` uses explicit 2 x 2
    algebra on length-T arrays (the determinant of ``S`` is a sum of four non-negative terms);
    ``n < 16`` numpy stacks over the periods; ``n < 48`` one LAPACK ``dposv`` per period;
    beyond, BLAS ``dsyrk`` + LAPACK ``dpotrf``/``dpotrs`` per period. If Cholesky fails (a
    nearly common null direction left above the rate threshold), an LU solve with an
    :class:`~clln_theory.errors.AccuracyWarning` carrying the condition number is used, or
    :class:`~clln_theory.errors.SingularSystemError` is raised. Coordinates are taken relative to
    ``G*_alpha`` so that small deviations (span, bias shift) keep relative accuracy.

    Accuracy: the relative error of ``G0`` is a small multiple of ``eps * Orbit.condition``
    (the estimated sensitivity to rounding of the inputs, see :class:`Orbit`); at large ``tau``
    with rank-deficient tasks ``G0`` holds drift terms ``~ h N B`` whose null directions and
    rates are themselves only defined to ``~eps |M|`` by the float64 inputs, and nearly parallel
    solution spaces make ``S`` ill-conditioned: there ``condition`` is large and no float64
    method can do better.

    The paper notes that when no closed orbit exists (D11) "should be taken as a pseudoinverse".
    This function departs from that: the common nullspace of ``M_alpha`` and ``M_beta`` (the
    nullspace of ``M_alpha + M_beta`` at the rate threshold) is split off; there the gates move
    at ``drift = Q Q^T B``; in the complement the reduced tasks ``P^T M_mu P`` (coupling to the
    null directions, zero up to the threshold, dropped) have a closed orbit, solved as above.
    ``G0`` then has the common-null component of ``G_ref``, and the orbit is periodic up to
    ``drift * tau``. ``span`` is (4) on that trajectory (periodic part and the drift over
    ``tau / 2``); ``span_periodic`` is the periodic part alone.

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
    if not isinstance(task_a, LinearTask):
        raise TaskError(f"Argument `task_a` must be a LinearTask, but is {type(task_a).__name__}.")
    if not isinstance(task_b, LinearTask):
        raise TaskError(f"Argument `task_b` must be a LinearTask, but is {type(task_b).__name__}.")
    n = task_a.n
    if task_b.n != n:
        raise ShapeError(
            f"Argument `task_b` must have as many gates as `task_a` ({n}), but has {task_b.n}."
        )
    B = _as_vector(B, "B", n)
    tau_arr = _as_times(tau, "tau", positive=True)
    if tau_arr.ndim > 1:
        raise ShapeError(f"Argument `tau` must be a scalar or 1-D, but has shape {tau_arr.shape}.")
    scalar = tau_arr.ndim == 0
    taus = np.atleast_1d(tau_arr)
    if G_ref is None:
        G_ref = 0.5 * (task_a.G_star + task_b.G_star)
    else:
        G_ref = _as_vector(G_ref, "G_ref", n)
    if rate_tol is None:
        rate_tol = max(task_a.rate_tol, task_b.rate_tol)
    elif not (np.isfinite(rate_tol) and rate_tol >= 0):
        raise TaskError(f"Argument `rate_tol` must be a finite number >= 0, but is {rate_tol!r}.")

    # common nullspace of M_alpha and M_beta = nullspace of their (PSD) sum; when one task has
    # full rank there is none unless the threshold says so, and eigenvalues alone decide that
    M_sum = task_a.M + task_b.M
    U_S = None
    # Weyl's inequalities bound the spectrum of the sum by the cached spectra of the tasks:
    # lam_min(M_a + M_b) >= max(lam_min(M_a), lam_min(M_b)) and lam_max <= the sum of the
    # lam_max. When those bounds already exclude a common null direction and an ill-conditioned
    # sum, no eigendecomposition of the sum is needed (it is ~2 ms of a 100-period sweep at
    # n = 256).
    lo = max(float(task_a.eigvals[0]), float(task_b.eigvals[0]))
    hi = float(task_a.eigvals[-1]) + float(task_b.eigvals[-1])
    thr_hi = max(float(rate_tol), n * _EPS * hi)
    if lo > thr_hi and hi * _EPS <= ACCURACY_WARN_LEVEL * lo:
        thr = thr_hi
        null = np.zeros(n, dtype=bool)
        U_S = np.eye(n)
        check_condition = False
    else:
        check_condition = True
        if max(task_a.rank, task_b.rank) == n:
            lam_S = np.linalg.eigvalsh(M_sum)
        else:
            lam_S, U_S = np.linalg.eigh(M_sum)
        thr = max(float(rate_tol), n * _EPS * max(float(lam_S[-1]), 0.0))
        null = lam_S <= thr
        if U_S is None:
            if np.any(null):
                lam_S, U_S = np.linalg.eigh(M_sum)
                null = lam_S <= thr
            else:
                U_S = np.eye(n)
    Q = U_S[:, null]
    P = U_S[:, ~null]
    k = Q.shape[1]
    # Splitting off the common nullspace drops the couplings P^T M_mu Q, zero for exactly PSD
    # inputs with an exact shared null but of the size of the inputs' indefiniteness otherwise
    # (LinearTask accepts eigenvalues down to -psd_tol). Relative to the slowest rate kept they
    # bound how well the split, and so G0, is determined by the inputs at all, whatever the
    # arithmetic: `null_coupling` reports it and `condition` includes it.
    null_coupling = 0.0
    if 0 < k < n:
        coupling = max(np.linalg.norm(P.T @ task_a.M @ Q, 2), np.linalg.norm(P.T @ task_b.M @ Q, 2))
        null_coupling = float((coupling + np.max(np.abs(lam_S[null]))) / lam_S[~null][0])
    if check_condition and k < n:
        cond = float(lam_S[-1] / lam_S[~null][0])
        if cond * _EPS > ACCURACY_WARN_LEVEL:
            warnings.warn(
                f"M_alpha + M_beta has condition number {cond:.3g} on the complement of the "
                f"common nullspace: expect a relative error in G0 up to ~{cond * _EPS:.1e}.",
                AccuracyWarning,
                stacklevel=2,
            )

    if rtol is not None and not (np.isfinite(rtol) and 0 < rtol < 1):
        raise TaskError(f"Argument `rtol` must be a number in (0, 1), but is {rtol!r}.")
    if dps is not None:
        if not (isinstance(dps, int | np.integer) and dps >= 16):
            raise TaskError(f"Argument `dps` must be an integer >= 16, but is {dps!r}.")
        G0, G_half, span = _orbit_mpmath(task_a, task_b, B, taus, G_ref, thr, int(dps))
        cond = np.full(taus.size, np.nan)
        used_dps = np.full(taus.size, int(dps))
    else:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            G0, G_half, span, cond = _orbit_float(task_a, task_b, B, taus, G_ref, P, Q)
        if not (np.all(np.isfinite(G0)) and np.all(np.isfinite(G_half))):
            raise SingularSystemError(_SINGULAR)
        cond = cond + null_coupling / _EPS
        used_dps = np.zeros(taus.size, dtype=int)
        if rtol is not None and RTOL_SAFETY * null_coupling > rtol:
            warnings.warn(
                f"rtol={rtol:.1e} cannot be met: the common nullspace of M_alpha and M_beta is "
                f"only determined to a relative {null_coupling:.1e} by the inputs (their "
                "couplings to it, or their eigenvalues in it, are not zero: slightly indefinite "
                "inputs or a rate_tol too large); no precision helps. Returning float64.",
                AccuracyWarning,
                stacklevel=2,
            )
        elif rtol is not None:
            redo = ~(RTOL_SAFETY * _EPS * cond <= rtol)
            if np.any(redo):
                # digits: those lost to conditioning, those asked for, and a margin of 10
                need = np.log10(RTOL_SAFETY * np.max(cond[redo])) - np.log10(rtol)
                n_dps = max(30, int(np.ceil(need)) + 10)
                G0m, Ghm, spm = _orbit_mpmath(task_a, task_b, B, taus[redo], G_ref, thr, n_dps)
                G0[redo], G_half[redo], span[redo] = G0m, Ghm, spm
                used_dps[redo] = n_dps
    drift = Q @ (Q.T @ B)
    drift_T = np.broadcast_to(drift, (taus.size, n)).copy()
    span_periodic = np.asarray(span, dtype=float)
    # (4) literally: G(tau/2) - G(tau) = -(periodic step) - (tau/2) drift, the two orthogonal
    span = np.hypot(span_periodic, 0.5 * taus * float(np.linalg.norm(drift)))
    arrays = [B, G0, G_half, span, drift_T, Q, taus, cond, span_periodic, used_dps]
    # (null_coupling is a float: same for every period)
    for a in arrays:
        a.setflags(write=False)
    if scalar:
        return Orbit(
            task_a,
            task_b,
            B,
            float(taus[0]),
            G0[0],
            G_half[0],
            float(span[0]),
            drift,
            Q,
            float(cond[0]),
            float(span_periodic[0]),
            int(used_dps[0]),
            null_coupling,
        )
    return Orbit(
        task_a,
        task_b,
        B,
        taus,
        G0,
        G_half,
        span,
        drift_T,
        Q,
        cond,
        span_periodic,
        used_dps,
        null_coupling,
    )


def _reduced_eig(M: NDArray, P: NDArray | None) -> tuple[NDArray, NDArray]:
    """Clipped eigendecomposition of ``P^T M P`` (``M`` itself when ``P`` is None)."""
    Mr = M if P is None else P.T @ M @ P
    lam, U = np.linalg.eigh(0.5 * (Mr + Mr.T))
    return np.clip(lam, 0.0, None), U


@dataclass(frozen=True, slots=True)
class _Factors:
    """Per-period diagonal factors of the symmetric mid-alpha form, each of shape (T, m).

    ``sa = exp(-q lam_a)`` (``C`` in the alpha basis), ``ea = 1 - exp(-h lam_a)``,
    ``pa = (1 - exp(-q lam_a)) / lam_a`` (``q`` at ``lam = 0``), ``eb = 1 - exp(-h lam_b)``,
    ``ab = exp(-h lam_b)`` and ``pb = (1 - exp(-h lam_b)) / lam_b`` (``h`` at 0); ``q = h / 2``.
    """

    sa: NDArray
    ea: NDArray
    pa: NDArray
    eb: NDArray
    ab: NDArray
    pb: NDArray


def _factors(lam_a: NDArray, lam_b: NDArray, h: NDArray) -> _Factors:
    """All exponentials of one sweep in two passes (one ``expm1``, one ``exp``) over (T, 2m)."""
    m = lam_a.size
    rates = np.concatenate([0.5 * lam_a, lam_b])  # alpha over q = h/2, beta over h
    X = np.multiply.outer(h, rates)
    E = -np.expm1(-X)
    A = np.exp(-X)
    A[X > _FLUSH_X] = 0.0  # flush: subnormal products would slow BLAS down ~100x
    inv = np.divide(1.0, rates, out=np.zeros_like(rates), where=rates > 0)
    zero = (rates == 0).astype(float)
    Phi = E * inv + np.multiply.outer(h, zero)  # (1 - e^{-h r}) / r, h at r = 0
    Phi[:, :m] *= 0.5  # alpha columns (r = lam/2): (1 - e^{-q lam}) / lam, q at lam = 0
    ea_q, sa = E[:, :m], A[:, :m]
    ea = ea_q * (1.0 + sa)  # 1 - e^{-2x} = (1 - e^{-x})(1 + e^{-x}): no cancellation
    return _Factors(sa=sa, ea=ea, pa=Phi[:, :m], eb=E[:, m:], ab=A[:, m:], pb=Phi[:, m:])


def _orbit_float(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    P: NDArray,
    Q: NDArray,
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Float64 closed orbit for all ``taus``: ``G0``, ``G_half`` (T, n), ``span``, ``condition``.

    Symmetric mid-alpha form of (D10) (see :func:`periodic_orbit`, Notes), in the eigenbasis of
    ``M_alpha`` (reduced to the complement of the common nullspace when there is one).
    """
    n, k = task_a.n, Q.shape[1]
    T = taus.size
    h = 0.5 * taus
    drift = Q @ (Q.T @ B)
    if k == n:  # no dynamics left: pure drift from G_ref
        G0 = np.broadcast_to(G_ref, (T, n)).copy()
        return G0, G0 + h[:, None] * drift, np.zeros(T), np.ones(T)
    if n == 2 and k == 0:
        return _orbit_n2(task_a, task_b, B, h)
    dG = task_b.G_star - task_a.G_star
    if k == 0:  # closed orbit: the tasks' own cached eigendecompositions
        lam_a, U_a, lam_b, U_b = task_a.eigvals, task_a.eigvecs, task_b.eigvals, task_b.eigvecs
        Mb, Bc, dGc = task_b.M, B, dG
    else:  # reduced tasks on the complement of the common nullspace
        lam_a, U_a = _reduced_eig(task_a.M, P)
        lam_b, U_b = _reduced_eig(task_b.M, P)
        Mb, Bc, dGc = P.T @ task_b.M @ P, P.T @ B, P.T @ dG
    # coordinates g = G - G*_alpha: velocities (D2) at g = 0 are c_a = B, c_b = M_b dG + B
    c_a = U_a.T @ Bc  # alpha eigenbasis
    c_b = U_b.T @ (Mb @ dGc + Bc)  # beta eigenbasis
    W = U_a.T @ U_b
    f = _factors(lam_a, lam_b, h)
    # z = G(h/2) in the alpha basis:  (E_a(h) + C E_b(h) C) z = C (A_b b_a(q) + b_b(h)) + b_a(q)
    ba = f.pa * c_a  # b_alpha(q), alpha basis  (D9)
    r = f.sa * (((ba @ W) * f.ab + f.pb * c_b) @ W.T) + ba
    m = lam_a.size
    if m == 1:
        S = f.ea[:, 0] + (f.sa[:, 0] * W[0, 0]) ** 2 * f.eb[:, 0]
        if not np.all(S > 0):
            raise SingularSystemError(_SINGULAR)
        z = r / S[:, None]
        inv_norm, inv_scaled = 1.0 / S, np.ones(T)
    elif m == 2:
        z0, z1, inv_norm, inv_scaled = _solve_2x2(
            f.ea[:, 0], f.ea[:, 1], f.sa[:, 0], f.sa[:, 1], f.eb[:, 0], f.eb[:, 1], W, r.T
        )
        z = np.stack([z0, z1], axis=-1)
    else:
        z, inv_norm, inv_scaled = _solve_spd(f, W, r)
    x_half = f.sa * z + ba  # G(tau/2) = C z + b_a(q), alpha basis
    y_half = x_half @ W  # beta basis
    dy = f.pb * (c_b - lam_b * y_half)  # G(tau) - G(tau/2) = h phi_1(-h M_b) v_b  (D5)
    g_half = x_half @ U_a.T
    dg = dy @ U_b.T
    if k:
        base = task_a.G_star - Q @ (Q.T @ task_a.G_star) + Q @ (Q.T @ G_ref)
        g_half = g_half @ P.T
        dg = dg @ P.T
        G_half = base + g_half + h[:, None] * drift
        G0 = base + g_half + dg
    else:
        G_half = task_a.G_star + g_half
        G0 = G_half + dg
    span = np.sqrt(np.sum(dy * dy, axis=-1))  # (4), periodic part
    norms = [np.linalg.norm(G0, axis=-1)]
    for task in (task_a, task_b):
        norms.append(np.linalg.norm(G0 - task.G_star, axis=-1))
        norms.append(np.linalg.norm(G_half - task.G_star, axis=-1))
    cond = _condition(task_a, task_b, B, h, lam_a, lam_b, inv_norm, inv_scaled, *norms)
    return G0, G_half, span, cond


def _orbit_n2(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, h: NDArray
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """n = 2 without a common nullspace: the same algebra as :func:`_orbit_float`, written out
    on length-T columns (a few dozen numpy passes, no (T, 2, 2) stacks or tiny matmuls)."""
    lam_a, U_a, lam_b, U_b = task_a.eigvals, task_a.eigvecs, task_b.eigvals, task_b.eigvecs
    dG = task_b.G_star - task_a.G_star
    c_a = U_a.T @ B
    c_b = U_b.T @ (task_b.M @ dG + B)
    W = U_a.T @ U_b
    w00, w01, w10, w11 = (float(v) for v in W.ravel())
    q = 0.5 * h
    ea_q0, sa0, pa0 = _col(float(lam_a[0]), q)
    ea_q1, sa1, pa1 = _col(float(lam_a[1]), q)
    eb0, ab0, pb0 = _col(float(lam_b[0]), h)
    eb1, ab1, pb1 = _col(float(lam_b[1]), h)
    ea0 = ea_q0 * (1.0 + sa0)  # 1 - e^{-h lam} without cancellation
    ea1 = ea_q1 * (1.0 + sa1)
    ba0 = pa0 * float(c_a[0])  # b_alpha(q), alpha basis  (D9)
    ba1 = pa1 * float(c_a[1])
    u0 = (ba0 * w00 + ba1 * w10) * ab0 + pb0 * float(c_b[0])  # A_b b_a + b_b, beta basis
    u1 = (ba0 * w01 + ba1 * w11) * ab1 + pb1 * float(c_b[1])
    r0 = sa0 * (w00 * u0 + w01 * u1) + ba0
    r1 = sa1 * (w10 * u0 + w11 * u1) + ba1
    z0, z1, inv_norm, inv_scaled = _solve_2x2(ea0, ea1, sa0, sa1, eb0, eb1, W, (r0, r1))
    x0 = sa0 * z0 + ba0  # G(tau/2), alpha basis
    x1 = sa1 * z1 + ba1
    dy0 = pb0 * (float(c_b[0]) - float(lam_b[0]) * (x0 * w00 + x1 * w10))  # (D5), beta basis
    dy1 = pb1 * (float(c_b[1]) - float(lam_b[1]) * (x0 * w01 + x1 * w11))
    T = h.size
    G_half = np.empty((T, 2))
    G0 = np.empty((T, 2))
    for i in range(2):
        G_half[:, i] = (float(task_a.G_star[i]) + float(U_a[i, 0]) * x0) + float(U_a[i, 1]) * x1
        G0[:, i] = G_half[:, i] + (float(U_b[i, 0]) * dy0 + float(U_b[i, 1]) * dy1)
    span = np.sqrt(dy0 * dy0 + dy1 * dy1)  # (4)

    def norm2(x: NDArray, c: NDArray) -> NDArray:
        d0 = x[:, 0] - float(c[0])
        d1 = x[:, 1] - float(c[1])
        return np.sqrt(d0 * d0 + d1 * d1)

    zero = np.zeros(2)
    norms = [norm2(G0, zero)]
    for task in (task_a, task_b):
        norms.append(norm2(G0, task.G_star))
        norms.append(norm2(G_half, task.G_star))
    cond = _condition(task_a, task_b, B, h, lam_a, lam_b, inv_norm, inv_scaled, *norms)
    return G0, G_half, span, cond


def _col(lam: float, t: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``1 - e^{-t lam}``, ``e^{-t lam}`` and ``(1 - e^{-t lam}) / lam`` (``t`` at 0), 1-D."""
    if lam == 0.0:
        return np.zeros_like(t), np.ones_like(t), t.copy()
    x = t * lam
    e = -np.expm1(-x)
    a = np.exp(-x)
    a[x > _FLUSH_X] = 0.0
    return e, a, e * (1.0 / lam)


def _condition(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    h: NDArray,
    lam_a: NDArray,
    lam_b: NDArray,
    inv_norm: NDArray,
    inv_scaled: NDArray,
    g0: NDArray,
    ra0: NDArray,
    rah: NDArray,
    rb0: NDArray,
    rbh: NDArray,
) -> NDArray:
    """Estimated relative condition number of ``G0`` (see :attr:`Orbit.condition`).

    ``g0 = |G0|``; ``ra0, rah, rb0, rbh`` are ``|G0 - G*_mu|`` and ``|G_half - G*_mu|``.
    """
    g0 = np.maximum(g0, np.finfo(float).tiny)
    # G0 is assembled as G*_alpha + (G_half - G*_alpha) + (G0 - G_half): rounding those sums
    # costs eps (|G*_alpha| + |G_half - G*_alpha|) absolutely, which dominates when |G0| is
    # far below |G*_alpha| (a stiff task beta pulling the orbit onto G*_beta = 0)
    kappa = inv_scaled + (float(np.linalg.norm(task_a.G_star)) + rah) / g0
    nB = float(np.linalg.norm(B))
    for task, lam, r0, rh in ((task_a, lam_a, ra0, rah), (task_b, lam_b, rb0, rbh)):
        norm = float(task.eigvals[-1])
        if norm == 0.0:
            continue
        lo = float(lam[0])
        # largest entry of h phi_1(-h M): the flow's sensitivity to a perturbation of its rate
        phi_max = h if lo == 0.0 else -np.expm1(-h * lo) * (1.0 / lo)
        R = np.maximum(r0, rh) + (float(np.linalg.norm(task.G_star)) + nB / norm)
        kappa += inv_norm * phi_max * (norm * R / g0)
    return kappa


_SINGULAR = (
    "The closed-orbit system (D11) is singular to working precision on the complement of the "
    "common nullspace; increase `rate_tol` to treat the softest common direction as null (it "
    "then drifts)."
)


def _solve_2x2(
    ea0: NDArray,
    ea1: NDArray,
    sa0: NDArray,
    sa1: NDArray,
    eb0: NDArray,
    eb1: NDArray,
    W: NDArray,
    r: tuple[NDArray, NDArray] | NDArray,
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """``S z = r`` for two gates by explicit algebra, vectorized over the periods (columns).

    ``S = diag(ea) + V V^T`` with ``V = diag(sa) W diag(sqrt(eb))``; its determinant is a sum of
    four non-negative terms (no cancellation). Returns ``z0``, ``z1``, ``|S^-1|_2`` (exact, from
    the eigenvalues of ``S``) and ``|S_hat^-1|_2`` of the Jacobi-scaled ``S_hat`` (exact).
    """
    w00, w01, w10, w11 = (float(v) for v in W.ravel())
    detW2 = (w00 * w11 - w01 * w10) ** 2
    F00 = (w00 * w00) * eb0 + (w01 * w01) * eb1  # W diag(eb) W^T = E_beta(h), alpha basis
    F11 = (w10 * w10) * eb0 + (w11 * w11) * eb1
    F01 = (w00 * w10) * eb0 + (w01 * w11) * eb1
    s00 = sa0 * sa0
    s11 = sa1 * sa1
    t00 = s00 * F00
    t11 = s11 * F11
    S00 = ea0 + t00
    S11 = ea1 + t11
    S01 = (sa0 * sa1) * F01
    det = ea0 * ea1 + ea0 * t11 + ea1 * t00 + (s00 * s11) * (eb0 * eb1) * detW2
    if not np.all(det > 0):
        raise SingularSystemError(_SINGULAR)
    r0, r1 = r[0], r[1]
    inv_det = 1.0 / det
    z0 = (S11 * r0 - S01 * r1) * inv_det
    z1 = (S00 * r1 - S01 * r0) * inv_det
    half_diff = 0.5 * (S00 - S11)
    lam_max = 0.5 * (S00 + S11) + np.sqrt(half_diff * half_diff + S01 * S01)
    g = np.sqrt(S00 * S11)
    # 1 - |rho| = det / (g (g + |S01|)): |S_hat^-1| = 1 / (1 - |rho|) without cancellation
    return z0, z1, lam_max * inv_det, g * (g + np.abs(S01)) * inv_det


def _scaled_gram(f: _Factors, W: NDArray, sl: slice) -> tuple[NDArray, NDArray]:
    """Jacobi-scaled ``S_hat = D^-1 S D^-1`` (unit diagonal) and ``d = sqrt(diag S)`` for the
    periods ``sl``, with ``S = diag(ea) + diag(sa) W diag(eb) W^T diag(sa)``.

    ``W diag(eb) W^T`` for all periods is one GEMM ``eb @ [W_ik W_jk]_{k, (i, j)}`` of
    ``2 m^3`` flops per period (m^2 (m + 1) of them needed, by symmetry).
    """
    eb, sa, ea = f.eb[sl], f.sa[sl], f.ea[sl]
    t, m = eb.shape
    WW = (W[:, None, :] * W[None, :, :]).reshape(m * m, m)
    S = (eb @ WW.T).reshape(t, m, m)
    d2 = ea + sa * sa * np.einsum("tii->ti", S)
    d = np.sqrt(d2)
    rs = sa / d
    S *= rs[:, :, None]
    S *= rs[:, None, :]
    S[:, np.arange(m), np.arange(m)] = 1.0  # = ea / d^2 + (row norm of V_hat)^2 exactly
    return S, d


def _solve_spd(f: _Factors, W: NDArray, r: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``S z = r`` for m >= 3 gates: Cholesky of the Jacobi-scaled ``S`` of every period.

    ``m < _STACK_MAX_N``: numpy stacks (``cholesky`` and ``solve`` on (T, m, m), in chunks);
    up to ``_LOOP_MIN_N``: the stack is built at once and LAPACK ``dposv`` is called per
    period; beyond: per period ``dsyrk`` + ``dpotrf`` + ``dpotrs`` (BLAS-3 dominated).
    ``|S_hat^-1|`` is estimated by ``max_i 1 / L_ii^2`` over the Cholesky pivots (a lower bound
    on it: each pivot is a Schur complement), ``|S^-1| <= |S_hat^-1| / min(diag S)``.
    """
    T, m = r.shape
    z = np.empty_like(r)
    piv = np.empty((T, m))  # Cholesky pivots L_ii of S_hat
    dd = np.empty((T, m))
    if m >= _LOOP_MIN_N:
        _syrk_loop(f, W, r, z, piv, dd)
    else:
        step = max(1, _CHUNK_ENTRIES // (m * m))
        diag = np.arange(m)
        for s in range(0, T, step):
            sl = slice(s, s + step)
            S, d = _scaled_gram(f, W, sl)
            rs = r[sl] / d
            dd[sl] = d

            def rebuild(i: int, s: int = s) -> NDArray:
                return _scaled_gram(f, W, slice(s + i, s + i + 1))[0][0]

            if m < _STACK_MAX_N:
                try:
                    L = np.linalg.cholesky(S)
                except np.linalg.LinAlgError:
                    z[sl], piv[sl] = _per_period(S, rs, rebuild)
                    continue
                z[sl] = np.linalg.solve(S, rs[..., None])[..., 0]
                piv[sl] = L[:, diag, diag]
            else:
                z[sl], piv[sl] = _per_period(S, rs, rebuild)
    z /= dd
    inv_scaled = np.max(1.0 / (piv * piv), axis=-1)
    inv_norm = inv_scaled / np.min(dd * dd, axis=-1)
    return z, inv_norm, inv_scaled


def _per_period(
    S: NDArray, rs: NDArray, rebuild: Callable[[int], NDArray]
) -> tuple[NDArray, NDArray]:
    """LAPACK ``dposv`` on each scaled ``S`` of a stack (C order: ``S[i].T`` is the same
    symmetric matrix in Fortran order, factored in place); ``rebuild(i)`` gives ``S[i]`` anew
    for the fallback when Cholesky fails."""
    t, m = rs.shape
    z = np.empty_like(rs)
    piv = np.empty((t, m))
    for i in range(t):
        c, x, info = _dposv(S[i].T, rs[i], lower=1, overwrite_a=1)
        if info != 0:
            x, piv[i] = _fallback(rebuild(i), rs[i])
        else:
            piv[i] = np.diagonal(c)
        z[i] = x
    return z, piv


def _fallback(Sf: NDArray, rt: NDArray) -> tuple[NDArray, NDArray]:
    """Solve a numerically semidefinite scaled ``S`` (Cholesky failed) by LU, with a warning,
    or raise :class:`SingularSystemError`; returns ``z`` and pseudo-pivots ``1 / sqrt(cond)``."""
    cond = float(np.linalg.cond(Sf))
    if not np.isfinite(cond) or cond * _EPS >= 0.5:
        raise SingularSystemError(_SINGULAR + f" (condition number {cond:.3g})")
    warnings.warn(
        f"The closed-orbit system is numerically semidefinite (Cholesky failed; condition "
        f"number {cond:.3g}: a nearly common null direction of M_alpha and M_beta). Solved by "
        f"LU; expect a relative error in G0 up to ~{cond * _EPS:.1e}.",
        AccuracyWarning,
        stacklevel=5,
    )
    x = scipy.linalg.solve(Sf, rt, assume_a="gen", check_finite=False)
    return x, np.full(rt.size, 1.0 / np.sqrt(cond))


def _syrk_loop(f: _Factors, W: NDArray, r: NDArray, z: NDArray, piv: NDArray, dd: NDArray) -> None:
    """Large m: per period ``dsyrk`` (``m^2 (m + 1)`` flops), ``dpotrf`` (``m^3 / 3``) and
    ``dpotrs`` on the Jacobi-scaled ``S``; fills ``z`` (scaled), ``piv`` and ``dd`` in place."""
    T, m = r.shape
    # d^2 = diag S = ea + sa^2 (W o W) eb for every period at once (one GEMM)
    d2 = f.ea + f.sa * f.sa * (f.eb @ (W * W).T)
    d = np.sqrt(d2)
    dd[:] = d
    rs = f.sa / d  # row scaling of V_hat = D^-1 V
    diag_hat = f.ea / d2
    rhs = r / d
    sq = np.sqrt(f.eb)
    Wc = np.ascontiguousarray(W)
    Vh = np.empty((m, m))
    Sbuf = np.empty((m, m), order="F")
    for t in range(T):
        np.multiply(Wc, sq[t][None, :], out=Vh)
        Vh *= rs[t][:, None]  # V_hat in C order: Vh.T is V_hat^T in Fortran order, no copy
        # S = (V_hat^T)^T V_hat^T with trans=1: OpenBLAS's faster SYRK variant here (~70 vs
        # ~65 GFLOP/s at m = 256, one thread), and the lower-triangle Cholesky (~34 vs ~23)
        S = _dsyrk(1.0, Vh.T, beta=0.0, c=Sbuf, lower=1, trans=1, overwrite_c=1)
        S.reshape(-1, order="F")[:: m + 1] += diag_hat[t]
        L, info = _dpotrf(S, lower=1, overwrite_a=1, clean=0)
        if info != 0:
            S = _dsyrk(1.0, Vh.T, beta=0.0, lower=1, trans=1)
            Sf = np.tril(S) + np.tril(S, -1).T + np.diag(diag_hat[t])
            z[t], piv[t] = _fallback(Sf, rhs[t])
            continue
        z[t], info = _dpotrs(L, rhs[t], lower=1)
        piv[t] = np.diagonal(L)


# --------------------------------------------------------------------------------------------
# mpmath verification path
# --------------------------------------------------------------------------------------------


def _orbit_mpmath(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    thr: float,
    dps: int,
) -> tuple[NDArray, NDArray, NDArray]:
    """High-precision closed orbit by ``mpmath.expm`` of augmented matrices (independent route).

    The common nullspace is found from ``mpmath.eigsy`` of ``M_alpha + M_beta`` at the same
    threshold ``thr``; the reduced model on its complement is the same as in the float path.
    """
    import mpmath as mp

    n = task_a.n
    with mp.workdps(dps):
        Ma = mp.matrix(task_a.M.tolist())
        Mb = mp.matrix(task_b.M.tolist())
        Ga = mp.matrix(task_a.G_star.tolist())
        Gb = mp.matrix(task_b.G_star.tolist())
        Bm = mp.matrix(B.tolist())
        Gr = mp.matrix(G_ref.tolist())
        ev, EV = mp.eigsy(Ma + Mb)
        order = sorted(range(n), key=lambda i: ev[i])
        null_idx = [i for i in order if ev[i] <= thr]
        keep_idx = [i for i in order if ev[i] > thr]
        m = len(keep_idx)
        P = mp.matrix(n, m)
        Q = mp.matrix(n, len(null_idx))
        for j, i in enumerate(keep_idx):
            for r in range(n):
                P[r, j] = EV[r, i]
        for j, i in enumerate(null_idx):
            for r in range(n):
                Q[r, j] = EV[r, i]
        QQ = Q * Q.T if null_idx else mp.zeros(n, n)
        drift = QQ * Bm
        base = Gr if not null_idx else QQ * Gr
        G0s, Ghs, spans = [], [], []
        if m > 0:
            Mra, Mrb = P.T * Ma * P, P.T * Mb * P
            ca = Mra * (P.T * Ga) + P.T * Bm  # (D2) at g = 0 in reduced coordinates
            cb = Mrb * (P.T * Gb) + P.T * Bm
        for tau in taus:
            h = mp.mpf(float(tau)) / 2
            if m == 0:
                y = mp.zeros(0, 1)
                G0 = base
                Gh = base + h * drift
                span = mp.mpf(0)
            else:
                Aa, ba = _mp_affine(mp, Mra, ca, h)
                Ab, bb = _mp_affine(mp, Mrb, cb, h)
                K = mp.eye(m) - Ab * Aa  # (D11)
                y = mp.lu_solve(K, Ab * ba + bb)
                yh = Aa * y + ba
                G0 = P * y + (QQ * Gr if null_idx else mp.zeros(n, 1))
                Gh = P * yh + (QQ * Gr if null_idx else mp.zeros(n, 1)) + h * drift
                span = mp.norm(yh - y)
            G0s.append([float(G0[i]) for i in range(n)])
            Ghs.append([float(Gh[i]) for i in range(n)])
            spans.append(float(span))
    return np.array(G0s), np.array(Ghs), np.array(spans)


def _mp_affine(mp, M, c, h):  # mpmath module and matrices
    """``A = exp(-h M)`` and ``b = int_0^h exp(-s M) ds c`` from one augmented ``mpmath.expm``."""
    m = M.rows
    X = mp.zeros(m + 1, m + 1)
    for i in range(m):
        X[i, m] = h * c[i]
        for j in range(m):
            X[i, j] = -h * M[i, j]
    Y = mp.expm(X)  # (D4): [[A, b], [0, 1]]
    A = mp.matrix(m, m)
    b = mp.matrix(m, 1)
    for i in range(m):
        b[i] = Y[i, m]
        for j in range(m):
            A[i, j] = Y[i, j]
    return A, b
