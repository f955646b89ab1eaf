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

from .errors import AccuracyWarning, ShapeError, SingularSystemError, TaskError
from .linear import _EPS, LinearTask, _as_times, _as_vector, _phi1_times

__all__ = ["Orbit", "Trajectory", "periodic_orbit"]

#: Estimated relative error (condition number of ``M_alpha + M_beta`` on the complement of the
#: common nullspace, times machine epsilon) above which :func:`periodic_orbit` warns.
ACCURACY_WARN_LEVEL = 1e-6

#: Iterative refinement (one step, the residual of (D10) from M itself rather than from its
#: eigenbasis) is applied for periods with h * max(lam) <= this; it recovers the accuracy that the
#: eigendecompositions lose on the slow modes (error ~ eps * |M| / lam_min). Beyond it the fast
#: modes have decayed and the leading term h * f would cancel, so refinement would not help.
REFINE_MAX_HLAM = 100.0

#: From this size on, periods are looped over with syrk + a reusable LU (BLAS-3 dominated).
_LOOP_MIN_N = 48

#: Largest number of ``tau * n * n`` matrix entries held at once by the batched solver (~64 MB).
_CHUNK_ENTRIES = 8_000_000


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trajectory:
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
        State at the start of task alpha on the orbit, (D11).
    G_half : (n,) ndarray
        State at ``tau / 2``, when training switches to task beta.
    span : float
        Cycle span ``D = |G(tau/2) - G(tau)|`` of (4) (without the drift, see ``drift``).
    drift : (n,) ndarray
        Velocity along the common nullspace of ``M_alpha`` and ``M_beta`` (V/s): the projection
        of ``B`` on it; zeros when a closed orbit exists. The orbit then closes up to
        ``drift * tau``: ``G(tau) = G0 + drift * tau``.
    null_basis : (n, k) ndarray
        Orthonormal basis of the common nullspace (``k = 0`` when a closed orbit exists).
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

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> Trajectory:
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
        Trajectory
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
            return Trajectory(times=times[0], G=G[0])
        return Trajectory(times=times, G=G)


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

    Returns
    -------
    Orbit
        ``G0``, ``G_half``, ``span``, ``drift`` (and the inputs).

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
    With ``h = tau / 2`` and ``E_mu = 1 - A_mu``, (D10) is rewritten without cancellation as

        (E_alpha + E_beta A_alpha) G0 = A_beta b_alpha + b_beta,        (D11)

    since ``1 - A_beta A_alpha = E_alpha + E_beta A_alpha`` (``E`` from ``expm1``), and
    ``b_mu = h phi_1(-h M_mu)(M_mu G*_mu + B)`` as in :func:`~clln_theory.linear.half_period_map`.
    The system is solved in the eigenbasis of ``M_alpha``: with ``W = U_alpha^T U_beta`` computed
    once, the matrix is ``diag(e_alpha) + W diag(e_beta) W^T diag(a_alpha)``, one matrix
    product and one LU solve per period, ``~(8/3) n^3`` flops; ``n = 2`` uses explicit
    2 x 2 algebra (the determinant is a sum of non-negative terms). Coordinates are taken
    relative to ``G*_alpha`` so that small deviations (span, bias shift) keep relative accuracy.

    The paper notes that when no closed orbit exists (D11) "should be taken as a pseudoinverse".
    This function departs from that: the common nullspace of ``M_alpha`` and ``M_beta`` (the
    nullspace of ``M_alpha + M_beta`` at the rate threshold) is split off; there the gates move
    at ``drift = Q Q^T B``; in the complement the reduced tasks ``P^T M_mu P`` (coupling to the
    null directions, zero up to the threshold, dropped) have a closed orbit, solved as above.
    ``G0`` then has the common-null component of ``G_ref``, and the orbit is periodic up to
    ``drift * tau``. ``span`` is the span of the periodic part.

    Examples
    --------
    Two single-point tasks in two gates (solution lines crossing at (1, 1)):

    >>> import numpy as np
    >>> from clln_theory import linear, cycles
    >>> u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    >>> a = linear.LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    >>> b = linear.LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    >>> orbit = cycles.periodic_orbit(a, b, B=[0.1, -0.2], tau=[1e-3, 1.0, 1e3])
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

    # common nullspace of M_alpha and M_beta = nullspace of their (PSD) sum
    lam_S, U_S = np.linalg.eigh(task_a.M + task_b.M)
    thr = max(float(rate_tol), n * _EPS * max(float(lam_S[-1]), 0.0))
    null = lam_S <= thr
    Q = U_S[:, null]
    P = U_S[:, ~null]
    k = Q.shape[1]
    if k < n:
        cond = float(lam_S[-1] / lam_S[~null][0])
        if cond * _EPS > ACCURACY_WARN_LEVEL:
            warnings.warn(
                f"M_alpha + M_beta has condition number {cond:.3g} on the complement of the "
                f"common nullspace: expect a relative error in G0 up to ~{cond * _EPS:.1e}.",
                AccuracyWarning,
                stacklevel=2,
            )

    if dps is not None:
        G0, G_half, span = _orbit_mpmath(task_a, task_b, B, taus, G_ref, thr, int(dps))
    else:
        G0, G_half, span = _orbit_float(task_a, task_b, B, taus, G_ref, P, Q)
    drift = Q @ (Q.T @ B)
    drift_T = np.broadcast_to(drift, (taus.size, n)).copy()
    arrays = [B, G0, G_half, span, drift_T, Q, taus]
    for a in arrays:
        a.setflags(write=False)
    if scalar:
        return Orbit(task_a, task_b, B, float(taus[0]), G0[0], G_half[0], float(span[0]), drift, Q)
    return Orbit(task_a, task_b, B, taus, G0, G_half, span, drift_T, Q)


