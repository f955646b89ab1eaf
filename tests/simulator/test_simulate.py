"""Nonlinear reference simulator (clln_theory.simulator): steps, protocols, engines, limit cycles,
errors."""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.electrical.kirchhoff import clamped_state, free_state
from clln_theory.electrical.rule import learning_rate_A0
from clln_theory.errors import ArgumentError, DeviceError, ProtocolError, ShapeError
from clln_theory.experiments.paper import (
    EXPERIMENTS,
    FIG2_C0,
    FIG2_R,
    FIG2_R0,
    V_MINUS,
    V_PLUS,
    experiment_tasks,
)
from clln_theory.metrics import cycle_span, task_errors
from clln_theory.model.devices import LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET
from clln_theory.model.network import periodic_lattice, star_network
from clln_theory.model.tasks import DataPoint, Differential, Task
from clln_theory.simulator import (
    TrainingProtocol,
    limit_cycle,
    period_map,
    simulate,
)

SUP = {"High": V_PLUS, "Low": V_MINUS}
A0_FIG2 = learning_rate_A0(FIG2_R0, FIG2_C0, r=FIG2_R)
B_EXP1 = np.array(EXPERIMENTS["exp1"].bias)
PROT = TrainingProtocol(A0=A0_FIG2)

#: fast and general engines solve the same current law to the same tolerance (1e-12 V per
#: solve); over a few hundred steps the gates may differ by a few 1e-12 V.
ENGINE_MATCH_TOL = 1e-9
#: one hand-computed step against the simulator: identical formulas, round-off only.
STEP_MATCH_TOL = 1e-13


def _task(v1, label, name, kind="regression"):
    return Task([DataPoint({**SUP, "Input": v1}, label)], "Output", kind=kind, name=name)


ALPHA, BETA = experiment_tasks("exp1")


# ------------------------------------------------------------------ protocol / errors
def test_protocol_validation_names_the_problem():
    with pytest.raises(ArgumentError, match="'soft'"):
        TrainingProtocol(clamping="soft")
    with pytest.raises(ArgumentError, match="eta"):
        TrainingProtocol(eta=0.0)
    with pytest.raises(ArgumentError, match="L0"):
        TrainingProtocol(clamping="overclamp")
    with pytest.raises(ArgumentError, match="t_h"):
        TrainingProtocol(t_h=-1.0)
    assert learning_rate_A0(1000.0, 2.2e-6) == pytest.approx(1 / (0.33 * 1e3 * 2.2e-6))


def test_tau_not_multiple_of_step_names_nearest_valid_tau():
    net = star_network(device=ThreeRegimeMOSFET())
    with pytest.raises(ProtocolError, match=r"nearest valid tau is 0\.0012 s"):
        simulate(net, [ALPHA, BETA], [3, 3.5], tau=0.00125, n_periods=1, B=B_EXP1)


def test_gate_below_threshold_at_start_names_the_edge():
    net = star_network(device=ThreeRegimeMOSFET())
    with pytest.raises(DeviceError, match=r"'High-Output'.*threshold"):
        simulate(net, [ALPHA, BETA], [3.0, 0.5], tau=0.02, n_periods=1, B=B_EXP1)


def test_bad_tasks_bias_and_record_are_refused():
    net = star_network()
    with pytest.raises(ArgumentError, match="one task"):
        simulate(net, [ALPHA, BETA, ALPHA], [3, 3.5], tau=0.02, n_periods=1, B=B_EXP1)
    with pytest.raises(ShapeError, match="`B`"):
        simulate(net, [ALPHA], [3, 3.5], tau=0.02, n_periods=1, B=[1.0, 2.0, 3.0])
    with pytest.raises(ArgumentError, match="record"):
        simulate(net, [ALPHA], [3, 3.5], tau=0.02, n_periods=1, B=B_EXP1, record="often")
    with pytest.raises(ArgumentError, match="engine"):
        simulate(net, [ALPHA], [3, 3.5], tau=0.02, n_periods=1, B=B_EXP1, engine="gpu")


