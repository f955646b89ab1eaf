"""Bias inferred from the measured bow-ties (Figs. 2F, 2G) next to the drift-test bias (App. E).

Run: ``python examples/bias_from_limit_cycle.py [--quick]``.

For experiments 1 and 2 of the paper, the calibrated linear tasks of
`clln_theory.experiments.reproduce` and each measured limit cycle (τ = 0.02, 0.08, 0.2 s; 61
samples over one period) give a bias ``B`` by `clln_theory.inference.infer_bias_from_cycle` —
the orbit is affine in ``B``, the phase of the samples is fitted — and, as a cross-check, by the
phase-free nearest-point fit. Printed:
``B`` with 1σ uncertainties (autocorrelation-inflated), rms misfit, r², the same misfit for the
drift-test ``B`` and the paper's Appendix E value; then ``B`` projected on the two drift
directions (what a drift test measures) and, unless ``--quick``, a profile over a common factor
``s`` on both rate matrices (is the cycle better explained by a different learning rate?).

The figure ``bias_from_cycle.png`` (to ``$CLLN_OUT_DIR`` if set, else the current
folder (for the committed figure: ``CLLN_OUT_DIR=docs/figures``)) shows
every bow-tie with the orbit at the cycle-fitted and at the drift-test bias, and the ``B`` plane
with 1σ ellipses. Reads the paper's data shipped with the package (or $CLLN_DATA_DIR, or
``--data-dir DIR``) and needs matplotlib for the figure.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from clln_theory.data import require_data_dir
from clln_theory.experiments import reproduce
from clln_theory.inference import cycle_misfit, infer_bias_from_cycle, infer_bias_from_cycles
from clln_theory.theory import LinearTask, periodic_orbit

ROOT = Path(__file__).resolve().parents[1]


def fmt(B, s=None) -> str:
    if s is None:
        return f"({B[0]:6.2f}, {B[1]:5.2f})"
    return f"({B[0]:5.2f}±{s[0]:4.2f}, {B[1]:5.2f}±{s[1]:4.2f})"


def scaled(task: LinearTask, s: float) -> LinearTask:
    return LinearTask(s * np.asarray(task.M), task.G_star)


def analyse(exp: str, data_dir, quick: bool) -> dict:
    rep = reproduce(exp, data_dir=data_dir, grid_points=0)
    la, lb = rep.tasks[0].linear, rep.tasks[1].linear
    paper = np.array(rep.bias_paper) if not callable(rep.bias_paper) else rep.bias_paper()
    print(f"\n=== {exp}: drift-test B = {fmt(rep.B)} V/s, paper App. E B = {fmt(paper)} V/s")
    print("  tau [s]  method   B from cycle [V/s]             rms [mV]  r2     rho   "
          "| drift-B rms [mV]  r2")  # fmt: skip
    fits = []
    for c in rep.cycles:
        fit = infer_bias_from_cycle(la, lb, c.G, tau=c.tau)
        drift = cycle_misfit(la, lb, [c], B=rep.B)
        fits.append((c, fit, drift))
        print(
            f"  {c.tau:6.3f}   phase   {fmt(fit.B, fit.B_std)}   {1e3 * fit.rms:7.1f}  "
            f"{fit.r2:5.3f}  {fit.rho:4.2f} | {1e3 * drift.rms:7.1f}        {drift.r2:6.3f}"
        )
        if not quick:
            near = infer_bias_from_cycle(la, lb, c.G, tau=c.tau, matching="nearest")
            print(f"  {c.tau:6.3f}   nearest {fmt(near.B, near.B_std)}   {1e3 * near.rms:7.1f}  "
                  f"{near.r2:5.3f}")  # fmt: skip
    joint = infer_bias_from_cycles(la, lb, rep.cycles)
    small = infer_bias_from_cycles(la, lb, rep.cycles[:2])
    print(f"  joint, all three tau:      {fmt(joint.B, joint.B_std)}  rms {1e3 * joint.rms:.1f} mV")
    print(f"  joint, tau = 0.02, 0.08 s: {fmt(small.B, small.B_std)}  rms {1e3 * small.rms:.1f} mV")
    # what a drift test sees: the projections of B on the two solution lines (null vectors)
    dirs = []
    for t in (la, lb):
        u = t.eigvecs[:, 0] * np.sign(t.eigvecs[0, 0] + t.eigvecs[1, 0])
        dirs.append(u)
    print("  projections on the drift directions (alpha line, beta line) [V/s]:")
    for name, B in [("drift test", rep.B), ("paper", paper)] + [
        (f"cycle {c.tau:g} s", f.B) for c, f, _ in fits
    ]:
        print(f"    {name:14s} {dirs[0] @ B:6.2f}  {dirs[1] @ B:6.2f}")
    if not quick:
        s_grid = np.geomspace(0.3, 3.0, 15)
        prof = [
            infer_bias_from_cycles(scaled(la, s), scaled(lb, s), rep.cycles[:2]) for s in s_grid
        ]
        i = int(np.argmin([p.rms for p in prof]))
        print(f"  rate-factor profile (tau = 0.02, 0.08 s jointly): best s = {s_grid[i]:.2f} "
              f"(r = {2 * s_grid[i]:.2f}), B = {fmt(prof[i].B, prof[i].B_std)}, rms "
              f"{1e3 * prof[i].rms:.1f} mV vs {1e3 * small.rms:.1f} mV at s = 1")  # fmt: skip
    return {"rep": rep, "fits": fits, "joint": joint, "paper": paper, "la": la, "lb": lb}


def figure(results: dict, out: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Ellipse
    except ImportError as exc:  # pragma: no cover - optional dependency
        msg = f"matplotlib is needed for the figure ({exc}); pip install matplotlib"
        raise SystemExit(msg) from None
    fig, axes = plt.subplots(2, 4, figsize=(17, 8.2), constrained_layout=True)
    for row, (exp, r) in enumerate(results.items()):
        rep, la, lb = r["rep"], r["la"], r["lb"]
        for col, (c, fit, _drift) in enumerate(r["fits"]):
            ax = axes[row, col]
            ax.plot(*c.G.T, "o", ms=3.5, color="tab:purple", label="measured")
            for B, style, lab in (
                (fit.B, "-", "theory, B from this cycle"),
                (rep.B, "--", "theory, drift-test B"),
            ):
                G = periodic_orbit(la, lb, B=B, tau=c.tau).trajectory(400).G
                ax.plot(*G.T, style, color="k", lw=1.3, label=lab)
            g = np.linspace(*ax.get_xlim(), 10)
            for t, colr in ((la, "tab:blue"), (lb, "tab:red")):
                u = t.eigvecs[:, 0]
                s = (g - t.G_star[0]) / u[0]
                ax.plot(g, t.G_star[1] + s * u[1], ":", color=colr, lw=1)
            ax.set_title(
                f"{exp}, τ = {c.tau:g} s: B = ({fit.B[0]:.1f}, {fit.B[1]:.1f}) V/s, "
                f"r² = {fit.r2:.2f}",
                fontsize=9,
            )
            ax.set_xlabel("G₋ [V]")
            ax.set_ylabel("G₊ [V]")
            if row == 0 and col == 0:
                ax.legend(fontsize=7, loc="upper left")
        ax = axes[row, 3]
        colours = ["tab:green", "tab:orange", "tab:brown"]
        for (c, fit, _), colr in zip(r["fits"], colours, strict=True):
            w, V = np.linalg.eigh(np.asarray(fit.cov))
            ang = np.degrees(np.arctan2(V[1, 1], V[0, 1]))
            ax.add_patch(Ellipse(fit.B, 2 * np.sqrt(w[1]), 2 * np.sqrt(w[0]), angle=ang,
                                 fc=colr, alpha=0.3, ec=colr))  # fmt: skip
            ax.plot(*fit.B, "o", color=colr, label=f"cycle τ = {c.tau:g} s")
        j = r["joint"]
        ax.plot(*j.B, "D", color="k", mfc="none", label="cycles, joint")
        ax.plot(*rep.B, "s", color="tab:purple", label="drift test (this pipeline)")
        ax.plot(*r["paper"], "^", color="tab:gray", label="paper, App. E")
        ax.set_xlabel("B₋ [V/s]")
        ax.set_ylabel("B₊ [V/s]")
        ax.set_title(f"{exp}: bias estimates, 1σ ellipses", fontsize=9)
        ax.axhline(0, color="0.85", lw=0.8)
        ax.axvline(0, color="0.85", lw=0.8)
        ax.legend(fontsize=7, loc="best")
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle("Bias from measured limit cycles vs drift tests (linear theory, calibrated tasks)")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bias_from_cycle.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the nearest-point fits and profile")
    ap.add_argument("--data-dir", type=Path, default=None, help="copy of the published data "
                    "layout (default: $CLLN_DATA_DIR, else the packaged copy)")  # fmt: skip
    args = ap.parse_args()
    data_dir = require_data_dir(args.data_dir)
    results = {exp: analyse(exp, data_dir, args.quick) for exp in ("exp1", "exp2")}
    out = Path(os.environ.get("CLLN_OUT_DIR") or ".")
    print(f"\nfigure: {figure(results, out)}")


if __name__ == "__main__":
    main()
