"""Kirchhoff solves: closed forms, physical identities on random networks, refusals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clln_theory.electrical import _kirchhoff, kirchhoff
from clln_theory.electrical._kirchhoff import laplacian_matrix
from clln_theory.electrical.kirchhoff import (
    clamped_state,
    contrastive_function,
    free_state,
    power,
    solve_voltages,
)
from clln_theory.errors import ArgumentError, DeviceError, NetworkError, ShapeError, TaskError
from clln_theory.model.network import Network, star_network
from clln_theory.model.tasks import DataPoint, Differential, Task

V_P, V_M = 0.4351, 0.0181
S, V_T = 8.5e-4, 0.7

#: Kirchhoff residual, relative to max(K) * max|V|: a direct solve of a well-conditioned
#: Laplacian (conductance ratios <= ~10) leaves ~n * eps.
KCL_RTOL = 1e-12
#: Relative round-off allowance on power comparisons (sums of ~30 positive terms).
POWER_RTOL = 1e-12


def alpha_task(label=0.31):
    return Task([DataPoint({"High": V_P, "Low": V_M, "Input": V_P}, label)], "Output")


def test_star_free_output_is_conductance_weighted_mean():
    G = np.array([3.0, 3.5])
    Km, Kp, K1 = S * (G[0] - V_T), S * (G[1] - V_T), 1 / 500
    expected = (Km * V_M + Kp * V_P + K1 * V_P) / (Km + Kp + K1)
    s = free_state(star_network(), G, alpha_task())
    assert s.O[0] == pytest.approx(expected, rel=1e-15)
    assert s.P[0] == pytest.approx(
        Km * (V_M - expected) ** 2 + Kp * (V_P - expected) ** 2 + K1 * (V_P - expected) ** 2,
        rel=1e-14,
    )


def test_clamped_power_is_free_plus_effective_conductance_times_nudge():
    # P_C = P_F + K_eff (O_C - O_F)^2 with K_eff = sum of the output's conductances (star).
    G = np.array([3.0, 3.5])
    net, task = star_network(), alpha_task()
    f = free_state(net, G, task)
    c = clamped_state(net, G, task, [0.31])
    K_eff = S * (G[0] - V_T) + S * (G[1] - V_T) + 1 / 500
    assert c.P[0] - f.P[0] == pytest.approx(K_eff * (0.31 - f.O[0]) ** 2, rel=1e-10)
    assert contrastive_function(net, G, task) == pytest.approx(c.P[0] - f.P[0], rel=1e-12)
    assert contrastive_function(net, G, task, eta=0.5) == pytest.approx(
        0.25 * (c.P[0] - f.P[0]), rel=1e-10
    )


@st.composite
def random_problem(draw, max_nodes=9):
    """A random connected network (tree plus extra edges), inputs, a task and a gate vector."""
    n = draw(st.integers(4, max_nodes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    edges = {(int(rng.integers(0, i)), i) for i in range(1, n)}
    for _ in range(draw(st.integers(0, n))):
        a, b = sorted(int(x) for x in rng.choice(n, 2, replace=False))
        edges.add((a, b))
    items = [
        (f"n{a}", f"n{b}")
        if k == 0 or rng.random() < 0.75
        else (f"n{a}", f"n{b}", rng.uniform(5e-4, 5e-3))
        for k, (a, b) in enumerate(sorted(edges))
    ]  # at least one learning edge
    net = Network.from_edges(items, nodes=[f"n{i}" for i in range(n)])
    n_in = draw(st.integers(1, min(3, n - 2)))
    perm = rng.permutation(n)
    inputs = [f"n{i}" for i in perm[:n_in]]
    out = f"n{perm[n_in]}"
    if draw(st.booleans()):
        out = Differential(out, f"n{perm[n_in + 1]}")
    points = [
        DataPoint({k: rng.uniform(-0.5, 0.5) for k in inputs}, rng.uniform(-0.3, 0.3))
        for _ in range(draw(st.integers(1, 3)))
    ]
    task = Task(points, out)
    G = rng.uniform(1.0, 5.0, net.n_gates)
    return net, task, G, rng


@settings(max_examples=60, deadline=None)
@given(random_problem())
def test_kirchhoff_identities_on_random_networks(problem):
    net, task, G, rng = problem
    f = free_state(net, G, task)
    L = laplacian_matrix(net, np.asarray(G, dtype=float)).toarray()
    I = np.flatnonzero(~np.isin(net.nodes, task.input_nodes))
    # current conservation at every interior node
    scale = float(np.max(f.K)) * max(float(np.max(np.abs(f.V))), 1e-3)  # current scale, A
    assert np.max(np.abs((f.V @ L)[:, I])) <= KCL_RTOL * scale * net.n_nodes
    # the free state minimizes P: any perturbation of the interior voltages raises it
    for _ in range(3):
        x = np.zeros(net.n_nodes)
        x[I] = rng.normal(size=I.size)
        for eps in (1e-3, 1e-1):
            P_pert = power(net, G, f.V + eps * x)
            assert np.all(P_pert >= f.P * (1 - POWER_RTOL))
    # P_C >= P_F for any clamp
    O_C = f.O + rng.uniform(-0.2, 0.2, task.n_points)
    c = clamped_state(net, G, task, O_C)
    np.testing.assert_allclose(c.O, O_C, rtol=0, atol=1e-12)
    assert np.all(c.P >= f.P * (1 - POWER_RTOL))
    # the clamped state at O_C = O_F is the free state
    c0 = clamped_state(net, G, task, f.O)
    np.testing.assert_allclose(c0.V, f.V, rtol=0, atol=1e-12)


def test_sparse_and_dense_factorizations_agree(monkeypatch):
    rng = np.random.default_rng(3)
    n = 40
    edges = [(f"n{i}", f"n{(i + 1) % n}") for i in range(n)] + [
        (f"n{i}", f"n{(i + 7) % n}") for i in range(0, n, 2)
    ]
    net = Network.from_edges(edges)
    task = Task([DataPoint({"n0": 0.4, "n20": 0.0}, 0.1)], "n10")
    G = rng.uniform(1.5, 4.0, net.n_gates)
    dense = free_state(net, G, task).V
    monkeypatch.setattr(_kirchhoff, "CHOLESKY_MAX_INTERIOR", 0)
    sparse = free_state(net, G, task).V
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-14)


def test_solve_voltages_general_interface():
    V = solve_voltages(star_network(), [3.0, 3.0], ["High", "Low", "Input"], [[1.0, 0.0, 0.5]])
    # K- = K+ = S * 2.3, K1 = 2e-3: O = (K+ * 1 + K1 * 0.5) / (2 K+ + K1)
    K = S * 2.3
    assert V[0, 3] == pytest.approx((K + 1e-3) / (2 * K + 2e-3), rel=1e-14)
    with pytest.raises(NetworkError, match="empty"):
        solve_voltages(star_network(), [3.0, 3.0], [], [])
    with pytest.raises(ShapeError, match="values"):
        solve_voltages(star_network(), [3.0, 3.0], ["High"], [[1.0, 2.0]])


def test_bad_input_is_refused_with_named_errors():
    net = star_network()
    with pytest.raises(NetworkError, match="Unknown node 'Nowhere'"):
        free_state(net, [3.0, 3.5], Task([DataPoint({"Nowhere": 0.1}, 0.2)], "Output"))
    with pytest.raises(NetworkError, match="self-loop"):
        Network.from_edges([("a", "a")])
    with pytest.raises(NetworkError, match="Duplicate edge"):
        Network.from_edges([("a", "b"), ("b", "a")])
    with pytest.raises(TaskError, match="both an input and an output"):
        Task([DataPoint({"Output": 0.1}, 0.2)], "Output")
    floating = Network.from_edges([("in", "out"), ("out", "gnd"), ("x", "y")])
    with pytest.raises(NetworkError, match=r"\['x', 'y'\]"):
        free_state(floating, [3.0, 3.0, 3.0], Task([DataPoint({"in": 1.0}, 0.5)], "out"))
    with pytest.raises(NetworkError, match=r"\['x', 'y'\]"):
        solve_voltages(floating, [3.0, 3.0, 3.0], ["in"], [1.0])
    with pytest.raises(DeviceError, match=r"'Low-Output'.*gate 0\.5 V.*V_T = 0\.7 V"):
        free_state(net, [0.5, 3.5], alpha_task())
    with pytest.raises(ShapeError, match="finite"):
        free_state(net, [np.nan, 3.5], alpha_task())
    with pytest.raises(ShapeError, match="O_C"):
        clamped_state(net, [3.0, 3.5], alpha_task(), [0.3, 0.2])
    with pytest.raises(ArgumentError, match="eta"):
        contrastive_function(net, [3.0, 3.5], alpha_task(), eta=0.0)


def test_power_refuses_non_finite_voltages():
    # Regression: power() returned NaN for NaN node voltages.
    with pytest.raises(ShapeError, match="`V`"):
        kirchhoff.power(star_network(), [3.0, 3.0], [np.nan, 0.0, 0.0, 0.0])
