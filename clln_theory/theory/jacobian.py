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
from typing import Any, Literal

import numpy as np

from .._checks import choice, count, instance, number, positive, refuse_renamed
from ..electrical._kirchhoff import KirchhoffSolver
from ..electrical.clamping import check_eta
from ..electrical.kirchhoff import check_task
from ..errors import ArgumentError, NetworkError, TaskError
from ..model.network import Network
from ..model.tasks import Task
from ._adjoint import (
    DELTA_TOL,
    SOLUTION_TOL,
    ForceJacobian,
    hessian_of,
    jacobian_of,
    nudged,
    solve_manifold,
)
from ._linearize import linearize_at
from ._spectral import MAX_RATE
from .finite_differences import force_jacobian_fd  # re-exported from its former home
from .linear import LinearTask
from .lowrank_jacobian import single_output

__all__ = [
    "ForceJacobian",
    "contrastive_hessian",
    "force_jacobian",
    "force_jacobian_fd",
    "joint_solution",
    "linearize",
    "nearest_solution",
]

#: Smallest ``tol`` of ``nearest_solution``, V: the outputs of a ~1 V network are resolved to
#: ~1e-16 V in float64, so a smaller tolerance can never be met (a ConvergenceError every time).
MIN_SOLUTION_TOL = 1e-15

#: The curvature modes of `force_jacobian` and `linearize`.
CURVATURES = ("auto", "exact", "gauss-newton", "solution")
#: The routes of `linearize`.
ROUTES = ("auto", "adjoint", "symbolic")


