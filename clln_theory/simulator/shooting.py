"""Limit cycles of the simulator: the period map and Newton shooting on it.

`limit_cycle` finds the periodic steady state of alternating two-task training by Newton shooting
on the period map ``P`` (`period_map`; monodromy matrix by finite differences, Floquet
multipliers), with plain iteration ``G ← P(G)`` as the fallback, and reports the span (4) and
the errors (A3), (A4) of the cycle (computed by `clln_theory.metrics`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._checks import choice, count, instance, positive, refuse_renamed
from ..errors import ArgumentError, ProtocolError
from ..model.network import Network
from ..model.tasks import Task
from ._cycle import (
    FD_STEP,
    MAX_PERIODS,
    MAX_SAMPLES,
    MAX_SECONDS,
    LimitCycle,
    RunParts,
    find_cycle,
)
from ._runner import Runner
from .protocol import TrainingProtocol, check_G0, steps_per_half
from .runs import checked_parts

__all__ = ["LimitCycle", "limit_cycle", "period_map"]


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
    """The compiled simulation of alternating ``task_a``/``task_b`` (arguments checked once)."""
    parts = checked_pair(network, task_a, task_b, B, protocol, gate_limits, engine)
    tau, n_half = steps_per_half(tau, parts.protocol.t_h)
    return parts.runner(tau, n_half)


def checked_pair(
    network: Any, task_a: Any, task_b: Any, B: Any, protocol: Any, gate_limits: Any, engine: Any
) -> RunParts:
    """The checked arguments of alternating ``task_a``/``task_b`` but the period (`RunParts`):
    what `limit_cycle` and the sweeps over periods of `clln_theory.experiments` check once.

    A protocol with noise is refused: the period map and its cycle are those of the
    deterministic dynamics (and these faces take no seed).
    """
    parts = checked_parts(
        network,
        (task_a, task_b),
        B=B,
        protocol=protocol,
        gate_limits=gate_limits,
        engine=engine,
        task_names=("task_a", "task_b"),
    )
    if parts.noise is not None:
        raise ArgumentError(
            "Argument `protocol` has noise (`update_noise` or `voltage_noise`); the period map "
            "and the limit cycle are those of the deterministic dynamics: use "
            "simulate(..., seed=...) for noisy runs."
        )
    return parts


def checked_start(parts: Runner | RunParts, G0: Any) -> np.ndarray:
    """The checked starting guess of a cycle: ``G0``, or the centre of the gate box."""
    if G0 is None:
        if parts.limits is None:
            raise ProtocolError("Without gate limits `G0` is required (no box centre to start).")
        G0 = 0.5 * (parts.limits[0] + parts.limits[1])
    return check_G0(parts.network, G0, parts.limits)


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
    max_periods: int = MAX_PERIODS,
    max_seconds: float | None = MAX_SECONDS,
    fd_step: float = FD_STEP,
    engine: Literal["auto", "fast", "general", "sparse"] = "auto",
    max_samples: int = MAX_SAMPLES,
    progress: bool | None = None,
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
        Budget of period-map evaluations (default 5000, the one default of the package: also
        `clln_theory.experiments.simulate_periods`' and the TOML's ``simulate.max_periods``).
        Shooting needs tens; the iteration fallback ~1500 at the slowest contraction of the
        paper's experiments; a cycle not reached in 5000 contracts too slowly to wait for.
    max_seconds : float or None
        Wall-clock budget, s (default None: none, so that a result never depends on the speed
        of the machine). Reaching it raises `ConvergenceError` naming it.
    fd_step : float
        Finite-difference step for the monodromy, V (default 1e-7 V). ~sqrt(eps) times the gate
        scale (1-5 V) balances truncation and round-off.
    engine : {"auto", "fast", "general", "sparse"}
        Step engine, as in `simulate`.
    max_samples : int
        The one-period trajectory is recorded every step, decimated to at most this many samples
        (default 4000).
    progress : bool or None
        A progress line on standard error (periods done, residual, time left) once the search
        takes more than 2 s: None (default) only when standard error is a terminal, False
        never, True always.
    renamed : Any
        Old keyword names, refused with an `ArgumentError` naming the new one (``method`` is
        now ``route``).

    Returns
    -------
    LimitCycle

    Raises
    ------
    ConvergenceError
        Neither shooting nor iteration reached ``tol`` within ``max_periods`` or
        ``max_seconds`` (names the budget and gives the residual reached).

    Warns
    -----
    FallbackWarning
        Shooting did not converge and plain iteration took over (the result is still a
        converged cycle, with ``route == "iterate"``).
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
    G = checked_start(run, G0)
    choice(route, "route", ("shooting", "iterate"))
    tol = positive(tol, "tol", unit="V")
    fd_step = positive(fd_step, "fd_step", unit="V")
    max_periods = count(max_periods, "max_periods")
    max_samples = count(max_samples, "max_samples")
    if max_seconds is not None:
        max_seconds = positive(max_seconds, "max_seconds", unit="s")
    instance(progress, "progress", (bool, type(None)))
    return find_cycle(
        run, G, route, tol, max_periods, fd_step, max_samples,
        max_seconds=max_seconds, progress=progress,
    )  # fmt: skip
