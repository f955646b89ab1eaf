"""Theory vs simulation (experiments/compare.py): convergence rates, the calibration to a
measured line (inference/calibration.py), and the measured D²."""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.data import packaged_data_dir
from clln_theory.electrical import learning_rate_A0, solve_circuit
from clln_theory.errors import ArgumentError, ShapeError
from clln_theory.experiments.compare import compare_theory_simulation, compare_with_measurement
from clln_theory.experiments.paper import EXPERIMENTS, FIG2_C0, FIG2_R, FIG2_R0, experiment_tasks
from clln_theory.inference import calibrate_to_line
from clln_theory.model import OhmicMOSFET, ThreeRegimeMOSFET, star_network
from clln_theory.simulator import TrainingProtocol
from clln_theory.theory import joint_solution

A0_FIG2 = learning_rate_A0(FIG2_R0, FIG2_C0, r=FIG2_R)
B_EXP1 = np.array(EXPERIMENTS["exp1"].bias)
DATA = packaged_data_dir()

#: Expected convergence orders (see the docstrings): Euler steps O(t_h); the orbit is O(B) away
#: from the joint solution and the linearization error is O(B²), so the *relative* error is
#: O(B). A fitted log-log slope within ±0.15 of 1 over a decade or more.
SLOPE_TOL = 0.15
#: The aim: simulated D² within a factor 3 of the measured D² at every τ.
FACTOR = 3.0
#: The calibrated task's solution set meets the measured line to Newton accuracy (V).
LINE_TOL = 1e-10


ALPHA, BETA = experiment_tasks("exp1")


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def test_simulated_cycle_converges_to_theory_as_t_h_shrinks():
    """Linear devices, tiny bias: |G_sim − G_theory| / span_theory ∝ t_h (Euler, first order)."""
    net = star_network()
    Gj = joint_solution(net, ALPHA, BETA, (3.0, 3.5))
    t_h = np.array([1e-3, 5e-4, 2.5e-4, 1.25e-4])
    rel = []
    for th in t_h:
        c = compare_theory_simulation(net, ALPHA, BETA, tau=[0.08], B=1e-4 * B_EXP1,
                                      protocol=TrainingProtocol(A0=A0_FIG2, t_h=th), G_ref=Gj,
                                      tol=1e-15)  # fmt: skip
        rel.append(c.G0_difference[0] / c.span_theory[0])
    assert abs(_slope(t_h, rel) - 1.0) < SLOPE_TOL
    assert rel[-1] < 1e-3


def test_simulated_cycle_converges_to_theory_as_bias_shrinks():
    """Linear devices, small t_h: |span_sim/span_theory − 1| ∝ |B| (nonlinearity of C: O(B²))."""
    net = star_network()
    Gj = joint_solution(net, ALPHA, BETA, (3.0, 3.5))
    scale = np.array([1e-1, 1e-2, 1e-3])
    rel = []
    for s in scale:
        c = compare_theory_simulation(net, ALPHA, BETA, tau=[0.08], B=s * B_EXP1,
                                      protocol=TrainingProtocol(A0=A0_FIG2, t_h=2.5e-5), G_ref=Gj,
                                      tol=1e-15)  # fmt: skip
        rel.append(abs(c.span_ratio[0] - 1.0))
    assert abs(_slope(scale, rel) - 1.0) < SLOPE_TOL
    assert rel[-1] < 1e-4


@pytest.mark.parametrize("device", [OhmicMOSFET(), ThreeRegimeMOSFET()])
def test_calibrated_task_solution_set_is_the_measured_line(device):
    net = star_network(device=device)
    a, c = EXPERIMENTS["exp1"].lines["alpha"][0]
    task = calibrate_to_line(net, ALPHA, (a, c), centre=(3.0, 3.5))
    pt = task.points[0]
    for g in (2.5, 3.0, 3.3):  # ohmic region of both edges
        V = solve_circuit(net, [g, a * g + c], task.input_nodes, task.inputs[0]).V
        assert abs(V[net.node("Output")] - pt.label) < LINE_TOL


def _measured(exp):
    path = DATA / "small network" / "MSE-DG2-Data" / f"measured-DG2-{exp}.csv"
    return np.loadtxt(path, delimiter=",")


