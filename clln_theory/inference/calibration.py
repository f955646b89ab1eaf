"""Every calibration of a task to a measured solution line (Appendix E of the paper).

The real edges are nonlinear, so the linear model ``K = S (G − V_T)`` with the nominal input and
label puts a single-point task's solution line {O_F(G) = L} in slightly the wrong place. The
paper's pipeline fits each single-point task to its **measured** line ``G₂ = a G₁ + c`` instead:
it finds the effective input voltage ``V₁`` and label ``L`` for which the model's solution line
is exactly the measured one, then linearizes at the point of that line nearest a reference
point (a two-point task: at the intersection of its two lines).

Three calibrations, from one point to a whole task:

`calibrate_point`
    One data point of a *linear* network (superposition makes the fit two linear equations).
    The output is given as a function ``output(G, point) -> O``, vectorized over ``G`` of shape
    (..., 2); for the package's networks `free_output` builds it.
`calibrate_to_line`
    A task of a *nonlinear* network (any device), every point to its own measured line: a 2x2
    Newton solve per point with the Kirchhoff solver of `clln_theory.electrical.circuit`, exact
    at two points of that point's line.
`calibrate_task`
    A whole task for the linear theory: every point with a measured line calibrated, the
    linearization point ``G*`` found, and the rate matrix ``M = (r γ / η) ∂²C/∂G²`` at ``G*``
    (`clln_theory.theory.linearize`), returned as a `CalibratedTask`.

Examples
--------
>>> line = SolutionLine(2.0, -1.0)
>>> np.round(line.nearest([3.0, 3.0]), 12)
array([2.2, 3.4])
>>> np.round(line.intersect(SolutionLine(0.5, 2.0)), 12)
array([2., 3.])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._checks import instance, number, positive, quote, real_array, validator, vector
from ..electrical import free_state
from ..electrical.clamping import check_eta
from ..electrical.kirchhoff import check_task
from ..errors import (
    ArgumentError,
    ShapeError,
    TaskError,
)
from ..model import DataPoint, Differential, Network, Task
from ..theory._spectral import MAX_RATE
from ._calibrate import (
    LINE_TOL,
    MODEL_LINE_G1,
    calibrated_task,
    fit_point,
    fit_to_lines,
    solution_line_of,
)
from .calibration_results import CalibratedPoint, CalibratedTask, OutputFn, SolutionLine

__all__ = [
    "CalibratedPoint",
    "CalibratedTask",
    "SolutionLine",
    "calibrate_point",
    "calibrate_task",
    "calibrate_to_line",
    "free_output",
    "model_solution_line",
]

# ---------- argument checks (each names the argument as the caller spelled it)
#: Smallest ``tol`` of a line check, V: the outputs of a ~1 V network are resolved to ~1e-16 V
#: in float64, so a smaller tolerance fails on round-off alone.
_MIN_LINE_TOL = 1e-15


@validator
def _check_callable(output: Any, point: Any) -> None:
    """``output`` a callable ``(G, point) -> O`` and ``point`` a DataPoint."""
    if not callable(output):
        raise ArgumentError(
            f"Argument `output` must be a callable (G, point) -> O, but is {type(output).__name__}."
        )
    instance(point, "point", DataPoint)
    if not isinstance(point.label, float):
        raise ArgumentError(
            "Argument `point` must have one label to calibrate to a line, but has "
            f"{len(point.label)}."
        )


@validator
def _check_fit_input(fit_input: Any, inputs: Iterable[str]) -> str:
    """``fit_input``, one of the input nodes ``inputs`` (TaskError naming it otherwise)."""
    names = sorted(inputs)
    if not isinstance(fit_input, str) or fit_input not in names:
        raise TaskError(
            f"Argument `fit_input` = {quote(fit_input)} is not an input; the inputs are {names}."
        )
    return fit_input


@validator
def _check_problem(network: Any, task: Any) -> None:
    """``network`` a Network and ``task`` a Task."""
    instance(network, "network", Network)
    instance(task, "task", Task)


@validator
def _line_tol(tol: Any) -> float:
    """The tolerance of a line check, V: a finite number >= 1e-15 V."""
    return number(tol, "tol", low=_MIN_LINE_TOL, unit="V")


@validator
def _point_args(output: Any, point: Any, line_cls: tuple, fit_input: Any, centre: Any, tol: Any):
    """The checks of ``calibrate_point``: returns ``centre`` (None or (2,)) and ``tol``."""
    _check_callable(output, point)
    instance(line_cls[0], "line", line_cls[1])
    _check_fit_input(fit_input, point.inputs)
    return (None if centre is None else vector(centre, "centre", 2)), _line_tol(tol)


@validator
def _line_args(output: Any, point: Any, G1: Any, tol: Any):
    """The checks of ``model_solution_line``: returns ``G1`` (1-D, V) and ``tol``."""
    _check_callable(output, point)
    return real_array(G1, "G1", shape=(None,)), _line_tol(tol)


@validator
def _to_line_args(network: Any, task: Any, line: Any, fit_input: Any, step: Any, centre: Any):
    """The checks of ``calibrate_to_line``: returns ``step`` (V, > 0) and ``centre`` ((2,), V)."""
    _check_problem(network, task)
    _check_fit_input(fit_input, task.input_nodes)
    if isinstance(line, str) or not isinstance(line, Sequence | np.ndarray):
        raise ArgumentError(
            f"Argument `line` must be (a, c) or a sequence of them, but is {quote(line)}."
        )
    return positive(step, "step", unit="V"), vector(centre, "centre", 2)


@validator
def _task_args(
    network: Any, task: Any, lines: Any, fit_input: Any, reference: Any, G_star: Any
) -> tuple[list[Any], np.ndarray | None, np.ndarray | None, str | Differential]:
    """The checks of ``calibrate_task``: returns ``lines`` (a list of SolutionLine or None),
    ``reference``, ``G_star`` and the task's one output (a task with several outputs has no
    scalar output to fit to a line)."""
    _check_problem(network, task)
    if isinstance(lines, str) or not isinstance(lines, Sequence):
        raise ArgumentError(f"Argument `lines` must be a sequence, but is {type(lines).__name__}.")
    output = task.output
    if not isinstance(output, str | Differential):
        raise ArgumentError(
            f"Argument `task` must have one output to calibrate to measured lines, but task "
            f"{task.name!r} has {task.n_outputs}."
        )
    lines = list(lines)
    if len(lines) != task.n_points:
        raise ShapeError(
            f"Argument `lines` must hold one entry per point of task {task.name!r} "
            f"({task.n_points}), but holds {len(lines)}."
        )
    for line in lines:
        if line is not None:
            instance(line, "line", SolutionLine)
    if fit_input is not None and any(line is not None for line in lines):
        _check_fit_input(fit_input, task.input_nodes)
    reference = None if reference is None else vector(reference, "reference", 2)
    G_star = None if G_star is None else vector(G_star, "G_star", network.n_gates)
    return lines, reference, G_star, output


def calibrate_point(
    output: OutputFn,
    point: DataPoint,
    line: SolutionLine,
    *,
    fit_input: str,
    centre: Any = None,
    tol: float = LINE_TOL,
) -> CalibratedPoint:
    """Effective input voltage and label that put a point's solution line on a measured line.

    Parameters
    ----------
    output : callable ``(G, point) -> O``
        Free output of a linear network at gates ``G`` (..., 2) for the inputs of ``point``.
    point : DataPoint
        Nominal point (its other inputs are kept; its label is only replaced).
    line : SolutionLine
        Measured solution line ``G₂ = a G₁ + c``.
    fit_input : str
        The input node whose voltage is fitted (``"Input"`` for the paper: V₁).
    centre : (2,) array_like, optional
        Where on the line to calibrate and check (default: the point of the line with G₁ = 3 V).
    tol : float
        Largest accepted |O_F − L| along the line, V (default 1e-9).

    Returns
    -------
    CalibratedPoint

    Notes
    -----
    A linear network's free output is affine in each imposed voltage:
    ``O(G; V₁) = w(G) V₁ + u(G)`` (superposition). On two points ``P₁``, ``P₂`` of the line the
    conditions ``O(P_i; V₁) = L`` give ``V₁ = (u₂ − u₁)/(w₁ − w₂)`` and ``L = w₁ V₁ + u₁``;
    ``w`` and ``u`` come from two evaluations of ``output`` per point (cost: four solves, plus
    nine for the residual check). For a solution set that is a line in G the fit is then exact
    on the whole line; the check confirms it.

    Raises
    ------
    TaskError
        If ``fit_input`` is not an input of the point, or the fitted model's solution set is not
        the line (residual above ``tol``).
    ArgumentError
        A ``tol`` that is not a finite number > 0.
    SingularSystemError
        If varying ``fit_input`` cannot tilt the model's solution set onto the line (``w₁ = w₂``).
    """
    centre, tol = _point_args(output, point, (line, SolutionLine), fit_input, centre, tol)
    return fit_point(output, point, line, fit_input, centre, tol)


def model_solution_line(
    output: OutputFn,
    point: DataPoint,
    *,
    G1: Sequence[float] = MODEL_LINE_G1,
    bracket: tuple[float, float] = (1.0, 100.0),
    tol: float = LINE_TOL,
) -> SolutionLine:
    """The model's own solution line {O_F(G) = L} of a point (no measurement).

    Finds the G₂ with ``O_F = L`` (Brent's method within ``bracket``) at the first two values of
    ``G1`` where one exists, joins them, and checks the residual along the line as
    :func:`calibrate_point` does.

    Parameters
    ----------
    output : callable ``(G, point) -> O``
        Free output of a network with two gates at gates ``G`` (..., 2), V.
    point : DataPoint
        The point whose solution line is wanted.
    G1 : sequence of float
        Values of the first gate tried in turn, V.
    bracket : (float, float)
        Interval of the second gate searched for ``O_F = L``, V.
    tol : float
        Largest accepted |O_F − L| along the line, V (default 1e-9).

    Returns
    -------
    SolutionLine

    Raises
    ------
    ConvergenceError
        If fewer than two of the ``G1`` values have a solution G₂ in ``bracket``.
    TaskError
        If the solution set is not a line (residual above ``tol``).
    ArgumentError
        A ``tol`` that is not a finite number > 0, or a ``bracket`` that is not finite with
        ``lo < hi``.
    """
    G1, tol = _line_args(output, point, G1, tol)
    lo, hi = real_array(bracket, "bracket", shape=(2,))
    if not lo < hi:
        raise ArgumentError(
            f"Argument `bracket` must be (lo, hi) with lo < hi (V), but is {tuple(bracket)!r}."
        )
    return solution_line_of(output, point, G1, (lo, hi), tol)


def free_output(network: Network, output: str | Differential) -> OutputFn:
    """The free output of a network as a function ``(G, point) -> O_F``, vectorized over G.

    Parameters
    ----------
    network : Network
        Any network with a linear device (each gate vector costs one Kirchhoff solve,
        `clln_theory.electrical.free_state`).
    output : str or Differential
        The output node, or a differential pair of nodes.

    Returns
    -------
    callable ``(G, point) -> O``
        ``G`` of shape (n_gates,) gives a float, (..., n_gates) an array of shape (...); V.
    """

    def output_fn(G: Any, point: DataPoint) -> Any:
        G = np.asarray(G, dtype=float)
        task = Task((point,), output)
        flat = G.reshape(-1, G.shape[-1])
        O = np.array([free_state(network, g, task).O[0] for g in flat])
        return O.reshape(G.shape[:-1]) if G.ndim > 1 else O[0]

    return output_fn


def calibrate_to_line(
    network: Network,
    task: Task,
    line: Any,
    *,
    fit_input: str = "Input",
    centre: Any = (3.0, 3.5),
    step: float = 1.0,
) -> Task:
    """Task whose nonlinear solution set of every point meets that point's measured line twice.

    The nonlinear analogue of `calibrate_point`: for each point with a line, the effective input
    voltage and label for which the network's solution set of that point passes through its line
    at ±``step`` around the line's point nearest ``centre`` (a 2x2 Newton solve per point with
    the circuit solver of `clln_theory.electrical.circuit`; points are fitted independently).

    Parameters
    ----------
    network : Network
        Two gates, any device.
    task : Task
        The nominal task (single output); the ``fit_input`` voltage and the label of every
        point with a line are replaced.
    line : (a, c), or sequence of (a, c) or None
        Measured solution line ``G₂ = a G₁ + c`` (``G₊ = a G₋ + c`` for the paper's network):
        slope and intercept (V). A single-point task takes one line; a task of several points one
        entry per point (None keeps that point as it is).
    fit_input : str
        The input node whose voltage is fitted (``"Input"``: V₁ of the paper).
    centre : (2,) array_like
        Each line's calibration points are its point nearest ``centre`` ± ``step``, V: the
        reference point of a single-point task, the intersection of the lines (its solution) of a
        two-point task, so that every fit is exact next to the task's solution.
    step : float
        Distance along the line, V (> 0).

    Returns
    -------
    Task
        Same output, kind and name; ``inputs[fit_input]`` and ``label`` fitted.

    Raises
    ------
    TaskError
        Not a two-gate network, a differential or multi-output task, or ``fit_input`` not an
        input.
    ArgumentError
        A non-finite ``line`` or ``centre``, or ``step`` not a finite number > 0.
    ShapeError
        ``line`` or ``centre`` not of shape (2,) (a line per point for several points).
    ConvergenceError
        The 2x2 Newton solve for (V₁, L) of some point failed.

    Notes
    -----
    For `OhmicMOSFET` edges the 2+1 network's solution set is exactly a line, so the fit is exact
    everywhere; for `ThreeRegimeMOSFET` edges it is exact wherever both edges are ohmic (most of
    the gate box) and bends where an edge saturates or goes subthreshold (near G = 1 V).

    Examples
    --------
    >>> from clln_theory.model import OhmicMOSFET, star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network(device=OhmicMOSFET())
    >>> t, _ = experiment_tasks("exp1")
    >>> tc = calibrate_to_line(net, t, (2.7257, -3.3003))
    >>> round(tc.points[0].label, 4), round(tc.points[0].inputs["Input"], 4)
    (0.3232, 0.4186)
    """
    step, centre = _to_line_args(network, task, line, fit_input, step, centre)
    multi = task.is_differential or task.is_multi_output
    if network.n_gates != 2 or multi or fit_input not in task.input_nodes:
        raise TaskError(
            "calibrate_to_line needs a two-gate network, a single output and `fit_input` among "
            f"the inputs, but got {network.n_gates} gates, outputs {list(task.output_nodes)}, "
            f"inputs {sorted(task.input_nodes)} and fit_input {fit_input!r}."
        )
    if task.n_points == 1 and len(line) == 2:  # one (a, c), not a list of one
        lines = [line]
    else:
        lines = list(line) if isinstance(line, list | tuple | np.ndarray) else [line]
        if len(lines) != task.n_points:
            raise ShapeError(
                f"Argument `line` must hold one line (a, c) or None per point of task "
                f"{task.name!r} ({task.n_points}), but holds {len(lines)}."
            )
    checked = [
        None if ln is None else _line_pair(ln, f"line[{k}]" if task.n_points > 1 else "line")
        for k, ln in enumerate(lines)
    ]
    return fit_to_lines(network, task, checked, fit_input, centre, step)


def _line_pair(line: Any, name: str) -> tuple[float, float]:
    """A measured line ``(a, c)`` as two finite floats (ShapeError/ArgumentError naming it)."""
    a, c = vector(line, name, 2)
    return a, c


def calibrate_task(
    network: Network,
    task: Task,
    lines: Sequence[SolutionLine | None],
    *,
    gamma: float,
    eta: float = 1.0,
    fit_input: str | None = None,
    reference: Any = None,
    G_star: Any = None,
) -> CalibratedTask:
    """Calibrate a task to its measured lines, find its G* and its rate matrix M.

    Parameters
    ----------
    network : Network
        The linear theory's network (two gates when lines or an automatic G* are used).
    task : Task
        The nominal task (its points, output node and name).
    lines : sequence of SolutionLine or None
        Measured line of each point, or None (then the model's own line is used for G*).
    gamma : float
        ``r γ`` in Ω/s (`clln_theory.electrical.learning_rate_gamma` times ``r``).
    eta : float
        Clamping strength η; ``M = (r γ / η) ∂²C/∂G²`` at ``G*`` ((D2) of the paper at η = 1).
    fit_input : str, optional
        Input fitted to the measured lines (needed when a line is given).
    reference : (2,) array_like, optional
        Single-point tasks linearize at the point of their line nearest it, V.
    G_star : (n_gates,) array_like, optional
        Explicit linearization point, V (overrides the automatic one).

    Returns
    -------
    CalibratedTask

    Raises
    ------
    ShapeError
        ``lines`` does not hold one entry per point.
    ArgumentError
        A measured line without ``fit_input``, or a single-point task without ``reference`` or
        ``G_star``.
    TaskError
        No automatic G* (more than two points, or more than two gates, without ``G_star``), or a
        calibration failed (see `calibrate_point`).
    """
    lines, reference, G_star, output = _task_args(
        network, task, lines, fit_input, reference, G_star
    )
    check_task(task, network)  # nodes known, none floating: the engines solve without checks
    gamma = number(gamma, "gamma", low=0.0, low_open=True, high=MAX_RATE, unit="Ω/s")
    eta = check_eta(eta)
    return calibrated_task(network, task, lines, output, gamma, eta, fit_input, reference, G_star)
