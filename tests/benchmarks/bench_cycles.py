"""Benchmark: periodic_orbit sweeps vs the naive per-tau loop (scipy expm + solve per period).

Run: ``python tests/benchmarks/bench_cycles.py [--repeats 5] [--quick]``. BLAS is pinned to one
thread before numpy is imported. Prints medians over repeats, the speed ratios, the machine's
measured matmul throughput and the achieved GFLOP/s of the batched sweep, and the accuracy of
both methods against 50-digit mpmath on a fixed hard case.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from clln_theory.cycles import periodic_orbit  # noqa: E402
from clln_theory.linear import LinearTask  # noqa: E402
from clln_theory.testing import naive_orbit_G0  # noqa: E402


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _random_pair(n: int, seed: int) -> tuple[LinearTask, LinearTask, np.ndarray]:
    rng = np.random.default_rng(seed)

    def task() -> LinearTask:
        U, _ = np.linalg.qr(rng.standard_normal((n, n)))
        lam = 10.0 ** rng.uniform(-2, 4, n)
        M = (U * lam) @ U.T
        return LinearTask(0.5 * (M + M.T), rng.uniform(1, 5, n))

    return task(), task(), rng.uniform(-1, 1, n)


def _matmul_gflops(n: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    reps = max(1, int(2e8 // (2 * n**3)))

    def run() -> None:
        for _ in range(reps):
            X @ Y

    return 2 * n**3 * reps / _median_time(run, repeats) / 1e9


def bench(n: int, T: int, repeats: int, naive_T: int | None = None) -> dict[str, float]:
    a, b, B = _random_pair(n, seed=n)
    taus = np.logspace(-8, 3, T)
    t_fast = _median_time(lambda: periodic_orbit(a, b, B, taus), repeats)
    # the naive loop is timed on a subset of taus (same log spacing) and scaled: it is linear in T
    nT = T if naive_T is None else naive_T
    taus_naive = np.logspace(-8, 3, nT)
    t_naive = _median_time(lambda: naive_orbit_G0(a, b, B, taus_naive), max(1, repeats // 2))
    t_naive *= T / nT
    flops = T * (2 * n**3 + 2 * (2 / 3) * n**3)  # gemm for E_beta + two LU (solve, refinement)
    return {
        "t_fast": t_fast,
        "t_naive": t_naive,
        "ratio": t_naive / t_fast,
        "gflops": flops / t_fast / 1e9,
    }


def accuracy_hard_case() -> None:
    """Nearly parallel rank-1 tasks, eigenvalues 1e-2 and 1e4 1/s: G0 vs 50-digit mpmath."""
    from clln_theory.testing import naive_orbit_G0 as naive

    th = 1e-2
    u = np.array([1.0, 0.0])
    v = np.array([np.cos(th), np.sin(th)])
    a = LinearTask(1e4 * np.outer(u, u), [2.0, 3.0])
    b = LinearTask(1e-2 * np.outer(v, v) + 1e-2 * np.outer([0, 1.0], [0, 1.0]), [2.5, 2.0])
    B = np.array([0.3, -0.7])
    taus = np.logspace(-8, 3, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = periodic_orbit(a, b, B, taus, dps=50).G0
        fast = periodic_orbit(a, b, B, taus).G0
        slow = naive(a, b, B, taus)
    scale = np.linalg.norm(ref, axis=1)
    e_fast = np.linalg.norm(fast - ref, axis=1) / scale
    e_naive = np.linalg.norm(slow - ref, axis=1) / scale
    print("\naccuracy vs 50-digit mpmath (hard case: eigenvalues 1e-2..1e4 1/s):")
    print(f"{'tau [s]':>10} {'engine':>10} {'naive':>10} {'digits lost by naive':>22}")
    for t, ef, en in zip(taus, e_fast, e_naive):
        lost = np.log10(max(en, 1e-17) / max(ef, 1e-17))
        print(f"{t:10.1e} {ef:10.1e} {en:10.1e} {lost:22.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = p.parse_args()
    cases = [(2, 10_000, 2_000), (32, 1_000, 300), (256, 100, 10)]
    if args.quick:
        cases = [(2, 1_000, 100), (8, 100, 20)]
    print(
        f"machine: {os.cpu_count()} cores (shared), BLAS pinned to 1 thread; medians of "
        f"{args.repeats} repeats"
    )
    print(
        f"{'n':>4} {'n_tau':>7} {'engine [ms]':>12} {'naive [ms]':>12} {'ratio':>8} "
        f"{'GFLOP/s':>8} {'matmul GFLOP/s':>15}"
    )
    for n, T, nT in cases:
        r = bench(n, T, args.repeats, nT)
        mm = _matmul_gflops(n, args.repeats) if n >= 32 else float("nan")
        print(
            f"{n:4d} {T:7d} {1e3 * r['t_fast']:12.3f} {1e3 * r['t_naive']:12.1f} "
            f"{r['ratio']:8.1f} {r['gflops']:8.2f} {mm:15.2f}"
        )
    accuracy_hard_case()


if __name__ == "__main__":
    main()
