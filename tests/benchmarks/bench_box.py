"""Benchmark: the cycle inside the gate box vs an event-driven ``solve_ivp`` integration.

Run: ``python tests/benchmarks/bench_box.py [--repeats 5] [--quick]``. BLAS is pinned to one
thread before numpy is imported. Two cases, each swept in one ``periodic_orbit(..., box=)`` call:

- 2 gates, 1,000 periods from 1e-3 to 1e2 s, the box placed close around the orbit so that about
  half of the periods saturate (target: <= 2 s on one core);
- 32 gates (ranks 4 + 4, a 24-dimensional shared nullspace with bias along it: every period
  saturated, ~10 events per half period), 100 periods (target: <= 2 s).

Prints the median over repeats, the time per period, and, on a few of the periods, the time of
the independent event-driven reference (``tests/theory/box_reference.py``: DOP853 at rtol 1e-12
between ``solve_ivp`` events, fixed point by ``scipy.optimize.root``), their ratio and the
largest difference of ``G0``/``G_half``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "theory"))
from box_reference import make_case, ref_periodic_orbit  # noqa: E402

from clln_theory.theory import LinearTask, periodic_orbit  # noqa: E402


def pair2():
    """The 2-gate pair with the box close around its orbit."""
    Ma = np.array([[20.0, 10.0], [10.0, 5.0]])
    Mb = np.array([[5.0, -8.0], [-8.0, 12.8]])
    Gsa, Gsb, B = np.array([3.0, 3.5]), np.array([2.5, 3.0]), np.array([0.3, -0.2])
    return Ma, Gsa, Mb, Gsb, B, np.array([3.05, 3.295]), np.array([3.2, 3.37])


def run(name, case, taus, repeats, n_ref):
    Ma, Gsa, Mb, Gsb, B, lo, hi = case
    a, b = LinearTask(Ma, G_star=Gsa), LinearTask(Mb, G_star=Gsb)
    periodic_orbit(a, b, B=B, tau=taus[:3], box=(lo, hi))  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        orb = periodic_orbit(a, b, B=B, tau=taus, box=(lo, hi))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = statistics.median(times)
    print(
        f"{name}: {taus.size} periods {taus[0]:.0e}..{taus[-1]:.0e} s: median {med:.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}; {1e3 * med / taus.size:.2f} ms/period; "
        f"CPU median {statistics.median(cpu):.3f} s, load {os.getloadavg()[0]:.1f}), "
        f"saturated at {int(np.sum(orb.saturated))}, mean Newton steps "
        f"{np.mean(orb.newton_iterations):.2f}"
    )
    idx = np.linspace(0, taus.size - 1, n_ref).astype(int)
    t_ref, err = [], 0.0
    for i in idx:
        t0 = time.perf_counter()
        G0r, Ghr, _ = ref_periodic_orbit(
            Ma, Gsa, Mb, Gsb, B, taus[i], lo, hi, G_start=orb.G0[i] + 1e-3
        )
        t_ref.append(time.perf_counter() - t0)
        err = max(err, np.max(np.abs(G0r - orb.G0[i])), np.max(np.abs(Ghr - orb.G_half[i])))
    per_ref = statistics.median(t_ref)
    print(
        f"   reference on {idx.size} of them: median {1e3 * per_ref:.1f} ms/period, ratio "
        f"reference/engine {per_ref / (med / taus.size):.0f}x, max |engine - reference| = "
        f"{err:.2e} V"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer repeats and reference periods")
    args = ap.parse_args()
    repeats = 1 if args.quick else args.repeats
    run("2 gates", pair2(), np.logspace(-3, 2, 1000), repeats, 4 if args.quick else 20)
    Ma, Gsa, Mb, Gsb, B, lo, hi, _ = make_case(2024, 32, 4, 4, 2, "typical", 1.0)
    run(
        "32 gates (ranks 4+4, shared nullspace with bias, box ~[1, 5] V)",
        (Ma, Gsa, Mb, Gsb, B, lo, hi),
        np.logspace(-3, 2, 100),
        repeats,
        1 if args.quick else 4,
    )


if __name__ == "__main__":
    main()
