"""Fit a state-dependent bias ``B(G) = B0 + J (G - G_ref)`` to drift tests and bow-ties.

Constant-``B`` fits to the measured limit cycles (`clln_theory.inference.cycle_fit`) give a
different ``B`` at each period ``tau``: the orbit visits different gates at different periods,
which is what a bias depending on the gates does. This module fits the first-order model
:class:`~clln_theory.model.AffineBias` to all the measurements at once:

* each measured cycle (samples ``G_i`` at times ``phi_c tau + i dt``, the phase ``phi_c``
  unknown) against the closed orbit of :func:`~clln_theory.theory.affine.affine_orbit`;
* each drift test (task ``k`` trained alone, velocity ``v`` measured along the solution line's
  null direction ``u`` of ``M_k`` over a window around the gates ``G_d``) against the model's
  velocity there, ``u . B(G_d)`` (exact: ``u^T M_k = 0``).

The orbit is affine in ``B0`` for fixed ``J`` and phases; the fit is a nonlinear least-squares
problem in ``(B0, J, phases)`` solved by :func:`scipy.optimize.least_squares` from ``J = 0``
(the constant-``B`` answer). Cycle residuals are divided by a sample scatter ``sigma_cycle``
(V) and drift residuals by their standard errors (V/s), so the two kinds of data combine
without a unit choice. Uncertainties: the Gauss-Newton Jacobian at the optimum, scaled by
``RSS / dof`` and inflated by ``(1 + rho) / (1 - rho)`` for the lag-1 autocorrelation ``rho`` of
the cycle residuals (model misfit is smooth along a cycle), as in `cycle_fit`. Directions the
data do not determine get an infinite variance, never a pseudoinverse's finite one. The
``"along-lines"`` model is linear in its parameters (bow-tie velocities along the lines and drift
tests); its covariance accounts for a velocity being the difference of two noisy samples
(`_state_models.velocity_cov`). The fit itself runs in ``_state_fit.py`` (the engine).
"""

from __future__ import annotations

from collections.abc import Sequence

from numpy.typing import ArrayLike

from .._checks import choice, count, instance, number, quote, real_array, vector
from ..errors import ShapeError
from ..model.bias import bias_vector
from ..theory import LinearTask
from ._state_fit import MAX_NFEV, drift_measurement_of, fit_state_bias
from ._state_models import STATE_MODELS
from .cycle_model import check_linear_tasks, measured_cycles
from .drift import checked_drift, nonzero_direction
from .state_bias_results import DriftMeasurement, StateBiasFit

__all__ = [
    "DriftMeasurement",
    "StateBiasFit",
    "drift_measurement",
    "infer_state_bias",
]


def drift_measurement(
    times: ArrayLike,
    G: ArrayLike,
    *,
    direction: ArrayLike,
    window: int,
    skip: int = 2,
    source: str = "",
) -> DriftMeasurement:
    """A drift test's velocity along ``direction``, its standard error and where it was taken.

    Parameters
    ----------
    times : (m,) array_like
        Sample times, s.
    G : (m, n) array_like
        Gates, V.
    direction : (n,) array_like
        Direction to project on (normalized and oriented like the drift).
    window : int
        Finite-difference velocities averaged (as `drift_velocity`).
    skip : int
        Samples skipped at the start.
    source : str
        A label.

    Returns
    -------
    DriftMeasurement

    Raises
    ------
    ShapeError, TaskError, ArgumentError
        As :func:`~clln_theory.inference.drift_velocity`.
    """
    t, g, window, skip = checked_drift(times, G, window, skip)
    d = nonzero_direction(direction, g.shape[1])
    return drift_measurement_of(t, g, d, window, skip, source)


