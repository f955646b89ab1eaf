"""The sections of an experiment description, read into the dataclasses of
`clln_theory.experiments.specs` (engine of `clln_theory.experiments.config`, which documents the
schema); every error a `ConfigError` naming the key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..electrical.rule import V0_MULTIPLIER
from ..errors import CLLNError, ConfigError
from ..inference import SolutionLine
from ..model import PAPER_S, PAPER_V_T, DataPoint, Edge, Network
from ..model.devices import DEVICES
from ._toml_table import Table, as_list, data_path, key_number, show
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

__all__ = ["description"]

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


# ------------------------------------------------------------------------------ sections
def parse_network(t: Table) -> tuple[Network, str, dict[str, float]]:
    output = t.string("output", required=True)
    S = t.number("S", PAPER_S, positive=True)
    V_T = t.number("V_T", PAPER_V_T)
    supplies = {}
    sup = t.get("supplies", {})
    if not isinstance(sup, dict):
        raise ConfigError(f"Key '{t.key('supplies')}' must be a table node = volts.")
    for node, v in sup.items():
        supplies[str(node)] = key_number(v, f"{t.key('supplies')}.{node}")
    edges = []
    for i, raw in enumerate(as_list(t.get("edges", required=True), t.key("edges"))):
        e = Table(
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
            K = 1.0 / e.number("R", required=True, positive=True)
        learning = e.get("learning", K is None)
        if not isinstance(learning, bool):
            raise ConfigError(
                f"Key '{e.key('learning')}' must be true or false, but is {show(learning)}."
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


def parse_task(raw: Any, i: int, net: Network, output: str, supplies: dict) -> TaskSpec:
    t = Table(raw, f"tasks[{i}]", {"name", "fit_input", "G_star", "points"})
    name = t.string("name", required=True)
    fit_input = t.string("fit_input")
    G_star = t.vector("G_star", net.n_gates)
    points, lines = [], []
    for j, rawp in enumerate(as_list(t.get("points", required=True), t.key("points"))):
        p = Table(rawp, f"{t.key('points')}[{j}]", {"inputs", "label", "line"})
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
            merged[str(node)] = key_number(v, f"{p.key('inputs')}.{node}")
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


def parse_rate(t: Table, net: Network) -> RateSpec:
    if t.has("gamma"):
        extra = sorted(k for k in ("R0", "C0", "V0", "r") if t.has(k))
        if extra:
            raise ConfigError(
                f"Key '{t.key(extra[0])}' conflicts with '{t.key('gamma')}'; give gamma (= r γ) "
                "or the components R0, C0, V0, r, not both."
            )
        return RateSpec(
            gamma=t.number("gamma", required=True, positive=True), R0=None, C0=None, V0=None, r=None
        )
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
    return RateSpec(gamma=math.nan, R0=R0, C0=C0, V0=V0, r=r)  # γ: set by `parse_config`


def parse_bias(t: Table, task_names: list[str], n_gates: int) -> BiasSpec:
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
    return BiasSpec(given, tuple(measurements), paper)


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


_SIMULATE_KEYS = {"device", "t_h", "gate_limits", "G0", "B", "tol", "max_periods"}


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
    return SimulateSpec(device, t_h, limits, G0, t.vector("B", n), tol, periods)  # type: ignore


def description(raw: dict, source: str, folder: Path | None) -> ExperimentConfig:
    """The `ExperimentConfig` of a parsed TOML document (see `parse_config`)."""
    top = Table(
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
        raise ConfigError(f"Key 'description' must be a string, but is {show(description)}.")
    net_t = top.table("network", {"output", "S", "V_T", "supplies", "edges"}, required=True)
    net, output, supplies = parse_network(net_t)
    raw_tasks = as_list(top.get("tasks", required=True), "tasks")
    if len(raw_tasks) != 2:
        raise ConfigError(
            "Key 'tasks' must hold exactly two tasks (alpha, then beta), "
            f"but holds {len(raw_tasks)}."
        )
    tasks = tuple(parse_task(r, i, net, output, supplies) for i, r in enumerate(raw_tasks))
    if tasks[0].name == tasks[1].name:
        raise ConfigError(f"Key 'tasks[1].name' repeats {tasks[0].name!r}; task names must differ.")
    th = top.table("theory", {"reference", "eta", "gate_box"})
    th = th or Table({}, "theory", set())
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
    rate = parse_rate(rate_t, net)
    bias_t = top.table("bias", {"given", "paper", "measure"}, required=True)
    bias = parse_bias(bias_t, [t.name for t in tasks], net.n_gates)
    data_t = top.table("data", {"D2", "Ebar", "cycles"})
    if data_t is None:
        data = DataSpec(None, None, ())
    else:
        cyc = data_t.get("cycles", [])
        if not isinstance(cyc, list) or not all(isinstance(c, str) for c in cyc):
            raise ConfigError("Key 'data.cycles' must be a list of file paths.")
        for i in range(len(cyc)):
            data_path(Table({f"cycles[{i}]": cyc[i]}, "data", {f"cycles[{i}]"}), f"cycles[{i}]")
        data = DataSpec(data_path(data_t, "D2"), data_path(data_t, "Ebar"), tuple(cyc))
    sweep = parse_sweep(
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
        folder=folder,
        raw=raw,
        simulate=parse_simulate(top.table("simulate", _SIMULATE_KEYS), n, box, reference),
    )
