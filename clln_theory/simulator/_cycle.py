"""Engine of the simulator's limit cycles: the period map, Newton shooting, plain iteration.

`clln_theory.simulator.shooting.limit_cycle` and the experiments' sweeps over periods
(`compare_with_measurement`, `simulate_periods`) check their arguments once (`checked_parts`,
`period_steps` of `clln_theory.simulator.runs`) and call `find_cycle` here on a `Runner` built by
`RunParts.runner` for each period. Nothing here validates. Public names for the simulator's and
the experiments' modules; not part of the package's API.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_record, readonly
from .._metrics import cycle_span_of, mean_error
from .._progress import line
from .._repr import short_repr
from ..errors import ConvergenceError, FallbackWarning
from ..model.network import Network
from ..model.tasks import Task
from ._runner import Runner, SimulatedTrajectory, task_errors_of
from .protocol import StepNoise, TrainingProtocol

__all__ = [
    "FD_STEP",
    "MAX_PERIODS",
    "MAX_SAMPLES",
    "MAX_SECONDS",
    "LimitCycle",
    "PeriodMap",
    "RunParts",
    "accelerate",
    "cycle_through",
    "find_cycle",
    "from_guess",
    "iterate",
    "shoot",
]

#: Finite-difference step of the monodromy, V (default of `limit_cycle`'s ``fd_step``):
#: ~sqrt(eps) times the gate scale (1-5 V) balances truncation and round-off.
FD_STEP = 1e-7
#: Budget of period-map evaluations of one cycle: the one default of ``max_periods`` of
#: `limit_cycle`, `simulate_periods` and the TOML's ``simulate.max_periods`` (the command line
#: reads the TOML). Newton shooting needs tens of period maps (n + 3 per Newton step); its
#: iteration fallback ~1500 at the slowest contraction of the paper's experiments (Floquet
#: multiplier 0.988), and a cycle iteration has not reached in 5000 periods contracts so slowly
#: (multiplier > 0.995) that waiting longer rarely helps: better to fail in minutes, flagged, than
#: to run for hours (the former API default 200,000 ran 121 s without a word on a 3x3 grid).
MAX_PERIODS = 5000
#: Default wall-clock budget of one cycle (``max_seconds``): none, so that a result never
#: depends on the speed of the machine; set it to bound a run in time as well.
MAX_SECONDS = None
#: Samples kept of the recorded period (default of ``max_samples``).
MAX_SAMPLES = 4000


@dataclass(frozen=True, slots=True)
class LimitCycle:
    """Periodic steady state of alternating two-task training.

    Attributes
    ----------
    G0 : (n_gates,) ndarray
        State at the start of task α on the cycle (the fixed point of the period map), V.
    G_half : (n_gates,) ndarray
        State at τ/2 (end of task α), V.
    span : float
        Cycle span ``D = |G(τ/2) − G(τ)|`` (4), V.
    Ebar : float
        Combined error ``(E(τ/2) + E(τ))/2`` with ``E = (E_α + E_β)/2`` (A3, A4), V².
    E_half, E_end : float
        ``E(τ/2)`` and ``E(τ)``, V².
    monodromy : (n_gates, n_gates) ndarray
        Jacobian of the period map at ``G0`` (finite differences).
    multipliers : (n_gates,) complex ndarray
        Floquet multipliers (eigenvalues of ``monodromy``), sorted by decreasing modulus.
    n_periods : int
        Period-map evaluations used in all (warm-up, Newton, finite differences, fallback).
    residual : float
        ``max |P(G0) − G0|``, V.
    route : {"shooting", "iterate"}
        The route that converged (``"iterate"`` also after a shooting fallback).
    converged : bool
        True (a cycle that did not converge raises `ConvergenceError`).
    trajectory : SimulatedTrajectory
        One period from ``G0``, every step recorded (decimated to at most ``max_samples``).
    tau : float
        Period, s.
    """

    G0: np.ndarray
    G_half: np.ndarray
    span: float
    Ebar: float
    E_half: float
    E_end: float
    monodromy: np.ndarray
    multipliers: np.ndarray
    n_periods: int
    residual: float
    route: str
    converged: bool
    trajectory: SimulatedTrajectory
    tau: float

    __repr__ = short_repr

    def __post_init__(self) -> None:
        check_record(self, G0="array", G_half="array", span="real", Ebar="real", E_half="real",
                     E_end="real", monodromy="array", multipliers="carray", n_periods="count",
                     residual="real", route="text", converged="flag",
                     trajectory=SimulatedTrajectory, tau="real")  # fmt: skip


class PeriodMap:
    """The period map of a `Runner`, counting its evaluations, and its monodromy matrix."""

    def __init__(self, run: Runner, fd_step: float, max_seconds: float | None = None) -> None:
        self.run, self.fd_step, self.count = run, fd_step, 0
        self.max_seconds = max_seconds
        self.t0 = time.monotonic()
        self.residual = math.inf  # the best residual so far (for messages and the progress)

    def __call__(self, g: np.ndarray) -> np.ndarray:
        if self.max_seconds is not None and time.monotonic() - self.t0 > self.max_seconds:
            raise ConvergenceError(
                f"The limit cycle at tau = {self.run.tau:.6g} s was not found within "
                f"max_seconds = {self.max_seconds:g} s ({self.count} periods; the period-map "
                f"residual is still {self.residual:.3g} V): raise `max_seconds`, loosen `tol`, "
                "or start nearer the cycle (`G0`)."
            )
        self.count += 1
        return self.run.period(g)

    def monodromy(self, g: np.ndarray, Pg: np.ndarray) -> np.ndarray:
        """``∂P/∂G`` at ``g`` by forward differences (steps kept inside the gate box)."""
        n = g.size
        limits = self.run.limits
        J = np.empty((n, n))
        for j in range(n):
            e = np.zeros(n)
            h = self.fd_step * max(1.0, abs(g[j]))
            if limits is not None and g[j] + h > limits[1][j]:
                h = -h  # stay inside the box
            e[j] = h
            J[:, j] = (self(g + e) - Pg) / h
        return J


def shoot(P: PeriodMap, G: np.ndarray, tol: float, max_periods: int):
    """Newton shooting on ``R(G) = P(G) − G``; returns ``(G, P(G), res, converged)``."""
    n = G.size
    limits = P.run.limits
    PG = P(G)
    G, PG = PG, P(PG)  # one warm-up period
    R = PG - G
    res = P.residual = float(np.max(np.abs(R)))
    for _ in range(50):
        if res <= tol:
            return G, PG, res, True
        if P.count + n + 2 > max_periods:
            break
        J = P.monodromy(G, PG)
        try:
            dG = -np.linalg.solve(J - np.eye(n), R)
        except np.linalg.LinAlgError:
            break
        lam = 1.0
        for _ in range(12):  # halve the step while |R| does not decrease
            Gt = G + lam * dG
            if limits is not None:
                Gt = np.clip(Gt, limits[0], limits[1])
            PGt = P(Gt)
            rt = float(np.max(np.abs(PGt - Gt)))
            if rt < res:
                G, PG, R, res = Gt, PGt, PGt - Gt, rt
                P.residual = res
                break
            lam *= 0.5
        else:
            break
    return G, PG, res, False


def iterate(P: PeriodMap, G: np.ndarray, tol: float, max_periods: int, tau: float, bar=None):
    """Plain iteration ``G ← P(G)``; returns ``(G, P(G), res)``. ``bar``: a progress line whose
    detail gets the residual and the time left, estimated from the contraction per period."""
    PG = P(G)
    res = float(np.max(np.abs(PG - G)))
    while res > tol and P.count < max_periods:
        G = PG
        PG = P(G)
        res, last = float(np.max(np.abs(PG - G))), res
        P.residual = min(P.residual, res)
        if bar is not None and bar.enabled:
            bar.update(note=_eta_note(P, res, last, tol))
    if res > tol:
        raise ConvergenceError(
            f"The limit cycle at tau = {tau:.6g} s was not found within max_periods = "
            f"{max_periods} periods: the period-map residual is still {res:.3g} V (tol "
            f"{tol:.3g} V); raise `max_periods` or loosen `tol`."
        )
    return G, PG, res


#: Anderson acceleration (`accelerate`): the last ``_ANDERSON_DEPTH`` differences of iterates and
#: residuals. The slow Floquet directions of a network with more gates than constraints are
#: few (two on the 3x3 grid, multipliers 0.996 and 0.88 at tau = 4.6 ms), so a short history
#: spans them; a longer one only adds ill-conditioned columns.
_ANDERSON_DEPTH = 6
#: The strategies of `accelerate`, tried in turn: (take an extrapolation that pins or frees a
#: gate, the factor by which any other may raise the residual before the plain iterate replaces
#: it). Measured on the 3x3 grid and a 4-gate affine map with one gate pinning (tests): the first
#: finds 4.6 ms (443 periods) and the affine map (10), the second 2.2 ms (869) and the affine map
#: (39), and each stalls on one of the grid's periods that the other finds.
_STRATEGIES = ((True, 10.0), (False, 100.0))
#: Periods without a tenfold decrease of the best residual after which `accelerate` gives up
#: (and the caller falls back to plain iteration from the best point).
_ANDERSON_STALL = 500


def accelerate(P: PeriodMap, G: np.ndarray, tol: float, max_periods: int):
    """Anderson acceleration of ``G ← P(G)`` with the gates clipped to the box; returns
    ``(G, P(G), res, converged)``, the best point seen if not converged.

    Where Newton shooting fails on a clipped simulation (the period map is only piecewise
    smooth: near-unit multipliers make Newton steps of volts that the box clips, and the pinned
    set changes under them) and plain iteration contracts by 0.996 per period, the
    least-squares extrapolation over the last `_ANDERSON_DEPTH` iterates removes the slow
    directions. How to treat an extrapolation that pins or frees a gate has no single right
    answer on a piecewise affine map, so the `_STRATEGIES` are tried in turn from ``G``, each
    until it stalls (`_ANDERSON_STALL`). On the 3x3 grid: tau = 4.6 ms in ~450 periods and
    2.2 ms in ~1200 (plain iteration: more than 5000). It does not shorten a drift at the bias
    rate to the box (a multiplier 1 until the gate pins): that takes the training time it
    takes (tau = 1 ms there). The result is accepted only at ``max|P(G) − G| <= tol``, as plain
    iteration's.
    """
    best = None
    for pin_reset, reject in _STRATEGIES:
        out = _anderson(P, G, tol, max_periods, pin_reset, reject)
        if best is None or out[2] < best[2]:
            best = out
        if out[3] or P.count + 2 >= max_periods:
            break
    assert best is not None
    return best


def _anderson(P: PeriodMap, G: np.ndarray, tol: float, max_periods: int, pin_reset, reject):
    """One strategy of `accelerate`: ``pin_reset`` takes an extrapolation that pins or frees a
    gate (a new piece of the clipped map, with a fresh history); any other extrapolation whose
    residual exceeds ``reject`` times the last is replaced by the plain iterate."""
    limits = P.run.limits
    PG = P(G)
    res = float(np.max(np.abs(PG - G)))
    best = (res, G, PG)
    dX: list[np.ndarray] = []
    dF: list[np.ndarray] = []
    mark, mark_at = res, P.count  # the last tenfold decrease of the best residual
    while res > tol and P.count + 2 < max_periods and P.count - mark_at < _ANDERSON_STALL:
        f = PG - G
        Gn = PG
        if dX:
            gam = np.linalg.lstsq(np.array(dF).T, f, rcond=1e-12)[0]
            Gn = G + f - (np.array(dX) + np.array(dF)).T @ gam
        if limits is not None:
            Gn = np.clip(Gn, limits[0], limits[1])
        PGn = P(Gn)
        rn = float(np.max(np.abs(PGn - Gn)))
        if pin_reset and _pinned(Gn, limits) != _pinned(G, limits):  # a new piece: new history
            dX, dF = [], []
        elif rn > reject * res:  # the plain iterate instead, and a fresh history
            dX, dF = [], []
            Gn = PG if limits is None else np.clip(PG, limits[0], limits[1])
            PGn = P(Gn)
            rn = float(np.max(np.abs(PGn - Gn)))
        else:
            dX = [*dX, Gn - G][-_ANDERSON_DEPTH:]
            dF = [*dF, (PGn - Gn) - f][-_ANDERSON_DEPTH:]
        G, PG, res = Gn, PGn, rn
        if res < best[0]:
            best = (res, G, PG)
            P.residual = min(P.residual, res)
        if res <= 0.1 * mark:
            mark, mark_at = res, P.count
    res, G, PG = best
    return G, PG, res, res <= tol


def _pinned(G: np.ndarray, limits: Any) -> bytes:
    """The gates of ``G`` at a limit of the box (a key of the piece of the clipped map)."""
    if limits is None:
        return b""
    return ((G <= limits[0]) | (G >= limits[1])).tobytes()


def _eta_note(P: PeriodMap, res: float, last: float, tol: float) -> str:
    """Residual and time left of an iteration contracting by ``res/last`` per period."""
    note = f"residual {res:.2g} V"
    q = res / last if last > 0 else 1.0
    if 0 < q < 1 and res > tol:
        per_period = (time.monotonic() - P.t0) / max(P.count, 1)
        note += f", ~{per_period * math.log(tol / res) / math.log(q):.0f} s left"
    return note


def cycle_through(
    P: PeriodMap, G: np.ndarray, PG: np.ndarray, res: float, route: str, max_samples: int
) -> LimitCycle:
    """The cycle through ``G``: monodromy, multipliers, the recorded period, span and errors."""
    run = P.run
    J = P.monodromy(G, PG)
    mult = np.linalg.eigvals(J)
    mult = mult[np.argsort(-np.abs(mult))]
    stride = max(1, math.ceil(2 * run.n_half / max_samples))
    _, times, samples, active = run.run(G, 2, 1)
    # decimate, always keeping t = τ/2 and t = τ
    keep = sorted(set(range(0, len(times), stride)) | {run.n_half, 2 * run.n_half})
    traj = run.trajectory(
        [times[i] for i in keep], [samples[i] for i in keep], [active[i] for i in keep], "discrete"
    )
    G_half = np.asarray(samples[run.n_half], dtype=float)
    G_end = np.asarray(samples[2 * run.n_half], dtype=float)
    E = [  # (A3) at tau/2 and at tau
        mean_error(*(task_errors_of(run.outputs(g, k), t) for k, t in enumerate(run.tasks)))
        for g in (G_half, G_end)
    ]
    return LimitCycle(
        G0=readonly(G, float),
        G_half=readonly(G_half, float),
        span=cycle_span_of(G_half, G_end),  # (4)
        Ebar=mean_error(E[0], E[1]),  # (A4)
        E_half=E[0],
        E_end=E[1],
        monodromy=readonly(J, float),
        multipliers=np.array(mult),
        n_periods=P.count,
        residual=res,
        route=route,
        converged=True,
        trajectory=traj,
        tau=run.tau,
    )


@dataclass(frozen=True, slots=True)
class RunParts:
    """The checked arguments of a run but its period: a fresh `Runner` per period from them.

    A `Runner` keeps warm starts in its kernels, so every period gets its own (as a call of
    `limit_cycle` per period would build).
    """

    network: Network
    tasks: tuple[Task, ...]
    B: np.ndarray | None
    Bfun: Any
    protocol: TrainingProtocol
    limits: tuple[np.ndarray, np.ndarray] | None
    engine: str
    noise: StepNoise | None

    def runner(self, tau: float, n_half: int) -> Runner:
        """The compiled run at period ``tau`` (s) with ``n_half`` steps per half period."""
        return Runner(
            self.network,
            self.tasks,
            tau=tau,
            n_half=n_half,
            B=self.B,
            Bfun=self.Bfun,
            protocol=self.protocol,
            limits=self.limits,
            engine=self.engine,
            noise=self.noise,
        )


def from_guess(run: Runner, G: np.ndarray) -> np.ndarray:
    """A start from a checked gate vector (the previous period's cycle): clipped to the box, as
    `check_G0` clips a user's start."""
    G = np.asarray(G)
    if run.limits is not None:
        G = np.clip(G, run.limits[0], run.limits[1])
    return G.astype(float)


def find_cycle(
    run: Runner,
    G: np.ndarray,
    route: str,
    tol: float,
    max_periods: int,
    fd_step: float,
    max_samples: int,
    *,
    max_seconds: float | None = MAX_SECONDS,
    progress: bool | None = None,
) -> LimitCycle:
    """The limit cycle of ``run`` from the checked start ``G``: shooting (``route="shooting"``)
    with iteration as its fallback (and a `FallbackWarning`), or iteration alone;
    `ConvergenceError` if neither converges within ``max_periods`` periods and ``max_seconds``
    seconds. A progress line (`clln_theory._progress`) counts the periods."""
    P = PeriodMap(run, fd_step, max_seconds)
    converged, start = False, G
    with line(None, desc="limit cycle", unit="periods", enabled=progress) as bar:
        if route == "shooting":
            G, PG, res, converged = shoot(P, G, tol, max_periods)
            if not converged:
                warnings.warn(
                    FallbackWarning(
                        f"Newton shooting found no limit cycle at tau = {run.tau:.6g} s after "
                        f"{P.count} periods (residual {res:.3g} V, tol {tol:.3g} V); falling "
                        "back to plain iteration"
                        + (
                            " (Anderson-accelerated: the gate box clips the period map)"
                            if run.limits is not None
                            else ""
                        )
                        + f", with {max_periods - P.count} periods of `max_periods` left."
                    ),
                    stacklevel=3,
                )
        shot = converged
        if not converged and route == "shooting" and run.limits is not None:
            # from the start: clipped Newton steps of volts leave the cycle's pinned set
            G, PG, res, converged = accelerate(P, start, tol, max_periods)
        if not converged:  # plain iteration, or the fallback of a failed shooting
            G, PG, res = iterate(P, G, tol, max_periods, run.tau, bar)
        return cycle_through(P, G, PG, res, "shooting" if shot else "iterate", max_samples)
