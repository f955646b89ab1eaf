"""The gate-box engine's imposed sequence (``_box_sequence.py``) and plateau (``_box_plateau.py``):
the cases the mutation run (tests/mutation, targets ``box_sequence`` and ``box_plateau``) found
untested.

The event time of one imposed row against a dense scan refined by ``brentq``; the imposed map
against the rigorous one on a period with a release, and its refusals (an event after the end of
its segment, an event after a piece at rest, a plan of the wrong length); the Newton step's drift
threshold and its ray to the first limit; the box minimizer against an enumeration of every face
of the box (the KKT conditions solved face by face, no engine code).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from box_reference import make_case
from scipy.optimize import brentq

from clln_theory.errors import ConvergenceError, SingularSystemError
from clln_theory.theory import _box_plateau, _box_sequence
from clln_theory.theory._box import Flow, Piece, box_task
from clln_theory.theory._box_orbit import cycle_map
from clln_theory.theory._box_plateau import _kkt, minimizer, settling
from clln_theory.theory._box_sequence import (
    _SOLVE_STEPS,
    Step,
    _event_time,
    _segment,
    imposed_map,
    newton_step,
    plan,
    solve,
)

#: An imposed event time is refined to 4 ulps; 16 ulps of slack for evaluating f near the root.
ROOT_RTOL = 16 * np.finfo(float).eps


# ------------------------------------------------------------ the event time of one row


def _row(f0, E, lam):
    E, lam = np.asarray(E, dtype=float), np.asarray(lam, dtype=float)

    def f(t):
        phi = np.where(lam > 0, -np.expm1(-lam * t) / np.where(lam > 0, lam, 1.0), t)
        return f0 + float(E @ phi)

    return E, lam, f


def _first_root(f, rem, m=20001):
    """The first sign change of f on (0, rem] from a dense scan, refined by brentq."""
    ts = np.linspace(0.0, rem, m)
    fs = np.array([f(t) for t in ts])
    k = int(np.flatnonzero(fs >= 0.0)[0])
    return brentq(f, ts[k - 1], ts[k], xtol=1e-300, rtol=4 * np.finfo(float).eps)


@pytest.mark.parametrize(
    "f0, E, lam, guess, rem",
    [
        (-0.5, [1.0], [1.0], 0.1, 5.0),  # concave (relaxing): approached from the left
        (-0.5, [1.0], [1.0], 3.0, 5.0),  # the guess beyond the root: a bracket at once
        (-0.2, [-1.0, 2.0], [1.0, 0.0], 0.05, 5.0),  # convex: overshot into a bracket
        (-0.2, [-1.0, 2.0], [1.0, 0.0], 0.3, 5.0),  # convex, overshot by f < 1
        (-1e-3, [1.0], [1.0], 0.5e-3, 1.0),  # an early root at a slow rate (exp(-lam t) ~ 1)
        (-1.0, [20.0, -2.0], [10.0, 0.0], 0.05, 3.0),  # a hump: up through 0, then down
    ],
)
def test_the_event_time_is_the_first_root_near_the_guess(f0, E, lam, guess, rem):
    E, lam, f = _row(f0, E, lam)
    t = _event_time(f0, E, lam, guess, rem)
    assert t is not None
    assert t == pytest.approx(_first_root(f, rem), rel=ROOT_RTOL)


def test_the_event_time_is_none_without_a_crossing_found_from_the_guess():
    E, lam, _ = _row(-1.0, [1.0], [0.0])  # f = t - 1: the root at 1
    assert _event_time(-1.0, E, lam, 0.7, 0.5) is None  # after the end of the segment
    assert _event_time(-1.0, E, lam, 0.3, 0.5) is None  # Newton reaches the end first
    assert _event_time(0.0, E, lam, 0.3, 5.0) is None  # f0 = 0: already on the limit
    # a piece of zero duration: no slope known at the start, no step to take
    assert _event_time(-1.0, E, lam, 0.0, 5.0) is None
    # a flat row (the terms cancel: f = f0 < 0 for all t): no event, no division by f' = 0
    E2, lam2, _ = _row(-1.0, [1.0, -1.0], [1.0, 1.0])
    assert _event_time(-1.0, E2, lam2, 0.5, 5.0) is None
    # moving away from the limit at the guess (f' < 0): no crossing from the left
    E3, lam3, _ = _row(-1.0, [20.0, -2.0], [10.0, 0.0])
    assert _event_time(-1.0, E3, lam3, 2.5, 3.0) is None


def _counting(monkeypatch, name):
    calls = []
    fun = getattr(_box_sequence, name)

    def counted(*args):
        calls.append(args)
        return fun(*args)

    monkeypatch.setattr(_box_sequence, name, counted)
    return calls


def test_an_iterate_on_the_root_is_refined_as_a_bracket(monkeypatch):
    # f = t - 1 from 0.5: the Newton step lands on 1.0 exactly (f = 0), a sign change: the
    # bracket [0.5, 1] goes to the safeguarded refinement, which returns 1.0
    calls = _counting(monkeypatch, "bracket_root")
    E, lam, _ = _row(-1.0, [1.0], [0.0])
    assert _event_time(-1.0, E, lam, 0.5, 5.0) == 1.0
    assert len(calls) == 1 and calls[0][3:] == (0.5, 1.0, -0.5, 0.0)


def test_a_newton_step_of_four_ulps_is_the_last(monkeypatch):
    # f = t - 1 from 1 - 2^-50: the step to 1.0 is 2^-50 = 4 ulps of 1.0, the tolerance: the
    # iterate 1.0 is returned without another evaluation
    calls = _counting(monkeypatch, "_value")
    E, lam, _ = _row(-1.0, [1.0], [0.0])
    assert _event_time(-1.0, E, lam, 1.0 - 2.0**-50, 5.0) == 1.0
    assert len(calls) == 1


def test_the_newton_iteration_stops_on_a_step_of_four_ulps(monkeypatch):
    # root 1.0005e-3 approached from the left: the last step is within 4 ulps of the iterate
    # (relative), so the root is returned to 4 ulps, not at an absolute step of ~1e-12
    calls = _counting(monkeypatch, "_value")
    E, lam, f = _row(-1e-3, [1.0], [1.0])
    t = _event_time(-1e-3, E, lam, 0.5e-3, 1.0)
    assert t == pytest.approx(_first_root(f, 1.0), rel=ROOT_RTOL)
    assert abs(t - calls[-1][3]) <= 4 * np.finfo(float).eps * t


# ------------------------------------------------------------------ the imposed map


def _case_with_a_release():
    """Seed 7 (3 gates, narrow box), tau = 2: segment 1 releases gate 2; both segments have
    three events."""
    Ma, Gsa, Mb, Gsb, B, lo, hi, _ = make_case(7, 3, 3, 3, 0, "narrow", 2.0)
    tasks = [box_task(M, Gs, B, lo, hi, 1e-9) for M, Gs in ((Ma, Gsa), (Mb, Gsb))]
    return tasks, np.array([1.0, 1.0]), 0.5 * (lo + hi)


def test_the_imposed_map_follows_a_release():
    tasks, hs, G = _case_with_a_release()
    cm = cycle_map(tasks, hs, G, True)
    steps = plan(cm.pieces)
    assert (2, 0) in [(st.gate, st.event) for st in steps[1]]  # the release of gate 2
    out = imposed_map(tasks, hs, G, steps)
    assert out is not None
    np.testing.assert_allclose(out[0], cm.G_end, atol=1e-12)
    np.testing.assert_allclose(out[1], cm.jacobian, atol=1e-10)


def test_an_event_after_the_end_of_its_segment_is_refused():
    tasks, hs, G = _case_with_a_release()
    steps = plan(cycle_map(tasks, hs, G, False).pieces)
    seg = steps[0]
    assert len(seg) == 4 and all(st.gate >= 0 for st in seg[:3])
    t2 = seg[0].duration + seg[1].duration  # the second event; the third at t2 + seg[2].duration
    short = np.array([t2 + 0.5 * seg[2].duration, hs[1]])  # ends between them
    assert imposed_map(tasks, short, G, steps) is None


def test_an_event_after_a_piece_at_rest_is_refused():
    # every gate pinned at hi (G* far above): nothing moves, so no event can follow
    task = box_task(np.eye(2), np.array([9.0, 9.0]), np.zeros(2), np.zeros(2), np.ones(2), 1e-9)
    pinned = np.array([1, 1], dtype=np.int8)
    G, J = np.full(2, 0.5), np.eye(2)
    rest = _segment(task, 2.0, G, J, (Step(pinned, -1, 0, 2.0),))
    assert rest is not None
    np.testing.assert_array_equal(rest[0], [1.0, 1.0])
    np.testing.assert_array_equal(rest[1], np.zeros((2, 2)))
    for gate in (0, 1):
        steps = (Step(pinned, gate, 0, 1.0), Step(np.array([0, 1], dtype=np.int8), -1, 0, 1.0))
        assert _segment(task, 2.0, G, J, steps) is None


def test_a_plan_of_the_wrong_length_is_refused():
    tasks, hs, G = _case_with_a_release()
    steps = plan(cycle_map(tasks, hs, G, False).pieces)
    with pytest.raises(ValueError):
        imposed_map(tasks, hs, G, steps[:1])  # not silently the map of one segment


# ------------------------------------------------------------------- the Newton step

LO, HI, G3 = np.zeros(2), np.full(2, 6.0), np.array([3.0, 3.0])


def test_a_drift_residual_below_the_threshold_moves_nothing():
    # eigenvalue 1 on gate 0; its residual below 1e-14 (1 + max|r|) = 1.2e-14: no drift step,
    # and the pseudo-inverse leaves gate 0 exactly where it is
    J = np.diag([1.0, 0.5])
    for r0 in (5e-15, 1e-14, 1e-14 * (1 + 0.2)):
        s = newton_step(J, np.array([r0, 0.2]), G3, LO, HI)
        np.testing.assert_array_equal(G3 + s, [3.0, 3.4])
    for r0 in (1.5e-14, -1.5e-14):  # above it: gate 0 runs to the limit its residual points to
        s = newton_step(J, np.array([r0, 0.2]), G3, LO, HI)
        np.testing.assert_array_equal(G3 + s, [6.0 if r0 > 0 else 0.0, 3.4])


def test_the_drift_threshold_is_relative_to_the_largest_singular_value():
    # I - J = diag(10, 5e-11): 5e-11 <= 1e-11 * 10, a drift direction (the ray to the limit)
    r = np.array([1.0, 1e-13])
    s = newton_step(np.diag([-9.0, 1.0 - 5e-11]), r, G3, LO, HI)
    np.testing.assert_allclose(G3 + s, [3.1, 6.0], rtol=1e-15)
    # I - J = diag(0.5, 8e-12): 8e-12 > 1e-11 * 0.5, solved (a step of 1e-13 / 8e-12)
    s = newton_step(np.diag([0.5, 1.0 - 8e-12]), r, G3, LO, HI)
    np.testing.assert_allclose(s, [2.0, 1e-13 / (1.0 - (1.0 - 8e-12))], rtol=1e-12)


def test_a_singular_value_at_the_drift_bound_is_a_drift():
    # I - J = diag(s0, d) exactly, with d = 1e-11 * s0 in floating point: "below this
    # fraction" includes the bound; the drift residual 1.5e-14 sends gate 1 to its limit
    d = 90072 * 2.0**-53  # 1 - d is exact
    s0 = d / 1e-11
    J = np.diag([1.0 - s0, 1.0 - d])
    if not (1e-11 * s0 == d and np.array_equal(np.linalg.svd(np.eye(2) - J)[1], [s0, d])):
        pytest.skip("this LAPACK does not return the diagonal's singular values exactly")
    s = newton_step(J, np.array([0.0, 1.5e-14]), G3, LO, HI)
    np.testing.assert_array_equal(G3 + s, [3.0, 6.0])


def test_a_drift_component_of_1e_12_does_not_limit_the_ray():
    # I - J of rank one with null vector w = (1e-12, -1) (an SVD output, exact here): the
    # component 1e-12 of the ray is not a direction towards a limit, even from on the limit
    J = np.eye(2) - np.array([[1.0, 1e-12], [1e-12, 1e-24]])
    w = np.linalg.svd(np.eye(2) - J)[2][1]
    if not (abs(w[0]) == 1e-12 and abs(w[1]) == 1.0):
        pytest.skip("this LAPACK's singular vector is not exactly (1e-12, -1)")
    s = newton_step(J, np.array([0.0, -1.0]), np.array([6.0, 3.0]), LO, HI)  # d = (1e-12, -1)
    np.testing.assert_array_equal(np.array([6.0, 3.0]) + s, [6.0, 0.0])
    s = newton_step(J, np.array([0.0, 1.0]), np.array([0.0, 3.0]), LO, HI)  # d = (-1e-12, 1)
    np.testing.assert_array_equal(np.array([0.0, 3.0]) + s, [0.0, 6.0])


def test_a_drift_ray_stops_at_the_first_limit_it_meets():
    # eigenvalue 1 along (1, 1) / sqrt 2: from (4, 2) the ray meets hi of gate 0 after 2 V
    c = np.sqrt(0.5)
    W = np.array([[c, c], [c, -c]])
    J = W @ np.diag([1.0, 0.5]) @ W.T
    G = np.array([4.0, 2.0])
    r = 0.1 * W[:, 0]  # residual along the drift only
    s = newton_step(J, r, G, LO, HI)
    np.testing.assert_allclose(G + s, [6.0, 4.0], rtol=1e-14)


# ------------------------------------------------------------------ the imposed Newton


def test_a_start_with_the_residual_at_tol_is_accepted():
    tasks, hs, _ = _case_with_a_release()
    orb_G = 0.5 * (tasks[0].lo + tasks[0].hi)
    steps = plan(cycle_map(tasks, hs, orb_G, False).pieces)
    out = imposed_map(tasks, hs, orb_G, steps)
    rn = float(np.max(np.abs(out[0] - orb_G)))  # "residual at most tol"
    np.testing.assert_array_equal(solve(tasks, hs, orb_G, steps, rn), orb_G)


def test_a_residual_that_does_not_grow_keeps_newton_going(monkeypatch):
    # a map with a constant residual: Newton gives up only after its budget of maps, not at the
    # first residual equal to the previous one
    calls = []

    def fake_map(tasks, hs, G, steps):
        calls.append(G)
        return G + 0.01, np.zeros((2, 2))

    monkeypatch.setattr(_box_sequence, "imposed_map", fake_map)
    task = box_task(np.eye(2), np.full(2, 3.0), np.zeros(2), LO, HI, 1e-9)
    assert solve([task, task], np.ones(2), np.full(2, 2.0), ((), ()), 1e-13) is None
    assert len(calls) == _SOLVE_STEPS


# ------------------------------------------------- _box_plateau: the minimizer over the box


def _kkt_faces(task, tol=1e-9):
    """Reference: every face (side) of the box holding a KKT point of the task's energy
    ``G^T M G / 2 - b^T G``, by solving the free block of each of the 3^n faces (numpy solve;
    no engine code) and checking the bounds and the sign of the velocity on the pinned gates."""
    n = task.b.size
    out = {}
    for side in itertools.product((-1, 0, 1), repeat=n):
        s = np.array(side, dtype=np.int8)
        G = np.where(s > 0, task.hi, task.lo).astype(float)
        F, P = np.flatnonzero(s == 0), np.flatnonzero(s != 0)
        if F.size:
            rhs = task.b[F] - task.M[np.ix_(F, P)] @ G[P]
            try:
                G[F] = np.linalg.solve(task.M[np.ix_(F, F)], rhs)
            except np.linalg.LinAlgError:
                continue  # a singular face (the tests' have bias along the null direction)
        v = task.b - task.M @ G
        if np.all(G >= task.lo - tol) and np.all(G <= task.hi + tol) and np.all(s * v >= -tol):
            out[side] = G
    return out


def _plateau_tasks(scale=1.0):
    """Ten tasks of make_case (3 gates; rates 1 to 100 /s times ``scale``) and a tie."""
    tasks, cases = [], [(3, "narrow"), (5, "narrow"), (10, "narrow"), (4, "tight"), (8, "typical")]
    for seed, box in cases:
        Ma, Gsa, Mb, Gsb, B, lo, hi, _ = make_case(seed, 3, 3, 3, 0, box, 1.0)
        tasks += [box_task(scale * M, Gs, B, lo, hi, 1e-9) for M, Gs in ((Ma, Gsa), (Mb, Gsb))]
    # a tie: gate 0's target on hi, gate 1's on lo (zero velocity there): free or pinned alike
    lo, hi = np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0])
    tasks.append(
        box_task(np.diag([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 1.5]), np.zeros(3), lo, hi, 1e-9)
    )
    return tasks


@pytest.mark.parametrize("k", range(11))
def test_kkt_accepts_exactly_the_faces_of_the_minimizer(k):
    task = _plateau_tasks()[k]
    ref = _kkt_faces(task)
    assert ref  # a convex energy has a minimizer over the box
    for side in itertools.product((-1, 0, 1), repeat=3):
        G = _kkt(task, np.array(side, dtype=np.int8))
        assert (G is not None) == (side in ref), side
        if G is not None:
            np.testing.assert_allclose(G, ref[side], atol=1e-12)
    G, side = minimizer(task)
    assert tuple(side.tolist()) in ref
    np.testing.assert_allclose(G, ref[tuple(side.tolist())], atol=1e-12)


def _task2(M, G_star, B, lo=(0.0, 0.0), hi=(1.0, 1.0)):
    return box_task(
        np.asarray(M, float),
        np.asarray(G_star, float),
        np.asarray(B, float),
        np.asarray(lo, float),
        np.asarray(hi, float),
        1e-9,
    )


def test_kkt_tolerances_are_a_thousand_times_the_flows():
    """_KKT_FACTOR: a violation up to 1e3 x tol_g (position) or tol_v (velocity) is round-off;
    the bounds themselves are accepted (at the bound exactly: still a KKT point)."""
    free, pin_lo = np.zeros(2, np.int8), np.array([-1, 0], np.int8)
    t = _task2(np.eye(2), [0.0, 0.5], [0.0, 0.0])
    tg = 1e3 * t.tol_g
    below = _task2(np.eye(2), [0.0 - tg, 0.5], [0.0, 0.0])  # G_0 = b_0 = lo - tg exactly
    assert below.tol_g == t.tol_g and _kkt(below, free) is not None
    above = _task2(np.eye(2), [1.0 + tg, 0.5], [0.0, 0.0])  # G_0 = hi + tg exactly
    assert _kkt(above, free) is not None
    # gate 0 pinned at lo with inward velocity b_0 = tv exactly (tv set by b_1 = 3)
    probe = _task2(np.diag([1.0, 1.0]), [0.0, 3.0], [0.0, 0.0], hi=(1.0, 5.0))
    tv = 1e3 * probe.tol_v
    on = _task2(np.diag([1.0, 1.0]), [0.0, 3.0], [tv, 0.0], hi=(1.0, 5.0))
    assert on.tol_v == probe.tol_v and _kkt(on, pin_lo) is not None
    # a null direction (gate 0, M_00 = 0) with bias exactly tv: no drift, a flat face
    flat = _task2(np.diag([0.0, 1.0]), [0.0, 3.0], [tv, 0.0], hi=(1.0, 5.0))
    assert flat.tol_v == probe.tol_v
    with pytest.raises(SingularSystemError):
        _kkt(flat, free)


FLAT_MESSAGE = (
    "The plateau of a task in the gate box is not unique: its optimal face has a null direction "
    "without bias along it, so the rest point depends on where the half period starts; compute "
    "the orbit with `periodic_orbit(..., box=)` instead."
)


def test_a_null_direction_of_a_face_drifts_or_is_refused():
    M = np.array([[1.0, 1.0], [1.0, 1.0]])  # null direction (1, -1)
    free = np.zeros(2, np.int8)
    with pytest.raises(SingularSystemError, match=f"^{re.escape(FLAT_MESSAGE)}$"):
        _kkt(_task2(M, [0.5, 0.5], [0.0, 0.0]), free)
    assert _kkt(_task2(M, [0.5, 0.5], [0.1, -0.1]), free) is None  # biased along it: drifts


def _fake_rest(monkeypatch, G_rest):
    """The flow to rest replaced by one ending at ``G_rest``: the minimizer's guess."""

    def fake_flow(task, G0, T, jacobian):
        G, side = task.resolve(np.asarray(G_rest, dtype=float))
        return Flow(G, [Piece(0.0, T, side, G)], None)

    monkeypatch.setattr(_box_plateau, "flow", fake_flow)


