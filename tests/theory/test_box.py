"""The linear theory inside the gate box: the faces (``box=`` of periodic_orbit, evolve,
cyclic_orbit; box_plateau), their checks and refusals, round trips, and convergence of a
clipping stepper of the projected dynamics to the closed-form cycle."""

from __future__ import annotations

import numpy as np
import pytest
from box_reference import make_case
from scipy.linalg import expm

from clln_theory._checks import count_validations
from clln_theory.errors import ArgumentError, ConvergenceError, ShapeError
from clln_theory.model import AffineBias
from clln_theory.theory import (
    BoxOrbit,
    ClosedOrbit,
    LinearTask,
    box_plateau,
    cyclic_orbit,
    evolve,
    periodic_orbit,
)
from clln_theory.theory._box import box_task
from clln_theory.theory._box_orbit import cycle_sweep

#: These tests put orbits in boxes they leave on purpose: the `GateBoxWarning` that says so is
#: expected here (it is tested with `pytest.warns` in test_box.py) and would only be noise.
pytestmark = pytest.mark.filterwarnings("ignore::clln_theory.errors.GateBoxWarning")


MA = np.array([[20.0, 10.0], [10.0, 5.0]])
MB = np.array([[5.0, -8.0], [-8.0, 12.8]])
A = LinearTask(MA, G_star=[3.0, 3.5])
B_ = LinearTask(MB, G_star=[2.5, 3.0])
BIAS = np.array([0.3, -0.2])
BOX = (np.array([1.0, 1.0]), np.array([5.0, 5.0]))
#: A fitted log-log slope within this of the expected order (as the theory-vs-simulator tests).
SLOPE_TOL = 0.2


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ------------------------------------------------------------------------ faces and checks


def test_box_orbit_shapes_and_protocol():
    taus = np.array([1e-3, 1.0, 60.0])
    o = periodic_orbit(A, B_, B=BIAS, tau=taus, box=BOX)
    assert isinstance(o, BoxOrbit) and isinstance(o, ClosedOrbit)
    assert o.G0.shape == (3, 2) and o.G_half.shape == (3, 2) and o.span.shape == (3,)
    assert o.saturated.tolist() == [False, False, True] and len(o.pieces) == 3
    one = periodic_orbit(A, B_, B=BIAS, tau=60.0, box=BOX)
    assert one.G0.shape == (2,) and isinstance(one.span, float) and one.saturated is True
    np.testing.assert_array_equal(one.G0, o.G0[2])
    assert one.pieces[0].t_start == 0.0 and one.pieces[-1].t_end == 60.0
    assert {p.task for p in one.pieces} == {0, 1}


def test_without_box_the_result_is_unchanged():
    taus = [1e-3, 1.0, 60.0]
    o1 = periodic_orbit(A, B_, B=BIAS, tau=taus)
    o2 = periodic_orbit(A, B_, B=BIAS, tau=taus, box=None)
    np.testing.assert_array_equal(o1.G0, o2.G0)
    assert type(o1) is type(o2) and not isinstance(o1, BoxOrbit)
    assert isinstance(evolve(A, [2.0, 2.0], t=1.0, B=BIAS), np.ndarray)


@pytest.mark.parametrize(
    "box, error, text",
    [
        (5.0, ArgumentError, "pair"),
        ((1.0, 2.0, 3.0), ArgumentError, "3 items"),
        ((2.0, 1.0), ArgumentError, "lo < hi"),
        ((1.0, np.nan), ArgumentError, "box"),
        ((np.ones(3), 5.0), ShapeError, "box"),
        (("a", 5.0), ArgumentError, "box"),
    ],
)
def test_a_bad_box_is_refused_naming_it(box, error, text):
    with pytest.raises(error, match="box") as info:
        periodic_orbit(A, B_, B=BIAS, tau=1.0, box=box)
    assert text in str(info.value)


@pytest.mark.parametrize("option", ["G_ref", "dps", "rtol"])
def test_options_the_box_route_does_not_honour_are_refused(option):
    value = {"G_ref": [3.0, 3.0], "dps": 30, "rtol": 1e-10}[option]
    with pytest.raises(ArgumentError, match=f"`box` and `{option}`"):
        periodic_orbit(A, B_, B=BIAS, tau=1.0, box=BOX, **{option: value})


def test_affine_bias_with_box_is_refused_everywhere():
    ab = AffineBias(BIAS, np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ArgumentError, match="box"):
        periodic_orbit(A, B_, B=ab, tau=1.0, box=BOX)
    with pytest.raises(ArgumentError, match="box"):
        evolve(A, [2.0, 2.0], t=1.0, B=ab, box=BOX)
    with pytest.raises(ArgumentError, match="box"):
        cyclic_orbit([A, B_], B=ab, durations=[0.5, 0.5], box=BOX)
    with pytest.raises(ArgumentError, match="box"):
        cyclic_orbit([A, B_], B=BIAS, durations=[0.5, 0.5], box=BOX, G_ref=[3.0, 3.0])


