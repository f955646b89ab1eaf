"""A public call of the inference room validates each of its arguments exactly once.

`count_validations` counts ``(validator, argument name)`` calls (the outermost validator only).
Each test asserts that every key recorded during the call is counted once, and names the keys
that must be there (the arguments the face checks). The cycle fits sample their closed orbits
on the theory's engines (`_orbit_solve.dense_orbit`, `_orbit_build.orbit_from`, `_tasks.flow`),
never through `periodic_orbit` or `Orbit.trajectory`; `calibrate_task` fits, finds ``G*`` and
linearizes on engines (`inference._calibrate`, `theory._linearize`), never through
`calibrate_point`, `model_solution_line` or `linearize`.

What a test allows besides: the `DataPoint`s a calibration builds (the fitted points, each a new
object checked by its constructor: ``inputs[...]`` and ``label``) are data, not arguments.
"""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory._checks import count_validations
from clln_theory.experiments import experiment_tasks
from clln_theory.inference import (
    SolutionLine,
    calibrate_task,
    cycle_misfit,
    drift_measurement,
    drift_velocity,
    infer_bias_from_cycle,
    infer_bias_from_cycles,
    infer_state_bias,
)
from clln_theory.model import star_network
from clln_theory.theory import LinearTask, linearize, nearest_solution, periodic_orbit

U, V = np.array([1.0, 0.0]), np.array([0.6, 0.8])
A = LinearTask(10.0 * np.outer(U, U), G_star=[1.0, 1.0])
B = LinearTask(20.0 * np.outer(V, V), G_star=[1.0, 1.0])
ORBIT = periodic_orbit(A, B, B=[0.3, -0.2], tau=0.5)
G41 = ORBIT.trajectory(0.1 + np.arange(41) * 0.0125).G
G61 = ORBIT.trajectory(np.arange(61) * 0.5 / 60).G

#: The checks every cycle fit makes of its shared arguments (`_prepare`).
SHARED = [
    ("_refuse_unused", "matching"),
    ("check_linear_tasks", "check_linear_tasks"),
    ("count", "phase_grid"),
    ("count", "curve_samples"),
    ("spacing_list", "spacing_list"),
]
CYCLES = [("times", "cycles[0].tau"), ("real_array", "cycles[0].G")]


def _once(counts, required, data=()):
    """Every key counted once (but the ``data`` keys), and every ``required`` key present."""
    extra = {k: n for k, n in counts.items() if n != 1 and k not in data}
    assert not extra, extra
    missing = [k for k in required if k not in counts]
    assert not missing, (missing, dict(counts))


@pytest.mark.parametrize("matching", ["phase", "nearest"])
def test_infer_bias_from_cycles_validates_each_argument_once(matching):
    kw = {"B0": [0.3, -0.2], "max_iter": 50} if matching == "nearest" else {}
    with count_validations() as c:
        fit = infer_bias_from_cycles(A, B, [(0.5, G41)], matching=matching, **kw)
    own = SHARED + CYCLES + ([("vector", "B0"), ("count", "max_iter")] if kw else [])
    _once(c, own)
    assert len(c) == len(own), dict(c)  # nothing else: no face of the theory room inside
    assert ("choice", "matching") not in c  # checked by _refuse_unused, not again
    assert (fit.phase_std is None) == (matching == "nearest")  # no NaN placeholder


@pytest.mark.parametrize("matching", ["phase", "nearest"])
def test_infer_bias_from_cycle_validates_each_argument_once(matching):
    with count_validations() as c:
        infer_bias_from_cycle(A, B, G61, tau=0.5, matching=matching)
    own = [("real_array", "samples_G"), ("positive", "tau"), *SHARED]
    own += [("vector", "B0"), ("count", "max_iter")] if matching == "nearest" else []
    _once(c, own)
    assert len(c) == len(own), dict(c)  # tau and samples_G are not checked again as a cycle


