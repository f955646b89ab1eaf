"""Each public call of the physics rooms validates every argument exactly once.

`count_validations` counts the outermost `@validator` calls per argument name; a face checks
each argument once and hands checked values to the engines, which never validate again (not per
half period, not per learning step, not per Newton solve).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from clln_theory._checks import count_validations
from clln_theory.electrical.kirchhoff import free_state
from clln_theory.electrical.rule import coupled_learning_force
from clln_theory.experiments.paper import experiment_tasks
from clln_theory.model.devices import ThreeRegimeMOSFET
from clln_theory.model.network import star_network
from clln_theory.simulator import (
    TrainingProtocol,
    limit_cycle,
    period_map,
    simulate,
    simulate_batch,
)

ALPHA, BETA = experiment_tasks("exp1")


def _per_argument(counter: collections.Counter) -> dict[str, int]:
    by_name: collections.Counter[str] = collections.Counter()
    for (_validator, name), calls in counter.items():
        by_name[name] += calls
    return dict(by_name)


@pytest.mark.parametrize(
    ("device", "engine", "protocol"),
    [
        (ThreeRegimeMOSFET(), "fast", None),
        (ThreeRegimeMOSFET(), "general", TrainingProtocol(clamping="overclamp", L0=0.4351)),
        (None, "sparse", None),
    ],
)
def test_simulate_validates_each_argument_once(device, engine, protocol):
    net = star_network() if device is None else star_network(device=device)
    with count_validations() as c:
        simulate(net, [ALPHA, BETA], [3.0, 3.5], tau=0.02, n_periods=2, B=[2.97, 4.41],
                 protocol=protocol, engine=engine)  # fmt: skip
    counts = _per_argument(c)
    expected = {"network", "tasks", "G0", "tau", "n_periods", "B", "protocol", "gate_limits",
                "record", "mode", "engine", "progress"}  # fmt: skip
    assert set(counts) == expected
    assert all(n == 1 for n in counts.values()), counts


def test_simulate_continuum_validates_its_tolerances_once():
    net = star_network(device=ThreeRegimeMOSFET())
    with count_validations() as c:
        simulate(net, [ALPHA, BETA], [3.0, 3.5], tau=0.02, n_periods=0.5, B=[2.97, 4.41],
                 mode="continuum", rtol=1e-6, atol=1e-9, scheme="RK45")  # fmt: skip
    counts = _per_argument(c)
    assert {"rtol", "atol", "scheme"} <= set(counts)
    assert all(n == 1 for n in counts.values()), counts


def test_free_state_validates_each_argument_once():
    net = star_network()
    with count_validations() as c:
        free_state(net, [3.0, 3.5], ALPHA)
    assert _per_argument(c) == {"network": 1, "G": 1, "task": 1}


def test_coupled_learning_force_validates_each_argument_once():
    net = star_network()
    with count_validations() as c:
        coupled_learning_force(net, [3.0, 3.5], BETA, eta=0.5, clamping="overclamp", L0=0.4351)
    assert _per_argument(c) == {"network": 1, "G": 1, "task": 1, "eta": 1, "clamping": 1}


PROTOCOL = TrainingProtocol(clamping="overclamp", L0=0.4351)
SHARED = {"network", "task_a", "task_b", "tau", "B", "protocol", "gate_limits", "engine"}


@pytest.mark.parametrize("engine", ["fast", "general"])
def test_period_map_validates_each_argument_once(engine):
    net = star_network(device=ThreeRegimeMOSFET())
    with count_validations() as c:
        period_map(net, ALPHA, BETA, [3.0, 3.5], tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL,
                   engine=engine)  # fmt: skip
    counts = _per_argument(c)
    assert set(counts) == SHARED | {"G"}
    assert all(n == 1 for n in counts.values()), counts


@pytest.mark.parametrize("route", ["shooting", "iterate"])
def test_limit_cycle_validates_each_argument_once(route):
    net = star_network(device=ThreeRegimeMOSFET())
    with count_validations() as c:
        limit_cycle(net, ALPHA, BETA, tau=0.02, B=[2.97, 4.41], G0=[3.0, 3.5], route=route,
                    tol=1e-6, max_periods=5000)  # fmt: skip
    counts = _per_argument(c)
    options = {"G0", "route", "tol", "fd_step", "max_periods", "max_samples", "progress"}
    assert set(counts) == SHARED | options
    assert all(n == 1 for n in counts.values()), counts


def test_simulate_batch_validates_each_argument_once():
    net = star_network(device=ThreeRegimeMOSFET())
    with count_validations() as c:
        simulate_batch(net, [[ALPHA, BETA], [ALPHA, BETA]], np.array([[3.0, 3.5], [3.1, 3.4]]),
                       tau=0.02, n_periods=1, B=[2.97, 4.41], protocol=PROTOCOL)  # fmt: skip
    counts = _per_argument(c)
    expected = {"network", "tasks", "G0", "tau", "n_periods", "B", "protocol", "gate_limits",
                "record"}  # fmt: skip
    assert set(counts) == expected
    assert all(n == 1 for n in counts.values()), counts


def test_a_sweep_over_periods_checks_the_run_once_and_shares_the_cycle_engine():
    """`period_steps` checks every period in one call (a bad one comes back as its error, to be
    flagged or raised at that period); the sweeps of `clln_theory.experiments` build the run
    once (`checked_pair`) and call the same engine as `limit_cycle`, bit for bit."""
    from clln_theory.errors import ProtocolError
    from clln_theory.experiments import simulate_periods
    from clln_theory.simulator.runs import period_steps

    with count_validations() as c:
        _, steps = period_steps([0.02, 0.00025], 1e-4)
    assert dict(c) == {("period_steps", "tau"): 1}
    assert steps[0] == (0.02, 100) and isinstance(steps[1], ProtocolError)
    net = star_network(device=ThreeRegimeMOSFET())
    proto = TrainingProtocol()
    lc = limit_cycle(net, ALPHA, BETA, tau=0.02, B=[2.97, 4.41], G0=[3.0, 3.5], protocol=proto,
                     max_periods=5000, max_samples=400)  # fmt: skip
    with count_validations() as c:
        sim = simulate_periods(net, ALPHA, BETA, tau=[0.02, 0.00025], B=[2.97, 4.41],
                               G0=[3.0, 3.5], protocol=proto)  # fmt: skip
    assert all(n == 1 for n in _per_argument(c).values()), c
    assert np.array_equal(sim.G0[0], lc.G0) and sim.D2_sim[0] == lc.span**2
    assert np.array_equal(sim.trajectories[0], lc.trajectory.G)
    assert sim.failed.tolist() == [False, True]