@pytest.mark.parametrize(
    "scale, k", [(1.0, k) for k in (0, 1, 3, 4, 5, 6, 7)] + [(0.02, k) for k in (0, 4, 5, 6, 7, 8)]
)
def test_the_active_set_repair_pins_the_gate_the_guess_left_free(scale, k, monkeypatch):
    """From a guess that pins every gate of the optimal face but one (left at the box centre),
    the repair pins the one whose free solution crosses its limit, and finds the minimizer
    (rates scaled by 0.02: free blocks with rates below 1 /s)."""
    task = _plateau_tasks(scale)[k]
    G_opt, side_opt = minimizer(task)
    pinned = np.flatnonzero(side_opt)
    for missing in pinned:
        guess = G_opt.copy()
        guess[missing] = 0.5 * (task.lo[missing] + task.hi[missing])
        _fake_rest(monkeypatch, guess)
        assert _kkt(task, task.resolve(guess)[1]) is None  # the guess's face is not optimal
        G, side = minimizer(task)
        np.testing.assert_allclose(G, G_opt, atol=1e-12)
        np.testing.assert_array_equal(side, side_opt)


def test_a_repair_that_settles_without_a_kkt_point_is_refused(monkeypatch):
    task = _plateau_tasks()[0]
    _, side_opt = minimizer(task)
    calls = []

    def never(task, side):
        calls.append(side.copy())
        return None

    monkeypatch.setattr(_box_plateau, "_kkt", never)
    message = (
        "No minimizer of the task energy over the gate box was found (the active-set iteration "
        "did not settle); check that the box and the tasks are consistent."
    )
    with pytest.raises(ConvergenceError, match=f"^{re.escape(message)}$"):
        minimizer(task)
    assert len(calls) == 1  # the optimal face maps onto itself: settled at once
    calls.clear()
    _fake_rest(monkeypatch, 0.5 * (task.lo + task.hi))  # nothing pinned: one repair first
    with pytest.raises(ConvergenceError):
        minimizer(task)
    assert len(calls) == 2 and calls[1].tolist() == side_opt.tolist()


