"""Experiment descriptions in TOML: network, tasks, rate, bias, data and sweep.

One file describes one two-task experiment completely, so that a user's own experiment (another
network, other lines, other data) runs through `clln_theory.experiments.reproduce` with no code
change. Presets for the paper ship in ``clln_theory/experiments/presets/`` (``exp1``, ``exp2``,
``fig3``): they are the single source of the paper's experiments. :func:`load_config` accepts a
preset name or a path. This is the only module that speaks TOML: every error it raises is a
`ConfigError` naming the key.

Schema (keys marked * are required; see ``presets/exp1.toml`` for a complete example)::

    name* = "exp1"                       # identifier used in reports
    description = "..."

    [network]
    output* = "Output"                    # output node
    S = 8.5e-4                            # A/V², default for learning edges
    V_T = 0.7                             # V, default for learning edges
    supplies = { High = 0.4351, Low = 0.0181 }   # V, imposed in every data point
    edges* = [                            # learning edges, in order, define the gate vector G
      { name = "Low-Output", a = "Low", b = "Output" },           # learning (no K or R)
      { name = "Input-Output", a = "Input", b = "Output", R = 500.0 },  # fixed: R (Ω) or K (S)
    ]

    [[tasks]]                             # exactly two tables: task alpha, then task beta
    name* = "alpha"
    fit_input = "Input"                   # input fitted to measured lines (needed with `line`)
    G_star = [2.9, 4.6]                   # optional explicit linearization point (V)
    points* = [ { inputs* = { Input = 0.4351 }, label* = 0.31, line = [2.7257, -3.3003] } ]

    [theory]
    reference = [3.0, 3.5]                # V; single-point tasks linearize at the nearest point
    eta = 1.0                             # clamping strength used for M = (r γ / η) ∂²C/∂G²
    gate_box = [1.0, 5.0]                 # V; orbits leaving it are flagged

    [rate]                                # r γ = r / (V0 R0 C0 S), or give `gamma` (= r γ, Ω/s)
    R0 = 100.0
    C0 = 22e-6
    V0 = 0.33
    r = 2.0

    [bias]                                # either `given`, or one measurement per task
    given = [2.97, 4.41]                  # V/s, gate order
    paper = [2.97, 4.41]                  # V/s, optional: a published value to compare with
    [bias.measure.alpha]                  # drift of a single-point task trained alone ...
    kind = "drift"
    file = "small network/DriftTests/exp1DriftTest_2.mat"
    window = 13                           # finite-difference velocities averaged
    skip = 2                              # samples before the run (default 2)
    direction = "drift"                   # or "line": project on the solution line
    [bias.measure.beta]                   # ... or the stationary point of a two-point task
    kind = "stationary"
    point = [3.8, 3.1]                    # V; or file = "...csv" with sample = k
    # from a measured limit cycle (bow-tie file: rows G-, G+; N samples over one period):
    #   kind = "cycle-drift", file, tau (s), window = [start, stop]   (mean velocity)
    #   kind = "cycle-stationary", file, tau (s), sample = k          (a = M (G[k] - G*))

    [data]                                # files relative to --data-dir (or the TOML's folder)
    D2 = "small network/MSE-DG2-Data/measured-DG2-exp1.csv"
    Ebar = "small network/MSE-DG2-Data/measured-MSE-exp1.csv"
    cycles = ["small network/experimental_bowties/bowtie-exp1-0.2s.csv"]

    [sweep]
    tau = "data"                          # or a list, or { min = 1e-3, max = 2.0, num = 40 }
                                          # (num <= 100000)
    cycles = [0.02, 0.08, 0.2]            # s, periods drawn in G-space

    [simulate]                            # the simulator (--simulate); also G0 (V), B (V/s),
    device = "three-regime"               # tol (V), max_periods; "ohmic" or "linear" too
    t_h = 100e-6                          # s; gate_limits = [1, 5] V (default theory.gate_box)

Every error is a :class:`~clln_theory.errors.ConfigError` whose one-sentence message names the
offending key by its dotted path (``tasks[1].points[0].label``). Data paths are relative and stay
inside their folder: an absolute path or a ``..`` component is refused.

Examples
--------
>>> cfg = load_config("exp1")
>>> cfg.name, cfg.network.gate_names, [t.name for t in cfg.tasks]
('exp1', ('Low-Output', 'High-Output'), ['alpha', 'beta'])
>>> round(cfg.rate.gamma, -4)
3240000.0
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..electrical.rule import V0_MULTIPLIER, learning_rate_gamma
from ..errors import CLLNError, ConfigError
from ..inference import SolutionLine
from ..model import PAPER_S, PAPER_V_T, DataPoint, Edge, Network
from ._devices_shim import DEVICES  # TEMPORARY: from ..model.devices after the merge
from .specs import (
    BiasMeasurement,
    BiasSpec,
    DataSpec,
    ExperimentConfig,
    RateSpec,
    SimulateSpec,
    SweepSpec,
    TaskSpec,
)

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None  # type: ignore[assignment]

_PRESETS = Path(__file__).resolve().parent / "presets"

__all__ = [
    "list_presets",
    "load_config",
    "parse_config",
]


#: Largest ``sweep.tau.num``: a closed orbit costs ~1 µs per period vectorized, but the gate-box
#: check samples every orbit (201 points), so 1e5 periods already take ~1 GB.
_MAX_SWEEP_POINTS = 100_000
#: Default ``simulate.tol`` (V): `clln_theory.simulator.limit_cycle`'s own default, ~1e-8 of the
#: smallest measured span.
_SIM_TOL = 1e-10
#: Default ``simulate.max_periods``: Newton shooting needs tens of period maps, the iteration
#: fallback ~1500 at the slowest contraction seen in the paper's experiments (multiplier 0.988);
#: 5000 bounds the time a hopeless period can take before it is flagged.
_SIM_MAX_PERIODS = 5000
#: Default ``simulate.t_h``: the experiment's step time per data point, 100 µs (the same value
#: as `clln_theory.experiments.paper.FIG5_T_H`, which imports this module).
_SIM_T_H = 100e-6


# ------------------------------------------------------------------------------ validation
class _Table:
    """A TOML table with its dotted path; every accessor validates and names the key."""

    def __init__(self, raw: Any, path: str, allowed: set[str]):
        if not isinstance(raw, dict):
            raise ConfigError(f"Key '{path}' must be a table, but is {_show(raw)}.")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            where = f"'{path}.{unknown[0]}'" if path else f"'{unknown[0]}'"
            raise ConfigError(
                f"Unknown key {where}; allowed keys{' of ' + repr(path) if path else ''} are "
                f"{sorted(allowed)}."
            )
        self.raw, self.path = raw, path

    def key(self, k: str) -> str:
        return f"{self.path}.{k}" if self.path else k

    def has(self, k: str) -> bool:
        return k in self.raw

    def get(self, k: str, default: Any = None, *, required: bool = False) -> Any:
        if k not in self.raw:
            if required:
                raise ConfigError(f"Missing required key '{self.key(k)}'.")
            return default
        return self.raw[k]

    def number(self, k, default=None, *, required=False, positive=False) -> float | None:
        v = self.get(k, default, required=required)
        if v is None:
            return None
        return _number(v, self.key(k), positive=positive)

    def string(self, k, default=None, *, required=False) -> str | None:
        v = self.get(k, default, required=required)
        if v is None:
            return None
        if not isinstance(v, str) or not v:
            raise ConfigError(f"Key '{self.key(k)}' must be a non-empty string, but is {_show(v)}.")
        return v

    def vector(self, k, n=None, default=None, *, required=False) -> tuple[float, ...] | None:
        v = self.get(k, default, required=required)
        if v is None:
            return None
        if not isinstance(v, list) or not v:
            raise ConfigError(f"Key '{self.key(k)}' must be a list of numbers, but is {_show(v)}.")
        if n is not None and len(v) != n:
            raise ConfigError(
                f"Key '{self.key(k)}' must hold {n} numbers, but holds {len(v)}: {_show(v)}."
            )
        return tuple(_number(x, f"{self.key(k)}[{i}]") for i, x in enumerate(v))

    def table(self, k, allowed, *, required=False) -> _Table | None:
        v = self.get(k, required=required)
        return None if v is None else _Table(v, self.key(k), allowed)


def _show(v: Any) -> str:
    s = ascii(v)  # escaped: control characters and non-ASCII cannot reach a terminal raw
    return s if len(s) <= 60 else s[:57] + "..."


def _data_path(t: _Table, k: str, *, required: bool = False) -> str | None:
    """A data file path: relative, without ``..``, so it cannot leave its folder."""
    v = t.string(k, required=required)
    if v is None:
        return None
    p = Path(v)
    if (
        p.is_absolute()
        or v.startswith(("/", "\\", "~"))
        or ".." in p.parts
        or ".." in v.split("\\")
    ):
        raise ConfigError(
            f"Key '{t.key(k)}' must be a path relative to the data folder without '..', "
            f"but is {_show(v)}."
        )
    return v


def _number(v: Any, key: str, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"Key '{key}' must be a number, but is {_show(v)}.")
    x = float(v)
    if not math.isfinite(x):
        raise ConfigError(f"Key '{key}' must be finite, but is {x}.")
    if positive and x <= 0:
        raise ConfigError(f"Key '{key}' must be positive, but is {x}.")
    return x


def _list(raw: Any, key: str) -> list:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"Key '{key}' must be a non-empty list, but is {_show(raw)}.")
    return raw


# ------------------------------------------------------------------------------ sections
def _parse_network(t: _Table) -> tuple[Network, str, dict[str, float]]:
    output = t.string("output", required=True)
    S = t.number("S", PAPER_S, positive=True)
    V_T = t.number("V_T", PAPER_V_T)
    supplies = {}
    sup = t.get("supplies", {})
    if not isinstance(sup, dict):
        raise ConfigError(f"Key '{t.key('supplies')}' must be a table node = volts.")
    for node, v in sup.items():
        supplies[str(node)] = _number(v, f"{t.key('supplies')}.{node}")
    edges = []
    for i, raw in enumerate(_list(t.get("edges", required=True), t.key("edges"))):
        e = _Table(
            raw, f"{t.key('edges')}[{i}]", {"name", "a", "b", "learning", "K", "R", "S", "V_T"}
        )
        a, b = e.string("a", required=True), e.string("b", required=True)
        name = e.string("name", f"{a}-{b}")
        if e.has("K") and e.has("R"):
            raise ConfigError(
                f"Key '{e.key('R')}' conflicts with '{e.key('K')}'; give one of them."
            )
        K = e.number("K", positive=True)
        if e.has("R"):
            K = 1.0 / e.number("R", positive=True)
        learning = e.get("learning", K is None)
        if not isinstance(learning, bool):
            raise ConfigError(
                f"Key '{e.key('learning')}' must be true or false, but is {_show(learning)}."
            )
        if learning and K is not None:
            raise ConfigError(
                f"Key '{e.key('K' if e.has('K') else 'R')}' is set on a learning edge; a learning "
                "edge has S and V_T, a fixed edge has K or R."
            )
        if not learning and K is None:
            raise ConfigError(f"Missing key '{e.key('R')}' (or K) of the fixed edge {name!r}.")
        try:
            if learning:
                edge = Edge(
                    name, a, b, True, S=e.number("S", S, positive=True), V_T=e.number("V_T", V_T)
                )
            else:
                edge = Edge(name, a, b, False, K=K)
        except CLLNError as exc:
            raise ConfigError(f"Key '{e.path}' is not a valid edge: {exc}") from None
        edges.append(edge)
    nodes: dict[str, None] = {}  # insertion-ordered set: linear in the number of edges
    for edge in edges:
        nodes.setdefault(edge.a)
        nodes.setdefault(edge.b)
    try:
        net = Network(tuple(nodes), tuple(edges))
    except CLLNError as exc:
        raise ConfigError(
            f"Key '{t.key('edges')}' does not describe a valid network: {exc}"
        ) from None
    if output not in net.node_index:
        raise ConfigError(
            f"Key '{t.key('output')}' names node {output!r}, which no edge touches; nodes are "
            f"{list(net.nodes)}."
        )
    for node in supplies:
        if node not in net.node_index:
            raise ConfigError(
                f"Key '{t.key('supplies')}.{node}' names a node no edge touches; nodes are "
                f"{list(net.nodes)}."
            )
    return net, output, supplies


def _parse_task(raw: Any, i: int, net: Network, output: str, supplies: dict) -> TaskSpec:
    t = _Table(raw, f"tasks[{i}]", {"name", "fit_input", "G_star", "points"})
    name = t.string("name", required=True)
    fit_input = t.string("fit_input")
    G_star = t.vector("G_star", net.n_gates)
    points, lines = [], []
    for j, rawp in enumerate(_list(t.get("points", required=True), t.key("points"))):
        p = _Table(rawp, f"{t.key('points')}[{j}]", {"inputs", "label", "line"})
        inputs = p.get("inputs", required=True)
        if not isinstance(inputs, dict) or not inputs:
            raise ConfigError(f"Key '{p.key('inputs')}' must be a table node = volts.")
        merged = dict(supplies)
        for node, v in inputs.items():
            if node not in net.node_index:
                raise ConfigError(
                    f"Key '{p.key('inputs')}.{node}' names a node no edge touches; nodes are "
                    f"{list(net.nodes)}."
                )
            merged[str(node)] = _number(v, f"{p.key('inputs')}.{node}")
        if output in merged:
            raise ConfigError(f"Key '{p.key('inputs')}' imposes the output node {output!r}.")
        label = p.number("label", required=True)
        line = p.vector("line", 2)
        if line is not None:
            if net.n_gates != 2:
                raise ConfigError(
                    f"Key '{p.key('line')}' gives a solution line, which needs a network with two "
                    f"gates, but this one has {net.n_gates}."
                )
            if fit_input is None:
                raise ConfigError(
                    f"Missing key '{t.key('fit_input')}': the input fitted to the line of "
                    f"'{p.key('line')}'."
                )
            if fit_input not in merged:
                raise ConfigError(
                    f"Key '{t.key('fit_input')}' names {fit_input!r}, which is not an input of "
                    f"'{p.path}' (inputs: {sorted(merged)})."
                )
        points.append(DataPoint(merged, label))
        lines.append(None if line is None else SolutionLine(*line))
    if len({tuple(sorted(p.inputs)) for p in points}) != 1:
        raise ConfigError(f"Key '{t.key('points')}' mixes points imposing different input nodes.")
    return TaskSpec(name, tuple(points), tuple(lines), fit_input, G_star)


def _parse_rate(t: _Table) -> RateSpec:
    if t.has("gamma"):
        extra = sorted(k for k in ("R0", "C0", "V0", "r") if t.has(k))
        if extra:
            raise ConfigError(
                f"Key '{t.key(extra[0])}' conflicts with '{t.key('gamma')}'; give gamma (= r γ) "
                "or the components R0, C0, V0, r, not both."
            )
        return RateSpec(gamma=t.number("gamma", positive=True), R0=None, C0=None, V0=None, r=None)
    R0 = t.number("R0", required=True, positive=True)
    C0 = t.number("C0", required=True, positive=True)
    V0 = t.number("V0", V0_MULTIPLIER, positive=True)
    r = t.number("r", 1.0, positive=True)
    return RateSpec(gamma=math.nan, R0=R0, C0=C0, V0=V0, r=r)  # γ needs the network's S


def _parse_bias(t: _Table, task_names: list[str], n_gates: int) -> BiasSpec:
    given = t.vector("given", n_gates)
    paper = t.vector("paper", n_gates)
    measurements = []
    m = t.table("measure", set(task_names))
    if given is not None and m is not None:
        raise ConfigError(
            f"Key '{t.key('measure')}' conflicts with '{t.key('given')}'; give the bias or how to "
            "measure it, not both."
        )
    if given is None and m is None:
        raise ConfigError(f"Missing key '{t.key('given')}' (or the table '{t.key('measure')}').")
    if m is not None:
        allowed = {"kind", "file", "window", "skip", "direction", "point", "sample", "tau"}
        for name in task_names:
            s = m.table(name, allowed, required=True)
            kind = s.string("kind", required=True)
            if kind in ("cycle-drift", "cycle-stationary"):
                measurements.append(_parse_cycle_measurement(s, name, kind))
            elif kind == "drift":
                file = _data_path(s, "file", required=True)
                window = s.get("window", required=True)
                skip = s.get("skip", 2)
                for k, v in (("window", window), ("skip", skip)):
                    if (
                        isinstance(v, bool)
                        or not isinstance(v, int)
                        or v < (1 if k == "window" else 0)
                    ):
                        raise ConfigError(
                            f"Key '{s.key(k)}' must be a non-negative integer, but is {_show(v)}."
                        )
                direction = s.string("direction", "drift")
                if direction not in ("drift", "line"):
                    raise ConfigError(
                        f"Key '{s.key('direction')}' must be 'drift' or 'line', "
                        f"but is {direction!r}."
                    )
                measurements.append(
                    BiasMeasurement(name, kind, file, window, skip, direction, None, None)
                )
            elif kind == "stationary":
                point = s.vector("point", n_gates)
                file = _data_path(s, "file")
                sample = s.get("sample")
                if (point is None) == (file is None):
                    raise ConfigError(
                        f"Key '{s.path}' needs exactly one of 'point' (V) or 'file' with 'sample'."
                    )
                if file is not None and (isinstance(sample, bool) or not isinstance(sample, int)):
                    raise ConfigError(
                        f"Key '{s.key('sample')}' must be an integer sample index, "
                        f"but is {_show(sample)}."
                    )
                measurements.append(
                    BiasMeasurement(name, kind, file, None, 0, "drift", point, sample)
                )
            else:
                raise ConfigError(
                    f"Key '{s.key('kind')}' must be 'drift', 'stationary', 'cycle-drift' or "
                    f"'cycle-stationary', but is {_show(kind)}."
                )
    return BiasSpec(given, tuple(measurements), paper)


def _parse_cycle_measurement(s: _Table, name: str, kind: str) -> BiasMeasurement:
    """``cycle-drift`` (file, tau, window = [start, stop]) or ``cycle-stationary`` (file, tau,
    sample): the bias from a measured limit cycle."""
    own = {"cycle-drift": {"window"}, "cycle-stationary": {"sample"}}[kind]
    for k in ("skip", "direction", "point", *({"window", "sample"} - own)):
        if s.has(k):
            raise ConfigError(f"Key '{s.key(k)}' does not apply to kind {kind!r}.")
    file = _data_path(s, "file", required=True)
    tau = s.number("tau", required=True, positive=True)
    if kind == "cycle-drift":
        w = s.get("window", required=True)
        if (
            not isinstance(w, list)
            or len(w) != 2
            or any(isinstance(x, bool) or not isinstance(x, int) for x in w)
            or not 1 <= w[0] < w[1]
        ):
            raise ConfigError(
                f"Key '{s.key('window')}' must be [start, stop] with integers 1 <= start < stop, "
                f"but is {_show(w)}."
            )
        return BiasMeasurement(name, kind, file, (w[0], w[1]), 0, "drift", None, None, tau)
    sample = s.get("sample", required=True)
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise ConfigError(
            f"Key '{s.key('sample')}' must be a sample index >= 0, but is {_show(sample)}."
        )
    return BiasMeasurement(name, kind, file, None, 0, "drift", None, sample, tau)


def _parse_sweep(t: _Table | None, has_data: bool) -> SweepSpec:
    if t is None:
        if not has_data:
            raise ConfigError("Missing key 'sweep.tau': without [data] the periods must be given.")
        return SweepSpec("data", ())
    raw = t.get("tau", "data")
    if raw == "data":
        if not has_data:
            raise ConfigError(
                "Key 'sweep.tau' is \"data\", but the file has no 'data.D2' or 'data.Ebar'."
            )
        tau: str | tuple[float, ...] = "data"
    elif isinstance(raw, list):
        tau = t.vector("tau")
    elif isinstance(raw, dict):
        g = _Table(raw, t.key("tau"), {"min", "max", "num"})
        lo, hi = (
            g.number("min", required=True, positive=True),
            g.number("max", required=True, positive=True),
        )
        num = g.get("num", required=True)
        if isinstance(num, bool) or not isinstance(num, int) or not 2 <= num <= _MAX_SWEEP_POINTS:
            raise ConfigError(
                f"Key '{g.key('num')}' must be an integer in [2, {_MAX_SWEEP_POINTS}], "
                f"but is {_show(num)}."
            )
        if hi <= lo:
            raise ConfigError(
                f"Key '{g.key('max')}' must exceed '{g.key('min')}', but {hi} <= {lo}."
            )
        tau = tuple(np.geomspace(lo, hi, num).tolist())
    else:
        raise ConfigError(
            f"Key '{t.key('tau')}' must be \"data\", a list of periods or a table "
            f"{{min, max, num}}, but is {_show(raw)}."
        )
    if isinstance(tau, tuple) and any(x <= 0 for x in tau):
        raise ConfigError(f"Key '{t.key('tau')}' must hold positive periods, but is {list(tau)}.")
    cycles = t.vector("cycles", default=[]) if t.get("cycles", []) != [] else ()
    if any(x <= 0 for x in cycles):
        raise ConfigError(
            f"Key '{t.key('cycles')}' must hold positive periods, but is {list(cycles)}."
        )
    return SweepSpec(tau, tuple(cycles))


_SIMULATE_KEYS = {"device", "t_h", "gate_limits", "G0", "B", "tol", "max_periods"}


def _parse_simulate(t: _Table | None, n: int, box, reference) -> SimulateSpec | None:
    if t is None:
        return None
    device, k = t.string("device", "three-regime"), t.key
    limits = t.vector("gate_limits", 2, default=None if box is None else list(box))
    G0 = t.vector("G0", n, default=None if reference is None else list(reference))
    periods = t.get("max_periods", _SIM_MAX_PERIODS)
    bad = (
        (device not in DEVICES, "device", f"one of {list(DEVICES)}", device),
        (limits is not None and not limits[0] < limits[1], "gate_limits",
         "[G_min, G_max] with G_min < G_max", limits),
        (G0 is not None and limits is not None and not all(limits[0] <= g <= limits[1] for g in G0),
         "G0", f"within the gate limits {limits}", G0),
        (isinstance(periods, bool) or not isinstance(periods, int) or periods < 3, "max_periods",
         "an integer >= 3", periods),
    )  # fmt: skip
    for failed, key, what, value in bad:
        if failed:
            raise ConfigError(f"Key '{k(key)}' must be {what}, but is {_show(value)}.")
    t_h = t.number("t_h", _SIM_T_H, positive=True)
    tol = t.number("tol", _SIM_TOL, positive=True)
    return SimulateSpec(device, t_h, limits, G0, t.vector("B", n), tol, periods)  # type: ignore


def parse_config(
    raw: dict, *, source: str = "", folder: str | Path | None = None
) -> ExperimentConfig:
    """Validate a parsed TOML document and build the :class:`ExperimentConfig`.

    Parameters
    ----------
    raw : dict
        The parsed TOML document (see the module docstring for the schema).
    source : str
        Where it came from (a path or ``"preset NAME"``), kept for reports.
    folder : str or Path, optional
        The folder of its TOML file: data paths may also be relative to it (`load_config`
        passes the file's folder); default none.

    Returns
    -------
    ExperimentConfig

    Raises
    ------
    ConfigError
        Naming the first missing, unknown or ill-typed key.
    """
    top = _Table(
        raw,
        "",
        {
            "name", "description", "network", "tasks", "theory", "rate", "bias", "data", "sweep",
            "simulate",
        },
    )  # fmt: skip
    name = top.string("name", required=True)
    description = top.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"Key 'description' must be a string, but is {_show(description)}.")
    net_t = top.table("network", {"output", "S", "V_T", "supplies", "edges"}, required=True)
    net, output, supplies = _parse_network(net_t)
    raw_tasks = _list(top.get("tasks", required=True), "tasks")
    if len(raw_tasks) != 2:
        raise ConfigError(
            "Key 'tasks' must hold exactly two tasks (alpha, then beta), "
            f"but holds {len(raw_tasks)}."
        )
    tasks = tuple(_parse_task(r, i, net, output, supplies) for i, r in enumerate(raw_tasks))
    if tasks[0].name == tasks[1].name:
        raise ConfigError(f"Key 'tasks[1].name' repeats {tasks[0].name!r}; task names must differ.")
    th = top.table("theory", {"reference", "eta", "gate_box"})
    th = th or _Table({}, "theory", set())
    reference, n = th.vector("reference", net.n_gates), net.n_gates
    eta = th.number("eta", 1.0, positive=True)
    box = th.vector("gate_box", 2)
    if box is not None and not box[0] < box[1]:
        raise ConfigError(
            f"Key 'theory.gate_box' must be [min, max] with min < max, but is {list(box)}."
        )
    for i, task in enumerate(tasks):
        if task.G_star is None and len(task.points) == 1 and reference is None:
            raise ConfigError(
                f"Missing key 'theory.reference' (or 'tasks[{i}].G_star'): single-point task "
                f"{task.name!r} linearizes at the point of its line nearest the reference."
            )
        if task.G_star is None and len(task.points) > 2:
            raise ConfigError(
                f"Missing key 'tasks[{i}].G_star': task {task.name!r} has {len(task.points)} "
                "points, and only one- and two-point tasks have an automatic linearization point."
            )
    rate_t = top.table("rate", {"R0", "C0", "V0", "r", "gamma"}, required=True)
    rate = _parse_rate(rate_t)
    if rate.R0 is not None:  # γ = A₀ / S: one S for the network
        S_all = np.unique(net.S)
        if S_all.size != 1:
            raise ConfigError(
                "Key 'rate.R0' gives γ = r/(V0 R0 C0 S), which needs one S for all learning edges, "
                f"but they have {S_all.tolist()}; give 'rate.gamma' instead."
            )
        gamma = learning_rate_gamma(rate.R0, rate.C0, float(S_all[0]), V0=rate.V0, r=rate.r)
        rate = RateSpec(gamma=gamma, R0=rate.R0, C0=rate.C0, V0=rate.V0, r=rate.r)
    bias_t = top.table("bias", {"given", "paper", "measure"}, required=True)
    bias = _parse_bias(bias_t, [t.name for t in tasks], net.n_gates)
    data_t = top.table("data", {"D2", "Ebar", "cycles"})
    if data_t is None:
        data = DataSpec(None, None, ())
    else:
        cyc = data_t.get("cycles", [])
        if not isinstance(cyc, list) or not all(isinstance(c, str) for c in cyc):
            raise ConfigError("Key 'data.cycles' must be a list of file paths.")
        for i in range(len(cyc)):
            _data_path(_Table({f"cycles[{i}]": cyc[i]}, "data", {f"cycles[{i}]"}), f"cycles[{i}]")
        data = DataSpec(_data_path(data_t, "D2"), _data_path(data_t, "Ebar"), tuple(cyc))
    sweep = _parse_sweep(
        top.table("sweep", {"tau", "cycles"}), data.D2 is not None or data.Ebar is not None
    )
    return ExperimentConfig(
        name=name,
        description=description,
        network=net,
        output=output,
        tasks=tasks,  # type: ignore[arg-type]
        reference=reference,
        eta=eta,
        gate_box=box,  # type: ignore[arg-type]
        rate=rate,
        bias=bias,
        data=data,
        sweep=sweep,
        source=source,
        folder=None if folder is None else Path(folder),
        raw=raw,
        simulate=_parse_simulate(top.table("simulate", _SIMULATE_KEYS), n, box, reference),
    )


def list_presets() -> list[str]:
    """Names of the shipped presets (``clln_theory/experiments/presets/*.toml``)."""
    return sorted(p.stem for p in _PRESETS.glob("*.toml"))


def load_config(name_or_path: str | Path) -> ExperimentConfig:
    """Load an experiment description from a TOML file or a preset name (``"exp1"``).

    Parameters
    ----------
    name_or_path : str or Path
        A TOML file, or the name of a shipped preset (`list_presets`).

    Returns
    -------
    ExperimentConfig

    Raises
    ------
    ConfigError
        If the file does not exist and is no preset, is not valid TOML, or fails validation.
    """
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError(
            "Reading TOML needs Python >= 3.11 (tomllib) or the package 'tomli' on Python 3.10; "
            "install it with `pip install tomli`."
        )
    path = Path(name_or_path)
    if path.is_dir():
        raise ConfigError(f"'{path}' is a folder, not a TOML file.")
    folder: Path | None = None
    if path.is_file():
        source, folder = str(path), path.parent
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"'{source}' is not UTF-8 text (at byte {exc.start}); TOML files must be UTF-8."
            ) from None
        except OSError as exc:
            raise ConfigError(f"Cannot read '{source}': {exc.strerror}.") from None
    else:
        presets = list_presets()
        if str(name_or_path) not in presets:
            raise ConfigError(
                f"'{name_or_path}' is neither a TOML file nor a preset; presets are {presets}."
            )
        text = (_PRESETS / f"{name_or_path}.toml").read_text(encoding="utf-8")
        source = f"preset {name_or_path}"
    try:
        raw = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ConfigError(f"'{source}' is not valid TOML: {_show(str(exc))}.") from None
    return parse_config(raw, source=source, folder=folder)
