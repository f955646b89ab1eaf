"""Nonlinear Kirchhoff solves: node voltages of a network of nonlinear devices.

Some node voltages are imposed (the inputs, and in the clamped state the nudged outputs); at
every other node (*interior* node) Kirchhoff's current law must hold:

    F_i(V) = sum_e A[e, i] I_e(V[a_e], V[b_e]) = 0,        i interior,            (KCL)

with ``A`` the edge-node incidence matrix (``+1`` at the tail ``a``, ``-1`` at the head ``b``)
and ``I_e`` the current from ``a`` to ``b``: ``K_e dV_e`` on a fixed edge, ``device.current`` on
a learning edge. ``F_i`` is the net current *leaving* node ``i``.

The solve is a damped Newton method with the analytic Jacobian
``J_ij = sum_e A[e, i] (dI_e/dVa A+[e, j] + dI_e/dVb A-[e, j])`` (dense below
`NEWTON_DENSE_MAX_INTERIOR` interior nodes, sparse LU above) and a backtracking line search on
``|F|``.
It stops only when both the current residual and the Newton correction are small; on failure it
raises `ConvergenceError` naming the node with the largest residual.

This module never imports the linear theory (it is the independent check of it). For a
`LinearDevice` the first Newton step is the exact linear solve.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._checks import count, gate_vector, instance, positive, real_array
from ..errors import ConvergenceError, NetworkError, ShapeError
from ..model.network import Network

__all__ = [
    "DEFAULT_ATOL_CURRENT",
    "DEFAULT_MAX_ITER",
    "DEFAULT_RTOL_CURRENT",
    "DEFAULT_TOL_STEP",
    "NEWTON_DENSE_MAX_INTERIOR",
    "CircuitSolution",
    "CircuitSolver",
    "edge_currents",
    "node_currents",
    "solve_circuit",
]

#: Newton stops when the (simplified) Newton correction is at most this many volts. Node
#: voltages are O(0.1-1 V); 1e-12 V is ~1e4 ulp, far below any measured resolution (~1e-4 V).
DEFAULT_TOL_STEP = 1e-12
#: Relative current tolerance: the residual at each node must be at most this fraction of the
#: largest edge current in the network. Newton reaches ~1e-15; 1e-10 leaves room for ill-scaled
#: Jacobians (subthreshold edges) while still fixing the voltages to ~1e-10 relative.
DEFAULT_RTOL_CURRENT = 1e-10
#: Absolute floor of the current tolerance, amperes (a network with all currents ~0).
DEFAULT_ATOL_CURRENT = 1e-18
#: Iteration budget. From a warm start Newton needs 2-3 iterations; from a cold start with
#: subthreshold edges rarely more than 15.
DEFAULT_MAX_ITER = 60
#: Newton matrices of up to this many interior nodes are factorized densely (LAPACK LU), larger
#: ones with sparse LU. (The linear solver's Cholesky threshold is
#: `clln_theory.electrical.kirchhoff.CHOLESKY_MAX_INTERIOR`.)
NEWTON_DENSE_MAX_INTERIOR = 200
#: Jacobian regularization (SPICE's "gmin"), relative to the largest diagonal entry, used only
#: when the Newton matrix is exactly singular. An ideal saturated transistor has zero output
#: conductance, so a node whose edges are all saturated into it has a zero Jacobian row. Adding
#: 1e-9 of the largest conductance to the diagonal of the Newton matrix only (the residual stays
#: exact, so the solution is unchanged) keeps the step defined.
GMIN_REL = 1e-9
#: Floor of that regularization, siemens (SPICE's default gmin), for a Jacobian that is all zero.
GMIN_ABS = 1e-12
#: Largest Newton step, volts, at least: steps are scaled down to max(this, the spread of the
#: imposed voltages). With ``GMIN_REL`` a near-singular step can be huge; node voltages of a
#: passive circuit never leave the range of the imposed ones.
MAX_STEP_V = 1.0


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
    G = network.check_gates(G)
    V = np.asarray(V, dtype=float)
    if V.shape != (network.n_nodes,):
        raise ShapeError(
            f"Argument `V` must have shape ({network.n_nodes},), but has shape {V.shape}."
        )
    I = network.K_fixed * (V[network.tail] - V[network.head])
    ge = network.gate_edges
    I[ge] = network.device.current(
        G, network.S, network.V_T, V[network.tail[ge]], V[network.head[ge]]
    )
    return I


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
    I = edge_currents(network, G, V)
    return np.bincount(network.tail, I, network.n_nodes) - np.bincount(
        network.head, I, network.n_nodes
    )


@dataclass(frozen=True, slots=True)
class CircuitSolution:
    """Result of a nonlinear Kirchhoff solve.

    Attributes
    ----------
    V : (n_nodes,) ndarray
        Node voltages, V (imposed nodes hold their imposed values).
    n_iter : int
        Newton iterations (Jacobian factorizations) used.
    residual : float
        Largest ``|F_i|`` over interior nodes at ``V``, amperes.
    step : float
        Size of the last (simplified) Newton correction, V.
    """

    V: np.ndarray
    n_iter: int
    residual: float
    step: float


class CircuitSolver:
    """Damped Newton solver of (KCL) for one network and one set of imposed nodes.

    Build once, call `solve` many times (index arrays and the sparsity pattern are reused).

    Parameters
    ----------
    network : Network
        Any device (learning edges) plus fixed conductances.
    imposed : sequence of str
        Nodes whose voltage is imposed; every other node is interior.
    tol_step : float
        Stop when the Newton correction is at most this (volts), `DEFAULT_TOL_STEP`.
    rtol_current, atol_current : float
        ... and the residual at every interior node is at most
        ``rtol_current * max_e |I_e| + atol_current`` (amperes).
    max_iter : int
        Newton iteration budget.

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
        tol_step: float = DEFAULT_TOL_STEP,
        rtol_current: float = DEFAULT_RTOL_CURRENT,
        atol_current: float = DEFAULT_ATOL_CURRENT,
        max_iter: int = DEFAULT_MAX_ITER,
    ) -> None:
        instance(network, "network", Network, error=NetworkError)
        idx_b = network.imposed_indices(imposed)  # refuses a non-sequence, naming `imposed`
        imposed = [str(n) for n in imposed]
        tol_step = positive(tol_step, "tol_step", unit="V")
        rtol_current = positive(rtol_current, "rtol_current")
        atol_current = positive(atol_current, "atol_current", unit="A")
        max_iter = count(max_iter, "max_iter")
        self.network = network
        self.imposed = tuple(imposed)
        self.idx_b = idx_b
        n = network.n_nodes
        is_int = np.ones(n, dtype=bool)
        is_int[idx_b] = False
        self.idx_i = np.flatnonzero(is_int).astype(np.intp)
        pos = -np.ones(n, dtype=np.intp)
        pos[self.idx_i] = np.arange(self.idx_i.size)
        self._pos = pos
        self.tol_step = tol_step
        self.rtol_current = rtol_current
        self.atol_current = atol_current
        self.max_iter = max_iter
        tail, head = network.tail, network.head
        # Jacobian triplets: edge e contributes to rows (a, b) x cols (a, b); keep interior ones.
        rows = np.concatenate([tail, tail, head, head])
        cols = np.concatenate([tail, head, tail, head])
        keep = (pos[rows] >= 0) & (pos[cols] >= 0)
        self._keep = keep
        self._jr = pos[rows[keep]]
        self._jc = pos[cols[keep]]
        ni = self.idx_i.size
        self._flat = self._jr * ni + self._jc
        self.dense = ni <= NEWTON_DENSE_MAX_INTERIOR

    @property
    def n_interior(self) -> int:
        """Number of interior (non-imposed) nodes."""
        return int(self.idx_i.size)

    # ---------------------------------------------------------------- internals
    def _eval(self, G: np.ndarray, V: np.ndarray, jac: bool):
        net = self.network
        tail, head, ge = net.tail, net.head, net.gate_edges
        Va, Vb = V[tail], V[head]
        Kf = net.K_fixed
        I = Kf * (Va - Vb)
        if jac:
            dIa = Kf.copy()
            dIb = -Kf
            Ig, ga, gb, _ = net.device.current_and_derivatives(G, net.S, net.V_T, Va[ge], Vb[ge])
            I[ge] = Ig
            dIa[ge] = ga
            dIb[ge] = gb
        else:
            I[ge] = net.device.current(G, net.S, net.V_T, Va[ge], Vb[ge])
        n = net.n_nodes
        F = np.bincount(tail, I, n) - np.bincount(head, I, n)
        scale = float(np.max(np.abs(I))) if I.size else 0.0
        if not jac:
            return F[self.idx_i], scale, None
        vals = np.concatenate([dIa, dIb, -dIa, -dIb])[self._keep]
        ni = self.idx_i.size
        if self.dense:
            J = np.bincount(self._flat, vals, ni * ni).reshape(ni, ni)
        else:
            J = sp.csc_matrix((vals, (self._jr, self._jc)), shape=(ni, ni))
        return F[self.idx_i], scale, J

    def _factor(self, J):
        """LU of the Newton matrix; if exactly singular, retry once with ``GMIN_REL`` added."""
        try:
            return self._factor_once(J)
        except (np.linalg.LinAlgError, RuntimeError):
            gmin = max(GMIN_REL * float(np.max(np.abs(J.diagonal()))), GMIN_ABS)
            if self.dense:
                return self._factor_once(J + gmin * np.eye(J.shape[0]))
            return self._factor_once((J + sp.identity(J.shape[0], format="csc") * gmin).tocsc())

    def _factor_once(self, J):
        if self.dense:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", sla.LinAlgWarning)
                lu = sla.lu_factor(J, check_finite=False)
            if not np.all(np.isfinite(lu[0])) or np.min(np.abs(np.diag(lu[0]))) == 0.0:
                raise np.linalg.LinAlgError("singular Jacobian")
            return lambda r: sla.lu_solve(lu, r, check_finite=False)
        return spla.splu(J).solve

    def _initial_guess(self, G: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Linear solve with K = S max(G - V_T, 0.1) on learning edges (a robust start)."""
        net = self.network
        K = net.K_fixed.copy()
        K[net.gate_edges] = net.S * np.maximum(G - net.V_T, 0.1)
        A = net.incidence
        L = (A.T @ sp.diags(K) @ A).tocsr()
        L_ii = L[self.idx_i][:, self.idx_i]
        rhs = -(L[self.idx_i][:, self.idx_b] @ V[self.idx_b])
        if self.dense:
            V[self.idx_i] = np.linalg.solve(L_ii.toarray(), rhs)
        else:
            V[self.idx_i] = spla.spsolve(L_ii.tocsc(), rhs)
        return V

    def _fail(self, V: np.ndarray, F: np.ndarray, n_iter: int, why: str) -> ConvergenceError:
        k = int(np.argmax(np.abs(F))) if F.size else 0
        node = self.network.nodes[int(self.idx_i[k])] if F.size else "?"
        return ConvergenceError(
            f"Newton's method on Kirchhoff's current law {why} after {n_iter} iterations: the "
            f"largest current residual, {abs(float(F[k])) if F.size else 0.0:.3g} A, is at node "
            f"{node!r}; check that the gates are in the devices' working range, or raise "
            "`max_iter`."
        )

    # ------------------------------------------------------------------ solve
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
        G = gate_vector(G, "G", self.network.n_gates, error=ShapeError)
        if getattr(self.network.device, "is_linear", False):
            self.network.conductances(G)  # below threshold: refused, as solve_voltages does
        values = real_array(values, "values", error=ShapeError)
        if values.shape != (self.idx_b.size,):
            raise ShapeError(
                f"Argument `values` must have shape ({self.idx_b.size},) (one voltage per "
                f"imposed node {self.imposed}), but has shape {values.shape}."
            )
        n = self.network.n_nodes
        if V0 is None:
            V = np.zeros(n)
            V[self.idx_b] = values
            V = self._initial_guess(G, V)
        else:
            V = real_array(V0, "V0", error=ShapeError).copy()
            if V.shape != (n,):
                raise ShapeError(f"Argument `V0` must have shape ({n},), but has shape {V.shape}.")
            V[self.idx_b] = values
        if self.idx_i.size == 0:
            return CircuitSolution(V=V, n_iter=0, residual=0.0, step=0.0)
        if V0 is None:
            return self._newton(G, values, V)
        try:
            return self._newton(G, values, V)
        except ConvergenceError:
            # A warm start can sit in the basin of a spurious local minimum of |F| (the device
            # models are only piecewise smooth); the linear-solve start is the robust fallback.
            V = np.zeros(n)
            V[self.idx_b] = values
            return self._newton(G, values, self._initial_guess(G, V))

    def _newton(self, G: np.ndarray, values: np.ndarray, V: np.ndarray) -> CircuitSolution:
        """Damped Newton from ``V`` (see `solve`)."""
        F, scale, J = self._eval(G, V, True)
        step = np.inf
        for it in range(1, self.max_iter + 1):
            try:
                solve = self._factor(J)
            except (np.linalg.LinAlgError, RuntimeError):
                raise self._fail(V, F, it - 1, "met a singular Jacobian") from None
            dV = -solve(F)
            cap = max(MAX_STEP_V, float(np.ptp(values)))
            big = float(np.max(np.abs(dV)))
            if big > cap:  # voltage limiting (see MAX_STEP_V)
                dV *= cap / big
            f0 = float(F @ F)
            if (
                float(np.max(np.abs(dV))) <= self.tol_step
                and float(np.max(np.abs(F))) <= self.rtol_current * scale + self.atol_current
            ):
                # Already converged (e.g. warm-started at the solution): a further step could
                # only move round-off around, and the line search below could not "reduce" a
                # residual that is already at the noise floor.
                return CircuitSolution(
                    V=V,
                    n_iter=it - 1,
                    residual=float(np.max(np.abs(F))),
                    step=float(np.max(np.abs(dV))),
                )
            lam = 1.0
            for _ in range(30):
                V_new = V.copy()
                V_new[self.idx_i] += lam * dV
                F_new, scale, _ = self._eval(G, V_new, False)
                f_new = float(F_new @ F_new)
                if (
                    f_new <= f0
                    or not np.isfinite(f0)
                    or float(np.max(np.abs(F_new))) <= self.rtol_current * scale + self.atol_current
                ):
                    break
                lam *= 0.5
            else:
                raise self._fail(V, F, it, "could not reduce the residual")
            V, F = V_new, F_new
            # simplified Newton correction with the old factors (natural termination test)
            step = float(np.max(np.abs(solve(F))))
            res = float(np.max(np.abs(F)))
            if (
                lam == 1.0
                and step <= self.tol_step
                and res <= self.rtol_current * scale + self.atol_current
            ):
                return CircuitSolution(V=V, n_iter=it, residual=res, step=step)
            F, scale, J = self._eval(G, V, True)
        raise self._fail(V, F, self.max_iter, "did not converge")


def solve_circuit(
    network: Network,
    G: Any,
    imposed: Sequence[str],
    values: Any,
    *,
    V0: Any = None,
    tol_step: float = DEFAULT_TOL_STEP,
    rtol_current: float = DEFAULT_RTOL_CURRENT,
    atol_current: float = DEFAULT_ATOL_CURRENT,
    max_iter: int = DEFAULT_MAX_ITER,
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
    solver = CircuitSolver(
        network,
        imposed,
        tol_step=tol_step,
        rtol_current=rtol_current,
        atol_current=atol_current,
        max_iter=max_iter,
    )
    return solver.solve(G, values, V0=V0)
