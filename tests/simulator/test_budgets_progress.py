"""One budget for every limit-cycle search, the fallback warning, and the progress line on a
terminal (a pseudo-terminal) but not on a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from clln_theory.electrical.rule import learning_rate_A0
from clln_theory.errors import ConvergenceError, FallbackWarning
from clln_theory.experiments.paper import experiment_tasks
from clln_theory.model.devices import ThreeRegimeMOSFET
from clln_theory.model.network import star_network
from clln_theory.simulator import TrainingProtocol, limit_cycle

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0))


def _pair():
    return star_network(device=ThreeRegimeMOSFET()), *experiment_tasks("exp1")


def test_one_default_budget_across_api_and_toml():
    import inspect

    from clln_theory.experiments import simulate_periods
    from clln_theory.experiments._sections import _SIM_MAX_PERIODS
    from clln_theory.simulator._cycle import MAX_PERIODS

    sig = inspect.signature(limit_cycle).parameters
    assert sig["max_periods"].default == MAX_PERIODS == _SIM_MAX_PERIODS == 5000
    assert inspect.signature(simulate_periods).parameters["max_periods"].default == MAX_PERIODS
    assert sig["max_seconds"].default is None  # results never depend on the machine's speed


def test_shooting_fallback_warns_and_the_exhausted_budget_is_named():
    net, a, b = _pair()
    # 4 periods: shooting (n + 2 per Newton step) cannot start; iteration takes over and runs out
    with pytest.warns(FallbackWarning, match="falling back to plain iteration"):
        with pytest.raises(ConvergenceError, match=r"max_periods = 4 periods.*raise `max_periods`"):
            limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL, max_periods=4)


def test_converged_shooting_does_not_warn():
    net, a, b = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        lc = limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL, G0=[3.0, 3.5])
    assert lc.route == "shooting" and lc.n_periods <= 5000


def test_max_seconds_raises_a_convergence_error_naming_it():
    net, a, b = _pair()
    with pytest.raises(ConvergenceError, match=r"max_seconds = 1e-09 s .*raise `max_seconds`"):
        limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL, max_seconds=1e-9)


def test_max_seconds_flags_the_period_of_simulate_periods():
    from clln_theory.experiments import simulate_periods

    net, a, b = _pair()
    sim = simulate_periods(
        net, a, b, tau=[0.02], B=[2.97, 4.41], protocol=PROTOCOL, G0=[3.0, 3.5], max_seconds=1e-9
    )
    assert sim.n_failed == 1 and "max_seconds" in sim.failures[0].why
    assert sim.failures[0].kind == "ConvergenceError"


@pytest.mark.parametrize("bad", [0.0, -1.0, "x"])
def test_max_seconds_and_progress_are_checked(bad):
    from clln_theory.errors import ArgumentError

    net, a, b = _pair()
    with pytest.raises(ArgumentError, match="max_seconds"):
        limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL, max_seconds=bad)
    with pytest.raises(ArgumentError, match="progress"):
        limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL, progress="yes")


# A simulator run and a limit cycle with the progress line's delay set to 0 (the 2 s of the
# default would make the test slow): what a user sees on a terminal after 2 s.
_SCRIPT = """
import clln_theory._progress as p
p.DELAY = 0.0
from clln_theory.electrical.rule import learning_rate_A0
from clln_theory.experiments.paper import experiment_tasks
from clln_theory.model.devices import ThreeRegimeMOSFET
from clln_theory.model.network import star_network
from clln_theory.simulator import TrainingProtocol, simulate, limit_cycle
net = star_network(device=ThreeRegimeMOSFET())
a, b = experiment_tasks("exp1")
prot = TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0))
simulate(net, [a, b], [3.0, 3.5], tau=0.02, n_periods=3, B=[2.97, 4.41], protocol=prot)
limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41], protocol=prot, G0=[3.0, 3.5])
print("done")
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}


def _stderr_on_a_terminal(script: str) -> str:
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=child, env=_env()
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_line_on_a_terminal():
    err = _stderr_on_a_terminal(_SCRIPT)
    assert "\r" in err
    assert "simulate [" in err and "periods" in err  # periods done of the run, with ETA
    assert "limit cycle:" in err


def test_no_progress_line_on_a_pipe_or_when_off():
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert out.returncode == 0 and out.stderr == ""
    off = _SCRIPT.replace("protocol=prot)", "protocol=prot, progress=False)")
    off = off.replace("G0=[3.0, 3.5])", "G0=[3.0, 3.5], progress=False)")
    assert "progress=False" in off
    err = _stderr_on_a_terminal(off)
    assert "simulate [" not in err and "limit cycle" not in err


def test_accelerated_iteration_finds_a_slow_clipped_cycle_in_few_periods():
    """The fallback of a failed shooting in a gate box (`_cycle.accelerate`, issue 21): on an
    affine period map with slow multipliers (0.999, 0.995) and a gate driven into the box, plain
    iteration needs ~4000 periods to reach 1e-10 V, the Anderson steps 10; the cycle is the
    exact fixed point of the clipped map."""
    import numpy as np

    from clln_theory.simulator._cycle import PeriodMap, accelerate

    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    A = Q @ np.diag([0.999, 0.995, 0.5, 0.2]) @ Q.T
    lo, hi = np.full(4, 1.0), np.full(4, 5.0)
    c = (np.eye(4) - A) @ np.array([3.0, 2.0, 4.0, 6.0])  # rest point outside: gate 3 pins

    class Run:
        limits, tau = (lo, hi), 1.0

        @staticmethod
        def period(G):
            return np.clip(A @ G + c, lo, hi)

    P = PeriodMap(Run, 1e-7)  # type: ignore[arg-type]  # the period map of `Run`
    G, _, res, ok = accelerate(P, np.full(4, 3.0), 1e-10, 5000)
    assert ok and res <= 1e-10 and P.count < 200  # measured: 10 periods
    assert np.max(np.abs(np.clip(A @ G + c, lo, hi) - G)) <= 1e-10
    assert G[3] == pytest.approx(5.0)  # pinned at the upper limit
