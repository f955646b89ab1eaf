"""matplotlib, imported on first use (an optional extra)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._files import atomic_open


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


def save_figure(fig: Any, path: Any, *, dpi: float | None) -> None:
    """Save ``fig`` to ``path`` atomically (`clln_theory._files.atomic_open`): the figure is
    drawn into a temporary file beside ``path``, fsynced and renamed over it, so a failed or
    killed save leaves the old file; an `OSError` (a full disk) is a `FileWriteError` naming
    the file. The format is the suffix, as `matplotlib.figure.Figure.savefig` takes it (no suffix:
    ``rcParams["savefig.format"]``, added to the name); a file object is passed on unchanged."""
    if not isinstance(path, str | os.PathLike):
        fig.savefig(path, dpi=dpi)
        return
    target = Path(path)
    fmt = target.suffix[1:].lower()
    if not fmt:
        from matplotlib import rcParams

        fmt = str(rcParams["savefig.format"])
        target = target.with_name(f"{target.name}.{fmt}")
    with atomic_open(target, binary=True) as f:
        fig.savefig(f, format=fmt, dpi=dpi)
