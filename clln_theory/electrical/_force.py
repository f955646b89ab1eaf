"""Engine of the Coupled Learning force (checked values only).

``F_e = S_e (dV_C,e**2 - dV_F,e**2)`` averaged over a task's points, from a `KirchhoffSolver` and
its solved free state: a face that already solved the free state (``linearize`` of the theory)
gets the force without solving it again. The faces (`clln_theory.electrical.rule`,
`clln_theory.theory`) check the network, the task, ``G``, ``eta``, ``clamping`` and ``L0`` once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_record, readonly
from ..model.network import Network
from ..model.tasks import Task
from ._clamping import nudge_points, standard_amplitudes
from ._kirchhoff import KirchhoffSolver, State

__all__ = [
    "ForceResult",
    "clamped_outputs_of",
    "contrastive_value",
    "learning_force",
    "solve_free",
]


@dataclass(frozen=True, slots=True)
class ForceResult:
    """The Coupled Learning force of a task at one gate vector.

    Attributes
    ----------
    F : (n_gates,) ndarray
        ``mean_p weight_p F_points[p]``, A (the force in ``dG/dt = -gamma F + B``).
    F_points : (n_points, n_gates) ndarray
        ``S (dV_C**2 - dV_F**2)`` on each learning edge for each point, A.
    O_F, O_C, delta : (n_points,) or (n_points, n_outputs) ndarray
        Free output, clamped output and error ``delta = L - O_F``, V (per target for a
        multi-output task).
    weight : (n_points,) ndarray
        Relative step time of each point (see `clln_theory.electrical.rule.clamped_outputs`).
    active : (n_points,) or (n_points, n_outputs) bool ndarray
        False for classification points (targets) switched off by the hinge.
    free, clamped : State
        The two electrical states.
    clamping : {"standard", "overclamp"}
        The clamping mode.
    eta : float
        Nudge amplitude.
    L0 : float or None
        Overclamping target magnitude, V.
    """

    F: np.ndarray
    F_points: np.ndarray
    O_F: np.ndarray
    O_C: np.ndarray
    delta: np.ndarray
    weight: np.ndarray
    active: np.ndarray
    free: State
    clamped: State
    clamping: str
    eta: float
    L0: float | None

    def __post_init__(self) -> None:
        check_record(self, F="array", F_points="array", O_F="array", O_C="array",
                     delta="array", weight="array", active="flags", free=State, clamped=State,
                     clamping="text", eta="real", L0="real?")  # fmt: skip


def solve_free(network: Network, G: np.ndarray, task: Task) -> tuple[KirchhoffSolver, State]:
    """The solver of a checked (network, G, task) and the free state of every point."""
    s = KirchhoffSolver(network, G, task)
    return s, s.free_state()


def clamped_outputs_of(
    O_F: np.ndarray, task: Task, eta: float, clamping: str, L0: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clamped outputs, step weights and hinge mask of a task's points (checked options).

    ``O_F`` has the shape of ``task.labels``; overclamping a multi-output task has been refused
    by the face.
    """
    O_C, weight, active = nudge_points(
        O_F, task.labels, eta, clamping, L0, task.kind == "classification"
    )
    if task.is_multi_output:
        weight = np.ones(task.n_points)  # standard clamping: one hold time t_h per point
    return O_C, weight, active


def learning_force(
    solver: KirchhoffSolver,
    free: State,
    *,
    eta: float,
    clamping: str = "standard",
    L0: float | None = None,
) -> ForceResult:
    """The Coupled Learning force of ``solver``'s task from its solved free state ``free``.

    Solves the clamped state (one factorization of the clamped block, reused for every point)
    and returns the mean force ``weight @ F_points / n_points`` with both states.
    """
    network, task = solver.network, solver.task
    O_C, weight, active = clamped_outputs_of(free.O, task, eta, clamping, L0)
    clamped = solver.clamped_state(free, O_C)
    g = network.gate_edges
    F_points = network.S * (clamped.dV[:, g] ** 2 - free.dV[:, g] ** 2)
    F = weight @ F_points / task.n_points
    return ForceResult(
        F=readonly(F),
        F_points=readonly(F_points),
        O_F=readonly(free.O),
        O_C=readonly(O_C),
        delta=readonly(task.labels - free.O),
        weight=readonly(weight),
        active=readonly(active),
        free=free,
        clamped=clamped,
        clamping=clamping,
        eta=eta,
        L0=L0,
    )


def contrastive_value(solver: KirchhoffSolver, free: State, eta: float) -> float:
    """``C = mean_p (P_C,p - P_F,p)`` with standard clamping at amplitude ``eta`` (D3)."""
    task = solver.task
    eta_p = standard_amplitudes(free.O, task.labels, eta, task.kind == "classification")
    clamped = solver.clamped_state(free, free.O + eta_p * (task.labels - free.O))  # (1)
    return float(np.mean(clamped.P - free.P))
