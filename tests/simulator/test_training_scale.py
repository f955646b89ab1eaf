"""The sparse step engine (`clln_theory.simulator.sparse`) against two direct solves per step.

The reference is independent of the engine: `free_state` and `clamped_state` (their own
factorizations of the free and of the clamped interior block, at every step) and the update (7)
written out here. The benchmark at 20x20..80x80 is ``tests/benchmarks/bench_train.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.electrical.kirchhoff import clamped_state, free_state
from clln_theory.errors import ProtocolError
from clln_theory.model.devices import ThreeRegimeMOSFET
from clln_theory.model.network import Network, periodic_lattice
from clln_theory.model.tasks import DataPoint, Differential, Task
from clln_theory.simulator import TrainingProtocol, simulate
from clln_theory.simulator.runs import checked_runner

#: Both routes solve to round-off (residual 1e-14 vs a direct factorization) and the learning
#: dynamics contract, so after hundreds of steps the gates agree to ~1e-14 V; 1e-11 V leaves
#: margin for the accumulation and is still far below any physical scale (gates move ~0.1 V).
GATE_AGREEMENT = 1e-11


def _grid(L, output, labels_shift, seed=0, n_points=1):
    edges = [(f"{i},{j}", f"{i},{j + 1}") for i in range(L) for j in range(L - 1)]
    edges += [(f"{i},{j}", f"{i + 1},{j}") for i in range(L - 1) for j in range(L)]
    net = Network.from_edges(edges)
    rng = np.random.default_rng(seed)
    G0 = rng.uniform(2.5, 3.5, net.n_gates)
    pts = []
    for _ in range(n_points):
        inputs = {"0,0": 0.0, f"{L - 1},{L - 1}": 1.0, f"0,{L // 2}": rng.uniform(0.2, 0.8)}
        probe = Task([DataPoint(inputs, (0.0,) * len(labels_shift))], output)
        O = np.atleast_1d(free_state(net, G0, probe).O[0]) + labels_shift
        pts.append(DataPoint(inputs, tuple(O)))
    return net, Task(pts, output), G0


def _two_solves_per_step(net, task, G0, prot, n_steps):
    G = np.array(G0, dtype=float)
    ge = net.gate_edges
    for step in range(n_steps):
        p = step % task.n_points
        one = Task([task.points[p]], task.output)
        f = free_state(net, G, one)
        c = clamped_state(net, G, one, f.O + prot.eta * (one.labels - f.O))  # (1)
        G = G + prot.t_h * prot.A0 * (f.dV[0] ** 2 - c.dV[0] ** 2)[ge]  # (7), B = 0
    return G


@pytest.mark.parametrize(
    ("output", "shift", "A0_scale"),
    [
        ("5,5", [0.02], 1.0),  # the task: one target node
        (["5,5", Differential("3,3", "3,4")], [0.02, -0.01], 1.0),  # a node and an edge drop
        ("5,5", [0.05], 300.0),  # fast learning: the stale preconditioner is refactorized
    ],
)
def test_sparse_engine_equals_two_direct_solves_per_step(output, shift, A0_scale):
    net, task, G0 = _grid(10, output, np.array(shift), n_points=2)
    prot = TrainingProtocol(A0=TrainingProtocol().A0 * A0_scale)
    n_steps = 120
    run = checked_runner(net, task, tau=n_steps * prot.t_h, B=np.zeros(net.n_gates), protocol=prot,
                 gate_limits=None, engine="sparse")  # fmt: skip
    G = run.run(G0, 2, 0)[0]
    G_ref = _two_solves_per_step(net, task, G0, prot, n_steps)
    assert np.max(np.abs(G - G0)) > 1e-3  # the gates did learn
    assert np.max(np.abs(G - G_ref)) < GATE_AGREEMENT
    ker = run.kernels[0]
    assert ker.n_factorizations >= (2 if A0_scale > 1 else 1)
    assert ker.n_factorizations < n_steps // 5  # one factorization serves many steps


def test_auto_picks_sparse_for_linear_and_refuses_it_for_mosfets():
    net, task, G0 = _grid(5, "2,2", np.array([0.01]))
    tr = simulate(net, task, G0, tau=2e-3, n_periods=1, B=np.zeros(net.n_gates))
    assert tr.engine == "sparse"
    mos = periodic_lattice(3, device=ThreeRegimeMOSFET())
    t = Task([DataPoint({"0,0": 0.0, "1,1": 0.5}, 0.2)], "2,2")
    with pytest.raises(ProtocolError, match="sparse"):
        simulate(mos, t, np.full(mos.n_gates, 3.0), tau=2e-3, n_periods=1,
                 B=np.zeros(mos.n_gates), engine="sparse")  # fmt: skip
