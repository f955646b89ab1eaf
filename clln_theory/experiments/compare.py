"""Theory and simulation side by side, and the simulator against the measured limit cycles.

Three tools:

`calibrate_to_line`
    Effective input voltage and label of a single-point task for which the *nonlinear*
    network's solution set passes through a measured solution line ``G₂ = a G₁ + c`` at two
    points (±``step`` along the line around ``centre``). The nonlinear analogue of
    `clln_theory.inference.calibration.calibrate_point` (which relies on the superposition of a linear
    network); here a 2x2 Newton solve with the Kirchhoff solver of `clln_theory.electrical.circuit`.
`compare_theory_simulation`
    The linear theory (``linearize`` + ``cycles.periodic_orbit``, (D2)-(D11)) and the nonlinear
    simulator (`clln_theory.simulator.runs.limit_cycle`) on the same network, tasks, bias and τ grid,
    with their ratios.
`compare_with_measurement`
    Simulated limit cycles (with gate limits) at the τ of a measured D² curve, with the ratio
    per τ.

This is the only module that imports both the simulator and the linear theory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import root

from ..electrical.circuit import CircuitSolver
from ..errors import (
    ConvergenceError,
    DataFormatError,
    ProtocolError,
    ShapeError,
    SingularSystemError,
    TaskError,
)
from ..model.devices import LinearDevice
from ..model.network import Network, _readonly
from ..model.tasks import DataPoint, Task
from ..simulator.runs import TrainingProtocol, limit_cycle, task_errors

__all__ = [
    "CycleFailure",
    "MeasuredComparison",
    "TheoryComparison",
    "calibrate_to_line",
    "compare_theory_simulation",
    "compare_with_measurement",
]

#: |O_F − L| (V) accepted at the two calibration points: Newton reaches ~1e-15 V.
CALIBRATION_TOL = 1e-12
#: A simulated gate within this of a box limit (V) counts as at the limit: the simulator clips
#: onto the limit exactly (np.clip), so a clipped gate equals it to round-off.
AT_LIMIT_TOL = 1e-12


def calibrate_to_line(
    network: Network,
    task: Task,
    line: tuple[float, float],
    *,
    fit_input: str = "Input",
    centre: Any = (3.0, 3.5),
    step: float = 1.0,
) -> Task:
    """Single-point task whose solution set meets a measured line at two points.

    Parameters
    ----------
    network : Network
        Two gates, any device.
    task : Task
        A single-point task; its ``fit_input`` voltage and its label are replaced.
    line : (a, c)
        Measured solution line ``G₂ = a G₁ + c`` (``G₊ = a G₋ + c`` for the paper's network).
    fit_input : str
        The input node whose voltage is fitted (``"Input"``: V₁ of the paper).
    centre : (2,) array_like
        The calibration points are the point of the line nearest ``centre`` ± ``step`` along it.
    step : float
        Distance along the line, V.

    Returns
    -------
    Task
        Same output, kind and name; ``inputs[fit_input]`` and ``label`` fitted.

    Raises
    ------
    TaskError
        Not a single-point task of a two-gate network, ``fit_input`` not an input, or a
        non-finite ``line`` or ``centre``, or ``step <= 0``.
    ShapeError
        ``centre`` not of shape (2,).
    ConvergenceError
        The 2x2 Newton solve for (V₁, L) failed.

    Notes
    -----
    For `OhmicMOSFET` edges the 2+1 network's solution set is exactly a line, so the fit is exact
    everywhere; for `ThreeRegimeMOSFET` edges it is exact wherever both edges are ohmic (most of
    the gate box) and bends where an edge saturates or goes subthreshold (near G = 1 V).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import OhmicMOSFET
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network(device=OhmicMOSFET())
    >>> t, _ = experiment_tasks("exp1")
    >>> tc = calibrate_to_line(net, t, (2.7257, -3.3003))
    >>> round(tc.points[0].label, 4), round(tc.points[0].inputs["Input"], 4)
    (0.3232, 0.4186)
    """
    if network.n_gates != 2 or task.n_points != 1 or task.is_differential:
        raise TaskError(
            "calibrate_to_line needs a two-gate network and a single-point task with a single "
            f"output, but got {network.n_gates} gates and {task.n_points} points."
        )
    point = task.points[0]
    if fit_input not in point.inputs:
        raise TaskError(
            f"The fitted input {fit_input!r} is not an input of task {task.name!r}; its inputs "
            f"are {sorted(point.inputs)}."
        )
    a, c = (float(v) for v in line)
    if not (np.isfinite(a) and np.isfinite(c)):
        raise TaskError(f"Argument `line` must be a finite (slope, intercept), but is {line!r}.")
    if not (np.isfinite(step) and step > 0):
        raise TaskError(
            f"Argument `step` must be a finite distance > 0 (volts) between the two calibration "
            f"points and the centre, but is {step!r}."
        )
    d = np.array([1.0, a]) / np.hypot(1.0, a)
    centre = np.asarray(centre, dtype=float)
    if centre.shape != (2,):
        raise ShapeError(f"Argument `centre` must have shape (2,), but has shape {centre.shape}.")
    if not np.all(np.isfinite(centre)):
        raise TaskError(
            f"Argument `centre` must be finite gate voltages, but is {centre.tolist()}."
        )
    p0 = np.array([0.0, c])
    foot = p0 + ((centre - p0) @ d) * d
    P = [foot - step * d, foot + step * d]
    solver = CircuitSolver(network, task.input_nodes)
    k_in = task.input_nodes.index(fit_input)
    out = network.node(task.output_nodes[0])
    base = np.asarray(task.inputs[0], dtype=float)

    def output(G: np.ndarray, v1: float) -> float:
        vals = base.copy()
        vals[k_in] = v1
        return float(solver.solve(G, vals).V[out])

    def eqs(x: np.ndarray) -> np.ndarray:
        return np.array([output(P[0], x[0]) - x[1], output(P[1], x[0]) - x[1]])

    sol = root(eqs, [point.inputs[fit_input], point.label], method="hybr", tol=1e-14)
    res = float(np.max(np.abs(eqs(sol.x))))
    if not res <= CALIBRATION_TOL:
        raise ConvergenceError(
            f"Calibrating task {task.name!r} to the line G2 = {a:.6g} G1 + {c:.6g} failed: the "
            f"output misses the label by {res:.3g} V at the calibration points; move `centre`."
        )
    V1, L = float(sol.x[0]), float(sol.x[1])
    inputs = dict(point.inputs)
    inputs[fit_input] = V1
    return Task([DataPoint(inputs, L)], task.output, kind=task.kind, name=task.name)


@dataclass(frozen=True, slots=True)
class MeasuredComparison:
    """Simulated limit cycles next to a measured D² curve.

    Attributes
    ----------
    tau : (T,) ndarray
        Periods, s.
    D2_measured, D2_sim : (T,) ndarray
        Squared cycle span (4), V².
    ratio : (T,) ndarray
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

    tau: np.ndarray
    D2_measured: np.ndarray
    D2_sim: np.ndarray
    ratio: np.ndarray
    Ebar_sim: np.ndarray
    G0: np.ndarray
    G_half: np.ndarray
    at_limit: np.ndarray
    n_periods: np.ndarray
    seconds: float

    def table(self) -> str:
        """Plain-text table, one row per τ."""
        rows = ["tau [s]    D2 meas [V2]  D2 sim [V2]   sim/meas  at limit"]
        for i in range(self.tau.size):
            rows.append(
                f"{self.tau[i]:<9.4g}  {self.D2_measured[i]:<12.4g}  {self.D2_sim[i]:<12.4g}  "
                f"{self.ratio[i]:<8.3f}  {'yes' if self.at_limit[i] else 'no'}"
            )
        return "\n".join(rows)


def compare_with_measurement(
    network: Network,
    task_a: Task,
    task_b: Task,
    tau: Sequence[float],
    D2_measured: Sequence[float],
    *,
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
        The experiment's tasks (nominal, or calibrated with `calibrate_to_line`).
    tau, D2_measured : (T,) array_like
        The measured curve (``measured-DG2-expN.csv``).
    B, protocol, gate_limits, G0, tol
        As in `clln_theory.simulator.runs.limit_cycle`. Each τ starts from the previous τ's cycle.

    Returns
    -------
    MeasuredComparison

    Raises
    ------
    ShapeError
        ``tau`` and ``D2_measured`` not 1-D of equal length.
    DataFormatError
        A measured D² that is not finite and > 0 (the ratio would be inf, NaN or negative).
    ConvergenceError
        A limit cycle not found (as in `clln_theory.simulator.runs.limit_cycle`).
    """
    tau = np.asarray(tau, dtype=float)
    D2m = np.asarray(D2_measured, dtype=float)
    if tau.shape != D2m.shape or tau.ndim != 1:
        raise ShapeError(
            f"`tau` and `D2_measured` must be 1-D of equal length, but have shapes {tau.shape} "
            f"and {D2m.shape}."
        )
    bad = np.flatnonzero(~(np.isfinite(D2m) & (D2m > 0)))
    if bad.size:  # the ratio D2_sim / D2_measured would be inf, NaN or negative
        raise DataFormatError(
            f"Argument `D2_measured` must be finite and > 0 (V²), but is {D2m[bad[0]]!r} at "
            f"index {bad[0]} (tau = {tau[bad[0]]:.6g} s)."
        )
    t0 = time.perf_counter()
    out = {"D2": [], "E": [], "G0": [], "Gh": [], "lim": [], "np": []}
    guess = G0
    for t in tau:
        lc = limit_cycle(
            network, task_a, task_b, tau=float(t), B=B, protocol=protocol,
            gate_limits=gate_limits, G0=guess, tol=tol,
        )  # fmt: skip
        guess = lc.G0
        out["D2"].append(lc.D**2)
        out["E"].append(lc.Ebar)
        out["G0"].append(lc.G0)
        out["Gh"].append(lc.G_half)
        Gt = lc.trajectory.G
        lim = False
        if gate_limits is not None:
            lo, hi = gate_limits[0] + AT_LIMIT_TOL, gate_limits[1] - AT_LIMIT_TOL
            lim = bool(np.any(Gt <= lo) or np.any(Gt >= hi))
        out["lim"].append(lim)
        out["np"].append(lc.n_periods)
    D2s = np.array(out["D2"])
    return MeasuredComparison(
        tau=_readonly(tau),
        D2_measured=_readonly(D2m),
        D2_sim=_readonly(D2s),
        ratio=_readonly(D2s / D2m),
        Ebar_sim=_readonly(out["E"]),
        G0=_readonly(out["G0"]),
        G_half=_readonly(out["Gh"]),
        at_limit=_readonly(out["lim"]),
        n_periods=_readonly(np.array(out["np"], dtype=int)),
        seconds=time.perf_counter() - t0,
    )


@dataclass(frozen=True, slots=True)
class CycleFailure:
    """One period at which a comparison has no result, and why.

    Attributes
    ----------
    tau : float
        The period, s.
    stage : {"theory", "simulation"}
        Which side failed: the linear theory has no closed orbit (common-nullspace drift, or a
        singular system), or the simulator found no limit cycle.
    reason : str
        The message of the error raised at that τ.
    """

    tau: float
    stage: Literal["theory", "simulation"]
    reason: str


@dataclass(frozen=True, slots=True)
class TheoryComparison:
    """Linear theory and nonlinear simulation of the same limit cycles.

    Attributes
    ----------
    tau : (T,) ndarray
        The periods at which both sides have a cycle, s (the requested τ minus ``failures``).
    D_theory, D_sim : (T,) ndarray
        Cycle span (4), V.
    D_ratio : (T,) ndarray
        ``D_sim / D_theory``.
    Ebar_theory, Ebar_sim : (T,) ndarray
        Combined error (A4), V².
    G0_theory, G0_sim, G_half_theory, G_half_sim : (T, n_gates) ndarray
        Orbit states at the start of task α and at τ/2, V.
    G0_difference : (T,) ndarray
        ``max(|G0_sim − G0_theory|, |G_half_sim − G_half_theory|)``, V (∞-norm).
    G_star_a, G_star_b : (n_gates,) ndarray
        The linearization points (nearest solutions to ``G_ref``).
    failures : tuple of CycleFailure
        The requested τ left out, each with the side that failed and the reason (empty when
        every τ succeeded).
    """

    tau: np.ndarray
    D_theory: np.ndarray
    D_sim: np.ndarray
    D_ratio: np.ndarray
    Ebar_theory: np.ndarray
    Ebar_sim: np.ndarray
    G0_theory: np.ndarray
    G0_sim: np.ndarray
    G_half_theory: np.ndarray
    G_half_sim: np.ndarray
    G0_difference: np.ndarray
    G_star_a: np.ndarray
    G_star_b: np.ndarray
    failures: tuple[CycleFailure, ...] = ()


def compare_theory_simulation(
    network: Network,
    task_a: Task,
    task_b: Task,
    tau: Sequence[float],
    *,
    B: Any,
    protocol: TrainingProtocol | None = None,
    G_ref: Any,
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
    tau : (T,) array_like
        Periods, s; each τ/2 a whole number of ``protocol.t_h``.
    B : (n_gates,) array_like
        Bias, V/s (a constant vector: the theory has no state-dependent bias).
    protocol : TrainingProtocol, optional
        Standard clamping only. The theory uses ``gamma = A0 / S`` and ``eta``.
    G_ref : (n_gates,) array_like
        Each task is linearized at the point of its solution manifold nearest ``G_ref``.
    gate_limits : (G_min, G_max) or None
        For the simulator only (the theory knows no limits); default none.
    tol : float
        Period-map residual of the simulated cycles, V.
    on_failure : {"record", "raise"}
        What to do at a τ where the theory has no closed orbit or the simulator finds no limit
        cycle: ``"record"`` leaves that τ out of the arrays and adds a `CycleFailure` (τ, side,
        reason) to ``failures`` so that the rest of the sweep survives; ``"raise"`` re-raises.

    Returns
    -------
    TheoryComparison

    Raises
    ------
    ProtocolError
        ``protocol`` not a `TrainingProtocol`, overclamping (the theory covers standard clamping), or an
        unknown ``on_failure``.
    TaskError
        Gates with different ``S`` (the theory takes one γ).
    ShapeError
        ``tau`` not 1-D.
    ConvergenceError, SingularSystemError
        Only with ``on_failure="raise"``: the first τ without a cycle on either side.

    Notes
    -----
    Each simulated cycle starts from the previous successful τ's cycle (the first from the
    joint linearization point of task α). A failed τ does not move that start.
    """
    from ..electrical.kirchhoff import free_state
    from ..theory.jacobian import linearize, nearest_solution
    from ..theory.orbits import periodic_orbit

    if on_failure not in ("record", "raise"):
        raise ProtocolError(
            f"Argument `on_failure` must be 'record' or 'raise', but is {on_failure!r}."
        )
    protocol = TrainingProtocol() if protocol is None else protocol
    if not isinstance(protocol, TrainingProtocol):
        raise ProtocolError(
            f"Argument `protocol` must be a TrainingProtocol, but is {type(protocol).__name__}."
        )
    if protocol.overclamp:
        raise ProtocolError(
            "The linear theory covers standard clamping only, but the protocol is 'overclamp'."
        )
    S = np.asarray(network.S)
    if not np.allclose(S, S[0], rtol=0, atol=0):
        raise TaskError("compare_theory_simulation needs equal S on every gate (one gamma).")
    gamma = protocol.A0 / float(S[0])
    lin = network.with_device(LinearDevice())
    Ga = nearest_solution(lin, task_a, G_ref)
    Gb = nearest_solution(lin, task_b, G_ref)
    la = linearize(lin, task_a, Ga, gamma=gamma, eta=protocol.eta)
    lb = linearize(lin, task_b, Gb, gamma=gamma, eta=protocol.eta)
    Bv = np.asarray(B, dtype=float)
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    if tau.ndim != 1:
        raise ShapeError(f"Argument `tau` must be 1-D (T,), but has shape {tau.shape}.")

    def Ebar_lin(G0, Gh) -> float:
        E = []
        for g in (Gh, G0):
            E.append(
                0.5 * sum(float(task_errors(free_state(lin, g, t).O, t)) for t in (task_a, task_b))
            )
        return 0.5 * (E[0] + E[1])

    res: dict[str, list] = {k: [] for k in ("Dt", "Ds", "Et", "Es", "G0t", "G0s", "Ght", "Ghs")}
    guess = Ga
    kept: list[float] = []
    failures: list[CycleFailure] = []
    for t in tau:
        stage: Literal["theory", "simulation"] = "theory"
        try:
            orb = periodic_orbit(la, lb, Bv, float(t))
            if np.any(orb.drift != 0):
                raise ConvergenceError(
                    f"The linear theory has no closed orbit at tau = {t:.6g} s (common-nullspace "
                    "drift); nothing to compare with."
                )
            stage = "simulation"
            lc = limit_cycle(
                network, task_a, task_b, tau=float(t), B=Bv, protocol=protocol,
                gate_limits=gate_limits, G0=guess, tol=tol,
            )  # fmt: skip
        except (ConvergenceError, SingularSystemError) as err:
            if on_failure == "raise":
                raise
            failures.append(CycleFailure(float(t), stage, str(err)))
            continue
        kept.append(float(t))
        guess = lc.G0
        res["Dt"].append(float(orb.span))
        res["Ds"].append(lc.D)
        res["Et"].append(Ebar_lin(orb.G0, orb.G_half))
        res["Es"].append(lc.Ebar)
        res["G0t"].append(orb.G0)
        res["G0s"].append(lc.G0)
        res["Ght"].append(orb.G_half)
        res["Ghs"].append(lc.G_half)
    n = network.n_gates
    G0t, G0s = (np.array(res[k], dtype=float).reshape(-1, n) for k in ("G0t", "G0s"))
    Ght, Ghs = (np.array(res[k], dtype=float).reshape(-1, n) for k in ("Ght", "Ghs"))
    diff = np.maximum(np.max(np.abs(G0s - G0t), axis=1), np.max(np.abs(Ghs - Ght), axis=1))
    Dt, Ds = np.array(res["Dt"], dtype=float), np.array(res["Ds"], dtype=float)
    return TheoryComparison(
        tau=_readonly(kept, float),
        D_theory=_readonly(Dt),
        D_sim=_readonly(Ds),
        D_ratio=_readonly(Ds / Dt),
        Ebar_theory=_readonly(res["Et"], float),
        Ebar_sim=_readonly(res["Es"], float),
        G0_theory=_readonly(G0t),
        G0_sim=_readonly(G0s),
        G_half_theory=_readonly(Ght),
        G_half_sim=_readonly(Ghs),
        G0_difference=_readonly(diff),
        G_star_a=_readonly(Ga),
        G_star_b=_readonly(Gb),
        failures=tuple(failures),
    )
