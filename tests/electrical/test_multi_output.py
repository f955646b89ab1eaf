"""Multi-output tasks: two node targets, and a node target with an edge's voltage drop.

Checks, on the 4x4 periodic lattice (32 linear edges) at a solution made by taking the labels
from the free outputs at a random ``G_star``: M by the adjoint equals central finite differences
of the force; each output's adjoint gradient equals finite differences of that output; the
Gauss-Newton identity ``J = (2/N) sum_p gradO_p^T K_eff gradO_p`` holds with the per-point,
per-output effective conductance matrix (node targets; at eta = 1 also ``J = d2C/dG2``); and the
simulator trains both targets to their labels.
"""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.electrical._kirchhoff import KirchhoffSolver
from clln_theory.electrical.kirchhoff import contrastive_function, free_state
from clln_theory.electrical.rule import coupled_learning_force
from clln_theory.errors import TaskError
from clln_theory.metrics import task_errors
from clln_theory.model.network import periodic_lattice
from clln_theory.model.tasks import DataPoint, Differential, Task
from clln_theory.simulator import TrainingProtocol, simulate
from clln_theory.theory._adjoint import Adjoint
from clln_theory.theory.jacobian import force_jacobian, force_jacobian_fd, linearize

#: Central differences with h = 1e-5 V on forces of ~1e-4 A: truncation ~h^2 |F'''| and
#: round-off ~eps |F| / h leave ~1e-9 relative to max|J|.
FD_RTOL = 1e-6
#: Identities between two exact routes (adjoint vs explicit sums): round-off of a few solves.
EXACT_RTOL = 1e-10

INPUTS = ("0,0", "0,2", "2,0")
TARGETS = {
    "two-target": ["2,2", "1,3"],
    "edge-target": ["3,3", Differential("1,1", "1,2")],  # "1,1" -> "1,2" is a lattice edge
}


def _solved(net, G_star, output, n_points=2, seed=0):
    rng = np.random.default_rng(seed)
    pts = [DataPoint(dict(zip(INPUTS, rng.uniform(0, 1, 3))), (0.0, 0.0)) for _ in range(n_points)]
    task = Task(pts, output)
    O = free_state(net, G_star, task).O
    return Task([DataPoint(p.inputs, tuple(o)) for p, o in zip(pts, O)], output)


@pytest.fixture(scope="module")
def net():
    return periodic_lattice(4)


@pytest.fixture(scope="module")
def G_star(net):
    return np.random.default_rng(1).uniform(3.0, 5.0, net.n_gates)


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_M_by_adjoint_equals_finite_differences_of_the_force(net, G_star, kind):
    task = _solved(net, G_star, TARGETS[kind])
    assert task.is_multi_output and task.labels.shape == (2, 2)
    assert np.max(np.abs(coupled_learning_force(net, G_star, task).F)) < 1e-15
    for eta in (1.0, 0.5):
        J = force_jacobian(net, G_star, task, eta=eta, curvature="solution").J
        assert _rel(J, force_jacobian_fd(net, G_star, task, eta=eta)) < FD_RTOL
    if kind == "two-target":
        M = linearize(net, task, G_star, gamma=2.0).M  # symmetric: node targets
        assert _rel(M, 2.0 * J / 0.5) < EXACT_RTOL


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_gauss_newton_identity_per_output(net, G_star, kind):
    task = _solved(net, G_star, TARGETS[kind])
    s = KirchhoffSolver(net, np.asarray(G_star, dtype=float), task)
    ad = Adjoint(s, s.free_state())
    h = 1e-6
    for g in (0, 7, 19):  # each output's adjoint gradient against central differences
        Gp, Gm = G_star.copy(), G_star.copy()
        Gp[g] += h
        Gm[g] -= h
        fd = (free_state(net, Gp, task).O - free_state(net, Gm, task).O) / (2 * h)
        assert np.allclose(ad.gradO[:, :, g], fd, rtol=1e-6, atol=1e-9)
    J = force_jacobian(net, G_star, task, curvature="solution").J
    N = task.n_points
    if kind == "two-target":  # the clamp of node targets is the minimum-power clamp
        GN = sum(ad.gradO[p].T @ ad.K_eff @ ad.gradO[p] for p in range(N)) * 2.0 / N
        assert _rel(J, GN) < EXACT_RTOL
        fd_hess = _hessian_fd(lambda G: contrastive_function(net, G, task), G_star, (0, 7, 19))
        assert _rel(J[np.ix_((0, 7, 19), (0, 7, 19))], fd_hess) < 1e-4
    # per output: the force of each target's nudge alone is linear in it, its Jacobian the
    # Gauss-Newton outer product of that target; the targets' sum is J
    per = np.zeros_like(J)
    for j in range(task.n_outputs):
        per -= 2.0 / N * np.einsum("pg,ph->gh", ad.nu[:, j], ad.gradO[:, j])
    assert _rel(J, per) < EXACT_RTOL


def _hessian_fd(f, G, idx, h=1e-4):
    H = np.zeros((len(idx), len(idx)))
    for a, i in enumerate(idx):
        for b, j in enumerate(idx):
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                Gx = G.copy()
                Gx[i] += si * h
                Gx[j] += sj * h
                vals.append(si * sj * f(Gx))
            H[a, b] = sum(vals) / (4 * h * h)
    return H


@pytest.mark.parametrize("engine", ["general", "sparse"])
@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_training_reaches_both_labels(net, G_star, kind, engine):
    task = _solved(net, G_star, TARGETS[kind], n_points=1)
    G0 = G_star + np.random.default_rng(2).uniform(-0.3, 0.3, net.n_gates)
    prot = TrainingProtocol(A0=2.0e4)
    tr = simulate(
        net,
        task,
        G0,
        tau=0.4,
        n_periods=1,
        B=np.zeros(net.n_gates),
        protocol=prot,
        gate_limits=None,
        engine=engine,
    )
    d0 = np.abs(task.labels - free_state(net, G0, task).O)
    d1 = np.abs(task.labels - free_state(net, tr.G[-1], task).O)
    assert np.all(d0 > 1e-3)
    assert np.all(d1 < 1e-3 * d0), (d0, d1)  # each target reaches its own label
    assert tr.outputs[0].shape == (len(tr.times), 1, 2)
    assert np.allclose(tr.errors[-1, 0], task_errors(tr.outputs[0][-1], task))


def test_overclamping_a_multi_output_task_is_refused(net, G_star):
    task = _solved(net, G_star, TARGETS["two-target"])
    prot = TrainingProtocol(clamping="overclamp", L0=0.4)
    with pytest.raises(TaskError, match="overclamping"):
        simulate(
            net,
            task,
            G_star,
            tau=0.02,
            n_periods=1,
            B=np.zeros(net.n_gates),
            protocol=prot,
            engine="general",
        )


def test_the_symbolic_model_refuses_a_multi_output_task():
    # Regression: a list of two targets was read as a differential pair (a silent wrong model).
    from clln_theory.electrical.symbolic import symbolic_model
    from clln_theory.model.network import Network

    net = Network.from_edges([("in", "a"), ("a", "b"), ("b", "gnd"), ("a", "gnd")])
    task = Task([DataPoint({"in": 1.0, "gnd": 0.0}, (0.5, 0.2))], ["a", "b"])
    with pytest.raises(TaskError, match="targets"):
        symbolic_model(net, task)
