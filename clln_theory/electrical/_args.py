"""Argument checks of the electrical room's faces that need no sympy (`symbolic_model`'s).

Face support, not an engine: the faces import these checkers; engines never do. Not part of the
package's API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._checks import count, instance, validator
from ..errors import ArgumentError, NetworkError, TaskError
from ..model.network import Network
from ..model.tasks import DataPoint, Task
from .kirchhoff import check_task

__all__ = ["HARD_MAX_GATES", "HARD_MAX_INTERIOR", "model_args", "model_limits", "model_task"]

#: Hard bounds of ``max_interior`` and ``max_gates`` (ArgumentError beyond, before any symbol is
#: built): twice the default interior nodes already cost hours and gigabytes.
HARD_MAX_INTERIOR, HARD_MAX_GATES = 16, 64


def model_args(
    network: Any, task_or_inputs: Any, max_interior: Any, max_gates: Any
) -> tuple[int, int]:
    """Check the network, the task or input names and the size limits; return the limits."""
    instance(network, "network", Network, error=NetworkError)
    if not isinstance(task_or_inputs, Task) and (
        isinstance(task_or_inputs, str | bytes) or not isinstance(task_or_inputs, Iterable)
    ):
        what = type(task_or_inputs).__name__
        raise ArgumentError(f"Argument `task_or_inputs` must be a Task or node names, not {what}.")
    return model_limits(max_interior, max_gates)


@validator
def model_task(
    network: Network, task_or_inputs: Any, output: Any, name: str = "task_or_inputs"
) -> Task:
    """The task of the model: ``task_or_inputs``, or a task imposing those nodes on ``output``.

    The placeholder task of input names has one point (every input and the label at 0 V): the
    model needs its nodes only. Either task is checked against ``network``.
    """
    if isinstance(task_or_inputs, Task):
        if output is not None:
            raise ArgumentError(
                f"Arguments `output` and a Task `{name}` were both given; the task fixes the "
                "output: drop `output`."
            )
        return check_task(task_or_inputs, network, name)
    if output is None:
        raise TaskError("Argument `output` is required when input node names are given.")
    inputs = list(task_or_inputs)
    if not inputs:
        raise TaskError("At least one input node is needed, but none was given.")
    task = Task((DataPoint({n: 0.0 for n in inputs}, 0.0),), output)
    return check_task(task, network, name)


def model_limits(max_interior: Any, max_gates: Any) -> tuple[int, int]:
    """Check the size limits ``max_interior`` and ``max_gates``; return them as ints."""
    return (
        count(max_interior, "max_interior", minimum=0, maximum=HARD_MAX_INTERIOR),
        count(max_gates, "max_gates", maximum=HARD_MAX_GATES),
    )
