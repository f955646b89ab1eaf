"""LinearTask's kernels and (D4)/(D5): the cases the mutation run (tests/mutation) found untested.

Each against an independent reference: the knee of `crossover_tau` against the roots of its
quadratic, the overflow-free norm against `math.hypot`, a full-rank factor task against the
dense closed form at large t.
"""

import math
import re

import mpmath
import numpy as np
import pytest

from clln_theory.errors import ArgumentError, TaskError
from clln_theory.theory._spectral import DENSE_MAX_N, knee_period, scaled_norm
from clln_theory.theory._tasks import checked_task, flow, max_rate, min_rate
from clln_theory.theory.linear import LinearTask, evolve


def _knee_reference(cs, cl, d0, d1):
    """Positive root of cs^2 tau^2 = |d0 + tau d1 / 2|^2 by numpy.roots (cl = |d1| / 2)."""
    roots = np.roots([cs * cs - cl * cl, -float(d0 @ d1), -float(d0 @ d0)])
    real = [r.real for r in roots if abs(r.imag) < 1e-12 and r.real > 0]
    assert len(real) == 1
    return real[0]


@pytest.mark.parametrize(
    ("cs", "d0", "d1"),
    [
        (2.0, np.array([1.0, 0.5]), np.array([0.6, -0.2])),  # d0 . d1 > 0
        (2.0, np.array([1.0, 0.5]), np.array([-0.6, 0.2])),  # d0 . d1 < 0
        (0.5, np.array([0.1, 0.0]), np.array([0.0, 0.3])),  # d0 . d1 = 0, small scale
        (3e5, np.array([2e5, -1e5]), np.array([4e5, 1e5])),  # large scale
    ],
)
def test_knee_period_is_the_positive_root(cs, d0, d1):
    cl = float(np.linalg.norm(d1)) / 2
    tau = knee_period(cs, cl, d0, d1)
    assert tau == pytest.approx(_knee_reference(cs, cl, d0, d1), rel=1e-12)
    assert cs * tau == pytest.approx(float(np.linalg.norm(d0 + tau / 2 * d1)), rel=1e-12)
    # the root does not depend on the scale of the bias (all four scale together)
    s = 1e-200
    assert knee_period(cs * s, cl * s, d0 * s, d1 * s) == pytest.approx(tau, rel=1e-12)


@pytest.mark.parametrize("sign", (1.0, -1.0))
def test_knee_period_has_no_cancellation_near_cs_equal_cl(sign):
    # cs = cl (1 + 2^-26): a2 ~ 1e-8 a1^2 (exact in float64), so one of the two root formulas
    # cancels (-a1 + disc or a1 + disc); the root is taken in the other. Reference: 50 digits.
    cs, d0, d1 = 1.0 + 2.0**-26, np.array([sign * 0.5, 0.1]), np.array([2.0, 0.0])
    cl = 1.0
    tau = knee_period(cs, cl, d0, d1)
    with mpmath.workdps(50):
        a2 = mpmath.mpf(cs) ** 2 - mpmath.mpf(cl) ** 2
        a1 = -mpmath.fsum(mpmath.mpf(x) * mpmath.mpf(y) for x, y in zip(d0, d1))
        a0 = -mpmath.fsum(mpmath.mpf(x) ** 2 for x in d0)
        ref = (-a1 + mpmath.sqrt(a1 * a1 - 4 * a2 * a0)) / (2 * a2)
    assert tau == pytest.approx(float(ref), rel=1e-12)


def test_knee_period_is_nan_without_a_crossing():
    d0, d1 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    assert math.isnan(knee_period(1.0, 1.0, d0, d1))  # cs = cl: no unique root
    assert math.isnan(knee_period(0.5, 1.0, d0, d1))  # cs < cl
    assert math.isnan(knee_period(2.0, 1.0, np.zeros(2), d1))  # d0 = 0: tau = 0
    assert math.isnan(knee_period(0.0, 0.0, np.zeros(2), np.zeros(2)))  # all zero


def test_scaled_norm_keeps_every_representable_norm():
    assert scaled_norm([3.0, 4.0]) == 5.0
    assert scaled_norm([0.3, 0.4]) == pytest.approx(0.5, rel=1e-15)
    assert scaled_norm([3e-300, 4e-300]) == pytest.approx(5e-300, rel=1e-15, abs=0.0)
    assert scaled_norm([3e200, -4e200]) == pytest.approx(5e200, rel=1e-15)
    assert scaled_norm(np.array([1e-3, 2.0, -2.0])) == pytest.approx(math.hypot(1e-3, 2, 2))
    assert scaled_norm(np.zeros(3)) == 0.0
    assert scaled_norm(np.zeros(0)) == 0.0
    assert scaled_norm([1.0, np.inf]) == np.inf


def test_full_rank_factor_task_flows_as_the_dense_task():
    rng = np.random.default_rng(7)
    F = rng.normal(size=(3, 3))  # r = n: no complement of the factor's range
    G_star, G0, B = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
    low, dense = LinearTask.from_factor(F, G_star), LinearTask(F @ F.T, G_star)
    t = np.array([0.0, 0.3, 3.0, 1e15])
    G_low, G_dense = evolve(low, G0, t=t, B=B), evolve(dense, G0, t=t, B=B)
    np.testing.assert_allclose(G_low, G_dense, rtol=1e-9, atol=1e-12)
    # at rest: G_star + M^-1 B, the stationary point of (D2)
    np.testing.assert_allclose(G_low[-1], G_star + np.linalg.solve(F @ F.T, B), rtol=1e-9)


