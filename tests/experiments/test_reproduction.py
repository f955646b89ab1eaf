"""Calibration (clln_theory.inference.calibration) and the pipeline (experiments.reproduction).

Reference answers: the 2+1 star network solved by hand. Its free output is
O = Σ K_i V_i / Σ K_i with K = S (G − V_T) on the gates and K₀ = 1/500 Ω on the input edge, so the
solution set of O = L is the line  S(G₊−V_T)(V₊−L) + S(G₋−V_T)(V₋−L) + K₀(V₁−L) = 0,  i.e.
G₊ = a G₋ + c with a = (L − V₋)/(V₊ − L) and c = V_T (1 − a) − K₀ (V₁ − L)/(S (V₊ − L)).
At a solution C = K_tot (O − L)², so ∂²C/∂G² = 2 K_tot ∇O ∇Oᵀ with ∂O/∂G_j = S (V_j − L)/K_tot.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from clln_theory.errors import ArgumentError, ConfigError, SingularSystemError, TaskError
from clln_theory.experiments import paper
from clln_theory.experiments.config import load_config
from clln_theory.experiments.reproduction import reproduce
from clln_theory.inference.calibration import (
    SolutionLine,
    calibrate_point,
    calibrate_task,
    free_output,
    model_solution_line,
)
from clln_theory.model.network import star_network
from clln_theory.model.tasks import DataPoint, Task

# Calibration is two linear equations on an exactly linear solution set: round-off only.
FIT_RTOL = 1e-9
# M from the adjoint Jacobian vs the closed form above: round-off of a few solves.
HESSIAN_RTOL = 1e-8
V_P, V_M, S, V_T, K0 = paper.V_PLUS, paper.V_MINUS, paper.S, paper.V_T, 1.0 / paper.R_FIXED


def _point(V1, L):
    return DataPoint({"High": V_P, "Low": V_M, "Input": V1}, L)


def _closed_form_fit(a, c):
    L = (a * V_P + V_M) / (1.0 + a)
    V1 = L - (c - V_T * (1.0 - a)) * S * (V_P - L) / K0
    return V1, L


def _closed_form_hessian(G, L):
    K = np.array([S * (G[0] - V_T), S * (G[1] - V_T)])
    K_tot = K.sum() + K0
    grad = S * np.array([V_M - L, V_P - L]) / K_tot
    return 2.0 * K_tot * np.outer(grad, grad)


@pytest.mark.parametrize("exp", ["exp1", "exp2"])
def test_calibration_matches_closed_form_on_paper_lines(exp):
    out = free_output(star_network(), "Output")
    for task, V1_nominal in (("alpha", V_P), ("beta", V_M)):
        a, c = paper.EXPERIMENTS[exp].lines[task][0]
        cal = calibrate_point(
            out, _point(V1_nominal, 0.2), SolutionLine(a, c), fit_input="Input", centre=[3, 3.5]
        )
        V1, L = _closed_form_fit(a, c)
        np.testing.assert_allclose(cal.point.inputs["Input"], V1, rtol=FIT_RTOL)
        np.testing.assert_allclose(cal.point.label, L, rtol=FIT_RTOL)
        assert cal.residual < 1e-12
        assert cal.nominal.label == 0.2


def test_model_solution_line_matches_closed_form():
    out = free_output(star_network(), "Output")
    V1, L = V_P, 0.268
    line = model_solution_line(out, _point(V1, L))
    a = (L - V_M) / (V_P - L)
    c = V_T * (1 - a) - K0 * (V1 - L) / (S * (V_P - L))
    np.testing.assert_allclose([line.a, line.c], [a, c], rtol=FIT_RTOL)


def test_calibration_refuses_an_input_that_cannot_tilt_the_line():
    out = free_output(star_network(), "Output")
    with pytest.raises(TaskError, match="not an input"):
        calibrate_point(out, _point(V_P, 0.3), SolutionLine(2.0, -2.0), fit_input="Output")
    # dO/dV_High = K₊/K_tot is the same all along G₊ − V_T = G₋ − V_T + K₀/S (slope 1)
    with pytest.raises(SingularSystemError, match="no effective input"):
        calibrate_point(out, _point(V_P, 0.3), SolutionLine(1.0, K0 / S), fit_input="High")


def test_calibration_tolerances_and_brackets_are_validated():
    # Regression: tol = -1 raised a bare IndexError from the residual check.
    out = free_output(star_network(), "Output")
    with pytest.raises(ArgumentError, match="`tol`"):
        calibrate_point(out, _point(V_P, 0.3), SolutionLine(2.0, -2.0), fit_input="Input", tol=-1)
    with pytest.raises(ArgumentError, match="`bracket`"):
        model_solution_line(out, _point(V_P, 0.268), bracket=(5.0, 1.0))


def test_line_geometry():
    a, b = SolutionLine(2.7257, -3.3003), SolutionLine(0.43914, 1.6061)
    X = a.intersect(b)
    np.testing.assert_allclose([a.distance(X), b.distance(X)], 0.0, atol=1e-12)
    P = a.nearest([3.0, 3.5])
    np.testing.assert_allclose(a.distance(P), 0.0, atol=1e-12)
    np.testing.assert_allclose((np.array([3.0, 3.5]) - P) @ a.direction, 0.0, atol=1e-12)
    with pytest.raises(SingularSystemError):
        a.intersect(SolutionLine(2.7257, 0.0))


def test_rate_matrix_is_r_gamma_times_closed_form_hessian():
    cfg = load_config("exp1")
    spec = cfg.tasks[0]
    ct = calibrate_task(
        cfg.network,
        Task(spec.points, "Output", name="alpha"),
        spec.lines,
        fit_input="Input",
        reference=cfg.reference,
        gamma=cfg.rate.gamma,
    )
    H = _closed_form_hessian(ct.G_star, ct.task.points[0].label)
    np.testing.assert_allclose(ct.linear.M, cfg.rate.gamma * H, rtol=HESSIAN_RTOL)
    # G* is the point of the measured line nearest the reference point (3.0, 3.5)
    np.testing.assert_allclose(ct.G_star, spec.lines[0].nearest([3.0, 3.5]), rtol=1e-12)
    # and its null direction is the line's direction
    np.testing.assert_allclose(abs(ct.linear.eigvecs[:, 0] @ spec.lines[0].direction), 1, 1e-9)


def test_two_point_task_linearizes_at_the_intersection():
    rep = reproduce("fig3", tau=[0.01, 0.1])
    alpha = rep.tasks[0]
    assert alpha.linear.rank == 2  # two points, two gates: no null direction
    X = alpha.lines[0].intersect(alpha.lines[1])
    np.testing.assert_allclose(alpha.G_star, X, rtol=1e-12)
    O = free_output(rep.config.network, "Output")
    for p in alpha.task.points:
        np.testing.assert_allclose(O(alpha.G_star, p), p.label, atol=1e-12)


def test_orbit_quantities_are_consistent():
    rep = reproduce("fig3", tau=[0.005, 0.05, 0.5])
    np.testing.assert_allclose(
        rep.D2_theory, np.sum((rep.orbit.G_half - rep.orbit.G0) ** 2, axis=1)
    )
    out = free_output(rep.config.network, "Output")

    def E(G):
        return 0.5 * sum(
            np.mean([(p.label - out(G, p)) ** 2 for p in t.task.points]) for t in rep.tasks
        )

    for k in range(3):
        expected = 0.5 * (E(rep.orbit.G_half[k]) + E(rep.orbit.G0[k]))  # (A4)
        np.testing.assert_allclose(rep.Ebar_theory[k], expected, rtol=1e-12)
    assert rep.in_box.all() and np.isnan(rep.D2_measured).all()


USER_TOML = """
name = "mine"
description = "a 2+1 network with a load resistor to ground and my own lines"

