"""Many independent runs of one network at once: the batched step kernel and `simulate_batch`.

A sweep (Fig. 5: seeds, ring diameters, splits) trains the same small network hundreds of times.
`simulate_batch` steps all runs together as one array program: every run has its own gates,
bias and task data (inputs and labels), and all share the network, the protocol and the
schedule. The free and clamped states of a step are found by a batched damped Newton
(`clln_theory.simulator._batch.BatchCircuitSolver`: the device currents of every run in one
vectorized call, the Newton matrices of every run solved by one batched LAPACK call), with the
same stopping rule as
`clln_theory.electrical.circuit.CircuitSolver` (simplified Newton correction and current
residual) and the same warm starts (each point's previous solution) as the ``"general"`` engine,
so each run reproduces `simulate` to the solver tolerance (``tests/simulator/test_batch.py``).
A run whose
batched solve does not converge is retried with the serial solver; a run that still fails is
stopped and reported, the others go on.

To spread a large sweep over workers, split it into batches and map `simulate_batch` over an
executor (`clln_theory.sweeps.run_sweep`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_record, instance, real_array, validator
from .._repr import short_repr
from ..errors import ArgumentError, Failure, NetworkError, ShapeError, TaskError
from ..model.network import Network
from ..model.tasks import Task
from ._batch import run_batch
from ._runner import SimulatedTrajectory
from .protocol import (
    TrainingProtocol,
    check_G0,
    check_limits,
    check_protocol,
    check_tasks,
    half_periods,
    record_stride,
    steps_per_half,
)

__all__ = ["BatchResult", "simulate_batch"]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The runs of `simulate_batch`.

    Attributes
    ----------
    trajectories : tuple of SimulatedTrajectory or None
        One per run (None for a run stopped by a failed circuit solve).
    failures : tuple of Failure
        One record per stopped run (``where`` is ``"run <r>"``, ``kind`` the error class).
    """

    __repr__ = short_repr

    trajectories: tuple[SimulatedTrajectory | None, ...]
    failures: tuple[Failure, ...]

    def __post_init__(self) -> None:
        check_record(self, trajectories="tuple", failures="tuple")
        for i, t in enumerate(self.trajectories):
            if t is not None and not isinstance(t, SimulatedTrajectory):
                raise ArgumentError(
                    f"Field `trajectories[{i}]` of BatchResult must be a SimulatedTrajectory or "
                    f"None, not {type(t).__name__}."
                )
        for i, f in enumerate(self.failures):
            if not isinstance(f, Failure):
                raise ArgumentError(
                    f"Field `failures[{i}]` of BatchResult must be a Failure, not "
                    f"{type(f).__name__}."
                )


@validator
def check_runs(network: Network, tasks: Any, name: str = "tasks") -> tuple[tuple[Task, ...], ...]:
    """The tasks of every run, each checked, all of one structure (nodes, kind, points).

    Parameters
    ----------
    network : Network
        The trained network.
    tasks : sequence of Task or of sequences of one or two Tasks
        One entry per run.
    name : str
        The argument's name, for counting.

    Returns
    -------
    tuple of tuple of Task

    Raises
    ------
    ArgumentError
        Not a non-empty sequence, or an entry that is not one or two tasks.
    TaskError
        Runs whose tasks differ in structure.
    NetworkError
        A task inconsistent with the network.
    """
    if isinstance(tasks, Task) or not isinstance(tasks, Sequence) or not tasks:
        raise ArgumentError("Argument `tasks` must be a non-empty sequence with one entry per run.")
    runs = tuple(check_tasks(network, t) for t in tasks)
    for r, ts in enumerate(runs):
        if len(ts) != len(runs[0]):
            raise TaskError(
                f"Run {r} trains {len(ts)} task(s) but run 0 trains {len(runs[0])}; every run of a "
                "batch alternates the same number of tasks."
            )
        for a, b in zip(ts, runs[0]):
            if (a.input_nodes, a.output, a.kind, a.labels.shape) != (
                b.input_nodes,
                b.output,
                b.kind,
                b.labels.shape,
            ):
                raise TaskError(
                    f"Run {r}: task {a.name!r} differs from run 0's in its nodes, kind or number "
                    "of points; a batch shares the structure and varies only inputs and labels."
                )
    return runs


