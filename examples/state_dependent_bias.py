"""A state-dependent bias B(G) = B0 + J (G - G_ref) fitted to experiments 1 and 2 (beyond paper).

Run: ``python examples/state_dependent_bias.py [--quick]``.

Constant-bias fits to the measured bow-ties move with the period τ
(``examples/bias_from_limit_cycle.py``). Here one `AffineBias` is fitted jointly to the two
drift tests and the three bow-ties (τ = 0.02, 0.08, 0.2 s) of each experiment with
`clln_theory.inference.infer_state_bias`, on the calibrated linear tasks of
`clln_theory.experiments.reproduce`. Printed per experiment: ``B0`` and ``J`` with 1σ
uncertainties; the rms misfit of each bow-tie for (i) a constant ``B`` fitted to that bow-tie
alone, (ii) one constant ``B`` fitted to all three, (iii) the joint affine fit — if ``J``
explains the τ-dependence, (iii) approaches (i) with one set of parameters; the effective bias
``B(G)`` at each bow-tie's mean gates next to the per-τ constant fits; and the predicted D² over
the measured D² at every measured τ, for the drift-test ``B`` (the paper's pipeline), the
cycles' joint constant ``B`` and the affine fit. D² is never fitted. The figure
``state_dependent_bias.png`` (to ``$CLLN_OUT_DIR`` if set, else the current folder) shows the
bow-ties with both models and the D² ratios against τ. Needs the paper's data (found by
`clln_theory.data.default_data_dir`; prints a message and stops without it).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from clln_theory import data as cdata
from clln_theory.data import default_data_dir
from clln_theory.errors import StabilityError
from clln_theory.experiments import reproduce
from clln_theory.inference import (
    drift_measurement,
    infer_bias_from_cycle,
    infer_bias_from_cycles,
    infer_state_bias,
)
from clln_theory.theory import periodic_orbit


def drifts_of(rep, data_dir) -> list:
    """The experiment's drift tests, projected on each task's solution line."""
    by_name = {t.name: t for t in rep.tasks}
    out = []
    for m in rep.config.bias.measurements:
        if m.kind != "drift":
            continue
        dt = cdata.load_drift_test(cdata.resolve(data_dir, m.file))
        u = by_name[m.task].linear.eigvecs[:, 0]
        out.append(
            drift_measurement(
                dt.times, dt.G, direction=u, window=m.window, skip=m.skip, source=m.file
            )
        )
    return out


def d2_ratio(rep, la, lb, B) -> np.ndarray:
    """Predicted over measured D² at every measured τ (NaN where no cycle exists)."""
    out = np.full(rep.tau.size, np.nan)
    for i, tau in enumerate(rep.tau):
        try:
            out[i] = periodic_orbit(la, lb, B=B, tau=float(tau)).span ** 2 / rep.D2_measured[i]
        except StabilityError:
            pass
    return out


def analyse(exp: str, data_dir) -> dict:
    rep = reproduce(exp, data_dir=data_dir, grid_points=0)
    la, lb = rep.tasks[0].linear, rep.tasks[1].linear
    singles = [infer_bias_from_cycle(la, lb, c.G, tau=c.tau) for c in rep.cycles]
    joint = infer_bias_from_cycles(la, lb, rep.cycles)
    drifts = drifts_of(rep, data_dir)
    fit = infer_state_bias(la, lb, rep.cycles, drifts=drifts, phases=joint.phase, B_start=joint.B)
    b = fit.bias
    print(f"\n=== {exp}: G_ref = ({b.G_ref[0]:.3f}, {b.G_ref[1]:.3f}) V")
    print(f"  B0 = ({b.B0[0]:.2f} ± {fit.B0_std[0]:.2f}, {b.B0[1]:.2f} ± {fit.B0_std[1]:.2f}) V/s")
    for i in range(2):
        row = ", ".join(f"{b.J[i, j]:6.2f} ± {fit.J_std[i, j]:4.2f}" for j in range(2))
        print(f"  J[{i}] = ({row}) 1/s")
    print(f"  eig(J) = {np.round(np.linalg.eigvals(b.J), 3)} 1/s, rho = {fit.rho:.2f}, "
          f"drift residuals {np.round(fit.drift_residuals, 3)} V/s")  # fmt: skip
    print("  tau [s]  rms [mV]: per-tau const B | joint const B | joint affine  "
          "| const B (per tau)   B(G) at the bow-tie mean [V/s]")  # fmt: skip
    for i, c in enumerate(rep.cycles):
        Beff = b(c.G.mean(axis=0))
        print(
            f"  {c.tau:6.3f}   {1e3 * singles[i].rms:12.1f}   | {1e3 * np.sqrt(np.mean(joint.misfit.residuals[i] ** 2)):12.1f} | "  # noqa: E501
            f"{1e3 * fit.rms_cycles[i]:11.1f}  | ({singles[i].B[0]:5.2f}, {singles[i].B[1]:5.2f})"
            f"      ({Beff[0]:5.2f}, {Beff[1]:5.2f})"
        )
    ratios = {
        "drift-test B": rep.D2_ratio,
        "joint cycle B": d2_ratio(rep, la, lb, joint.B),
        "affine B(G)": d2_ratio(rep, la, lb, b),
    }
    print("  D2 predicted / measured over the measured tau:")
    for name, r in ratios.items():
        ok = np.isfinite(r)
        print(f"    {name:14s} {np.nanmin(r):6.2f} .. {np.nanmax(r):6.2f}  (median "
              f"{np.nanmedian(r):.2f}; {int(ok.sum())}/{r.size} periods with a cycle)")  # fmt: skip
    return {"rep": rep, "la": la, "lb": lb, "joint": joint, "fit": fit, "ratios": ratios}


def figure(results: dict, out: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise SystemExit(f"matplotlib is needed for the figure ({exc})") from None
    fig, axes = plt.subplots(2, 4, figsize=(17, 8.2), constrained_layout=True)
    for row, (exp, r) in enumerate(results.items()):
        rep, la, lb = r["rep"], r["la"], r["lb"]
        for col, c in enumerate(rep.cycles):
            ax = axes[row, col]
            ax.plot(*c.G.T, "o", ms=3.5, color="tab:purple", label="measured")
            for B, style, lab in (
                (r["fit"].bias, "-", "affine B(G), joint fit"),
                (r["joint"].B, "--", "constant B, joint fit"),
            ):
                G = periodic_orbit(la, lb, B=B, tau=c.tau).trajectory(400).G
                ax.plot(*G.T, style, color="k", lw=1.3, label=lab)
            ax.set_title(f"{exp}, τ = {c.tau:g} s", fontsize=9)
            ax.set_xlabel("G₋ [V]")
            ax.set_ylabel("G₊ [V]")
            if col == 0:
                ax.legend(fontsize=7, loc="best")
        ax = axes[row, 3]
        for (name, ratio), mk in zip(r["ratios"].items(), "os^", strict=True):
            ax.plot(rep.tau, ratio, mk, ms=4, label=name)
        ax.axhline(1.0, color="0.6", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("τ [s]")
        ax.set_ylabel("D² predicted / D² measured")
        ax.set_title(f"{exp}: D² ratio (D² not fitted)", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("State-dependent bias B(G) = B0 + J (G − G_ref), fitted to drift tests + bow-ties")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "state_dependent_bias.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="experiment 1 only")
    args = parser.parse_args()
    data_dir = default_data_dir()
    if data_dir is None:
        print("The paper's data were not found (see clln_theory.data.default_data_dir); stop.")
        return
    exps = ["exp1"] if args.quick else ["exp1", "exp2"]
    results = {e: analyse(e, data_dir) for e in exps}
    out = Path(os.environ.get("CLLN_OUT_DIR", "."))
    print(f"\nfigure: {figure(results, out)}")


if __name__ == "__main__":
    main()
