"""Many runs at once (`simulate_batch`) against one run at a time (`simulate`).

Runs of the Fig. 5 lattice (three-regime MOSFETs, differential output, classification) that
differ in seed (bias and initial gates), ring diameter and split, under both clamping modes.
"""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.electrical import learning_rate_A0
from clln_theory.errors import ArgumentError, ShapeError, TaskError
from clln_theory.experiments.fig5 import (
    FIG5_EPS,
    fig5_bias,
    fig5_initial_gates,
    fig5_network,
    fig5_training_task,
)
from clln_theory.experiments.fig5_runs import (
    _training_protocol,
    run_fig5_batch,
    run_fig5_case,
)
from clln_theory.experiments.paper import FIG3_C0, FIG3_R, FIG3_R0, FIG5_T_H, G_MAX, G_MIN
from clln_theory.model.tasks import DataPoint, Task
from clln_theory.simulator import TrainingProtocol, simulate, simulate_batch

#: Both routes stop Newton at a correction of 1e-12 V (they take different iterates: chord
#: steps from extrapolated warm starts vs full Newton steps), so each step's gate increment
#: differs by ~1e-12 V; over a few hundred contracting steps that stays below 1e-10 V.
GATE_AGREEMENT = 1e-10

CASES = [(FIG5_EPS[0], 0, 0), (FIG5_EPS[0], 5, 1), (FIG5_EPS[-1], 3, 2)]


@pytest.fixture(scope="module")
def net():
    return fig5_network("three-regime")


@pytest.mark.parametrize("clamping", ["standard", "overclamp"])
def test_batch_equals_one_run_at_a_time(net, clamping):
    prot = _training_protocol(clamping, learning_rate_A0(FIG3_R0, FIG3_C0, r=FIG3_R))
    tasks = [fig5_training_task(e, s) for e, s, _ in CASES]
    G0 = np.stack([fig5_initial_gates(net, seed) for *_, seed in CASES])
    B = np.stack([fig5_bias(net, seed) for *_, seed in CASES])
    kw = dict(tau=2 * 80 * FIG5_T_H, n_periods=2, protocol=prot, gate_limits=(G_MIN, G_MAX))
    res = simulate_batch(net, tasks, G0, B=B, **kw)
    assert res.failures == ()
    for r, tr in enumerate(res.trajectories):
        ref = simulate(net, [tasks[r]], G0[r], B=B[r], **kw)
        assert tr.engine == "batch" and tr.G.shape == ref.G.shape
        np.testing.assert_array_equal(tr.times, ref.times)
        assert np.max(np.abs(tr.G[-1] - G0[r])) > 1e-3  # the run did learn
        assert np.max(np.abs(tr.G - ref.G)) < GATE_AGREEMENT
        assert np.max(np.abs(tr.outputs[0] - ref.outputs[0])) < GATE_AGREEMENT
        np.testing.assert_allclose(tr.errors, ref.errors, rtol=1e-8, atol=1e-14)


def test_fig5_batch_records_equal_single_cases():
    items = [dict(eps=e, split=s, seed=seed, clamping="overclamp", n_steps=320) for e, s, seed
             in CASES[:2]]  # fmt: skip
    for a, b in zip(run_fig5_batch(items), run_fig5_case_all(items)):
        assert a["accuracy"] == b["accuracy"] and a["labels"] == b["labels"]
        assert abs(a["hinge"] - b["hinge"]) < GATE_AGREEMENT
        assert np.max(np.abs(np.subtract(a["G"], b["G"]))) < GATE_AGREEMENT
    with pytest.raises(ArgumentError, match="clamping"):
        run_fig5_batch([items[0], {**items[1], "clamping": "standard"}])


def run_fig5_case_all(items):
    return [run_fig5_case(it) for it in items]


def test_batch_refuses_mismatched_runs(net):
    t1 = fig5_training_task(FIG5_EPS[0], 0)
    other = Task([DataPoint(dict(t1.points[0].inputs), 0.02)], t1.output, kind="classification")
    G0 = np.full((2, net.n_gates), 3.0)
    with pytest.raises(TaskError, match="structure"):
        simulate_batch(net, [t1, other], G0, tau=2e-3, n_periods=1, B=np.zeros(net.n_gates))
    with pytest.raises(ShapeError, match="G0"):
        simulate_batch(net, [t1, t1], G0[:1], tau=2e-3, n_periods=1, B=np.zeros(net.n_gates))


def test_batch_refuses_a_noisy_protocol(net):
    # Regression: the batch engine simulates no noise; a noisy protocol was silently run clean.
    t1 = fig5_training_task(FIG5_EPS[0], 0)
    G0 = np.full((2, net.n_gates), 3.0)
    noisy = TrainingProtocol(update_noise=1e-6)
    with pytest.raises(ArgumentError, match="noise"):
        simulate_batch(net, [t1, t1], G0, tau=2e-3, n_periods=1, B=np.zeros(net.n_gates),
                       protocol=noisy)  # fmt: skip
