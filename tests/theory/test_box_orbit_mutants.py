"""The decision rules of the gate-box orbit solver (``_box_orbit``), case by case.

``cycle_orbit`` decides, from the residual ``|P(G) - G|`` of the period map, the length of
Newton's step and the event sequence, when a candidate is a cycle (module docstring, item 3):
a step below ``_STEP_ACCEPT`` of the box scale is verified by the map at the corrected point
(same sequence, residual at round-off ``_RES_ROUNDOFF`` of the scale, or quadratically small in
the step, or no worse than before when the steps stagnate below ``_STAGNATION`` of the scale
without halving); a full step that decreases the residual by the sufficient-decrease factor
``1 - 1e-4`` is taken; otherwise backtracking by quarters, a trial accepted when it decreases the
residual by ``1 - 1e-4 lam`` or is within ``1e3`` round-offs; a step that landed is verified by
the next map. The box scale is ``max(|lo|, |hi|, 1)`` (V). The rounds before Newton
(``_rounds``) impose an event sequence, solve its fixed point to half the round-off and accept
the candidate iff its rigorous map has the imposed sequence and a residual at round-off.

On real tasks these branches are reached only at round-off, where no case can be steered onto
a boundary. Here the period map, the Newton step and the imposed-sequence solver are replaced by
a *script* on one gate: at each point the map's value, its event sequence and the step to take.
Each test states, from the rules above, the cycle the solver must return (or the error), and
the exact log of period-map evaluations and Newton steps (the evaluations are the cost the
rules promise: the verifying map is reused as the next iterate, the Jacobian is computed only
where it is likely kept). An unscripted evaluation fails the test. The last tests hold the
start candidates and the unconstrained shortcut on real tasks. ``tests/mutation/run_mutation.py``
(target ``box_orbit``) reports which mutants they kill.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from box_reference import make_case
from test_box_mutants import _counting

from clln_theory.errors import ConvergenceError
from clln_theory.theory import _box_orbit
from clln_theory.theory._box import Piece, box_task, flow
from clln_theory.theory._box_orbit import (
    _RES_ROUNDOFF,
    _STAGNATION,
    _STEP_ACCEPT,
    CycleMap,
    _start,
    _untouched,
    cycle_map,
    cycle_orbit,
    unconstrained_cycle,
)

pytestmark = pytest.mark.filterwarnings("ignore::clln_theory.errors.GateBoxWarning")

#: A fixed point at round-off on the real tasks (box scale ~5 V), as in test_box_mutants.py.
FIX_TOL = 5e-12
#: Residual levels of the scripts, powers of two so that ``(G + r) - G == r`` exactly at the
#: dyadic points used (|G| <= 1, multiples of 2**-52).
R40, R44 = 2.0**-40, 2.0**-44


class Unscripted(AssertionError):
    """The solver evaluated the map, or asked for a step, where the rules say it must not."""


class Script:
    """A period map on one gate in the box ``[lo, hi]``: at each scripted point ``G`` its value
    ``P(G)``, the pinned sides of its pieces (the event sequence) and Newton's step there."""

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = np.array([lo]), np.array([hi])
        self.points: dict[float, tuple[float, tuple[int, ...], float | None]] = {}
        self.log: list[tuple] = []
        self.candidates: dict[float, float | None] = {}  # imposed solve: start -> candidate
        self.plannable: set[tuple[int, ...]] = set()

    @property
    def scale(self) -> float:
        return max(abs(float(self.lo[0])), abs(float(self.hi[0])), 1.0)

    def at(self, G, P, sides=(0,), step=None):
        self.points[float(G)] = (float(P), tuple(sides), step)
        return self

    def _point(self, G):
        g = float(G[0])
        if g not in self.points:
            raise Unscripted(f"the period map at {g!r}")
        return g, self.points[g]

    def cycle_map(self, tasks, hs, G, jacobian):
        g, (P, sides, _) = self._point(G)
        self.log.append(("map", g, bool(jacobian)))
        pieces = ([Piece(0.0, 1.0, np.array([s], dtype=np.int8), G.copy()) for s in sides],)
        J = np.zeros((1, 1)) if jacobian else None
        return CycleMap(np.array([P]), G[None, :].copy(), pieces, J)

    def newton_step(self, J, r, G, lo, hi):
        g, (P, _, step) = self._point(G)
        self.log.append(("newton", g))
        if step is None:
            raise Unscripted(f"a Newton step at {g!r}")
        assert J is not None and J.shape == (1, 1)
        assert r.tolist() == [P - g], "the step is computed from the residual P(G) - G"
        return np.array([step])

    # the imposed-sequence rounds: plan() of a sequence, solve() of its fixed point
    def plan(self, hint):
        sides = tuple(int(p.side[0]) for p in hint[0])
        self.log.append(("plan", sides))
        return ("steps", sides) if sides in self.plannable else None

    def solve(self, tasks, hs, G, steps, tol):
        g = float(G[0])
        self.log.append(("solve", g))
        if steps is None:
            raise Unscripted("solve() without a plan")
        if g not in self.candidates:
            raise Unscripted(f"an imposed solve from {g!r}")
        x = self.candidates[g]
        if callable(x):  # a candidate that depends on the tolerance asked for
            x = x(tol)
        return None if x is None else np.array([x])

    def run(self, monkeypatch, G0, maxit=60, rounds=0, hint=None):
        monkeypatch.setattr(_box_orbit, "cycle_map", self.cycle_map)
        monkeypatch.setattr(_box_orbit, "newton_step", self.newton_step)
        monkeypatch.setattr(_box_orbit, "plan", self.plan)
        monkeypatch.setattr(_box_orbit, "solve", self.solve)
        monkeypatch.setattr(_box_orbit, "_ROUNDS", rounds)
        tasks = [SimpleNamespace(lo=self.lo, hi=self.hi)]
        return cycle_orbit(tasks, np.array([1.0]), np.array([float(G0)]), None, maxit, hint)


