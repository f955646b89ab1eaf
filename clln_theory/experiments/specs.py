"""The validated experiment description: what `clln_theory.experiments.load_config` returns.

Frozen dataclasses, one per section of the TOML schema (see `clln_theory.experiments.config`);
built by the config reader, read by the reproduction pipeline. Each validates its fields on
construction (``__post_init__``): a field of the wrong type, NaN, inf or out of range raises
`clln_theory.errors.ArgumentError` naming the field, so a record built by hand is as sound as
one the reader built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._checks import choice, construction, count, instance, number, quote
from ..errors import ArgumentError
from ..inference import SolutionLine
from ..inference._state_models import STATE_MODELS
from ..model import DataPoint, Differential, Network
from ..model.devices import DEVICES

__all__ = [
    "BiasMeasurement",
    "BiasSpec",
    "DataSpec",
    "ExperimentConfig",
    "RandomBias",
    "RateSpec",
    "SimulateSpec",
    "SweepSpec",
    "TaskSpec",
]


def _text(value: Any, name: str, *, optional: bool = False, empty: bool = False) -> None:
    """``value`` is a string (non-empty unless ``empty``), or None when ``optional``."""
    if value is None and optional:
        return
    if not isinstance(value, str) or (not empty and not value):
        raise ArgumentError(f"Field `{name}` must be a non-empty string, but is {quote(value)}.")


def _tuple(value: Any, name: str, *, optional: bool = False) -> bool:
    """``value`` is a tuple (or None when ``optional``); True if it is a tuple."""
    if value is None and optional:
        return False
    if not isinstance(value, tuple):
        raise ArgumentError(f"Field `{name}` must be a tuple, but is {quote(value)}.")
    return True


def _floats(value: Any, name: str, *, optional: bool = True, positive: bool = False) -> None:
    """``value`` is a tuple of finite real numbers (each > 0 if ``positive``), or None."""
    if _tuple(value, name, optional=optional):
        for i, x in enumerate(value):
            number(x, f"{name}[{i}]", low=0.0 if positive else None, low_open=positive)


def _pair(value: Any, name: str) -> None:
    """``value`` is None or a tuple ``(lo, hi)`` of finite numbers with ``lo < hi``."""
    if _tuple(value, name, optional=True):
        _floats(value, name)
        if len(value) != 2 or not value[0] < value[1]:
            raise ArgumentError(
                f"Field `{name}` must be (min, max) with min < max, but is {quote(value)}."
            )


def _items(value: Any, name: str, kinds: type | tuple[type, ...]) -> None:
    """``value`` is a tuple whose entries are instances of ``kinds``."""
    _tuple(value, name)
    for i, x in enumerate(value):
        instance(x, f"{name}[{i}]", kinds)


def _output(value: Any, name: str) -> None:
    """``value`` is an output: a node name or a `Differential`."""
    if not isinstance(value, Differential):
        _text(value, name)


def _optional_positive(obj: Any, names: Sequence[str]) -> None:
    for name in names:
        if getattr(obj, name) is not None:
            number(getattr(obj, name), name, low=0.0, low_open=True)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task of a description.

    Attributes
    ----------
    name : str
        Task name (``"alpha"``, ``"beta"``).
    points : tuple of DataPoint
        Nominal points (the network's supplies merged into every point's inputs).
    lines : tuple of SolutionLine or None
        Measured solution line of each point, or None.
    fit_input : str or None
        Input fitted to the measured lines.
    G_star : tuple of float or None
        Explicit linearization point, V.
    kind : {"regression", "classification"}
        ``tasks[].kind``: classification trains with the hinge of Appendix A (an output beyond
        its label, in the label's direction, is not nudged; the label's sign is the class).
    duration : float or None
        ``tasks[].duration``: the task's share of the period, as a fraction of τ; None for the
        default (an equal share of what the other tasks leave; 1/K when none is given). The
        resolved shares are `ExperimentConfig.durations`.
    linearize : {"given", "line", "joint", "nearest"}
        Where the task is linearized: ``"given"``, at ``G_star``; ``"line"``, a point has a
        measured ``line``, so the task is calibrated to its lines first (two-gate networks) and
        linearized at the point of its line nearest ``theory.reference`` (one point) or at the
        intersection of its lines; ``"joint"``, no line and as many conditions (points × outputs)
        as gates: at the task's joint solution (no calibration, no reference needed);
        ``"nearest"``, no line and fewer conditions than gates: at the point of the task's
        solution set nearest ``theory.reference`` (no calibration).
    """

    name: str
    points: tuple[DataPoint, ...]
    lines: tuple[SolutionLine | None, ...]
    fit_input: str | None
    G_star: tuple[float, ...] | None
    kind: str = "regression"
    duration: float | None = None
    linearize: str = "line"

    @construction
    def __post_init__(self) -> None:
        _text(self.name, "name")
        _items(self.points, "points", DataPoint)
        _tuple(self.lines, "lines")
        if len(self.lines) != len(self.points) or not self.points:
            raise ArgumentError(
                f"Fields `points` and `lines` must be non-empty and of one length, but have "
                f"{len(self.points)} and {len(self.lines)} entries."
            )
        for i, line in enumerate(self.lines):
            if line is not None:
                instance(line, f"lines[{i}]", SolutionLine)
        _text(self.fit_input, "fit_input", optional=True)
        _floats(self.G_star, "G_star")
        choice(self.kind, "kind", ("regression", "classification"))
        if self.duration is not None:
            number(self.duration, "duration", low=0.0, high=1.0, low_open=True)
        choice(self.linearize, "linearize", ("given", "line", "joint", "nearest"))


