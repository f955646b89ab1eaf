"""A public call of the experiments room validates each of its arguments exactly once.

`count_validations` counts ``(validator, argument name)`` calls (the outermost validator
only). Each test asserts that every argument the face itself checks is checked exactly once.
`reproduce` runs its calibration, orbits, errors and bias inference on engines (no
`calibrate_task`, `linearize`, `periodic_orbit`, `Orbit.trajectory`, `free_state` or
`clln_theory.metrics` call inside). The sweeps over periods (`compare_with_measurement`,
`simulate_periods`) check the simulator's arguments once (`checked_pair`, `period_steps`) and
call its limit-cycle engine (`simulator._cycle.find_cycle`) per period, never `limit_cycle`.
The cycle fits of the inference room: tests/inference/test_inference_validate_once.py.
"""

from __future__ import annotations

import pytest

from clln_theory._checks import count_validations
from clln_theory.electrical import learning_rate_A0
from clln_theory.errors import ArgumentError
from clln_theory.experiments import (
    compare_with_measurement,
    experiment_tasks,
    reproduce,
    run_fig5_case,
    simulate_periods,
)
from clln_theory.model import ThreeRegimeMOSFET, star_network
from clln_theory.simulator import TrainingProtocol


def _once(counts, keys):
    seen = {key: counts.get(key, 0) for key in keys}
    assert all(n == 1 for n in seen.values()), seen


def test_reproduce_validates_its_arguments_once():
    """The user's arguments are checked once. The description read from the TOML is data: its
    reader checks each number once as it builds the configuration (network, lines, rate), each
    nominal task is checked once against the network (``check_task``: one call per task), and
    the DataPoints built on the way (the nominal and the fitted points) check their inputs and
    label when constructed; none of it is checked again by a face inside."""
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
            ("number", "rate.gamma"),
            ("check_eta", "theory.eta"),
        ],
    )
    # no face of the theory, electrical, inference or metrics rooms runs inside: the
    # calibration, the orbits (4 sweeps), the task errors and the bias inference call engines
    for key in [
        ("_task_args", "_task_args"),
        ("number", "gamma"),
        ("check_eta", "eta"),
        ("Network.check_point", "G_star"),
        ("vector", "point"),
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
    assert c[("check_task", "task")] == 2  # once per task of the description (data)
    point = {k for k in c if k[0] == "number" and (k[1] == "label" or k[1].startswith("inputs["))}
    # the description's two learning edges (the device's S and V_T) and its two measured lines
    config = {("number", "S"), ("number", "V_T"), ("number", "a"), ("number", "c")}
    others = {k: n for k, n in c.items() if k not in point | config | {("check_task", "task")}}
    assert all(n == 1 for n in others.values()), others
    assert all(c[k] <= 2 for k in config), {k: c[k] for k in config}


#: Every argument of a sweep over periods and the key its checker records.
SWEEP = [
    ("instance", "network"),
    ("check_protocol", "protocol"),
    ("check_task", "task_a"),
    ("check_task", "task_b"),
    ("choice", "engine"),  # the engine `limit_cycle` picks ("auto")
    ("check_limits", "gate_limits"),
    ("bias_function", "B"),
    ("period_steps", "tau"),  # every period (> 0, a whole number of steps), in one call
    ("check_G0", "G0"),
    ("positive", "tol"),
]


def test_compare_with_measurement_validates_its_arguments_once():
    a, b = experiment_tasks("exp1")
    net = star_network(device=ThreeRegimeMOSFET())
    protocol = TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0))
    with count_validations() as c:
        compare_with_measurement(
            net, a, b, tau=[0.02, 0.01], D2_measured=[0.1, 0.1], B=[2.97, 4.41],
            G0=[3.0, 3.5], protocol=protocol,
        )  # fmt: skip
    own = [*SWEEP, ("real_array", "D2_measured")]
    _once(c, own)
    assert set(c) == set(own), dict(c)  # no `limit_cycle` per period


def test_simulate_periods_validates_its_arguments_once():
    a, b = experiment_tasks("exp1")
    net = star_network(device=ThreeRegimeMOSFET())
    protocol = TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0))
    with count_validations() as c:
        sim = simulate_periods(
            net, a, b, tau=[0.02, 0.00025], B=[2.97, 4.41], G0=[3.0, 3.5], protocol=protocol,
        )  # fmt: skip
    assert sim.n_failed == 1  # the second period: tau/2 not a whole number of steps
    own = [*SWEEP, ("count", "max_periods"), ("instance", "progress")]
    _once(c, own)
    assert set(c) == set(own), dict(c)


def test_run_fig5_case_validates_its_item_once():
    item = {"eps": 0.25, "split": 1, "clamping": "standard", "n_steps": 64, "half_steps": 8}
    with count_validations() as c:
        run_fig5_case(item)
    _once(c, [("_case_settings", "_case_settings")])
    # `eps` and `split` are checked by `_case_settings` only: the ring, the labels and the
    # training task come from unvalidated kernels
    for key in [("positive", "eps"), ("count", "split"), ("count", "n_points")]:
        assert key not in c, key


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