def _orbit_at(orb, G, iterations, sides=(0,)):
    assert orb.starts.tolist() == [[G]]
    assert [int(p.side[0]) for p in orb.pieces[0]] == list(sides)
    assert [float(p.G[0]) for p in orb.pieces[0]] == [G] * len(sides)
    assert orb.saturated is any(sides)
    assert orb.untouched is False
    assert orb.iterations == iterations


# ------------------------------------------------------------------ the landed step, the scale


@pytest.mark.parametrize(
    ("lo", "hi", "residual", "accepted"),
    [
        (-3.0, 0.5, 2e-13, True),  # scale 3 (from lo): 2e-13 is at round-off
        (-0.5, 3.0, 2e-13, True),  # scale 3 (from hi)
        (-0.5, 0.5, 0.7e-13, True),  # a box inside +-1 V: the scale is 1 V
        (-0.5, 0.5, 1.5e-13, False),  # ... not 2 V: 1.5e-13 is above round-off
        (-1.0, 1.0, _RES_ROUNDOFF, True),  # exactly at round-off: accepted
        (-2.0, 2.0, 2.5e-13, False),
    ],
)
def test_a_landed_step_is_verified_by_its_own_map_at_the_scale_of_the_box(
    lo, hi, residual, accepted, monkeypatch
):
    """A long step (backtracking accepts it whole) lands on ``G = 0`` whose map has the same
    sequence: the next pass verifies it with that map iff its residual is at most
    ``_RES_ROUNDOFF`` times the box scale ``max(|lo|, |hi|, 1)``, returning it after one Newton
    step with no further evaluation. Above round-off, with the step there 0 and ``maxit = 2``,
    the budget runs out: ConvergenceError."""
    s = Script(lo, hi).at(0.25, 0.5, step=-0.25).at(0.0, residual, step=0.0)
    if accepted:
        _orbit_at(s.run(monkeypatch, 0.25, maxit=2), 0.0, 1)
        assert s.log == [("map", 0.25, True), ("newton", 0.25), ("map", 0.0, True)]
    else:
        with pytest.raises(ConvergenceError, match="after 2 Newton steps"):
            s.run(monkeypatch, 0.25, maxit=2)


# ------------------------------------------------------------------ a small step, accepted


def test_a_small_step_is_accepted_when_its_residual_is_quadratically_small(monkeypatch):
    """In a box of scale 1e5 V a step of exactly ``_STEP_ACCEPT`` of the scale (1e-2 V, the
    edge: accepted) lands where the residual, 1e-7 V, is above round-off (1e-8 V) but equal to
    ``1e-3 |s|^2`` (quadratic convergence on one sequence, the edge: accepted): the corrected
    point is the cycle, after one Newton step and one verifying map."""
    s = Script(-1e5, 1e5)
    sn = _STEP_ACCEPT * s.scale
    rf = 1e-3 * sn * sn
    assert rf > _RES_ROUNDOFF * s.scale  # only the quadratic clause accepts it
    s.at(sn, sn + 1.0, step=-sn).at(0.0, rf)
    _orbit_at(s.run(monkeypatch, sn), 0.0, 1)
    assert s.log == [("map", sn, True), ("newton", sn), ("map", 0.0, True)]


