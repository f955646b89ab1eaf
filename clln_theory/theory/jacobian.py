"""Linearization of Coupled Learning at a solution: the rate matrix ``M`` and the solution ``G*``.

Near a solution ``G*`` the continuum dynamics ``dG/dt = -gamma F(G) + B`` ((5), (D1)) become
``dG/dt = -M (G - G*) + B`` (D2) with

    M = r gamma J,      J = dF/dG (Jacobian of the mean Coupled Learning force),

``r = A_exp/A0`` the measured rate factor (Appendix C).

The η subtlety
--------------
Let ``C_eta = mean_p (P_C,p - P_F,p)`` be the contrastive function of the nudge actually used,
``O_C = O_F + eta delta``. For a single-node output the clamped power is exactly
``P_C = P_F + K_eff (O_C - O_F)**2`` (``K_eff``: the conductance the output sees), so at a solution
(every ``delta_p = 0``)

    J = (1/eta) d2C_eta/dG2 = d2C_1/dG2 * eta,

i.e. the paper's ``M = gamma d2C/dG2`` (D2) holds exactly at ``eta = 1`` (the clamp sits at the
label) and the rate is ``M = (gamma/eta) d2C_eta/dG2`` for ``eta < 1``. This package always
computes ``M = r gamma J``. For a differential output ``O+ - O-`` the symmetric split of the nudge
(±eta delta/2) makes ``J`` the rank-one ``-2 eta nu grad(O)^T`` of `force_jacobian`, which equals
``(1/eta) d2C_eta/dG2`` only when the two output nodes are electrically symmetric; it is then in
general not symmetric and `linearize` says so instead of symmetrizing.

The adjoint formula (large networks)
------------------------------------
With ``Lambda = L_II^{-1} E_out`` (one solve per output node, shared by all points), per point
``p`` and learning edges ``e, f`` (``S`` the device slopes, ``dX`` edge drops of a node field):

- ``grad O_p = -S dV_F,p dlambda_O`` with ``lambda_O = Lambda u`` (``u = 1`` or ``(1, -1)``);
- ``grad K_eff = S dmu**2`` with ``mu = Lambda Z^{-1} c`` the clamped response (``Z`` the output
  block of ``Lambda``, ``c = 1`` or ``(1/2, -1/2)``), ``K_eff = c^T Z^{-1} c``;
- force ``F_p = Delta_p**2 grad K_eff + 2 Delta_p nu_p`` with ``Delta_p = eta delta_p`` and
  ``nu_p = S dV_F,p dmu`` (``nu_p = -K_eff grad O_p`` for a single output node);
- Jacobian ``J_p = -2 eta nu_p grad O_p^T`` (Gauss-Newton; ``= 2 eta K_eff grad O_p grad O_p^T``
  for a single output node) ``+ curvature``, the curvature part
  ``-2 eta Delta_p grad K grad O_p^T + Delta_p**2 hess K + 2 Delta_p grad nu_p`` vanishing where
  ``delta_p = 0``. It needs ``W = A_g L_II^{-1} A_g^T`` on the learning edges
  (``hess K_ef = -2 S_e S_f dmu_e dmu_f Wc_ef`` with ``Wc = W - dLambda Z^{-1} dLambda^T``,
  ``grad nu_ef = -S_e S_f (dV_f dmu_e W_ef + dV_e dmu_f Wc_ef)``): one multi-right-hand-side
  solve with the factorization already made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import choice, count, instance, number, positive, readonly
from ..electrical.clamping import check_eta, nudge_amplitudes, output_split
from ..electrical.kirchhoff import KirchhoffSolver, State
from ..electrical.rule import coupled_learning_force
from ..errors import ConvergenceError, DeviceError, NetworkError, ShapeError, TaskError
from ..model.network import Network
from ..model.tasks import Task
from ._limits import MIN_SOLUTION_TOL
from .finite_differences import force_jacobian_fd  # re-exported from its former home
from .linear import MAX_RATE, LinearTask

__all__ = [
    "DEFAULT_DELTA_TOL",
    "DEFAULT_SOLUTION_TOL",
    "ForceJacobian",
    "contrastive_hessian",
    "force_jacobian",
    "force_jacobian_fd",
    "joint_solution",
    "linearize",
    "nearest_solution",
]

#: Errors (volts) at or below this count as zero when deciding whether to add the curvature term
#: (``curvature="auto"``: ``max|delta_p|``; ``"solution"``: the unremovable part
#: ``residual_delta``). The term is proportional to ``delta_p`` and relative to the Gauss-Newton
#: term of order ``delta / 0.1 V`` (output drops of ~0.1 V), so dropping it changes ``J`` by a
#: relative ~1e-11: far below the 1e-8 symmetry tolerance of `LinearTask`, and an eigenvalue
#: shift of 1e-11 max|M|, under its 1e-9 1/s rank threshold for rates up to ~100 1/s.
DEFAULT_DELTA_TOL = 1e-12

#: `linearize` accepts ``G_star`` when the mean force there is what ``J`` produces from a gate
#: displacement of at most this many volts (``max|F| <= tol * max|J|``): far below the
#: millivolt scale of gate noise in the experiment, far above round-off.
DEFAULT_SOLUTION_TOL = 1e-6


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
        return _asymmetry(self.J)


class _Adjoint:
    """Adjoint quantities of one task at one ``G`` (free factorization reused)."""

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


def _nudged(network: Network, G: Any, task: Task, eta: float):
    """Adjoint quantities and the standard-clamping nudge of every point at ``G``.

    Returns ``(ad, delta, eta_p, Delta)``: the `_Adjoint`, the errors ``L - O_F`` (N,), the
    per-point nudge amplitude (``eta``, or 0 past a classification label, Appendix A) and
    ``Delta = eta_p delta = O_C - O_F`` (1).
    """
    s = KirchhoffSolver(network, G, task)
    free = s.free_state()
    delta = task.labels - free.O
    eta_p = nudge_amplitudes(
        free.O, task.labels, eta=eta, classification=task.kind == "classification"
    )
    return _Adjoint(s, free), delta, eta_p, eta_p * delta


def _asymmetry(J: np.ndarray) -> float:
    scale = float(np.max(np.abs(J)))
    return float(np.max(np.abs(J - J.T)) / scale) if scale > 0 else 0.0


def force_jacobian(
    network: Network,
    G: Any,
    task: Task,
    *,
    eta: float = 1.0,
    curvature: Literal["auto", "exact", "gauss-newton", "solution"] = "auto",
    delta_tol: float = DEFAULT_DELTA_TOL,
) -> ForceJacobian:
    """Exact Jacobian ``dF/dG`` of the mean force of standard clamping, by the adjoint method.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Regression, or classification with the hinge of Appendix A (points past their label
        contribute nothing; a point exactly at its label counts as nudged).
    eta : float in (0, 1]
        Nudge amplitude of (1).
    curvature : {"auto", "exact", "gauss-newton", "solution"}
        ``"exact"`` always adds the curvature term (cost: one multi-RHS solve and a dense
        ``n_gates**2`` matrix); ``"gauss-newton"`` never does (exact only at a solution);
        ``"auto"`` adds it unless every nudged ``|delta_p| <= delta_tol`` (the exact Jacobian at
        any ``G``). ``"solution"`` is for a ``G`` that is meant to be a solution (what
        `linearize` uses): it adds the term only when ``residual_delta > delta_tol``, i.e. when
        the task keeps errors that no gate change removes. Errors inside the range of
        ``d delta/dG`` only say that ``G`` sits a little off the solution manifold; their
        curvature term (not rank-limited) would give a single-point task spurious nonzero
        eigenvalues of order ``|delta| |M| / 0.1 V``, while the Gauss-Newton term keeps the
        exact rank (one per independent point) and differs from the Jacobian at the nearest
        solution by ``O(|delta|)`` only. The result says which was used.
    delta_tol : float
        Volts (>= 0), see `DEFAULT_DELTA_TOL`.

    Returns
    -------
    ForceJacobian

    Notes
    -----
    Formulas in the module docstring. Cost without curvature: one free factorization, one
    solve per output node, ``O(N n_gates**2)`` for the outer products. At a solution
    ``J = (1/eta) d2C_eta/dG2`` for a single-node output (the η subtlety).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network()
    >>> task, _ = experiment_tasks("exp1")
    >>> res = force_jacobian(net, [3.0, 3.5], task)
    >>> res.curvature_included, bool(res.max_abs_delta > 0)
    (True, True)
    >>> res.J.shape
    (2, 2)
    """
    instance(network, "network", Network, error=NetworkError)
    eta = check_eta(eta)
    choice(curvature, "curvature", ("auto", "exact", "gauss-newton", "solution"))
    delta_tol = number(delta_tol, "delta_tol", low=0.0, unit="V")
    ad, delta, eta_p, Delta = _nudged(network, G, task, eta)
    N = task.n_points
    if ad.multi:  # one Gauss-Newton outer product per target of every point
        J_gn = -(2.0 / N) * np.einsum("pj,pjg,pjh->gh", eta_p, ad.nu, ad.gradO)
    else:
        J_gn = -(2.0 / N) * (eta_p[:, None] * ad.nu).T @ ad.gradO
    active = eta_p > 0
    max_d = float(np.max(np.abs(delta[active]))) if np.any(active) else 0.0
    res_d = _residual_delta(delta[active], ad.gradO[active])
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


def _residual_delta(delta: np.ndarray, gradO: np.ndarray) -> float:
    """``max|delta - D D^+ delta|`` with ``D = d delta/dG = -gradO`` (N, n): unremovable errors.

    ``D D^+`` is the orthogonal projector onto the range of ``D`` (least squares with numpy's
    default cut ``max(N, n) eps sigma_max`` on the singular values). For independent points
    (rank ``N``) the range is all of R^N and the result is round-off.
    """
    if delta.size == 0 or not np.any(delta):
        return 0.0
    coef = np.linalg.lstsq(gradO, delta, rcond=None)[0]
    return float(np.max(np.abs(delta - gradO @ coef)))


def contrastive_hessian(network: Network, G: Any, task: Task, *, eta: float = 1.0) -> np.ndarray:
    """Exact Hessian ``d2C_eta/dG2`` of the contrastive function (D3) with standard clamping.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Regression, or classification with the hinge of Appendix A.
    eta : float in (0, 1]
        ``C_eta = mean_p (P_C,p - P_F,p)`` with ``O_C = O_F + eta delta``; ``eta = 1`` is the
        paper's C.

    Returns
    -------
    H : (n_gates, n_gates) ndarray
        Symmetric, A/V (W/V²).

    Notes
    -----
    ``C_eta = mean_p Delta_p**2 K_eff`` with ``Delta_p = eta delta_p``; its Hessian uses the
    adjoint quantities of `force_jacobian` plus ``hess O_ef = S_e S_f W_ef (dlamO_f dV_e +
    dlamO_e dV_f)``. Valid everywhere, not only at a solution. At a solution with a single-node
    output, ``H = eta * J`` (the η subtlety).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> H = contrastive_hessian(star_network(), [3.0, 3.5], task)
    >>> bool(abs(H[0, 1] - H[1, 0]) < 1e-15)
    True
    """
    instance(network, "network", Network, error=NetworkError)
    instance(task, "task", Task, error=TaskError)
    eta = check_eta(eta)
    if task.is_multi_output:
        raise TaskError(f"Task {task.name!r}: contrastive_hessian is single-output only.")
    ad, _, eta_p, Delta = _nudged(network, G, task, eta)
    N = task.n_points
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


def linearize(
    network: Network,
    task: Task,
    G_star: Any,
    *,
    gamma: float,
    r: float = 1.0,
    eta: float = 1.0,
    method: Literal["auto", "adjoint", "symbolic"] = "auto",
    curvature: Literal["auto", "exact", "gauss-newton"] = "auto",
    solution_tol: float = DEFAULT_SOLUTION_TOL,
    low_rank: bool = False,
) -> LinearTask:
    """Linearize standard-clamping Coupled Learning at a solution: ``LinearTask(M, G_star)``.

    Parameters
    ----------
    network : Network
        Linear device (Appendix D).
    task : Task
        The task trained near ``G_star``.
    G_star : (n_gates,) array_like
        A solution: a zero of the mean force (every ``delta_p = 0``, or a minimum of C with
        residual errors), V. Find one with `nearest_solution` or `joint_solution`.
    gamma : float
        Learning rate ``gamma = A0/S``, Ω/s (> 0).
    r : float
        Measured rate factor ``A_exp/A0`` (Appendix C), > 0.
    eta : float in (0, 1]
        Nudge amplitude of (1).
    method : {"auto", "adjoint", "symbolic"}
        ``"adjoint"`` (and ``"auto"``): `force_jacobian`, exact to round-off at any size.
        ``"symbolic"``: the sympy Jacobian of the force (`clln_theory.electrical.symbolic`), small
        networks; it is the exact Jacobian at ``G_star`` whatever ``curvature`` says, so give it a
        ``G_star`` on the solution manifold.
    curvature : {"auto", "exact", "gauss-newton", "solution"}
        Passed to `force_jacobian` (adjoint only). ``"auto"`` means ``"solution"``: the
        curvature term is included exactly when the task keeps errors that no gate change
        removes (``ForceJacobian.residual_delta > DEFAULT_DELTA_TOL``); errors that only say
        ``G_star`` sits slightly off the solution manifold (a calibrated line misses by up to
        1e-9 V) are not allowed to add spurious rank: a single-point task stays rank one.
        ``"exact"`` forces the exact Jacobian at ``G_star``.
    solution_tol : float
        Volts (> 0); refuse ``G_star`` if ``max|F| > solution_tol max|J|`` (`DEFAULT_SOLUTION_TOL`).
    low_rank : bool
        Return the factor form ``M = F F^T`` (no ``n x n`` matrix): see `linearize_factor`.

    Returns
    -------
    LinearTask
        ``M = r gamma dF/dG`` (1/s) at ``G_star``; for ``eta = 1`` and a single-node output this
        is the paper's ``M = r gamma d2C/dG2`` (D2).

    Raises
    ------
    TaskError
        ``G_star`` is not a solution, or ``J`` is not symmetric (differential output, or
        ``eta < 1`` with residual errors) — the message gives the asymmetry.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network()
    >>> task, _ = experiment_tasks("exp1")
    >>> G_star = nearest_solution(net, task, [3.0, 3.5])
    >>> lt = linearize(net, task, G_star, gamma=1.6e6, r=2.0)
    >>> lt.rank
    1
    """
    instance(network, "network", Network, error=NetworkError)
    if low_rank:  # the factor form, theory/lowrank_jacobian.py
        from .lowrank_jacobian import factor_form

        return factor_form(network, task, G_star, gamma, r, eta, method, curvature, solution_tol)
    gamma = number(gamma, "gamma", low=0.0, low_open=True, high=MAX_RATE, unit="Ω/s")
    r = number(r, "r", low=0.0, low_open=True, high=MAX_RATE)
    solution_tol = positive(solution_tol, "solution_tol", unit="V")
    choice(method, "method", ("auto", "adjoint", "symbolic"))
    choice(curvature, "curvature", ("auto", "exact", "gauss-newton", "solution"))
    G_star = network.check_gates(G_star, "G_star")
    if G_star.ndim != 1:
        raise ShapeError(
            f"Argument `G_star` must have shape ({network.n_gates},), but has {G_star.shape}."
        )
    if method in ("auto", "adjoint"):
        mode = "solution" if curvature == "auto" else curvature
        jac = force_jacobian(network, G_star, task, eta=eta, curvature=mode)
        J = np.array(jac.J)
    else:  # "symbolic"
        from ..electrical.symbolic import symbolic_force_jacobian

        J = symbolic_force_jacobian(network, G_star, task, eta=eta)
    F = coupled_learning_force(network, G_star, task, eta=eta).F
    scale = float(np.max(np.abs(J)))
    if float(np.max(np.abs(F))) > solution_tol * scale:
        raise TaskError(
            f"`G_star` = {np.round(G_star, 6).tolist()} is not a solution: max|F| = "
            f"{np.max(np.abs(F)):.3g} A exceeds solution_tol * max|J| = {solution_tol * scale:.3g}"
            " A; find G_star with nearest_solution() or joint_solution()."
        )
    asym = _asymmetry(J)
    if asym > 1e-8:
        raise TaskError(
            f"The force Jacobian at `G_star` is not symmetric (max|J - J^T|/max|J| = {asym:.3g}),"
            " so the dynamics are not a gradient flow there (differential output, or eta < 1 "
            "with residual errors); a LinearTask needs a symmetric M."
        )
    return LinearTask(r * gamma * J, G_star)


nudged_adjoint, residual_delta = _nudged, _residual_delta  # public: theory/lowrank_jacobian.py


def _residuals(network: Network, tasks: Sequence[Task], G: np.ndarray):
    """Errors ``delta`` of every point of every task and their gradient ``d delta/dG``."""
    ds, jacs = [], []
    for t in tasks:
        s = KirchhoffSolver(network, G, t)
        free = s.free_state()
        ad = _Adjoint(s, free)
        ds.append(np.ravel(t.labels - free.O))  # one row per target of every point
        jacs.append(-ad.gradO.reshape(-1, network.n_gates))
    return np.concatenate(ds), np.vstack(jacs)


def nearest_solution(
    network: Network,
    task: Task | Sequence[Task],
    G_ref: Any,
    *,
    tol: float = 1e-13,
    max_iter: int = 50,
) -> np.ndarray:
    """The point of a task's solution manifold ``{G : O_F,p(G) = L_p for all p}`` nearest ``G_ref``.

    Parameters
    ----------
    network : Network
        Linear device.
    task : Task or sequence of Task
        With several tasks, the manifold is the intersection (joint solutions).
    G_ref : (n_gates,) array_like
        Reference point, V (Euclidean distance in gate space).
    tol : float
        Volts (>= `MIN_SOLUTION_TOL`): stop when every ``|delta_p| <= tol`` and the step is
        below ``tol * 1e3``.
    max_iter : int
        Iteration budget.

    Returns
    -------
    G : (n_gates,) ndarray

    Raises
    ------
    ConvergenceError
        No solution reached (e.g. more independent points than gates, or no solution with every
        gate above threshold).

    Notes
    -----
    Constrained Gauss-Newton: linearize ``delta(G) = 0`` at ``G_k`` and take the point of that
    affine set nearest ``G_ref``, ``G_{k+1} = G_ref - D^T (D D^T)^{-1} (delta_k + D (G_ref - G_k))``
    with ``D = d delta/dG`` (one adjoint solve per task). A step that would push a gate below its
    threshold is halved. Converges quadratically to the KKT point.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> from clln_theory.electrical.kirchhoff import free_state
    >>> net = star_network()
    >>> task, _ = experiment_tasks("exp1")
    >>> G = nearest_solution(net, task, [3.0, 3.5])
    >>> round(float(free_state(net, G, task).O[0]), 12)
    0.31
    """
    instance(network, "network", Network, error=NetworkError)
    tasks = [task] if isinstance(task, Task) else list(task) if isinstance(task, Sequence) else []
    if not tasks or not all(isinstance(t, Task) for t in tasks):
        raise TaskError("Argument `task` must be a Task or a non-empty sequence of tasks.")
    tol = number(tol, "tol", low=MIN_SOLUTION_TOL, unit="V")
    max_iter = count(max_iter, "max_iter")
    network.check_point(G_ref, "G_ref")
    G_ref = np.array(network.check_gates(G_ref, "G_ref"), dtype=float)
    G = G_ref.copy()
    for _ in range(max_iter):
        d, D = _residuals(network, tasks, G)
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
    d, _ = _residuals(network, tasks, G)
    if np.max(np.abs(d)) <= tol:
        return G
    raise ConvergenceError(
        f"nearest_solution did not converge in {max_iter} iterations (max|delta| = "
        f"{np.max(np.abs(d)):.3g} V at G = {np.round(G, 6).tolist()}); the tasks may have no "
        "solution with every gate above threshold, or need a closer G_ref."
    )


def joint_solution(
    network: Network,
    task_a: Task,
    task_b: Task,
    G_guess: Any,
    *,
    tol: float = 1e-13,
    max_iter: int = 50,
) -> np.ndarray:
    """Joint solution of two tasks: the point of both solution manifolds nearest ``G_guess``.

    Same as ``nearest_solution(network, [task_a, task_b], G_guess, tol=tol, max_iter=max_iter)``.

    Parameters
    ----------
    network : Network
        Linear device.
    task_a, task_b : Task
        The two tasks.
    G_guess : (n_gates,) array_like
        Reference point, V.
    tol : float
        Volts, as in `nearest_solution`.
    max_iter : int
        Iteration budget, as in `nearest_solution`.

    Returns
    -------
    G : (n_gates,) ndarray
        V.

    Raises
    ------
    ConvergenceError
        The tasks are incompatible (no joint solution) or the iteration did not converge.
    ArgumentError
        A bad ``tol`` or ``max_iter``.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network()
    >>> a, b = experiment_tasks("exp1")
    >>> joint_solution(net, a, b, [3.0, 3.5]).round(4)
    array([2.4315, 2.3872])
    """
    instance(network, "network", Network, error=NetworkError)
    instance(task_a, "task_a", Task, error=TaskError)
    instance(task_b, "task_b", Task, error=TaskError)
    network.check_point(G_guess, "G_guess")
    return nearest_solution(network, [task_a, task_b], G_guess, tol=tol, max_iter=max_iter)
