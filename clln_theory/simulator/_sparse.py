"""The ``"sparse"`` step engine: linear networks of thousands of edges, one factorization reused.

For a `LinearDevice` network the free state of a step solves ``L_II V_I = b`` with the weighted
Laplacian's interior block; the clamped state needs no second system: holding the output nodes at
``V_F[out] + C Δ`` (`Task.output_matrices`) adds the harmonic correction ``Λ Z⁻¹ C Δ`` with
``Λ = L_II⁻¹ E_out`` (one column per output node) and ``Z = Λ[out]``, so a step solves one
system with ``1 + n_output_nodes`` right-hand sides instead of factorizing two matrices.

Between steps the conductances change by a tiny relative amount, so the system is solved by
block preconditioned conjugate gradients, warm-started from the same point's previous solution,
with a sparse LU of ``L_II`` at an earlier ``G`` as the preconditioner (symmetric fill-reducing
ordering ``MMD_AT_PLUS_A``, no pivoting: the block is symmetric positive definite). The
preconditioned error contracts by about the relative change of ``K`` since that factorization
per iteration; when an iteration count exceeds `REFACTOR_ITERATIONS` the next step refactorizes.
The residual is driven to `SOLVE_RTOL`, so the engine gives the voltages of a direct solve to
round-off (``tests/simulator/test_training_scale.py``, ``tests/benchmarks/bench_train.py``).

`SparseLinearTask` has the interface of `clln_theory.simulator.kernels.GeneralTask` (``output``,
``signal``), so `half_general` runs it and the bias increment stays in one place.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ConvergenceError, SingularSystemError
from ..model._conductance import edge_conductances
from ..model.network import Network
from ..model.tasks import Task

__all__ = ["REFACTOR_ITERATIONS", "SOLVE_RTOL", "SparseLinearTask"]

#: Relative residual ``|b - L x|_2 / |b|_2`` at which a solve stops, per right-hand side. The
#: backward error of a direct LU solve is ~1e-16; 1e-14 leaves the voltages within round-off of
#: a direct solve's for the condition numbers of grids up to ~10^5 nodes (measured: the gates of
#: 1,000 steps on the 80x80 grid agree with two LU solves per step to < 1e-12 V).
SOLVE_RTOL = 1e-14
#: Refactorize the preconditioner at the next step when a solve needed more iterations than
#: this: each iteration costs about one triangular solve pair, a factorization about 10-30.
REFACTOR_ITERATIONS = 4
#: Iterations after which a solve gives up on the stale preconditioner and refactorizes now.
MAX_ITERATIONS = 30


class SparseLinearTask:
    """Free state and clamped signal of one task on a linear network, by preconditioned CG.

    Parameters
    ----------
    network : Network
        With a `LinearDevice` (the conductances are ``K = S (G - V_T)``).
    task : Task
        The task whose points are solved (single- or multi-output).

    Attributes
    ----------
    n_factorizations : int
        Sparse LU factorizations made so far.
    n_iterations : int
        Preconditioned CG iterations made so far.

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> from clln_theory.electrical.kirchhoff import free_state
    >>> task, _ = experiment_tasks("exp1")
    >>> ker = SparseLinearTask(star_network(), task)
    >>> O, V = ker.output(np.array([3.0, 3.5]), 0)
    >>> bool(abs(O - free_state(star_network(), [3.0, 3.5], task).O[0]) < 1e-14)
    True
    """

    def __init__(self, network: Network, task: Task) -> None:
        self.network, self.task = network, task
        n = network.n_nodes
        idx_in = np.array([network.node(m) for m in task.input_nodes], dtype=np.intp)
        self.out = np.array([network.node(m) for m in task.output_nodes], dtype=np.intp)
        mask = np.ones(n, dtype=bool)
        mask[idx_in] = False
        self.interior = np.flatnonzero(mask)
        nI = self.interior.size
        pos = np.full(n, -1, dtype=np.intp)
        pos[self.interior] = np.arange(nI)
        A = network.incidence.tocsc()
        self.AIt = A[:, self.interior].T.tocsr()  # (n_I, n_edges)
        dB = (A[:, idx_in] @ np.asarray(task.inputs).T).T  # (n_points, n_edges): A_B V_B
        self.dB = dB
        self.inputs, self.idx_in = np.asarray(task.inputs), idx_in
        self._structure(network, pos, nI)
        out_pos = pos[self.out]
        self.E = np.zeros((nI, self.out.size))
        self.E[out_pos, np.arange(self.out.size)] = 1.0
        self.out_pos = out_pos
        self.multi = task.is_multi_output
        if self.multi:
            self.U, self.C = task.output_matrices()
        else:
            k = self.out.size
            self.U = np.array([1.0]) if k == 1 else np.array([1.0, -1.0])
            self.C = np.array([[1.0]]) if k == 1 else np.array([[0.5], [-0.5]])
        ge = network.gate_edges
        self.ta, self.hb = network.tail[ge], network.head[ge]
        self.X: list[tuple | None] = [None] * task.n_points  # last two solutions per point
        self.Lam: np.ndarray | None = None
        self.lu: spla.SuperLU | None = None
        self.refactor = True
        self.n_factorizations = 0
        self.n_iterations = 0

    def _structure(self, network: Network, pos: np.ndarray, nI: int) -> None:
        """CSR pattern of ``L_II`` and the fixed map ``data = P @ K`` from edge conductances."""
        ti, hi = pos[network.tail], pos[network.head]
        e = np.arange(network.n_edges)
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for r, c, v in ((ti, ti, 1.0), (hi, hi, 1.0), (ti, hi, -1.0), (hi, ti, -1.0)):
            ok = (r >= 0) & (c >= 0)
            parts.append((r[ok], c[ok], e[ok], np.full(int(ok.sum()), v)))
        rows, cols, edges, vals = (np.concatenate(column) for column in zip(*parts))
        pattern = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(nI, nI))
        pattern.sum_duplicates()
        pattern.sort_indices()
        self.indptr, self.indices = pattern.indptr, pattern.indices
        keys = np.repeat(np.arange(nI), np.diff(pattern.indptr)) * nI + pattern.indices
        slot = np.searchsorted(keys, rows * nI + cols)
        self.P = sp.csr_matrix((vals, (slot, edges)), shape=(keys.size, network.n_edges))

    def _matrix(self, K: np.ndarray) -> sp.csr_matrix:
        nI = self.interior.size
        return sp.csr_matrix((self.P @ K, self.indices, self.indptr), shape=(nI, nI))

    def _factor(self, L: sp.csr_matrix) -> spla.SuperLU:
        """A fresh LU of ``L`` (kept as the preconditioner ``lu``)."""
        try:
            lu = spla.splu(
                L.tocsc(),
                permc_spec="MMD_AT_PLUS_A",
                diag_pivot_thresh=0.0,
                options={"SymmetricMode": True},
            )
        except RuntimeError as exc:
            raise SingularSystemError(
                f"The interior Laplacian block is singular ({exc}); some interior node is not "
                "connected to an imposed node through positive conductances."
            ) from exc
        self.n_factorizations += 1
        self.refactor = False
        self.lu = lu
        return lu

    def _solve(self, L: sp.csr_matrix, B: np.ndarray, X: np.ndarray | None) -> np.ndarray:
        """Block PCG for ``L X = B`` (columns independent), warm-started from ``X``."""
        lu = self.lu
        if self.refactor or lu is None:
            lu = self._factor(L)
        if X is None:
            X = lu.solve(B)
        bnorm = np.linalg.norm(B, axis=0)
        tol = SOLVE_RTOL * np.where(bnorm > 0, bnorm, 1.0)
        R = B - L @ X
        rnorm = np.linalg.norm(R, axis=0)
        if np.all(rnorm <= tol):
            return X
        Zr = lu.solve(R)
        Pd = Zr.copy()
        rz = np.einsum("ij,ij->j", R, Zr)
        for it in range(1, MAX_ITERATIONS + 1):
            AP = L @ Pd
            pAp = np.einsum("ij,ij->j", Pd, AP)
            alpha = np.divide(rz, pAp, out=np.zeros_like(rz), where=pAp > 0)
            X += alpha * Pd
            R -= alpha * AP
            rnorm = np.linalg.norm(R, axis=0)
            if np.all(rnorm <= tol):
                self.n_iterations += it
                if it > REFACTOR_ITERATIONS:
                    self.refactor = True
                return X
            Zr = lu.solve(R)
            rz_new = np.einsum("ij,ij->j", R, Zr)
            beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
            Pd = Zr + beta * Pd
            rz = rz_new
        self.n_iterations += MAX_ITERATIONS
        lu = self._factor(L)  # the preconditioner is too stale: a fresh one solves in one or two
        X = lu.solve(B)
        X += lu.solve(B - L @ X)  # one step of iterative refinement
        if np.any(np.linalg.norm(B - L @ X, axis=0) > 1e3 * tol):
            raise ConvergenceError(
                "The sparse Kirchhoff solve did not reach its residual tolerance even with a "
                "fresh factorization; the conductances may be nearly singular."
            )
        return X

    def output(self, G: np.ndarray, p: int) -> tuple[float | np.ndarray, np.ndarray]:
        """Free output of point ``p`` at ``G`` (and the output-node responses for `signal`).

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.
        p : int
            Point index.

        Returns
        -------
        O : float or (n_outputs,) ndarray
            Free output(s), V.
        V : (n_nodes,) ndarray
            Free node voltages, V.

        Raises
        ------
        ConvergenceError
            The solve did not converge even with a fresh factorization.
        """
        K = edge_conductances(self.network, G)
        L = self._matrix(K)
        b = -(self.AIt @ (K * self.dB[p]))
        B = np.column_stack([b, self.E])
        X0 = None
        prev = self.X[p]
        if prev is not None:  # linear extrapolation of the last two solutions of this point
            X0 = prev[1] if prev[0] is None else 2.0 * prev[1] - prev[0]
        X = self._solve(L, B, X0)
        self.X[p] = (None if prev is None else prev[1], X.copy())
        self.Lam = X[:, 1:]
        V = np.empty(self.network.n_nodes)
        V[self.idx_in] = self.inputs[p]
        V[self.interior] = X[:, 0]
        VO = V[self.out]
        if self.multi:
            return VO @ self.U, V
        return float(VO @ self.U), V

    def signal(self, G: np.ndarray, p: int, O: float, VF: np.ndarray, nudge) -> np.ndarray:
        """``ΔV_F² − ΔV_C²`` per gate for the output(s) moved by ``nudge`` (no extra solve).

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V (the ones of the last `output` call of point ``p``).
        p : int
            Point index.
        O : float or (n_outputs,) ndarray
            Free output(s), V (unused).
        VF : (n_nodes,) ndarray
            Free node voltages of the point, V.
        nudge : float or (n_outputs,) ndarray
            ``O_C − O_F``, V.

        Returns
        -------
        (n_gates,) ndarray
            V².
        """
        Lam_I = self.Lam
        assert Lam_I is not None  # set by `output`, which runs first for the same point
        Lam = np.zeros((self.network.n_nodes, self.out.size))
        Lam[self.interior] = Lam_I
        Z = Lam_I[self.out_pos]
        w = np.linalg.solve(Z, self.C @ np.atleast_1d(nudge))  # clamp moves out nodes by C Δ
        dF = VF[self.ta] - VF[self.hb]
        dC = dF + (Lam[self.ta] - Lam[self.hb]) @ w
        return dF * dF - dC * dC