@pytest.mark.parametrize(
    ("g0", "r0", "step", "rf"),
    [
        (1.0, 2.0**-20, 2.0**-25, 2.0**-43),  # residual 1e-6 -> 1.1e-13 V
        (1.0, R44, 2.0**-25, 2.0**-42),  # at round-off before, a little more after, still so
        (2.0**-25, 0.5 * _RES_ROUNDOFF * 4.0, -(2.0**-25), _RES_ROUNDOFF * 4.0),  # the edge
    ],
)
def test_a_small_step_at_round_off_is_accepted_by_its_own_map(g0, r0, step, rf, monkeypatch):
    """Box scale 4 V (round-off 4e-13 V): a step below the acceptance step whose corrected
    point has the same sequence and a residual at round-off (at most ``_RES_ROUNDOFF`` of the
    scale, the edge included, even if larger than the residual before the step) is the cycle:
    returned after one Newton step, its verifying map evaluated once."""
    s = Script(-4.0, 4.0)
    gf = g0 + step
    s.at(g0, g0 + r0, step=step).at(gf, gf + rf)
    _orbit_at(s.run(monkeypatch, g0), gf, 1)
    assert s.log == [("map", g0, True), ("newton", g0), ("map", gf, True)]


# ------------------------------------------------------------------ full steps and backtracking


def test_a_small_step_above_round_off_is_taken_and_newton_goes_on(monkeypatch):
    """Box scale 100 V (round-off 1e-11 V, acceptance step 1e-5 V): a step of 7.6e-6 V whose
    residual 5e-11 V is above round-off and above ``1e-3 |s|^2`` (yet below ``|s|^2``) is not
    a cycle; it decreased the residual (1e-6 -> 5e-11 V), so it is taken as the next iterate with
    the map (and Jacobian) already computed, and the next step ends at round-off: two Newton
    steps, three maps."""
    s = Script(-100.0, 100.0)
    g0, s1, s2 = 1.0, 2.0**-17, -(2.0**-30)
    g1 = g0 + s1
    g2 = g1 + s2
    s.at(g0, g0 + 1e-6, step=s1).at(g1, g1 + 5e-11, step=s2).at(g2, g2 + R40)
    _orbit_at(s.run(monkeypatch, g0), g2, 2)
    assert s.log == [
        ("map", g0, True),
        ("newton", g0),
        ("map", g1, True),
        ("newton", g1),
        ("map", g2, True),
    ]


def test_a_full_step_at_exactly_the_sufficient_decrease_is_taken(monkeypatch):
    """A small step whose residual fell by exactly ``1 - 1e-4`` (the inclusive edge) is taken
    at once, without evaluating the map there again by backtracking."""
    s = Script(-1.0, 1.0)
    g0 = 2.0**-24
    r0 = 2.0**-30
    rf = (1 - 1e-4) * r0
    s.at(g0, g0 + r0, step=-g0).at(0.0, rf, step=R40).at(R40, R40)
    _orbit_at(s.run(monkeypatch, g0), R40, 2)
    assert s.log == [
        ("map", g0, True),
        ("newton", g0),
        ("map", 0.0, True),
        ("newton", 0.0),
        ("map", R40, True),
    ]


def test_a_small_step_that_does_not_decrease_the_residual_is_backtracked(monkeypatch):
    """Box scale 4 V: a small step whose residual grew by a factor 1 + 5e-5 (above 1e3
    round-offs) is neither a cycle nor taken; backtracking tries the full step again, then a
    quarter step, which decreases the residual to round-off: evaluated without, then with its
    Jacobian, and verified by the next pass (one Newton step)."""
    s = Script(-4.0, 4.0)
    g0, s1 = 1.0, 2.0**-26
    r0 = 2.0**-28
    g1, gq = g0 + s1, g0 + 0.25 * s1
    s.at(g0, g0 + r0, step=s1).at(g1, g1 + r0 * (1 + 5e-5)).at(gq, gq + 2.0**-45)
    _orbit_at(s.run(monkeypatch, g0), gq, 1)
    assert s.log == [
        ("map", g0, True),
        ("newton", g0),
        ("map", g1, True),
        ("map", g1, True),
        ("map", gq, False),
        ("map", gq, True),
    ]


#: Backtracking from G = 0.5 (residual 0.25 V, step -0.5 V, box [-1, 1] unless given): the
#: trial points (lam = 1, 1/4, 1/16) and the residual there; the point the backtracking must
#: end on, and the scale of the box.
BACKTRACK = {
    # the full step decreases the residual by exactly 1 - 1e-4 (inclusive): taken
    "sufficient-decrease edge": ([(0.0, (1 - 1e-4 * 1.0) * 0.25)], 0.0, 1.0),
    # the full step fails, the quarter step decreases by 1 - 1e-4 (< 1 - 1e-4 lam): taken
    "quarter step": ([(0.0, 0.3), (0.375, (1 - 1e-4) * 0.25)], 0.375, 1.0),
    # two failures: the third trial is lam = 1/16
    "sixteenth step": ([(0.0, 0.3), (0.375, 0.3), (0.46875, 0.1)], 0.46875, 1.0),
}


