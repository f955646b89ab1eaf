"""Limit cycles of the simulator: the period map and Newton shooting on it.

`limit_cycle` finds the periodic steady state of alternating two-task training by Newton shooting
on the period map ``P`` (`period_map`; monodromy matrix by finite differences, Floquet
multipliers), with plain iteration ``G ← P(G)`` as the fallback, and reports the span (4) and
the errors (A3), (A4) of the cycle (computed by `clln_theory.metrics`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import choice, count, positive, readonly, refuse_renamed
from .._metrics import cycle_span_of, mean_error
from ..errors import ArgumentError, ConvergenceError, ProtocolError
from ..model.network import Network
from ..model.tasks import Task
from ._runner import Runner, SimulatedTrajectory, task_errors_of
from .protocol import TrainingProtocol, check_G0
from .runs import checked_runner

__all__ = ["LimitCycle", "limit_cycle", "period_map"]


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


def period_map(
    network: Network,
    task_a: Task,
    task_b: Task,
    G: Any,
    *,
    tau: float,
    B: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[Any, Any] | None = (1.0, 5.0),
    engine: Literal["auto", "fast", "general", "sparse"] = "auto",
) -> np.ndarray:
    """State after one period (τ/2 of task α, then τ/2 of task β) from ``G``.

    Parameters
    ----------
    network : Network
        Any device.
    task_a, task_b : Task
        Task α (trained first) and task β.
    G : (n_gates,) array_like
        State at the start of task α, V.
    tau : float
        Period τ, s (τ/2 a whole number of steps ``t_h``).
    B : (n_gates,) array_like or callable
        Bias per gate, V/s, or ``B(G) -> (n_gates,)``.
    protocol : TrainingProtocol, optional
        Clamping and rates (default ``TrainingProtocol()``), without noise (refused).
    gate_limits : (G_min, G_max) or None
        Gate box, V.
    engine : {"auto", "fast", "general", "sparse"}
        Step engine, as in `simulate`.

    Returns
    -------
    G_next : (n_gates,) ndarray
        V.

    Raises
    ------
    ArgumentError, ProtocolError, DeviceError, TaskError, ShapeError
        As in `simulate`; `ArgumentError` also for a protocol with noise.
    """
    run = _pair_runner(network, task_a, task_b, tau, B, protocol, gate_limits, engine)
    return run.period(check_G0(network, G, run.limits, "G"))


def _pair_runner(
    network: Any,
    task_a: Any,
    task_b: Any,
    tau: Any,
    B: Any,
    protocol: Any,
    gate_limits: Any,
    engine: Any,
) -> Runner:
    """The compiled simulation of alternating ``task_a``/``task_b`` (arguments checked once).

    A protocol with noise is refused: the period map and its cycle are those of the
    deterministic dynamics (and these faces take no seed).
    """
    run = checked_runner(
        network,
        (task_a, task_b),
        tau=tau,
        B=B,
        protocol=protocol,
        gate_limits=gate_limits,
        engine=engine,
        task_names=("task_a", "task_b"),
    )
    if run.noise is not None:
        raise ArgumentError(
            "Argument `protocol` has noise (`update_noise` or `voltage_noise`); the period map "
            "and the limit cycle are those of the deterministic dynamics: use "
            "simulate(..., seed=...) for noisy runs."
        )
    return run


class _PeriodMap:
    """The period map of a `Runner`, counting its evaluations, and its monodromy matrix."""

    def __init__(self, run: Runner, fd_step: float) -> None:
        self.run, self.fd_step, self.count = run, fd_step, 0

    def __call__(self, g: np.ndarray) -> np.ndarray:
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


def _shoot(P: _PeriodMap, G: np.ndarray, tol: float, max_periods: int):
    """Newton shooting on ``R(G) = P(G) − G``; returns ``(G, P(G), res, converged)``."""
    n = G.size
    limits = P.run.limits
    PG = P(G)
    G, PG = PG, P(PG)  # one warm-up period
    R = PG - G
    res = float(np.max(np.abs(R)))
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
                break
            lam *= 0.5
        else:
            break
    return G, PG, res, False


def _iterate(P: _PeriodMap, G: np.ndarray, tol: float, max_periods: int, tau: float):
    """Plain iteration ``G ← P(G)``; returns ``(G, P(G), res)``."""
    PG = P(G)
    res = float(np.max(np.abs(PG - G)))
    while res > tol and P.count < max_periods:
        G = PG
        PG = P(G)
        res = float(np.max(np.abs(PG - G)))
    if res > tol:
        raise ConvergenceError(
            f"The limit cycle at tau = {tau:.6g} s was not found within {max_periods} periods: "
            f"the period-map residual is still {res:.3g} V (tol {tol:.3g} V); raise "
            "`max_periods` or loosen `tol`."
        )
    return G, PG, res


def _cycle(
    P: _PeriodMap, G: np.ndarray, PG: np.ndarray, res: float, route: str, max_samples: int
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


def _start(run: Runner, G0: Any) -> np.ndarray:
    """The checked starting guess: ``G0``, or the centre of the gate box."""
    if G0 is None:
        if run.limits is None:
            raise ProtocolError("Without gate limits `G0` is required (no box centre to start).")
        G0 = 0.5 * (run.limits[0] + run.limits[1])
    return check_G0(run.network, G0, run.limits)


def limit_cycle(
    network: Network,
    task_a: Task,
    task_b: Task,
    *,
    tau: float,
    B: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[Any, Any] | None = (1.0, 5.0),
    G0: Any = None,
    route: Literal["shooting", "iterate"] = "shooting",
    tol: float = 1e-10,
    max_periods: int = 200_000,
    fd_step: float = 1e-7,
    engine: Literal["auto", "fast", "general", "sparse"] = "auto",
    max_samples: int = 4000,
    **renamed: Any,
) -> LimitCycle:
    """Periodic steady state of the discrete dynamics, alternating ``task_a`` and ``task_b``.

    Parameters
    ----------
    network : Network
        Any device.
    task_a, task_b : Task
        Task α (trained first in each period) and task β.
    tau : float
        Period τ, s (τ/2 a whole number of steps ``t_h``).
    B : (n_gates,) array_like or callable
        Bias per gate, V/s, or ``B(G) -> (n_gates,)``.
    protocol : TrainingProtocol, optional
        Clamping and rates (default ``TrainingProtocol()``), without noise (refused).
    gate_limits : (G_min, G_max) or None
        Gate box, V.
    G0 : (n_gates,) array_like, optional
        Starting guess; default the centre of the gate box (required without gate limits).
    route : {"shooting", "iterate"}
        Newton shooting on ``R(G) = P(G) − G`` (monodromy by forward differences), falling back
        to iteration if Newton fails; or plain iteration ``G ← P(G)``.
    tol : float
        Converged when ``max |P(G) − G| <= tol`` (volts). The default 1e-10 V is ~1e-8 of the
        smallest measured span (D ~ 5e-3 V at τ = 0.6 ms).
    max_periods : int
        Budget of period-map evaluations.
    fd_step : float
        Finite-difference step for the monodromy, V. ~sqrt(eps) times the gate scale (1-5 V)
        balances truncation and round-off.
    engine : {"auto", "fast", "general", "sparse"}
        Step engine, as in `simulate`.
    max_samples : int
        The one-period trajectory is recorded every step, decimated to at most this many samples
        (default 4000).
    renamed : Any
        Old keyword names, refused with an `ArgumentError` naming the new one (``method`` is
        now ``route``).

    Returns
    -------
    LimitCycle

    Raises
    ------
    ConvergenceError
        Neither shooting nor iteration reached ``tol`` within ``max_periods`` (gives the
        residual reached).
    ArgumentError
        A bad option (``route``, ``tol``, ``fd_step``, ``max_periods``, ``max_samples``, ...),
        a protocol with noise, or an old keyword name.
    ProtocolError, DeviceError, TaskError, ShapeError
        As in `simulate`; `ProtocolError` also for a missing ``G0`` without gate limits.

    Notes
    -----
    Shooting: two warm-up periods, then Newton steps ``ΔG = −(Φ − I)⁻¹ R`` with the monodromy
    ``Φ = ∂P/∂G`` from n forward differences (n + 1 periods per iteration), halving the step
    while ``|R|`` does not decrease. Near a slowly contracting cycle (Floquet multiplier
    ``1 − ε``) iteration needs ~``log(tol)/log(1 − ε)`` periods, shooting a handful. The period
    map is only piecewise smooth where the gates touch the box; Newton still converges there
    (the clipped directions have multiplier 0), and the iteration fallback covers the rest.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import ThreeRegimeMOSFET
    >>> from clln_theory.electrical.rule import learning_rate_A0
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network(device=ThreeRegimeMOSFET())
    >>> a, b = experiment_tasks("exp1")
    >>> lc = limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41],
    ...                  protocol=TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0)))
    >>> lc.converged, lc.residual <= 1e-10, bool(abs(lc.multipliers[0]) < 1)
    (True, True, True)
    """
    refuse_renamed(renamed, {"method": "route"}, "limit_cycle")
    run = _pair_runner(network, task_a, task_b, tau, B, protocol, gate_limits, engine)
    G = _start(run, G0)
    choice(route, "route", ("shooting", "iterate"))
    tol = positive(tol, "tol", unit="V")
    P = _PeriodMap(run, positive(fd_step, "fd_step", unit="V"))
    max_periods = count(max_periods, "max_periods")
    max_samples = count(max_samples, "max_samples")
    converged = False
    if route == "shooting":
        G, PG, res, converged = _shoot(P, G, tol, max_periods)
    if not converged:  # plain iteration, or the fallback of a failed shooting
        G, PG, res = _iterate(P, G, tol, max_periods, run.tau)
    return _cycle(P, G, PG, res, route if converged else "iterate", max_samples)
