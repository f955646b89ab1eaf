"""Engine of the gate box: the projected linear flow of one task, piece by piece, in closed form.

On task ``mu`` the gates obey ``dG/dt = Pi[v(G)]`` with ``v(G) = b - M G``, ``b = M G* + B``,
inside ``lo <= G <= hi``: a gate at a limit is *pinned* while its velocity points outward and
free otherwise. Between events the free gates ``F`` follow the affine flow of the principal block
``M_FF = V diag(lam) V^T`` (symmetric PSD; eigenvalues at or below the rate threshold are null
modes and drift linearly):

    G_F(t) = G_F(0) + V (gamma * phi(t)),   gamma = V^T v_F(G(0)),
    phi_k(t) = (1 - e^{-lam_k t}) / lam_k   (t for lam_k = 0).

Events (``_box_events.next_event``): a free gate reaching a limit, a pinned gate's velocity
turning inward. At an event point :meth:`BoxTask.resolve` snaps gates to their limits and picks
the pinned set (the active-set rule, see its docstring). The Jacobian of a piece is ``V
e^{-Lambda t} V^T`` on ``F x F`` (zero elsewhere); at a hit the saltation ``I - e_j e_j^T`` zeroes
row ``j``; at a release the vector field is continuous, so there is none.

Takes checked arrays only; public names for the theory's box engines, not part of the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..errors import ConvergenceError
from ._box_events import Grid, make_grid, next_event, phi
from .trajectories import BoxPiece

__all__ = [
    "Block",
    "BoxTask",
    "Flow",
    "Piece",
    "as_box_pieces",
    "box_task",
    "flow",
    "sample",
    "sides_at",
]

Array = NDArray[np.float64]
Side = NDArray[np.int8]

#: A gate within this fraction of the box scale (max |limit|, at least 1 V) of a limit is at it:
#: 1e-12 is ~4500 ulps of a 5 V limit, far above the round-off of one closed-form piece.
POS_RTOL = 1e-12
#: The same for velocities, relative to ``max|M| * scale + max|b|``.
VEL_RTOL = 1e-12
#: Pieces shorter than ``TIME_RTOL * (1 + T)`` are round-off (2 ulps of the half period).
TIME_RTOL = 4e-16
#: At most this many round-off-length pieces per gate in a row before the flow is called Zeno.
ZENO_PER_GATE = 4


class Block(NamedTuple):
    """The free block of one pinned set: ``free``/``pinned`` indices, eigenvalues ``lam`` (k,)
    and vectors ``V`` (|F|, k) of ``M_FF``, and ``MPF_V = M[P, F] @ V``. For the event rows the
    null modes (all ``phi_k(t) = t``) merge into one column: ``rates`` are the positive ``lam``
    and a last 0 if any is null, ``merge`` (k, len(rates)) sums the columns (None: no merge);
    ``grid`` the event screen's samples of the rates."""

    free: NDArray[np.intp]
    pinned: NDArray[np.intp]
    lam: Array
    V: Array
    MPF_V: Array
    rates: Array
    merge: Array | None
    grid: Grid


class Piece(NamedTuple):
    """One piece: ``t_start``, ``t_end`` (s, from the start of the flow), ``side`` (n,) int8
    (``+1`` pinned at hi, ``-1`` at lo, ``0`` free) and the state ``G`` at ``t_start``."""

    t_start: float
    t_end: float
    side: Side
    G: Array


class Flow(NamedTuple):
    """End state ``G``, the ``pieces`` and the Jacobian ``dG_end/dG_start`` (or None)."""

    G: Array
    pieces: list[Piece]
    jacobian: Array | None


