"""Network.from_edges is linear in its size: median build time of a chain of n edges against
``Network(...)`` built directly from the same Edge objects (the obvious way), BLAS pinned."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import time

from clln_theory.model.network import Edge, Network


def median_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == "__main__":
    for n in (5_000, 20_000, 50_000):
        items = [(f"n{i}", f"n{i + 1}", 1e-3 if i % 2 else "learning") for i in range(n)]
        t_items = median_time(lambda items=items: Network.from_edges(items))
        edges = tuple(
            Edge(f"n{i}-n{i + 1}", f"n{i}", f"n{i + 1}", False, K=1e-3)
            if i % 2
            else Edge(f"n{i}-n{i + 1}", f"n{i}", f"n{i + 1}", True, S=8.5e-4, V_T=0.7)
            for i in range(n)
        )
        nodes = tuple(f"n{i}" for i in range(n + 1))
        t_direct = median_time(lambda nodes=nodes, edges=edges: Network(nodes, edges))
        print(
            f"{n:>6} edges: from_edges {t_items * 1e3:8.1f} ms, Network(...) "
            f"{t_direct * 1e3:8.1f} ms, ratio {t_items / t_direct:.2f}, "
            f"{t_items / n * 1e6:.1f} us/edge"
        )