@pytest.mark.parametrize("case", sorted(BACKTRACK))
def test_backtracking_shrinks_the_step_by_quarters_to_a_sufficient_decrease(case, monkeypatch):
    """A long step (above the acceptance step) is backtracked: ``lam = 1, 1/4, 1/16, ...``, the
    first trial with ``|P - G| <= (1 - 1e-4 lam) r`` is taken (the first trial with its
    Jacobian, a later one evaluated again with it); from there a step to the exact fixed point
    ``0.25`` ends the search, verified by the following pass."""
    trials, end, scale = BACKTRACK[case]
    s = Script(-scale, scale).at(0.5, 0.75, step=-0.5)
    for g, res in trials:
        s.at(g, g + res, step=0.25 - g if g == end else None)
    s.at(0.25, 0.25)
    orb = s.run(monkeypatch, 0.5)
    _orbit_at(orb, 0.25, 2)
    log = [("map", 0.5, True), ("newton", 0.5)]
    log += [("map", g, k == 0) for k, (g, _) in enumerate(trials)]
    if len(trials) > 1:
        log.append(("map", end, True))
    log += [("newton", end), ("map", 0.25, True)]  # a long last step: its first trial
    assert s.log == log


@pytest.mark.parametrize(
    ("scale", "factor", "accepted"),
    [(1.0, 1.0, True), (4.0, 0.25, True), (1.0, 1.0005, False)],
)
def test_a_trial_within_a_thousand_round_offs_is_taken(scale, factor, accepted, monkeypatch):
    """A trial whose residual grew (from 2**-40 V) but is at most ``1e3 _RES_ROUNDOFF`` of the
    box scale (the edge included) is taken: near round-off the residual no longer decreases
    reliably. Above it (``factor`` 1.0005) the quarter step is tried instead."""
    s = Script(-scale, scale)
    rt = factor * 1e3 * _RES_ROUNDOFF * scale
    s.at(0.5, 0.5 + R40, step=-0.5)
    end = 0.0 if accepted else 0.375
    s.at(0.0, rt, step=R40 if accepted else None)
    if not accepted:
        s.at(0.375, 0.375 + 2.0**-41, step=-0.125)
        s.at(0.25, 0.25)
        orb = s.run(monkeypatch, 0.5)
        _orbit_at(orb, 0.25, 2)
        assert s.log[2:5] == [("map", 0.0, True), ("map", 0.375, False), ("map", 0.375, True)]
        return
    s.at(R40, R40)
    _orbit_at(s.run(monkeypatch, 0.5), R40, 2)
    assert s.log == [
        ("map", 0.5, True),
        ("newton", 0.5),
        ("map", end, True),
        ("newton", end),
        ("map", R40, True),
    ]


# ------------------------------------------------------------------ stagnation at round-off


def _stagnating(s1, s2, r2, sides=(0,)):
    """Box scale 4 V (round-off 4e-13 V, stagnation 4e-9 V); the residual 2**-40 V (9.1e-13)
    everywhere except at the second corrected point (``r2``): the first step ``s1`` is small
    but does not decrease it (backtracking takes it within 1e3 round-offs), the second ``s2``
    does not halve."""
    s = Script(-4.0, 4.0)
    g0 = 1.0
    g1 = g0 + s1
    g2 = g1 + s2
    s.at(g0, g0 + R40, sides, step=s1).at(g1, g1 + R40, sides, step=s2).at(g2, g2 + r2, sides)
    return s, g1, g2


@pytest.mark.parametrize(
    ("s1", "s2", "r2"),
    [
        (2.0**-28, -(2.0**-29), R40),  # the step exactly halves; the residual as before
        (2.0**-28, -_STAGNATION * 4.0, 0.5 * R40),  # a step of exactly the stagnation level
        (2.0**-28, -(2.0**-28) * 0.75, 0.5 * R40),
    ],
)
def test_a_step_that_stagnates_at_round_off_is_accepted_if_no_worse(s1, s2, r2, monkeypatch):
    """A step below ``_STAGNATION`` of the scale (the edge included) that is at least half the
    previous one (the edge included) stagnates at round-off: its corrected point, with the same
    sequence and a residual no larger than before (equal included), is the cycle."""
    s, g1, g2 = _stagnating(s1, s2, r2)
    _orbit_at(s.run(monkeypatch, 1.0), g2, 2)
    assert s.log == [
        ("map", 1.0, True),
        ("newton", 1.0),
        ("map", g1, True),
        ("map", g1, True),
        ("newton", g1),
        ("map", g2, True),
    ]


def test_a_stagnating_step_that_makes_it_worse_returns_the_current_point(monkeypatch):
    """When the stagnating step makes the residual worse (twice as large) on the same sequence
    as the previous step, the current point is as good as round-off allows: it is returned
    with its own map's pieces (all pinned here: saturated), not the corrected point's."""
    s, g1, g2 = _stagnating(2.0**-28, -(2.0**-29), 2 * R40, sides=(1,))
    _orbit_at(s.run(monkeypatch, 1.0), g1, 2, sides=(1,))
    assert s.log[-2:] == [("newton", g1), ("map", g2, True)]


