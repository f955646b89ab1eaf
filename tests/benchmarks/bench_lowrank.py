"""Benchmark: low-rank tasks (M = F F^T) - periodic_orbit at 100,000 gates and linearize(low_rank).

1. ``periodic_orbit`` of two random factor tasks, n = 100,000 gates, ranks 8 and 8, 1,000 periods
   (1e-6..1e3 s): median time, against (a) the obvious use of the factor: a per-period loop that
   solves the projected 16 x 16 pair for one period and lifts G0 and G_half to the n gates, and (b)
   the dense engine at n = 1,000 (the per-period cost of a dense n x n solve; it cannot hold
   n = 100,000: M alone would be 80 GB).
2. Agreement with the dense engine at n <= 400 (random factors, ranks 1..8, tau = 1e-6..1e3 s,
   common-null drift, G_ref and B with complement components): max relative error of G0, G_half
   and span over 40 random pairs.
3. ``linearize(..., low_rank=True)`` on the 40 x 40 grid (linear edges, three source nodes, one
   target, at a solution: the label of each point is its free output at the drawn G), median
   time against the dense ``linearize``, and ``max|M x - F (F^T x)| / max|M x|`` over 8 random x.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python tests/benchmarks/bench_lowrank.py [--quick]``
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics
import sys
import time

import numpy as np

from clln_theory.electrical.kirchhoff import free_state
from clln_theory.model.network import Network
from clln_theory.model.tasks import DataPoint, Task
from clln_theory.theory.jacobian import linearize
from clln_theory.theory.linear import LinearTask
from clln_theory.theory.orbits import periodic_orbit


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def random_pair(rng, n, ra, rb):
    Fa, Fb = rng.normal(size=(n, ra)), rng.normal(size=(n, rb))
    Ga, Gb = rng.uniform(1, 4, n), rng.uniform(1, 4, n)
    return Fa, Fb, Ga, Gb, rng.normal(size=n), rng.uniform(1, 4, n)


def orbit_bench(quick: bool) -> None:
    n, T = (20_000, 200) if quick else (100_000, 1000)
    rng = np.random.default_rng(0)
    Fa, Fb, Ga, Gb, B, Gr = random_pair(rng, n, 8, 8)
    a, b = LinearTask.from_factor(Fa, Ga), LinearTask.from_factor(Fb, Gb)
    taus = np.logspace(-6, 3, T)
    t_lr = median_time(lambda: periodic_orbit(a, b, B=B, tau=taus, G_ref=Gr), 5)
    orbit = periodic_orbit(a, b, B=B, tau=taus, G_ref=Gr)
    t_one = median_time(lambda: orbit.reduced.G0[0] @ orbit.range_basis.T, 5)
    # (a) the obvious use of the factor: per period, the projected pair and a lifted G0, G_half
    k_a, k_b = orbit.reduced.task_a, orbit.reduced.task_b
    U = orbit.range_basis
    Bk, Gk = U.T @ B, U.T @ Gr
    off, Bp = Gr - U @ Gk, B - U @ Bk
    sub = taus[:: max(1, T // 50)]

    def per_tau_loop():
        for tau in sub:
            o = periodic_orbit(k_a, k_b, B=Bk, tau=tau, G_ref=Gk)
            _ = U @ o.G0 + off, U @ o.G_half + off + 0.5 * tau * Bp

    t_loop = median_time(per_tau_loop, 3) * T / sub.size
    # (b) the dense engine at n = 1,000 (per period)
    nd = 400 if quick else 1000
    Fa2, Fb2, Ga2, Gb2, B2, Gr2 = random_pair(np.random.default_rng(1), nd, 8, 8)
    da, db = LinearTask(Fa2 @ Fa2.T, Ga2), LinearTask(Fb2 @ Fb2.T, Gb2)
    td = np.logspace(-6, 3, 10)
    t_dense = median_time(lambda: periodic_orbit(da, db, B=B2, tau=td, G_ref=Gr2), 3) / td.size
    t_dense_setup = median_time(lambda: LinearTask(Fa2 @ Fa2.T, Ga2), 3)
    print(
        f"periodic_orbit, n = {n}, ranks 8 + 8, {T} periods: median {t_lr * 1e3:.1f} ms "
        f"({t_lr / T * 1e6:.1f} us per period); one G0 lifted to n gates: {t_one * 1e3:.2f} ms"
    )
    print(
        f"  obvious per-period loop (projected 16x16 + lift G0, G_half): "
        f"{t_loop * 1e3:.0f} ms for {T} periods -> ratio {t_loop / t_lr:.1f}x"
    )
    print(
        f"  dense engine at n = {nd}: {t_dense * 1e3:.1f} ms per period (+ {t_dense_setup:.2f} s"
        f" eigh per task) -> {T} periods {t_dense * T:.1f} s, ratio {t_dense * T / t_lr:.0f}x "
        f"(at {n / nd:.0f}x fewer gates)"
    )


def agreement(quick: bool) -> None:
    rng = np.random.default_rng(2)
    worst = {"G0": 0.0, "G_half": 0.0, "span": 0.0}
    taus = np.logspace(-6, 3, 19)
    cases = 10 if quick else 40
    for _ in range(cases):
        n = int(rng.integers(20, 401))
        ra, rb = (int(x) for x in rng.integers(1, 9, 2))
        Fa, Fb, Ga, Gb, B, Gr = random_pair(rng, n, ra, rb)
        lo = periodic_orbit(
            LinearTask.from_factor(Fa, Ga), LinearTask.from_factor(Fb, Gb), B=B, tau=taus, G_ref=Gr
        )
        de = periodic_orbit(
            LinearTask(Fa @ Fa.T, Ga), LinearTask(Fb @ Fb.T, Gb), B=B, tau=taus, G_ref=Gr
        )
        for f in ("G0", "G_half"):
            x, y = getattr(lo, f), getattr(de, f)
            err = np.linalg.norm(x - y, axis=-1) / np.linalg.norm(y, axis=-1)
            worst[f] = max(worst[f], float(err.max()))
        worst["span"] = max(worst["span"], float(np.max(np.abs(lo.span / de.span - 1))))
    print(
        f"agreement with the dense engine, {cases} pairs, n = 20..400, ranks 1..8, "
        f"tau = 1e-6..1e3 s: max relative error "
        + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
    )


def grid_task(L: int, seed: int = 0):
    """L x L grid, linear learning edges; sources at three corners-ish, target at the centre."""
    name = lambda i, j: f"n{i}_{j}"  # noqa: E731
    edges = [(name(i, j), name(i, j + 1)) for i in range(L) for j in range(L - 1)]
    edges += [(name(i, j), name(i + 1, j)) for i in range(L - 1) for j in range(L)]
    net = Network.from_edges(edges)
    rng = np.random.default_rng(seed)
    src = [name(0, 0), name(0, L - 1), name(L - 1, 0)]
    pts = [DataPoint(dict(zip(src, rng.uniform(0, 0.5, 3))), 0.2) for _ in range(3)]
    G = rng.uniform(2.0, 4.0, net.n_gates)
    target = name(L // 2, L // 2)
    O = free_state(net, G, Task(pts, target)).O
    solved = Task([DataPoint(dict(p.inputs), float(o)) for p, o in zip(pts, O)], target)
    return net, solved, G


def linearize_bench(quick: bool) -> None:
    L = 20 if quick else 40
    net, task, G = grid_task(L)
    kw = dict(gamma=1.6e6, r=2.0)
    t_lr = median_time(lambda: linearize(net, task, G, low_rank=True, **kw), 7)
    lr = linearize(net, task, G, low_rank=True, **kw)
    t0 = time.perf_counter()
    dense = linearize(net, task, G, **kw)
    t_dense = time.perf_counter() - t0
    X = np.random.default_rng(3).normal(size=(net.n_gates, 8))
    MX = dense.M @ X
    FX = lr.factor @ (lr.factor.T @ X)
    err = float(np.max(np.abs(MX - FX)) / np.max(np.abs(MX)))
    print(
        f"linearize on the {L}x{L} grid ({net.n_gates} edges, {task.n_points} points): "
        f"low_rank median {t_lr * 1e3:.1f} ms, dense {t_dense:.2f} s (one run), ratio "
        f"{t_dense / t_lr:.0f}x; rank {lr.rank} vs {dense.rank}; max|Mx - F F^T x|/max|Mx| = "
        f"{err:.1e}; eigenvalues rel. diff "
        f"{np.max(np.abs(lr.range_eigvals / dense.range_eigvals - 1)):.1e}"
    )


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    orbit_bench(quick)
    agreement(quick)
    linearize_bench(quick)
