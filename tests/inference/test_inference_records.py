"""Records of the inference room validate on construction, and its faces refuse what has no
answer (issue 18): regression tests of the examples of the issue."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest

from clln_theory.errors import ArgumentError, NumericalRangeError, ShapeError, TaskError
from clln_theory.inference import (
    BiasEstimate,
    DriftMeasurement,
    DriftVelocity,
    Projection,
    SolutionLine,
    calibrate_to_line,
    cycle_drift_projection,
    drift_measurement,
    drift_velocity,
    infer_state_bias,
)
from clln_theory.model import DataPoint, Network, Task
from clln_theory.theory import LinearTask, periodic_orbit

E1 = np.array([1.0, 0.0])
G = np.array([3.0, 3.5])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"direction": [np.nan, 0.0]}, ArgumentError, "`direction` must be finite"),
        ({"direction": [1.0, 1.0]}, ShapeError, "unit vector"),
        ({"direction": "x"}, ArgumentError, "`direction` must be a real vector"),
        ({"value": np.nan}, ArgumentError, "`value` must be finite"),
        ({"value": "0.1"}, ArgumentError, "`value` must be a real number"),
        ({"std": -0.1}, ArgumentError, "`std` must be a number >= 0"),
        ({"std": np.nan}, ArgumentError, "`std`"),
        ({"G": [3.0, np.inf]}, ArgumentError, "`G` must be finite"),
        ({"G": [3.0, 3.5, 1.0]}, ShapeError, "`G` must have the shape"),
        ({"source": 3}, ArgumentError, "`source` must be a str"),
    ],
)
def test_drift_measurement_validates_on_construction(kwargs, error, match):
    fields = {"direction": E1, "value": 0.1, "std": 0.01, "G": G, **kwargs}
    with pytest.raises(error, match=match):
        DriftMeasurement(**fields)


def test_drift_measurement_keeps_valid_values():
    m = DriftMeasurement(direction=[0.6, 0.8], value=0.1, std=np.inf, G=[3, 3])
    assert m.std == np.inf and m.G.dtype == float and not m.direction.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"direction": [np.nan, 0.0]}, ArgumentError, "finite"),
        ({"direction": [2.0, 0.0]}, ShapeError, "unit vector"),
        ({"value": np.nan}, ArgumentError, "`value` must be finite"),
        ({"value": np.inf}, ArgumentError, "`value` must be finite"),
    ],
)
def test_projection_validates_on_construction(kwargs, error, match):
    """The projection type of `cycle_drift_projection` accepted a NaN value."""
    with pytest.raises(error, match=match):
        Projection(**{"direction": E1, "value": 0.1, **kwargs})


def test_cycle_drift_projection_returns_a_valid_projection():
    t = np.arange(10) * 0.1
    p = cycle_drift_projection(np.c_[3.0 + 0.1 * t, 3.0 + 0.2 * t], tau=1.0, window=(2, 8))
    assert isinstance(p, Projection) and np.isfinite(p.value)
    assert np.linalg.norm(p.direction) == pytest.approx(1.0)


def test_bias_estimate_and_drift_velocity_validate():
    with pytest.raises(ArgumentError, match="`B` must be finite"):
        BiasEstimate(B=[np.nan, 1.0], projections=(), condition=1.0)
    with pytest.raises(ArgumentError, match="`condition`"):
        BiasEstimate(B=[1.0, 1.0], projections=(), condition=np.nan)
    with pytest.raises(ArgumentError, match="`velocity` must be finite"):
        DriftVelocity(velocity=[np.nan, 0.0], start=2, window=5)
    with pytest.raises(ArgumentError, match="`window` must be an integer >= 1"):
        DriftVelocity(velocity=[0.1, 0.0], start=2, window=0)


def test_drift_velocity_of_a_still_trajectory_has_no_nan_direction():
    """drift_velocity returned a NaN direction for gates that do not move."""
    dv = drift_velocity(np.arange(10) * 0.1, np.ones((10, 2)), window=5, skip=2)
    assert dv.speed == 0.0 and np.all(dv.velocity == 0.0)
    with pytest.raises(TaskError, match="no direction"):
        _ = dv.direction
    with pytest.raises(TaskError, match="no direction"):
        dv.projection()
    p = dv.projection([1.0, 0.0])  # a given direction still gives the (zero) projection
    assert p.value == 0.0
    with pytest.raises(ArgumentError, match="nonzero"):
        dv.projection([0.0, 0.0])
    with pytest.raises(ArgumentError, match="nonzero"):
        drift_measurement(np.arange(10) * 0.1, np.ones((10, 2)), direction=[0, 0], window=5)


@pytest.mark.parametrize("G1", ["x", None, np.nan, [1.0, np.inf], 1j])
def test_solution_line_at_is_typed(G1):
    """SolutionLine.at("x") raised a raw ValueError."""
    with pytest.raises(ArgumentError, match="`G1`"):
        SolutionLine(a=-1.0, c=6.5).at(G1)
    np.testing.assert_array_equal(SolutionLine(a=-1.0, c=6.5).at(3.0), [3.0, 3.5])


def test_calibrate_to_line_refuses_a_multi_output_task():
    net = Network.from_edges([("a", "o1"), ("o1", "o2", 1e-3), ("o2", "gnd")])
    task = Task([DataPoint({"a": 1.0, "gnd": 0.0}, (0.6, 0.3))], ["o1", "o2"])
    with pytest.raises(TaskError, match="single output"):
        calibrate_to_line(net, task, (-1.0, 6.5), fit_input="a")


# --------------------------------------------------------------------------- state bias
U1, U2 = np.array([1.0, 0.0]), np.array([0.6, 0.8])
TA = LinearTask(10.0 * np.outer(U1, U1), G_star=[1.0, 1.0])
TB = LinearTask(20.0 * np.outer(U2, U2), G_star=[1.0, 1.0])
CYCLE_G = periodic_orbit(TA, TB, B=[0.3, -0.2], tau=0.5).trajectory(np.arange(61) / 120).G
CYCLE = types.SimpleNamespace(tau=0.5, G=CYCLE_G[:-1])


def test_infer_state_bias_names_the_bad_drift():
    with pytest.raises(ShapeError, match=r"Argument `drifts\[0\]`"):
        infer_state_bias(TA, TB, [CYCLE], drifts=[None], phases=[0.0], B_start=[0.3, -0.2])


def test_infer_state_bias_tiny_std_is_typed_and_names_public_arguments():
    """A drift test with std = 1e-300 ended in scipy's raw ValueError."""
    tiny = DriftMeasurement(direction=E1, value=0.1, std=1e-300, G=[1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NumericalRangeError) as exc:
            infer_state_bias(TA, TB, [CYCLE], drifts=[tiny], phases=[0.0], B_start=[0.3, -0.2])
    msg = str(exc.value)
    assert "`drifts`" in msg
    for internal in ("`tau`", "`durations`", "`B0`", "`B`"):
        assert internal not in msg


def test_infer_state_bias_overflowing_trial_points_steer_back():
    """A trial point whose period map overflows is steered back (as a missing cycle), not
    reported as an error about the engine's `tau`/`B`."""
    big = types.SimpleNamespace(tau=0.5, G=CYCLE_G[:-1] * 1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((NumericalRangeError, TaskError, ArgumentError)) as exc:
            infer_state_bias(TA, TB, [big], phases=[0.0], B_start=[0.3, -0.2])
    for internal in ("`tau`", "`durations`", "`B0`", "`B`"):
        assert internal not in str(exc.value)
