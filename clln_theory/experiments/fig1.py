"""Fig. 1 of the paper on the full network: Ē(τ) and the cycle span D(τ) of two task pairs.

The experiment (Fig. 1; Appendices A, B)
----------------------------------------
Two tasks α and β are trained alternately, τ/2 each, until the gates reach a steady cycle.
Fig. 1G,H show, for a classification pair and a regression pair, the combined error Ē (A4)
with two plateaus (short and long τ) joined by a rise, and the span D (4) growing as D ∝ τ over
decades (through the short-τ plateau of Ē) and rolling off to a plateau at long τ. The
measured data of Fig. 1 are not published; this module reproduces the phenomenology.

The network. The paper shows the full network only as a photograph (Fig. 1A): the network
here is the 4 x 4 periodic lattice of the Fig. 5 study (`fig5_network`, 32 learning edges)
with the node roles of `Fig5Placement` (this package's choice), described in the preset
``presets/fig1.toml`` (nodes ``n{4r+c}`` for the lattice node ``"r,c"``). Every data point
imposes ``V+ = 0.435 V``, ``V- = 0.018 V``, the inputs ``V1``, ``V2`` and the inverted inputs
``V' = V+ - V`` (Fig. 1 caption); the output is ``O = O+ - O-``.

The tasks. Regression (Fig. 1E,F; App. B), in the preset: α ``[V1 = V+, L = 21 mV]``,
β ``[V1 = V-, L = -63 mV]``, ``V2 = V+/2``. Classification (Fig. 1C,D): inputs on a square
grid in ``[V1, V2]`` (`FIG1_GRID_SIDE` x `FIG1_GRID_SIDE` points over `FIG1_GRID_RANGE`: the
paper shows the grid only in a figure), class α (``V1`` above the grid's centre, ``L+ = 63
mV``) and class β (``L- = -63 mV``), one class per task, trained with the hinge of App. A.
Every edge has a constant random bias (``[bias] random`` of the preset, V/s); rate Eq. (C2)
with ``r = 1.5`` (App. C); gates limited to ``[1, 5] V``.

The theory (regression only). Each task is linearized at the joint solution nearest the
preset's reference. With a differential output the linearized force is not symmetric (see
`clln_theory.experiments._fig1`): a diagonal metric makes both tasks symmetric at once and
keeps the gate box a box, so the closed-form orbits in the box
(`clln_theory.theory.periodic_orbit` with ``box=``) apply. Ē of the theory is that of the
linear network at the orbit's gates ``G(τ/2)`` and ``G(τ)``. On the preset the bias pins 28 of
the 32 gates at the box, far from the linearization point: the theory's D(τ) follows the
simulator's, its Ē does not (the linear model's error there is not the network's). Where the
box orbit is not found at some τ, that τ is a `Failure` and NaN.

The simulator (both pairs; ``simulate=True``). `clln_theory.simulator.simulate` with the
preset's device and ``t_h``: first a burn-in of `FIG1_BURN_IN` seconds of the averaged
dynamics of the regression pair (continuum mode, both points in one task: the τ → 0 limit),
which carries the gates to the box as the bias drives them there (the classification pair
continues from its end for half as long); then each period of ``sim_tau`` in turn, from the end
of the previous one, for five times the slowest relaxation time of the theory's cycle (at
least three periods, at most 3000 discrete steps). Half periods of up to 1000 steps run
discretely (Eq. 7, one step per data point); longer ones in continuum mode, whose dynamics (5)
the discrete steps follow to ``O(rate * t_h) ~ 0.5 %``. ``Fig1Curve.change`` (the gates' change
over the last period) says how close each run ended to its cycle.

Examples
--------
>>> exp = fig1_experiment()
>>> exp.network.n_gates, [t.n_points for t in exp.classification], exp.regression[0].output
(32, [8, 8], Differential(plus='n5', minus='n7'))
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import (
    check_record,
    construction,
    count,
    instance,
    positive,
    quote,
    readonly,
    refuse_renamed,
    times,
    validator,
)
from .._files import atomic_write
from ..electrical import free_state
from ..errors import ArgumentError, CLLNError, Failure
from ..model import Differential, Network, Task
from ..model.devices import device_named
from ..simulator import TrainingProtocol, simulate
from ..theory import LinearTask, force_jacobian, joint_solution, periodic_orbit
from ._fig1 import (
    cycle_measures,
    grid_tasks,
    periods_for,
    plateaus,
    reduced_pair,
    rolloff,
    straight_part,
    symmetrize,
)
from .config import load_config
from .fig5 import Fig5Placement
from .paper import FIG5_V_PLUS

__all__ = [
    "FIG1_BURN_IN",
    "FIG1_GRID_RANGE",
    "FIG1_GRID_SIDE",
    "FIG1_LABEL",
    "FIG1_SIM_TAU",
    "Fig1Curve",
    "Fig1Experiment",
    "Fig1Result",
    "fig1_experiment",
    "run_fig1",
]

#: Classification labels ``|L±|``, V (App. B: ``L± = ±63 mV``).
FIG1_LABEL = 0.063
#: Points per side of the classification grid (this package's choice; Fig. 1C shows a grid).
FIG1_GRID_SIDE = 4
#: Range of both inputs on the classification grid, V (this package's choice, inside [V-, V+]).
FIG1_GRID_RANGE = (0.1, 0.35)
#: Periods of the simulator, s: 1 ms to 10 s (Fig. 1G,H), τ/2 a whole number of 100 µs steps.
FIG1_SIM_TAU = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
#: Burn-in of the simulator, s of the averaged dynamics of the regression pair: the bias carries
#: most gates to the box at ~1 V/s over ~2 V, and the slowest rate of the cycle on the preset is
#: ~0.5/s; 40 s is 20 e-folds of it. The classification pair continues from there for half as long.
FIG1_BURN_IN = 40.0

#: Half periods of more steps run in continuum mode: at 1000 steps (0.1 s) the discrete steps
#: follow the ODE (5) to O(rate * t_h) ~ 0.5 % (rates ~ 50/s), and discrete steps cost ~1 ms.
_CONTINUUM_STEPS = 1000
#: e-folds of the slowest rate a simulated period is run for (e^-5 < 1 % of the distance left).
_SETTLE_EFOLDS = 5.0
#: Most discrete steps at one period (~3 s on a shared 2-core box): the runs start from the
#: burn-in and from the previous period's cycle, so the short periods begin close to their cycle;
#: `Fig1Curve.change` says how close they ended.
_MAX_STEPS = 3000
#: Fewest periods simulated at any τ (the last one measured, the one before it compared).
_MIN_PERIODS = 3
#: Straight part of log D vs log τ: one line fits every point to 10 %.
_SLOPE_RTOL = 0.1
#: Roll-off: the first τ where D is below half the fitted line.
_ROLLOFF_FRAC = 0.5
#: Plateau windows of Ē: the shortest and the longest decade of periods.
_PLATEAU_DECADES = 1.0
#: Tolerances of the continuum mode (V): far below the smallest span measured (~5 mV).
_RTOL, _ATOL = 1e-6, 1e-9
#: The gate at which a theory gate counts as pinned, V from the limit.
_PIN_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Fig1Experiment:
    """The Fig. 1 set-up read from a preset (see the module docstring).

    Attributes
    ----------
    name, description : str
        From the preset.
    network : Network
        The lattice with linear devices (the theory's).
    sim_network : Network
        The lattice with the preset's simulator device.
    regression, classification : tuple of Task
        The pairs ``(alpha, beta)``.
    B : (n,) ndarray
        Bias per gate, V/s.
    tau : (T,) ndarray
        Periods of the theory, s.
    gamma : float
        ``r γ``, Ω/s (the rate of the preset's ``[rate]``).
    protocol : TrainingProtocol
        Standard clamping, ``A0 = r γ S``, the preset's ``t_h``.
    gate_box : (float, float)
        Gate limits, V.
    G_ref : (n,) ndarray
        Reference of the joint solution, V.
    G0 : (n,) ndarray
        Start of the simulator's burn-in, V.
    max_periods : int
        Most periods simulated at one τ.
    """

    name: str
    description: str
    network: Network
    sim_network: Network
    regression: tuple[Task, Task]
    classification: tuple[Task, Task]
    B: np.ndarray = field(repr=False)
    tau: np.ndarray = field(repr=False)
    gamma: float
    protocol: TrainingProtocol
    gate_box: tuple[float, float]
    G_ref: np.ndarray = field(repr=False)
    G0: np.ndarray = field(repr=False)
    max_periods: int


@dataclass(frozen=True, slots=True)
class Fig1Curve:
    """Ē(τ) and D(τ) of one task pair from one source.

    Attributes
    ----------
    kind : {"regression", "classification"}
        The task pair.
    source : {"theory", "simulator"}
        Closed-form box orbits or the simulator.
    tau : (T,) ndarray
        Periods, s.
    Ebar : (T,) ndarray
        Combined error (A4), V² (NaN where that period failed: see `Fig1Result.failures`).
    D : (T,) ndarray
        Span (4), V (NaN where that period failed).
    change : (T,) ndarray
        ``|G(τ) - G(0)|`` over the last period, V (0 on the cycle: exactly 0 for the theory's
        closed orbits; NaN where that period failed).
    seconds : float
        Run time.
    slope : float or None
        Fitted slope of ``log D`` vs ``log τ`` over the straight part: the longest run of
        periods from the shortest that one line fits to 10 %; None when no three periods (with
        a span) from the shortest lie on one line (fewer than three periods, or failures).
    slope_range : (float, float) or None
        The periods of the straight part, s (None with ``slope``).
    rolloff : float or None
        First τ where D is below half the fitted line, s (None if D never falls below it, or
        without ``slope``).
    plateaus : (float, float) or None
        Mean Ē over the shortest and over the longest decade of periods, V² (None when no
        period has an Ē).
    plateau_spread : (float, float) or None
        max/min of Ē within each of the two decades (1 = flat; None with ``plateaus``, or where
        an Ē of 0 makes the ratio undefined).
    """

    kind: str
    source: str
    tau: np.ndarray
    Ebar: np.ndarray
    D: np.ndarray
    change: np.ndarray
    seconds: float
    slope: float | None = None
    slope_range: tuple[float, float] | None = None
    rolloff: float | None = None
    plateaus: tuple[float, float] | None = None
    plateau_spread: tuple[float, float] | None = None

    def __repr__(self) -> str:
        return (
            f"Fig1Curve({self.kind}, {self.source}, {self.tau.size} periods, {self.seconds:.1f} s)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The curve as JSON-ready lists (NaN as None)."""
        plain = {k: _plain(getattr(self, k)) for k in ("tau", "Ebar", "D", "change")}
        shape: dict[str, Any] = {
            k: None if getattr(self, k) is None else _plain(np.asarray(getattr(self, k)))
            for k in ("slope_range", "plateaus", "plateau_spread")
        }
        shape |= {k: getattr(self, k) for k in ("slope", "rolloff")}
        return {"kind": self.kind, "source": self.source, **plain, **shape,
                "seconds": self.seconds}  # fmt: skip

    def describe(self) -> str:
        """One line: the slope, its range, the roll-off and the plateaus of Ē."""
        line = "no straight part of D(τ)"
        if self.slope is not None and self.slope_range is not None:
            lo, hi = self.slope_range
            line = (f"D ∝ τ^{self.slope:.3f} from {lo:.3g} s to {hi:.3g} s "
                    f"({np.log10(hi / lo):.1f} decades)")  # fmt: skip
        off = "none" if self.rolloff is None else f"τ = {self.rolloff:.3g} s"
        pl, sp = self.plateaus, self.plateau_spread or (float("nan"),) * 2
        flat = "no Ē" if pl is None else (
            f"{pl[0]:.3g} V² (spread {sp[0]:.2f}) and {pl[1]:.3g} V² (spread {sp[1]:.2f})"
        )  # fmt: skip
        return (
            f"{self.source} {self.kind}: {line}, roll-off at {off}; Ē plateaus {flat}; "
            f"{self.seconds:.1f} s"
        )


def _curve(
    kind: str,
    source: str,
    tau: np.ndarray,
    Ebar: np.ndarray,
    D: np.ndarray,
    change: np.ndarray,
    seconds: float,
) -> Fig1Curve:
    """A `Fig1Curve` with its shape: straight part, roll-off, plateaus (None where undefined:
    no straight part of three points, no roll-off, no Ē)."""
    slope, icpt, i, j = straight_part(tau, D, _SLOPE_RTOL, min_points=3)
    fit = None if i < 0 else (float(slope), (float(tau[i]), float(tau[j])))
    off = None if fit is None else rolloff(tau, D, slope, icpt, _ROLLOFF_FRAC)
    with np.errstate(divide="ignore", invalid="ignore"):  # a spread over an Ē of 0: None
        pl = plateaus(tau, Ebar, _PLATEAU_DECADES)
    return Fig1Curve(
        kind, source, readonly(tau), readonly(Ebar), readonly(D), readonly(change), seconds,
        None if fit is None else fit[0], None if fit is None else fit[1],
        None if off is None or not np.isfinite(off) else off, _finite_pair(pl[0], pl[1]),
        _finite_pair(pl[2], pl[3]),
    )  # fmt: skip


def _finite_pair(a: float, b: float) -> tuple[float, float] | None:
    return (a, b) if np.isfinite(a) and np.isfinite(b) else None


@dataclass(frozen=True, slots=True)
class Fig1Result:
    """What `run_fig1` found.

    An input of `clln_theory.plotting.plot_fig1`: it checks its fields on construction (a field
    of another type raises `ArgumentError`, NaN or inf where a number is required
    `NumericalRangeError`, naming the field).

    Attributes
    ----------
    theory : Fig1Curve
        Regression, closed-form box orbits (its ``slope``, ``slope_range``, ``rolloff``,
        ``plateaus`` are the theory's shape).
    regression, classification : Fig1Curve or None
        The simulator (None without ``simulate``), each with its own shape.
    span_ratio : (S,) ndarray
        ``D_classification / D_regression`` at the simulated periods (empty without them; NaN
        where either simulation failed).
    small_tau_slope : float or None
        ``D/τ`` of the theory's box cycle at the shortest period, V/s (None when the theory
        found no cycle at any period). (There gates slide along the box, pinned for part of
        each half period, so `clln_theory.theory.small_tau`, which knows no box, does not give
        it; it gives the same pair's slope without the box.)
    slowest_rate : float or None
        Slowest rate of the averaged linear dynamics on the gates free at the start of the
        shortest period's cycle, 1/s: it sets how long the simulator runs at each period (None
        without a theory cycle or without a free gate; the simulator then settles for the
        burn-in's time).
    metric_change : tuple of float
        Per task, the relative change of the learning response by the metric (0 = exact).
    pinned : int
        Gates at a limit of the box on the theory's cycle at the shortest period.
    failures : tuple of Failure
        Periods where the theory or the simulator failed.
    seconds : float
        Run time.
    theory_tasks : tuple of LinearTask
        The symmetric tasks of the theory (coordinates ``y = metric * G``).
    metric : (n,) ndarray
        The diagonal metric ``d``.
    """

    theory: Fig1Curve
    regression: Fig1Curve | None
    classification: Fig1Curve | None
    span_ratio: np.ndarray
    small_tau_slope: float | None
    slowest_rate: float | None
    metric_change: tuple[float, ...]
    pinned: int
    failures: tuple[Failure, ...]
    seconds: float
    theory_tasks: tuple[LinearTask, ...] = field(repr=False)
    metric: np.ndarray = field(repr=False)

    @construction
    def __post_init__(self) -> None:
        curve = (Fig1Curve, type(None))
        check_record(
            self, theory=Fig1Curve, regression=curve, classification=curve,
            span_ratio="array|nan", small_tau_slope="real?", slowest_rate="real?",
            metric_change="tuple", pinned="count", failures="tuple", seconds="real",
            theory_tasks="tuple", metric="array",
        )  # fmt: skip
        for name, kind in (("metric_change", float), ("failures", Failure),
                           ("theory_tasks", LinearTask)):  # fmt: skip
            bad = [x for x in getattr(self, name) if not isinstance(x, kind)]
            if bad:
                raise ArgumentError(
                    f"Field `{name}` of Fig1Result must hold {kind.__name__} entries, but holds "
                    f"{type(bad[0]).__name__}."
                )

    def __repr__(self) -> str:
        th = self.theory
        fit = "no slope" if th.slope is None or th.slope_range is None else (
            f"slope {th.slope:.3f} over {th.slope_range[0]:.3g}-{th.slope_range[1]:.3g} s"
        )  # fmt: skip
        return f"Fig1Result(theory {fit}, {len(self.failures)} failures, {self.seconds:.1f} s)"

    @property
    def curves(self) -> tuple[Fig1Curve, ...]:
        """The theory's curve and the simulator's (those that ran)."""
        return tuple(c for c in (self.theory, self.regression, self.classification) if c)

    def summary(self) -> str:
        """The numbers of the result as printed lines."""
        lines = [c.describe() for c in self.curves]
        small, rate = (("none" if x is None else f"{x:.4g}")
                       for x in (self.small_tau_slope, self.slowest_rate))  # fmt: skip
        lines.append(
            f"theory: D/τ = {small} V/s at the shortest τ; {self.pinned} of "
            f"{self.metric.size} gates at the box at short τ; slowest rate "
            f"{rate} 1/s; metric change of the learning response "
            + ", ".join(f"{100 * c:.2f} %" for c in self.metric_change)
        )
        for c in self.curves[1:]:
            lines.append(f"simulator {c.kind}:")
            lines += [
                f"  τ = {t:8.3g} s: D = {d:.4g} V, Ē = {e:.4g} V², |ΔG| per period = {g:.2g} V"
                for t, d, e, g in zip(c.tau, c.D, c.Ebar, c.change)
            ]
        r = self.span_ratio[np.isfinite(self.span_ratio)]
        if r.size:
            lines.append(f"D_classification / D_regression: {r.min():.3g} to {r.max():.3g}")
        lines += [f"failure: {f}" for f in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {
            "curves": [c.to_dict() for c in self.curves],
            "span_ratio": _plain(self.span_ratio), "small_tau_slope": self.small_tau_slope,
            "slowest_rate": self.slowest_rate, "metric_change": list(self.metric_change),
            "pinned": self.pinned, "seconds": self.seconds,
            "failures": [{"what": f.what, "why": f.why, "where": f.where, "kind": f.kind}
                         for f in self.failures],
        }  # fmt: skip

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The result as JSON (`to_dict`); written atomically to ``path`` if given.

        Parameters
        ----------
        path : str or path-like, optional
            File to write.

        Returns
        -------
        str
        """
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        if path is not None:
            atomic_write(instance(path, "path", (str, os.PathLike)), text + "\n")
        return text


def _plain(a: np.ndarray) -> list[float | None]:
    return [float(x) if np.isfinite(x) else None for x in np.asarray(a, dtype=float).ravel()]


def _lattice_node(name: str) -> str:
    """``"r,c"`` of the 4 x 4 lattice as the preset's ``n{4r+c}``."""
    r, c = (int(x) for x in name.split(","))
    return f"n{4 * r + c}"


def fig1_experiment(source: str | os.PathLike[str] = "fig1", **renamed: Any) -> Fig1Experiment:
    """The Fig. 1 set-up of a preset or TOML file in the preset's format.

    Parameters
    ----------
    source : str or path-like
        A preset name (``"fig1"``) or a TOML file: a 4 x 4 periodic lattice, a differential
        output, the regression pair as its two ``[[tasks]]``, ``[bias] random`` or ``given``,
        ``[sweep] tau``, ``[simulate]``.
    **renamed : Any
        The old keyword ``name_or_path`` (now ``source``) and any unknown keyword are refused
        with an `ArgumentError` naming the keyword to use.

    Returns
    -------
    Fig1Experiment

    Raises
    ------
    ConfigError
        An invalid description.
    ArgumentError
        ``source`` of another type; a description that is not a two-task regression on the
        4 x 4 lattice with a differential output, a bias and periods; the old keyword
        ``name_or_path``.
    """
    refuse_renamed(renamed, {"name_or_path": "source"}, "fig1_experiment")
    return _experiment(source)


@validator
def _source(source: Any) -> str | Path:
    """``source``: a preset name or a TOML file (str or path-like)."""
    if not isinstance(source, str | os.PathLike) or not str(source):
        raise ArgumentError(
            f"Argument `source` must be a preset name or a TOML file (str or Path), but is "
            f"{quote(source)}."
        )
    return source if isinstance(source, str) else Path(source)


def _experiment(source: Any) -> Fig1Experiment:
    cfg = load_config(_source(source))
    net = cfg.network
    roles = Fig5Placement()
    nodes = {k: _lattice_node(getattr(roles, k)) for k in ("V1", "V2", "V1_inv", "V2_inv")}
    if (
        net.n_nodes != 16 or net.n_gates != 32 or len(cfg.tasks) != 2
        or not isinstance(cfg.output, Differential) or cfg.bias.given is None
        or not cfg.sweep.tau or cfg.simulate is None
        or any(n not in net.nodes for n in nodes.values())
    ):  # fmt: skip
        raise ArgumentError(
            f"Argument `source` must describe Fig. 1 as the preset 'fig1' does (a 4 x 4 periodic "
            f"lattice, a differential output, two tasks, a bias, [sweep] tau and [simulate]), "
            f"but {cfg.source!r} does not."
        )
    supplies = dict(cfg.tasks[0].points[0].inputs)
    supplies = {k: v for k, v in supplies.items() if k not in nodes.values()}
    lo, hi = FIG1_GRID_RANGE
    output = cfg.output
    sim = cfg.simulate
    S = float(net.S[0])
    box = cfg.gate_box if cfg.gate_box else (1.0, 5.0)
    return Fig1Experiment(
        name=cfg.name,
        description=cfg.description,
        network=net,
        sim_network=net.with_device(device_named(sim.device)),
        regression=(Task(cfg.tasks[0].points, output, name=cfg.tasks[0].name),
                    Task(cfg.tasks[1].points, output, name=cfg.tasks[1].name)),
        classification=grid_tasks(nodes, supplies, output, FIG1_GRID_SIDE, lo, hi, FIG1_LABEL,
                                  supplies.get(_lattice_node(roles.V_plus), FIG5_V_PLUS)),
        B=readonly(cfg.bias.given, float),
        tau=readonly(cfg.sweep.tau, float),
        gamma=float(cfg.rate.gamma),
        protocol=TrainingProtocol(eta=cfg.eta, t_h=sim.t_h, A0=float(cfg.rate.gamma) * S),
        gate_box=(float(box[0]), float(box[1])),
        G_ref=readonly(cfg.reference if cfg.reference else np.full(net.n_gates, 3.0), float),
        G0=readonly(sim.G0 if sim.G0 else np.full(net.n_gates, 3.0), float),
        max_periods=int(sim.max_periods),
    )  # fmt: skip


def run_fig1(
    source: str | os.PathLike[str] = "fig1",
    *,
    simulate: bool = False,
    tau: Any = None,
    sim_tau: Any = None,
    burn_in: float | None = None,
    max_periods: int | None = None,
) -> Fig1Result:
    """Ē(τ) and D(τ) of Fig. 1G,H: the theory for the regression pair, the simulator for both.

    Parameters
    ----------
    source : str or path-like
        Preset name or TOML file (`fig1_experiment`); default the preset ``"fig1"``.
    simulate : bool
        Also run the simulator on both pairs (minutes; see the module docstring).
    tau : array_like, optional
        Periods of the theory, s (default the preset's ``[sweep] tau``).
    sim_tau : array_like, optional
        Periods of the simulator, s (default `FIG1_SIM_TAU`); each is snapped to a whole number
        of steps per half period.
    burn_in : float, optional
        Seconds of averaged dynamics before the first simulated period (default
        `FIG1_BURN_IN`).
    max_periods : int, optional
        Most periods simulated at one τ (default the preset's ``[simulate] max_periods``).

    Returns
    -------
    Fig1Result

    Raises
    ------
    ArgumentError
        A bad option or description.
    ConfigError
        An invalid description.
    TaskError, SingularSystemError
        No joint solution of the regression pair near the reference.
    """
    t0 = time.perf_counter()
    flag = instance(simulate, "simulate", bool)
    exp = _experiment(source)
    taus = exp.tau if tau is None else np.sort(times(tau, "tau").ravel())
    sims = _sim_periods(FIG1_SIM_TAU if sim_tau is None else sim_tau, exp.protocol.t_h)
    burn = FIG1_BURN_IN if burn_in is None else positive(burn_in, "burn_in", unit="s")
    cap = exp.max_periods if max_periods is None else count(max_periods, "max_periods")
    failures: list[Failure] = []
    curve, metric, small, rate, pinned = _theory(exp, taus, failures)
    reg = cls = None
    ratio = np.empty(0)
    if flag:
        settle = _SETTLE_EFOLDS / rate if rate is not None and rate > 0 else burn
        reg, G_burn = _simulated(exp, "regression", sims, burn, settle, cap, failures, exp.G0)
        cls, _ = _simulated(exp, "classification", sims, burn / 2, settle, cap, failures, G_burn)
        ratio = cls.D / reg.D
    return Fig1Result(
        theory=curve,
        regression=reg,
        classification=cls,
        span_ratio=readonly(ratio),
        small_tau_slope=small,
        slowest_rate=rate,
        metric_change=metric.change,
        pinned=pinned,
        failures=tuple(failures),
        seconds=time.perf_counter() - t0,
        theory_tasks=metric.tasks,
        metric=readonly(metric.d),
    )


@validator
def _sim_periods(tau: Any, t_h: float) -> np.ndarray:
    """The simulator's periods (s), each snapped to a whole number (>= 1) of steps per half."""
    t = np.sort(times(tau, "sim_tau").ravel())
    return readonly(2 * t_h * np.maximum(1, np.round(t / (2 * t_h))))


def _theory(exp: Fig1Experiment, taus: np.ndarray, failures: list[Failure]):
    """Closed-form box orbits of the regression pair in the metric's coordinates: the curve,
    the metric, D/τ, the slowest rate and the pinned count at the shortest τ."""
    t0 = time.perf_counter()
    net, (ta, tb) = exp.network, exp.regression
    G_star = joint_solution(net, ta, tb, exp.G_ref)
    Ms = [exp.gamma * np.asarray(force_jacobian(net, G_star, t).J) for t in (ta, tb)]
    metric = symmetrize(Ms, G_star, rate_tol=1e-9)
    d = metric.d
    lo, hi = exp.gate_box
    box = (lo * d, hi * d)
    n = taus.size
    D, Ebar = np.full(n, np.nan), np.full(n, np.nan)
    first: Any = None
    for i, t in enumerate(taus):
        try:
            orb = periodic_orbit(*metric.tasks, B=d * exp.B, tau=float(t), box=box)
        except CLLNError as err:
            failures.append(Failure("theory", str(err), f"tau = {t:.4g} s", type(err).__name__))
            continue
        G0, Gh = orb.G0 / d, orb.G_half / d
        D[i] = float(np.linalg.norm(Gh - G0))
        Ebar[i] = 0.5 * (_error(net, G0, ta, tb) + _error(net, Gh, ta, tb))
        first = orb if first is None else first
    change = np.where(np.isfinite(D), 0.0, np.nan)  # closed orbits: no change over a period
    curve = _curve("regression", "theory", taus, Ebar, D, change, time.perf_counter() - t0)
    if first is None:
        return curve, metric, None, None, 0
    y = np.asarray(first.G0)
    free = (y > box[0] + _PIN_TOL) & (y < box[1] - _PIN_TOL)
    pair = reduced_pair(metric.tasks, free, y, 1e-9)
    i = int(np.flatnonzero(np.isfinite(D))[0])
    slope = float(D[i] / taus[i])
    lam = np.linalg.eigvalsh(0.5 * (pair[0].M + pair[1].M))
    pos = lam[lam > 1e-6 * lam.max()] if lam.size else lam
    rate = float(pos.min()) if pos.size else None
    return curve, metric, slope, rate, int(np.sum(~free))


def _error(net: Network, G: np.ndarray, ta: Task, tb: Task) -> float:
    """``E = (E_alpha + E_beta) / 2`` (A1), (A3) of the linear network at ``G``, V²."""
    Es = [float(np.mean((free_state(net, G, t).O - t.labels) ** 2)) for t in (ta, tb)]
    return 0.5 * (Es[0] + Es[1])


def _simulated(
    exp: Fig1Experiment,
    kind: str,
    taus: np.ndarray,
    burn: float,
    settle: float,
    cap: int,
    failures: list[Failure],
    G_start: np.ndarray,
) -> tuple[Fig1Curve, np.ndarray]:
    """The simulator on one pair: the burn-in from ``G_start``, then each period from the
    previous one's end; also the gates at the end of the burn-in."""
    t0 = time.perf_counter()
    ta, tb = exp.regression if kind == "regression" else exp.classification
    net, prot = exp.sim_network, exp.protocol
    both = Task(ta.points + tb.points, ta.output, kind=ta.kind, name="both")
    G = burned = _run(net, [both], G_start, 2 * burn, 0.5, exp, continuum=True).G[-1]
    n = taus.size
    D, Ebar, change = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for i, t in enumerate(taus):
        steps = round(float(t) / (2 * prot.t_h))
        most = cap if steps > _CONTINUUM_STEPS else min(cap, _MAX_STEPS // (2 * steps))
        periods = periods_for(float(t), settle, _MIN_PERIODS, max(_MIN_PERIODS, most))
        try:
            tr = _run(net, [ta, tb], G, float(t), periods, exp, continuum=steps > _CONTINUUM_STEPS)
        except CLLNError as err:
            where = f"{kind}, tau = {t:.4g} s"
            failures.append(Failure("simulation", str(err), where, type(err).__name__))
            continue
        G = tr.G[-1]
        D[i], Ebar[i], change[i] = cycle_measures(tr.G, tr.errors)
    curve = _curve(kind, "simulator", taus, Ebar, D, change, time.perf_counter() - t0)
    return curve, burned


def _run(
    net: Network,
    tasks: Sequence[Task],
    G0: np.ndarray,
    tau: float,
    periods: float,
    exp: Fig1Experiment,
    *,
    continuum: bool,
):
    """One `simulate` call (discrete, or continuum with this module's tolerances)."""
    if continuum:
        return simulate(net, tasks, G0, tau=tau, n_periods=periods, B=exp.B,
                        protocol=exp.protocol, gate_limits=exp.gate_box, mode="continuum",
                        rtol=_RTOL, atol=_ATOL)  # fmt: skip
    return simulate(net, tasks, G0, tau=tau, n_periods=periods, B=exp.B, protocol=exp.protocol,
                    gate_limits=exp.gate_box)  # fmt: skip