def test_stagnation_while_the_sequence_still_changes_goes_on(monkeypatch):
    """Stagnation is only declared on one sequence: a stagnating step from a point whose
    sequence differs from the previous step's (and whose corrected point changes it again) is
    taken, and the cycle is found one step later, where the sequence has settled."""
    s = Script(-4.0, 4.0)
    g0, s1, s2, s3 = 1.0, 2.0**-28, -(2.0**-29), 2.0**-30
    g1 = g0 + s1
    g2 = g1 + s2
    g3 = g2 + s3
    s.at(g0, g0 + 4 * R40, (0,), step=s1)
    s.at(g1, g1 + 2 * R40, (1,), step=s2)
    s.at(g2, g2 + R40, (-1,), step=s3)
    s.at(g3, g3 + 0.5 * R40, (-1,))
    _orbit_at(s.run(monkeypatch, g0), g3, 3, sides=(-1,))


# ------------------------------------------------------------------ the imposed rounds


def _rounds_script(scale=1.0):
    s = Script(-scale, scale)
    s.plannable = {(0,)}
    return s


def _hint(sides):
    return ([Piece(0.0, 1.0, np.array([v], dtype=np.int8), np.zeros(1)) for v in sides],)


@pytest.mark.parametrize(
    ("scale", "residual"), [(1.0, _RES_ROUNDOFF), (4.0, 2e-13), (4.0, 0.5 * _RES_ROUNDOFF * 4.0)]
)
def test_a_round_accepts_a_candidate_at_round_off_of_the_box_scale(scale, residual, monkeypatch):
    """The first round imposes the hint's sequence, solves its fixed point (candidate 0) and
    maps it rigorously (no Jacobian): same sequence and residual at most ``_RES_ROUNDOFF`` of
    the box scale (the edge included) is the cycle, after one round and no Newton step."""
    s = _rounds_script(scale)
    s.candidates = {0.5: 0.0}
    s.at(0.5, 0.6).at(0.0, residual)
    _orbit_at(s.run(monkeypatch, 0.5, rounds=3, hint=_hint((0,))), 0.0, 1)
    assert s.log == [("plan", (0,)), ("solve", 0.5), ("map", 0.0, False)]


def test_a_round_asks_for_a_candidate_within_half_the_round_off(monkeypatch):
    """``solve`` promises a candidate whose residual is at most the tolerance asked for; the
    worst such candidate must still pass the acceptance test, so one round suffices."""
    s = _rounds_script(4.0)

    def worst(tol):
        s.at(0.0, tol)  # the candidate's residual is the whole tolerance
        return 0.0

    s.candidates = {0.5: worst}
    s.at(0.5, 0.6)
    _orbit_at(s.run(monkeypatch, 0.5, rounds=3, hint=_hint((0,))), 0.0, 1)
    assert s.points[0.0][0] <= _RES_ROUNDOFF * 4.0


def test_a_candidate_with_the_imposed_sequence_but_not_at_round_off_is_refused(monkeypatch):
    """A candidate whose rigorous map has the imposed sequence but a residual of 1e-6 V is not
    a cycle: the next round starts from it and finds the one at round-off."""
    s = _rounds_script()
    s.candidates = {0.5: 0.25, 0.25: 0.125}
    s.at(0.5, 0.6).at(0.25, 0.25 + 1e-6).at(0.125, 0.125)
    _orbit_at(s.run(monkeypatch, 0.5, rounds=3, hint=_hint((0,))), 0.125, 2)
    assert s.log == [
        ("plan", (0,)),
        ("solve", 0.5),
        ("map", 0.25, False),
        ("plan", (0,)),
        ("solve", 0.25),
        ("map", 0.125, False),
    ]


def test_a_hint_that_cannot_be_planned_is_replaced_by_the_sequence_at_the_start(monkeypatch):
    """A hint from elsewhere (a sweep's previous period) whose sequence cannot be imposed is
    dropped: the next round maps the start (with its Jacobian) and imposes its sequence, whose
    candidate is the cycle, after two rounds and no Newton step."""
    s = _rounds_script()
    s.candidates = {0.5: 0.0}
    s.at(0.5, 0.6).at(0.0, 0.0)
    _orbit_at(s.run(monkeypatch, 0.5, rounds=3, hint=_hint((1,))), 0.0, 2)
    assert s.log == [
        ("plan", (1,)),
        ("map", 0.5, True),
        ("plan", (0,)),
        ("solve", 0.5),
        ("map", 0.0, False),
    ]


# ------------------------------------------------------------------ real tasks


def _pair(case, scale=1.0):
    Ma, Gsa, Mb, Gsb, B, lo, hi, _ = make_case(*case, 1.0)
    return [
        box_task(M, scale * Gs, scale * B, scale * lo, scale * hi, 1e-9)
        for M, Gs in ((Ma, Gsa), (Mb, Gsb))
    ]


