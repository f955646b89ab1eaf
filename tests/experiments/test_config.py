"""Experiment descriptions (clln_theory.experiments.config): presets, errors naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import tomllib

from clln_theory.errors import ArgumentError, ConfigError, NumericalRangeError
from clln_theory.experiments import paper
from clln_theory.experiments.config import list_presets, load_config, parse_config

PRESETS = Path(__file__).resolve().parents[2] / "clln_theory" / "experiments" / "presets"


def _raw(name="exp1"):
    return tomllib.loads((PRESETS / f"{name}.toml").read_text())


def test_presets_listed_and_loaded():
    assert list_presets() == ["exp1", "exp2", "exp3", "fig1", "fig3"]
    for name in list_presets():
        cfg = load_config(name)
        assert cfg.name == name
        if name != "fig1":  # the paper's small network; fig1 is the full (Fig. 5) network
            assert cfg.network.gate_names == ("Low-Output", "High-Output")  # G = (G-, G+)


#: The rate circuit of each preset (Eq. C1 for Fig. 2, Eq. C2 for Fig. 3) and its factor r.
PRESET_RATES = {
    "exp1": (paper.FIG2_R0, paper.FIG2_C0, paper.FIG2_R),
    "exp2": (paper.FIG2_R0, paper.FIG2_C0, paper.FIG2_R),
    "fig3": (paper.FIG3_R0, paper.FIG3_C0, paper.FIG3_R),
}


@pytest.mark.parametrize("name", ["exp1", "exp2", "fig3"])
def test_presets_agree_with_paper_constants(name):
    # the presets are the single source of the experiments; the constants of paper.py (with
    # their sources) must be the numbers the presets use
    cfg, ref = load_config(name), paper.EXPERIMENTS[name]
    for spec, tname in zip(cfg.tasks, ("alpha", "beta"), strict=True):
        assert spec.name == tname
        got = tuple((p.inputs["Input"], p.label) for p in spec.points)
        assert got == ref.tasks[tname]
        for p in spec.points:
            assert p.inputs["High"] == paper.V_PLUS and p.inputs["Low"] == paper.V_MINUS
            assert p.inputs["Input"] in (paper.V_PLUS, paper.V_MINUS)  # App. B: V1 = V+ or V-
        if ref.lines:
            assert tuple((ln.a, ln.c) for ln in spec.lines) == ref.lines[tname]
    assert cfg.reference == ref.reference
    assert cfg.bias.paper == ref.bias
    assert (cfg.rate.R0, cfg.rate.C0, cfg.rate.r) == PRESET_RATES[name]
    assert (ref.R0, ref.C0, ref.r) == PRESET_RATES[name]
    assert cfg.rate.V0 == paper.V_0
    gamma = ref.r * paper.gamma_from_components(ref.R0, ref.C0)
    np.testing.assert_allclose(cfg.rate.gamma, gamma, rtol=1e-12)
    assert cfg.gate_box == (paper.G_MIN, paper.G_MAX)
    assert set(cfg.network.S) == {paper.S} and set(cfg.network.V_T) == {paper.V_T}
    fixed = [e for e in cfg.network.edges if not e.learning]
    assert len(fixed) == 1 and fixed[0].K == 1.0 / paper.R_FIXED
    for m in cfg.bias.measurements:
        assert m.file.endswith(ref.drift_files[m.task]) and m.window == ref.drift_windows[m.task]


def test_paper_experiments_are_read_from_the_presets():
    assert list(paper.EXPERIMENTS) == list(paper.PAPER_EXPERIMENTS) == ["exp1", "exp2", "fig3"]
    assert paper.EXPERIMENTS["exp1"] is paper.EXPERIMENTS["exp1"]  # read once
    assert paper.EXPERIMENTS["exp1"].drift_windows == {"alpha": 13, "beta": 13}
    assert paper.EXPERIMENTS["fig3"].lines == {} and paper.EXPERIMENTS["fig3"].drift_files == {}
    with pytest.raises(KeyError):
        paper.EXPERIMENTS["exp3"]
    with pytest.raises(ArgumentError, match="`name`"):
        paper.experiment_tasks("exp3")
    alpha, beta = paper.experiment_tasks("fig3")
    assert alpha.n_points == 2 and beta.n_points == 1 and alpha.output == "Output"


def _set(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[int(k)] if isinstance(d, list) else d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


_DELETE = object()

BAD = [
    # (path to change, new value, words the message must contain)
    ("name", _DELETE, "Missing required key 'name'"),
    ("colour", "blue", "Unknown key 'colour'"),
    ("network.output", _DELETE, "Missing required key 'network.output'"),
    ("network.output", "Nowhere", "network.output"),
    ("network.edges.2.R", "five hundred", "network.edges[2].R"),
    ("network.edges.2.Rr", 500.0, "Unknown key 'network.edges[2].Rr'"),
    ("network.edges.0.learning", "yes", "network.edges[0].learning"),
    ("network.edges.1.K", 1e-3, "needs a network with two gates"),  # G+ becomes a fixed edge
    ("tasks.0.points.0.label", _DELETE, "Missing required key 'tasks[0].points[0].label'"),
    ("tasks.0.points.0.label", "0.31", "tasks[0].points[0].label"),
    ("tasks.1.points.0.line", [0.4], "tasks[1].points[0].line"),
    ("tasks.0.fit_input", _DELETE, "tasks[0].fit_input"),
    ("tasks.0.fit_input", "Output", "tasks[0].fit_input"),
    ("theory.reference", [3.0], "theory.reference"),
    ("theory.gate_box", [5.0, 1.0], "theory.gate_box"),
    ("rate.R0", _DELETE, "Missing required key 'rate.R0'"),
    ("rate.R0", -100.0, "rate.R0"),
    ("rate.gamma", 3e6, "conflicts with 'rate.gamma'"),
    ("bias.given", [1.0, 2.0], "bias.measure"),
    ("bias.measure.alpha.kind", "guess", "bias.measure.alpha.kind"),
    ("bias.measure.beta.window", 0, "bias.measure.beta.window"),
    ("bias.measure.beta", _DELETE, "bias.measure.beta"),
    ("sweep.tau", "all", "sweep.tau"),
    ("sweep.cycles", [0.02, -1.0], "sweep.cycles"),
    ("simulate.device", "mosfet", "Key 'simulate.device' must be one of"),
    ("simulate.t_h", 0.0, "simulate.t_h"),
    ("simulate.gate_limits", [5.0, 1.0], "simulate.gate_limits"),
    ("simulate.G0", [0.5, 3.0], "Key 'simulate.G0' must be within the gate limits"),
    ("simulate.G0", [3.0], "simulate.G0"),
    ("simulate.B", [1.0, "x"], "simulate.B[1]"),
    ("simulate.max_periods", 2.5, "simulate.max_periods"),
    ("simulate.tol", -1.0, "simulate.tol"),
    ("simulate.engine", "fast", "Unknown key 'simulate.engine'"),
]


@pytest.mark.parametrize(("path", "value", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_key_fails_with_one_sentence_naming_it(path, value, words):
    raw = copy.deepcopy(_raw())
    _set(raw, path, value)
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    msg = str(info.value)
    assert words in msg
    assert "\n" not in msg and msg.rstrip().endswith((".", ")")), msg


def test_learning_edge_with_a_conductance_is_refused():
    raw = _raw()
    raw["network"]["edges"][0].update(learning=True, K=1e-3)
    with pytest.raises(ConfigError, match=r"network\.edges\[0\]\.K' is set on a learning edge"):
        parse_config(raw)


def test_two_tasks_required_and_reference_or_G_star():
    raw = _raw()
    raw["tasks"] = raw["tasks"][:1]
    with pytest.raises(ConfigError, match="two or more tasks"):
        parse_config(raw)
    raw = _raw()
    del raw["theory"]["reference"]
    with pytest.raises(ConfigError, match=r"Missing key 'theory\.reference'"):
        parse_config(raw)
    raw["tasks"][0]["G_star"] = [2.5, 3.6]
    raw["tasks"][1]["G_star"] = [3.2, 3.0]
    assert parse_config(raw).tasks[0].G_star == (2.5, 3.6)


def test_file_that_is_not_toml_and_unknown_preset(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(f)
    with pytest.raises(ConfigError, match="neither a TOML file nor a preset"):
        load_config("exp9")


def test_gamma_given_directly_and_tau_grid():
    raw = _raw("fig3")
    raw["rate"] = {"gamma": 2.4e6}
    raw["sweep"]["tau"] = {"min": 1e-3, "max": 1.0, "num": 4}
    cfg = parse_config(raw)
    assert cfg.rate.gamma == 2.4e6 and cfg.rate.r is None
    np.testing.assert_allclose(cfg.sweep.tau, [1e-3, 1e-2, 1e-1, 1.0])


def test_gamma_from_components_refuses_non_finite_values_with_a_typed_error():
    # Regression: a NaN component returned NaN (NaN <= 0 is False) and bad values raised a bare
    # ValueError. A library call: an ArgumentError, never a TOML ConfigError.
    with pytest.raises(ArgumentError, match="`R0`"):
        paper.gamma_from_components(float("nan"), 22e-6)
    with pytest.raises(ArgumentError, match="`C0`"):
        paper.gamma_from_components(100.0, -1.0)


def test_simulate_section_defaults_and_absence():
    from clln_theory.experiments._sections import _SIM_MAX_PERIODS, _SIM_T_H, _SIM_TOL

    raw = copy.deepcopy(_raw())
    raw["simulate"] = {}  # every key defaulted
    sim = parse_config(raw).simulate
    cfg = load_config("exp1")
    assert sim.device == "three-regime" and sim.t_h == _SIM_T_H == 100e-6 and sim.B is None
    assert sim.gate_limits == cfg.gate_box and sim.G0 == cfg.reference  # from [theory]
    assert sim.tol == _SIM_TOL == 1e-10 and sim.max_periods == _SIM_MAX_PERIODS == 5000
    assert load_config("fig3").simulate is None
    from clln_theory.experiments import reproduce

    with pytest.raises(ArgumentError, match=r"\[simulate\] section"):
        reproduce("fig3", simulate=True, grid_points=0)


def test_rate_spec_is_never_built_without_its_gamma():
    # Regression (issue 18): the reader built `RateSpec(gamma=NaN, R0, C0, V0, r)` and filled γ
    # in later, so a NaN γ with components was a valid record. Now γ is computed first and every
    # RateSpec validates it.
    from clln_theory.electrical import learning_rate_gamma
    from clln_theory.experiments import RateSpec

    for bad in (float("nan"), float("inf"), 0.0, -1.0, None, "x"):
        with pytest.raises(ArgumentError, match="`gamma`"):
            RateSpec(gamma=bad, R0=100.0, C0=22e-6, V0=0.33, r=2.0)
    for name in ("exp1", "exp3", "fig1"):
        rate, S = load_config(name).rate, float(load_config(name).network.S[0])
        assert rate.R0 is not None and rate.C0 is not None and rate.V0 is not None
        assert rate.gamma == learning_rate_gamma(rate.R0, rate.C0, S, V0=rate.V0, r=rate.r)
    raw = _raw()
    raw["rate"] = {"R0": 1e-300, "C0": 1e-300}  # γ overflows: refused, never a record with inf
    with pytest.raises(NumericalRangeError, match="computed gamma is not finite"):
        parse_config(raw)
