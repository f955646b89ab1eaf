"""Free and clamped states of linear resistor networks: Kirchhoff solves and power.

With every edge a linear conductance ``K_e`` (fixed, or ``K = S (G - V_T)`` for a learning edge,
Appendix D of the paper), the node voltages minimize the power ``P = sum_e K_e dV_e**2`` (no
factor 1/2: the package's convention, see the conventions page docs/conventions.md) with some
node voltages imposed. Stationarity is Kirchhoff's current law at every
node whose voltage is not imposed (the *interior* nodes):

    L_II V_I = - L_IB V_B,        L = A^T diag(K) A,

with ``A`` the edge-node incidence matrix (``dV = A V``). The *free* state imposes the task's input
nodes; the *clamped* state imposes the inputs and the nudged output node(s) (a different interior
block). One factorization of each block is reused for all points of a task.

Nonlinear devices (MOSFETs) are not handled here: the simulator's Newton solver owns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._checks import finite_result, instance, readonly, real_array
from ..errors import NetworkError, ShapeError, SingularSystemError, TaskError
from ..model.network import Network
from ..model.tasks import Task
from .clamping import nudge_amplitudes, output_split

__all__ = [
    "CHOLESKY_MAX_INTERIOR",
    "InteriorSolver",
    "KirchhoffSolver",
    "State",
    "clamped_state",
    "contrastive_function",
    "free_state",
    "laplacian",
    "power",
    "solve_voltages",
]

#: Interior blocks with at most this many nodes are factorized densely (Cholesky); larger ones
#: with a sparse LU (SuperLU). Dense Cholesky wins below a few hundred nodes on one core.
CHOLESKY_MAX_INTERIOR = 250


def laplacian(network: Network, G: Any) -> sp.csr_matrix:
    """Weighted graph Laplacian ``L = A^T diag(K) A`` at gate vector ``G``.

    Parameters
    ----------
    network : Network
        With a linear device (`LinearDevice`).
    G : (n_gates,) array_like
        Gate voltages, V.

    Returns
    -------
    L : (n_nodes, n_nodes) scipy.sparse.csr_matrix
        Symmetric, rows sum to zero; ``V @ L @ V`` is the power ``P``, in siemens.

    Raises
    ------
    ShapeError, DeviceError
        From `Network.conductances`: wrong shape or non-finite ``G``, nonlinear device, or a
        learning edge with ``K <= 0`` (named, with its threshold).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> L = laplacian(star_network(), [3.0, 3.0])
    >>> float(abs(L.sum(axis=1)).max()) < 1e-18
    True
    """
    G = network.check_gates(G)
    if G.ndim != 1:
        raise ShapeError(f"Argument `G` must have shape ({network.n_gates},), but has {G.shape}.")
    K = network.conductances(G)
    A = network.incidence
    return (A.T @ sp.diags(K) @ A).tocsr()


class InteriorSolver:
    """Factorization of the interior block ``L_II`` for a fixed set of imposed nodes.

    Built once per (G, imposed set) and reused for every right-hand side: dense Cholesky up to
    `CHOLESKY_MAX_INTERIOR` interior nodes, sparse LU above.

    Parameters
    ----------
    L : (n_nodes, n_nodes) scipy.sparse.csr_matrix
        Weighted Laplacian (`laplacian`), S.
    imposed : (n_imposed,) int array_like
        Indices of the nodes whose voltage is imposed; every other node is interior.

    Attributes
    ----------
    imposed, interior : int ndarray
        Node indices of the imposed and of the interior nodes.
    L_IB : scipy.sparse matrix
        The interior-by-imposed block of ``L``.
    n_nodes : int
        Number of nodes.

    Raises
    ------
    SingularSystemError
        An interior node not connected to an imposed node through positive conductances.
    """

    __slots__ = ("L_IB", "_chol", "_lu", "imposed", "interior", "n_nodes")

    def __init__(self, L: sp.csr_matrix, imposed: Any) -> None:
        n = L.shape[0]
        mask = np.ones(n, dtype=bool)
        mask[imposed] = False
        self.n_nodes = n
        self.imposed = np.asarray(imposed, dtype=np.intp)
        self.interior = np.flatnonzero(mask)
        L_I = L[self.interior]
        self.L_IB = L_I[:, self.imposed]
        L_II = L_I[:, self.interior]
        self._chol = None
        self._lu = None
        nI = self.interior.size
        if nI == 0:
            return
        if nI <= CHOLESKY_MAX_INTERIOR:
            try:
                self._chol = sla.cho_factor(L_II.toarray(), lower=True, check_finite=False)
            except np.linalg.LinAlgError as exc:
                raise SingularSystemError(
                    "The interior Laplacian block is not positive definite; some interior node is "
                    "not connected to an imposed node through positive conductances."
                ) from exc
        else:
            try:
                self._lu = spla.splu(L_II.tocsc(), permc_spec="MMD_AT_PLUS_A")
            except RuntimeError as exc:
                raise SingularSystemError(
                    f"The interior Laplacian block is singular ({exc}); some interior node is not "
                    "connected to an imposed node through positive conductances."
                ) from exc

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``L_II^{-1} rhs``.

        Parameters
        ----------
        rhs : (n_interior,) or (n_interior, k) ndarray
            Right-hand side(s), A.

        Returns
        -------
        ndarray
            Same shape as ``rhs``, V.
        """
        if self.interior.size == 0:
            return np.zeros_like(rhs, dtype=float)
        if self._chol is not None:
            return sla.cho_solve(self._chol, rhs, check_finite=False)
        return self._lu.solve(np.asarray(rhs, dtype=float))

    def voltages(self, VB: np.ndarray) -> np.ndarray:
        """Node voltages for given imposed voltages.

        Parameters
        ----------
        VB : (n_imposed,) or (k, n_imposed) array_like
            Imposed voltages, columns in ``imposed`` order, V.

        Returns
        -------
        V : (k, n_nodes) ndarray
            Kirchhoff's current law holds at every interior node.
        """
        VB = np.atleast_2d(VB)
        V = np.empty((VB.shape[0], self.n_nodes))
        V[:, self.imposed] = VB
        if self.interior.size:
            rhs = -(self.L_IB @ VB.T)
            V[:, self.interior] = np.asarray(self.solve(rhs)).reshape(self.interior.size, -1).T
        return V


