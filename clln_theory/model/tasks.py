"""Training data: data points and tasks.

A `DataPoint` imposes voltages on some input nodes and asks for a label at each output. A `Task`
is a tuple of points sharing the same input nodes and the same output(s). An output (a *target*)
is a single node, or a `Differential` ``(plus, minus)`` for the voltage drop
``O = V[plus] - V[minus]`` (Fig. 1 of the paper; across an edge ``a -> b`` this is the edge's drop
``Differential(a, b)``). A multi-output task lists several targets, ``["o1", "o2"]`` or
``["o1", Differential("a", "b")]``, and each point carries one label per target. A bare pair
``("a", "b")`` is ambiguous (one differential output or two targets?) and is refused.
Classification tasks (Appendix A) use the hinge: an output beyond its label in the label's
direction is not nudged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from .._checks import number
from ..errors import TaskError

if TYPE_CHECKING:
    from .network import Network

__all__ = ["DataPoint", "Differential", "Task"]

TaskKind = Literal["regression", "classification"]


class Differential(NamedTuple):
    """A differential output (target) ``O = V[plus] - V[minus]``: a voltage drop.

    The drop across an edge ``a -> b`` is ``Differential(a, b)``. Under clamping the nudge ``Δ``
    is shared symmetrically: ``V[plus]`` moves by ``+Δ/2`` and ``V[minus]`` by ``-Δ/2``
    (`clln_theory.electrical.clamping.output_split`).

    Attributes
    ----------
    plus : str
        Node whose voltage counts positively.
    minus : str
        Node whose voltage counts negatively.

    Examples
    --------
    >>> d = Differential("O+", "O-")
    >>> d.plus, d.minus, tuple(d) == ("O+", "O-")
    ('O+', 'O-', True)
    """

    plus: str
    minus: str


def _ambiguous(out: Any) -> str:
    a, b = out
    return (
        f"Argument `output` {tuple(out)!r} is ambiguous: write Differential({a!r}, {b!r}) for the "
        f"single output V[{a}] - V[{b}], or [{a!r}, {b!r}] for two targets each with its own "
        "label."
    )


def _target(out: Any, name: str) -> str | Differential:
    """One target: a node name or a `Differential` of two different nodes."""
    if isinstance(out, str):
        return out
    if isinstance(out, Differential):
        if not (isinstance(out.plus, str) and isinstance(out.minus, str)):
            raise TaskError(f"Task {name!r}: a Differential needs two node names, got {out!r}.")
        if out.plus == out.minus:
            raise TaskError(
                f"Task {name!r}: differential output needs two different nodes, got {tuple(out)}."
            )
        return out
    if isinstance(out, tuple) and len(out) == 2 and all(isinstance(o, str) for o in out):
        raise TaskError(f"Task {name!r}: " + _ambiguous(out))
    raise TaskError(
        f"Task {name!r}: `output` must be a node name, a Differential(plus, minus) or a list of "
        f"them, got {out!r}."
    )


@dataclass(frozen=True, slots=True)
class DataPoint:
    """One training example.

    Parameters
    ----------
    inputs : mapping str -> float
        Voltage imposed on each input node, volts (constant supplies such as V₊ and V₋ are
        inputs too); keys are node names (non-empty str).
    label : float or sequence of float
        Desired output voltage ``L``, volts; one label per target for a multi-output task.

    Examples
    --------
    >>> p = DataPoint({"High": 0.4351, "Low": 0.0181, "Input": 0.4351}, 0.31)
    >>> p.label, sorted(p.inputs)
    (0.31, ['High', 'Input', 'Low'])
    """

    inputs: Mapping[str, float]
    label: float | tuple[float, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, Mapping) or not self.inputs:
            raise TaskError(
                "DataPoint `inputs` must be a non-empty mapping node -> volts, "
                f"got {self.inputs!r}."
            )
        clean: dict[str, float] = {}
        for k, v in self.inputs.items():
            if not isinstance(k, str) or not k:  # str(1) == "1" would merge two inputs
                raise TaskError(
                    f"Argument `inputs` must have node names (non-empty str) as keys, but has "
                    f"{k!r} ({type(k).__name__})."
                )
            # the input voltage of node k, V: "Argument `inputs['In']` must be a real number..."
            clean[str(k)] = number(v, f"inputs[{k!r}]", unit="V", error=TaskError)
        if isinstance(self.label, Iterable) and not isinstance(self.label, str):
            label: Any = tuple(
                number(v, f"label[{i}]", unit="V", error=TaskError)
                for i, v in enumerate(self.label)
            )
            if not label:
                raise TaskError("Argument `label` must be a number or a non-empty sequence.")
            if len(label) == 1:
                label = label[0]
        else:
            label = number(self.label, "label", unit="V", error=TaskError)
        object.__setattr__(self, "inputs", MappingProxyType(clean))
        object.__setattr__(self, "label", label)


def _is_multi(out: Any) -> bool:
    return isinstance(out, tuple) and not isinstance(out, Differential)


@dataclass(frozen=True, slots=True)
class Task:
    """A set of data points trained together (cycled fast; the force is their mean).

    Parameters
    ----------
    points : sequence of DataPoint
        All points must impose voltages on the same set of input nodes.
    output : str, Differential or list of them
        Output node, a `Differential` ``(plus, minus)`` for the output ``V[plus] - V[minus]``, or
        a list of such targets (a multi-output task: each point carries one label per target).
        A bare 2-tuple of node names is ambiguous and refused (`TaskError` showing both
        spellings).
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
    labels : (n_points,) or (n_points, n_outputs) ndarray
        Labels ``L``, V; two-dimensional for a multi-output task.

    Examples
    --------
    >>> t = Task([DataPoint({"In": 0.4}, 0.3)], "Out", name="alpha")
    >>> t.n_points, t.output_nodes, t.is_differential
    (1, ('Out',), False)
    """

    points: tuple[DataPoint, ...]
    output: str | Differential | tuple[str | Differential, ...]
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
        out: Any = self.output
        pair = isinstance(out, tuple) and len(out) == 2 and all(isinstance(o, str) for o in out)
        if isinstance(out, list) or (
            isinstance(out, tuple) and not isinstance(out, Differential) and not pair
        ):
            targets = tuple(_target(o, self.name) for o in out)
            if not targets:
                raise TaskError(f"Task {self.name!r}: `output` lists no target.")
            out = targets[0] if len(targets) == 1 else targets
        else:
            out = _target(out, self.name)
        targets = out if _is_multi(out) else (out,)
        out_nodes = tuple(n for t in targets for n in ((t,) if isinstance(t, str) else t))
        if len(set(out_nodes)) != len(out_nodes):
            raise TaskError(
                f"Task {self.name!r}: the targets {list(targets)} share a node; each output node "
                "may be clamped by one target only."
            )
        n_out = len(targets)
        for k, p in enumerate(points):
            n_lab = len(p.label) if isinstance(p.label, tuple) else 1
            if n_lab != n_out:
                raise TaskError(
                    f"Task {self.name!r}: point {k} has {n_lab} label(s) but the task has "
                    f"{n_out} target(s) {list(targets)}; give one label per target."
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
        labels = np.array([p.label for p in points], dtype=float)
        if self.kind == "classification" and np.any(labels == 0.0):
            raise TaskError(
                f"Task {self.name!r}: classification labels must be nonzero (their sign is the "
                "class), but a label is 0."
            )
        inputs = np.array([[p.inputs[n] for n in nodes] for p in points], dtype=float)
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
        """True for a single output ``V[plus] - V[minus]`` (a `Differential`)."""
        return isinstance(self.output, Differential)

    @property
    def is_multi_output(self) -> bool:
        """True for a task with several targets (``labels`` of shape (n_points, n_outputs))."""
        return _is_multi(self.output)

    @property
    def targets(self) -> tuple[str | Differential, ...]:
        """The targets, in order: ``(output,)`` for a single-output task."""
        out = self.output
        if isinstance(out, tuple) and not isinstance(out, Differential):  # several targets
            return out
        return (out,)

    @property
    def n_outputs(self) -> int:
        """Number of targets (1 for a single node or a single `Differential`)."""
        return len(self.targets)

    @property
    def output_nodes(self) -> tuple[str, ...]:
        """Every output node, target by target: ``(out,)``, ``(plus, minus)``, ...."""
        return tuple(n for t in self.targets for n in ((t,) if isinstance(t, str) else t))

    def output_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """How outputs read and clamps move the output nodes.

        Returns
        -------
        U : (n_output_nodes, n_outputs) ndarray
            ``O = V[output_nodes] @ U``: a column ``e_node`` or ``e_plus - e_minus``.
        C : (n_output_nodes, n_outputs) ndarray
            A nudge ``Δ`` (one entry per target) moves the output nodes by ``C @ Δ``: a column
            ``e_node`` or ``(e_plus - e_minus) / 2`` (the symmetric split of a `Differential`).

        Examples
        --------
        >>> t = Task([DataPoint({"i": 1.0}, (0.1, 0.2))], ["o", Differential("p", "m")])
        >>> U, C = t.output_matrices()
        >>> U.tolist(), C[:, 1].tolist()
        ([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], [0.0, 0.5, -0.5])
        """
        nodes = self.output_nodes
        U = np.zeros((len(nodes), self.n_outputs))
        C = np.zeros_like(U)
        row = 0
        for j, t in enumerate(self.targets):
            if isinstance(t, str):
                U[row, j] = C[row, j] = 1.0
                row += 1
            else:
                U[row : row + 2, j] = (1.0, -1.0)
                C[row : row + 2, j] = (0.5, -0.5)  # output_split(2)
                row += 2
        return U, C

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
