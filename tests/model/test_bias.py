"""Bias inference of Appendix E (clln_theory.inference.drift), with round trips through (D5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clln_theory.errors import ShapeError, SingularSystemError, TaskError
from clln_theory.inference.drift import (
    combine_projections,
    drift_velocity,
    stationary_projection,
)
from clln_theory.theory.linear import LinearTask, evolve

# Round-off only: the recovered bias comes from (D5) evaluated in floating point and a 2x2 solve.
ROUND_TRIP_RTOL = 1e-9


def test_drift_velocity_window_counts_velocities_after_skip():
    t = np.arange(10) * 0.5
    G = np.c_[t**2, -t]  # velocity of G1 grows: window selects which differences are averaged
    v = drift_velocity(t, G, window=3, skip=2)
    # samples 2..5: differences at t = 1..2.5 -> (t_k + t_{k+1}) for x = t²
    np.testing.assert_allclose(v.velocity, [np.mean([2.5, 3.5, 4.5]), -1.0])
    assert v.start == 2 and v.window == 3
    np.testing.assert_allclose(np.linalg.norm(v.direction), 1.0)


def test_drift_velocity_refuses_short_or_unordered_input():
    t = np.arange(5.0)
    with pytest.raises(ShapeError, match="needs at least 7 samples"):
        drift_velocity(t, np.zeros((5, 2)), window=4, skip=2)
    with pytest.raises(ShapeError, match="must increase"):
        drift_velocity(t[::-1], np.zeros((5, 2)), window=2, skip=0)
    with pytest.raises(ShapeError, match="shapes"):
        drift_velocity(t, np.zeros((4, 2)), window=2)


def test_combine_projections_exact_and_parallel_refused():
    est = combine_projections([[1.0, 0.0], [1.0, 1.0]], [2.0, 3.0 * np.sqrt(2)])
    np.testing.assert_allclose(est.B, [2.0, 4.0])
    with pytest.raises(SingularSystemError, match="parallel"):
        combine_projections([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0])
    with pytest.raises(ShapeError):
        combine_projections([[1.0, 0.0]], [1.0, 2.0])


def _rank_one(u, lam):
    u = np.asarray(u, float) / np.linalg.norm(u)
    return lam * np.outer(u, u)


@settings(max_examples=25, deadline=None)
@given(
    B=st.tuples(st.floats(-5, 5), st.floats(-5, 5)).filter(lambda b: np.hypot(*b) > 0.1),
    angle_a=st.floats(0.2, 1.4),
    angle_b=st.floats(-1.4, -0.2),
    lam_a=st.floats(20.0, 200.0),
    lam_b=st.floats(20.0, 200.0),
)
def test_round_trip_drift_of_two_single_point_tasks(B, angle_a, angle_b, lam_a, lam_b):
    """Simulate each task alone with a known B through (D5); recover B from the drifts."""
    B = np.array(B)
    projections = []
    for angle, lam, G_star in ((angle_a, lam_a, [3.0, 3.5]), (angle_b, lam_b, [3.2, 3.0])):
        normal = np.array([np.cos(angle), np.sin(angle)])  # curvature direction
        task = LinearTask(_rank_one(normal, lam), G_star)
        # long after the relaxation (t >> 1/lam) the motion is the pure drift N B of (D5)
        t = 40.0 / lam + 0.03 * np.arange(20)
        G = evolve(task, [2.0, 2.0], t=t, B=B)
        v = drift_velocity(t, G, window=13, skip=2)
        projections.append(v.projection(task.eigvecs[:, 0]))  # the solution line's direction
    est = combine_projections(projections)
    np.testing.assert_allclose(est.B, B, rtol=ROUND_TRIP_RTOL, atol=ROUND_TRIP_RTOL)


def test_drift_direction_projection_equals_line_projection_for_pure_drift():
    task = LinearTask(_rank_one([1.0, -0.5], 80.0), [3.0, 3.0])
    t = 1.0 + 0.03 * np.arange(20)
    v = drift_velocity(t, evolve(task, [2.5, 3.5], t=t, B=[1.0, 2.0]), window=10)
    p_drift, p_line = v.projection(), v.projection(task.eigvecs[:, 0])
    np.testing.assert_allclose(abs(p_drift.direction @ p_line.direction), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p_drift.value, p_line.value, rtol=1e-12)


def test_round_trip_stationary_point_of_a_two_point_task():
    """A full-rank task comes to rest at G* + M⁻¹B (D2); its weak-direction projection is u·B."""
    M = _rank_one([1.0, 0.3], 50.0) + _rank_one([0.2, 1.0], 4.0)
    G_star = np.array([3.8, 3.05])
    B = np.array([-1.79, 0.68])
    task = LinearTask(M, G_star)
    G_rest = evolve(task, G_star, t=1e3, B=B)  # long after every relaxation
    p = stationary_projection(task, G_rest)
    u = np.linalg.eigh(M)[1][:, 0]
    np.testing.assert_allclose(p.value, abs(u @ B), rtol=ROUND_TRIP_RTOL)
    # with a second, independent projection B is recovered exactly
    other = drift_velocity(
        np.arange(5.0), np.arange(5.0)[:, None] * np.array([[B @ [1, 0], 0.0]]), window=2, skip=0
    ).projection([1.0, 0.0])
    np.testing.assert_allclose(combine_projections([p, other]).B, B, rtol=ROUND_TRIP_RTOL)


def test_non_finite_inputs_are_refused_not_propagated_as_nan():
    """Regression: a NaN sample inside the window gave B = NaN silently."""
    t = np.arange(8) * 0.1
    G = np.column_stack([t, 2 * t])
    G[3, 0] = np.nan
    with pytest.raises(TaskError, match="`G`"):
        drift_velocity(t, G, window=3, skip=2)
    with pytest.raises(TaskError, match="`G`"):
        stationary_projection(LinearTask(np.eye(2), [1.0, 2.0]), [np.inf, 0.0])
    with pytest.raises(TaskError, match="LinearTask"):  # a raw M is not a task
        stationary_projection(np.eye(2), [1.0, 2.0])
