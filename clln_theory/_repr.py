"""Short reprs of result objects: one or a few lines, whatever the size of their arrays.

A dataclass's generated repr prints every array in full (an `Orbit` at 200 periods is hundreds of
lines). Result classes set ``__repr__ = short_repr``: the class name and each field as a scalar
(``span=0.0123``), a short array's values (``B=[2.97, 4.41]``), a longer array's shape and range
(``D2_sim=(12,) float in [1.2e-06, 3.4e-03]``), a sequence's length, or a nested object's class
name; the whole is cut at `MAX_CHARS` characters. `dataclasses.fields` and the attributes still
give everything.

This module imports nothing of the package: every room may use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["MAX_CHARS", "short_repr", "summary"]

#: Longest repr (characters): a few lines of a terminal.
MAX_CHARS = 360
#: Arrays with at most this many elements are printed in full.
_FULL = 4


def summary(value: Any) -> str:
    """A short text for one field's value (see the module's docstring)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, complex | np.complexfloating):
        return f"{complex(value):.3g}"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, tuple | list):
        if len(value) <= _FULL and all(
            isinstance(v, int | float | str | bool | np.number) for v in value
        ):
            return (
                "(" + ", ".join(summary(v) for v in value) + ("," if len(value) == 1 else "") + ")"
            )
        kinds = sorted({type(v).__name__ for v in value})
        return f"<{len(value)} x {'|'.join(kinds)}>" if value else "()"
    if isinstance(value, dict):
        return f"<dict of {len(value)}>"
    return f"<{type(value).__name__}>"


def _array(a: np.ndarray) -> str:
    if a.ndim == 0:
        return summary(a.item())
    if a.size <= _FULL and a.ndim == 1:
        return "[" + ", ".join(summary(v) for v in a.tolist()) + "]"
    text = f"{a.shape} {a.dtype.kind if a.dtype.kind not in 'fcbiu' else a.dtype.name}"
    if a.size and np.issubdtype(a.dtype, np.floating):
        finite = a[np.isfinite(a)]
        if finite.size:
            text += f" in [{finite.min():.3g}, {finite.max():.3g}]"
        if finite.size < a.size:
            text += f", {a.size - finite.size} NaN/inf"
    elif a.size and a.dtype.kind == "b":
        text += f", {int(np.count_nonzero(a))} True"
    return text


def _safe_summary(value: Any) -> str:
    """`summary`, or the value's type name when summarizing it fails (a repr never raises)."""
    try:
        return summary(value)
    except Exception:  # a field holding anything at all (a hostile object) still prints
        return f"<{type(value).__name__}>"


def short_repr(self: Any) -> str:
    """``ClassName(field=summary, ...)`` of a dataclass instance, cut at `MAX_CHARS`; never
    raises, whatever the fields hold."""
    parts = []
    for f in dataclasses.fields(self):
        if not f.repr:
            continue
        parts.append(f"{f.name}={_safe_summary(getattr(self, f.name, None))}")
    text = f"{type(self).__name__}({', '.join(parts)})"
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 4].rsplit(", ", 1)[0] + ", ...)"
    return text