def test_settling_reports_the_slowest_positive_rate_of_the_final_block():
    # gate 1 has no rate and no bias (it stays), gates 0 and 2 relax at 0.5 and 3 /s
    M = np.diag([0.5, 0.0, 3.0])
    task = box_task(M, np.full(3, 1.5), np.zeros(3), np.ones(3), np.full(3, 2.0), 1e-9)
    st = settling(task, np.full(3, 1.2), np.array([1.5, 1.2, 1.5]))
    assert st.rate == 0.5 and st.t_settle == 0.0


def test_the_minimizer_of_one_gate():
    # the smallest box: one gate, its target above the box (pinned at hi) or inside (free)
    for G_star, expected, side in ((3.0, 2.0, 1), (1.5, 1.5, 0)):
        task = box_task(
            np.array([[2.0]]), np.array([G_star]), np.zeros(1), np.ones(1), np.full(1, 2.0), 1e-9
        )
        G, s = minimizer(task)
        assert G.tolist() == [expected] and s.tolist() == [side]


@pytest.mark.parametrize("at", ["hi", "lo"])
def test_a_free_solution_within_the_position_tolerance_is_at_the_limit(at, monkeypatch):
    """POS_RTOL: a gate within tol_g of a limit is at it. Gate 0's optimum lies exactly tol_g
    inside its limit, gate 1's beyond the box: from a guess with both free, the repair pins
    gate 1, and gate 0 at its limit."""
    lo, hi = np.zeros(2), np.ones(2)
    tol_g = _task2(np.eye(2), [0.5, 0.5], [0.0, 0.0]).tol_g
    g0, g1, limit = (1.0 - tol_g, 3.0, 1.0) if at == "hi" else (0.0 + tol_g, -2.0, 0.0)
    task = _task2(np.eye(2), [g0, g1], [0.0, 0.0])  # M = I: the free solution is b = G*
    assert task.tol_g == tol_g and _kkt(task, np.zeros(2, np.int8)) is None
    _fake_rest(monkeypatch, [0.5, 0.5])
    G, side = minimizer(task)
    np.testing.assert_array_equal(G, [limit, hi[1] if at == "hi" else lo[1]])
    assert side.tolist() == ([1, 1] if at == "hi" else [-1, -1])


