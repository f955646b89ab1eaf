"""Fig. 1 on the full network (`clln_theory.experiments.fig1`): the preset, a quick run of the
theory and the simulator, the shape fits on synthetic curves, and the theory's short-period
span against the small-τ asymptotics of the same linearized pair."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from clln_theory.experiments import (
    FIG1_LABEL,
    Fig1Result,
    fig1_experiment,
    load_config,
    run_fig1,
)
from clln_theory.experiments._fig1 import plateaus, rolloff, straight_part
from clln_theory.model import Differential
from clln_theory.theory import periodic_orbit, small_tau


@pytest.fixture(scope="module")
def quick() -> Fig1Result:
    """Three theory periods, two simulated ones with three periods each, a short burn-in."""
    return run_fig1(
        simulate=True, tau=[1e-4, 1e-3, 1e-2], sim_tau=[1e-3, 1e-2], burn_in=0.5, max_periods=3
    )


def test_preset_parses_into_the_fig1_setup():
    cfg = load_config("fig1")
    assert cfg.name == "fig1" and cfg.output == Differential("n5", "n7")
    exp = fig1_experiment("fig1")
    net = exp.network
    assert (net.n_nodes, net.n_gates) == (16, 32)
    assert [t.n_points for t in exp.regression] == [1, 1]
    assert [float(t.labels[0]) for t in exp.regression] == [0.021, -0.063]
    alpha, beta = exp.classification
    assert (alpha.kind, alpha.n_points, beta.n_points) == ("classification", 8, 8)
    assert np.all(alpha.labels == FIG1_LABEL) and np.all(beta.labels == -FIG1_LABEL)
    for p in (*alpha.points, *beta.points, *exp.regression[0].points):
        v = dict(p.inputs)  # inverted inputs V' = V+ - V (Fig. 1 caption); supplies imposed
        assert v["n4"] == pytest.approx(v["n0"] - v["n6"]) and v["n0"] == 0.435
        assert v["n10"] == pytest.approx(v["n0"] - v["n2"]) and v["n14"] == 0.018
    assert exp.tau[0] == pytest.approx(1e-3) and exp.tau[-1] == pytest.approx(10.0)
    assert exp.B.shape == (32,) and 1.0 < float(np.std(exp.B)) < 3.0
    assert exp.protocol.t_h == 1e-4 and exp.gate_box == (1.0, 5.0)
    assert type(exp.sim_network.device).__name__ == "LinearDevice"


def test_quick_configuration_runs(quick):
    assert dataclasses.is_dataclass(quick)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.seconds = 0.0  # type: ignore[misc]
    th = quick.theory
    assert th.source == "theory" and th.tau.size == 3
    assert np.all(np.isfinite(th.D)) and np.all(np.isfinite(th.Ebar))
    for curve in (quick.regression, quick.classification):
        assert curve is not None and curve.source == "simulator"
        assert curve.tau.tolist() == pytest.approx([1e-3, 1e-2])
        assert np.all(np.isfinite(curve.D)) and np.all(curve.D > 0)
    assert quick.span_ratio.shape == (2,)
    assert isinstance(quick.failures, tuple)
    assert max(quick.metric_change) < 0.02  # the metric changes the learning response < 2 %
    data = json.loads(quick.to_json())
    assert len(data["curves"]) == 3 and "fig1" not in repr(quick)
    assert "D ∝ τ^" in quick.summary()


def test_sim_periods_are_snapped_to_whole_steps():
    res = run_fig1(tau=[1e-3], sim_tau=[1.23e-3], simulate=False)
    assert res.regression is None and res.span_ratio.size == 0


def test_slope_fit_recovers_a_known_slope():
    tau = np.geomspace(1e-3, 10.0, 41)
    D = 0.3 * tau**1.3 / (1.0 + (tau / 2.0) ** 1.3)  # slope 1.3, then a plateau
    slope, icpt, i, j = straight_part(tau, D, 0.1)
    assert slope == pytest.approx(1.3, abs=0.02)
    assert i == 0 and 0.1 < tau[j] < 2.0
    assert 0.5 < rolloff(tau, D, slope, icpt, 0.5) < 5.0
    E = 1e-4 + 3e-3 / (1.0 + (0.3 / tau) ** 2)  # two plateaus and a rise
    low, high, s_low, s_high = plateaus(tau, E, 1.0)
    assert low == pytest.approx(1e-4, rel=0.1) and high == pytest.approx(3.1e-3, rel=0.05)
    assert s_low < 1.05 and s_high < 1.1
    assert np.isnan(straight_part(tau[:2], D[:2], 0.1)[0])


def test_theory_span_matches_small_tau_asymptotics(quick):
    """The theory's D ∝ τ at short periods: the box cycle's D/τ is the same at 0.1, 1 and 10 ms
    (there gates slide along the box, pinned for part of each half period: `small_tau` knows no
    box); the same linearized pair without the box follows `small_tau` to O(τ²)."""
    th = quick.theory
    assert np.allclose(th.D / th.tau, quick.small_tau_slope, rtol=1e-6)
    ta, tb = quick.theory_tasks
    B = quick.metric * fig1_experiment().B
    for tau in (1e-6, 1e-5):
        orbit = periodic_orbit(ta, tb, B=B, tau=tau)
        assert float(orbit.span) == pytest.approx(float(small_tau(ta, tb, B=B).span(tau)), rel=1e-3)


def test_plot(quick, tmp_path):
    pytest.importorskip("matplotlib")
    from clln_theory.plotting import plot_fig1

    fig = plot_fig1(quick, tmp_path / "fig1.png")
    assert (tmp_path / "fig1.png").stat().st_size > 0 and len(fig.axes) == 2
    with pytest.raises(TypeError, match="Fig1Result"):
        plot_fig1("not a result")  # type: ignore[arg-type]


def test_cli_refuses_csv_for_fig1(capsys):
    from clln_theory.cli import main

    assert main(["reproduce", "fig1", "--csv", "x.csv"]) != 0
    assert "--csv" in capsys.readouterr().err


def test_source_is_the_keyword_and_the_old_name_is_refused():
    # Regression (issue 18): errors about the preset named `name_or_path` (load_config's
    # argument), not `source`; the old keyword must be refused naming the new one.
    from clln_theory.errors import ArgumentError, ConfigError

    with pytest.raises(ArgumentError, match=r"`name_or_path`.*renamed `source`"):
        fig1_experiment(name_or_path="fig1")  # type: ignore[call-arg]
    with pytest.raises(ArgumentError, match="unexpected keyword `path`"):
        fig1_experiment(path="fig1")  # type: ignore[call-arg]
    for bad in (None, 1.0, "", object()):
        for face in (fig1_experiment, run_fig1):
            with pytest.raises(ArgumentError, match="`source`"):
                face(bad)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"`source` must describe Fig\. 1"):
        fig1_experiment("exp1")
    with pytest.raises(ConfigError, match="neither a TOML file nor a preset"):
        run_fig1("no-such-preset")


def test_shape_fits_without_enough_periods_are_none_not_nan():
    # Regression (issue 18): one or two periods gave NaN slopes, ranges and roll-offs (and
    # NaN `change` for the theory's exact cycles); now None, documented, and every number of
    # the result is finite.
    res = run_fig1(tau=[1e-3])
    th = res.theory
    assert th.slope is None and th.slope_range is None and th.rolloff is None
    assert th.plateaus is not None and np.isfinite(th.plateaus).all()
    assert th.change.tolist() == [0.0]  # a closed orbit: no change over a period
    assert np.isfinite(res.small_tau_slope) and np.isfinite(res.slowest_rate)
    assert "no straight part" in th.describe() and "no slope" in repr(res)
    doc = json.loads(res.to_json())
    assert doc["curves"][0]["slope"] is None and doc["curves"][0]["slope_range"] is None
    # a curve with no period at all: nothing to fit, no plateau
    from clln_theory.experiments.fig1 import _curve

    empty = _curve("regression", "theory", np.array([1e-3]), np.array([np.nan]),
                   np.array([np.nan]), np.array([np.nan]), 0.0)  # fmt: skip
    assert (empty.slope, empty.rolloff, empty.plateaus, empty.plateau_spread) == (None,) * 4
    assert "no Ē" in empty.describe()


def test_fig1_result_checks_its_fields(quick):
    # `Fig1Result` is an input of `plot_fig1`: it refuses a field of another type or NaN.
    from clln_theory.errors import ArgumentError, NumericalRangeError

    for field, value, error in [
        ("theory", "x", ArgumentError),
        ("regression", 1.0, ArgumentError),
        ("small_tau_slope", float("nan"), NumericalRangeError),
        ("pinned", -1, ArgumentError),
        ("failures", ("x",), ArgumentError),
        ("theory_tasks", (None,), ArgumentError),
        ("metric", np.full(32, np.inf), NumericalRangeError),
    ]:
        with pytest.raises(error, match=f"`{field}`"):
            dataclasses.replace(quick, **{field: value})
    assert dataclasses.replace(quick, small_tau_slope=None, slowest_rate=None).pinned >= 0


def test_plot_refuses_bad_arguments_with_typed_errors(quick, tmp_path):
    pytest.importorskip("matplotlib")
    from clln_theory.errors import ArgumentError, FileWriteError
    from clln_theory.plotting import plot_fig1

    with pytest.raises(ArgumentError, match="`result`"):
        plot_fig1(None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="`path`"):
        plot_fig1(quick, tmp_path / "fig1.xyz")
    with pytest.raises(FileWriteError):
        plot_fig1(quick, tmp_path / "no" / "fig1.png")
    one = run_fig1(tau=[1e-3])  # no slope, no roll-off: drawn without them
    assert len(plot_fig1(one).axes) == 2
