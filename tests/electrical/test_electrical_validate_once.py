"""Each public call of the electrical room validates every argument exactly once.

`count_validations` counts the outermost `@validator` calls per argument name: the faces check
each argument once and hand checked values to the engines (the Newton solver, the exact
symbolic model), which never validate again (not per point, not per internal number).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from clln_theory._checks import count_validations
from clln_theory.electrical.circuit import CircuitSolver, solve_circuit
from clln_theory.electrical.symbolic import (
    symbolic_contrastive_hessian,
    symbolic_force_jacobian,
    symbolic_model,
)
from clln_theory.experiments.paper import experiment_tasks
from clln_theory.model.devices import ThreeRegimeMOSFET
from clln_theory.model.network import star_network

ALPHA, BETA = experiment_tasks("exp1")


def _per_argument(counter: collections.Counter) -> dict[str, int]:
    by_name: collections.Counter[str] = collections.Counter()
    for (_validator, name), calls in counter.items():
        by_name[name] += calls
    return dict(by_name)


@pytest.mark.parametrize("device", [None, ThreeRegimeMOSFET()])
def test_solve_circuit_validates_each_argument_once(device):
    net = star_network() if device is None else star_network(device=device)
    with count_validations() as c:
        solve_circuit(net, [3.0, 3.5], ["High", "Low", "Input"], [0.5, 0.0, 0.2],
                      V0=np.zeros(4))  # fmt: skip
    counts = _per_argument(c)
    expected = {"network", "G", "values", "V0", "tol_step", "rtol_current", "atol_current",
                "max_iter"}  # fmt: skip
    assert set(counts) == expected
    assert all(n == 1 for n in counts.values()), counts


def test_circuit_solver_validates_each_argument_once():
    net = star_network()
    with count_validations() as c:
        solver = CircuitSolver(net, ["High", "Low", "Input"])
    assert _per_argument(c) == {"network": 1, "tol_step": 1, "rtol_current": 1,
                                "atol_current": 1, "max_iter": 1}  # fmt: skip
    with count_validations() as c:
        solver.solve([3.0, 3.5], [0.5, 0.0, 0.2])  # linear device: G also checked above V_T
    assert _per_argument(c) == {"G": 1, "values": 1}


@pytest.mark.parametrize(
    "task_or_inputs", [ALPHA, ["High", "Low", "Input"]], ids=["task", "input names"]
)
def test_symbolic_model_validates_each_argument_once(task_or_inputs):
    output = None if task_or_inputs is ALPHA else "Output"
    net = star_network()
    with count_validations() as c:
        symbolic_model(net, task_or_inputs, output)
    assert _per_argument(c) == {"network": 1, "task_or_inputs": 1, "max_interior": 1,
                                "max_gates": 1}  # fmt: skip


@pytest.mark.parametrize("face", [symbolic_contrastive_hessian, symbolic_force_jacobian])
def test_symbolic_matrices_validate_each_argument_once(face):
    """The task's points and the network's numbers are converted without validation."""
    net = star_network()
    with count_validations() as c:
        face(net, [3.0, 3.5], ALPHA, eta=0.5)
    assert _per_argument(c) == {"network": 1, "G": 1, "task": 1, "eta": 1, "max_interior": 1,
                                "max_gates": 1}  # fmt: skip


def test_symbolic_point_validates_each_number_once():
    model = symbolic_model(star_network(), ALPHA)
    inputs = {"High": 0.5, "Low": 0.0, "Input": 0.2}
    with count_validations() as c:
        model.point_elements(inputs, 0.3, 0.5)
    assert _per_argument(c) == {"inputs['High']": 1, "inputs['Low']": 1, "inputs['Input']": 1,
                                "label": 1, "eta": 1}  # fmt: skip