def test_a_repair_on_a_face_with_a_null_direction_does_not_crash(monkeypatch):
    # M = 0.4 (1, 1)(1, 1)^T: no rate along (1, -1), where the bias drifts the gates to a
    # corner. From the all-free guess the repair solves the face without its null mode; the
    # outcome is the minimizer or the documented refusal, never an arithmetic error
    task = _task2(0.4 * np.ones((2, 2)), [0.5, 0.5], [0.1, -0.1])
    ref = _kkt_faces(task)
    _fake_rest(monkeypatch, [0.5, 0.5])
    try:
        G, side = minimizer(task)
    except ConvergenceError:
        return
    np.testing.assert_allclose(G, ref[tuple(side.tolist())], atol=1e-12)


#: Tasks too slow to rest in the flow's 1e9 s (slowest rates 1.6e-9, 1.4e-9 and 1.0e-9 /s) and
#: their targets, in the box [1, 2]^2 (B = 0).
SLOW_TASKS = [
    (
        [[9.86342654e-09, -3.79952182e-09], [-3.79952182e-09, 3.40621625e-09]],
        [2.02246858, 2.25045387],
    ),
    (
        [[1.69244343e-08, -4.69312738e-09], [-4.69312738e-09, 2.78255764e-09]],
        [0.99787856, 0.69276434],
    ),
    (
        [[4.56338544e-08, -8.92309612e-08], [-8.92309612e-08, 1.79578897e-07]],
        [0.65299302, 0.83585295],
    ),
    # the flow's guess pins gate 2 at hi, which the minimizer leaves free: the repair must
    # free a pinned gate (it could not before the active-set fix: ConvergenceError)
    (
        [[2.07649391e-07, -1.69789552e-07], [-1.69789552e-07, 1.41198905e-07]],
        [2.05805846, 2.02228563],
    ),
]


