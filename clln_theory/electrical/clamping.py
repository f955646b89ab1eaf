"""The nudge of Coupled Learning and the classification hinge: the one definition of both.

Every part of the package that clamps an output reads the rule here: the force of the theory
(`clln_theory.electrical.rule`, `clln_theory.electrical.kirchhoff.contrastive_function`, the
Jacobians of `clln_theory.theory.jacobian`, the exact model of
`clln_theory.electrical.symbolic`) and the steps of the nonlinear simulator
(`clln_theory.simulator`). With the error ``δ = L − O_F`` of a point:

- standard clamping, (1)/(F1) of the paper: ``O_C = O_F + η δ``, step weight 1 (hold time
  ``t_h``);
- overclamping, (F5): ``O_C = O_F + η (L₀ sign δ − O_F)``, step weight ``|δ|`` (hold time
  ``t_h = r₀ |δ|``). The main text's (8) drops the ``−O_F`` term; (F5) is implemented. A point
  with ``δ = 0`` has no direction to be pushed in: it is not nudged and its weight is 0;
- the classification hinge (Appendix A): a point of a classification task whose free output is
  beyond its label in the label's direction, ``(O_F − L) L > 0``, is switched off: not nudged
  (``η = 0``) under standard clamping, skipped (``t_h = 0``) under overclamping;
- a differential output ``O = V₊ − V₋`` shares the nudge ``Δ = O_C − O_F`` symmetrically:
  ``V₊`` moves by ``+Δ/2`` and ``V₋`` by ``−Δ/2`` (`output_split`).

Two forms of the same rule: `nudge` works on arrays of points (the theory), `point_nudge` builds
a plain-float function of one point (the simulator's inner loop, one call per learning step).
Both validate their options once and call the engine `clln_theory.electrical._clamping`;
``tests/electrical/test_rule.py`` checks that they agree point by point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .._checks import choice, number, positive, quote, real_array, validator
from ..errors import ArgumentError, ShapeError
from ._clamping import nudge_points, point_rule

__all__ = [
    "CLAMPINGS",
    "Clamping",
    "check_clamping",
    "check_eta",
    "nudge",
    "point_nudge",
]

#: The clamping modes: standard clamping (1) and overclamping (F5).
Clamping = Literal["standard", "overclamp"]
#: The values of `Clamping`, for validation: the one registry of clamping modes.
CLAMPINGS: tuple[str, ...] = ("standard", "overclamp")


@validator
def check_eta(eta: Any, name: str = "eta") -> float:
    """The nudge amplitude η as a float in (0, 1].

    Parameters
    ----------
    eta : float
        Nudge amplitude of (1) / (F5).
    name : str
        The argument's name in the caller, for the message (default ``"eta"``).

    Returns
    -------
    float

    Raises
    ------
    ArgumentError
        ``eta`` is not a real number in (0, 1].

    Examples
    --------
    >>> check_eta(1)
    1.0
    """
    return number(eta, name, low=0.0, high=1.0, low_open=True)


@validator
def check_clamping(clamping: Any, L0: Any, name: str = "clamping") -> tuple[Clamping, float | None]:
    """A valid ``(clamping, L0)`` pair: ``L0`` (V, > 0) is required by overclamping.

    Parameters
    ----------
    clamping : {"standard", "overclamp"}
        The clamping mode.
    L0 : float or None
        Overclamping target magnitude, V (> 0): required for overclamping, optional for
        standard clamping (checked when given).
    name : str
        The argument's name in the caller, for the message (default ``"clamping"``).

    Returns
    -------
    clamping : {"standard", "overclamp"}
    L0 : float or None

    Raises
    ------
    ArgumentError
        An unknown clamping mode, or an ``L0`` that is not a finite number > 0 (missing for
        overclamping).

    Examples
    --------
    >>> check_clamping("overclamp", 0.4351)
    ('overclamp', 0.4351)
    """
    mode: Clamping = "overclamp" if choice(clamping, name, CLAMPINGS) == "overclamp" else "standard"
    if L0 is None and mode == "standard":
        return mode, None
    return mode, positive(L0, "L0", unit="V")


def nudge(
    O_F: Any,
    labels: Any,
    *,
    eta: float = 1.0,
    clamping: Clamping = "standard",
    L0: float | None = None,
    classification: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clamped outputs and step weights of every point (the array form of the rule).

    Parameters
    ----------
    O_F : (n_points,) array_like
        Free outputs, V.
    labels : (n_points,) array_like
        Labels, V.
    eta : float in (0, 1]
        Nudge amplitude; default 1.
    clamping : {"standard", "overclamp"}
        Standard clamping (1) or overclamping (F5).
    L0 : float, optional
        Overclamping target magnitude, V (> 0); required for ``"overclamp"``.
    classification : bool
        True for a classification task (the hinge of Appendix A applies).

    Returns
    -------
    O_C : (n_points,) ndarray
        Clamped outputs, V.
    weight : (n_points,) ndarray
        Relative step time ``t_h / t_0``: 1 (standard), ``|δ|`` (overclamping), 0 for a point
        switched off by the hinge under overclamping.
    active : (n_points,) bool ndarray
        False where the hinge switched the point off.

    Raises
    ------
    ShapeError
        ``O_F`` or ``labels`` not real, finite (n_points,) arrays of one shape.
    ArgumentError
        ``eta`` outside (0, 1], an unknown ``clamping``, a missing/non-positive ``L0``, or a
        ``classification`` that is not a bool.

    Examples
    --------
    >>> O_C, w, on = nudge([0.1, 0.5], [0.3, 0.3], eta=0.5, classification=True)
    >>> O_C.tolist(), w.tolist(), on.tolist()
    ([0.2, 0.5], [1.0, 1.0], [True, False])
    >>> O_C, w, _ = nudge([0.1], [0.3], eta=0.5, clamping="overclamp", L0=0.4)
    >>> O_C.round(12).tolist(), w.round(12).tolist()
    ([0.25], [0.2])
    """
    O = real_array(O_F, "O_F", error=ShapeError)
    L = real_array(labels, "labels", error=ShapeError)
    if O.shape != L.shape or O.ndim != 1:
        raise ShapeError(
            f"Arguments `O_F` and `labels` must be (n_points,) arrays of one shape, but have "
            f"shapes {O.shape} and {L.shape}."
        )
    eta = check_eta(eta)
    clamping, L0 = check_clamping(clamping, L0)
    if not isinstance(classification, bool | np.bool_):
        raise ArgumentError(
            f"Argument `classification` must be True or False, but is {quote(classification)}."
        )
    return nudge_points(O, L, eta, clamping, L0, bool(classification))


