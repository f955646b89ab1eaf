"""Bounded work and exact arithmetic at extreme times and sizes (issue 18, item 2): each example
of the issue is a regression test here.

- ``forgetting_curve`` jumps many cycles with powers of the period map (no per-cycle loop),
  counts the cycles exactly (Python ints) and checks ``H`` and the size before allocating;
- the trajectories of every orbit type take the phase exactly (``fmod``) at any ``t``;
- the cyclic and affine faces refuse overflow and bad arguments with typed errors;
- ``linearize``/``linearize_factor`` refuse a non-bool ``low_rank``, a point that is not a
  solution and a multi-output task in factor form.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest

from clln_theory.errors import ArgumentError, NumericalRangeError, ShapeError, TaskError
from clln_theory.model import AffineBias, DataPoint, Network, Task
from clln_theory.model.network import star_network
from clln_theory.theory import (
    LinearTask,
    _memory,
    affine_orbit,
    cyclic_affine_orbit,
    cyclic_orbit,
    evolve_affine,
    forgetting_curve,
    linearize,
    linearize_factor,
    nearest_solution,
    periodic_orbit,
)

U1, U2 = np.array([1.0, 0.0]), np.array([0.6, 0.8])
TA = LinearTask(10.0 * np.outer(U1, U1), G_star=[1.0, 1.0])
TB = LinearTask(20.0 * np.outer(U2, U2), G_star=[1.0, 1.0])
LA = LinearTask(np.array([[10.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.5]))
LB = LinearTask(np.array([[1.0, -2.0], [-2.0, 10.0]]), np.array([3.0, 3.5]))
BIAS = AffineBias([0.3, -0.2], np.diag([-0.5, 0.0]), [1.0, 1.0])


def exact_phase(t: float, tau: float) -> float:
    """``t mod tau`` of the two floats, exactly; a positive multiple is the end of a period."""
    p = float(Fraction(t) % Fraction(tau))
    return tau if p == 0.0 and t > 0 else p


# --------------------------------------------------------------------------- forgetting_curve
def test_forgetting_curve_former_hang_is_bounded():
    """1e10 cycles (t = 1e7 s, durations 1e-3 s) were one loop iteration each."""
    start = time.perf_counter()
    fc = forgetting_curve(LA, [LB], B=[1, 1], durations=[1e-3], t=[1e7, 1e19, 1e300])
    assert time.perf_counter() - start < 1.0
    assert np.all(np.isfinite(fc.G)) and np.all(fc.error >= 0)
    # LB is full rank: after many relaxation times the gates sit on LB's own orbit, whatever t
    np.testing.assert_allclose(fc.G[1], fc.G[0], rtol=1e-12)
    np.testing.assert_allclose(fc.G[2], fc.G[0], rtol=1e-12)


def test_forgetting_curve_jump_matches_the_loop(monkeypatch):
    """The squared period map agrees with the segment-by-segment loop to round-off."""
    rng = np.random.default_rng(3)
    tasks = []
    for _ in range(3):
        X = rng.normal(size=(5, 2))
        tasks.append(LinearTask(X @ X.T, rng.normal(size=5)))
    B = rng.normal(size=5)
    t = np.array([0.0, 0.37, 5.0, 40.0, 123.4567])
    new = forgetting_curve(tasks[0], tasks[1:], B=B, durations=[0.01, 0.03], t=t).G
    monkeypatch.setattr(_memory, "_LOOP_CYCLES", 10**9)  # every jump by the loop
    ref = forgetting_curve(tasks[0], tasks[1:], B=B, durations=[0.01, 0.03], t=t).G
    np.testing.assert_allclose(new, ref, rtol=1e-10, atol=1e-12)


def test_forgetting_curve_counts_cycles_exactly_at_1e19():
    """The int64 cycle count overflowed (G = 1.92e19 where 1e19 is right): the drift along
    the common nullspace of TB is exactly linear in t."""
    fc = forgetting_curve(TA, [TB], B=[1.0, 1.0], durations=[1e-3], t=[1e7, 1e19])
    null = np.array([0.8, -0.6])  # TB's null direction; B projects on it at 0.2 V/s
    speed = float(null @ np.array([1.0, 1.0]))
    start = float(null @ TA.G_star)  # G0 = TA.G_star
    np.testing.assert_allclose(fc.G @ null, start + speed * fc.times, rtol=1e-12)
    assert fc.drift_speed == pytest.approx(abs(speed))
    # the range part stays on TB's bounded orbit (to the resolution of |G| ~ 2e18)
    assert abs(fc.G[1] @ U2 - fc.G[0] @ U2) < 4 * np.spacing(np.linalg.norm(fc.G[1]))


@pytest.mark.parametrize(
    ("H", "match"),
    [(-np.eye(2), "positive semi-definite"), (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric")],
)
def test_forgetting_curve_refuses_a_weight_that_is_not_psd(H, match):
    with pytest.raises(ArgumentError, match=match):
        forgetting_curve(TA, [TB], B=[1, 1], durations=[1.0], t=[1.0], H=H)


def test_forgetting_curve_refuses_huge_n_before_allocating():
    """Two low-rank tasks at n = 1e6 allocated np.eye(n) (7 TiB) before any size check."""
    n = 10**6
    F = np.zeros((n, 1))
    F[0, 0] = 1.0
    task = LinearTask.from_factor(F, np.zeros(n))
    other = LinearTask.from_factor(F[::-1].copy(), np.zeros(n))
    with pytest.raises(ArgumentError, match="DENSE_MAX_N"):
        forgetting_curve(task, [other], B=np.zeros(n), durations=[1.0], t=[1.0])


# --------------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("t", [7.7, 1e17, 3.3e19, 1e300])
def test_orbit_trajectory_phase_is_exact(t):
    """At t = 1e17 the phase lost all its digits (the orbit left its range)."""
    tau = 0.3
    orbit = periodic_orbit(TA, TB, B=[0.3, -0.2], tau=tau)
    far = orbit.trajectory([t]).G[0]
    near = orbit.trajectory([exact_phase(t, tau)]).G[0]
    np.testing.assert_array_equal(far, near)


@pytest.mark.parametrize("t", [1e17, 1e300])
def test_cyclic_orbit_trajectory_phase_is_exact(t):
    durations = [0.1, 0.13, 0.07]
    tasks = [TA, TB, LinearTask(5.0 * np.eye(2), [1.0, 1.5])]
    orbit = cyclic_orbit(tasks, B=[0.3, -0.2], durations=durations)
    far = orbit.trajectory([t])
    near = orbit.trajectory([exact_phase(t, float(orbit.tau))])
    np.testing.assert_array_equal(far.G, near.G)
    np.testing.assert_array_equal(far.task_index, near.task_index)


def test_drifting_orbit_adds_the_drift_of_whole_periods():
    """With a common null direction the gates move by ``drift * (t - phase)``."""
    a = LinearTask(np.diag([1.0, 0.0]), [0.0, 0.0])
    b = LinearTask(np.diag([2.0, 0.0]), [0.0, 0.0])
    orbit = periodic_orbit(a, b, B=[0.1, 0.5], tau=0.3)
    t = 1e17
    phase = exact_phase(t, 0.3)
    G = orbit.trajectory([t]).G[0]
    near = orbit.trajectory([phase]).G[0]
    assert G[0] == near[0]
    assert G[1] == pytest.approx(near[1] + 0.5 * (t - phase), rel=1e-15)


@pytest.mark.parametrize("t", [1e17, 1e20, 1e300])
def test_affine_orbit_trajectory_phase_is_exact(t):
    """AffineOrbit.trajectory([1e20]) said "t must be >= 0, but has value -16384"."""
    orbit = affine_orbit(TA, TB, B=BIAS, tau=0.3)
    far = orbit.trajectory([t]).G[0]
    near = orbit.trajectory([exact_phase(t, 0.3)]).G[0]
    np.testing.assert_array_equal(far, near)


@pytest.mark.parametrize("t", [1e17, 1e300])
def test_box_orbit_trajectory_phase_is_exact(t):
    orbit = periodic_orbit(TA, TB, B=[3.0, -2.0], tau=0.3, box=(0.0, 1.2))
    far = orbit.trajectory([t])
    near = orbit.trajectory([exact_phase(t, 0.3)])
    np.testing.assert_array_equal(far.G, near.G)
    assert np.all((far.G >= 0.0) & (far.G <= 1.2))


# --------------------------------------------------------------------------- cyclic / affine
def test_cyclic_orbit_refuses_an_infinite_span_like_periodic_orbit():
    with pytest.raises(NumericalRangeError, match="span"):
        periodic_orbit(TA, TB, B=[0.3, -0.2], tau=2e300)
    with pytest.raises(NumericalRangeError, match="cyclic_orbit span"):
        cyclic_orbit([TA, TB], B=[0.3, -0.2], durations=[1e300, 1e300])


def test_cyclic_orbit_empty_durations_is_typed():
    with pytest.raises(ShapeError, match="durations"):
        cyclic_orbit([TA, TB], B=[0.3, -0.2], durations=[])


def test_cyclic_affine_orbit_given_one_task_is_typed():
    with pytest.raises(ArgumentError, match="sequence of LinearTask"):
        cyclic_affine_orbit(TA, B=BIAS, durations=[0.5])  # type: ignore[arg-type]
    orbit = cyclic_affine_orbit([TA], B=BIAS, durations=[0.5])  # a list of one is a cycle
    assert np.all(np.isfinite(orbit.G_starts))


@pytest.mark.parametrize(
    ("B", "tau"),
    [
        (BIAS, 1e300),  # raw LinAlgError
        (AffineBias([1e300, -0.2], np.diag([-0.5, 0.0]), [1.0, 1.0]), 0.5),  # StabilityError
    ],
)
def test_affine_orbit_overflow_is_a_numerical_range_error(B, tau):
    with pytest.raises(NumericalRangeError, match="float64"):
        affine_orbit(TA, TB, B=B, tau=tau)


@pytest.mark.parametrize(
    "B",
    [
        AffineBias([0.3, -0.2], np.diag([0.0, 500.0]), [1.0, 1.0]),  # unstable: grows as e^5000
        AffineBias([1e300, 1e300], np.zeros((2, 2)), [1.0, 1.0]),  # huge
    ],
)
def test_evolve_affine_never_returns_nan_or_inf(B):
    with pytest.raises(NumericalRangeError, match="evolve_affine"):
        evolve_affine(TA, [1.0, 1.0], t=[1e10], B=B)


# --------------------------------------------------------------------------- linearization
@pytest.fixture(scope="module")
def star():
    from clln_theory.experiments.paper import experiment_tasks

    net = star_network()
    task, _ = experiment_tasks("exp1")
    return net, task, nearest_solution(net, task, [3.0, 3.5])


def test_linearize_low_rank_must_be_a_bool(star):
    net, task, G = star
    with pytest.raises(ArgumentError, match="`low_rank` must be True or False"):
        linearize(net, task, G, gamma=1.6e6, low_rank="no")  # type: ignore[arg-type]
    assert linearize(net, task, G, gamma=1.6e6, low_rank=np.bool_(True)).low_rank


def test_linearize_factor_refuses_a_point_that_is_not_a_solution(star):
    net, task, _ = star
    with pytest.raises(TaskError, match="is not a solution") as dense:
        linearize(net, task, [3.0, 3.5], gamma=1.6e6)
    with pytest.raises(TaskError, match="is not a solution") as factor:
        linearize_factor(net, task, [3.0, 3.5], gamma=1.6e6)
    assert str(dense.value) == str(factor.value)


def test_low_rank_of_a_two_output_task_is_typed():
    net = Network.from_edges(
        [("in", "o1"), ("o1", "gnd", 1e-3), ("in", "o2"), ("o2", "gnd", 1e-3), ("o1", "o2")]
    )
    task = Task([DataPoint({"in": 1.0, "gnd": 0.0}, (0.4, 0.3))], ["o1", "o2"])
    G = nearest_solution(net, task, np.full(net.n_gates, 3.0))
    assert np.all(np.isfinite(linearize(net, task, G, gamma=1e6).M))  # dense works
    with pytest.raises(ArgumentError, match="single-output"):
        linearize(net, task, G, gamma=1e6, low_rank=True)
    with pytest.raises(ArgumentError, match="single-output"):
        linearize_factor(net, task, G, gamma=1e6)