@pytest.mark.parametrize("M, G_star", SLOW_TASKS)
def test_the_minimizer_of_a_task_too_slow_to_rest_in_the_flow(M, G_star):
    # the flow to rest (1e9 s) from the box centre has not settled; its guess is repaired, and
    # the minimizer is the KKT point (computed on the same energy scaled by 1e8, whose faces
    # the reference's absolute tolerances resolve)
    M, G_star, lo, hi = np.array(M), np.array(G_star), np.ones(2), np.full(2, 2.0)
    task = box_task(M, G_star, np.zeros(2), lo, hi, 1e-9)
    ref = _kkt_faces(box_task(1e8 * M, G_star, np.zeros(2), lo, hi, 1e-9))
    G, side = minimizer(task)
    assert list(ref) == [tuple(side.tolist())]
    np.testing.assert_allclose(G, ref[tuple(side.tolist())], atol=1e-12)


@pytest.mark.parametrize(
    "G_star, guess, want",
    [
        # gate 0's target on hi (zero velocity there, pinned by the guess), gate 1's above hi
        ((2.0, 2.5), (2.0, 1.5), ((2.0, 2.0), (0, 1))),
        # the same at lo
        ((1.0, 0.5), (1.0, 1.5), ((1.0, 1.0), (0, -1))),
    ],
)
def test_the_repair_frees_a_pinned_gate_whose_velocity_is_zero(G_star, guess, want, monkeypatch):
    """A pinned gate stays pinned only while its velocity pushes outward: at zero velocity (a
    target exactly on the limit, M diagonal so v = 0 exactly) it is freed, and the minimizer
    reports it free (on its limit); the other gate's free solution crosses its limit: pinned."""
    task = _task2(np.diag([1.0, 2.0]), G_star, [0.0, 0.0], lo=(1.0, 1.0), hi=(2.0, 2.0))
    _fake_rest(monkeypatch, guess)
    assert task.resolve(np.array(guess))[1].tolist() == [int(np.sign(want[1][1])), 0]
    G, side = minimizer(task)
    assert G.tolist() == list(want[0]) and side.tolist() == list(want[1])