@pytest.mark.parametrize("exp", ["exp1", "exp2"])
def test_simulated_D2_within_factor_3_of_measured_at_every_tau(exp):
    """Nonlinear devices, gate box [1, 5] V, App. E bias, tasks calibrated to the measured lines."""
    m = _measured(exp)
    e = EXPERIMENTS[exp]
    net = star_network(device=ThreeRegimeMOSFET())
    alpha, beta = experiment_tasks(exp)
    ta = calibrate_to_line(net, alpha, e.lines["alpha"][0], centre=e.reference)
    tb = calibrate_to_line(net, beta, e.lines["beta"][0], centre=e.reference)
    prot = TrainingProtocol(A0=learning_rate_A0(e.R0, e.C0, r=e.r))
    res = compare_with_measurement(net, ta, tb, tau=m[:, 0], D2_measured=m[:, 1], B=e.bias,
                                   protocol=prot, G0=e.reference)  # fmt: skip
    assert np.all(res.D2_ratio < FACTOR) and np.all(res.D2_ratio > 1 / FACTOR), res.table()
    # the high-τ plateau: the cycles reach the gate limits, and D² stops growing like τ²
    assert np.all(res.at_limit[-3:])
    assert res.D2_sim[-1] / res.D2_sim[-5] < (m[-1, 0] / m[-5, 0]) ** 2 / 10


def test_calibrate_to_line_refuses_a_zero_step_and_a_non_finite_line():
    # Regression: step = 0 put both calibration points on the centre; the singular 2x2 system
    # "converged" to an arbitrary (V1, L) and returned it.
    net = star_network(device=OhmicMOSFET())
    t = ALPHA
    with pytest.raises(ArgumentError, match="`step`"):
        calibrate_to_line(net, t, (2.7257, -3.3003), step=0.0)
    with pytest.raises(ArgumentError, match="`line`"):
        calibrate_to_line(net, t, (np.nan, -3.3003))


def test_one_failed_tau_is_recorded_and_the_rest_of_the_sweep_survives(monkeypatch):
    # Regression: a single tau whose limit cycle did not converge raised ConvergenceError and
    # threw away every other tau of the sweep.
    import clln_theory.experiments.compare as compare_mod
    from clln_theory.errors import ConvergenceError

    net = star_network()
    Gj = joint_solution(net, ALPHA, BETA, (3.0, 3.5))
    real = compare_mod.limit_cycle

    def flaky(*args, tau, **kw):
        if tau == 0.04:
            raise ConvergenceError("stalled on purpose")
        return real(*args, tau=tau, **kw)

    monkeypatch.setattr(compare_mod, "limit_cycle", flaky)
    kw = dict(B=1e-2 * B_EXP1, protocol=TrainingProtocol(A0=A0_FIG2, t_h=1e-3), G_ref=Gj)
    c = compare_theory_simulation(net, ALPHA, BETA, tau=[0.02, 0.04, 0.08], **kw)
    assert c.tau.tolist() == [0.02, 0.08]
    assert c.span_theory.shape == c.span_sim.shape == c.G0_difference.shape == (2,)
    assert c.G0_sim.shape == (2, 2) and np.all(np.isfinite(c.span_ratio))
    (f,) = c.failures
    assert (f.where, f.what, f.why) == ("tau = 0.04 s", "simulation", "stalled on purpose")
    with pytest.raises(ConvergenceError, match="on purpose"):
        compare_theory_simulation(net, ALPHA, BETA, tau=[0.02, 0.04], on_failure="raise", **kw)
    with pytest.raises(ArgumentError, match="`on_failure`"):
        compare_theory_simulation(net, ALPHA, BETA, tau=[0.02], on_failure="ignore", **kw)
    # every tau failing leaves consistent, empty arrays and one record per tau
    c = compare_theory_simulation(net, ALPHA, BETA, tau=[0.04], **kw)
    assert c.tau.shape == (0,) and c.G0_sim.shape == (0, 2) and len(c.failures) == 1


def test_boundary_errors_name_the_argument():
    # Regressions: a non-TrainingProtocol `protocol` raised AttributeError; D2_measured = 0 or NaN
    # gave an inf/NaN ratio silently; a NaN `centre` surfaced as a singular-Newton
    # ConvergenceError.
    from clln_theory.errors import DataFormatError, ProtocolError, ShapeError

    net = star_network()
    Gj = joint_solution(net, ALPHA, BETA, (3.0, 3.5))
    with pytest.raises(ArgumentError, match="`protocol`"):
        compare_theory_simulation(net, ALPHA, BETA, tau=[0.02], B=B_EXP1, protocol="std", G_ref=Gj)
    with pytest.raises(ProtocolError, match="standard clamping only"):
        over = TrainingProtocol(clamping="overclamp", eta=0.25, L0=0.4351)
        compare_theory_simulation(net, ALPHA, BETA, tau=[0.02], B=B_EXP1, protocol=over, G_ref=Gj)
    with pytest.raises(ShapeError, match="`tau`"):
        compare_theory_simulation(net, ALPHA, BETA, tau=[[0.02]], B=B_EXP1, G_ref=Gj)
    prot = TrainingProtocol(A0=A0_FIG2, t_h=1e-3)
    for bad in (0.0, np.nan, -1e-3):
        with pytest.raises(DataFormatError, match=r"`D2_measured`.*index 1"):
            compare_with_measurement(net, ALPHA, BETA, tau=[0.02, 0.04], D2_measured=[1e-3, bad],
                                     B=B_EXP1, protocol=prot)  # fmt: skip
    with pytest.raises(ArgumentError, match="`centre`"):
        calibrate_to_line(star_network(device=OhmicMOSFET()), ALPHA, (2.7257, -3.3003),
                          centre=(np.nan, 3.5))  # fmt: skip