@pytest.mark.parametrize("volts", [1.0, 10.0, 100.0])
def test_the_rounds_are_invariant_under_a_change_of_volts(volts, monkeypatch):
    """The dynamics are linear in the gate voltages: the same pair with every voltage (targets,
    bias, limits) multiplied by 10 or 100 has the cycle multiplied by the same factor, and the
    solver's tolerances, relative to the box scale, find it the same way: one imposed round,
    no Newton step (measured: the tolerance of the imposed solve must scale too)."""
    case = (1070746015, 3, 2, 3, 1, "typical")
    hs = np.array([4.44 / 3, 2 * 4.44 / 3])
    ref = cycle_orbit(_pair(case), hs, None, unconstrained_cycle(_pair(case), hs), 60)
    tasks = _pair(case, volts)
    calls = _counting(monkeypatch)  # the imposed rounds (plan) and the Newton steps
    orb = cycle_orbit(tasks, hs, None, unconstrained_cycle(tasks, hs), 60)
    assert calls == {"plan": 1, "newton": 0} and orb.iterations == 1
    np.testing.assert_allclose(orb.starts, volts * ref.starts, atol=volts * FIX_TOL)
    cm = cycle_map(tasks, hs, orb.starts[0], False)
    np.testing.assert_allclose(cm.G_end, orb.starts[0], atol=volts * FIX_TOL)


def test_the_clipped_unconstrained_orbit_is_a_start_candidate(monkeypatch):
    """Newton's start is the candidate with the smallest residual among the averaged task's
    rest point, the chained rest points and the clipped unconstrained orbit. On this narrow box
    at tau = 0.2 s the clipped unconstrained orbit beats the other two (their best,
    ``_start`` without it, has a larger residual): the rounds start from it."""
    case = (7, 2, 2, 2, 0, "narrow")
    tasks = _pair(case)
    hs = np.array([0.2 / 3, 2 * 0.2 / 3])
    unc = unconstrained_cycle(tasks, hs)
    lo, hi = tasks[0].lo, tasks[0].hi
    clipped = np.minimum(np.maximum(unc[0], lo), hi)
    assert _untouched(tasks, hs, unc) is None  # the orbit touches the box
    other, _ = _start(tasks, hs, None)

    def residual(G):
        return float(np.max(np.abs(cycle_map(tasks, hs, G, False).G_end - G)))

    assert residual(clipped) < residual(other)
    seen = []
    rounds = _box_orbit._rounds

    def spy(tasks, hs, G, *rest):
        seen.append(G.copy())
        return rounds(tasks, hs, G, *rest)

    monkeypatch.setattr(_box_orbit, "_rounds", spy)
    orb = cycle_orbit(tasks, hs, None, unc, 60)
    np.testing.assert_array_equal(seen[0], clipped)
    cm = cycle_map(tasks, hs, orb.starts[0], False)
    np.testing.assert_allclose(cm.G_end, orb.starts[0], atol=FIX_TOL)


def test_an_untouched_orbit_carries_the_pieces_of_its_own_period():
    """The unconstrained shortcut returns the orbit with the pieces of one period of the box
    flow from its first segment start: segment k's single piece starts at ``unc[k]``."""
    tasks = _pair((11, 3, 3, 3, 0, "wide"))
    hs = np.array([0.15, 0.15])
    unc = unconstrained_cycle(tasks, hs)
    orb = _untouched(tasks, hs, unc)
    assert orb is not None and orb.untouched
    for k, seg in enumerate(orb.pieces):
        assert len(seg) == 1 and not seg[0].side.any()
        np.testing.assert_allclose(seg[0].G, unc[k], atol=FIX_TOL)
    np.testing.assert_allclose(flow(tasks[0], unc[0], hs[0], False).G, unc[1], atol=FIX_TOL)


def test_an_orbit_that_overshoots_a_limit_inside_a_segment_is_not_untouched():
    """Starts strictly inside are not enough: on this pair (two gates, tau = 0.3 s) gate 1
    overshoots its segment starts by 0.2 V within task a's segment. With its upper limit
    halfway into that overshoot, every start is inside but the first segment's free piece ends
    at an event (three pieces): not the unconstrained orbit."""
    Ma, Gsa, Mb, Gsb, B, lo, hi, _ = make_case(0, 2, 2, 2, 0, "wide", 0.3)
    hs = np.array([0.15, 0.15])
    tasks = [box_task(M, Gs, B, lo, hi, 1e-9) for M, Gs in ((Ma, Gsa), (Mb, Gsb))]
    unc = unconstrained_cycle(tasks, hs)
    # the overshoot, from the closed-form flow of task a without limits (dense samples)
    ts = np.linspace(0.0, hs[0], 401)
    path = np.array([flow(tasks[0], unc[0], float(t), False).G for t in ts])
    peak = float(path[:, 1].max())
    top = float(unc[:, 1].max())
    assert peak - top > 0.1
    hi2 = hi.copy()
    hi2[1] = top + 0.5 * (peak - top)
    boxed = [box_task(M, Gs, B, lo, hi2, 1e-9) for M, Gs in ((Ma, Gsa), (Mb, Gsb))]
    assert np.all(unc < hi2 - boxed[0].tol_g) and np.all(unc > lo + boxed[0].tol_g)
    cm = cycle_map(boxed, hs, unc[0], False)
    assert len(cm.pieces[0]) == 3 and not cm.pieces[0][0].side.any()
    assert _untouched(boxed, hs, unc) is None


