"""Engine of the gate box: the periodic orbit of K tasks trained in a cycle inside the box.

The period map ``P`` (segment k: task k for ``h_k`` s, projected flow of ``_box.flow``) is
piecewise affine: on a fixed event sequence it is ``G -> J G + c`` with ``J`` the product of the
pieces' Jacobians (saltations included). The orbit is its fixed point:

1. *Unconstrained shortcut.* If the orbit without limits (given by the caller, or the fixed point
   of the composed affine maps) lies strictly inside and one period of the *box* flow from it has
   no event at all (the rigorous search of ``_box_events``), it is the orbit, returned as is.
2. *Semi-smooth Newton* on ``G - P(G)``: the step solves ``(I - J) s = P(G) - G`` for the current
   sequence (the affine fixed point of that sequence), backtracking on ``|P(G) - G|``, with the
   plain iterate as the fallback (``P`` is nonexpansive). Along an eigenvalue 1 of ``J`` (a common
   null direction untouched by the box: the map drifts by a constant) the step follows the drift
   to the first limit. Start: the previous period's orbit in a sweep, else the best of the rest
   point of the averaged task (the ``tau -> 0`` limit), the chained rest points (``tau -> inf``)
   and the clipped unconstrained orbit.
3. *Acceptance.* The step is below ``1e-7`` of the box scale and the corrected point reproduces
   the same event sequence with its residual at round-off (or the step stagnates at round-off on
   one sequence); or a full Newton step already landed there (the new point's own map, computed
   for the next step, has the sequence the step was computed on and a residual at round-off:
   that map is the verification). Otherwise, after ``maxit`` steps, ConvergenceError: never a
   wrong cycle.

Takes checked arrays only; public names for the theory's box engines, not part of the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..errors import ConvergenceError
from ._box import BoxTask, Piece, flow
from ._box_events import phi
from ._box_sequence import newton_step, plan, solve

__all__ = ["CycleMap", "CycleOrbit", "cycle_map", "cycle_orbit", "cycle_sweep"]

Array = NDArray[np.float64]

#: Newton's acceptance step, relative to the box scale: quadratic convergence on one sequence
#: takes a 1e-7 step to round-off in one more step, which the verification then confirms.
_STEP_ACCEPT = 1e-7
#: A residual at round-off, relative to the box scale.
_RES_ROUNDOFF = 1e-13
#: Steps below this (relative) that no longer halve count as stagnation at round-off.
_STAGNATION = 1e-9
#: Rounds of "impose the sequence, solve, verify" before the general Newton route.
_ROUNDS = 3
#: "Very long": every relaxing mode has died out (rest points of the start candidates), s.
_REST_TIME = 1e7
#: Backtracking halvings (by 4) before the plain iterate is taken.
_BACKTRACK = 5
#: Newton steps per period before ConvergenceError.
MAXIT = 60


class CycleMap(NamedTuple):
    """One period from ``G``: ``G_end``, ``starts`` (K, n) (the state at the start of each
    segment, ``starts[0] = G``), the ``pieces`` of each segment and the Jacobian (or None)."""

    G_end: Array
    starts: Array
    pieces: tuple[list[Piece], ...]
    jacobian: Array | None


class CycleOrbit(NamedTuple):
    """The periodic orbit at one schedule: ``starts`` (K, n), ``pieces`` of each segment,
    ``saturated`` (a gate pinned somewhere), ``untouched`` (the unconstrained orbit, verified to
    stay strictly inside) and the Newton ``iterations``."""

    starts: Array
    pieces: tuple[list[Piece], ...]
    saturated: bool
    untouched: bool
    iterations: int


def cycle_map(tasks: Sequence[BoxTask], hs: Array, G: Array, jacobian: bool) -> CycleMap:
    """Compose the K segment flows from ``G`` (durations ``hs`` (K,), s)."""
    starts = np.empty((len(tasks), G.size))
    pieces = []
    J = np.eye(G.size) if jacobian else None
    for k, task in enumerate(tasks):
        starts[k] = G
        fl = flow(task, G, float(hs[k]), jacobian)
        G = fl.G
        pieces.append(fl.pieces)
        if J is not None and fl.jacobian is not None:
            J = fl.jacobian @ J
    return CycleMap(G, starts, tuple(pieces), J)


def _sequence(pieces: tuple[list[Piece], ...]) -> tuple[bytes, ...]:
    """The event sequence: the pinned sets of every piece, segment by segment."""
    return tuple(b"|".join(p.side.tobytes() for p in seg) for seg in pieces)


def _saturated(cm: CycleMap) -> bool:
    return any(bool(p.side.any()) for seg in cm.pieces for p in seg)


def unconstrained_cycle(tasks: Sequence[BoxTask], hs: Array) -> Array | None:
    """Segment starts (K, n) of the orbit without box (fixed point of the composed affine maps
    ``G -> A_k G + c_k``), or None when ``I - A_K ... A_1`` is singular (a common null
    direction: no closed orbit)."""
    n = tasks[0].M.shape[0]
    maps = []
    for task, h in zip(tasks, hs, strict=True):
        blk = task.block(np.zeros(n, dtype=np.int8))
        A = (blk.V * np.exp(-blk.lam * h)) @ blk.V.T
        maps.append((A, blk.V @ (phi(blk.lam, float(h)) * (blk.V.T @ task.b))))
    Pi, c = np.eye(n), np.zeros(n)
    for A, ck in maps:
        Pi, c = A @ Pi, A @ c + ck
    K = np.eye(n) - Pi
    sv = np.linalg.svd(K, compute_uv=False)
    if sv[-1] <= 1e-13 * max(float(sv[0]), 1e-300) * n:
        return None
    starts = np.empty((len(tasks), n))
    starts[0] = np.linalg.solve(K, c)
    for k in range(1, len(tasks)):
        A, ck = maps[k - 1]
        starts[k] = A @ starts[k - 1] + ck
    return starts


def _start(tasks: Sequence[BoxTask], hs: Array, unc: Array | None) -> tuple[Array, CycleMap]:
    """The start of Newton with the smallest residual among the rest point of the averaged
    task, the chained rest points and the clipped unconstrained orbit."""
    lo, hi = tasks[0].lo, tasks[0].hi
    w = hs / hs.sum()
    avg = BoxTask(
        sum(wk * t.M for wk, t in zip(w, tasks, strict=True)),
        sum(wk * t.b for wk, t in zip(w, tasks, strict=True)),
        lo,
        hi,
        tasks[0].null_tol,
    )
    G = flow(avg, 0.5 * (lo + hi), _REST_TIME, False).G
    cands = [G]
    for task in tasks:
        G = flow(task, G, _REST_TIME, False).G
    cands.append(G)
    if unc is not None:
        cands.append(unc[0])
    best: tuple[float, Array, CycleMap] | None = None
    for c in cands:
        c = np.minimum(np.maximum(c, lo), hi)
        cm = cycle_map(tasks, hs, c, True)
        rc = float(np.max(np.abs(cm.G_end - c)))
        if best is None or rc < best[0]:
            best = (rc, c, cm)
    assert best is not None
    return best[1], best[2]


def _untouched(tasks: Sequence[BoxTask], hs: Array, unc: Array | None) -> CycleOrbit | None:
    """The unconstrained orbit if it lies strictly inside and one period has no event."""
    if unc is None:
        return None
    t0 = tasks[0]
    if not (np.all(unc > t0.lo + t0.tol_g) and np.all(unc < t0.hi - t0.tol_g)):
        return None
    cm = cycle_map(tasks, hs, unc[0], False)
    if any(len(seg) != 1 or seg[0].side.any() for seg in cm.pieces):
        return None
    return CycleOrbit(unc, cm.pieces, False, True, 0)


def _rounds(
    tasks: Sequence[BoxTask],
    hs: Array,
    G: Array,
    cm: CycleMap | None,
    hint: tuple[list[Piece], ...] | None,
    rounds: int,
    scale: float,
) -> tuple[CycleOrbit | None, Array, CycleMap | None]:
    """Up to ``rounds`` times: impose the event sequence of the pieces ``hint`` (else of the
    rigorous map ``cm`` at ``G``, computed if None), solve its fixed point
    (``_box_sequence.solve``) and map the candidate rigorously; accepted iff that map has the
    imposed sequence and a residual at round-off, else its sequence is the next one imposed.
    ``cm`` is None or the rigorous map at ``G`` (so is the returned one). Returns the orbit
    (or None), the last point and its rigorous map (or None)."""
    for k in range(rounds):
        if hint is None:
            if cm is None:
                cm = cycle_map(tasks, hs, G, True)
            hint = cm.pieces
        steps = plan(hint)
        Gs = None if steps is None else solve(tasks, hs, G, steps, 0.5 * _RES_ROUNDOFF * scale)
        if Gs is None:  # a sequence from elsewhere: impose the one at G next; else give up
            if cm is not None:
                break
            hint = None
            continue
        G, cm = Gs, cycle_map(tasks, hs, Gs, False)
        rn = float(np.max(np.abs(cm.G_end - G)))
        if rn <= _RES_ROUNDOFF * scale and _sequence(cm.pieces) == _sequence(hint):
            return CycleOrbit(cm.starts, cm.pieces, _saturated(cm), False, k + 1), G, cm
        hint = cm.pieces
    return None, G, cm


def cycle_orbit(
    tasks: Sequence[BoxTask],
    hs: Array,
    G_start: Array | None,
    unc: Array | None,
    maxit: int,
    hint: tuple[list[Piece], ...] | None = None,
) -> CycleOrbit:
    """The periodic orbit for durations ``hs`` (K,): see the module docstring.

    Long function: the Newton loop with its acceptance test and backtracking kept together.
    """
    found = _untouched(tasks, hs, unc)
    if found is not None:
        return found
    lo, hi = tasks[0].lo, tasks[0].hi
    scale = float(max(np.max(np.abs(lo)), np.max(np.abs(hi)), 1.0))
    cm: CycleMap | None = None
    if G_start is None:
        G, cm = _start(tasks, hs, unc)
        hint = cm.pieces
    else:
        G = np.minimum(np.maximum(G_start, lo), hi)
    found, G, cm = _rounds(tasks, hs, G, cm, hint, min(_ROUNDS, maxit - 1), scale)
    if found is not None:
        return found
    if cm is None or cm.jacobian is None:
        cm = cycle_map(tasks, hs, G, True)
    r = cm.G_end - G
    rn = float(np.max(np.abs(r)))
    prev_seq: tuple[bytes, ...] | None = None
    prev_sn = np.inf
    for it in range(1, maxit + 1):
        assert cm.jacobian is not None
        seq = _sequence(cm.pieces)
        if seq == prev_seq and rn <= _RES_ROUNDOFF * scale:  # the last step landed: verified
            return CycleOrbit(cm.starts, cm.pieces, _saturated(cm), False, it - 1)
        s = newton_step(cm.jacobian, r, G, lo, hi)
        sn = float(np.max(np.abs(s)))
        floor = _STAGNATION * scale >= sn >= 0.5 * prev_sn
        if sn <= _STEP_ACCEPT * scale or floor:
            Gf = np.minimum(np.maximum(G + s, lo), hi)
            fin = cycle_map(tasks, hs, Gf, True)  # the Jacobian: the next iterate if rejected
            rf = float(np.max(np.abs(fin.G_end - Gf)))
            ok = rf <= _RES_ROUNDOFF * scale or (floor and rf <= rn) or rf <= 1e-3 * sn * sn
            if _sequence(fin.pieces) == seq and ok:
                return CycleOrbit(fin.starts, fin.pieces, _saturated(fin), False, it)
            if seq == prev_seq and floor:
                return CycleOrbit(cm.starts, cm.pieces, _saturated(cm), False, it)
            if rf <= (1 - 1e-4) * rn:  # a full step that decreased the residual: take it
                prev_seq, prev_sn = seq, sn
                G, cm, r, rn = Gf, fin, fin.G_end - Gf, rf
                continue
        prev_seq, prev_sn = seq, sn
        lam, Gt, trial = 1.0, G, cm
        for k in range(_BACKTRACK + 1):
            if k == _BACKTRACK:  # the plain iterate (P is nonexpansive)
                Gt = np.minimum(np.maximum(cm.G_end, lo), hi)
                trial = cycle_map(tasks, hs, Gt, True)
                break
            Gt = np.minimum(np.maximum(G + lam * s, lo), hi)
            trial = cycle_map(tasks, hs, Gt, k == 0)  # the Jacobian only where likely kept
            rtn = float(np.max(np.abs(trial.G_end - Gt)))
            if rtn <= (1 - 1e-4 * lam) * rn or rtn <= 1e3 * _RES_ROUNDOFF * scale:
                if trial.jacobian is None:
                    trial = cycle_map(tasks, hs, Gt, True)
                break
            lam *= 0.25
        G, cm = Gt, trial
        r = cm.G_end - G
        rn = float(np.max(np.abs(r)))
    raise ConvergenceError(
        f"No periodic orbit found in the gate box at the durations {np.round(hs, 12).tolist()} "
        f"s: after {maxit} Newton steps the residual |P(G0) - G0| is {rn:.3g} V and the event "
        "sequence has not settled."
    )


def cycle_sweep(
    tasks: Sequence[BoxTask], H: Array, unc: Array | None, maxit: int = MAXIT
) -> list[CycleOrbit]:
    """Orbits for the schedules ``H`` (T, K), in increasing order of the period with the
    previous saturated orbit as Newton's start; ``unc`` (T, K, n) the unconstrained orbits (None
    rows computed here). The free blocks' eigendecompositions are cached per task and shared."""
    order = np.argsort(H.sum(axis=1), kind="stable")
    out: list[CycleOrbit | None] = [None] * H.shape[0]
    hist: list[tuple[float, Array]] = []  # (log tau, G0) of the last saturated orbits
    hint: tuple[list[Piece], ...] | None = None  # the pieces of the last one
    for i in order:
        u = unc[i] if unc is not None else None
        if u is None or not np.all(np.isfinite(u)):
            u = unconstrained_cycle(tasks, H[i])
        x = float(np.log(H[i].sum()))
        orb = cycle_orbit(tasks, H[i], _predict(hist, x), u, maxit, hint if hist else None)
        out[i] = orb
        hist = [*hist, (x, orb.starts[0])][-2:] if orb.saturated else []
        hint = orb.pieces
    return [o for o in out if o is not None]


def _predict(hist: list[tuple[float, Array]], x: float) -> Array | None:
    """Newton's start from the previous periods of a sweep: the last orbit, or the secant
    through the last two in ``log tau`` (a warm start only; the result is verified)."""
    if not hist:
        return None
    if len(hist) == 1 or hist[1][0] == hist[0][0]:
        return hist[-1][1]
    (x0, g0), (x1, g1) = hist
    return g1 + (g1 - g0) * ((x - x1) / (x1 - x0))
