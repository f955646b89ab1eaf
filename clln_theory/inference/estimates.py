"""The records of the bias inference (Appendix E): one measured projection of the bias,
:class:`Projection`, and the bias solved from n of them, :class:`BiasEstimate`.

Shared by the faces of `clln_theory.inference.drift` and its engine ``_drift``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import readonly
from .._repr import short_repr
from ..errors import ShapeError

__all__ = ["BiasEstimate", "Projection"]


@dataclass(frozen=True, slots=True)
class Projection:
    """One linear measurement of the bias: ``direction · B = value``.

    Attributes
    ----------
    direction : (n,) ndarray
        Unit vector in gate space.
    value : float
        The measured projection of the bias on ``direction``, V/s.
    source : str
        Where the measurement comes from (a file name, for reports).
    """

    direction: np.ndarray
    value: float
    source: str = ""

    def __post_init__(self):
        d = readonly(self.direction, float)
        if d.ndim != 1 or not np.isclose(np.linalg.norm(d), 1.0):
            raise ShapeError(
                f"Argument `direction` must be a unit vector of shape (n,), but is {d!r}."
            )
        object.__setattr__(self, "direction", d)
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True, slots=True)
class BiasEstimate:
    """The inferred bias and the projections it satisfies exactly.

    Attributes
    ----------
    B : (n,) ndarray
        The bias, V/s.
    projections : tuple of Projection
        The measurements it was solved from.
    condition : float
        Condition number of the system of measured directions.
    """

    __repr__ = short_repr

    B: np.ndarray
    projections: tuple[Projection, ...]
    condition: float

    def __post_init__(self):
        object.__setattr__(self, "B", readonly(self.B, float))
