"""Engine of the gate box: the first root of the event functions of a piece, with guaranteed
bracketing, all rows searched together.

Inside one piece of the projected flow (a fixed set of pinned gates, see ``_box.py``) the free
gates move as ``G_F(t) = G_F(0) + V (gamma * phi(t))`` with ``phi_k(t) = (1 - exp(-lam_k t)) /
lam_k`` (``t`` for ``lam_k = 0``; the caller merges all null modes into one column). Every event
function, a free gate's distance past a limit or a pinned gate's inward velocity, is then

    f(t) = f(0) + sum_k E_k phi_k(t),

a sum of *monotone* terms: ``phi_k`` increases and ``phi_k' = exp(-lam_k t)`` decreases. Split
``E = E+ + E-`` by sign; on any interval ``[a, b]``

    f <= f(0) + E+ . phi(b) + E- . phi(a),
    E+ . e(b) + E- . e(a) <= f' <= E+ . e(a) + E- . e(b),

rigorous enclosures of ``f`` and ``f'`` (``e = exp(-lam t)``). :func:`next_event` screens all
rows on a grid with these enclosures, then refines the surviving (row, interval) pairs together,
level by level (:func:`_search`): an interval is *excluded* only by the enclosures (its upper
bound at most the tolerance; or ``f`` monotone by the ``f'`` enclosure with no crossing at its
ends; or the rigorous second-order exclusion step of :func:`_exclusion`), otherwise it is split;
samples only shrink the search (a sampled ``f(t_j) > tol`` proves a crossing before ``t_j``, so
intervals starting later are dropped). No root can thus be missed between samples. An interval
on which ``f`` increases (``f' >= 0`` by the enclosure) with ``f(a) < 0 < f(b)`` brackets its
row's root; the brackets that can hold the earliest root are refined together by a safeguarded
Newton step (``f' = E . e`` comes with ``phi`` from one exponential; a step leaving the bracket
is replaced by bisection, and the bracket shrinks at every step) to 4 ulps.

Takes checked arrays only; public names for the theory's box engines, not part of the API.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["Grid", "bracket_root", "make_grid", "next_event", "phi", "phi_grid"]

Array = NDArray[np.float64]
Index = NDArray[np.intp]

#: Relative tolerance on an event time: 4 ulps, the root is then machine-exact.
_ROOT_RTOL = 4 * float(np.finfo(float).eps)
#: Samples per decade of the screen's grid (from 1e-6 / lam_max): about the density of the 40
#: samples over the ~10 decades of a long search before, fine enough that the enclosures drop
#: most rows on every grid interval at once.
_PER_DECADE = 5
#: The grid's last time, s (longer searches end with one long interval, refined as any other).
_GRID_END = 1e8
#: An exclusion step shorter than this fraction of its interval is not taken (bisect instead).
_MIN_EXCLUSION = 0.01
#: Newton steps on a bracket before every further step is a bisection (a double root makes
#: Newton linear; bisection then ends it in at most ~60 halvings of the bracket).
_NEWTON_STEPS = 40


def phi(lam: Array, t: float) -> Array:
    """``(1 - exp(-lam t)) / lam`` from ``expm1``, ``t`` where ``lam == 0`` (shape of ``lam``)."""
    return np.divide(-np.expm1(-lam * t), lam, out=np.full(lam.shape, t), where=lam > 0)


def phi_grid(lam: Array, ts: Array) -> Array:
    """:func:`phi` at several times ``ts`` (m,): shape (k, m)."""
    out = np.repeat(ts[None, :], lam.size, axis=0)
    return np.divide(-np.expm1(-np.outer(lam, ts)), lam[:, None], out=out, where=lam[:, None] > 0)


def _at(lam: Array, t: Array) -> tuple[Array, Array]:
    """``phi`` and ``e = exp(-lam t)`` at the times ``t`` (p,): two (p, k) arrays."""
    x = np.multiply.outer(-t, lam)
    out = np.repeat(t[:, None], lam.size, axis=1)
    return np.divide(-np.expm1(x), lam, out=out, where=lam > 0), np.exp(x)


class _Rows(NamedTuple):
    """The candidate rows: ``f0`` (r,), ``E`` (r, k) and its parts ``Ep = max(E, 0)``, ``En =
    min(E, 0)``, ``A2 = max(-lam E, 0)`` (the growing terms of ``f''``), tolerances, rates."""

    f0: Array
    E: Array
    Ep: Array
    En: Array
    A2: Array
    tol: Array
    lam: Array


def _value(R: _Rows, r: Index, t: Array) -> Array:
    """``f_r(t)`` for rows ``r`` (p,) at times ``t`` (p,)."""
    return R.f0[r] + np.einsum("pk,pk->p", R.E[r], _at(R.lam, t)[0])


def _exclusion(R: _Rows, r: Index, ea: Array, c: Array) -> Array:
    """Lengths ``d`` of ``[a, a + d]`` where ``f <= tol`` is guaranteed (``c = f(a) - tol <
    0``): the quadratic upper model ``f(a) + f'(a) d + D2 d^2 / 2`` with the rigorous bound
    ``f'' <= D2 = sum max(-lam E, 0) exp(-lam a)`` on ``[a, inf)`` (each term of ``f''`` is
    monotone); ``inf`` when the model never rises, 0 where ``c >= 0``."""
    d1 = np.einsum("pk,pk->p", R.E[r], ea)
    D2 = np.einsum("pk,pk->p", R.A2[r], ea)
    with np.errstate(divide="ignore", invalid="ignore"):
        quad = (-d1 + np.sqrt(np.maximum(d1 * d1 - 2.0 * D2 * c, 0.0))) / D2
        lin = np.where(d1 <= 0, np.inf, -c / d1)
    return np.where(c >= 0, 0.0, np.where(D2 > 0, quad, lin))


def bracket_root(
    f0: float, E: Array, lam: Array, a: float, b: float, fa: float, fb: float
) -> float:
    """The root in the bracket ``[a, b]`` of an increasing row (``fa < 0 < fb``) to 4 ulps: a
    safeguarded Newton step from the regula-falsi point (``f`` and ``f'`` from one ``expm1``
    per mode), the bracket updated at every step; a step leaving it, or any step after
    ``_NEWTON_STEPS``, is a bisection; a Newton step that rounds to no step at all ends the
    search there (without that test a root approached from an end of the bracket was bisected
    again from the middle: up to ~50 more evaluations). Scalar arithmetic: a bracket is refined
    alone."""
    terms = [(float(lk), float(ek), lk > 0) for lk, ek in zip(lam, E, strict=True) if ek != 0.0]
    t = min(max(a - fa * (b - a) / (fb - fa), a), b)
    for it in range(_NEWTON_STEPS + 200):
        f, fp = f0, 0.0
        for lk, ek, relax in terms:
            if relax:
                em = math.expm1(-lk * t)
                f -= ek * em / lk
                fp += ek * (1.0 + em)
            else:
                f += ek * t
                fp += ek
        if f == 0.0:
            return t
        if f > 0.0:
            b = t
        else:
            a = t
        if fp > 0.0 and it < _NEWTON_STEPS:
            tn = t - f / fp
            if tn == t:  # a Newton step below half an ulp of t: t is the root to round-off
                return t
        else:
            tn = a - 1.0
        if not a < tn < b:
            tn = 0.5 * (a + b)
        if abs(tn - t) <= _ROOT_RTOL * t or b - a <= _ROOT_RTOL * b:
            return tn
        t = tn
    return b  # unreachable: bisection halves the bracket


#: (alive, f' lower bound, f' upper bound, short) of a set of intervals.
_Enclosure = tuple[NDArray[np.bool_], Array, Array, NDArray[np.bool_]]


class _State:
    """The search so far: ``best`` the earliest crossing known exactly (at an interval's end),
    ``bound`` a time no crossing is later than (intervals starting there are dropped), the
    ``brackets`` (rows, a, b, f(a), f(b)) of increasing rows with a crossing inside."""

    def __init__(self, bound: float) -> None:
        self.best = np.inf
        self.bound = bound
        self.brackets: list[tuple[Index, Array, Array, Array, Array]] = []

    def classify(
        self, r: Index, a: Array, b: Array, fa: Array, fb: Array, tol: Array, encl: _Enclosure
    ) -> NDArray[np.bool_]:
        """Decide the intervals (any shape) by the enclosures ``encl`` = (alive: upper bound of
        ``f`` above ``tol``, ``f'`` lower bound, ``f'`` upper bound, shorter than ``t_tiny``);
        record the crossings and return the undecided (non-monotone, alive) intervals."""
        alive, dlo, dhi, short = encl
        dec = alive & (dhi <= 0.0) & ~short  # non-increasing: the maximum is at a
        mono = alive & ~dec & ((dlo >= 0.0) | short)
        cross = mono & (fb > 0.0) & ((fb > tol) | (dlo >= 0.0))
        at_a = (dec & (fa > tol)) | (cross & (fa >= 0.0))
        at_b = cross & (fa < 0.0) & short
        brk = cross & (fa < 0.0) & ~short
        self.best = min(
            self.best,
            float(a.min(initial=np.inf, where=at_a)),
            float(b.min(initial=np.inf, where=at_b)),
        )
        if brk.any():
            self.brackets.append((r[brk], a[brk], b[brk], fa[brk], fb[brk]))
            self.bound = min(self.bound, float(b.min(initial=np.inf, where=brk)))
        rest = alive & ~dec & ~mono
        # a crossing is known in [a, b] where f(b) > tol
        self.bound = min(self.bound, float(b.min(initial=np.inf, where=rest & (fb > tol))))
        return rest

    def finish(self, R: _Rows) -> float | None:
        """The earliest crossing: the exact ones and the roots of the brackets that can hold
        an earlier one, refined in order of their start."""
        best = self.best
        if self.brackets:
            if len(self.brackets) == 1:
                rb, ab, bb, fab, fbb = self.brackets[0]
            else:
                rb, ab, bb, fab, fbb = (np.concatenate(x) for x in zip(*self.brackets, strict=True))
            for q in np.argsort(ab, kind="stable"):
                if ab[q] >= best:
                    break
                row = int(rb[q])
                t = bracket_root(float(R.f0[row]), R.E[row], R.lam, ab[q], bb[q], fab[q], fbb[q])
                best = min(best, t)
        return best if np.isfinite(best) else None


def _search(
    R: _Rows,
    st: _State,
    r: Index,
    a: Array,
    b: Array,
    fa: Array,
    fb: Array,
    ea: Array,
    t_tiny: float,
) -> None:
    """Refine the undecided intervals ``[a, b]`` of rows ``r`` (values ``fa``, ``fb`` at their
    ends, ``ea = exp(-lam a)``) level by level into ``st``: each one is shortened by the
    exclusion step or bisected, and the parts starting before ``st``'s bound are classified
    again. At a double root (a tangency) bisection ends at intervals of ``t_tiny``, accepted iff
    ``f(b) > tol``."""
    while r.size:
        d = _exclusion(R, r, ea, fa - R.tol[r])
        ex = d >= _MIN_EXCLUSION * (b - a)
        go = ex & (a + d < b)
        bis = ~ex
        m = 0.5 * (a[bis] + b[bis])
        ts = np.concatenate([a[go] + d[go], m])
        fe = _value(R, np.concatenate([r[go], r[bis]]), ts)
        ng = int(np.count_nonzero(go))
        r = np.concatenate([r[go], r[bis], r[bis]])
        a, b = np.concatenate([ts[:ng], a[bis], m]), np.concatenate([b[go], m, b[bis]])
        fa = np.concatenate([fe[:ng], fa[bis], fe[ng:]])
        fb = np.concatenate([fb[go], fe[ng:], fb[bis]])
        keep = a < min(st.bound, st.best)
        r, a, b, fa, fb = r[keep], a[keep], b[keep], fa[keep], fb[keep]
        if not r.size:
            return
        pa, ea = _at(R.lam, a)
        pb, eb = _at(R.lam, b)
        Ep, En, tol = R.Ep[r], R.En[r], R.tol[r]
        encl = (
            R.f0[r] + np.einsum("pk,pk->p", Ep, pb) + np.einsum("pk,pk->p", En, pa) > tol,
            np.einsum("pk,pk->p", Ep, eb) + np.einsum("pk,pk->p", En, ea),
            np.einsum("pk,pk->p", Ep, ea) + np.einsum("pk,pk->p", En, eb),
            b - a <= t_tiny,
        )
        rest = st.classify(r, a, b, fa, fb, tol, encl)
        r, a, b, fa, fb, ea = r[rest], a[rest], b[rest], fa[rest], fb[rest], ea[rest]


class Grid(NamedTuple):
    """The screen's sample times of one set of rates ``lam``: ``ts`` (a list: 0, then
    ``_PER_DECADE`` log-spaced per decade from ``1e-6 / lam_max``, where the fastest mode is
    resolved, to ``_GRID_END``; only 0 without a relaxing mode), with ``PH = phi`` and ``EX =
    exp(-lam t)`` there, (k, len(ts)); a search over ``[0, rem]`` uses the times below ``rem``
    and ``rem`` itself. Built once per free block."""

    lam: Array
    ts: list[float]
    PH: Array
    EX: Array


def make_grid(lam: Array) -> Grid:
    """The :class:`Grid` of the rates ``lam``."""
    lam_max = float(lam.max()) if lam.size else 0.0
    if lam_max > 0:
        l0 = math.log10(1e-6 / lam_max)
        count = max(math.ceil((math.log10(_GRID_END) - l0) * _PER_DECADE), 1)
        ts = np.concatenate([[0.0], 10.0 ** (l0 + np.arange(count + 1) / _PER_DECADE)])
    else:
        ts = np.zeros(1)
    return Grid(lam, ts.tolist(), phi_grid(lam, ts), np.exp(-np.outer(lam, ts)))


def next_event(
    f0: Array, E: Array, grid: Grid, rem: float, tols: Array, t_tiny: float
) -> float | None:
    """First time in ``(0, rem]`` where any row ``f_r(t) = f0[r] + E[r] . phi(t)`` exceeds zero
    (by more than ``tols[r]`` unless it rises through zero), or None: all rows screened on the
    grid's times below ``rem`` and ``rem`` with the enclosures at once, then the live (row,
    interval) pairs refined together; a sampled crossing bounds the search (and if it is not
    confirmed, a tolerance edge, the whole span is searched again)."""
    lam = grid.lam
    Ep = np.maximum(E, 0.0)
    ph_rem = phi(lam, rem)
    cand = np.flatnonzero(f0 + Ep @ ph_rem > tols)
    if cand.size == 0:
        return None
    Ec = E[cand]
    R = _Rows(f0[cand], Ec, Ep[cand], Ec - Ep[cand], np.maximum(-lam * Ec, 0.0), tols[cand], lam)
    m = bisect_left(grid.ts, rem)  # grid times below rem (t = 0 among them)
    ts = np.array([*grid.ts[:m], rem])
    ex_rem = np.exp(-lam * rem)
    W = np.concatenate([grid.PH[:, :m], ph_rem[:, None], grid.EX[:, :m], ex_rem[:, None]], axis=1)
    # one product for the values, the upper bounds of f and the bounds of f' on every interval
    nc, m1 = cand.size, m + 1
    out = np.concatenate([R.Ep, R.En]) @ W
    Pp, Pn = out[:nc], out[nc:]
    vals = R.f0[:, None] + (Pp[:, :m1] + Pn[:, :m1])
    tc = R.tol[:, None]
    pos = np.flatnonzero((vals[:, 1:] > tc).any(axis=0))
    st = _State(float(ts[1 + pos[0]]) if pos.size else rem)
    r = np.arange(nc)[:, None].repeat(m, axis=1)
    a, b = ts[None, :-1].repeat(nc, axis=0), ts[None, 1:].repeat(nc, axis=0)
    encl = (
        R.f0[:, None] + Pp[:, 1:m1] + Pn[:, :m] > tc,
        Pp[:, m1 + 1 :] + Pn[:, m1:-1],
        Pp[:, m1:-1] + Pn[:, m1 + 1 :],
        (ts[None, 1:] - ts[None, :-1]) <= t_tiny,
    )
    rest = st.classify(r, a, b, vals[:, :-1], vals[:, 1:], tc, encl)
    rest &= a < min(st.bound, st.best)
    if rest.any():
        ri, ji = np.nonzero(rest)
        ea = W[:, m1 + ji].T  # exp(-lam a) at the intervals' starts
        _search(R, st, ri, ts[ji], ts[ji + 1], vals[ri, ji], vals[ri, ji + 1], ea, t_tiny)
    t = st.finish(R)
    if (t is None and st.bound < rem) or (t is not None and t > st.bound):  # a tolerance edge
        return _full_search(R, rem, t_tiny)
    return t


def _full_search(R: _Rows, rem: float, t_tiny: float) -> float | None:
    """The search over the whole ``[0, rem]`` of every row, without the screen's sampled bound."""
    st = _State(rem)
    r = np.arange(R.f0.size)
    a, b = np.zeros(r.size), np.full(r.size, rem)
    fb = _value(R, r, b)
    pb, eb = _at(R.lam, b)
    ea = np.ones_like(eb)
    encl = (
        R.f0 + np.einsum("pk,pk->p", R.Ep, pb) > R.tol,
        np.einsum("pk,pk->p", R.Ep, eb) + R.En.sum(axis=1),
        R.Ep.sum(axis=1) + np.einsum("pk,pk->p", R.En, eb),
        b - a <= t_tiny,
    )
    rest = st.classify(r, a, b, R.f0, fb, R.tol, encl)
    if rest.any():
        _search(R, st, r[rest], a[rest], b[rest], R.f0[rest], fb[rest], ea[rest], t_tiny)
    return st.finish(R)