def test_calibrate_to_line_fits_every_point_of_a_two_point_task_to_its_own_line():
    """Fig. 3's task alpha (two points, two measured lines) on three-regime devices: each point's
    solution set passes through its own line at the two calibration points around the
    intersection of the lines."""
    from clln_theory.inference import SolutionLine
    from clln_theory.model import DataPoint, Task

    net = star_network(device=ThreeRegimeMOSFET())
    sup = {"High": 0.4351, "Low": 0.0181}
    task = Task([DataPoint({**sup, "Input": 0.0181}, 0.143),
                 DataPoint({**sup, "Input": 0.4351}, 0.268)], "Output", name="alpha")  # fmt: skip
    lines = [(0.4408, 1.2829), (1.4406, -1.9253)]
    centre = SolutionLine(*lines[0]).intersect(SolutionLine(*lines[1]))
    fitted = calibrate_to_line(net, task, lines, centre=centre, step=1.0)
    assert fitted.n_points == 2 and fitted.name == "alpha"
    for k, (a, c) in enumerate(lines):
        ln = SolutionLine(a, c)
        pt = fitted.points[k]
        assert pt.inputs["High"] == 0.4351 and pt.inputs["Input"] != task.points[k].inputs["Input"]
        for s in (-1.0, 1.0):
            G = ln.nearest(centre) + s * ln.direction
            V = solve_circuit(net, G, fitted.input_nodes, fitted.inputs[k]).V
            assert abs(V[net.node("Output")] - pt.label) < LINE_TOL
    with pytest.raises(ShapeError, match="one line"):
        calibrate_to_line(net, task, [lines[0]], centre=centre)


def test_reproduce_simulate_matches_compare_with_measurement():
    """``reproduce --simulate`` with the paper's bias equals the hand-written pipeline of
    examples/simulate_small_network.py (calibrate_to_line + compare_with_measurement)."""
    from importlib import resources

    import tomllib

    from clln_theory.experiments import parse_config, reproduce

    text = (resources.files("clln_theory") / "experiments" / "presets" / "exp1.toml").read_text()
    raw = tomllib.loads(text)
    raw["simulate"]["B"] = list(B_EXP1)
    taus = [0.002, 0.0502, 0.5024]  # measured periods: inside the box, near its edge, at limits
    rep = reproduce(parse_config(raw), tau=taus, grid_points=0, simulate=True)
    e = EXPERIMENTS["exp1"]
    net = star_network(device=ThreeRegimeMOSFET())
    ta = calibrate_to_line(net, ALPHA, e.lines["alpha"][0], centre=e.reference)
    tb = calibrate_to_line(net, BETA, e.lines["beta"][0], centre=e.reference)
    prot = TrainingProtocol(A0=A0_FIG2)
    ref = compare_with_measurement(net, ta, tb, tau=taus, D2_measured=rep.D2_measured, B=e.bias,
                                   protocol=prot, G0=e.reference)  # fmt: skip
    # same tasks, protocol and start: equal to the shooting tolerance (1e-10 V on G)
    np.testing.assert_allclose(rep.sim.D2_sim, ref.D2_sim, rtol=1e-6)
    np.testing.assert_allclose(rep.sim.Ebar_sim, ref.Ebar_sim, rtol=1e-6)
    assert rep.sim.at_limit.tolist() == ref.at_limit.tolist() == [False, False, True]


