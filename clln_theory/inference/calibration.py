"""Calibrating the linear theory to measured solution lines (DESIGN.md §4, App. E).

The real edges are nonlinear, so the linear model ``K = S (G − V_T)`` with the nominal input and
label puts a single-point task's solution line {O_F(G) = L} in slightly the wrong place. The
paper's pipeline fits each single-point task to its **measured** line ``G₂ = a G₁ + c`` instead:
it finds the effective input voltage ``V₁`` and label ``L`` for which the linear model's solution
line is exactly the measured one, then linearizes at the point of that line nearest a reference
point (a two-point task: at the intersection of its two lines).

Everything here works for any network with two gates whose output is given as a function
``output(G, point) -> O``, vectorized over ``G`` of shape (..., 2) (for the package's networks:
:func:`clln_theory.experiments.reproduction.free_output`). For a linear network the free output is affine in
each imposed input voltage (superposition), which turns the fit into two linear equations.

Examples
--------
>>> line = SolutionLine(2.0, -1.0)
>>> np.round(line.nearest([3.0, 3.0]), 12)
array([2.2, 3.4])
>>> np.round(line.intersect(SolutionLine(0.5, 2.0)), 12)
array([2., 3.])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..errors import ConvergenceError, DeviceError, ShapeError, SingularSystemError, TaskError
from ..model.tasks import DataPoint

__all__ = [
    "DEFAULT_LINE_TOL",
    "CalibratedPoint",
    "SolutionLine",
    "calibrate_point",
    "model_solution_line",
]

OutputFn = Callable[[np.ndarray, DataPoint], np.ndarray]

DEFAULT_LINE_TOL = 1e-9
"""Largest accepted |O_F − L| (V) along a fitted line. The linear 2+1 network gives ~1e-16 V (its
solution set is exactly a line); 1e-9 V leaves room for rounding in larger networks while being
six orders below the millivolt errors the experiments resolve. A network whose solution set is
curved fails this check, with the residual in the message."""

_FIT_STEP = 1.0  # V: the two calibration points sit ±1 V along the line around the centre
_CHECK_HALF_SPAN = 2.0  # V: the residual is checked over ±2 V along the line (the gate box size)
_CHECK_SAMPLES = 9


@dataclass(frozen=True, slots=True)
class SolutionLine:
    """A line ``G₂ = a G₁ + c`` in the plane of two gates (V).

    For the paper's network ``G = (G₋, G₊)``, so this is the data README's ``G₊ = a G₋ + c``.
    """

    a: float
    c: float

    def __post_init__(self):
        a, c = float(self.a), float(self.c)
        if not (np.isfinite(a) and np.isfinite(c)):
            raise ShapeError(f"A solution line needs finite slope and intercept, got ({a}, {c}).")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "c", c)

    @property
    def direction(self) -> np.ndarray:
        """Unit vector along the line, with a positive G₁ component."""
        return np.array([1.0, self.a]) / np.hypot(1.0, self.a)

    @property
    def normal(self) -> np.ndarray:
        """Unit normal ``(−a, 1)/|·|``."""
        return np.array([-self.a, 1.0]) / np.hypot(1.0, self.a)

    def at(self, G1) -> np.ndarray:
        """Points of the line at the given G₁ values, shape (..., 2)."""
        G1 = np.asarray(G1, dtype=float)
        return np.stack([G1, self.a * G1 + self.c], axis=-1)

    def nearest(self, point) -> np.ndarray:
        """The point of the line nearest ``point`` (2,) (orthogonal projection)."""
        p = np.asarray(point, dtype=float)
        if p.shape != (2,):
            raise ShapeError(f"Argument `point` must have shape (2,), but has shape {p.shape}.")
        p0 = np.array([0.0, self.c])
        d = self.direction
        return p0 + d * (d @ (p - p0))

    def intersect(self, other: SolutionLine) -> np.ndarray:
        """The intersection with another line.

        Raises
        ------
        SingularSystemError
            If the lines are parallel (relative slope difference below 1e-12).
        """
        da = self.a - other.a
        if abs(da) <= 1e-12 * max(1.0, abs(self.a), abs(other.a)):
            raise SingularSystemError(
                f"Lines with slopes {self.a} and {other.a} are parallel and have no single "
                "intersection; give the linearization point explicitly."
            )
        G1 = (other.c - self.c) / da
        return np.array([G1, self.a * G1 + self.c])

    def distance(self, points) -> np.ndarray:
        """Signed distance of points (..., 2) from the line (positive above it)."""
        p = np.asarray(points, dtype=float)
        return (p[..., 1] - self.a * p[..., 0] - self.c) / np.hypot(1.0, self.a)


@dataclass(frozen=True, slots=True)
class CalibratedPoint:
    """A data point whose effective input and label reproduce a measured line.

    ``point`` is the effective DataPoint (nominal inputs with ``fit_input`` replaced, fitted
    label); ``nominal`` the point as specified; ``residual`` the largest |O_F − L| (V) found
    along the line.
    """

    point: DataPoint
    nominal: DataPoint
    line: SolutionLine
    fit_input: str
    residual: float


def _check_tol(tol) -> None:
    if not (np.isscalar(tol) and np.isfinite(tol) and tol > 0):
        raise TaskError(f"Argument `tol` must be a finite number > 0 (volts), but is {tol!r}.")


def _with_input(point: DataPoint, node: str, value: float, label: float | None = None):
    inputs = dict(point.inputs)
    inputs[node] = float(value)
    return DataPoint(inputs, point.label if label is None else float(label))


def _check_residual(output: OutputFn, point: DataPoint, line: SolutionLine, centre, tol):
    s = np.linspace(-_CHECK_HALF_SPAN, _CHECK_HALF_SPAN, _CHECK_SAMPLES)
    res = []
    for G in centre + s[:, None] * line.direction:
        try:
            res.append(float(np.asarray(output(G, point))) - point.label)
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


def calibrate_point(
    output: OutputFn,
    point: DataPoint,
    line: SolutionLine,
    *,
    fit_input: str,
    centre=None,
    tol: float = DEFAULT_LINE_TOL,
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
        Largest accepted |O_F − L| along the line, V (default ``DEFAULT_LINE_TOL``).

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
    SingularSystemError
        If varying ``fit_input`` cannot tilt the model's solution set onto the line (``w₁ = w₂``).
    """
    _check_tol(tol)
    if fit_input not in point.inputs:
        raise TaskError(
            f"The fitted input {fit_input!r} is not an input of the point; its inputs are "
            f"{sorted(point.inputs)}."
        )
    centre = line.at(3.0) if centre is None else line.nearest(centre)
    P = centre + np.array([-_FIT_STEP, _FIT_STEP])[:, None] * line.direction  # (2, 2)
    v0 = point.inputs[fit_input]
    O0 = np.asarray(output(P, _with_input(point, fit_input, v0)), dtype=float)
    O1 = np.asarray(output(P, _with_input(point, fit_input, v0 + 1.0)), dtype=float)
    w = O1 - O0  # dO/dV₁ at P₁, P₂ (exact: O is affine in V₁)
    u = O0 - w * v0
    if abs(w[0] - w[1]) <= 1e-12 * max(abs(w[0]), abs(w[1]), 1e-300):
        raise SingularSystemError(
            f"Varying input {fit_input!r} moves the output equally at two points of the line, so "
            "no effective input reproduces its slope; fit another input or check the line."
        )
    V1 = (u[1] - u[0]) / (w[0] - w[1])
    L = w[0] * V1 + u[0]
    fitted = _with_input(point, fit_input, V1, L)
    residual = _check_residual(output, fitted, line, centre, tol)
    return CalibratedPoint(fitted, point, line, fit_input, residual)