[network]
output = "Out"
supplies = { Hi = 0.5, Lo = 0.0, Gnd = 0.0 }
edges = [
  { name = "gate-a", a = "Lo", b = "Out", S = 9e-4, V_T = 0.6 },
  { name = "gate-b", a = "Hi", b = "Out", S = 9e-4, V_T = 0.6 },
  { name = "in", a = "In", b = "Out", R = 680.0 },
  { name = "load", a = "Out", b = "Gnd", R = 10000.0 },
]

[[tasks]]
name = "alpha"
fit_input = "In"
points = [ { inputs = { In = 0.5 }, label = 0.3, line = [2.0, -2.0] } ]

[[tasks]]
name = "beta"
fit_input = "In"
points = [ { inputs = { In = 0.0 }, label = 0.15, line = [0.5, 1.5] } ]

[theory]
reference = [3.0, 3.5]
gate_box = [1.0, 5.0]

[rate]
gamma = 2.0e6

[bias]
given = [1.0, 2.0]

[sweep]
tau = [0.001, 0.01, 0.1]
cycles = [0.01]
"""


def test_a_users_own_network_and_lines_run_without_code_change(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(textwrap.dedent(USER_TOML))
    rep = reproduce(f)
    assert rep.config.network.gate_names == ("gate-a", "gate-b")
    out = free_output(rep.config.network, "Out")
    for t, line in zip(rep.tasks, (SolutionLine(2.0, -2.0), SolutionLine(0.5, 1.5)), strict=True):
        p = t.task.points[0]
        for g1 in (2.0, 3.0, 4.0):  # the fitted model's solution set is the user's line
            np.testing.assert_allclose(out(line.at(g1), p), p.label, atol=1e-12)
    assert rep.D2_theory.shape == (3,) and np.all(np.diff(rep.D2_theory) > 0)
    rows = json.loads(rep.to_json())["table"]
    assert [r["tau"] for r in rows] == [0.001, 0.01, 0.1]
    csv_text = rep.to_csv(tmp_path / "mine.csv")
    header = next(ln for ln in csv_text.splitlines() if not ln.startswith("#"))
    assert header.startswith("tau,D2_theory,D2_measured")
    assert csv_text.startswith("tau,")  # header first; the provenance in the sidecar
    assert json.loads((tmp_path / "mine.csv.json").read_text())["package"] == "clln_theory"


def test_user_toml_error_names_the_key(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(textwrap.dedent(USER_TOML).replace("label = 0.15,", "lable = 0.15,"))
    with pytest.raises(ConfigError, match=r"Unknown key 'tasks\[1\]\.points\[0\]\.lable'"):
        reproduce(f)


def test_simulator_with_linear_devices_reproduces_the_pipeline_span_as_bias_shrinks():
    # The pipeline (calibrated tasks, M = r gamma J, closed orbit (D11)) and the independent
    # discrete simulator (Eq. (7) with A0 = r/(V0 R0 C0) from the same [rate] table, linear
    # devices, small t_h) must agree on the cycle span at small tau, up to the linearization error,
    # which is O(B): the orbit's centre sits ~M^+ B away from G*. Checked as a fitted slope.
    from pathlib import Path

    import tomllib

    from clln_theory.electrical.rule import learning_rate_A0
    from clln_theory.experiments import config
    from clln_theory.experiments.config import parse_config
    from clln_theory.simulator import TrainingProtocol, limit_cycle
    from clln_theory.theory.orbits import periodic_orbit

    preset = Path(config.__file__).parent / "presets" / "exp1.toml"
    raw = tomllib.loads(preset.read_text(encoding="utf-8"))
    raw.pop("data", None)
    raw["bias"] = {"given": list(paper.EXPERIMENTS["exp1"].bias)}
    raw["sweep"] = {"tau": [2e-3], "cycles": []}
    cfg = parse_config(raw)
    rep = reproduce(cfg, grid_points=0)
    rate = cfg.rate
    A0 = learning_rate_A0(rate.R0, rate.C0, V0=rate.V0, r=rate.r)
    np.testing.assert_allclose(A0 / float(cfg.network.S[0]), rate.gamma, rtol=1e-14)  # same γ
    ta, tb = rep.tasks
    tau, gaps = 2e-3, []
    scales = np.array([0.1, 0.01])
    for scale in scales:
        B = scale * rep.B
        orbit = periodic_orbit(ta.linear, tb.linear, B=B, tau=tau)
        lc = limit_cycle(cfg.network, ta.task, tb.task, tau=tau, B=B,
                         protocol=TrainingProtocol(A0=A0, t_h=1e-5), gate_limits=None, G0=orbit.G0,
                         tol=1e-13)  # fmt: skip
        gaps.append(abs(lc.span / float(orbit.span) - 1.0))
    slope = np.polyfit(np.log(scales), np.log(gaps), 1)[0]
    assert gaps[0] < 1e-2  # 0.4 % at a tenth of the measured bias
    assert abs(slope - 1.0) < 0.1, (gaps, slope)


# Zero-bias ("perfect") prediction, the dashed line of the paper's Fig. 3A,B.
# The closed orbit of compatible tasks with B = 0 is the joint solution; its span is round-off of
# the orbit solve (~eps * kappa * |G|, kappa modest for the 2+1 network): 1e-11 of |G*| is ample.
ZERO_SPAN_RTOL = 1e-11
# Small-tau span D = (tau/2)|v| (1 + O(tau^2)): at tau <= 1 ms the relative error measured for
# Fig. 3 is 5e-5 (it grows as tau^2, 1e-3 at 4 ms), so 1e-3 tests the slope, not the fit.
SMALL_TAU_SLOPE_RTOL = 1e-3


def _exp1_without_data(taus):
    from pathlib import Path

    import tomllib

    from clln_theory.experiments import config
    from clln_theory.experiments.config import parse_config

    preset = Path(config.__file__).parent / "presets" / "exp1.toml"
    raw = tomllib.loads(preset.read_text(encoding="utf-8"))
    raw.pop("data", None)
    raw["bias"] = {"given": list(paper.EXPERIMENTS["exp1"].bias)}
    raw["sweep"] = {"tau": list(taus), "cycles": []}
    return parse_config(raw)


def test_zero_bias_orbit_of_compatible_tasks_sits_at_the_joint_solution(tmp_path):
    rep = reproduce(_exp1_without_data([1e-3, 0.03, 1.0]), grid_points=5)
    alpha, beta = rep.tasks
    G_joint = alpha.lines[0].intersect(beta.lines[0])
    scale = float(np.linalg.norm(G_joint))
    assert np.all(np.sqrt(rep.D2_bias_free) <= ZERO_SPAN_RTOL * scale), rep.D2_bias_free
    E_joint = 0.5 * (
        alpha.errors(rep.config.network, G_joint) + beta.errors(rep.config.network, G_joint)
    )
    # E is quadratic in the distance from the joint solution: round-off squared
    np.testing.assert_allclose(
        rep.Ebar_bias_free, E_joint, rtol=0, atol=(ZERO_SPAN_RTOL * scale) ** 2
    )
    assert np.all(rep.D2_theory > 1e6 * rep.D2_bias_free)  # the bias makes all of the span here
    assert np.all(np.sqrt(rep.grid["D2_bias_free"]) <= ZERO_SPAN_RTOL * scale)
    # new columns, after the old ones; the old ones unchanged
    row = json.loads(rep.to_json())["table"][1]
    assert row["D2_bias_free"] == float(rep.D2_bias_free[1])
    assert row["D2_theory"] == float(rep.D2_theory[1])
    header = next(ln for ln in rep.to_csv().splitlines() if not ln.startswith("#"))
    assert header.endswith("G_min,G_max,D2_bias_free,Ebar_bias_free,note")


def test_fig3_zero_bias_span_slope_matches_small_tau_and_is_below_the_biased_one():
    from clln_theory.theory.asymptotics import small_tau

    taus = np.array([2.5e-4, 5e-4, 1e-3])  # the smallest periods, well below 2 / max eig(M)
    rep = reproduce("fig3", tau=taus, grid_points=0)
    asym = small_tau(rep.tasks[0].linear, rep.tasks[1].linear, B=rep.B)
    assert not asym.compatible

    def slope(D2):  # D = slope * tau, least squares through the origin
        return float(np.sqrt(D2) @ taus / (taus @ taus))

    free, biased = slope(rep.D2_bias_free), slope(rep.D2_theory)
    np.testing.assert_allclose(free, asym.span_slope_bias_free, rtol=SMALL_TAU_SLOPE_RTOL)
    np.testing.assert_allclose(biased, asym.span_slope, rtol=SMALL_TAU_SLOPE_RTOL)
    assert free < biased  # 3.49 V/s against 4.58 V/s
    # the incompatible tasks keep a finite error at zero bias, below the biased plateau (Fig. 3A)
    assert np.all(rep.Ebar_bias_free > 0) and np.all(rep.Ebar_bias_free < rep.Ebar_theory)


def test_reproduction_record_checks_its_fields_on_construction():
    # Regression (issue 18): `Reproduction`, an input of `plot_reproduction`, took any value in
    # any field (a string for an orbit, columns of the wrong length, inf).
    import dataclasses

    from clln_theory.errors import NumericalRangeError, ShapeError

    rep = reproduce(_exp1_without_data([1e-3, 0.03, 1.0]), grid_points=0)
    T, n = rep.tau.size, rep.config.network.n_gates
    assert dataclasses.replace(rep).D2_theory is rep.D2_theory  # the sound record rebuilds
    for field, value, error in [
        ("orbit", "x", ArgumentError),
        ("config", None, ArgumentError),
        ("tasks", (rep.tasks[0], "beta"), ArgumentError),
        ("notes", ("a", 1, "c"), ArgumentError),
        ("tau", np.array([1e-3, -0.03, 1.0]), ArgumentError),
        ("tau", np.array([1e-3, np.nan, 1.0]), NumericalRangeError),
        ("B", np.full(n + 1, 1.0), ShapeError),
        ("B", np.array([np.nan, 1.0]), NumericalRangeError),
        ("D2_theory", np.ones(T + 1), ShapeError),
        ("D2_theory", np.array([1.0, np.inf, 1.0]), NumericalRangeError),
        ("G_lo", np.ones((T, n + 1)), ShapeError),
        ("in_box", np.ones(T), ArgumentError),  # flags, not numbers
        ("saturated", np.zeros(T + 1, dtype=bool), ShapeError),
        ("notes", ("",) * (T + 1), ShapeError),
        ("floquet", np.ones(2 * T), ShapeError),
    ]:
        with pytest.raises(error, match=f"`{field}`"):
            dataclasses.replace(rep, **{field: value})
    # NaN is a documented missing value of the measured and theory columns; empty optional
    # columns are a result built without them
    missing = dataclasses.replace(
        rep, D2_measured=np.full(T, np.nan), Ebar_theory=np.full(T, np.nan),
        saturated=np.zeros(0, dtype=bool), D2_unconstrained=np.zeros(0), notes=(),
    )  # fmt: skip
    assert missing.rows()[0]["D2_measured"] is None


def test_reproduce_refuses_a_period_whose_orbit_overflows_naming_tau():
    # Regression (issue 18): tau = 1e300 s returned inf / NaN columns (the orbit without limits
    # drifts as B tau, whose square leaves float64's range).
    from clln_theory.errors import NumericalRangeError

    with pytest.raises(NumericalRangeError, match="`tau`"):
        reproduce("exp1", tau=[1e300], grid_points=0, cycle_samples=11)
    rep = reproduce("exp1", tau=[1e3], grid_points=0, cycle_samples=11)  # long, but finite
    assert np.all(np.isfinite(rep.D2_theory)) and np.all(np.isfinite(rep.D2_unconstrained))