def test_the_repair_frees_a_pinned_gate_pulled_inward(monkeypatch):
    """Coupled gates (M = [[1, .9], [.9, 1]], targets (1.3, 1.2) inside [1, 2]^2): the guess
    (1, 1.8) pins gate 0 at lo (gate 1's excess pulls it down); on that face gate 1 relaxes to
    1.47 and gate 0's velocity turns inward (+0.057): freed, the minimizer is the target."""
    task = _task2(
        np.array([[1.0, 0.9], [0.9, 1.0]]), [1.3, 1.2], [0.0, 0.0], (1.0, 1.0), (2.0, 2.0)
    )
    _fake_rest(monkeypatch, [1.0, 1.8])
    assert task.resolve(np.array([1.0, 1.8]))[1].tolist() == [-1, 0]
    G, side = minimizer(task)
    np.testing.assert_allclose(G, [1.3, 1.2], atol=1e-12)
    assert side.tolist() == [0, 0]


def test_the_minimizer_guesses_from_the_flow_to_rest_from_the_box_centre(monkeypatch):
    """The active set's first guess is the end of the flow to rest from the box centre (for a
    task too slow to settle in that flow the guess depends on where it starts)."""
    M, G_star = SLOW_TASKS[3]
    task = box_task(np.array(M), np.array(G_star), np.zeros(2), np.ones(2), np.full(2, 2.0), 1e-9)
    starts = []
    real = _box_plateau.flow

    def spy(task, G0, T, jacobian):
        starts.append(np.array(G0, dtype=float))
        return real(task, G0, T, jacobian)

    monkeypatch.setattr(_box_plateau, "flow", spy)
    minimizer(task)
    assert len(starts) == 1 and starts[0].tolist() == [1.5, 1.5]


