"""Engine of the gate box: the first root of an event function, with guaranteed bracketing.

Inside one piece of the projected flow (a fixed set of pinned gates, see ``_box.py``) the free
gates move as ``G_F(t) = G_F(0) + V (gamma * phi(t))`` with ``phi_k(t) = (1 - exp(-lam_k t)) /
lam_k`` (``t`` for ``lam_k = 0``). Every event function, a free gate's distance past a limit or a
pinned gate's inward velocity, is then

    f(t) = f(0) + sum_k E_k phi_k(t),

a sum of *monotone* terms: ``phi_k`` increases and ``phi_k' = exp(-lam_k t)`` decreases. Split
``E = E+ + E-`` by sign; on any interval ``[a, b]``

    f <= f(0) + E+ . phi(b) + E- . phi(a),
    E+ . e(b) + E- . e(a) <= f' <= E+ . e(a) + E- . e(b),

rigorous enclosures of ``f`` and ``f'`` (``e = exp(-lam t)``). :func:`first_crossing` visits
intervals from left to right and *excludes* an interval only by these enclosures, so no root can
be missed between samples; samples only shrink the search (a sampled ``f(t_j) > tol`` proves a
crossing before ``t_j``). :func:`next_event` screens all rows of a piece at once on a grid with the
same enclosures and then searches the surviving rows.

Takes checked arrays only; public names for the theory's box engines, not part of the API.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

__all__ = ["first_crossing", "next_event", "phi", "phi_grid"]

Array = NDArray[np.float64]

#: brentq's relative tolerance on an event time: 4 ulps, the root is then machine-exact.
_ROOT_RTOL = 4 * float(np.finfo(float).eps)
#: Grid of the vectorized screen: 40 log-spaced samples from 1e-6 / lam_max to the end (plus 0),
#: fine enough that the enclosure drops most rows on every grid interval at once.
_UNIT = np.linspace(0.0, 1.0, 40)
#: An exclusion step shorter than this fraction of its interval is not taken (bisect instead).
_MIN_EXCLUSION = 0.01


def phi(lam: Array, t: float) -> Array:
    """``(1 - exp(-lam t)) / lam`` from ``expm1``, ``t`` where ``lam == 0`` (shape of ``lam``)."""
    out = -np.expm1(-lam * t) / np.where(lam > 0, lam, 1.0)
    out[lam <= 0] = t
    return out


def phi_grid(lam: Array, ts: Array) -> Array:
    """:func:`phi` at several times ``ts`` (m,): shape (k, m)."""
    out = -np.expm1(-np.outer(lam, ts)) / np.where(lam > 0, lam, 1.0)[:, None]
    out[lam <= 0, :] = ts[None, :]
    return out


def _exclusion(fa: float, E: Array, lam: Array, ea: Array, tol: float) -> float:
    """Length ``d`` of ``[a, a + d]`` where ``f <= tol`` is guaranteed: the quadratic upper
    model ``f(a) + f'(a) d + D2 d^2 / 2`` with the rigorous bound ``f'' <= D2 = sum max(-lam E,
    0) exp(-lam a)`` on ``[a, inf)`` (each term of ``f''`` is monotone)."""
    d1 = float(E @ ea)
    D2 = float(np.maximum(-lam * E, 0.0) @ ea)
    c = fa - tol
    if D2 > 0:
        return float((-d1 + np.sqrt(d1 * d1 - 2.0 * D2 * c)) / D2)
    return float(np.inf) if d1 <= 0 else -c / d1


def first_crossing(
    f0: float,
    E: Array,
    lam: Array,
    T: float,
    tol: float,
    t_tiny: float,
    a0: float = 0.0,
    fa0: float | None = None,
) -> float | None:
    """Earliest ``t`` in ``(a0, T]`` where ``f(t) = f0 + E . phi(t)`` exceeds zero, or None.

    ``f0 <= tol`` (a consistent state), ``lam >= 0``; excursions above zero by at most ``tol``
    are ignored (round-off grazing); ``[0, a0]`` is known to hold no crossing and ``fa0`` is
    ``f(a0)``. Intervals whose upper enclosure is ``<= tol`` are dropped; on an interval where
    ``f'`` has a sign, ``f`` is monotone and holds a crossing iff ``f(b) > 0``, which brackets the
    first root for ``brentq`` (4 ulps); otherwise a second-order exclusion step or a bisection.
    At a double root (a tangency) bisection ends at intervals of ``t_tiny``, accepted iff
    ``f(b) > tol``.

    Long function: the interval stack is kept in one frame (it runs in the innermost loop).
    """
    Ep, En = np.maximum(E, 0.0), np.minimum(E, 0.0)
    inv = -1.0 / np.where(lam > 0, lam, 1.0)
    null = lam <= 0
    has_null = bool(null.any())

    def ph(t: float) -> Array:
        out = np.expm1(-lam * t) * inv
        if has_null:
            out[null] = t
        return out

    def f(t: float) -> float:
        return f0 + float(E @ ph(t))

    if a0 >= T:
        return None
    stack: list[tuple[float, float, float, float | None]] = [
        (a0, T, f0 if fa0 is None else fa0, None)
    ]
    while stack:
        a, b, fa, fb = stack.pop()
        pa, pb = ph(a), ph(b)
        if f0 + Ep @ pb + En @ pa <= tol:
            continue
        if fb is None:
            fb = f(b)
        ea, eb = np.exp(-lam * a), np.exp(-lam * b)
        dlo = float(Ep @ eb + En @ ea)
        dhi = float(Ep @ ea + En @ eb)
        short = b - a <= t_tiny
        if dlo >= 0.0 or dhi <= 0.0 or short:
            if dhi <= 0.0 and not short:  # non-increasing: the maximum is at a
                if fa > tol:
                    return a
                continue
            if fb > 0.0 and (fb > tol or dlo >= 0.0):
                if fa >= 0.0:
                    return a
                if short:
                    return b
                return float(brentq(f, a, b, xtol=1e-300, rtol=_ROOT_RTOL, maxiter=200))
            continue
        if fa < tol:
            d = _exclusion(fa, E, lam, ea, tol)
            if d >= _MIN_EXCLUSION * (b - a):
                if a + d < b:
                    stack.append((a + d, b, f(a + d), fb))
                continue
        m = 0.5 * (a + b)
        fm = f(m)
        stack.append((m, b, fm, fb))
        stack.append((a, m, fa, fm))
    return None


def _grid(lam: Array, rem: float) -> Array:
    """Sample times ``0 = t_0 < ... < t_m = rem`` of the screen: log-spaced from ``1e-6 /
    lam_max`` where the fastest mode is resolved, else uniform."""
    lam_max = float(lam[-1]) if lam.size else 0.0
    t_lo = min(rem, 1e-3 / lam_max) if lam_max > 0 else rem
    if t_lo < rem:
        l0 = np.log(t_lo * 1e-3)
        ts = np.concatenate([[0.0], np.exp(l0 + _UNIT * (np.log(rem) - l0))])
    else:
        ts = np.linspace(0.0, rem, 41)
    ts[-1] = rem
    return ts


def next_event(
    f0: Array, E: Array, lam: Array, rem: float, tols: Array, t_tiny: float
) -> float | None:
    """First time in ``(0, rem]`` where any row ``f_r(t) = f0[r] + E[r] . phi(t)`` exceeds zero
    (by more than ``tols[r]``), or None: all rows screened on a grid with the enclosures of
    :func:`first_crossing` at once, then the surviving rows searched in order of their first
    possible crossing (each search bounded by the best time so far)."""
    ub = f0 + np.maximum(E, 0.0) @ phi(lam, rem)
    cand = np.flatnonzero(ub > tols)
    if cand.size == 0:
        return None
    ts = _grid(lam, rem)
    Ph = phi_grid(lam, ts)
    Ec = E[cand]
    vals = f0[cand, None] + Ec @ Ph
    ubg = f0[cand, None] + np.maximum(Ec, 0.0) @ Ph[:, 1:] + np.minimum(Ec, 0.0) @ Ph[:, :-1]
    tc = tols[cand, None]
    live = ubg > tc
    pos = vals[:, 1:] > tc
    t_ev, hit = rem, False
    if pos.any():  # a sampled crossing bounds the event time
        t_ev = float(ts[int(np.min(np.argmax(pos, axis=1)[pos.any(axis=1)])) + 1])
    rows = np.flatnonzero(live.any(axis=1))
    first = np.argmax(live[rows], axis=1)
    for q in np.argsort(first, kind="stable"):
        r, jr = cand[rows[q]], int(first[q])
        a0 = float(ts[jr])
        if hit and a0 >= t_ev:
            break
        t = first_crossing(
            float(f0[r]), E[r], lam, t_ev, float(tols[r]), t_tiny, a0, float(vals[rows[q], jr])
        )
        if t is not None and (t < t_ev or not hit):
            t_ev, hit = t, True
    if not hit and t_ev < rem:  # a sampled excursion not confirmed (tolerance edge): full search
        t_ev = rem
        for r in cand:
            t = first_crossing(float(f0[r]), E[r], lam, t_ev, float(tols[r]), t_tiny)
            if t is not None and (t < t_ev or not hit):
                t_ev, hit = t, True
    return t_ev if hit else None
