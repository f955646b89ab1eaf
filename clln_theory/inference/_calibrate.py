"""Engine of the calibrations of `clln_theory.inference.calibration` on checked values.

:func:`fit_to_lines` is the nonlinear calibration of `calibrate_to_line` (a 2x2 Newton solve per
point with the circuit engine of `clln_theory.electrical`); :func:`fit_point`,
:func:`solution_line_of` and :func:`calibrated_task` are `calibrate_point`,
`model_solution_line` and `calibrate_task` of a linear network (the rate matrix from the theory's
engine `clln_theory.theory._linearize`). The faces check their arguments once; the reproduction
pipeline calls these with the lines and tasks of a description its configuration reader checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import brentq, root

from ..electrical._circuit import CircuitEngine
from ..electrical._force import solve_free
from ..errors import ArgumentError, ConvergenceError, DeviceError, SingularSystemError, TaskError
from ..model import DataPoint, Differential, Network, Task
from ..model._conductance import conductances_in_range, edge_conductances
from ..model.edges import CONDUCTANCE_RANGE
from ..theory._adjoint import SOLUTION_TOL, solve_manifold
from ..theory._linearize import linearize_at
from .calibration_results import CalibratedPoint, CalibratedTask, OutputFn, SolutionLine

__all__ = [
    "LINE_TOL",
    "MODEL_LINE_G1",
    "calibrated_task",
    "check_residual",
    "fit_point",
    "fit_to_lines",
    "fitted_task",
    "free_output_of",
    "line_through",
    "linearization_point",
    "nearest_on",
    "require_conducting",
    "solution_line_of",
    "with_input",
]

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


# ---------- the linear calibrations (`calibrate_point`, `model_solution_line`, `calibrate_task`)
#: Largest accepted |O_F − L| (V) along a fitted line (default ``tol`` of the faces). The linear
#: 2+1 network gives ~1e-16 V (its solution set is exactly a line); 1e-9 V leaves room for
#: rounding in larger networks while being six orders below the millivolt errors the
#: experiments resolve. A network whose solution set is curved fails this check, with the
#: residual in the message.
LINE_TOL = 1e-9
_FIT_STEP = 1.0  # V: the two calibration points sit ±1 V along the line around the centre
_CHECK_HALF_SPAN = 2.0  # V: the residual is checked over ±2 V along the line (the gate box size)
_CHECK_SAMPLES = 9
#: The first gates tried by `model_solution_line` (its default ``G1``), V.
MODEL_LINE_G1 = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0)


def nearest_on(line: SolutionLine, p: np.ndarray) -> np.ndarray:
    """`SolutionLine.nearest` of a checked point ``p`` (2,): the orthogonal projection."""
    p0 = np.array([0.0, line.c])
    d = line.direction
    return p0 + d * (d @ (p - p0))


def line_through(a: float, c: float) -> SolutionLine:
    """The `SolutionLine` of a computed (finite) slope ``a`` and intercept ``c``, V."""
    line = object.__new__(SolutionLine)
    object.__setattr__(line, "a", float(a))
    object.__setattr__(line, "c", float(c))
    return line


def check_residual(
    output: OutputFn, point: DataPoint, line: SolutionLine, centre: np.ndarray, tol: float
) -> float:
    """The largest |O_F − L| along ``line`` within ±2 V of ``centre``; `TaskError` above ``tol``
    or where the line leaves the model's domain."""
    s = np.linspace(-_CHECK_HALF_SPAN, _CHECK_HALF_SPAN, _CHECK_SAMPLES)
    label = point.label
    assert isinstance(label, float)  # one label: checked by the faces
    res = []
    for G in centre + s[:, None] * line.direction:
        try:
            res.append(float(np.asarray(output(G, point))) - label)
        except DeviceError:  # a gate below threshold: outside the model's domain, not checked
            continue
    if len(res) < 3:
        raise TaskError(
            f"The line G2 = {line.a:.6g} G1 + {line.c:.6g} leaves the model's domain (a gate "
            f"below threshold) within ±{_CHECK_HALF_SPAN} V of {np.round(centre, 4).tolist()}; "
            "choose a reference point where both gates are above threshold."
        )
    worst = float(np.max(np.abs(res)))
    if not np.isfinite(worst) or worst > tol:
        raise TaskError(
            f"The model's solution set of the point with inputs {dict(point.inputs)} and label "
            f"{point.label:.6g} V is not the line G2 = {line.a:.6g} G1 + {line.c:.6g}: |O_F - L| "
            f"reaches {worst:.3g} V > {tol:.3g} V within ±{_CHECK_HALF_SPAN} V of "
            f"{np.round(centre, 4).tolist()}; the network's solution set is curved there."
        )
    return worst


