"""Benchmark: periodic_orbit sweeps vs the naive per-tau loop (scipy expm + solve per period).

Run: ``python tests/benchmarks/bench_cycles.py [--repeats 7] [--quick]``. BLAS is pinned to one
thread before numpy is imported. Prints, for n = 2, 32 and 256 in one run: the engine's median
time (and the spread over repeats), the naive loop's median, their ratio, the engine's achieved
GFLOP/s counting the flops it actually performs, and this machine's plain-matmul GFLOP/s at the
same n (and at n = 1024, the BLAS peak); then the accuracy of the engine and of the naive formula
against 50-digit mpmath on fixed hard cases, next to the attainable accuracy ``eps * kappa``
(``Orbit.condition``).

Flop count of the engine per period, ``m`` gates (no common nullspace: ``m = n``):
``m^2 (m + 1)`` for ``S = diag(e) + V V^T`` (SYRK, or the lower-triangle GEMM of the batched
path), ``m^3 / 3`` for the Cholesky factorization, and ``~14 m^2`` for triangular solves and
matrix-vector products. The once-per-call ``eigvalsh`` and the exponentials are timed but not
counted, so the GFLOP/s printed are a lower bound. n = 2 uses explicit 2 x 2 algebra (no BLAS):
no GFLOP/s is quoted for it.
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

from clln_theory.testing import hard_pair, naive_orbit_G0  # noqa: E402
from clln_theory.theory.linear import LinearTask  # noqa: E402
from clln_theory.theory.orbits import periodic_orbit  # noqa: E402

EPS = np.finfo(float).eps


def _times(fn, repeats: int) -> list[float]:
    fn()  # warm-up (imports, caches)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _random_pair(n: int, seed: int) -> tuple[LinearTask, LinearTask, np.ndarray]:
    rng = np.random.default_rng(seed)

    def task() -> LinearTask:
        U, _ = np.linalg.qr(rng.standard_normal((n, n)))
        lam = 10.0 ** rng.uniform(-2, 4, n)
        M = (U * lam) @ U.T
        return LinearTask(0.5 * (M + M.T), rng.uniform(1, 5, n))

    return task(), task(), rng.uniform(-1, 1, n)


def matmul_gflops(n: int, repeats: int) -> float:
    """Plain ``X @ Y`` (n x n, float64, one thread): ``2 n^3`` flops per product."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    reps = max(1, int(2e8 // (2 * n**3)))

    def run() -> None:
        for _ in range(reps):
            X @ Y

    return 2 * n**3 * reps / statistics.median(_times(run, repeats)) / 1e9


def engine_flops(n: int, T: int) -> float:
    """Flops the engine performs per sweep (see the module docstring); NaN for n = 2."""
    if n == 2:
        return float("nan")
    return T * (n * n * (n + 1) + n**3 / 3 + 14 * n * n)


def bench(n: int, T: int, repeats: int, naive_T: int) -> dict[str, float]:
    a, b, B = _random_pair(n, seed=n)
    taus = np.logspace(-8, 3, T)
    fast = _times(lambda: periodic_orbit(a, b, B=B, tau=taus), repeats)
    # the naive loop is timed on a subset of taus (same log spacing) and scaled: it is linear in T
    taus_naive = np.logspace(-8, 3, naive_T)
    naive = _times(lambda: naive_orbit_G0(a, b, B=B, tau=taus_naive), max(3, repeats // 2))
    t_fast = statistics.median(fast)
    t_naive = statistics.median(naive) * T / naive_T
    return {
        "t_fast": t_fast,
        "t_min": min(fast),
        "t_max": max(fast),
        "t_naive": t_naive,
        "ratio": t_naive / t_fast,
        "gflops": engine_flops(n, T) / t_fast / 1e9,
    }


def _hard_cases() -> dict[str, tuple[LinearTask, LinearTask, np.ndarray]]:
    """The hard case (:func:`clln_theory.testing.hard_pair`) as given (axis-aligned) and
    rotated by 0.3 rad (a generic orientation)."""
    return {"hard (axis-aligned)": hard_pair(), "hard (rotated)": hard_pair(0.3)}


def accuracy_hard_cases() -> None:
    """G0 of the engine and of the naive formula vs 50-digit mpmath, with eps * kappa."""
    taus = np.logspace(-8, 3, 12)
    for name, (a, b, B) in _hard_cases().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = periodic_orbit(a, b, B=B, tau=taus, dps=50).G0
            orbit = periodic_orbit(a, b, B=B, tau=taus)
            slow = naive_orbit_G0(a, b, B=B, tau=taus)
        scale = np.linalg.norm(ref, axis=1)
        e_fast = np.linalg.norm(orbit.G0 - ref, axis=1) / scale
        e_naive = np.linalg.norm(slow - ref, axis=1) / scale
        print(f"\naccuracy vs 50-digit mpmath, {name}: eigenvalues 1e-2..1e4 1/s")
        print(
            f"{'tau [s]':>10} {'engine':>10} {'eps*kappa':>10} {'naive':>10} "
            f"{'digits lost by naive':>22}"
        )
        for t, ef, ek, en in zip(taus, e_fast, EPS * orbit.condition, e_naive):
            lost = np.log10(max(en, EPS) / max(ef, EPS))
            print(f"{t:10.1e} {ef:10.1e} {ek:10.1e} {en:10.1e} {lost:22.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = p.parse_args()
    cases = [(2, 10_000, 1_000), (32, 1_000, 200), (256, 100, 10)]
    if args.quick:
        cases = [(2, 1_000, 100), (8, 100, 20)]
    print(
        f"machine: {os.cpu_count()} cores (shared), BLAS pinned to 1 thread; medians of "
        f"{args.repeats} repeats (engine spread min..max)"
    )
    print(
        f"{'n':>4} {'n_tau':>7} {'engine [ms]':>12} {'spread [ms]':>16} {'naive [ms]':>11} "
        f"{'ratio':>7} {'GFLOP/s':>8} {'matmul GFLOP/s':>15} {'% of matmul':>12}"
    )
    for n, T, nT in cases:
        r = bench(n, T, args.repeats, nT)
        mm = matmul_gflops(n, args.repeats) if n > 2 else float("nan")
        spread = f"{1e3 * r['t_min']:.2f}..{1e3 * r['t_max']:.2f}"
        print(
            f"{n:4d} {T:7d} {1e3 * r['t_fast']:12.3f} {spread:>16} {1e3 * r['t_naive']:11.1f} "
            f"{r['ratio']:7.1f} {r['gflops']:8.2f} {mm:15.2f} {100 * r['gflops'] / mm:11.0f}%"
        )
    if not args.quick:
        print(f"BLAS peak (matmul, n = 1024): {matmul_gflops(1024, 3):.2f} GFLOP/s")
    accuracy_hard_cases()


if __name__ == "__main__":
    main()
