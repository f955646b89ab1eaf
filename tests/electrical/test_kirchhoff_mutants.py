"""The Kirchhoff solve: the cases the mutation run (tests/mutation) found untested.

Both factorizations (dense Cholesky up to CHOLESKY_MAX_INTERIOR interior nodes, sparse LU
beyond) against the exact voltages of a resistor chain, their messages for a disconnected node,
a block without interior nodes, and a multi-output task: outputs read by ``U``, clamps moved by
``C`` (a differential target's nudge split +-1/2), the state's drops and power.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp

from clln_theory.electrical._kirchhoff import (
    CHOLESKY_MAX_INTERIOR,
    InteriorSolver,
    KirchhoffSolver,
)
from clln_theory.errors import SingularSystemError
from clln_theory.model.network import periodic_lattice
from clln_theory.model.tasks import DataPoint, Differential, Task

_DISCONNECTED = (
    "some interior node is not connected to an imposed node through positive conductances."
)


def _chain(n_nodes, cut=None):
    """Laplacian (S) of a chain of unit conductances; the edges at node ``cut`` removed."""
    K = np.ones(n_nodes - 1)
    if cut is not None:
        K[[cut - 1, cut]] = 0.0
    A = sp.diags([np.ones(n_nodes - 1), -np.ones(n_nodes - 1)], [0, 1], (n_nodes - 1, n_nodes))
    return (A.T @ sp.diags(K) @ A).tocsr()


@pytest.mark.parametrize("n_interior", [3, CHOLESKY_MAX_INTERIOR, CHOLESKY_MAX_INTERIOR + 1])
def test_chain_voltages_interpolate_linearly(n_interior):
    n = n_interior + 2
    solver = InteriorSolver(_chain(n), np.array([0, n - 1]))
    dense = n_interior <= CHOLESKY_MAX_INTERIOR  # the documented choice of factorization
    assert (solver._chol is not None, solver._lu is not None) == (dense, not dense)
    V = solver.voltages(np.array([[0.0, 1.0], [2.0, -1.0]]))
    x = np.arange(n) / (n - 1)
    np.testing.assert_allclose(V, [x, 2.0 - 3.0 * x], atol=1e-12)
    z = solver.solve(np.ones(n_interior, dtype=int))  # integer currents are read as floats
    assert z.dtype == np.float64
    np.testing.assert_allclose(_chain(n)[1:-1, 1:-1] @ z, np.ones(n_interior), atol=1e-9)


@pytest.mark.parametrize("n_nodes", [6, CHOLESKY_MAX_INTERIOR + 10])
def test_disconnected_interior_node_is_a_typed_error(n_nodes):
    L = _chain(n_nodes, cut=2)
    if n_nodes <= CHOLESKY_MAX_INTERIOR:
        message = re.escape(
            "The interior Laplacian block is not positive definite; " + _DISCONNECTED
        )
    else:
        message = r"The interior Laplacian block is singular \(.+\); " + re.escape(_DISCONNECTED)
    with pytest.raises(SingularSystemError, match=f"^{message}$"):
        InteriorSolver(L, np.array([0, n_nodes - 1]))


def test_no_interior_nodes():
    solver = InteriorSolver(_chain(3), np.array([0, 1, 2]))
    z = solver.solve(np.ones((0, 2), dtype=int))
    assert z.shape == (0, 2) and z.dtype == np.float64
    np.testing.assert_array_equal(solver.voltages([1.0, 2.0, 3.0]), [[1.0, 2.0, 3.0]])


def test_multi_output_reads_and_clamps_each_target():
    net = periodic_lattice(4)
    G = np.random.default_rng(1).uniform(3.0, 5.0, net.n_gates)
    inputs = ("0,0", "0,2", "2,0")
    points = [
        DataPoint(dict(zip(inputs, v)), (0.0, 0.0)) for v in ([0.1, 0.5, 0.9], [0.7, 0.2, 0.4])
    ]
    task = Task(points, ["3,3", Differential("1,1", "1,2")])
    solver = KirchhoffSolver(net, G, task)
    free = solver.free_state()
    V = free.V
    node = net.node
    np.testing.assert_allclose(free.O[:, 0], V[:, node("3,3")], rtol=1e-14)
    np.testing.assert_allclose(free.O[:, 1], V[:, node("1,1")] - V[:, node("1,2")], rtol=1e-14)
    np.testing.assert_allclose(free.dV, V[:, net.tail] - V[:, net.head], rtol=1e-14)
    np.testing.assert_allclose(free.P, (free.dV**2) @ free.K, rtol=1e-14)
    nudge = np.array([[0.01, -0.02], [0.03, 0.04]])
    clamped = solver.clamped_state(free, free.O + nudge)
    np.testing.assert_allclose(clamped.O, free.O + nudge, rtol=1e-12, atol=1e-15)
    moved = clamped.V - V  # the differential pair shares its nudge symmetrically
    np.testing.assert_allclose(moved[:, node("1,1")], nudge[:, 1] / 2, atol=1e-15)
    np.testing.assert_allclose(moved[:, node("1,2")], -nudge[:, 1] / 2, atol=1e-15)
    np.testing.assert_allclose(moved[:, node("3,3")], nudge[:, 0], atol=1e-15)
    np.testing.assert_allclose(clamped.dV, clamped.V[:, net.tail] - clamped.V[:, net.head])