def infer_state_bias(
    task_a: LinearTask,
    task_b: LinearTask,
    cycles: Sequence,
    *,
    drifts: Sequence[DriftMeasurement] = (),
    phases: ArrayLike,
    B_start: ArrayLike,
    G_ref: ArrayLike | None = None,
    sigma_cycle: float | None = None,
    max_nfev: int = MAX_NFEV,
    model: str = "affine",
    shapes_only: bool = False,
) -> StateBiasFit:
    """Fit ``B(G) = B0 + J (G - G_ref)`` jointly to measured cycles and drift tests.

    Parameters
    ----------
    task_a, task_b : LinearTask
        The calibrated linear tasks (alpha trained first).
    cycles : sequence
        Measured cycles: objects with ``tau`` and ``G`` (m, n) (as the ``cycles`` of
        :func:`~clln_theory.experiments.reproduce`), samples evenly spaced over one period.
    drifts : sequence of DriftMeasurement, optional
        Drift tests (see :func:`drift_measurement`).
    phases : (c,) array_like
        Starting phase of each cycle (fraction of a period), e.g. from the constant-``B`` fit.
    B_start : (n,) array_like
        Starting ``B0`` (V/s), e.g. the drift-test or the cycles' constant bias.
    G_ref : (n,) array_like, optional
        Expansion point, V. Default: the mean of all cycle samples (so ``B0`` is the bias where
        the data are, and least correlated with ``J``).
    sigma_cycle : float, optional
        Sample scatter of the cycles, V, in [1e-15, 1e3] (float64 resolution of ~1 V gates, and
        far beyond any gate voltage). Default: estimated (the fit is repeated once with the
        rms of the first pass).
    max_nfev : int
        Budget of function evaluations of each least-squares pass (default 400).
    model : str
        The shape of ``J``: ``"affine"`` (full, default), ``"constant"`` (``J = 0``: a constant
        bias fitted to the same data), ``"diagonal"`` (each gate's bias depends on that gate
        only) or ``"along-lines"`` (``J = sum_mu k_mu u_mu u_mu^T`` over the tasks' solution
        lines, fitted to the drift tests and the cycles' velocities along the line of the task
        being trained, ``u . dG/dt = u . B(G)`` exactly; the positions enter only when the
        velocities leave a component of ``B0`` undetermined, a task without a line).
    shapes_only : bool
        Fit the cycles with their means removed (shapes, not positions), plus the drift tests.

    Returns
    -------
    StateBiasFit

    Raises
    ------
    ConvergenceError
        If the optimizer does not converge within ``max_nfev``.
    StabilityError
        If the fitted ``M - J`` has no cycle at a measured period.
    NumericalRangeError
        If the residuals or the uncertainties leave float64's range (huge cycles or starting
        values, a drift test with a tiny ``std``).
    ShapeError, ArgumentError
        Bad tasks, cycles, drifts, phases, starting values, ``model`` or ``shapes_only``.
    """
    check_linear_tasks(task_a, task_b)
    n = task_a.n
    cyc = measured_cycles(cycles, n)
    phases = real_array(phases, "phases", shape=(len(cyc),))  # reduced modulo 1 by the engine
    B_start = bias_vector(B_start, n, "B_start")
    G_ref = None if G_ref is None else vector(G_ref, "G_ref", n)
    max_nfev = count(max_nfev, "max_nfev")
    model = choice(model, "model", STATE_MODELS)
    shapes_only = bool(instance(shapes_only, "shapes_only", bool))
    drifts = tuple(drifts)
    for i, d in enumerate(drifts):
        if not isinstance(d, DriftMeasurement) or d.direction.shape != (n,):
            raise ShapeError(
                f"Argument `drifts[{i}]` must be a DriftMeasurement of {n} gates, but is "
                f"{quote(d)}."
            )
    sig = None if sigma_cycle is None else number(sigma_cycle, "sigma_cycle", low=1e-15, high=1e3)
    return fit_state_bias(
        task_a, task_b, cyc, drifts, phases, B_start, G_ref, sig, max_nfev, model, shapes_only
    )
