"""Symbolic model: closed forms on the 2+1 network, agreement with the adjoint numerics."""

import time

import numpy as np
import pytest
import sympy as sp

from clln_theory.electrical.symbolic import (
    symbolic_contrastive_hessian,
    symbolic_force_jacobian,
    symbolic_model,
)
from clln_theory.errors import SymbolicSizeError
from clln_theory.model.network import Network, periodic_lattice, star_network
from clln_theory.model.tasks import DataPoint, Differential, Task
from clln_theory.theory.jacobian import (
    contrastive_hessian,
    force_jacobian,
    linearize,
    nearest_solution,
)

V_P, V_M = 0.4351, 0.0181
#: Exact rational evaluation vs the float adjoint: round-off of the adjoint only.
ROUNDOFF = 1e-12
#: Must-show budget for the symbolic Hessian of the 2+1 network (model build included).
SYMBOLIC_BUDGET_S = 2.0


def alpha():
    return Task([DataPoint({"High": V_P, "Low": V_M, "Input": V_P}, 0.31)], "Output")


def model():
    return symbolic_model(star_network(), alpha(), gate_labels=("-", "+"))


def test_2p1_closed_forms():
    m = model()
    Km, Kp = m.K
    (k1,) = m.k
    V = m.V_in
    O = (Km * V["Low"] + Kp * V["High"] + k1 * V["Input"]) / (Km + Kp + k1)
    assert sp.cancel(m.O_F - O) == 0
    # C = eta^2 K_eff delta^2 with K_eff = K- + K+ + k1 (exact for a linear network)
    assert sp.cancel(m.C - m.eta**2 * (Km + Kp + k1) * (m.L - O) ** 2) == 0
    # the solution manifold is a line in (K-, K+), hence in (G-, G+)
    eq = m.solution_manifold(label=0.31, inputs={"High": V_P, "Low": V_M, "Input": V_P})
    assert sp.Poly(eq.lhs, Km, Kp).total_degree() == 1
    assert "K_{+}" in m.latex(m.hessian())


def test_gradient_in_G_is_the_force_at_eta_one():
    m = model()
    grad = m.gradient(m.point_elements()["C"], wrt="G")
    subs = {m.eta: 1}
    F = sp.Matrix(m.force).subs(subs)
    S = sp.Rational("0.00085")
    # d/dG_i = S_i d/dK_i; compare at a rational point
    point = {
        m.K[0]: S * sp.Rational(23, 10),
        m.K[1]: S * sp.Rational(28, 10),
        m.k[0]: 1 / sp.Integer(500),
    }
    point.update({m.V_in["High"]: sp.Rational("0.4351"), m.V_in["Low"]: sp.Rational("0.0181")})
    point.update({m.V_in["Input"]: sp.Rational("0.4351"), m.L: sp.Rational("0.31")})
    G_point = {m.G[0]: 3, m.G[1]: sp.Rational(35, 10)}
    diff = (grad.subs(G_point).subs(point).subs(subs) - F.subs(point)).applyfunc(sp.nsimplify)
    assert diff == sp.zeros(2, 1)


def test_lambdify_matches_numeric_hessian():
    m = model()
    f = m.lambdify(m.hessian(wrt="K"))
    G = np.array([3.0, 3.5])
    inputs = {"High": V_P, "Low": V_M, "Input": V_P}
    HK = f(G, inputs, 0.31, 1.0)
    S = star_network().S
    H = np.outer(S, S) * HK
    np.testing.assert_allclose(H, contrastive_hessian(star_network(), G, alpha()), rtol=1e-12)


def test_symbolic_hessian_of_2p1_is_fast():
    net, task = star_network(), alpha()
    G = nearest_solution(net, task, [3.0, 3.5])
    t = time.perf_counter()
    H = symbolic_contrastive_hessian(net, G, task)
    elapsed = time.perf_counter() - t
    assert elapsed < SYMBOLIC_BUDGET_S, f"symbolic Hessian took {elapsed:.2f} s"
    lt = linearize(net, task, G, gamma=1.0, route="symbolic")
    np.testing.assert_allclose(lt.M, H, rtol=0, atol=ROUNDOFF * np.max(np.abs(H)))


@pytest.mark.parametrize("output", ["out", Differential("out", "m")])
@pytest.mark.parametrize("eta", [1.0, 0.3])
def test_symbolic_matches_adjoint_off_solution(output, eta):
    """Two interior nodes, two points, fixed edges: exact J and H agree with the adjoint."""
    net = Network.from_edges(
        [("in", "m"), ("m", "out"), ("out", "gnd"), ("m", "gnd", 1e-3), ("in2", "out", 2e-3)]
    )
    task = Task(
        [
            DataPoint({"in": 0.4, "in2": 0.1, "gnd": 0.0}, 0.2),
            DataPoint({"in": 0.1, "in2": 0.3, "gnd": 0.0}, 0.05),
        ],
        output,
    )
    G = np.array([2.5, 3.0, 2.0])
    J_sym = symbolic_force_jacobian(net, G, task, eta=eta)
    J_adj = force_jacobian(net, G, task, eta=eta, curvature="exact").J
    np.testing.assert_allclose(J_adj, J_sym, rtol=0, atol=ROUNDOFF * np.max(np.abs(J_sym)))
    H_sym = symbolic_contrastive_hessian(net, G, task, eta=eta)
    H_adj = contrastive_hessian(net, G, task, eta=eta)
    np.testing.assert_allclose(H_adj, H_sym, rtol=0, atol=ROUNDOFF * np.max(np.abs(H_sym)))


def test_size_limit():
    net = periodic_lattice(4)
    task = Task([DataPoint({"0,0": 1.0}, 0.5)], "2,2")
    with pytest.raises(SymbolicSizeError, match="15 interior nodes"):
        symbolic_model(net, task)
