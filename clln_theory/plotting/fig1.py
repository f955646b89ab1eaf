"""The figure of Fig. 1G,H on the full network (matplotlib, an optional extra).

`plot_fig1` draws a `clln_theory.experiments.fig1.Fig1Result`: the combined error Ē(τ) (top)
and the cycle span D(τ) (bottom) on log axes, the theory of the regression pair as a line, the
simulator as markers (squares: regression, circles: classification, as in the paper), the
fitted D ∝ τ^slope line over its straight part and the two plateaus of Ē.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._checks import instance
from ..experiments.fig1 import Fig1Result
from ._args import check_path
from ._mpl import figure_class, save_figure

__all__ = ["plot_fig1"]

_REG, _CLS, _FIT = "#1f4e9c", "#c0272d", "0.45"


def plot_fig1(result: Fig1Result, path: str | Path | None = None) -> Any:
    """Figure in the layout of Fig. 1G,H: Ē(τ) and D(τ).

    Parameters
    ----------
    result : Fig1Result
        From `clln_theory.experiments.fig1.run_fig1`.
    path : str or Path, optional
        Where to save (200 dpi; format from the suffix; replaced atomically); the figure is
        returned either way.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ModuleNotFoundError
        If matplotlib is not installed (``pip install clln_theory[plot]``).
    ArgumentError
        ``result`` is not a `Fig1Result`, or ``path`` is not a file name (str or Path) or a file
        object, or ends in a format matplotlib does not write.
    FileWriteError
        If ``path`` cannot be written (a missing folder, a full disk), naming it.
    """
    result = instance(result, "result", Fig1Result)
    path = check_path(path)
    Figure = figure_class()
    fig = Figure(figsize=(3.5, 4.9), layout="constrained")
    axE, axD = fig.subplots(2, 1, sharex=True)
    th = result.theory
    axE.loglog(th.tau, 1e6 * th.Ebar, "-", color=_REG, lw=1.4, label="theory, regression (at G*)")
    axD.loglog(th.tau, th.D, "-", color=_REG, lw=1.4, label="theory, regression")
    sims = ((result.regression, _REG, "s"), (result.classification, _CLS, "o"))
    for curve, colour, marker in sims:
        if curve is None:
            continue
        kw = dict(ls="none", marker=marker, ms=4.5, mfc="white", mec=colour, mew=1.2)
        name = f"simulator, {curve.kind}"
        axE.loglog(curve.tau, 1e6 * curve.Ebar, label=name, **kw)
        axD.loglog(curve.tau, curve.D, label=name, **kw)
    if th.slope is not None and th.slope_range is not None:
        lo, hi = th.slope_range
        t = np.geomspace(lo, hi, 20)
        i = int(np.argmin(np.abs(th.tau - lo)))
        line = 0.5 * th.D[i] * (t / th.tau[i]) ** th.slope
        axD.loglog(t, line, "--", color=_FIT, lw=1.0, label=f"fit ×½: D ∝ τ^{th.slope:.2f}")
    marked = result.regression or th  # the plateaus of the simulated regression, else theory's
    label: str | None = f"Ē plateaus ({marked.source})"
    for level in marked.plateaus or ():
        axE.axhline(1e6 * level, color=_FIT, ls=":", lw=0.9, zorder=0, label=label)
        label = None
    if th.rolloff is not None:
        axD.axvline(th.rolloff, color=_FIT, ls=":", lw=0.9)
        axD.annotate("roll-off", (th.rolloff, 0.02), xycoords=("data", "axes fraction"),
                     xytext=(-3, 0), textcoords="offset points", ha="right", va="bottom",
                     fontsize=7, color=_FIT)  # fmt: skip
    axE.set_ylabel("combined error Ē [mV²]")
    axD.set_ylabel("cycle span D [V]")
    axD.set_xlabel("period τ [s]")
    # the markers are explained below; above, the theory's line and the plateaus, in the empty
    # band between the classification and the short-τ regression points
    handles, labels = axE.get_legend_handles_labels()
    keep = [i for i, t in enumerate(labels) if not t.startswith("simulator")]
    axE.legend([handles[i] for i in keep], [labels[i] for i in keep], fontsize=6.5,
               loc="center left", bbox_to_anchor=(0.0, 0.36), frameon=False)  # fmt: skip
    axD.legend(fontsize=6.5, loc="upper left", frameon=False)
    axE.set_title("Fig. 1G,H on the Fig. 5 lattice", fontsize=8)
    for ax in (axE, axD):
        ax.tick_params(labelsize=7)
        ax.yaxis.label.set_size(8)
        ax.xaxis.label.set_size(8)
    if path is not None:
        save_figure(fig, path, dpi=200)
    return fig
