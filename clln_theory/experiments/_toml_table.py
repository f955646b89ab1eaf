"""The typed reader of one TOML table of an experiment description: every error a
`ConfigError` naming the key (engine of `clln_theory.experiments.config`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, overload

from ..errors import ConfigError

__all__ = ["Table", "as_list", "data_path", "key_number", "show"]


class Table:
    """A TOML table with its dotted path; every accessor validates and names the key."""

    def __init__(self, raw: Any, path: str, allowed: set[str]):
        if not isinstance(raw, dict):
            raise ConfigError(f"Key '{path}' must be a table, but is {show(raw)}.")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            where = f"'{path}.{unknown[0]}'" if path else f"'{unknown[0]}'"
            raise ConfigError(
                f"Unknown key {where}; allowed keys{' of ' + repr(path) if path else ''} are "
                f"{sorted(allowed)}."
            )
        self.raw, self.path = raw, path

    def key(self, k: str) -> str:
        return f"{self.path}.{k}" if self.path else k

    def has(self, k: str) -> bool:
        return k in self.raw

    def get(self, k: str, default: Any = None, *, required: bool = False) -> Any:
        if k not in self.raw:
            if required:
                raise ConfigError(f"Missing required key '{self.key(k)}'.")
            return default
        return self.raw[k]

    @overload
    def number(self, k: str, default: float, *, positive: bool = False) -> float: ...
    @overload
    def number(self, k: str, *, required: Literal[True], positive: bool = False) -> float: ...
    @overload
    def number(
        self, k: str, default: None = None, *, required: bool = False, positive: bool = False
    ) -> float | None: ...
    def number(
        self,
        k: str,
        default: float | None = None,
        *,
        required: bool = False,
        positive: bool = False,
    ) -> float | None:
        v = self.get(k, default, required=required)
        if v is None:
            return None
        return key_number(v, self.key(k), positive=positive)

    def integer(
        self, k: str, default: int | None = None, *, low: int = 0, high: int | None = None
    ) -> int:
        """An integer in ``[low, high]`` (a bool or a float such as ``3.0`` is refused); required
        when ``default`` is None."""
        v = self.get(k, default, required=default is None)
        bad = isinstance(v, bool) or not isinstance(v, int)
        if bad or v < low or (high is not None and v > high):
            within = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ConfigError(f"Key '{self.key(k)}' must be an integer {within}, but is {show(v)}.")
        return v

    @overload
    def string(self, k: str, default: str) -> str: ...
    @overload
    def string(self, k: str, *, required: Literal[True]) -> str: ...
    @overload
    def string(self, k: str, default: None = None, *, required: bool = False) -> str | None: ...
    def string(self, k: str, default: str | None = None, *, required: bool = False) -> str | None:
        v = self.get(k, default, required=required)
        if v is None:
            return None
        if not isinstance(v, str) or not v:
            raise ConfigError(f"Key '{self.key(k)}' must be a non-empty string, but is {show(v)}.")
        return v

    @overload
    def vector(
        self, k: str, n: int | None = None, *, required: Literal[True]
    ) -> tuple[float, ...]: ...
    @overload
    def vector(
        self,
        k: str,
        n: int | None = None,
        default: list[float] | None = None,
        *,
        required: bool = False,
    ) -> tuple[float, ...] | None: ...
    def vector(
        self,
        k: str,
        n: int | None = None,
        default: list[float] | None = None,
        *,
        required: bool = False,
    ) -> tuple[float, ...] | None:
        v = self.get(k, default, required=required)
        if v is None:
            return None
        if not isinstance(v, list) or not v:
            raise ConfigError(f"Key '{self.key(k)}' must be a list of numbers, but is {show(v)}.")
        if n is not None and len(v) != n:
            raise ConfigError(
                f"Key '{self.key(k)}' must hold {n} numbers, but holds {len(v)}: {show(v)}."
            )
        return tuple(key_number(x, f"{self.key(k)}[{i}]") for i, x in enumerate(v))

    def pair(self, k: str, default: list[float] | None = None) -> tuple[float, float] | None:
        """A vector of two numbers (``[min, max]``), typed as a pair."""
        v = self.vector(k, 2, default)
        return None if v is None else (v[0], v[1])

    @overload
    def table(self, k: str, allowed: set[str], *, required: Literal[True]) -> Table: ...
    @overload
    def table(self, k: str, allowed: set[str], *, required: bool = False) -> Table | None: ...
    def table(self, k: str, allowed: set[str], *, required: bool = False) -> Table | None:
        v = self.get(k, required=required)
        return None if v is None else Table(v, self.key(k), allowed)


def show(v: Any) -> str:
    s = ascii(v)  # escaped: control characters and non-ASCII cannot reach a terminal raw
    return s if len(s) <= 60 else s[:57] + "..."


@overload
def data_path(t: Table, k: str, *, required: Literal[True]) -> str: ...
@overload
def data_path(t: Table, k: str, *, required: bool = False) -> str | None: ...
def data_path(t: Table, k: str, *, required: bool = False) -> str | None:
    """A data file path: relative, without ``..``, so it cannot leave its folder."""
    v = t.string(k, required=required)
    if v is None:
        return None
    p = Path(v)
    if (
        p.is_absolute()
        or v.startswith(("/", "\\", "~"))
        or ".." in p.parts
        or ".." in v.split("\\")
    ):
        raise ConfigError(
            f"Key '{t.key(k)}' must be a path relative to the data folder without '..', "
            f"but is {show(v)}."
        )
    return v


def key_number(v: Any, key: str, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"Key '{key}' must be a number, but is {show(v)}.")
    x = float(v)
    if not math.isfinite(x):
        raise ConfigError(f"Key '{key}' must be finite, but is {x}.")
    if positive and x <= 0:
        raise ConfigError(f"Key '{key}' must be positive, but is {x}.")
    return x


def as_list(raw: Any, key: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"Key '{key}' must be a non-empty list, but is {show(raw)}.")
    return raw
