"""The records of the bias inference (Appendix E): one measured projection of the bias,
:class:`Projection`, and the bias solved from n of them, :class:`BiasEstimate`.

Shared by the faces of `clln_theory.inference.drift` and its engine ``_drift``. Every record
validates on construction (a user may build one by hand); the checks here are plain (not
``@validator``): a face that builds a record from values it checked does not validate twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import quote
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError

__all__ = ["BiasEstimate", "Projection"]


def record_vector(value: Any, name: str) -> np.ndarray:
    """A record field as a read-only finite float vector (n,): ArgumentError or ShapeError
    naming it (not in ``__all__``: the records' shared check)."""
    try:
        if np.iscomplexobj(value):  # not cast: the imaginary part would be dropped
            raise TypeError
        a = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"Argument `{name}` must be a real vector, but is {quote(value)}."
        ) from None
    if a.ndim != 1 or a.size == 0:
        raise ShapeError(f"Argument `{name}` must have shape (n,), but has shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ArgumentError(f"Argument `{name}` must be finite, but contains NaN or inf.")
    a.flags.writeable = False
    return a


def record_number(value: Any, name: str, *, low: float | None = None, inf: bool = False) -> float:
    """A record field as a float, finite (or ``+inf`` with ``inf``) and ``>= low``:
    ArgumentError naming it (not in ``__all__``: the records' shared check)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ArgumentError(f"Argument `{name}` must be a real number, but is {quote(value)}.")
    x = float(value)
    ok = np.isfinite(x) or (inf and x == np.inf)
    if not ok or (low is not None and x < low):
        rel = "finite" if low is None else f"a number >= {low:g}"
        raise ArgumentError(f"Argument `{name}` must be {rel}, but is {x!r}.")
    return x


def unit_vector(value: Any, name: str) -> np.ndarray:
    """``record_vector`` of norm 1 (to ``np.isclose``): ShapeError naming it otherwise."""
    d = record_vector(value, name)
    if not np.isclose(np.linalg.norm(d), 1.0):
        raise ShapeError(f"Argument `{name}` must be a unit vector of shape (n,), but is {d!r}.")
    return d


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
        object.__setattr__(self, "direction", unit_vector(self.direction, "direction"))
        object.__setattr__(self, "value", record_number(self.value, "value"))
        if not isinstance(self.source, str):
            raise ArgumentError(f"Argument `source` must be a str, but is {quote(self.source)}.")


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
        object.__setattr__(self, "B", record_vector(self.B, "B"))
        if not isinstance(self.projections, tuple | list):
            raise ArgumentError(
                "Argument `projections` must be a sequence of Projection, but is "
                f"{quote(self.projections)}."
            )
        projections = tuple(self.projections)
        if not all(isinstance(p, Projection) for p in projections):
            raise ArgumentError("Argument `projections` must be a sequence of Projection.")
        object.__setattr__(self, "projections", projections)
        object.__setattr__(self, "condition", record_number(self.condition, "condition", low=0.0))
