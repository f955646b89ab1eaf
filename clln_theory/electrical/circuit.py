"""Nonlinear Kirchhoff solves: node voltages of a network of nonlinear devices.

Some node voltages are imposed (the inputs, and in the clamped state the nudged outputs); at
every other node (*interior* node) Kirchhoff's current law must hold:

    F_i(V) = sum_e A[e, i] I_e(V[a_e], V[b_e]) = 0,        i interior,            (KCL)

with ``A`` the edge-node incidence matrix (``+1`` at the tail ``a``, ``-1`` at the head ``b``)
and ``I_e`` the current from ``a`` to ``b``: ``K_e dV_e`` on a fixed edge, ``device.current`` on
a learning edge. ``F_i`` is the net current *leaving* node ``i``.

The solve is a damped Newton method with the analytic Jacobian
``J_ij = sum_e A[e, i] (dI_e/dVa A+[e, j] + dI_e/dVb A-[e, j])`` (dense below
200 interior nodes, sparse LU above) and a backtracking line search on ``|F|``.
It stops only when both the current residual and the Newton correction are small; on failure it
raises `ConvergenceError` naming the node with the largest residual.

This module never imports the linear theory (it is the independent check of it). For a
`LinearDevice` the first Newton step is the exact linear solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import count, gate_vector, instance, positive, real_array, vector
from ..errors import NetworkError, ShapeError
from ..model._conductance import conductances_in_range
from ..model.network import Network
from ._circuit import (
    ATOL_CURRENT,
    MAX_ITER,
    RTOL_CURRENT,
    TOL_STEP,
    CircuitEngine,
    CircuitSolution,
    edge_current_values,
    node_current_values,
)

__all__ = [
    "CircuitSolution",
    "CircuitSolver",
    "edge_currents",
    "node_currents",
    "solve_circuit",
]


def _node_voltages(network: Network, V: Any) -> np.ndarray:
    return vector(V, "V", network.n_nodes, error=ShapeError)


def edge_currents(network: Network, G: Any, V: Any) -> np.ndarray:
    """Current through every edge, from its tail ``a`` to its head ``b``.

    Parameters
    ----------
    network : Network
        Any device.
    G : (n_gates,) array_like
        Gate voltages, V.
    V : (n_nodes,) array_like
        Node voltages, V.

    Returns
    -------
    I : (n_edges,) ndarray
        Amperes; ``K dV`` on fixed edges, ``device.current`` on learning edges.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> net = star_network()
    >>> I = edge_currents(net, [3.0, 3.0], [0.4, 0.0, 0.2, 0.2])
    >>> float(I[2])  # the fixed 500-ohm edge has no drop
    0.0
    """
    instance(network, "network", Network, error=NetworkError)
    G = gate_vector(G, "G", network.n_gates, error=ShapeError)
    return edge_current_values(network, G, _node_voltages(network, V))


def node_currents(network: Network, G: Any, V: Any) -> np.ndarray:
    """Net current leaving every node, ``A^T I`` (zero at nodes where (KCL) holds).

    Parameters
    ----------
    network : Network
        Any device.
    G : (n_gates,) array_like
        Gate voltages, V.
    V : (n_nodes,) array_like
        Node voltages, V.

    Returns
    -------
    F : (n_nodes,) ndarray
        Amperes.
    """
    instance(network, "network", Network, error=NetworkError)
    G = gate_vector(G, "G", network.n_gates, error=ShapeError)
    return node_current_values(network, G, _node_voltages(network, V))


class CircuitSolver(CircuitEngine):
    """Damped Newton solver of (KCL) for one network and one set of imposed nodes.

    Build once, call `solve` many times (index arrays and the sparsity pattern are reused).

    Parameters
    ----------
    network : Network
        Any device (learning edges) plus fixed conductances.
    imposed : sequence of str
        Nodes whose voltage is imposed; every other node is interior.
    tol_step : float
        Stop when the Newton correction is at most this (volts); default 1e-12.
    rtol_current, atol_current : float
        ... and the residual at every interior node is at most
        ``rtol_current * max_e |I_e| + atol_current`` (amperes); defaults 1e-10 and 1e-18.
    max_iter : int
        Newton iteration budget; default 60.

    Raises
    ------
    NetworkError
        Unknown or repeated imposed node, or floating nodes (named).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import ThreeRegimeMOSFET
    >>> net = star_network(device=ThreeRegimeMOSFET())
    >>> solver = CircuitSolver(net, ["High", "Low", "Input"])
    >>> sol = solver.solve([3.0, 3.5], [0.4351, 0.0181, 0.4351])
    >>> round(float(sol.V[3]), 4), sol.residual < 1e-12
    (0.3063, True)
    """

    def __init__(
        self,
        network: Network,
        imposed: Sequence[str],
        *,
        tol_step: float = TOL_STEP,
        rtol_current: float = RTOL_CURRENT,
        atol_current: float = ATOL_CURRENT,
        max_iter: int = MAX_ITER,
    ) -> None:
        instance(network, "network", Network, error=NetworkError)
        idx_b = network.imposed_indices(imposed)  # refuses a non-sequence, naming `imposed`
        tol, rtol, atol, iters = _options(tol_step, rtol_current, atol_current, max_iter)
        super().__init__(
            network,
            idx_b,
            tuple(str(n) for n in imposed),
            tol_step=tol,
            rtol_current=rtol,
            atol_current=atol,
            max_iter=iters,
        )

    def solve(self, G: Any, values: Any, *, V0: Any = None) -> CircuitSolution:
        """Node voltages satisfying (KCL) at every interior node.

        Parameters
        ----------
        G : (n_gates,) array_like
            Gate voltages, V.
        values : (n_imposed,) array_like
            Imposed voltages in ``imposed`` order, V.
        V0 : (n_nodes,) array_like, optional
            Starting guess (warm start); its imposed entries are overwritten. Default: the
            linear solve with ``K = S max(G - V_T, 0.1)`` on the learning edges.

        Returns
        -------
        CircuitSolution

        Raises
        ------
        ConvergenceError
            Naming the interior node with the largest current residual and its value.

        Notes
        -----
        Each iteration: Jacobian and LU factorization, Newton step, backtracking (halving up to
        30 times) until ``|F|_2`` decreases. Termination (both must hold): the residual test and
        the size of the *simplified* Newton correction ``J_old^{-1} F(V_new)`` (one extra
        back-substitution with the old factors, Deuflhard's natural test), so a `LinearDevice`
        network converges after exactly one factorization. Cost per iteration: one device
        evaluation (vectorized over gates) and one dense or sparse LU. If a warm start ``V0``
        fails, the solve is repeated once from the default start before giving up.
        """
        return _solve(self, G, values, V0)


def _options(
    tol_step: Any, rtol_current: Any, atol_current: Any, max_iter: Any
) -> tuple[float, float, float, int]:
    """The Newton tolerances and budget of a solver, checked."""
    return (
        positive(tol_step, "tol_step", unit="V"),
        positive(rtol_current, "rtol_current"),
        positive(atol_current, "atol_current", unit="A"),
        count(max_iter, "max_iter"),
    )


def _solve(engine: CircuitEngine, G: Any, values: Any, V0: Any) -> CircuitSolution:
    """Check ``G``, ``values`` and ``V0`` once for ``engine``'s network and solve."""
    network = engine.network
    G = gate_vector(G, "G", network.n_gates, error=ShapeError)
    if getattr(network.device, "is_linear", False):
        conductances_in_range(network, G, "G")  # below threshold: refused, as the linear solves do
    values = real_array(values, "values", error=ShapeError)
    if values.shape != (engine.idx_b.size,):
        raise ShapeError(
            f"Argument `values` must have shape ({engine.idx_b.size},) (one voltage per "
            f"imposed node {engine.imposed}), but has shape {values.shape}."
        )
    n = network.n_nodes
    if V0 is not None:
        V0 = real_array(V0, "V0", error=ShapeError)
        if V0.shape != (n,):
            raise ShapeError(f"Argument `V0` must have shape ({n},), but has shape {V0.shape}.")
    return engine.solve_checked(G, values, V0)


def solve_circuit(
    network: Network,
    G: Any,
    imposed: Sequence[str],
    values: Any,
    *,
    V0: Any = None,
    tol_step: float = TOL_STEP,
    rtol_current: float = RTOL_CURRENT,
    atol_current: float = ATOL_CURRENT,
    max_iter: int = MAX_ITER,
) -> CircuitSolution:
    """Node voltages of a nonlinear network with some node voltages imposed (KCL elsewhere).

    One-shot form of `CircuitSolver` (build it once to solve many times).

    Parameters
    ----------
    network : Network
        Any device.
    G : (n_gates,) array_like
        Gate voltages, V.
    imposed : sequence of str
        Imposed nodes.
    values : (n_imposed,) array_like
        Their voltages, V.
    V0 : (n_nodes,) array_like, optional
        Warm start.
    tol_step, rtol_current, atol_current, max_iter
        See `CircuitSolver`.

    Returns
    -------
    CircuitSolution

    Raises
    ------
    NetworkError, ShapeError, ConvergenceError

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> net = star_network()
    >>> imposed, values = ["High", "Low", "Input"], [1.0, 0.0, 0.5]
    >>> sol = solve_circuit(net, [3.0, 3.0], imposed, values, V0=np.zeros(4))
    >>> round(float(sol.V[3]), 12), sol.n_iter  # linear device: exact after one Newton step
    (0.5, 1)
    """
    instance(network, "network", Network, error=NetworkError)
    idx_b = network.imposed_indices(imposed)  # refuses a non-sequence, naming `imposed`
    tol, rtol, atol, iters = _options(tol_step, rtol_current, atol_current, max_iter)
    engine = CircuitEngine(
        network,
        idx_b,
        tuple(str(n) for n in imposed),
        tol_step=tol,
        rtol_current=rtol,
        atol_current=atol,
        max_iter=iters,
    )
    return _solve(engine, G, values, V0)