def _reduced_eig(M: NDArray, P: NDArray | None) -> tuple[NDArray, NDArray]:
    """Clipped eigendecomposition of ``P^T M P`` (``M`` itself when ``P`` is None)."""
    Mr = M if P is None else P.T @ M @ P
    lam, U = np.linalg.eigh(0.5 * (Mr + Mr.T))
    return np.clip(lam, 0.0, None), U


def _orbit_float(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    P: NDArray,
    Q: NDArray,
) -> tuple[NDArray, NDArray, NDArray]:
    """Float64 closed orbit for all ``taus``; returns ``G0``, ``G_half`` (T, n), ``span`` (T,)."""
    n, k = task_a.n, Q.shape[1]
    T = taus.size
    h = 0.5 * taus
    drift = Q @ (Q.T @ B)
    if k == n:  # no dynamics left: pure drift from G_ref
        G0 = np.broadcast_to(G_ref, (T, n)).copy()
        return G0, G0 + h[:, None] * drift, np.zeros(T)
    dG = task_b.G_star - task_a.G_star
    if k == 0:  # closed orbit: the tasks' own cached eigendecompositions
        lam_a, U_a, lam_b, U_b = task_a.eigvals, task_a.eigvecs, task_b.eigvals, task_b.eigvecs
        Mb, Bc, dGc = task_b.M, B, dG
        Pm = None
    else:  # reduced tasks on the complement of the common nullspace
        lam_a, U_a = _reduced_eig(task_a.M, P)
        lam_b, U_b = _reduced_eig(task_b.M, P)
        Mb, Bc, dGc = P.T @ task_b.M @ P, P.T @ B, P.T @ dG
        Pm = P
    # coordinates g = G - G*_alpha: velocities at g = 0 are c_a = B, c_b = M_b dG + B  (D2)
    c_a = U_a.T @ Bc  # alpha eigenbasis
    c_b = U_b.T @ (Mb @ dGc + Bc)  # beta eigenbasis
    W = U_a.T @ U_b
    Ma = task_a.M if Pm is None else P.T @ task_a.M @ P
    refine = h * max(float(lam_a[-1]), float(lam_b[-1])) <= REFINE_MAX_HLAM

    def residual(x: NDArray, rows: slice) -> NDArray:
        # one step of iterative refinement: G(tau) - G from (D2) with M itself (no eigenbasis
        # in the leading term h f), in the alpha eigenbasis; zero where it would not help
        hs = h[rows, None]
        _, _, pa = _phi1_times(lam_a, h[rows])
        _, _, pb = _phi1_times(lam_b, h[rows])
        g = x @ U_a.T
        fa = Bc - g @ Ma  # (D2), task alpha
        da = hs * fa + ((pa - hs) * (fa @ U_a)) @ U_a.T  # (D4) with phi_1 = 1 + (phi_1 - 1)
        fb = Bc - (g + da - dGc) @ Mb  # (D2), task beta at G_half
        db = hs * fb + ((pb - hs) * (fb @ U_b)) @ U_b.T
        return ((da + db) @ U_a) * refine[rows, None]

    if lam_a.size == 2:
        x, dx = _solve_2x2(lam_a, lam_b, W, c_a, c_b, h, residual)
    else:
        x, dx = _solve_batched(lam_a, lam_b, W, c_a, c_b, h, residual)
    # back to gate coordinates
    g0 = x @ U_a.T
    dg = dx @ U_a.T
    if Pm is not None:
        g0 = g0 @ Pm.T
        dg = dg @ Pm.T
        base = task_a.G_star - Q @ (Q.T @ task_a.G_star) + Q @ (Q.T @ G_ref)
        G0 = base + g0
        G_half = G0 + dg + h[:, None] * drift
    else:
        G0 = task_a.G_star + g0
        G_half = G0 + dg
    span = np.sqrt(np.sum(dx * dx, axis=-1))  # (4), periodic part
    return G0, G_half, span


