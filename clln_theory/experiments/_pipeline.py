"""The steps of the reproduction pipeline (engine of `clln_theory.experiments.reproduction`):
the bias inference from the description's measurements, the closed orbits with their D², Ē and
gate-box flags, the measured curves aligned to the table's periods, and the simulator columns.
Every function takes a validated `ExperimentConfig` and checked values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import data as _data
from ..electrical import free_state
from ..errors import CLLNError, DataFormatError, TaskError
from ..inference import (
    BiasEstimate,
    CalibratedTask,
    Projection,
    calibrate_to_line,
    combine_projections,
    cycle_drift_projection,
    cycle_stationary_projection,
    drift_velocity,
    stationary_projection,
)
from ..metrics import combined_error, task_error, two_task_error
from ..model import Task
from ..model.devices import device_named
from ..simulator import TrainingProtocol
from ..theory import Orbit, periodic_orbit
from .compare import SimulatedPeriods, simulate_periods
from .specs import BiasMeasurement, ExperimentConfig, TaskSpec

__all__ = [
    "NONPOSITIVE_NOTE",
    "OUT_OF_BOX_NOTE",
    "Theory",
    "aligned",
    "dense_curve",
    "infer_bias",
    "nominal_task",
    "notes",
    "require_files",
    "simulate",
    "theory",
]

_TAU_MATCH_RTOL = 1e-6
"""A period of the table matches a measured period within this relative distance: the published
files print τ with 4-5 significant digits, and a user's list copies them, so 1e-6 accepts any
faithful copy while two distinct measured periods (>= 1 % apart) never match each other."""

OUT_OF_BOX_NOTE = "orbit leaves the gate box"
NONPOSITIVE_NOTE = "Ebar NaN: a conductance <= 0 on the orbit (gate below threshold)"


@dataclass(frozen=True, slots=True)
class Theory:
    """The closed orbits (D11) at a list of periods and what the table reads from them."""

    orbit: Orbit
    D2: np.ndarray  # (T,) squared span (4), V²
    Ebar: np.ndarray  # (T,) combined error (A4), V², NaN where a conductance is <= 0
    inside: np.ndarray  # (T,) bool: the orbit stays in the gate box
    lo: np.ndarray  # (T, n) smallest gate along the orbit, V
    hi: np.ndarray  # (T, n) largest gate along the orbit, V


def _cycle_projection(
    m: BiasMeasurement, t: CalibratedTask, data_dir: str | Path | None, also: Path | None
) -> Projection:
    # the config reader gives every cycle measurement a file and a period, a cycle-drift a
    # (start, stop) window and a cycle-stationary a sample
    assert m.file is not None and m.tau is not None
    cyc = _data.load_cycle(_data.resolve(data_dir, m.file, also=also), tau=m.tau)
    if m.kind == "cycle-drift":
        assert isinstance(m.window, tuple)
        return cycle_drift_projection(cyc.G, tau=cyc.tau, window=m.window, source=m.file)
    assert m.sample is not None
    if not 0 <= m.sample < cyc.G.shape[0]:
        raise DataFormatError(
            f"Sample {m.sample} is outside '{m.file}', which has {cyc.G.shape[0]} samples."
        )
    return cycle_stationary_projection(t.linear, cyc.G[m.sample], source=m.file)


def infer_bias(
    cfg: ExperimentConfig, tasks: tuple[CalibratedTask, ...], data_dir: str | Path | None
) -> BiasEstimate:
    by_name = {t.name: t for t in tasks}
    also = cfg.folder
    projections: list[Projection] = []
    for m in cfg.bias.measurements:
        t = by_name[m.task]
        if m.kind in ("cycle-drift", "cycle-stationary"):
            projections.append(_cycle_projection(m, t, data_dir, also))
        elif m.kind == "drift":
            # the config reader gives a drift measurement a file and an integer window
            assert m.file is not None and isinstance(m.window, int)
            dt = _data.load_drift_test(_data.resolve(data_dir, m.file, also=also))
            v = drift_velocity(dt.times, dt.G, window=m.window, skip=m.skip, source=m.file)
            # "line": project on the null direction of M (the solution line at G*)
            d = None if m.direction == "drift" else t.linear.eigvecs[:, 0]
            projections.append(v.projection(d))
        else:  # stationary point of a task without a null direction
            if m.point is not None:
                G = np.array(m.point)
            else:  # the config reader gives a point or a file with a sample
                assert m.file is not None and m.sample is not None
                cyc = _data.load_cycle(_data.resolve(data_dir, m.file, also=also), tau=1.0)
                if not 0 <= m.sample < cyc.G.shape[0]:
                    raise DataFormatError(
                        f"Sample {m.sample} is outside '{m.file}', which has {cyc.G.shape[0]}."
                    )
                G = cyc.G[m.sample]
            src = m.file or f"stationary point {list(G)}"
            projections.append(stationary_projection(t.linear, G, source=src))
    return combine_projections(projections)


def _box_flags(orbit: Orbit, box, samples: int):
    traj = orbit.trajectory(samples).G  # (T, m, n)
    lo, hi = traj.min(axis=1), traj.max(axis=1)
    if box is None:
        inside = np.ones(lo.shape[0], dtype=bool)
    else:
        inside = np.all(lo >= box[0], axis=1) & np.all(hi <= box[1], axis=1)
    return inside, lo, hi


def _two_task_error(cfg: ExperimentConfig, tasks: tuple[CalibratedTask, ...]):
    """``G -> E(G)`` of (A3) for gate vectors (..., n), V²."""
    net = cfg.network
    a, b = tasks[0].task, tasks[1].task
    if a.input_nodes != b.input_nodes:
        return lambda G: two_task_error(tasks[0].errors(net, G), tasks[1].errors(net, G))
    # the same imposed nodes: one free solve per gate vector serves the points of both tasks
    both = Task(a.points + b.points, cfg.output)
    n_a = a.n_points

    def E(G: Any) -> Any:
        flat = np.asarray(G, dtype=float).reshape(-1, net.n_gates)
        O = np.array([free_state(net, g, both).O for g in flat])
        Ea = task_error(O[:, :n_a], a.labels, kind=a.kind)
        Eb = task_error(O[:, n_a:], b.labels, kind=b.kind)
        return two_task_error(Ea, Eb)

    return E


def theory(
    cfg: ExperimentConfig, tasks: tuple[CalibratedTask, ...], B: Any, tau: Any, samples: int
) -> Theory:
    orbit = periodic_orbit(tasks[0].linear, tasks[1].linear, B=B, tau=tau)
    if np.any(np.abs(orbit.drift) > 0):
        raise TaskError(
            "The two tasks share a null direction, so the orbit drifts without closing; "
            f"drift {np.asarray(orbit.drift)[0].tolist()} V/s. Check the tasks of the description."
        )
    D2 = np.asarray(orbit.span) ** 2  # (4), squared as in the data files
    E = _two_task_error(cfg, tasks)
    G_half, G0 = np.asarray(orbit.G_half), np.asarray(orbit.G0)
    try:
        Ebar = combined_error(E(G_half), E(G0))  # (A4): t = tau/2 and t = tau (= 0)
    except CLLNError:  # some orbit drives a conductance <= 0: evaluate period by period
        Ebar = np.full(D2.shape, np.nan)
        for k in range(D2.size):
            try:
                Ebar[k] = combined_error(E(G_half[k : k + 1]), E(G0[k : k + 1]))[0]
            except CLLNError:
                pass  # stays NaN; the row's note says why
    inside, lo, hi = _box_flags(orbit, cfg.gate_box, samples)
    return Theory(orbit=orbit, D2=D2, Ebar=Ebar, inside=inside, lo=lo, hi=hi)


def notes(inside: np.ndarray, Ebar: np.ndarray) -> tuple[str, ...]:
    out = []
    for ok, e in zip(inside, Ebar, strict=True):
        parts = ([] if ok else [OUT_OF_BOX_NOTE]) + ([] if np.isfinite(e) else [NONPOSITIVE_NOTE])
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


def dense_curve(cfg, tasks, B, taus, grid_points: int, cycle_samples: int) -> dict:
    """The theory on a log-spaced τ grid spanning the table and the drawn cycles."""
    if not grid_points:
        return {}
    cyc_taus = list(cfg.sweep.cycles)
    lo = min([taus.min(), *cyc_taus]) / 1.5
    hi = max([taus.max(), *cyc_taus]) * 1.5
    g = np.geomspace(lo, hi, int(grid_points))
    biased = theory(cfg, tasks, B, g, cycle_samples)
    free = theory(cfg, tasks, np.zeros_like(B), g, cycle_samples)
    return {
        "tau": g,
        "D2_theory": biased.D2,
        "Ebar_theory": biased.Ebar,
        "in_box": biased.inside,
        "D2_bias_free": free.D2,
        "Ebar_bias_free": free.Ebar,
    }


def require_files(cfg: ExperimentConfig, data_dir: Path) -> None:
    """All data files of the description exist, or one sentence naming the missing ones."""
    also = cfg.folder
    files = [cfg.data.D2, cfg.data.Ebar, *cfg.data.cycles, *(m.file for m in cfg.bias.measurements)]
    missing = []
    for f in dict.fromkeys(f for f in files if f):
        try:
            _data.resolve(data_dir, f, also=also)
        except DataFormatError:
            missing.append(f)
    if missing:
        raise DataFormatError(
            f"The data folder '{data_dir}' lacks {len(missing)} file(s) of {cfg.name!r}: "
            f"{', '.join(repr(m) for m in missing)}; they are published in the paper's supporting "
            "data (doi:10.5281/zenodo.15692010, github.com/maguzj/imperfect-learning-physical-"
            "systems): download it and pass its 'imperfect-learning-physical-systems' folder with "
            "--data-dir or CLLN_DATA_DIR."
        )


def simulate(
    cfg: ExperimentConfig,
    nominal: tuple[Task, ...],
    tasks: tuple[CalibratedTask, ...],
    B: np.ndarray,
    taus: np.ndarray,
) -> tuple[SimulatedPeriods, tuple[Task, ...]]:
    """The simulator at every period: tasks recalibrated on its device, then limit cycles."""
    sim = cfg.simulate
    assert sim is not None  # reproduce() refuses simulate=True without a [simulate] section
    net = cfg.network.with_device(device_named(sim.device, name_of="simulate.device"))
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
        sim_tasks.append(
            calibrate_to_line(net, task, lines, fit_input=spec.fit_input, centre=ct.G_star)
        )
    protocol = TrainingProtocol(A0=cfg.rate.gamma * float(S_all[0]), eta=cfg.eta, t_h=sim.t_h)
    G0 = sim.G0 if sim.G0 is not None else tasks[0].G_star
    result = simulate_periods(
        net, sim_tasks[0], sim_tasks[1], tau=taus, B=B if sim.B is None else np.array(sim.B),
        protocol=protocol, gate_limits=sim.gate_limits, G0=G0, tol=sim.tol,
        max_periods=sim.max_periods,
    )  # fmt: skip
    return result, tuple(sim_tasks)


def nominal_task(cfg: ExperimentConfig, spec: TaskSpec) -> Task:
    """The task a description names, with its nominal (uncalibrated) points."""
    return Task(spec.points, cfg.output, name=spec.name)
