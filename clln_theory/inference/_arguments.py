"""Argument checks shared by the calibrations of `clln_theory.inference.calibration`.

Each raises a typed error naming the argument as the caller spelled it. Public names for the
inference room's modules; not part of the package's API.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._checks import instance, number, positive, quote, real_array, vector
from ..errors import ArgumentError, NetworkError, TaskError
from ..model import DataPoint, Network, Task

__all__ = [
    "MIN_LINE_TOL",
    "check_callable",
    "check_fit_input",
    "check_problem",
    "line_args",
    "line_tol",
    "point_args",
    "task_args",
    "to_line_args",
]

#: Smallest ``tol`` of a line check, V: the outputs of a ~1 V network are resolved to ~1e-16 V
#: in float64, so a smaller tolerance fails on round-off alone.
MIN_LINE_TOL = 1e-15


def check_callable(output: Any, point: Any) -> None:
    """``output`` a callable ``(G, point) -> O`` and ``point`` a DataPoint."""
    if not callable(output):
        raise ArgumentError(
            f"Argument `output` must be a callable (G, point) -> O, but is {type(output).__name__}."
        )
    instance(point, "point", DataPoint, error=TaskError)


def check_fit_input(fit_input: Any, inputs: Iterable[str]) -> str:
    """``fit_input``, one of the input nodes ``inputs`` (TaskError naming it otherwise)."""
    names = sorted(inputs)
    if not isinstance(fit_input, str) or fit_input not in names:
        raise TaskError(
            f"Argument `fit_input` = {quote(fit_input)} is not an input; the inputs are {names}."
        )
    return fit_input


def check_problem(network: Any, task: Any) -> None:
    """``network`` a Network and ``task`` a Task."""
    instance(network, "network", Network, error=NetworkError)
    instance(task, "task", Task, error=TaskError)


def line_tol(tol: Any) -> float:
    """The tolerance of a line check, V: a finite number >= `MIN_LINE_TOL`."""
    return number(tol, "tol", low=MIN_LINE_TOL, unit="V")


def point_args(output: Any, point: Any, line_cls: tuple, fit_input: Any, centre: Any, tol: Any):
    """The checks of ``calibrate_point``: returns ``centre`` (None or (2,)) and ``tol``."""
    check_callable(output, point)
    instance(line_cls[0], "line", line_cls[1])
    check_fit_input(fit_input, point.inputs)
    return (None if centre is None else vector(centre, "centre", 2)), line_tol(tol)


def line_args(output: Any, point: Any, G1: Any, tol: Any):
    """The checks of ``model_solution_line``: returns ``G1`` (1-D, V) and ``tol``."""
    check_callable(output, point)
    return real_array(G1, "G1", shape=(None,)), line_tol(tol)


def to_line_args(network: Any, task: Any, line: Any, fit_input: Any, step: Any, centre: Any):
    """The checks of ``calibrate_to_line``: returns ``step`` (V, > 0) and ``centre`` ((2,), V)."""
    check_problem(network, task)
    check_fit_input(fit_input, task.input_nodes)
    if isinstance(line, str) or not isinstance(line, Sequence | np.ndarray):
        raise ArgumentError(
            f"Argument `line` must be (a, c) or a sequence of them, but is {quote(line)}."
        )
    return positive(step, "step", unit="V"), vector(centre, "centre", 2)


def task_args(network: Any, task: Any, lines: Any, reference: Any):
    """The checks of ``calibrate_task``: returns ``lines`` (a list) and ``reference``."""
    check_problem(network, task)
    if isinstance(lines, str) or not isinstance(lines, Sequence):
        raise ArgumentError(f"Argument `lines` must be a sequence, but is {type(lines).__name__}.")
    return list(lines), (None if reference is None else vector(reference, "reference", 2))
