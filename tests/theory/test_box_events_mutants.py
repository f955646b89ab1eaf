"""Tests that bite the event search of the gate box (``_box_events.py``; issue 18, item 4).

The search's parts are held to their documented contracts, each against an independent
reference: ``_at``/``_value`` against the closed form of ``phi``; the exclusion step against the
positive root of its quadratic model (``numpy.roots``) and a dense scan of the row (``f <= tol``
on the whole step: the step is rigorous); the classification of intervals against the rules
stated in ``_State`` (one interval per rule, at each rule's boundary); ``bracket_root`` against
``brentq`` on slow modes (``lam < 1``); ``next_event`` against a dense scan on random rows.
``tests/mutation/run_mutation.py`` (target ``box_events``) reports which mutants they kill.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from clln_theory.theory._box_events import (
    _at,
    _exclusion,
    _full_search,
    _Rows,
    _State,
    _value,
    bracket_root,
    make_grid,
    next_event,
)

#: Closed forms evaluated two ways (expm1 in the engine, the plain formula here): the plain
#: formula loses ~eps / (lam t) relative, below 1e-12 for the lam t >= 1e-3 used here.
CLOSED_RTOL = 1e-12
#: The engine refines a root to 4 ulps; 16 ulps for evaluating f near the root.
ROOT_RTOL = 16 * np.finfo(float).eps


def _rows(f0, E, lam, tol=1e-13):
    f0, E, lam = (
        np.atleast_1d(np.asarray(f0, float)),
        np.atleast_2d(E).astype(float),
        np.asarray(lam, float),
    )
    Ep = np.maximum(E, 0.0)
    return _Rows(f0, E, Ep, E - Ep, np.maximum(-lam * E, 0.0), np.full(f0.size, tol), lam)


def _f(R, row, t):
    """The row's value from the plain closed form (no engine code)."""
    lam = R.lam
    ph = np.array([t if lk == 0 else (1 - np.exp(-lk * t)) / lk for lk in lam])
    return R.f0[row] + R.E[row] @ ph


def test_at_and_value_are_the_closed_forms():
    lam = np.array([0.0, 0.5, 3.0])  # a null mode, a slow one (lam < 1), a fast one
    t = np.array([0.0, 0.7, 2.0])
    ph, e = _at(lam, t)
    for i, ti in enumerate(t):
        ref = [ti, (1 - np.exp(-0.5 * ti)) / 0.5, (1 - np.exp(-3.0 * ti)) / 3.0]
        np.testing.assert_allclose(ph[i], ref, rtol=CLOSED_RTOL, atol=0)
        np.testing.assert_allclose(e[i], np.exp(-lam * ti), rtol=CLOSED_RTOL, atol=0)
    R = _rows([-1.0, 0.5], [[1.0, -2.0, 3.0], [0.0, 4.0, -1.0]], lam)
    r = np.array([1, 0, 1])
    ref = [_f(R, ri, ti) for ri, ti in zip(r, t, strict=True)]
    np.testing.assert_allclose(_value(R, r, t), ref, rtol=CLOSED_RTOL)


def _model_root(c, d1, D2):
    """The first positive root of c + d1 d + D2 d^2 / 2 (numpy.roots), inf without one."""
    roots = np.roots([D2 / 2, d1, c]) if D2 else (np.array([-c / d1]) if d1 else np.array([]))
    real = [x.real for x in np.atleast_1d(roots) if abs(x.imag) < 1e-300 and x.real > 0]
    return min(real, default=np.inf)


@pytest.mark.parametrize(
    "f0, E, lam, a",
    [
        (-1.0, [-1.0, 3.0], [0.5, 2.0], 0.3),  # f'' <= D2 in (0, 1): the quadratic step
        (-0.02, [-0.1, 0.3], [0.5, 2.0], 0.0),  # a discriminant below 1
        (-1.0, [0.5], [1.0], 0.2),  # D2 = 0, 0 < f'(a) < 1: the linear step -c / f'(a)
        (-1.0, [0.0, 2.0], [0.0, 0.0], 0.2),  # null modes only: D2 = 0, linear
        (-1.0, [-0.5], [0.0], 0.0),  # D2 = 0, f' < 0: never rises, inf
        (-1.0, [0.0], [1.0], 0.0),  # D2 = 0, f' = 0 exactly: inf
    ],
)
def test_the_exclusion_step_is_its_model_root_and_rigorous(f0, E, lam, a):
    """The step is the first root of the quadratic upper model of f - tol from a (inf when it
    never rises), and f stays below tol on the whole step (a dense scan of the closed form)."""
    R = _rows(f0, [E], lam, tol=1e-3)
    r = np.array([0])
    ea = np.exp(-R.lam * a)[None, :]
    c = _f(R, 0, a) - R.tol[0]
    d = _exclusion(R, r, ea, np.array([c]))
    d1 = float(R.E[0] @ ea[0])
    D2 = float(np.maximum(-R.lam * R.E[0], 0.0) @ ea[0])
    ref = _model_root(c, d1, D2)
    if np.isinf(ref):
        assert d[0] == np.inf
        span = 50.0
    else:
        assert d[0] == pytest.approx(ref, rel=1e-12)
        span = d[0]
    s = np.linspace(0.0, span, 2001)
    assert max(_f(R, 0, a + x) for x in s) <= R.tol[0] + 1e-15