def force_jacobian(
    network: Network,
    G: Any,
    task: Task,
    *,
    eta: float = 1.0,
    curvature: Literal["auto", "exact", "gauss-newton", "solution"] = "auto",
    delta_tol: float | None = None,
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
    delta_tol : float, optional
        Volts (>= 0), used by ``"auto"`` and ``"solution"`` (refused with ``"exact"`` and
        ``"gauss-newton"``, which do not read it). Default 1e-12 V: the curvature term is
        proportional to ``delta_p`` and
        relative to the Gauss-Newton term of order ``delta / 0.1 V``, so dropping it below that
        changes ``J`` by a relative ~1e-11, under `LinearTask`'s tolerances.

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
    choice(curvature, "curvature", CURVATURES)
    if delta_tol is not None and curvature in ("exact", "gauss-newton"):
        raise ArgumentError(
            f"Arguments `curvature={curvature!r}` and `delta_tol` of `force_jacobian` exclude "
            "each other: only 'auto' and 'solution' compare the errors with `delta_tol`."
        )
    tol = DELTA_TOL if delta_tol is None else number(delta_tol, "delta_tol", low=0.0, unit="V")
    task = check_task(task, network)
    G = network.check_point(G)
    s = KirchhoffSolver(network, G, task)
    free = s.free_state()
    ad, delta, eta_p, Delta = nudged(s, free, task, eta)
    return jacobian_of(ad, delta, eta_p, Delta, task, eta, curvature, tol)


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
    task = check_task(task, network)
    eta = check_eta(eta)
    if task.is_multi_output:
        raise TaskError(f"Task {task.name!r}: contrastive_hessian is single-output only.")
    G = network.check_point(G)
    s = KirchhoffSolver(network, G, task)
    free = s.free_state()
    ad, _, eta_p, Delta = nudged(s, free, task, eta)
    return hessian_of(ad, eta_p, Delta, task.n_points)


def linearize(
    network: Network,
    task: Task,
    G_star: Any,
    *,
    gamma: float,
    r: float = 1.0,
    eta: float = 1.0,
    route: Literal["auto", "adjoint", "symbolic"] = "auto",
    curvature: Literal["auto", "exact", "gauss-newton", "solution"] = "auto",
    solution_tol: float = SOLUTION_TOL,
    low_rank: bool = False,
    **renamed: Any,
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
    route : {"auto", "adjoint", "symbolic"}
        Which algorithm gives the Jacobian. ``"adjoint"`` (and ``"auto"``, the default): the
        adjoint formulas of `force_jacobian`, exact to round-off at any size.
        ``"symbolic"``: the sympy Jacobian of the force (`clln_theory.electrical.symbolic`), small
        networks; it is the exact Jacobian at ``G_star`` whatever ``curvature`` says, so give it a
        ``G_star`` on the solution manifold.
    curvature : {"auto", "exact", "gauss-newton", "solution"}
        Passed to `force_jacobian` (adjoint only). ``"auto"`` means ``"solution"``: the
        curvature term is included exactly when the task keeps errors that no gate change
        removes (``ForceJacobian.residual_delta > 1e-12 V``); errors that only say
        ``G_star`` sits slightly off the solution manifold (a calibrated line misses by up to
        1e-9 V) are not allowed to add spurious rank: a single-point task stays rank one.
        ``"exact"`` forces the exact Jacobian at ``G_star``. Default ``"auto"``. With
        ``route="symbolic"`` only ``"auto"`` is accepted (the symbolic Jacobian is exact).
    solution_tol : float
        Volts (> 0); refuse ``G_star`` if ``max|F| > solution_tol max|J|``. Default 1e-6 V:
        far below the millivolt scale of gate noise in the experiment, far above round-off.
    low_rank : bool
        Return the factor form ``M = F F^T`` (no ``n x n`` matrix): see `linearize_factor`.
        Default False. Refused with ``route="symbolic"`` or ``curvature="exact"`` and for a
        multi-output task (ArgumentError); must be a bool.
    **renamed : Any
        Old keyword names, refused with an `ArgumentError` naming the new one (``method`` is
        now ``route``).

    Returns
    -------
    LinearTask
        ``M = r gamma dF/dG`` (1/s) at ``G_star``; for ``eta = 1`` and a single-node output this
        is the paper's ``M = r gamma d2C/dG2`` (D2).

    Raises
    ------
    ArgumentError
        A bad ``gamma``, ``r``, ``eta``, ``route``, ``curvature`` or ``solution_tol``; an option
        the chosen route does not honour; an unknown or renamed keyword.
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
    refuse_renamed(renamed, {"method": "route"}, "linearize")
    instance(network, "network", Network, error=NetworkError)
    gamma = number(gamma, "gamma", low=0.0, low_open=True, high=MAX_RATE, unit="Ω/s")
    r = number(r, "r", low=0.0, low_open=True, high=MAX_RATE)
    eta = check_eta(eta)
    solution_tol = positive(solution_tol, "solution_tol", unit="V")
    choice(route, "route", ROUTES)
    choice(curvature, "curvature", CURVATURES)
    if route == "symbolic" and curvature != "auto":
        raise ArgumentError(
            f"Arguments `route='symbolic'` and `curvature={curvature!r}` of `linearize` exclude "
            "each other: the symbolic Jacobian is the exact one; drop `curvature`."
        )
    if not isinstance(low_rank, (bool, np.bool_)):  # "no" is truthy: never read as True
        raise ArgumentError(
            f"Argument `low_rank` must be True or False, but is {type(low_rank).__name__}."
        )
    if low_rank and (route == "symbolic" or curvature == "exact"):
        bad = "route='symbolic'" if route == "symbolic" else "curvature='exact'"
        raise ArgumentError(
            f"Argument `low_rank` must be False with {bad}: the factor form is the adjoint "
            "Gauss-Newton M at a solution."
        )
    task = check_task(task, network)
    if low_rank:
        single_output(task, "linearize")
    G_star = network.check_point(G_star, "G_star")
    jacobian = None
    if route == "symbolic":  # the exact Jacobian of the symbolic model (sympy, on first use)
        from ..electrical.symbolic import force_jacobian_at

        jacobian = force_jacobian_at
    return linearize_at(
        network, task, G_star, gamma, r, eta, curvature, solution_tol, low_rank, jacobian
    )


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
        Volts (>= 1e-15, the float64 resolution of ~1 V outputs); default 1e-13 V. Stop when
        every ``|delta_p| <= tol`` and the step is
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
    G_ref = np.array(network.check_point(G_ref, "G_ref"), dtype=float)
    return solve_manifold(network, tasks, G_ref, tol, max_iter)


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
    tol = number(tol, "tol", low=MIN_SOLUTION_TOL, unit="V")
    max_iter = count(max_iter, "max_iter")
    G_ref = np.array(network.check_point(G_guess, "G_guess"), dtype=float)
    return solve_manifold(network, [task_a, task_b], G_ref, tol, max_iter)
