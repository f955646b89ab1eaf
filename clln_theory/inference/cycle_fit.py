"""Bias inference from a measured limit cycle: fit ``B`` to a bow-tie (beyond Appendix E).

Appendix E of the paper infers the bias ``B`` from drift tests, one task trained alone at a time.
A measured limit cycle of alternating training carries the same information, and more of it:
on the closed orbit every point is an exact affine function of the bias,
``G(t_k; B) = g(t_k) + J(t_k) B`` ((*) of `clln_theory.inference.cycle_model`). Fitting ``B`` to
samples ``G_k`` of one period is then a linear least-squares problem, once the unknown time
origin of the samples (their phase) is fixed. Two ways to handle the phase:

``matching="phase"`` (default)
    Sample ``k`` is at ``t_k = phi * tau + k * spacing``. For each phase ``phi`` the best ``B``
    solves a linear least-squares problem (variable projection), so the misfit is a function of
    ``phi`` alone: scanned on a grid over one period, refined by Brent's method, and with several
    cycles sharing one ``B`` refined by coordinate descent over their phases.
``matching="nearest"``
    Phase-free: the distance of each sample to the nearest point of the predicted closed curve.
    Iterated closest point (Gauss-Newton): find the nearest curve times, solve (*) there for
    ``B``, repeat. Uses only the shape of the cycle, not the timing of the samples.

Uncertainties come from the Gauss-Newton Jacobian at the optimum (``B`` and the phases jointly),
scaled by the residual variance, and inflated by ``(1 + rho) / (1 - rho)`` for the lag-1
autocorrelation ``rho`` of the residuals along each cycle: misfits of a model, unlike measurement
noise, are smooth along the cycle, and the white-noise formula would then be over-confident.

:func:`infer_bias_from_cycle` and :func:`infer_bias_from_cycles` fit ``B``; :func:`cycle_misfit`
scores a given ``B`` (for instance the drift-test bias) on the same cycles with the phases
optimized.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares, minimize_scalar

from .._checks import (
    choice,
    count,
    finite_outputs,
    positive,
    readonly,
    real_array,
    refuse_renamed,
    validator,
    vector,
)
from .._repr import short_repr
from ..errors import ArgumentError, ConvergenceError, NumericalRangeError, ShapeError, TaskError
from ..theory import LinearTask
from .cycle_model import (
    AffineCycle,
    MeasuredCycle,
    at_bias,
    check_linear_tasks,
    closed_orbits,
    interpolate_cycle,
    measured_cycles,
    nearest_times,
    orbit_velocity,
    sample_orbits,
    spacing_list,
)

__all__ = [
    "CycleBiasFit",
    "CycleMisfit",
    "cycle_misfit",
    "infer_bias_from_cycle",
    "infer_bias_from_cycles",
]

#: Phases scanned over one period before Brent's refinement. A bow-tie's misfit as a function of
#: the phase has one basin per switching time, about ``tau / 2`` wide; 256 points resolve it with
#: ~100 points per basin, so the refinement starts in the right basin.
_PHASE_GRID = 256

#: Points of the predicted closed curve for the nearest-point search of ``matching="nearest"``.
#: The nearest time is then refined by one Newton step on the local segment, so the error is
#: quadratic in the spacing: ~(D / 2000)^2 / curvature radius, below 1e-6 V for a 1 V bow-tie.
_CURVE_SAMPLES = 2000

#: Largest ``phase_grid`` and ``curve_samples``: each grid point costs an orbit evaluation per
#: cycle and fit iteration, so 1e5 (400 times the defaults) already takes minutes; more is refused.
_MAX_FIT_SAMPLES = 100_000

#: Relative change of the misfit (sum of squares) below which the phase coordinate descent and
#: the closest-point iterations stop.
_RTOL = 1e-10
_MAX_SWEEPS = 50

#: Closest-point iterations stop when the bias moves by less than this relative amount.
_STEP_TOL = 1e-9

#: A singular value of the Gauss-Newton Jacobian smaller than this times the largest marks a
#: combination of parameters the samples do not determine (a zero column, or columns that are
#: linearly dependent): every parameter in it is reported with infinite variance instead of the
#: finite, meaningless one a pseudoinverse would give. Rounding puts spurious singular values
#: at ~eps * (rows) ~ 1e-13 of the largest; 1e-12 is above that and far below any covariance
#: (ratio 1e24 to the best-determined direction) worth reporting.
_DEGENERATE = 1e-12

#: A parameter whose weight on an undetermined direction (a right singular vector, unit norm)
#: exceeds this is undetermined; below it, rounding in the SVD (~eps * condition).
_DEGENERATE_WEIGHT = 1e-8


# ---------- result objects


@dataclass(frozen=True, slots=True)
class CycleMisfit:
    """How well the closed orbit at a bias ``B`` matches measured cycles (phases optimized).

    Attributes
    ----------
    B : (n,) ndarray
        The bias scored, V/s.
    tau : (c,) ndarray
        Period of each cycle, s.
    phase : (c,) ndarray
        Time of each cycle's first sample as a fraction of its period, in ``[0, 1)``, counted
        from the start of task alpha (``matching="phase"``); for ``matching="nearest"`` the phase of
        the curve point nearest the first sample.
    times : tuple of (m_i,) ndarray
        Model times of the samples, s (for ``"nearest"``: of the nearest curve points).
    predicted : tuple of (m_i, n) ndarray
        Model gates at those times, V.
    residuals : tuple of (m_i, n) ndarray
        Samples minus model, V.
    rms : float
        Root mean square distance of a sample from its model point, V
        (``sqrt(sum |r_k|^2 / m)``).
    r2 : float
        ``1 - RSS / TSS`` with TSS the spread of the samples about each cycle's own mean: the
        fraction of the cycles' shape (and position differences) explained.
    matching : str
        ``"phase"`` or ``"nearest"``.
    """

    __repr__ = short_repr

    B: NDArray
    tau: NDArray
    phase: NDArray
    times: tuple
    predicted: tuple = field(repr=False)
    residuals: tuple = field(repr=False)
    rms: float
    r2: float
    matching: str


@dataclass(frozen=True, slots=True)
class CycleBiasFit:
    """Bias fitted to measured limit cycles, with uncertainties and the fit quality.

    Attributes
    ----------
    B : (n,) ndarray
        Least-squares bias, V/s.
    cov : (n, n) ndarray
        Covariance of ``B`` (V/s)^2, marginal over the phases, from the Gauss-Newton Jacobian at
        the optimum times the residual variance ``RSS / dof``, inflated by the autocorrelation
        factor ``(1 + rho) / (1 - rho)`` (``rho`` clipped to ``[0, 0.95]``).
    B_std : (n,) ndarray
        ``sqrt(diag(cov))``, V/s.
    B_std_white : (n,) ndarray
        The same without the autocorrelation factor (valid only for independent residuals).
    phase_std : (c,) ndarray or None
        Standard deviation of each phase (fraction of a period), same scaling as ``cov``; inf
        for a phase the samples do not constrain (a cycle shrunk to a point); None
        for ``matching="nearest"``, which has no phase parameter (nothing to report, rather
        than NaN).
    rho : float
        Lag-1 autocorrelation of the residuals along the cycles (0 for white noise).
    dof : int
        Degrees of freedom ``m n - n - c`` (``"phase"``) or ``m (n - 1) - n`` (``"nearest"``:
        each sample's position along the curve is a nuisance parameter).
    misfit : CycleMisfit
        Phases, model points, residuals, rms and r2 at ``B``.
    iterations : int
        Coordinate-descent sweeps (``"phase"``) or closest-point iterations (``"nearest"``).
    """

    __repr__ = short_repr

    B: NDArray
    cov: NDArray
    B_std: NDArray
    B_std_white: NDArray
    phase_std: NDArray | None
    rho: float
    dof: int
    misfit: CycleMisfit
    iterations: int

    @property
    def rms(self) -> float:
        """Root mean square residual, V (from :attr:`misfit`)."""
        return self.misfit.rms

    @property
    def r2(self) -> float:
        """Fraction of the cycles' variance explained (from :attr:`misfit`)."""
        return self.misfit.r2

    @property
    def phase(self) -> NDArray:
        """Phase of each cycle's first sample, fraction of its period (from :attr:`misfit`)."""
        return self.misfit.phase


# ---------- input handling


def _prepare(
    task_a: Any,
    task_b: Any,
    cycles: Sequence[Any] | MeasuredCycle,
    spacing,
    phase_grid: int,
    curve_samples: int,
) -> tuple[int, list[MeasuredCycle]]:
    """Validate the arguments shared by :func:`cycle_misfit` and :func:`infer_bias_from_cycles`
    (their ``matching`` is checked by `_refuse_unused`); ``cycles`` may be the one cycle
    `infer_bias_from_cycle` checked itself (then only its ``spacing`` is checked here)."""
    check_linear_tasks(task_a, task_b)
    count(phase_grid, "phase_grid", maximum=_MAX_FIT_SAMPLES)
    count(curve_samples, "curve_samples", minimum=2, maximum=_MAX_FIT_SAMPLES)
    n = task_a.n
    if isinstance(cycles, MeasuredCycle):  # (tau, samples_G) checked, dt still to come
        spacings = spacing_list(spacing, 1)
        dt = spacings[0] if spacings is not None else cycles.tau / (cycles.G.shape[0] - 1)
        return n, [MeasuredCycle(tau=cycles.tau, G=cycles.G, dt=dt)]
    return n, measured_cycles(cycles, n, spacing=spacing)


# ---------- phase matching


class _PhaseModel:
    """Affine models of several cycles as functions of their phases."""

    def __init__(self, task_a, task_b, cycles: list[MeasuredCycle], orbits: list | None = None):
        self.task_a, self.task_b, self.cycles = task_a, task_b, cycles
        self.n = task_a.n
        self.orbits = orbits or [closed_orbits(task_a, task_b, c.tau) for c in cycles]

    def single(self, i: int) -> _PhaseModel:
        """The model of cycle ``i`` alone (sharing the cached orbits)."""
        return _PhaseModel(self.task_a, self.task_b, [self.cycles[i]], [self.orbits[i]])

    def times(self, i: int, phi: float) -> NDArray:
        c = self.cycles[i]
        return np.mod(phi, 1.0) * c.tau + c.dt * np.arange(c.G.shape[0])

    def block(self, i: int, phi: float) -> tuple[NDArray, NDArray]:
        """Rows of cycle ``i`` at phase ``phi``: ``y = samples - g`` (m n,), ``A`` (m n, n)."""
        c = self.cycles[i]
        model = sample_orbits(self.orbits[i], c.tau, self.times(i, phi))
        return (c.G - model.g).ravel(), model.J.reshape(-1, self.n)

    def solve(self, phis, fixed_B=None) -> tuple[float, NDArray]:
        ys, As = zip(*(self.block(i, p) for i, p in enumerate(phis)), strict=True)
        y, A = np.concatenate(ys), np.vstack(As)
        if fixed_B is None:
            B = np.linalg.lstsq(A, y, rcond=None)[0]
        else:
            B = fixed_B
        r = y - A @ B
        return float(r @ r), B


def _minimize_phase(fun, grid: int, start: float | None) -> float:
    """Minimize a 1-periodic function of the phase: grid scan (or local bracket), then Brent."""
    if start is None:
        phis = np.arange(grid) / grid
        vals = np.array([fun(p) for p in phis])
        j = int(np.argmin(vals))
        centre, width = phis[j], 1.0 / grid
    else:
        centre, width = start, 2.0 / grid
    res = minimize_scalar(
        lambda p: fun(p), bounds=(centre - width, centre + width), method="bounded",
        options={"xatol": 1e-10},
    )  # fmt: skip
    best = float(res.x) if res.fun <= fun(centre) else float(centre)
    return best % 1.0


def _fit_phase(model: _PhaseModel, phase_grid: int, fixed_B=None):
    k = len(model.cycles)
    # each cycle alone first (its own best B), then coordinate descent on the shared B
    phis = []
    for i in range(k):
        sub = model.single(i)
        phis.append(_minimize_phase(lambda p, s=sub: s.solve([p], fixed_B)[0], phase_grid, None))
    rss, B = model.solve(phis, fixed_B)
    if not np.isfinite(rss):  # the model overflowed: no phase can be fitted
        raise NumericalRangeError(
            "The cycle misfit is not finite (float64 overflow); check the magnitudes of `B` "
            "and of the samples (V/s and V)."
        )
    sweeps = 0
    if k > 1 or fixed_B is not None:
        for sweeps in range(1, _MAX_SWEEPS + 1):  # noqa: B007
            old = rss
            for i in range(k):

                def f(p, i=i):
                    trial = list(phis)
                    trial[i] = p
                    return model.solve(trial, fixed_B)[0]

                phis[i] = _minimize_phase(f, phase_grid, phis[i])
            rss, B = model.solve(phis, fixed_B)
            if old - rss <= _RTOL * max(old, 1e-300):
                break
        else:
            raise ConvergenceError(
                f"The phases did not settle in {_MAX_SWEEPS} coordinate-descent sweeps "
                f"(misfit {rss:.6g} V^2); fit the cycles one at a time."
            )
    return np.array(phis), B, rss, sweeps


# ---------- nearest-point matching


def _fit_nearest(
    task_a, task_b, cycles: list[MeasuredCycle], B0, curve_samples: int, max_iter: int
):
    """Minimize the nearest-point distances over ``B`` (trust-region least squares).

    Returns ``B``, the nearest times, the number of function evaluations and the Jacobian of the
    stacked residual vector with respect to ``B`` at the optimum.
    """
    orbits = [closed_orbits(task_a, task_b, c.tau) for c in cycles]
    dense = [
        sample_orbits(o, c.tau, np.linspace(0.0, c.tau, curve_samples + 1))
        for c, o in zip(cycles, orbits, strict=True)
    ]

    def residuals(B, with_times=False):
        rs, ts = [], []
        for c, d in zip(cycles, dense, strict=True):
            t = nearest_times(at_bias(d, B), d.times, c.G)
            rs.append((c.G - interpolate_cycle(d, t, B)).ravel())
            ts.append(t)
        r = np.concatenate(rs)
        return (r, ts) if with_times else r

    with np.errstate(over="ignore", invalid="ignore"):
        start = residuals(B0)
    if not np.all(np.isfinite(start)):  # float64 cannot even draw the curve at the start
        raise NumericalRangeError(
            f"The predicted cycles at the start `B0` = {np.asarray(B0).tolist()} V/s are not "
            "finite in float64; check the magnitude of `B0`."
        )
    # the residual is piecewise smooth in B (the nearest segment switches); a trust region with
    # central differences steps over the kinks
    sol = least_squares(
        residuals, np.asarray(B0, dtype=float), jac="3-point", method="trf",
        x_scale="jac", max_nfev=max_iter, xtol=_STEP_TOL, ftol=_RTOL, gtol=_RTOL,
    )  # fmt: skip
    if sol.status <= 0:
        raise ConvergenceError(
            f"The nearest-point fit did not converge in {max_iter} evaluations ({sol.message}); "
            "raise `max_iter` or use matching='phase'."
        )
    _, ts = residuals(sol.x, with_times=True)
    return sol.x, ts, int(sol.nfev), sol.jac


# ---------- public fitting and scoring


@validator
def _refuse_unused(
    matching: Any, unused: dict[str, dict[str, Any]], name: str = "matching"
) -> None:
    """Refuse an option the chosen ``matching`` does not use (given, i.e. not None)."""
    choice(matching, name, ("phase", "nearest"))
    for key, value in unused[matching].items():
        if value is not None:
            raise ArgumentError(
                f"Argument `{key}` is not used with `{name}={matching!r}`; leave it out or "
                f"choose the other matching."
            )


def _sizes(phase_grid: Any, curve_samples: Any) -> tuple[Any, Any]:
    """The grid sizes with their defaults (checked by `_prepare`)."""
    return (
        _PHASE_GRID if phase_grid is None else phase_grid,
        _CURVE_SAMPLES if curve_samples is None else curve_samples,
    )


def _cycle_model(task_a: LinearTask, task_b: LinearTask, tau: float, t: Any) -> AffineCycle:
    """`affine_cycle` of checked values (a measured cycle's period and sample times), without
    validating them again."""
    return sample_orbits(closed_orbits(task_a, task_b, tau), tau, np.asarray(t, dtype=float))


def _misfit(task_a, task_b, cycles, B, times, matching) -> CycleMisfit:
    pred, res = [], []
    rss = tss = 0.0
    m_tot = 0
    for c, t in zip(cycles, times, strict=True):
        p = at_bias(_cycle_model(task_a, task_b, c.tau, t), B)
        r = c.G - p
        pred.append(readonly(p, float))
        res.append(readonly(r, float))
        rss += float(np.sum(r * r))
        tss += float(np.sum((c.G - c.G.mean(axis=0)) ** 2))
        m_tot += c.G.shape[0]
    phase = np.array([(t[0] / c.tau) % 1.0 for c, t in zip(cycles, times, strict=True)])
    return CycleMisfit(
        B=readonly(B, float),
        tau=readonly([c.tau for c in cycles], float),
        phase=readonly(phase, float),
        times=tuple(readonly(t, float) for t in times),
        predicted=tuple(pred),
        residuals=tuple(res),
        rms=float(np.sqrt(rss / m_tot)),
        r2=float(1.0 - rss / tss) if tss > 0 else float("-inf"),
        matching=matching,
    )


def _covariance(K: NDArray, s2: float) -> NDArray:
    """``s2 (K^T K)^-1`` from the SVD of ``K`` (m, p), with ``inf`` for undetermined parameters.

    A parameter the samples do not constrain (the phase of a cycle shrunk to a point, B = 0 on
    compatible tasks: a zero column; or linearly dependent columns) has an infinite variance,
    not the finite one of a pseudoinverse: its rows and columns are ``inf``.
    """
    p = K.shape[1]
    _, sv, Vt = np.linalg.svd(K, full_matrices=False)
    keep = sv > _DEGENERATE * max(float(sv[0]) if sv.size else 0.0, 1e-300)
    V = Vt[keep].T / sv[keep]
    cov = s2 * (V @ V.T)
    null = Vt[~keep]
    if p > sv.size:  # fewer rows than parameters: the complement of Vt's rows is undetermined
        Q, _ = np.linalg.qr(Vt.T, mode="complete")
        null = np.vstack([null, Q[:, sv.size :].T])
    undetermined = np.any(np.abs(null) > _DEGENERATE_WEIGHT, axis=0)
    cov[undetermined, :] = np.inf
    cov[:, undetermined] = np.inf
    return cov


def _lag1(residuals) -> float:
    num = den = 0.0
    for r in residuals:
        r = r - r.mean(axis=0)
        num += float(np.sum(r[1:] * r[:-1]))
        den += float(np.sum(r * r))
    return num / den if den > 0 else 0.0


@finite_outputs("rms", args=("B",))
def cycle_misfit(
    task_a: LinearTask,
    task_b: LinearTask,
    cycles: Sequence[Any],
    *,
    B: ArrayLike,
    spacing: float | ArrayLike | None = None,
    matching: Literal["phase", "nearest"] = "phase",
    phase_grid: int | None = None,
    curve_samples: int | None = None,
    **renamed: Any,
) -> CycleMisfit:
    """Score a given bias on measured cycles: the orbit's misfit with the phases optimized.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Linearized tasks alpha and beta, with no common null direction.
    cycles : sequence of (tau, samples_G) or CycleSamples
        Each ``samples_G`` of shape (m_i, n): samples over one period, in time order.
    B : (n,) array_like
        Bias to score, V/s (e.g. the drift-test estimate of Appendix E).
    spacing, matching, phase_grid, curve_samples
        As in :func:`infer_bias_from_cycles` (``matching="phase"`` uses ``spacing`` and
        ``phase_grid``, ``matching="nearest"`` uses ``curve_samples``; an option the chosen
        matching does not use is refused).
    renamed : Any
        Old keyword names, refused with an `ArgumentError` naming the new one (``method`` is
        now ``matching``).

    Returns
    -------
    CycleMisfit

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, periodic_orbit
    >>> u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    >>> a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    >>> orbit = periodic_orbit(a, b, B=[0.3, -0.2], tau=0.5)
    >>> G = orbit.trajectory(0.1 + np.arange(41) * 0.5 / 40).G
    >>> score = cycle_misfit(a, b, [(0.5, G)], B=[0.3, -0.2])
    >>> round(float(score.phase[0]), 6), score.rms < 1e-9
    (0.2, True)
    """
    refuse_renamed(renamed, {"method": "matching"}, "cycle_misfit")
    unused: dict[str, dict[str, Any]] = {
        "phase": {"curve_samples": curve_samples},
        "nearest": {"spacing": spacing, "phase_grid": phase_grid},
    }
    _refuse_unused(matching, unused)
    phase_grid, curve_samples = _sizes(phase_grid, curve_samples)
    n, cyc = _prepare(task_a, task_b, cycles, spacing, phase_grid, curve_samples)
    B = vector(B, "B", n)
    if matching == "phase":
        model = _PhaseModel(task_a, task_b, cyc)
        phis, _, _, _ = _fit_phase(model, int(phase_grid), fixed_B=B)
        times = [model.times(i, p) for i, p in enumerate(phis)]
    else:
        times = []
        for c in cyc:
            grid = np.linspace(0.0, c.tau, curve_samples + 1)
            d = _cycle_model(task_a, task_b, c.tau, grid)
            times.append(nearest_times(at_bias(d, B), d.times, c.G))
    return _misfit(task_a, task_b, cyc, B, times, matching)


def infer_bias_from_cycles(
    task_a: LinearTask,
    task_b: LinearTask,
    cycles: Sequence[Any],
    *,
    spacing: float | ArrayLike | None = None,
    matching: Literal["phase", "nearest"] = "phase",
    B0: ArrayLike | None = None,
    phase_grid: int | None = None,
    curve_samples: int | None = None,
    max_iter: int | None = None,
    **renamed: Any,
) -> CycleBiasFit:
    """Fit one bias ``B`` to one or several measured limit cycles of the same two tasks.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Linearized tasks alpha and beta ((D2) of the paper), with no common null direction.
    cycles : sequence of (tau, samples_G) or :class:`~clln_theory.data.CycleSamples`
        ``tau`` in s; ``samples_G`` of shape (m_i, n), m_i >= 3: gates sampled over one period
        in time order, equally spaced (the published bow-ties: 61 samples, both ends included).
    spacing : float or (c,) array_like, optional
        Time between consecutive samples, s; default ``tau / (m_i - 1)`` (the samples span
        exactly one period, first and last at the same phase). Used by ``matching="phase"``.
    matching : {"phase", "nearest"}
        ``"phase"``: fit each cycle's time origin (grid scan + Brent, then coordinate descent
        for several cycles) with ``B`` solved by linear least squares for every trial phase.
        ``"nearest"``: phase-free, nearest-point distances to the predicted closed curve by
        iterated closest points from ``B0``.
    B0 : (n,) array_like, optional
        Start of ``matching="nearest"``; default the bias of the phase fit (which then uses
        ``spacing`` and ``phase_grid``).
    phase_grid : int, optional
        Phases scanned per cycle before Brent's refinement; default 256 (a bow-tie's misfit has
        one basin per switching time, about ``tau / 2`` wide: ~100 points per basin), at most
        100000.
    curve_samples : int, optional
        Points of the predicted curve for ``"nearest"``; default 2000 (with one Newton step on
        the local segment the error is ~(D / 2000)^2 / curvature radius, below 1e-6 V for a
        1 V bow-tie), at most 100000.
    max_iter : int, optional
        Closest-point iterations allowed (``"nearest"``); default 200.
    renamed : Any
        Old keyword names, refused with an `ArgumentError` naming the new one (``method`` is
        now ``matching``).

    Returns
    -------
    CycleBiasFit
        ``B``, its covariance and standard deviations, phases, rms and r2 of the residuals.

    Raises
    ------
    ShapeError
        If a cycle's samples do not have shape (m, n) with m >= 3, or ``spacing`` is mis-sized.
    ArgumentError
        An unknown ``matching``, a ``phase_grid``, ``curve_samples`` or ``max_iter`` that is not a
        positive integer, a period or spacing that is not a finite number > 0, an option the
        chosen matching does not use (``B0``, ``curve_samples`` or ``max_iter`` with
        ``"phase"``; ``spacing`` or ``phase_grid`` with ``"nearest"`` and a given ``B0``), or
        the old keyword ``method``.
    TaskError
        If the tasks share a null direction (no closed orbit, see
        `clln_theory.inference.cycle_model.affine_cycle`), or a sample is not finite.
    ConvergenceError
        If the phases or the closest-point iterations do not settle.
    NumericalRangeError
        ``matching="nearest"`` from a ``B0`` at which the predicted cycles are not finite.

    Notes
    -----
    Model: (*) of `clln_theory.inference.cycle_model`, exact because the closed orbit (D11) and its
    trajectory (D5) are affine in ``B``. With phases ``phi_i`` the design matrix stacks
    ``J(t_k)`` over the samples; ``B = argmin |y - A B|`` for ``y = samples - g``. The
    covariance is ``s^2 [(K^T K)^-1]_BB`` with ``K = [A, dG/dphi]`` the joint Jacobian in ``B``
    and the phases (``dG/dphi = tau * dG/dt``, (D2) of the active task), ``s^2 = RSS / dof``,
    times ``(1 + rho) / (1 - rho)``. For ``"nearest"`` the rows of ``J`` are projected on the
    normal space of the curve (the derivative of a nearest-point distance), and the dof count
    removes one position per sample. Cost: ``n + 1`` orbits per trial phase; for the 2-gate
    network a cycle fits in tens of milliseconds.

    Examples
    --------
    Synthesize a cycle with a known bias, add 1 mV of noise, and recover the bias:

    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, periodic_orbit
    >>> u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    >>> a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    >>> t = 0.3 + np.arange(61) * 0.5 / 60
    >>> G = periodic_orbit(a, b, B=[0.3, -0.2], tau=0.5).trajectory(t).G
    >>> G = G + 1e-3 * np.random.default_rng(0).standard_normal(G.shape)
    >>> fit = infer_bias_from_cycles(a, b, [(0.5, G)])
    >>> bool(np.all(np.abs(fit.B - [0.3, -0.2]) < 4 * fit.B_std)), round(float(fit.phase[0]), 2)
    (True, 0.6)
    """
    refuse_renamed(renamed, {"method": "matching"}, "infer_bias_from_cycles")
    return _infer(
        task_a, task_b, cycles, spacing, matching, B0, phase_grid, curve_samples, max_iter
    )


def _infer(task_a, task_b, cycles, spacing, matching, B0, phase_grid, curve_samples, max_iter):
    """`infer_bias_from_cycles` after the keywords: validate the options once, then fit."""
    given_B0 = B0 is not None
    unused = {
        "phase": {"B0": B0, "curve_samples": curve_samples, "max_iter": max_iter},
        "nearest": {"spacing": spacing, "phase_grid": phase_grid} if given_B0 else {},
    }
    _refuse_unused(matching, unused)
    phase_grid, curve_samples = _sizes(phase_grid, curve_samples)
    max_iter = 200 if max_iter is None else max_iter
    n, cyc = _prepare(task_a, task_b, cycles, spacing, phase_grid, curve_samples)
    if matching == "phase":
        model = _PhaseModel(task_a, task_b, cyc)
        phis, B, _, iters = _fit_phase(model, int(phase_grid))
        times = [model.times(i, p) for i, p in enumerate(phis)]
    else:
        if B0 is None:  # start from the phase fit (the optimum found is phase-free)
            model = _PhaseModel(task_a, task_b, cyc)
            B0 = _fit_phase(model, int(phase_grid))[1]
        B0 = vector(B0, "B0", n)
        count(max_iter, "max_iter")
        B, times, iters, jac_nearest = _fit_nearest(
            task_a, task_b, cyc, B0, int(curve_samples), max_iter
        )
    misfit = _misfit(task_a, task_b, cyc, B, times, matching)
    if matching == "phase":
        K = _phase_jacobian(task_a, task_b, cyc, times, B)
    else:  # derivative of the nearest-point residuals (normal to the curve), by differences
        K = np.asarray(jac_nearest)
    return _with_uncertainty(misfit, K, cyc, n, matching, iters)


def _phase_jacobian(task_a, task_b, cyc: list[MeasuredCycle], times: list, B: NDArray) -> NDArray:
    """Gauss-Newton Jacobian of the stacked residuals in ``B`` and the phases, (m n, n + c)."""
    n, k = task_a.n, len(cyc)
    rows = []
    for i, (c, t) in enumerate(zip(cyc, times, strict=True)):
        model_i = _cycle_model(task_a, task_b, c.tau, t)
        vel = orbit_velocity(task_a, task_b, c.tau, t, at_bias(model_i, B), B)
        Jphi = np.zeros((c.G.shape[0], n, k))
        Jphi[:, :, i] = c.tau * vel  # dG/dphi
        rows.append(np.concatenate([model_i.J, Jphi], axis=2).reshape(-1, n + k))
    return np.vstack(rows)


def _with_uncertainty(
    misfit: CycleMisfit, K: NDArray, cyc: list[MeasuredCycle], n: int, matching: str, iters: int
) -> CycleBiasFit:
    """The `CycleBiasFit` at the optimum: covariance from ``K``, residual variance, and the
    autocorrelation inflation."""
    k = len(cyc)
    m_tot = sum(c.G.shape[0] for c in cyc)
    dof = m_tot * n - n - k if matching == "phase" else m_tot * (n - 1) - n
    if dof <= 0:
        raise ShapeError(
            f"The cycles hold too few samples ({m_tot}) to fit {n} bias components and the "
            "phases; give more samples."
        )
    rss = sum(float(np.sum(r * r)) for r in misfit.residuals)
    s2 = rss / dof
    cov_full = _covariance(K, s2)
    rho = _lag1(misfit.residuals)
    inflate = (1.0 + min(max(rho, 0.0), 0.95)) / (1.0 - min(max(rho, 0.0), 0.95))
    cov_white = cov_full[:n, :n]
    phase_std = None  # the nearest-point fit has no phase parameter
    if matching == "phase":
        phase_var = np.diag(cov_full)[n:] / np.array([c.tau for c in cyc]) ** 2
        phase_std = readonly(np.sqrt(phase_var * inflate), float)
    cov = cov_white * inflate
    return CycleBiasFit(
        B=misfit.B,
        cov=readonly(cov, float),
        B_std=readonly(np.sqrt(np.diag(cov)), float),
        B_std_white=readonly(np.sqrt(np.diag(cov_white)), float),
        phase_std=phase_std,
        rho=float(rho),
        dof=int(dof),
        misfit=misfit,
        iterations=int(iters),
    )


def infer_bias_from_cycle(
    task_a: LinearTask,
    task_b: LinearTask,
    samples_G: ArrayLike,
    *,
    tau: float,
    spacing: float | ArrayLike | None = None,
    matching: Literal["phase", "nearest"] = "phase",
    B0: ArrayLike | None = None,
    phase_grid: int | None = None,
    curve_samples: int | None = None,
    max_iter: int | None = None,
    **renamed: Any,
) -> CycleBiasFit:
    """Fit the bias ``B`` to one measured limit cycle (a bow-tie of Figs. 2F, 2G).

    Shorthand for ``infer_bias_from_cycles(task_a, task_b, [(tau, samples_G)], **kwargs)``;
    see :func:`infer_bias_from_cycles` for the matching, the keywords and the result.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Linearized tasks alpha and beta, with no common null direction.
    samples_G : (m, n) array_like
        Gates sampled over one period in time order, V.
    tau : float
        Period, s.
    spacing, matching, B0, phase_grid, curve_samples, max_iter
        Options of :func:`infer_bias_from_cycles`, with the same defaults.
    renamed : Any
        Old keyword names, refused with an `ArgumentError` naming the new one (``method`` is
        now ``matching``).

    Returns
    -------
    CycleBiasFit

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, periodic_orbit
    >>> u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    >>> a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    >>> G = periodic_orbit(a, b, B=[0.3, -0.2], tau=0.5).trajectory(np.arange(61) * 0.5 / 60).G
    >>> np.round(infer_bias_from_cycle(a, b, G, tau=0.5).B, 9)
    array([ 0.3, -0.2])
    """
    refuse_renamed(renamed, {"method": "matching"}, "infer_bias_from_cycle")
    G = real_array(samples_G, "samples_G", finite=False)  # NaN: a TaskError of the cycle check
    n = task_a.n if isinstance(task_a, LinearTask) else (G.shape[-1] if G.ndim else 0)
    if G.ndim != 2 or G.shape[0] < 3 or G.shape[1] != n:
        raise ShapeError(
            f"Argument `samples_G` must have shape (m, {n}), m >= 3, but has {G.shape}."
        )
    tau = positive(tau, "tau", unit="s")
    if not np.all(np.isfinite(G)):
        raise TaskError("Samples of cycle 0 must be finite, but contain NaN or inf.")
    one = MeasuredCycle(tau=tau, G=G, dt=tau)  # dt: a placeholder, `_prepare` sets it
    return _infer(task_a, task_b, one, spacing, matching, B0, phase_grid, curve_samples, max_iter)
