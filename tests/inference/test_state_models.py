"""The state-dependent bias models (`infer_state_bias(model=...)`): round trips from synthetic
bow-ties and drift tests generated with a known bias on experiment 1's calibrated tasks, and the
gate-box engine of an affine bias against the exact constant-bias box engine at J = 0."""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.data import load_cycle
from clln_theory.experiments import reproduce
from clln_theory.inference import drift_measurement, infer_state_bias
from clln_theory.model import AffineBias
from clln_theory.theory import periodic_orbit
from clln_theory.theory._affine import affine_flow
from clln_theory.theory._box_affine import affine_box_cycle

TAUS = (0.02, 0.08, 0.2)  # s, the measured bow-ties' periods
NOISE = 2e-3  # V, sample scatter of the synthetic bow-ties
SAMPLES = 61  # per bow-tie, both ends included (as the measured files)


@pytest.fixture(scope="module")
def tasks():
    rep = reproduce("exp1", grid_points=0)
    return rep.tasks[0].linear, rep.tasks[1].linear


def _write_bowties(root, la, lb, bias, rng):
    """Bow-ties in the upstream layout (two rows G-, G+; one period, both ends), read back."""
    folder = root / "small network" / "experimental_bowties"
    folder.mkdir(parents=True)
    cycles = []
    for tau in TAUS:
        t = (0.3 * tau + tau / (SAMPLES - 1) * np.arange(SAMPLES)) % tau
        G = periodic_orbit(la, lb, B=bias, tau=tau).trajectory(t).G
        G = G + NOISE * rng.standard_normal(G.shape)
        path = folder / f"bowtie-exp1-{tau:g}s.csv"
        np.savetxt(path, G.T, delimiter=",")
        cycles.append(load_cycle(path))
    return cycles


def _drift_tests(la, lb, bias, rng):
    """Each task trained alone from a gate vector off its line; 0.1 V/s velocity noise."""
    out = []
    for task, start in ((la, [3.2, 3.6]), (lb, [2.8, 3.1])):
        t = np.arange(40) * 0.01
        G = affine_flow(task.M, task.G_star, np.array(start), t, bias)
        G = G + 2e-4 * rng.standard_normal(G.shape)
        out.append(drift_measurement(t, G, direction=task.eigvecs[:, 0], window=13, skip=2))
    return out


def _fit(tasks, tmp_path, bias, model, seed=0):
    la, lb = tasks
    rng = np.random.default_rng(seed)
    cycles = _write_bowties(tmp_path, la, lb, bias, rng)
    drifts = _drift_tests(la, lb, bias, rng)
    return infer_state_bias(
        la, lb, cycles, drifts=drifts, phases=np.full(len(cycles), 0.3), B_start=bias.B0 + 0.5,
        G_ref=bias.G_ref, model=model,
    )  # fmt: skip


def test_round_trip_affine(tasks, tmp_path):
    true = AffineBias([5.0, 3.0], [[-4.0, 3.0], [2.0, -1.5]], [2.95, 3.35])
    fit = _fit(tasks, tmp_path, true, "affine")
    z_B0 = np.abs(fit.bias.B0 - true.B0) / fit.B0_std
    g_true = np.array([u @ true.J @ u for u in fit.directions])
    z_g = np.abs(fit.gains - g_true) / fit.gains_std
    assert np.all(z_B0 < 2.0) and np.all(z_g < 2.0), (z_B0, z_g)
    assert fit.fitted_to_positions


def test_round_trip_along_lines(tasks, tmp_path):
    la, lb = tasks
    u = [t.eigvecs[:, 0] for t in (la, lb)]
    k = np.array([0.0, 3.0])  # 1/s, a gain along beta's line only
    J = sum(ki * np.outer(ui, ui) for ki, ui in zip(k, u, strict=True))
    true = AffineBias([4.0, 4.0], J, [2.95, 3.35])
    fit = _fit(tasks, tmp_path, true, "along-lines")
    assert not fit.fitted_to_positions  # velocities only
    g_true = np.array([d @ true.J @ d for d in fit.directions])
    z_B0 = np.abs(fit.bias.B0 - true.B0) / fit.B0_std
    z_g = np.abs(fit.gains - g_true) / fit.gains_std
    assert np.all(z_B0 < 2.0) and np.all(z_g < 2.0), (z_B0, z_g, fit.gains, g_true)


def test_constant_and_diagonal_shapes(tasks, tmp_path):
    true = AffineBias([5.0, 3.0], np.diag([-2.0, 1.0]), [2.95, 3.35])
    fit = _fit(tasks, tmp_path, true, "diagonal")
    assert fit.bias.J[0, 1] == 0.0 and fit.bias.J[1, 0] == 0.0
    assert np.all(np.abs(np.diag(fit.bias.J) - np.diag(true.J)) < 3 * np.diag(fit.J_std))
    const = _fit(
        tasks, tmp_path / "c", AffineBias([5.0, 3.0], np.zeros((2, 2)), [3, 3]), "constant"
    )
    assert np.all(const.bias.J == 0.0) and np.all(const.gains == 0.0)


def test_box_engine_equals_exact_box_engine_at_J0(tasks):
    la, lb = tasks
    B = np.array([2.97, 4.41])
    taus = np.array([0.02, 0.2, 0.317, 0.5024, 2.0])
    exact = periodic_orbit(la, lb, B=B, tau=taus, box=(1.0, 5.0))
    bias = AffineBias(B, np.zeros((2, 2)), la.G_star)
    lo, hi = np.full(2, 1.0), np.full(2, 5.0)
    for k, tau in enumerate(taus):
        c = affine_box_cycle((la, lb), bias, float(tau), lo, hi, max(la.rate_tol, lb.rate_tol))
        assert np.allclose(c.G0, exact.G0[k], atol=1e-8)
        assert np.allclose(c.G_half, exact.G_half[k], atol=1e-8)
        assert c.saturated == bool(exact.saturated[k])
