"""A fair test of bias models at every period: which bias explains D², Ē and the bow-ties?

:func:`compare_bias` fits every bias model to the same measurements of an experiment (its drift
tests and bow-ties, `clln_theory.inference.infer_state_bias`) and scores each, in the linear
theory with the gate box (``theory/_box_affine.py``: the attracting closed orbit inside the box,
with a state-dependent bias) and in the nonlinear simulator (``[simulate]``), against the
measured D² and Ē at every period of the table. The models:

``drift-test``
    The paper's pipeline: the constant ``B`` from the drift tests (App. E).
``constant``
    A constant ``B`` fitted to the bow-ties and the drift tests (the fair baseline).
``affine``, ``diagonal``, ``along-lines``
    ``B(G) = B0 + J (G - G_ref)`` with ``J`` full, diagonal, or ``sum_mu k_mu u_mu u_mu^T``
    along the tasks' solution lines (the last from velocities only).
``<model>-shapes``
    The same fitted to the bow-ties' shapes (means removed) plus the drift tests.
``relinearized``
    A constant ``B`` fitted to the same data as ``constant`` with the same residuals, but with
    the theory re-linearized along its own orbit (`clln_theory.theory.relinearized_cycle`, each
    task linearized at the centre of its stretch) at every bow-tie's period and in the theory
    columns (``_relin_bias.py``); non-converged re-linearizations are never used (the score's
    ``notes`` say where). Issue 19 (b): bias or curvature?

D² and Ē are never fitted. The bow-tie rms is marked "fit" for a model fitted to the bow-ties'
positions, "shape" for one fitted to their shapes, "pred" otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import data as _data
from .._checks import instance, quote, validator
from .._files import atomic_write
from ..errors import ArgumentError
from ..inference import (
    StateBiasFit,
    drift_measurement,
    infer_bias_from_cycles,
    infer_state_bias,
)
from ..inference.cycle_model import measured_cycles
from ..model.bias import AffineBias
from ..theory import periodic_orbit
from . import _bias_scoreboard as _sb
from . import _pipeline
from . import _relin_bias as _relin
from .compare import simulate_periods
from .config import ExperimentConfig, load_config
from .reproduction import Reproduction, reproduce

__all__ = ["BIAS_MODELS", "BiasScore", "BiasScoreboard", "compare_bias"]

#: Every model of the scoreboard, in its order.
BIAS_MODELS = (
    "drift-test",
    "constant",
    "affine",
    "diagonal",
    "along-lines",
    "constant-shapes",
    "affine-shapes",
    "diagonal-shapes",
    "relinearized",
)

_BOX_FREE = 1e6
"""V: the half-width of the 'box' used without a gate box (far beyond any gate voltage)."""


@dataclass(frozen=True, slots=True)
class BiasScore:
    """One bias model's scores.

    Attributes
    ----------
    model : str
        One of `BIAS_MODELS`.
    fitted_to : str
        The data it was fitted to.
    bias : AffineBias
        The bias (``J = 0`` for the constant ones), V/s.
    fit : StateBiasFit or None
        The fit (None for ``drift-test``).
    D2_theory, Ebar_theory : (T,) ndarray
        The gate-box theory's D² and Ē, V² (NaN where no cycle was found).
    floquet : (T,) ndarray
        Largest |Floquet multiplier| of the theory's cycle (0 inside the box's pinned orbit).
    D2_sim, Ebar_sim : (T,) ndarray or None
        The simulator's, V² (None without simulation).
    rms_theory : (c,) ndarray
        Rms distance of each bow-tie from the theory's unconstrained orbit (best phase), V (NaN
        where the model has no closed orbit at that bow-tie's period).
    rms_sim : (c,) ndarray or None
        The same from the simulated cycle, V (NaN where the simulator found none); None without
        simulation (``simulate=False`` or no ``[simulate]`` section): not run, so no number.
    rms_kind : str
        ``"fit"``, ``"shape"`` or ``"pred"`` (see the module docstring).
    notes : tuple of str
        What was left out and why (``relinearized``: trial biases rejected in the fit, periods
        left NaN where the re-linearization did not converge); empty for the other models.
    """

    model: str
    fitted_to: str
    bias: AffineBias
    fit: StateBiasFit | None
    D2_theory: np.ndarray
    Ebar_theory: np.ndarray
    floquet: np.ndarray
    D2_sim: np.ndarray | None
    Ebar_sim: np.ndarray | None
    rms_theory: np.ndarray
    rms_sim: np.ndarray | None
    rms_kind: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BiasScoreboard:
    """Every model's predictions next to the measurements of one experiment.

    Attributes
    ----------
    name : str
        The experiment.
    tau : (T,) ndarray
        Periods, s.
    D2_measured, Ebar_measured : (T,) ndarray
        Measurements, V².
    in_box : (T,) bool ndarray
        Periods whose drift-test orbit stays inside the gate box (the linear regime).
    cycle_tau : (c,) ndarray
        Periods of the bow-ties, s.
    scores : tuple of BiasScore
        One per model.
    """

    name: str
    tau: np.ndarray
    D2_measured: np.ndarray
    Ebar_measured: np.ndarray
    in_box: np.ndarray
    cycle_tau: np.ndarray
    scores: tuple[BiasScore, ...]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per model and engine (``theory``, ``simulator``) with the summary scores
        (``D2``, ``Ebar``: `within`, `within_box`, `median`, `worst`) and ``rms`` (mV text)."""
        out = []
        for s in self.scores:
            engines = [("theory (box)", s.D2_theory, s.Ebar_theory, s.rms_theory, s.rms_kind)]
            if s.D2_sim is not None and s.Ebar_sim is not None and s.rms_sim is not None:
                engines.append(("simulator", s.D2_sim, s.Ebar_sim, s.rms_sim, "pred"))
            for engine, D2, Eb, rms, kind in engines:
                out.append(
                    {
                        "model": s.model,
                        "fitted_to": s.fitted_to,
                        "engine": engine,
                        "D2": _sb.scores(D2, self.D2_measured, self.in_box),
                        "Ebar": _sb.scores(Eb, self.Ebar_measured, self.in_box),
                        "rms": " / ".join(f"{1e3 * r:.0f}" for r in rms) + f" ({kind})",
                    }
                )
        return out

    def table(self) -> str:
        """The summary as a Markdown table.

        Returns
        -------
        str
        """
        return _sb.table_rows(self.rows())

    def ratios(self) -> str:
        """D² predicted / measured at every period, one column per model (theory, then
        simulator), as a Markdown table.

        Returns
        -------
        str
        """
        cols = [(s.model, "th", s.D2_theory) for s in self.scores]
        cols += [(s.model, "sim", s.D2_sim) for s in self.scores if s.D2_sim is not None]
        head = "| τ [s] | in box | " + " | ".join(f"{m} ({e})" for m, e, _ in cols) + " |"
        lines = [head, "|" + "---|" * (len(cols) + 2)]
        with np.errstate(divide="ignore", invalid="ignore"):
            for k, tau in enumerate(self.tau):
                r = [_sb.fmt_ratio(float(c[k] / self.D2_measured[k])) for _, _, c in cols]
                lines.append(f"| {tau:g} | {'yes' if self.in_box[k] else 'no'} | "
                             + " | ".join(r) + " |")  # fmt: skip
        return "\n".join(lines)

    def curvature(self) -> str:
        """Issue 19's "bias or curvature?" as a Markdown table: (a) the theory at G* with the
        affine bias, (b) the theory re-linearized along the orbit with a constant bias
        (``relinearized``), (c) the simulator with the ``constant`` bias, (d) the simulator
        with the best state model, and two references (cases whose model or simulator columns
        are missing are left out). Bow-tie rms, D² and Ē within 1.5×, median, worst.

        Returns
        -------
        str
        """
        return _relin.comparison_table(_relin.comparison_rows(self))

    def to_json(self, path: str | Path | None = None) -> str:
        """Everything as JSON: per model B0, J, gains with 1σ, Floquet multipliers, D² and Ē
        per period (theory and simulator), the scores.

        Parameters
        ----------
        path : str or Path, optional
            Where to write it as well (replaced atomically).

        Returns
        -------
        str
        """

        def opt(a):
            return None if a is None else [None if not np.isfinite(x) else float(x) for x in a]

        doc: dict[str, Any] = {
            "name": self.name,
            "tau": opt(self.tau),
            "D2_measured": opt(self.D2_measured),
            "Ebar_measured": opt(self.Ebar_measured),
            "in_box": [bool(x) for x in self.in_box],
            "models": [],
        }
        for s in self.scores:
            f = s.fit
            doc["models"].append(
                {
                    "model": s.model,
                    "fitted_to": s.fitted_to,
                    "B0": opt(s.bias.B0),
                    "B0_std": None if f is None else opt(f.B0_std),
                    "J": [opt(r) for r in s.bias.J],
                    "J_std": None if f is None else [opt(r) for r in f.J_std],
                    "G_ref": opt(s.bias.G_ref),
                    "gains": None if f is None else opt(f.gains),
                    "gains_std": None if f is None else opt(f.gains_std),
                    "floquet_max": opt(s.floquet),
                    "D2_theory": opt(s.D2_theory),
                    "Ebar_theory": opt(s.Ebar_theory),
                    "D2_sim": opt(s.D2_sim),
                    "Ebar_sim": opt(s.Ebar_sim),
                    "rms_theory": opt(s.rms_theory),
                    "rms_sim": opt(s.rms_sim),
                    "rms_kind": s.rms_kind,
                    "notes": list(s.notes),
                }
            )
        text = json.dumps(doc, indent=2, allow_nan=False)
        if path is not None:
            atomic_write(path, text + "\n")
        return text