@dataclass(frozen=True, slots=True)
class State:
    """Electrical state of a network for every point of a task.

    Attributes
    ----------
    V : (n_points, n_nodes) ndarray
        Node voltages, V.
    dV : (n_points, n_edges) ndarray
        Edge voltage drops ``V[a] - V[b]``, V.
    K : (n_edges,) ndarray
        Edge conductances, S.
    P : (n_points,) ndarray
        Power ``sum_e K_e dV_e**2`` per point, W.
    O : (n_points,) or (n_points, n_outputs) ndarray
        Output ``V[out]`` or ``V[plus] - V[minus]`` per point (and per target of a multi-output
        task), V.
    """

    V: np.ndarray
    dV: np.ndarray
    K: np.ndarray
    P: np.ndarray
    O: np.ndarray

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.V.shape[0])


def _output_vector(network: Network, task: Task) -> np.ndarray:
    """``u`` with ``O = V @ u``: ``e_out`` or ``e_plus - e_minus``, shape (n_nodes,).

    For a multi-output task, the matrix ``U`` of shape (n_nodes, n_outputs), one such column per
    target (`Task.output_matrices`).
    """
    nodes = task.output_nodes
    if task.is_multi_output:
        U = np.zeros((network.n_nodes, task.n_outputs))
        U[[network.node(n) for n in nodes]] = task.output_matrices()[0]
        return U
    u = np.zeros(network.n_nodes)
    u[network.node(nodes[0])] = 1.0
    if len(nodes) == 2:
        u[network.node(nodes[1])] = -1.0
    return u


def _make_state(network: Network, K: np.ndarray, V: np.ndarray, u: np.ndarray) -> State:
    dV = V[:, network.tail] - V[:, network.head]
    P = (dV**2) @ K
    return State(
        V=readonly(V, float),
        dV=readonly(dV, float),
        K=readonly(K, float),
        P=readonly(P, float),
        O=readonly(V @ u, float),
    )


def _check_task(network: Network, task: Task) -> None:
    if not isinstance(task, Task):
        raise TaskError(f"Argument `task` must be a Task, but is {type(task).__name__}.")
    task.validate(network)  # unknown nodes, floating components (named)


