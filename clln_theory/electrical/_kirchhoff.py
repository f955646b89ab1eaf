"""Engine of the linear Kirchhoff solves: free and clamped states (checked values only).

``L_II V_I = - L_IB V_B`` with ``L = A^T diag(K) A`` (see `clln_theory.electrical.kirchhoff`,
the face, for the physics). One factorization of each interior block (`InteriorSolver`) serves
every point of a task; `KirchhoffSolver` holds the free and the clamped factorizations of one
network at one ``G`` for one task. Nothing here validates: the faces of
`clln_theory.electrical` and `clln_theory.theory` check the network, the task and ``G`` once and
call these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._checks import check_record, readonly
from ..errors import SingularSystemError
from ..model._conductance import edge_conductances
from ..model.network import Network
from ..model.tasks import Task
from ._clamping import output_split

__all__ = [
    "CHOLESKY_MAX_INTERIOR",
    "InteriorSolver",
    "KirchhoffSolver",
    "State",
    "laplacian_matrix",
    "make_state",
    "output_vector",
    "solve_imposed",
]

#: Interior blocks with at most this many nodes are factorized densely (Cholesky); larger ones
#: with a sparse LU (SuperLU). Dense Cholesky wins below a few hundred nodes on one core.
CHOLESKY_MAX_INTERIOR = 250


def laplacian_matrix(network: Network, G: np.ndarray) -> sp.csr_matrix:
    """Weighted graph Laplacian ``L = A^T diag(K) A`` at a checked gate vector ``G``, S."""
    K = edge_conductances(network, G)
    A = network.incidence
    return (A.T @ sp.diags(K) @ A).tocsr()


class InteriorSolver:
    """Factorization of the interior block ``L_II`` for a fixed set of imposed nodes.

    Built once per (G, imposed set) and reused for every right-hand side: dense Cholesky up to
    `CHOLESKY_MAX_INTERIOR` interior nodes, sparse LU above.

    Parameters
    ----------
    L : (n_nodes, n_nodes) scipy.sparse.csr_matrix
        Weighted Laplacian (`laplacian_matrix`), S.
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

    def __init__(self, L: sp.csr_matrix, imposed: np.ndarray) -> None:
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
        if self._lu is None:  # pragma: no cover - __init__ factors every non-empty block
            raise SingularSystemError("The interior Laplacian block was not factored.")
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

    def __post_init__(self) -> None:
        check_record(self, V="array", dV="array", K="array", P="array", O="array")

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.V.shape[0])


def output_vector(network: Network, task: Task) -> np.ndarray:
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


def make_state(network: Network, K: np.ndarray, V: np.ndarray, u: np.ndarray) -> State:
    """The `State` of node voltages ``V`` (k, n_nodes): drops, power and outputs ``V @ u``."""
    dV = V[:, network.tail] - V[:, network.head]
    P = (dV**2) @ K
    return State(
        V=readonly(V, float),
        dV=readonly(dV, float),
        K=readonly(K, float),
        P=readonly(P, float),
        O=readonly(V @ u, float),
    )


class KirchhoffSolver:
    """Laplacian and free/clamped factorizations of one network at one ``G`` for one task.

    The shared engine of the free and clamped states of `clln_theory.electrical.kirchhoff`, the
    force of `clln_theory.electrical._force` and the adjoint Jacobians of the theory: one
    factorization of each interior block, reused for every point of the task.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) ndarray
        Gate voltages, V (checked).
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

    The arguments are checked values: a task that fits the network (`Task.validate`) and a
    gate vector of shape (n_gates,) at which every learning edge conducts
    (`Network.check_point`).
    """

    __slots__ = ("K", "L", "_clamped", "free", "idx_in", "idx_out", "network", "task", "u")

    def __init__(self, network: Network, G: np.ndarray, task: Task) -> None:
        self.network, self.task = network, task
        self.K = edge_conductances(network, G)
        A = network.incidence
        self.L = (A.T @ sp.diags(self.K) @ A).tocsr()
        self.idx_in = np.array([network.node(n) for n in task.input_nodes], dtype=np.intp)
        self.idx_out = np.array([network.node(n) for n in task.output_nodes], dtype=np.intp)
        self.u = output_vector(network, task)
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
        return make_state(self.network, self.K, V, self.u)

    def clamped_state(self, free: State, O_C: np.ndarray) -> State:
        """The clamped state: inputs imposed and the output held at ``O_C`` per point.

        Parameters
        ----------
        free : State
            The free state (`free_state`), from which the output is moved.
        O_C : (n_points,) or (n_points, n_outputs) ndarray
            Clamped output per point (and target), V, of the shape of ``free.O``; a
            differential output shares the nudge as in `output_split`.

        Returns
        -------
        State
        """
        nudge = O_C - free.O
        if self.task.is_multi_output:
            out = free.V[:, self.idx_out] + nudge @ self.task.output_matrices()[1].T
        else:
            out = free.V[:, self.idx_out] + np.multiply.outer(
                nudge, output_split(self.idx_out.size)
            )
        VB = np.hstack([np.asarray(self.task.inputs), out])
        V = self.clamped.voltages(VB)
        return make_state(self.network, self.K, V, self.u)


def solve_imposed(
    network: Network, G: np.ndarray, idx: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Node voltages (k, n_nodes) minimizing the power with nodes ``idx`` held at ``values``.

    Checked values: ``G`` of shape (n_gates,) with every learning edge conducting, ``idx`` from
    `Network.imposed_indices`, ``values`` of shape (k, idx.size). One factorization of ``L_II``,
    then one multi-right-hand-side solve.
    """
    return InteriorSolver(laplacian_matrix(network, G), idx).voltages(values)
