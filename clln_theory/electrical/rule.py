"""The Coupled Learning rule: clamping modes and the learning force.

Per learning edge the circuit applies ``dG = t_h [A0 (dV_F**2 - dV_C**2) + B]`` ((3), (7) of the
paper). With ``gamma = A0 / S`` the continuum dynamics are (5)/(D1)

    dG/dt = -gamma F + B,        F_e = S_e (dV_C,e**2 - dV_F,e**2),

with ``F`` averaged over the points of a task, which are cycled fast compared with the change of
``G`` (the package's time-scale convention; see the conventions page docs/conventions.md).

The clamping modes (`Clamping`: standard clamping (1), overclamping (F5)) and the classification
hinge of Appendix A are defined once, in `clln_theory.electrical.clamping`; this module applies them
to a task (`clamped_outputs`) and computes the force they produce (`coupled_learning_force`). The
learning rate ``A0`` (`learning_rate_A0`) and ``gamma`` (`learning_rate_gamma`) are computed only
here.

For a linear network the force of standard clamping is the gradient of the contrastive function
at ``eta = 1``: ``F = dC/dG`` with ``C = P_C - P_F`` of (D3) (envelope theorem,
``dP/dK_e = dV_e**2``). For ``eta < 1``, see `clln_theory.theory.jacobian` for the η subtlety.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import instance, positive, real_array
from ..errors import NetworkError, NumericalRangeError, ShapeError, TaskError
from ..model.network import Network
from ..model.tasks import Task
from ._force import ForceResult, clamped_outputs_of, learning_force, solve_free
from .clamping import Clamping, check_clamping, check_eta
from .kirchhoff import check_task

__all__ = [
    "ForceResult",
    "clamped_outputs",
    "coupled_learning_force",
    "learning_rate_A0",
    "learning_rate_gamma",
]

#: Multiplier scale V₀ of the learning-rate circuit, V (Appendix C, Eq. (C1)).
V0_MULTIPLIER = 0.33


def clamped_outputs(
    O_F: Any,
    task: Task,
    *,
    eta: float = 1.0,
    clamping: Clamping = "standard",
    L0: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clamped outputs and step weights of a task's points (`electrical.clamping.nudge`).

    Parameters
    ----------
    O_F : (n_points,) or (n_points, n_outputs) array_like
        Free outputs, V (the shape of ``task.labels``).
    task : Task
        Supplies the labels and the kind (classification uses the hinge of Appendix A); each
        target of a multi-output task is nudged by the rule on its own error.
    eta : float in (0, 1]
        Nudge amplitude.
    clamping : {"standard", "overclamp"}
        Standard clamping (1) or overclamping (F5).
    L0 : float, optional
        Overclamping target magnitude, V (> 0); required for ``"overclamp"``.

    Returns
    -------
    O_C : (n_points,) or (n_points, n_outputs) ndarray
        Clamped outputs, V: ``O_F + eta delta`` (1) or ``O_F + eta (L0 sign(delta) - O_F)`` (F5).
    weight : (n_points,) ndarray
        Relative step time ``t_h / t_0`` of each point: 1 (standard), ``|delta|`` (overclamping,
        ``t_h = r0 |delta|``), 0 for a classification point past its label under overclamping.
    active : (n_points,) or (n_points, n_outputs) bool ndarray
        False where the classification hinge switched the point (target) off.

    Raises
    ------
    ShapeError
        ``O_F`` of the wrong shape or not finite.
    ArgumentError
        ``task`` not a `Task`, ``eta`` outside (0, 1], an unknown ``clamping`` or a missing
        ``L0``.
    TaskError
        Overclamping a multi-output task (its hold time ``r0 |delta|`` needs a single error).

    Examples
    --------
    >>> from clln_theory.model.tasks import DataPoint, Task
    >>> t = Task([DataPoint({"i": 0.0}, 0.2), DataPoint({"i": 1.0}, -0.2)], "o",
    ...          kind="classification")
    >>> O_C, w, active = clamped_outputs([0.1, -0.3], t, eta=0.5)
    >>> O_C.tolist(), active.tolist()  # the second point is past its label: not nudged
    ([0.15000000000000002, -0.3], [True, False])
    """
    instance(task, "task", Task)
    O_F = real_array(O_F, "O_F", shape=task.labels.shape, error=ShapeError)
    eta = check_eta(eta)
    clamping, L0 = check_clamping(clamping, L0)
    refuse_multi_overclamp(task, clamping)
    return clamped_outputs_of(O_F, task, eta, clamping, L0)


def refuse_multi_overclamp(task: Task, clamping: str) -> None:
    """Refuse overclamping a multi-output task (its hold time ``r0 |delta|`` needs one error).

    Parameters
    ----------
    task : Task
        A checked task.
    clamping : {"standard", "overclamp"}
        A checked clamping mode.

    Raises
    ------
    TaskError
        ``task`` has several targets and ``clamping`` is ``"overclamp"``.
    """
    if task.is_multi_output and clamping == "overclamp":
        raise TaskError(
            f"Task {task.name!r} has {task.n_outputs} targets, but overclamping sets one hold time "
            "r0 |delta| per point from a single error; use clamping='standard'."
        )


