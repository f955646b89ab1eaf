"""The Coupled Learning rule: clamping protocols and the learning force.

Per learning edge the circuit applies ``dG = t_h [A0 (dV_F**2 - dV_C**2) + B]`` ((3), (7) of the
paper). With ``gamma = A0 / S`` the continuum dynamics are (5)/(D1)

    dG/dt = -gamma F + B,        F_e = S_e (dV_C,e**2 - dV_F,e**2),

with ``F`` averaged over the points of a task that are cycled fast (DESIGN.md §3).

Clamping protocols (``delta = L - O_F``):

- ``"standard"`` (1)/(F1): ``O_C = O_F + eta delta``, every point weighted equally.
- ``"overclamp"`` (F5): ``O_C = O_F + eta (L0 sign(delta) - O_F)`` with step time
  ``t_h = r0 |delta|``, i.e. point weight ``|delta|``. (The main text's (8) drops the ``-O_F``
  term; (F5) is implemented.)
- Classification (Appendix A): a point whose free output is beyond its label in the label's
  direction, ``(O_F - L) sign(L) > 0``, is not nudged (``eta = 0``, standard) or skipped
  (``t_h = 0``, overclamping).

For a linear network the force of standard clamping is the gradient of the contrastive function
at ``eta = 1``: ``F = dC/dG`` with ``C = P_C - P_F`` of (D3) (envelope theorem,
``dP/dK_e = dV_e**2``). For ``eta < 1``, see `clln_theory.theory.jacobian` for the η subtlety.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import positive
from ..errors import ProtocolError, ShapeError, TaskError
from ..model.network import Network
from ..model.tasks import Task
from .kirchhoff import State, _check_eta, _hinge_satisfied, _Solvers

__all__ = [
    "Clamping",
    "ForceResult",
    "clamped_outputs",
    "coupled_learning_force",
    "learning_rate_A0",
    "learning_rate_gamma",
]

#: Multiplier scale V₀ of the learning-rate circuit, V (Appendix C, Eq. (C1)).
V0_MULTIPLIER = 0.33

Clamping = Literal["standard", "overclamp"]


def clamped_outputs(
    O_F: Any,
    task: Task,
    *,
    eta: float = 1.0,
    protocol: Clamping = "standard",
    L0: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clamped outputs and step weights of a clamping protocol.

    Parameters
    ----------
    O_F : (n_points,) array_like
        Free outputs, V.
    task : Task
        Supplies the labels and the kind (classification uses the hinge of Appendix A).
    eta : float in (0, 1]
        Nudge amplitude.
    protocol : {"standard", "overclamp"}
        Standard clamping (1) or overclamping (F5).
    L0 : float, optional
        Overclamping target magnitude, V (> 0); required for ``"overclamp"``.

    Returns
    -------
    O_C : (n_points,) ndarray
        Clamped outputs, V: ``O_F + eta delta`` (1) or ``O_F + eta (L0 sign(delta) - O_F)`` (F5).
    weight : (n_points,) ndarray
        Relative step time ``t_h / t_0`` of each point: 1 (standard), ``|delta|`` (overclamping,
        ``t_h = r0 |delta|``), 0 for a classification point past its label under overclamping.
    active : (n_points,) bool ndarray
        False where the classification hinge switched the point off.

    Examples
    --------
    >>> from clln_theory.model.tasks import DataPoint, Task
    >>> t = Task([DataPoint({"i": 0.0}, 0.2), DataPoint({"i": 1.0}, -0.2)], "o",
    ...          kind="classification")
    >>> O_C, w, active = clamped_outputs([0.1, -0.3], t, eta=0.5)
    >>> O_C.tolist(), active.tolist()  # the second point is past its label: not nudged
    ([0.15000000000000002, -0.3], [True, False])
    """
    O_F = np.asarray(O_F, dtype=float)
    if O_F.shape != (task.n_points,):
        raise TaskError(
            f"Argument `O_F` must have shape ({task.n_points},), but has shape {O_F.shape}."
        )
    if not np.all(np.isfinite(O_F)):
        raise ShapeError("Argument `O_F` must be finite, but contains NaN or inf.")
    eta = _check_eta(eta)
    delta = task.labels - O_F
    active = ~_hinge_satisfied(O_F, task)
    if protocol == "standard":
        O_C = O_F + np.where(active, eta, 0.0) * delta  # (1), (F1); Appendix A hinge
        weight = np.ones(task.n_points)
    elif protocol == "overclamp":
        if L0 is None or not np.isfinite(L0) or L0 <= 0:
            raise ProtocolError(
                f"Overclamping needs a target magnitude L0 > 0 (volts), but got L0={L0!r}."
            )
        O_C = np.where(active, O_F + eta * (L0 * np.sign(delta) - O_F), O_F)  # (F5)
        weight = np.where(active, np.abs(delta), 0.0)  # t_h = r0 |delta|
    else:
        raise ProtocolError(
            f"Argument `protocol` must be 'standard' or 'overclamp', but is {protocol!r}."
        )
    return O_C, weight, active


