"""Free and clamped states of linear resistor networks: Kirchhoff solves and power.

With every edge a linear conductance ``K_e`` (fixed, or ``K = S (G - V_T)`` for a learning edge,
Appendix D of the paper), the node voltages minimize the power ``P = sum_e K_e dV_e**2`` (no
factor 1/2: the package's convention, see the conventions page docs/conventions.md) with some
node voltages imposed. Stationarity is Kirchhoff's current law at every
node whose voltage is not imposed (the *interior* nodes):

    L_II V_I = - L_IB V_B,        L = A^T diag(K) A,

with ``A`` the edge-node incidence matrix (``dV = A V``). The *free* state imposes the task's input
nodes; the *clamped* state imposes the inputs and the nudged output node(s) (a different interior
block). One factorization of each block is reused for all points of a task (the engine
`clln_theory.electrical._kirchhoff`; these faces check their arguments once and call it).

Nonlinear devices (MOSFETs) are not handled here: the simulator's Newton solver owns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import finite_result, instance, real_array, validator
from ..errors import NetworkError, NumericalRangeError, ShapeError
from ..model._conductance import edge_conductances
from ..model.network import Network
from ..model.tasks import Task
from ._force import contrastive_value, solve_free
from ._kirchhoff import State, solve_imposed
from .clamping import check_eta

__all__ = [
    "State",
    "clamped_state",
    "contrastive_function",
    "free_state",
    "power",
    "solve_voltages",
]


@validator
def check_task(task: Any, network: Network, name: str = "task") -> Task:
    """``task`` if it is a `Task` that fits ``network`` (nodes known, none floating).

    Parameters
    ----------
    task : Task
        The task argument of a face.
    network : Network
        A checked network.
    name : str
        The argument's name in the caller, for the message (default ``"task"``).

    Returns
    -------
    Task

    Raises
    ------
    ArgumentError
        ``task`` is not a `Task`.
    NetworkError
        A node unknown to ``network``, or floating nodes (named).
    """
    instance(task, name, Task)
    task.validate(network)  # unknown nodes, floating components (named)
    return task


def solve_voltages(network: Network, G: Any, imposed: Sequence[str], values: Any) -> np.ndarray:
    """Node voltages minimizing the power with the voltages of ``imposed`` nodes fixed.

    Parameters
    ----------
    network : Network
        Linear device only.
    G : (n_gates,) array_like
        Gate voltages, V.
    imposed : sequence of str
        Nodes whose voltage is imposed (unique, at least one).
    values : (n_imposed,) or (k, n_imposed) array_like
        Imposed voltages, columns in ``imposed`` order, V.

    Returns
    -------
    V : (k, n_nodes) ndarray
        Kirchhoff's current law holds at every other node.

    Raises
    ------
    NetworkError
        Unknown node, repeated node, or floating nodes (named).
    ShapeError, DeviceError
        Bad ``G``/``values``, or a learning edge with ``K <= 0`` (named).

    Notes
    -----
    One Cholesky (dense, small blocks) or sparse LU factorization of ``L_II``, then one
    multi-right-hand-side solve.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> net = star_network()
    >>> V = solve_voltages(net, [3.0, 3.0], ["High", "Low", "Input"], [1.0, 0.0, 0.5])
    >>> round(float(V[0, 3]), 6)  # Output: conductance-weighted mean of its neighbours
    0.5
    """
    instance(network, "network", Network, error=NetworkError)
    idx = network.imposed_indices(imposed)
    G = network.check_point(G)
    values = np.atleast_2d(real_array(values, "values", error=ShapeError))
    if values.ndim != 2 or values.shape[1] != idx.size:
        raise ShapeError(
            f"Argument `values` must have shape (k, {idx.size}), but has shape {values.shape}."
        )
    return solve_imposed(network, G, idx, values)


def free_state(network: Network, G: Any, task: Task) -> State:
    """Free state of every point of ``task``: inputs imposed, all else free.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Fixes the imposed inputs and the output.

    Returns
    -------
    State
        ``O`` is the free output ``O_F`` per point.

    Raises
    ------
    ArgumentError
        ``network`` not a `Network` or ``task`` not a `Task`.
    NetworkError, ShapeError, DeviceError
        Unknown or floating nodes (named), bad ``G``, a learning edge with ``K <= 0`` (named).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> s = free_state(star_network(), [3.0, 3.5], task)
    >>> round(float(s.O[0]), 6)
    0.306413
    """
    instance(network, "network", Network, error=NetworkError)
    check_task(task, network)
    G = network.check_point(G)
    return solve_free(network, G, task)[1]


def clamped_state(network: Network, G: Any, task: Task, O_C: Any) -> State:
    """Clamped state: inputs imposed and the output held at ``O_C`` per point.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Fixes the imposed inputs and the output.
    O_C : (n_points,) or (n_points, n_outputs) array_like
        Clamped output per point (and target), V. For a differential output ``O = V+ - V-``
        the nudge ``O_C - O_F`` is split: ``V+`` moves by ``+nudge/2`` and ``V-`` by ``-nudge/2``
        (`clln_theory.electrical.clamping.output_split`).

    Returns
    -------
    State

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> c = clamped_state(star_network(), [3.0, 3.5], task, [0.31])
    >>> float(c.O[0])
    0.31
    """
    instance(network, "network", Network, error=NetworkError)
    check_task(task, network)
    G = network.check_point(G)
    solver, free = solve_free(network, G, task)
    O_C = real_array(O_C, "O_C", shape=free.O.shape, error=ShapeError)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            state = solver.clamped_state(free, O_C)
    except NumericalRangeError as exc:  # the State refused its overflowed fields
        raise NumericalRangeError(
            f"The clamped state overflows float64 ({exc}); check the magnitude of argument "
            "`O_C` (V)."
        ) from None
    finite_result(state.P, "clamped power P", hint="Check the magnitude of argument `O_C` (V).")
    return state


def power(network: Network, G: Any, V: Any) -> float | np.ndarray:
    """Power ``P = sum_e K_e (V[a_e] - V[b_e])**2`` (no factor 1/2).

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    V : (n_nodes,) or (k, n_nodes) array_like
        Node voltages, V.

    Returns
    -------
    P : float or (k,) ndarray
        Watts.

    Examples
    --------
    >>> from clln_theory.model.network import Network
    >>> net = Network.from_edges([("a", "b", 2.0)])
    >>> float(power(net, [], [1.0, 0.0]))
    2.0
    """
    instance(network, "network", Network, error=NetworkError)
    G = network.check_point(G)
    K = edge_conductances(network, G)
    V = real_array(V, "V", error=ShapeError)
    if V.shape[-1:] != (network.n_nodes,):
        raise ShapeError(
            f"Argument `V` must have shape (..., {network.n_nodes}), but has shape {V.shape}."
        )
    dV = V[..., network.tail] - V[..., network.head]
    with np.errstate(over="ignore", invalid="ignore"):
        P = (dV**2) @ K
    finite_result(P, "power P", hint="Check the magnitude of argument `V` (volts).")
    return float(P) if np.ndim(P) == 0 else P


def contrastive_function(network: Network, G: Any, task: Task, *, eta: float = 1.0) -> float:
    """Contrastive function ``C = mean_p (P_C,p - P_F,p)`` with standard clamping (D3).

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Regression: every point clamped at ``O_C = O_F + eta delta`` (1). Classification: points
        beyond their label in the label's direction are not clamped (Appendix A).
    eta : float in (0, 1]
        Nudge amplitude, default 1. ``eta = 1`` clamps the output at the label, the
        paper's C of (D3).

    Returns
    -------
    C : float
        Watts; ``C >= 0`` with equality exactly at a solution.

    Notes
    -----
    For a linear network ``P_C,p = P_F,p + K_eff,p (O_C,p - O_F,p)**2`` exactly, so
    ``C = eta**2 mean_p K_eff,p delta_p**2``.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> C = contrastive_function(star_network(), [3.0, 3.5], task)
    >>> C > 0
    True
    """
    instance(network, "network", Network, error=NetworkError)
    check_task(task, network)
    G = network.check_point(G)
    eta = check_eta(eta)
    return contrastive_value(*solve_free(network, G, task), eta)
