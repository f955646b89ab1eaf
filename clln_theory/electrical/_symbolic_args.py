"""Argument checks of `clln_theory.electrical.symbolic.symbolic_model` (no sympy here).

Public names for the electrical room's modules; not part of the package's API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._checks import count, instance
from ..errors import ArgumentError, NetworkError
from ..model.network import Network
from ..model.tasks import Task

__all__ = ["HARD_MAX_GATES", "HARD_MAX_INTERIOR", "model_args", "model_limits"]

#: Hard bounds of ``max_interior`` and ``max_gates`` (ArgumentError beyond, before any symbol is
#: built): twice the default interior nodes already cost hours and gigabytes.
HARD_MAX_INTERIOR, HARD_MAX_GATES = 16, 64


def model_args(network: Any, task_or_inputs: Any, max_interior: Any, max_gates: Any):
    """Check the network, the task or input names and the size limits; return the limits."""
    instance(network, "network", Network, error=NetworkError)
    if not isinstance(task_or_inputs, Task) and (
        isinstance(task_or_inputs, str | bytes) or not isinstance(task_or_inputs, Iterable)
    ):
        what = type(task_or_inputs).__name__
        raise ArgumentError(f"Argument `task_or_inputs` must be a Task or node names, not {what}.")
    return model_limits(max_interior, max_gates)


def model_limits(max_interior: Any, max_gates: Any) -> tuple[int, int]:
    """Check the size limits ``max_interior`` and ``max_gates``; return them as ints."""
    return (
        count(max_interior, "max_interior", minimum=0, maximum=HARD_MAX_INTERIOR),
        count(max_gates, "max_gates", maximum=HARD_MAX_GATES),
    )
