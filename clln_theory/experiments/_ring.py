"""Engine of the Fig. 5 inputs (`clln_theory.experiments.fig5`) on checked values: the ring of
input points, the labels of one linear split, and the two classification tasks they make.

The faces (`ring_inputs`, `split_labels`, `fig5_tasks`, `fig5_training_task`, `run_fig5_case`)
check ``eps``, ``split`` and ``n_points`` once and call these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model import DataPoint, Task
from .paper import FIG5_V_MINUS, FIG5_V_PLUS

__all__ = ["ring_points", "split_signs", "task_pair", "training_task"]


def ring_points(
    eps: float, n_points: int, center: tuple[float, float] | None, phase: float
) -> np.ndarray:
    """``(n_points, 2)`` inputs on a ring of diameter ``eps`` (V), point ``k`` at angle
    ``phase + 2 pi k / n_points``, centred on ``center`` (default the centre of the range)."""
    c = (0.5 * (FIG5_V_PLUS + FIG5_V_MINUS),) * 2 if center is None else center
    theta = phase + 2 * np.pi * np.arange(n_points) / n_points
    return np.column_stack([c[0] + 0.5 * eps * np.cos(theta), c[1] + 0.5 * eps * np.sin(theta)])


def split_signs(split: int, n_points: int, label: float) -> np.ndarray:
    """``+label`` on points ``split ... split + n/2 - 1`` (mod ``n``), ``-label`` on the rest."""
    k = (np.arange(n_points) - int(split)) % n_points
    return np.where(k < n_points // 2, float(label), -float(label))


def task_pair(
    eps: float, split: int, placement: Any, label: float, phase: float, n_points: int
) -> tuple[Task, Task]:
    """The tasks α (``+label``) and β (``-label``) of one split, imposing ``placement``'s nodes
    (a `Fig5Placement`)."""
    X = ring_points(eps, n_points, None, phase)
    y = split_signs(split, n_points, label)
    vals = placement.imposed_values(X[:, 0], X[:, 1])
    imposed = placement.imposed
    pts = [DataPoint(dict(zip(imposed, map(float, v))), float(L)) for v, L in zip(vals, y)]
    out = placement.output
    alpha = Task(
        tuple(p for p, L in zip(pts, y) if L > 0), out, kind="classification", name="alpha"
    )
    beta = Task(tuple(p for p, L in zip(pts, y) if L < 0), out, kind="classification", name="beta")
    return alpha, beta


def training_task(
    eps: float, split: int, placement: Any, label: float, phase: float, n_points: int
) -> Task:
    """The ring's points as one task, interleaved α₀ β₀ α₁ β₁ … (the order trained)."""
    alpha, beta = task_pair(eps, split, placement, label, phase, n_points)
    pts = tuple(p for pair in zip(alpha.points, beta.points) for p in pair)
    return Task(pts, alpha.output, kind="classification", name="ring")
