"""matplotlib, imported on first use (an optional extra)."""

from __future__ import annotations

from typing import Any


def figure_class() -> Any:
    """`matplotlib.figure.Figure` (no pyplot: no GUI backend, no global state).

    Raises
    ------
    ModuleNotFoundError
        If matplotlib is not installed, with the install command.
    """
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "Plotting needs matplotlib, an optional extra: pip install 'clln_theory[plot]'."
        ) from exc
    return Figure