@dataclass(frozen=True, slots=True)
class RateSpec:
    """Learning rate: ``gamma`` is r γ in Ω/s (Eq. C1 with the measured factor r, App. C).

    ``R0`` (Ω), ``C0`` (F), ``V0`` (V) and ``r`` are the components when the description gives
    them (None when it gives ``gamma`` directly); then ``gamma`` is
    `clln_theory.electrical.rule.learning_rate_gamma` of them and the network's one ``S``,
    computed by the config reader before the record is built: a `RateSpec` always holds a
    finite ``gamma`` > 0 (NaN, inf, 0 or a negative number raise `ArgumentError` naming it).

    Attributes
    ----------
    gamma : float
        The rate r γ of the continuum dynamics, Ω/s.
    R0 : float or None
        Charging resistor, Ω.
    C0 : float or None
        Gate capacitor, F.
    V0 : float or None
        Multiplier scale, V.
    r : float or None
        Measured rate factor ``A_exp / A₀``.
    """

    gamma: float
    R0: float | None
    C0: float | None
    V0: float | None
    r: float | None

    @construction
    def __post_init__(self) -> None:
        number(self.gamma, "gamma", low=0.0, low_open=True, unit="Ω/s")
        _optional_positive(self, ("R0", "C0", "V0", "r"))


@dataclass(frozen=True, slots=True)
class BiasMeasurement:
    """How one task measures the bias.

    Attributes
    ----------
    task : str
        The task's name.
    kind : {"drift", "stationary", "cycle-drift", "cycle-stationary"}
        A drift test of the task trained alone, the stationary point of a full-rank task, or a
        measured limit cycle: the mean velocity over a window, or ``M (G[sample] − G*)``.
    file : str or None
        Data file, relative to the data folder.
    window : int, (int, int) or None
        Drift: finite-difference velocities averaged; cycle-drift: ``[start, stop)``.
    skip : int
        Drift: samples before the run.
    direction : {"drift", "line"}
        Drift: project on the drift's own direction or on the solution line.
    point : tuple of float or None
        Stationary: the point, V (or read from ``file`` at ``sample``).
    sample : int or None
        Stationary, cycle-stationary: sample index in ``file``.
    tau : float or None
        Cycle kinds: the period of the measured cycle, s.
    """

    task: str
    kind: str
    file: str | None
    window: int | tuple[int, int] | None
    skip: int
    direction: str
    point: tuple[float, ...] | None
    sample: int | None
    tau: float | None = None

    @construction
    def __post_init__(self) -> None:
        _text(self.task, "task")
        choice(self.kind, "kind", ("drift", "stationary", "cycle-drift", "cycle-stationary"))
        _text(self.file, "file", optional=True)
        w = self.window
        if isinstance(w, tuple):
            if len(w) != 2:
                raise ArgumentError(f"Field `window` must be (start, stop), but is {quote(w)}.")
            count(w[1], "window", minimum=count(w[0], "window", minimum=0) + 1)
        elif w is not None:
            count(w, "window")
        count(self.skip, "skip", minimum=0)
        choice(self.direction, "direction", ("drift", "line"))
        _floats(self.point, "point")
        if self.sample is not None:
            count(self.sample, "sample", minimum=0)
        _optional_positive(self, ("tau",))


@dataclass(frozen=True, slots=True)
class RandomBias:
    """A random bias (``bias.random``): one normal draw per learning edge, in gate order,
    ``numpy.random.default_rng(seed).normal(mean, std, n)``.

    Attributes
    ----------
    mean : float
        Mean of the draws, V/s.
    std : float
        Standard deviation of the draws, V/s (>= 0).
    seed : int
        Seed of `numpy.random.default_rng` (>= 0): the same seed gives the same bias.
    """

    mean: float
    std: float
    seed: int

    @construction
    def __post_init__(self) -> None:
        number(self.mean, "mean", unit="V/s")
        number(self.std, "std", low=0.0, unit="V/s")
        count(self.seed, "seed", minimum=0)