def test_checked_task_equals_the_constructed_task():
    M = [[2, 1, 0], [1, 2, 0], [0, 0, 0]]  # integers: read as floats
    G_star = [1, 2, 3]
    task = checked_task(np.array(M), np.array(G_star), 1e-6)
    ref = LinearTask(M, G_star, rate_tol=1e-6)
    assert task.M.dtype == np.float64 and task.G_star.dtype == np.float64
    assert (task.rate_tol, task.psd_tol, task.sym_tol) == (1e-6, ref.psd_tol, ref.sym_tol)
    for name in ("M", "G_star", "eigvals", "M_pinv", "N"):
        np.testing.assert_array_equal(getattr(task, name), getattr(ref, name))
    assert (task.rank, task.rank_threshold) == (ref.rank, ref.rank_threshold)
    bad = np.array([[1.0, 0.0], [0.0, np.nan]])
    with pytest.raises(TaskError, match=re.escape("Argument `M` must be finite, but M[1, 1] = ")):
        checked_task(bad, np.zeros(2), 1e-9)
    with pytest.raises(
        TaskError, match=re.escape("Argument `G_star` must be finite, but G_star[1]")
    ):
        checked_task(np.eye(2), np.array([0.0, np.inf]), 1e-9)


def test_flow_engine_is_evolve_for_dense_and_factor_tasks():
    rng = np.random.default_rng(3)
    F = rng.normal(size=(4, 2))
    G_star, G0, B = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    t = np.array([[0.0, 0.5], [2.0, 40.0]])
    for task in (LinearTask.from_factor(F, G_star), LinearTask(F @ F.T, G_star)):
        G = flow(task, G0, t, B)
        assert G.shape == (2, 2, 4)
        np.testing.assert_array_equal(G, evolve(task, G0, t=t, B=B))
    dense = LinearTask(F @ F.T, G_star)
    np.testing.assert_allclose(
        flow(LinearTask.from_factor(F, G_star), G0, t, B), flow(dense, G0, t, B), atol=1e-10
    )


def test_rates_and_the_rank_threshold():
    # eigenvalue 1 sits on the threshold max(rate_tol = 1, n eps 2): it counts as zero
    task = LinearTask(np.diag([0.0, 1.0, 2.0]), np.zeros(3), rate_tol=1.0)
    assert task.rank == 1 and task.rank_threshold == 1.0
    assert min_rate(task) == 2.0 and max_rate(task) == 2.0
    # threshold n eps max(eig), from the largest eigenvalue (not the second)
    task = LinearTask(np.diag([1.0, 2.0, 4.0]), np.zeros(3), rate_tol=0.0)
    assert task.rank_threshold == 3 * np.finfo(float).eps * 4.0
    assert min_rate(task) == 1.0 and max_rate(task) == 4.0
    zero = LinearTask(np.zeros((2, 2)), np.zeros(2))
    assert max_rate(zero) == 0.0 and min_rate(zero) == np.inf
    empty = LinearTask.from_factor(np.zeros((3, 0)), np.zeros(3))
    assert empty.rank == 0 and empty.range_eigvals.shape == (0,)
    assert empty.factor_eigvals.shape == (0,) and empty.factor_basis.shape == (3, 0)
    assert max_rate(empty) == 0.0 and min_rate(empty) == np.inf
    low = LinearTask.from_factor([[1.0], [1.0]], np.zeros(2))
    assert max_rate(low) == pytest.approx(2.0, rel=1e-15)
    assert min_rate(low) == pytest.approx(2.0, rel=1e-15)


def test_psd_and_size_limits_of_a_rate_matrix():
    # lam = -1e-3 is within psd_tol * max|eig| (1e-2) and accepted, clipped to 0
    task = LinearTask(np.diag([-1e-3, 1e6]), np.zeros(2))
    assert task.eigvals[0] == 0.0
    # exactly on the bound -(psd_tol max|eig| + rate_tol) = -1: accepted
    assert LinearTask(np.diag([-1.0, 0.0]), np.zeros(2), rate_tol=1.0, psd_tol=0.0).rank == 0
    message = (
        "Argument `M` must be positive semi-definite, but has eigenvalue -0.5 1/s (below "
        "-(psd_tol * max|eig| + rate_tol) = -0.3); a rate matrix is a Hessian at a minimum of C."
    )
    with pytest.raises(TaskError, match=re.escape(message)):
        LinearTask(np.diag([-0.5, 1.0, 10.0]), np.zeros(3), rate_tol=0.2, psd_tol=0.01)
    assert LinearTask([[1e150]], [0.0]).eigvals[0] == 1e150  # on MAX_RATE: accepted
    with pytest.raises(ArgumentError, match=re.escape("magnitude <= 1e+150 1/s, but has max|M|")):
        LinearTask([[2e150]], [0.0])
    message = (
        "Argument `M` must be symmetric, but max|M - M.T| = 0.5 exceeds sym_tol * max|M| = "
        "0.02; pass the symmetric part or a larger `sym_tol`."
    )
    with pytest.raises(TaskError, match=re.escape(message)):
        LinearTask([[2.0, 0.5], [0.0, 1.0]], [0.0, 0.0], sym_tol=0.01)


def test_rates_of_a_large_factor_task_never_form_M():
    n = DENSE_MAX_N + 1  # the dense attributes are refused: the rates come from the factor
    F = np.zeros((n, 2))
    F[0, 0], F[1, 1] = 1.0, 3.0
    task = LinearTask.from_factor(F, np.zeros(n))
    assert max_rate(task) == pytest.approx(9.0, rel=1e-15)
    assert min_rate(task) == pytest.approx(1.0, rel=1e-15)
    with pytest.raises(ArgumentError, match="DENSE_MAX_N"):
        task.eigvals
