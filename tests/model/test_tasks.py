"""DataPoint and Task validation."""

import numpy as np
import pytest

from clln_theory.errors import NetworkError, TaskError
from clln_theory.model.network import Network, star_network
from clln_theory.model.tasks import DataPoint, Differential, Task

V_P, V_M = 0.4351, 0.0181


def point(v1, label):
    return DataPoint({"High": V_P, "Low": V_M, "Input": v1}, label)


def test_task_arrays_in_sorted_input_order():
    t = Task([point(V_P, 0.31), point(V_M, 0.14)], "Output", name="ab")
    assert t.input_nodes == ("High", "Input", "Low")
    np.testing.assert_array_equal(t.inputs[:, 1], [V_P, V_M])
    np.testing.assert_array_equal(t.labels, [0.31, 0.14])
    assert not t.inputs.flags.writeable
    t.validate(star_network())


def test_task_errors():
    with pytest.raises(TaskError, match="both an input and an output"):
        Task([point(V_P, 0.3)], "Input")
    with pytest.raises(TaskError, match="same nodes"):
        Task([point(V_P, 0.3), DataPoint({"High": V_P}, 0.1)], "Output")
    with pytest.raises(TaskError, match="finite"):
        DataPoint({"High": np.nan}, 0.1)
    with pytest.raises(TaskError, match="kind"):
        Task([point(V_P, 0.3)], "Output", kind="ranking")
    with pytest.raises(TaskError, match="nonzero"):
        Task([point(V_P, 0.0)], "Output", kind="classification")
    with pytest.raises(NetworkError, match="Unknown node 'Nowhere'"):
        Task([point(V_P, 0.3)], "Nowhere").validate(star_network())


def test_floating_component_is_named():
    net = Network.from_edges([("in", "out"), ("out", "gnd"), ("x", "y")])
    task = Task([DataPoint({"in": 1.0, "gnd": 0.0}, 0.5)], "out")
    with pytest.raises(NetworkError, match=r"\['x', 'y'\]"):
        task.validate(net)


def test_differential_output():
    t = Task([DataPoint({"a": 1.0}, 0.1)], Differential("p", "m"))
    assert t.is_differential and t.output_nodes == ("p", "m")
    assert not t.is_multi_output and t.n_outputs == 1 and t.labels.shape == (1,)


def test_ambiguous_pair_is_refused_showing_both_spellings():
    with pytest.raises(TaskError) as exc:
        Task([DataPoint({"a": 1.0}, 0.1)], ("p", "m"))
    msg = str(exc.value)
    assert "Differential('p', 'm')" in msg and "['p', 'm']" in msg


def test_multi_output_task():
    t = Task([DataPoint({"a": 1.0}, (0.1, 0.2))], ["p", Differential("q", "r")])
    assert t.is_multi_output and t.n_outputs == 2 and not t.is_differential
    assert t.output_nodes == ("p", "q", "r") and t.labels.shape == (1, 2)
    two = Task([DataPoint({"a": 1.0}, [0.1, 0.2])], ["p", "m"])
    assert two.targets == ("p", "m") and two.labels.tolist() == [[0.1, 0.2]]


@pytest.mark.parametrize(
    ("output", "label", "match"),
    [
        (["p", "m"], 0.1, "1 label"),
        (["p", Differential("p", "m")], (0.1, 0.2), "share a node"),
        ([], 0.1, "no target"),
        (Differential("p", "p"), 0.1, "two different nodes"),
    ],
)
def test_bad_multi_output_named(output, label, match):
    with pytest.raises(TaskError, match=match):
        Task([DataPoint({"a": 1.0}, label)], output)