@pytest.mark.parametrize("matching", ["phase", "nearest"])
def test_cycle_misfit_validates_each_argument_once(matching):
    with count_validations() as c:
        cycle_misfit(A, B, [(0.5, G41)], B=[0.3, -0.2], matching=matching)
    own = [*SHARED, *CYCLES, ("vector", "B")]
    _once(c, own)
    assert len(c) == len(own), dict(c)


def test_drift_functions_validate_each_argument_once():
    t = np.arange(20) * 0.03
    G = np.c_[1 + 1.0 * t, 2 + 2.0 * t]
    drift = [("real_array", "times"), ("real_array", "G"), ("count", "window"), ("count", "skip")]
    with count_validations() as c:
        drift_velocity(t, G, window=10, skip=2)
    _once(c, drift)
    assert len(c) == len(drift), dict(c)
    with count_validations() as c:
        drift_measurement(t, G, direction=[1.0, 0.0], window=10, skip=2)
    _once(c, [*drift, ("vector", "direction")])
    assert len(c) == len(drift) + 1, dict(c)


class _Cycle:
    def __init__(self, tau, G):
        self.tau, self.G = tau, G


def test_infer_state_bias_validates_its_arguments_once():
    """The orbits under each trial bias are solved and sampled on engines. Left: the theory's
    engine `_affine.cycle_fields` (and `affine_flow`) evaluate the trial `AffineBias` through its
    public ``__call__``, which checks its gates (``("real_array", "G")``) per evaluation; that
    belongs to the theory room's engines, so it is the one key not asserted here."""
    with count_validations() as c:
        infer_state_bias(A, B, [_Cycle(0.5, G61)], phases=[0.0], B_start=[0.3, -0.2], max_nfev=30)
    own = [
        ("check_linear_tasks", "check_linear_tasks"),
        ("spacing_list", "spacing_list"),
        *CYCLES,
        ("real_array", "phases"),
        ("bias_vector", "B_start"),
        ("count", "max_nfev"),
        ("choice", "model"),
        ("instance", "shapes_only"),
    ]
    _once(c, own, data={("real_array", "G")})
    assert set(c) <= {*own, ("real_array", "G")}, dict(c)


def test_calibrate_task_validates_each_argument_once():
    net = star_network()
    task, _ = experiment_tasks("exp1")
    lines = [SolutionLine(2.7257, -3.3003)]
    with count_validations() as c:
        calibrate_task(net, task, lines, gamma=1.6e6, fit_input="Input", reference=[3.0, 3.5])
    # `_task_args` checks network, task, lines, fit_input, reference and G_star in one call
    own = [("_task_args", "_task_args"), ("check_task", "task"), ("number", "gamma"),
           ("check_eta", "eta")]  # fmt: skip
    point = {k for k in c if k[0] == "number" and (k[1] == "label" or k[1].startswith("inputs["))}
    _once(c, own, data=point)
    assert set(c) == {*own, *point}, dict(c)  # no calibrate_point, linearize, free_state inside


def test_linearize_symbolic_validates_each_argument_once():
    """``route="symbolic"`` takes the Jacobian from the electrical room's symbolic engine, not
    from `symbolic_force_jacobian` (which would check network, G, task and eta again)."""
    pytest.importorskip("sympy")
    net = star_network()
    task, _ = experiment_tasks("exp1")
    G_star = nearest_solution(net, task, [3.0, 3.5])
    with count_validations() as c:
        linearize(net, task, G_star, gamma=1.6e6, route="symbolic")
    own = [
        ("instance", "network"), ("number", "gamma"), ("number", "r"), ("check_eta", "eta"),
        ("positive", "solution_tol"), ("choice", "route"), ("choice", "curvature"),
        ("check_task", "task"), ("Network.check_point", "G_star"),
    ]  # fmt: skip
    _once(c, own)
    assert len(c) == len(own), dict(c)
