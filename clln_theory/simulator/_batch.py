"""Engine of `clln_theory.simulator.batch.simulate_batch`: the batched step kernel (checked values).

`BatchCircuitSolver` solves the free or clamped states of every run at once (batched damped
Newton, serial fallback); `BatchRun` steps every run through a half period; `batch_trajectories`
records each run as a `SimulatedTrajectory`. The face checks the arguments once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .._checks import readonly
from ..electrical._circuit import MAX_ITER, MAX_STEP_V, NEWTON_DENSE_MAX_INTERIOR, CircuitEngine
from ..electrical._clamping import nudge_points, output_split
from ..errors import ConvergenceError, Failure, SingularSystemError
from ..model.devices import LinearDevice
from ..model.network import Network
from ..model.tasks import Task
from ._kernels import refuse_below_threshold
from ._runner import Runner, SimulatedTrajectory, task_errors_of
from .protocol import TrainingProtocol

__all__ = [
    "BATCH_MEMORY_BYTES",
    "BatchCircuitSolver",
    "BatchRun",
    "batch_bytes_per_run",
    "batch_trajectories",
    "run_batch",
]

#: Working memory of one batched chunk of runs, bytes: the runs of a batch are stepped together
#: in chunks whose estimated arrays (`batch_bytes_per_run`) fit in this. 256 MiB keeps a batch
#: well inside a laptop's memory while a chunk still holds thousands of runs of a small network
#: (the Fig. 5 ring: ~10 kB per run), so the vectorization is not lost.
BATCH_MEMORY_BYTES = 256 * 2**20
#: Arrays of ``n_interior²`` floats alive at once per run in a batched Newton solve: the Newton
#: matrix, its inverse, LAPACK's copy and the assembled entries (one more for slack).
_DENSE_MATRICES = 5


class BatchCircuitSolver:
    """Damped Newton of Kirchhoff's current law for many runs of one network at once.

    Parameters
    ----------
    network : Network
        Any device.
    imposed : sequence of str
        Nodes whose voltage is imposed (the same for every run).

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import ThreeRegimeMOSFET
    >>> net = star_network(device=ThreeRegimeMOSFET())
    >>> solver = BatchCircuitSolver(net, ["High", "Low", "Input"])
    >>> G = np.array([[3.0, 3.5], [3.2, 3.1]])
    >>> V, ok = solver.solve(G, np.array([[0.4351, 0.0181, 0.4351]] * 2))
    >>> V.shape, ok.tolist(), round(float(V[0, 3]), 4)
    ((2, 4), [True, True], 0.3063)
    """

    def __init__(self, network: Network, imposed: Sequence[str]) -> None:
        self.serial = CircuitEngine(network, network.imposed_indices(imposed), tuple(imposed))
        self.network = network
        self.idx_b, self.idx_i = self.serial.idx_b, self.serial.idx_i
        n, ni = network.n_nodes, self.idx_i.size
        pos = -np.ones(n, dtype=np.intp)
        pos[self.idx_i] = np.arange(ni)
        tail, head = network.tail, network.head
        rows = np.concatenate([tail, tail, head, head])
        cols = np.concatenate([tail, head, tail, head])
        self.keep = (pos[rows] >= 0) & (pos[cols] >= 0)
        flat = pos[rows[self.keep]] * ni + pos[cols[self.keep]]
        # Jacobian entries from edge derivatives: a sparse (entries x ni²) 0/1 matrix (dense, it
        # would be n_edges x n_interior² floats: 11 GiB for a 24 x 24 lattice)
        self.scatter = sp.csr_matrix(
            (np.ones(flat.size), (np.arange(flat.size), flat)), shape=(flat.size, ni * ni)
        )
        inc = np.zeros((network.n_edges, n))
        inc[np.arange(network.n_edges), tail] += 1.0
        inc[np.arange(network.n_edges), head] -= 1.0
        self.inc_i = inc[:, self.idx_i]  # net current leaving interior node i: I @ inc_i
        self.ni = ni

    def _eval(self, G: np.ndarray, V: np.ndarray, jac: bool):
        net = self.network
        ge = net.gate_edges
        Va, Vb = V[:, net.tail], V[:, net.head]
        Kf = net.K_fixed
        I = Kf * (Va - Vb)
        if jac:
            dIa = np.broadcast_to(Kf, I.shape).copy()
            dIb = -dIa
            Ig, ga, gb, _ = net.device.current_and_derivatives(
                G, net.S, net.V_T, Va[:, ge], Vb[:, ge]
            )
            I[:, ge], dIa[:, ge], dIb[:, ge] = Ig, ga, gb
        else:
            I[:, ge] = net.device.current(G, net.S, net.V_T, Va[:, ge], Vb[:, ge])
        F = I @ self.inc_i
        scale = np.max(np.abs(I), axis=1)
        if not jac:
            return F, scale, None
        vals = np.concatenate([dIa, dIb, -dIa, -dIb], axis=1)[:, self.keep]
        return F, scale, self._assemble(vals)

    def _assemble(self, vals: np.ndarray) -> np.ndarray:
        """The (R, ni, ni) matrices whose entries are sums of the edge terms ``vals`` (R, k)."""
        return np.asarray(self.scatter.T @ vals.T).T.reshape(-1, self.ni, self.ni)

    def _initial(self, G: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Linear solve with ``K = S max(G - V_T, 0.1)`` (the serial solver's start)."""
        net = self.network
        lin = np.array(V)
        K = np.broadcast_to(net.K_fixed, (V.shape[0], net.n_edges)).copy()
        K[:, net.gate_edges] = net.S * np.maximum(G - net.V_T, 0.1)
        lin[:, self.idx_i] = 0.0
        dV = lin[:, net.tail] - lin[:, net.head]
        F = (K * dV) @ self.inc_i
        vals = np.concatenate([K, -K, -K, K], axis=1)[:, self.keep]
        L = self._assemble(vals)
        lin[:, self.idx_i] = -np.linalg.solve(L, F[..., None])[..., 0]
        return lin

    def solve(
        self,
        G: np.ndarray,
        values: np.ndarray,
        V0: np.ndarray | None = None,
        Jinv0: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Node voltages of every run satisfying (KCL) at every interior node.

        Parameters
        ----------
        G : (n_runs, n_gates) ndarray
            Gate voltages, V.
        values : (n_runs, n_imposed) ndarray
            Imposed voltages in ``imposed`` order, V.
        V0 : (n_runs, n_nodes) ndarray, optional
            Warm starts (imposed entries overwritten); default the linear-solve start.
        Jinv0 : (n_runs, n_interior, n_interior) ndarray, optional
            Inverse Newton matrices of a nearby solve (the previous step's), used as chord
            matrices while they contract; replaced by fresh ones where they do not. Updated
            in place with the inverses last used.

        Returns
        -------
        V : (n_runs, n_nodes) ndarray
            Node voltages, V (NaN for a run whose solve failed).
        ok : (n_runs,) bool ndarray
            False where neither the batched nor the serial solver converged.
        """
        R = G.shape[0]
        V = np.zeros((R, self.network.n_nodes)) if V0 is None else np.array(V0, dtype=float)
        V[:, self.idx_b] = values
        if self.ni == 0:
            return V, np.ones(R, dtype=bool)
        if V0 is None:
            V = self._initial(G, V)
        done, bad = self._newton(G, values, V, Jinv0)
        todo = np.flatnonzero(~done | bad)
        ok = np.ones(R, dtype=bool)
        for r in todo:  # rare: the serial solver, with its own restart from the linear start
            try:
                V[r] = self.serial.solve_checked(
                    G[r], values[r], V0[r] if V0 is not None else None
                ).V
            except ConvergenceError:
                V[r] = np.nan
                ok[r] = False
        return V, ok

    def _newton(self, G: np.ndarray, values: np.ndarray, V: np.ndarray, Jinv0=None):
        """Batched damped Newton in place on ``V``; returns ``(converged, failed)`` per run.

        The stopping rule of `CircuitSolver`: after a full step, the simplified Newton
        correction ``J_old^-1 F(V_new)`` and the current residual must both be small. While full
        steps contract, that correction is taken as the next step with the same inverse
        (chord Newton: from a warm start the Newton matrix hardly changes), so a solve costs
        one Newton matrix and its batched inverse, a few current evaluations and mat-vecs.
        """
        s = self.serial
        R = G.shape[0]
        cap = np.maximum(MAX_STEP_V, np.ptp(values, axis=1))
        done = np.zeros(R, dtype=bool)
        bad = np.zeros(R, dtype=bool)
        ii = self.idx_i
        if Jinv0 is not None and np.all(np.isfinite(Jinv0)):
            F, scale, _ = self._eval(G, V, False)
            Jinv = Jinv0
        else:
            F, scale, J = self._eval(G, V, True)
            try:
                Jinv = np.linalg.inv(J)
            except np.linalg.LinAlgError:  # a singular run: leave it to the serial solver
                return done, np.ones(R, dtype=bool)
            if Jinv0 is not None:
                Jinv0[...] = Jinv
        last = np.full(R, np.inf)
        for _ in range(MAX_ITER):
            dV = -np.einsum("rij,rj->ri", Jinv, F)
            big = np.max(np.abs(dV), axis=1)
            dV *= np.where(big > cap, cap / np.where(big > 0, big, 1.0), 1.0)[:, None]
            res = np.max(np.abs(F), axis=1)
            done |= (np.max(np.abs(dV), axis=1) <= s.tol_step) & (
                res <= s.rtol_current * scale + s.atol_current
            )
            if np.all(done | bad):
                return done, bad
            dV[done | bad] = 0.0
            f0 = np.einsum("ri,ri->r", F, F)
            lam = np.ones(R)
            V_new = V.copy()
            for _ in range(30):
                V_new[:, ii] = V[:, ii] + lam[:, None] * dV
                F_new, scale_new, _ = self._eval(G, V_new, False)
                f_new = np.einsum("ri,ri->r", F_new, F_new)
                tol_new = s.rtol_current * scale_new + s.atol_current
                good = (f_new <= f0) | ~np.isfinite(f0) | (np.max(np.abs(F_new), axis=1) <= tol_new)
                if np.all(good):
                    break
                lam = np.where(good, lam, 0.5 * lam)
            else:
                bad |= ~good
            V[:, ii] = V_new[:, ii]
            F, scale = F_new, scale_new
            step = np.max(np.abs(np.einsum("rij,rj->ri", Jinv, F)), axis=1)
            res = np.max(np.abs(F), axis=1)
            done |= (
                (lam == 1.0)
                & (step <= s.tol_step)
                & (res <= s.rtol_current * scale + s.atol_current)
            )
            if np.all(done | bad):
                return done, bad
            moved = np.max(np.abs(dV), axis=1)
            contracting = np.all((lam == 1.0) & ((step <= 0.25 * moved) | done | bad))
            if not contracting or np.any(step[~(done | bad)] >= last[~(done | bad)]):
                F, scale, J = self._eval(G, V, True)  # a fresh Newton matrix
                try:
                    Jinv = np.linalg.inv(J)
                except np.linalg.LinAlgError:
                    return done, bad | ~done
                if Jinv0 is not None:
                    Jinv0[...] = Jinv
            last = step
        return done, bad


def _extrapolate(V0: np.ndarray, V1: np.ndarray | None) -> np.ndarray:
    """Warm start ``2 V0 - V1`` from a point's last two solutions (``V0`` where ``V1`` is NaN).

    The gates move a little per step, so the solutions move smoothly: the linear predictor's
    error is second order in the step, and Newton usually stops after one iteration.
    """
    if V1 is None:
        return V0
    return np.where(np.isnan(V1), V0, 2.0 * V0 - V1)


class BatchRun:
    """The compiled batch: solvers, warm starts and the step kernel of one half period."""

    def __init__(self, network, runs, G0, B, protocol, limits, n_half, first=0):
        self.first = first  # index of this chunk's first run in the whole batch
        self.network, self.runs, self.protocol = network, runs, protocol
        self.limits, self.n_half = limits, n_half
        self.B = B
        self.R = len(runs)
        self.linear = isinstance(network.device, LinearDevice)
        self.kinds = []
        for k, task in enumerate(runs[0]):
            free = BatchCircuitSolver(network, task.input_nodes)
            clamped = BatchCircuitSolver(network, task.input_nodes + task.output_nodes)
            out = np.array([network.node(n) for n in task.output_nodes], dtype=np.intp)
            U, C = task.output_matrices()
            if not task.is_multi_output:
                C = output_split(out.size)[:, None]
            inputs = np.stack([np.asarray(ts[k].inputs) for ts in runs])  # (R, N, n_in)
            labels = np.stack([np.asarray(ts[k].labels) for ts in runs])  # (R, N[, m])
            N = task.n_points
            self.kinds.append((task, free, clamped, out, U, C, inputs, labels, N))
        self.Vf = [[None] * t[-1] for t in self.kinds]
        self.Vc = [[None] * t[-1] for t in self.kinds]
        # the solutions before the last, per task and point: warm starts extrapolate linearly
        self.Vf1 = [[None] * t[-1] for t in self.kinds]
        self.Vc1 = [[None] * t[-1] for t in self.kinds]
        self.alive = np.ones(self.R, dtype=bool)
        self.failures: list[Failure] = []
        ge = network.gate_edges
        self.ta, self.hb = network.tail[ge], network.head[ge]

    def _stop(self, rows: np.ndarray, ok: np.ndarray, what: str, t: float) -> None:
        for r in rows[~ok]:
            self.alive[r] = False
            run = self.first + r
            self.failures.append(
                Failure(
                    what="simulation",
                    why=f"the {what} state of run {run} did not converge at t = {t:.6g} s",
                    where=f"run {run}",
                    kind="ConvergenceError",
                )
            )

    def outputs(self, G: np.ndarray, k: int, p: int, t: float = 0.0) -> np.ndarray:
        """Free outputs of point ``p`` of task ``k`` for every run (NaN for stopped runs)."""
        task, free, _, out, U, _, inputs, _, _ = self.kinds[k]
        rows = np.flatnonzero(self.alive)
        O = np.full((self.R, *task.labels.shape[1:]), np.nan)
        if rows.size == 0:
            return O
        V0, V1 = self.Vf[k][p], self.Vf1[k][p]
        guess = None if V0 is None else _extrapolate(V0[rows], None if V1 is None else V1[rows])
        V, ok = free.solve(G[rows], inputs[rows, p], guess)
        if V0 is None:
            V0 = self.Vf[k][p] = np.full((self.R, self.network.n_nodes), np.nan)
        else:
            if V1 is None:
                V1 = self.Vf1[k][p] = np.full((self.R, self.network.n_nodes), np.nan)
            V1[rows] = V0[rows]
        V0[rows] = V
        self._stop(rows, ok, "free", t)
        VO = V[:, out] @ U
        O[rows] = VO if task.is_multi_output else VO.reshape(-1)
        return O

    def r0(self, G: np.ndarray, k: int) -> np.ndarray:
        """Overclamping r₀ of every run (fixed, or mean hold time t_h over active points)."""
        prot = self.protocol
        if prot.r0 is not None:
            return np.full(self.R, prot.r0)
        task, *_, labels, N = self.kinds[k]
        O = np.stack([self.outputs(G, k, p) for p in range(N)], axis=1)  # (R, N)
        _, _, active = nudge_points(O, labels, prot.eta, "overclamp", prot.L0,
                                    task.kind == "classification")  # fmt: skip
        d = np.where(active, np.abs(labels - O), 0.0)  # hinge of App. A: inactive not counted
        tot = d.sum(axis=1)
        n_act = active.sum(axis=1)
        return np.where(tot > 0, prot.t_h * n_act / np.where(tot > 0, tot, 1.0), 0.0)

    def bias(self, G: np.ndarray) -> np.ndarray:
        """The per-step bias of every run, V/s (the one place a step reads it)."""
        return self.B

    def half(self, G: np.ndarray, h: int, record: int, t0: float):
        """The steps of half period ``h`` for every run; samples every ``record`` steps."""
        prot = self.protocol
        k = h % len(self.kinds)
        task, _, clamped, out, _, C, inputs, labels, N = self.kinds[k]
        unit = self.r0(G, k) if prot.overclamp else np.full(self.R, prot.t_h)
        classification = task.kind == "classification"
        times, samples = [], []
        offset = h * self.n_half
        for step in range(self.n_half):
            p = step % N
            t_end = t0 + (step + 1) * prot.t_h
            O = self.outputs(G, k, p, t_end)
            O_C, w, _ = nudge_points(np.nan_to_num(O), labels[:, p], prot.eta, prot.clamping,
                                     prot.L0, classification)  # fmt: skip
            shift = O_C - np.nan_to_num(O)
            if task.is_multi_output:
                w = np.ones(self.R)
            tp = np.where(self.alive, unit * w, 0.0)  # hold time of each run's step
            sig = np.zeros_like(G)
            move = (tp != 0.0) & (shift.reshape(self.R, -1) != 0.0).any(axis=1)
            rows = np.flatnonzero(move)
            if rows.size:
                VF = self.Vf[k][p][rows]
                vals = VF[:, out] + shift[rows].reshape(rows.size, -1) @ C.T
                Vc, Vc1 = self.Vc[k][p], self.Vc1[k][p]
                if Vc is None:
                    Vc = self.Vc[k][p] = np.full((self.R, self.network.n_nodes), np.nan)
                    Vc1 = self.Vc1[k][p] = np.full((self.R, self.network.n_nodes), np.nan)
                guess = _extrapolate(Vc[rows], Vc1[rows])
                guess = np.where(np.isnan(guess), VF, guess)
                VC, ok = clamped.solve(G[rows], np.hstack([inputs[rows, p], vals]), guess)
                Vc1[rows] = Vc[rows]
                Vc[rows] = VC
                self._stop(rows, ok, "clamped", t_end)
                dF = VF[:, self.ta] - VF[:, self.hb]
                dC = VC[:, self.ta] - VC[:, self.hb]
                sig[rows] = np.where(ok[:, None], dF * dF - dC * dC, 0.0)
                tp = np.where(self.alive, tp, 0.0)
            G = G + tp[:, None] * (prot.A0 * sig + self.bias(G))  # (7)
            if self.limits is not None:
                G = np.clip(G, self.limits[0], self.limits[1])
            if self.linear:
                for r in np.flatnonzero(tp):
                    refuse_below_threshold(self.network, G[r], t_end)
            if record and (offset + step + 1) % record == 0:
                times.append(t_end)
                samples.append(G.copy())
        return G, times, samples


def batch_trajectories(
    batch: BatchRun, times, samples, active, tau: float
) -> tuple[SimulatedTrajectory | None, ...]:
    """Outputs and task errors at every sample: a `SimulatedTrajectory` per run (None: stopped)."""
    outs = []  # per task: (n_samples, R, N[, m])
    for k, (*_rest, N) in enumerate(batch.kinds):
        outs.append(np.stack([np.stack([batch.outputs(g, k, p) for p in range(N)], axis=1)
                              for g in samples]))  # fmt: skip
    trajs: list[SimulatedTrajectory | None] = []
    t_h = batch.protocol.t_h
    for r, ts in enumerate(batch.runs):
        if not batch.alive[r]:
            trajs.append(None)
            continue
        o_r = [o[:, r] for o in outs]
        errs = np.stack([task_errors_of(o, t) for o, t in zip(o_r, ts)], axis=-1)
        trajs.append(
            SimulatedTrajectory(
                times=readonly(times, float),
                G=readonly(samples[:, r], float),
                outputs=tuple(readonly(o, float) for o in o_r),
                errors=readonly(errs, float),
                active=np.array(active, dtype=int),
                task_names=tuple(t.name or f"task{i}" for i, t in enumerate(ts)),
                gate_names=batch.network.gate_names,
                tau=tau,
                t_h=t_h,
                mode="discrete",
                engine="batch",
                n_steps=round((times[-1] - times[0]) / t_h),
            )
        )
    return tuple(trajs)


def batch_interior(network: Network, runs: Sequence[Sequence[Task]]) -> int:
    """The largest number of interior (solved) nodes of a run's free states."""
    return network.n_nodes - min(len(t.input_nodes) for t in runs[0])


def batch_bytes_per_run(network: Network, runs: Sequence[Sequence[Task]]) -> int:
    """Estimated working memory of one run in a batched chunk, bytes: the dense Newton matrices
    (`_DENSE_MATRICES` of ``n_interior²``) and the four warm starts (node voltages) per point."""
    ni = batch_interior(network, runs)
    points = sum(t.n_points for t in runs[0])
    return 8 * (_DENSE_MATRICES * ni * ni + 4 * points * network.n_nodes + 4 * network.n_gates)


def run_batch(
    network: Network,
    runs: tuple[tuple[Task, ...], ...],
    G0: np.ndarray,
    B: np.ndarray,
    protocol: TrainingProtocol,
    limits: tuple[np.ndarray, np.ndarray] | None,
    *,
    tau: float,
    n_half: int,
    n_halves: int,
    stride: int,
) -> tuple[tuple[SimulatedTrajectory | None, ...], tuple[Failure, ...]]:
    """Every run of a checked batch: the trajectories (None: stopped) and the failures.

    Networks with more interior nodes than `NEWTON_DENSE_MAX_INTERIOR` (where `simulate` leaves
    dense Newton matrices: its sparse or sparse-LU engines) run one at a time with `simulate`'s
    engine, in `simulate`'s memory; smaller ones are stepped together in chunks of runs whose
    estimated arrays fit in `BATCH_MEMORY_BYTES`.
    """
    if batch_interior(network, runs) > NEWTON_DENSE_MAX_INTERIOR:
        return _one_by_one(network, runs, G0, B, protocol, limits, tau, n_half, n_halves, stride)
    chunk = max(1, BATCH_MEMORY_BYTES // batch_bytes_per_run(network, runs))
    trajectories: list[SimulatedTrajectory | None] = []
    failures: list[Failure] = []
    for first in range(0, len(runs), chunk):
        part = slice(first, first + chunk)
        batch = BatchRun(network, runs[part], G0[part], B[part], protocol, limits, n_half, first)
        G = np.array(G0[part], dtype=float)
        times, samples, active = [0.0], [G.copy()], [0]
        for h in range(n_halves):
            G, ts_, ss = batch.half(G, h, stride, h * n_half * protocol.t_h)
            times += ts_
            samples += ss
            active += [h % len(batch.kinds)] * len(ts_)
        t_end = n_halves * n_half * protocol.t_h
        if (
            stride
            and n_halves
            and not np.isclose(times[-1], t_end, rtol=0, atol=1e-3 * protocol.t_h)
        ):
            times.append(t_end)
            samples.append(G.copy())
            active.append((n_halves - 1) % len(batch.kinds))
        trajectories += batch_trajectories(
            batch, np.array(times), np.stack(samples), np.array(active), tau
        )
        failures += batch.failures
    return tuple(trajectories), tuple(failures)


def _one_by_one(
    network: Network,
    runs: tuple[tuple[Task, ...], ...],
    G0: np.ndarray,
    B: np.ndarray,
    protocol: TrainingProtocol,
    limits: tuple[np.ndarray, np.ndarray] | None,
    tau: float,
    n_half: int,
    n_halves: int,
    stride: int,
) -> tuple[tuple[SimulatedTrajectory | None, ...], tuple[Failure, ...]]:
    """The runs of a large network one at a time with `simulate`'s engine (sparse for a
    `LinearDevice`, the general engine, sparse LU, otherwise): a failed solve stops that run."""
    engine = "sparse" if isinstance(network.device, LinearDevice) else "general"
    trajectories: list[SimulatedTrajectory | None] = []
    failures: list[Failure] = []
    for r, tasks in enumerate(runs):
        run = Runner(network, tasks, tau=tau, n_half=n_half, B=B[r], Bfun=None,
                     protocol=protocol, limits=limits, engine=engine, noise=None)  # fmt: skip
        try:
            _, times, samples, active = run.run(G0[r], n_halves, stride)
        except (ConvergenceError, SingularSystemError) as exc:
            trajectories.append(None)
            failures.append(
                Failure(what="simulation", why=str(exc), where=f"run {r}", kind=type(exc).__name__)
            )
            continue
        trajectories.append(run.trajectory(times, samples, active, "discrete"))
    return tuple(trajectories), tuple(failures)