def fit_point(
    output: OutputFn,
    point: DataPoint,
    line: SolutionLine,
    fit_input: str,
    centre: np.ndarray | None,
    tol: float,
) -> CalibratedPoint:
    """`calibrate_point` on checked values (``centre`` (2,) or None, ``fit_input`` an input of
    ``point``, one label): the effective input and label, the residual along the line."""
    centre = line.at(3.0) if centre is None else nearest_on(line, centre)
    P = centre + np.array([-_FIT_STEP, _FIT_STEP])[:, None] * line.direction  # (2, 2)
    v0 = point.inputs[fit_input]
    O0 = np.asarray(output(P, with_input(point, fit_input, v0)), dtype=float)
    O1 = np.asarray(output(P, with_input(point, fit_input, v0 + 1.0)), dtype=float)
    w = O1 - O0  # dO/dV₁ at P₁, P₂ (exact: O is affine in V₁)
    u = O0 - w * v0
    if abs(w[0] - w[1]) <= 1e-12 * max(abs(w[0]), abs(w[1]), 1e-300):
        raise SingularSystemError(
            f"Varying input {fit_input!r} moves the output equally at two points of the line, so "
            "no effective input reproduces its slope; fit another input or check the line."
        )
    V1 = (u[1] - u[0]) / (w[0] - w[1])
    L = w[0] * V1 + u[0]
    fitted = with_input(point, fit_input, V1, L)
    residual = check_residual(output, fitted, line, centre, tol)
    return CalibratedPoint(
        point=fitted, nominal=point, line=line, fit_input=fit_input, residual=residual
    )


def solution_line_of(
    output: OutputFn,
    point: DataPoint,
    G1: Sequence[float],
    bracket: tuple[float, float],
    tol: float,
) -> SolutionLine:
    """`model_solution_line` on checked values (``G1`` 1-D, ``bracket`` finite with lo < hi)."""
    lo, hi = bracket
    label = point.label
    assert isinstance(label, float)  # one label: checked by the faces
    pts = []
    for g1 in G1:

        def f(g2, g1=g1):
            return float(np.asarray(output(np.array([g1, g2]), point))) - label

        try:
            flo, fhi = f(lo), f(hi)
        except DeviceError:  # outside the model's domain at this G1
            continue
        if np.sign(flo) * np.sign(fhi) < 0:
            pts.append((g1, brentq(f, lo, hi, xtol=1e-14, rtol=1e-14)))
        if len(pts) == 2:
            break
    if len(pts) < 2:
        raise ConvergenceError(
            f"O_F = {label:.6g} V has a solution G2 in {tuple(bracket)} for fewer than two "
            f"of G1 = {list(G1)} V; the label may be out of reach of the network there. Give the "
            "linearization point explicitly."
        )
    (x1, y1), (x2, y2) = pts
    a = (y2 - y1) / (x2 - x1)
    line = line_through(a, y1 - a * x1)
    check_residual(output, point, line, line.at(0.5 * (x1 + x2)), tol)
    return line


