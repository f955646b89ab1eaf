"""`reproduce exp3` with `[bias] state = ...` (a copy of the preset with that key) on SYNTHETIC
files in the upstream layout. The real Fig. 3 measurements are a blind test and never read here:
the bow-ties come from the closed-form orbit of the preset's own calibrated tasks under a known
affine bias."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from clln_theory.errors import ConfigError
from clln_theory.experiments import load_config, reproduce
from clln_theory.experiments.specs import BiasSpec, DataSpec
from clln_theory.model import AffineBias
from clln_theory.theory import periodic_orbit

PRESET = Path(__file__).parents[2] / "clln_theory" / "experiments" / "presets" / "exp3.toml"
TAUS = [0.01, 0.025, 0.1, 0.4, 1.592, 6.0]
N = 32


def _tasks():
    cfg = load_config("exp3")
    bare = replace(cfg, bias=BiasSpec((-1.79, 0.68), (), None), data=DataSpec(None, None, ()),
                   sweep=replace(cfg.sweep, tau=(1.0,), cycles=()))  # fmt: skip
    a, b = reproduce(bare, grid_points=0).tasks
    return a.linear, b.linear


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    la, lb = _tasks()
    bias = AffineBias([-1.79, 0.68], [[-0.5, 0.2], [0.1, -0.3]], 0.5 * (la.G_star + lb.G_star))
    root = tmp_path_factory.mktemp("upstream")
    mse = root / "small network" / "MSE-DG2-Data"
    bow = root / "small network" / "experimental_bowties"
    mse.mkdir(parents=True)
    bow.mkdir(parents=True)
    D2 = [periodic_orbit(la, lb, B=bias, tau=t).span ** 2 for t in TAUS]
    np.savetxt(mse / "measured-DG2-exp3.csv", np.c_[TAUS, D2], delimiter=",")
    np.savetxt(mse / "measured-MSE-exp3.csv", np.c_[TAUS, 1e-4 * np.ones(len(TAUS))],
               delimiter=",")  # fmt: skip
    for tau, tag in ((0.025, "0.025"), (0.1, "0.1"), (0.4, "0.4"), (1.592, "1.592")):
        t = (tau / 2 - 1.5 * tau / N + tau / N * np.arange(N)) % tau
        G = periodic_orbit(la, lb, B=bias, tau=tau).trajectory(t).G
        np.savetxt(bow / f"bowtie-exp3-{tag}s.csv", G.T, delimiter=",")
    return root


def _preset_with(tmp_path, line: str) -> Path:
    text = PRESET.read_text().replace("paper = [-1.79, 0.68]   # V/s, App. E",
                                      f"paper = [-1.79, 0.68]\n{line}")  # fmt: skip
    path = tmp_path / "exp3_state.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("state", ["affine", "along-lines"])
def test_reproduce_exp3_with_a_state_bias(upstream, tmp_path, state):
    rep = reproduce(_preset_with(tmp_path, f'state = "{state}"'), data_dir=upstream, grid_points=0)
    s = json.loads(rep.to_json())["summary"]
    assert s["bias_state"] == state
    sb = s["state_bias"]
    assert sb["model"] == state and len(sb["B0"]) == 2 and len(sb["floquet_max"]) == len(TAUS)
    # alpha (two points) has no solution line: one gain, along beta's line
    assert len(sb["gains"]) == 1 and sb["gains_std"][0] is not None
    assert np.all(np.isfinite(rep.D2_theory[:4]))
    if state == "along-lines":  # alpha's component of B0 only from the positions
        assert sb["fitted_to_positions"]


def test_constant_state_is_the_default(upstream, tmp_path):
    rep = reproduce(_preset_with(tmp_path, 'state = "constant"'), data_dir=upstream, grid_points=0)
    base = reproduce("exp3", data_dir=upstream, grid_points=0)
    assert rep.state_bias is None
    np.testing.assert_array_equal(rep.D2_theory, base.D2_theory)


def test_an_unknown_state_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"bias\.state"):
        load_config(_preset_with(tmp_path, 'state = "quadratic"'))
