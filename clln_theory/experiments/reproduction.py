"""The paper's pipeline, end to end: experiment description -> limit cycles, D², Ē (App. D, E).

:func:`reproduce` takes an `clln_theory.experiments.config.ExperimentConfig` (a TOML file or
preset) and the folder of measured data, and runs the pipeline of Appendix E of the paper:

1. Calibrate every point that has a measured solution line (effective input and label of the
   linear model) and linearize the task (`clln_theory.inference.calibrate_task`): a
   single-point task at the point of its line nearest the reference point, a two-point task at
   the intersection of its two lines; ``M_μ = (r γ / η) ∂²C_μ/∂G²`` at ``G*_μ`` (with η = 1 the
   paper's (D2)).
2. The bias: given, or inferred from drift tests / stationary points
   (`clln_theory.inference.drift`).
3. For every period: the closed orbit (D11) (`clln_theory.theory.periodic_orbit`), the squared
   span D² (4), the combined error Ē (A4) against the fitted labels with the linear network's
   outputs (`clln_theory.metrics`), and whether the orbit stays in the gate box. With a gate
   box (``theory.gate_box``) the orbit is the limit cycle of the projected dynamics in the box
   (``periodic_orbit(..., box=)``) at every period: it is the orbit without limits where that
   stays inside (``in_box``), and a cycle with gates pinned at the limits elsewhere
   (``saturated``), so that D² and Ē are finite at every period.
4. Optionally (``simulate=True``, the description's ``[simulate]`` section) the nonlinear
   simulator at every period (`clln_theory.experiments.compare.simulate_periods`): each point
   with a measured line recalibrated on the simulator's device
   (`clln_theory.inference.calibrate_to_line`, centred on the task's G*), limit cycles by
   shooting with the gate limits, columns ``D2_sim``, ``Ebar_sim``, ``at_limit``; a period
   without a simulated cycle is NaN with the reason in ``note``.
5. The same closed orbit with ``B = 0`` (same calibrated tasks, same periods): the paper's
   zero-bias ("perfect") prediction, the dashed line of Fig. 3A,B. For compatible tasks it sits at
   the joint solution (span 0, Ē = error there); for incompatible ones it runs between G*_α and
   the nearest point of β's solution set, with a smaller small-τ slope and a lower Ē plateau.

The result, :class:`Reproduction`, holds the theory next to the measurements and writes JSON and
CSV tables (columns ``D2_theory``, ``D2_measured``, ``Ebar_theory``, ...);
`clln_theory.plotting.plot_reproduction` draws the Fig. 2-like figure.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import data as _data
from .._checks import count, number, vector
from .._checks import times as as_times
from .._files import atomic_write, safe_text, safe_tree
from .._repr import short_repr
from .._tables import csv_text, data_frame, write_csv
from ..electrical.clamping import check_eta
from ..electrical.kirchhoff import check_task
from ..errors import ArgumentError, DataFormatError, ShapeError, TaskError
from ..inference import (
    BiasEstimate,
    CalibratedTask,
    StateBiasFit,
    infer_bias_from_cycles,
)
from ..inference._args import require_full_rank, window_bounds
from ..inference._state_fit import MAX_NFEV, drift_measurement_of, fit_state_bias, one_period
from ..model import Task
from ..model.bias import bias_vector
from ..theory import BoxOrbit, Orbit
from ..theory._spectral import MAX_RATE
from ..theory.linear import MAX_PERIODS
from . import _bias_scoreboard, _cyclic, _metric_route, _pipeline, _summaries
from ._reproduction_fields import check_reproduction, require_finite_theory
from .compare import SimulatedPeriods
from .config import ExperimentConfig, load_config
from .schedules import simulate_description
from .specs import BiasMeasurement

__all__ = [
    "UNITS",
    "Reproduction",
    "reproduce",
]

_CYCLE_SAMPLES = 201
"""Samples per period used to decide whether an orbit stays in the gate box. Within a half-period
the motion is an exponential relaxation plus a linear drift, so extremes sit at or next to the
sampled times; 201 samples resolve them to ~0.5 % of a half-period."""

_GRID_POINTS = 100
"""Periods of the dense theory curve drawn in the figure (log-spaced)."""

UNITS = {
    "tau": "s",
    "D2": "V^2",
    "Ebar": "V^2",
    "ratio": "1",
    "G": "V",
    "B": "V/s",
    "gamma": "Ohm/s",
    "M": "1/s",
}
"""Units of the reported quantities (columns ``D2_*`` in V², ``Ebar_*`` in V², ``G_*`` in V)."""


# ------------------------------------------------------------------------------ result object
@dataclass(frozen=True)
class Reproduction:
    """Theory of one experiment next to its measurements.

    Built by `reproduce`; built by hand (an input of `clln_theory.plotting.plot_reproduction`)
    it checks its fields on construction: a field of another type raises `ArgumentError`, an
    array whose shape does not match ``tau`` (T,) and the network's n gates `ShapeError`, and
    NaN in ``tau`` or ``B`` or ±inf anywhere `NumericalRangeError`, each naming the field. NaN
    marks a missing value in the theory, gate-range and measured columns (not measured, no
    cycle at that period, or a conductance <= 0 on the orbit: ``notes`` says why).

    Attributes
    ----------
    config : ExperimentConfig
        The description that was run.
    tasks : (CalibratedTask, CalibratedTask)
        Task alpha, task beta. With a differential output each ``linear`` is the task in the
        metric's coordinates ``y = d G`` (symmetric ``M``, ``G* -> d G*``; so are ``orbit``
        and ``box_orbit``), while D², Ē, the gate range and ``G_star`` are in ``G``; the notes
        say so (`clln_theory.experiments._metric_route`).
    B : (n,) ndarray
        Bias used, V/s.
    bias : BiasEstimate or None
        The inference (None when the bias was given).
    tau : (T,) ndarray
        Periods of the table, s (the measured ones for ``tau = "data"``).
    orbit : Orbit or None
        Closed orbits without gate limits for all ``tau`` (leading axis T); None for three or
        more tasks (their cycles: ``box_orbit``).
    D2_theory, Ebar_theory : (T,) ndarray
        Predicted squared span (4) and combined error (A4), V²: of the cycle in the gate box
        (``box_orbit``) where the description has one, else of ``orbit``.
    D2_bias_free, Ebar_bias_free : (T,) ndarray
        The same for the closed orbit with ``B = 0`` (the paper's zero-bias, "perfect",
        prediction of Fig. 3A,B), V². Zero to round-off for compatible tasks' D².
    in_box : (T,) bool ndarray
        True where the orbit without limits closes and stays inside the gate box (all True
        without a box); there the cycle in the box is that orbit, number for number.
    G_lo, G_hi : (T, n) ndarray
        Smallest and largest gate along each orbit of the theory columns, V.
    D2_measured, Ebar_measured : (T,) ndarray
        Measurements at the same periods, V², NaN where none.
    grid : dict
        Dense theory curve for the figure: ``tau``, ``D2_theory``, ``Ebar_theory``, ``in_box``,
        and the zero-bias ``D2_bias_free``, ``Ebar_bias_free`` (empty without a grid).
    cycles : tuple of CycleSamples
        Measured limit cycles (may be empty).
    notes : tuple of str
        Per period: empty, or why the row is flagged (the orbit leaves the gate box; Ē is NaN
        because a conductance is <= 0 on the orbit; a differential output's theory in the
        metric W, with the edges where W <= 0 was replaced and the change that makes).
    data_source : str
        Where the data were read from (`clln_theory.data.data_source`), or "" without data.
    sim : SimulatedPeriods or None
        The nonlinear simulator at the same periods (``reproduce(simulate=True)``), or None.
    sim_tasks : (Task, Task) or None
        The tasks the simulator ran (calibrated to the measured lines on its device).
    box_orbit : BoxOrbit or None
        The cycles in the gate box at all ``tau`` (``periodic_orbit(..., box=)``), None without
        ``theory.gate_box``.
    saturated : (T,) bool ndarray
        True where some gate of the cycle in the box is pinned at a limit during the period
        (all False without a box); empty for a result built without it.
    D2_unconstrained, Ebar_unconstrained : (T,) ndarray
        D² and Ē of the orbit without limits (``orbit``), V²: the theory columns before the
        gate box; equal to ``D2_theory``, ``Ebar_theory`` where ``in_box``.
    state_bias : StateBiasFit or None
        The state-dependent bias of ``bias.state`` (not "constant"), fitted to the drift tests
        and bow-ties; ``D2_theory``, ``Ebar_theory`` (and the simulator) then use it, the
        theory with the gate box (``orbit``, ``in_box`` stay those of the constant ``B``).
    floquet : (T,) ndarray or None
        With ``state_bias``: the largest |Floquet multiplier| of its cycle per period.
    tau_sim : (T,) ndarray or None
        With the simulator: the periods it ran, s, each snapped to the nearest one that trains
        every task a whole number of steps ``t_h`` (NaN where ``exact_tau`` refused one).
    """

    __repr__ = short_repr

    config: ExperimentConfig
    tasks: tuple[CalibratedTask, CalibratedTask]
    B: np.ndarray
    bias: BiasEstimate | None
    tau: np.ndarray
    orbit: Orbit | None
    D2_theory: np.ndarray
    Ebar_theory: np.ndarray
    D2_bias_free: np.ndarray
    Ebar_bias_free: np.ndarray
    in_box: np.ndarray
    G_lo: np.ndarray
    G_hi: np.ndarray
    D2_measured: np.ndarray
    Ebar_measured: np.ndarray
    grid: dict = field(repr=False)
    cycles: tuple = field(repr=False)
    notes: tuple = field(default=(), repr=False)
    data_source: str = ""
    sim: SimulatedPeriods | None = field(default=None, repr=False)
    sim_tasks: tuple[Task, ...] | None = field(default=None, repr=False)
    box_orbit: BoxOrbit | None = field(default=None, repr=False)
    saturated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool), repr=False)
    D2_unconstrained: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    Ebar_unconstrained: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    state_bias: StateBiasFit | None = field(default=None, repr=False)
    floquet: np.ndarray | None = field(default=None, repr=False)
    tau_sim: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:  # types, shapes against tau, no ±inf
        check_reproduction(self)

    @property
    def D2_ratio(self) -> np.ndarray:
        """Predicted over measured D² per period (NaN where nothing was measured)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.D2_theory / self.D2_measured

    @property
    def Ebar_ratio(self) -> np.ndarray:
        """Predicted over measured Ē per period (NaN where nothing was measured)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.Ebar_theory / self.Ebar_measured

    @property
    def n_in_box(self) -> int:
        """Number of periods whose orbit stays inside the gate box."""
        return int(np.count_nonzero(self.in_box))

    @property
    def n_saturated(self) -> int:
        """Number of periods whose cycle in the gate box has a gate pinned at a limit."""
        return int(np.count_nonzero(self.saturated))

    @property
    def bias_paper(self) -> np.ndarray | None:
        """The published bias of the description (``bias.paper``), V/s, or None."""
        p = self.config.bias.paper
        return None if p is None else np.array(p)

    def rows(self) -> list[dict]:
        """The table, one dict per period.

        Keys: ``tau``, ``D2_theory``, ``D2_measured``, ``D2_ratio``, ``Ebar_theory``,
        ``Ebar_measured``, ``Ebar_ratio``, ``in_box``, ``saturated`` (a gate of the cycle in
        the box pinned at a limit), ``G_min``, ``G_max`` (the gate range along the orbit), and
        the zero-bias theory ``D2_bias_free``, ``Ebar_bias_free``; with the
        simulator also ``D2_sim``, ``Ebar_sim`` (None where it found no cycle) and ``at_limit``
        (its gates touch the gate limits). Measured values and ratios are None where nothing was
        measured; ``D2_theory``, ``G_min``, ``G_max``, ``D2_bias_free`` are None at a period
        without a cycle (K tasks that share no solution have none without bias, for instance);
        ``note`` says why a row is flagged.
        """
        out: list[dict[str, Any]] = []
        for k, tau in enumerate(self.tau):
            out.append(
                {
                    "tau": float(tau),
                    "D2_theory": _summaries.opt(self.D2_theory[k]),
                    "D2_measured": _summaries.opt(self.D2_measured[k]),
                    "D2_ratio": _summaries.opt(self.D2_ratio[k]),
                    "Ebar_theory": float(self.Ebar_theory[k]),
                    "Ebar_measured": _summaries.opt(self.Ebar_measured[k]),
                    "Ebar_ratio": _summaries.opt(self.Ebar_ratio[k]),
                    "in_box": bool(self.in_box[k]),
                    "saturated": bool(self.saturated[k]) if self.saturated.size else False,
                    "G_min": _summaries.opt(self.G_lo[k].min()),
                    "G_max": _summaries.opt(self.G_hi[k].max()),
                    "D2_bias_free": _summaries.opt(self.D2_bias_free[k]),
                    "Ebar_bias_free": _summaries.opt(self.Ebar_bias_free[k]),
                    "note": self.notes[k] if self.notes else "",
                }
            )
            if not math.isfinite(self.Ebar_theory[k]):
                out[-1]["Ebar_theory"] = None
            if self.sim is not None:
                note = out[-1].pop("note")
                out[-1]["tau_sim"] = _summaries.opt(self.sim.tau[k])  # the period simulated
                out[-1]["D2_sim"] = _summaries.opt(self.sim.D2_sim[k])
                out[-1]["D2_theory_over_sim"] = _summaries.ratio(
                    self.D2_theory[k], self.sim.D2_sim[k]
                )
                out[-1]["Ebar_sim"] = _summaries.opt(self.sim.Ebar_sim[k])
                out[-1]["at_limit"] = bool(self.sim.at_limit[k])
                failure = self.sim.failure_at(k)
                why = "" if failure is None else f"simulation failed: {failure.why}"
                out[-1]["note"] = "; ".join(x for x in (note, why) if x)
        return out

    def provenance(self) -> dict:
        """Package version, data source, units and the description that was run (for reports).

        Returns
        -------
        dict
            ``package``, ``version``, ``data_source``, ``config_source``, ``units``, ``config``
            (the parsed TOML document). Every text from outside (folder and file names, the
            TOML's strings) is made safe for the reports, since a CSV may be opened in a
            spreadsheet: control characters such as newlines are escapes (``\\n``), and a ``'``
            goes before an ``= + - @`` that would start a cell.
        """
        label, sep, folder = self.data_source.partition(": ")  # "--data-dir: <folder>"
        doc = safe_tree(
            {
                "package": "clln_theory",
                "version": _data.package_version(),
                "data_source": None,
                "config_source": self.config.source,
                "units": dict(UNITS),
                "config": self.config.raw,
            }
        )
        doc["data_source"] = label + sep + safe_text(folder) if sep else safe_text(label)
        return doc

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
            "bias_state": self.config.bias.state,
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
        if self.box_orbit is not None:
            s["n_saturated"] = self.n_saturated
        if self.state_bias is not None:
            s["state_bias"] = _summaries.state_summary(self.state_bias, self.floquet)
        ratios = self.D2_ratio[self.in_box & np.isfinite(self.D2_ratio)]
        if ratios.size:
            s["D2_ratio_in_box"] = [float(ratios.min()), float(ratios.max())]
        for key, r in (("D2_ratio_all", self.D2_ratio), ("Ebar_ratio_all", self.Ebar_ratio)):
            r = r[np.isfinite(r)]
            if self.box_orbit is not None and r.size:  # the theory at every period
                s[key] = [float(r.min()), float(r.max())]
        sim = self.config.simulate  # set whenever the reproduction simulated
        if self.sim is not None and sim is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = self.sim.D2_sim / self.D2_measured
            r = r[np.isfinite(r)]
            s["simulate"] = {
                "device": sim.device,
                "t_h": sim.t_h,
                "gate_limits": None if sim.gate_limits is None else list(sim.gate_limits),
                "B": list(sim.B) if sim.B is not None else self.B.tolist(),
                "n_failed": self.sim.n_failed,
                "n_at_limit": int(np.count_nonzero(self.sim.at_limit)),
                "seconds": self.sim.seconds,
                "tasks": [
                    [{"inputs": dict(p.inputs), "label": p.label} for p in t.points]
                    for t in self.sim_tasks or ()
                ],
            }
            if r.size:
                s["simulate"]["D2_sim_ratio"] = [float(r.min()), float(r.max())]
        return s

    def to_json(self, path: str | Path | None = None) -> str:
        """The summary and the table as JSON.

        Parameters
        ----------
        path : str or Path, optional
            Where to write it as well (UTF-8; replaced atomically: a temporary file in the same
            folder, fsynced and renamed, so a failed write leaves the old file).

        Returns
        -------
        str

        Raises
        ------
        FileWriteError
            If ``path`` cannot be written (full disk, read-only file system), naming it.
        """
        doc = {"provenance": self.provenance(), "summary": self.summary(), "table": self.rows()}
        text = json.dumps(doc, indent=2, allow_nan=False)
        if path is not None:
            atomic_write(path, text + "\n")
        return text

    def to_csv(self, path: str | Path | None = None) -> str:
        """The table (`rows`) as CSV, theory and measurement side by side.

        The first line is the header (the keys of `rows`; units in `UNITS`), so
        ``pandas.read_csv(path)`` reads it with default arguments. The provenance (`provenance`:
        package version, data source, units, the description) goes to the sidecar file
        ``path + ".json"`` (``table.csv.json``); without ``path`` there is none.

        Parameters
        ----------
        path : str or Path, optional
            Where to write it as well, with its sidecar (UTF-8; each replaced atomically, as
            `to_json`). Empty cells: not measured (or not defined).

        Returns
        -------
        str

        Raises
        ------
        FileWriteError
            If ``path`` cannot be written (full disk, read-only file system), naming it.
        """
        text = csv_text(self.rows())
        if path is not None:
            write_csv(path, text, self.provenance())
        return text

    def to_dataframe(self) -> Any:
        """The table (`rows`) as a `pandas.DataFrame`, one row per period (columns as in
        `to_csv`; None becomes NaN). pandas is an optional extra (``clln_theory[pandas]``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            pandas is not installed (names the extra).
        """
        rows = self.rows()
        return data_frame({k: [r[k] for r in rows] for k in rows[0]})


def _periods(cfg: ExperimentConfig, tau: Any, D2_curve: Any, Ebar_curve: Any) -> np.ndarray:
    if tau is not None:
        taus = as_times(tau, "tau").ravel()
    elif cfg.sweep.tau == "data":
        curve = D2_curve if D2_curve is not None else Ebar_curve
        taus = np.array(curve.tau)
    else:
        taus = np.array(cfg.sweep.tau)
    if taus.size == 0:
        raise ArgumentError("Argument `tau` must hold at least one period, but is empty.")
    if taus.size > MAX_PERIODS:
        raise ArgumentError(
            f"Argument `tau` holds {taus.size} periods, more than MAX_PERIODS = {MAX_PERIODS}; "
            "split the sweep."
        )
    return taus


def _require_files(cfg: ExperimentConfig, data_dir: Path) -> None:
    """All data files of the description exist, or one sentence naming the missing ones."""
    also = cfg.folder
    files = [cfg.data.D2, cfg.data.Ebar, *cfg.data.cycles, *(m.file for m in cfg.bias.measurements)]
    missing = []
    for f in dict.fromkeys(f for f in files if f):  # other faults (a link out) raise as they are
        if _data.resolve(data_dir, f, also=also, missing_ok=True) is None:
            missing.append(f)
    if missing:
        raise DataFormatError(
            f"The data folder '{data_dir}' lacks {len(missing)} file(s) of {cfg.name!r}: "
            f"{', '.join(repr(m) for m in missing)}; they are published in the paper's supporting "
            "data (doi:10.5281/zenodo.15692010, github.com/maguzj/imperfect-learning-physical-"
            "systems): download it and pass its 'imperfect-learning-physical-systems' folder with "
            "--data-dir or CLLN_DATA_DIR."
        )


def _sample(m: BiasMeasurement, G: np.ndarray) -> np.ndarray:
    """Sample ``m.sample`` of the cycle ``G`` (N, n) a measurement names."""
    assert m.sample is not None  # the config reader gives a sample with a cycle file
    if not 0 <= m.sample < G.shape[0]:
        raise DataFormatError(
            f"Sample {m.sample} is outside '{m.file}', which has {G.shape[0]} samples."
        )
    return G[m.sample]


def _measured(
    cfg: ExperimentConfig, data_dir: Path | None, tasks: tuple[CalibratedTask, ...]
) -> tuple[_pipeline.Measured, ...]:
    """The data of every bias measurement, read and checked as `clln_theory.inference.drift`
    checks them (`_pipeline.Measured`)."""
    by_name = {t.name: t for t in tasks}
    out: list[_pipeline.Measured] = []
    for m in cfg.bias.measurements:
        lin = by_name[m.task].linear
        path = None if m.file is None else _data.resolve(data_dir, m.file, also=cfg.folder)
        if m.kind == "drift":
            assert path is not None and isinstance(m.window, int)  # the config reader
            dt = _data.load_drift_test(path)
            if m.skip + m.window >= dt.times.size:
                raise ShapeError(
                    f"A drift window of {m.window} velocities after skipping {m.skip} samples "
                    f"needs at least {m.skip + m.window + 1} samples, but '{m.file}' has "
                    f"{dt.times.size}."
                )
            if m.direction != "drift":  # projected on the null direction of the task
                vector(lin.eigvecs[:, 0], "direction", dt.G.shape[1])
            out.append((dt.times, dt.G))
            continue
        if m.kind == "cycle-drift":
            assert path is not None and m.tau is not None  # the config reader
            G = _data.load_cycle(path, tau=m.tau).G
            window_bounds(m.window, G.shape[0])
            out.append(G)
            continue
        require_full_rank(lin)  # a stationary point of the task
        if m.point is not None:
            G = np.array(m.point)
        else:
            assert path is not None  # the config reader gives a point or a file with a sample
            G = _sample(m, _data.load_cycle(path, tau=m.tau or 1.0).G)
        out.append(vector(G, "G", lin.n, error=TaskError))
    return tuple(out)


def _theory_columns(cfg: ExperimentConfig, tasks, B, taus, grid_points, cycle_samples, d=None):
    """``E``, the theory with ``B`` and with ``B = 0``, and the dense curve: two tasks by
    `_pipeline.theory` (the paper's route), K >= 3 by `_cyclic.cyclic_theory` (no dense curve);
    ``d`` the metric of a differential output (`_metric_route`)."""
    if len(tasks) == 2:
        E = _pipeline.two_task_error_of(cfg.network, tasks, cfg.task_output)
        biased = _pipeline.theory(cfg, tasks, E, B, taus, cycle_samples, d)
        free = _pipeline.theory(cfg, tasks, E, np.zeros_like(B), taus, cycle_samples, d)
        grid = _pipeline.dense_curve(cfg, tasks, E, B, taus, grid_points, cycle_samples, d)
    else:  # K >= 3 tasks: the cycle of cyclic_orbit(..., box=) (`_cyclic`)
        E = _cyclic.K_task_error_of(cfg.network, tasks)
        biased = _cyclic.cyclic_theory(cfg, tasks, E, B, taus, d)
        free = _cyclic.cyclic_theory(cfg, tasks, E, np.zeros_like(B), taus, d)
        grid = {}
    if cfg.relinearize:  # each task re-linearized along the cycle, at every period
        biased = _cyclic.relinearized_theory(cfg, tasks, E, B, taus, biased)
        free = _cyclic.relinearized_theory(cfg, tasks, E, np.zeros_like(B), taus, free)
    return E, biased, free, grid


def reproduce(
    config: ExperimentConfig | str | Path,
    *,
    data_dir: str | Path | None = None,
    tau: Any = None,
    grid_points: int = _GRID_POINTS,
    cycle_samples: int = _CYCLE_SAMPLES,
    simulate: bool = False,
    exact_tau: bool = False,
) -> Reproduction:
    """Run the paper's pipeline on an experiment description.

    Parameters
    ----------
    config : ExperimentConfig, str or Path
        A description, or a TOML path or preset name (`clln_theory.experiments.load_config`).
    data_dir : str or Path, optional
        Folder the description's data paths are relative to (the unpacked
        ``imperfect-learning-physical-systems``); default `clln_theory.data.default_data_dir`.
        Needed only when the description reads files.
    tau : (T,) array_like, optional
        Periods (s) overriding ``sweep.tau``.
    grid_points : int
        Periods of the dense theory curve for the figure (0 to skip it); default 100.
    cycle_samples : int
        Samples per period for the gate-box check (>= 2); default 201 (within a half-period
        the motion is an exponential relaxation plus a linear drift, so 201 samples resolve its
        extremes to ~0.5 % of a half-period).
    simulate : bool
        Also run the nonlinear simulator of the description's ``[simulate]`` section at every
        period (columns ``D2_sim``, ``Ebar_sim``, ``at_limit``; seconds to minutes), each
        period snapped to the nearest one that trains every task a whole number of steps
        ``t_h`` (column ``tau_sim``), and the ratio ``D2_theory_over_sim``.
    exact_tau : bool
        With ``simulate``: flag a period that needs snapping instead of simulating the snapped
        one (default False).

    Returns
    -------
    Reproduction

    Raises
    ------
    ConfigError
        For a bad description (the message names the key).
    DataFormatError
        For missing or malformed data (the message names the file).
    ArgumentError
        A ``tau`` that is empty or holds a period that is not a finite number > 0, a bad
        ``grid_points`` or ``cycle_samples``, or ``simulate`` without a ``[simulate]`` section.
    TaskError
        Tasks that share a null direction without ``theory.gate_box`` (no closed orbit), or a
        failed calibration.
    ConvergenceError
        With ``theory.gate_box``, if no cycle in the box is found at some period (never a wrong
        cycle; see `clln_theory.theory.periodic_orbit`).

    Notes
    -----
    Long function: the pipeline's steps in their order (tasks, bias, measured curves, theory,
    state bias, simulator), each a call of its own.
    """
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    if simulate and cfg.simulate is None:
        raise ArgumentError(
            f"Argument `simulate` needs a [simulate] section in the description {cfg.name!r} "
            f"({cfg.source or 'no file'}), which has none; see docs/toml-reference.md."
        )
    grid_points = count(grid_points, "grid_points", minimum=0)
    cycle_samples = count(cycle_samples, "cycle_samples", minimum=2)
    needs_data = bool(cfg.data.D2 or cfg.data.Ebar or cfg.data.cycles or cfg.bias.measurements)
    source, folder = "", None
    if needs_data:
        source = _data.data_source(data_dir)
        folder = _data.require_data_dir(data_dir)
        _require_files(cfg, folder)
    nominal = tuple(_pipeline.nominal_task(cfg, spec) for spec in cfg.tasks)
    for task in nominal:  # data of the description, each checked once against its network
        check_task(task, cfg.network)
    gamma = number(cfg.rate.gamma, "rate.gamma", low=0.0, low_open=True, high=MAX_RATE)
    # the metric W of a differential output (None for any other output): `_metric_route`
    tasks, metric = _metric_route.theory_tasks(
        cfg, nominal, gamma, check_eta(cfg.eta, "theory.eta")
    )
    if cfg.bias.given is not None:
        B, estimate = bias_vector(cfg.bias.given, cfg.network.n_gates), None
    else:
        estimate = _pipeline.infer_bias(cfg, tasks, _measured(cfg, folder, tasks))
        B = bias_vector(estimate.B, cfg.network.n_gates)
    curves = {}
    for quantity in ("D2", "Ebar"):
        if file := getattr(cfg.data, quantity):
            path = _data.resolve(folder, file, also=cfg.folder)
            curves[quantity] = _data.load_curve(path, quantity=quantity)
    taus = _periods(cfg, tau, curves.get("D2"), curves.get("Ebar"))
    _summaries.require_sizes(taus.size, grid_points, cycle_samples, cfg.network.n_gates)
    with np.errstate(over="ignore"):  # a period too long for float64: the error naming `tau`
        d = None if metric is None else metric.d
        E, biased, free, grid = _theory_columns(cfg, tasks, B, taus, grid_points, cycle_samples, d)
    require_finite_theory(biased, free)
    state = floquet = None
    if cfg.bias.state != "constant":
        state, th = _state_bias(cfg, folder, tasks, B, taus, E)
        biased = replace(biased, D2=th.D2, Ebar=th.Ebar)
        floquet = th.floquet
    cycles = tuple(
        _data.load_cycle(_data.resolve(folder, f, also=cfg.folder)) for f in cfg.data.cycles
    )
    B_run: Any = B if state is None else state.bias
    sim = sim_tasks = tau_sim = None
    if simulate:
        sim, sim_tasks, tau_sim = simulate_description(
            cfg, nominal, tasks, B_run, taus, biased, exact_tau
        )
    return Reproduction(
        config=cfg,
        tasks=tasks,  # type: ignore[arg-type]
        B=B,
        bias=estimate,
        tau=taus,
        orbit=biased.orbit,
        D2_theory=biased.D2,
        Ebar_theory=biased.Ebar,
        D2_bias_free=free.D2,
        Ebar_bias_free=free.Ebar,
        in_box=biased.inside,
        saturated=biased.saturated,
        box_orbit=biased.box_orbit,
        D2_unconstrained=biased.D2_unconstrained,
        Ebar_unconstrained=biased.Ebar_unconstrained,
        G_lo=biased.lo,
        G_hi=biased.hi,
        D2_measured=_pipeline.aligned(curves.get("D2"), taus),
        Ebar_measured=_pipeline.aligned(curves.get("Ebar"), taus),
        grid=grid,
        cycles=cycles,
        notes=_cyclic.notes(cfg, tasks, biased, metric),
        data_source=source,
        sim=sim,
        sim_tasks=sim_tasks,
        state_bias=state,
        floquet=floquet,
        tau_sim=tau_sim,
    )


def _state_bias(cfg: ExperimentConfig, folder, tasks, B: np.ndarray, taus: np.ndarray, E):
    """The state model of ``bias.state`` fitted to the description's drift tests and bow-ties,
    and its closed orbits in the gate box at ``taus`` (`_bias_scoreboard.theory_columns`)."""
    if not cfg.data.cycles:
        raise ArgumentError(
            f"Key 'bias.state' = {cfg.bias.state!r} of {cfg.name!r} needs measured bow-ties "
            "(data.cycles) to fit the state-dependent bias to, but there are none."
        )
    cycles = [_data.load_cycle(_data.resolve(folder, f, also=cfg.folder)) for f in cfg.data.cycles]
    la, lb = tasks[0].linear, tasks[1].linear
    by_name = {t.name: t for t in tasks}
    drifts = []
    for m, d in zip(cfg.bias.measurements, _measured(cfg, folder, tasks), strict=True):
        if m.kind == "drift" and isinstance(d, tuple) and isinstance(m.window, int):
            u = by_name[m.task].linear.eigvecs[:, 0]
            drifts.append(drift_measurement_of(d[0], d[1], u, m.window, m.skip, m.file or ""))
    joint = infer_bias_from_cycles(la, lb, cycles)
    # the state-bias engine: the files and the description were checked as they were read
    fit = fit_state_bias(
        la, lb, [one_period(c.tau, c.G) for c in cycles], tuple(drifts), joint.phase,
        joint.B, None, None, MAX_NFEV, cfg.bias.state, cfg.bias.shapes_only,
    )  # fmt: skip
    box = cfg.gate_box or (-1e6, 1e6)  # V: without a box, one far beyond any gate voltage
    lo, hi = np.full(la.n, float(box[0])), np.full(la.n, float(box[1]))
    return fit, _bias_scoreboard.theory_columns((la, lb), fit.bias, taus, (lo, hi), E)