def linearization_point(
    network: Network,
    task: Task,
    lines: list[SolutionLine | None],
    out_fn: OutputFn,
    reference: np.ndarray | None,
) -> np.ndarray:
    """``G*``: the point of a single-point task's line nearest ``reference``, or the
    intersection of a two-point task's lines (the model's own line where none was measured,
    also put in ``lines``). Without any line on a network of other than two gates, or with
    several outputs: the point of the task's solution set nearest ``reference`` (its joint
    solution when it sets as many conditions as there are gates), by the constrained
    Gauss-Newton of `nearest_solution`."""
    if all(line is None for line in lines) and (
        network.n_gates != 2 or not isinstance(task.output, str | Differential)
    ):
        return _nearest_point(network, task, reference)
    if network.n_gates != 2:
        raise TaskError(
            f"Task {task.name!r} needs an explicit `G_star`: automatic linearization points need "
            f"a network with two gates, but this one has {network.n_gates}."
        )
    if task.n_points > 2:
        raise TaskError(
            f"Task {task.name!r} needs an explicit `G_star`: it has {task.n_points} points, and "
            "only one- and two-point tasks have an automatic linearization point."
        )
    if task.n_points == 1 and reference is None:
        raise ArgumentError(
            f"Argument `reference` is needed: single-point task {task.name!r} linearizes at the "
            "point of its line nearest it; give `reference` or `G_star`."
        )
    bracket = (float(np.max(network.V_T)) + 1e-6, 1e3)
    full: list[SolutionLine] = []
    for k, line in enumerate(lines):
        if line is None:  # the model's own line stands in, also in the result's `lines`
            line = lines[k] = solution_line_of(
                out_fn, task.points[k], MODEL_LINE_G1, bracket, LINE_TOL
            )
        full.append(line)
    if task.n_points == 1:
        assert reference is not None
        return nearest_on(full[0], reference)
    return full[0].intersect(full[1])


#: The start of `_nearest_point` without a reference, V above the largest threshold.
_START_ABOVE_THRESHOLD = 2.0


def _nearest_point(network: Network, task: Task, reference: np.ndarray | None) -> np.ndarray:
    """The point of ``task``'s solution set nearest ``reference`` (n,), or, without one, the
    solution reached from every gate 2 V above the largest threshold (a joint solution: a
    task with as many conditions as gates has isolated solutions)."""
    if reference is None:
        start = float(np.max(network.V_T)) + _START_ABOVE_THRESHOLD
        reference = np.full(network.n_gates, start)
    return solve_manifold(network, [task], np.array(reference, dtype=float), 1e-13, 50)


def calibrated_task(
    network: Network,
    task: Task,
    lines: list[SolutionLine | None],
    output: Any,
    gamma: float,
    eta: float,
    fit_input: str | None,
    reference: np.ndarray | None,
    G_star: np.ndarray | None,
) -> CalibratedTask:
    """`calibrate_task` on checked values: a linear-device ``network`` the ``task`` (one
    ``output``) fits, one line or None per point, ``gamma`` (Ω/s) and ``eta`` checked,
    ``reference`` (2,) or None, ``G_star`` (n_gates,) or None (then found and checked here:
    a `DeviceError` where a gate of it does not conduct)."""
    fitted, cals, G_star = fitted_task(network, task, lines, output, fit_input, reference, G_star)
    return CalibratedTask(
        name=task.name,
        task=fitted,
        nominal=task.points,
        lines=tuple(lines),
        calibrations=cals,
        G_star=G_star,
        linear=linearize_at(network, fitted, G_star, gamma, 1.0, eta, "auto", SOLUTION_TOL, False),
    )


def fitted_task(
    network: Network,
    task: Task,
    lines: list[SolutionLine | None],
    output: Any,
    fit_input: str | None,
    reference: np.ndarray | None,
    G_star: np.ndarray | None,
) -> tuple[Task, tuple[CalibratedPoint | None, ...], np.ndarray]:
    """The steps of `calibrated_task` before the linearization: the effective task, the fits
    (None per point without a measured line) and the read-only linearization point ``G*``."""
    out_fn = free_output_of(network, output)
    effective: list[DataPoint] = []
    cals: list[CalibratedPoint | None] = []
    for p, line in zip(task.points, lines, strict=True):
        if line is None:
            effective.append(p)
            cals.append(None)
            continue
        if fit_input is None:
            raise ArgumentError(
                f"Argument `fit_input` is needed: task {task.name!r} has a measured line."
            )
        cal = fit_point(out_fn, p, line, fit_input, reference, LINE_TOL)
        effective.append(cal.point)
        cals.append(cal)
    fitted = Task(tuple(effective), task.output, kind=task.kind, name=task.name)
    if G_star is None:
        G_star = linearization_point(network, fitted, lines, out_fn, reference)
    G_star = np.array(G_star, dtype=float)
    conductances_in_range(network, G_star, "G_star")  # as `linearize` refuses a G_star
    G_star.setflags(write=False)
    return fitted, tuple(cals), G_star
