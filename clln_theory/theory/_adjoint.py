"""Engine of the linearization at a solution: adjoint quantities, force Jacobian, Hessian, factor.

The formulas are in the module docstring of :mod:`clln_theory.theory.jacobian`. Everything here
works on checked values: a ``KirchhoffSolver`` built once by the face and the free state solved
once, which the Jacobian, the Hessian, the factor form and the force share. Public names for the
theory's modules; not part of the package's API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import readonly
from ..electrical._clamping import output_split, past_label
from ..electrical._kirchhoff import KirchhoffSolver, State
from ..errors import ConvergenceError, DeviceError, TaskError
from ..model.network import Network
from ..model.tasks import Task

__all__ = [
    "DELTA_TOL",
    "FACTOR_PARALLEL_TOL",
    "SOLUTION_TOL",
    "Adjoint",
    "ForceJacobian",
    "asymmetry",
    "factor_of",
    "force_of",
    "hessian_of",
    "jacobian_of",
    "nudged",
    "residual_delta",
    "solve_manifold",
]

#: Errors (volts) at or below this count as zero when deciding whether to add the curvature term
#: (``curvature="auto"``: ``max|delta_p|``; ``"solution"``: the unremovable part
#: ``residual_delta``). The term is proportional to ``delta_p`` and relative to the Gauss-Newton
#: term of order ``delta / 0.1 V`` (output drops of ~0.1 V), so dropping it changes ``J`` by a
#: relative ~1e-11: far below the 1e-8 symmetry tolerance of `LinearTask`, and an eigenvalue
#: shift of 1e-11 max|M|, under its 1e-9 1/s rank threshold for rates up to ~100 1/s.
DELTA_TOL = 1e-12

#: `linearize` accepts ``G_star`` when the mean force there is what ``J`` produces from a gate
#: displacement of at most this many volts (``max|F| <= tol * max|J|``): far below the
#: millivolt scale of gate noise in the experiment, far above round-off.
SOLUTION_TOL = 1e-6


#: Relative tolerance for ``nu_p`` to be parallel to ``grad O_p`` (the Gauss-Newton term then is
#: symmetric per point): adjoint drops carry ~1e-15 relative round-off, while an electrically
#: asymmetric differential output misses by O(1).
FACTOR_PARALLEL_TOL = 1e-8


@dataclass(frozen=True, slots=True)
class ForceJacobian:
    """Jacobian of the mean Coupled Learning force (standard clamping) at one ``G``.

    Attributes
    ----------
    J : (n_gates, n_gates) ndarray
        ``dF/dG`` as used: ``gauss_newton + curvature`` if ``curvature_included``, else
        ``gauss_newton``; units A/V.
    gauss_newton : (n_gates, n_gates) ndarray
        ``-(2/N) sum_p eta_p nu_p grad O_p^T`` (exact where every ``delta_p = 0``).
    curvature : (n_gates, n_gates) ndarray or None
        The exact term proportional to the errors; None when it was not computed.
    curvature_included : bool
        Whether ``J`` contains the curvature term.
    delta : (n_points,) ndarray
        Errors ``L - O_F``, V.
    max_abs_delta : float
        ``max_p |delta_p|`` over the nudged points, V.
    residual_delta : float
        ``max_p |delta_perp,p|``, V: the part of the nudged points' errors outside the range of
        ``d delta/dG`` (``delta_perp = delta - D D^+ delta``), i.e. the errors no gate change
        removes to first order. Zero (to round-off) whenever the points are independent
        constraints (a satisfiable task: every error is then a distance to the solution
        manifold); nonzero only for a task whose minimum keeps residual errors.
    eta : float
        Nudge amplitude.
    asymmetry : float
        ``max|J - J^T| / max|J|`` (0 for a symmetric ``J``), computed on access.
    """

    J: np.ndarray
    gauss_newton: np.ndarray
    curvature: np.ndarray | None
    curvature_included: bool
    delta: np.ndarray
    max_abs_delta: float
    residual_delta: float
    eta: float

    @property
    def asymmetry(self) -> float:
        """``max|J - J^T| / max|J|``."""
        return asymmetry(self.J)


class Adjoint:
    """Adjoint quantities of one task at one ``G`` (free factorization reused)."""

    #: ``c^T Z^-1 c`` (S) for one output, the (m, m) matrix ``C^T Z^-1 C`` for m targets.
    K_eff: float | np.ndarray

    def __init__(self, s: KirchhoffSolver, free: State) -> None:
        net = s.network
        self.s, self.free = s, free
        I = s.free.interior
        pos = np.full(net.n_nodes, -1, dtype=np.intp)
        pos[I] = np.arange(I.size)
        self.pos = pos
        out_pos = pos[s.idx_out]
        k = out_pos.size
        E = np.zeros((I.size, k))
        E[out_pos, np.arange(k)] = 1.0
        Lam_I = np.asarray(s.free.solve(E)).reshape(I.size, k)
        Lam = np.zeros((net.n_nodes, k))
        Lam[I] = Lam_I
        g = net.gate_edges
        self.tail_g, self.head_g = net.tail[g], net.head[g]
        self.dLam = Lam[self.tail_g] - Lam[self.head_g]  # (n_g, k)
        self.Z = Lam_I[out_pos]  # (k, k), SPD
        self.S = net.S
        self.dV = free.dV[:, g]  # (N, n_g)
        self.multi = s.task.is_multi_output
        if self.multi:
            return self._multi(s.task)
        c = output_split(k)  # how the nudge is shared by the output node(s)
        u = np.array([1.0]) if k == 1 else np.array([1.0, -1.0])  # O = V @ u
        y = np.linalg.solve(self.Z, c)
        self.K_eff = float(c @ y)
        self.dmu = self.dLam @ y  # clamped response drops
        self.dlamO = self.dLam @ u  # output adjoint drops
        self.gradK = self.S * self.dmu**2
        self.gradO = -self.S * self.dV * self.dlamO  # (N, n_g)
        self.nu = self.S * self.dV * self.dmu  # (N, n_g)

    def _multi(self, task: Task) -> None:
        """Multi-output: the clamp moves the output nodes by ``C Δ``, ``K_eff = C^T Z^-1 C``."""
        U, C = task.output_matrices()  # O = V[out] @ U; P_C - P_F = Δ^T K_eff Δ
        Y = np.linalg.solve(self.Z, C)  # (k, m)
        self.K_eff, self.dmu, self.dlamO = C.T @ Y, self.dLam @ Y, self.dLam @ U
        SdV = self.S * self.dV  # (N, n_g); below (N, m, n_g): dO_pj/dG and nu_pj
        self.gradO = -SdV[:, None, :] * self.dlamO.T[None]
        self.nu = SdV[:, None, :] * self.dmu.T[None]

    def W(self) -> np.ndarray:
        """``W = A_g L_II^{-1} A_g^T`` on the learning edges, (n_g, n_g).

        With fewer interior nodes than gates, ``L_II^{-1}`` is formed (n_I solves) and ``W`` is
        gathered from it; otherwise one solve with the n_g edge columns as right-hand sides.
        """
        s = self.s
        I = s.free.interior
        n_g = self.tail_g.size
        n = s.network.n_nodes
        if I.size <= n_g:
            Linv = np.zeros((n, n))
            Linv[np.ix_(I, I)] = np.asarray(s.free.solve(np.eye(I.size))).reshape(I.size, I.size)
            B = Linv[self.tail_g] - Linv[self.head_g]  # (n_g, n)
            return B[:, self.tail_g] - B[:, self.head_g]
        cols = np.arange(n_g)
        rhs = np.zeros((I.size, n_g))
        pt, ph = self.pos[self.tail_g], self.pos[self.head_g]
        mt, mh = pt >= 0, ph >= 0
        rhs[pt[mt], cols[mt]] += 1.0
        rhs[ph[mh], cols[mh]] -= 1.0
        X = np.zeros((n, n_g))
        X[I] = np.asarray(s.free.solve(rhs)).reshape(I.size, n_g)
        return X[self.tail_g] - X[self.head_g]

    def R_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """``(P, Q)`` with ``W - Wc = dLambda Z^{-1} dLambda^T = P @ Q.T`` (rank k)."""
        return self.dLam @ np.linalg.inv(self.Z), self.dLam


def standard_amplitudes(
    O_F: np.ndarray, labels: np.ndarray, eta: float, classification: bool
) -> np.ndarray:
    """Per-point nudge amplitude of standard clamping: ``eta``, or 0 past a classification label
    (the hinge of Appendix A), as ``electrical.clamping.nudge_amplitudes`` on a checked ``eta``."""
    O_F = np.asarray(O_F, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if classification:
        hinge = np.asarray(past_label(O_F, labels), dtype=bool)
    else:
        hinge = np.zeros(np.shape(O_F), dtype=bool)
    return np.where(hinge, 0.0, eta)


def nudged(
    s: KirchhoffSolver, free: State, task: Task, eta: float
) -> tuple[Adjoint, np.ndarray, np.ndarray, np.ndarray]:
    """Adjoint quantities and the standard-clamping nudge of every point at the solver's ``G``.

    Returns ``(ad, delta, eta_p, Delta)``: the `Adjoint`, the errors ``L - O_F`` (N,), the
    per-point nudge amplitude (``eta``, or 0 past a classification label, Appendix A) and
    ``Delta = eta_p delta = O_C - O_F`` (1).
    """
    delta = task.labels - free.O
    eta_p = standard_amplitudes(
        free.O, task.labels, eta, classification=task.kind == "classification"
    )
    return Adjoint(s, free), delta, eta_p, eta_p * delta


def force_of(s: KirchhoffSolver, free: State, task: Task, eta_p: np.ndarray) -> np.ndarray:
    """The mean Coupled Learning force of standard clamping (``coupled_learning_force(...).F``)
    from the free state already solved: one clamped solve with ``O_C = O_F + eta_p delta``."""
    network = s.network
    O_F = np.array(free.O, dtype=float)
    delta = np.asarray(task.labels, dtype=float) - O_F
    O_C = O_F + eta_p * delta  # (1), (F1)
    clamped = s.clamped_state(free, O_C)
    weight = np.ones(task.n_points) if task.is_multi_output else np.ones(O_F.shape)
    g = network.gate_edges
    F_points = network.S * (clamped.dV[:, g] ** 2 - free.dV[:, g] ** 2)
    return weight @ F_points / task.n_points


def asymmetry(J: np.ndarray) -> float:
    scale = float(np.max(np.abs(J)))
    return float(np.max(np.abs(J - J.T)) / scale) if scale > 0 else 0.0


def jacobian_of(
    ad: Adjoint,
    delta: np.ndarray,
    eta_p: np.ndarray,
    Delta: np.ndarray,
    task: Task,
    eta: float,
    curvature: str,
    delta_tol: float,
) -> ForceJacobian:
    """The force Jacobian (``force_jacobian``) from the adjoint quantities of one ``G``."""
    N = task.n_points
    if ad.multi:  # one Gauss-Newton outer product per target of every point
        J_gn = -(2.0 / N) * np.einsum("pj,pjg,pjh->gh", eta_p, ad.nu, ad.gradO)
    else:
        J_gn = -(2.0 / N) * (eta_p[:, None] * ad.nu).T @ ad.gradO
    active = eta_p > 0
    max_d = float(np.max(np.abs(delta[active]))) if np.any(active) else 0.0
    res_d = residual_delta(delta[active], ad.gradO[active])
    include = (
        curvature == "exact"
        or (curvature == "auto" and max_d > delta_tol)
        or (curvature == "solution" and res_d > delta_tol)
    )
    if include and ad.multi:
        raise TaskError(
            f"Task {task.name!r} has {task.n_outputs} targets: the curvature term (needed at "
            f"max|delta| = {max_d:.3g} V) is single-output only; use a solution or the FD Jacobian."
        )
    J_curv = None
    if include:
        # J_curv = (1/N) [-2 eta Delta gradK gradO^T + Delta^2 hessK + 2 Delta grad nu] summed over
        # points; with a = S dmu, c = S sum_p Delta_p dV_p, x = sum_p Delta_p^2 a + c:
        #   = (1/N) [-2 gradK b^T - 2 (a c^T + x a^T) o W + 2 (x a^T) o (P Q^T)]
        W = ad.W()
        a = ad.S * ad.dmu
        c = ad.S * (Delta @ ad.dV)
        x = np.sum(Delta**2) * a + c
        b = (eta_p * Delta) @ ad.gradO
        J_curv = np.outer(a, c)
        J_curv += np.outer(x, a)
        J_curv *= W
        P, Q = ad.R_factors()
        J_curv -= (x[:, None] * P) @ (a[:, None] * Q).T
        J_curv += np.outer(ad.gradK, b)
        J_curv *= -2.0 / N
    J = J_gn + J_curv if include else J_gn
    return ForceJacobian(
        J=readonly(J, float),
        gauss_newton=readonly(J_gn, float),
        curvature=None if J_curv is None else readonly(J_curv, float),
        curvature_included=bool(include),
        delta=readonly(delta, float),
        max_abs_delta=max_d,
        residual_delta=res_d,
        eta=eta,
    )


def residual_delta(delta: np.ndarray, gradO: np.ndarray) -> float:
    """``max|delta - D D^+ delta|`` with ``D = d delta/dG = -gradO`` (N, n): unremovable errors.

    ``D D^+`` is the orthogonal projector onto the range of ``D`` (least squares with numpy's
    default cut ``max(N, n) eps sigma_max`` on the singular values). For independent points
    (rank ``N``) the range is all of R^N and the result is round-off.
    """
    if delta.size == 0 or not np.any(delta):
        return 0.0
    coef = np.linalg.lstsq(gradO, delta, rcond=None)[0]
    return float(np.max(np.abs(delta - gradO @ coef)))


def hessian_of(ad: Adjoint, eta_p: np.ndarray, Delta: np.ndarray, N: int) -> np.ndarray:
    """The Hessian ``d2C_eta/dG2`` (``contrastive_hessian``) from the adjoint quantities."""
    K = ad.K_eff
    W = ad.W()
    P, Q = ad.R_factors()
    Wc = W - P @ Q.T
    SS = np.outer(ad.S, ad.S)
    hessK = -2.0 * SS * np.outer(ad.dmu, ad.dmu) * Wc
    gO = eta_p[:, None] * ad.gradO  # = -grad Delta_p
    H = 2.0 * K * gO.T @ gO
    a = Delta @ gO  # sum_p Delta_p eta_p grad O_p
    H -= 2.0 * (np.outer(ad.gradK, a) + np.outer(a, ad.gradK))
    H += np.sum(Delta**2) * hessK
    w = (eta_p * Delta) @ ad.dV
    sum_hessO = SS * W * (np.outer(w, ad.dlamO) + np.outer(ad.dlamO, w))
    H -= 2.0 * K * sum_hessO
    H /= N
    return readonly(0.5 * (H + H.T), float)


def factor_of(
    ad: Adjoint, delta: np.ndarray, eta_p: np.ndarray, r: float, gamma: float, n_points: int
) -> np.ndarray:
    """The factor ``F`` (n_gates, N) of ``M = r gamma J = F F^T`` at a solution
    (``linearize_factor``); TaskError for residual errors or a non-symmetric Gauss-Newton term."""
    active = eta_p > 0
    res_d = residual_delta(delta[active], ad.gradO[active])
    if res_d > DELTA_TOL:
        raise TaskError(
            f"Argument `low_rank` must be False for this task: it keeps residual errors at "
            f"`G_star` (residual_delta = {res_d:.3g} V > {DELTA_TOL:g} V), so M has a "
            "curvature term and no factor F F^T; use linearize(..., low_rank=False)."
        )
    gO, nu = ad.gradO, ad.nu
    g2 = np.sum(gO * gO, axis=1)
    w = np.divide(-np.sum(nu * gO, axis=1), g2, out=np.zeros_like(g2), where=g2 > 0)
    miss = np.max(np.abs(nu + w[:, None] * gO), axis=1)
    if np.any(active & (miss > FACTOR_PARALLEL_TOL * np.max(np.abs(nu), axis=1))):
        raise TaskError(
            "Argument `low_rank` must be False for this task: its Gauss-Newton J is not "
            "symmetric (nu_p not parallel to grad O_p: a differential output)."
        )
    coef = np.clip(2.0 * r * gamma * eta_p * w / n_points, 0.0, None)
    return np.ascontiguousarray((np.sqrt(coef)[:, None] * gO).T)


def residuals(network: Network, tasks: Sequence[Task], G: np.ndarray):
    """Errors ``delta`` of every point of every task and their gradient ``d delta/dG``."""
    ds, jacs = [], []
    for t in tasks:
        s = KirchhoffSolver(network, G, t)
        free = s.free_state()
        ad = Adjoint(s, free)
        ds.append(np.ravel(t.labels - free.O))  # one row per target of every point
        jacs.append(-ad.gradO.reshape(-1, network.n_gates))
    return np.concatenate(ds), np.vstack(jacs)


def solve_manifold(
    network: Network, tasks: Sequence[Task], G_ref: np.ndarray, tol: float, max_iter: int
) -> np.ndarray:
    """``nearest_solution`` on checked values: constrained Gauss-Newton from ``G_ref``."""
    G = G_ref.copy()
    for _ in range(max_iter):
        d, D = residuals(network, tasks, G)
        try:
            lam = np.linalg.solve(D @ D.T, d + D @ (G_ref - G))
        except np.linalg.LinAlgError:
            raise ConvergenceError(
                f"The solution manifold is degenerate at G = {np.round(G, 6).tolist()} (the "
                f"{d.size} point constraints are not independent); drop redundant points."
            ) from None
        step = G_ref - D.T @ lam - G
        for _ in range(60):
            try:
                network.conductances(G + step)
                break
            except DeviceError:
                step *= 0.5
        G = G + step
        if np.max(np.abs(d)) <= tol and np.max(np.abs(step)) <= 1e3 * tol:
            return G
    d, _ = residuals(network, tasks, G)
    if np.max(np.abs(d)) <= tol:
        return G
    raise ConvergenceError(
        f"nearest_solution did not converge in {max_iter} iterations (max|delta| = "
        f"{np.max(np.abs(d)):.3g} V at G = {np.round(G, 6).tolist()}); the tasks may have no "
        "solution with every gate above threshold, or need a closer G_ref."
    )
