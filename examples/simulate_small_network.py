"""Nonlinear simulation of the paper's 2+1 network next to the measured D² and the linear theory.

Run: ``python examples/simulate_small_network.py [--quick]``.

1. Experiments 1 and 2 (Fig. 2F,G): three-regime MOSFET edges, gate box [1, 5] V, Appendix E
   bias (order (G₋, G₊)), A = 2 A₀ (App. C). Tasks are calibrated so that the simulated solution
   lines equal the measured ones (`calibrate_to_line`: effective V₁ and label) — the reported
   mode; the nominal tasks (App. B) are shown too. Prints simulated and measured D² per τ and
   their ratio, including the high-τ plateau where the gates sit on their limits.
2. Linear devices, small bias: the simulated limit cycle against the closed orbit (D11).

Reads the paper's published data shipped with the package (or $CLLN_DATA_DIR, or
``--data-dir DIR``: another copy of the same layout).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from clln_theory.data import require_data_dir
from clln_theory.electrical.rule import learning_rate_A0
from clln_theory.experiments.compare import compare_theory_simulation, compare_with_measurement
from clln_theory.experiments.paper import EXPERIMENTS, V_MINUS, V_PLUS
from clln_theory.inference import calibrate_to_line
from clln_theory.model.devices import ThreeRegimeMOSFET
from clln_theory.model.network import star_network
from clln_theory.model.tasks import DataPoint, Task
from clln_theory.simulator import TrainingProtocol
from clln_theory.theory.jacobian import joint_solution

DG2 = Path("small network") / "MSE-DG2-Data"  # under the data folder (--data-dir)


def task(v1: float, label: float, name: str) -> Task:
    return Task([DataPoint({"High": V_PLUS, "Low": V_MINUS, "Input": v1}, label)], "Output",
                name=name)  # fmt: skip


def measured(quick: bool) -> None:
    net = star_network(device=ThreeRegimeMOSFET())
    for exp in ("exp1", "exp2"):
        path = DG2 / f"measured-DG2-{exp}.csv"
        if not path.exists():
            print(f"{exp}: measured data not found at {path}; skipped.")
            continue
        m = np.loadtxt(path, delimiter=",")
        if quick:
            m = m[::6]
        e = EXPERIMENTS[exp]
        (va, La), (vb, Lb) = e.tasks["alpha"][0], e.tasks["beta"][0]
        nominal = (task(va, La, "alpha"), task(vb, Lb, "beta"))
        calibrated = (
            calibrate_to_line(net, nominal[0], e.lines["alpha"][0], centre=e.reference),
            calibrate_to_line(net, nominal[1], e.lines["beta"][0], centre=e.reference),
        )
        prot = TrainingProtocol(A0=learning_rate_A0(e.R0, e.C0, r=e.r))
        for mode, (ta, tb) in (("calibrated", calibrated), ("nominal", nominal)):
            res = compare_with_measurement(
                net,
                ta,
                tb,
                tau=m[:, 0],
                D2_measured=m[:, 1],
                B=e.bias,
                protocol=prot,
                G0=e.reference,
            )
            print(f"\n{exp} ({mode} tasks: alpha V1 = {ta.points[0].inputs['Input']:.4f} V, "
                  f"L = {ta.points[0].label:.4f} V; beta V1 = {tb.points[0].inputs['Input']:.4f}"
                  f" V, L = {tb.points[0].label:.4f} V), B = {e.bias} V/s, "
                  f"sweep {res.seconds:.2f} s")  # fmt: skip
            print(res.table())
            print(f"ratio range {res.D2_ratio.min():.2f} .. {res.D2_ratio.max():.2f}")


def theory(quick: bool) -> None:
    net = star_network()  # LinearDevice: the theory's edges
    a, b = task(V_PLUS, 0.31, "alpha"), task(V_MINUS, 0.14, "beta")
    Gj = joint_solution(net, a, b, (3.0, 3.5))
    A0 = learning_rate_A0(100.0, 22e-6, r=2.0)
    B = 1e-2 * np.array(EXPERIMENTS["exp1"].bias)
    taus = [0.002, 0.02, 0.2] if quick else [0.0012, 0.005, 0.02, 0.08, 0.2, 0.8]
    prot = TrainingProtocol(A0=A0, t_h=2.5e-5)
    c = compare_theory_simulation(net, a, b, tau=taus, B=B, protocol=prot,
                                  G_ref=Gj, tol=1e-14)  # fmt: skip
    print(f"\nlinear devices, B = {B} V/s, t_h = 25 us, linearized at G* = {np.round(Gj, 4)}")
    print("tau [s]   D theory [V]  D sim [V]     D sim/theory  |dG|/D theory")
    for i, t in enumerate(c.tau):
        print(f"{t:<8.4g}  {c.span_theory[i]:<12.5g}  {c.span_sim[i]:<12.5g}  "
              f"{c.span_ratio[i]:<12.6f}  "
              f"{c.G0_difference[i] / c.span_theory[i]:.2e}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="every 6th tau only")
    ap.add_argument("--data-dir", type=Path, default=None, help="copy of the published data "
                    "layout (default: $CLLN_DATA_DIR, else the packaged copy)")  # fmt: skip
    args = ap.parse_args()
    global DG2
    DG2 = require_data_dir(args.data_dir) / DG2
    measured(args.quick)
    theory(args.quick)


if __name__ == "__main__":
    main()
