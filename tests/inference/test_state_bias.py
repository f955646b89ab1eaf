"""Fit of a state-dependent bias B(G) = B0 + J (G - G_ref) to cycles and drift tests."""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.data import default_data_dir
from clln_theory.errors import ShapeError
from clln_theory.model import AffineBias
from clln_theory.theory import LinearTask, periodic_orbit

from clln_theory.inference import (  # isort: skip
    DriftMeasurement,
    infer_bias_from_cycles,
    infer_state_bias,
)

SAMPLES = 61  # as the measured bow-ties: 61 samples over one period
NOISE = 2e-3  # V, white sample noise of the synthetic cycles
TAUS = (0.02, 0.08, 0.2)


class _Cycle:
    def __init__(self, tau, G):
        self.tau, self.G = tau, G


def _synthetic(seed=0):
    """Two calibrated-looking single-point tasks, a known affine bias, noisy cycles, drifts."""
    u, v = np.array([0.92, -0.39]), np.array([0.38, 0.92])  # normals of the solution lines
    a = LinearTask(400.0 * np.outer(u, u), G_star=[2.4, 2.4])
    b = LinearTask(400.0 * np.outer(v, v), G_star=[2.4, 2.4])
    true = AffineBias([5.0, 3.0], [[-4.0, 5.0], [3.0, -2.0]], [2.9, 3.3])
    rng = np.random.default_rng(seed)
    cycles, phases = [], rng.uniform(0, 1, len(TAUS))
    for tau, phi in zip(TAUS, phases, strict=True):
        t = phi * tau + tau / (SAMPLES - 1) * np.arange(SAMPLES)
        G = periodic_orbit(a, b, B=true, tau=tau).trajectory(t).G
        cycles.append(_Cycle(tau, G + NOISE * rng.normal(size=G.shape)))
    drifts = []
    for task, G_d in ((a, [3.2, 3.0]), (b, [2.0, 2.6])):
        d = task.eigvecs[:, 0]
        drifts.append(
            DriftMeasurement(
                direction=d, value=float(d @ true(G_d)) + 0.02 * rng.normal(), std=0.02,
                G=np.array(G_d),
            )
        )  # fmt: skip
    return a, b, true, cycles, phases, drifts


def test_recovers_a_known_affine_bias_within_its_uncertainty():
    a, b, true, cycles, _, drifts = _synthetic()
    start = infer_bias_from_cycles(a, b, cycles)  # the constant-B fit, as on the data
    fit = infer_state_bias(
        a, b, cycles, drifts=drifts, phases=start.phase, B_start=start.B, G_ref=true.G_ref
    )
    assert np.all(np.isfinite(fit.B0_std)) and np.all(fit.B0_std > 0)
    assert np.all(np.abs(fit.bias.B0 - true.B0) <= 4 * fit.B0_std)  # 4 sigma over 6 parameters
    assert np.all(np.abs(fit.bias.J - true.J) <= 4 * fit.J_std)
    # the residuals are the sample noise: the model is right
    assert np.all(fit.rms_cycles < 1.5 * NOISE)
    # and the constant-B model is not: one B cannot fit the three periods
    assert start.rms > 1.5 * NOISE


def test_bad_inputs_are_typed_errors():
    a, b, _, cycles, phases, _ = _synthetic()
    with pytest.raises(ShapeError, match="phases"):
        infer_state_bias(a, b, cycles, phases=[0.1], B_start=[0.0, 0.0])
    with pytest.raises(ShapeError, match="B_start"):
        infer_state_bias(a, b, cycles, phases=phases, B_start=[0.0])
    with pytest.raises(ShapeError, match="DriftMeasurement"):
        infer_state_bias(a, b, cycles, drifts=[(1, 2)], phases=phases, B_start=[0.0, 0.0])


DATA = default_data_dir()


@pytest.mark.skipif(DATA is None, reason="the paper's data are not available")
@pytest.mark.parametrize("exp", ["exp1", "exp2"])
def test_affine_bias_explains_the_tau_dependence_of_the_measured_cycles(exp):
    """On the measured bow-ties one affine bias fits all three periods far better than one
    constant bias (the measured, reported result; D2 is not used by the fit)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    from state_dependent_bias import drifts_of

    from clln_theory.experiments import reproduce

    rep = reproduce(exp, data_dir=DATA, grid_points=0)
    la, lb = rep.tasks[0].linear, rep.tasks[1].linear
    joint = infer_bias_from_cycles(la, lb, rep.cycles)
    fit = infer_state_bias(
        la, lb, rep.cycles, drifts=drifts_of(rep, DATA), phases=joint.phase, B_start=joint.B
    )
    assert np.all(np.isfinite(fit.B0_std)) and np.all(np.isfinite(fit.J_std))
    joint_rms = [np.sqrt(np.mean(r**2)) for r in joint.misfit.residuals]
    assert float(np.sqrt(np.mean(fit.rms_cycles**2))) < float(
        np.sqrt(np.mean(np.square(joint_rms)))
    )
    # J is determined: at least one entry more than 2 sigma from zero
    assert np.max(np.abs(fit.bias.J) / fit.J_std) > 2.0