@dataclass(frozen=True, slots=True)
class BiasSpec:
    """The bias of a description.

    Attributes
    ----------
    given : tuple of float or None
        The bias, V/s, when given (``bias.given``) or drawn (``bias.random``, resolved here to
        its n numbers).
    measurements : tuple of BiasMeasurement
        Otherwise one measurement per task.
    paper : tuple of float or None
        A published value to compare with, V/s.
    random : RandomBias or None
        How ``given`` was drawn, when the description asks for a random bias.
    state : str
        The state dependence fitted to the drift tests and bow-ties (``bias.state``):
        ``"constant"`` (none, the paper's model), ``"affine"``, ``"diagonal"`` or
        ``"along-lines"``.
    shapes_only : bool
        Fit the state model to the bow-ties' shapes (means removed) plus the drift tests.
    """

    given: tuple[float, ...] | None
    measurements: tuple[BiasMeasurement, ...]
    paper: tuple[float, ...] | None
    random: RandomBias | None = None
    state: str = "constant"
    shapes_only: bool = False

    @construction
    def __post_init__(self) -> None:
        _floats(self.given, "given")
        _items(self.measurements, "measurements", BiasMeasurement)
        _floats(self.paper, "paper")
        if self.random is not None:
            instance(self.random, "random", RandomBias)
        if self.state not in STATE_MODELS:
            raise ArgumentError(
                f"Field `state` of BiasSpec must be one of {', '.join(map(repr, STATE_MODELS))}, "
                f"but is {quote(self.state)}."
            )
        if not isinstance(self.shapes_only, bool):
            raise ArgumentError(
                f"Field `shapes_only` of BiasSpec must be True or False, but is "
                f"{quote(self.shapes_only)}."
            )


@dataclass(frozen=True, slots=True)
class DataSpec:
    """Measured files, relative to the data folder.

    Attributes
    ----------
    D2 : str or None
        The measured squared cycle span against τ.
    Ebar : str or None
        The measured combined error against τ.
    cycles : tuple of str
        Measured limit cycles.
    """

    D2: str | None
    Ebar: str | None
    cycles: tuple[str, ...]

    @construction
    def __post_init__(self) -> None:
        _text(self.D2, "D2", optional=True)
        _text(self.Ebar, "Ebar", optional=True)
        _tuple(self.cycles, "cycles")
        for i, c in enumerate(self.cycles):
            _text(c, f"cycles[{i}]")


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """The periods of a description.

    Attributes
    ----------
    tau : "data" or tuple of float
        The measured periods, or the periods of the table, s.
    cycles : tuple of float
        Periods whose orbits are drawn in G-space, s.
    """

    tau: str | tuple[float, ...]
    cycles: tuple[float, ...]

    @construction
    def __post_init__(self) -> None:
        if self.tau != "data":
            _floats(self.tau, "tau", optional=False, positive=True)
            if not self.tau:
                raise ArgumentError("Field `tau` must be 'data' or a non-empty tuple of periods.")
        _floats(self.cycles, "cycles", optional=False, positive=True)


