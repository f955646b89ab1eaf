"""Recorded runs of the simulator: `simulate` and its record `SimulatedTrajectory`.

Twin free/clamped networks of nonlinear devices (any `Device`), discrete learning steps

    ΔG = t_h [A₀ (ΔV_F² − ΔV_C²) + B]                                              (7)

one data point per step (cycling the points of the active task), tasks alternating every τ/2,
gate clipping to [G_min, G_max], standard clamping (1), the classification hinge (Appendix A)
and overclamping (F5) with ``t_h = r₀|δ|`` (the rule of `clln_theory.electrical.clamping`). The
continuum mode integrates (5) instead (`clln_theory.simulator._continuum`). `checked_runner`
checks the arguments shared by `simulate`, `period_map` and `limit_cycle` once and compiles a
`clln_theory.simulator._runner.Runner` (the engine).

Step engines (`clln_theory.simulator._kernels`): ``"general"`` (Newton solves, any network),
``"fast"`` (a single free node, the paper's 2+1 network; 20-100x faster, same answers to the
solver tolerance), ``"sparse"`` (large linear networks), ``"auto"`` (default) picks ``"fast"``
where it applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .._checks import choice, instance, positive, refuse_renamed, times, validator
from .._progress import line
from ..electrical.kirchhoff import check_task
from ..errors import ArgumentError, NetworkError, ProtocolError
from ..model.devices import LinearDevice
from ..model.network import Network
from ..model.tasks import Task
from ._continuum import run_continuum
from ._cycle import RunParts
from ._kernels import fast_applies
from ._runner import Runner, SimulatedTrajectory
from .protocol import (
    StepNoise,
    TrainingProtocol,
    bias_function,
    check_G0,
    check_limits,
    check_protocol,
    check_seed,
    check_tasks,
    half_periods,
    record_stride,
    steps_per_half,
)

__all__ = ["SimulatedTrajectory", "checked_parts", "checked_runner", "period_steps", "simulate"]

ENGINES = ("auto", "fast", "general", "sparse")
#: Defaults of the continuum mode's `solve_ivp`: relative and absolute (V) tolerances, method.
_RTOL, _ATOL, _SCHEME = 1e-8, 1e-10, "RK45"


def checked_runner(
    network: Network,
    tasks: Any,
    *,
    tau: Any,
    B: Any,
    protocol: Any,
    gate_limits: Any,
    engine: Any,
    seed: Any = None,
    task_names: tuple[str, ...] = ("tasks",),
) -> Runner:
    """Check the arguments shared by the simulator's faces once and compile a `Runner`.

    Parameters
    ----------
    network : Network
        The trained network (any device).
    tasks : Task or sequence of one or two Tasks
        Trained alternately every τ/2, starting with ``tasks[0]``.
    tau : float
        Period τ, s; τ/2 must be a whole number of steps ``t_h``.
    B : (n_gates,) array_like or callable
        Bias per gate, V/s, or ``B(G) -> (n_gates,)``.
    protocol : TrainingProtocol or None
        Clamping and rates (None: the default `TrainingProtocol`).
    gate_limits : (G_min, G_max) or None
        Gate box, V.
    engine : {"auto", "fast", "general", "sparse"}
        Step engine.
    seed : int or None
        Seed of the noise (`TrainingProtocol.update_noise`, ``voltage_noise``).
    task_names : tuple of str
        The name(s) of the task argument(s) in the caller: ``("tasks",)``, or
        ``("task_a", "task_b")`` for the two tasks of `period_map` and `limit_cycle`.

    Returns
    -------
    Runner

    Raises
    ------
    ArgumentError
        A bad protocol, engine, gate box or task argument.
    ProtocolError
        τ/2 not a whole number of steps, or ``engine="fast"`` (``"sparse"``) where it does
        not apply.
    TaskError, NetworkError, ShapeError
        Tasks inconsistent with the network or the protocol, a malformed bias.
    """
    parts = checked_parts(
        network, tasks, B=B, protocol=protocol, gate_limits=gate_limits, engine=engine,
        seed=seed, task_names=task_names,
    )  # fmt: skip
    tau, n_half = steps_per_half(tau, parts.protocol.t_h)
    return parts.runner(tau, n_half)


def checked_parts(
    network: Network,
    tasks: Any,
    *,
    B: Any,
    protocol: Any,
    gate_limits: Any,
    engine: Any,
    seed: Any = None,
    task_names: tuple[str, ...] = ("tasks",),
) -> RunParts:
    """The checks of `checked_runner` but the period's: a `RunParts` that builds the `Runner`
    of any checked period (the faces that sweep periods check them with `period_steps`)."""
    instance(network, "network", Network, error=NetworkError)
    protocol = check_protocol(protocol)
    if len(task_names) == 1:
        checked = check_tasks(network, tasks, task_names[0])
    else:
        checked = tuple(check_task(t, network, n) for t, n in zip(tasks, task_names))
    choice(engine, "engine", ENGINES)
    fast_ok = fast_applies(network, checked)
    if engine == "fast" and not fast_ok:
        raise ProtocolError(
            "The 'fast' engine needs a single output node that is the only free node of "
            "every task, and a LinearDevice, OhmicMOSFET or ThreeRegimeMOSFET; use "
            "engine='general'."
        )
    linear = isinstance(network.device, LinearDevice)
    if engine == "sparse" and not linear:
        raise ProtocolError(
            "The 'sparse' engine needs a LinearDevice network; use engine='general'."
        )
    if engine == "auto":
        engine = "fast" if fast_ok else "sparse" if linear else "general"
    n = network.n_gates
    limits = check_limits(gate_limits, n)
    b, Bfun = bias_function(B, n)
    if seed is not None:  # None: no noise seed (the default generator)
        seed = check_seed(seed)
    noise = StepNoise(protocol, n, seed) if protocol.noisy else None
    for t in checked:  # refuses overclamping a multi-output task before any step
        protocol.point_rule(t)
    return RunParts(network, checked, b, Bfun, protocol, limits, engine, noise)


@validator
def period_steps(
    tau: Any, t_h: float, name: str = "tau"
) -> tuple[np.ndarray, tuple[tuple[float, int] | ArgumentError | ProtocolError, ...]]:
    """The periods ``tau`` (each a finite number > 0 s, at least 1-D) and ``(tau, n_half)`` of
    each with steps ``t_h``: or, for a period without a whole number of steps per half period,
    the error `steps_per_half` raises (a sweep over periods flags or raises it at that period).
    One check of the argument for every period of a sweep."""
    taus = np.atleast_1d(times(tau, name))
    out: list[tuple[float, int] | ArgumentError | ProtocolError] = []
    for t in taus.reshape(-1):
        try:
            out.append(steps_per_half(float(t), t_h, name))
        except (ArgumentError, ProtocolError) as err:
            out.append(err)
    return taus, tuple(out)


def simulate(
    network: Network,
    tasks: Task | Sequence[Task],
    G0: Any,
    *,
    tau: float,
    n_periods: float,
    B: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[Any, Any] | None = (1.0, 5.0),
    record: Literal["half", "step"] | int = "half",
    mode: Literal["discrete", "continuum"] = "discrete",
    engine: Literal["auto", "fast", "general", "sparse"] = "auto",
    rtol: float | None = None,
    atol: float | None = None,
    scheme: str | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    **renamed: Any,
) -> SimulatedTrajectory:
    """Train a network of nonlinear devices on alternating tasks with biased Coupled Learning.

    Parameters
    ----------
    network : Network
        Any device (`ThreeRegimeMOSFET` for the experiment, `LinearDevice` to compare with the
        theory).
    tasks : Task or sequence of one or two Tasks
        Two tasks alternate every τ/2 starting with ``tasks[0]`` (task α); a single task is
        trained alone (a drift test).
    G0 : (n_gates,) array_like
        Initial gates, V; every gate must be above its threshold ``V_T``.
    tau : float
        Period τ, s. In discrete mode τ/2 must be a whole number of steps ``t_h``.
    n_periods : float
        Duration in periods; a multiple of 1/2 (whole half periods).
    B : (n_gates,) array_like or callable
        Bias per gate, V/s, or a function ``B(G) -> (n_gates,)`` of the state.
    protocol : TrainingProtocol, optional
        Clamping and rates (default ``TrainingProtocol()``: standard clamping, η = 1, t_h = 100 µs,
        the ideal A₀ of Eq. (C1)).
    gate_limits : (G_min, G_max) or None
        Gate box, V (scalars or per-gate arrays); gates are clipped after every step. ``None``:
        no limits.
    record : "half", "step" or int
        Sample at every task switch (default), every step, or every ``record`` steps counted
        from the start of the run (discrete mode; the continuum mode samples at the same times,
        at least once per half period). The final state is always the last sample.
    mode : {"discrete", "continuum"}
        Discrete steps (7), or the ODE (5) integrated by `solve_ivp` over each half period.
    engine : {"auto", "fast", "general", "sparse"}
        Step engine (`clln_theory.simulator._kernels`, `clln_theory.simulator._sparse`):
        ``"auto"`` picks ``"fast"`` where it applies, else ``"sparse"`` for a `LinearDevice`
        network (one reused factorization, preconditioned CG; large linear networks), else
        ``"general"`` (Newton).
    rtol : float, optional
        Relative tolerance of `solve_ivp`, continuum mode only (default 1e-8; refused in
        discrete mode).
    atol : float, optional
        Absolute tolerance of `solve_ivp`, V, continuum mode only (default 1e-10; refused in
        discrete mode).
    scheme : str, optional
        Integration method of `solve_ivp` (``"RK45"``, ``"Radau"``, ...), continuum mode only
        (default ``"RK45"``; refused in discrete mode).
    seed : int, optional
        Seed of the protocol's noise: an integer >= 0, a `numpy.random.SeedSequence` or
        `numpy.random.Generator` (discrete mode; refused in continuum mode, which has no
        noise); the run is unchanged by it without noise.
    progress : bool or None
        A progress line on standard error (periods done, time left) once the run takes more
        than 2 s (discrete mode): None (default) only when standard error is a terminal,
        False never, True always.
    renamed : Any
        Old keyword names, refused with an `ArgumentError` naming the new one (``method`` is
        now ``scheme``).

    Returns
    -------
    SimulatedTrajectory

    Raises
    ------
    ArgumentError
        A bad option: protocol, mode, engine, record, gate box, tolerance, seed or τ; ``tasks`` not
        one or two `Task` objects; an option the mode does not use (``rtol``, ``atol``,
        ``scheme`` in discrete mode, ``seed`` in continuum mode); an old keyword name.
    ProtocolError
        τ/2 not a whole number of steps (names the nearest valid τ), ``n_periods`` not a whole
        number of half periods, or the fast engine asked for where it does not apply.
    DeviceError
        A gate at or below threshold at the start (names the edge), or a linear device's gate
        falling below threshold during the run.
    TaskError, ShapeError, NetworkError
        A task inconsistent with the protocol or the network, a malformed ``G0`` or ``B``.
    ConvergenceError
        A circuit solve failed (names the node and its residual).

    Notes
    -----
    Discrete mode, one step per data point, points of the active task cycled in order from the
    start of each half period: free state at the current ``G``; error ``δ = L − O_F``; clamped
    output ``O_F + η δ`` (1) (standard), ``O_F`` if the point is beyond its label in the label's
    direction (classification hinge, Appendix A), or ``O_F + η (L₀ sign δ − O_F)`` (F5) with
    hold time ``r₀ |δ|`` (overclamping; hinge points are skipped, hold time 0). Differential
    outputs move ``O₊`` by half the nudge and ``O₋`` by minus half. Then
    ``ΔG = t_p [A₀ (ΔV_F² − ΔV_C²) + B]`` (7) and clipping to the gate box. Cost per step: one
    free and one clamped Newton solve (general engine) or one scalar solve (fast engine).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import ThreeRegimeMOSFET
    >>> from clln_theory.electrical.rule import learning_rate_A0
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network(device=ThreeRegimeMOSFET())
    >>> a, b = experiment_tasks("exp1")
    >>> tr = simulate(net, [a, b], [3.0, 3.5], tau=0.02, n_periods=5, B=[2.97, 4.41],
    ...               protocol=TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0)))
    >>> tr.G.shape, tr.engine
    ((11, 2), 'fast')
    """
    refuse_renamed(renamed, {"method": "scheme"}, "simulate")
    choice(mode, "mode", ("discrete", "continuum"))
    given = {"rtol": rtol, "atol": atol, "scheme": scheme} if mode == "discrete" else {"seed": seed}
    for key, value in given.items():
        if value is not None:
            raise ArgumentError(
                f"Arguments `{key}` and `mode` = {mode!r} were both given, but `{key}` applies "
                f"only in {'continuum' if mode == 'discrete' else 'discrete'} mode; drop it."
            )
    run = checked_runner(
        network,
        tasks,
        tau=tau,
        B=B,
        protocol=protocol,
        gate_limits=gate_limits,
        engine=engine,
        seed=seed,
    )
    G0 = check_G0(network, G0, run.limits)
    n_halves = half_periods(n_periods)
    stride = record_stride(record, run.n_half, n_halves=n_halves, n_gates=run.n)
    instance(progress, "progress", (bool, type(None)))
    if mode == "discrete":
        with line(n_halves / 2, desc="simulate", unit="periods", enabled=progress):
            _, times, samples, active = run.run(G0, n_halves, stride)
        return run.trajectory(times, samples, active, "discrete")
    times, samples, active = run_continuum(  # refuses noise
        run,
        G0,
        n_halves,
        stride,
        rtol=_RTOL if rtol is None else positive(rtol, "rtol"),
        atol=_ATOL if atol is None else positive(atol, "atol", unit="V"),
        scheme=_SCHEME if scheme is None else check_scheme(scheme),
    )
    return run.trajectory(times, samples, active, "continuum")


@validator
def check_scheme(scheme: Any, name: str = "scheme") -> str:
    """``scheme`` if it names a `solve_ivp` method (a string; `solve_ivp` refuses unknown names).

    Parameters
    ----------
    scheme : str
        ``"RK45"``, ``"RK23"``, ``"DOP853"``, ``"Radau"``, ``"BDF"`` or ``"LSODA"``.
    name : str
        The argument's name in the caller, for the message.

    Returns
    -------
    str

    Raises
    ------
    ArgumentError
        Not one of these names.
    """
    return choice(scheme, name, ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"))