@dataclass
class BoxTask:
    """A task ``(M, b = M G* + B)`` in the box ``[lo, hi]`` with a cache of free blocks keyed by
    the pinned mask (shared by every period of a sweep); ``null_tol`` is the rate threshold."""

    M: Array
    b: Array
    lo: Array
    hi: Array
    null_tol: float
    tol_g: float = 0.0
    tol_v: float = 0.0
    tol_a: float = 0.0
    cache: dict[bytes, Block] = field(default_factory=dict)

    def __post_init__(self) -> None:
        scale = float(max(np.max(np.abs(self.lo)), np.max(np.abs(self.hi)), 1.0))
        self.tol_g = POS_RTOL * scale
        m_max = float(np.max(np.abs(self.M)))
        self.tol_v = VEL_RTOL * (m_max * scale + float(np.max(np.abs(self.b))) + 1e-300)
        self.tol_a = self.tol_v * (m_max + 1e-300)

    def block(self, side: Side) -> Block:
        """The eigendecomposition of the free block of ``side`` (cached)."""
        pinned_mask = side != 0
        key = pinned_mask.tobytes()
        blk = self.cache.get(key)
        if blk is None:
            free, pinned = np.flatnonzero(~pinned_mask), np.flatnonzero(pinned_mask)
            if free.size:
                lam, V = np.linalg.eigh(self.M[np.ix_(free, free)])
                thr = max(self.null_tol, free.size * 2.3e-16 * max(float(lam[-1]), 0.0))
                lam = np.where(lam <= thr, 0.0, lam)
            else:
                lam, V = np.zeros(0), np.zeros((0, 0))
            rates, merge = _merged(lam)
            MPF_V = self.M[np.ix_(pinned, free)] @ V
            blk = Block(free, pinned, lam, V, MPF_V, rates, merge, make_grid(rates))
            self.cache[key] = blk
        return blk

    def velocity(self, G: Array) -> Array:
        """``v(G) = b - M G`` (the unprojected velocity, V/s)."""
        return self.b - self.M @ G

    def resolve(self, G: Array) -> tuple[Array, Side]:
        """Snap ``G`` into the box and choose the pinned set there (the active-set rule).

        A gate within ``tol_g`` of a limit is at it. Its outward velocity ``q = s v`` (``s =
        +1`` at hi, ``-1`` at lo) depends on the position only: ``q > tol_v`` pins, ``q <
        -tol_v`` frees. For the tied gates ``Z`` the leading order is the outward acceleration
        ``s (-M u)`` with ``u`` the projected velocity holding ``Z`` (their own velocity is zero
        to this order, so the choice within ``Z`` does not matter): outward or zero pins, inward
        frees. A wrong choice at higher order fires a release after a round-off-length piece.
        """
        G = np.minimum(np.maximum(G, self.lo), self.hi)
        at_hi = G >= self.hi - self.tol_g
        at_lo = (G <= self.lo + self.tol_g) & ~at_hi
        side = np.zeros(G.shape[0], dtype=np.int8)
        if not (at_hi.any() or at_lo.any()):
            return G, side
        G[at_hi] = self.hi[at_hi]
        G[at_lo] = self.lo[at_lo]
        s = at_hi.astype(float) - at_lo.astype(float)
        v = self.velocity(G)
        q = s * v
        at = at_hi | at_lo
        pin = at & (q > self.tol_v)
        zero = at & (np.abs(q) <= self.tol_v)
        if zero.any():
            u = v.copy()
            u[pin | zero] = 0.0
            pin |= zero & (s * -(self.M @ u) >= -self.tol_a)
        side[pin] = np.where(at_hi[pin], 1, -1).astype(np.int8)
        return G, side


def _merged(lam: Array) -> tuple[Array, Array | None]:
    """The event rates of a block and the matrix merging its null modes (see :class:`Block`)."""
    null = lam <= 0
    if np.count_nonzero(null) <= 1:
        return lam, None
    pos = np.flatnonzero(~null)
    merge = np.zeros((lam.size, pos.size + 1))
    merge[pos, np.arange(pos.size)] = 1.0
    merge[null, -1] = 1.0
    return np.append(lam[pos], 0.0), merge


def box_task(M: Array, G_star: Array, B: Array, lo: Array, hi: Array, null_tol: float) -> BoxTask:
    """The :class:`BoxTask` of a checked rate matrix, solution, bias and box."""
    M = 0.5 * (M + M.T)
    return BoxTask(M, M @ G_star + B, lo, hi, float(null_tol))


def _rows(task: BoxTask, blk: Block, G: Array, side: Side) -> tuple[Array, Array, Array, Array]:
    """Event rows of a piece: ``f0``, coefficients ``E``, tolerances and ``gamma``."""
    F, P = blk.free, blk.pinned
    v = task.velocity(G)
    gamma = blk.V.T @ v[F]
    sP = side[P].astype(float)
    f0 = np.concatenate([G[F] - task.hi[F], task.lo[F] - G[F], -sP * v[P]])
    if blk.merge is None:
        EF, EP = blk.V * gamma, blk.MPF_V * gamma
    else:
        C = gamma[:, None] * blk.merge
        EF, EP = blk.V @ C, blk.MPF_V @ C
    E = np.concatenate([EF, -EF, sP[:, None] * EP])
    tols = np.concatenate([np.full(2 * F.size, task.tol_g), np.full(P.size, task.tol_v)])
    return f0, E, tols, gamma


