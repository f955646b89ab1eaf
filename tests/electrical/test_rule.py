"""The Coupled Learning force and the clamping protocols."""

import numpy as np
import pytest

from clln_theory.electrical._clamping import past_label
from clln_theory.electrical.clamping import nudge, point_nudge
from clln_theory.electrical.kirchhoff import contrastive_function, free_state
from clln_theory.electrical.rule import clamped_outputs, coupled_learning_force
from clln_theory.errors import ArgumentError
from clln_theory.model.network import Network, star_network
from clln_theory.model.tasks import DataPoint, Differential, Task

V_P, V_M = 0.4351, 0.0181
#: Central differences of C with h = 1e-6 V: truncation ~h^2 |C'''| and round-off
#: ~eps |C| / h leave ~1e-7 relative error in the gradient.
FD_GRAD_RTOL = 1e-6


def point(v1, label):
    return DataPoint({"High": V_P, "Low": V_M, "Input": v1}, label)


def test_force_is_gradient_of_C_at_eta_one():
    net, G = star_network(), np.array([3.0, 3.5])
    task = Task([point(V_P, 0.31), point(V_M, 0.14)], "Output")
    F = coupled_learning_force(net, G, task).F
    h = 1e-6
    grad = [
        (contrastive_function(net, G + h * e, task) - contrastive_function(net, G - h * e, task))
        / (2 * h)
        for e in np.eye(2)
    ]
    np.testing.assert_allclose(F, grad, rtol=FD_GRAD_RTOL)


def test_force_closed_form_single_output():
    # F = eta^2 delta^2 grad K_eff + 2 eta K_eff delta grad delta, star network:
    # K_eff = K- + K+ + K1, grad K_eff = S, grad delta_i = -S (V_i - O_F) / K_eff.
    net, G, eta = star_network(), np.array([2.5, 4.0]), 0.4
    task = Task([point(V_P, 0.31)], "Output")
    res = coupled_learning_force(net, G, task, eta=eta)
    S = net.S
    K = S * (G - 0.7)
    K_eff = K.sum() + 1 / 500
    O = res.O_F[0]
    d = 0.31 - O
    grad_delta = -S * (np.array([V_M, V_P]) - O) / K_eff
    expected = eta**2 * d**2 * S + 2 * eta * K_eff * d * grad_delta
    np.testing.assert_allclose(res.F, expected, rtol=1e-12)
    assert res.O_C[0] == pytest.approx(O + eta * d, rel=1e-15)


def test_force_vanishes_at_a_solution():
    net = star_network()
    task = Task([point(V_P, 0.31)], "Output")
    G = np.array([3.0, 3.5])
    O = free_state(net, G, task).O[0]
    solved = Task([point(V_P, O)], "Output")
    assert np.max(np.abs(coupled_learning_force(net, G, solved).F)) < 1e-18


def test_classification_hinge():
    task = Task([point(V_P, 0.018), point(V_M, -0.018)], "Output", kind="classification")
    O_C, w, active = clamped_outputs([0.05, 0.0], task, eta=0.5)
    assert active.tolist() == [False, True]
    assert O_C[0] == 0.05 and O_C[1] == pytest.approx(-0.009)
    O_C, w, active = clamped_outputs([0.05, 0.0], task, eta=0.25, clamping="overclamp", L0=V_P)
    assert w.tolist() == [0.0, 0.018]  # t_h = r0 |delta|, and 0 past the label
    assert O_C[1] == pytest.approx(0.25 * (-V_P))
    # a point past its label gets no force
    net = star_network()
    one = Task([point(V_P, 0.018)], "Output", kind="classification")
    assert np.all(coupled_learning_force(net, [3.0, 3.5], one).F == 0.0)


def test_overclamping_F5():
    net, G = star_network(), np.array([3.0, 3.5])
    task = Task([point(V_P, 0.31)], "Output")
    res = coupled_learning_force(net, G, task, eta=0.25, clamping="overclamp", L0=V_P)
    O = res.O_F[0]
    assert res.O_C[0] == pytest.approx(O + 0.25 * (V_P * np.sign(0.31 - O) - O), rel=1e-15)
    assert res.weight[0] == pytest.approx(abs(0.31 - O))
    np.testing.assert_allclose(res.F, res.weight[0] * res.F_points[0], rtol=1e-15)
    with pytest.raises(ArgumentError, match="L0"):
        coupled_learning_force(net, G, task, clamping="overclamp")
    with pytest.raises(ArgumentError, match="clamping"):
        coupled_learning_force(net, G, task, clamping="nudge")


def test_differential_clamp_moves_both_nodes_half_way():
    net = Network.from_edges(
        [("in", "p"), ("in", "m"), ("p", "gnd"), ("m", "gnd"), ("p", "m", 1e-3)]
    )
    task = Task([DataPoint({"in": 0.4, "gnd": 0.0}, 0.05)], Differential("p", "m"))
    res = coupled_learning_force(net, [2.0, 3.0, 4.0, 2.5], task, eta=0.5)
    iP, iM = net.node("p"), net.node("m")
    dP = res.clamped.V[0, iP] - res.free.V[0, iP]
    dM = res.clamped.V[0, iM] - res.free.V[0, iM]
    nudge = 0.5 * res.delta[0]
    assert dP == pytest.approx(nudge / 2, rel=1e-12) and dM == pytest.approx(-nudge / 2, rel=1e-12)


def test_non_finite_free_outputs_are_refused():
    # Regression: NaN free outputs went through and came back as NaN clamped outputs.
    from clln_theory.errors import ShapeError

    task = Task([point(V_P, 0.31)], "Output")
    with pytest.raises(ShapeError, match="`O_F`"):
        clamped_outputs([np.nan], task)


@pytest.mark.parametrize("clamping, L0", [("standard", None), ("overclamp", 0.4)])
@pytest.mark.parametrize("classification", [False, True])
def test_scalar_and_array_forms_of_the_nudge_agree(clamping, L0, classification):
    # The simulator steps with point_nudge, the theory with nudge: the same numbers, bit for bit,
    # including points past their label (the hinge) and points exactly at it (delta = 0).
    rng = np.random.default_rng(7)
    L = rng.choice([-0.3, 0.2, 0.3], 300)
    O = rng.uniform(-0.5, 0.5, 300)
    O[:10] = L[:10]
    O_C, w, active = nudge(O, L, eta=0.3, clamping=clamping, L0=L0, classification=classification)
    f = point_nudge(eta=0.3, clamping=clamping, L0=L0, classification=classification)
    shift, weight = np.array([f(o, lab) for o, lab in zip(O.tolist(), L.tolist())]).T
    np.testing.assert_array_equal(O_C, O + shift)
    np.testing.assert_array_equal(w, weight)
    np.testing.assert_array_equal(active, ~(classification & past_label(O, L)))
    assert classification == bool(np.any(~active))  # the sample does exercise the hinge


def test_nudge_options_are_argument_errors():
    with pytest.raises(ArgumentError, match="`eta`"):
        point_nudge(eta=1.5)
    with pytest.raises(ArgumentError, match="`L0`"):
        nudge([0.1], [0.2], clamping="overclamp")
    with pytest.raises(ArgumentError, match="`clamping`"):
        point_nudge(eta=0.5, clamping="soft")
