"""Engine of Fig. 1 on the full network (`clln_theory.experiments.fig1`), on checked values.

The classification grid of Fig. 1C (`grid_tasks`); the diagonal metric that makes the
linearized tasks of a differential output symmetric (`symmetrize`, `reduced_pair`); the
measures of a simulated cycle (`cycle_measures`, `periods_for`); and the shape of the curves:
the straight part of ``log D`` against ``log tau`` (`straight_part`), the roll-off (`rolloff`)
and the plateaus of ``Ebar`` (`plateaus`).

The metric code (`Metric`, `symmetrize`, `reduced_pair`: why a differential output needs a
diagonal metric, and why it is the metric of ``J = W⁻¹ ∇²C / η``) lives in the theory engine
`clln_theory.theory._metric`, shared with the reproduction pipeline; it is re-exported here for
`clln_theory.experiments.fig1`. Public names for the experiments room's faces only.
"""

from __future__ import annotations

import numpy as np

from ..model import DataPoint, Differential, Task
from ..theory._metric import Metric, reduced_pair, symmetrize

__all__ = [
    "Metric",
    "cycle_measures",
    "grid_inputs",
    "grid_tasks",
    "periods_for",
    "plateaus",
    "reduced_pair",
    "rolloff",
    "straight_part",
    "symmetrize",
]


def grid_inputs(side: int, low: float, high: float) -> np.ndarray:
    """``(side**2, 2)`` inputs ``(V1, V2)`` on a square grid from ``low`` to ``high``, row-major
    (``V2`` the row, ``V1`` the column)."""
    v = np.linspace(low, high, side)
    V1, V2 = np.meshgrid(v, v)
    return np.column_stack([V1.ravel(), V2.ravel()])


def grid_tasks(
    roles: dict[str, str],
    supplies: dict[str, float],
    output: str | Differential,
    side: int,
    low: float,
    high: float,
    label: float,
    v_plus: float,
) -> tuple[Task, Task]:
    """The classification pair of Fig. 1C: the grid's points with ``V1`` above the grid centre are
    class alpha (label ``+label``), the others class beta (``-label``); each point imposes the
    supplies, ``V1``, ``V2`` and the inverted inputs ``V+ - V1``, ``V+ - V2`` on ``roles``."""
    X = grid_inputs(side, low, high)
    centre = 0.5 * (low + high)
    points: dict[bool, list[DataPoint]] = {True: [], False: []}
    for V1, V2 in X:
        inputs = dict(supplies)
        inputs |= {roles["V1"]: V1, roles["V2"]: V2}
        inputs |= {roles["V1_inv"]: v_plus - V1, roles["V2_inv"]: v_plus - V2}
        up = bool(V1 > centre)
        points[up].append(
            DataPoint({k: float(v) for k, v in inputs.items()}, label if up else -label)
        )
    alpha = Task(tuple(points[True]), output, kind="classification", name="alpha")
    beta = Task(tuple(points[False]), output, kind="classification", name="beta")
    return alpha, beta


def cycle_measures(G: np.ndarray, errors: np.ndarray) -> tuple[float, float, float]:
    """``(D, Ebar, change)`` of the last period of a run sampled at every task switch: the span
    (4) ``|G(tau/2) - G(tau)|``, the combined error (A3)-(A4) and ``|G(tau) - G(0)|`` of that
    period (zero on the cycle)."""
    D = float(np.linalg.norm(G[-2] - G[-1]))
    E = errors.mean(axis=1)
    return D, float(0.5 * (E[-2] + E[-1])), float(np.linalg.norm(G[-1] - G[-3]))


def periods_for(tau: float, settle: float, minimum: int, max_periods: int) -> int:
    """Periods to run at ``tau``: enough to last ``settle`` seconds, at least ``minimum``, at
    most ``max_periods``."""
    return int(min(max(minimum, np.ceil(settle / tau)), max_periods))


def straight_part(
    tau: np.ndarray, D: np.ndarray, rtol: float, min_points: int = 4
) -> tuple[float, float, int, int]:
    """The longest run of periods from the shortest on which ``log D`` is a straight line in
    ``log tau`` within ``log(1 + rtol)``: ``(slope, intercept, first, last)`` (indices into
    ``tau``, inclusive) of its least-squares fit; NaN and ``-1`` without ``min_points`` finite
    points."""
    ok = np.isfinite(D) & (D > 0)
    idx = np.flatnonzero(ok)
    if idx.size < min_points:
        return float("nan"), float("nan"), -1, -1
    x, y = np.log(tau[idx]), np.log(D[idx])
    best = (float("nan"), float("nan"), -1, -1)
    for k in range(min_points, idx.size + 1):
        p = np.polyfit(x[:k], y[:k], 1)
        if np.max(np.abs(np.polyval(p, x[:k]) - y[:k])) > np.log1p(rtol):
            break
        best = (float(p[0]), float(p[1]), int(idx[0]), int(idx[k - 1]))
    return best


def rolloff(tau: np.ndarray, D: np.ndarray, slope: float, intercept: float, frac: float) -> float:
    """The first period where ``D`` falls below ``frac`` times the fitted line (NaN if none)."""
    line = np.exp(intercept) * tau**slope
    below = np.flatnonzero(np.isfinite(D) & (D < frac * line))
    return float(tau[below[0]]) if below.size else float("nan")


def plateaus(
    tau: np.ndarray, Ebar: np.ndarray, decades: float
) -> tuple[float, float, float, float]:
    """``(low, high, spread_low, spread_high)``: the mean ``Ebar`` over the shortest and the
    longest ``decades`` of periods, and the ratio max/min within each window (1 = flat)."""
    ok = np.isfinite(Ebar)
    t, E = tau[ok], Ebar[ok]
    if t.size == 0:
        return (float("nan"),) * 4
    lo = t <= t[0] * 10**decades
    hi = t >= t[-1] / 10**decades
    return (
        float(E[lo].mean()),
        float(E[hi].mean()),
        float(E[lo].max() / E[lo].min()),
        float(E[hi].max() / E[hi].min()),
    )
