"""Argument checks shared by the calibrations of `clln_theory.inference.calibration`.

Each raises a typed error naming the argument as the caller spelled it. Public names for the
inference room's modules; not part of the package's API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._checks import instance, number, quote
from ..errors import ArgumentError, NetworkError, TaskError
from ..model import DataPoint, Network, Task

__all__ = ["MIN_LINE_TOL", "check_callable", "check_fit_input", "check_problem", "line_tol"]

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