def test_the_box_route_validates_each_argument_once():
    with count_validations() as c:
        periodic_orbit(A, B_, B=BIAS, tau=[1.0, 60.0], box=BOX, rate_tol=1e-9)
    per: dict[str, int] = {}
    for (_v, arg), k in c.items():
        per[arg] = per.get(arg, 0) + k
    assert {"B", "tau", "box", "rate_tol"} <= set(per)
    assert all(k == 1 for k in per.values()), per


def test_targets_and_start_outside_the_box():
    """G_star outside the box saturates the cycle on that side; a G0 outside is clipped in."""
    far = LinearTask(MA, G_star=[7.0, 7.0])  # beyond the upper limits
    o = periodic_orbit(far, B_, B=BIAS, tau=20.0, box=BOX)
    assert o.saturated and np.all(o.G_half <= 5.0) and any(p.pinned_hi for p in o.pieces)
    tr = evolve(A, [9.0, -3.0], t=[0.0, 1.0], B=BIAS, box=BOX)
    np.testing.assert_array_equal(tr.G[0], [5.0, 1.0])


# ------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("tau", [0.05, 3.0, 60.0])
def test_the_trajectory_closes_and_passes_g_half(tau):
    o = periodic_orbit(A, B_, B=BIAS, tau=tau, box=BOX)
    tr = o.trajectory([0.0, tau / 2, tau, 2 * tau])
    np.testing.assert_allclose(tr.G[0], o.G0, atol=1e-12)
    np.testing.assert_allclose(tr.G[1], o.G_half, atol=1e-12)
    np.testing.assert_allclose(tr.G[2], o.G0, atol=1e-11)  # periodicity
    np.testing.assert_allclose(tr.G[3], o.G0, atol=1e-11)
    # evolving each half from its start by the public evolve lands on the next state
    ga = evolve(A, o.G0, t=tau / 2, B=BIAS, box=BOX).G
    gb = evolve(B_, o.G_half, t=tau / 2, B=BIAS, box=BOX).G
    np.testing.assert_allclose(ga, o.G_half, atol=1e-11)
    np.testing.assert_allclose(gb, o.G0, atol=1e-11)
    dense = o.trajectory(401)
    assert dense.G.shape == (401, 2) and np.all(dense.G >= 1.0) and np.all(dense.G <= 5.0)
    at = dense.pinned
    assert np.all(np.isclose(dense.G[at], np.broadcast_to([1.0, 1.0], dense.G.shape)[at])
                  | np.isclose(dense.G[at], 5.0))  # fmt: skip


def test_evolve_in_the_box_samples_any_shape_of_times():
    t = np.linspace(0.0, 20.0, 12).reshape(3, 4)
    tr = evolve(A, [2.0, 2.0], t=t, B=BIAS, box=BOX)
    assert tr.G.shape == (3, 4, 2) and tr.pinned.shape == (3, 4, 2)
    flat = evolve(A, [2.0, 2.0], t=t.ravel(), B=BIAS, box=BOX)
    np.testing.assert_allclose(tr.G.reshape(-1, 2), flat.G, atol=1e-13)
    far = BOX[1] + 100.0  # a box never reached: the unconstrained (D5)
    wide = evolve(A, [2.0, 2.0], t=t, B=BIAS, box=(BOX[0] - 100.0, far))
    np.testing.assert_allclose(wide.G, evolve(A, [2.0, 2.0], t=t, B=BIAS), atol=1e-12)


def test_cyclic_orbit_in_the_box():
    durs = np.outer([0.1, 5.0, 60.0], [0.5, 0.5])
    c = cyclic_orbit([A, B_], B=BIAS, durations=durs, box=BOX)
    o = periodic_orbit(A, B_, B=BIAS, tau=durs.sum(axis=1), box=BOX)
    np.testing.assert_allclose(c.G_starts[:, 0], o.G0, atol=1e-12)
    np.testing.assert_allclose(c.G_starts[:, 1], o.G_half, atol=1e-12)
    third = LinearTask(np.diag([4.0, 1.0]), G_star=[4.0, 1.5])
    c3 = cyclic_orbit([A, B_, third], B=BIAS, durations=[10.0, 5.0, 20.0], box=BOX)
    assert c3.G_starts.shape == (3, 2) and c3.saturated
    G = c3.G_starts[0]
    for k, (task, h) in enumerate(zip([A, B_, third], [10.0, 5.0, 20.0], strict=True)):
        np.testing.assert_allclose(G, c3.G_starts[k], atol=1e-11)
        G = evolve(task, G, t=h, B=BIAS, box=BOX).G
    np.testing.assert_allclose(G, c3.G_starts[0], atol=1e-11)
    tr = c3.trajectory(50)
    assert set(np.unique(tr.task_index)) == {0, 1, 2}


def test_box_plateau_and_its_crossover():
    P = box_plateau(A, B_, B=BIAS, box=BOX)
    taus = np.array([0.5, 5.0, 50.0, 500.0]) * P.tau_crossover
    o = periodic_orbit(A, B_, B=BIAS, tau=taus, box=BOX)
    dev = np.maximum(
        np.max(np.abs(o.G_half - P.G_half), axis=1), np.max(np.abs(o.G0 - P.G0), axis=1)
    )
    assert dev[-1] <= 1e-12 and dev[0] > dev[2]
    est = P.deviation(taus[1:])
    assert np.all(dev[1:] <= 3 * est + 1e-12)


