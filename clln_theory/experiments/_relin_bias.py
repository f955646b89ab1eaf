"""Engine of the scoreboard's ``relinearized`` model (issue 19 (b)): a constant bias with the
linear theory re-linearized along its own orbit, and the "bias or curvature?" comparison.

The ``constant`` model of `clln_theory.experiments.bias_scoreboard` fits one constant ``B`` to
the bow-ties' positions and the drift tests with the theory at ``G*``
(`clln_theory.inference.infer_state_bias`, ``model="constant"``). The ``relinearized`` model
is fitted to the *same* data with the *same* residuals, weights and uncertainties; only the
orbit differs: at each bow-tie's period it is the self-consistent cycle of
`clln_theory.theory.relinearized_cycle` (each task linearized at the centre of its own stretch,
in the gate box). `fit_constant_bias` takes the orbit as a function of ``B`` (``orbits_at``),
so the same code fits the theory at ``G*`` too (the test holds it equal to the ``constant``
model's fit). What the two share, term by term (as ``inference/_state_fit.py`` defines them):

* unknowns ``(B, phases)``, one phase per bow-tie (fraction of its period), started from the
  joint constant-``B`` fit of the bow-ties (`infer_bias_from_cycles`);
* a bow-tie's residuals: the orbit at the sample times ``phi tau + i dt`` minus the samples,
  divided by the sample scatter ``sigma`` (1 V in the first pass, then the rms of the first
  pass's cycle residuals: two passes of `scipy.optimize.least_squares`, ``x_scale="jac"``);
* a drift test's residual: ``(u . B - v) / std`` (the rows of `_state_models.drift_rows`);
* the covariance: the Gauss-Newton one of ``(B, phases)`` scaled by ``RSS / dof`` and inflated
  by ``(1 + rho) / (1 - rho)`` for the lag-1 autocorrelation ``rho`` of the cycle residuals
  (clipped at 0.95), undetermined directions infinite; ``B``'s block is marginal over the
  phases.

The residuals mirror ``_position_fit`` of ``inference/_state_fit.py`` (built on the orbit at
``G*`` only); the covariance is that engine's own `fit_covariance`. One difference, stated: the
finite-difference step of the Jacobian is `_DIFF_STEP` (relative) instead of scipy's default
1.5e-8, because the re-linearized orbit is a fixed point found to `_FIT_TOL`: a step of 1e-6
moves the samples by ~1e-7 V, 1e4 times the iteration's error.

*Non-converged re-linearizations are never used.* In the fit, a trial ``B`` at which some
bow-tie's re-linearization does not converge (or fails) is rejected as the ``constant`` fit
rejects a ``B`` without a cycle (residuals 1e3, steering the optimizer back) and counted in the
notes; in the theory columns such a period is NaN with a note.

Takes checked values only; public names for the face, not part of the API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from .._metrics import mean_error
from ..errors import CLLNError, ConvergenceError
from ..inference._state_fit import fit_covariance
from ..inference._state_models import drift_rows, gains_of, line_directions
from ..inference.cycle_model import MeasuredCycle
from ..inference.state_bias_results import DriftMeasurement, StateBiasFit
from ..model.bias import AffineBias
from ..model.network import Network
from ..model.tasks import Task
from ..theory._relinearize import Relinearized, relinearized_cycle
from ..theory.linear import LinearTask
from ._bias_scoreboard import WITHIN, TheoryColumns, bowtie_rms, scores

__all__ = [
    "RelinModel",
    "RelinProblem",
    "comparison_rows",
    "comparison_table",
    "fit_constant_bias",
    "relinearized_columns",
    "relinearized_model",
]

_FIT_TOL = 1e-11
"""V: the re-linearization's convergence tolerance (largest move of a linearization point) in
the fit and the columns. The iteration converges in 4-8 cycles to it on exp1 and exp2 (Anderson
mixing); 1e-11 V is 1e-4 of the samples' move under the Jacobian's step (`_DIFF_STEP`)."""
_MAX_ITER = 60
"""Re-linearization cycles allowed per period: twice the engine's default (the tighter
`_FIT_TOL` needs a few more cycles than its default tolerance of 1e-6 V)."""
_DIFF_STEP = 1e-6
"""Relative finite-difference step of the fit's Jacobian (module docstring)."""
_REJECTED = 1e3
"""Residual given to a rejected trial bias, as the ``constant`` fit gives a trial without a
cycle (in units of ``sigma``: far above any fit's residual, so the optimizer steps back)."""
_RMS_SAMPLES = 801
"""Samples of one period of the orbit for the scoreboard's bow-tie rms (as ``_theory_rms``)."""
_HALVES = np.array([0.5, 0.5])
"""Two tasks sharing the period equally (alpha first), as the bow-ties were trained."""