def point_nudge(
    *,
    eta: float,
    clamping: Clamping = "standard",
    L0: float | None = None,
    classification: bool = False,
) -> Callable[[float, float], tuple[float, float]]:
    """The rule for one point as a plain-float function ``(O_F, L) -> (shift, weight)``.

    The form the simulator calls once per learning step; it computes in ``math`` (no numpy) and
    gives the same numbers as `nudge`, point by point.

    Parameters
    ----------
    eta : float in (0, 1]
        Nudge amplitude; default 1.
    clamping : {"standard", "overclamp"}
        Standard clamping (1) or overclamping (F5).
    L0 : float, optional
        Overclamping target magnitude, V (> 0); required for ``"overclamp"``.
    classification : bool
        True for a classification task (the hinge of Appendix A applies).

    Returns
    -------
    callable
        ``f(O_F, L)`` returning ``(shift, weight)``: the clamped output is ``O_F + shift`` (V)
        and the step weight ``t_h / t_0`` is ``weight`` (0: no step).

    Raises
    ------
    ArgumentError
        ``eta`` outside (0, 1], an unknown ``clamping``, or a missing/non-positive ``L0``.

    Examples
    --------
    >>> f = point_nudge(eta=0.25, clamping="overclamp", L0=0.4)
    >>> shift, w = f(0.1, 0.3)
    >>> round(shift, 12), round(w, 12)
    (0.075, 0.2)
    """
    eta = check_eta(eta)
    clamping, L0 = check_clamping(clamping, L0)
    return point_rule(eta, clamping, L0, classification)
