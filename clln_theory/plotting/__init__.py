"""All figures (matplotlib, an optional dependency, imported on first use).

`plot_reproduction` draws a reproduction of the paper's Fig. 2 or 3, `plot_fig5` the Fig. 5
experiment. The names are re-exported lazily, so importing this room does not import matplotlib
or the experiments.
"""

from __future__ import annotations

import importlib as _importlib
from typing import Any as _Any

_LAZY = {
    "plot_fig5": "fig5",
    "plot_reproduction": "reproduction",
}

__all__ = [
    "plot_fig5",
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
