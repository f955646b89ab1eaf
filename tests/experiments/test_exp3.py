"""Fig. 3 with its measurements (preset ``exp3``) on SYNTHETIC files in the upstream layout, and
the round trip of the two bias kinds measured from a limit cycle (``cycle-drift``,
``cycle-stationary``).

The real Fig. 3 measurements are a blind test of this project and are never read here: the files
are generated from the closed-form orbit (D11) of the preset's own calibrated tasks with a known
bias, written in the bow-tie format (two rows, G₋ then G₊, N samples over one period).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from clln_theory.cli import main
from clln_theory.errors import DataFormatError
from clln_theory.experiments import load_config, reproduce
from clln_theory.experiments.specs import BiasSpec, DataSpec
from clln_theory.inference import (
    combine_projections,
    cycle_drift_projection,
    cycle_stationary_projection,
)
from clln_theory.theory import periodic_orbit

B_TRUE = np.array([-1.79, 0.68])  # V/s, App. E's Fig. 3 bias
#: The issue's acceptance bound on the recovered bias.
B_RTOL = 0.02
N_SAMPLES = 32  # samples per period in the synthetic bow-ties
TAUS = [0.01, 0.025, 0.1, 0.4, 1.592, 6.0, 12.0]  # s; the last two leave the gate box
SMALL = "small network"


def _calibrated():
    """The preset's tasks calibrated to its measured lines (`CalibratedTask`: task, linear)."""
    cfg = load_config("exp3")
    bare = replace(cfg, bias=BiasSpec(tuple(B_TRUE), (), None), data=DataSpec(None, None, ()),
                   sweep=replace(cfg.sweep, tau=(1.0,), cycles=()))  # fmt: skip
    return reproduce(bare, grid_points=0).tasks


def _tasks():
    a, b = _calibrated()
    return a.linear, b.linear


def _bowtie(task_a, task_b, tau, *, n=N_SAMPLES):
    """N samples over one period; sample 1 ends alpha's half, samples 2.. are beta's half."""
    dt = tau / n
    t = (tau / 2 - 1.5 * dt + dt * np.arange(n)) % tau
    return periodic_orbit(task_a, task_b, B=B_TRUE, tau=tau).trajectory(t).G


def _write_upstream(root, task_a, task_b):
    mse = root / SMALL / "MSE-DG2-Data"
    bow = root / SMALL / "experimental_bowties"
    mse.mkdir(parents=True)
    bow.mkdir(parents=True)
    orbit = periodic_orbit(task_a, task_b, B=B_TRUE, tau=np.array(TAUS))
    D2 = np.asarray(orbit.span) ** 2
    np.savetxt(mse / "measured-DG2-exp3.csv", np.c_[TAUS, D2], delimiter=",")
    np.savetxt(mse / "measured-MSE-exp3.csv", np.c_[TAUS, 1e-4 * np.ones(len(TAUS))],
               delimiter=",")  # fmt: skip
    for tau, tag in ((0.025, "0.025"), (0.1, "0.1"), (0.4, "0.4"), (1.592, "1.592")):
        np.savetxt(bow / f"bowtie-exp3-{tag}s.csv", _bowtie(task_a, task_b, tau).T, delimiter=",")
    return root


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    a, b = _tasks()
    return _write_upstream(tmp_path_factory.mktemp("upstream"), a, b), a, b


@pytest.mark.parametrize("tau", [4.0, 8.0])
def test_round_trip_of_both_cycle_kinds_recovers_B(tmp_path, tau):
    a, b = _tasks()
    path = tmp_path / f"bowtie-synthetic-{tau}s.csv"
    np.savetxt(path, _bowtie(a, b, tau).T, delimiter=",")  # the bow-tie format: rows G-, G+
    from clln_theory.data import load_cycle

    cyc = load_cycle(path)
    assert cyc.tau == tau and cyc.G.shape == (N_SAMPLES, 2)
    p_beta = cycle_drift_projection(cyc.G, tau=cyc.tau, window=[4, 16])
    p_alpha = cycle_stationary_projection(a, cyc.G[1])
    B = combine_projections([p_alpha, p_beta]).B
    assert np.linalg.norm(B - B_TRUE) / np.linalg.norm(B_TRUE) < B_RTOL, B