def test_linear_gate_falling_below_threshold_is_an_error():
    net = star_network()
    with pytest.raises(DeviceError, match=r"fell to .* at t ="):
        simulate(net, [ALPHA], [1.0, 1.0], tau=0.02, n_periods=5, B=[-50.0, -50.0],
                 gate_limits=None)  # fmt: skip


# ----------------------------------------------------------------------- one step
def test_one_step_matches_eq7_by_hand():
    """ΔG = t_h [A0 (dV_F² − dV_C²) + B] with the linear Kirchhoff solves of kirchhoff.py."""
    net = star_network()
    G0 = np.array([3.0, 3.5])
    tr = simulate(net, [ALPHA], G0, tau=2e-4, n_periods=0.5, B=B_EXP1, protocol=PROT,
                  record="step", gate_limits=None)  # fmt: skip
    f = free_state(net, G0, ALPHA)
    c = clamped_state(net, G0, ALPHA, [f.O[0] + 1.0 * (0.31 - f.O[0])])
    s = (f.dV[0] ** 2 - c.dV[0] ** 2)[net.gate_edges]
    expected = G0 + PROT.t_h * (A0_FIG2 * s + B_EXP1)
    np.testing.assert_allclose(tr.G[1], expected, rtol=0, atol=STEP_MATCH_TOL)
    assert tr.times[1] == pytest.approx(PROT.t_h)


def test_differential_output_splits_the_nudge():
    """General engine, O = V+ − V−: the clamped V+ moves by +ηδ/2 and V− by −ηδ/2."""
    net = periodic_lattice(3)
    pt = DataPoint({"0,0": 0.4, "1,1": 0.0}, 0.05)
    task = Task([pt], Differential("0,2", "2,0"), name="diff")
    G0 = np.linspace(2.0, 4.0, net.n_gates)
    prot = TrainingProtocol(A0=A0_FIG2, eta=0.5)
    B = np.zeros(net.n_gates)
    tr = simulate(net, [task], G0, tau=2e-4, n_periods=0.5, B=B, protocol=prot,
                  record="step", gate_limits=None)  # fmt: skip
    f = free_state(net, G0, task)
    c = clamped_state(net, G0, task, [f.O[0] + 0.5 * (0.05 - f.O[0])])  # splits ±nudge/2
    s = (f.dV[0] ** 2 - c.dV[0] ** 2)[net.gate_edges]
    np.testing.assert_allclose(tr.G[1], G0 + prot.t_h * A0_FIG2 * s, rtol=0, atol=STEP_MATCH_TOL)
    assert tr.engine == "sparse"  # auto: a linear network that the fast engine does not fit


# ------------------------------------------------------------------- fast == general
@pytest.mark.parametrize("device", [LinearDevice(), OhmicMOSFET(), ThreeRegimeMOSFET()])
def test_fast_engine_equals_general_engine(device):
    net = star_network(device=device)
    kw = dict(tau=0.004, n_periods=3, B=B_EXP1, protocol=PROT, record=5)
    # start near the lower gate limit: the three-regime High edge starts subthreshold (Vov < 0.096)
    fast = simulate(net, [ALPHA, BETA], [1.2, 1.05], engine="fast", **kw)
    gen = simulate(net, [ALPHA, BETA], [1.2, 1.05], engine="general", **kw)
    assert fast.engine == "fast" and gen.engine == "general"
    np.testing.assert_allclose(fast.G, gen.G, rtol=0, atol=ENGINE_MATCH_TOL)
    np.testing.assert_allclose(fast.errors, gen.errors, rtol=0, atol=ENGINE_MATCH_TOL)


