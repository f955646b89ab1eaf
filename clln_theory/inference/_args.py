"""The argument checkers of the inference faces that more than one face needs (face support,
not an engine): a task with a stationary point, a window of samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import count, validator
from ..errors import ShapeError, TaskError
from ..theory import LinearTask

__all__ = ["require_full_rank", "window_bounds"]


@validator
def require_full_rank(task: Any) -> None:
    """``task`` a `LinearTask` of full rank (a stationary point exists), else TaskError."""
    if not isinstance(task, LinearTask):
        raise TaskError(f"Argument `task` must be a LinearTask, but is {type(task).__name__}.")
    if task.rank < task.n:
        raise TaskError(
            f"Argument `task` has rank {task.rank} < {task.n} (a null direction): a task with a "
            "line of solutions has no stationary point; measure its drift instead."
        )


@validator
def window_bounds(window: Any, n: int) -> tuple[int, int]:
    """``window`` as ``(start, stop)`` with ``1 <= start < stop <= n`` (``n`` samples)."""
    w = np.asarray(window, dtype=object).ravel() if not isinstance(window, str) else None
    if w is None or w.size != 2:
        raise ShapeError(f"Argument `window` must be [start, stop], but is {window!r}.")
    start, stop = count(w[0], "window[0]"), count(w[1], "window[1]")
    if not start < stop <= n:
        raise ShapeError(
            f"Argument `window` must satisfy 1 <= start < stop <= {n} (the samples of `G`), "
            f"but is [{start}, {stop}]."
        )
    return start, stop
