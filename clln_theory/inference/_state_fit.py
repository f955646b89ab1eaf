"""Engine of `clln_theory.inference.state_bias`: the fit of ``B(G) = B0 + J (G - G_ref)`` to
measured cycles and drift tests on checked values (the method is described in the face's module
docstring). The face validates each argument once and calls `fit_state_bias`; the reproduction
(`[bias] state`) calls it with the files its face read and checked. Nothing here validates an
argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from .._checks import finite_result
from ..errors import ConvergenceError, NumericalRangeError, StabilityError
from ..model.bias import AffineBias
from ..theory import LinearTask
from ..theory._affine import cycle_fields, stretch_points
from ..theory.affine import AffineOrbit
from ._drift import drift_projection, window_velocity
from ._state_models import (
    drift_rows,
    gains_of,
    j_basis,
    line_directions,
    velocity_fit,
    velocity_rows,
)
from .cycle_model import MeasuredCycle
from .state_bias_results import DriftMeasurement, StateBiasFit

__all__ = ["MAX_NFEV", "drift_measurement_of", "fit_covariance", "fit_state_bias", "one_period"]

MAX_NFEV = 400
"""Default budget of function evaluations of each least-squares pass of the position fit
(`infer_state_bias`, the reproduction's ``[bias] state``)."""

#: Singular values of the weighted Jacobian below this times the largest mark parameter
#: combinations the data do not determine (reported with infinite variance). Rounding of the
#: finite-difference Jacobian sits near 1e-8 relative; 1e-10 of the largest singular value is a
#: variance ratio of 1e20, far beyond any meaningful uncertainty.
_DEGENERATE = 1e-10

#: What to check when a trial orbit overflows float64.
_HINT = "Check the magnitudes of `B_start`, `G_ref` and `tau`."

#: The face's arguments whose magnitudes drive the fit's uncertainties (its overflow message).
_ARGS_HINT = "Check the magnitudes of `cycles`, `drifts`, `G_ref`, `B_start`, `phases`."

#: Autocorrelation clip, as in `cycle_fit`: the inflation (1 + rho) / (1 - rho) stays <= 39.
_RHO_MAX = 0.95


def one_period(tau: float, G: NDArray) -> MeasuredCycle:
    """A measured cycle of checked samples ``G`` (m, n), m >= 3, over one period ``tau`` > 0 with
    both ends included (the default spacing of `cycle_model.measured_cycles`)."""
    return MeasuredCycle(tau=float(tau), G=G, dt=float(tau) / (G.shape[0] - 1))


def drift_measurement_of(
    t: NDArray, g: NDArray, direction: NDArray, window: int, skip: int, source: str
) -> DriftMeasurement:
    """`drift_measurement` on checked values: times ``t`` (N,), gates ``g`` (N, n) with
    ``skip + window < N``, a nonzero ``direction`` (n,)."""
    velocity = window_velocity(t, g, skip, window)
    p = drift_projection(velocity, direction, source)
    sl = slice(skip, skip + window + 1)
    v = np.diff(g[sl], axis=0) / np.diff(t[sl])[:, None] @ p.direction
    std = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("inf")
    return DriftMeasurement(
        direction=p.direction, value=p.value, std=std, G=g[sl].mean(axis=0), source=source
    )


def fit_state_bias(
    task_a: LinearTask,
    task_b: LinearTask,
    cyc: list[MeasuredCycle],
    drifts: tuple[DriftMeasurement, ...],
    phases: NDArray,
    B_start: NDArray,
    G_ref: NDArray | None,
    sigma_cycle: float | None,
    max_nfev: int,
    model: str,
    shapes_only: bool,
) -> StateBiasFit:
    """`infer_state_bias` on checked values (``phases`` (c,) any real, reduced modulo 1 here;
    ``G_ref`` None: the mean of the cycles' samples). An overflow of the uncertainties raises
    `NumericalRangeError` naming the face's arguments."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fit = _fit(task_a, task_b, cyc, drifts, phases % 1.0, B_start, G_ref, sigma_cycle,
                   max_nfev, model, shapes_only)  # fmt: skip
    for name in ("B0_std", "J_std"):
        finite_result(getattr(fit, name), f"infer_state_bias {name}", hint=_ARGS_HINT)
    return fit


def _fit(task_a, task_b, cyc, drifts, phases, B_start, G_ref, sig, max_nfev, model, shapes_only):
    if G_ref is None:
        G_ref = np.concatenate([x.G for x in cyc]).mean(axis=0)
    lines = line_directions((task_a, task_b))
    basis = j_basis(model, task_a.n, lines)
    setup = _Setup(task_a, task_b, cyc, drifts, G_ref, basis, lines, model, shapes_only)
    if model == "along-lines":
        fit = _from_velocities(setup, phases)
        if fit is not None:
            return fit
    return _position_fit(setup, phases, B_start, sig, max_nfev)


def _model(task_a, task_b, cycles: list[MeasuredCycle], bias: AffineBias, phases) -> list:
    """The gates of the closed orbit under ``bias`` at each cycle's sample times (the route of
    `periodic_orbit` with an `AffineBias`, on the theory's engines: nothing checked again)."""
    out = []
    tasks = (task_a, task_b)
    G_ref = np.mean([t.G_star for t in tasks], axis=0)
    tol = max(t.rate_tol for t in tasks)
    for c, phi in zip(cycles, phases, strict=True):
        h = np.asarray([c.tau / 2, c.tau / 2], dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            orbit = AffineOrbit(**cycle_fields(tasks, bias, h, G_ref, tol))
        for name in ("G_starts", "span"):  # as `periodic_orbit` refuses an overflow
            finite_result(getattr(orbit, name), f"closed orbit {name}", hint=_HINT)
        t = (phi % 1.0) * c.tau + c.dt * np.arange(c.G.shape[0])
        out.append(_orbit_points(orbit, t))
    return out


def _orbit_points(orbit: AffineOrbit, t: NDArray) -> NDArray:
    """`AffineOrbit.trajectory` at checked times ``t`` (m,) >= 0, s: the gates (m, n), V."""
    tau = orbit.tau
    cycles = np.floor(t / tau)
    phase = t - cycles * tau
    at_end = (phase == 0.0) & (cycles > 0)
    cycles = np.where(at_end, cycles - 1, cycles)
    phase = np.where(at_end, tau, phase)
    G = stretch_points(orbit.tasks, orbit.durations, orbit.G_starts, orbit.B, phase)
    G += (cycles * tau)[:, None] * orbit.drift
    return G


def _bias_of(B0: NDArray, J: NDArray, G_ref: NDArray) -> AffineBias:
    """The `AffineBias` of computed float arrays ``B0`` (n,), ``J`` (n, n) and the checked
    ``G_ref`` (n,), as its constructor stores them (read-only copies), without checking."""
    bias = object.__new__(AffineBias)
    for name, arr in (("B0", B0), ("J", J), ("G_ref", G_ref)):
        arr = np.array(arr, dtype=float)
        arr.setflags(write=False)
        object.__setattr__(bias, name, arr)
    return bias


def _bias_at(bias: AffineBias, G: NDArray) -> NDArray:
    """``bias(G)`` of checked gates ``G`` (n,), V/s."""
    return bias.B0 + (G - bias.G_ref) @ bias.J.T


@dataclass(frozen=True, slots=True)
class _Setup:
    """The checked inputs of one fit."""

    task_a: LinearTask
    task_b: LinearTask
    cyc: list[MeasuredCycle]
    drifts: tuple[DriftMeasurement, ...]
    G_ref: NDArray
    basis: NDArray
    lines: tuple[tuple[int, NDArray], ...]
    model: str
    shapes_only: bool

    def bias(self, p: NDArray) -> AffineBias:
        n = self.G_ref.size
        k = self.basis.shape[1]
        return _bias_of(p[:n], (self.basis @ p[n : n + k]).reshape(n, n), self.G_ref)

    def cycle_residuals(self, models: list[NDArray]) -> NDArray:
        out = []
        for m, x in zip(models, self.cyc, strict=True):
            d = m - x.G
            out.append((d - d.mean(axis=0) if self.shapes_only else d).ravel())
        return np.concatenate(out)


def _position_fit(setup: _Setup, phases, B_start, sigma_cycle, max_nfev) -> StateBiasFit:
    """The nonlinear least-squares fit of ``(B0, theta, phases)`` to the cycles' samples."""
    cyc, drifts, n = setup.cyc, setup.drifts, setup.G_ref.size
    k = setup.basis.shape[1]
    n_cycle = sum(x.G.size for x in cyc)

    def residuals(p, sig):
        bias = setup.bias(p)
        try:
            model = _model(setup.task_a, setup.task_b, cyc, bias, p[n + k :])
        except (StabilityError, NumericalRangeError, np.linalg.LinAlgError):  # no cycle there
            # (or its maps overflow at this trial point): steer the optimizer back
            return np.full(n_cycle + len(drifts), 1e3)
        r = setup.cycle_residuals(model) / sig
        rd = [(d.direction @ _bias_at(bias, d.G) - d.value) / d.std for d in drifts]
        return np.concatenate([r, rd])

    p0 = np.concatenate([B_start, np.zeros(k), phases])
    sig = 1.0 if sigma_cycle is None else sigma_cycle
    passes = 2 if sigma_cycle is None else 1
    _finite_start(residuals, p0, sig)
    for _ in range(passes):
        try:
            res = least_squares(residuals, p0, args=(sig,), x_scale="jac", max_nfev=max_nfev)
        except ValueError:  # scipy: "array must not contain infs or NaNs" (overflow in a step)
            raise NumericalRangeError(
                "The fit's residuals left float64's range during the fit; check the magnitudes "
                "of `drifts` (a tiny `std` weighs a drift test enormously), `cycles`, "
                "`B_start` and `G_ref`."
            ) from None
        if not res.success:
            raise ConvergenceError(
                f"The state-dependent bias fit did not converge in {max_nfev} evaluations "
                f"({res.message}); raise `max_nfev` or start closer (`B_start`, `phases`, `G_ref`)."
            )
        p0 = res.x
        cyc_res = res.fun[:n_cycle] * sig
        sig = float(np.sqrt(np.mean(cyc_res**2)))
    return _result(res, setup, sig)


def _finite_start(residuals, p0: NDArray, sig: float) -> None:
    """Refuse a start whose residuals are not finite (overflow), naming the arguments."""
    try:
        with np.errstate(all="ignore"):
            ok = bool(np.all(np.isfinite(residuals(p0, sig))))
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        ok = False
    if not ok:
        raise NumericalRangeError(
            "The fit's residuals at the start are not finite (float64 overflow); check the "
            "magnitudes of `B_start`, `G_ref` and `sigma_cycle`."
        )


def _cov_of(cov_p: NDArray, basis: NDArray, n: int) -> NDArray:
    """Covariance of ``(B0, vec J)`` from that of ``(B0, theta)``."""
    k = basis.shape[1]
    T = np.zeros((n + n * n, n + k))
    T[:n, :n] = np.eye(n)
    T[n:, n:] = basis
    with np.errstate(invalid="ignore"):
        cov = T @ np.where(np.isfinite(cov_p), cov_p, 0.0) @ T.T
    bad = ~np.isfinite(np.diag(cov_p))
    if np.any(bad):  # undetermined parameters: infinite variance where they enter
        reach = np.any(np.abs(T[:, bad]) > 0, axis=1)
        cov[np.ix_(reach, reach)] = np.inf
    return cov


def _rms(cyc, models, shapes_only: bool) -> NDArray:
    out = []
    for m, x in zip(models, cyc, strict=True):
        d = m - x.G
        d = d - d.mean(axis=0) if shapes_only else d
        out.append(float(np.sqrt(np.mean(d**2))))
    return np.array(out)


def _summary(setup: _Setup, bias, cov, phases, rms, drift_res, sig, rho, dof, positions):
    n = setup.G_ref.size
    std = np.sqrt(np.abs(np.diag(cov)))
    g, g_std = gains_of(bias.J, cov[n:, n:], setup.lines)
    return StateBiasFit(
        bias=bias,
        B0_std=std[:n],
        J_std=std[n:].reshape(n, n),
        cov=cov,
        phase=phases % 1.0,
        rms_cycles=rms,
        drift_residuals=drift_res,
        sigma_cycle=sig,
        rho=rho,
        dof=int(dof),
        model=setup.model,
        directions=np.array([u for _, u in setup.lines]).reshape(-1, n),
        gains=g,
        gains_std=g_std,
        shapes_only=setup.shapes_only,
        fitted_to_positions=positions,
    )


def fit_covariance(res: Any, cycles: Sequence[MeasuredCycle], sig_used: float):
    """``(cov, rho, dof)`` of a least-squares fit ``res`` (scipy's result: ``x``, ``fun``,
    ``jac``) whose first residuals are the ``cycles``' samples divided by ``sig_used`` (V):
    the Gauss-Newton covariance (no pseudoinverse: undetermined combinations get an infinite
    variance for every parameter in them), inflated by ``(1 + rho) / (1 - rho)`` for the lag-1
    autocorrelation ``rho`` of the residuals along each cycle (means removed), and the
    degrees of freedom."""
    n_cycle = sum(x.G.size for x in cycles)
    cyc_res = res.fun[:n_cycle] * sig_used
    dof = res.fun.size - res.x.size
    s2 = float(res.fun @ res.fun) / max(dof, 1)
    num = den = 0.0
    off = 0
    for x in cycles:
        r = cyc_res[off : off + x.G.size].reshape(x.G.shape)
        off += x.G.size
        r = r - r.mean(axis=0)
        num += float(np.sum(r[1:] * r[:-1]))
        den += float(np.sum(r * r))
    rho = float(np.clip(num / den if den > 0 else 0.0, 0.0, _RHO_MAX))
    _, s, Vt = np.linalg.svd(res.jac, full_matrices=False)
    ok = s > _DEGENERATE * s[0]
    inv = np.where(ok, 1.0 / np.where(ok, s, 1.0) ** 2, 0.0)
    cov = (Vt.T * inv) @ Vt * s2 * (1 + rho) / (1 - rho)
    if not np.all(ok):
        weight = np.max(np.abs(Vt[~ok]), axis=0)
        cov[np.ix_(weight > 1e-8, weight > 1e-8)] = np.inf
    return cov, rho, int(dof)


def _result(res, setup: _Setup, sig_used: float) -> StateBiasFit:
    """Uncertainties from the Gauss-Newton Jacobian (no pseudoinverse) and the summary."""
    cyc, n = setup.cyc, setup.G_ref.size
    k = n + setup.basis.shape[1]
    bias = setup.bias(res.x)
    cov, rho, dof = fit_covariance(res, cyc, sig_used)
    models = _model(setup.task_a, setup.task_b, cyc, bias, res.x[k:])
    drift_res = np.array([d.direction @ _bias_at(bias, d.G) - d.value for d in setup.drifts])
    return _summary(
        setup, bias, _cov_of(cov[:k, :k], setup.basis, n), res.x[k:],
        _rms(cyc, models, setup.shapes_only), drift_res, sig_used, rho, dof, True,
    )  # fmt: skip


def _from_velocities(setup: _Setup, phases: NDArray) -> StateBiasFit | None:
    """The along-lines fit from velocities only (None when they leave ``B0`` undetermined);
    each cycle's phase then refitted alone, so ``rms_cycles`` are predictions."""
    rows = velocity_rows(setup.cyc, phases, setup.lines, setup.basis, setup.G_ref)
    dA, dv = drift_rows(setup.drifts, setup.basis, setup.G_ref)
    ds = np.array([d.std for d in setup.drifts])
    lf = velocity_fit(rows, dA, dv, ds)
    if lf is None:
        return None
    bias = setup.bias(lf.x)
    n = setup.G_ref.size
    ph, models = _phases_only(setup, bias, phases)
    cov = _cov_of(lf.cov, setup.basis, n)
    return _summary(
        setup, bias, cov, ph, _rms(setup.cyc, models, setup.shapes_only),
        lf.drift_residuals, lf.sigma_v, lf.rho, lf.dof, False,
    )  # fmt: skip


def _phases_only(setup: _Setup, bias: AffineBias, phases: NDArray):
    """Each cycle's phase fitted alone (a grid of 64, then golden refinement) to the model's
    orbit; the orbit points at the best phases."""
    best, models = [], []
    for x, phi0 in zip(setup.cyc, phases, strict=True):

        def cost(phi, x=x):
            m = _model(setup.task_a, setup.task_b, [x], bias, [phi])[0]
            d = m - x.G
            d = d - d.mean(axis=0) if setup.shapes_only else d
            return float(np.mean(d**2))

        grid = np.concatenate([[phi0], np.linspace(0, 1, 64, endpoint=False)])
        costs = [cost(p) for p in grid]
        p = float(grid[int(np.argmin(costs))])
        step = 1.0 / 64
        for _ in range(20):  # pattern search around the best grid phase
            for q in (p - step, p + step):
                if cost(q) < cost(p):
                    p = q
            step /= 2
        best.append(p % 1.0)
        models.append(_model(setup.task_a, setup.task_b, [x], bias, [p])[0])
    return np.array(best), models