def test_fast_equals_general_for_classification_overclamp_and_callable_bias():
    net = star_network(device=ThreeRegimeMOSFET())
    two = Task(
        [DataPoint({**SUP, "Input": 0.40}, 0.30), DataPoint({**SUP, "Input": 0.05}, 0.20)],
        "Output",
        kind="classification",
        name="two",
    )
    for prot in (
        TrainingProtocol(A0=A0_FIG2, eta=0.5),
        TrainingProtocol(clamping="overclamp", eta=0.25, L0=V_PLUS, A0=A0_FIG2),
        TrainingProtocol(clamping="overclamp", eta=0.25, L0=V_PLUS, A0=A0_FIG2, r0=2e-4),
    ):
        kw = dict(tau=0.004, n_periods=2, B=lambda G: 0.5 * (G - 3.0), protocol=prot, record=3)
        fast = simulate(net, [two, BETA], [3.0, 3.5], engine="fast", **kw)
        gen = simulate(net, [two, BETA], [3.0, 3.5], engine="general", **kw)
        np.testing.assert_allclose(fast.G, gen.G, rtol=0, atol=ENGINE_MATCH_TOL)


def test_hinge_stops_nudging_points_beyond_their_label():
    """A classification point already beyond its label only feels the bias (Appendix A)."""
    net = star_network()
    G0 = np.array([3.0, 3.5])
    O = free_state(net, G0, ALPHA).O[0]  # ~0.3055
    beyond = _task(V_PLUS, O - 0.05, "beyond", kind="classification")  # positive label below O
    tr = simulate(net, [beyond], G0, tau=2e-4, n_periods=0.5, B=B_EXP1, protocol=PROT,
                  record="step", gate_limits=None)  # fmt: skip
    np.testing.assert_allclose(tr.G[1], G0 + PROT.t_h * B_EXP1, rtol=0, atol=STEP_MATCH_TOL)
    # overclamping skips the point altogether (hold time 0)
    oc = TrainingProtocol(clamping="overclamp", eta=0.25, L0=V_PLUS, A0=A0_FIG2)
    tr = simulate(net, [beyond], G0, tau=2e-4, n_periods=0.5, B=B_EXP1, protocol=oc,
                  record="step", gate_limits=None)  # fmt: skip
    np.testing.assert_array_equal(tr.G[1], G0)


# --------------------------------------------------------------------------- physics
def test_gates_are_clipped_to_the_box():
    net = star_network(device=ThreeRegimeMOSFET())
    tr = simulate(net, [ALPHA, BETA], [3.0, 3.5], tau=1.0, n_periods=1, B=10 * B_EXP1,
                  protocol=PROT, record=100)  # fmt: skip
    assert tr.G.min() >= 1.0 and tr.G.max() <= 5.0
    assert np.isclose(tr.G.max(), 5.0)


def test_drift_test_moves_along_the_solution_line_at_the_projected_bias():
    """One task alone: the output stays at the label and G drifts along the line with B·d."""
    net = star_network()
    tr = simulate(net, [ALPHA], [3.0, 3.5], tau=0.02, n_periods=10, B=0.1 * B_EXP1,
                  protocol=PROT, gate_limits=None)  # fmt: skip
    # solution line of the linear 2+1 network: (G- - V_T)(V- - O) + (G+ - V_T)(V+ - O)
    # + (V1 - O)/500 = 0, direction d ∝ (V+ - O, O - V-)
    O = 0.31
    d = np.array([V_PLUS - O, O - V_MINUS])
    d /= np.linalg.norm(d)
    v = (tr.G[-1] - tr.G[-5]) / (tr.times[-1] - tr.times[-5])
    # bias B drives the drift; the force is normal to the line up to O(δ)
    assert v @ d == pytest.approx(0.1 * B_EXP1 @ d, rel=2e-2)
    assert abs(tr.outputs[0][-1, 0] - O) < 1e-3


