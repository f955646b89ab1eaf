"""Engine of the gate box: the period map with its event sequence imposed, and its fixed point.

Once the event sequence of a period is known (the pinned set of every piece and, between two
pieces, the one gate that hits its limit or is released), the period map with that sequence
*imposed* is smooth: each piece ends at the root of its one event function, found by a scalar
Newton iteration from the duration the piece had before (no search over the other rows), and its
Jacobian is the rigorous map's (piece Jacobians ``V e^{-Lambda t} V^T`` on the free rows, the
saltation ``I - e_j e_j^T`` at a hit, none at a release). Newton on ``G - P_S(G)`` then converges
quadratically at the cost of a few closed-form pieces per evaluation.

The fixed point found this way is only a *candidate*: ``_box_orbit`` accepts it only after the
rigorous map (``_box.flow``, every event function searched with guaranteed bracketing) from it
reproduces the same sequence with a residual at round-off. Anything the imposed map cannot
follow (several gates changing at once, a root that is not a simple crossing inside the
segment) returns None, and ``_box_orbit`` takes the general route.

Takes checked arrays only; public names for the theory's box engines, not part of the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._box import Block, BoxTask, Piece, Side
from ._box_events import bracket_root, phi

__all__ = ["Step", "imposed_map", "newton_step", "plan", "solve"]

Array = NDArray[np.float64]

#: Singular values of ``I - J`` below this fraction of the largest are drift directions.
_SV_DRIFT = 1e-11
#: Relative tolerance of an imposed event time reached from the left (4 ulps).
_ROOT_RTOL = 4 * float(np.finfo(float).eps)
#: Newton steps from the guess of an event time to a bracket.
_BRACKET_STEPS = 30
#: Newton steps of the imposed fixed point before it gives up.
_SOLVE_STEPS = 10


class Step(NamedTuple):
    """One piece of an imposed sequence: its ``side``, the ``gate`` whose event ends it (-1: the
    end of the segment), that event (``+1``/``-1``: the gate hits hi/lo, ``0``: its release)
    and the piece's last ``duration`` (s, the guess of its event time)."""

    side: Side
    gate: int
    event: int
    duration: float


def plan(pieces: Sequence[list[Piece]]) -> tuple[tuple[Step, ...], ...] | None:
    """The imposed sequence of the pieces of a period map, or None when two consecutive pieces
    differ in more than one gate (simultaneous events, a skipped round-off piece)."""
    out = []
    for seg in pieces:
        steps = []
        for p, q in pairwise(seg):
            changed = np.flatnonzero(p.side != q.side)
            if changed.size != 1:
                return None
            j = int(changed[0])
            if p.side[j] != 0 and q.side[j] != 0:
                return None
            steps.append(Step(p.side, j, int(q.side[j]), p.t_end - p.t_start))
        last = seg[-1]
        steps.append(Step(last.side, -1, 0, last.t_end - last.t_start))
        out.append(tuple(steps))
    return tuple(out)


def _value(f0: float, E: Array, lam: Array, t: float) -> tuple[float, float]:
    """``f = f0 + sum E_k phi_k(t)`` and ``f'`` at one time ``t``."""
    x = np.exp(-lam * t)
    return f0 + float(E @ phi(lam, t)), float(E @ x)


def _event_time(f0: float, E: Array, lam: Array, guess: float, rem: float) -> float | None:
    """A root in ``(0, rem]`` of the event row ``f0 + sum E_k phi_k(t)`` (``f0 < 0``): bracketed
    from the ``guess`` (the piece's last duration) by Newton steps from the left (a concave
    row is approached monotonically, a convex one overshot into a bracket) and refined by the
    safeguarded Newton of ``_box_events``; None when no sign change is found this way."""
    if not f0 < 0.0:
        return None
    t = min(max(guess, 0.0), rem)
    a, fa = 0.0, f0
    for _ in range(_BRACKET_STEPS):
        f, fp = _value(f0, E, lam, t) if t > 0.0 else (f0, 0.0)
        if f >= 0.0:
            return bracket_root(f0, E, lam, a, t, fa, f)
        a, fa = t, f
        if not fp > 0.0 or t >= rem:
            return None
        tn = min(t - f / fp, rem)
        if tn - t <= _ROOT_RTOL * tn:
            return tn
        t = tn
    return None


