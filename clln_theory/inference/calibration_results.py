"""The results of the calibrations (`clln_theory.inference.calibration`): measured solution
lines, calibrated points and tasks.

Classes only, so that the calibration's engine (`clln_theory.inference._calibrate`) and the
reproduction pipeline can build them; the functions that calibrate are in
`clln_theory.inference.calibration`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import number, real_array, vector
from .._repr import short_repr
from ..electrical import free_state
from ..errors import SingularSystemError
from ..metrics import task_error
from ..model import DataPoint, Network, Task
from ..theory import LinearTask

__all__ = ["CalibratedPoint", "CalibratedTask", "OutputFn", "SolutionLine"]

#: The free output of a network as ``(G, point) -> O``, vectorized over ``G`` (..., n_gates).
OutputFn = Callable[[np.ndarray, DataPoint], np.ndarray]


@dataclass(frozen=True, slots=True)
class SolutionLine:
    """A line ``G₂ = a G₁ + c`` in the plane of two gates (V).

    For the paper's network ``G = (G₋, G₊)``, so this is the published ``G₊ = a G₋ + c``.

    Parameters
    ----------
    a : float
        Slope (dimensionless).
    c : float
        Intercept, V.

    Raises
    ------
    ArgumentError
        A slope or intercept that is not a finite real number.
    """

    __repr__ = short_repr

    a: float
    c: float

    def __post_init__(self):
        object.__setattr__(self, "a", number(self.a, "a"))
        object.__setattr__(self, "c", number(self.c, "c", unit="V"))

    @property
    def direction(self) -> np.ndarray:
        """Unit vector along the line, with a positive G₁ component."""
        return np.array([1.0, self.a]) / np.hypot(1.0, self.a)

    @property
    def normal(self) -> np.ndarray:
        """Unit normal ``(−a, 1)/|·|``."""
        return np.array([-self.a, 1.0]) / np.hypot(1.0, self.a)

    def at(self, G1: Any) -> np.ndarray:
        """Points of the line at the given G₁ values, shape (..., 2).

        Parameters
        ----------
        G1 : float or array_like
            First gate, V (finite; ArgumentError otherwise).
        """
        G1 = real_array(G1, "G1")
        return np.stack([G1, self.a * G1 + self.c], axis=-1)

    def nearest(self, point: Any) -> np.ndarray:
        """The point of the line nearest ``point`` (orthogonal projection).

        Parameters
        ----------
        point : (2,) array_like
            A gate vector, V.
        """
        p = vector(point, "point", 2)
        p0 = np.array([0.0, self.c])
        d = self.direction
        return p0 + d * (d @ (p - p0))

    def intersect(self, other: SolutionLine) -> np.ndarray:
        """The intersection with another line.

        Parameters
        ----------
        other : SolutionLine

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

    def distance(self, points: Any) -> np.ndarray:
        """Signed distance of points from the line (positive above it), V.

        Parameters
        ----------
        points : (..., 2) array_like
            Gate vectors, V.
        """
        p = np.asarray(points, dtype=float)
        return (p[..., 1] - self.a * p[..., 0] - self.c) / np.hypot(1.0, self.a)


@dataclass(frozen=True, slots=True)
class CalibratedPoint:
    """A data point whose effective input and label reproduce a measured line.

    Attributes
    ----------
    point : DataPoint
        The effective point: nominal inputs with ``fit_input`` replaced, fitted label.
    nominal : DataPoint
        The point as specified.
    line : SolutionLine
        The measured line it was fitted to.
    fit_input : str
        The input node whose voltage was fitted.
    residual : float
        The largest |O_F − L| found along the line, V.
    """

    __repr__ = short_repr

    point: DataPoint
    nominal: DataPoint
    line: SolutionLine
    fit_input: str
    residual: float


@dataclass(frozen=True, slots=True)
class CalibratedTask:
    """One task ready for the linear theory.

    Attributes
    ----------
    name : str
        The task's name.
    task : Task
        The effective (fitted) points.
    nominal : tuple of DataPoint
        The points as specified.
    lines : tuple of SolutionLine
        The solution line of each point: measured, or the model's own (`model_solution_line`);
        None only where an explicit ``G_star`` made the line unnecessary.
    calibrations : tuple of CalibratedPoint or None
        The fits (None for points without a measured line).
    G_star : (n_gates,) ndarray
        The linearization point, V.
    linear : LinearTask
        ``M`` in 1/s at ``G_star``.
    """

    __repr__ = short_repr

    name: str
    task: Task
    nominal: tuple[DataPoint, ...]
    lines: tuple[SolutionLine | None, ...]
    calibrations: tuple[CalibratedPoint | None, ...]
    G_star: np.ndarray
    linear: LinearTask

    def errors(self, network: Network, G: Any) -> np.ndarray:
        """Task error E_μ(G) of (A1) of the fitted points at gates ``G``, V².

        Parameters
        ----------
        network : Network
            The linear network the task was calibrated on.
        G : (..., n_gates) array_like
            Gate vectors, V.

        Returns
        -------
        (...) ndarray
            One error per gate vector (`clln_theory.metrics.task_error`).
        """
        G = np.asarray(G, dtype=float)
        flat = G.reshape(-1, G.shape[-1])
        labels = self.task.labels
        E = [task_error(free_state(network, g, self.task).O, labels) for g in flat]
        return np.array(E).reshape(G.shape[:-1])
