"""Experiment descriptions in TOML: network, tasks, rate, bias, data and sweep.

One file describes one experiment completely (any network, two or more tasks), so that a user's
own experiment (another network, other lines, other data) runs through
`clln_theory.experiments.reproduce` with no code change. Presets for the paper ship in
``clln_theory/experiments/presets/`` (``exp1``, ``exp2``, ``fig3``): they are the single source of
the paper's experiments. :func:`load_config` accepts a preset name or a path. This face and its
section readers (``_network_section.py``, ``_sections.py``) are the only code that speaks TOML:
every error they raise is a `ConfigError` naming the key.

Schema (keys marked * are required; see ``presets/exp1.toml`` for a complete example)::

    name* = "exp1"                       # identifier used in reports
    description = "..."

    [network]                             # edges from `lattice`, `file` and/or `edges`*
    output* = "Output"                    # output node; or outputs = ["n6", ["n2", "n0"]]
                                          # (several) or differential = ["plus", "minus"]
    lattice = { kind = "grid", rows = 3, cols = 3 }   # or "periodic"; nodes n0... row-major
    fixed = [ { edge = "n0-n1", R = 500.0 } ]         # lattice edges that do not learn
    file = "edges.csv"                    # edge list: header a,b[,name][,learning][,K|R][,S][,V_T]
    S = 8.5e-4                            # A/V², default for learning edges
    V_T = 0.7                             # V, default for learning edges
    supplies = { High = 0.4351, Low = 0.0181 }   # V, imposed in every data point
    edges* = [                            # learning edges, in order, define the gate vector G
      { name = "Low-Output", a = "Low", b = "Output" },           # learning (no K or R)
      { name = "Input-Output", a = "Input", b = "Output", R = 500.0 },  # fixed: R (Ω) or K (S)
    ]

    [[tasks]]                             # two or more tables, trained in turn in this order
    name* = "alpha"
    kind = "regression"                   # or "classification" (the hinge of Appendix A)
    duration = 0.5                        # share of the period τ (default: an equal share)
    fit_input = "Input"                   # input fitted to measured lines (needed with `line`)
    G_star = [2.9, 4.6]                   # optional explicit linearization point (V)
    points* = [ { inputs* = { Input = 0.4351 }, label* = 0.31, line = [2.7257, -3.3003] } ]
                                          # label: one number per output; line: 2 gates only

    [theory]
    reference = [3.0, 3.5]                # V, n numbers; a task with fewer conditions than
                                          # gates linearizes at its solution nearest it
    eta = 1.0                             # clamping strength used for M = (r γ / η) ∂²C/∂G²
    gate_box = [1.0, 5.0]                 # V; orbits leaving it are flagged

    [rate]                                # r γ = r / (V0 R0 C0 S), or give `gamma` (= r γ, Ω/s)
    R0 = 100.0
    C0 = 22e-6
    V0 = 0.33
    r = 2.0

    [bias]                                # `given`, `random` or one measurement per task
    given = [2.97, 4.41]                  # V/s, gate order
    random = { mean = 0.0, std = 2.0, seed = 1 }   # V/s: default_rng(seed).normal(mean, std, n)
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
    device = "three-regime"               # tol (V), max_periods, max_seconds; "ohmic"/"linear"
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

import os
import sys
from dataclasses import replace
from pathlib import Path

from .._checks import instance, validator
from ..electrical.rule import learning_rate_gamma
from ..errors import ArgumentError, ConfigError
from ..model import Network
from ._network_section import NetworkSection, check_dangling, parse_network
from ._sections import (
    linearize_mode,
    parse_bias,
    parse_data,
    parse_rate,
    parse_simulate,
    parse_sweep,
    parse_task,
)
from ._toml_table import Table, as_list, show
from .specs import ExperimentConfig, RateSpec, TaskSpec

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml
    except ModuleNotFoundError:
        _toml = None

_PRESETS = Path(__file__).resolve().parent / "presets"

#: Largest TOML description read, bytes: the presets are a few kB and a network of 10**5 edges
#: is ~5 MB, so anything larger is a wrong file, refused before it is read.
_MAX_TOML_BYTES = 16 * 2**20

__all__ = [
    "list_presets",
    "load_config",
    "parse_config",
]


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
    ArgumentError
        A ``source`` that is not a str, or a ``folder`` that is not a path.
    """
    return _description(raw, instance(source, "source", str), _folder(folder))


def _rate(t: Table, net: Network) -> RateSpec:
    """``[rate]``: r γ as given, or `learning_rate_gamma` of the components and the network's
    one ``S`` (read by `parse_rate`); the `RateSpec` is built once, with its γ."""
    gamma, parts = parse_rate(t, net)
    if parts is None:
        assert gamma is not None  # `parse_rate` gives r γ or its components
        return RateSpec(gamma=gamma, R0=None, C0=None, V0=None, r=None)
    R0, C0, V0, r, S = parts
    gamma = learning_rate_gamma(R0, C0, S, V0=V0, r=r)
    return RateSpec(gamma=gamma, R0=R0, C0=C0, V0=V0, r=r)


#: The keys of the top level and of ``[network]`` (the other sections' keys are in their readers).
_TOP_KEYS = {
    "name", "description", "network", "tasks", "theory", "rate", "bias", "data", "sweep",
    "simulate",
}  # fmt: skip
_NETWORK_KEYS = {
    "output", "outputs", "differential", "S", "V_T", "supplies", "edges", "lattice", "file",
    "fixed",
}  # fmt: skip
#: Tolerance of the check that given task durations (fractions of τ) sum to 1: far above the
#: rounding of a few decimal fractions (1e-16), far below any intended share.
_DURATION_SUM_TOL = 1e-9


