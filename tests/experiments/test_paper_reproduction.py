"""The paper's small-network theory against its measured data.

Experiments 1 and 2 of Fig. 2: the bias inferred from the drift tests lies within 10 % of the
values of Appendix E, and the predicted squared cycle span D² lies within a factor 3 of the
measured one at every period whose predicted orbit stays inside the gate box [1, 5] V. Beyond
it the theory is the cycle of the projected dynamics in the box (gates pinned at the limits),
finite at every period and within the bounds below of the measurement. Runs on the data shipped
with the package (`clln_theory.data.packaged_data_dir`).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from clln_theory.data import packaged_data_dir
from clln_theory.experiments import paper
from clln_theory.experiments.reproduction import reproduce

DATA = packaged_data_dir()

# The aim: |B − B_paper| / |B_paper| ≤ 10 %. Measured on the vector: exp 2's first component is
# −0.16 V/s, so a component-wise 10 % would be 0.016 V/s, below the drift tests' resolution.
BIAS_RTOL = 0.10
# The aim: D² within a factor 3 where the linear theory applies (orbit in the box).
D2_FACTOR = 3.0
# Regression guards of the theory in the gate box at all 19 periods (measured: D² theory/measured
# 0.43-0.99 (exp 1) and 0.39-1.15 (exp 2); at the 5 saturated periods 0.80-0.99 and 0.49-0.81;
# Ē there 1.19-1.34 and 0.78-0.97): bounds a few per cent outside the measured ranges.
D2_ALL = (0.37, 1.2)
D2_SATURATED = (0.45, 1.05)
EBAR_SATURATED = (0.7, 1.45)
# The aim: one experiment, 19 periods and the figure, in under 5 s.
TIME_LIMIT_S = 5.0


@pytest.fixture(scope="module", params=["exp1", "exp2"])
def rep(request):
    return reproduce(request.param, data_dir=DATA)


def test_bias_within_10_percent_of_appendix_E(rep):
    B_paper = np.array(paper.EXPERIMENTS[rep.config.name].bias)
    err = np.linalg.norm(rep.B - B_paper) / np.linalg.norm(B_paper)
    assert err <= BIAS_RTOL, f"B = {rep.B} vs paper {B_paper}: {100 * err:.1f} %"
    # the larger component individually, too
    k = int(np.argmax(np.abs(B_paper)))
    assert abs(rep.B[k] - B_paper[k]) <= BIAS_RTOL * abs(B_paper[k])


def test_D2_within_factor_3_where_the_orbit_stays_in_the_box(rep):
    assert rep.tau.size == 19
    inside = rep.in_box
    ratio = rep.D2_ratio
    assert np.isfinite(ratio).all()
    bad = inside & ((ratio > D2_FACTOR) | (ratio < 1 / D2_FACTOR))
    assert not bad.any(), f"{rep.config.name}: tau {rep.tau[bad]} have D2 ratio {ratio[bad]}"
    # the in-box periods are the short ones; the orbit leaves the box only at long periods
    assert rep.n_in_box >= 10
    assert np.all(np.diff(inside.astype(int)) <= 0)
    print(
        f"\n{rep.config.name}: B = {np.round(rep.B, 3)}; {rep.n_in_box}/19 periods in the box; "
        f"D2 ratio there {ratio[inside].min():.2f}..{ratio[inside].max():.2f}"
    )


def test_Ebar_agrees_where_the_orbit_stays_in_the_box(rep):
    # Not a must-show, a regression guard: measured today within a factor 2.2 (exp 2's first
    # period, at the measurement floor); a factor 3 flags a real change.
    r = rep.Ebar_ratio[rep.in_box]
    assert np.all((r < D2_FACTOR) & (r > 1 / D2_FACTOR)), r


def test_orbit_leaving_the_box_is_where_measured_D2_saturates(rep):
    # beyond the box the measured D² nearly stops growing (gates at their limits): over the
    # out-of-box periods (a factor ~6 in tau) it grows by less than 4 (exp 1: 1.02, exp 2: 3.4),
    # while the linear theory without limits grows by more than 10; the cycle in the box, like
    # the measurement, by less than 4 (exp 1: 1.26, exp 2: 2.8)
    out = ~rep.in_box
    m, free, boxed = rep.D2_measured[out], rep.D2_unconstrained[out], rep.D2_theory[out]
    assert m[-1] / m[0] < 4.0 and free[-1] / free[0] > 10.0 and boxed[-1] / boxed[0] < 4.0


def _measured_file(rep, quantity):
    name = {"D2": "DG2", "Ebar": "MSE"}[quantity]
    path = DATA / "small network" / "MSE-DG2-Data" / f"measured-{name}-{rep.config.name}.csv"
    return np.loadtxt(path, delimiter=",")


def test_theory_in_the_gate_box_at_every_period_against_the_shipped_data(rep):
    """D², Ē finite at all 19 periods; the ratios recomputed from the shipped files; the
    periods inside the box exactly the orbit without limits, the others saturated."""
    from clln_theory.theory import periodic_orbit

    D2m, Em = _measured_file(rep, "D2"), _measured_file(rep, "Ebar")
    np.testing.assert_array_equal(rep.tau, D2m[:, 0])
    assert np.isfinite(rep.D2_theory).all() and np.isfinite(rep.Ebar_theory).all()
    assert rep.saturated.tolist() == (~rep.in_box).tolist() and rep.n_saturated == 5
    D2_ratio, Ebar_ratio = rep.D2_theory / D2m[:, 1], rep.Ebar_theory / Em[:, 1]
    np.testing.assert_array_equal(rep.D2_ratio, D2_ratio)
    np.testing.assert_array_equal(rep.Ebar_ratio, Ebar_ratio)
    assert D2_ALL[0] < D2_ratio.min() and D2_ratio.max() < D2_ALL[1], D2_ratio
    sat = rep.saturated
    assert D2_SATURATED[0] < D2_ratio[sat].min() and D2_ratio[sat].max() < D2_SATURATED[1]
    assert EBAR_SATURATED[0] < Ebar_ratio[sat].min() and Ebar_ratio[sat].max() < EBAR_SATURATED[1]
    # the unconstrained theory there was up to 32x (exp 1) and 16x (exp 2) off
    assert (rep.D2_unconstrained[sat] / D2m[sat, 1]).max() > 10
    # inside the box: the orbit without limits, number for number
    inside = rep.in_box
    np.testing.assert_array_equal(rep.D2_theory[inside], rep.D2_unconstrained[inside])
    np.testing.assert_array_equal(rep.Ebar_theory[inside], rep.Ebar_unconstrained[inside])
    np.testing.assert_array_equal(rep.box_orbit.G0[inside], rep.orbit.G0[inside])
    # the public face gives the same cycles
    a, b = rep.tasks
    boxed = periodic_orbit(a.linear, b.linear, B=rep.B, tau=rep.tau, box=(1.0, 5.0))
    np.testing.assert_allclose(boxed.span**2, rep.D2_theory, rtol=1e-12)
    assert boxed.saturated.tolist() == sat.tolist()
    rows = rep.rows()
    assert [r["saturated"] for r in rows] == sat.tolist()
    assert all(r["Ebar_theory"] is not None and r["D2_ratio"] is not None for r in rows)
    s = rep.summary()
    assert s["n_saturated"] == 5
    assert s["D2_ratio_all"] == [float(D2_ratio.min()), float(D2_ratio.max())]


def test_one_experiment_with_figure_runs_in_under_5_s(tmp_path):
    pytest.importorskip("matplotlib")
    from clln_theory.plotting import plot_reproduction

    reproduce("exp2", data_dir=DATA)  # warm imports and caches, as a CLI run would have
    t0 = time.process_time()  # CPU time: the shared test machines are loaded by other work
    rep = reproduce("exp1", data_dir=DATA)
    plot_reproduction(rep, tmp_path / "exp1.png")
    elapsed = time.process_time() - t0
    assert rep.tau.size == 19
    assert elapsed < TIME_LIMIT_S, f"took {elapsed:.2f} s"