_EXACTLY_SINGULAR = (
    "The closed-orbit system (D11) is exactly singular on the complement of the common "
    "nullspace; increase `rate_tol` to treat the softest common direction as null (it then "
    "drifts)."
)


def _check_solution(x: NDArray) -> None:
    if not np.all(np.isfinite(x)):
        raise SingularSystemError(
            "The closed-orbit system (D11) is singular to working precision on the complement "
            "of the common nullspace; increase `rate_tol` to treat the softest common direction "
            "as null (it then drifts)."
        )


def _solve_2x2(
    lam_a: NDArray,
    lam_b: NDArray,
    W: NDArray,
    c_a: NDArray,
    c_b: NDArray,
    h: NDArray,
    residual: Callable[[NDArray, slice], NDArray],
) -> tuple[NDArray, NDArray]:
    """(D11) for n = 2 by explicit algebra, vectorized over ``h``; alpha-basis ``x`` and ``dx``."""
    ea, aa, pa = _phi1_times(lam_a, h)
    eb, ab, pb = _phi1_times(lam_b, h)
    ea0, ea1 = ea[:, 0], ea[:, 1]
    aa0, aa1 = aa[:, 0], aa[:, 1]
    eb0, eb1 = eb[:, 0], eb[:, 1]
    w00, w01, w10, w11 = W[0, 0], W[0, 1], W[1, 0], W[1, 1]
    # b_alpha in the alpha basis, then r = A_beta b_alpha + b_beta  (D9), (D11)
    ba0 = pa[:, 0] * c_a[0]
    ba1 = pa[:, 1] * c_a[1]
    v0 = ab[:, 0] * (w00 * ba0 + w10 * ba1) + pb[:, 0] * c_b[0]
    v1 = ab[:, 1] * (w01 * ba0 + w11 * ba1) + pb[:, 1] * c_b[1]
    r0 = w00 * v0 + w01 * v1
    r1 = w10 * v0 + w11 * v1
    # K = diag(e_a) + F diag(a_a) with F = W diag(e_b) W^T = E_beta in the alpha basis
    F00 = w00 * w00 * eb0 + w01 * w01 * eb1
    F11 = w10 * w10 * eb0 + w11 * w11 * eb1
    F01 = w00 * w10 * eb0 + w01 * w11 * eb1
    K00 = ea0 + F00 * aa0
    K11 = ea1 + F11 * aa1
    K01 = F01 * aa1
    K10 = F01 * aa0
    # det K as a sum of non-negative terms (det F = e_b0 e_b1 det(W)^2, det W^2 = 1)
    det = ea0 * ea1 + ea0 * aa1 * F11 + ea1 * aa0 * F00 + aa0 * aa1 * eb0 * eb1
    with np.errstate(divide="ignore", invalid="ignore"):
        x0 = (K11 * r0 - K01 * r1) / det
        x1 = (K00 * r1 - K10 * r0) / det
        x = np.stack([x0, x1], axis=-1)
        _check_solution(x)
        q = residual(x, slice(None))
        x[:, 0] += (K11 * q[:, 0] - K01 * q[:, 1]) / det
        x[:, 1] += (K00 * q[:, 1] - K10 * q[:, 0]) / det
    dx = pa * (c_a - lam_a * x)  # G_half - G0 = h phi_1 (v at G0)  (D5)
    return x, dx


