"""Engine of the nonlinear Kirchhoff solves (the face is `clln_theory.electrical.circuit`).

Damped Newton on Kirchhoff's current law at the interior nodes, with the analytic Jacobian
(dense LU below `NEWTON_DENSE_MAX_INTERIOR` interior nodes, sparse LU above) and a backtracking
line search. Everything here takes checked values (imposed node indices, float gate and voltage
arrays of the right shapes) and validates nothing: `clln_theory.electrical.circuit` checks a
user's arguments once, the simulator's step engines call `CircuitEngine.solve_checked` directly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._checks import check_record
from ..errors import ConvergenceError
from ..model.network import Network

__all__ = [
    "ATOL_CURRENT",
    "MAX_ITER",
    "NEWTON_DENSE_MAX_INTERIOR",
    "RTOL_CURRENT",
    "TOL_STEP",
    "CircuitEngine",
    "CircuitSolution",
    "edge_current_values",
    "node_current_values",
]

#: Newton stops when the (simplified) Newton correction is at most this many volts. Node
#: voltages are O(0.1-1 V); 1e-12 V is ~1e4 ulp, far below any measured resolution (~1e-4 V).
TOL_STEP = 1e-12
#: Relative current tolerance: the residual at each node must be at most this fraction of the
#: largest edge current in the network. Newton reaches ~1e-15; 1e-10 leaves room for ill-scaled
#: Jacobians (subthreshold edges) while still fixing the voltages to ~1e-10 relative.
RTOL_CURRENT = 1e-10
#: Absolute floor of the current tolerance, amperes (a network with all currents ~0).
ATOL_CURRENT = 1e-18
#: Iteration budget. From a warm start Newton needs 2-3 iterations; from a cold start with
#: subthreshold edges rarely more than 15.
MAX_ITER = 60
#: Newton matrices of up to this many interior nodes are factorized densely (LAPACK LU), larger
#: ones with sparse LU. (The linear solver's Cholesky threshold is
#: `clln_theory.electrical._kirchhoff.CHOLESKY_MAX_INTERIOR`.)
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

    def __post_init__(self) -> None:
        check_record(self, V="array", n_iter="count", residual="real", step="real")


class CircuitEngine:
    """Damped Newton solver of (KCL) for one network and one set of imposed nodes (checked).

    Parameters
    ----------
    network : Network
        Any device (learning edges) plus fixed conductances.
    idx_b : (n_imposed,) int ndarray
        Indices of the imposed nodes (`Network.imposed_indices`: unique, none floating).
    imposed : tuple of str
        Their names, for messages.
    tol_step, rtol_current, atol_current : float
        Stopping tolerances (V, relative, A), already checked.
    max_iter : int
        Newton iteration budget, already checked.
    """

    def __init__(
        self,
        network: Network,
        idx_b: np.ndarray,
        imposed: tuple[str, ...],
        *,
        tol_step: float = TOL_STEP,
        rtol_current: float = RTOL_CURRENT,
        atol_current: float = ATOL_CURRENT,
        max_iter: int = MAX_ITER,
    ) -> None:
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
        J: np.ndarray | sp.csc_matrix
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
    def solve_checked(
        self, G: np.ndarray, values: np.ndarray, V0: np.ndarray | None = None
    ) -> CircuitSolution:
        """Node voltages satisfying (KCL) at every interior node, from checked arrays.

        ``G`` of shape (n_gates,), ``values`` of shape (n_imposed,) and ``V0`` (a warm start,
        copied) of shape (n_nodes,) or None; see `clln_theory.electrical.circuit.CircuitSolver`
        for the algorithm.
        """
        n = self.network.n_nodes
        if V0 is None:
            V = np.zeros(n)
            V[self.idx_b] = values
            V = self._initial_guess(G, V)
        else:
            V = np.array(V0, dtype=float)
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


def edge_current_values(network: Network, G: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Current through every edge, tail to head (checked ``G``, ``V`` of shape (n_nodes,))."""
    I = network.K_fixed * (V[network.tail] - V[network.head])
    ge = network.gate_edges
    I[ge] = network.device.current(
        G, network.S, network.V_T, V[network.tail[ge]], V[network.head[ge]]
    )
    return I


def node_current_values(network: Network, G: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Net current leaving every node, ``A^T I`` (checked ``G`` and ``V``)."""
    I = edge_current_values(network, G, V)
    return np.bincount(network.tail, I, network.n_nodes) - np.bincount(
        network.head, I, network.n_nodes
    )
