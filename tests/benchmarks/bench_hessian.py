"""Benchmark: M by the adjoint formula vs central finite differences of the force.

A random connected network with 2,000 learning edges (tree plus extra edges over 700 nodes),
10 data points imposing 5 input nodes, one output. Times ``force_jacobian`` (i) at a solution
(labels set to the free outputs: Gauss-Newton term only, exact there) and (ii) off a solution
(exact curvature term included), and ``force_jacobian_fd`` (2 n_gates force evaluations).
Prints medians and the speed ratio, and the symbolic 2+1 Hessian time.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python tests/benchmarks/bench_hessian.py [--quick]``
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics
import sys
import time

import numpy as np

from clln_theory.electrical.kirchhoff import free_state
from clln_theory.electrical.symbolic import symbolic_contrastive_hessian
from clln_theory.model.network import Network, star_network
from clln_theory.model.tasks import DataPoint, Task
from clln_theory.theory.jacobian import force_jacobian, force_jacobian_fd


def random_network(n_nodes: int, n_edges: int, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    edges = {(int(rng.integers(0, i)), i) for i in range(1, n_nodes)}
    while len(edges) < n_edges:
        a, b = sorted(int(x) for x in rng.choice(n_nodes, 2, replace=False))
        edges.add((a, b))
    return Network.from_edges(
        [(f"n{a}", f"n{b}") for a, b in sorted(edges)], nodes=[f"n{i}" for i in range(n_nodes)]
    )


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(quick: bool = False) -> dict:
    n_nodes, n_edges = (200, 500) if quick else (700, 2000)
    net = random_network(n_nodes, n_edges)
    rng = np.random.default_rng(1)
    inputs = [f"n{i}" for i in range(5)]
    pts = [DataPoint({k: rng.uniform(0, 0.5) for k in inputs}, 0.2) for _ in range(10)]
    task = Task(pts, f"n{n_nodes - 1}")
    G = rng.uniform(2.0, 4.0, net.n_gates)
    O = free_state(net, G, task).O
    solved = Task([DataPoint(dict(p.inputs), float(o)) for p, o in zip(pts, O)], task.output)

    t_sol = median_time(lambda: force_jacobian(net, G, solved), 7)
    t_off = median_time(lambda: force_jacobian(net, G, task), 5)
    t_fd = median_time(lambda: force_jacobian_fd(net, G, task), 1)
    J = force_jacobian(net, G, task).J
    J_fd = force_jacobian_fd(net, G, task)
    err = float(np.max(np.abs(J - J_fd)) / np.max(np.abs(J_fd)))

    star = star_network()
    alpha = Task([DataPoint({"High": 0.4351, "Low": 0.0181, "Input": 0.4351}, 0.31)], "Output")
    t_sym = median_time(lambda: symbolic_contrastive_hessian(star, [3.0, 3.5], alpha), 5)

    print(f"network: {net.n_nodes} nodes, {net.n_gates} learning edges, {task.n_points} points")
    print(f"adjoint M at a solution (Gauss-Newton, exact): median {t_sol * 1e3:9.1f} ms")
    print(f"adjoint M off a solution (with curvature):     median {t_off * 1e3:9.1f} ms")
    print(f"finite differences of the force (2n solves):   median {t_fd * 1e3:9.1f} ms")
    print(f"speed ratio FD / adjoint: {t_fd / t_sol:8.0f}x at a solution, {t_fd / t_off:6.0f}x off")
    print(f"max|J_adjoint - J_fd| / max|J_fd| = {err:.2e}")
    print(f"symbolic Hessian of the 2+1 network: median {t_sym * 1e3:.1f} ms")
    return {"t_sol": t_sol, "t_off": t_off, "t_fd": t_fd, "err": err, "t_sym": t_sym}


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
