"""Training data: data points and tasks.

A `DataPoint` imposes voltages on some input nodes and asks for a label at the output. A `Task`
is a tuple of points sharing the same input nodes and the same output: a single node, or a pair
``(plus, minus)`` for the differential output ``O = V[plus] - V[minus]`` (Fig. 1 of the paper).
Classification tasks (Appendix A) use the hinge: a point whose output is beyond its label in the
label's direction is not nudged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np

from .._checks import number
from ..errors import TaskError

if TYPE_CHECKING:
    from .network import Network

__all__ = ["DataPoint", "Task"]

TaskKind = Literal["regression", "classification"]


@dataclass(frozen=True, slots=True)
class DataPoint:
    """One training example.

    Parameters
    ----------
    inputs : mapping str -> float
        Voltage imposed on each input node, volts (constant supplies such as V₊ and V₋ are
        inputs too).
    label : float
        Desired output voltage ``L``, volts.

    Examples
    --------
    >>> p = DataPoint({"High": 0.4351, "Low": 0.0181, "Input": 0.4351}, 0.31)
    >>> p.label, sorted(p.inputs)
    (0.31, ['High', 'Input', 'Low'])
    """

    inputs: Mapping[str, float]
    label: float

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, Mapping) or not self.inputs:
            raise TaskError(
                "DataPoint `inputs` must be a non-empty mapping node -> volts, "
                f"got {self.inputs!r}."
            )
        clean: dict[str, float] = {}
        for k, v in self.inputs.items():
            # the input voltage of node k, V: "Argument `inputs['In']` must be a real number..."
            clean[str(k)] = number(v, f"inputs[{k!r}]", unit="V", error=TaskError)
        label = number(self.label, "label", unit="V", error=TaskError)
        object.__setattr__(self, "inputs", MappingProxyType(clean))
        object.__setattr__(self, "label", label)


@dataclass(frozen=True, slots=True)
class Task:
    """A set of data points trained together (cycled fast; the force is their mean).

    Parameters
    ----------
    points : sequence of DataPoint
        All points must impose voltages on the same set of input nodes.
    output : str or (str, str)
        Output node, or ``(plus, minus)`` for the differential output ``V[plus] - V[minus]``.
    kind : {"regression", "classification"}
        Classification uses the hinge of Appendix A (sign of the label is the class).
    name : str
        Free-form label (``"alpha"``, ``"beta"``, ...).

    Attributes
    ----------
    input_nodes : tuple of str
        The imposed nodes, sorted.
    inputs : (n_points, n_inputs) ndarray
        Imposed voltages, columns in ``input_nodes`` order.
    labels : (n_points,) ndarray
        Labels ``L``, V.

    Examples
    --------
    >>> t = Task([DataPoint({"In": 0.4}, 0.3)], "Out", name="alpha")
    >>> t.n_points, t.output_nodes, t.is_differential
    (1, ('Out',), False)
    """

    points: tuple[DataPoint, ...]
    output: str | tuple[str, str]
    kind: TaskKind = "regression"
    name: str = ""
    input_nodes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    inputs: np.ndarray = field(init=False, repr=False, compare=False)
    labels: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.points, str | bytes | Mapping) or not isinstance(self.points, Iterable):
            raise TaskError(
                f"Argument `points` of task {self.name!r} must be a sequence of DataPoint, but is "
                f"{type(self.points).__name__}."
            )
        points = tuple(self.points)
        if not points:
            raise TaskError(
                f"Argument `points` of task {self.name!r} must hold at least one DataPoint."
            )
        for k, p in enumerate(points):
            if not isinstance(p, DataPoint):
                raise TaskError(
                    f"Task {self.name!r}: point {k} must be a DataPoint, got {type(p).__name__}."
                )
        if self.kind not in ("regression", "classification"):
            raise TaskError(
                f"Task {self.name!r}: `kind` must be 'regression' or 'classification', "
                f"got {self.kind!r}."
            )
        out = self.output
        if isinstance(out, str):
            out_nodes: tuple[str, ...] = (out,)
        elif (
            isinstance(out, tuple | list) and len(out) == 2 and all(isinstance(o, str) for o in out)
        ):
            out = (out[0], out[1])
            if out[0] == out[1]:
                raise TaskError(
                    f"Task {self.name!r}: differential output needs two different nodes, got {out}."
                )
            out_nodes = out
        else:
            raise TaskError(
                f"Task {self.name!r}: `output` must be a node name or a (plus, minus) pair, "
                f"got {out!r}."
            )
        nodes = tuple(sorted(points[0].inputs))
        for k, p in enumerate(points):
            if tuple(sorted(p.inputs)) != nodes:
                raise TaskError(
                    f"Task {self.name!r}: point {k} imposes nodes {sorted(p.inputs)} but point 0 "
                    f"imposes {list(nodes)}; all points of a task must impose the same nodes."
                )
        both = sorted(set(nodes) & set(out_nodes))
        if both:
            raise TaskError(
                f"Task {self.name!r}: node {both[0]!r} is both an input and an output; an output "
                "node must be free in the free state."
            )
        if self.kind == "classification" and any(p.label == 0.0 for p in points):
            raise TaskError(
                f"Task {self.name!r}: classification labels must be nonzero (their sign is the "
                "class), but a label is 0."
            )
        inputs = np.array([[p.inputs[n] for n in nodes] for p in points], dtype=float)
        labels = np.array([p.label for p in points], dtype=float)
        inputs.flags.writeable = False
        labels.flags.writeable = False
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "output", out)
        object.__setattr__(self, "input_nodes", nodes)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "labels", labels)

    @property
    def n_points(self) -> int:
        """Number of data points."""
        return len(self.points)

    @property
    def is_differential(self) -> bool:
        """True for an output ``V[plus] - V[minus]``."""
        return not isinstance(self.output, str)

    @property
    def output_nodes(self) -> tuple[str, ...]:
        """``(out,)`` or ``(plus, minus)``."""
        return (self.output,) if isinstance(self.output, str) else tuple(self.output)

    def validate(self, network: Network) -> None:
        """Check the task against a network: every node known, no floating interior node.

        Parameters
        ----------
        network : Network
            The network the task is trained on.

        Raises
        ------
        NetworkError
            Naming an unknown node, or the floating nodes (a component with no imposed node).
        """
        from ..errors import NetworkError

        for n in self.input_nodes + self.output_nodes:
            network.node(n)
        floating = network.floating_nodes(self.input_nodes)
        if floating:
            raise NetworkError(
                f"Task {self.name!r}: nodes {list(floating)} are not connected to any imposed "
                "node, so their voltages are undefined; connect them or remove them."
            )
