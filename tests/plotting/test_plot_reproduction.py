"""The reproduction figure (clln_theory/plotting/reproduction.py) with the gate box: the curves
continue through the saturated periods, and G-space shows the saturated cycles with their pinned
stretches and the box in the legend."""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.experiments import reproduce

pytest.importorskip("matplotlib")

SATURATED_LABEL = "theory, saturated cycle in gate box"


@pytest.fixture(scope="module")
def figure():
    from clln_theory.plotting import plot_reproduction

    rep = reproduce("exp1", grid_points=60)
    return rep, plot_reproduction(rep)


def _line(ax, label):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def test_curves_continue_through_the_saturated_periods(figure):
    rep, fig = figure
    ax_e, ax_d = fig.axes[0], fig.axes[1]
    grid = rep.grid
    out = ~grid["in_box"]
    assert out.any() and grid["saturated"][out].all()
    for ax, key in ((ax_e, "Ebar"), (ax_d, "D2")):
        y = np.asarray(_line(ax, SATURATED_LABEL).get_ydata(), dtype=float)
        drawn = np.isfinite(y)
        assert np.all(drawn[out]) and np.all(y[out] == grid[key + "_theory"][out])
        # beside it, the orbit without limits, which keeps growing
        free = np.asarray(_line(ax, "theory without gate limits").get_ydata(), dtype=float)
        assert np.nanmax(free) > 3 * np.nanmax(y)
    # every measured point is drawn as measured (the theory covers all periods now)
    measured = _line(ax_d, "measured")
    assert len(measured.get_xdata()) == rep.tau.size


def test_gspace_draws_the_saturated_cycles_with_pinned_stretches_and_the_box(figure):
    rep, fig = figure
    ax_g = fig.axes[2]
    labels = [t.get_text() for t in ax_g.get_legend().get_texts()]
    assert "gate box [1, 5] V" in labels and "gate pinned at a limit" in labels
    texts = [t.get_text() for t in ax_g.texts]
    # the measured cycles' periods and the first and last saturated period of the table
    sat = rep.tau[rep.saturated]
    for tau in (0.02, 0.08, 0.2, sat[0], sat[-1]):
        assert f"τ = {tau:g} s" in texts
    # the pinned stretches: orange samples on the box edge (a gate at 1 or 5 V)
    bands = [ln for ln in ax_g.get_lines() if ln.get_linewidth() == 9]
    assert len(bands) == 2
    for band in bands:
        xy = np.column_stack([band.get_xdata(), band.get_ydata()]).astype(float)
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        assert xy.size and np.all(np.isclose(xy, 5.0).any(axis=1) | np.isclose(xy, 1.0).any(axis=1))
