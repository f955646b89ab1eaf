"""The figure of the Fig. 5 experiment (matplotlib, an optional extra).

`plot_fig5` draws a `clln_theory.experiments.fig5_runs.Fig5Result` in the layout of the paper's
Fig. 5: the trained output maps (A), the training accuracy (B) and the hinge loss (C) against the
ring diameter, and the accuracy during training (D) when the result holds traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import count, instance
from ..experiments.fig5 import (
    Fig5Placement,
    classification_outputs,
    fig5_network,
    ring_inputs,
    split_labels,
)
from ..experiments.fig5_runs import Fig5Result
from ..experiments.paper import FIG5_BIAS_SCALE, FIG5_LABEL, FIG5_V_MINUS, FIG5_V_PLUS
from ._args import check_path
from ._mpl import figure_class, save_figure

__all__ = ["plot_fig5"]

_COLOURS = {"standard": "0.35", "overclamp": "#d89c00"}
_LABELS = {"standard": "standard clamping (η = 1)", "overclamp": "overclamping (η = 0.25)"}
_CLASS_COLOURS = ("#1f4e9c", "#c0272d")  # class α (L = +18 mV) blue, class β red
#: Finest map resolution per axis: each pixel is one Newton solve, so 256² solves per map bound
#: the work (minutes); the paper's maps are far coarser.
_MAX_GRID = 256


def _map(ax, net, G, e: float, y: np.ndarray, pl: Fig5Placement, n_grid: int, norm) -> Any:
    """One output map ``O(V1, V2)`` over ``centre ± 0.75 eps``, with the ring points."""
    lim = 3 * FIG5_LABEL
    c = 0.5 * (FIG5_V_PLUS + FIG5_V_MINUS)
    u = np.linspace(c - 0.75 * e, c + 0.75 * e, n_grid)
    V1, V2 = np.meshgrid(u, u)
    Omap = classification_outputs(net, G, V1, V2, placement=pl)
    im = ax.pcolormesh(
        1e3 * V1, 1e3 * V2, np.clip(Omap, -lim, lim), cmap="RdBu", norm=norm, shading="auto"
    )
    if Omap.min() < 0 < Omap.max():
        ax.contour(1e3 * V1, 1e3 * V2, Omap, levels=[0.0], colors="k", linewidths=1)
    X = ring_inputs(e)
    ax.scatter(
        1e3 * X[:, 0], 1e3 * X[:, 1], c=np.where(y > 0, *_CLASS_COLOURS), s=26,
        edgecolors="white", linewidths=0.8, zorder=3,
    )  # fmt: skip
    ax.set_aspect("equal")
    return im


def _maps_panel(sub, result: Fig5Result, shown: list[int], di: int, n_grid: int) -> None:
    """Panel A: one row per (split, clamping), one column per diameter."""
    from matplotlib.colors import TwoSlopeNorm

    net = fig5_network(result.settings.get("device", "three-regime"))
    pl = Fig5Placement.from_spec(result.settings.get("placement"))
    n_p = len(result.clampings)
    axs = np.atleast_2d(sub.subplots(n_p * len(shown), result.eps.size, squeeze=False))
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-3 * FIG5_LABEL, vmax=3 * FIG5_LABEL)
    im = None
    for r_s, si in enumerate(shown):
        y = split_labels(result.splits[si])
        for i, mode in enumerate(result.clampings):
            row = r_s * n_p + i
            for j, e in enumerate(result.eps):
                ax = axs[row, j]
                ax.set_xticks([])
                ax.set_yticks([])
                if not np.all(np.isfinite(result.G[i, j, di, si])):
                    ax.text(0.5, 0.5, "run failed\n(circuit solve)", ha="center", va="center",
                            transform=ax.transAxes, fontsize=8)  # fmt: skip
                    continue
                im = _map(ax, net, result.G[i, j, di, si], e, y, pl, n_grid, norm)
                ax.set_xticks([])
                ax.set_yticks([])
                head = f"ε = {1e3 * e:.0f} mV\n" if row == 0 else ""
                ax.set_title(f"{head}acc {100 * result.accuracy[i, j, di, si]:.0f}%", fontsize=8.5)
                if j == 0:
                    ax.set_ylabel(f"split {result.splits[si]}\n{mode}", fontsize=9)
    cb = sub.colorbar(im, ax=axs, shrink=0.6, pad=0.01)
    cb.set_label("output O [V]")
    sub.suptitle(
        "A  trained output O(V₁, V₂) (maps span ±0.75 ε; black: O = 0; dots: training data, "
        "blue L = +18 mV, red L = −18 mV)",
        x=0.01,
        ha="left",
        fontsize=9.5,
    )


def _trace_panel(ax: Any, result: Fig5Result, t_trace: np.ndarray, trace: np.ndarray) -> None:
    """Panel D: mean training accuracy against time, smallest and largest diameter."""
    tr = np.asarray(trace, dtype=float)
    tr = tr.reshape(*tr.shape[:2], -1, tr.shape[-1])
    for i, mode in enumerate(result.clampings):
        for j, ls in ((0, "-"), (result.eps.size - 1, ":")):
            if not np.isfinite(tr[i, j]).any():
                continue
            ax.plot(
                1e3 * t_trace, 100 * np.nanmean(tr[i, j], axis=0), ls,
                color=_COLOURS[mode], lw=1.3, label=f"{mode}, ε = {1e3 * result.eps[j]:.0f} mV",
            )  # fmt: skip
    ax.set_ylim(0, 105)
    ax.axhline(50, color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("training time [ms]")
    ax.set_ylabel("training accuracy [%] (mean)")
    ax.set_title("D  during training", loc="left", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def _curve_panels(axB, axC, axZ, result: Fig5Result) -> None:
    """Panels B and C: mean accuracy and hinge loss (± s.e.) against the diameter; C on a log
    axis with a broken-off strip below it that shows the value 0 (as in the paper)."""
    eps_mV = 1e3 * result.eps
    acc_m, acc_e = 100 * result.mean("accuracy"), 100 * result.stderr("accuracy")
    h_m, h_e = 1e3 * result.mean("hinge"), 1e3 * result.stderr("hinge")
    pos = h_m[h_m > 0]
    floor = 10 ** np.floor(np.log10(pos.min() / 2)) if pos.size else 1e-3
    for i, mode in enumerate(result.clampings):
        kw = dict(color=_COLOURS[mode], marker="o", capsize=3, label=_LABELS[mode])
        axB.errorbar(eps_mV, acc_m[i], yerr=acc_e[i], **kw)
        on_log = h_m[i] > 0
        axC.errorbar(eps_mV[on_log], h_m[i, on_log], yerr=h_e[i, on_log], **kw)
        axC.plot(eps_mV, np.where(on_log, h_m[i], np.nan), color=_COLOURS[mode], lw=1)
        zero = h_m[i] == 0
        axZ.plot(eps_mV[zero], np.zeros(zero.sum()), "o", color=_COLOURS[mode])
    axB.set_xlabel("ring diameter ε [mV]")
    axB.set_ylabel("training accuracy [%]")
    axB.set_ylim(0, 105)
    axB.axhline(50, color="0.8", lw=0.8, zorder=0)
    axB.set_title("B", loc="left", fontsize=10)
    axB.legend(fontsize=8, loc="lower right")
    axC.set_yscale("log")
    axC.set_ylim(bottom=floor)
    axC.set_ylabel("hinge loss [mV]")
    axC.set_title("C", loc="left", fontsize=10)
    axC.tick_params(labelbottom=False, bottom=False)
    axC.spines["bottom"].set_visible(False)
    axZ.set_ylim(-1, 1)
    axZ.set_yticks([0])
    axZ.axhline(0, color="k", lw=1.0)
    axZ.spines["top"].set_visible(False)
    axZ.set_xlabel("ring diameter ε [mV]")
    brk = dict(marker=[(-1, -0.5), (1, 0.5)], markersize=9, ls="none", color="k", clip_on=False)
    axC.plot([0, 1], [0, 0], transform=axC.transAxes, **brk)  # axis break marks
    axZ.plot([0, 1], [1, 1], transform=axZ.transAxes, **brk)


def plot_fig5(
    result: Fig5Result,
    path: str | Path | None = None,
    *,
    splits: Sequence[int] | None = None,
    seed: int | None = None,
    n_grid: int = 31,
) -> Any:
    """Figure in the layout of Fig. 5: output maps (A), accuracy (B) and hinge loss (C) vs ε.

    Parameters
    ----------
    result : Fig5Result
        From `clln_theory.experiments.overclamping_experiment`.
    path : str or Path, optional
        Where to save (150 dpi; format from the suffix; replaced atomically, a failed save
        leaves the old file); the figure is returned either way.
    splits : sequence of int, optional
        Splits shown in the maps (default: splits 0 and 4 if present, whose dividing lines are
        the same with the classes swapped, so they need opposite output sensitivities; else the
        first split of ``result``).
    seed : int, optional
        Which hardware seed to show in the maps (default: the first).
    n_grid : int
        Map resolution per axis, 2 to 256 (each pixel is one free-state Newton solve).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ArgumentError
        ``result`` that is not a `Fig5Result`, ``n_grid`` that is not an integer in [2, 256],
        or ``path`` that is neither a file name with a format matplotlib writes nor a file
        object.
    ModuleNotFoundError
        If matplotlib is not installed (``pip install clln_theory[plot]``).

    Notes
    -----
    A: one row per (split, clamping), one column per diameter: the trained network's output
    ``O(V1, V2)`` over the square ``centre ± 0.75 ε`` (each map zoomed to its ring; colour clipped
    at ``±3 |L|``; decision boundary ``O = 0`` in black), with the training points (blue: class
    α, ``L = +18 mV``; red: class β) and the run's accuracy. B: mean accuracy ± standard error
    over splits and seeds. C: mean hinge loss ± s.e. on a log axis, with a broken-off strip below
    it that shows the value 0 (as in the paper). D (with traces): mean accuracy during training.
    """
    instance(result, "result", Fig5Result)
    path = check_path(path)
    n_grid = count(n_grid, "n_grid", minimum=2, maximum=_MAX_GRID)
    Figure = figure_class()
    if splits is None:
        splits = (0, 4) if {0, 4} <= set(result.splits) else result.splits[:1]
    shown = [result.splits.index(int(s)) for s in splits]
    di = 0 if seed is None else result.seeds.index(seed)
    n_rows = len(result.clampings) * len(shown)
    size = (2.1 * max(result.eps.size, 4) + 1.0, 2.0 * n_rows + 3.6)
    fig = Figure(figsize=size, layout="constrained")
    sub = fig.subfigures(2, 1, height_ratios=[2.0 * n_rows, 3.4])
    _maps_panel(sub[0], result, shown, di, n_grid)
    t_trace, trace = result.t_trace, result.accuracy_trace
    traces = trace is not None and t_trace is not None and t_trace.size > 1
    gs = sub[1].add_gridspec(2, 3 if traces else 2, height_ratios=[5, 1], hspace=0.05)
    axB = sub[1].add_subplot(gs[:, 0])
    axC = sub[1].add_subplot(gs[0, 1])
    axZ = sub[1].add_subplot(gs[1, 1], sharex=axC)
    if traces and trace is not None and t_trace is not None:
        _trace_panel(sub[1].add_subplot(gs[:, 2]), result, t_trace, trace)
    _curve_panels(axB, axC, axZ, result)
    n = len(result.splits) * len(result.seeds)
    st = result.settings
    failed = f"; {len(result.failures)} failed run(s) left out" if result.failures else ""
    sub[1].suptitle(
        f"B-D: mean (± s.e.) over {n} runs ({len(result.splits)} splits × {len(result.seeds)} "
        f"seeds{failed}); 4×4 periodic lattice, {st.get('device', '?')} MOSFETs, bias ~ N(0, "
        f"({st.get('bias_scale', FIG5_BIAS_SCALE):g} V/s)²), {st.get('n_steps', '?')} steps of "
        "100 µs",
        fontsize=8,
    )
    if path is not None:
        save_figure(fig, path, dpi=150)
    return fig
