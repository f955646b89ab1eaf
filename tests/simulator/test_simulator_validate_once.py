"""A public call of the simulator's limit cycles validates each of its arguments exactly once.

`count_validations` counts ``(validator, argument name)`` calls (the outermost validator only).
`limit_cycle` checks its arguments once (`checked_pair`, then τ, the start and the options) and
hands a compiled `Runner` to the limit-cycle engine (`simulator._cycle.find_cycle`), which the
experiments' sweeps over periods call too (tests/experiments/test_experiments_validate_once.py).
"""

from __future__ import annotations

from clln_theory._checks import count_validations
from clln_theory.electrical import learning_rate_A0
from clln_theory.experiments import experiment_tasks
from clln_theory.model import ThreeRegimeMOSFET, star_network
from clln_theory.simulator import TrainingProtocol, limit_cycle, period_map

A, B = experiment_tasks("exp1")
NET = star_network(device=ThreeRegimeMOSFET())
PROTOCOL = TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0))
#: The checks of the pair's run but its period (`simulator.shooting.checked_pair`).
PAIR = [
    ("instance", "network"),
    ("check_protocol", "protocol"),
    ("check_task", "task_a"),
    ("check_task", "task_b"),
    ("choice", "engine"),
    ("check_limits", "gate_limits"),
    ("bias_function", "B"),
    ("steps_per_half", "tau"),
]


def test_limit_cycle_validates_each_argument_once():
    with count_validations() as c:
        limit_cycle(NET, A, B, tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL, G0=[3.0, 3.5])
    own = [
        *PAIR,
        ("check_G0", "G0"),
        ("choice", "route"),
        ("positive", "tol"),
        ("positive", "fd_step"),
        ("count", "max_periods"),
        ("count", "max_samples"),
    ]
    assert dict(c) == dict.fromkeys(own, 1)


def test_period_map_validates_each_argument_once():
    with count_validations() as c:
        period_map(NET, A, B, [3.0, 3.5], tau=0.02, B=[2.97, 4.41], protocol=PROTOCOL)
    assert dict(c) == dict.fromkeys([*PAIR, ("check_G0", "G")], 1)
