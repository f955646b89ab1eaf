"""Recorded runs of the simulator: `simulate` and its record `SimulatedTrajectory`.

Twin free/clamped networks of nonlinear devices (any `Device`), discrete learning steps

    ΔG = t_h [A₀ (ΔV_F² − ΔV_C²) + B]                                              (7)

one data point per step (cycling the points of the active task), tasks alternating every τ/2,
gate clipping to [G_min, G_max], standard clamping (1), the classification hinge (Appendix A)
and overclamping (F5) with ``t_h = r₀|δ|`` (the rule of `clln_theory.electrical.clamping`). The
continuum mode integrates (5) instead (`clln_theory.simulator.continuum`). `Runner` compiles a
network, its tasks and a protocol once; `clln_theory.simulator.shooting` reuses it for the
period map and the limit cycle.

Engines (`clln_theory.simulator.kernels`): ``"general"`` (Newton solves, any network),
``"fast"`` (a single free node, the paper's 2+1 network; 20-100x faster, same answers to the
solver tolerance), ``"auto"`` (default) picks ``"fast"`` where it applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import choice, instance, positive, readonly
from ..electrical.circuit import DEFAULT_ATOL_CURRENT, DEFAULT_RTOL_CURRENT, DEFAULT_TOL_STEP
from ..electrical.clamping import past_label
from ..errors import NetworkError, ProtocolError
from ..metrics import task_errors
from ..model.devices import LinearDevice
from ..model.network import Network
from ..model.tasks import Task
from .continuum import run_continuum
from .kernels import FastTask, GeneralTask, fast_applies, half_fast, half_general
from .protocol import (
    StepNoise,
    TrainingProtocol,
    bias_function,
    check_G0,
    check_limits,
    check_protocol,
    check_tasks,
    half_periods,
    record_stride,
    steps_per_half,
)
from .sparse import SparseLinearTask

__all__ = ["Runner", "SimulatedTrajectory", "simulate"]

ENGINES = ("auto", "fast", "general", "sparse")


@dataclass(frozen=True, slots=True)
class SimulatedTrajectory:
    """A recorded simulation.

    Attributes
    ----------
    times : (n_samples,) ndarray
        Sample times, s (``t = 0`` is the start; a sample at ``t`` is taken after the steps
        ending at ``t``).
    G : (n_samples, n_gates) ndarray
        Gate voltages, V.
    outputs : tuple of (n_samples, n_points_k) or (n_samples, n_points_k, n_outputs_k) ndarrays
        Free output of every point of task k at every sample, V.
    errors : (n_samples, n_tasks) ndarray
        Task errors (A1)/(A2) at every sample, V².
    active : (n_samples,) int ndarray
        Index of the task trained during the step that ended at the sample (that of the first
        step at ``t = 0``).
    task_names : tuple of str
        Name of every task (``task<k>`` for an unnamed one).
    gate_names : tuple of str
        Edge name of every gate, in gate order.
    tau : float
        Period, s.
    t_h : float
        Step, s.
    mode : {"discrete", "continuum"}
        Discrete steps (7) or the ODE (5).
    engine : {"fast", "general", "sparse"}
        The engine that solved the circuit.
    n_steps : int
        Learning steps taken (0 in continuum mode).
    """

    times: np.ndarray
    G: np.ndarray
    outputs: tuple[np.ndarray, ...]
    errors: np.ndarray
    active: np.ndarray
    task_names: tuple[str, ...]
    gate_names: tuple[str, ...]
    tau: float
    t_h: float
    mode: str
    engine: str
    n_steps: int

    @property
    def G_final(self) -> np.ndarray:
        """Gate voltages at the last sample, ``(n_gates,)``."""
        return self.G[-1]

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.times.size)


class Runner:
    """A compiled simulation of one network, task pair and protocol.

    Checks the arguments shared by `simulate`, `period_map` and `limit_cycle` once, builds the
    step kernels of every task and runs half periods, whole runs and the period map.

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
    tol_step, rtol_current, atol_current : float
        Tolerances of the fast engine's scalar Newton (V, relative, A).
    seed : int or None
        Seed of the noise (`TrainingProtocol.update_noise`, ``voltage_noise``); unused without.

    Raises
    ------
    ArgumentError
        A bad protocol, engine or gate box.
    ProtocolError
        τ/2 not a whole number of steps, or ``engine="fast"`` (``"sparse"``) where it does
        not apply.
    TaskError, NetworkError, ShapeError
        Malformed tasks or bias.
    """

    def __init__(
        self,
        network: Network,
        tasks: Any,
        *,
        tau: float,
        B: Any,
        protocol: TrainingProtocol | None,
        gate_limits: Any,
        engine: str,
        tol_step: float = DEFAULT_TOL_STEP,
        rtol_current: float = DEFAULT_RTOL_CURRENT,
        atol_current: float = DEFAULT_ATOL_CURRENT,
        seed: Any = None,
    ) -> None:
        protocol = check_protocol(protocol)
        tasks = check_tasks(network, tasks)
        choice(engine, "engine", ENGINES)
        fast_ok = fast_applies(network, tasks)
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
        self.engine = engine
        self.network, self.tasks, self.protocol = network, tasks, protocol
        self.n = network.n_gates
        self.tau = positive(tau, "tau", unit="s")
        self.n_half = steps_per_half(tau, protocol.t_h)
        self.limits = check_limits(gate_limits, self.n)
        self.B, self.Bfun = bias_function(B, self.n)
        self.linear_device = isinstance(network.device, LinearDevice)
        self.noise = StepNoise(protocol, self.n, seed) if protocol.noisy else None
        for t in tasks:  # refuses overclamping a multi-output task before any step
            protocol.point_rule(t)
        if self.engine == "fast":
            self.kernels = [
                FastTask(network, t, tol_step, rtol_current, atol_current) for t in tasks
            ]
        elif self.engine == "sparse":
            self.kernels = [SparseLinearTask(network, t) for t in tasks]
        else:
            self.kernels = [GeneralTask(network, t) for t in tasks]

    def task_of_half(self, h: int) -> int:
        """Index of the task trained in half period ``h``.

        Parameters
        ----------
        h : int
            Half-period index (0 is the first half of the run).

        Returns
        -------
        int
        """
        return h % len(self.tasks)

    def outputs(self, G: np.ndarray, k: int) -> np.ndarray:
        """Free outputs of every point of task ``k`` at ``G``.

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.
        k : int
            Task index.

        Returns
        -------
        (n_points,) ndarray
            V.
        """
        ker = self.kernels[k]
        if self.engine == "fast":
            Gl = G.tolist()
            return np.array([ker.output(Gl, p) for p in range(self.tasks[k].n_points)])
        return np.array([ker.output(G, p)[0] for p in range(self.tasks[k].n_points)])

    def r0(self, G: np.ndarray, k: int) -> float:
        """Overclamping r₀ for task ``k``: fixed, or adapted so the mean hold time is t_h.

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.
        k : int
            Task index.

        Returns
        -------
        float
            s/V (0 when every active point sits at its label).
        """
        prot = self.protocol
        if prot.r0 is not None:
            return prot.r0
        task = self.tasks[k]
        O = self.outputs(G, k)
        classification = task.kind == "classification"
        d = [
            abs(task.labels[p] - O[p])
            for p in range(task.n_points)
            if not (classification and past_label(O[p], task.labels[p]))  # hinge of App. A
        ]
        tot = sum(d)
        return prot.t_h * len(d) / tot if tot > 0 else 0.0

    def clip(self, G: np.ndarray) -> np.ndarray:
        """``G`` clipped to the gate box (as a float array).

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.

        Returns
        -------
        (n_gates,) ndarray
        """
        if self.limits is None:
            return np.asarray(G, dtype=float)
        return np.clip(G, self.limits[0], self.limits[1])

    def half(self, G: np.ndarray, h: int, record: int, t0: float) -> tuple[np.ndarray, list, list]:
        """Run the steps of half period ``h`` from ``G``; samples every ``record`` steps.

        The stride counts steps from the start of the run (step ``h * n_half`` opens half
        period ``h``), so a stride longer than a half period still samples.

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.
        h : int
            Half-period index.
        record : int
            Steps between samples (0: no samples).
        t0 : float
            Time at the start of the half period, s.

        Returns
        -------
        G : (n_gates,) ndarray
            Gates at the end, V.
        times, samples : list
            Sample times (s) and gates (V).
        """
        k = self.task_of_half(h)
        r0 = self.r0(G, k) if self.protocol.overclamp else 0.0
        kernel = half_fast if self.engine == "fast" else half_general
        return kernel(self, G, k, r0, record, t0, h * self.n_half)

    def run(self, G0: np.ndarray, n_halves: int, record: int, h0: int = 0):
        """Discrete run of ``n_halves`` half periods.

        Parameters
        ----------
        G0 : (n_gates,) ndarray
            Initial gates, V.
        n_halves : int
            Number of half periods.
        record : int
            Steps between samples (0: no samples but the initial state).
        h0 : int
            Index of the first half period.

        Returns
        -------
        G : (n_gates,) ndarray
            Final gates, V.
        times : list of float
            Sample times, s (the final state is always sampled when ``record`` is nonzero).
        samples : list
            Gates at the sample times, V.
        active : list of int
            Task trained up to each sample.
        """
        t_h = self.protocol.t_h
        G = np.array(G0, dtype=float)
        times: list[float] = [h0 * self.n_half * t_h]
        samples: list[Any] = [G.copy()]
        active: list[int] = [self.task_of_half(h0)]
        for h in range(h0, h0 + n_halves):
            G, ts, ss = self.half(G, h, record, h * self.n_half * t_h)
            times.extend(ts)
            samples.extend(ss)
            active.extend([self.task_of_half(h)] * len(ts))
        t_end = (h0 + n_halves) * self.n_half * t_h
        if record and n_halves and not np.isclose(times[-1], t_end, rtol=0, atol=1e-3 * t_h):
            # a recorded run always ends with its final state, whatever the stride
            times.append(t_end)
            samples.append(np.array(G, dtype=float))
            active.append(self.task_of_half(h0 + n_halves - 1))
        return G, times, samples, active

    def period(self, G: np.ndarray) -> np.ndarray:
        """The period map: state after one full period (two half periods) from task α.

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.

        Returns
        -------
        (n_gates,) ndarray
            V.
        """
        return self.run(G, 2, 0)[0]

    def trajectory(self, times, samples, active, mode: str) -> SimulatedTrajectory:
        """The record of a run: outputs and task errors (A1)/(A2) at every sample.

        Parameters
        ----------
        times : sequence of float
            Sample times, s.
        samples : sequence of array_like
            Gates at the sample times, V.
        active : sequence of int
            Task trained up to each sample.
        mode : {"discrete", "continuum"}
            How the run was made.

        Returns
        -------
        SimulatedTrajectory
        """
        G = np.array([np.asarray(s, dtype=float) for s in samples])
        outs = []
        for k in range(len(self.tasks)):
            shape = (len(G), *self.tasks[k].labels.shape)
            outs.append(np.array([self.outputs(g, k) for g in G]).reshape(shape))
        errs = np.stack([task_errors(o, t) for o, t in zip(outs, self.tasks)], axis=-1)
        t_h = self.protocol.t_h
        return SimulatedTrajectory(
            times=readonly(times, float),
            G=readonly(G, float),
            outputs=tuple(readonly(o, float) for o in outs),
            errors=readonly(errs, float),
            active=np.array(active, dtype=int),
            task_names=tuple(t.name or f"task{i}" for i, t in enumerate(self.tasks)),
            gate_names=self.network.gate_names,
            tau=self.tau,
            t_h=t_h,
            mode=mode,
            engine=self.engine,
            n_steps=(len(times) and round((times[-1] - times[0]) / t_h))
            if mode == "discrete"
            else 0,
        )


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
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "RK45",
    seed: int | None = None,
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
        Step engine (`clln_theory.simulator.kernels`, `clln_theory.simulator.sparse`):
        ``"auto"`` picks ``"fast"`` where it applies, else ``"sparse"`` for a `LinearDevice`
        network (one reused factorization, preconditioned CG; large linear networks), else
        ``"general"`` (Newton).
    rtol : float
        Relative tolerance of `solve_ivp` (continuum mode).
    atol : float
        Absolute tolerance of `solve_ivp`, V (continuum mode).
    method : str
        Integration method of `solve_ivp` (continuum mode).
    seed : int, optional
        Seed of the protocol's noise (discrete mode); unused, and the run unchanged, without.

    Returns
    -------
    SimulatedTrajectory

    Raises
    ------
    ArgumentError
        A bad option: protocol, mode, engine, record, gate box, tolerance or τ.
    ProtocolError
        τ/2 not a whole number of steps (names the nearest valid τ), ``n_periods`` not a whole
        number of half periods, or the fast engine asked for where it does not apply.
    DeviceError
        A gate at or below threshold at the start (names the edge), or a linear device's gate
        falling below threshold during the run.
    TaskError, ShapeError, NetworkError
        Malformed tasks, ``G0`` or ``B``.
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
    instance(network, "network", Network, error=NetworkError)
    choice(mode, "mode", ("discrete", "continuum"))
    kw = dict(protocol=protocol, gate_limits=gate_limits, engine=engine, seed=seed)
    run = Runner(network, tasks, tau=tau, B=B, **kw)
    G0 = check_G0(network, G0, run.limits)
    n_halves = half_periods(n_periods)
    stride = record_stride(record, run.n_half, n_halves=n_halves, n_gates=run.n)
    if mode == "discrete":
        _, times, samples, active = run.run(G0, n_halves, stride)
        return run.trajectory(times, samples, active, "discrete")
    times, samples, active = run_continuum(  # validates rtol, atol, method; refuses noise
        run, G0, n_halves, stride, rtol=rtol, atol=atol, method=method
    )
    return run.trajectory(times, samples, active, "continuum")
