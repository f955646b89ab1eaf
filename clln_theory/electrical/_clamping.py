"""Engine of the Coupled Learning nudge and the classification hinge (checked values only).

The rule is stated once in `clln_theory.electrical.clamping` (the face, which checks ``eta``,
``clamping`` and ``L0``); here are its two computational forms, which validate nothing:
`nudge_points` on arrays of points (the theory) and `point_rule`, a plain-float function of one
point (the simulator's inner loop, one call per learning step). ``tests/electrical/test_rule.py``
checks that they agree point by point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "hinge",
    "nudge_points",
    "output_split",
    "past_label",
    "point_rule",
    "standard_amplitudes",
]


def past_label(O_F: Any, L: Any) -> Any:
    """The hinge condition of Appendix A: the output is beyond its label in the label's direction.

    ``(O_F − L) L > 0``. The same expression serves plain floats (the simulator) and arrays (the
    theory); it only switches a point off for a classification task (see `nudge_points`).

    Examples
    --------
    >>> past_label(0.5, 0.3), past_label(0.2, 0.3), past_label(-0.5, -0.3)
    (True, False, True)
    """
    return (O_F - L) * L > 0.0


def hinge(O_F: np.ndarray, labels: np.ndarray, classification: bool) -> np.ndarray:
    """Boolean mask of the points the hinge switches off (none for a regression task)."""
    if not classification:
        return np.zeros(np.shape(O_F), dtype=bool)
    return np.asarray(past_label(O_F, labels), dtype=bool)


def standard_amplitudes(O_F: Any, labels: Any, eta: float, classification: bool) -> np.ndarray:
    """Per-point nudge amplitude of standard clamping: η, or 0 where the hinge switches it off.

    ``O_C − O_F = eta_p δ`` (1), with a checked ``eta`` in (0, 1].

    Examples
    --------
    >>> standard_amplitudes([0.5, 0.1], [0.3, 0.3], 0.5, True).tolist()
    [0.0, 0.5]
    """
    O_F = np.asarray(O_F, dtype=float)
    labels = np.asarray(labels, dtype=float)
    return np.where(hinge(O_F, labels, classification), 0.0, eta)


def nudge_points(
    O_F: Any,
    labels: Any,
    eta: float,
    clamping: str,
    L0: float | None,
    classification: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clamped outputs, step weights and hinge mask of every point (checked options).

    Returns ``(O_C, weight, active)``: ``O_C = O_F + η δ`` (1) with weight 1 (standard), or
    ``O_F + η (L₀ sign δ − O_F)`` (F5) with weight ``|δ|`` (overclamping; a point with ``δ = 0``
    or switched off by the hinge keeps ``O_F`` and weight 0).

    Examples
    --------
    >>> O_C, w, on = nudge_points([0.1, 0.5], [0.3, 0.3], 0.5, "standard", None, True)
    >>> O_C.tolist(), w.tolist(), on.tolist()
    ([0.2, 0.5], [1.0, 1.0], [True, False])
    >>> O_C, w, _ = nudge_points([0.1], [0.3], 0.5, "overclamp", 0.4, False)
    >>> O_C.round(12).tolist(), w.round(12).tolist()
    ([0.25], [0.2])
    """
    O_F = np.asarray(O_F, dtype=float)
    labels = np.asarray(labels, dtype=float)
    delta = labels - O_F
    active = ~hinge(O_F, labels, classification)
    if clamping == "standard":
        O_C = O_F + np.where(active, eta, 0.0) * delta  # (1), (F1)
        return O_C, np.ones(O_F.shape), active
    assert L0 is not None  # checked by the face: overclamping has an L0
    on = active & (delta != 0.0)
    O_C = np.where(on, O_F + eta * (L0 * np.sign(delta) - O_F), O_F)  # (F5)
    return O_C, np.where(on, np.abs(delta), 0.0), active  # t_h = r0 |delta|


def point_rule(
    eta: float, clamping: str, L0: float | None, classification: bool
) -> Callable[[float, float], tuple[float, float]]:
    """The rule for one point as a plain-float function ``(O_F, L) -> (shift, weight)``.

    Computes in ``math`` (no numpy) and gives the same numbers as `nudge_points`, point by
    point: the clamped output is ``O_F + shift`` (V) and the step weight ``t_h / t_0`` is
    ``weight`` (0: no step).

    Examples
    --------
    >>> f = point_rule(0.25, "overclamp", 0.4, False)
    >>> shift, w = f(0.1, 0.3)
    >>> round(shift, 12), round(w, 12)
    (0.075, 0.2)
    """
    copysign = math.copysign

    if clamping == "standard":

        def standard(O_F: float, L: float) -> tuple[float, float]:
            if classification and past_label(O_F, L):  # the hinge of Appendix A
                return 0.0, 1.0
            return eta * (L - O_F), 1.0  # (1), (F1)

        return standard

    assert L0 is not None  # checked by the face: overclamping has an L0
    L0_ = L0

    def overclamp(O_F: float, L: float) -> tuple[float, float]:
        delta = L - O_F
        if delta == 0.0 or (classification and past_label(O_F, L)):
            return 0.0, 0.0
        return eta * (copysign(L0_, delta) - O_F), abs(delta)  # (F5), t_h = r0 |delta|

    return overclamp


def output_split(n_outputs: int) -> np.ndarray:
    """How a nudge ``Δ`` of the output is shared by the output node(s).

    ``[1]`` for one output node, ``[1/2, −1/2]`` for a differential pair ``(plus, minus)``:
    ``V₊`` moves by ``+Δ/2`` and ``V₋`` by ``−Δ/2``.

    Examples
    --------
    >>> output_split(2).tolist()
    [0.5, -0.5]
    """
    return np.array([1.0]) if n_outputs == 1 else np.array([0.5, -0.5])