def coupled_learning_force(
    network: Network,
    G: Any,
    task: Task,
    *,
    eta: float = 1.0,
    clamping: Clamping = "standard",
    L0: float | None = None,
) -> ForceResult:
    """Coupled Learning force ``F_e = S_e (dV_C,e**2 - dV_F,e**2)``, mean over the task's points.

    Parameters
    ----------
    network : Network
        Linear device (the theory's edges, Appendix D).
    G : (n_gates,) array_like
        Gate voltages, V, in ``network.gate_names`` order.
    task : Task
        The points trained together (their force is averaged).
    eta : float in (0, 1]
        Nudge amplitude of (1) / (F5).
    clamping : {"standard", "overclamp"}
        Standard clamping (1) or overclamping (F5).
    L0 : float, optional
        Overclamping target magnitude, V (> 0); required for ``"overclamp"``.

    Returns
    -------
    ForceResult
        ``result.F`` enters ``dG/dt = -gamma F + B`` ((5), (D1) of the paper).

    Raises
    ------
    NetworkError, TaskError, ShapeError, DeviceError
        Unknown/floating nodes, a task inconsistent with itself or the network, a bad ``G``, a
        learning edge with ``K <= 0`` (named with its threshold).
    ArgumentError
        ``task`` not a `Task`, ``eta`` outside (0, 1], an unknown ``clamping`` or a missing
        ``L0``.

    Notes
    -----
    Cost: one factorization of the free interior block and one of the clamped block (which
    also imposes the output), each reused for every point.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> res = coupled_learning_force(star_network(), [3.0, 3.5], task)
    >>> res.delta.round(6)  # the output is below its label ...
    array([0.003587])
    >>> bool(res.F[1] < 0)  # ... so G+ (High-Output) grows: dG/dt = -gamma F > 0
    True
    """
    instance(network, "network", Network, error=NetworkError)
    check_task(task, network)
    G = network.check_point(G)
    eta = check_eta(eta)
    clamping, L0 = check_clamping(clamping, L0)
    refuse_multi_overclamp(task, clamping)
    solver, free = solve_free(network, G, task)
    return learning_force(solver, free, eta=eta, clamping=clamping, L0=L0)


def learning_rate_A0(R0: float, C0: float, *, V0: float = V0_MULTIPLIER, r: float = 1.0) -> float:
    """Learning-rate constant ``A₀ = r / (V₀ R₀ C₀)`` in 1/(V s) (Eqs. (C1), (C2) of the paper).

    The one place the rate is computed: the simulator's step (7), the theory's γ
    (`learning_rate_gamma`), the experiment descriptions and the paper's constants call this.

    Parameters
    ----------
    R0 : float
        Charging resistor, Ω.
    C0 : float
        Gate capacitor, F.
    V0 : float
        Multiplier scale, V (0.33 V in the paper's circuit).
    r : float
        Measured rate factor ``A_exp / A₀`` (Appendix C: 2 for Fig. 2, 1-1.5 otherwise).

    Returns
    -------
    float
        ``A₀`` in 1/(V s).

    Raises
    ------
    ArgumentError
        An argument that is not a finite number > 0 (named).
    NumericalRangeError
        Valid numbers whose product or quotient leaves float64's range (``R0 = C0 = 1e-300``).

    Examples
    --------
    >>> round(learning_rate_A0(100.0, 22e-6), 1)  # Eq. (C1): ~1.4 /(V ms)
    1377.4
    >>> round(learning_rate_A0(100.0, 22e-6, r=2.0), 1)  # the experiments of Fig. 2
    2754.8
    """
    R0 = positive(R0, "R0", unit="Ω")
    C0 = positive(C0, "C0", unit="F")
    V0 = positive(V0, "V0", unit="V")
    r = positive(r, "r")
    return _rate(r, (V0, R0, C0), "A0", "`R0`, `C0`, `V0`, `r`")


def _rate(r: float, factors: tuple[float, ...], quantity: str, args: str) -> float:
    """``r / prod(factors)`` (divided in turn: the same bits as ``r / (V0 * R0 * C0)``), or
    `NumericalRangeError` naming ``quantity`` when the product underflows to 0 or the quotient
    leaves float64's range (valid, but extreme, numbers)."""
    den = factors[0] * factors[1] * factors[2]  # Python floats: inf or 0, never an exception
    den_ok = 0.0 < den < float("inf")
    value = r / den if den_ok else float("inf")
    for f in factors[3:]:
        value = value / f
    if not (den_ok and 0.0 < value < float("inf")):
        raise NumericalRangeError(
            f"The computed {quantity} is not finite or is 0 (float64 overflow or underflow): "
            f"the product of {args} leaves float64's range; check their magnitudes and units."
        )
    return float(value)


def learning_rate_gamma(
    R0: float, C0: float, S: float, *, V0: float = V0_MULTIPLIER, r: float = 1.0
) -> float:
    """Rate ``γ = A₀ / S = r / (V₀ R₀ C₀ S)`` of the continuum dynamics (5)/(D1), in Ω/s.

    Parameters
    ----------
    R0, C0 : float
        Charging resistor (Ω) and gate capacitor (F).
    S : float
        Device slope of ``K = S (G − V_T)``, A/V².
    V0 : float
        Multiplier scale, V.
    r : float
        Measured rate factor ``A_exp / A₀``.

    Returns
    -------
    float
        ``γ`` in Ω/s (multiply a force in A·V to get a gate velocity in V/s).

    Raises
    ------
    ArgumentError
        An argument that is not a finite number > 0 (named).
    NumericalRangeError
        Valid numbers whose product or quotient leaves float64's range (``R0 = C0 = 1e-300``).

    Examples
    --------
    >>> round(learning_rate_gamma(100.0, 22e-6, 8.5e-4, r=2.0), -4)  # Fig. 2: r γ
    3240000.0
    """
    R0 = positive(R0, "R0", unit="Ω")
    C0 = positive(C0, "C0", unit="F")
    S = positive(S, "S", unit="A/V²")
    V0 = positive(V0, "V0", unit="V")
    r = positive(r, "r")
    return _rate(r, (V0, R0, C0, S), "gamma", "`R0`, `C0`, `S`, `V0`, `r`")