def _drifts(rep: Reproduction, folder: Path | None) -> list:
    cfg = rep.config
    by_name = {t.name: t for t in rep.tasks}
    out = []
    for m in cfg.bias.measurements:
        if m.kind != "drift" or m.file is None or not isinstance(m.window, int):
            continue
        dt = _data.load_drift_test(_data.resolve(folder, m.file, also=cfg.folder))
        u = by_name[m.task].linear.eigvecs[:, 0]
        out.append(drift_measurement(dt.times, dt.G, direction=u, window=m.window, skip=m.skip,
                                     source=m.file))  # fmt: skip
    return out


def _fitted_to(model: str, fit: StateBiasFit | None) -> tuple[str, str]:
    if fit is None:
        return "drift tests", "pred"
    if model == "relinearized":
        return "bow-tie positions + drift tests (theory re-linearized along the orbit)", "fit"
    if not fit.fitted_to_positions:
        return "velocities along the lines (bow-ties, drift tests)", "pred"
    if fit.shapes_only:
        return "bow-tie shapes + drift tests", "shape"
    return "bow-tie positions + drift tests", "fit"


@validator
def _models(models: Any) -> tuple[str, ...]:
    """``models``: a non-empty list or tuple of distinct names of `BIAS_MODELS`."""
    if not isinstance(models, list | tuple) or not models:
        raise ArgumentError(
            f"Argument `models` must be a non-empty list or tuple of names of BIAS_MODELS "
            f"{list(BIAS_MODELS)}, but is {quote(models)}; leave it out for all of them."
        )
    for i, m in enumerate(models):
        if not isinstance(m, str) or m not in BIAS_MODELS:
            raise ArgumentError(
                f"Argument `models` must name models of BIAS_MODELS {list(BIAS_MODELS)}, but "
                f"entry {i} is {quote(m)}."
            )
    if len(set(models)) != len(models):
        raise ArgumentError(f"Argument `models` must name each model once, but is {quote(models)}.")
    return tuple(models)


