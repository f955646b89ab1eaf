"""Which bias explains experiments 1 and 2? Five bias models on the same data (beyond paper).

Run: ``python examples/state_dependent_bias.py [--quick]``.

Every model is fitted to the **same** measurements of an experiment — its two drift tests and
three bow-ties (τ = 0.02, 0.08, 0.2 s) — by `clln_theory.experiments.compare_bias` (which calls
`clln_theory.inference.infer_state_bias`), then scored against the measured D² at all 19
periods in the linear theory **with the gate box** (the attracting closed orbit of the
projected dynamics inside the preset's box, 1–5 V). D² is never fitted. The models:

- ``drift-test``: the paper's constant B from the drift tests (App. E);
- ``constant``: one constant B fitted to the bow-ties' positions and the drift tests;
- ``affine``: B(G) = B0 + J (G − G_ref) with a full J; ``diagonal``: J diagonal;
- ``along-lines``: J = Σ k_μ u_μ u_μᵀ along the tasks' solution lines, fitted to the velocities
  along the lines only (u_μ · dG/dt = u_μ · B(G) exactly while task μ trains); its bow-tie
  orbits are predictions.

Printed per experiment: each model's B0 (or B) with 1σ, the gains along the two solution lines
u_μᵀ J u_μ with 1σ, the bow-tie rms (fit or prediction) and how many of the 19 periods have D²
within 1.5× of the measurement. The figure ``state_dependent_bias.png`` (to ``$CLLN_OUT_DIR`` if
set, else the current folder) shows, per experiment, the three bow-ties with the closed orbits
of three models and D² predicted / measured against τ for all five, the periods where the
drift-test orbit leaves the gate box shaded. Needs the paper's data (found by
`clln_theory.data.default_data_dir`; prints a message and stops without it). ``--quick``:
experiment 1 only.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from clln_theory import data as cdata
from clln_theory.data import default_data_dir
from clln_theory.experiments import compare_bias, reproduce
from clln_theory.inference import drift_measurement
from clln_theory.theory import periodic_orbit

MODELS = ["drift-test", "constant", "affine", "diagonal", "along-lines"]
#: Line style per model: (colour, line style, marker) — distinguishable in grey scale too.
STYLE = {
    "drift-test": ("tab:blue", ":", "o"),
    "constant": ("tab:orange", "--", "s"),
    "affine": ("tab:green", "-", "^"),
    "diagonal": ("tab:gray", "-.", "v"),
    "along-lines": ("tab:red", (0, (5, 1, 1, 1)), "D"),
}
#: The models whose closed orbits are drawn on the bow-ties (the others would crowd them).
ON_BOWTIES = ("drift-test", "affine", "along-lines")
WITHIN = 1.5  # "D² within 1.5x of the measurement", as the README's scoreboard


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


def _pm(x, s) -> str:
    return ", ".join(f"{a:5.2f} ± {b:4.2f}" for a, b in zip(x, s, strict=True))


def analyse(exp: str, data_dir):
    sb = compare_bias(exp, data_dir=data_dir, models=MODELS, simulate=False)
    print(f"\n=== {exp}: {sb.tau.size} periods, {int(sb.in_box.sum())} with the drift-test orbit "
          "inside the gate box")  # fmt: skip
    print(f"  {'model':12s} {'B0 [V/s]':26s} {'gains along the lines [1/s]':28s} "
          f"{'bow-tie rms [mV]':22s} D² within {WITHIN}x")  # fmt: skip
    for s in sb.scores:
        ratio = s.D2_theory / sb.D2_measured
        within = int(np.sum((ratio < WITHIN) & (ratio > 1 / WITHIN)))
        if s.fit is None:
            b0, gains = "  ".join(f"{b:5.2f}" for b in s.bias.B0) + " (no 1σ)", "—"
        else:
            b0, gains = _pm(s.fit.bias.B0, s.fit.B0_std), _pm(s.fit.gains, s.fit.gains_std)
        rms = " / ".join(f"{1e3 * r:.0f}" for r in s.rms_theory) + f" ({s.rms_kind})"
        print(f"  {s.model:12s} {b0:26s} {gains:28s} {rms:22s} {within}/{sb.tau.size}")
    return sb


def _bowtie(ax, sb, rep, k: int) -> None:
    """One measured bow-tie with the closed orbits (no box: they stay inside at these τ)."""
    la, lb = rep.tasks[0].linear, rep.tasks[1].linear
    c = rep.cycles[k]
    ax.plot(*c.G.T, "o", ms=3, color="tab:purple", alpha=0.7, label="measured bow-tie")
    for s in sb.scores:
        if s.model not in ON_BOWTIES:
            continue
        colour, ls, _ = STYLE[s.model]
        G = periodic_orbit(la, lb, B=s.bias, tau=float(c.tau)).trajectory(400).G
        ax.plot(*G.T, color=colour, ls=ls, lw=1.4, label=f"{s.model} ({s.rms_kind})")
    ax.set_title(f"{sb.name}, bow-tie τ = {c.tau:g} s", fontsize=10)
    ax.set_xlabel("G₋ [V]")
    ax.set_ylabel("G₊ [V]")
    ax.tick_params(labelsize=9)


def _ratios(ax, sb) -> None:
    """D² predicted (theory with the gate box) / measured for every model."""
    tau = sb.tau
    edges = np.sqrt(tau[1:] * tau[:-1])
    lo = np.concatenate([[tau[0] / 1.3], edges])
    hi = np.concatenate([edges, [tau[-1] * 1.3]])
    for k in np.flatnonzero(~sb.in_box):  # where the drift-test orbit meets the box
        ax.axvspan(lo[k], hi[k], color="0.9", lw=0, zorder=0)
    ax.axhspan(1 / WITHIN, WITHIN, color="tab:green", alpha=0.08, lw=0, zorder=0)
    ax.axhline(1.0, color="0.5", lw=0.8)
    for s in sb.scores:
        colour, ls, mk = STYLE[s.model]
        ax.plot(tau, s.D2_theory / sb.D2_measured, color=colour, ls=ls, marker=mk, ms=3.5,
                lw=1.0, label=s.model)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("τ [s]")
    ax.set_ylabel("D² predicted / measured")
    ax.set_title(f"{sb.name}: D² with the gate box (not fitted)", fontsize=10)
    y0, y1 = ax.get_ylim()
    ticks = [t for t in (0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0) if y0 <= t <= y1]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.tick_params(labelsize=9)


def figure(boards: dict, out: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise SystemExit(f"matplotlib is needed for the figure ({exc})") from None
    rows = len(boards)
    fig, axes = plt.subplots(rows, 4, figsize=(13, 3.6 * rows + 1.2), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    for row, (sb, rep) in enumerate(boards.values()):
        for k in range(3):
            _bowtie(axes[row, k], sb, rep, k)
        _ratios(axes[row, 3], sb)
    # one legend per kind of panel, below the figure: nothing drawn over the data
    h, lab = axes[0, 0].get_legend_handles_labels()
    fig.legend(h, lab, loc="outside lower left", ncols=2, fontsize=9,
               title="bow-ties: closed orbit of the fitted bias", title_fontsize=9)  # fmt: skip
    h, lab = axes[0, 3].get_legend_handles_labels()
    h += [Patch(color="0.9"), Patch(color="tab:green", alpha=0.15)]
    lab += ["drift-test orbit meets the gate box", f"within {WITHIN}× of the measurement"]
    title = "D²: five models, linear theory in the gate box (1–5 V)"
    fig.legend(h, lab, loc="outside lower right", ncols=3, fontsize=9, title=title,
               title_fontsize=9)  # fmt: skip
    fig.suptitle("Bias models fitted to the same drift tests and bow-ties; D² scored, never fitted",
                 fontsize=12)  # fmt: skip
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
    boards = {}
    for e in exps:
        boards[e] = (analyse(e, data_dir), reproduce(e, data_dir=data_dir, grid_points=0))
    out = Path(os.environ.get("CLLN_OUT_DIR", "."))
    print(f"\nfigure: {figure(boards, out)}")


if __name__ == "__main__":
    main()