#: ``B`` (n,) -> one orbit per bow-tie (objects with ``trajectory(t).G``), or None: rejected.
OrbitsAt = Callable[[NDArray], "list[Any] | None"]


@dataclass(frozen=True, slots=True)
class RelinProblem:
    """What `relinearized_cycle` needs besides ``B`` and ``tau``: the linear-device network,
    the effective tasks, their linearizations at ``G*``, the box (lo, hi), r γ (Ω/s), η, the
    convergence tolerance (V) and the budget of cycles."""

    network: Network
    tasks: tuple[Task, ...]
    linear0: tuple[LinearTask, ...]
    box: tuple[NDArray, NDArray]
    gamma: float
    eta: float
    tol: float = _FIT_TOL
    max_iter: int = _MAX_ITER

    def cycle(self, B: NDArray, tau: float) -> Relinearized:
        """The re-linearized cycle at ``B`` (V/s) and one period ``tau`` (s)."""
        return relinearized_cycle(
            self.network, self.tasks, self.linear0, B, float(tau), _HALVES, self.box,
            self.gamma, self.eta, self.tol, self.max_iter,
        )  # fmt: skip

    def orbits_at(self, cycles: Sequence[MeasuredCycle], rejected: list[str]) -> OrbitsAt:
        """``orbits_at`` for `fit_constant_bias`: the converged re-linearized orbit at every
        bow-tie's period, or None (the reason appended to ``rejected``)."""

        def at(B: NDArray) -> list[Any] | None:
            out = []
            for c in cycles:
                try:
                    r = self.cycle(B, c.tau)
                except CLLNError as e:
                    rejected.append(f"B = {np.round(B, 3).tolist()}, tau = {c.tau:g} s: {e}")
                    return None
                if not r.converged:
                    rejected.append(
                        f"B = {np.round(B, 3).tolist()}, tau = {c.tau:g} s: not converged "
                        f"(shift {r.shift:.2g} V after {r.iterations} cycles)"
                    )
                    return None
                out.append(r.orbit)
            return out

        return at


def _samples(orbit: Any, c: MeasuredCycle, phi: float) -> NDArray:
    """The orbit at the bow-tie's sample times ``phi tau + i dt`` (m, n), V."""
    t = (phi % 1.0) * c.tau + c.dt * np.arange(c.G.shape[0])
    return np.asarray(orbit.trajectory(t).G, dtype=float)


def fit_constant_bias(
    orbits_at: OrbitsAt,
    cycles: Sequence[MeasuredCycle],
    drifts: Sequence[DriftMeasurement],
    phases: NDArray,
    B_start: NDArray,
    G_ref: NDArray,
    lines_of: Sequence[LinearTask],
    max_nfev: int = 400,
) -> StateBiasFit:
    """A constant ``B`` fitted to the bow-ties' positions and the drift tests with the orbit
    ``orbits_at(B)`` (module docstring); ``lines_of``: the tasks whose solution lines the
    record lists (zero gains). `ConvergenceError` if the optimizer does not converge or ends
    at a rejected bias."""
    n = B_start.size
    A, v = drift_rows(drifts, np.zeros((n * n, 0)), G_ref)
    std = np.array([d.std for d in drifts])
    n_cycle = sum(x.G.size for x in cycles)
    cache: dict[bytes, list[Any] | None] = {}

    def orbits(B: NDArray) -> list[Any] | None:
        key = B.tobytes()  # phase steps of the Jacobian reuse the orbits of the same B
        if key not in cache:
            if len(cache) > 8:
                cache.clear()
            cache[key] = orbits_at(B)
        return cache[key]

    def residuals(p: NDArray, sig: float) -> NDArray:
        orb = orbits(p[:n])
        if orb is None:
            return np.full(n_cycle + len(drifts), _REJECTED)
        r = [(_samples(o, x, phi) - x.G).ravel() for o, x, phi in zip(orb, cycles, p[n:])]
        return np.concatenate([np.concatenate(r) / sig, (A @ p[:n] - v) / std])

    p0 = np.concatenate([B_start, np.asarray(phases, dtype=float) % 1.0])
    sig = 1.0
    for _ in range(2):  # as the constant fit: sigma re-estimated once from the first pass
        res = least_squares(residuals, p0, args=(sig,), x_scale="jac", max_nfev=max_nfev,
                            diff_step=np.full(p0.size, _DIFF_STEP))  # fmt: skip
        if not res.success or orbits(res.x[:n]) is None:
            raise ConvergenceError(
                f"The re-linearized constant-bias fit did not converge in {max_nfev} "
                f"evaluations ({res.message})."
            )
        p0 = res.x
        sig = float(np.sqrt(np.mean((res.fun[:n_cycle] * sig) ** 2)))
    return _record(res, orbits(res.x[:n]), cycles, A, v, G_ref, lines_of, sig)