def test_no_exclusion_from_a_point_at_or_past_the_tolerance():
    """c = f(a) - tol >= 0 (0 exactly included): no step, whatever the model does after."""
    R = _rows(-1.0, [[-1.0, 3.0]], [0.5, 2.0])
    ea = np.exp(-R.lam * 0.3)[None, :].repeat(3, axis=0)
    d = _exclusion(R, np.zeros(3, np.intp), ea, np.array([0.0, 0.5, 2.0]))
    np.testing.assert_array_equal(d, [0.0, 0.0, 0.0])
    R = _rows(-1.0, [[-1.0]], [0.5])  # falling, f'' > 0: from c = 0 the model is back at 0
    d = _exclusion(R, np.zeros(1, np.intp), np.ones((1, 1)), np.array([0.0]))
    assert d[0] == 0.0


TOL = 1e-3


def _classify(fa, fb, alive=True, dlo=-1.0, dhi=1.0, short=False, a=1.0, b=2.0):
    st = _State(10.0)
    one = np.ones(1)
    rest = st.classify(
        np.array([7]),
        a * one,
        b * one,
        fa * one,
        fb * one,
        TOL * one,
        (np.array([alive]), dlo * one, dhi * one, np.array([short])),
    )
    brk = [(int(x[0][0]), float(x[1][0]), float(x[2][0])) for x in st.brackets]
    return bool(rest[0]), st.best, st.bound, brk


NONE = (False, np.inf, 10.0, [])


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # dropped: the upper bound of f stays below tol
        ({"fa": 1.0, "fb": 1.0, "alive": False}, NONE),
        # non-increasing (f' <= 0, 0 included): a crossing at a iff f(a) > tol
        ({"fa": 2 * TOL, "fb": -1.0, "dhi": 0.0}, (False, 1.0, 10.0, [])),
        ({"fa": TOL, "fb": -1.0, "dhi": 0.0}, NONE),
        # increasing (f' >= 0, 0 included): a bracket, even for f(b) within (0, tol]
        ({"fa": -1.0, "fb": TOL / 2, "dlo": 0.0}, (False, np.inf, 2.0, [(7, 1.0, 2.0)])),
        ({"fa": -1.0, "fb": 0.5, "dlo": 0.5}, (False, np.inf, 2.0, [(7, 1.0, 2.0)])),
        ({"fa": -1.0, "fb": 0.0, "dlo": 0.0}, NONE),  # f(b) = 0 exactly: no crossing
        ({"fa": 0.0, "fb": 1.0, "dlo": 0.0}, (False, 1.0, 10.0, [])),  # f(a) = 0: at a
        ({"fa": 0.5, "fb": 1.0, "dlo": 0.0}, (False, 1.0, 10.0, [])),
        # short (below t_tiny), even if decreasing by the enclosure: at b iff f(b) > tol
        ({"fa": -1.0, "fb": 2 * TOL, "dhi": -1.0, "short": True}, (False, 2.0, 10.0, [])),
        ({"fa": -1.0, "fb": TOL, "short": True}, NONE),
        ({"fa": 0.0, "fb": 2 * TOL, "short": True}, (False, 1.0, 10.0, [])),
        # undecided: returned; a crossing before b is known iff f(b) > tol
        ({"fa": -1.0, "fb": 2 * TOL}, (True, np.inf, 2.0, [])),
        ({"fa": -1.0, "fb": TOL}, (True, np.inf, 10.0, [])),
    ],
)
def test_the_classification_of_one_interval(kwargs, expected):
    assert _classify(**kwargs) == expected


