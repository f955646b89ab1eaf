"""Bias or curvature? Issue 19's four fits of the same bow-ties, from the bias scoreboard.

Run: ``python examples/bias_or_curvature.py [exp1 exp2 ...] [--quick]``.

Every model of `clln_theory.experiments.compare_bias` is fitted to the same drift tests and
bow-ties of an experiment and scored against the measured D² and Ē at all 19 periods (D² and Ē
are never fitted). This script picks the four cases of issue 19 from the scoreboard:

(a) the linear theory at G* with an affine bias (model ``affine``, its theory columns);
(b) the linear theory re-linearized along the orbit with a constant bias (``relinearized``:
    each task linearized at the centre of its stretch, `clln_theory.theory.relinearized_cycle`);
(c) the nonlinear simulator (the circuit's M(G), gate limits) with a constant bias (the
    ``constant`` model's bias, fitted to the same data);
(d) the simulator with the best state-dependent model (most D² within 1.5x, then Ē),

plus two references: the theory at G* with the same constant bias (what (b) changes) and the
simulator with the drift-test bias. Printed per experiment: the table (bow-tie rms in mV, "fit"
for a model fitted to the bow-ties' positions, "pred" for a prediction; D² and Ē within 1.5x at
all 19 / the 14 in-box periods, median and worst ratio), the constant biases with 1σ, the D²
ratios per period of (b), the G* reference and (c), and the wall time. The JSON of every
scoreboard goes to ``$CLLN_OUT_DIR`` (else the current folder). ``--quick``: exp1, the theory
columns of ``constant``, ``affine`` and ``relinearized`` only (no simulator: (c) and (d) are
left out). The table is `BiasScoreboard.curvature`. Needs the paper's data (prints a message
and stops without it).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from clln_theory.data import default_data_dir
from clln_theory.experiments import compare_bias

QUICK_MODELS = ["constant", "affine", "relinearized"]


def _biases(sb) -> str:
    lines = ["| model | B [V/s] | fitted to |", "|---|---|---|"]
    for s in sb.scores:
        if s.model in ("constant", "relinearized", "drift-test"):
            if s.fit is None:  # the drift-test B: its 1σ is the reproduction's, not a fit's
                b = ", ".join(f"{x:.2f}" for x in s.bias.B0)
            else:
                b = ", ".join(f"{x:.2f} ± {e:.2f}" for x, e in zip(s.bias.B0, s.fit.B0_std))
            lines.append(f"| {s.model} | ({b}) | {s.fitted_to} |")
    return "\n".join(lines)


def _ratios(sb) -> str:
    by = {s.model: s for s in sb.scores}
    cols = [("relinearized", "theory"), ("constant", "theory"), ("constant", "simulator")]
    cols = [(m, e) for m, e in cols if m in by and (e == "theory" or by[m].D2_sim is not None)]
    out = ["| τ [s] | in box | " + " | ".join(f"{m} ({e})" for m, e in cols) + " |"]
    out.append("|" + "---|" * (len(cols) + 2))
    for k, tau in enumerate(sb.tau):
        vals = []
        for m, e in cols:
            pred = by[m].D2_theory if e == "theory" else by[m].D2_sim
            vals.append(f"{pred[k] / sb.D2_measured[k]:.2f}")
        box = "yes" if sb.in_box[k] else "no"
        out.append(f"| {tau:g} | {box} | " + " | ".join(vals) + " |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", default=["exp1", "exp2"])
    p.add_argument("--quick", action="store_true", help="exp1, theory only, three models")
    args = p.parse_args()
    if default_data_dir() is None:
        print("The paper's data were not found (clln_theory.data.default_data_dir); stopping.")
        return
    out_dir = Path(os.environ.get("CLLN_OUT_DIR", "."))
    exps = ["exp1"] if args.quick else args.experiments
    for exp in exps:
        t0 = time.perf_counter()
        if args.quick:
            sb = compare_bias(exp, models=QUICK_MODELS, simulate=False)
        else:
            sb = compare_bias(exp)
        seconds = time.perf_counter() - t0
        print(f"\n## {exp}: bias or curvature? ({seconds:.0f} s)\n")
        print(sb.curvature())
        print("\n" + _biases(sb))
        print(f"\nD² predicted / measured, {exp}:\n")
        print(_ratios(sb))
        for s in sb.scores:
            for note in s.notes:
                print(f"note ({s.model}): {note}")
        sb.to_json(out_dir / f"bias_or_curvature_{exp}.json")


if __name__ == "__main__":
    main()
