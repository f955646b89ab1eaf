"""Every result type prints a short repr (a few lines at most), on a realistic instance."""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory._repr import MAX_CHARS, short_repr

LIMIT = 400


def _results():
    from clln_theory.electrical.rule import learning_rate_A0
    from clln_theory.experiments import reproduce, simulate_periods
    from clln_theory.experiments.paper import experiment_tasks
    from clln_theory.model.devices import ThreeRegimeMOSFET
    from clln_theory.model.network import star_network
    from clln_theory.simulator import TrainingProtocol, limit_cycle, simulate
    from clln_theory.sweeps import SerialExecutor, run_sweep
    from clln_theory.theory import cyclic_orbit, periodic_orbit

    rep = reproduce("exp1")
    a, b = rep.tasks[0].linear, rep.tasks[1].linear
    taus = np.geomspace(1e-3, 10, 200)
    out = {
        "Reproduction": rep,
        "LinearTask": a,
        "CalibratedTask": rep.tasks[0],
        "Orbit": periodic_orbit(a, b, B=rep.B, tau=taus),
        "Orbit (one tau)": periodic_orbit(a, b, B=rep.B, tau=0.02),
        "BoxOrbit": periodic_orbit(a, b, B=rep.B, tau=taus, box=(1.0, 5.0)),
        "CyclicOrbit": cyclic_orbit((a, b), B=rep.B, durations=(0.01, 0.01)),
        "OrbitTrajectory": periodic_orbit(a, b, B=rep.B, tau=0.02).trajectory(400),
        "SweepResult": run_sweep(abs, list(range(-50, 50)), executor=SerialExecutor()),
    }
    if rep.bias is not None:
        out["BiasEstimate"] = rep.bias
    net = star_network(device=ThreeRegimeMOSFET())
    ta, tb = experiment_tasks("exp1")
    prot = TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0))
    kw = {"B": [2.97, 4.41], "protocol": prot}
    out["SimulatedTrajectory"] = simulate(net, [ta, tb], [3.0, 3.5], tau=0.02, n_periods=20, **kw)
    out["LimitCycle"] = limit_cycle(net, ta, tb, tau=0.02, G0=[3.0, 3.5], **kw)
    out["SimulatedPeriods"] = simulate_periods(net, ta, tb, tau=[0.02, 0.01], G0=[3, 3.5], **kw)
    return out


@pytest.fixture(scope="module")
def results():
    return _results()


def test_every_result_repr_is_short(results):
    long = {k: len(repr(v)) for k, v in results.items() if len(repr(v)) > LIMIT}
    assert not long, long
    for name, value in results.items():
        text = repr(value)
        assert text.startswith(type(value).__name__ + "("), (name, text)
        assert text.count("\n") <= 4, (name, text)


def test_repr_names_shapes_and_key_scalars(results):
    text = repr(results["Orbit"])
    assert "(200,)" in text and "tau=" in text
    lc = repr(results["LimitCycle"])
    assert "span=" in lc and "route='shooting'" in lc and "converged=True" in lc


def test_every_result_class_uses_a_short_repr():
    """The result classes of every room set ``__repr__`` to `short_repr` (or their own)."""
    from clln_theory.experiments.compare import (
        MeasuredComparison,
        SimulatedPeriods,
        TheoryComparison,
    )
    from clln_theory.experiments.fig5_runs import Fig5Result
    from clln_theory.experiments.reproduction import Reproduction
    from clln_theory.inference import CycleBiasFit, StateBiasFit
    from clln_theory.simulator import BatchResult, LimitCycle, SimulatedTrajectory
    from clln_theory.sweeps import SweepResult
    from clln_theory.theory import AffineOrbit, BoxOrbit, CyclicOrbit, LinearTask, Orbit

    for cls in (
        MeasuredComparison, SimulatedPeriods, TheoryComparison, Fig5Result, Reproduction,
        CycleBiasFit, StateBiasFit, BatchResult, LimitCycle, SimulatedTrajectory, SweepResult,
        AffineOrbit, BoxOrbit, CyclicOrbit, LinearTask, Orbit,
    ):  # fmt: skip
        assert cls.__repr__ is short_repr, cls


def test_short_repr_is_cut():
    from dataclasses import dataclass, field

    @dataclass
    class Many:
        values: list = field(default_factory=lambda: [np.zeros(3)] * 10)
        name: str = "x" * 500

    Many.__repr__ = short_repr  # type: ignore[method-assign]
    for k in range(40):
        Many.__annotations__[f"f{k}"] = float
    assert len(short_repr(Many())) <= MAX_CHARS
