"""The sections of an experiment description, read into the dataclasses of
`clln_theory.experiments.specs` (engine of `clln_theory.experiments.config`, which documents the
schema); every error a `ConfigError` naming the key."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..electrical.rule import V0_MULTIPLIER
from ..errors import ConfigError
from ..inference import SolutionLine
from ..inference._state_models import STATE_MODELS
from ..model import DataPoint, Differential, Network
from ..model.devices import DEVICES
from ..simulator._cycle import MAX_PERIODS
from ._network_section import node_error
from ._toml_table import Table, as_list, data_path, key_number, show
from .specs import (
    BiasMeasurement,
    BiasSpec,
    DataSpec,
    RandomBias,
    SimulateSpec,
    SweepSpec,
    TaskSpec,
)

__all__ = [
    "linearize_mode",
    "parse_bias",
    "parse_data",
    "parse_rate",
    "parse_simulate",
    "parse_sweep",
    "parse_task",
]

#: Largest ``sweep.tau.num``: a closed orbit costs ~1 µs per period vectorized, but the gate-box
#: check samples every orbit (201 points), so 1e5 periods already take ~1 GB.
_MAX_SWEEP_POINTS = 100_000
#: Default ``simulate.tol`` (V): `clln_theory.simulator.limit_cycle`'s own default, ~1e-8 of the
#: smallest measured span.
_SIM_TOL = 1e-10
#: Default ``simulate.max_periods``: the package's one default (`limit_cycle`'s, 5000; why in
#: `clln_theory.simulator._cycle.MAX_PERIODS`). Newton shooting needs tens of period maps, the
#: iteration fallback ~1500 at the slowest contraction seen in the paper's experiments
#: (multiplier 0.988); 5000 bounds the time a hopeless period can take before it is flagged.
_SIM_MAX_PERIODS = MAX_PERIODS
#: Default ``simulate.t_h``: the experiment's step time per data point, 100 µs (the same value
#: as `clln_theory.experiments.paper.FIG5_T_H`, which imports this module).
_SIM_T_H = 100e-6


# ------------------------------------------------------------------------------ sections
def parse_task(
    raw: Any,
    i: int,
    net: Network,
    targets: tuple[str | Differential, ...],
    supplies: dict[str, float],
) -> TaskSpec:
    """One ``[[tasks]]`` table; its ``linearize`` is set by the caller (it needs the reference)."""
    t = Table(raw, f"tasks[{i}]", {"name", "fit_input", "G_star", "points", "kind", "duration"})
    name = t.string("name", required=True)
    kind = t.string("kind", "regression")
    if kind not in ("regression", "classification"):
        raise ConfigError(
            f"Key '{t.key('kind')}' must be 'regression' or 'classification', but is {kind!r}."
        )
    duration = t.number("duration", positive=True)
    if duration is not None and duration >= 1.0:
        raise ConfigError(
            f"Key '{t.key('duration')}' is the task's share of the period τ and must be in "
            f"(0, 1), but is {duration}."
        )
    fit_input = t.string("fit_input")
    G_star = t.vector("G_star", net.n_gates)
    out_nodes = [n for x in targets for n in ((x,) if isinstance(x, str) else x)]
    points, lines = [], []
    for j, rawp in enumerate(as_list(t.get("points", required=True), t.key("points"))):
        p = Table(rawp, f"{t.key('points')}[{j}]", {"inputs", "label", "line"})
        inputs = p.get("inputs", required=True)
        if not isinstance(inputs, dict) or not inputs:
            raise ConfigError(f"Key '{p.key('inputs')}' must be a table node = volts.")
        merged = dict(supplies)
        for node, v in inputs.items():
            if node not in net.node_index:
                raise node_error(f"{p.key('inputs')}.{node}", node, net.nodes)
            merged[str(node)] = key_number(v, f"{p.key('inputs')}.{node}")
        for node in out_nodes:
            if node in merged:
                raise ConfigError(f"Key '{p.key('inputs')}' imposes the output node {node!r}.")
        label = _label(p, len(targets), kind)
        line = p.vector("line", 2)
        if line is not None:
            _check_line(t, p, net, len(targets), fit_input, merged)
        points.append(DataPoint(merged, label))
        lines.append(None if line is None else SolutionLine(*line))
    if len({tuple(sorted(p.inputs)) for p in points}) != 1:
        raise ConfigError(f"Key '{t.key('points')}' mixes points imposing different input nodes.")
    return TaskSpec(name, tuple(points), tuple(lines), fit_input, G_star, kind, duration)


def _label(p: Table, n_targets: int, kind: str) -> float | tuple[float, ...]:
    """``label``: a number (one output) or an array of one number per output, V; nonzero for
    a classification task (its sign is the class)."""
    v, key = p.get("label", required=True), p.key("label")
    if isinstance(v, list):
        if len(v) != n_targets:
            raise ConfigError(
                f"Key '{key}' must hold {n_targets} number(s), one per output, but holds "
                f"{len(v)}: {show(v)}."
            )
        values = tuple(key_number(x, f"{key}[{k}]") for k, x in enumerate(v))
    elif n_targets != 1:
        raise ConfigError(
            f"Key '{key}' must be an array of {n_targets} numbers, one per output, but is "
            f"{show(v)}."
        )
    else:
        values = (key_number(v, key),)
    if kind == "classification" and 0.0 in values:
        raise ConfigError(
            f"Key '{key}' must be nonzero in a classification task (the label's sign is the "
            f"class), but is {show(v)}."
        )
    return values[0] if n_targets == 1 else values


def _check_line(
    t: Table, p: Table, net: Network, n_targets: int, fit_input: str | None, merged: dict
) -> None:
    """A measured ``line`` needs a two-gate network, one output and ``fit_input``."""
    if net.n_gates != 2:
        raise ConfigError(
            f"Key '{p.key('line')}' gives a solution line, which needs a network with two "
            f"gates, but this one has {net.n_gates}."
        )
    if n_targets != 1:
        raise ConfigError(
            f"Key '{p.key('line')}' gives a solution line, which needs a single output, but the "
            f"network has {n_targets}."
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


def linearize_mode(task: TaskSpec, i: int, n_gates: int, n_targets: int, reference) -> str:
    """Where task ``i`` linearizes (`TaskSpec.linearize`), or the `ConfigError` of a missing
    reference or ``G_star``."""
    if task.G_star is not None:
        return "given"
    if any(line is not None for line in task.lines):
        conditions = len(task.points)  # each line is one condition on the two gates
        mode = "line"
    else:
        conditions = len(task.points) * n_targets
        mode = "joint" if conditions == n_gates else "nearest"
    if conditions > n_gates:
        raise ConfigError(
            f"Missing key 'tasks[{i}].G_star': task {task.name!r} sets {conditions} conditions "
            f"(points x outputs) on {n_gates} gates, and only a task with at most as many "
            "conditions as gates has an automatic linearization point."
        )
    if conditions < n_gates and reference is None:
        what = "the point of its line" if mode == "line" else "the point of its solution set"
        raise ConfigError(
            f"Missing key 'theory.reference' (or 'tasks[{i}].G_star'): task {task.name!r} "
            f"({len(task.points)} point(s), {n_gates} gates) linearizes at {what} nearest the "
            "reference."
        )
    return mode


def parse_rate(
    t: Table, net: Network
) -> tuple[float | None, tuple[float, float, float, float, float] | None]:
    """``[rate]``: ``(gamma, None)`` when it gives r γ itself, else ``(None, (R0, C0, V0, r,
    S))``, the components and the network's one ``S`` (the caller computes γ from them, so
    that a `RateSpec` is only ever built with its γ)."""
    if t.has("gamma"):
        extra = sorted(k for k in ("R0", "C0", "V0", "r") if t.has(k))
        if extra:
            raise ConfigError(
                f"Key '{t.key(extra[0])}' conflicts with '{t.key('gamma')}'; give gamma (= r γ) "
                "or the components R0, C0, V0, r, not both."
            )
        return t.number("gamma", required=True, positive=True), None
    R0 = t.number("R0", required=True, positive=True)
    C0 = t.number("C0", required=True, positive=True)
    V0 = t.number("V0", V0_MULTIPLIER, positive=True)
    r = t.number("r", 1.0, positive=True)
    S_all = np.unique(net.S)  # γ = A₀ / S: one S for the network
    if S_all.size != 1:
        raise ConfigError(
            "Key 'rate.R0' gives γ = r/(V0 R0 C0 S), which needs one S for all learning edges, "
            f"but they have {S_all.tolist()}; give 'rate.gamma' instead."
        )
    return None, (R0, C0, V0, r, float(S_all[0]))


def parse_bias(t: Table, task_names: list[str], n_gates: int) -> BiasSpec:
    given = t.vector("given", n_gates)
    paper = t.vector("paper", n_gates)
    measurements = []
    m = t.table("measure", set(task_names))
    ways = [k for k in ("given", "random", "measure") if t.has(k)]
    if len(ways) > 1:
        raise ConfigError(
            f"Key '{t.key(ways[1])}' conflicts with '{t.key(ways[0])}'; give the bias, draw it at "
            "random or say how to measure it: one of them."
        )
    if not ways:
        raise ConfigError(
            f"Missing key '{t.key('given')}' (or '{t.key('random')}', or the table "
            f"'{t.key('measure')}')."
        )
    if t.has("random"):
        random = _random_bias(t.table("random", {"mean", "std", "seed"}, required=True))
        draws = np.random.default_rng(random.seed).normal(random.mean, random.std, n_gates)
        return replace(BiasSpec(tuple(float(b) for b in draws), (), paper, random), **_state(t))
    if m is not None:
        allowed = {"kind", "file", "window", "skip", "direction", "point", "sample", "tau"}
        for name in task_names:
            s = m.table(name, allowed, required=True)
            kind = s.string("kind", required=True)
            if kind in ("cycle-drift", "cycle-stationary"):
                measurements.append(_parse_cycle_measurement(s, name, kind))
            elif kind == "drift":
                file = data_path(s, "file", required=True)
                window = s.get("window", required=True)
                skip = s.get("skip", 2)
                for k, v in (("window", window), ("skip", skip)):
                    if (
                        isinstance(v, bool)
                        or not isinstance(v, int)
                        or v < (1 if k == "window" else 0)
                    ):
                        raise ConfigError(
                            f"Key '{s.key(k)}' must be a non-negative integer, but is {show(v)}."
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
                source = data_path(s, "file")
                sample = s.get("sample")
                if (point is None) == (source is None):
                    raise ConfigError(
                        f"Key '{s.path}' needs exactly one of 'point' (V) or 'file' with 'sample'."
                    )
                if source is not None and (isinstance(sample, bool) or not isinstance(sample, int)):
                    raise ConfigError(
                        f"Key '{s.key('sample')}' must be an integer sample index, "
                        f"but is {show(sample)}."
                    )
                measurements.append(
                    BiasMeasurement(name, kind, source, None, 0, "drift", point, sample)
                )
            else:
                raise ConfigError(
                    f"Key '{s.key('kind')}' must be 'drift', 'stationary', 'cycle-drift' or "
                    f"'cycle-stationary', but is {show(kind)}."
                )
    return replace(BiasSpec(given, tuple(measurements), paper), **_state(t))


def _state(t: Table) -> dict[str, Any]:
    """``bias.state`` (a model of `STATE_MODELS`, default "constant") and ``bias.shapes_only``."""
    state = t.string("state", "constant")
    if state not in STATE_MODELS:
        raise ConfigError(
            f"Key '{t.key('state')}' must be one of {', '.join(map(repr, STATE_MODELS))}, "
            f"but is {show(state)}."
        )
    shapes = t.get("shapes_only", False)
    if not isinstance(shapes, bool):
        raise ConfigError(
            f"Key '{t.key('shapes_only')}' must be true or false, but is {show(shapes)}."
        )
    return {"state": state, "shapes_only": shapes}


def _random_bias(r: Table) -> RandomBias:
    """``bias.random = { mean, std, seed }``: V/s, V/s (>= 0), an integer seed (>= 0)."""
    std = r.number("std", required=True)
    if std < 0:
        raise ConfigError(f"Key '{r.key('std')}' must be >= 0 (V/s), but is {std}.")
    return RandomBias(r.number("mean", 0.0), std, r.integer("seed", low=0))


def parse_data(t: Table | None) -> DataSpec:
    """``[data]``: the measured files, relative paths."""
    if t is None:
        return DataSpec(None, None, ())
    cyc = t.get("cycles", [])
    if not isinstance(cyc, list) or not all(isinstance(c, str) for c in cyc):
        raise ConfigError("Key 'data.cycles' must be a list of file paths.")
    for i in range(len(cyc)):
        data_path(Table({f"cycles[{i}]": cyc[i]}, "data", {f"cycles[{i}]"}), f"cycles[{i}]")
    return DataSpec(data_path(t, "D2"), data_path(t, "Ebar"), tuple(cyc))


def _parse_cycle_measurement(s: Table, name: str, kind: str) -> BiasMeasurement:
    """``cycle-drift`` (file, tau, window = [start, stop]) or ``cycle-stationary`` (file, tau,
    sample): the bias from a measured limit cycle."""
    own = {"cycle-drift": {"window"}, "cycle-stationary": {"sample"}}[kind]
    for k in ("skip", "direction", "point", *({"window", "sample"} - own)):
        if s.has(k):
            raise ConfigError(f"Key '{s.key(k)}' does not apply to kind {kind!r}.")
    file = data_path(s, "file", required=True)
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
                f"but is {show(w)}."
            )
        return BiasMeasurement(name, kind, file, (w[0], w[1]), 0, "drift", None, None, tau)
    sample = s.get("sample", required=True)
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise ConfigError(
            f"Key '{s.key('sample')}' must be a sample index >= 0, but is {show(sample)}."
        )
    return BiasMeasurement(name, kind, file, None, 0, "drift", None, sample, tau)


def parse_sweep(t: Table | None, has_data: bool) -> SweepSpec:
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
        tau = t.vector("tau", required=True)
    elif isinstance(raw, dict):
        g = Table(raw, t.key("tau"), {"min", "max", "num"})
        lo, hi = (
            g.number("min", required=True, positive=True),
            g.number("max", required=True, positive=True),
        )
        num = g.get("num", required=True)
        if isinstance(num, bool) or not isinstance(num, int) or not 2 <= num <= _MAX_SWEEP_POINTS:
            raise ConfigError(
                f"Key '{g.key('num')}' must be an integer in [2, {_MAX_SWEEP_POINTS}], "
                f"but is {show(num)}."
            )
        if hi <= lo:
            raise ConfigError(
                f"Key '{g.key('max')}' must exceed '{g.key('min')}', but {hi} <= {lo}."
            )
        tau = tuple(np.geomspace(lo, hi, num).tolist())
    else:
        raise ConfigError(
            f"Key '{t.key('tau')}' must be \"data\", a list of periods or a table "
            f"{{min, max, num}}, but is {show(raw)}."
        )
    if isinstance(tau, tuple) and any(x <= 0 for x in tau):
        raise ConfigError(f"Key '{t.key('tau')}' must hold positive periods, but is {list(tau)}.")
    cycles = t.vector("cycles", required=True) if t.get("cycles", []) != [] else ()
    if any(x <= 0 for x in cycles):
        raise ConfigError(
            f"Key '{t.key('cycles')}' must hold positive periods, but is {list(cycles)}."
        )
    return SweepSpec(tau, tuple(cycles))


def parse_simulate(t: Table | None, n: int, box, reference) -> SimulateSpec | None:
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
            raise ConfigError(f"Key '{k(key)}' must be {what}, but is {show(value)}.")
    t_h = t.number("t_h", _SIM_T_H, positive=True)
    tol = t.number("tol", _SIM_TOL, positive=True)
    seconds = t.number("max_seconds", None, positive=True)  # None: no wall-clock budget
    return SimulateSpec(
        device, t_h, limits, G0, t.vector("B", n), tol, periods, seconds,  # type: ignore
    )  # fmt: skip
