"""The simulator's limit cycles of K tasks trained in turn, each for its share of the period.

:func:`simulate_schedule` is the simulator of a reproduction on any network (``reproduce
CONFIG --simulate``): K >= 2 tasks in order, task ``k`` trained for ``shares[k]`` of every
period, the period snapped to the nearest one in which every task gets a whole number of
learning steps ``t_h`` (`snapped_periods`; ``exact_tau=True`` flags a period that needs
snapping instead), one limit cycle per period by Newton shooting on the period map with plain
iteration as its fallback, each started from a given guess (the reproduction gives the theory's
cycle in the gate box at that period). A period without a cycle is NaN with the reason, never
aborts the sweep.

Definitions, the K-task generalizations of the paper's (4), (A3), (A4): with ``s_k`` the state
at the end of task ``k``'s stretch on the cycle (``s_K`` = the start), D is the largest
distance between two of the ``s_k`` (for K = 2, ``|G(τ/2) − G(τ)|`` of (4)), and
``Ē = (1/K) Σ_k E(s_k)`` with ``E(G) = (1/K) Σ_j E_j(G)`` the mean of the K task errors
(for K = 2, (A3) and (A4)).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from .._checks import readonly
from ..errors import CLLNError, Failure
from ..inference import CalibratedTask
from ..model import Network, Task
from ..model.bias import AffineBias
from ..simulator import TrainingProtocol
from ..simulator._cycle import FD_STEP, PeriodMap, accelerate, iterate, shoot
from ..simulator._runner import Runner, task_errors_of
from ..simulator.protocol import snapped_steps
from ..simulator.runs import checked_parts
from . import _pipeline
from .compare import SimulatedPeriods, simulate_periods
from .specs import ExperimentConfig

__all__ = ["simulate_description", "simulate_schedule", "snapped_periods"]

_EXACT_RTOL = 1e-9
"""A period needs no snapping when the snapped one equals it within this relative distance."""


def snapped_periods(
    tau: np.ndarray, shares: tuple[float, ...], t_h: float
) -> tuple[np.ndarray, tuple[tuple[int, ...], ...]]:
    """The snapped periods (T,) and the steps of each task per period, for checked periods
    ``tau`` (s), shares of the period (summing to 1) and step ``t_h`` (s): a period already
    whole is kept as given (bit for bit)."""
    out, steps = [], []
    for t in np.asarray(tau, dtype=float):
        t_sim, st = snapped_steps(float(t), shares, t_h)
        out.append(float(t) if abs(t_sim - t) <= _EXACT_RTOL * t else t_sim)
        steps.append(st)
    return np.array(out), tuple(steps)


class _Chain:
    """The period map of K single-task runners trained in turn (what `PeriodMap` needs)."""

    def __init__(self, runners: list[Runner], tau: float, limits: Any) -> None:
        self.runners, self.tau, self.limits = runners, tau, limits

    def ends(self, G: np.ndarray) -> list[np.ndarray]:
        out = []
        for run in self.runners:
            G = run.half(np.asarray(G, dtype=float), 0, 0, 0.0)[0]
            out.append(G)
        return out

    def period(self, G: np.ndarray) -> np.ndarray:
        return self.ends(G)[-1]


def _cycle(chain: _Chain, G: np.ndarray, tol: float, max_periods: int, max_seconds) -> tuple:
    """Newton shooting; where it fails (a clipped, piecewise smooth period map), Anderson
    acceleration of the iteration (`accelerate`); then plain iteration with what is left of
    ``max_periods`` (the fallbacks, as `limit_cycle`'s, without its warning: the row says it).
    Every route accepts only ``max|P(G) − G| <= tol``."""
    P = PeriodMap(chain, FD_STEP, max_seconds)  # type: ignore[arg-type]
    start = G
    G, _, _, ok = shoot(P, G, tol, max_periods)
    if not ok:  # from the start: clipped Newton steps of volts leave the cycle's pinned set
        G, _, _, ok = accelerate(P, start, tol, max_periods)
    if not ok:
        G = iterate(P, G, tol, max_periods, chain.tau)[0]
    return G, P.count


def _ebar(chain: _Chain, tasks: tuple[Task, ...], ends: list[np.ndarray]) -> float:
    """``Ē = (1/K) Σ_k E(s_k)``, ``E`` the mean of the K task errors (module docstring)."""
    E = []
    for s in ends:
        errs = [
            float(np.asarray(task_errors_of(run.outputs(s, 0), task)))
            for run, task in zip(chain.runners, tasks, strict=True)
        ]
        E.append(float(np.mean(errs)))
    return float(np.mean(E))


def _span2(ends: list[np.ndarray]) -> float:
    S = np.array(ends)
    d = S[:, None, :] - S[None, :, :]
    return float(np.max(np.sum(d * d, axis=-1)))


def simulate_schedule(
    network: Network,
    tasks: tuple[Task, ...],
    *,
    tau: Any,
    shares: tuple[float, ...],
    B: Any,
    protocol: TrainingProtocol,
    gate_limits: tuple[float, float] | None,
    starts: Any,
    tol: float = 1e-10,
    max_periods: int = 5000,
    max_seconds: float | None = None,
    exact_tau: bool = False,
) -> tuple[SimulatedPeriods, np.ndarray]:
    """The simulator's limit cycle of K tasks trained in turn at every period (module
    docstring); a failure flags its period, never aborts.

    Parameters
    ----------
    network : Network
        The simulated network (any device).
    tasks : tuple of Task
        The K >= 2 tasks in training order.
    tau : (T,) array_like
        Periods, s (finite, > 0).
    shares : tuple of float
        Each task's share of the period (> 0, summing to 1).
    B : (n_gates,) array_like or callable
        Bias, V/s, as in `clln_theory.simulator.limit_cycle`.
    protocol : TrainingProtocol
        Clamping, step time ``t_h`` and rate (no noise).
    gate_limits : (G_min, G_max) or None
        Gate box of the simulation, V.
    starts : (T, n_gates) array_like
        The start of each period's cycle search, V (clipped to the gate box).
    tol : float
        Period-map residual of a converged cycle, V.
    max_periods : int
        Budget of period-map evaluations per period.
    max_seconds : float or None
        Wall-clock budget of each period's cycle search, s.
    exact_tau : bool
        Flag a period that is not a whole number of steps for every task instead of
        simulating the snapped one.

    Returns
    -------
    sim : SimulatedPeriods
        ``D2_sim`` (D² of the module docstring), ``Ebar_sim``, ``G0`` (the cycle's start),
        ``G_half`` (the end of the first task's stretch), ``at_limit``, failures.
    tau_sim : (T,) ndarray
        The periods simulated, s (snapped; NaN where ``exact_tau`` refused one).

    Raises
    ------
    ArgumentError, TaskError, NetworkError, ProtocolError
        Bad tasks, protocol or gate limits (as `clln_theory.simulator.simulate` refuses them).
    """
    taus = np.asarray(tau, dtype=float).ravel()
    parts = [
        checked_parts(network, (t,), B=B, protocol=protocol, gate_limits=gate_limits,
                      engine="auto")
        for t in tasks
    ]  # fmt: skip
    limits = parts[0].limits
    t_h = parts[0].protocol.t_h
    tau_sim, steps = snapped_periods(taus, shares, t_h)
    starts = np.broadcast_to(np.asarray(starts, dtype=float), (taus.size, network.n_gates))
    t0, n = time.perf_counter(), network.n_gates
    rows: list[tuple] = []
    failures: list[Failure] = []
    for k, (t, ts, st) in enumerate(zip(taus, tau_sim, steps, strict=True)):
        try:
            if exact_tau and ts != t:
                raise CLLNError(
                    f"tau = {t:.6g} s does not give every task a whole number of steps t_h = "
                    f"{t_h:.6g} s (the nearest valid tau is {ts:.6g} s; --exact-tau refuses it)"
                )
            chain = _Chain([p.runner(ts, s) for p, s in zip(parts, st, strict=True)], ts, limits)
            G = starts[k] if limits is None else np.clip(starts[k], limits[0], limits[1])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                G, count = _cycle(chain, G, tol, max_periods, max_seconds)
            ends = chain.ends(G)
            lim = bool(limits is not None and np.any(
                [np.isclose(e, limits[0]) | np.isclose(e, limits[1]) for e in ends]
            ))  # fmt: skip
            rows.append((_span2(ends), _ebar(chain, tasks, ends), G, ends[0], lim, count))
        except CLLNError as err:
            failures.append(
                Failure(what="simulation", why=str(err), where=f"tau = {float(t):.6g} s",
                        kind=type(err).__name__)
            )  # fmt: skip
            rows.append((np.nan, np.nan, np.full(n, np.nan), np.full(n, np.nan), False, 0))
            if exact_tau and ts != t:
                tau_sim[k] = np.nan
    cols = list(zip(*rows, strict=True))
    failed = [not np.isfinite(r[0]) for r in rows]
    sim = SimulatedPeriods(
        tau=readonly(np.where(np.isnan(tau_sim), taus, tau_sim)),  # the periods simulated
        D2_sim=readonly(np.array(cols[0], dtype=float)),
        Ebar_sim=readonly(np.array(cols[1], dtype=float)),
        G0=readonly(np.reshape(cols[2], (-1, n)).astype(float)),
        G_half=readonly(np.reshape(cols[3], (-1, n)).astype(float)),
        at_limit=readonly(np.array(cols[4], dtype=bool)),
        n_periods=readonly(np.array(cols[5], dtype=int)),
        failed=readonly(np.array(failed, dtype=bool)),
        failures=tuple(failures),
        trajectories=(None,) * taus.size,
        seconds=time.perf_counter() - t0,
    )
    return sim, readonly(tau_sim)


def simulate_description(
    cfg: ExperimentConfig,
    nominal: tuple[Task, ...],
    tasks: tuple[CalibratedTask, ...],
    B: Any,
    taus: np.ndarray,
    th: _pipeline.Theory,
    exact_tau: bool,
) -> tuple[SimulatedPeriods, tuple[Task, ...], np.ndarray]:
    """The simulator at every period: tasks recalibrated on its device, then one limit cycle
    per period, at the period snapped to whole numbers of steps ``t_h`` of every task. The
    paper's two tasks on two gates: `simulate_periods` (each period from the last cycle);
    any other network or K tasks: `simulate_schedule`, each period from the theory's cycle."""
    sim = cfg.simulate
    assert sim is not None  # reproduce() refuses simulate=True without a [simulate] section
    state = isinstance(B, AffineBias)  # `bias.state`: the fitted B(G), unless [simulate] gives B
    run = _pipeline.simulation_inputs(cfg, nominal, tasks, B.B0 if state else B)
    B_sim = B if state and sim.B is None else run.B
    if len(tasks) != 2 or cfg.network.n_gates != 2:
        starts: Any = run.G0
        if th.starts is not None:  # K tasks: the theory's cycle (NaN rows: the default start)
            ok = np.all(np.isfinite(th.starts[:, 0]), axis=1)[:, None]
            starts = np.where(ok, th.starts[:, 0], np.asarray(run.G0, dtype=float))
        elif th.box_orbit is not None:
            starts = np.asarray(th.box_orbit.G0)
        result, tau_sim = simulate_schedule(
            run.network, run.tasks, tau=taus, shares=cfg.durations, B=B_sim,
            protocol=run.protocol, gate_limits=sim.gate_limits, starts=starts, tol=sim.tol,
            max_periods=sim.max_periods, max_seconds=sim.max_seconds, exact_tau=exact_tau,
        )  # fmt: skip
        return result, run.tasks, tau_sim
    tau_sim = taus if exact_tau else snapped_periods(taus, (0.5, 0.5), sim.t_h)[0]
    result = simulate_periods(
        run.network, run.tasks[0], run.tasks[1], tau=tau_sim, B=B_sim, protocol=run.protocol,
        gate_limits=sim.gate_limits, G0=run.G0, tol=sim.tol, max_periods=sim.max_periods,
        max_seconds=sim.max_seconds,
    )  # fmt: skip
    return result, run.tasks, tau_sim