def flow(task: BoxTask, G0: Array, T: float, jacobian: bool) -> Flow:
    """The projected flow of ``task`` from ``G0`` (clipped into the box) for ``T`` s.

    Raises ConvergenceError if more than ``ZENO_PER_GATE * n + 4`` round-off-length pieces
    follow one another (the active set cannot be resolved: a Zeno point).
    """
    n = G0.shape[0]
    G, side = task.resolve(np.array(G0, dtype=float))
    J = np.eye(n) if jacobian else None
    if J is not None:  # a pinned start: perturbations are projected out at once
        J[side != 0, :] = 0.0
    pieces: list[Piece] = []
    if T <= 0.0:
        return Flow(G, [Piece(0.0, 0.0, side.copy(), G.copy())], J)
    t, null_pieces, t_tiny = 0.0, 0, TIME_RTOL * (1.0 + T)
    while True:
        blk = task.block(side)
        F = blk.free
        if F.size == 0:  # everything pinned (outward velocities depend on G only): at rest
            pieces.append(Piece(t, T, side.copy(), G.copy()))
            return Flow(G, pieces, None if J is None else np.zeros((n, n)))
        f0, E, tols, gamma = _rows(task, blk, G, side)
        t_hit = next_event(f0, E, blk.grid, T - t, tols, t_tiny)
        dt = T - t if t_hit is None else t_hit
        Gn = G.copy()
        Gn[F] = G[F] + blk.V @ (gamma * phi(blk.lam, dt))
        if J is not None:  # the piece's Jacobian V e^{-Lambda dt} V^T acts on the free rows
            Jn = np.zeros((n, n))
            Jn[F] = (blk.V * np.exp(-blk.lam * dt)) @ (blk.V.T @ J[F])
            J = Jn
        if dt > t_tiny or t_hit is None:
            pieces.append(Piece(t, t + dt, side.copy(), G.copy()))
            null_pieces = 0
        else:
            null_pieces += 1
            if null_pieces > ZENO_PER_GATE * n + 4:
                raise ConvergenceError(
                    f"The projected flow chatters at t = {t:.17g} s (Zeno): {null_pieces} "
                    "round-off-length pieces in a row; the active set cannot be resolved."
                )
        t = T if t_hit is None else t + dt
        if t_hit is None or T - t <= t_tiny:
            G, _ = task.resolve(Gn)  # into the box; the pinned set of the end is not needed
            G[side != 0] = Gn[side != 0]
            if pieces[-1].t_end != T:
                p = pieces[-1]
                pieces[-1] = Piece(p.t_start, T, p.side, p.G)
            return Flow(G, pieces, J)
        G, side_new = task.resolve(Gn)
        if J is not None:  # saltation of the gates that hit a limit: their rows vanish
            J[(side_new != 0) & (side == 0), :] = 0.0
        side = side_new


def sample(task: BoxTask, pieces: list[Piece], t: Array) -> Array:
    """The flow's state at times ``t`` (any shape, within the pieces' span): shape
    ``t.shape + (n,)``; each time is evaluated in closed form from the start of its piece."""
    tf = np.ravel(t)
    starts = np.array([p.t_start for p in pieces])
    idx = np.clip(np.searchsorted(starts, tf, side="right") - 1, 0, len(pieces) - 1)
    out = np.empty((tf.size, pieces[0].G.size))
    for k in np.unique(idx):
        p = pieces[int(k)]
        sel = idx == k
        out[sel] = p.G
        blk = task.block(p.side)
        if blk.free.size:
            gamma = blk.V.T @ task.velocity(p.G)[blk.free]
            dt = np.clip(tf[sel] - p.t_start, 0.0, p.t_end - p.t_start)
            lam = blk.lam
            ph = -np.expm1(-np.outer(dt, lam)) / np.where(lam > 0, lam, 1.0)
            ph[:, lam <= 0] = dt[:, None]
            moved = p.G[blk.free] + (ph * gamma) @ blk.V.T
            sub = out[sel]
            sub[:, blk.free] = np.minimum(np.maximum(moved, task.lo[blk.free]), task.hi[blk.free])
            out[sel] = sub
    return out.reshape(*np.shape(t), -1)


def as_box_pieces(pieces: list[Piece], task: int, offset: float) -> tuple[BoxPiece, ...]:
    """The pieces as :class:`~clln_theory.theory.trajectories.BoxPiece` of ``task``, times
    shifted by ``offset`` s."""
    return tuple(
        BoxPiece(
            task=task,
            t_start=offset + float(p.t_start),
            t_end=offset + float(p.t_end),
            pinned_lo=tuple(int(i) for i in np.flatnonzero(p.side < 0)),
            pinned_hi=tuple(int(i) for i in np.flatnonzero(p.side > 0)),
        )
        for p in pieces
    )


def sides_at(pieces: list[Piece], t: Array) -> Side:
    """The ``side`` (n,) of the piece holding each time ``t`` (any shape): ``t.shape + (n,)``;
    a time at a boundary belongs to the earlier piece."""
    tf = np.ravel(t)
    ends = np.array([p.t_end for p in pieces])
    idx = np.clip(np.searchsorted(ends, tf, side="left"), 0, len(pieces) - 1)
    sides = np.stack([p.side for p in pieces])
    return sides[idx].reshape(*np.shape(t), -1)