def test_a_cycling_repair_is_refused_after_its_budget_of_passes(monkeypatch):
    """The repair may cycle (a gate pinned because its free solution crosses hi, freed because
    its velocity there points inward): it is refused after 4 n + 4 passes, one face tried per
    pass. Forced here: no face is accepted and the velocity of a pinned gate always points
    inward (gate 0's free solution, its target 2.5, is above hi = 2)."""
    task = _task2(np.diag([1.0, 2.0]), [2.5, 1.5], [0.0, 0.0], lo=(1.0, 1.0), hi=(2.0, 2.0))
    tried = []

    def refuse(task, side):
        tried.append(side.tolist())
        return None

    monkeypatch.setattr(_box_plateau, "_kkt", refuse)
    task.velocity = lambda G: np.full(G.shape, -1.0)  # inward at hi
    _fake_rest(monkeypatch, [1.5, 1.5])
    with pytest.raises(ConvergenceError):
        minimizer(task)
    assert len(tried) == 4 * 2 + 4
    assert tried[:3] == [[0, 0], [1, 0], [0, 0]]


def test_the_flows_to_rest_compute_no_jacobian(monkeypatch):
    """The minimizer's guess and ``settling`` read the flow's end point and pieces only."""
    task = _plateau_tasks()[0]
    flags = []
    real = _box_plateau.flow

    def spy(task, G0, T, jacobian):
        flags.append(jacobian)
        return real(task, G0, T, jacobian)

    monkeypatch.setattr(_box_plateau, "flow", spy)
    G, _ = minimizer(task)
    settling(task, 0.5 * (task.lo + task.hi), G)
    assert len(flags) == 2 and not any(flags)