def test_a_gate_falling_below_threshold_at_one_tau_is_recorded_not_raised(monkeypatch):
    # Regression (issue 18): with on_failure="record", a DeviceError at one period (a linear
    # device's gate falling to its threshold) aborted the whole sweep. Here B = -1 V/s drives
    # the orbit of tau = 2 s below V_T = 0.7 V (on main the simulator raised there); 20 ms stays
    # well above it.
    import clln_theory.experiments.compare as compare_mod
    from clln_theory.errors import DeviceError
    from clln_theory.model import LinearDevice

    net = star_network(device=LinearDevice())
    kw = dict(B=[-1.0, -1.0], G_ref=[3.0, 3.5], protocol=TrainingProtocol(A0=1377.41, t_h=1e-4))
    c = compare_theory_simulation(net, ALPHA, BETA, tau=[0.02, 2.0], **kw)
    assert c.tau.tolist() == [0.02] and np.all(np.isfinite(c.span_sim))
    (f,) = c.failures
    assert (f.where, f.kind) == ("tau = 2 s", "DeviceError") and "threshold" in f.why
    with pytest.raises(DeviceError):
        compare_theory_simulation(net, ALPHA, BETA, tau=[0.02, 2.0], on_failure="raise", **kw)
    # a DeviceError of the simulation alone is the simulation's failure row
    real = compare_mod.limit_cycle

    def falls(*args, tau, **kwargs):
        if tau == 0.04:
            raise DeviceError("Gate of edge 'x' fell to 0.6 V, at or below its threshold")
        return real(*args, tau=tau, **kwargs)

    monkeypatch.setattr(compare_mod, "limit_cycle", falls)
    c = compare_theory_simulation(net, ALPHA, BETA, tau=[0.02, 0.04, 0.08], **kw)
    assert c.tau.tolist() == [0.02, 0.08]
    assert [(f.what, f.kind, f.where) for f in c.failures] == [
        ("simulation", "DeviceError", "tau = 0.04 s")
    ]


def test_simulate_periods_refuses_a_bad_start_and_a_period_without_steps():
    # Regression (issue 18): a G0 at or below threshold and a period shorter than one step
    # t_h returned rows of NaN (a failure per period) instead of an error naming the argument.
    from clln_theory.errors import DeviceError
    from clln_theory.experiments.compare import simulate_periods

    net = star_network(device=ThreeRegimeMOSFET())
    kw = dict(B=B_EXP1, protocol=TrainingProtocol(A0=A0_FIG2))  # t_h = 100 us
    for G0 in ([-3.0, -3.0], [1e-300, 1e-300], [0.7, 3.0]):
        with pytest.raises(DeviceError, match="threshold"):
            simulate_periods(net, ALPHA, BETA, tau=[0.002], G0=G0, **kw)
    for tau in ([1e-300], [0.002, 5e-5]):
        with pytest.raises(ArgumentError, match=r"`tau`.*shorter than one learning step"):
            simulate_periods(net, ALPHA, BETA, tau=tau, G0=[3.0, 3.5], **kw)
    with pytest.raises(ArgumentError, match=r"`tau`.*MAX_STEPS"):
        simulate_periods(net, ALPHA, BETA, tau=[0.002, 1e300], G0=[3.0, 3.5], **kw)
    # a half period of 1.25 steps (not a whole number) is still a flagged row, with its reason
    sim = simulate_periods(net, ALPHA, BETA, tau=[0.002, 0.00025], G0=[3.0, 3.5], **kw)
    assert sim.failed.tolist() == [False, True] and sim.failures[0].kind == "ProtocolError"


def test_gate_box_warning_where_the_theory_drives_a_conductance_below_zero(monkeypatch):
    """Issue 21: without `gate_limits`, a theory orbit that takes a gate to or below V_T (a
    conductance <= 0) warns with `GateBoxWarning`; an orbit in range does not. The simulation
    is replaced by the theory's own cycle: only the theory's range is under test here."""
    import types
    import warnings

    import clln_theory.experiments.compare as compare_mod
    from clln_theory.errors import GateBoxWarning

    net = star_network()
    Gj = joint_solution(net, ALPHA, BETA, (3.0, 3.5))

    def theory_cycle(network, task_a, task_b, *, tau, B, G0, **kw):
        return types.SimpleNamespace(G0=np.asarray(G0), G_half=np.asarray(G0), span=1.0, Ebar=0.0)

    monkeypatch.setattr(compare_mod, "limit_cycle", theory_cycle)
    kw = dict(protocol=TrainingProtocol(A0=A0_FIG2, t_h=1e-3), G_ref=Gj)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GateBoxWarning)
        compare_theory_simulation(net, ALPHA, BETA, tau=[0.02], B=1e-2 * B_EXP1, **kw)
    with pytest.warns(GateBoxWarning, match=r"threshold V_T .* at tau = \[200\.0\]"):
        c = compare_theory_simulation(net, ALPHA, BETA, tau=[0.02, 200.0], B=-B_EXP1, **kw)
    assert np.min(c.G0_theory[1:]) <= net.V_T[0] or np.min(c.G_half_theory[1:]) <= net.V_T[0]
