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

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from .._checks import instance, validator
from ..electrical.rule import learning_rate_gamma
from ..errors import ArgumentError, ConfigError
from ._sections import description
from ._toml_table import show
from .specs import ExperimentConfig, RateSpec

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
    cfg = description(raw, instance(source, "source", str), _folder(folder))
    rate = cfg.rate
    if rate.R0 is None or rate.C0 is None or rate.V0 is None or rate.r is None:
        return cfg  # the description gives gamma itself
    S = float(np.unique(cfg.network.S)[0])  # one S: checked by the reader
    gamma = learning_rate_gamma(rate.R0, rate.C0, S, V0=rate.V0, r=rate.r)
    return replace(cfg, rate=RateSpec(gamma=gamma, R0=rate.R0, C0=rate.C0, V0=rate.V0, r=rate.r))


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
