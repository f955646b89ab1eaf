"""All figures (matplotlib, an optional dependency, imported on first use)."""

from __future__ import annotations

import importlib as _importlib
from typing import Any as _Any

_LAZY = {
    "plot_reproduction": "figures",
}

__all__ = [
    "plot_reproduction",
]


def __getattr__(name: str) -> _Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