def test_continuum_mode_matches_discrete_mode_as_t_h_shrinks():
    net = star_network(device=ThreeRegimeMOSFET())
    G0 = [3.0, 3.5]
    cont = simulate(net, [ALPHA, BETA], G0, tau=0.02, n_periods=2, B=B_EXP1, protocol=PROT,
                    mode="continuum", rtol=1e-10, atol=1e-12)  # fmt: skip
    errs = []
    for t_h in (1e-4, 5e-5, 2.5e-5):
        prot = TrainingProtocol(A0=A0_FIG2, t_h=t_h)
        d = simulate(net, [ALPHA, BETA], G0, tau=0.02, n_periods=2, B=B_EXP1, protocol=prot)
        np.testing.assert_allclose(d.times, cont.times)
        errs.append(np.max(np.abs(d.G - cont.G)))
    slope = np.polyfit(np.log([1e-4, 5e-5, 2.5e-5]), np.log(errs), 1)[0]
    assert 0.8 < slope < 1.2  # Euler: O(t_h)
    assert errs[0] < 1e-2


def test_task_errors_A1_and_A2():
    reg = Task([DataPoint({"a": 0}, 0.3), DataPoint({"a": 1}, 0.1)], "o")
    assert task_errors([0.2, 0.3], reg) == pytest.approx((0.01 + 0.04) / 2)
    cls = Task([DataPoint({"a": 0}, 0.3), DataPoint({"a": 1}, -0.1)], "o", kind="classification")
    assert task_errors([0.5, 0.0], cls) == pytest.approx(0.01 / 2)


# ----------------------------------------------------------------------- limit cycles
def test_limit_cycle_span_is_D():
    # one name for the span D of (4), computed by clln_theory.metrics.cycle_span
    cyc = limit_cycle(star_network(), ALPHA, BETA, tau=0.004, B=B_EXP1, protocol=PROT)
    assert cyc.span == cycle_span(cyc.G_half, cyc.trajectory.G[-1]) > 0


def test_limit_cycle_is_periodic_and_consistent():
    net = star_network(device=ThreeRegimeMOSFET())
    lc = limit_cycle(net, ALPHA, BETA, tau=0.05, B=B_EXP1, protocol=PROT, G0=[3.0, 3.5])
    assert lc.converged and lc.route == "shooting"
    G1 = period_map(net, ALPHA, BETA, lc.G0, tau=0.05, B=B_EXP1, protocol=PROT)
    assert np.max(np.abs(G1 - lc.G0)) <= 1e-10
    assert lc.span == pytest.approx(np.linalg.norm(lc.G_half - lc.G0), rel=1e-8)
    assert lc.Ebar == pytest.approx(0.5 * (lc.E_half + lc.E_end))
    assert np.all(np.abs(lc.multipliers) < 1)  # a stable cycle
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(lc.monodromy)),
                               np.sort(lc.multipliers))  # fmt: skip
    tr = lc.trajectory
    assert tr.times[-1] == pytest.approx(0.05) and np.allclose(tr.G[-1], lc.G0, atol=1e-9)


def test_shooting_needs_five_times_fewer_periods_where_convergence_is_slow():
    net = star_network(device=ThreeRegimeMOSFET())
    kw = dict(tau=0.0012, B=B_EXP1, protocol=PROT, G0=[3.0, 3.5], tol=1e-10)
    shoot = limit_cycle(net, ALPHA, BETA, route="shooting", **kw)
    it = limit_cycle(net, ALPHA, BETA, route="iterate", **kw)
    assert abs(shoot.multipliers[0]) > 0.98  # slow: iteration contracts by < 2% a period
    np.testing.assert_allclose(shoot.G0, it.G0, rtol=0, atol=1e-7)
    assert 5 * shoot.n_periods <= it.n_periods


def test_saturated_cycle_has_zero_multipliers():
    """At large τ both gates end each half period on a limit: the period map is locally flat."""
    net = star_network(device=ThreeRegimeMOSFET())
    lc = limit_cycle(net, ALPHA, BETA, tau=1.0, B=B_EXP1, protocol=PROT)
    assert np.all(np.abs(lc.multipliers) < 1e-6)
    assert np.isclose(lc.G_half.max(), 5.0) and np.isclose(lc.G0.max(), 5.0)


