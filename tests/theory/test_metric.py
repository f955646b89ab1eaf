"""The diagonal metric of a differential output (`clln_theory.theory._metric`), shared by Fig. 1
and the reproduction pipeline: in ``y = d G`` the rank-one rate matrix of a one-point task is
symmetric, and ``d**2`` is the metric ``W`` of ``J = W^-1 Hess C / eta`` where that is positive."""

import numpy as np
import pytest

from clln_theory.electrical.kirchhoff import free_state
from clln_theory.model.network import Network
from clln_theory.model.tasks import DataPoint, Differential, Task
from clln_theory.theory._metric import rate_matrix, symmetrize
from clln_theory.theory.jacobian import contrastive_hessian, force_jacobian

#: Two evaluations of the same formulas, or a similarity transform of one matrix: round-off.
ROUNDOFF = 1e-10
GAMMA = 5e4  # Ω/s: any positive rate, the identities are linear in it
SOLVED = 1e-9  # the solution check of the linearization (SOLUTION_TOL's order)


def _network_and_task():
    """The differential network of tests/theory/test_jacobian.py, its task solved at G."""
    net = Network.from_edges(
        [("in", "p"), ("in", "m"), ("p", "gnd"), ("m", "gnd"), ("p", "m", 1e-3), ("in2", "m")]
    )
    G = np.array([2.0, 3.0, 4.0, 2.5, 3.3])
    raw = Task([DataPoint({"in": 0.4, "gnd": 0.0, "in2": 0.1}, 0.0)], Differential("p", "m"))
    O = free_state(net, G, raw).O
    task = Task([DataPoint(dict(raw.points[0].inputs), float(O[0]))], raw.output)
    return net, G, task


def test_rate_matrix_is_the_force_jacobian_without_the_symmetry_refusal():
    net, G, task = _network_and_task()
    M = rate_matrix(net, task, G, GAMMA, 1.0, SOLVED)
    J = np.asarray(force_jacobian(net, G, task).J)
    np.testing.assert_allclose(M, GAMMA * J, rtol=ROUNDOFF, atol=0.0)
    assert np.max(np.abs(M - M.T)) > 1e-2 * np.max(np.abs(M))  # not symmetric: why it is needed


def test_metric_is_w_of_the_hessian_identity_and_makes_the_task_symmetric():
    """Where ``W > 0`` on every edge the metric is exact: ``d**2`` is ``W = eta Hess C / J`` (row
    ratio, up to one constant), nothing is replaced, and ``M~ = D M D^-1`` is symmetric."""
    net, G, task = _network_and_task()
    M = rate_matrix(net, task, G, GAMMA, 1.0, SOLVED)
    H = contrastive_hessian(net, G, task)
    W = (H / (M / GAMMA))[:, 0]
    assert np.all(W > 0)
    metric = symmetrize([M], G, rate_tol=1e-9)
    assert metric.replaced == () and metric.change[0] < ROUNDOFF
    np.testing.assert_allclose(metric.d**2, W / np.median(W), rtol=ROUNDOFF)
    np.testing.assert_allclose(metric.ratio, metric.d**2, rtol=ROUNDOFF)
    d = metric.d
    (t,) = metric.tasks
    np.testing.assert_allclose(
        t.M, d[:, None] * M / d[None, :], rtol=0, atol=ROUNDOFF * abs(M).max()
    )
    np.testing.assert_array_equal(t.G_star, d * G)


def test_one_point_per_task_and_a_shared_point_agree():
    net, G, task = _network_and_task()
    M = rate_matrix(net, task, G, GAMMA, 1.0, SOLVED)
    one = symmetrize([M, 2 * M], G, rate_tol=1e-9)
    per = symmetrize([M, 2 * M], np.stack([G, G]), rate_tol=1e-9)
    np.testing.assert_array_equal(one.d, per.d)
    for a, b in zip(one.tasks, per.tasks, strict=True):
        np.testing.assert_array_equal(a.M, b.M)
        np.testing.assert_array_equal(a.G_star, b.G_star)


def test_edges_whose_responses_disagree_are_replaced_and_reported():
    """``M = a b^T`` with ``a_0 b_0 < 0``: that edge gets ``W = 1`` and the relative change of
    ``a`` it makes, ``|b / (kappa W) - a| / |a|``, is reported (an independent evaluation)."""
    a = np.array([-0.3, 1.0, 2.0, 0.5])
    b = np.array([0.4, 0.8, 0.6, 0.5])
    b = b / np.linalg.norm(b)
    metric = symmetrize([np.outer(a, b)], np.full(4, 3.0), rate_tol=1e-9)
    assert metric.replaced == (0,) and metric.ratio[0] < 0
    W = np.where(np.arange(4) == 0, 1.0, (b / a) / np.median((b / a)[1:]))
    np.testing.assert_allclose(metric.d**2, W, rtol=ROUNDOFF)
    kappa = float(b[1:] @ (W * a)[1:]) / float((W * a)[1:] @ (W * a)[1:])
    expected = np.linalg.norm(b / (kappa * W) - a) / np.linalg.norm(a)
    assert metric.change[0] == pytest.approx(expected, rel=ROUNDOFF) and expected > 0.1
    (t,) = metric.tasks
    np.testing.assert_allclose(t.M, t.M.T, rtol=0, atol=0)
    assert np.linalg.matrix_rank(t.M) == 1


def test_a_rank_two_matrix_is_refused():
    with pytest.raises(ValueError, match="not rank one"):
        symmetrize([np.diag([1.0, 2.0, 0.0])], np.full(3, 3.0), rate_tol=1e-9)