def compare_bias(
    config: ExperimentConfig | str | Path,
    *,
    data_dir: str | Path | None = None,
    models: Sequence[str] = BIAS_MODELS,
    simulate: bool = True,
) -> BiasScoreboard:
    """Fit and score every bias model of an experiment at every period (see the module).

    Parameters
    ----------
    config : ExperimentConfig, str or Path
        A description with bow-ties (``data.cycles``), or a TOML path or preset name.
    data_dir : str or Path, optional
        The data folder (as `clln_theory.experiments.reproduce`).
    models : list or tuple of str
        Models to score, each once (default all of `BIAS_MODELS`).
    simulate : bool
        Also run the nonlinear simulator of the ``[simulate]`` section for every model (about
        3 s per model); ignored without that section. Without it the simulator's columns
        (``D2_sim``, ``Ebar_sim``, ``rms_sim`` of each `BiasScore`) are None.

    Returns
    -------
    BiasScoreboard

    Raises
    ------
    ArgumentError
        ``models`` not a non-empty list or tuple of distinct names of `BIAS_MODELS` (None
        included), a non-bool ``simulate``, or a description without bow-ties.
    ConfigError, DataFormatError, TaskError
        As `clln_theory.experiments.reproduce`.
    """
    names = _models(models)
    simulate = bool(instance(simulate, "simulate", bool))
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    rep = reproduce(cfg, data_dir=data_dir, grid_points=0)
    if not rep.cycles:
        raise ArgumentError(
            f"Argument `config` must describe measured bow-ties (data.cycles) to fit the bias "
            f"models to, but {cfg.name!r} has none."
        )
    folder = _data.require_data_dir(data_dir)
    la, lb = rep.tasks[0].linear, rep.tasks[1].linear
    joint = infer_bias_from_cycles(la, lb, rep.cycles)
    drifts = _drifts(rep, folder)
    G_ref = np.concatenate([c.G for c in rep.cycles]).mean(axis=0)
    box = cfg.gate_box or (-_BOX_FREE, _BOX_FREE)
    lo, hi = np.full(la.n, float(box[0])), np.full(la.n, float(box[1]))
    E = _pipeline.two_task_error_of(cfg.network, rep.tasks, cfg.output)
    sim_in = None
    if simulate and cfg.simulate is not None:
        nominal = tuple(_pipeline.nominal_task(cfg, spec) for spec in cfg.tasks)
        sim_in = _pipeline.simulation_inputs(cfg, nominal, rep.tasks, rep.B)
    cyc_tau = np.array([c.tau for c in rep.cycles])
    out = []
    for name in names:
        fit = None
        if name == "relinearized":  # issue 19 (b): the theory re-linearized along the orbit
            rl = _relin.relinearized_model(
                _relin.RelinProblem(cfg.network, tuple(t.task for t in rep.tasks), (la, lb),
                                    (lo, hi), cfg.rate.gamma, cfg.eta),
                measured_cycles(rep.cycles, la.n), drifts, joint.phase, joint.B, G_ref, rep.tau, E,
            )  # fmt: skip
            fit, bias = rl.fit, rl.fit.bias
        elif name == "drift-test":
            bias = AffineBias(rep.B, np.zeros((la.n, la.n)), G_ref)
        else:
            fit = infer_state_bias(
                la, lb, rep.cycles, drifts=drifts, phases=joint.phase, B_start=joint.B,
                G_ref=G_ref, model=name.removesuffix("-shapes"), shapes_only=name.endswith(
                    "-shapes"),
            )  # fmt: skip
            bias = fit.bias
        th = rl.columns if name == "relinearized" else _sb.theory_columns(
            (la, lb), bias, rep.tau, (lo, hi), E)  # fmt: skip
        rms_th = rl.rms if name == "relinearized" else np.array(
            [_theory_rms(la, lb, bias, c) for c in rep.cycles])  # fmt: skip
        D2s = Ebs = rms_sim = None  # the simulator not run: no numbers
        if sim_in is not None:
            D2s, Ebs, rms_sim = _simulated(cfg, sim_in, bias, rep, cyc_tau)
        fitted_to, kind = _fitted_to(name, fit)
        out.append(
            BiasScore(
                model=name,
                fitted_to=fitted_to,
                bias=bias,
                fit=fit,
                D2_theory=th.D2,
                Ebar_theory=th.Ebar,
                floquet=th.floquet,
                D2_sim=D2s,
                Ebar_sim=Ebs,
                rms_theory=rms_th,
                rms_sim=rms_sim,
                rms_kind=kind,
                notes=rl.notes if name == "relinearized" else (),
            )
        )
    return BiasScoreboard(
        name=cfg.name, tau=rep.tau, D2_measured=rep.D2_measured, Ebar_measured=rep.Ebar_measured,
        in_box=rep.in_box, cycle_tau=cyc_tau, scores=tuple(out),
    )  # fmt: skip