#: A known bias for the simulated bow-ties, V/s, of the size of App. E's (|B| = 1.98 vs 1.91 V/s).
#: It points 24 deg from App. E's, so that alpha's stationary point sits 0.05 V from G* along
#: alpha's soft direction instead of 0.23 V: cycle-stationary reads a = M (G - G*) with M taken
#: at G*, and the circuit's nonlinearity moves it by ~20 % per volt of that offset (measured with
#: App. E's B: 4.7 % on alpha's projection, 6.3 % on the recovered B at tau = 3 s). Recovered
#: here within 1.0 % (tau = 3 s) and 1.2 % (tau = 4 s). Three-regime devices (tasks recalibrated
#: with `calibrate_to_line`) are not a round trip of this kind: their curvature at G* is not the
#: linear theory's M, and alpha's projection is off by ~7 % at any B (6.8 % at B_SIM / 4).
B_SIM = np.array([-1.4, 1.4])
#: Periods of the simulated cycles, s: tau/2 is >= 6 of alpha's slowest relaxation times
#: (1/4.19 s), and beta's drift (1.2 V per half-period at tau = 4 s) stays in the gate box.
SIM_TAUS = [3.0, 4.0]
SIM_WINDOW = [4, 16]  # beta's drift: velocities G[i] - G[i-1], i = 4..15, past its transient
SIM_SAMPLE = 1  # alpha at rest: the last sample of its half-period
#: Samples per period of the simulated bow-ties: tau/(2N) is a whole number of 100 µs steps at
#: both periods, so every sample is a simulated state (no interpolation).
SIM_SAMPLES = 40


def _simulated_bowtie(tau, *, n=SIM_SAMPLES):
    """The simulator's limit cycle (linear devices, the preset's gate box and learning rate, the
    default 100 µs step) sampled like `_bowtie`, and alpha's calibrated task.

    The step matters for the stationary sample: alpha's two points alternate step by step, and
    the rest point of the discrete map differs from (D2)'s by O(t_h) (for a small B, a off by
    4.7 % at 1 ms, 0.5 % at 100 µs, measured).
    """
    from clln_theory import TrainingProtocol, limit_cycle
    from clln_theory.model import LinearDevice, star_network

    cfg = load_config("exp3")
    net = star_network(device=LinearDevice())
    assert net.edges == cfg.network.edges  # the preset's network
    a, b = _calibrated()
    protocol = TrainingProtocol(A0=cfg.rate.gamma * float(net.S[0]), eta=cfg.eta)
    steps = round(tau / protocol.t_h)
    box = cfg.simulate.gate_limits
    lc = limit_cycle(net, a.task, b.task, tau=tau, B=B_SIM, protocol=protocol, gate_limits=box,
                     G0=a.G_star, max_samples=steps + 1)  # fmt: skip
    dt = tau / n
    t = (tau / 2 - 1.5 * dt + dt * np.arange(n)) % tau
    k = np.rint(t / protocol.t_h).astype(int)  # every sample time is a whole number of steps
    tr = lc.trajectory
    assert tr.times.size == steps + 1 and np.allclose(tr.times[k], t, rtol=0, atol=1e-9)
    assert np.all(tr.G > box[0]) and np.all(tr.G < box[1])  # never clipped
    return tr.G[k], a


@pytest.mark.parametrize("tau", SIM_TAUS)
def test_round_trip_of_both_cycle_kinds_on_simulated_bowties(tmp_path, tau):
    """The same round trip on the nonlinear simulator's own limit cycle (discrete 100 µs steps,
    the circuit solved exactly): an independent check of the closed-form route above."""
    from clln_theory.data import load_cycle

    G, alpha = _simulated_bowtie(tau)
    name = f"bowtie-simulated-{tau:g}s.csv"
    np.savetxt(tmp_path / name, G.T, delimiter=",")  # the bow-tie format: rows G-, G+
    cyc = load_cycle(tmp_path / name)
    assert cyc.tau == tau and cyc.G.shape == (SIM_SAMPLES, 2)
    p_beta = cycle_drift_projection(cyc.G, tau=cyc.tau, window=SIM_WINDOW)
    p_alpha = cycle_stationary_projection(alpha.linear, cyc.G[SIM_SAMPLE])
    B = combine_projections([p_alpha, p_beta]).B
    assert np.linalg.norm(B - B_SIM) / np.linalg.norm(B_SIM) < B_RTOL, B
    # the same measurements through a description: [bias.measure.<task>] of both cycle kinds
    from importlib import resources

    text = (resources.files("clln_theory") / "experiments" / "presets" / "exp3.toml").read_text()
    head = text[: text.index("[bias]")]
    measure = (
        f'[bias.measure.beta]\nkind = "cycle-drift"\nfile = "{name}"\ntau = {tau}\n'
        f"window = {SIM_WINDOW}\n\n"
        f'[bias.measure.alpha]\nkind = "cycle-stationary"\nfile = "{name}"\ntau = {tau}\n'
        f"sample = {SIM_SAMPLE}\n\n[sweep]\ntau = [{tau}]\n"
    )
    toml = tmp_path / "simulated.toml"
    toml.write_text(head + measure, encoding="utf-8")
    rep = reproduce(toml, data_dir=tmp_path, grid_points=0)
    assert rep.bias is not None and np.allclose(rep.B, B, rtol=1e-12, atol=0)


