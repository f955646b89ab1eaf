"""Errors (A1)-(A4), cycle span (4), accuracy and hinge loss: closed forms."""

import numpy as np
import pytest

from clln_theory.errors import ShapeError
from clln_theory.metrics import (
    accuracy,
    combined_error,
    cycle_span,
    hinge_loss,
    task_error,
    two_task_error,
)


def test_task_error_A1_A2():
    assert task_error([0.30, 0.15], [0.31, 0.14]) == pytest.approx(1e-4, rel=1e-12)
    # (A2): only points short of their label count; L delta > 0
    E = task_error([0.01, 0.05, -0.01, -0.05], [0.02, 0.02, -0.02, -0.02], kind="classification")
    assert E == pytest.approx((0.01**2 + 0.01**2) / 4, rel=1e-12)
    # time series along a leading axis
    E_t = task_error(np.array([[0.3, 0.1], [0.31, 0.14]]), [0.31, 0.14])
    np.testing.assert_allclose(E_t, [(0.01**2 + 0.04**2) / 2, 0.0], atol=1e-18)


def test_A3_A4_and_span():
    assert two_task_error(1.0, 3.0) == 2.0
    assert combined_error(two_task_error(1.0, 3.0), two_task_error(5.0, 7.0)) == 4.0
    assert cycle_span([0.0, 0.0], [3.0, 4.0]) == 5.0
    np.testing.assert_allclose(cycle_span(np.zeros((2, 2)), [[3.0, 4.0], [0.0, 1.0]]), [5, 1])


def test_accuracy_and_hinge():
    assert accuracy([0.1, -0.1, 0.1], [1.0, -1.0, -1.0]) == pytest.approx(2 / 3)
    assert hinge_loss([0.03, -0.03], [0.018, -0.018]) == 0.0
    assert hinge_loss([0.0, 0.0], [0.018, -0.018]) == pytest.approx(0.018)


def test_bad_shapes():
    with pytest.raises(ShapeError, match="labels"):
        task_error([0.1, 0.2], [0.1])
    with pytest.raises(ShapeError, match="finite"):
        accuracy([np.nan], [1.0])
    with pytest.raises(ShapeError, match="same shape"):
        cycle_span([1.0, 2.0], [1.0])
