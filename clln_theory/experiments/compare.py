"""Theory and simulation side by side, and the simulator against the measured limit cycles.

Two comparisons:

`compare_theory_simulation`
    The linear theory (`clln_theory.theory.linearize` + `clln_theory.theory.periodic_orbit`,
    (D2)-(D11) of the paper; with gate limits, the cycle of the projected dynamics in that box)
    and the nonlinear simulator (`clln_theory.simulator.limit_cycle`) on the same network,
    tasks, bias and τ grid, with the ratio of their cycle spans (4).
`compare_with_measurement`
    Simulated limit cycles (with gate limits) at the τ of a measured D² curve, with the ratio
    per τ.
`simulate_periods`
    Simulated limit cycles at a list of periods that never aborts: a period without a cycle is
    NaN with the reason (the simulator columns of ``clln-theory reproduce --simulate``).

Tasks calibrated to measured solution lines come from
`clln_theory.inference.calibrate_to_line`. This is the only module that imports both the
simulator and the linear theory.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._checks import choice, count, instance, positive, readonly, real_array, validator, vector
from .._checks import times as as_times
from .._progress import tracked
from .._repr import short_repr
from .._tables import array_columns, data_frame, frame_fields
from ..electrical import free_state
from ..errors import (
    ArgumentError,
    ConvergenceError,
    DataFormatError,
    DeviceError,
    Failure,
    GateBoxWarning,
    NumericalRangeError,
    ProtocolError,
    ShapeError,
    SingularSystemError,
    TaskError,
)
from ..metrics import combined_error, task_error, two_task_error
from ..model import LinearDevice, Network, Task
from ..simulator import TrainingProtocol, limit_cycle
from ..simulator._cycle import FD_STEP, MAX_PERIODS, MAX_SAMPLES, find_cycle, from_guess
from ..simulator.runs import period_steps
from ..simulator.shooting import checked_pair, checked_start
from ..theory import LinearTask, linearize, nearest_solution, periodic_orbit
from ..theory.trajectories import check_box
from ._pipeline import box_orbits, closed_orbits

__all__ = [
    "MeasuredComparison",
    "SimulatedPeriods",
    "TheoryComparison",
    "compare_theory_simulation",
    "compare_with_measurement",
    "simulate_periods",
]

#: A simulated gate within this of a box limit (V) counts as at the limit: the simulator clips
#: onto the limit exactly (np.clip), so a clipped gate equals it to round-off.
_AT_LIMIT_TOL = 1e-12


@dataclass(frozen=True, slots=True)
class MeasuredComparison:
    """Simulated limit cycles next to a measured D² curve.

    Attributes
    ----------
    tau : (T,) ndarray
        Periods, s.
    D2_measured, D2_sim : (T,) ndarray
        Squared cycle span (4), V².
    D2_ratio : (T,) ndarray
        ``D2_sim / D2_measured``.
    Ebar_sim : (T,) ndarray
        Combined error (A4) of the simulation, V² (against the tasks' labels).
    G0, G_half : (T, n_gates) ndarray
        Simulated cycle states at the start of task α and at τ/2, V.
    at_limit : (T,) bool ndarray
        True where the simulated cycle touches the gate limits.
    n_periods : (T,) int ndarray
        Period-map evaluations used by `limit_cycle`.
    seconds : float
        Wall time of the whole sweep.
    """

    __repr__ = short_repr

    tau: np.ndarray
    D2_measured: np.ndarray
    D2_sim: np.ndarray
    D2_ratio: np.ndarray
    Ebar_sim: np.ndarray
    G0: np.ndarray
    G_half: np.ndarray
    at_limit: np.ndarray
    n_periods: np.ndarray
    seconds: float

    def to_dataframe(self) -> Any:
        """The arrays as a `pandas.DataFrame`, one row per τ; a (T, n) array ``G0`` becomes the
        columns ``G0[0]`` … ``G0[n−1]``. pandas is an optional extra (``clln_theory[pandas]``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            pandas is not installed (names the extra).
        """
        return data_frame(array_columns(frame_fields(self)))

    def table(self) -> str:
        """Plain-text table, one row per τ."""
        rows = ["tau [s]    D2 meas [V2]  D2 sim [V2]   sim/meas  at limit"]
        for i in range(self.tau.size):
            rows.append(
                f"{self.tau[i]:<9.4g}  {self.D2_measured[i]:<12.4g}  {self.D2_sim[i]:<12.4g}  "
                f"{self.D2_ratio[i]:<8.3f}  {'yes' if self.at_limit[i] else 'no'}"
            )
        return "\n".join(rows)


def _touches_limits(G: np.ndarray, gate_limits: tuple[float, float] | None) -> bool:
    if gate_limits is None:
        return False
    lo, hi = gate_limits[0] + _AT_LIMIT_TOL, gate_limits[1] - _AT_LIMIT_TOL
    return bool(np.any(G <= lo) or np.any(G >= hi))


def compare_with_measurement(
    network: Network,
    task_a: Task,
    task_b: Task,
    *,
    tau: Sequence[float],
    D2_measured: Sequence[float],
    B: Any,
    protocol: TrainingProtocol,
    gate_limits: tuple[float, float] | None = (1.0, 5.0),
    G0: Any = None,
    tol: float = 1e-10,
) -> MeasuredComparison:
    """Simulated D² at every measured τ (limit cycles by shooting), with the ratio.

    Parameters
    ----------
    network : Network
        Usually ``star_network(device=ThreeRegimeMOSFET())``.
    task_a, task_b : Task
        The experiment's tasks (nominal, or calibrated with
        `clln_theory.inference.calibrate_to_line`).
    tau : (T,) array_like
        Measured periods, s (``measured-DG2-expN.csv``, first column).
    D2_measured : (T,) array_like
        Measured squared cycle spans at those periods, V² (second column).
    B : (n_gates,) array_like or callable
        Bias, V/s, as in `clln_theory.simulator.limit_cycle`.
    protocol : TrainingProtocol
        Clamping, step time and rate of the simulation.
    gate_limits : (G_min, G_max) or None
        Gate box of the simulation, V.
    G0 : (n_gates,) array_like, optional
        Start of the first shooting, V; each later τ starts from the previous τ's cycle.
    tol : float
        Period-map residual of the simulated cycles, V.

    Returns
    -------
    MeasuredComparison

    Raises
    ------
    ShapeError
        ``tau`` and ``D2_measured`` not 1-D of equal length.
    ArgumentError
        A period that is not a finite number > 0.
    DataFormatError
        A measured D² that is not finite and > 0 (the ratio would be inf, NaN or negative).
    ConvergenceError
        A limit cycle not found (as in `clln_theory.simulator.limit_cycle`).
    """
    parts = checked_pair(network, task_a, task_b, B, protocol, gate_limits, "auto")
    taus, steps = period_steps(tau, parts.protocol.t_h)
    D2m = real_array(D2_measured, "D2_measured", finite=False)  # NaN: a DataFormatError below
    if taus.shape != D2m.shape or np.ndim(tau) != 1:  # (a scalar tau is not a list of them)
        raise ShapeError(
            f"`tau` and `D2_measured` must be 1-D of equal length, but have shapes {taus.shape} "
            f"and {D2m.shape}."
        )
    bad = np.flatnonzero(~(np.isfinite(D2m) & (D2m > 0)))
    if bad.size:  # the ratio D2_sim / D2_measured would be inf, NaN or negative
        raise DataFormatError(
            f"Argument `D2_measured` must be finite and > 0 (V²), but is {D2m[bad[0]]!r} at "
            f"index {bad[0]} (tau = {taus[bad[0]]:.6g} s)."
        )
    guess = checked_start(parts, G0)
    tol = positive(tol, "tol", unit="V")
    t0 = time.perf_counter()
    out: dict[str, list[Any]] = {"D2": [], "E": [], "G0": [], "Gh": [], "lim": [], "np": []}
    for step in steps:
        if isinstance(step, Exception):  # tau/2 not a whole number of steps
            raise step
        run = parts.runner(*step)
        lc = find_cycle(
            run, from_guess(run, guess), "shooting", tol, MAX_PERIODS, FD_STEP, MAX_SAMPLES
        )
        guess = lc.G0
        out["D2"].append(lc.span**2)
        out["E"].append(lc.Ebar)
        out["G0"].append(lc.G0)
        out["Gh"].append(lc.G_half)
        out["lim"].append(_touches_limits(lc.trajectory.G, gate_limits))
        out["np"].append(lc.n_periods)
    D2s = np.array(out["D2"])
    return MeasuredComparison(
        tau=readonly(taus),
        D2_measured=readonly(D2m),
        D2_sim=readonly(D2s),
        D2_ratio=readonly(D2s / D2m),
        Ebar_sim=readonly(out["E"], float),
        G0=readonly(out["G0"], float),
        G_half=readonly(out["Gh"], float),
        at_limit=readonly(out["lim"], bool),
        n_periods=readonly(out["np"], int),
        seconds=time.perf_counter() - t0,
    )


@dataclass(frozen=True, slots=True)
class TheoryComparison:
    """Linear theory and nonlinear simulation of the same limit cycles.

    Attributes
    ----------
    tau : (T,) ndarray
        The periods at which both sides have a cycle, s (the requested τ minus ``failures``).
    span_theory, span_sim : (T,) ndarray
        Cycle span D of (4), V.
    span_ratio : (T,) ndarray
        ``span_sim / span_theory``.
    Ebar_theory, Ebar_sim : (T,) ndarray
        Combined error (A4), V².
    G0_theory, G0_sim, G_half_theory, G_half_sim : (T, n_gates) ndarray
        Orbit states at the start of task α and at τ/2, V.
    G0_difference : (T,) ndarray
        ``max(|G0_sim − G0_theory|, |G_half_sim − G_half_theory|)``, V (∞-norm).
    G_star_a, G_star_b : (n_gates,) ndarray
        The linearization points (nearest solutions to ``G_ref``).
    saturated : (T,) bool ndarray
        True where the theory's cycle in the gate box (``gate_limits``) has a gate pinned at a
        limit during the period; all False without ``gate_limits``.
    failures : tuple of Failure
        The requested τ left out (``where``: ``"tau = ... s"``), each with the side that failed
        (``what``: ``"theory"`` or ``"simulation"``) and the reason (``why``, ``kind``); empty
        when every τ succeeded.
    """

    __repr__ = short_repr

    tau: np.ndarray
    span_theory: np.ndarray
    span_sim: np.ndarray
    span_ratio: np.ndarray
    Ebar_theory: np.ndarray
    Ebar_sim: np.ndarray
    G0_theory: np.ndarray
    G0_sim: np.ndarray
    G_half_theory: np.ndarray
    G_half_sim: np.ndarray
    G0_difference: np.ndarray
    G_star_a: np.ndarray
    G_star_b: np.ndarray
    failures: tuple[Failure, ...] = ()
    saturated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def to_dataframe(self) -> Any:
        """The per-τ arrays as a `pandas.DataFrame`, one row per τ with both sides (a (T, n)
        array ``G0_sim`` becomes the columns ``G0_sim[0]`` …); ``G_star_a``, ``G_star_b`` and
        ``failures`` stay attributes. pandas is an optional extra (``clln_theory[pandas]``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            pandas is not installed (names the extra).
        """
        return data_frame(array_columns(frame_fields(self)))


@validator
def _standard_protocol(protocol: Any) -> TrainingProtocol:
    protocol = TrainingProtocol() if protocol is None else protocol
    if not isinstance(protocol, TrainingProtocol):
        raise ArgumentError(
            f"Argument `protocol` must be a TrainingProtocol, but is {type(protocol).__name__}."
        )
    if protocol.overclamp:
        raise ProtocolError(
            "The linear theory covers standard clamping only, but the protocol is 'overclamp'."
        )
    return protocol


def _linear_Ebar(network: Network, tasks: tuple[Task, Task], G0: Any, G_half: Any) -> float:
    """(A4) of the linear network at the orbit's ``G(τ/2)`` and ``G(τ) = G0``, V²; NaN where a
    gate is at or below its threshold (no circuit: `_warn_below_threshold` says so)."""
    if _below_threshold(network, G0, G_half):
        return float("nan")

    def E(G: Any) -> float:  # (A3) of (A1)/(A2)
        Ea, Eb = (task_error(free_state(network, G, t).O, t.labels, kind=t.kind) for t in tasks)
        return two_task_error(Ea, Eb)

    return combined_error(E(G_half), E(G0))


class _TheoryCycle(NamedTuple):
    """The theory's cycle at one period: states, span (4) and whether a gate is pinned."""

    G0: np.ndarray
    G_half: np.ndarray
    span: float
    saturated: bool


def _theory_orbit(
    la: LinearTask, lb: LinearTask, B: np.ndarray, tau: float, box: Any
) -> _TheoryCycle:
    """The closed orbit (D11) at ``tau``; with the checked ``box`` (lo, hi), the cycle in the
    box (the engines of `periodic_orbit(..., box=)`: exactly the orbit without limits where
    that stays inside, a saturated cycle elsewhere, also along common null directions)."""
    if box is not None:
        taus = np.array([tau])
        try:
            unc = closed_orbits(la, lb, B, taus)
        except SingularSystemError:  # no candidate: the box engine finds the cycle alone
            unc = None
        bo = box_orbits(la, lb, B, taus, box, unc)
        span = float(np.asarray(bo.span)[0])
        sat = bool(np.asarray(bo.saturated)[0])
        return _TheoryCycle(np.asarray(bo.G0)[0], np.asarray(bo.G_half)[0], span, sat)
    orbit = periodic_orbit(la, lb, B=B, tau=tau)
    if np.any(orbit.drift != 0):
        raise ConvergenceError(
            f"The linear theory has no closed orbit at tau = {tau:.6g} s (common-nullspace "
            "drift); nothing to compare with. Give `gate_limits`: in that box the gates "
            "saturate and the cycle closes."
        )
    return _TheoryCycle(orbit.G0, orbit.G_half, float(orbit.span), False)


#: Failures of one period of `compare_theory_simulation` that leave the others valid: no cycle
#: on either side, a gate of the linear network or the simulation at or below its threshold
#: (`DeviceError`), an overflow at that period.
_COMPARE_FAILURES = (ConvergenceError, SingularSystemError, DeviceError, NumericalRangeError)


def _below_threshold(network: Network, G0: Any, G_half: Any) -> bool:
    """Whether a gate of the theory's cycle (its ends ``G0``, ``G_half``, (n,) or (T, n)) is at
    or below its threshold ``V_T``: a conductance <= 0, no circuit."""
    return bool(np.any(np.minimum(G0, G_half) <= network.V_T))


def _warn_below_threshold(network: Network, kept: list[float], res: dict) -> None:
    """`GateBoxWarning` naming the periods ``kept`` (s) whose theory cycle (``res["G0t"]``,
    ``res["Ght"]``) takes a gate to or below ``V_T``."""
    low = [
        t
        for t, G0, Gh in zip(kept, res["G0t"], res["Ght"], strict=True)
        if _below_threshold(network, G0, Gh)
    ]
    if low:  # the theory knows the device threshold here
        warnings.warn(
            GateBoxWarning(
                f"The theory's orbit takes a gate to or below its threshold V_T (a conductance "
                f"<= 0) at tau = {np.round(low, 9).tolist()[:5]} s (Ebar_theory NaN there): give "
                "`gate_limits`."
            ),
            stacklevel=3,
        )


@validator
def _problem(network: Any, task_a: Any, task_b: Any, B: Any, on_failure: Any) -> np.ndarray:
    """Check the arguments of a comparison; return its constant bias ``B`` (V/s)."""
    choice(on_failure, "on_failure", ("record", "raise"))
    instance(network, "network", Network)
    instance(task_a, "task_a", Task)
    instance(task_b, "task_b", Task)
    return vector(B, "B", network.n_gates)  # a constant bias (the theory has no B(G))


def compare_theory_simulation(
    network: Network,
    task_a: Task,
    task_b: Task,
    *,
    tau: Sequence[float],
    B: Any,
    G_ref: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[float, float] | None = None,
    tol: float = 1e-12,
    on_failure: Literal["record", "raise"] = "record",
) -> TheoryComparison:
    """Run the linear theory and the nonlinear simulator on the same problem, side by side.

    Parameters
    ----------
    network : Network
        The simulated network (any device). The theory always uses
        ``network.with_device(LinearDevice())`` (Appendix D).
    task_a, task_b : Task
        Task alpha (first half period) and task beta.
    tau : (T,) array_like
        Periods, s; each τ/2 a whole number of ``protocol.t_h``.
    B : (n_gates,) array_like
        Bias, V/s (a constant vector: the theory has no state-dependent bias).
    G_ref : (n_gates,) array_like
        Each task is linearized at the point of its solution manifold nearest ``G_ref``, V.
    protocol : TrainingProtocol, optional
        Standard clamping only. The theory uses ``gamma = A0 / S`` and ``eta``.
    gate_limits : (G_min, G_max) or None
        Gate box, V (numbers or (n_gates,) arrays): the simulator clips its gates to it, and
        the theory is then the limit cycle of the projected linear dynamics in the same box
        (`clln_theory.theory.periodic_orbit` with ``box=``), which exists also where the tasks
        share null directions (more gates than constraints: the bias drifts the gates there
        until they pin). Default none: the orbit without limits, and no comparison where it
        drifts.
    tol : float
        Period-map residual of the simulated cycles, V.
    on_failure : {"record", "raise"}
        What to do at a τ where the theory has no closed orbit, the simulator finds no limit
        cycle, a gate falls to or below its threshold (`DeviceError`: a linear device's
        conductance <= 0) or the arithmetic overflows (`NumericalRangeError`): ``"record"``
        leaves that τ out of the arrays and adds a `Failure` (side, reason, τ) to ``failures``
        so that the rest of the sweep survives; ``"raise"`` re-raises.

    Returns
    -------
    TheoryComparison

    Raises
    ------
    ArgumentError
        ``protocol`` not a `TrainingProtocol`, an unknown ``on_failure``, or a period that is
        not a finite number > 0.
    ProtocolError
        An overclamping protocol (the theory covers standard clamping).
    TaskError
        Gates with different ``S`` (the theory takes one γ).
    ShapeError
        ``tau`` not 1-D.
    ConvergenceError, SingularSystemError, DeviceError, NumericalRangeError
        Only with ``on_failure="raise"``: the first τ without a cycle on either side (without
        ``gate_limits``, an orbit that drifts along a common null direction is one), or whose
        gates fall to their threshold or overflow.

    Warns
    -----
    GateBoxWarning
        If the theory's orbit takes a gate to or below the threshold ``V_T`` of its edge (a
        conductance ``<= 0``) at some τ (without ``gate_limits``, or with a lower limit below
        ``V_T``): the linear theory then predicts a circuit that does not exist
        (``Ebar_theory`` is NaN there; give ``gate_limits`` above ``V_T``). Not raised for
        orbits in range.

    Notes
    -----
    Long function: one loop over the periods keeps the theory, the simulation, the failure
    record and the range check of each period together.

    Each simulated cycle starts from the previous successful τ's cycle (the first from task α's
    linearization point); a failed τ does not move that start. With ``gate_limits`` it starts
    from the theory's cycle in the box at the same τ instead: the period map of the clipped
    simulation is only piecewise smooth, and from afar its shooting may take thousands of
    periods to settle which gates are pinned.
    """
    B = _problem(network, task_a, task_b, B, on_failure)
    protocol = _standard_protocol(protocol)
    if np.unique(network.S).size != 1:
        raise TaskError("compare_theory_simulation needs equal S on every gate (one gamma).")
    gamma = protocol.A0 / float(network.S[0])  # γ = A₀ / S of (5)/(D1), for the protocol's A₀
    lin = network.with_device(LinearDevice())
    Ga, Gb = nearest_solution(lin, task_a, G_ref), nearest_solution(lin, task_b, G_ref)
    la = linearize(lin, task_a, Ga, gamma=gamma, eta=protocol.eta)
    lb = linearize(lin, task_b, Gb, gamma=gamma, eta=protocol.eta)
    box = None if gate_limits is None else check_box(gate_limits, network.n_gates, "gate_limits")
    Bv, taus = np.asarray(B, dtype=float), np.atleast_1d(as_times(tau, "tau"))
    if taus.ndim != 1:
        raise ShapeError(f"Argument `tau` must be 1-D (T,), but has shape {taus.shape}.")
    res: dict[str, list[Any]] = {k: [] for k in ("Dt", "Ds", "Et", "Es", "G0t", "G0s", "Ght")}
    res.update(Ghs=[], sat=[])
    kept, failures = [], []  # type: tuple[list[float], list[Failure]]
    guess = Ga  # each cycle starts from the previous one
    for t in taus:
        stage: Literal["theory", "simulation"] = "theory"
        try:
            orb = _theory_orbit(la, lb, Bv, float(t), box)
            Et = _linear_Ebar(lin, (task_a, task_b), orb.G0, orb.G_half)
            stage = "simulation"
            lc = limit_cycle(
                network, task_a, task_b, tau=float(t), B=Bv, protocol=protocol,
                gate_limits=gate_limits, G0=guess if box is None else orb.G0, tol=tol,
            )  # fmt: skip
        except _COMPARE_FAILURES as err:
            if on_failure == "raise":
                raise
            failures.append(
                Failure(
                    what=stage, why=str(err), where=f"tau = {float(t):.6g} s",
                    kind=type(err).__name__,
                )
            )  # fmt: skip
            continue
        kept.append(float(t))
        guess = lc.G0
        for key, value in (
            ("Dt", orb.span), ("Ds", lc.span), ("sat", orb.saturated), ("Et", Et), ("Es", lc.Ebar),
            ("G0t", orb.G0), ("G0s", lc.G0), ("Ght", orb.G_half), ("Ghs", lc.G_half),
        ):  # fmt: skip
            res[key].append(value)
    _warn_below_threshold(network, kept, res)
    n = network.n_gates
    G0t, G0s, Ght, Ghs = (
        np.array(res[k], dtype=float).reshape(-1, n) for k in ("G0t", "G0s", "Ght", "Ghs")
    )
    diff = np.maximum(np.max(np.abs(G0s - G0t), axis=1), np.max(np.abs(Ghs - Ght), axis=1))
    Dt, Ds = np.array(res["Dt"], dtype=float), np.array(res["Ds"], dtype=float)
    return TheoryComparison(
        tau=readonly(kept, float),
        span_theory=readonly(Dt),
        span_sim=readonly(Ds),
        span_ratio=readonly(Ds / Dt),
        Ebar_theory=readonly(res["Et"], float),
        Ebar_sim=readonly(res["Es"], float),
        G0_theory=readonly(G0t),
        G0_sim=readonly(G0s),
        G_half_theory=readonly(Ght),
        G_half_sim=readonly(Ghs),
        G0_difference=readonly(diff),
        G_star_a=readonly(Ga),
        G_star_b=readonly(Gb),
        failures=tuple(failures),
        saturated=readonly(res["sat"], bool),
    )


SIM_TRAJECTORY_SAMPLES = 400
"""Samples kept of each simulated period (the figure draws the cycles; 400 resolve a bow-tie)."""


@dataclass(frozen=True, slots=True)
class SimulatedPeriods:
    """Simulated limit cycles at a list of periods; a period without a cycle is NaN, with why.

    Attributes
    ----------
    tau : (T,) ndarray
        Periods, s.
    D2_sim, Ebar_sim : (T,) ndarray
        Squared cycle span (4) and combined error (A4) of the simulated cycle, V² (NaN where the
        simulation failed).
    G0, G_half : (T, n_gates) ndarray
        Cycle states at the start of task α and at τ/2, V (NaN where it failed).
    at_limit : (T,) bool ndarray
        True where the simulated gates touch the gate limits during the cycle.
    n_periods : (T,) int ndarray
        Period-map evaluations used (0 where the simulation failed before the first).
    failed : (T,) bool ndarray
        True where there is no simulated cycle.
    failures : tuple of Failure
        One per failed period, in period order (``what``: ``"simulation"``, ``why``: the
        error's message, ``where``: ``"tau = ... s"``); `failure_at` finds a period's.
    trajectories : tuple of ndarray or None
        Per period: one period of the cycle from ``G0``, (m, n_gates) V, at most
        ``SIM_TRAJECTORY_SAMPLES`` samples; None where it failed.
    seconds : float
        Wall time of the sweep.
    """

    __repr__ = short_repr

    tau: np.ndarray
    D2_sim: np.ndarray
    Ebar_sim: np.ndarray
    G0: np.ndarray
    G_half: np.ndarray
    at_limit: np.ndarray
    n_periods: np.ndarray
    failed: np.ndarray
    failures: tuple[Failure, ...]
    trajectories: tuple[np.ndarray | None, ...]
    seconds: float

    @property
    def n_failed(self) -> int:
        """Number of periods without a simulated cycle."""
        return len(self.failures)

    def failure_at(self, k: int) -> Failure | None:
        """Why period ``k`` has no simulated cycle, or None where it has one.

        Parameters
        ----------
        k : int
            Index of the period in ``tau``.

        Returns
        -------
        Failure or None
        """
        if not self.failed[k]:
            return None
        return self.failures[int(np.count_nonzero(self.failed[:k]))]


#: Failures of one period that leave the others valid: no cycle within the budget, τ/2 not a
#: whole number of steps, a device or circuit outside its domain, an overflow.
_PERIOD_FAILURES = (
    ConvergenceError, ProtocolError, DeviceError, SingularSystemError, NumericalRangeError,
)  # fmt: skip


def simulate_periods(
    network: Network,
    task_a: Task,
    task_b: Task,
    *,
    tau: ArrayLike,
    B: Any,
    protocol: TrainingProtocol,
    gate_limits: tuple[float, float] | None = (1.0, 5.0),
    G0: Any = None,
    tol: float = 1e-10,
    max_periods: int = MAX_PERIODS,
    max_seconds: float | None = None,
    progress: bool | None = None,
) -> SimulatedPeriods:
    """The simulator's limit cycle at every period; a failure flags its period, never aborts.

    Parameters
    ----------
    network : Network
        The simulated network (any device).
    task_a, task_b : Task
        Task α (first half period) and task β (usually calibrated to the measured lines with
        `clln_theory.inference.calibrate_to_line` on the same device).
    tau : (T,) array_like
        Periods, s; each τ/2 should be a whole number of ``protocol.t_h`` (a period that is not
        is flagged).
    B : (n_gates,) array_like or callable
        Bias, V/s, as in `clln_theory.simulator.limit_cycle`.
    protocol : TrainingProtocol
        Clamping, step time and rate.
    gate_limits : (G_min, G_max) or None
        Gate box of the simulation, V.
    G0 : (n_gates,) array_like, optional
        Start of the first shooting, V; each later period starts from the last cycle found.
    tol : float
        Period-map residual of a converged cycle, V.
    max_periods : int
        Budget of period-map evaluations per period (default 5000, as `limit_cycle`'s).
    max_seconds : float or None
        Wall-clock budget of each period's cycle search, s (default None: none); a period
        that exceeds either budget is flagged (`ConvergenceError` in its failure).
    progress : bool or None
        A progress line on standard error (periods τ done, time left, the current cycle's
        periods) once the sweep takes more than 2 s: None (default) only when standard error
        is a terminal, False never, True always.

    Returns
    -------
    SimulatedPeriods

    Raises
    ------
    ArgumentError
        A period that is not a finite number > 0 or is shorter than one step ``t_h`` (τ/2
        rounds to no step), a period of more than `MAX_STEPS` steps per half, or a bad ``tol``
        / ``max_periods``.
    ShapeError
        ``tau`` not 1-D, or ``G0`` not (n_gates,).
    DeviceError
        A ``G0`` with a gate at or below its threshold (every period would start there).

    Examples
    --------
    >>> from clln_theory.model import ThreeRegimeMOSFET, star_network
    >>> from clln_theory.electrical import learning_rate_A0
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> a, b = experiment_tasks("exp1")
    >>> sim = simulate_periods(star_network(device=ThreeRegimeMOSFET()), a, b,
    ...     tau=[0.02, 0.00025], B=[2.97, 4.41], G0=[3.0, 3.5],
    ...     protocol=TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0)))
    >>> bool(sim.D2_sim[0] > 0), bool(np.isnan(sim.D2_sim[1])), sim.n_failed
    (True, True, 1)
    >>> sim.failure_at(1).what, sim.failure_at(0) is None
    ('simulation', True)
    """
    parts = checked_pair(network, task_a, task_b, B, protocol, gate_limits, "auto")
    taus, steps = period_steps(tau, parts.protocol.t_h)
    if taus.ndim != 1:
        raise ShapeError(f"Argument `tau` must be 1-D (T,), but has shape {taus.shape}.")
    t_h = parts.protocol.t_h
    if np.any(taus < t_h):  # τ/2 rounds to 0 steps: no period to simulate, not one to flag
        raise ArgumentError(
            f"Argument `tau` holds {taus[taus < t_h][0]:.6g} s, shorter than one learning step "
            f"t_h = {t_h:.6g} s per half period; the shortest period is 2 t_h = {2 * t_h:.6g} s."
        )
    for step in steps:  # τ/2 beyond MAX_STEPS: refused before any period runs
        if isinstance(step, ArgumentError):
            raise step
    guess = checked_start(parts, G0)  # a bad start is the caller's: an error, not T failures
    tol = positive(tol, "tol", unit="V")
    max_periods = count(max_periods, "max_periods")
    if max_seconds is not None:
        max_seconds = positive(max_seconds, "max_seconds", unit="s")
    instance(progress, "progress", (bool, type(None)))
    periods = tracked(
        zip(taus, steps, strict=True), total=taus.size, desc="simulate periods", unit="tau",
        enabled=progress,
    )  # fmt: skip
    t0, n = time.perf_counter(), network.n_gates
    nan = np.full(n, np.nan)
    keys = ("D2", "E", "G0", "Gh", "lim", "np", "fail", "tr")
    out: dict[str, list[Any]] = {k: [] for k in keys}
    row: tuple[float, float, np.ndarray, np.ndarray, bool, int, Failure | None, np.ndarray | None]
    for t, step in periods:
        try:
            if isinstance(step, Exception):  # tau/2 not a whole number of steps
                raise step
            run = parts.runner(*step)
            lc = find_cycle(
                run, from_guess(run, guess), "shooting", tol, max_periods, FD_STEP,
                SIM_TRAJECTORY_SAMPLES, max_seconds=max_seconds, progress=progress,
            )  # fmt: skip
        except _PERIOD_FAILURES as err:
            why = Failure(
                what="simulation", why=str(err), where=f"tau = {float(t):.6g} s",
                kind=type(err).__name__,
            )  # fmt: skip
            row = (np.nan, np.nan, nan, nan, False, 0, why, None)
        else:
            guess = lc.G0
            lim = _touches_limits(lc.trajectory.G, gate_limits)
            tr = readonly(lc.trajectory.G)
            row = (lc.span**2, lc.Ebar, lc.G0, lc.G_half, lim, lc.n_periods, None, tr)
        for k, v in zip(keys, row, strict=True):
            out[k].append(v)
    return SimulatedPeriods(
        tau=readonly(taus),
        D2_sim=readonly(out["D2"], float),
        Ebar_sim=readonly(out["E"], float),
        G0=readonly(np.reshape(out["G0"], (-1, n)), float),
        G_half=readonly(np.reshape(out["Gh"], (-1, n)), float),
        at_limit=readonly(out["lim"], bool),
        n_periods=readonly(out["np"], int),
        failed=readonly([f is not None for f in out["fail"]], bool),
        failures=tuple(f for f in out["fail"] if f is not None),
        trajectories=tuple(out["tr"]),
        seconds=time.perf_counter() - t0,
    )