def test_bad_numbers_at_the_boundary_are_typed_errors_naming_the_argument():
    # Regression: a zero fd_step gave a bare LinAlgError, max_samples=0 a ZeroDivisionError,
    # task_errors broadcast outputs of the wrong length and returned NaN for NaN outputs, a
    # negative continuum rtol reached solve_ivp, and learning_rate_A0("a") a raw TypeError.
    kw = dict(tau=0.002, B=B_EXP1, protocol=PROT, G0=[3.0, 3.5])
    for name, value in (("tol", 0.0), ("fd_step", 0.0), ("max_samples", 0), ("max_periods", 0)):
        with pytest.raises(ArgumentError, match=f"`{name}`"):
            limit_cycle(star_network(), ALPHA, BETA, **kw, **{name: value})
    with pytest.raises(ArgumentError, match="`rtol`"):
        simulate(star_network(), [ALPHA, BETA], [3.0, 3.5], tau=0.002, n_periods=1, B=B_EXP1,
                 mode="continuum", rtol=-1.0)  # fmt: skip
    with pytest.raises(ShapeError, match="shape"):
        task_errors([0.1, 0.2], ALPHA)
    with pytest.raises(ShapeError, match="finite"):
        task_errors([np.nan], ALPHA)
    with pytest.raises(ArgumentError, match="`R0`"):
        learning_rate_A0("a", 22e-6)


@pytest.mark.parametrize("engine", ["fast", "general"])
def test_record_stride_longer_than_a_half_period_still_samples(engine):
    # Regression: the stride used to restart at every task switch, so a stride longer than a
    # half period (20 steps here) recorded nothing after t = 0 and lost the final state.
    net = star_network()
    kw = dict(tau=0.004, n_periods=3, B=B_EXP1, protocol=PROT, engine=engine)
    every = simulate(net, [ALPHA, BETA], [3.0, 3.5], record="step", **kw)
    sparse = simulate(net, [ALPHA, BETA], [3.0, 3.5], record=25, **kw)
    n_steps = round(3 * 0.004 / PROT.t_h)  # 120
    # samples at steps 0, 25, 50, 75, 100 and the final state at step 120
    np.testing.assert_allclose(sparse.times / PROT.t_h, [0, 25, 50, 75, 100, n_steps], atol=1e-9)
    np.testing.assert_array_equal(sparse.G, every.G[[0, 25, 50, 75, 100, n_steps]])
    cont = simulate(net, [ALPHA, BETA], [3.0, 3.5], record=25, mode="continuum", **kw)
    assert cont.times[-1] == pytest.approx(3 * 0.004)


def test_the_shooting_faces_name_each_task_and_refuse_noise():
    # Regression: a list as `task_b` was silently cut to its first task, and an error named
    # `tasks`; a noisy protocol made the period map random (no seed).
    kw = dict(tau=0.002, B=B_EXP1, protocol=PROT)
    with pytest.raises(ArgumentError, match="`task_b` must be a Task"):
        period_map(star_network(), ALPHA, [ALPHA, BETA], [3.0, 3.5], **kw)
    with pytest.raises(ArgumentError, match="`task_a` must be a Task"):
        limit_cycle(star_network(), "alpha", BETA, **kw)
    noisy = TrainingProtocol(A0=A0_FIG2, voltage_noise=1e-4)
    with pytest.raises(ArgumentError, match="noise"):
        period_map(star_network(), ALPHA, BETA, [3.0, 3.5], tau=0.002, B=B_EXP1, protocol=noisy)
    with pytest.raises(ArgumentError, match="noise"):
        limit_cycle(star_network(), ALPHA, BETA, tau=0.002, B=B_EXP1, protocol=noisy)
