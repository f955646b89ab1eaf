"""Bias from limit cycles (clln_theory.inference.cycle_fit): affinity, round trips, bow-ties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clln_theory.errors import ArgumentError, ShapeError, TaskError
from clln_theory.inference import affine_cycle
from clln_theory.inference.cycle_fit import (
    cycle_misfit,
    infer_bias_from_cycle,
    infer_bias_from_cycles,
)
from clln_theory.testing import task_pairs
from clln_theory.theory.linear import LinearTask
from clln_theory.theory.orbits import periodic_orbit

# (*) is exact; J comes from differences of orbits of size ~|G| + |J| (|B| = 1), each accurate to
# a few ulps times the orbit's condition number (<= ~1e4 for the drawn tasks): 1e-9 relative.
AFFINE_RTOL = 1e-9
# Noise-free round trip: the fitted phase is found by Brent to xatol = 1e-10 of a period; the
# orbit moves by |dG/dt| tau * 1e-10 ~ 1e-8 V there, which shifts B by ~1e-6 V/s relative.
NOISELESS_B_RTOL = 1e-5
NOISELESS_PHASE_ATOL = 1e-7
# Noisy round trip: |B - B_true| below this many reported standard deviations (Gaussian 4-sigma:
# fails with probability ~6e-5 per component for calibrated errors).
N_SIGMA = 4.0
# Calibration of the reported uncertainty over an ensemble of 40 noise draws: the standard
# deviation of the z-scores of a correct estimator is 1 +- 0.11 (40 samples, 2 components);
# [0.75, 1.35] is a 3-sigma band that still catches a factor-1.5 error in the covariance.
Z_STD_BAND = (0.75, 1.35)

SMALL_GRID = 64  # phase grid for the many-fit tests (a basin is ~32 points wide at this size)


def paper_like_tasks() -> tuple[LinearTask, LinearTask]:
    """Two single-point tasks shaped like experiment 1 of the paper (no data needed).

    Solution lines G+ = 2.7257 G- - 3.3003 (alpha) and G+ = 0.43914 G- + 1.6061 (beta), crossing
    at the joint solution; rank-one M = lam n n^T along each line's normal with the calibrated
    nonzero rates 81 and 77 1/s.
    """
    G_joint = np.linalg.solve([[2.7257, -1.0], [0.43914, -1.0]], [3.3003, -1.6061])
    out = []
    for a, lam in ((2.7257, 81.0), (0.43914, 77.0)):
        nrm = np.array([a, -1.0]) / np.hypot(a, 1.0)
        out.append(LinearTask(lam * np.outer(nrm, nrm), G_joint))
    return out[0], out[1]


def synthetic_cycle(task_a, task_b, B, tau, phase, m=61, sigma=0.0, seed=0):
    """``m`` samples over one period (both ends) starting at ``phase * tau``, plus noise."""
    t = phase * tau + np.arange(m) * tau / (m - 1)
    G = periodic_orbit(task_a, task_b, B=B, tau=tau).trajectory(t).G
    return G + sigma * np.random.default_rng(seed).standard_normal(G.shape)


# ------------------------------------------------------------------------------ the affine model
@settings(max_examples=30, deadline=None)
@given(
    pair=st.one_of(task_pairs(2, ranks=(1, 1), compatible=True), task_pairs(3)),
    tau=st.floats(1e-3, 10.0),
    seed=st.integers(0, 2**16),
)
def test_orbit_is_affine_in_the_bias(pair, tau, seed):
    task_a, task_b, B = pair
    t = np.sort(np.random.default_rng(seed).uniform(0.0, 2.0 * tau, 9))
    model = affine_cycle(task_a, task_b, tau=tau, times=t)
    direct = periodic_orbit(task_a, task_b, B=B, tau=tau).trajectory(t).G
    scale = np.max(np.abs(model.g)) + np.max(np.abs(model.J)) * (1.0 + np.max(np.abs(B)))
    np.testing.assert_allclose(model(B), direct, rtol=0, atol=AFFINE_RTOL * scale)


def test_affine_cycle_refuses_a_common_null_direction():
    a = LinearTask(np.diag([1.0, 0.0]), [0.0, 0.0])
    b = LinearTask(np.diag([2.0, 0.0]), [1.0, 0.0])
    with pytest.raises(TaskError, match="share 1 null direction"):
        affine_cycle(a, b, tau=0.1, times=[0.0, 0.05])


# ------------------------------------------------------------------------------ round trips
@settings(max_examples=12, deadline=None)
@given(
    B=st.tuples(st.floats(-6, 6), st.floats(-6, 6)).filter(lambda B: np.hypot(*B) > 0.5),
    tau=st.sampled_from([0.01, 0.05, 0.2]),
    phase=st.floats(0.0, 0.999),
)
def test_noise_free_round_trip_recovers_bias_and_phase(B, tau, phase):
    a, b = paper_like_tasks()
    G = synthetic_cycle(a, b, B, tau, phase)
    fit = infer_bias_from_cycle(a, b, G, tau=tau, phase_grid=SMALL_GRID)
    np.testing.assert_allclose(fit.B, B, rtol=0, atol=NOISELESS_B_RTOL * (1.0 + np.hypot(*B)))
    dphi = (fit.phase[0] - phase + 0.5) % 1.0 - 0.5
    assert abs(dphi) < NOISELESS_PHASE_ATOL
    assert fit.rms < 1e-6


@pytest.mark.parametrize(
    "B, tau, phase, seed",
    [((3.06, 4.45), 0.02, 0.3, 1), ((-0.26, 1.98), 0.08, 0.71, 2), ((6.0, -2.0), 0.2, 0.05, 3)],
)
def test_noisy_round_trip_is_within_the_reported_uncertainty(B, tau, phase, seed):
    a, b = paper_like_tasks()
    sigma = 2e-3  # V, about the spread of the published bow-tie samples about a smooth curve
    G = synthetic_cycle(a, b, B, tau, phase, sigma=sigma, seed=seed)
    fit = infer_bias_from_cycle(a, b, G, tau=tau)
    assert np.all(np.abs(fit.B - B) < N_SIGMA * fit.B_std)
    # white noise: residual rms ~ sigma * sqrt(n), no autocorrelation
    assert 0.8 * sigma * np.sqrt(2) < fit.rms < 1.2 * sigma * np.sqrt(2)
    assert abs(fit.rho) < 0.3


def test_reported_uncertainty_is_calibrated_on_white_noise():
    a, b = paper_like_tasks()
    B, tau, phase, sigma = np.array([3.06, 4.45]), 0.05, 0.37, 3e-3
    clean = synthetic_cycle(a, b, B, tau, phase)
    rng = np.random.default_rng(2024)
    z = []
    for _ in range(40):
        fit = infer_bias_from_cycle(
            a, b, clean + sigma * rng.standard_normal(clean.shape), tau=tau, phase_grid=SMALL_GRID
        )
        z.append((fit.B - B) / fit.B_std_white)
    z = np.array(z)
    assert Z_STD_BAND[0] < z.std() < Z_STD_BAND[1], z.std(axis=0)
    assert np.all(np.abs(z.mean(axis=0)) < 3.0 / np.sqrt(len(z)) * Z_STD_BAND[1])


def test_nearest_point_method_is_phase_free_and_recovers_the_bias():
    a, b = paper_like_tasks()
    B, tau = np.array([3.06, 4.45]), 0.08
    G = synthetic_cycle(a, b, B, tau, 0.42)
    # shuffle the samples: the nearest-point distance ignores their order and timing
    G = G[np.random.default_rng(5).permutation(len(G))]
    fit = infer_bias_from_cycles(a, b, [(tau, G)], matching="nearest")
    # tolerance: the polyline of 2000 (the default curve_samples) points projects samples to ~1e-7 V
    np.testing.assert_allclose(fit.B, B, rtol=0, atol=1e-3)
    assert fit.rms < 1e-5
    with pytest.raises(ArgumentError, match="matching"):
        infer_bias_from_cycles(a, b, [(tau, G)], matching="closest")
    with pytest.raises(ArgumentError, match="`method` of `infer_bias_from_cycles` was renamed"):
        infer_bias_from_cycles(a, b, [(tau, G)], method="nearest")
    with pytest.raises(ArgumentError, match="`method` of `infer_bias_from_cycle` was renamed"):
        infer_bias_from_cycle(a, b, G, tau=tau, method="nearest")


@pytest.mark.parametrize(
    ("matching", "kwargs"),
    [
        ("phase", {"B0": [0.0, 0.0]}),
        ("phase", {"curve_samples": 100}),
        ("phase", {"max_iter": 10}),
        ("nearest", {"B0": [0.0, 0.0], "spacing": 0.001}),
        ("nearest", {"B0": [0.0, 0.0], "phase_grid": 64}),
    ],
)
def test_an_option_the_matching_does_not_use_is_refused(matching, kwargs):
    a, b = paper_like_tasks()
    G = synthetic_cycle(a, b, [0.3, -0.2], 0.05, 0.1)
    name = next(k for k in kwargs if k != "B0" or len(kwargs) == 1)
    with pytest.raises(ArgumentError, match=f"`{name}` is not used with `matching="):
        infer_bias_from_cycles(a, b, [(0.05, G)], matching=matching, **kwargs)


def test_several_cycles_share_one_bias_with_their_own_phases():
    a, b = paper_like_tasks()
    B = np.array([-0.26, 1.98])
    cycles = [
        (0.02, synthetic_cycle(a, b, B, 0.02, 0.1, m=41)),
        (0.2, synthetic_cycle(a, b, B, 0.2, 0.6, m=61)),
    ]
    fit = infer_bias_from_cycles(a, b, cycles, phase_grid=SMALL_GRID)
    np.testing.assert_allclose(fit.B, B, atol=NOISELESS_B_RTOL * 3)
    np.testing.assert_allclose(fit.phase, [0.1, 0.6], atol=1e-6)
    assert fit.dof == (41 + 61) * 2 - 2 - 2


def test_misfit_of_the_true_bias_vanishes_and_of_a_wrong_one_does_not():
    a, b = paper_like_tasks()
    B, tau = np.array([3.06, 4.45]), 0.08
    G = synthetic_cycle(a, b, B, tau, 0.25)
    right = cycle_misfit(a, b, [(tau, G)], B=B, phase_grid=SMALL_GRID)
    wrong = cycle_misfit(a, b, [(tau, G)], B=B + np.array([1.0, 0.0]), phase_grid=SMALL_GRID)
    assert right.rms < 1e-8 and abs(right.phase[0] - 0.25) < NOISELESS_PHASE_ATOL
    assert wrong.rms > 1e-3


def test_bad_samples_are_refused_with_a_clear_message():
    a, b = paper_like_tasks()
    with pytest.raises(ShapeError, match=r"shape \(m, 2\)"):
        infer_bias_from_cycle(a, b, np.zeros((10, 3)), tau=0.1)
    with pytest.raises(TaskError, match="finite"):
        infer_bias_from_cycle(a, b, np.full((10, 2), np.nan), tau=0.1)
    with pytest.raises(ShapeError, match="non-empty sequence"):
        infer_bias_from_cycles(a, b, [])
    with pytest.raises(ShapeError, match="spacing"):
        infer_bias_from_cycles(a, b, [(0.1, np.zeros((10, 2)))], spacing=[0.01, 0.02])


# ------------------------------------------------------------------------------ the paper's data
def _data_dir():
    from clln_theory.data import default_data_dir

    d = default_data_dir()
    if d is None or not (d / "small network" / "experimental_bowties").is_dir():
        pytest.skip("the paper's data is absent (see clln_theory.data.default_data_dir)")
    return d


@pytest.mark.parametrize("experiment", ["exp1", "exp2"])
def test_measured_bow_ties_are_fitted_and_the_drift_bias_fits_worse(experiment):
    from clln_theory.experiments.reproduction import reproduce

    rep = reproduce(experiment, data_dir=_data_dir(), grid_points=0)
    la, lb = rep.tasks[0].linear, rep.tasks[1].linear
    assert [c.tau for c in rep.cycles] == [0.02, 0.08, 0.2]
    for c in rep.cycles:
        fit = infer_bias_from_cycle(la, lb, c.G, tau=c.tau)
        drift = cycle_misfit(la, lb, [c], B=rep.B)
        # the linear theory explains >= 85 % of each bow-tie's variance with a fitted B ...
        assert fit.r2 > 0.85 and fit.rms < 0.08
        # ... the residuals are model error, smooth along the cycle, not noise
        assert fit.rho > 0.8
        # ... and the drift-test bias of Appendix E reproduces the bow-tie >= 3x worse (rms)
        assert drift.rms > 3.0 * fit.rms
        # each bow-tie file starts at a task switch (phase 0 or 1/2 within 3 % of a period)
        assert min(abs(fit.phase[0] - p) for p in (0.0, 0.5, 1.0)) < 0.03


def test_linearly_dependent_parameters_get_infinite_variance_not_a_pseudoinverse():
    """Regression: the covariance was ``s2 pinv(K^T K)`` after dropping zero columns, so two
    parameters entering only as a sum (equal columns) got a finite, meaningless variance."""
    from clln_theory.inference.cycle_fit import _covariance

    K = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [2.0, 2.0, 0.5]])
    assert np.all(np.isfinite(np.linalg.pinv(K.T @ K)))  # what the old code reported
    cov = _covariance(K, 2.0)
    assert np.all(np.isinf(cov[:2, :])) and np.all(np.isinf(cov[:, :2]))
    # the determined parameter keeps its variance: K[:, 2] against the combination of 0 and 1
    ref = 2.0 * np.linalg.inv(K[:, 1:].T @ K[:, 1:])[1, 1]
    assert cov[2, 2] == pytest.approx(ref, rel=1e-12)
    K[:, 1] = 0.0  # a zero column (the old special case) is still infinite, the rest exact
    cov = _covariance(K, 2.0)
    assert np.isinf(cov[1, 1]) and np.isfinite(cov[0, 0])
    assert cov[0, 0] == pytest.approx(2.0 * np.linalg.inv(K[:, [0, 2]].T @ K[:, [0, 2]])[0, 0])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"phase_grid": 0},
        {"curve_samples": 1.5, "matching": "nearest"},
        {"max_iter": 0, "matching": "nearest"},
    ],
)
def test_bad_counts_are_refused_naming_the_argument(kwargs):
    a, b = paper_like_tasks()
    G = synthetic_cycle(a, b, [0.3, -0.2], 0.05, 0.1)
    name = next(k for k in kwargs if k != "matching")
    with pytest.raises(ArgumentError, match=f"`{name}`"):
        infer_bias_from_cycles(a, b, [(0.05, G)], **kwargs)
