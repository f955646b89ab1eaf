"""The one set of argument validators of clln_theory.

Every public entry point reads its arguments through these functions, so that the same mistake
gets the same error class and the same message wherever it is made. Messages are one sentence,
in one style::

    Argument `tau` must be a finite number > 0 (s), but is -1.0.
    Argument `G0` must have shape (2,), but has shape (3,).

Each validator takes the argument's name (as the user spelled it) and, where a caller owns a
more specific error class (a ``TaskError`` for a task, a ``ConfigError`` for a TOML key), an
``error`` class to raise instead of the default. Nothing here imports any other part of the
package but :mod:`clln_theory.errors`.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from .errors import ArgumentError, NumericalRangeError, ShapeError

__all__ = [
    "check_record",
    "choice",
    "construction",
    "count",
    "count_validations",
    "finite_outputs",
    "finite_result",
    "gate_vector",
    "instance",
    "number",
    "positive",
    "readonly",
    "real_array",
    "refuse_renamed",
    "times",
    "validator",
    "vector",
]

_F = TypeVar("_F", bound=Callable[..., Any])

#: Active validation counters (innermost last); empty outside `count_validations`, so a
#: validator costs one list test when nobody counts.
_COUNTERS: list[collections.Counter[tuple[str, str]]] = []
#: Validators running now; a validator called by another validator is not counted again.
_DEPTH = [0]


def validator(func: _F) -> _F:
    """Register ``func`` as an argument validator, so `count_validations` can count its calls.

    A call is recorded as ``(validator name, argument name)``; the argument name is the
    validator's ``name`` parameter (as passed, or its default) or, for validators without one,
    the validator's own name.
    """
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins
        params = []
    names = [p.name for p in params]
    position = names.index("name") if "name" in names else None
    default = params[position].default if position is not None else inspect.Parameter.empty
    label = func.__qualname__

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _COUNTERS:
            return func(*args, **kwargs)
        if _DEPTH[0] == 0:
            arg: Any
            if position is None:
                arg = func.__name__
            elif "name" in kwargs:
                arg = kwargs["name"]
            elif len(args) > position:
                arg = args[position]
            else:
                arg = default
            _COUNTERS[-1][(label, str(arg))] += 1
        _DEPTH[0] += 1
        try:
            return func(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1

    return wrapper  # type: ignore[return-value]


def construction(func: _F) -> _F:
    """Decorator of a record's ``__post_init__``: the validators it calls check the record's
    own fields, not a caller's arguments, so `count_validations` does not count them (the
    reader that builds the record has checked the user's input once already)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _DEPTH[0] += 1
        try:
            return func(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def count_validations() -> Iterator[collections.Counter[tuple[str, str]]]:
    """Count the validator calls made inside the ``with`` block.

    Yields a ``Counter`` of ``(validator, argument name) -> calls``; the runtime check that a
    public call validates each argument once reads it.
    """
    counter: collections.Counter[tuple[str, str]] = collections.Counter()
    _COUNTERS.append(counter)
    try:
        yield counter
    finally:
        _COUNTERS.remove(counter)


def refuse_renamed(renamed: dict[str, Any], new_names: dict[str, str], function: str) -> None:
    """Refuse the keywords a function caught in ``**renamed``.

    A keyword listed in ``new_names`` was renamed: the error names the new keyword. Any other
    keyword is unknown. Either way the call raises `ArgumentError` (a ``TypeError``, as Python
    raises for an unexpected keyword), so no option is ever silently dropped.
    """
    for key in renamed:
        if key in new_names:
            raise ArgumentError(
                f"Keyword `{key}` of `{function}` was renamed `{new_names[key]}`; "
                f"call `{function}(..., {new_names[key]}=...)`."
            )
        raise ArgumentError(f"`{function}` got an unexpected keyword `{key}`.")


#: Longest excerpt of a bad value quoted in a message (characters, after ``repr``).
MAX_QUOTE = 60


def quote(value: Any) -> str:
    """A short, escaped ``repr`` of ``value`` for an error message (at most `MAX_QUOTE` chars)."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    if len(text) > MAX_QUOTE:
        text = text[: MAX_QUOTE - 3] + "..."
    return text


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


@validator
def number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
    error: type[Exception] = ArgumentError,
) -> float:
    """``value`` as a finite real float in ``[low, high]`` (ends open on request).

    Booleans, strings, None and complex numbers are refused (a real number is expected), as are
    NaN and inf. ``low``/``high`` of None leave that side unbounded.

    Examples
    --------
    >>> number("0.5", "eta", low=0.0, high=1.0, low_open=True)
    Traceback (most recent call last):
    ...
    clln_theory.errors.ArgumentError: Argument `eta` must be a real number in (0, 1], but is '0.5'.
    >>> number(0.5, "eta", low=0.0, high=1.0, low_open=True)
    0.5
    """
    rng = _range_text(low, high, low_open, high_open)
    ok_type = isinstance(value, numbers.Real | np.floating | np.integer) and not isinstance(
        value, bool | np.bool_
    )
    if not ok_type:
        if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "fiu":
            value = value.item()
        else:
            raise error(
                f"Argument `{name}` must be a real number{rng}{_unit(unit)}, but is {quote(value)}."
            )
    x = float(value)
    if not math.isfinite(x):
        raise error(f"Argument `{name}` must be a finite number{rng}{_unit(unit)}, but is {x!r}.")
    below = low is not None and (x <= low if low_open else x < low)
    above = high is not None and (x >= high if high_open else x > high)
    if below or above:
        raise error(f"Argument `{name}` must be a number{rng}{_unit(unit)}, but is {x!r}.")
    return x


def _range_text(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f" {'<' if high_open else '<='} {high:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


@validator
def positive(
    value: Any, name: str, *, unit: str = "", error: type[Exception] = ArgumentError
) -> float:
    """``value`` as a finite float ``> 0``.

    Examples
    --------
    >>> positive(2, "tau", unit="s")
    2.0
    >>> positive(-1.0, "tau", unit="s")
    Traceback (most recent call last):
    ...
    clln_theory.errors.ArgumentError: Argument `tau` must be a number > 0 (s), but is -1.0.
    """
    return number(value, name, low=0.0, low_open=True, unit=unit, error=error)


@validator
def count(
    value: Any,
    name: str,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    error: type[Exception] = ArgumentError,
) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (bools and floats are refused).

    ``maximum`` bounds the work a call may ask for; the message says so.

    Examples
    --------
    >>> count(3, "grid_points")
    3
    >>> count(5000, "num", maximum=1000)
    Traceback (most recent call last):
    ...
    clln_theory.errors.ArgumentError: Argument `num` must be an integer in [1, 1000], but is 5000.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise error(f"Argument `{name}` must be an integer >= {minimum}, but is {quote(value)}.")
    v = int(value)
    if v < minimum or (maximum is not None and v > maximum):
        rng = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise error(f"Argument `{name}` must be an integer {rng}, but is {v}.")
    return v


@validator
def choice(
    value: Any, name: str, options: Sequence[str], *, error: type[Exception] = ArgumentError
) -> str:
    """``value`` if it is one of the strings ``options``.

    Examples
    --------
    >>> choice("overclamp", "clamping", ("standard", "overclamp"))
    'overclamp'
    """
    if not isinstance(value, str) or value not in options:
        raise error(
            f"Argument `{name}` must be one of {', '.join(map(repr, options))}, "
            f"but is {quote(value)}."
        )
    return value


@validator
def real_array(
    value: Any,
    name: str,
    *,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    error: type[Exception] = ArgumentError,
) -> np.ndarray:
    """``value`` as a float64 array; real, of ``shape`` (None entries free), finite by default.

    Strings, None, objects and complex input are refused (no silent dropping of an imaginary
    part); a shape mismatch raises `ShapeError`, anything else ``error``.
    """
    if value is None or isinstance(value, str | bytes):
        raise error(f"Argument `{name}` must be a real array, but is {quote(value)}.")
    try:
        raw = np.asarray(value)
    except Exception as exc:  # ragged nested lists and hostile sequences
        raise error(
            f"Argument `{name}` must be a real array, but could not be read: {exc}."
        ) from None
    if raw.dtype.kind not in "fiub":
        what = "complex" if raw.dtype.kind == "c" else f"of dtype {raw.dtype}"
        raise error(f"Argument `{name}` must be a real array, but is {what}.")
    a = raw.astype(float)
    if shape is not None:
        ok = a.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, a.shape))
        if not ok:
            want = "(" + ", ".join("..." if s is None else str(s) for s in shape)
            want += ",)" if len(shape) == 1 else ")"
            raise ShapeError(f"Argument `{name}` must have shape {want}, but has shape {a.shape}.")
    if finite and not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        where = f" at index {tuple(int(i) for i in bad)}" if a.ndim else ""
        raise error(f"Argument `{name}` must be finite, but contains NaN or inf{where}.")
    return a


@validator
def vector(value: Any, name: str, n: int, *, error: type[Exception] = ArgumentError) -> np.ndarray:
    """``value`` as a finite real vector of length ``n``.

    Examples
    --------
    >>> vector([1, 2], "B", 2)
    array([1., 2.])
    >>> vector([1, 2, 3], "B", 2)
    Traceback (most recent call last):
    ...
    clln_theory.errors.ShapeError: Argument `B` must have shape (2,), but has shape (3,).
    """
    return real_array(value, name, shape=(n,), error=error)


@validator
def gate_vector(
    value: Any, name: str, n: int, *, batch: bool = False, error: type[Exception] = ArgumentError
) -> np.ndarray:
    """A gate vector of shape ``(n,)``, or ``(..., n)`` with ``batch=True`` (finite, real)."""
    a = real_array(value, name, error=error)
    ok = a.shape == (n,) or (batch and a.ndim >= 1 and a.shape[-1] == n)
    if not ok:
        want = f"(..., {n})" if batch else f"({n},)"
        raise ShapeError(f"Argument `{name}` must have shape {want}, but has shape {a.shape}.")
    return a


@validator
def times(
    value: Any, name: str, *, positive: bool = True, error: type[Exception] = ArgumentError
) -> np.ndarray:
    """``value`` as a finite float array of times in seconds, ``> 0`` (or ``>= 0``), any shape."""
    a = real_array(value, name, error=error)
    bad = a <= 0 if positive else a < 0
    if np.any(bad):
        rel = "> 0" if positive else ">= 0"
        raise error(
            f"Argument `{name}` must be {rel} (s), but has value {float(a[bad].flat[0])!r}."
        )
    return a


def readonly(a: Any, dtype: Any = None) -> np.ndarray:
    """A read-only copy of ``a`` (optionally cast to ``dtype``): the arrays of frozen results."""
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


def finite_result(value: Any, quantity: str, *, hint: str = "") -> Any:
    """Return ``value`` if every entry is finite, else raise `NumericalRangeError` naming it.

    For results whose inputs were valid but whose arithmetic overflowed (a huge bias, a huge
    conductance): the caller learns which quantity left float64's range instead of an inf.
    """
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        more = f" {hint}" if hint else ""
        raise NumericalRangeError(
            f"The computed {quantity} is not finite (float64 overflow or an invalid operation);"
            f" the inputs are too large or too close to singular for it.{more}"
        )
    return value


@validator
def instance(
    value: Any, name: str, cls: type | tuple[type, ...], *, error: type[Exception] = ArgumentError
) -> Any:
    """``value`` if it is an instance of ``cls`` (a wrong object raises ``error`` naming it).

    Examples
    --------
    >>> instance(None, "network", int)
    Traceback (most recent call last):
    ...
    clln_theory.errors.ArgumentError: Argument `network` must be a int, but is NoneType.
    """
    if not isinstance(value, cls):
        want = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        raise error(f"Argument `{name}` must be a {want}, but is {type(value).__name__}.")
    return value


def finite_outputs(*fields: str, args: Sequence[str] = ()) -> Any:
    """Decorator: run a function with float warnings silenced, then `finite_result` its output.

    ``fields`` name the result's attributes to check (``""``: the result itself). An overflow
    inside valid-looking arithmetic becomes a `NumericalRangeError` naming the quantity (and the
    arguments ``args`` whose magnitude drives it), not an inf in the output (nor a RuntimeWarning
    first). A result with a ``compact_field(name)`` method (a lazily lifted orbit) is checked
    through it, so the check never materializes big arrays.
    """
    hint = f"Check the magnitudes of {', '.join(f'`{a}`' for a in args)}." if args else ""

    def deco(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                out = fn(*args, **kwargs)
            compact = getattr(out, "compact_field", None)  # lazy results: check their factors
            for f in fields:
                value = (compact(f) if compact else getattr(out, f)) if f else out
                finite_result(value, f"{fn.__name__} {f}".strip(), hint=hint)
            return out

        return wrapper

    return deco


def _field_problem(value: Any, kind: Any) -> str:
    """ "" if ``value`` is a sound value of ``kind`` (see `check_record`), else "type" or
    "finite" (the right type, but NaN or inf)."""
    if isinstance(kind, type | tuple):
        return "" if isinstance(value, kind) else "type"
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        return "" if optional else "type"
    if kind in ("real", "real|nan"):
        ok = isinstance(value, numbers.Real | np.floating | np.integer)
        if not ok or isinstance(value, bool | np.bool_):
            return "type"
        return "" if kind == "real|nan" or math.isfinite(float(value)) else "finite"
    if kind == "count":
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)
        return "" if ok and value >= 0 else "type"
    simple = {"flag": bool | np.bool_, "text": str, "tuple": tuple}
    if kind in simple:
        return "" if isinstance(value, simple[kind]) else "type"
    if kind not in ("array", "array|nan", "carray", "flags"):
        raise ValueError(f"unknown field kind {kind!r}")  # a programming error, not user input
    if not isinstance(value, np.ndarray):
        return "type"
    dk = value.dtype.kind
    if kind == "flags":
        return "" if dk == "b" else "type"
    if dk not in "fiub" + ("c" if kind == "carray" else ""):
        return "type"
    if kind == "array|nan" or dk not in "fc" or np.all(np.isfinite(value)):
        return ""
    return "finite"


_FIELD_KINDS = {
    "real": "a finite real number",
    "real|nan": "a real number",
    "count": "an integer >= 0",
    "flag": "True or False",
    "text": "a string",
    "tuple": "a tuple",
    "array": "a finite real array",
    "array|nan": "a real array",
    "carray": "a finite real or complex array",
    "flags": "a boolean array",
}


def check_record(record: Any, **kinds: Any) -> None:
    """Validate the fields of a result record on construction (its ``__post_init__``).

    Each keyword names a field and its kind: ``"real"`` (a finite real number), ``"real|nan"``
    (NaN and inf allowed: documented meanings), ``"count"`` (an int >= 0), ``"flag"`` (a bool),
    ``"text"``, ``"tuple"``, ``"array"`` (a real ndarray, finite), ``"array|nan"`` (real, NaN
    allowed), ``"carray"`` (real or complex, finite), ``"flags"`` (a bool ndarray), a class or a
    tuple of classes; a trailing ``"?"`` also allows None. Not a `validator`: records built by
    engines check their own fields, at the cost of one ``isfinite`` pass per array.

    Raises
    ------
    ArgumentError
        A field of another type, naming the field, the record and the value.
    NumericalRangeError
        A field of the right type holding NaN or inf (an engine's arithmetic that overflowed, or
        a non-finite value given by hand), naming the field.
    """
    for name, kind in kinds.items():
        value = getattr(record, name)
        problem = _field_problem(value, kind)
        if not problem:
            continue
        if isinstance(kind, type | tuple):
            classes = kind if isinstance(kind, tuple) else (kind,)
            want = " or ".join("None" if c is type(None) else c.__name__ for c in classes)
        else:
            want = _FIELD_KINDS[kind.rstrip("?")] + (" or None" if kind.endswith("?") else "")
        error = NumericalRangeError if problem == "finite" else ArgumentError
        raise error(
            f"Field `{name}` of {type(record).__name__} must be {want}, but is {quote(value)}."
        )