def _event_row(
    task: BoxTask, blk: Block, st: Step, G: Array, v: Array, gamma: Array
) -> tuple[float, Array]:
    """``f(0)`` and the coefficients (over the block's rates) of the event ending ``st``."""
    j = st.gate
    if st.event:
        s = float(st.event)
        f0 = G[j] - task.hi[j] if s > 0 else task.lo[j] - G[j]
        row = s * blk.V[int(np.searchsorted(blk.free, j))] * gamma
    else:
        s = float(st.side[j])
        f0 = -s * v[j]
        row = s * blk.MPF_V[int(np.searchsorted(blk.pinned, j))] * gamma
    if blk.merge is not None:
        row = row @ blk.merge
    return float(f0), row


def _segment(
    task: BoxTask, T: float, G: Array, J: Array, steps: tuple[Step, ...]
) -> tuple[Array, Array] | None:
    """One segment of the imposed map from ``G`` (Jacobian so far ``J``): ``(G_end, J_end)``."""
    side0 = steps[0].side
    G = G.copy()
    G[side0 > 0] = task.hi[side0 > 0]
    G[side0 < 0] = task.lo[side0 < 0]
    J = J.copy()
    J[side0 != 0] = 0.0
    t = 0.0
    for st in steps:
        blk = task.block(st.side)
        F = blk.free
        if F.size == 0:  # at rest: only the end of the segment may follow
            return (G, np.zeros_like(J)) if st.gate < 0 else None
        v = task.velocity(G)
        gamma = blk.V.T @ v[F]
        if st.gate < 0:
            dt = T - t
        else:
            f0, row = _event_row(task, blk, st, G, v, gamma)
            root = _event_time(f0, row, blk.rates, st.duration, T - t)
            if root is None:
                return None
            dt = root
        Gn = G.copy()
        Gn[F] = G[F] + blk.V @ (gamma * phi(blk.lam, dt))
        Jn = np.zeros_like(J)
        Jn[F] = (blk.V * np.exp(-blk.lam * dt)) @ (blk.V.T @ J[F])
        if st.event:  # the hit: on the limit, its row saltated away
            Gn[st.gate] = task.hi[st.gate] if st.event > 0 else task.lo[st.gate]
            Jn[st.gate] = 0.0
        G, J = Gn, Jn
        t += dt
    return np.minimum(np.maximum(G, task.lo), task.hi), J


def imposed_map(
    tasks: Sequence[BoxTask], hs: Array, G: Array, steps: tuple[tuple[Step, ...], ...]
) -> tuple[Array, Array] | None:
    """The period map with the sequence ``steps`` imposed: ``(G_end, J)`` or None."""
    J = np.eye(G.size)
    for task, h, seg in zip(tasks, hs, steps, strict=True):
        out = _segment(task, float(h), G, J, seg)
        if out is None:
            return None
        G, J = out
    return G, J


def newton_step(J: Array, r: Array, G: Array, lo: Array, hi: Array) -> Array:
    """``s`` solving ``(I - J) s = r``; along eigenvalue-1 directions of ``J`` (drift) the ray
    from ``G + s`` to the first limit it meets. The result keeps ``G + s`` in the box."""
    K = np.eye(J.shape[0]) - J
    U, sv, Wt = np.linalg.svd(K)
    small = sv <= _SV_DRIFT * max(float(sv[0]), 1e-300)
    if not small.any():
        s = np.linalg.solve(K, r)
    else:
        inv = np.where(small, 0.0, 1.0 / np.where(small, 1.0, sv))
        s = Wt.T @ (inv * (U.T @ r))
        for k in np.flatnonzero(small):
            w = Wt[k]
            proj = float(w @ r)
            if abs(proj) > 1e-14 * (1 + float(np.max(np.abs(r)))):
                d = np.sign(proj) * w
                x = np.minimum(np.maximum(G + s, lo), hi)
                with np.errstate(divide="ignore", invalid="ignore"):
                    room = np.where(
                        d > 1e-12, (hi - x) / d, np.where(d < -1e-12, (lo - x) / d, np.inf)
                    )
                alpha = float(np.min(room))
                if np.isfinite(alpha):
                    s = x + alpha * d - G
    return np.minimum(np.maximum(G + s, lo), hi) - G


def solve(
    tasks: Sequence[BoxTask], hs: Array, G: Array, steps: tuple[tuple[Step, ...], ...], tol: float
) -> Array | None:
    """The fixed point of the imposed map by Newton from ``G`` (a candidate, residual at most
    ``tol``), or None when the imposed map fails or Newton does not converge."""
    lo, hi = tasks[0].lo, tasks[0].hi
    prev = np.inf
    for _ in range(_SOLVE_STEPS):
        out = imposed_map(tasks, hs, G, steps)
        if out is None:
            return None
        r = out[0] - G
        rn = float(np.max(np.abs(r)))
        if rn <= tol:
            return G
        if rn > prev:
            return None
        prev = rn
        G = G + newton_step(out[1], r, G, lo, hi)
    return None
