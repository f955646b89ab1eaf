"""Edges of a `Network`: one oriented edge, fixed or learning, and the ranges of its parameters.

`Edge` is re-exported by `clln_theory.model.network` (and the room); the constants bound what a
builder accepts, so that a network never holds a conductance its solvers cannot resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import number, quote
from ..errors import ArgumentError, NetworkError

__all__ = [
    "CONDUCTANCE_RANGE",
    "MAX_THRESHOLD",
    "SLOPE_RANGE",
    "Edge",
    "edge_number",
]

#: Range of K (S) and of S (A/V²): against the paper's ~1e-3 S edges a wider ratio makes the
#: Laplacian lose every float64 digit (V = 0 or NaN without warning). |V_T| <= 1 kV.
CONDUCTANCE_RANGE = SLOPE_RANGE = (1e-15, 1e6)
MAX_THRESHOLD = 1e3


def edge_number(edge: Any, value: Any, what: str, low: float, high: float, unit: str) -> float:
    """A finite real edge parameter in [low, high]; a NetworkError naming the edge otherwise."""
    try:
        return number(value, what, low=low, high=high, unit=unit)
    except ArgumentError as exc:
        want = f"{what} > 0 (at least {low:g})" if low > 0 else f"{what} >= {low:g}"
        raise NetworkError(f"Edge {edge!r} needs {want}, at most {high:g}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Edge:
    """One oriented edge ``a -> b``.

    Parameters
    ----------
    name : str
        Unique edge name (default in builders: ``"a-b"``).
    a, b : str
        End nodes; the edge voltage drop is ``V[a] - V[b]``.
    learning : bool
        True for a gate-controlled learning edge, False for a fixed conductance.
    K : float, optional
        Conductance of a fixed edge, siemens (> 0). Must be None for a learning edge.
    S, V_T : float, optional
        Device parameters of a learning edge (A/V², V). Must be None for a fixed edge.
    """

    name: str
    a: str
    b: str
    learning: bool
    K: float | None = None
    S: float | None = None
    V_T: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise NetworkError(f"Edge name must be a non-empty string, but is {self.name!r}.")
        if not isinstance(self.learning, bool | np.bool_) and self.learning not in (0, 1):
            raise NetworkError(
                f"Argument `learning` of edge {self.name!r} must be True or False, but is "
                f"{quote(self.learning)}."
            )
        object.__setattr__(self, "learning", bool(self.learning))
        if self.a == self.b:
            raise NetworkError(
                f"Edge {self.name!r} is a self-loop on node {self.a!r}; an edge must join two "
                "different nodes."
            )
        if self.learning:
            if self.K is not None:
                raise NetworkError(
                    f"Learning edge {self.name!r} must not have a fixed conductance K; give S and "
                    "V_T, or make it a fixed edge."
                )
            if self.S is None or self.V_T is None:
                raise NetworkError(f"Learning edge {self.name!r} needs both S and V_T.")
            S = edge_number(self.name, self.S, "S", *SLOPE_RANGE, "A/V^2")
            V_T = edge_number(self.name, self.V_T, "V_T", -MAX_THRESHOLD, MAX_THRESHOLD, "V")
            object.__setattr__(self, "S", S)
            object.__setattr__(self, "V_T", V_T)
        else:
            if self.K is None:
                raise NetworkError(f"Fixed edge {self.name!r} needs a conductance K (siemens).")
            if self.S is not None or self.V_T is not None:
                raise NetworkError(
                    f"Fixed edge {self.name!r} must not have S or V_T; make it a learning edge."
                )
            K = edge_number(self.name, self.K, "K", *CONDUCTANCE_RANGE, "S")
            object.__setattr__(self, "K", K)