def _record(res, orb, cycles, A, v, G_ref, lines_of, sig: float) -> StateBiasFit:
    """The fit's record, its uncertainties as the ``constant`` fit's (module docstring)."""
    n = G_ref.size
    B, ph = res.x[:n], res.x[n:] % 1.0
    cov_p, rho, dof = fit_covariance(res, cycles, sig)
    cov = np.zeros((n + n * n, n + n * n))
    cov[:n, :n] = cov_p[:n, :n]
    lines = line_directions(lines_of)
    gains, gains_std = gains_of(np.zeros((n, n)), cov[n:, n:], lines)
    rms = [float(np.sqrt(np.mean((_samples(o, x, p) - x.G) ** 2)))
           for o, x, p in zip(orb, cycles, ph)]  # fmt: skip
    return StateBiasFit(
        bias=AffineBias(B, np.zeros((n, n)), G_ref),
        B0_std=np.sqrt(np.abs(np.diag(cov_p)))[:n],
        J_std=np.zeros((n, n)),
        cov=cov,
        phase=ph,
        rms_cycles=np.array(rms),
        drift_residuals=A @ B - v,
        sigma_cycle=sig,
        rho=rho,
        dof=int(dof),
        model="constant",
        directions=np.array([u for _, u in lines]).reshape(-1, n),
        gains=gains,
        gains_std=gains_std,
    )


@dataclass(frozen=True, slots=True)
class RelinModel:
    """The ``relinearized`` model's fit, theory columns (D², Ē at every period; Floquet
    multipliers not computed: NaN), bow-tie rms (V) and notes (rejected trials, periods left
    NaN)."""

    fit: StateBiasFit
    columns: TheoryColumns
    rms: NDArray
    notes: tuple[str, ...]


def relinearized_model(
    problem: RelinProblem,
    cycles: Sequence[MeasuredCycle],
    drifts: Sequence[DriftMeasurement],
    phases: NDArray,
    B_start: NDArray,
    G_ref: NDArray,
    taus: NDArray,
    E: Callable[[NDArray], Any],
) -> RelinModel:
    """Fit (`fit_constant_bias` with the re-linearized orbits), then `relinearized_columns`
    with the fitted ``B``."""
    rejected: list[str] = []
    fit = fit_constant_bias(
        problem.orbits_at(cycles, rejected), cycles, drifts, phases, B_start, G_ref,
        problem.linear0,
    )  # fmt: skip
    note = (f"fit: {len(rejected)} trial biases rejected (re-linearization not converged or "
            f"failed){': ' + rejected[0] if rejected else ''}")  # fmt: skip
    columns, rms, notes = relinearized_columns(
        problem, np.asarray(fit.bias.B0, dtype=float), taus, cycles, E
    )
    return RelinModel(fit=fit, columns=columns, rms=rms, notes=(note, *notes))


def relinearized_columns(
    problem: RelinProblem,
    B: NDArray,
    taus: NDArray,
    cycles: Sequence[MeasuredCycle],
    E: Callable[[NDArray], Any],
) -> tuple[TheoryColumns, NDArray, tuple[str, ...]]:
    """The theory columns at ``taus`` (D², Ē (A4), ``saturated``; Floquet multipliers not
    computed: NaN) and each bow-tie's rms (best phase, `bowtie_rms`, V) of the re-linearized
    cycle at the constant ``B``; a period or bow-tie whose re-linearization fails or does not
    converge is NaN, with a note."""
    notes = []
    T = taus.size
    D2, Eb = np.full(T, np.nan), np.full(T, np.nan)
    sat = np.zeros(T, dtype=bool)
    for k, tau in enumerate(taus):
        r, why = _converged(problem, B, float(tau))
        if r is None:
            notes.append(f"tau = {tau:g} s left NaN: {why}")
            continue
        o = r.orbit
        D2[k], sat[k] = float(o.span) ** 2, bool(o.saturated)
        try:
            Eb[k] = float(mean_error(E(o.G_half[None]), E(o.G0[None]))[0])  # (A4)
        except CLLNError:
            pass  # a conductance <= 0 on the orbit: Ē undefined, as theory_columns
    rms = np.full(len(cycles), np.nan)
    for j, c in enumerate(cycles):
        r, why = _converged(problem, B, c.tau)
        if r is None:
            notes.append(f"bow-tie at tau = {c.tau:g} s: rms left NaN: {why}")
            continue
        t = np.linspace(0.0, c.tau, _RMS_SAMPLES)
        rms[j] = bowtie_rms(np.asarray(r.orbit.trajectory(t).G), t, c.tau, c.G)
    return TheoryColumns(D2, Eb, np.full(T, np.nan), sat), rms, tuple(notes)


