"""Engine of Fig. 1 on the full network (`clln_theory.experiments.fig1`), on checked values.

The classification grid of Fig. 1C (`grid_tasks`); the diagonal metric that makes the
linearized tasks of a differential output symmetric (`symmetrize`, `reduced_pair`); the
measures of a simulated cycle (`cycle_measures`, `periods_for`); and the shape of the curves:
the straight part of ``log D`` against ``log tau`` (`straight_part`), the roll-off (`rolloff`)
and the plateaus of ``Ebar`` (`plateaus`).

*Why a metric.* With a differential output the clamped state moves ``O+`` by ``+delta/2`` and
``O-`` by ``-delta/2`` (both nodes imposed), while the output responds to the gates through the
free network: the force Jacobian of a one-point task at its solution is ``M = a b^T`` (rank one)
with ``a`` the learning response of each edge to the two-node clamp and ``b = dO/dG``, not
parallel (`clln_theory.theory.linearize` refuses it: no gradient flow). In a linear network both
responses are fields of the same network at the same gates, independent of the inputs, so the
ratio ``W_i = b_i / a_i`` (up to one constant per task) is the same for both tasks. In the
coordinates ``y = d G`` with ``d = sqrt(W)`` both tasks become symmetric rank-one
``M~ = (d^-1 b)(d^-1 b)^T / kappa``, and because ``d`` is diagonal the gate box stays a box:
the closed-form box orbits of the theory room apply unchanged. Edges with ``a_i b_i <= 0`` (an
edge whose two responses disagree in sign, or an edge no task moves) get ``W_i = 1``: there the
learning response is replaced by ``b_i / kappa``; `symmetrize` reports the relative change of
``a`` this makes (0.4 % on the preset). Public names for the experiments room's faces only.

The metric is not a workaround for a wrong Jacobian: ``W`` is, up to a constant, the metric of
the exact identity ``J = W⁻¹ ∇²C / η`` at a solution (``W_e = K_eff dλ_O,e / dμ_e``; see
`clln_theory.theory._linearize` and ``tests/theory/test_jacobian.py``): the two-node clamp is
a gradient flow of ``C`` only in that metric, exactly where ``W > 0`` on every edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import DataPoint, Differential, Task
from ..theory.linear import LinearTask

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

#: A one-point task's Jacobian is rank one: its second singular value is round-off (~1e-16
#: relative on the preset); 1e-6 leaves room for ill-conditioned networks and still refuses a
#: genuinely rank-two Jacobian.
_RANK_ONE_RTOL = 1e-6


@dataclass(frozen=True, slots=True)
class Metric:
    """The diagonal metric of `symmetrize` and the symmetric tasks it gives.

    Attributes
    ----------
    d : (n,) ndarray
        ``y = d * G``.
    tasks : tuple of LinearTask
        The tasks in ``y`` coordinates (rank-one, symmetric).
    change : tuple of float
        Per task, ``|a_eff - a| / |a|``: how much the learning response was changed.
    replaced : tuple of int
        Gates whose ratio ``b_i / a_i`` was not positive (``W_i = 1`` there).
    """

    d: np.ndarray
    tasks: tuple[LinearTask, ...]
    change: tuple[float, ...]
    replaced: tuple[int, ...]


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


def _rank_one(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``M = a b^T`` with ``b`` a unit vector and ``b . a > 0``; ValueError if not rank one."""
    U, s, Vt = np.linalg.svd(M)
    if s[0] <= 0 or s[1] > _RANK_ONE_RTOL * s[0]:
        raise ValueError(f"a one-point task's Jacobian is not rank one (singular values {s[:2]})")
    a, b = U[:, 0] * s[0], Vt[0]
    return (a, b) if float(b @ a) > 0 else (-a, -b)


def symmetrize(Ms: list[np.ndarray], G_star: np.ndarray, rate_tol: float) -> Metric:
    """The metric ``d`` and the symmetric tasks ``LinearTask(M~, d G*)`` of rank-one rate
    matrices ``Ms`` (1/s) linearized at the same ``G_star`` (see the module docstring)."""
    factors = [_rank_one(M) for M in Ms]
    A = np.array([a for a, _ in factors])
    Bm = np.array([b for _, b in factors])
    R = np.divide(Bm, A, out=np.zeros_like(A), where=A != 0)  # b_i / a_i of every task
    for k in range(R.shape[0]):  # each task's ratios carry its own constant: scale it out
        pos = R[k] > 0
        R[k] = R[k] / np.median(R[k][pos]) if np.any(pos) else 0.0
    best = np.argmax(np.abs(A), axis=0)  # per gate, the task that moves it most
    ratio = R[best, np.arange(A.shape[1])]
    good = ratio > 0
    W = np.where(good, ratio, 1.0)
    d = np.sqrt(W)
    tasks, change = [], []
    for a, b in factors:
        wa = W[good] * a[good]
        kappa = float(b[good] @ wa) / float(wa @ wa)
        m = b / d
        tasks.append(LinearTask(np.outer(m, m) / kappa, d * G_star, rate_tol=rate_tol))
        change.append(float(np.linalg.norm(b / (kappa * W) - a) / np.linalg.norm(a)))
    return Metric(d, tuple(tasks), tuple(change), tuple(int(i) for i in np.flatnonzero(~good)))


def reduced_pair(
    tasks: tuple[LinearTask, ...], free: np.ndarray, y: np.ndarray, rate_tol: float
) -> tuple[LinearTask, ...]:
    """The tasks on the ``free`` gates with the others held at ``y``: ``M_FF`` and the solution
    of the free block, ``y*_F - M_FF^+ M_FP (y_P - y*_P)`` (rank one: exact in the range)."""
    out = []
    P = ~free
    for t in tasks:
        M = np.asarray(t.M)
        MFF = M[np.ix_(free, free)]
        shift = np.linalg.pinv(MFF) @ (M[np.ix_(free, P)] @ (y[P] - t.G_star[P]))
        out.append(LinearTask(MFF, t.G_star[free] - shift, rate_tol=rate_tol))
    return tuple(out)


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
