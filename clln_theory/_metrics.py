"""Engine of the errors and scores of `clln_theory.metrics` (checked float arrays only).

The formulas (A1)-(A4) and (4), once; `clln_theory.metrics` (the face) checks shapes and values
and calls these, and the simulator and the theory call them with arrays they computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import NumericalRangeError

__all__ = ["cycle_span_of", "mean_error", "require_finite", "task_error_of"]


def require_finite(value: Any, quantity: str, args: str) -> None:
    """Raise `NumericalRangeError` naming ``quantity`` and the arguments ``args`` if not finite."""
    if not np.all(np.isfinite(value)):
        raise NumericalRangeError(
            f"The {quantity} of arguments {args} overflows float64 (values of magnitude "
            "~1e154 or more); check their units (volts)."
        )


def task_error_of(
    O: np.ndarray, labels: np.ndarray, classification: bool, args: str = "`O` and `labels`"
) -> Any:
    """Task error (A1), or (A2) for a classification task, of float arrays of matching shapes.

    ``labels`` (N,) or (N, n_outputs); ``O`` ends in the shape of ``labels``. Returns a float for
    one sample, else an array over the leading axes, V².
    """
    with np.errstate(over="ignore", invalid="ignore"):
        delta = labels - O
        sq = delta**2
    if classification:
        sq = np.where(labels * delta > 0, sq, 0.0)  # (A2): Theta(L delta), Theta(0) = 0
    if labels.ndim == 2:
        sq = sq.sum(axis=-1)  # the targets of one point add
    E = sq.mean(axis=-1)  # (A1)
    require_finite(E, "task error", args)
    return float(E) if np.ndim(E) == 0 else E


def mean_error(a: Any, b: Any) -> Any:
    """``(a + b) / 2`` of two task errors (V², >= 0), as ``a/2 + b/2`` (no overflow of a + b)."""
    E = 0.5 * a + 0.5 * b
    return float(E) if np.ndim(E) == 0 else E


def cycle_span_of(a: np.ndarray, b: np.ndarray) -> Any:
    """``||a - b||`` over the last axis (4) of float arrays of the same shape, V."""
    with np.errstate(over="ignore", invalid="ignore"):
        diff = a - b
        require_finite(diff, "difference G_half - G_full", "`G_half` and `G_full`")
        D = np.linalg.norm(diff, axis=-1)
        if not np.all(np.isfinite(D)):  # the squares overflowed, not the norm: rescale
            scale = np.max(np.abs(diff), axis=-1, keepdims=True)
            D = scale[..., 0] * np.linalg.norm(diff / np.where(scale > 0, scale, 1.0), axis=-1)
    require_finite(D, "cycle span", "`G_half` and `G_full`")
    return float(D) if np.ndim(D) == 0 else D
