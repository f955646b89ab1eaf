"""Training at scale: `simulate` (sparse engine) against two sparse LU solves per step.

The grid training task: an L x L grid of linear learning edges (2 L (L - 1) edges), one source set
of three nodes (two corners and the middle of an edge of the grid), one target node in the
centre, 1,000 Coupled Learning steps (standard clamping, eta = 1, t_h = 100 us, the default
learning rate, no bias). "The obvious way" is the field's usual code in this process: assemble
the Laplacian, `scipy.sparse.linalg.splu` of the free and of the clamped interior block at every
step (scipy's default COLAMD ordering), exactly the same update ``dG = t_h A0 (dV_F^2 - dV_C^2)``.

Prints, per grid: median CPU time (``time.process_time``: the 2-core machine is shared, so wall
time measures the neighbours) of 1,000 steps of each (BLAS pinned to one thread), the
ratio, the largest gate difference after 1,000 steps, and the cost exponent of the sparse engine
in the number of edges from the smallest to the largest grid.

Run: ``OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_train.py [--quick]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from clln_theory.electrical.kirchhoff import free_state
from clln_theory.model.network import Network
from clln_theory.model.tasks import DataPoint, Task
from clln_theory.simulator import TrainingProtocol, simulate

N_STEPS = 1000
#: The gates of the two routes after 1,000 steps must agree to this, V.
AGREEMENT = 1e-10


def grid_task(L: int, seed: int = 0) -> tuple[Network, Task, np.ndarray]:
    """The L x L grid, its three-source one-target task and initial gates."""
    edges = [(f"{i},{j}", f"{i},{j + 1}") for i in range(L) for j in range(L - 1)]
    edges += [(f"{i},{j}", f"{i + 1},{j}") for i in range(L - 1) for j in range(L)]
    net = Network.from_edges(edges)
    rng = np.random.default_rng(seed)
    G0 = rng.uniform(2.5, 3.5, net.n_gates)
    inputs = {"0,0": 0.0, f"{L - 1},{L - 1}": 1.0, f"0,{L // 2}": 0.6}
    target = f"{L // 2},{L // 2}"
    probe = Task([DataPoint(inputs, 0.0)], target)
    label = float(free_state(net, G0, probe).O[0]) + 0.02  # 20 mV to learn
    return net, Task([DataPoint(inputs, label)], target, name="grid"), G0


def obvious(net: Network, task: Task, G0: np.ndarray, prot: TrainingProtocol) -> np.ndarray:
    """Two sparse LU factorizations per step (free, clamped), the same update."""
    A = net.incidence.tocsr()
    idx_in = np.array([net.node(n) for n in task.input_nodes])
    t = net.node(task.output_nodes[0])
    n = net.n_nodes
    I_f = np.setdiff1d(np.arange(n), idx_in)
    I_c = np.setdiff1d(I_f, [t])
    VB = np.asarray(task.inputs[0])
    label = float(task.labels[0])
    ge = net.gate_edges
    G = np.array(G0, dtype=float)
    for _ in range(N_STEPS):
        K = net.conductances(G)
        Lm = (A.T @ sp.diags(K) @ A).tocsr()
        V = np.empty(n)
        V[idx_in] = VB
        V[I_f] = spla.splu(Lm[I_f][:, I_f].tocsc()).solve(-(Lm[I_f][:, idx_in] @ VB))
        O = V[t]
        VC = V.copy()
        VC[t] = O + prot.eta * (label - O)  # (1)
        imp = np.r_[idx_in, t]
        VC[I_c] = spla.splu(Lm[I_c][:, I_c].tocsc()).solve(-(Lm[I_c][:, imp] @ VC[imp]))
        dF, dC = (A @ V)[ge], (A @ VC)[ge]
        G = G + prot.t_h * prot.A0 * (dF * dF - dC * dC)  # (7), B = 0
    return G


def ours(net: Network, task: Task, G0: np.ndarray, prot: TrainingProtocol) -> np.ndarray:
    """`simulate` with the sparse engine: 1,000 steps (one period of 2 x 500)."""
    tr = simulate(net, task, G0, tau=N_STEPS * prot.t_h, n_periods=1, B=np.zeros(net.n_gates),
                  protocol=prot, gate_limits=None, engine="sparse")  # fmt: skip
    return tr.G[-1]


def timed(f, *args, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.process_time()
        out = f(*args)
        times.append(time.process_time() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20x20 and 40x40 only, one repeat")
    args = ap.parse_args()
    sizes = (20, 40) if args.quick else (20, 40, 60, 80)
    prot = TrainingProtocol()
    print(f"{N_STEPS} steps, standard clamping, t_h = {prot.t_h} s, A0 = {prot.A0:.1f} /(V s)")
    print(f"{'grid':>6} {'edges':>6} {'two LU/step cpu s':>17} {'sparse cpu s':>12} {'ratio':>6} "
          f"{'max|dG| V':>10}")  # fmt: skip
    rows = []
    for L in sizes:
        net, task, G0 = grid_task(L)
        rep = 1 if args.quick else (5 if L <= 40 else 3)
        t_ref, G_ref = timed(obvious, net, task, G0, prot, repeat=rep)
        t_new, G_new = timed(ours, net, task, G0, prot, repeat=rep)
        diff = float(np.max(np.abs(G_new - G_ref)))
        moved = float(np.max(np.abs(G_ref - G0)))
        rows.append((L, net.n_edges, t_ref, t_new, diff))
        print(f"{L:>3}x{L:<2} {net.n_edges:>6} {t_ref:>17.3f} {t_new:>12.3f} "
              f"{t_ref / t_new:>6.1f} {diff:>10.2e}  (gates moved <= {moved:.2e} V)")  # fmt: skip
        assert diff < AGREEMENT, f"gates differ by {diff:.3g} V at {L}x{L}"
    (L0, E0, _, t0, _), (L1, E1, _, t1, _) = rows[0], rows[-1]
    expo = np.log(t1 / t0) / np.log(E1 / E0)
    print(f"sparse engine cost ~ edges^{expo:.2f} from {L0}x{L0} to {L1}x{L1}")


if __name__ == "__main__":
    main()