def simulate_batch(
    network: Network,
    tasks: Sequence[Task | Sequence[Task]],
    G0: Any,
    *,
    tau: float,
    n_periods: float,
    B: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[Any, Any] | None = (1.0, 5.0),
    record: Any = "half",
) -> BatchResult:
    """`simulate` (discrete mode, Newton solves) for many independent runs as one array program.

    Parameters
    ----------
    network : Network
        Any device; shared by every run.
    tasks : sequence of Task or of sequences of one or two Tasks
        One entry per run: the task (or the alternating tasks) of that run. All runs share the
        nodes, kind and number of points of each task; inputs and labels vary.
    G0 : (n_runs, n_gates) array_like
        Initial gates of every run, V.
    tau : float
        Period τ, s (τ/2 a whole number of steps ``t_h``).
    n_periods : float
        Duration in periods (a multiple of 1/2).
    B : (n_gates,) or (n_runs, n_gates) array_like
        Bias per gate, V/s: one for all runs, or one row per run.
    protocol : TrainingProtocol, optional
        Shared by every run (default ``TrainingProtocol()``); without noise (a protocol with
        ``update_noise`` or ``voltage_noise`` is refused: use `simulate` with a ``seed``).
    gate_limits : (G_min, G_max) or None
        Gate box, V.
    record : "half", "step" or int
        Sampling stride, as in `simulate`.

    Returns
    -------
    BatchResult
        One `SimulatedTrajectory` per run (engine ``"batch"``), equal to `simulate`'s for that
        run to the Newton tolerance. A network with more interior nodes than
        ``NEWTON_DENSE_MAX_INTERIOR`` (200), where `simulate` leaves dense Newton matrices,
        runs one run at a time with `simulate`'s engine (``"sparse"`` for a `LinearDevice`,
        ``"general"`` otherwise; the trajectories say which) in `simulate`'s memory; smaller
        ones are stepped together in chunks of runs whose estimated arrays fit in
        ``BATCH_MEMORY_BYTES`` (256 MiB).

    Raises
    ------
    TaskError
        Runs whose tasks differ in structure, or no run.
    ShapeError
        ``G0`` or ``B`` of the wrong shape.
    ArgumentError
        As `simulate`; also a protocol with noise.
    ProtocolError, DeviceError
        As `simulate`.

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import ThreeRegimeMOSFET
    >>> from clln_theory.model.tasks import DataPoint, Task
    >>> net = star_network(device=ThreeRegimeMOSFET())
    >>> ins = {"High": 0.4351, "Low": 0.0181, "Input": 0.4351}
    >>> runs = [Task([DataPoint(ins, L)], "Output") for L in (0.30, 0.31, 0.32)]
    >>> res = simulate_batch(net, runs, np.full((3, 2), 3.2), tau=0.02, n_periods=1,
    ...                      B=np.zeros(2))
    >>> len(res.trajectories), res.trajectories[0].G.shape
    (3, (3, 2))
    """
    instance(network, "network", Network, error=NetworkError)
    protocol = check_protocol(protocol)
    if protocol.noisy:
        raise ArgumentError(
            "Argument `protocol` has noise (`update_noise` or `voltage_noise`), which "
            "simulate_batch does not simulate; use simulate(..., seed=...) for noisy runs."
        )
    runs = check_runs(network, tasks)
    R, n = len(runs), network.n_gates
    limits = check_limits(gate_limits, n)
    G0 = check_batch_G0(network, G0, R, limits)
    Bv = check_batch_B(B, R, n)
    tau, n_half = steps_per_half(tau, protocol.t_h)
    n_halves = half_periods(n_periods)
    stride = record_stride(record, n_half, n_halves=n_halves, n_gates=R * n)
    for ts in runs[:1]:
        for t in ts:
            protocol.point_rule(t)  # refuses overclamping a multi-output task
    trajectories, failures = run_batch(network, runs, G0, Bv, protocol, limits, tau=tau,
                                       n_half=n_half, n_halves=n_halves, stride=stride)  # fmt: skip
    return BatchResult(trajectories=trajectories, failures=failures)


@validator
def check_batch_G0(
    network: Network,
    G0: Any,
    R: int,
    limits: tuple[np.ndarray, np.ndarray] | None,
    name: str = "G0",
) -> np.ndarray:
    """Initial gates of every run, (R, n_gates): each above threshold, clipped to the box.

    Parameters
    ----------
    network : Network
        The trained network.
    G0 : (R, n_gates) array_like
        Initial gates, V.
    R : int
        Number of runs.
    limits : (lo, hi) or None
        The checked gate box.
    name : str
        The argument's name, for counting.

    Returns
    -------
    (R, n_gates) ndarray

    Raises
    ------
    ShapeError, DeviceError
        A wrong shape; a gate at or below threshold.
    """
    n = network.n_gates
    G0 = real_array(G0, name, error=ShapeError)
    if G0.shape != (R, n):
        raise ShapeError(f"Argument `G0` must have shape ({R}, {n}), but has shape {G0.shape}.")
    return np.stack([check_G0(network, g, limits) for g in G0])


@validator
def check_batch_B(B: Any, R: int, n: int, name: str = "B") -> np.ndarray:
    """Bias of every run, (R, n_gates), from one row or one row per run.

    Parameters
    ----------
    B : (n_gates,) or (R, n_gates) array_like
        Bias, V/s.
    R, n : int
        Number of runs and of gates.
    name : str
        The argument's name, for counting.

    Returns
    -------
    (R, n) ndarray

    Raises
    ------
    ShapeError
        A wrong shape or a non-finite entry.
    """
    Bv = real_array(B, name, error=ShapeError)
    if Bv.shape not in ((n,), (R, n)):
        raise ShapeError(f"Argument `B` must have shape ({n},) or ({R}, {n}), but has {Bv.shape}.")
    return np.broadcast_to(Bv, (R, n)).copy()
