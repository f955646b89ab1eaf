"""Noise and random task order in the linear theory (beyond the paper), in closed form.

*Update noise.* ``dG = (-M_k (G - G*_k) + B) dt + dW`` with ``E[dW dW^T] = Q dt`` (Q symmetric
PSD, V²/s). Over a segment of length ``h`` of task ``k`` the covariance maps exactly as ::

    Sigma' = A_k Sigma A_k^T + W_k,   W_k = int_0^h e^{-M_k s} Q e^{-M_k s} ds
           = U (U^T Q U o F) U^T,     F_ij = (1 - exp(-(lam_i + lam_j) h)) / (lam_i + lam_j)

(``o`` the elementwise product, ``F_ij = h`` where ``lam_i + lam_j = 0``, from ``expm1``). The mean
follows the noiseless orbit (:func:`~clln_theory.theory.multitask.cyclic_orbit`). The stationary
covariance at the start of task 1 solves the discrete Lyapunov equation ``Sigma = Pi Sigma Pi^T +
W_tot`` of the composed cycle, vectorized: ``(I - Pi (x) Pi) vec Sigma = vec W_tot``, written as
``S (x) I + Pi (x) S`` with ``S = I - Pi`` in the telescoped form (no cancellation as ``h -> 0``).
:func:`orbit_covariance` returns it at every segment start. Along null directions shared by all
tasks nothing restores the gates: the variance grows by ``Z Z^T Q Z Z^T`` (V²/s) per second,
reported as ``diffusion`` instead of a covariance.

*Random task order.* At each switch the next task is drawn i.i.d. with probabilities ``p_k`` and
trained for ``h``: ``G' = A_k G + b_k`` with a random ``k``. The stationary mean solves ``(sum_k p_k
E_k) m = sum_k p_k b_k`` and the covariance ``(sum_k p_k (E_k (x) I + A_k (x) E_k)) vec Sigma = vec
sum_k p_k d_k d_k^T`` with ``d_k = A_k m + b_k - m`` the step of task ``k`` from the mean
(:func:`random_order_moments`). Both vectorized systems have ``m^2`` unknowns (``m`` the gates off
the common nullspace): at most 40 (the vectorized systems have ``m^2`` unknowns) gates.

Derivations and 50-digit checks: ``derivations/d06_many_tasks_noise.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import readonly, real_array, times, validator, vector
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError, SingularSystemError
from ..model.bias import bias_vector
from ._multitask import reduce_tasks, segment_maps, telescoped
from ._spectral import phi1_times
from .linear import LinearTask
from .multitask import CyclicOrbit, check_tasks, rate_tolerance, schedule

__all__ = [
    "OrbitCovariance",
    "RandomOrderMoments",
    "orbit_covariance",
    "random_order_moments",
]

#: Largest number of gates (off the common nullspace) for the vectorized moment systems: ``m^2``
#: unknowns, an LU of ``m^4`` entries (40 gates: 1600 unknowns, ~3e9 flops, about a second).
_MAX_MOMENT_GATES = 40

#: Relative tolerance on the symmetry and the negative eigenvalues of a noise matrix ``Q``: a
#: covariance assembled in floating point is symmetric and PSD to ~1e-15 relative.
_NOISE_TOL = 1e-10

#: Relative tolerance on ``sum(probs) == 1``: probabilities typed as decimals sum to 1 within
#: a few ulps.
_PROBS_TOL = 1e-12

#: Largest |Q| entry, V²/s: the covariance sums products of Q with the (up to 1e150 1/s) rates
#: and the period; beyond 1e150 they leave float64's range.
MAX_NOISE = 1e150


@validator
def check_noise(Q: ArrayLike, n: int, name: str = "Q") -> NDArray:
    """``Q`` as a symmetric positive semi-definite (n, n) noise covariance rate (V²/s), each
    entry of magnitude <= `MAX_NOISE`; ArgumentError or ShapeError naming it."""
    Qa = real_array(Q, name, shape=(n, n))
    scale = float(np.max(np.abs(Qa))) if Qa.size else 0.0
    if scale > MAX_NOISE:
        raise ArgumentError(
            f"Argument `Q` must have entries of magnitude <= {MAX_NOISE:g} V²/s, but has "
            f"max|Q| = {scale:.3g}; rescale (the covariance arithmetic would overflow)."
        )
    if float(np.max(np.abs(Qa - Qa.T))) > _NOISE_TOL * scale:
        raise ArgumentError("Argument `Q` must be symmetric (a covariance rate, V²/s), but is not.")
    Qs = 0.5 * (Qa + Qa.T)
    lam = np.linalg.eigvalsh(Qs)
    if lam[0] < -_NOISE_TOL * max(scale, 1e-300):
        raise ArgumentError(
            f"Argument `Q` must be positive semi-definite, but has eigenvalue {lam[0]:.3g} V²/s."
        )
    return Qs


def _check_size(m: int) -> None:
    if m > _MAX_MOMENT_GATES:
        raise ArgumentError(
            f"Argument `tasks` must have at most {_MAX_MOMENT_GATES} gates off their common "
            f"nullspace for the vectorized moment systems, but has {m}."
        )


def noise_maps(lam: NDArray, U: NDArray, Qr: NDArray, h: NDArray) -> NDArray:
    """``W = int_0^h e^{-Ms} Q e^{-Ms} ds`` for durations ``h`` (T,), shape (T, m, m).

    Elementwise in the eigenbasis of ``M``: ``F_ij = h phi_1(-h (lam_i + lam_j))``, from
    ``expm1`` (exact at ``lam_i + lam_j = 0``). Not in ``__all__``.
    """
    lsum = (lam[:, None] + lam[None, :]).ravel()
    _, _, F = phi1_times(lsum, h)  # (T, m*m): (1 - exp(-h l)) / l, = h at l = 0
    m = lam.size
    F = F.reshape(h.size, m, m)
    Qt = U.T @ Qr @ U
    W = np.einsum("ik,tkl,jl->tij", U, Qt * F, U)
    return 0.5 * (W + np.swapaxes(W, -1, -2))


def _solve_vec(Lmat: NDArray, rhs: NDArray, what: str) -> NDArray:
    m = rhs.shape[-1]
    try:
        x = np.linalg.solve(Lmat, rhs.reshape(-1))
    except np.linalg.LinAlgError:
        x = np.full(m * m, np.nan)
    if not np.all(np.isfinite(x)):
        raise SingularSystemError(
            f"The {what} system is singular to working precision: the tasks nearly share a null "
            "direction above `rate_tol`; raise `rate_tol` to split it off."
        )
    X = x.reshape(m, m)
    return 0.5 * (X + X.T)


@dataclass(frozen=True, slots=True)
class OrbitCovariance:
    """Stationary covariance of the gates at the segment starts of a noisy cyclic orbit.

    Attributes
    ----------
    durations : (K,) ndarray
        Training time of each task per cycle, s.
    covariance : (K, n, n) ndarray
        Covariance of ``G`` at the start of each segment, V², on the complement of the common
        nullspace of the tasks (``P Sigma_k P^T``).
    diffusion : (n, n) ndarray
        Where noise reaches the common nullspace (basis ``Z``): the variance there grows without
        bound at ``Z Z^T Q Z Z^T`` V²/s; zeros when a closed orbit exists.
    transfer : (K, n, n) ndarray
        ``A_k = exp(-h_k M_k)`` (embedded, identity on the common nullspace): the propagators of
        the segments, which give the covariance between segment starts,
        ``Cov(x_{k+1}, x_k) = A_k Sigma_k``.
    null_basis : (n, k) ndarray
        Orthonormal basis ``Z`` of the common nullspace.
    """

    __repr__ = short_repr

    durations: NDArray
    covariance: NDArray
    diffusion: NDArray
    transfer: NDArray = field(repr=False)
    null_basis: NDArray = field(repr=False)

    def D2(self, orbit: CyclicOrbit) -> NDArray:
        """Expected squared distances between segment ends, noise included, V².

        Parameters
        ----------
        orbit : CyclicOrbit
            The noiseless orbit of the same tasks, bias and durations (its mean).

        Returns
        -------
        (K, K) ndarray
            ``E|s_i - s_j|^2 = |E s_i - E s_j|^2 + tr Var(s_i - s_j)``, with ``s_k`` the state at
            the end of segment ``k`` (``s_K = G(tau)``); along the common nullspace the diffusion
            adds ``|t_i - t_j| tr(diffusion)``. For K = 2, entry ``[0, 1]`` is the expected
            ``D**2`` of (4) and ``max`` over the entries the noisy analogue of ``orbit.span**2``.

        Raises
        ------
        ShapeError
            If ``orbit`` does not match the durations and gates of this covariance.
        """
        K, n = self.covariance.shape[:2]
        G = np.asarray(orbit.G_starts)
        if G.shape != (K, n) or not np.allclose(orbit.durations, self.durations, rtol=1e-15):
            raise ShapeError(
                "Argument `orbit` must be the cyclic orbit of the same tasks and durations "
                f"(G_starts of shape ({K}, {n})), but has G_starts of shape {G.shape}."
            )
        tau = float(np.sum(self.durations))
        mean_end = np.roll(G, -1, axis=0)
        mean_end[-1] = G[0] + tau * np.asarray(orbit.drift)
        t_end = np.cumsum(self.durations)
        S_end = np.roll(self.covariance, -1, axis=0)
        A_next = np.roll(self.transfer, -1, axis=0)  # A of the segment that starts at s_k
        tr_diff = float(np.trace(self.diffusion))
        out = np.zeros((K, K))
        for i in range(K):
            C = np.eye(n)  # Cov(s_j, s_i) = (A_{i+1} ... A_j) Sigma(s_i), j > i
            for j in range(i + 1, K):
                C = A_next[j - 1] @ C
                cross = C @ S_end[i]
                var = S_end[i] + S_end[j] - cross - cross.T
                mean = mean_end[j] - mean_end[i]
                val = mean @ mean + np.trace(var) + abs(t_end[j] - t_end[i]) * tr_diff
                out[i, j] = out[j, i] = val
        return out

    def expected_errors(self, orbit: CyclicOrbit, H: Sequence[ArrayLike]) -> NDArray:
        """Expected quadratic task errors at the segment starts, noise included, V².

        Parameters
        ----------
        orbit : CyclicOrbit
            The noiseless orbit (the mean), of the same tasks and durations.
        H : sequence of K (n, n) array_like
            Error weight of each task: its error is ``(G - G*_k)^T H_k (G - G*_k)`` (for the
            linearized outputs ``O = O* + J_k (G - G*_k)``, ``H_k = J_k^T J_k`` gives (A1)).

        Returns
        -------
        (K, K) ndarray
            Entry ``[s, k]``: ``E`` of task ``k``'s error at the start of segment ``s``,
            ``d^T H_k d + tr(H_k Sigma_s)`` with ``d = E G - G*_k``. The combined error (A3)/(A4)
            for K = 2 is the mean of all four entries. The growth along the common nullspace
            (``diffusion``) is not included.

        Raises
        ------
        ShapeError
            If ``H`` does not hold K matrices of shape (n, n).
        """
        K, n = self.covariance.shape[:2]
        if len(H) != K:
            raise ShapeError(f"Argument `H` must hold {K} matrices, but holds {len(H)}.")
        Hs = [real_array(h, f"H[{k}]", shape=(n, n)) for k, h in enumerate(H)]
        G = np.asarray(orbit.G_starts)
        out = np.empty((K, K))
        for s in range(K):
            for k, task in enumerate(orbit.tasks):
                d = G[s] - task.G_star
                out[s, k] = d @ Hs[k] @ d + np.sum(Hs[k] * self.covariance[s])
        return out


def orbit_covariance(
    tasks: Sequence[LinearTask],
    *,
    durations: ArrayLike,
    Q: ArrayLike,
    rate_tol: float | None = None,
) -> OrbitCovariance:
    """Stationary covariance of the gates on a cyclic orbit driven by white update noise.

    Parameters
    ----------
    tasks : sequence of LinearTask
        The K >= 2 tasks in training order (K = 2: the paper's alternation).
    durations : (K,) array_like
        Training time of each task per cycle, s (``(tau/2, tau/2)`` for the paper), each ``> 0``.
    Q : (n, n) array_like
        Noise covariance rate, V²/s: ``E[dW dW^T] = Q dt``; symmetric positive semi-definite.
    rate_tol : float, optional
        Threshold (1/s) of the common nullspace, as in
        :func:`~clln_theory.theory.multitask.cyclic_orbit`.

    Returns
    -------
    OrbitCovariance
        ``covariance`` (K, n, n) at the segment starts, ``diffusion`` along the common
        nullspace, and methods ``D2`` and ``expected_errors`` (noise included).

    Raises
    ------
    ArgumentError
        If ``tasks`` is not a sequence of at least two tasks, a duration is ``<= 0``, ``Q`` is
        not symmetric PSD, or more than 40 gates lie off the common nullspace (the
        vectorized systems have ``m^2`` unknowns).
    ShapeError
        If ``durations`` or ``Q`` has the wrong shape.
    SingularSystemError
        If the Lyapunov system is singular to working precision.

    Notes
    -----
    The exact per-segment maps ``Sigma -> A Sigma A^T + W`` (module docstring), composed over a
    cycle and solved as one vectorized linear system: no time stepping. The mean is not needed
    (the noise is additive): it is the noiseless orbit.

    Examples
    --------
    One relaxing gate per task, each at 1/s, in turn: each gate is an Ornstein-Uhlenbeck
    process half of the time and a random walk the other half.

    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, orbit_covariance
    >>> a = LinearTask(np.diag([1.0, 0.0]), G_star=[0.0, 0.0])
    >>> b = LinearTask(np.diag([0.0, 1.0]), G_star=[0.0, 0.0])
    >>> cov = orbit_covariance([a, b], durations=[1.0, 1.0], Q=0.01 * np.eye(2))
    >>> cov.covariance.shape, round(float(cov.covariance[0, 0, 0]), 6)
    ((2, 2, 2), 0.016565)
    >>> round(float(0.005 + 0.01 / (1 - np.exp(-2.0))), 6)  # v = e^-2 v + 0.005 (1 - e^-2) + 0.01
    0.016565
    """
    tasks = check_tasks(tasks)
    n, K = tasks[0].n, len(tasks)
    h, single = schedule(durations, K)
    if not single:
        raise ShapeError(
            f"Argument `durations` must have shape ({K},), but has shape {h.shape}; call once "
            "per schedule."
        )
    Qn = check_noise(Q, n)
    red = reduce_tasks(tasks, np.zeros(n), rate_tolerance(tasks, rate_tol))
    P, Z = red.P, red.Q
    m = P.shape[1]
    _check_size(m)
    diffusion = Z @ (Z.T @ Qn @ Z) @ Z.T
    Sig = np.zeros((K, m, m))
    A = np.zeros((1, K, m, m))
    if m > 0:
        A, E, _ = segment_maps(red, h)
        S, Pi, _ = telescoped(A, E, np.zeros((1, K, m)))
        Qr = P.T @ Qn @ P
        W = [noise_maps(red.lam[k], red.U[k], Qr, h[:, k])[0] for k in range(K)]
        W_tot = np.zeros((m, m))
        for k in range(K):
            W_tot = A[0, k] @ W_tot @ A[0, k].T + W[k]
        I = np.eye(m)
        Lmat = np.kron(S[0], I) + np.kron(Pi[0], S[0])  # I - Pi (x) Pi, telescoped
        Sig[0] = _solve_vec(Lmat, W_tot, "orbit covariance")
        for k in range(K - 1):
            nxt = A[0, k] @ Sig[k] @ A[0, k].T + W[k]
            Sig[k + 1] = 0.5 * (nxt + nxt.T)
    cov = np.einsum("ia,kab,jb->kij", P, Sig, P)
    transfer = np.einsum("ia,kab,jb->kij", P, A[0], P) + Z @ Z.T
    return OrbitCovariance(
        durations=readonly(h[0]),
        covariance=readonly(cov),
        diffusion=readonly(diffusion),
        transfer=readonly(transfer),
        null_basis=readonly(Z),
    )


@dataclass(frozen=True, slots=True)
class RandomOrderMoments:
    """Stationary moments of the gates at the switching times under a random task order.

    Attributes
    ----------
    probs : (K,) ndarray
        Probability of drawing each task at a switch.
    duration : float
        Training time per draw, s.
    mean : (n,) ndarray
        Stationary mean of ``G`` at the switching times, V (its common-null component is that of
        ``G_ref``, moving at ``drift``).
    covariance : (n, n) ndarray
        Stationary covariance, V² (zero along the common nullspace: the drift there is the same
        whatever task is drawn).
    drift : (n,) ndarray
        Velocity along the common nullspace of all tasks, V/s.
    """

    __repr__ = short_repr

    probs: NDArray
    duration: float
    mean: NDArray
    covariance: NDArray
    drift: NDArray


def random_order_moments(
    tasks: Sequence[LinearTask],
    *,
    probs: ArrayLike,
    duration: float,
    B: ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
) -> RandomOrderMoments:
    """Stationary mean and covariance of the gates when the next task is drawn at random.

    Parameters
    ----------
    tasks : sequence of LinearTask
        The K >= 2 tasks that can be drawn.
    probs : (K,) array_like
        Probability of each task at every switch (i.i.d. draws), each ``>= 0``, summing to 1.
    duration : float
        Training time after each draw, s (``> 0``).
    B : (n,) array_like
        Bias, V/s.
    G_ref : (n,) array_like, optional
        The common-null component of ``mean`` (only used when the drawn tasks share a null
        direction). Default: the mean of the tasks' ``G_star``.
    rate_tol : float, optional
        Threshold (1/s) of the common nullspace of the tasks with ``p_k > 0``.

    Returns
    -------
    RandomOrderMoments
        ``mean``, ``covariance`` and ``drift``.

    Raises
    ------
    ArgumentError
        If ``probs`` are negative or do not sum to 1, ``duration`` is not ``> 0``, ``tasks`` is
        not a sequence of at least two tasks, or more than 40 gates lie off
        the common nullspace (the vectorized systems have ``m^2`` unknowns).
    ShapeError
        If ``probs``, ``B`` or ``G_ref`` has the wrong shape.
    SingularSystemError
        If the moment systems are singular to working precision.

    Notes
    -----
    ``(sum_k p_k E_k) m = sum_k p_k b_k`` and ``(sum_k p_k (E_k (x) I + A_k (x) E_k)) vec Sigma =
    vec sum_k p_k d_k d_k^T`` (module docstring), in coordinates relative to ``G*_1`` off the
    common nullspace; ``E_k = I - A_k`` from ``expm1``.

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, random_order_moments
    >>> a = LinearTask(np.eye(2), G_star=[1.0, 0.0])
    >>> b = LinearTask(np.eye(2), G_star=[0.0, 1.0])
    >>> mom = random_order_moments([a, b], probs=[0.5, 0.5], duration=1.0, B=[0.0, 0.0])
    >>> mom.mean.round(6), round(float(mom.covariance[0, 0]), 6)
    (array([0.5, 0.5]), 0.115529)
    >>> round(float((1 - np.exp(-1.0)) ** 2 * 0.25 / (1 - np.exp(-2.0))), 6)  # by hand
    0.115529
    """
    tasks = check_tasks(tasks)
    n, K = tasks[0].n, len(tasks)
    p = real_array(probs, "probs", shape=(K,))
    if np.any(p < 0) or abs(float(p.sum()) - 1.0) > _PROBS_TOL:
        raise ArgumentError(
            f"Argument `probs` must be >= 0 and sum to 1, but is {p.tolist()} (sum {p.sum():.6g})."
        )
    h_arr = times(duration, "duration", positive=True)
    if h_arr.ndim != 0:
        raise ShapeError("Argument `duration` must be a scalar (s).")
    h = float(h_arr)
    B = bias_vector(B, n)
    if G_ref is None:
        G_ref = np.mean([t.G_star for t in tasks], axis=0)
    else:
        G_ref = vector(G_ref, "G_ref", n)
    probs_all = p.copy()
    keep = p > 0  # tasks never drawn play no part
    p = p[keep]
    tasks = tuple(t for t, k in zip(tasks, keep) if k)
    K = len(tasks)
    red = reduce_tasks(tasks, B, rate_tolerance(tasks, rate_tol))
    P, Z = red.P, red.Q
    m = P.shape[1]
    _check_size(m)
    y = np.zeros(m)
    Sig = np.zeros((m, m))
    if m > 0:
        A, E, b = segment_maps(red, np.full((1, K), h))
        A, E, b = A[0], E[0], b[0]
        Ebar = np.einsum("k,kij->ij", p, E)
        try:
            y = np.linalg.solve(Ebar, p @ b)
        except np.linalg.LinAlgError:
            y = np.full(m, np.nan)
        if not np.all(np.isfinite(y)):
            raise SingularSystemError(
                "The random-order mean system is singular to working precision: the drawn "
                "tasks nearly share a null direction above `rate_tol`."
            )
        I = np.eye(m)
        d = np.empty((K, m))
        Lmat = np.zeros((m * m, m * m))
        for k in range(K):
            _, _, phi = phi1_times(red.lam[k], np.asarray(h))
            U = red.U[k]
            d[k] = ((red.c[k] - red.M[k] @ y) @ U * phi) @ U.T  # step from the mean, phi_1 form
            Lmat += p[k] * (np.kron(E[k], I) + np.kron(A[k], E[k]))
        D = np.einsum("k,ki,kj->ij", p, d, d)
        Sig = _solve_vec(Lmat, D, "random-order covariance")
    mean = red.ref + Z @ (Z.T @ (G_ref - red.ref)) + P @ y
    return RandomOrderMoments(
        probs=readonly(probs_all),
        duration=h,
        mean=readonly(mean),
        covariance=readonly(P @ Sig @ P.T),
        drift=readonly(Z @ (Z.T @ B)),
    )
