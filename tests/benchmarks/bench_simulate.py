"""Benchmark: the discrete simulator's fast engine against plain per-step Python loops.

Run: ``python tests/benchmarks/bench_simulate.py [--repeats 5] [--quick]``. BLAS is pinned to one
thread before numpy is imported. Everything runs in one process. Prints medians over repeats:

1. steps per second of the paper's 2+1 network with three-regime MOSFETs: the fast engine,
   the general engine (a per-step loop with the compiled, warm-started Newton solver of
   ``circuit.py``) and the plainest loop (a fresh ``solve_circuit`` for every free and clamped
   state), and the ratios;
2. the limit cycle at τ = 1 s (target <= 2 s);
3. the whole 19-τ sweep of experiments 1 and 2 (target <= 60 s each);
4. period-map evaluations of shooting vs plain iteration where convergence is slow.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from clln_theory.data import default_data_dir  # noqa: E402
from clln_theory.electrical.circuit import solve_circuit  # noqa: E402
from clln_theory.electrical.rule import learning_rate_A0  # noqa: E402
from clln_theory.experiments.compare import compare_with_measurement  # noqa: E402
from clln_theory.experiments.paper import EXPERIMENTS  # noqa: E402
from clln_theory.inference import calibrate_to_line  # noqa: E402
from clln_theory.model.devices import ThreeRegimeMOSFET  # noqa: E402
from clln_theory.model.network import star_network  # noqa: E402
from clln_theory.model.tasks import DataPoint, Task  # noqa: E402
from clln_theory.simulator import TrainingProtocol, limit_cycle, simulate  # noqa: E402

DATA = default_data_dir()
DG2 = (DATA or Path("<no data folder>")) / "small network" / "MSE-DG2-Data"
SUP = {"High": 0.4351, "Low": 0.0181}


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _task(v1: float, label: float, name: str) -> Task:
    return Task([DataPoint({**SUP, "Input": v1}, label)], "Output", name=name)


def _plain_loop(net, tasks, G0, n_half, n_halves, B, prot) -> np.ndarray:
    """The obvious implementation: two fresh Newton solves per step, numpy arithmetic."""
    G = np.array(G0, dtype=float)
    ge = net.gate_edges
    for h in range(n_halves):
        task = tasks[h % 2]
        imp_f = list(task.input_nodes)
        imp_c = [*imp_f, task.output]
        out = net.node(task.output)
        for _ in range(n_half):
            VF = solve_circuit(net, G, imp_f, task.inputs[0]).V
            O = VF[out]
            OC = O + prot.eta * (task.labels[0] - O)
            VC = solve_circuit(net, G, imp_c, np.r_[task.inputs[0], OC]).V
            dF = (VF[net.tail] - VF[net.head])[ge]
            dC = (VC[net.tail] - VC[net.head])[ge]
            G = np.clip(G + prot.t_h * (prot.A0 * (dF**2 - dC**2) + B), 1.0, 5.0)
    return G


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    args = ap.parse_args()
    rep = 2 if args.quick else args.repeats
    net = star_network(device=ThreeRegimeMOSFET())
    e1 = EXPERIMENTS["exp1"]
    prot = TrainingProtocol(A0=learning_rate_A0(e1.R0, e1.C0, r=e1.r))
    B = np.array(e1.bias)
    a, b = _task(0.4351, 0.31, "alpha"), _task(0.0181, 0.14, "beta")
    tau, n_per = (0.004, 2) if args.quick else (0.02, 5)
    n_steps = round(tau / prot.t_h) * n_per
    G0 = [1.5, 1.2]  # near the lower limit: all three regimes are visited

    print(f"1. per-step speed, 2+1 network, three-regime MOSFETs, {n_steps} steps, median of {rep}")
    kw = dict(tau=tau, n_periods=n_per, B=B, protocol=prot, record="half")
    t_fast = _median_time(lambda: simulate(net, [a, b], G0, engine="fast", **kw), rep)
    t_gen = _median_time(lambda: simulate(net, [a, b], G0, engine="general", **kw), rep)
    n_half = round(tau / (2 * prot.t_h))
    t_plain = _median_time(lambda: _plain_loop(net, (a, b), G0, n_half, 2 * n_per, B, prot), rep)
    g_fast = simulate(net, [a, b], G0, engine="fast", **kw).G_final
    g_plain = _plain_loop(net, (a, b), G0, n_half, 2 * n_per, B, prot)
    for name, t in (("fast engine", t_fast), ("general engine", t_gen), ("plain loop", t_plain)):
        print(f"   {name:<15} {t:8.4f} s   {t / n_steps * 1e6:8.2f} us/step")
    print(f"   ratio general/fast = {t_gen / t_fast:.1f}x, plain/fast = {t_plain / t_fast:.1f}x")
    print(f"   max |G_fast - G_plain| after the run = {np.max(np.abs(g_fast - g_plain)):.2e} V")

    print("2. limit cycle at tau = 1 s (target <= 2 s)")
    lc = limit_cycle(net, a, b, tau=1.0, B=B, protocol=prot)
    t_lc = _median_time(lambda: limit_cycle(net, a, b, tau=1.0, B=B, protocol=prot), rep)
    print(f"   median {t_lc:.3f} s, {lc.n_periods} period maps, D^2 = {lc.span**2:.4f} V^2")

    print("3. whole 19-tau sweeps (target <= 60 s each)")
    for exp in ("exp1", "exp2"):
        path = DG2 / f"measured-DG2-{exp}.csv"
        if not path.exists():
            print(f"   {exp}: skipped, {path} not found")
            continue
        m = np.loadtxt(path, delimiter=",")
        e = EXPERIMENTS[exp]
        (va, La), (vb, Lb) = e.tasks["alpha"][0], e.tasks["beta"][0]
        ta = calibrate_to_line(net, _task(va, La, "alpha"), e.lines["alpha"][0], centre=e.reference)
        tb = calibrate_to_line(net, _task(vb, Lb, "beta"), e.lines["beta"][0], centre=e.reference)
        p = TrainingProtocol(A0=learning_rate_A0(e.R0, e.C0, r=e.r))

        def sweep(ta=ta, tb=tb, m=m, e=e, p=p):
            return compare_with_measurement(
                net,
                ta,
                tb,
                tau=m[:, 0],
                D2_measured=m[:, 1],
                B=e.bias,
                protocol=p,
                G0=e.reference,
            )

        t_sw = _median_time(sweep, max(1, rep // 2))
        print(f"   {exp}: {m.shape[0]} tau values, median {t_sw:.2f} s")

    print("4. shooting vs plain iteration (slow convergence: tau = 1.2 ms, tol 1e-10 V)")
    for tau_s in (0.0012, 0.002):
        kw = dict(tau=tau_s, B=B, protocol=prot, G0=[3.0, 3.5], tol=1e-10)
        s = limit_cycle(net, a, b, route="shooting", **kw)
        it = limit_cycle(net, a, b, route="iterate", **kw)
        print(
            f"   tau = {tau_s:g} s: leading multiplier {abs(s.multipliers[0]):.4f}; shooting "
            f"{s.n_periods} periods, iteration {it.n_periods} periods "
            f"({it.n_periods / s.n_periods:.0f}x fewer); |dG0| = "
            f"{np.max(np.abs(s.G0 - it.G0)):.1e} V"
        )


if __name__ == "__main__":
    main()