def _solve_batched(
    lam_a: NDArray,
    lam_b: NDArray,
    W: NDArray,
    c_a: NDArray,
    c_b: NDArray,
    h: NDArray,
    residual: Callable[[NDArray, slice], NDArray],
) -> tuple[NDArray, NDArray]:
    """(D11) for any n by batched BLAS/LAPACK over ``h``, in chunks; alpha-basis ``x``, ``dx``.

    For ``n >= _LOOP_MIN_N`` the periods are looped over instead (one symmetric rank-n product
    and one LU factorization per period, reused by the refinement step): at that size BLAS-3
    dominates and the loop overhead is negligible.
    """
    m = lam_a.size
    T = h.size
    if m >= _LOOP_MIN_N:
        return _solve_loop(lam_a, lam_b, W, c_a, c_b, h, residual)
    x = np.empty((T, m))
    step = max(1, _CHUNK_ENTRIES // (m * m))
    diag = np.arange(m)
    for s in range(0, T, step):
        hs = h[s : s + step]
        t = hs.size
        ea, aa, pa = _phi1_times(lam_a, hs)
        eb, ab, pb = _phi1_times(lam_b, hs)
        ba = pa * c_a
        r = (ab * (ba @ W) + pb * c_b) @ W.T  # A_beta b_alpha + b_beta, alpha basis (D11)
        # F = W diag(e_b) W^T for every h as one (t*m, m) x (m, m) product
        F = ((W[None, :, :] * eb[:, None, :]).reshape(t * m, m) @ W.T).reshape(t, m, m)
        F *= aa[:, None, :]  # E_beta A_alpha
        F[:, diag, diag] += ea  # + E_alpha
        try:
            xs = np.linalg.solve(F, r[..., None])[..., 0]
            _check_solution(xs)
            q = residual(xs, slice(s, s + step))
            rows = np.flatnonzero(np.any(q != 0, axis=1))  # refine only where it applies
            if rows.size:
                xs[rows] += np.linalg.solve(F[rows], q[rows, :, None])[..., 0]
            x[s : s + step] = xs
        except np.linalg.LinAlgError as exc:
            raise SingularSystemError(_EXACTLY_SINGULAR) from exc
    _check_solution(x)
    _, _, pa = _phi1_times(lam_a, h)
    dx = pa * (c_a - lam_a * x)  # G_half - G0  (D5)
    return x, dx


def _solve_loop(
    lam_a: NDArray,
    lam_b: NDArray,
    W: NDArray,
    c_a: NDArray,
    c_b: NDArray,
    h: NDArray,
    residual: Callable[[NDArray, slice], NDArray],
) -> tuple[NDArray, NDArray]:
    """(D11) per period with ``E_beta = Y Y^T`` (syrk, ``n^3`` flops) and one LU (``2n^3/3``)."""
    m = lam_a.size
    T = h.size
    x = np.empty((T, m))
    ea, aa, pa = _phi1_times(lam_a, h)
    eb, ab, pb = _phi1_times(lam_b, h)
    ba = pa * c_a
    r = (ab * (ba @ W) + pb * c_b) @ W.T  # A_beta b_alpha + b_beta, alpha basis (D11)
    sq = np.sqrt(eb)
    diag = np.arange(m)
    for i in range(T):
        Y = W * sq[i]
        K = Y @ Y.T  # E_beta in the alpha basis (numpy uses syrk for Y @ Y.T)
        K *= aa[i]  # E_beta A_alpha
        K[diag, diag] += ea[i]  # + E_alpha   (D11)
        lu = scipy.linalg.lu_factor(K, overwrite_a=True, check_finite=False)
        if np.any(np.diag(lu[0]) == 0):
            raise SingularSystemError(_EXACTLY_SINGULAR)
        xi = scipy.linalg.lu_solve(lu, r[i], check_finite=False)
        _check_solution(xi)
        q = residual(xi[None, :], slice(i, i + 1))[0]
        if np.any(q):
            xi += scipy.linalg.lu_solve(lu, q, check_finite=False)
        x[i] = xi
    _check_solution(x)
    dx = pa * (c_a - lam_a * x)  # G_half - G0  (D5)
    return x, dx


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