def test_box_plateau_of_a_task_too_slow_to_rest_frees_the_gates_it_pinned():
    """Task a's rates (1.4e-9 and 3.5e-7 /s) are too slow for its flow to settle in 1e9 s: the
    guess pins gate 2 at its upper limit, where the minimizer leaves it free. The active-set
    repair frees it (a ConvergenceError before that fix); G_half is task a's minimizer over the
    box, here from ``lsq_linear`` on its energy (M = R^T R, scaled by 1e7: the minimizer is
    invariant under that scaling)."""
    from scipy.optimize import lsq_linear

    M = np.array([[2.07649391e-07, -1.69789552e-07], [-1.69789552e-07, 1.41198905e-07]])
    G_star = np.array([2.05805846, 2.02228563])
    P = box_plateau(
        LinearTask(M, G_star), LinearTask(np.eye(2), [1.5, 1.5]), B=[0, 0], box=(1.0, 2.0)
    )
    R = np.linalg.cholesky(1e7 * M).T
    ref = lsq_linear(R, R @ G_star, bounds=(1.0, 2.0), tol=1e-15, lsmr_tol="auto").x
    np.testing.assert_allclose(P.G_half, ref, atol=1e-9)  # lsq_linear's own accuracy
    assert P.side_half.tolist() == [1, 0] and P.G0.tolist() == [1.5, 1.5]


def test_no_settled_sequence_is_a_typed_error():
    Ma, Gsa, Mb, Gsb, B, lo, hi, tau = make_case(876016083, 6, 4, 4, 2, "typical", 0.3)
    tasks = [box_task(M, Gs, B, lo, hi, 1e-9) for M, Gs in ((Ma, Gsa), (Mb, Gsb))]
    with pytest.raises(ConvergenceError, match="Newton"):
        cycle_sweep(tasks, np.array([[tau / 2, tau / 2]]), None, maxit=1)


# ----------------------------------------------------------- a clipping stepper converges


def _clip_stepper(tau, N, G):
    """Exact affine step of each task's unconstrained flow over tau / (2N), then clip."""
    steps = []
    for task in (A, B_):
        Z = np.zeros((3, 3))
        Z[:2, :2] = -task.M
        Z[:2, 2] = task.M @ task.G_star + BIAS
        E = expm(Z * tau / (2 * N))
        steps.append((E[:2, :2], E[:2, 2]))
    for _ in range(400):
        prev = G.copy()
        for Ak, ck in steps:
            for _k in range(N):
                G = np.clip(Ak @ G + ck, *BOX)
        if np.max(np.abs(G - prev)) < 1e-13:
            break
    Gh = G.copy()
    for _k in range(N):
        Gh = np.clip(steps[0][0] @ Gh + steps[0][1], *BOX)
    return G, Gh


def test_a_clipping_stepper_converges_to_the_cycle_at_first_order():
    tau = 60.0
    o = periodic_orbit(A, B_, B=BIAS, tau=tau, box=BOX)
    assert o.saturated
    Ns = np.array([250, 500, 1000, 2000, 4000])
    errs = []
    for N in Ns:
        G0, Gh = _clip_stepper(tau, int(N), o.G0.copy())
        errs.append(max(np.max(np.abs(G0 - o.G0)), np.max(np.abs(Gh - o.G_half))))
    assert abs(_slope(1.0 / Ns, errs) - 1.0) < SLOPE_TOL, errs
    assert errs[-1] < 1e-2


def test_gate_box_warning_where_the_unconstrained_orbit_leaves_the_box():
    """Issue 21: `GateBoxWarning` from the faces that know the gate range (`box=`), naming the
    periods where the orbit without limits leaves it; none for an orbit inside."""
    import warnings

    from clln_theory.errors import GateBoxWarning
    from clln_theory.theory import LinearTask, cyclic_orbit, periodic_orbit

    u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    with pytest.warns(GateBoxWarning, match=r"at 2 of 3 periods \(tau = \[1\.0, 1000\.0\]"):
        boxed = periodic_orbit(a, b, B=[0.1, -0.2], tau=[1e-3, 1.0, 1e3], box=(0.9, 1.1))
    assert boxed.unconstrained_in_box.tolist() == [True, False, False]
    with pytest.warns(GateBoxWarning, match="at 1 of 1 schedules"):
        cyc = cyclic_orbit([a, b, a], B=[0.1, -0.2], durations=[0.5, 0.5, 0.5], box=(0.9, 1.1))
    assert not cyc.unconstrained_in_box
    with warnings.catch_warnings():
        warnings.simplefilter("error", GateBoxWarning)  # in range: silent
        inside = periodic_orbit(a, b, B=[0.1, -0.2], tau=[1e-3, 1e-2], box=(0.9, 1.1))
        assert np.all(inside.unconstrained_in_box)
        cyclic_orbit([a, b, a], B=[0.1, -0.2], durations=[1e-3] * 3, box=(0.9, 1.1))
