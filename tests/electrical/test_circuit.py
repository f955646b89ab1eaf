"""Nonlinear Kirchhoff solver (circuit.py) and the three-regime MOSFET (devices.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clln_theory.electrical import _circuit, circuit
from clln_theory.electrical.circuit import CircuitSolver, node_currents, solve_circuit
from clln_theory.electrical.kirchhoff import solve_voltages
from clln_theory.errors import ConvergenceError, NetworkError, ShapeError
from clln_theory.model.devices import LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET
from clln_theory.model.network import Network, periodic_lattice, star_network

#: Agreement of the Newton solve with the linear Kirchhoff solve (both direct LU/Cholesky
#: solves of the same well-conditioned system: a few ulp of the ~0.5 V node voltages).
LINEAR_MATCH_TOL = 1e-13
#: KCL residual accepted at a converged nonlinear solution, relative to the largest edge
#: current (the solver's default rtol is 1e-10; Newton lands far below it).
KCL_RTOL = 1e-10
#: Continuity check: across a boundary at +-EPS_V the current may change by at most
#: 2 EPS_V * SLOPE_MAX, SLOPE_MAX (A/V) bounding |dI/dG|, |dI/dV| here (S * 5 V * ln10/0.1 < 0.1).
#: A genuine jump would be of the size of the current itself (~1e-6 A at the transition).
EPS_V = 1e-9
SLOPE_MAX = 0.1

S, VT = 8.5e-4, 0.7
DEV = ThreeRegimeMOSFET()


def _lattice_problem(device, L, seed):
    net = periodic_lattice(L, device=device)
    rng = np.random.default_rng(seed)
    G = rng.uniform(1.5, 5.0, net.n_gates)
    imposed = [net.nodes[0], net.nodes[L + 1], net.nodes[-1]]
    values = rng.uniform(0.0, 0.45, 3)
    return net, G, imposed, values


# ------------------------------------------------------------------------- devices
def test_three_regime_equals_eq2_in_ohmic_regime():
    G = np.array([3.0, 2.5, 4.0])
    Va = np.array([0.4, 0.1, 0.3])
    Vb = np.array([0.2, 0.3, 0.0])
    a = DEV.current_and_derivatives(G, S, VT, Va, Vb)
    b = OhmicMOSFET().current_and_derivatives(G, S, VT, Va, Vb)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-14, atol=0)


def test_three_regime_saturation_and_subthreshold_decade():
    # saturation: Vds >= Vov gives S Vov^2 / 2, independent of Vds
    I1 = DEV.current(1.5, S, VT, 1.2, 0.4)  # Vov = 0.4, Vds = 0.8
    I2 = DEV.current(1.5, S, VT, 1.0, 0.4)  # Vds = 0.6
    assert I1 == pytest.approx(0.5 * S * 0.4**2, rel=1e-14)
    assert I2 == pytest.approx(I1, rel=1e-14)
    # subthreshold: one decade per 0.1 V of overdrive below the transition
    lo = DEV.current(VT + 0.05 - 0.1, S, VT, 0.01, 0.0)
    hi = DEV.current(VT + 0.05, S, VT, 0.01, 0.0)
    assert hi / lo == pytest.approx(10.0, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    vds=st.floats(0.0, 0.5),
    vs=st.floats(0.0, 0.4),
    swap=st.booleans(),
)
def test_three_regime_continuous_across_threshold(vds, vs, swap):
    """C0 across Vov = transition (for every Vds) and across Vds = Vov."""
    Va, Vb = vs + vds, vs
    if swap:
        Va, Vb = Vb, Va
    G_tr = VT + vs + DEV.transition
    I_lo = float(DEV.current(G_tr - EPS_V, S, VT, Va, Vb))
    I_hi = float(DEV.current(G_tr + EPS_V, S, VT, Va, Vb))
    assert abs(I_hi - I_lo) <= 2 * EPS_V * SLOPE_MAX
    # ohmic/saturation boundary at Vds = Vov (Vov = 0.3): continuous, with continuous dI/dVa
    G = VT + vs + 0.3
    a = DEV.current_and_derivatives(G, S, VT, vs + 0.3 - EPS_V, vs)
    b = DEV.current_and_derivatives(G, S, VT, vs + 0.3 + EPS_V, vs)
    assert abs(float(a[0]) - float(b[0])) <= 2 * EPS_V * SLOPE_MAX
    assert abs(float(a[1]) - float(b[1])) <= 2 * EPS_V * S  # C1 here: d2I/dVa2 = -S


@settings(max_examples=60, deadline=None)
@given(
    G=st.floats(0.75, 5.0),
    Va=st.floats(0.0, 0.45),
    Vb=st.floats(0.0, 0.45),
)
def test_three_regime_derivatives_match_finite_differences(G, Va, Vb):
    """Analytic (dI/dVa, dI/dVb, dI/dG) against central differences, away from the kinks."""
    h = 1e-7
    vs = min(Va, Vb)
    vov = G - VT - vs
    # stay h-clear of the regime boundaries and of Va = Vb (where min() switches)
    if abs(vov - DEV.transition) < 1e-5 or abs(abs(Va - Vb) - max(vov, 0.096)) < 1e-5:
        return
    if abs(Va - Vb) < 1e-5:
        return
    _, dIa, dIb, dIG = DEV.current_and_derivatives(G, S, VT, Va, Vb)
    fd = [
        (DEV.current(G, S, VT, Va + h, Vb) - DEV.current(G, S, VT, Va - h, Vb)) / (2 * h),
        (DEV.current(G, S, VT, Va, Vb + h) - DEV.current(G, S, VT, Va, Vb - h)) / (2 * h),
        (DEV.current(G + h, S, VT, Va, Vb) - DEV.current(G - h, S, VT, Va, Vb)) / (2 * h),
    ]
    scale = S * 1.0  # derivatives are O(S * 1 V)
    for an, num in zip((dIa, dIb, dIG), fd):
        assert abs(float(an) - float(num)) <= 1e-6 * scale


def test_three_regime_is_odd():
    rng = np.random.default_rng(0)
    G = rng.uniform(0.5, 5, 50)
    Va, Vb = rng.uniform(0, 0.5, 50), rng.uniform(0, 0.5, 50)
    np.testing.assert_array_equal(DEV.current(G, S, VT, Va, Vb), -DEV.current(G, S, VT, Vb, Va))


def test_three_regime_rejects_bad_parameters():
    with pytest.raises(ValueError, match="transition"):
        ThreeRegimeMOSFET(transition=-0.1)


# ---------------------------------------------------------------------------- solver
@pytest.mark.parametrize("L", [3, 4])
def test_linear_device_reproduces_linear_solve_in_one_step(L):
    net, G, imposed, values = _lattice_problem(LinearDevice(), L, seed=L)
    ref = solve_voltages(net, G, imposed, values)[0]
    # from a cold start (all interior voltages 0) Newton is exact after one step
    sol = solve_circuit(net, G, imposed, values, V0=np.zeros(net.n_nodes))
    assert sol.n_iter == 1
    np.testing.assert_allclose(sol.V, ref, rtol=0, atol=LINEAR_MATCH_TOL)
    # the default initial guess (a linear solve) is already exact for linear devices
    assert solve_circuit(net, G, imposed, values).n_iter == 0


@pytest.mark.parametrize("device", [LinearDevice(), OhmicMOSFET(), ThreeRegimeMOSFET()])
def test_warm_start_at_the_solution_returns_it(device):
    # Regression: a start already at the solution used to fail in the line search (about 1 seed
    # in 4 here), which could not reduce a residual already at round-off; overclamping re-solves
    # skipped points at unchanged gates, so it hit this on the lattice.
    for seed in range(12):
        net, G, imposed, values = _lattice_problem(device, 4, seed=seed)
        first = solve_circuit(net, G, imposed, values)
        again = solve_circuit(net, G, imposed, values, V0=first.V)
        assert again.n_iter == 0
        np.testing.assert_array_equal(again.V, first.V)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), three=st.booleans())
def test_nonlinear_solution_satisfies_kcl(seed, three):
    dev = ThreeRegimeMOSFET() if three else OhmicMOSFET()
    net, G, imposed, values = _lattice_problem(dev, 4, seed)
    sol = solve_circuit(net, G, imposed, values)
    F = node_currents(net, G, sol.V)
    interior = [i for i, n in enumerate(net.nodes) if n not in imposed]
    I_max = np.max(np.abs(circuit.edge_currents(net, G, sol.V)))
    assert np.max(np.abs(F[interior])) <= KCL_RTOL * I_max
    np.testing.assert_array_equal(sol.V[[net.node(n) for n in imposed]], values)


def test_sparse_path_matches_dense(monkeypatch):
    net, G, imposed, values = _lattice_problem(ThreeRegimeMOSFET(), 5, seed=3)
    dense = solve_circuit(net, G, imposed, values)
    monkeypatch.setattr(_circuit, "NEWTON_DENSE_MAX_INTERIOR", 0)
    solver = CircuitSolver(net, imposed)
    assert not solver.dense
    sparse = solver.solve(G, values)
    np.testing.assert_allclose(sparse.V, dense.V, rtol=0, atol=1e-12)


def test_warm_start_converges_in_few_iterations():
    net, G, imposed, values = _lattice_problem(ThreeRegimeMOSFET(), 4, seed=5)
    solver = CircuitSolver(net, imposed)
    cold = solver.solve(G, values)
    warm = solver.solve(G + 1e-4, values, V0=cold.V)
    assert warm.n_iter <= min(3, cold.n_iter)


def test_convergence_error_names_worst_node_and_residual():
    net = star_network(device=ThreeRegimeMOSFET())
    with pytest.raises(ConvergenceError, match=r"at node 'Output'") as err:
        solve_circuit(net, [3.0, 3.5], ["High", "Low", "Input"], [0.4351, 0.0181, 0.4351],
                      max_iter=1)  # fmt: skip
    assert " A, is at node" in str(err.value)


def test_bad_input_is_refused():
    net = star_network()
    with pytest.raises(NetworkError, match=r"floating|not connected"):
        net2 = Network.from_edges([("a", "b"), ("c", "d")])
        CircuitSolver(net2, ["a"])
    with pytest.raises(ShapeError, match="values"):
        solve_circuit(net, [3.0, 3.0], ["High", "Low"], [0.1, 0.2, 0.3])
    with pytest.raises(NetworkError, match="unique"):
        CircuitSolver(net, ["High", "High"])


def test_solver_settings_are_typed_errors_naming_the_argument():
    # Regression: atol_current and max_iter were not checked (max_iter=0 never iterated) and bad
    # tolerances raised a bare ValueError.
    from clln_theory.errors import ArgumentError
    from clln_theory.model.network import star_network

    net = star_network(device=OhmicMOSFET())
    for kw in ({"atol_current": -1.0}, {"max_iter": 0}, {"tol_step": float("nan")}):
        with pytest.raises(ArgumentError, match=f"`{next(iter(kw))}`"):
            CircuitSolver(net, ["High", "Low", "Input"], **kw)


def test_node_with_all_edges_saturated_into_it_is_solved():
    # Regression: an ideal saturated transistor has zero output conductance, so a start where
    # node X is the drain of two saturated edges gave an exactly singular Jacobian ("met a
    # singular Jacobian" during overclamping on the lattice). The Newton matrix now gets a
    # gmin on the diagonal when, and only when, it is exactly singular.
    net = Network.from_edges([("a", "X"), ("b", "X")], device=ThreeRegimeMOSFET())
    G = np.array([0.80, 0.85])  # overdrives 0.1 V and 0.1 V at the sources
    V0 = np.array([0.0, 0.9, 0.05])  # (a, X, b): X far above both, both edges saturated
    solver = CircuitSolver(net, ["a", "b"])
    sol = solver.solve(G, [0.0, 0.05], V0=V0)
    assert 0.0 < sol.V[1] < 0.05  # between the imposed voltages, as for any passive circuit
    F = node_currents(net, G, sol.V)
    assert abs(F[1]) <= 1e-10 * np.max(np.abs(circuit.edge_currents(net, G, sol.V)))


def test_failed_warm_start_falls_back_to_the_default_start():
    # Regression (Fig. 5, overclamping, eps = 417 mV, seed 1, split 6): gates at the box limits
    # and a warm start from the previous step's voltages; damped Newton stalled at a spurious
    # local minimum of |F| (residual 8e-4 A at node '0,1') for any number of iterations, while
    # the default start converges in 5. A failed warm start is now retried from the default.
    net = periodic_lattice(4, device=ThreeRegimeMOSFET())
    hi = [0, 1, 2, 3, 5, 10, 14, 15, 17, 23, 25, 27, 28, 29, 30, 31]  # gates at 5 V, rest at 1 V
    G = [5.0 if k in hi else 1.0 for k in range(32)]
    imposed = ["0,0", "0,2", "1,0", "1,2", "2,2", "3,2"]
    values = [0.435, 0.2265, 0.0, 0.435, 0.2085, 0.018]
    V0 = [0.435, 0.1622856384729001, 0.2265, 0.4222825896417814, 0.0, 0.38503014913850436,
          0.435, 0.024937904981882336, 0.3205447764498353, 0.3494573004537534, 0.2085,
          0.18539902003924522, 0.30472694963970304, 0.09454062962000952, 0.018,
          0.16840009055956848]  # fmt: skip
    solver = CircuitSolver(net, imposed)
    warm = solver.solve(G, values, V0=V0)
    cold = solver.solve(G, values)
    np.testing.assert_allclose(warm.V, cold.V, rtol=0, atol=1e-10)
    F = node_currents(net, np.asarray(G), warm.V)
    interior = [net.node(n) for n in net.nodes if n not in imposed]
    assert np.max(np.abs(F[interior])) <= 1e-10 * np.max(
        np.abs(circuit.edge_currents(net, G, warm.V))
    )
