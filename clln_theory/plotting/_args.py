"""Argument checkers of the plotting room (faces import them, engines never do): where a figure
is saved, its resolution and the result drawn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._checks import count, validator
from ..errors import ArgumentError

__all__ = ["MAX_DPI", "check_dpi", "check_path"]

#: Highest resolution of a saved figure, dots per inch: print quality is 300-600 dpi, and at
#: 1200 dpi the largest figure of the package (17.5 x 5.4 in) is already a 0.5 GB raster.
MAX_DPI = 1200


@validator
def check_path(path: Any) -> Any:
    """``path`` (None, a file object, or a str/path-like whose suffix is a format matplotlib
    writes, or no suffix) unchanged; anything else raises `ArgumentError` naming ``path``."""
    if path is None or (hasattr(path, "write") and not isinstance(path, str | os.PathLike)):
        return path
    if not isinstance(path, str | os.PathLike):
        raise ArgumentError(
            f"Argument `path` must be a file name (str or Path) or a file object, but is "
            f"{type(path).__name__}."
        )
    fmt = Path(path).suffix[1:].lower()
    if fmt:
        from matplotlib.figure import Figure

        formats = Figure().canvas.get_supported_filetypes()
        if fmt not in formats:
            known = ", ".join(sorted(formats))
            raise ArgumentError(
                f"Argument `path` must end in a format matplotlib writes ({known}), but ends in "
                f"{Path(path).suffix!r}."
            )
    return path


@validator
def check_dpi(dpi: Any) -> int:
    """``dpi`` as an integer in ``[1, MAX_DPI]``."""
    return count(dpi, "dpi", maximum=MAX_DPI)
