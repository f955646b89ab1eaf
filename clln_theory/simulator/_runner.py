"""Engine of the simulator's runs: `Runner` (a compiled simulation) and its record.

A `Runner` holds one network, its one or two checked tasks, a protocol and the step kernels
(`clln_theory.simulator._kernels`, `clln_theory.simulator._sparse`) and runs half periods, whole
runs, the period map and the continuum mode (`clln_theory.simulator._continuum`). It takes checked
values only: the faces `simulate`, `period_map`, `limit_cycle` check a user's arguments once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_record, readonly
from .._metrics import task_error_of
from .._progress import advance
from .._repr import short_repr
from ..electrical._circuit import ATOL_CURRENT, RTOL_CURRENT, TOL_STEP
from ..electrical._clamping import past_label
from ..errors import ArgumentError
from ..model.devices import LinearDevice
from ..model.network import Network
from ..model.tasks import Task
from ._kernels import FastTask, GeneralTask, half_fast, half_general
from ._sparse import SparseLinearTask
from .protocol import StepNoise, TrainingProtocol

__all__ = ["Runner", "SimulatedTrajectory", "task_errors_of"]


def task_errors_of(outputs: np.ndarray, task: Task) -> np.ndarray:
    """Task error (A1)/(A2) of a task's outputs ``(..., n_points[, n_outputs])``, V²."""
    O = np.asarray(outputs, dtype=float)
    return np.asarray(task_error_of(O, task.labels, task.kind == "classification"))


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

    __repr__ = short_repr

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

    def __post_init__(self) -> None:
        check_record(self, times="array", G="array", outputs="tuple", errors="array",
                     active="array", task_names="tuple", gate_names="tuple", tau="real",
                     t_h="real", mode="text", engine="text", n_steps="count")  # fmt: skip
        for i, o in enumerate(self.outputs):
            if not isinstance(o, np.ndarray) or o.dtype.kind not in "fiu":
                raise ArgumentError(f"Field `outputs[{i}]` of SimulatedTrajectory must be a real "
                                    f"array, but is {type(o).__name__}.")  # fmt: skip

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

    Builds the step kernels of every task and runs half periods, whole runs and the period map
    (the engine of `simulate`, `period_map` and `limit_cycle`).

    The arguments are checked values (`clln_theory.simulator.runs.checked_runner` checks a
    user's arguments once and builds one): a tuple of one or two tasks that fit the network, a
    protocol, τ and its whole number ``n_half`` of steps per half period, the constant bias
    ``B`` (n_gates,) or the bias callable ``Bfun``, the gate box ``limits`` (or None), the
    step engine ``"fast"``, ``"sparse"`` or ``"general"`` (one that applies), the seeded noise
    (or None) and the fast engine's Newton tolerances.
    """

    def __init__(
        self,
        network: Network,
        tasks: tuple[Task, ...],
        *,
        tau: float,
        n_half: int,
        B: np.ndarray | None,
        Bfun: Callable[[np.ndarray], Any] | None,
        protocol: TrainingProtocol,
        limits: tuple[np.ndarray, np.ndarray] | None,
        engine: str,
        noise: StepNoise | None,
        tol_step: float = TOL_STEP,
        rtol_current: float = RTOL_CURRENT,
        atol_current: float = ATOL_CURRENT,
    ) -> None:
        self.engine = engine
        self.network, self.tasks, self.protocol = network, tasks, protocol
        self.n = network.n_gates
        self.tau = tau
        self.n_half = n_half
        self.limits = limits
        self.B, self.Bfun = B, Bfun
        self.linear_device = isinstance(network.device, LinearDevice)
        self.noise = noise
        self.rules = [protocol.point_rule(t) for t in tasks]  # the nudge of each task's points
        self.kernels: list[Any]
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
            advance(0.5)  # the innermost progress line counts periods
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
        errs = np.stack([task_errors_of(o, t) for o, t in zip(outs, self.tasks)], axis=-1)
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
