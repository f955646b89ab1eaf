"""Engine of the calibrations of `clln_theory.inference.calibration` on checked values.

:func:`fit_to_lines` is the nonlinear calibration of `calibrate_to_line` (a 2x2 Newton solve per
point with the circuit engine of `clln_theory.electrical`); the face checks the network, the task,
the lines, ``fit_input``, ``centre`` and ``step`` once, the reproduction pipeline calls it with
the lines of a description its configuration reader checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import root

from ..electrical._circuit import CircuitEngine
from ..electrical._force import solve_free
from ..errors import ConvergenceError, DeviceError
from ..model import DataPoint, Differential, Network, Task
from ..model._conductance import edge_conductances
from ..model.edges import CONDUCTANCE_RANGE

__all__ = ["fit_to_lines", "free_output_of", "require_conducting", "with_input"]

_CALIBRATION_TOL = 1e-12
"""|O_F − L| (V) accepted at the two points of `calibrate_to_line`: Newton reaches ~1e-15 V."""

Line = tuple[float, float]


def with_input(point: DataPoint, node: str, value: float, label: float | None = None) -> DataPoint:
    """``point`` with the input ``node`` set to ``value`` (and the label to ``label``)."""
    inputs = dict(point.inputs)
    inputs[node] = float(value)
    return DataPoint(inputs, point.label if label is None else float(label))


def require_conducting(network: Network, G: np.ndarray, name: str = "G") -> None:
    """Refuse, with a `DeviceError`, a gate vector ``G`` (n,) of a linear-device network at which
    a learning edge does not conduct (``K <= 0``) or conducts beyond the conductance range: the
    condition `Network.conductances` refuses, on an array the caller computed."""
    if not getattr(network.device, "is_linear", False):
        raise DeviceError(
            f"Conductances are defined only for linear devices, but this network uses "
            f"{type(network.device).__name__}; use network.with_device(LinearDevice())."
        )
    Kg = edge_conductances(network, G)[..., network.gate_edges]
    bad = ~((Kg > 0) & (Kg <= CONDUCTANCE_RANGE[1]))
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        raise DeviceError(
            f"Learning edge {network.gate_names[j]!r} has conductance {float(Kg[j]):.6g} S at "
            f"gate {float(G[j]):.6g} V of `{name}`, outside (0, {CONDUCTANCE_RANGE[1]:g}] S."
        )


def free_output_of(network: Network, output: str | Differential) -> Callable[[Any, DataPoint], Any]:
    """``(G, point) -> O_F`` of `free_output` for a checked linear-device ``network`` and points
    whose nodes it knows: one Kirchhoff solve per gate vector (a `DeviceError` where a learning
    edge does not conduct)."""

    def output_fn(G: Any, point: DataPoint) -> Any:
        G = np.asarray(G, dtype=float)
        task = Task((point,), output)
        flat = G.reshape(-1, G.shape[-1])
        values = []
        for g in flat:
            require_conducting(network, g)
            values.append(solve_free(network, g, task)[1].O[0])
        O = np.array(values)
        return O.reshape(G.shape[:-1]) if G.ndim > 1 else O[0]

    return output_fn


def fit_to_lines(
    network: Network,
    task: Task,
    lines: Sequence[Line | None],
    fit_input: str,
    centre: np.ndarray,
    step: float,
) -> Task:
    """The task with ``fit_input`` and the label of every point with a line ``(a, c)`` fitted so
    that the point's solution set meets the line at ±``step`` around its point nearest
    ``centre`` (checked: a two-gate network, one output, ``fit_input`` an input)."""
    idx_b = network.imposed_indices(task.input_nodes)
    solver = CircuitEngine(network, idx_b, tuple(str(n) for n in task.input_nodes))
    points = [
        p if ln is None else _fit_point(solver, task, k, ln, fit_input, centre, step)
        for k, (p, ln) in enumerate(zip(task.points, lines, strict=True))
    ]
    return Task(tuple(points), task.output, kind=task.kind, name=task.name)


def _fit_point(
    solver: CircuitEngine,
    task: Task,
    k: int,
    line: Line,
    fit_input: str,
    centre: np.ndarray,
    step: float,
) -> DataPoint:
    """The 2x2 Newton solve of `fit_to_lines` for point ``k`` of ``task``."""
    network = solver.network
    point = task.points[k]
    a, c = line
    direction = np.array([1.0, a]) / np.hypot(1.0, a)  # along G2 = a G1 + c
    p0 = np.array([0.0, c])
    nearest = p0 + direction * (direction @ (centre - p0))
    P = nearest + np.array([-step, step])[:, None] * direction
    k_in, out = task.input_nodes.index(fit_input), network.node(task.output_nodes[0])
    base = np.asarray(task.inputs[k], dtype=float)
    linear = getattr(network.device, "is_linear", False)

    def output(G: np.ndarray, v1: float) -> float:  # the fitted input replaced by v1
        if linear:  # below threshold: refused, as the circuit solver's face does
            require_conducting(network, G)
        values = np.where(np.arange(base.size) == k_in, v1, base).astype(float)
        return float(solver.solve_checked(G, values, None).V[out])

    def eqs(x: np.ndarray) -> np.ndarray:
        return np.array([output(P[0], x[0]) - x[1], output(P[1], x[0]) - x[1]])

    sol = root(eqs, [point.inputs[fit_input], point.label], method="hybr", tol=1e-14)
    if not (res := float(np.max(np.abs(eqs(sol.x))))) <= _CALIBRATION_TOL:
        which = f" (point {k})" if task.n_points > 1 else ""
        raise ConvergenceError(
            f"Calibrating task {task.name!r}{which} to the line G2 = {a:.6g} G1 + {c:.6g} failed: "
            f"the output misses the label by {res:.3g} V at the calibration points; move `centre`."
        )
    return with_input(point, fit_input, float(sol.x[0]), float(sol.x[1]))