@dataclass(frozen=True, slots=True)
class ForceResult:
    """The Coupled Learning force of a task at one gate vector.

    Attributes
    ----------
    F : (n_gates,) ndarray
        ``mean_p weight_p F_points[p]``, A (the force in ``dG/dt = -gamma F + B``).
    F_points : (n_points, n_gates) ndarray
        ``S (dV_C**2 - dV_F**2)`` on each learning edge for each point, A.
    O_F, O_C, delta : (n_points,) ndarray
        Free output, clamped output and error ``delta = L - O_F``, V.
    weight : (n_points,) ndarray
        Relative step time of each point (see `clamped_outputs`).
    active : (n_points,) bool ndarray
        False for classification points switched off by the hinge.
    free, clamped : State
        The two electrical states.
    protocol : str
    eta : float
    L0 : float or None
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
    protocol: str
    eta: float
    L0: float | None


def coupled_learning_force(
    network: Network,
    G: Any,
    task: Task,
    *,
    eta: float = 1.0,
    protocol: Clamping = "standard",
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
    eta : float in (0, 1]
        Nudge amplitude of (1) / (F5).
    protocol : {"standard", "overclamp"}
    L0 : float, optional
        Overclamping target magnitude, V.

    Returns
    -------
    ForceResult
        ``result.F`` enters ``dG/dt = -gamma F + B`` ((5), (D1) of the paper).

    Raises
    ------
    NetworkError, TaskError, ShapeError, DeviceError, ProtocolError
        Unknown/floating nodes, bad ``G`` or ``eta``, a learning edge with ``K <= 0`` (named with
        its threshold), an unknown protocol or a missing ``L0``.

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
    s = _Solvers(network, G, task)
    free = s.free_state()
    O_C, weight, active = clamped_outputs(free.O, task, eta=eta, protocol=protocol, L0=L0)
    clamped = s.clamped_state(free, O_C)
    g = network.gate_edges
    F_points = network.S * (clamped.dV[:, g] ** 2 - free.dV[:, g] ** 2)
    F = weight @ F_points / task.n_points
    ro = []
    for a in (F, F_points, free.O, O_C, task.labels - free.O, weight, active):
        a = np.array(a)
        a.flags.writeable = False
        ro.append(a)
    return ForceResult(
        *ro,
        free=free,
        clamped=clamped,
        protocol=protocol,
        eta=float(eta),
        L0=None if L0 is None else float(L0),
    )


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
    return r / (V0 * R0 * C0)


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

    Examples
    --------
    >>> round(learning_rate_gamma(100.0, 22e-6, 8.5e-4, r=2.0), -4)  # Fig. 2: r γ
    3240000.0
    """
    return learning_rate_A0(R0, C0, V0=V0, r=r) / positive(S, "S", unit="A/V²")
