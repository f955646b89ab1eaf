"""Force Jacobian by the adjoint formula, the η identity, linearize -> LinearTask, solutions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kirchhoff import random_problem

from clln_theory.electrical.kirchhoff import free_state
from clln_theory.electrical.symbolic import symbolic_contrastive_hessian
from clln_theory.errors import ArgumentError, ConvergenceError, TaskError
from clln_theory.model.network import Network, star_network
from clln_theory.model.tasks import DataPoint, Differential, Task
from clln_theory.theory.jacobian import (
    contrastive_hessian,
    force_jacobian,
    force_jacobian_fd,
    joint_solution,
    linearize,
    nearest_solution,
)
from clln_theory.theory.linear import LinearTask

V_P, V_M = 0.4351, 0.0181
#: Must-show agreement: symbolic (exact rational), adjoint (float) and central finite
#: differences (h = 1e-5 V, ~1e-10 relative) all agree to at least 8 digits.
EIGHT_DIGITS = 1e-8
#: Two exact methods in floating point (adjoint vs rational evaluation): round-off only.
ROUNDOFF = 1e-12
#: Adjoint vs central differences on random networks: FD error ~1e-9 relative when the entries
#: are not tiny compared to the largest; absolute floor relative to max|J|.
FD_RTOL = 1e-6
#: Absolute floor for Jacobians that vanish (e.g. all inputs equal): FD round-off is
#: ~eps |F| / h with |F| <= S V^2 ~ 2e-4 A, i.e. ~1e-15 A/V; 1e-12 A/V is far below any real
#: entry (S^2 V^2 / K ~ 1e-5 A/V).
J_ATOL = 1e-12


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))


def alpha():
    return Task([DataPoint({"High": V_P, "Low": V_M, "Input": V_P}, 0.31)], "Output", name="a")


def test_must_show_2p1_symbolic_equals_adjoint_equals_fd():
    net, task = star_network(), alpha()
    G_star = nearest_solution(net, task, [3.0, 3.5])
    H_sym = symbolic_contrastive_hessian(net, G_star, task)
    J_adj = force_jacobian(net, G_star, task).J
    J_fd = force_jacobian_fd(net, G_star, task)
    assert rel(J_adj, H_sym) < ROUNDOFF
    assert rel(J_fd, H_sym) < EIGHT_DIGITS
    gamma, r = 1.6e6, 2.0
    lt = linearize(net, task, G_star, gamma=gamma, r=r)
    assert isinstance(lt, LinearTask) and lt.rank == 1
    assert rel(lt.M, r * gamma * H_sym) < ROUNDOFF
    # the null direction of M is the solution line's tangent
    tangent = lt.eigvecs[:, 0]
    g = force_jacobian(net, G_star, task)
    assert abs(tangent @ g.gauss_newton @ tangent) < 1e-12 * np.max(np.abs(g.J))


@pytest.mark.parametrize("eta", [1.0, 0.5, 0.05])
def test_eta_identity_2p1(eta):
    net, task = star_network(), alpha()
    G_star = nearest_solution(net, task, [3.0, 3.5])
    J = force_jacobian(net, G_star, task, eta=eta).J
    H = symbolic_contrastive_hessian(net, G_star, task, eta=eta)
    assert rel(J, H / eta) < ROUNDOFF
    lt = linearize(net, task, G_star, gamma=1.0, eta=eta)
    assert rel(lt.M, H / eta) < ROUNDOFF


def _solved(net, task, G):
    """The same task with labels moved to the free outputs at G: G is then a solution."""
    O = free_state(net, G, task).O
    pts = [DataPoint(dict(p.inputs), float(o)) for p, o in zip(task.points, O)]
    return Task(pts, task.output)


@settings(max_examples=40, deadline=None)
@given(random_problem(), st.floats(0.01, 1.0))
def test_eta_identity_random_networks(problem, eta):
    """At a solution, Jacobian(F) = (1/eta) d2C_eta/dG2 (single-node output)."""
    net, task, G, _ = problem
    if task.is_differential:
        task = Task(task.points, task.output_nodes[0])
    task = _solved(net, task, G)
    jac = force_jacobian(net, G, task, eta=eta)
    H = contrastive_hessian(net, G, task, eta=eta)
    assert not jac.curvature_included  # every delta_p is zero
    np.testing.assert_allclose(
        jac.J, H / eta, rtol=0, atol=ROUNDOFF * np.max(np.abs(H / eta)) + 1e-6 * J_ATOL
    )


@settings(max_examples=15, deadline=None)
@given(random_problem(max_nodes=7), st.floats(0.1, 1.0))
def test_adjoint_jacobian_matches_finite_differences_anywhere(problem, eta):
    """Off a solution (delta != 0), with the exact curvature term; differential outputs too."""
    net, task, G, _ = problem
    jac = force_jacobian(net, G, task, eta=eta, curvature="exact")
    J_fd = force_jacobian_fd(net, G, task, eta=eta)
    scale = np.max(np.abs(J_fd))
    np.testing.assert_allclose(jac.J, J_fd, rtol=0, atol=FD_RTOL * scale + J_ATOL)


def test_curvature_term_is_reported_and_needed_off_solution():
    # (On the star network the curvature term vanishes identically: C = (L sum K - sum K V)^2 /
    # sum K has a rank-one Hessian. Two interior nodes make it nonzero.)
    net = Network.from_edges([("in", "a"), ("a", "out"), ("out", "gnd"), ("a", "gnd", 1e-3)])
    task = Task(
        [DataPoint({"in": 0.4, "gnd": 0.0}, 0.3), DataPoint({"in": 0.1, "gnd": 0.0}, 0.02)],
        "out",
    )
    G = np.array([2.5, 3.0, 2.0])
    auto = force_jacobian(net, G, task)
    gn = force_jacobian(net, G, task, curvature="gauss-newton")
    fd = force_jacobian_fd(net, G, task)
    assert auto.curvature_included and not gn.curvature_included and gn.curvature is None
    assert rel(auto.J, fd) < EIGHT_DIGITS
    assert rel(gn.J, fd) > 1e-3  # dropping it would be visibly wrong here


def test_linearize_refuses_non_solutions_and_asymmetric_jacobians():
    net, task = star_network(), alpha()
    with pytest.raises(TaskError, match="not a solution"):
        linearize(net, task, [3.0, 3.5], gamma=1e6)
    with pytest.raises(ArgumentError, match="gamma"):
        linearize(net, task, [3.0, 3.5], gamma=-1.0)
    # differential output with unequal sides: J = -2 eta nu gradO^T is not symmetric
    dnet = Network.from_edges(
        [("in", "p"), ("in", "m"), ("p", "gnd"), ("m", "gnd"), ("p", "m", 1e-3), ("in2", "m")]
    )
    G = np.array([2.0, 3.0, 4.0, 2.5, 3.3])
    dtask = _solved(
        dnet, Task([DataPoint({"in": 0.4, "gnd": 0.0, "in2": 0.1}, 0.0)], Differential("p", "m")), G
    )
    jac = force_jacobian(dnet, G, dtask)
    assert jac.asymmetry > 1e-3
    assert rel(jac.J, force_jacobian_fd(dnet, G, dtask)) < EIGHT_DIGITS
    with pytest.raises(TaskError, match="not symmetric"):
        linearize(dnet, dtask, G, gamma=1e6)


def test_nearest_and_joint_solutions():
    net, task = star_network(), alpha()
    G_ref = np.array([3.0, 3.5])
    G = nearest_solution(net, task, G_ref)
    assert abs(free_state(net, G, task).O[0] - 0.31) < 1e-13
    # nearest: G_ref - G is normal to the solution line, i.e. parallel to grad O
    gO = force_jacobian(net, G, task).gauss_newton[0]  # rank one, rows parallel to grad O
    d = G_ref - G
    assert abs(d[0] * gO[1] - d[1] * gO[0]) < 1e-10 * np.linalg.norm(d) * np.linalg.norm(gO)
    beta = Task([DataPoint({"High": V_P, "Low": V_M, "Input": V_M}, 0.14)], "Output")
    Gj = joint_solution(net, task, beta, G_ref)
    assert abs(free_state(net, Gj, task).O[0] - 0.31) < 1e-13
    assert abs(free_state(net, Gj, beta).O[0] - 0.14) < 1e-13
    impossible = Task([DataPoint({"High": V_P, "Low": V_M, "Input": V_P}, 0.5)], "Output")
    with pytest.raises(ConvergenceError):
        nearest_solution(net, impossible, G_ref)


def _ladder():
    """Two interior nodes, three gates: the curvature term of a single point is not rank one."""
    return Network.from_edges(
        [("in", "m"), ("m", "out"), ("out", "gnd"), ("m", "gnd", 1e-3), ("in", "out", 5e-4)]
    )


def test_single_point_rate_matrix_is_rank_one_slightly_off_its_manifold():
    # Regression: a single-point task linearized a hair off its solution manifold (delta ~ 2e-11 V,
    # well inside the 1e-9 V a calibrated line may miss by) got the curvature term of
    # force_jacobian's "auto" mode, which is not rank one here; M gained an eigenvalue ~5e-9 1/s,
    # above the 1e-9 1/s rank threshold, so the task lost its drift direction.
    net = _ladder()
    task = Task([DataPoint({"in": 0.4, "gnd": 0.0}, 0.15)], "out")
    G_star = nearest_solution(net, task, [3.0, 3.0, 3.0])
    off = G_star + 1e-9 * np.array([0.3, -1.0, 0.7])
    assert force_jacobian(net, off, task).max_abs_delta > 1e-12  # "auto" would add curvature
    lt = linearize(net, task, off, gamma=3e6)
    assert lt.rank == 1
    exact = linearize(net, task, G_star, gamma=3e6)
    assert rel(lt.M, exact.M) < 1e-7  # O(delta) change of the rank-one term only
    jac = force_jacobian(net, off, task, curvature="solution")
    assert not jac.curvature_included and jac.residual_delta < 1e-20
    # an explicit request still gets the exact Jacobian at the given point
    assert force_jacobian(net, off, task, curvature="exact").curvature_included


def test_solution_mode_keeps_the_curvature_of_errors_no_gate_change_removes():
    # Four points whose inputs span two directions, three gates, output affine in the inputs with
    # two free coefficients: no G satisfies every point, and the part of the errors outside the
    # range of d(delta)/dG is a genuine residual whose curvature term is kept.
    net = _ladder_two_inputs()
    inp = ((0.1, 0.3), (0.4, 0.0), (0.2, 0.1), (0.3, 0.3))
    labels = (0.061, 0.118, 0.074, 0.114)
    task = Task([DataPoint({"in": v, "in2": u, "gnd": 0.0}, L) for (v, u), L in zip(inp, labels)],
                "out")  # fmt: skip
    G = np.array([3.0, 3.0, 3.0])
    jac = force_jacobian(net, G, task, curvature="solution")
    assert jac.residual_delta > 1e-3 and jac.curvature_included
    exact = force_jacobian(net, G, task, curvature="exact")
    np.testing.assert_array_equal(jac.J, exact.J)
    assert rel(exact.curvature, exact.gauss_newton) > 1e-3  # not negligible
    # with labels the network can meet (two points), the errors are all removable
    sat = Task([DataPoint({"in": v, "in2": u, "gnd": 0.0}, L) for (v, u), L in
                zip(inp[:2], labels[:2])], "out")  # fmt: skip
    jac = force_jacobian(net, G, sat, curvature="solution")
    assert jac.max_abs_delta > 1e-3 and jac.residual_delta < 1e-15 and not jac.curvature_included


def _ladder_two_inputs():
    return Network.from_edges(
        [("in", "m"), ("m", "out"), ("out", "gnd"), ("m", "gnd", 1e-3), ("in", "out", 5e-4),
         ("in2", "m", 1e-3)]
    )  # fmt: skip


def test_bad_numerical_parameters_are_typed_errors():
    # Regression: h = 0 gave a NaN Jacobian; tol = -1 or max_iter = 0 a misleading
    # "did not converge"; a NaN solution_tol accepted any G_star.
    net, task = star_network(), alpha()
    with pytest.raises(ArgumentError, match="`h`"):
        force_jacobian_fd(net, [3.0, 3.5], task, h=0.0)
    with pytest.raises(ArgumentError, match="`tol`"):
        nearest_solution(net, task, [3.0, 3.5], tol=-1.0)
    with pytest.raises(ArgumentError, match="`max_iter`"):
        nearest_solution(net, task, [3.0, 3.5], max_iter=0)
    with pytest.raises(ArgumentError, match="`solution_tol`"):
        linearize(net, task, [3.0, 3.5], gamma=1e6, solution_tol=np.nan)
    with pytest.raises(ArgumentError, match="`delta_tol`"):
        force_jacobian(net, [3.0, 3.5], task, delta_tol=-1.0)


#: Central second differences of C (h = 1e-4 V): truncation ~h^2 |C''''| / 12 plus round-off
#: ~eps |C| / h^2 of the four evaluations; measured 2e-6 of max|H| at eta = 0.4 (C ~ eta^2 is
#: small there); 1e-5 leaves a margin and is 1e5 times below the O(1) gap between H and eta J.
FD2_RTOL = 1e-5


def _fd_hessian(net, G, task, eta, h=1e-4):
    """Central second differences of the contrastive function C_eta (an independent reference)."""
    from clln_theory.electrical.kirchhoff import contrastive_function

    n = G.size
    H = np.zeros((n, n))
    E = np.eye(n) * h
    for i in range(n):
        for j in range(n):
            c = [
                contrastive_function(net, G + si * E[i] + sj * E[j], task, eta=eta)
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ]
            H[i, j] = (c[0] - c[1] - c[2] + c[3]) / (4 * h * h)
    return H


@pytest.mark.parametrize("eta", [1.0, 0.4])
def test_differential_output_is_a_gradient_flow_only_in_a_diagonal_metric(eta):
    """Issue 21 (a): why a differential output's J is not symmetric. Nothing is wrong in the
    Jacobian or the Hessian: C's Hessian is symmetric and matches second differences of C, J
    matches differences of the force, and the two differ by a diagonal metric, J = W^-1 H / eta
    (W_e = K_eff dlambda_O,e/dmu_e): the clamp imposes both nodes (+-Delta/2), so F is not grad C.
    (On the 3x3 grid W even changes sign: tests/experiments/test_reproduce_networks.py.)"""
    dnet = Network.from_edges(
        [("in", "p"), ("in", "m"), ("p", "gnd"), ("m", "gnd"), ("p", "m", 1e-3), ("in2", "m")]
    )
    G = np.array([2.0, 3.0, 4.0, 2.5, 3.3])
    raw = Task([DataPoint({"in": 0.4, "gnd": 0.0, "in2": 0.1}, 0.0)], Differential("p", "m"))
    for task in (raw, _solved(dnet, raw, G)):  # off and at a solution
        H = contrastive_hessian(dnet, G, task, eta=eta)
        H_fd = _fd_hessian(dnet, G, task, eta)
        assert rel(H_fd, H_fd.T) < FD2_RTOL  # symmetric by construction (an independent check)
        assert rel(H, H_fd) < FD2_RTOL
    task = _solved(dnet, raw, G)
    J = force_jacobian(dnet, G, task, eta=eta).J
    assert rel(J, force_jacobian_fd(dnet, G, task, eta=eta)) < EIGHT_DIGITS
    assert asymmetry_of(J) > 1e-2
    # J = W^-1 H / eta with W diagonal: the ratio H / (eta J) is one number per row
    ratio = H / (eta * J)
    W = ratio[:, 0]
    np.testing.assert_allclose(ratio, np.repeat(W[:, None], G.size, axis=1), rtol=ROUNDOFF * 1e3)
    assert W.max() / W.min() > 1.2  # not a multiple of the identity: no Euclidean gradient flow
    # one output node: W = 1, the eta identity
    single = _solved(dnet, Task(raw.points, "p"), G)
    J1 = force_jacobian(dnet, G, single, eta=eta).J
    assert rel(J1, contrastive_hessian(dnet, G, single, eta=eta) / eta) < ROUNDOFF
    with pytest.raises(TaskError, match="diagonal metric W"):
        linearize(dnet, task, G, gamma=1e6, eta=eta)


def asymmetry_of(J):
    return float(np.max(np.abs(J - J.T)) / np.max(np.abs(J)))
