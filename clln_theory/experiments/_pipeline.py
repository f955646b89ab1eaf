"""The steps of the reproduction pipeline (engine of `clln_theory.experiments.reproduction`):
the bias inference from the description's measurements, the closed orbits with their D², Ē and
gate-box flags, the measured curves aligned to the table's periods, and the simulator's inputs.

With a gate box (``theory.gate_box``) the theory columns come from the limit cycle of the
projected dynamics in the box (the theory's box engines ``_box_build``, ``_box``) at every
period: where the unconstrained orbit stays inside (``in_box``) that cycle *is* the unconstrained
orbit, handed to the box engine as its candidate and returned as is, so the numbers there are
those of the orbit without limits, bit for bit; elsewhere the cycle saturates (``saturated``:
some gate pinned at a limit during the period) and D², Ē are those of the saturated cycle.

Every function takes a validated `ExperimentConfig` and checked values: the face reads and
checks the measured files and the arguments of `reproduce` once; the steps here call the engines
of the theory (`_orbit_solve`, `_tasks`, `_box_build`, `_box`), electrical (`_force`), inference
(`_drift`, `_calibrate`) rooms and the metrics engine, never a public function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import readonly
from .._metrics import mean_error, task_error_of
from ..electrical._force import solve_free
from ..errors import CLLNError, TaskError
from ..inference import BiasEstimate, CalibratedTask, Projection
from ..inference._calibrate import calibrated_task, fit_to_lines, require_conducting
from ..inference._drift import (
    MAX_CONDITION,
    cycle_drift_of,
    cycle_stationary_of,
    drift_projection,
    solve_projections,
    stationary_of,
    window_velocity,
)
from ..model import Network, Task
from ..model.devices import DEVICES
from ..simulator import TrainingProtocol
from ..theory import BoxOrbit, LinearTask, Orbit
from ..theory._box import box_task, sample
from ..theory._box import flow as box_flow
from ..theory._box_build import box_cycle_orbits, box_orbit_from
from ..theory._orbit_build import orbit_from
from ..theory._orbit_solve import dense_orbit
from ..theory._phase import sample_pair
from .specs import ExperimentConfig, TaskSpec

__all__ = [
    "NONPOSITIVE_NOTE",
    "OUT_OF_BOX_NOTE",
    "SATURATED_NOTE",
    "Measured",
    "SimulationInputs",
    "Theory",
    "aligned",
    "box_orbits",
    "box_samples",
    "calibrated",
    "closed_orbits",
    "dense_curve",
    "in_metric",
    "infer_bias",
    "nominal_task",
    "notes",
    "simulation_inputs",
    "theory",
    "two_task_error_of",
]

#: The measured data of one bias measurement of a description, read and checked by the face:
#: the samples (N, n) of a cycle for ``cycle-drift``, the sample (n,) for ``cycle-stationary`` and
#: ``stationary``, ``(times, G)`` for ``drift``.
Measured = np.ndarray | tuple[np.ndarray, np.ndarray]

_TAU_MATCH_RTOL = 1e-6
"""A period of the table matches a measured period within this relative distance: the published
files print τ with 4-5 significant digits, and a user's list copies them, so 1e-6 accepts any
faithful copy while two distinct measured periods (>= 1 % apart) never match each other."""

OUT_OF_BOX_NOTE = "orbit leaves the gate box"
SATURATED_NOTE = "unconstrained orbit leaves the gate box: theory of the saturated cycle"
NONPOSITIVE_NOTE = "Ebar NaN: a conductance <= 0 on the orbit (gate below threshold)"

_FIT_STEP = 1.0
"""V: the simulator's calibration points sit ±1 V along each measured line around the task's G*
(`calibrate_to_line`'s default ``step``)."""


@dataclass(frozen=True, slots=True)
class Theory:
    """The closed orbits (D11) at a list of periods and what the table reads from them: those of
    the cycle in the gate box where the description has one, else of the orbit without limits."""

    orbit: Orbit  # the orbit without limits
    box_orbit: BoxOrbit | None  # the cycle in the gate box (None without a box)
    D2: np.ndarray  # (T,) squared span (4), V²
    Ebar: np.ndarray  # (T,) combined error (A4), V², NaN where a conductance is <= 0
    inside: np.ndarray  # (T,) bool: the orbit without limits closes and stays in the gate box
    saturated: np.ndarray  # (T,) bool: some gate is pinned at a limit during the cycle
    lo: np.ndarray  # (T, n) smallest gate along the theory's orbit, V
    hi: np.ndarray  # (T, n) largest gate along the theory's orbit, V
    D2_unconstrained: np.ndarray  # (T,) D² of the orbit without limits, V²
    Ebar_unconstrained: np.ndarray  # (T,) Ē of the orbit without limits, V²
    starts: np.ndarray | None = None  # (T, K, n) K tasks or a metric: each stretch start, V
    #: ``theory.relinearize``: per period the `Relinearized` result, or why it failed (str)
    relinearized: tuple[Any, ...] | None = None
    D2_at_G_star: np.ndarray | None = None  # (T,) with ``relinearized``: D² with M at G*, V²


def calibrated(
    cfg: ExperimentConfig, nominal: tuple[Task, ...], gamma: float, eta: float
) -> tuple[CalibratedTask, ...]:
    """Every task of the description calibrated to its measured lines and linearized (the
    engine of `clln_theory.inference.calibrate_task`), with the checked ``gamma`` (r γ, Ω/s) and
    ``eta`` of the description."""
    ref = None if cfg.reference is None else np.array(cfg.reference, dtype=float)
    out = []
    for spec, task in zip(cfg.tasks, nominal, strict=True):
        G_star = None if spec.G_star is None else np.array(spec.G_star, dtype=float)
        lines = list(spec.lines)
        out.append(
            calibrated_task(
                cfg.network, task, lines, cfg.task_output, gamma, eta, spec.fit_input, ref, G_star
            )
        )
    return tuple(out)


def infer_bias(
    cfg: ExperimentConfig, tasks: tuple[CalibratedTask, ...], measured: tuple[Measured, ...]
) -> BiasEstimate:
    """The bias from the description's measurements (App. E), one projection per measurement;
    ``measured`` holds their data, read and checked by the face (see `Measured`)."""
    by_name = {t.name: t for t in tasks}
    projections: list[Projection] = []
    for m, data in zip(cfg.bias.measurements, measured, strict=True):
        t = by_name[m.task]
        if m.kind == "cycle-drift":
            assert m.file is not None and isinstance(m.window, tuple)  # the config reader
            assert isinstance(data, np.ndarray) and m.tau is not None
            start, stop = m.window
            projections.append(cycle_drift_of(data, m.tau, start, stop, m.file))
        elif m.kind == "cycle-stationary":
            assert m.file is not None and isinstance(data, np.ndarray)
            projections.append(cycle_stationary_of(t.linear, data, m.file))
        elif m.kind == "drift":
            # the config reader gives a drift measurement a file and an integer window
            assert m.file is not None and isinstance(m.window, int) and isinstance(data, tuple)
            times, G = data
            v = window_velocity(times, G, m.skip, m.window)
            # "line": project on the null direction of M (the solution line at G*)
            d = None if m.direction == "drift" else t.linear.eigvecs[:, 0]
            projections.append(drift_projection(v, d, m.file))
        else:  # stationary point of a task without a null direction
            assert isinstance(data, np.ndarray)
            src = m.file or f"stationary point {list(np.array(m.point))}"
            projections.append(stationary_of(t.linear, data, src))
    return solve_projections(tuple(projections), MAX_CONDITION)


def closed_orbits(task_a: LinearTask, task_b: LinearTask, B: np.ndarray, taus: np.ndarray) -> Orbit:
    """The closed orbits (D11) of two dense checked tasks at the periods ``taus`` (T,): the
    float64 route of `periodic_orbit` (``G_ref`` between the two G*, the larger ``rate_tol``)."""
    B, taus = np.array(B, dtype=float), np.array(taus, dtype=float)
    G_ref = 0.5 * (task_a.G_star + task_b.G_star)
    tol = max(task_a.rate_tol, task_b.rate_tol)
    d = dense_orbit(task_a, task_b, B, taus, G_ref, tol, dps=None, rtol=None)
    return orbit_from(task_a, task_b, B, taus, False, d)


def _gate_range(orbit: Orbit, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest gate (T, n) over ``samples`` equally spaced times of each period:
    (D5) for task alpha from ``G0`` over ``[0, tau/2]``, for task beta from ``G_half`` after."""
    tau = np.atleast_1d(np.asarray(orbit.tau, dtype=float))
    G0, G_half = np.atleast_2d(orbit.G0), np.atleast_2d(orbit.G_half)
    drift = np.atleast_2d(orbit.drift)
    t_abs = tau[:, None] * np.linspace(0.0, 1.0, samples)[None, :]
    G = sample_pair(orbit.task_a, orbit.task_b, orbit.B, G0, G_half, drift, tau, t_abs)
    return G.min(axis=1), G.max(axis=1)


def _box_flags(orbit: Orbit, box, samples: int):
    lo, hi = _gate_range(orbit, samples)
    if box is None:
        inside = np.ones(lo.shape[0], dtype=bool)
    else:
        inside = np.all(lo >= box[0], axis=1) & np.all(hi <= box[1], axis=1)
    return inside, lo, hi


def _outputs(network: Network, G: np.ndarray, task: Task) -> np.ndarray:
    """Free outputs of ``task``'s points at the gate vector ``G`` (n,) (a `DeviceError` where a
    learning edge does not conduct, as `free_state` refuses)."""
    require_conducting(network, G)
    return solve_free(network, G, task)[1].O


def two_task_error_of(
    network: Network, tasks: tuple[CalibratedTask, ...], output: Any
) -> Callable[[np.ndarray], Any]:
    """``G -> E(G)`` of (A3) for gate vectors (..., n), V²: the free states of the fitted tasks
    on the linear ``network``."""
    a, b = tasks[0].task, tasks[1].task
    if a.input_nodes != b.input_nodes:

        def errors(task: Task, G: np.ndarray) -> np.ndarray:  # `CalibratedTask.errors`
            flat = G.reshape(-1, G.shape[-1])
            E = [task_error_of(_outputs(network, g, task), task.labels, False) for g in flat]
            return np.array(E).reshape(G.shape[:-1])

        def E_separate(G: Any) -> Any:
            G = np.asarray(G, dtype=float)
            return mean_error(errors(a, G), errors(b, G))  # (A3)

        return E_separate
    # the same imposed nodes: one free solve per gate vector serves the points of both tasks
    both = Task(a.points + b.points, output)
    n_a = a.n_points

    def E(G: Any) -> Any:
        flat = np.asarray(G, dtype=float).reshape(-1, network.n_gates)
        O = np.array([_outputs(network, g, both) for g in flat])
        Ea = task_error_of(O[:, :n_a], a.labels, a.kind == "classification")
        Eb = task_error_of(O[:, n_a:], b.labels, b.kind == "classification")
        return mean_error(Ea, Eb)  # (A3)

    return E


def _ebar(E: Callable[[np.ndarray], Any], G_half: np.ndarray, G0: np.ndarray) -> np.ndarray:
    """(A4) at ``t = tau/2`` and ``t = tau`` (= 0) of the orbits (T, n), V²; NaN where some
    orbit drives a conductance <= 0 (evaluated period by period then)."""
    if G0.shape[0] == 0:
        return np.zeros(0)
    try:
        return np.asarray(mean_error(E(G_half), E(G0)), dtype=float)
    except CLLNError:
        out = np.full(G0.shape[0], np.nan)
        for k in range(out.size):
            try:
                out[k] = mean_error(E(G_half[k : k + 1]), E(G0[k : k + 1]))[0]
            except CLLNError:
                pass  # stays NaN; the row's note says why
        return out


def box_orbits(
    task_a: LinearTask,
    task_b: LinearTask,
    B: np.ndarray,
    taus: np.ndarray,
    box: Any,
    orbit: Orbit | None,
) -> BoxOrbit:
    """The cycles in the gate box ``box`` (lo, hi: checked numbers or (n,) arrays, V) at the
    periods ``taus`` (T,): the box engine of `periodic_orbit(..., box=)`, with the orbit without
    limits ``orbit`` (from `closed_orbits`, same periods; None if there is none) as its
    candidate where it closes (no drift)."""
    n = task_a.n
    lo, hi = (readonly(np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()) for v in box)
    tol = max(task_a.rate_tol, task_b.rate_tol)
    unc = None
    if orbit is not None and not np.any(np.asarray(orbit.drift)):
        unc = np.stack([np.atleast_2d(orbit.G0), np.atleast_2d(orbit.G_half)], axis=1)
    H = np.stack([taus / 2, taus / 2], axis=1)
    found = box_cycle_orbits((task_a, task_b), B, H, lo, hi, tol, unc)
    return box_orbit_from(task_a, task_b, B, taus, False, (lo, hi), tol, found)


def box_samples(orbit: BoxOrbit, k: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Gates (samples, n) and their pinned flags along period ``k`` of a sweep of cycles in the
    box, at ``samples`` equally spaced times from 0 to tau (the engine of `BoxOrbit.trajectory`:
    each half period's projected flow in closed form)."""
    lo, hi = orbit.box
    tau = float(np.asarray(orbit.tau)[k])
    t = tau * np.linspace(0.0, 1.0, samples)
    first = t <= tau / 2
    G = np.empty((samples, lo.size))
    pinned = np.zeros((samples, lo.size), dtype=bool)
    starts = (np.asarray(orbit.G0)[k], np.asarray(orbit.G_half)[k])
    for j, (task, sel) in enumerate(((orbit.task_a, first), (orbit.task_b, ~first))):
        bt = box_task(np.asarray(task.M, dtype=float), task.G_star, orbit.B, lo, hi, orbit.rate_tol)
        fl = box_flow(bt, starts[j], tau / 2, False)
        local = t[sel] - j * tau / 2
        G[sel] = sample(bt, fl.pieces, local)
        ends = np.array([p.t_end for p in fl.pieces])
        idx = np.clip(np.searchsorted(ends, local, side="left"), 0, len(fl.pieces) - 1)
        pinned[sel] = np.stack([p.side != 0 for p in fl.pieces])[idx]
    return G, pinned


def theory(
    cfg: ExperimentConfig,
    tasks: tuple[CalibratedTask, ...],
    E: Callable[[np.ndarray], Any],
    B: np.ndarray,
    tau: np.ndarray,
    samples: int,
    d: np.ndarray | None = None,
) -> Theory:
    """The closed orbits at the periods ``tau`` (T,) and their D², Ē (with ``E`` of
    `two_task_error_of`) and gate-box flags from ``samples`` samples per period; with a gate box
    D², Ē and the gate range are those of the cycle in the box (see the module docstring).
    With the metric ``d`` of a differential output (`clln_theory.experiments._metric_route`)
    the tasks' ``linear`` are in ``y = d G``: the orbits are computed there (``d B``, ``d box``)
    and every state is mapped back (``G = y / d``) before D², Ē, the range and the starts."""
    B, gate_box = in_metric(d, B, cfg.gate_box)
    orbit = closed_orbits(tasks[0].linear, tasks[1].linear, B, tau)
    if gate_box is None and np.any(np.abs(orbit.drift) > 0):
        raise TaskError(
            "The two tasks share a null direction, so the orbit drifts without closing; "
            f"drift {np.asarray(orbit.drift)[0].tolist()} V/s. Check the tasks of the description, "
            "or give theory.gate_box: in the box the gates saturate and the cycle closes."
        )
    G_half, G0 = _in_G(orbit.G_half, d), _in_G(orbit.G0, d)
    D2u = np.asarray(orbit.span) ** 2 if d is None else _D2(G_half, G0)  # (4), squared
    inside, lo, hi = _box_flags(orbit, gate_box, samples)
    lo, hi = _in_G(lo, d), _in_G(hi, d)  # d > 0: the order of every gate is kept
    if gate_box is None:
        Ebar = _ebar(E, G_half, G0)
        sat = np.zeros(D2u.shape, dtype=bool)
        return Theory(
            orbit, None, D2u, Ebar, inside, sat, lo, hi, D2u, Ebar, _starts(G0, G_half, d)
        )
    box = box_orbits(tasks[0].linear, tasks[1].linear, B, tau, gate_box, orbit)
    inside = np.array(box.unconstrained_in_box, dtype=bool)  # the engine's exact verdict
    out = ~inside  # the rows of the saturated cycles (the others are the orbit without limits)
    bG_half, bG0 = _in_G(box.G_half, d), _in_G(box.G0, d)
    D2 = np.where(inside, D2u, np.asarray(box.span) ** 2 if d is None else _D2(bG_half, bG0))
    Ebar, Ebar_u = np.empty(D2.shape), np.empty(D2.shape)
    Ebar[inside] = Ebar_u[inside] = _ebar(E, G_half[inside], G0[inside])
    if np.any(out):
        Ebar[out] = _ebar(E, bG_half[out], bG0[out])
        Ebar_u[out] = _ebar(E, G_half[out], G0[out])
        for k in np.flatnonzero(out):
            G = _in_G(box_samples(box, int(k), samples)[0], d)
            lo[k], hi[k] = G.min(axis=0), G.max(axis=0)
    sat = np.array(box.saturated, dtype=bool)
    starts = _starts(bG0, bG_half, d)  # the cycle in the box (the orbit itself where inside)
    return Theory(orbit, box, D2, Ebar, inside, sat, lo, hi, D2u, Ebar_u, starts)


def in_metric(d: np.ndarray | None, B: np.ndarray, box) -> tuple[np.ndarray, Any]:
    """``B`` and the gate box (lo, hi or None) in the metric's coordinates (``d B``, ``d lo``,
    ``d hi``); unchanged without a metric (``d`` None)."""
    if d is None:
        return B, box
    if box is None:
        return d * B, None
    return d * B, (d * float(box[0]), d * float(box[1]))


def _in_G(x: Any, d: np.ndarray | None) -> np.ndarray:
    """States (..., n) of the metric's coordinates in gate voltages (unchanged without ``d``)."""
    return np.asarray(x) if d is None else np.asarray(x) / d


def _D2(G_half: np.ndarray, G0: np.ndarray) -> np.ndarray:
    """The squared span (4) ``|G(tau/2) - G(tau)|^2`` per period (T,), V²."""
    return np.sum((np.atleast_2d(G_half) - np.atleast_2d(G0)) ** 2, axis=-1)


def _starts(G0: np.ndarray, G_half: np.ndarray, d: np.ndarray | None) -> np.ndarray | None:
    """(T, 2, n) the start of each task's stretch in ``G`` with a metric (the simulator starts
    there, `clln_theory.experiments.schedules`); None without (the orbits are in ``G``)."""
    return None if d is None else np.stack([np.atleast_2d(G0), np.atleast_2d(G_half)], axis=1)


def notes(inside: np.ndarray, Ebar: np.ndarray, boxed: bool = False) -> tuple[str, ...]:
    """Per period: why the row is flagged (``boxed``: the theory is the cycle in the box)."""
    out = []
    leaves = SATURATED_NOTE if boxed else OUT_OF_BOX_NOTE
    for ok, e in zip(inside, Ebar, strict=True):
        parts = ([] if ok else [leaves]) + ([] if np.isfinite(e) else [NONPOSITIVE_NOTE])
        out.append("; ".join(parts))
    return tuple(out)


def aligned(curve, tau) -> np.ndarray:
    out = np.full(tau.shape, np.nan)
    if curve is None:
        return out
    for k, t in enumerate(tau):
        hit = np.flatnonzero(np.isclose(curve.tau, t, rtol=_TAU_MATCH_RTOL, atol=0.0))
        if hit.size:
            out[k] = curve.value[hit[0]]
    return out


def dense_curve(cfg, tasks, E, B, taus, grid_points: int, cycle_samples: int, d=None) -> dict:
    """The theory on a log-spaced τ grid spanning the table and the drawn cycles (``d``: the
    metric of a differential output, as `theory` takes it)."""
    if not grid_points:
        return {}
    cyc_taus = list(cfg.sweep.cycles)
    lo = min([taus.min(), *cyc_taus]) / 1.5
    hi = max([taus.max(), *cyc_taus]) * 1.5
    g = np.geomspace(lo, hi, int(grid_points))
    biased = theory(cfg, tasks, E, B, g, cycle_samples, d)
    free = theory(cfg, tasks, E, np.zeros_like(B), g, cycle_samples, d)
    grid = {
        "tau": g,
        "D2_theory": biased.D2,
        "Ebar_theory": biased.Ebar,
        "in_box": biased.inside,
        "D2_bias_free": free.D2,
        "Ebar_bias_free": free.Ebar,
    }
    if biased.box_orbit is not None:
        grid["saturated"] = biased.saturated
        grid["D2_unconstrained"] = biased.D2_unconstrained
        grid["Ebar_unconstrained"] = biased.Ebar_unconstrained
    return grid


@dataclass(frozen=True, slots=True)
class SimulationInputs:
    """What the simulator runs at every period of a reproduction (``[simulate]``)."""

    network: Network  # the description's network on the simulator's device
    tasks: tuple[Task, ...]  # recalibrated to the measured lines on that device
    protocol: TrainingProtocol
    G0: Any  # first guess of the first period, V
    B: np.ndarray  # bias, V/s


def simulation_inputs(
    cfg: ExperimentConfig,
    nominal: tuple[Task, ...],
    tasks: tuple[CalibratedTask, ...],
    B: np.ndarray,
) -> SimulationInputs:
    """The simulator's network, tasks (recalibrated on its device), protocol, start and bias."""
    sim = cfg.simulate
    assert sim is not None  # reproduce() refuses simulate=True without a [simulate] section
    net = cfg.network.with_device(DEVICES[sim.device]())  # the config reader checked the name
    S_all = np.unique(net.S)
    if S_all.size != 1:
        raise TaskError(
            f"The simulator of {cfg.name!r} needs one S on every learning edge (its learning rate "
            f"A0 = r γ S), but they have {S_all.tolist()}."
        )
    sim_tasks = []
    for spec, task, ct in zip(cfg.tasks, nominal, tasks, strict=True):
        if spec.fit_input is None or all(ln is None for ln in spec.lines):
            sim_tasks.append(task)  # nothing measured to calibrate to
            continue
        lines = [None if ln is None else (ln.a, ln.c) for ln in spec.lines]
        centre = np.array(ct.G_star, dtype=float)
        sim_tasks.append(fit_to_lines(net, task, lines, spec.fit_input, centre, _FIT_STEP))
    protocol = TrainingProtocol(A0=cfg.rate.gamma * float(S_all[0]), eta=cfg.eta, t_h=sim.t_h)
    G0 = sim.G0 if sim.G0 is not None else tasks[0].G_star
    B_sim = B if sim.B is None else np.array(sim.B)
    return SimulationInputs(net, tuple(sim_tasks), protocol, G0, B_sim)


def nominal_task(cfg: ExperimentConfig, spec: TaskSpec) -> Task:
    """The task a description names, with its nominal (uncalibrated) points."""
    kind: Any = spec.kind  # the config reader checked it
    return Task(spec.points, cfg.task_output, kind=kind, name=spec.name)
