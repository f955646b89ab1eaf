"""Engine of `clln_theory.theory.linearize`: the rate matrix ``M = r γ dF/dG`` at a solution.

Takes checked values (a network, a task that fits it, ``G_star`` above threshold, the numbers
and options the face checked) and solves the circuit once: the free state and the nudge are
shared by the Jacobian and the force that proves ``G_star`` a solution. The face `linearize` and
the calibration of `clln_theory.inference.calibrate_task` call it. The symbolic route takes the
Jacobian from a callable the face passes in (`clln_theory.electrical.symbolic.force_jacobian_at`),
so this engine imports no face. Public names for the theory's and inference's modules; not part
of the package's API.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..electrical._kirchhoff import KirchhoffSolver
from ..errors import TaskError
from ..model.network import Network
from ..model.tasks import Task
from ._adjoint import DELTA_TOL, Adjoint, asymmetry, factor_of, force_of, jacobian_of, nudged
from ._spectral import RATE_TOL
from ._tasks import checked_task
from .linear import LinearTask

__all__ = ["JacobianFn", "linearize_at", "require_solution", "solution_factor"]

#: The exact Jacobian of a checked network, gates and task at ``eta`` (the symbolic route).
JacobianFn = Callable[[Network, np.ndarray, Task, float], np.ndarray]


def linearize_at(
    network: Network,
    task: Task,
    G_star: np.ndarray,
    gamma: float,
    r: float,
    eta: float,
    curvature: str,
    solution_tol: float,
    low_rank: bool,
    jacobian: JacobianFn | None = None,
) -> LinearTask:
    """``LinearTask(r γ J, G_star)`` on checked values: the adjoint Jacobian (``curvature`` as
    `linearize` reads it), or ``jacobian(network, G_star, task, eta)`` when given (symbolic);
    the factor form with ``low_rank``. `TaskError` unless ``G_star`` is a solution and ``J`` is
    symmetric."""
    if low_rank:  # the factor form (see `linearize_factor`)
        return LinearTask.from_factor(
            solution_factor(network, task, G_star, gamma, r, eta, solution_tol), G_star
        )
    s = KirchhoffSolver(network, G_star, task)  # one free solve, shared by J and the force
    free = s.free_state()
    ad, delta, eta_p, Delta = nudged(s, free, task, eta)
    if jacobian is None:
        mode = "solution" if curvature == "auto" else curvature
        J = np.array(jacobian_of(ad, delta, eta_p, Delta, task, eta, mode, DELTA_TOL).J)
    else:
        J = jacobian(network, G_star, task, eta)
    F = force_of(s, free, task, eta_p)
    require_solution(G_star, F, solution_tol, float(np.max(np.abs(J))))
    asym = asymmetry(J)
    if asym > 1e-8:
        raise TaskError(
            f"The force Jacobian at `G_star` is not symmetric (max|J - J^T|/max|J| = {asym:.3g}),"
            f" so the dynamics are not a gradient flow there{_why_asymmetric(ad, task)}; a "
            "LinearTask needs a symmetric M."
        )
    return checked_task(r * gamma * J, G_star, RATE_TOL)


def _why_asymmetric(ad: Adjoint, task: Task) -> str:
    """The reason for a non-symmetric ``J``, for the message of `linearize_at`.

    A differential output is clamped at both nodes (``±Δ/2``, as in the circuit and the
    simulator), so the force is not the gradient of ``C``: ``F = ∇C/η + 2Δ (ν + K_eff ∇O)``, and
    at a solution ``J = W⁻¹ ∇²C_η / η`` with the diagonal metric ``W_e = K_eff dλ_O,e / dμ_e``
    (the output adjoint over the clamped response on each edge; ``W = 1`` for one output node,
    tested in ``tests/theory/test_jacobian.py``). The message gives the range of ``W``: with a
    negative entry no change of gate scale makes the flow a gradient flow.
    """
    if not task.is_differential or ad.multi:
        return " (eta < 1 with residual errors)"
    dmu = np.asarray(ad.dmu, dtype=float)
    W = np.divide(float(ad.K_eff) * ad.dlamO, dmu, out=np.full(dmu.shape, np.nan), where=dmu != 0)
    return (
        ": the two-node clamp of a differential output is a gradient flow of C only in the "
        f"diagonal metric W = K_eff dlambda_O/dmu per edge, here from {np.nanmin(W):.3g} to "
        f"{np.nanmax(W):.3g} (J = W^-1 Hess C / eta)"
    )


def solution_factor(
    network: Network,
    task: Task,
    G_star: np.ndarray,
    gamma: float,
    r: float,
    eta: float,
    solution_tol: float,
) -> np.ndarray:
    """The factor ``F`` of ``M = r γ J = F F^T`` (single-output task, checked values), after
    `require_solution` proves ``G_star`` a solution: one free and one clamped solve."""
    s = KirchhoffSolver(network, G_star, task)
    free = s.free_state()
    ad, delta, eta_p, _ = nudged(s, free, task, eta)
    Fm = factor_of(ad, delta, eta_p, r, gamma, task.n_points)
    scale = float(np.max(np.sum(Fm * Fm, axis=1))) / (float(r) * float(gamma))
    require_solution(G_star, force_of(s, free, task, eta_p), solution_tol, scale)
    return Fm


def require_solution(G_star: np.ndarray, F: np.ndarray, solution_tol: float, scale: float) -> None:
    """TaskError unless ``max|F| <= solution_tol * scale`` (``scale = max|J|``, A/V)."""
    if float(np.max(np.abs(F))) > solution_tol * scale:
        raise TaskError(
            f"`G_star` = {np.round(G_star, 6).tolist()} is not a solution: max|F| = "
            f"{np.max(np.abs(F)):.3g} A exceeds solution_tol * max|J| = {solution_tol * scale:.3g}"
            " A; find G_star with nearest_solution() or joint_solution()."
        )