def model_solution_line(
    output: OutputFn,
    point: DataPoint,
    *,
    G1=(2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
    bracket=(1.0, 100.0),
    tol: float = DEFAULT_LINE_TOL,
) -> SolutionLine:
    """The model's own solution line {O_F(G) = L} of a point (no measurement).

    Finds the G₂ with ``O_F = L`` (Brent's method within ``bracket``) at the first two values of
    ``G1`` where one exists, joins them, and checks the residual along the line as
    :func:`calibrate_point` does.

    Raises
    ------
    ConvergenceError
        If fewer than two of the ``G1`` values have a solution G₂ in ``bracket``.
    TaskError
        If the solution set is not a line (residual above ``tol``).
    """
    _check_tol(tol)
    lo, hi = (float(v) for v in bracket)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise TaskError(
            f"Argument `bracket` must be finite (lo, hi) with lo < hi (volts), but is {bracket!r}."
        )
    pts = []
    for g1 in G1:

        def f(g2, g1=g1):
            return float(np.asarray(output(np.array([g1, g2]), point))) - point.label

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
            f"O_F = {point.label:.6g} V has a solution G2 in {tuple(bracket)} for fewer than two "
            f"of G1 = {list(G1)} V; the label may be out of reach of the network there. Give the "
            "linearization point explicitly."
        )
    (x1, y1), (x2, y2) = pts
    a = (y2 - y1) / (x2 - x1)
    line = SolutionLine(a, y1 - a * x1)
    _check_residual(output, point, line, line.at(0.5 * (x1 + x2)), tol)
    return line