@dataclass(frozen=True, slots=True)
class SimulateSpec:
    """The nonlinear simulator of a description (``[simulate]``; ``reproduce(simulate=True)``).

    Attributes
    ----------
    device : {"three-regime", "ohmic", "linear"}
        Device model of the learning edges (a name of `clln_theory.model.devices.DEVICES`).
    t_h : float
        Hold time of one data point (one discrete learning step), s; τ/2 must be a whole number
        of steps, otherwise that period is flagged.
    gate_limits : (float, float) or None
        Gate limits ``(G_min, G_max)`` of the simulation, V (default ``theory.gate_box``).
    G0 : tuple of float or None
        Start of the first limit-cycle search, V (default ``theory.reference``, else task α's
        linearization point); each later period starts from the previous period's cycle.
    B : tuple of float or None
        Bias of the simulation, V/s (default: the reproduction's B, given or inferred).
    tol : float
        Period-map residual at which a simulated cycle counts as converged, V.
    max_periods : int
        Budget of period-map evaluations per period τ; a period that exceeds it is flagged.
    max_seconds : float or None
        Wall-clock budget of one period's cycle search, s (None: none); a period that
        exceeds it is flagged.
    """

    device: str
    t_h: float
    gate_limits: tuple[float, float] | None
    G0: tuple[float, ...] | None
    B: tuple[float, ...] | None
    tol: float
    max_periods: int
    max_seconds: float | None = None

    @construction
    def __post_init__(self) -> None:
        choice(self.device, "device", tuple(DEVICES))
        number(self.t_h, "t_h", low=0.0, low_open=True, unit="s")
        _pair(self.gate_limits, "gate_limits")
        _floats(self.G0, "G0")
        _floats(self.B, "B")
        number(self.tol, "tol", low=0.0, low_open=True, unit="V")
        count(self.max_periods, "max_periods")
        _optional_positive(self, ("max_seconds",))


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """A complete, validated experiment description (schema: `clln_theory.experiments.config`).

    Attributes
    ----------
    name, description : str
        Identifier and one-line description.
    network : Network
        The linear theory's network; its learning edges, in order, define the gate vector.
    output : str or Differential
        The output: the single target of a one-output description (a node, or the
        `~clln_theory.model.Differential` of ``network.differential``); with several outputs
        (``network.outputs``) the first of `targets`.
    tasks : tuple of TaskSpec
        The K >= 2 tasks, in training order (task alpha, then task beta, ...).
    reference : tuple of float or None
        Single-point tasks linearize at the point of their line nearest it, V.
    eta : float
        Clamping strength of ``M = (r γ / η) ∂²C/∂G²``.
    gate_box : (float, float) or None
        Gate limits, V; orbits leaving them are flagged.
    relinearize : bool
        ``theory.relinearize``: each task linearized at the centre of its stretch of the cycle,
        iterated to self-consistency (`clln_theory.theory.relinearized_cycle`), at every
        period; default False (M at G*).
    rate : RateSpec
    bias : BiasSpec
    data : DataSpec
    sweep : SweepSpec
        The other sections.
    source : str
        Where the description came from (for display).
    folder : Path or None
        The folder of the description's TOML file, where data paths may also be relative to
        (None for a preset or a document parsed without a file).
    simulate : SimulateSpec or None
        The nonlinear simulator's settings (``[simulate]``), or None.
    raw : dict
        The parsed TOML document (kept for the provenance of reports).
    targets : tuple of (str or Differential)
        Every output, in order (``network.output``, ``network.differential`` or
        ``network.outputs``); each point has one label per target. Empty only in a description
        built by hand, where it means ``(output,)``.
    """

    name: str
    description: str
    network: Network
    output: str | Differential
    tasks: tuple[TaskSpec, ...]
    reference: tuple[float, ...] | None
    eta: float
    gate_box: tuple[float, float] | None
    rate: RateSpec
    bias: BiasSpec
    data: DataSpec
    sweep: SweepSpec
    source: str = ""
    folder: Path | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    simulate: SimulateSpec | None = None
    targets: tuple[str | Differential, ...] = ()
    relinearize: bool = False

    @construction
    def __post_init__(self) -> None:
        _text(self.name, "name")
        _text(self.description, "description", empty=True)
        instance(self.network, "network", Network)
        _output(self.output, "output")
        _items(self.tasks, "tasks", TaskSpec)
        if len(self.tasks) < 2:
            raise ArgumentError(f"Field `tasks` must hold K >= 2 TaskSpec, not {len(self.tasks)}.")
        _tuple(self.targets, "targets")
        for i, t in enumerate(self.targets):
            _output(t, f"targets[{i}]")
        _floats(self.reference, "reference")
        number(self.eta, "eta", low=0.0, low_open=True)
        _pair(self.gate_box, "gate_box")
        if not isinstance(self.relinearize, bool):
            raise ArgumentError(
                f"Field `relinearize` must be True or False, but is {self.relinearize!r}."
            )
        for name, kind in (("rate", RateSpec), ("bias", BiasSpec), ("data", DataSpec),
                           ("sweep", SweepSpec)):  # fmt: skip
            instance(getattr(self, name), name, kind)
        _text(self.source, "source", empty=True)
        if self.folder is not None:
            instance(self.folder, "folder", Path)
        instance(self.raw, "raw", dict)
        if self.simulate is not None:
            instance(self.simulate, "simulate", SimulateSpec)

    @property
    def task_output(self) -> str | Differential | tuple[str | Differential, ...]:
        """The ``output`` argument of every `~clln_theory.model.Task` of the description: the
        single target, or the tuple of targets of a multi-output description."""
        targets = self.targets or (self.output,)
        return targets[0] if len(targets) == 1 else targets

    @property
    def durations(self) -> tuple[float, ...]:
        """Each task's share of the period τ, in task order (they sum to 1): the given
        ``tasks[].duration``, the rest split equally (1/K each when none is given)."""
        given = [t.duration for t in self.tasks if t.duration is not None]
        free = len(self.tasks) - len(given)
        rest = (1.0 - sum(given)) / free if free else 0.0
        return tuple(rest if t.duration is None else t.duration for t in self.tasks)