def _description(raw: dict, source: str, folder: Path | None) -> ExperimentConfig:
    """The `ExperimentConfig` of a parsed TOML document (see `parse_config`)."""
    top = Table(raw, "", _TOP_KEYS)
    name = top.string("name", required=True)
    text = top.get("description", "")
    if not isinstance(text, str):
        raise ConfigError(f"Key 'description' must be a string, but is {show(text)}.")
    section = parse_network(top.table("network", _NETWORK_KEYS, required=True), folder)
    net, n = section.network, section.network.n_gates
    tasks = _tasks(top, section)
    th = top.table("theory", {"reference", "eta", "gate_box", "relinearize"}) or Table(
        {}, "theory", set()
    )
    relinearize = th.get("relinearize", False)
    if not isinstance(relinearize, bool):
        raise ConfigError(
            f"Key 'theory.relinearize' must be true or false, but is {show(relinearize)}."
        )
    reference = th.vector("reference", n)
    eta = th.number("eta", 1.0, positive=True)
    box = th.pair("gate_box")
    if box is not None and not box[0] < box[1]:
        raise ConfigError(
            f"Key 'theory.gate_box' must be [min, max] with min < max, but is {list(box)}."
        )
    tasks = tuple(
        replace(task, linearize=linearize_mode(task, i, n, len(section.targets), reference))
        for i, task in enumerate(tasks)
    )
    rate = _rate(top.table("rate", {"R0", "C0", "V0", "r", "gamma"}, required=True), net)
    bias_t = top.table(
        "bias", {"given", "paper", "measure", "random", "state", "shapes_only"}, required=True
    )
    bias = parse_bias(bias_t, [t.name for t in tasks], n)
    data = parse_data(top.table("data", {"D2", "Ebar", "cycles"}))
    sweep = parse_sweep(
        top.table("sweep", {"tau", "cycles"}), data.D2 is not None or data.Ebar is not None
    )
    simulate_t = top.table(
        "simulate",
        {"device", "t_h", "gate_limits", "G0", "B", "tol", "max_periods", "max_seconds"},
    )
    return ExperimentConfig(
        name=name,
        description=text,
        network=net,
        output=section.targets[0],
        tasks=tasks,
        reference=reference,
        eta=eta,
        gate_box=box,
        rate=rate,
        bias=bias,
        data=data,
        sweep=sweep,
        source=source,
        folder=folder,
        raw=raw,
        simulate=parse_simulate(simulate_t, n, box, reference),
        targets=section.targets,
        relinearize=relinearize,
    )


def _tasks(top: Table, section: NetworkSection) -> tuple[TaskSpec, ...]:
    """``[[tasks]]``: two or more, names distinct, durations (fractions of τ) that fit in one
    period; then no node the tasks leave dangling."""
    raw = as_list(top.get("tasks", required=True), "tasks")
    if len(raw) < 2:
        raise ConfigError(
            "Key 'tasks' must hold two or more tasks (trained in turn: alpha, then beta, ...), "
            f"but holds {len(raw)}."
        )
    tasks = tuple(
        parse_task(r, i, section.network, section.targets, section.supplies)
        for i, r in enumerate(raw)
    )
    seen: dict[str, int] = {}
    for i, task in enumerate(tasks):
        if task.name in seen:
            raise ConfigError(
                f"Key 'tasks[{i}].name' repeats {task.name!r} (tasks[{seen[task.name]}]); task "
                "names must differ."
            )
        seen[task.name] = i
    given = [t.duration for t in tasks if t.duration is not None]
    total = sum(given)
    if (len(given) == len(tasks) and abs(total - 1.0) > _DURATION_SUM_TOL) or (
        len(given) < len(tasks) and total >= 1.0 - _DURATION_SUM_TOL
    ):
        raise ConfigError(
            f"Key 'tasks[].duration' gives shares of the period τ summing to {total:.6g}; they "
            "must sum to 1 when every task has one, and to less than 1 otherwise (the tasks "
            "without one share the rest)."
        )
    used = set(section.supplies)
    for task in tasks:
        used.update(task.points[0].inputs)
    for target in section.targets:
        used.update((target,) if isinstance(target, str) else target)
    check_dangling(section, used)
    return tasks


@validator
def _folder(folder: object, name: str = "folder") -> Path | None:
    """``folder``: None or a path (str or path-like)."""
    if folder is None:
        return None
    if not isinstance(folder, str | os.PathLike):
        raise ArgumentError(
            f"Argument `{name}` must be a path (str or Path), but is {type(folder).__name__}."
        )
    return Path(folder)


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
        If the file does not exist and is no preset, is larger than 16 MiB, is not valid TOML,
        or fails validation.
    ArgumentError
        If ``name_or_path`` is neither a str nor a path (None, a number).
    """
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError(
            "Reading TOML needs Python >= 3.11 (tomllib) or the package 'tomli' on Python 3.10; "
            "install it with `pip install tomli`."
        )
    path = Path(instance(name_or_path, "name_or_path", (str, os.PathLike)))
    if path.is_dir():
        raise ConfigError(f"'{path}' is a folder, not a TOML file.")
    folder: Path | None = None
    if path.is_file():
        source, folder = str(path), path.parent
        try:
            if path.stat().st_size > _MAX_TOML_BYTES:
                raise ConfigError(
                    f"'{source}' has {path.stat().st_size} bytes, more than the limit of "
                    f"{_MAX_TOML_BYTES} bytes (16 MiB) for a TOML description."
                )
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
        raise ConfigError(f"'{source}' is not valid TOML: {show(str(exc))}.") from None
    return parse_config(raw, source=source, folder=folder)