def _theory_rms(la, lb, bias: AffineBias, cycle) -> float:
    """Best-phase rms of a bow-tie against the model's unconstrained orbit (NaN without one)."""
    t = np.linspace(0.0, cycle.tau, 801)
    try:
        B: Any = bias if np.any(bias.J) else bias.B0
        G = periodic_orbit(la, lb, B=B, tau=cycle.tau).trajectory(t).G
    except (ArithmeticError, ValueError):
        return float("nan")
    return _sb.bowtie_rms(np.asarray(G), t, cycle.tau, cycle.G)


def _simulated(cfg, run, bias: AffineBias, rep: Reproduction, cyc_tau: np.ndarray):
    """The simulator at the table's periods and the bow-ties' (rms against each bow-tie)."""
    sim = cfg.simulate
    taus = np.concatenate([rep.tau, cyc_tau])
    B: Any = bias if np.any(bias.J) else bias.B0
    res = simulate_periods(
        run.network, run.tasks[0], run.tasks[1], tau=taus, B=B, protocol=run.protocol,
        gate_limits=sim.gate_limits, G0=run.G0, tol=sim.tol, max_periods=sim.max_periods,
    )  # fmt: skip
    T = rep.tau.size
    rms = np.full(cyc_tau.size, np.nan)
    for j, c in enumerate(rep.cycles):
        tr = res.trajectories[T + j]
        if tr is not None:
            t = _sb.sim_times(tr.shape[0], c.tau, run.protocol.t_h)
            rms[j] = _sb.bowtie_rms(tr, t, c.tau, c.G)
    return res.D2_sim[:T], res.Ebar_sim[:T], rms