def _converged(problem: RelinProblem, B: NDArray, tau: float) -> tuple[Relinearized | None, str]:
    try:
        r = problem.cycle(B, tau)
    except CLLNError as e:
        return None, f"re-linearization failed ({e})"
    if not r.converged:
        return None, f"NOT CONVERGED (shift {r.shift:.2g} V after {r.iterations} cycles)"
    return r, ""


# --- the "bias or curvature?" comparison (issue 19) -------------------------------------------

#: The state models (d) may pick from: a bias depending on the gates.
_STATE = ("affine", "diagonal", "along-lines", "affine-shapes", "diagonal-shapes")


def comparison_rows(sb: Any) -> list[dict[str, Any]]:
    """The four rows of issue 19 for one `BiasScoreboard` ``sb`` (models missing from it are
    left out), plus two references: (a) theory at G* + affine bias, (b) theory re-linearized +
    constant bias (``relinearized``), (c) simulator + constant bias, (d) simulator + the best
    state model (most D² within 1.5x in the simulator, then Ē, then the median D² ratio
    closest to 1); references: the theory at G* + the same-data constant bias, the simulator +
    the drift-test bias. Each row: ``case``, ``model``, ``engine``, ``rms`` (V, (c,)),
    ``rms_kind``, ``D2``, ``Ebar`` (`Scores`)."""
    by = {s.model: s for s in sb.scores}
    rows: list[dict[str, Any]] = []

    def add(case: str, model: str, engine: str) -> None:
        s = by.get(model)
        if s is None or (engine == "simulator" and s.D2_sim is None):
            return
        th = engine == "theory"
        D2, Eb = (s.D2_theory, s.Ebar_theory) if th else (s.D2_sim, s.Ebar_sim)
        rows.append({
            "case": case, "model": model, "engine": engine,
            "rms": s.rms_theory if th else s.rms_sim, "rms_kind": s.rms_kind if th else "pred",
            "D2": scores(D2, sb.D2_measured, sb.in_box),
            "Ebar": scores(Eb, sb.Ebar_measured, sb.in_box),
        })  # fmt: skip

    add("(a) theory at G* + affine bias", "affine", "theory")
    add("(b) theory re-linearized + constant bias", "relinearized", "theory")
    add("(c) simulator + constant bias", "constant", "simulator")
    state = [s for s in sb.scores if s.model in _STATE and s.D2_sim is not None]
    if state:

        def rank(s: Any) -> tuple[int, int, float]:
            d = scores(s.D2_sim, sb.D2_measured, sb.in_box)
            e = scores(s.Ebar_sim, sb.Ebar_measured, sb.in_box)
            return (-d.within, -e.within, abs(float(np.log(d.median))))

        best = min(state, key=rank)
        add(f"(d) simulator + best state model ({best.model})", best.model, "simulator")
    add("ref: theory at G* + constant bias", "constant", "theory")
    add("ref: simulator + drift-test bias", "drift-test", "simulator")
    return rows


def comparison_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of `comparison_rows` as a Markdown table."""

    def r(x: float) -> str:
        return f"{x:.2f}" if np.isfinite(x) else "none"

    out = [
        f"| case | bow-tie rms [mV] | D² within {WITHIN}× (all / in box) | D² median | D² worst "
        f"| Ē within {WITHIN}× (all / in box) | Ē median | Ē worst |",
        "|" + "---|" * 8,
    ]
    for row in rows:
        d, e = row["D2"], row["Ebar"]
        rms = " / ".join(f"{1e3 * x:.0f}" for x in row["rms"]) + f" ({row['rms_kind']})"
        out.append(
            f"| {row['case']} | {rms} | {d.within}/{d.ratio.size} / {d.within_box}/{d.n_box} | "
            f"{r(d.median)} | {r(d.worst)} | {e.within}/{e.ratio.size} / "
            f"{e.within_box}/{e.n_box} | {r(e.median)} | {r(e.worst)} |"
        )
    return "\n".join(out)