def test_reproduce_exp3_on_synthetic_upstream_files(upstream):
    root = upstream[0]
    rep = reproduce("exp3", data_dir=root, grid_points=0)
    assert rep.tau.tolist() == TAUS  # every measured period runs
    # the measured D2 was generated from the same orbit: theory/measured = 1 where B is recovered
    assert not rep.in_box[-1] and rep.in_box[0]
    flagged = [r["tau"] for r in rep.rows() if r["note"]]
    assert flagged == [t for t, ok in zip(TAUS, rep.in_box, strict=True) if not ok]
    assert np.isfinite(rep.D2_theory).all()
    assert len(rep.cycles) == 4 and rep.bias is not None


def test_reproduce_exp3_cli_json_flags_out_of_box(upstream, capsys):
    root = upstream[0]
    assert main(["reproduce", "exp3", "--data-dir", str(root), "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["table"]) == len(TAUS)
    assert any(r["note"] for r in doc["table"]) and not doc["table"][0]["note"]
    assert doc["provenance"]["data_source"].startswith("--data-dir")
    assert doc["provenance"]["config"]["name"] == "exp3"


def test_reproduce_exp3_without_its_files_names_them_and_where(tmp_path, capsys):
    with pytest.raises(DataFormatError, match=r"measured-DG2-exp3\.csv"):
        reproduce("exp3")  # the packaged data hold experiments 1 and 2 only
    assert main(["reproduce", "exp3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "10.5281/zenodo.15692010" in err and "bowtie-exp3-1.592s" in err


#: Quick simulator setting for the test only (the preset's own t_h is the physical 100 µs): 1 ms
#: steps make the sweep ~5x cheaper and leave tau = 0.025 s (tau/2 = 12.5 steps) without a
#: schedule, a period the run must flag rather than abort on (with `--exact-tau`; by default the
#: simulator runs the nearest whole number of steps and reports that `tau_sim`).
QUICK_T_H = "1e-3"
#: In the gate box the simulated cycle of three-regime devices is the linear orbit to within the
#: devices' nonlinearity and the Euler step (D2_sim/D2_theory measured 0.94-1.11 at t_h = 1 ms);
#: 1.25 is about twice the largest deviation seen.
SIM_THEORY_FACTOR = 1.25


def test_reproduce_exp3_simulate_on_synthetic_upstream_files(upstream, tmp_path, capsys):
    from importlib import resources

    from clln_theory.simulator import TrainingProtocol

    default_t_h = TrainingProtocol().t_h  # the simulator's default hold time
    assert load_config("exp3").simulate.t_h == default_t_h  # the preset: the physical 100 µs
    text = (resources.files("clln_theory") / "experiments" / "presets" / "exp3.toml").read_text()
    assert "t_h = 100e-6" in text
    quick = tmp_path / "exp3_quick.toml"
    quick.write_text(text.replace("t_h = 100e-6", f"t_h = {QUICK_T_H}"), encoding="utf-8")
    root = upstream[0]
    csv_path = tmp_path / "exp3.csv"
    argv = ["reproduce", str(quick), "--data-dir", str(root), "--simulate", "--exact-tau"]
    assert main([*argv, "--json", "-", "--csv", str(csv_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["table"]
    assert [r["tau"] for r in rows] == TAUS
    failed = [r for r in rows if r["D2_sim"] is None]
    assert [r["tau"] for r in failed] == [0.025]  # 12.5 steps of 1 ms: flagged, run goes on
    assert "simulation failed" in failed[0]["note"] and "whole number" in failed[0]["note"]
    for r in rows:
        if r["D2_sim"] is None:
            continue
        assert r["Ebar_sim"] > 0
        if r["in_box"]:  # the orbit stays in the box: the simulator agrees with the theory
            assert 1 / SIM_THEORY_FACTOR < r["D2_sim"] / r["D2_theory"] < SIM_THEORY_FACTOR
            assert not r["at_limit"]
        else:  # the linear orbit leaves the box: the simulated gates sit on the limits, and
            # the theory is the saturated cycle in the same box, which the simulator follows
            assert r["at_limit"] and r["saturated"]
            assert 1 / SIM_THEORY_FACTOR < r["D2_sim"] / r["D2_theory"] < SIM_THEORY_FACTOR, r
    sim = doc["summary"]["simulate"]
    assert sim["n_failed"] == 1 and sim["device"] == "three-regime" and sim["t_h"] == 1e-3
    assert len(sim["tasks"][0]) == 2  # the two-point task alpha, calibrated point by point
    lines = [ln for ln in csv_path.read_text().splitlines() if not ln.startswith("#")]
    header = lines[0].split(",")
    assert {"D2_sim", "Ebar_sim", "at_limit"} <= set(header) and len(lines) == len(TAUS) + 1
    assert main(argv) == 0  # the printed table
    out = capsys.readouterr().out
    assert "D2 sim" in out and "at limit" in out and "(sim — at tau = 0.025 s:" in out