def test_the_classification_takes_the_earliest_of_each_kind():
    """Several intervals at once: best = the earliest exact crossing, bound = the earliest end
    of a bracket or of an undecided interval past tol, the undecided ones returned."""
    st = _State(10.0)
    a = np.array([3.0, 0.5, 4.0, 2.0, 6.0, 5.0])
    b = a + 1.0
    fa = np.array([2 * TOL, 2 * TOL, -1.0, -1.0, -1.0, -1.0])
    fb = np.array([-1.0, -1.0, 1.0, 1.0, 1.0, 1.0])
    dlo = np.array([-1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    dhi = np.array([-1.0, -1.0, 1.0, 1.0, 1.0, 1.0])
    alive, short = np.ones(6, bool), np.zeros(6, bool)
    rest = st.classify(np.arange(6), a, b, fa, fb, np.full(6, TOL), (alive, dlo, dhi, short))
    assert st.best == 0.5 and st.bound == 3.0
    assert rest.tolist() == [False, False, False, False, True, True]
    assert [x[0].tolist() for x in st.brackets] == [[2, 3]]
    st2 = _State(10.0)  # nothing of a kind: the initial values stay
    st2.classify(np.arange(6), a, b, fa, fb, np.full(6, TOL), (~alive, dlo, dhi, short))
    assert (st2.best, st2.bound, st2.brackets) == (np.inf, 10.0, [])


def test_finish_refines_the_earliest_brackets():
    """Rows f = f0 + t (a null mode): roots at -f0. Brackets recorded in two batches, out of
    order: the earliest root wins; a known crossing before every bracket is kept."""
    R = _rows([-3.0, -1.0, -2.0], [[1.0], [1.0], [1.0]], [0.0])
    st = _State(10.0)
    st.brackets.append(
        (np.array([0]), np.array([0.0]), np.array([4.0]), np.array([-3.0]), np.array([1.0]))
    )
    st.brackets.append(
        (
            np.array([2, 1]),
            np.array([1.5, 0.5]),
            np.array([2.5, 1.5]),
            np.array([-0.5, -0.5]),
            np.array([0.5, 0.5]),
        )
    )
    assert st.finish(R) == 1.0
    st.best = 0.25
    assert st.finish(R) == 0.25
    one = _State(10.0)
    one.brackets.append(
        (np.array([2]), np.array([1.0]), np.array([3.0]), np.array([-1.0]), np.array([1.0]))
    )
    assert one.finish(R) == 2.0
    assert _State(10.0).finish(R) is None


@pytest.mark.parametrize(
    "f0, E, lam, b",
    [
        (-1.0, [0.9], [0.5], 9.0),  # a slow mode: phi = (1 - e^{-t/2}) / 0.5
        (-0.3, [0.2, 0.5], [0.0, 0.25], 5.0),
        (-1.0, [3.0, -0.5], [0.7, 0.1], 4.0),
        (-1e-9, [1.0], [0.3], 1e-3),  # a root near 1e-9: the bracket is refined relatively
    ],
)
def test_bracket_root_with_slow_modes_is_brentqs_root(f0, E, lam, b):
    E, lam = np.array(E), np.array(lam)

    def f(t):
        ph = np.array([t if lk == 0 else -np.expm1(-lk * t) / lk for lk in lam])
        return f0 + E @ ph

    root = brentq(f, 0.0, b, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    t = bracket_root(f0, E, lam, 0.0, b, f(0.0), f(b))
    assert abs(t - root) <= ROOT_RTOL * root
    # the same root from any sub-bracket
    t2 = bracket_root(f0, E, lam, 0.5 * root, 1.5 * root, f(0.5 * root), f(1.5 * root))
    assert abs(t2 - root) <= ROOT_RTOL * root


def _dense_first(R, rem, t_from=0.0):
    """The first t in [0, rem] with some row above its tolerance, or zero-crossing rising:
    a 20001-point scan per row, refined by brentq on f (a crossing with slope ~1)."""
    ts = np.unique(
        np.concatenate([[0.0], np.geomspace(1e-9, rem, 20001), np.linspace(0, rem, 20001)])
    )
    best = np.inf
    for r in range(R.f0.size):
        ph = np.array([ts if lk == 0 else -np.expm1(-lk * ts) / lk for lk in R.lam])
        vals = R.f0[r] + R.E[r] @ ph
        over = np.flatnonzero(vals > R.tol[r])
        if over.size:
            j = over[0]
            if j == 0:
                best = 0.0
                continue
            g = lambda x, r=r: _f(R, r, x)  # noqa: E731
            best = min(
                best, brentq(g, ts[j - 1], ts[j], xtol=1e-15) if g(ts[j - 1]) < 0 else ts[j - 1]
            )
    return None if not np.isfinite(best) else best


@pytest.mark.parametrize("seed", range(10))
def test_next_event_and_the_full_search_on_random_rows(seed):
    """Random rows over 4 decades of rates (slow and fast modes, null modes), remaining times
    between grid points and beyond: both searches give the dense scan's first crossing."""
    rng = np.random.default_rng(100 + seed)
    k, r = int(rng.integers(1, 5)), int(rng.integers(1, 9))
    lam = np.sort(10 ** rng.uniform(-1.5, 2.5, k))
    if seed % 3 == 0:
        lam[0] = 0.0
    f0 = -rng.uniform(0.05, 1.0, r)
    E = rng.standard_normal((r, k)) * lam.clip(0.3, None)
    rem = float(10 ** rng.uniform(-1, 1))
    R = _rows(f0, E, lam)
    t = next_event(f0, E, make_grid(lam), rem, R.tol, 1e-15)
    ref = _dense_first(R, rem)
    t_full = _full_search(R, rem, 1e-15)
    for got in (t, t_full):
        if ref is None:
            assert got is None
        else:
            assert got is not None and abs(got - ref) <= 1e-9 * (1 + ref)


class _CountingMath:
    """``math`` with a counter on ``expm1`` (one call per relaxing mode per evaluation)."""

    def __init__(self):
        import math

        self._math, self.calls = math, 0

    def expm1(self, x):
        self.calls += 1
        return self._math.expm1(x)


@pytest.mark.parametrize(
    "f0, E, lam, b",
    [
        (-1.0, [3.0], [2.0], 9.0),
        (-1.0, [0.9], [0.5], 9.0),
        (-1.0, [3.0, -0.5], [0.7, 0.1], 4.0),
        (-1e-3, [5.0, -1.0], [100.0, 1.0], 0.01),
        # short brackets of small roots (measured 2 to 3 evaluations), null modes last and
        # first: f' must sum every mode's term
        (-0.003289551905, [1596.341, 80.223, -25.779], [910.41, 28.03, 46.13], 7.0353233e-05),
        (-5.458e-09, [7.759, -0.431], [7.55, 6.5], 2.1791e-08),
        (-0.000170942344, [20.509, 6.489, 2.997], [21.6, 4.81, 0.0], 0.000272015088),
        (-8.1846628e-05, [731.818, 4.475, 1.474], [292.57, 1.79, 0.0], 1.218713e-06),
        (-3.616464e-05, [-0.128, 428.273, -264.699], [0.0, 145.63, 311.71], 5.69002e-06),
        # Newton's step from the left end rounds to no step (took 53 evaluations, bisecting
        # again from the middle, before bracket_root stopped there: 5 now)
        (-0.176569389233, [-0.302, 17.126, 1.42], [0.19, 7.83, 0.0], 0.133332144296),
    ],
)
def test_bracket_root_converges_as_newton(f0, E, lam, b, monkeypatch):
    """Safeguarded Newton from the regula-falsi point: a simple root to 4 ulps within 12
    evaluations of f (measured 5 to 9: a few steps into the quadratic regime from a bracket
    up to 10 s wide, then ~1e-4 -> 1e-8 -> 1e-16 relative, plus the verifying step); a
    bisection or a Newton step with a wrong derivative (linear convergence) takes ~50."""
    from clln_theory.theory import _box_events

    E, lam = np.array(E), np.array(lam)

    def f(t):
        return f0 + E @ np.array([t if lk == 0 else -np.expm1(-lk * t) / lk for lk in lam])

    counting = _CountingMath()
    monkeypatch.setattr(_box_events, "math", counting)
    t = bracket_root(f0, E, lam, 0.0, b, f(0.0), f(b))
    root = brentq(f, 0.0, b, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    assert abs(t - root) <= ROOT_RTOL * root
    assert counting.calls <= 12 * np.count_nonzero(lam)  # expm1 once per relaxing mode


def test_a_newton_step_of_exactly_the_tolerance_ends_the_search(monkeypatch):
    """The 4-ulp tolerance on the Newton step is inclusive. With fa = -1, fb = 1 on [0.5, 1.5]
    the regula-falsi point is t = 1 exactly; f = f0 + (1 - e^-t) with f(1) = 2^-50 f'(1) makes
    the step exactly 2^-50 = 4 ulps of 1: the search ends after that one evaluation."""
    import math

    from clln_theory.theory import _box_events

    em = math.expm1(-1.0)
    fp = 1.0 + em  # f'(1), as the engine sums it
    f0 = 2.0**-50 * fp + em  # f(1) = f0 - em
    t_new = 1.0 - (f0 - em) / fp
    assert 1.0 - t_new == _box_events._ROOT_RTOL == 2.0**-50  # a step of exactly the tolerance
    counting = _CountingMath()
    monkeypatch.setattr(_box_events, "math", counting)
    t = bracket_root(f0, np.array([1.0]), np.array([1.0]), 0.5, 1.5, -1.0, 1.0)
    assert t == t_new and counting.calls == 1


def test_bracket_root_never_evaluates_an_end_of_its_bracket(monkeypatch):
    """The values at the ends are given: a Newton step that lands exactly on an end is replaced
    by a bisection, not evaluated. A scripted row (``expm1`` replaced): f(t) = t - 0.625 (a
    linear mode plus a mode whose exponential is 0), except at the regula-falsi point t = 0.5
    of [0, 1] (fa = -1, fb = 1), where f = -0.875 and f' = 1.75 send Newton exactly to b = 1;
    then the bisection 0.75 and Newton's exact root 0.625."""
    from clln_theory.theory import _box_events

    class Scripted:
        def __init__(self):
            self.times = []

        def expm1(self, x):
            self.times.append(-x)
            return -0.25 if x == -0.5 else -1.0

    scripted = Scripted()
    monkeypatch.setattr(_box_events, "math", scripted)
    t = bracket_root(-1.625, np.array([1.0, 1.0]), np.array([0.0, 1.0]), 0.0, 1.0, -1.0, 1.0)
    assert t == 0.625 and scripted.times == [0.5, 0.75, 0.625]


@pytest.mark.parametrize("rem", [50.0, 0.75])  # 0.75: the peak in the last screen interval
@pytest.mark.parametrize("margin", [1e-2, 1e-4, 1e-6])
def test_a_narrow_hump_above_zero_is_found(margin, rem):
    """f = f0 + 4 phi_2 - 2 phi_1 peaks at f0 + 0.5 (t = ln 2): with f0 = -0.5 + margin the
    crossing is a narrow hump (width ~ sqrt(margin)); its first root is the closed form
    e^{-t} = (1 + sqrt(1 + 2 f0)) / 2, at every margin, alone and among falling rows."""
    lam = np.array([1.0, 2.0])
    E = np.array([[-2.0, 4.0], [-1.0, 0.0], [-2.0, 4.0]])
    f0 = np.array([-0.5 + margin, -0.1, -0.5 - margin])
    x = (1 + np.sqrt(2 * margin)) / 2
    for rows in ([0], [1, 0, 2]):
        t = next_event(f0[rows], E[rows], make_grid(lam), rem, np.full(len(rows), 1e-13), 1e-15)
        assert t is not None and abs(t + np.log(x)) <= 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_plain_rows_need_no_full_search(seed, monkeypatch):
    """The screen's sampled bound is a true bound on rows crossing with a slope (no tolerance
    edge): the fallback over the whole span is not called, and the result is the dense scan's."""
    from clln_theory.theory import _box_events

    def refuse(*args):
        raise AssertionError("the full search was called on rows without a tolerance edge")

    monkeypatch.setattr(_box_events, "_full_search", refuse)
    rng = np.random.default_rng(200 + seed)
    k, r = int(rng.integers(1, 4)), int(rng.integers(2, 7))
    lam = np.sort(10 ** rng.uniform(-1, 1.5, k))
    f0 = -rng.uniform(0.2, 1.0, r)
    E = rng.standard_normal((r, k)) * lam.clip(0.3, None)
    E[0] = np.abs(E[0]) + 1.0  # one row surely crosses within the span
    R = _rows(f0, E, lam)
    t = next_event(f0, E, make_grid(lam), 6.0, R.tol, 1e-15)
    ref = _dense_first(R, 6.0)
    assert t is not None and ref is not None and abs(t - ref) <= 1e-9 * (1 + ref)


def test_the_classification_keeps_what_earlier_levels_found():
    """`best` and `bound` only decrease over the levels of a search: a level that finds
    nothing keeps the earlier crossing and bound."""
    st = _State(10.0)
    one = np.ones(1)
    enc = (np.array([True]), -one, -one, np.array([False]))  # decreasing, f(a) > tol: at a
    st.classify(np.array([0]), one, 2 * one, 2 * TOL * one, -one, TOL * one, enc)
    enc = (np.array([True]), -one, one, np.array([False]))  # undecided, f(b) > tol: bound 5
    st.classify(np.array([0]), 4 * one, 5 * one, -one, one, TOL * one, enc)
    assert (st.best, st.bound) == (1.0, 5.0)
    st.classify(np.array([0]), 6 * one, 7 * one, -one, one, TOL * one, enc)
    assert (st.best, st.bound) == (1.0, 5.0)


# --- the second round (issue 18, item 4): the survivors of the after run -------------------


def _crossing_band(R, rem):
    """The earliest (first t with f >= 0, first t with f > tol) over the rows: the event lies in
    this band (it exceeds zero by more than tol, or rises through zero earlier). A dense scan
    (40001 points) refined by brentq on f and on f - tol."""
    ts = np.unique(np.concatenate([np.linspace(0, rem, 20001), np.geomspace(1e-12, rem, 20001)]))
    lo = hi = np.inf
    for r in range(R.f0.size):
        ph = np.array([ts if lk == 0 else -np.expm1(-lk * ts) / lk for lk in R.lam])
        vals = R.f0[r] + R.E[r] @ ph
        for level, which in ((0.0, 0), (R.tol[r], 1)):
            j = np.flatnonzero(vals >= level if which == 0 else vals > level)
            if not j.size:
                continue
            k = j[0]
            g = lambda x, r=r, level=level: _f(R, r, x) - level  # noqa: E731
            t = ts[0] if k == 0 else brentq(g, ts[k - 1], ts[k], xtol=1e-15)
            lo, hi = (min(lo, t), hi) if which == 0 else (lo, min(hi, t))
    return lo, hi


@pytest.mark.parametrize(
    "f0, E, lam, rem, tol",
    [
        # a fast falling mode and slower rising ones: f dips, then rises (f'' > 0 early)
        (-3.8e-06, [6.67, 10.1, -23.32], [8.99, 23.97, 31.19], 0.27, 1e-13),
        # the same shape near zero, with a wide tolerance band (0, tol]
        (-2.76e-06, [-0.0162, 55.6, -57.23], [0.0581, 41.53, 110.72], 0.0362, 1.94e-05),
    ],
)
def test_next_event_on_rows_that_dip_and_rise(f0, E, lam, rem, tol):
    """A dipping row's event lies in its crossing band (after f first reaches 0, not after it
    first exceeds tol; the dense scan's band). The exclusion steps of the refinement are
    rigorous only with the right bound of f'' (the growing terms -lam E > 0) and the right
    exp(-lam a) at each interval's start: a wrong one steps over the rise."""
    R = _rows(f0, [E], lam, tol)
    t = next_event(R.f0, R.E, make_grid(R.lam), rem, R.tol, 1e-15)
    lo, hi = _crossing_band(R, rem)
    assert np.isfinite(hi) and t is not None
    assert lo - 1e-9 <= t <= hi + 1e-9  # the scan + brentq's 1e-15 with slopes ~1: 1e-9 is loose


@pytest.mark.parametrize(
    "lam",
    [[0.0, 0.5], [3.0, 0.2], [1e-3]],  # the fastest rate below 1, above 1, tiny
)
def test_the_grid_times_and_tables(lam):
    """0, then 5 per decade from 1e-6 / lam_max (where the fastest mode is resolved) to the
    first time at or past 1e8; phi and exp(-lam t) there (the closed forms)."""
    lam = np.array(lam)
    g = make_grid(lam)
    ts = np.array(g.ts)
    assert ts[0] == 0.0
    assert ts[1] == pytest.approx(1e-6 / lam.max(), rel=1e-12)
    np.testing.assert_allclose(ts[2:] / ts[1:-1], 10 ** (1 / 5), rtol=1e-12)
    assert ts[-1] >= 1e8 * (1 - 1e-12) and ts[-2] < 1e8
    for i, lk in enumerate(lam):
        ref = ts if lk == 0 else (1 - np.exp(-lk * ts)) / np.where(lk > 0, lk, 1.0)
        np.testing.assert_allclose(g.PH[i], ref, rtol=1e-9, atol=1e-300)  # 1 - e^-x for x~1e-6
        np.testing.assert_allclose(g.EX[i], np.exp(-lk * ts), rtol=1e-12)
    only_null = make_grid(np.array([0.0]))
    assert only_null.ts == [0.0]


def test_a_screen_that_decides_every_interval_refines_nothing(monkeypatch):
    """Monotone rows are decided on the screen (a bracket, or no crossing): the refinement is
    not called, and the event is the closed form (-1 + 2 phi_1 = 0 at t = ln 2)."""
    from clln_theory.theory import _box_events

    def refuse(*args):
        raise AssertionError("the refinement was called on decided intervals")

    monkeypatch.setattr(_box_events, "_search", refuse)
    lam = np.array([0.0, 1.0, 2.0])
    E = np.array([[0.0, 2.0, 0.0], [-0.1, 0.0, -1.0], [0.0, 0.0, 0.5]])
    f0 = np.array([-1.0, -0.5, -2.0])  # rising: crosses; falling; rising: never reaches 0
    t = next_event(f0, E, make_grid(lam), 20.0, np.full(3, 1e-13), 1e-15)
    assert t is not None and abs(t - np.log(2)) <= 4 * np.finfo(float).eps


#: The hump f = f0 + 4 phi_2 - 2 phi_1 (peak f0 + 0.5 at ln 2) with a 1e-2 margin above zero.
_HUMP = (np.array([-0.49]), np.array([[-2.0, 4.0]]), np.array([1.0, 2.0]))


def test_an_unconfirmed_sampled_bound_falls_back_to_the_full_search(monkeypatch):
    """The screen samples the hump above tol: if the refinement then confirms no crossing (a
    tolerance edge, here a refinement that finds nothing), or only one after the sampled
    bound, the whole span is searched again; a crossing at the bound confirms it."""
    from clln_theory.theory import _box_events

    f0, E, lam = _HUMP
    full = []

    def fake_full(R, rem, t_tiny):
        full.append(rem)
        return 0.125

    monkeypatch.setattr(_box_events, "_full_search", fake_full)
    for found, expected in (
        (None, 0.125),  # nothing found: the full search's answer
        ("bound", "bound"),  # found at the sampled bound: kept
        ("after", 0.125),  # found after it: searched again
    ):
        seen = {}

        def fake_search(R, st, *args, found=found, seen=seen):
            seen["bound"] = st.bound
            if found == "bound":
                st.best = st.bound
            elif found == "after":
                st.best = np.nextafter(st.bound, np.inf)

        monkeypatch.setattr(_box_events, "_search", fake_search)
        full.clear()
        t = next_event(f0, E, make_grid(lam), 50.0, np.full(1, 1e-13), 1e-15)
        assert seen["bound"] < 50.0  # a sample after the peak is above tol
        assert t == (seen["bound"] if expected == "bound" else expected)
        assert len(full) == (expected != "bound")


def test_rows_that_never_cross_need_no_full_search(monkeypatch):
    """Candidate rows (their upper bound at rem is above tol) that never exceed zero: None,
    decided without the full search (no sample is above tol, nothing to confirm)."""
    from clln_theory.theory import _box_events

    def refuse(*args):
        raise AssertionError("the full search was called without a sampled crossing")

    monkeypatch.setattr(_box_events, "_full_search", refuse)
    _, E, lam = _HUMP
    f0 = np.array([-0.51])  # the hump's peak at -0.01
    assert next_event(f0, E, make_grid(lam), 50.0, np.full(1, 1e-13), 1e-15) is None


def test_an_interval_within_t_tiny_is_decided_at_its_end():
    """Intervals no longer than t_tiny (t_tiny included) are not refined: a rise through zero
    inside one is reported at its end (f(b) > tol there). On the screen: the first grid
    interval [0, t_1] with t_tiny = t_1, and a last interval [t_j, rem] shorter than t_tiny;
    in the full search: the whole [0, rem] with t_tiny = rem. With t_tiny = 1e-15 the same
    rows give their roots."""
    g = make_grid(np.array([1.0]))
    f0, E, tol = np.array([-1e-9]), np.array([[1.0]]), np.full(1, 1e-13)
    assert next_event(f0, E, g, 3.0, tol, g.ts[1]) == g.ts[1]
    t = next_event(f0, E, g, 3.0, tol, 1e-15)
    assert t == pytest.approx(-np.log1p(-1e-9), rel=1e-12)
    tj = g.ts[20]
    root, rem = tj + 2e-10, tj + 5e-10  # f = expm1(-root) + phi_1: root in [t_j, rem]
    f0 = np.array([np.expm1(-root)])
    assert next_event(f0, E, g, rem, tol, 1e-9) == rem
    assert next_event(f0, E, g, rem, tol, 1e-15) == pytest.approx(root, rel=1e-12)
    R = _rows(-0.5, [[1.0]], [1.0])  # -0.5 + phi_1: root ln 2
    assert _full_search(R, 1.0, 1.0) == 1.0
    assert _full_search(R, 1.0, 1e-15) == pytest.approx(np.log(2), rel=1e-15)


def test_a_piece_within_t_tiny_is_decided_by_its_ends():
    """f = tol - phi_10 + t / 2 on [0, 1/2] starts at tol, dips below zero (to t ~ 0.156)
    and rises above tol by 1/4. The full search bisects [0, 1/2] (f(0) - tol = 0: no
    exclusion step): with t_tiny = 1/4 the piece [0, 1/4] is within it, decided by its ends
    (f(0) = tol >= 0, f(1/4) > tol: an event at 0); with a small t_tiny the dip is resolved and
    the event is the root of the rise. Pieces longer than t_tiny, or starting later, are
    refined: with t_tiny = 1/8 the event is at the end of [1/8, 1/4]."""
    tol = 1e-3
    R = _rows(tol, [[-1.0, 0.5]], [10.0, 0.0], tol=tol)
    assert _full_search(R, 0.5, 0.25) == 0.0
    assert _full_search(R, 0.5, 0.125) == 0.25
    root = brentq(lambda x: _f(R, 0, x), 0.1, 0.25, xtol=1e-15)
    assert _full_search(R, 0.5, 1e-15) == pytest.approx(root, rel=1e-12)


def test_the_full_search_agrees_with_the_screen_at_an_exact_tolerance():
    """f = -1 + t with tol = 1 on [0, 2]: its upper bound is exactly tol (never above it), so
    neither next_event (the candidate screen) nor the full search reports a crossing."""
    R = _rows(-1.0, [[1.0]], [0.0], tol=1.0)
    assert next_event(R.f0, R.E, make_grid(R.lam), 2.0, R.tol, 1e-15) is None
    assert _full_search(R, 2.0, 1e-15) is None


class _TracingMath(_CountingMath):
    """``math`` that records the times where ``f`` is evaluated (one relaxing mode of rate
    ``1 / scale``: ``expm1(-t / scale)``, the time recovered exactly for a power of 2)."""

    def __init__(self, scale):
        super().__init__()
        self.scale, self.times = scale, []

    def expm1(self, x):
        self.times.append(-x * self.scale)
        return super().expm1(x)


@pytest.mark.parametrize("scale", [1.0, 2.0**60, 2.0**-60])
def test_bracket_root_bisects_a_long_bracket(scale, monkeypatch):
    """f = -1/2 + (1 - exp(-t / s)) on [0, 2^41 s]: root s ln 2. The regula-falsi point 2^40 s
    is where f' = exp(-2^40) underflows to 0 (no Newton step), and Newton steps leave the
    bracket down to t ~ s, reached after 40 steps: every evaluation is then a bisection (the
    midpoint of two earlier points or ends) down to 4 ulps; invariant under the time
    scale s = 2^60 (all of it exact in binary, where a - 1 rounds to a: 'no step' must still
    mean bisection there, and s = 2^-60, where the bracket's width must be measured against
    b, 2^-19, not 1 / b). The last bisection point is where f rounds to exactly 0 (the same
    point at every scale): an exact zero ends the search there."""
    from clln_theory.theory import _box_events

    tracing = _TracingMath(scale)
    monkeypatch.setattr(_box_events, "math", tracing)
    lam, E = np.array([1.0 / scale]), np.array([1.0 / scale])
    b = 2.0**41 * scale
    t = bracket_root(-0.5, E, lam, 0.0, b, -0.5, 0.5)
    assert abs(t - scale * np.log(2)) <= ROOT_RTOL * scale * np.log(2)
    seen = [0.0, b]
    for x in tracing.times:
        assert any(x == 0.5 * (p + q) for p in seen for q in seen), "not a bisection"
        seen.append(x)
    assert tracing.times[:2] == [2.0**40 * scale, 2.0**39 * scale]
    assert 40 < len(tracing.times) <= 40 + 60  # 40 halvings to t ~ s, then ~53 to 4 ulps
    zeros = [x for x in tracing.times if -0.5 - np.expm1(-x / scale) == 0.0]
    assert zeros == [tracing.times[-1]] == [t]


def test_a_sample_exactly_at_the_tolerance_is_no_sampled_crossing(monkeypatch):
    """tol = 0 and a row that is exactly 0 (in floating point) at the grid time t_j = 1, rising
    through it towards a peak inside [t_j, t_j+1]: a sample at tol does not exceed it, so it
    sets no bound; the rise is found at t_j by the refinement, no full search needed."""
    from clln_theory.theory import _box_events

    def refuse(*args):
        raise AssertionError("the full search was called: a sample at tol taken as a crossing")

    monkeypatch.setattr(_box_events, "_full_search", refuse)
    lam = np.array([0.0, 1.0])
    g = make_grid(lam)
    j = g.ts.index(1.0)  # 10^0 is a grid time
    peak = 0.5 * (g.ts[j] + g.ts[j + 1])
    E = np.array([[-np.exp(-peak), 1.0]])  # f' = exp(-t) - exp(-peak)
    f0 = np.array([-(E[0, 1] * g.PH[1, j] + E[0, 0] * g.ts[j])])  # f(t_j) = 0 exactly
    assert next_event(f0, E, g, 5.0, np.zeros(1), 1e-15) == g.ts[j]