def test_the_check_of_an_untouched_orbit_maps_without_jacobian(monkeypatch):
    """The event check of the unconstrained shortcut needs the pieces only: its period map is
    computed without the Jacobian (an n x n product per piece saved)."""
    tasks = _pair((11, 3, 3, 3, 0, "wide"))
    hs = np.array([0.15, 0.15])
    unc = unconstrained_cycle(tasks, hs)
    flags = []

    def spy(tasks, hs, G, jacobian):
        flags.append(jacobian)
        return cycle_map(tasks, hs, G, jacobian)

    monkeypatch.setattr(_box_orbit, "cycle_map", spy)
    assert _untouched(tasks, hs, unc) is not None
    assert len(flags) == 1 and not flags[0]


# ------------------------------------------------------------------ Newton's start candidates


def test_start_is_the_first_candidate_of_smallest_residual(monkeypatch):
    """``_start``: the averaged task (rate matrix and target weighted by the durations' shares,
    the ``tau -> 0`` limit) relaxed for ``_REST_TIME`` from the box centre, then the tasks'
    rest points chained from there, then the unconstrained orbit's first start; each clipped to
    the box and mapped (with the Jacobian, Newton's first step needs it); the smallest residual
    ``|P(c) - c|`` wins, the earlier candidate on a tie. The rest flows need no Jacobian."""
    lo, hi = np.array([-1.0]), np.array([3.0])
    tasks = [
        SimpleNamespace(M=np.array([[2.0]]), b=np.array([4.0]), lo=lo, hi=hi, null_tol=1e-9),
        SimpleNamespace(M=np.array([[6.0]]), b=np.array([-2.0]), lo=lo, hi=hi, null_tol=1e-9),
    ]
    hs = np.array([0.5, 1.5])  # shares 1/4, 3/4 of tau = 2 s
    rests = iter([0.5, 2.5, 5.0])  # the averaged rest point, then the two chained ones
    flows = []

    def fake_flow(task, G, T, jacobian):
        flows.append((task.M.tolist(), task.b.tolist(), float(G[0]), T, jacobian))
        return SimpleNamespace(G=np.array([next(rests)]))

    maps = []
    residual = {0.5: 0.25, 3.0: 0.25, -1.0: 0.125}  # the chained 5.0 is clipped to hi = 3.0

    def fake_map(tasks, hs, G, jacobian):
        g = float(G[0])
        maps.append((g, jacobian))
        return CycleMap(np.array([g + residual[g]]), G[None, :].copy(), ([],), np.zeros((1, 1)))

    monkeypatch.setattr(_box_orbit, "flow", fake_flow)
    monkeypatch.setattr(_box_orbit, "cycle_map", fake_map)
    for unc0, best in ((-7.0, -1.0), (None, 0.5)):  # unc clipped to lo wins; else a tie
        flows.clear()
        maps.clear()
        rests = iter([0.5, 2.5, 5.0])
        unc = None if unc0 is None else np.array([[unc0], [9.0]])
        G, cm = _start(tasks, hs, unc)
        assert G.tolist() == [best] and cm.starts.tolist() == [[best]]
        assert [f[:4] for f in flows] == [
            ([[0.25 * 2.0 + 0.75 * 6.0]], [0.25 * 4.0 + 0.75 * -2.0], 1.0, _box_orbit._REST_TIME),
            ([[2.0]], [4.0], 0.5, _box_orbit._REST_TIME),
            ([[6.0]], [-2.0], 2.5, _box_orbit._REST_TIME),
        ]
        assert not any(f[4] for f in flows)
        assert maps == [(0.5, True), (3.0, True)] + ([(-1.0, True)] if unc is not None else [])


