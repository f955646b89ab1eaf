"""A public call of the experiments and inference rooms validates its own arguments once.

`count_validations` counts ``(validator, argument name)`` calls (the outermost validator
only). Each test asserts that every argument the face itself checks is checked exactly once.
`reproduce` runs its orbits, errors and bias inference on engines (no `periodic_orbit`,
`Orbit.trajectory`, `free_state` or `clln_theory.metrics` call inside), so nothing but its own
arguments and the per-task calibration is validated. The counts of names checked by the faces of
other rooms that the other faces still call (`clln_theory.simulator.limit_cycle` per period,
`periodic_orbit` and `Orbit.trajectory` in the cycle fit) are not asserted here: they fall to one
when those rooms offer engines the faces can call instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory._checks import count_validations
from clln_theory.electrical import learning_rate_A0
from clln_theory.errors import ArgumentError
from clln_theory.experiments import (
    compare_with_measurement,
    experiment_tasks,
    reproduce,
    run_fig5_case,
)
from clln_theory.inference import infer_bias_from_cycles
from clln_theory.model import ThreeRegimeMOSFET, star_network
from clln_theory.simulator import TrainingProtocol
from clln_theory.theory import LinearTask, periodic_orbit


def _once(counts, keys):
    seen = {key: counts.get(key, 0) for key in keys}
    assert all(n == 1 for n in seen.values()), seen


def test_reproduce_validates_its_arguments_once():
    with count_validations() as c:
        reproduce("exp1", grid_points=3)
    _once(
        c,
        [
            ("instance", "source"),
            ("_folder", "folder"),
            ("count", "grid_points"),
            ("count", "cycle_samples"),
            ("bias_vector", "B"),
        ],
    )
    # no face of the theory, electrical or metrics rooms runs inside: the orbits (4 sweeps), the
    # task errors at every orbit point and the bias inference call engines
    for key in [
        ("check_pair", "check_pair"),
        ("periods", "tau"),
        ("count", "times_or_n"),
        ("check_samples", "times_or_n"),
        ("Network.check_point", "G"),
        ("check_errors", "check_errors"),
        ("choice", "kind"),
        ("real_array", "times"),
        ("count", "window"),
    ]:
        assert key not in c, key
    # what is left: one calibration (`calibrate_task` and its `linearize`) per task of the
    # description (2), and the data points each Task built on the way checks
    point = {k for k in c if k[0] == "number" and (k[1] == "label" or k[1].startswith("inputs["))}
    per_task = {k: n for k, n in c.items() if k not in point}
    assert max(per_task.values()) <= 2 * 2, per_task  # `check_task`: by both faces, per task


def test_compare_with_measurement_validates_its_arguments_once():
    a, b = experiment_tasks("exp1")
    net = star_network(device=ThreeRegimeMOSFET())
    protocol = TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0))
    with count_validations() as c:
        compare_with_measurement(
            net, a, b, tau=[0.02, 0.01], D2_measured=[0.1, 0.1], B=[2.97, 4.41],
            G0=[3.0, 3.5], protocol=protocol,
        )  # fmt: skip
    _once(c, [("times", "tau"), ("real_array", "D2_measured")])


def test_run_fig5_case_validates_its_item_once():
    item = {"eps": 0.25, "split": 1, "clamping": "standard", "n_steps": 64, "half_steps": 8}
    with count_validations() as c:
        run_fig5_case(item)
    _once(c, [("_case_settings", "_case_settings")])
    # `eps` and `split` are checked by `_case_settings` only: the ring, the labels and the
    # training task come from unvalidated kernels
    for key in [("positive", "eps"), ("count", "split"), ("count", "n_points")]:
        assert key not in c, key


def test_infer_bias_from_cycles_validates_each_argument_once():
    u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    G = periodic_orbit(a, b, B=[0.3, -0.2], tau=0.5).trajectory(0.1 + np.arange(41) * 0.0125).G
    with count_validations() as c:
        infer_bias_from_cycles(a, b, [(0.5, G)], matching="nearest")
    own = [
        ("_refuse_unused", "matching"),
        ("check_linear_tasks", "check_linear_tasks"),
        ("count", "phase_grid"),
        ("count", "curve_samples"),
        ("_spacing_list", "_spacing_list"),
        ("times", "cycles[0].tau"),
        ("real_array", "cycles[0].G"),
        ("vector", "B0"),
        ("count", "max_iter"),
    ]
    _once(c, own)
    assert ("choice", "matching") not in c  # checked by _refuse_unused, not again


def test_sweep_options_that_would_be_ignored_are_refused():
    from clln_theory.sweeps import SerialExecutor, run_sweep

    with pytest.raises(ArgumentError, match=r"max_workers.*executor"):
        run_sweep(abs, [1, -2], executor=SerialExecutor(), max_workers=2)
    with pytest.raises(ArgumentError, match=r"save_interval.*path"):
        run_sweep(abs, [1, -2], executor=SerialExecutor(), save_interval=5.0)
    with pytest.raises(ArgumentError, match="wait"):
        SerialExecutor().shutdown(wait="yes")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="cancel_futures"):
        SerialExecutor().shutdown(cancel_futures=None)  # type: ignore[arg-type]


def test_plot_dpi_without_path_is_refused():
    from clln_theory.plotting import plot_reproduction

    with pytest.raises(ArgumentError, match=r"dpi.*path"):
        plot_reproduction(object(), dpi=300)
