"""The paper's pipeline, end to end: experiment description -> limit cycles, D², Ē (App. D, E).

:func:`reproduce` takes an :class:`~clln_theory.experiments.config.ExperimentConfig` (a TOML file or preset)
and the folder of measured data, and runs the pipeline of Appendix E of the paper with
DESIGN.md §4:

1. Calibrate every point that has a measured solution line (effective input and label of the
   linear model, :func:`~clln_theory.inference.calibration.calibrate_point`); linearize a single-point task at
   the point of its line nearest the reference point, a two-point task at the intersection of its
   two lines.
2. ``M_μ = (r γ / η) ∂²C_μ/∂G²`` at ``G*_μ`` from the package's Hessian
   (:func:`clln_theory.theory.jacobian.linearize`); with η = 1 this is the paper's (D2).
3. The bias: given, or inferred from drift tests / stationary points (:mod:`clln_theory.inference.drift`).
4. For every period: the closed orbit (D11) (:func:`~clln_theory.theory.orbits.periodic_orbit`), the
   squared span D² (4), the combined error Ē (A4) against the fitted labels with the linear
   network's outputs, and whether the orbit stays in the gate box.
5. The same closed orbit with ``B = 0`` (same calibrated tasks, same periods): the paper's
   zero-bias ("perfect") prediction, the dashed line of Fig. 3A,B. For compatible tasks it sits at
   the joint solution (D = 0, Ē = error there); for incompatible ones it runs between G*_α and the
   nearest point of β's solution set, with a smaller small-τ slope and a lower Ē plateau.

The result, :class:`Reproduction`, holds the theory next to the measurements and writes JSON and
CSV tables; :func:`clln_theory.plotting.figures.plot_reproduction` draws the Fig. 2-like figure.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import data as _data
from ..electrical.kirchhoff import free_state
from ..errors import ConfigError, DataFormatError
from ..inference.calibration import (
    CalibratedPoint,
    SolutionLine,
    calibrate_point,
    model_solution_line,
)
from ..inference.drift import (
    BiasEstimate,
    Projection,
    combine_projections,
    drift_velocity,
    stationary_projection,
)
from ..model.network import Network
from ..model.tasks import DataPoint, Task
from ..theory.jacobian import linearize
from ..theory.linear import LinearTask
from ..theory.orbits import Orbit, periodic_orbit
from .config import ExperimentConfig, load_config

__all__ = [
    "DEFAULT_CYCLE_SAMPLES",
    "DEFAULT_GRID_POINTS",
    "CalibratedTask",
    "Reproduction",
    "calibrate_task",
    "free_output",
    "reproduce",
]

DEFAULT_CYCLE_SAMPLES = 201
"""Samples per period used to decide whether an orbit stays in the gate box. Within a half-period
the motion is an exponential relaxation plus a linear drift, so extremes sit at or next to the
sampled times; 201 samples resolve them to ~0.5 % of a half-period."""

DEFAULT_GRID_POINTS = 100
"""Periods of the dense theory curve drawn in the figure (log-spaced)."""


# ------------------------------------------------------------------------------ building blocks
def free_output(network: Network, output: str):
    """The free output of a network as a function ``(G, point) -> O_F``, vectorized over G.

    ``G`` may have shape (n_gates,) or (..., n_gates); each gate vector costs one Kirchhoff solve
    (:func:`clln_theory.electrical.kirchhoff.free_state`).
    """

    def output_fn(G, point: DataPoint):
        G = np.asarray(G, dtype=float)
        task = Task([point], output)
        flat = G.reshape(-1, G.shape[-1])
        O = np.array([free_state(network, g, task).O[0] for g in flat])
        return O.reshape(G.shape[:-1]) if G.ndim > 1 else O[0]

    return output_fn


@dataclass(frozen=True, slots=True)
class CalibratedTask:
    """One task ready for the linear theory.

    ``task`` holds the effective (fitted) points; ``lines`` the solution line of each point
    (measured, or the model's own); ``calibrations`` the fits (None for points without a measured
    line); ``linear`` the :class:`~clln_theory.theory.linear.LinearTask` (M in 1/s at ``G_star``).
    """

    name: str
    task: Task
    nominal: tuple[DataPoint, ...]
    lines: tuple[SolutionLine | None, ...]
    calibrations: tuple[CalibratedPoint | None, ...]
    G_star: np.ndarray
    linear: LinearTask

    def errors(self, network: Network, G) -> np.ndarray:
        """Task error E_μ(G) of (A1) (mean squared error over points, V²) at gates (..., n)."""
        G = np.asarray(G, dtype=float)
        flat = G.reshape(-1, G.shape[-1])
        E = np.array(
            [np.mean((self.task.labels - free_state(network, g, self.task).O) ** 2) for g in flat]
        )
        return E.reshape(G.shape[:-1])


def _rate_matrix(network: Network, task: Task, G_star, *, gamma: float, eta: float) -> LinearTask:
    """``LinearTask`` with ``M = (gamma/eta) d²C/dG²`` at ``G_star`` (``gamma`` = r γ).

    Uses the package's one implementation, :func:`clln_theory.theory.jacobian.linearize` (adjoint
    Jacobian of the Coupled Learning force; at a solution it equals (1/η) ∂²C/∂G², DESIGN.md §3).
    """
    return linearize(network, task, G_star, gamma=gamma, eta=eta)


def calibrate_task(
    network: Network,
    output: str,
    name: str,
    points,
    lines,
    *,
    fit_input: str | None,
    reference=None,
    G_star=None,
    gamma: float,
    eta: float = 1.0,
) -> CalibratedTask:
    """Calibrate a task to its measured lines, find its G* and its rate matrix M.

    Parameters
    ----------
    network : Network
        Linear theory network (two gates when lines or automatic G* are used).
    output : str
        Output node.
    name : str
    points : sequence of DataPoint
        Nominal points.
    lines : sequence of SolutionLine or None
        Measured line of each point, or None (then the model's own line is used for G*).
    fit_input : str or None
        Input fitted to the measured lines.
    reference : (2,) array_like, optional
        Single-point tasks linearize at the point of their line nearest it.
    G_star : (n,) array_like, optional
        Explicit linearization point (overrides the automatic one).
    gamma : float
        ``r γ`` in Ω/s.
    eta : float
        Clamping strength; M = (r γ / η) ∂²C/∂G² (DESIGN.md §3).

    Raises
    ------
    ConfigError
        If G* cannot be determined (no reference for a single-point task, more than two points,
        or more than two gates without an explicit G*).
    """
    out_fn = free_output(network, output)
    effective, cals, all_lines = [], [], []
    for p, line in zip(points, lines, strict=True):
        if line is not None:
            cal = calibrate_point(out_fn, p, line, fit_input=fit_input, centre=reference)
            effective.append(cal.point)
            cals.append(cal)
            all_lines.append(line)
        else:
            effective.append(p)
            cals.append(None)
            all_lines.append(None)
    if G_star is None:
        if network.n_gates != 2:
            raise ConfigError(
                f"Missing key 'G_star' of task {name!r}: automatic linearization points need a "
                f"network with two gates, but this one has {network.n_gates}."
            )
        bracket = (float(np.max(network.V_T)) + 1e-6, 1e3)
        for k, line in enumerate(all_lines):
            if line is None:
                all_lines[k] = model_solution_line(out_fn, effective[k], bracket=bracket)
        if len(effective) == 1:
            if reference is None:
                raise ConfigError(
                    f"Missing key 'theory.reference': single-point task {name!r} linearizes at "
                    "the point of its line nearest the reference."
                )
            G_star = all_lines[0].nearest(reference)
        elif len(effective) == 2:
            G_star = all_lines[0].intersect(all_lines[1])
        else:
            raise ConfigError(
                f"Missing key 'G_star' of task {name!r}: it has {len(effective)} points, and only "
                "one- and two-point tasks have an automatic linearization point."
            )
    G_star = np.array(G_star, dtype=float)
    task = Task(effective, output, name=name)
    linear = _rate_matrix(network, task, G_star, gamma=gamma, eta=eta)
    G_star.setflags(write=False)
    return CalibratedTask(name, task, tuple(points), tuple(all_lines), tuple(cals), G_star, linear)


# ------------------------------------------------------------------------------ result object
@dataclass(frozen=True)
class Reproduction:
    """Theory of one experiment next to its measurements.

    Attributes
    ----------
    config : ExperimentConfig
    tasks : (CalibratedTask, CalibratedTask)
        Task alpha, task beta.
    B : (n,) ndarray
        Bias used, V/s.
    bias : BiasEstimate or None
        The inference (None when the bias was given).
    tau : (T,) ndarray
        Periods of the table, s (the measured ones for ``tau = "data"``).
    orbit : Orbit
        Closed orbits for all ``tau`` (leading axis T).
    D2, Ebar : (T,) ndarray
        Predicted squared span (4) and combined error (A4), V².
    D2_bias_free, Ebar_bias_free : (T,) ndarray
        The same for the closed orbit with ``B = 0`` (the paper's zero-bias, "perfect",
        prediction of Fig. 3A,B), V². Zero to round-off for compatible tasks' D².
    in_box : (T,) bool ndarray
        True where the orbit stays inside the gate box (all True without a box).
    G_lo, G_hi : (T, n) ndarray
        Smallest and largest gate along each orbit, V.
    measured_D2, measured_Ebar : (T,) ndarray
        Measurements at the same periods, NaN where none.
    grid : dict
        Dense theory curve for the figure: ``tau``, ``D2``, ``Ebar``, ``in_box``, and the zero-bias
        ``D2_bias_free``, ``Ebar_bias_free``.
    cycles : tuple of CycleSamples
        Measured limit cycles (may be empty).
    """

    config: ExperimentConfig
    tasks: tuple[CalibratedTask, CalibratedTask]
    B: np.ndarray
    bias: BiasEstimate | None
    tau: np.ndarray
    orbit: Orbit
    D2: np.ndarray
    Ebar: np.ndarray
    D2_bias_free: np.ndarray
    Ebar_bias_free: np.ndarray
    in_box: np.ndarray
    G_lo: np.ndarray
    G_hi: np.ndarray
    measured_D2: np.ndarray
    measured_Ebar: np.ndarray
    grid: dict = field(repr=False)
    cycles: tuple = field(repr=False)

    @property
    def D2_ratio(self) -> np.ndarray:
        """Predicted over measured D² per period (NaN where nothing was measured)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.D2 / self.measured_D2

    @property
    def Ebar_ratio(self) -> np.ndarray:
        """Predicted over measured Ē per period (NaN where nothing was measured)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.Ebar / self.measured_Ebar

    @property
    def n_in_box(self) -> int:
        """Number of periods whose orbit stays inside the gate box."""
        return int(np.count_nonzero(self.in_box))

    @property
    def bias_paper(self) -> np.ndarray | None:
        """The published bias of the description (``bias.paper``), V/s, or None."""
        p = self.config.bias.paper
        return None if p is None else np.array(p)

    def rows(self) -> list[dict]:
        """One dict per period: tau, theory and measured D² and Ē, their ratios, in_box, gate range,
        and the zero-bias theory ``D2_bias_free``, ``Ebar_bias_free`` (last, so that the earlier
        columns keep their order)."""
        out = []
        for k, tau in enumerate(self.tau):
            out.append(
                {
                    "tau": float(tau),
                    "D2": float(self.D2[k]),
                    "D2_measured": _opt(self.measured_D2[k]),
                    "D2_ratio": _opt(self.D2_ratio[k]),
                    "Ebar": float(self.Ebar[k]),
                    "Ebar_measured": _opt(self.measured_Ebar[k]),
                    "Ebar_ratio": _opt(self.Ebar_ratio[k]),
                    "in_box": bool(self.in_box[k]),
                    "G_min": float(self.G_lo[k].min()),
                    "G_max": float(self.G_hi[k].max()),
                    "D2_bias_free": float(self.D2_bias_free[k]),
                    "Ebar_bias_free": float(self.Ebar_bias_free[k]),
                }
            )
        return out

    def summary(self) -> dict:
        """Everything but the table: calibration, G*, M, B (and the published B), counts."""
        cfg = self.config
        tasks = {}
        for t in self.tasks:
            tasks[t.name] = {
                "G_star": t.G_star.tolist(),
                "M": t.linear.M.tolist(),
                "eigvals": t.linear.eigvals.tolist(),
                "points": [
                    {
                        "inputs": dict(p.inputs),
                        "label": p.label,
                        "nominal_label": n.label,
                        "line": None if ln is None else [ln.a, ln.c],
                        "line_residual": None if c is None else c.residual,
                    }
                    for p, n, ln, c in zip(
                        t.task.points, t.nominal, t.lines, t.calibrations, strict=True
                    )
                ],
            }
        s = {
            "name": cfg.name,
            "description": cfg.description,
            "gates": list(cfg.network.gate_names),
            "gamma": cfg.rate.gamma,
            "eta": cfg.eta,
            "gate_box": None if cfg.gate_box is None else list(cfg.gate_box),
            "tasks": tasks,
            "B": self.B.tolist(),
            "B_paper": None if cfg.bias.paper is None else list(cfg.bias.paper),
            "n_tau": int(self.tau.size),
            "n_in_box": self.n_in_box,
        }
        if self.bias is not None:
            s["bias_projections"] = [
                {"source": p.source, "direction": p.direction.tolist(), "value": p.value}
                for p in self.bias.projections
            ]
        if self.bias_paper is not None:
            s["B_relative_error"] = float(
                np.linalg.norm(self.B - self.bias_paper) / np.linalg.norm(self.bias_paper)
            )
        ratios = self.D2_ratio[self.in_box & np.isfinite(self.D2_ratio)]
        if ratios.size:
            s["D2_ratio_in_box"] = [float(ratios.min()), float(ratios.max())]
        return s

    def to_json(self, path: str | Path | None = None) -> str:
        """The summary and the table as JSON (written to ``path`` if given)."""
        text = json.dumps({"summary": self.summary(), "table": self.rows()}, indent=2)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_csv(self, path: str | Path | None = None) -> str:
        """The table as CSV, theory and measurement side by side (empty cells: not measured)."""
        rows = self.rows()
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
        if path is not None:
            Path(path).write_text(buf.getvalue(), encoding="utf-8")
        return buf.getvalue()


def _opt(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


# ------------------------------------------------------------------------------ the pipeline
def _infer_bias(cfg: ExperimentConfig, tasks, data_dir) -> BiasEstimate:
    by_name = {t.name: t for t in tasks}
    projections: list[Projection] = []
    for m in cfg.bias.measurements:
        t = by_name[m.task]
        if m.kind == "drift":
            dt = _data.load_drift_test(_data.resolve(data_dir, m.file))
            v = drift_velocity(dt.times, dt.G, window=m.window, skip=m.skip, source=m.file)
            # "line": project on the null direction of M (the solution line at G*)
            d = None if m.direction == "drift" else t.linear.eigvecs[:, 0]
            projections.append(v.projection(d))
        else:  # stationary point of a task without a null direction
            if m.point is not None:
                G = np.array(m.point)
            else:
                cyc = _data.load_cycle(_data.resolve(data_dir, m.file), tau=1.0)
                if not 0 <= m.sample < cyc.G.shape[0]:
                    raise DataFormatError(
                        f"Sample {m.sample} is outside '{m.file}', which has {cyc.G.shape[0]}."
                    )
                G = cyc.G[m.sample]
            src = m.file or f"stationary point {list(G)}"
            projections.append(stationary_projection(t.linear.M, G, t.G_star, source=src))
    return combine_projections(projections)


def _box_flags(orbit: Orbit, box, samples: int):
    traj = orbit.trajectory(samples).G  # (T, m, n)
    lo, hi = traj.min(axis=1), traj.max(axis=1)
    if box is None:
        inside = np.ones(lo.shape[0], dtype=bool)
    else:
        inside = np.all(lo >= box[0], axis=1) & np.all(hi <= box[1], axis=1)
    return inside, lo, hi


def _theory(cfg, tasks, B, tau, samples):
    orbit = periodic_orbit(tasks[0].linear, tasks[1].linear, B, tau)
    if np.any(np.abs(orbit.drift) > 0):
        raise ConfigError(
            "The two tasks share a null direction, so the orbit drifts without closing; "
            f"drift {np.asarray(orbit.drift)[0].tolist()} V/s. Check the tasks of the description."
        )
    D2 = np.asarray(orbit.span) ** 2  # (4), squared as in the data files
    net = cfg.network

    def E(G):  # (A3) from (A1): E = (E_alpha + E_beta) / 2
        return 0.5 * (tasks[0].errors(net, G) + tasks[1].errors(net, G))

    if tasks[0].task.input_nodes == tasks[1].task.input_nodes:
        # the same imposed nodes: one free solve per gate vector serves the points of both tasks
        both = Task(tasks[0].task.points + tasks[1].task.points, cfg.output)
        n_a = tasks[0].task.n_points

        def E(G):
            flat = np.asarray(G, dtype=float).reshape(-1, net.n_gates)
            sq = np.array([(both.labels - free_state(net, g, both).O) ** 2 for g in flat])
            return 0.5 * (sq[:, :n_a].mean(axis=1) + sq[:, n_a:].mean(axis=1))

    Ebar = 0.5 * (E(orbit.G_half) + E(orbit.G0))  # (A4): t = tau/2 and t = tau (= 0)
    inside, lo, hi = _box_flags(orbit, cfg.gate_box, samples)
    return orbit, D2, Ebar, inside, lo, hi


def _aligned(curve, tau) -> np.ndarray:
    out = np.full(tau.shape, np.nan)
    if curve is None:
        return out
    for k, t in enumerate(tau):
        hit = np.flatnonzero(np.isclose(curve.tau, t, rtol=1e-9, atol=0.0))
        if hit.size:
            out[k] = curve.value[hit[0]]
    return out


def reproduce(
    config: ExperimentConfig | str | Path,
    *,
    data_dir: str | Path | None = None,
    tau=None,
    grid_points: int = DEFAULT_GRID_POINTS,
    cycle_samples: int = DEFAULT_CYCLE_SAMPLES,
) -> Reproduction:
    """Run the paper's pipeline on an experiment description.

    Parameters
    ----------
    config : ExperimentConfig, or a TOML path or preset name
    data_dir : path, optional
        Folder the description's data paths are relative to (the unpacked
        ``imperfect-learning-physical-systems``); default :func:`clln_theory.data.default_data_dir`.
        Needed only when the description reads files.
    tau : (T,) array_like, optional
        Periods (s) overriding ``sweep.tau``.
    grid_points : int
        Periods of the dense theory curve for the figure (0 to skip it).
    cycle_samples : int
        Samples per period for the gate-box check.

    Returns
    -------
    Reproduction

    Raises
    ------
    ConfigError, DataFormatError
        For a bad description or missing/malformed data (the message names key or file).
    """
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    needs_data = bool(cfg.data.D2 or cfg.data.Ebar or cfg.data.cycles or cfg.bias.measurements)
    if needs_data:
        data_dir = _data.require_data_dir(data_dir)
    gamma, eta = cfg.rate.gamma, cfg.eta
    tasks = tuple(
        calibrate_task(
            cfg.network,
            cfg.output,
            spec.name,
            spec.points,
            spec.lines,
            fit_input=spec.fit_input,
            reference=cfg.reference,
            G_star=spec.G_star,
            gamma=gamma,
            eta=eta,
        )
        for spec in cfg.tasks
    )
    if cfg.bias.given is not None:
        B, estimate = np.array(cfg.bias.given), None
    else:
        estimate = _infer_bias(cfg, tasks, data_dir)
        B = np.array(estimate.B)

    D2_curve = Ebar_curve = None
    if cfg.data.D2:
        D2_curve = _data.load_curve(_data.resolve(data_dir, cfg.data.D2), quantity="D2")
    if cfg.data.Ebar:
        Ebar_curve = _data.load_curve(_data.resolve(data_dir, cfg.data.Ebar), quantity="Ebar")
    if tau is not None:
        taus = np.asarray(tau, dtype=float).ravel()
    elif cfg.sweep.tau == "data":
        curve = D2_curve if D2_curve is not None else Ebar_curve
        taus = np.array(curve.tau)
    else:
        taus = np.array(cfg.sweep.tau)
    if taus.size == 0 or np.any(~(taus > 0)):
        raise ConfigError(f"The periods must be positive, but are {taus.tolist()}.")

    orbit, D2, Ebar, inside, lo, hi = _theory(cfg, tasks, B, taus, cycle_samples)
    no_bias = np.zeros_like(B)
    _, D2_0, Ebar_0, _, _, _ = _theory(cfg, tasks, no_bias, taus, cycle_samples)
    grid = {}
    if grid_points:
        cyc_taus = list(cfg.sweep.cycles)
        span_lo = min([taus.min(), *cyc_taus]) / 1.5
        span_hi = max([taus.max(), *cyc_taus]) * 1.5
        g = np.geomspace(span_lo, span_hi, int(grid_points))
        _, gD2, gE, gin, _, _ = _theory(cfg, tasks, B, g, cycle_samples)
        _, gD2_0, gE_0, _, _, _ = _theory(cfg, tasks, no_bias, g, cycle_samples)
        grid = {
            "tau": g,
            "D2": gD2,
            "Ebar": gE,
            "in_box": gin,
            "D2_bias_free": gD2_0,
            "Ebar_bias_free": gE_0,
        }
    cycles = tuple(_data.load_cycle(_data.resolve(data_dir, f)) for f in cfg.data.cycles)
    return Reproduction(
        config=cfg,
        tasks=tasks,  # type: ignore[arg-type]
        B=B,
        bias=estimate,
        tau=taus,
        orbit=orbit,
        D2=D2,
        Ebar=Ebar,
        D2_bias_free=D2_0,
        Ebar_bias_free=Ebar_0,
        in_box=inside,
        G_lo=lo,
        G_hi=hi,
        measured_D2=_aligned(D2_curve, taus),
        measured_Ebar=_aligned(Ebar_curve, taus),
        grid=grid,
        cycles=cycles,
    )
