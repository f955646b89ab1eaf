"""Metrics: the properties the mutation run (tests/mutation) found untested.

Return types (a float for one sample), leading axes kept, multi-output sums, the overflow paths
of the span and the error (rescaled or refused by name, no RuntimeWarning), and the argument
each message names.
"""

import re
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from clln_theory._metrics import task_error_of
from clln_theory.errors import ArgumentError, NumericalRangeError, ShapeError
from clln_theory.metrics import (
    accuracy,
    combined_error,
    cycle_span,
    hinge_loss,
    task_error,
    task_errors,
    two_task_error,
)


def _overflow_message(quantity: str, args: str) -> str:
    return re.escape(
        f"The {quantity} of arguments {args} overflows float64 (values of magnitude ~1e154 or "
        "more); check their units (volts)."
    )


def test_one_sample_gives_a_python_float():
    for value in (
        task_error([0.3, 0.1], [0.31, 0.14]),
        two_task_error(1.0, 3.0),
        combined_error(np.float64(1.0), np.array(3.0)),
        cycle_span([0.0, 0.0], [3.0, 4.0]),
        accuracy([0.1, -0.1], [1.0, 1.0]),
        hinge_loss([0.0, 0.0], [0.02, -0.02]),
    ):
        assert type(value) is float


def test_leading_axes_are_kept():
    O = np.array([[0.1, -0.1, 0.1], [0.1, 0.1, 0.1], [-0.1, -0.1, -0.1]])  # three times
    L = np.array([1.0, -1.0, 1.0])
    np.testing.assert_array_equal(accuracy(O, L), [1.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(
        hinge_loss(O, L), [0.9, (0.9 + 1.1 + 0.9) / 3, (1.1 + 0.9 + 1.1) / 3]
    )
    np.testing.assert_allclose(two_task_error([1.0, 2.0], [3.0, 6.0]), [2.0, 4.0])
    np.testing.assert_allclose(combined_error([[1.0], [2.0]], [3.0, 5.0]), [[2.0, 3.0], [2.5, 3.5]])
    # per-row spans of different scales (each row its own norm, not the first row's)
    a = np.array([[3.0, 4.0, 0.0], [0.0, 0.5, 0.0]])
    np.testing.assert_allclose(cycle_span(a, np.zeros_like(a)), [5.0, 0.5])
    assert cycle_span([1.0, 2.0], [4.0, 6.0]) == 5.0  # the difference, not the sum


def test_multi_output_errors_add_the_targets_of_a_point():
    L = np.array([[0.1, -0.2], [0.3, 0.0], [0.0, 0.1]])  # 3 points, 2 targets
    O = L + np.array([[0.01, 0.02], [0.0, -0.03], [0.04, 0.0]])
    expected = (0.01**2 + 0.02**2 + 0.03**2 + 0.04**2) / 3
    assert task_error(O, L) == pytest.approx(expected, rel=1e-12)
    E_t = task_error(np.stack([O, L, O]), L)  # a leading time axis
    np.testing.assert_allclose(E_t, [expected, 0.0, expected], rtol=1e-12)
    task = SimpleNamespace(labels=L, kind="regression")
    np.testing.assert_allclose(task_errors(np.stack([O, L]), task), [expected, 0.0], rtol=1e-12)


def test_task_errors_reads_kind_and_labels_from_the_task():
    L = np.array([0.3, -0.3, 0.3])
    O = np.array([0.5, -0.1, 0.2])  # past, short, short
    reg = task_errors(O, SimpleNamespace(labels=L, kind="regression"))
    cls = task_errors(O, SimpleNamespace(labels=L, kind="classification"))
    assert isinstance(reg, np.ndarray) and reg.shape == ()
    assert float(reg) == pytest.approx((0.2**2 + 0.2**2 + 0.1**2) / 3, rel=1e-12)
    assert float(cls) == pytest.approx((0.2**2 + 0.1**2) / 3, rel=1e-12)
    assert float(cls) == task_error(O, L, kind="classification")
    # an object without `kind` or `labels` is not a task: refused, naming the argument
    with pytest.raises(ArgumentError, match="Argument `task` must be a Task"):
        task_errors(O, SimpleNamespace(labels=L))
    with pytest.raises(ArgumentError, match="Argument `task` must be a Task"):
        task_errors(O, SimpleNamespace(kind="regression"))


def test_classification_counts_only_points_short_of_their_label():
    L = np.array([0.2, -0.2, 0.2, -0.2])
    O = np.array([0.2, -0.2, 0.1, -0.3])  # on, on, short, past
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an output on its label divides nothing by zero
        assert task_error(O, L, kind="classification") == pytest.approx(0.1**2 / 4, rel=1e-12)
    # Theta(0) = 0: a zero label counts no point (the engine's rule, (A2))
    assert task_error_of(np.array([0.1, -0.1]), np.array([0.0, 0.0]), True) == 0.0
    assert task_error_of(np.array([0.1, -0.1]), np.array([0.0, 0.0]), False) == pytest.approx(0.01)


def test_overflow_is_refused_by_name_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            NumericalRangeError, match=_overflow_message("task error", "`O` and `labels`")
        ):
            task_error([1e200, 0.0], [-1e200, 0.0])
        with pytest.raises(
            NumericalRangeError,
            match=_overflow_message("difference G_half - G_full", "`G_half` and `G_full`"),
        ):
            cycle_span([1.5e308, 0.0], [-1.5e308, 0.0])
        # each difference is finite, their norm is not: refused after the rescaling
        message = _overflow_message("cycle span", "`G_half` and `G_full`")
        with pytest.raises(NumericalRangeError, match=message):
            cycle_span([1.5e308, 1.5e308], [0.0, 0.0])


def test_span_of_huge_gates_is_rescaled_not_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cycle_span([3e200, 4e200], [0.0, 0.0]) == pytest.approx(5e200, rel=1e-15)
        a = np.array([[3e200, 4e200, 0.0], [0.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1e-3]])
        D = cycle_span(a, np.zeros_like(a))
    assert isinstance(D, np.ndarray) and D.shape == (4,)
    np.testing.assert_allclose(D, [5e200, 0.0, 1.0, 1e-3], rtol=1e-15)
    # the rescaled norm of a 2-by-2 batch is per row (not over the batch axis)
    b = np.array([[1e200, 1e200], [2e200, 0.0]])
    np.testing.assert_allclose(cycle_span(b, np.zeros((2, 2))), [np.sqrt(2) * 1e200, 2e200])


def test_messages_name_their_argument():
    with pytest.raises(ArgumentError, match="Argument `kind` must be one of"):
        task_error([0.1], [0.1], kind="hinge")
    for f, names in (
        (two_task_error, ("E_alpha", "E_beta")),
        (combined_error, ("E_half", "E_full")),
    ):
        with pytest.raises(ArgumentError, match=f"Argument `{names[0]}` must be a task error"):
            f(-1.0, 1.0)
        with pytest.raises(ArgumentError, match=f"Argument `{names[1]}` must be a task error"):
            f(1.0, -1.0)
    with pytest.raises(ShapeError, match="Argument `G_half` must be finite"):
        cycle_span([np.nan, 0.0], [0.0, 0.0])
    with pytest.raises(ShapeError, match="Argument `G_full` must be finite"):
        cycle_span([0.0, 0.0], [0.0, np.inf])
