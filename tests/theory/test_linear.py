"""Tests of clln_theory.theory.linear: LinearTask validation and spectra, (D4)/(D5), (D8)/(D9)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings

from clln_theory.errors import ArgumentError, ShapeError, TaskError
from clln_theory.testing import augmented_expm_map, linear_tasks
from clln_theory.theory.linear import LinearTask, evolve, half_period_map

#: evolve vs scipy expm of the augmented matrix. scipy's scaling-and-squaring expm has a relative
#: error growing like eps * |t M| (each squaring doubles the error), so the tolerance is
#: EXPM_ULPS * eps * (1 + t |M|) of the largest term |G| + t |v|; evolve itself is a few ulps.
EXPM_ULPS = 100
REL_TOL_EXPM = 1e-11


def _expm_tol(task, t):
    return max(
        REL_TOL_EXPM, EXPM_ULPS * np.finfo(float).eps * (1 + t * np.abs(task.M).sum(1).max())
    )


def test_spectral_cache_of_rank_one_task():
    task = LinearTask([[2.0, 2.0], [2.0, 2.0]], [1.0, 3.0])
    assert task.n == 2 and task.rank == 1
    np.testing.assert_allclose(task.eigvals, [0.0, 4.0], atol=1e-15)
    np.testing.assert_allclose(task.M_pinv, np.full((2, 2), 1 / 8), rtol=1e-14)
    np.testing.assert_allclose(task.N, [[0.5, -0.5], [-0.5, 0.5]], atol=1e-15)
    with pytest.raises(ValueError):
        task.M[0, 0] = 1.0  # read-only copy


def test_rank_threshold_is_an_absolute_rate():
    # a mode at 1e-10 1/s is null at the default rate_tol = 1e-9 1/s, not at rate_tol = 1e-11
    M = np.diag([1e-10, 1.0])
    assert LinearTask(M, [0.0, 0.0]).rank == 1
    assert LinearTask(M, [0.0, 0.0], rate_tol=1e-11).rank == 2


@pytest.mark.parametrize(
    ("M", "G_star", "error", "match"),
    [
        (np.ones((3, 2)), [0, 0, 0], ShapeError, r"`M` must be square .* shape \(3, 2\)"),
        (np.eye(2), [0, 0, 0], ShapeError, r"`G_star` must have shape \(2,\)"),
        ([[1.0, np.nan], [np.nan, 1.0]], [0, 0], TaskError, r"`M` must be finite"),
        (np.eye(2), [0, np.inf], TaskError, r"`G_star` must be finite"),
        ([[1.0, 0.5], [0.0, 1.0]], [0, 0], TaskError, r"`M` must be symmetric"),
        ([[1.0, 0.0], [0.0, -1e-3]], [0, 0], TaskError, r"`M` must be positive semi-definite"),
    ],
)
def test_bad_task_input_raises_typed_error_naming_argument(M, G_star, error, match):
    with pytest.raises(error, match=match):
        LinearTask(M, G_star)


def test_round_off_negative_eigenvalue_is_clipped():
    task = LinearTask([[1.0, 0.0], [0.0, -1e-14]], [0.0, 0.0])
    assert task.eigvals[0] == 0.0 and task.rank == 1


def test_evolve_bad_times_and_vectors():
    task = LinearTask(np.eye(2), [0.0, 0.0])
    with pytest.raises(ArgumentError, match="`t` must be >= 0"):
        evolve(task, [0, 0], t=[-1.0], B=[0, 0])
    with pytest.raises(ArgumentError, match="`t` must be finite"):
        evolve(task, [0, 0], t=np.nan, B=[0, 0])
    with pytest.raises(ShapeError, match="`B` must have shape"):
        evolve(task, [0, 0], t=1.0, B=[0, 0, 0])
    with pytest.raises(ArgumentError, match="`G0` must be finite"):
        evolve(task, [np.nan, 0], t=1.0, B=[0, 0])
    with pytest.raises(ArgumentError, match="`h` must be > 0"):
        half_period_map(task, B=[0, 0], h=0.0)


def test_evolve_shapes_are_vectorized_over_times():
    task = LinearTask(np.diag([1.0, 0.0, 3.0]), [1.0, 2.0, 3.0])
    G = evolve(task, np.zeros(3), t=np.ones((4, 5)), B=np.ones(3))
    assert G.shape == (4, 5, 3)


@settings(max_examples=25, deadline=None)
@given(linear_tasks(3, rank=2))
def test_evolve_equals_D4_by_augmented_expm(task):
    rng = np.random.default_rng(0)
    G0, B = rng.uniform(-3, 3, 3), rng.uniform(-3, 3, 3)
    times = np.array([1e-9, 1e-4, 0.1, 10.0, 1e3])
    G = evolve(task, G0, t=times, B=B)
    for t, Gt in zip(times, G):
        A, b = augmented_expm_map(task, B=B, h=t)  # (D4)
        ref = A @ G0 + b
        scale = np.linalg.norm(ref) + np.linalg.norm(G0) + t * np.linalg.norm(B)
        assert np.linalg.norm(Gt - ref) <= _expm_tol(task, t) * scale


@settings(max_examples=25, deadline=None)
@given(linear_tasks(3, rank=1, eigval_range=(1e-1, 1e2)))
def test_evolve_equals_D5_with_pinv_and_nullspace_projector(task):
    rng = np.random.default_rng(1)
    G0, B = rng.uniform(-3, 3, 3), rng.uniform(-3, 3, 3)
    for t in (1e-6, 0.5, 50.0):
        E = scipy.linalg.expm(-task.M * t)
        D5 = E @ G0 + (np.eye(3) - E) @ (task.G_star + task.M_pinv @ B) + t * task.N @ B  # (D5)
        scale = np.linalg.norm(D5) + np.linalg.norm(G0) + t * np.linalg.norm(B)
        assert np.linalg.norm(evolve(task, G0, t=t, B=B) - D5) <= _expm_tol(task, t) * scale


def test_half_period_map_matches_augmented_expm_and_has_accurate_E():
    rng = np.random.default_rng(2)
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    M = (U * np.array([0.0, 1e-2, 1.0, 1e4])) @ U.T
    task = LinearTask(0.5 * (M + M.T), rng.uniform(-1, 1, 4))
    B = rng.uniform(-1, 1, 4)
    h = np.array([1e-9, 1e-3, 1.0])
    m = half_period_map(task, B=B, h=h)
    assert m.A.shape == (3, 4, 4) and m.b.shape == (3, 4)
    for i, hi in enumerate(h):
        A, b = augmented_expm_map(task, B=B, h=hi)
        np.testing.assert_allclose(m.A[i], A, atol=1e-13)
        np.testing.assert_allclose(m.b[i], b, atol=1e-13 * (1 + np.abs(b).max()))
        # E = 1 - A keeps relative accuracy at small h: its trace is sum(1 - exp(-h lam))
        exact = -np.expm1(-hi * np.clip(np.linalg.eigvalsh(task.M), 0, None)).sum()
        assert abs(np.trace(m.E[i]) - exact) <= 1e-12 * exact
    np.testing.assert_allclose(m(np.zeros(4)), m.b)


@pytest.mark.parametrize("name", ["rate_tol", "psd_tol", "sym_tol"])
@pytest.mark.parametrize("bad", ["x", -1.0, np.nan, None])
def test_bad_tolerance_is_an_argument_error(name, bad):
    with pytest.raises(ArgumentError, match=f"`{name}`"):
        LinearTask(np.eye(2), [0.0, 0.0], **{name: bad})


def test_a_string_matrix_is_an_argument_error_and_a_raw_matrix_is_not_a_task():
    with pytest.raises(ArgumentError, match="`M` must be a real array"):
        LinearTask("eye", [0.0, 0.0])
    with pytest.raises(ArgumentError, match="`task` must be a LinearTask"):
        evolve(np.eye(2), [0.0, 0.0], t=1.0, B=[0.0, 0.0])


def test_bias_and_times_are_keyword_only():
    task = LinearTask(np.eye(2), [0.0, 0.0])
    with pytest.raises(TypeError):
        evolve(task, [0.0, 0.0], 1.0, [0.0, 0.0])
    with pytest.raises(TypeError):
        half_period_map(task, [0.0, 0.0], 1.0)
    with pytest.raises(TypeError):
        task.velocity([0.0, 0.0], [0.0, 0.0])


def test_stationary_bias_makes_the_velocity_vanish():
    task = LinearTask([[2.0, 1.0], [1.0, 3.0]], [1.0, -1.0])
    G = np.array([1.5, 0.25])
    B = task.stationary_bias(G)
    np.testing.assert_allclose(task.velocity(G, B=B), 0.0, atol=1e-15)
    # a stationary point under that bias: evolve stays put
    np.testing.assert_allclose(evolve(task, G, t=[0.0, 3.0], B=B)[-1], G, rtol=1e-14)
