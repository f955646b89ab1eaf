"""All figures (matplotlib, an optional dependency, imported on first use).

`plot_reproduction` draws a reproduction of the paper's Fig. 2 or 3, `plot_fig1` Fig. 1G,H on
the full network, `plot_fig5` the Fig. 5 experiment. matplotlib is imported inside the functions
that draw, so importing this room does not import it.
"""

from __future__ import annotations

from .fig1 import plot_fig1
from .fig5 import plot_fig5
from .reproduction import plot_reproduction

__all__ = [
    "plot_fig1",
    "plot_fig5",
    "plot_reproduction",
]
