"""The rate matrix of a task at a solution in factor form, ``M = F F^T``, by the adjoint method.

At a solution every error ``delta_p`` vanishes and the force Jacobian of
:func:`~clln_theory.theory.jacobian.force_jacobian` is its Gauss-Newton term
``J = -(2/N) sum_p eta_p nu_p grad O_p^T`` with ``nu_p = -w_p grad O_p`` (``w_p = K_eff``, the
conductance a single output node sees), so ``M = r gamma J = F F^T`` with one column per point,
``F_p = sqrt(2 r gamma eta_p w_p / N) grad O_p``. Building ``F`` costs one free factorization and
one adjoint solve, ``O(n N)`` memory; ``linearize(..., low_rank=True)`` returns
``LinearTask.from_factor(F, G_star)``. Tasks with residual errors keep a curvature term that has
no such factor: they are refused (the dense :func:`~clln_theory.theory.jacobian.linearize`
handles them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import choice, positive
from ..electrical.clamping import check_eta
from ..electrical.rule import coupled_learning_force
from ..errors import ArgumentError, ShapeError, TaskError
from ..model.network import Network
from ..model.tasks import Task
from .jacobian import DEFAULT_DELTA_TOL, DEFAULT_SOLUTION_TOL, nudged_adjoint, residual_delta
from .linear import LinearTask

__all__ = ["FACTOR_PARALLEL_TOL", "factor_form", "linearize_factor"]

#: Relative tolerance for ``nu_p`` to be parallel to ``grad O_p`` (the Gauss-Newton term then is
#: symmetric per point): adjoint drops carry ~1e-15 relative round-off, while an electrically
#: asymmetric differential output misses by O(1).
FACTOR_PARALLEL_TOL = 1e-8


def linearize_factor(
    network: Network,
    task: Task,
    G_star: Any,
    *,
    gamma: float,
    r: float = 1.0,
    eta: float = 1.0,
) -> np.ndarray:
    """The factor ``F`` (n_gates, N) of ``M = r gamma J = F F^T`` at a solution, by the adjoint.

    Parameters
    ----------
    network : Network
        Linear device.
    task : Task
        The task trained near ``G_star``.
    G_star : (n_gates,) array_like
        A solution (every nudged ``delta_p = 0``), V.
    gamma : float
        Learning rate ``gamma = A0/S``, Ω/s (> 0).
    r : float
        Measured rate factor ``A_exp/A0``, > 0.
    eta : float in (0, 1]
        Nudge amplitude of (1).

    Returns
    -------
    F : (n_gates, N) ndarray
        Column ``p`` is ``sqrt(2 r gamma eta_p w_p / N) grad O_p`` (zero for a point past its
        classification label), sqrt(1/s).

    Raises
    ------
    TaskError
        If the task keeps residual errors at ``G_star`` (``residual_delta >
        DEFAULT_DELTA_TOL``: M has a curvature term, use ``linearize(..., low_rank=False)``),
        or ``nu_p`` is not parallel to ``grad O_p`` (a differential output: ``J`` is not
        symmetric).
    ArgumentError
        A bad ``gamma``, ``r`` or ``eta``.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> from clln_theory.theory.jacobian import linearize, nearest_solution
    >>> net = star_network()
    >>> task, _ = experiment_tasks("exp1")
    >>> G_star = nearest_solution(net, task, [3.0, 3.5])
    >>> F = linearize_factor(net, task, G_star, gamma=1.6e6)
    >>> M = linearize(net, task, G_star, gamma=1.6e6).M
    >>> F.shape, bool(np.allclose(F @ F.T, M, rtol=1e-12, atol=0))
    ((2, 1), True)
    """
    gamma = positive(gamma, "gamma", unit="Ω/s")
    r = positive(r, "r")
    eta = check_eta(eta)
    ad, delta, eta_p, _ = nudged_adjoint(network, G_star, task, eta)
    active = eta_p > 0
    res_d = residual_delta(delta[active], ad.gradO[active])
    if res_d > DEFAULT_DELTA_TOL:
        raise TaskError(
            f"Argument `low_rank` must be False for this task: it keeps residual errors at "
            f"`G_star` (residual_delta = {res_d:.3g} V > {DEFAULT_DELTA_TOL:g} V), so M has a "
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
    coef = np.clip(2.0 * r * gamma * eta_p * w / task.n_points, 0.0, None)
    return np.ascontiguousarray((np.sqrt(coef)[:, None] * gO).T)


def factor_form(
    network: Network,
    task: Task,
    G_star: Any,
    gamma: float,
    r: float,
    eta: float,
    method: str,
    curvature: str,
    solution_tol: float = DEFAULT_SOLUTION_TOL,
) -> LinearTask:
    """``linearize(..., low_rank=True)``: ``LinearTask.from_factor(linearize_factor(...))``
    after the checks of :func:`~clln_theory.theory.jacobian.linearize` (``G_star`` a solution:
    ``max|F| <= solution_tol * max|J|``, with ``max|J| = max diag(F F^T) / (r gamma)`` exactly,
    as ``J`` is positive semi-definite)."""
    choice(method, "method", ("auto", "adjoint", "symbolic"))
    choice(curvature, "curvature", ("auto", "exact", "gauss-newton", "solution"))
    if method == "symbolic" or curvature == "exact":
        bad = "method='symbolic'" if method == "symbolic" else "curvature='exact'"
        raise ArgumentError(
            f"Argument `low_rank` must be False with {bad}: the factor form is the adjoint "
            "Gauss-Newton M at a solution."
        )
    solution_tol = positive(solution_tol, "solution_tol", unit="V")
    G_star = network.check_gates(G_star)
    if G_star.ndim != 1:
        raise ShapeError(
            f"Argument `G_star` must have shape ({network.n_gates},), but has {G_star.shape}."
        )
    F = linearize_factor(network, task, G_star, gamma=gamma, r=r, eta=eta)
    scale = float(np.max(np.sum(F * F, axis=1))) / (float(r) * float(gamma))
    force = coupled_learning_force(network, G_star, task, eta=eta).F
    if float(np.max(np.abs(force))) > solution_tol * scale:
        raise TaskError(
            f"`G_star` = {np.round(G_star, 6).tolist()} is not a solution: max|F| = "
            f"{np.max(np.abs(force)):.3g} A exceeds solution_tol * max|J| = "
            f"{solution_tol * scale:.3g} A; find G_star with nearest_solution() or "
            "joint_solution()."
        )
    return LinearTask.from_factor(F, G_star)
