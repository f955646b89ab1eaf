"""Engine of the Fig. 5 inputs (`clln_theory.experiments.fig5`) on checked values: the ring of
input points, the labels of one linear split, the two classification tasks they make, the seeded
hardware (bias, initial gates) and the free outputs at given inputs.

The faces (`ring_inputs`, `split_labels`, `fig5_tasks`, `fig5_training_task`, `fig5_bias`,
`fig5_initial_gates`, `classification_outputs`, `run_fig5_case`) check their arguments once and
call these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..electrical.circuit import CircuitSolver
from ..model import DataPoint, Network, Task
from .paper import FIG5_V_MINUS, FIG5_V_PLUS

__all__ = [
    "ring_outputs",
    "ring_points",
    "seeded_bias",
    "seeded_gates",
    "split_signs",
    "task_pair",
    "training_task",
]


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


def seeded_bias(n_gates: int, seed: int, scale: float) -> np.ndarray:
    """Per-edge bias ``scale * N(0, 1)``, V/s, from the hardware ``seed`` (stream 1)."""
    rng = np.random.default_rng([int(seed), 1])
    return scale * rng.standard_normal(n_gates)


def seeded_gates(n_gates: int, seed: int, low: float, high: float) -> np.ndarray:
    """Initial gates ``U(low, high)``, V, from the hardware ``seed`` (stream 2)."""
    rng = np.random.default_rng([int(seed), 2])
    return rng.uniform(low, high, n_gates)


def ring_outputs(network: Network, G: np.ndarray, vals: np.ndarray, placement: Any) -> np.ndarray:
    """Free differential outputs at the imposed voltages ``vals`` ``(..., 6)`` (in
    ``placement.imposed`` order; ``placement`` a `Fig5Placement`), shape ``vals.shape[:-1]``."""
    shape = vals.shape[:-1]
    flat = vals.reshape(-1, vals.shape[-1])
    solver = CircuitSolver(network, placement.imposed)
    ip, im = network.node(placement.out_plus), network.node(placement.out_minus)
    out = np.empty(flat.shape[0])
    for k, v in enumerate(flat):
        V = solver.solve(G, v).V
        out[k] = V[ip] - V[im]
    return out.reshape(shape)
