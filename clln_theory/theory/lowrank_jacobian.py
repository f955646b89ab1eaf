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

from .._checks import instance, positive
from ..electrical.clamping import check_eta
from ..electrical.kirchhoff import check_task
from ..errors import ArgumentError, NetworkError
from ..model.network import Network
from ..model.tasks import Task
from ._adjoint import SOLUTION_TOL
from ._linearize import solution_factor

__all__ = ["linearize_factor"]


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
        If ``G_star`` is not a solution (``max|F| > 1e-6 V * max|J|``, as :func:`linearize`
        refuses it), the task keeps residual errors at ``G_star`` (``residual_delta >
        1e-12 V``: M has a curvature term, use ``linearize(..., low_rank=False)``),
        or ``nu_p`` is not parallel to ``grad O_p`` (a differential output: ``J`` is not
        symmetric).
    ArgumentError
        A bad ``gamma``, ``r`` or ``eta``; a multi-output task (the factor form is built for
        single-output tasks).

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
    instance(network, "network", Network, error=NetworkError)
    gamma = positive(gamma, "gamma", unit="Ω/s")
    r = positive(r, "r")
    eta = check_eta(eta)
    task = check_task(task, network)
    single_output(task, "linearize_factor")
    G_star = network.check_point(G_star, "G_star")
    return solution_factor(network, task, G_star, gamma, r, eta, SOLUTION_TOL)


def single_output(task: Task, function: str) -> None:
    """ArgumentError for a multi-output ``task`` (checked) in the factor form of ``function``
    (not in ``__all__``: shared with `linearize`)."""
    if task.is_multi_output:
        raise ArgumentError(
            f"Arguments `task` (a {len(task.output)}-output task) and the factor form of "
            f"`{function}` exclude each other: the factor F F^T is built for single-output "
            "tasks; use linearize(..., low_rank=False)."
        )