class KirchhoffSolver:
    """Laplacian and free/clamped factorizations of one network at one ``G`` for one task.

    The shared engine of `free_state`, `clamped_state`, the force of
    `clln_theory.electrical.rule` and the adjoint Jacobians of `clln_theory.theory.jacobian`:
    one factorization of each interior block, reused for every point of the task.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Fixes the input (imposed) and output nodes.

    Attributes
    ----------
    network, task
        As given.
    K : (n_edges,) ndarray
        Edge conductances, S.
    L : scipy.sparse.csr_matrix
        Weighted Laplacian, S.
    idx_in, idx_out : int ndarray
        Node indices of the task's inputs and output(s).
    u : (n_nodes,) or (n_nodes, n_outputs) ndarray
        Output vector: ``O = V @ u`` (a matrix for a multi-output task).
    free : InteriorSolver
        Factorization with the inputs imposed.
    clamped : InteriorSolver
        Factorization with inputs and outputs imposed (built on first use).

    Raises
    ------
    TaskError, NetworkError, ShapeError, DeviceError
        Not a task, unknown or floating nodes, bad ``G``, a learning edge with ``K <= 0``.
    """

    __slots__ = ("K", "L", "_clamped", "free", "idx_in", "idx_out", "network", "task", "u")

    def __init__(self, network: Network, G: Any, task: Task) -> None:
        _check_task(network, task)
        G = network.check_gates(G)
        if G.ndim != 1:
            raise ShapeError(
                f"Argument `G` must have shape ({network.n_gates},), but has shape {G.shape}."
            )
        self.network, self.task = network, task
        self.K = network.conductances(G)
        A = network.incidence
        self.L = (A.T @ sp.diags(self.K) @ A).tocsr()
        self.idx_in = np.array([network.node(n) for n in task.input_nodes], dtype=np.intp)
        self.idx_out = np.array([network.node(n) for n in task.output_nodes], dtype=np.intp)
        self.u = _output_vector(network, task)
        self.free = InteriorSolver(self.L, self.idx_in)
        self._clamped: InteriorSolver | None = None

    @property
    def clamped(self) -> InteriorSolver:
        """The factorization with inputs and outputs imposed (built on first use)."""
        if self._clamped is None:
            self._clamped = InteriorSolver(self.L, np.r_[self.idx_in, self.idx_out])
        return self._clamped

    def free_state(self) -> State:
        """The free state of every point of the task (inputs imposed).

        Returns
        -------
        State
        """
        V = self.free.voltages(np.asarray(self.task.inputs))
        return _make_state(self.network, self.K, V, self.u)

    def clamped_state(self, free: State, O_C: Any) -> State:
        """The clamped state: inputs imposed and the output held at ``O_C`` per point.

        Parameters
        ----------
        free : State
            The free state (`free_state`), from which the output is moved.
        O_C : (n_points,) or (n_points, n_outputs) array_like
            Clamped output per point (and target), V; a differential output shares the nudge as
            in `clln_theory.electrical.clamping.output_split`.

        Returns
        -------
        State

        Raises
        ------
        ShapeError
            ``O_C`` of the wrong shape or not finite.
        """
        O_C = real_array(O_C, "O_C", shape=free.O.shape, error=ShapeError)
        nudge = O_C - free.O
        if self.task.is_multi_output:
            out = free.V[:, self.idx_out] + nudge @ self.task.output_matrices()[1].T
        else:
            out = free.V[:, self.idx_out] + np.multiply.outer(
                nudge, output_split(self.idx_out.size)
            )
        VB = np.hstack([np.asarray(self.task.inputs), out])
        V = self.clamped.voltages(VB)
        return _make_state(self.network, self.K, V, self.u)


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
    values = np.atleast_2d(real_array(values, "values", error=ShapeError))
    if values.ndim != 2 or values.shape[1] != idx.size:
        raise ShapeError(
            f"Argument `values` must have shape (k, {idx.size}), but has shape {values.shape}."
        )
    L = laplacian(network, G)
    return InteriorSolver(L, idx).voltages(values)


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
    NetworkError, TaskError, ShapeError, DeviceError
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
    return KirchhoffSolver(network, G, task).free_state()


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
    s = KirchhoffSolver(network, G, task)
    with np.errstate(over="ignore", invalid="ignore"):
        state = s.clamped_state(s.free_state(), O_C)
    finite_result(state.P, "clamped power P", hint="Check the magnitude of argument `O_C` (V).")
    return state


def power(network: Network, G: Any, V: Any) -> np.ndarray:
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
    if network.check_gates(G).ndim != 1:
        raise ShapeError(f"Argument `G` must have shape ({network.n_gates},), but is a batch.")
    K = network.conductances(G)
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
        Nudge amplitude. ``eta = 1`` clamps the output at the label, the paper's C of (D3).

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
    s = KirchhoffSolver(network, G, task)
    free = s.free_state()
    eta_p = nudge_amplitudes(
        free.O, task.labels, eta=eta, classification=task.kind == "classification"
    )
    clamped = s.clamped_state(free, free.O + eta_p * (task.labels - free.O))  # (1)
    return float(np.mean(clamped.P - free.P))