def test_a_first_round_that_cannot_be_planned_leaves_the_start_to_newton(monkeypatch):
    """From the default start the rounds are given its map: when its sequence cannot be imposed
    the rounds give up at once (no second map of the start) and Newton starts from it."""
    s = Script(-1.0, 1.0)
    g1 = 0.5 + 2.0**-30
    s.at(0.5, 0.5 + 2.0**-20, (1,), step=2.0**-30).at(g1, g1, (1,))
    monkeypatch.setattr(
        _box_orbit,
        "_start",
        lambda tasks, hs, unc: (np.array([0.5]), s.cycle_map(0, 0, np.array([0.5]), True)),
    )
    monkeypatch.setattr(_box_orbit, "cycle_map", s.cycle_map)
    monkeypatch.setattr(_box_orbit, "newton_step", s.newton_step)
    monkeypatch.setattr(_box_orbit, "plan", s.plan)
    monkeypatch.setattr(_box_orbit, "solve", s.solve)
    tasks = [SimpleNamespace(lo=s.lo, hi=s.hi)]
    orb = cycle_orbit(tasks, np.array([1.0]), None, None, 60)
    _orbit_at(orb, g1, 1, sides=(1,))
    assert s.log == [("map", 0.5, True), ("plan", (1,)), ("newton", 0.5), ("map", g1, True)]


# ------------------------------------------------------------------ a sweep's warm starts


def _sweep_spy(monkeypatch):
    calls = []
    real = _box_orbit.cycle_orbit

    def spy(tasks, hs, G_start, unc, maxit, hint=None):
        orb = real(tasks, hs, G_start, unc, maxit, hint)
        calls.append((hs.copy(), None if G_start is None else G_start.copy(), hint, orb))
        return orb

    monkeypatch.setattr(_box_orbit, "cycle_orbit", spy)
    return calls


def test_a_sweep_warm_starts_each_period_from_the_last_saturated_orbits(monkeypatch):
    """``cycle_sweep`` solves the periods in increasing order; Newton's start of each is
    nothing after an orbit that touched no limit, the last orbit's first start after one
    saturated orbit and the secant in ``log tau`` through the last two after two or more, with
    the last orbit's pieces as the sequence hint whenever a start is given. On this pair with
    gate 3's upper limit at 2.9 V the orbits up to tau = 0.1 s stay inside (untouched), the
    longer ones are pinned: both rules are met. Every orbit is its period's cycle."""
    Ma, Gsa, Mb, Gsb, B, lo, hi, _ = make_case(11, 3, 3, 3, 0, "wide", 1.0)
    hi = hi.copy()
    hi[2] = 2.9
    tasks = [box_task(M, Gs, B, lo, hi, 1e-9) for M, Gs in ((Ma, Gsa), (Mb, Gsb))]
    taus = np.logspace(-2, 1, 7)[[3, 0, 6, 1, 5, 2, 4]]  # not in order
    H = np.stack([taus / 3, 2 * taus / 3], axis=1)
    calls = _sweep_spy(monkeypatch)
    orbs = _box_orbit.cycle_sweep(tasks, H, None)
    assert [c[0].tolist() for c in calls] == H[np.argsort(taus)].tolist()
    assert "".join("S" if c[3].saturated else "u" for c in calls) == "uuuSSSS"
    hist: list[tuple[float, np.ndarray]] = []
    prev = None
    for hs, G0, hint, orb in calls:
        x = float(np.log(hs.sum()))
        if not hist:
            assert G0 is None and hint is None
        else:
            assert hint is prev.pieces
            if len(hist) == 1:
                want = hist[0][1]
            else:
                (x0, g0), (x1, g1) = hist
                want = g1 + (g1 - g0) * (x - x1) / (x1 - x0)
            np.testing.assert_allclose(G0, want, rtol=1e-14, atol=1e-14)
        hist = [*hist, (x, orb.starts[0])][-2:] if orb.saturated else []
        prev = orb
        cm = cycle_map(tasks, hs, orb.starts[0], False)
        np.testing.assert_allclose(cm.G_end, orb.starts[0], atol=FIX_TOL)
    for i, orb in enumerate(orbs):  # returned in the given order
        assert (
            orb.starts[0].tolist()
            == next(c[3] for c in calls if c[0].tolist() == H[i].tolist()).starts[0].tolist()
        )


def test_a_sweep_keeps_the_given_order_of_equal_periods(monkeypatch):
    """Periods that tie (the same tau, split differently) are solved in the order given, so the
    warm starts, and the Newton counts, do not depend on the sort numpy happens to use."""
    tasks = _pair((7, 2, 2, 2, 0, "narrow"))
    first = np.arange(1, 20) / 64.0  # dyadic: the two durations add up to tau exactly
    H = np.stack([first, 0.3125 - first], axis=1)
    H[::2] *= 2.0  # two periods, 0.3125 and 0.625 s, interleaved
    assert set(H.sum(axis=1).tolist()) == {0.3125, 0.625}
    calls = _sweep_spy(monkeypatch)
    _box_orbit.cycle_sweep(tasks, H, None)
    order = [i for i in range(19) if i % 2] + [i for i in range(19) if not i % 2]
    assert [c[0].tolist() for c in calls] == H[order].tolist()
