"""Classification metrics refuse the label 0 as `Task` does (issue 18): same class, same
message style."""

from __future__ import annotations

import pytest

from clln_theory.errors import TaskError
from clln_theory.metrics import accuracy, hinge_loss, task_error, task_errors
from clln_theory.model import DataPoint, Task


def _task_message() -> str:
    with pytest.raises(TaskError) as exc:
        Task([DataPoint({"a": 0.0}, 0.0)], "o", kind="classification")
    return str(exc.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: accuracy([0.1, -0.2], [1.0, 0.0]),
        lambda: hinge_loss([0.1, -0.2], [1.0, 0.0]),
        lambda: task_error([0.1, -0.2], [1.0, 0.0], kind="classification"),
        lambda: accuracy([[0.1, -0.2]], [[1.0, 0.0]]),
    ],
)
def test_classification_label_zero_is_refused_like_task(call):
    with pytest.raises(TaskError, match="classification labels must be nonzero") as exc:
        call()
    assert "(their sign is the class), but a label is 0." in str(exc.value)
    assert "(their sign is the class), but a label is 0." in _task_message()


def test_regression_keeps_the_label_zero():
    assert task_error([0.1, -0.2], [0.0, 0.0]) == pytest.approx(0.025)
    t = Task([DataPoint({"a": 0.0}, 0.0)], "o")
    assert float(task_errors([0.1], t)) == pytest.approx(0.01)


def test_valid_labels_unchanged():
    assert accuracy([0.02, -0.01, 0.01, 0.0], [0.018, -0.018, -0.018, 0.018]) == 0.5
    assert hinge_loss([0.02, -0.01], [0.018, -0.018]) == pytest.approx(0.004)
