"""The paper's constants, each with its source, and its experiments as read from the presets.

Sources are cited as "(App. B)" for an appendix of the paper (Dillavou, Guzman, Liu, Durian,
"Understanding and Embracing Imperfection in Physical Learning Networks", 2025,
arXiv:2505.22887) and "(code)" for the paper's supporting repository (Zenodo
doi:10.5281/zenodo.15692010). Where the two differ in the last digit (V₊ = 0.435 V in App. B,
0.4351 V in the code) the code's value is used for the small network, because the measured
solution lines were fitted with it; Fig. 5 uses the values of App. B.

Values the data model already defines are imported, not repeated: the device slope ``S`` and
threshold ``V_T`` (`clln_theory.model.network.PAPER_S`, ``PAPER_V_T``) and the multiplier scale
``V_0`` of the rate circuit (`clln_theory.electrical.rule.V0_MULTIPLIER`).

The experiments themselves (tasks, measured solution lines, reference points, published biases,
rate components, drift tests) have one source: the TOML presets in
``clln_theory/experiments/presets/``. `EXPERIMENTS` and `experiment_tasks` read them through
`clln_theory.experiments.config.load_config`.

Gate order everywhere is G = (G₋, G₊): the gate of the Low–Output edge first, then the gate of
the High–Output edge. The paper's (G₁, G₂) of Appendix E is this order: the drift tests and the
limit-cycle files store G₋ first, and the bias inferred from them in that order reproduces the
Appendix E values.

Examples
--------
>>> from clln_theory.experiments import paper
>>> round(paper.gamma_from_components(paper.FIG2_R0, paper.FIG2_C0) * paper.FIG2_R, -4)
3240000.0
>>> paper.EXPERIMENTS["exp1"].bias
(2.97, 4.41)
>>> alpha, beta = paper.experiment_tasks("exp1")
>>> alpha.points[0].label, dict(beta.points[0].inputs)["Input"]
(0.31, 0.0181)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .._checks import check_record, choice, construction
from ..electrical.rule import V0_MULTIPLIER, learning_rate_gamma
from ..model import PAPER_S, PAPER_V_T, Task
from .config import ExperimentConfig, load_config

__all__ = [
    "EXPERIMENTS",
    "FIG2_C0",
    "FIG2_R",
    "FIG2_R0",
    "FIG3_C0",
    "FIG3_R",
    "FIG3_R0",
    "FIG5_BIAS_SCALE",
    "FIG5_ETA_OVERCLAMP",
    "FIG5_LABEL",
    "FIG5_TAU",
    "FIG5_T_H",
    "FIG5_V_MINUS",
    "FIG5_V_PLUS",
    "GAMMA_APPENDIX_D_FIG2",
    "GAMMA_APPENDIX_D_FIG3",
    "G_MAX",
    "G_MIN",
    "PAPER_EXPERIMENTS",
    "R_FIXED",
    "V_0",
    "V_MINUS",
    "V_PLUS",
    "PaperExperiment",
    "experiment_tasks",
    "gamma_from_components",
    "paper_experiment",
]

# --- the small network (Fig. 2A, App. B) ---------------------------------------------------
V_PLUS = 0.4351  # V, the High node (code; App. B rounds to 0.435 V)
V_MINUS = 0.0181  # V, the Low node (code; App. B rounds to 0.018 V, main text to 0.02 V)
# S and V_T are the model's (`clln_theory.model.PAPER_S`, ``PAPER_V_T``), not in `__all__`:
# kept as module names for `gamma_from_components` and the derivations.
S = PAPER_S  # A/V², device slope of K = S (G − V_T) (code; main text: S ≈ 8e-4 below Eq. 2)
V_T = PAPER_V_T  # V, threshold of K = S (G − V_T) (Eq. 2 and code)
R_FIXED = 500.0  # Ω, the fixed Input–Output edge (code)
G_MIN = 1.0  # V, lower gate limit of the small network (code)
G_MAX = 5.0  # V, upper gate limit G_max of Fig. 2F,G (code)

# --- learning rate (App. C, App. D) -------------------------------------------------------
V_0 = V0_MULTIPLIER  # V, multiplier scale in A₀ = 1/(V₀ R₀ C₀) (Eq. C1)
FIG2_R0 = 100.0  # Ω (Eq. C1)
FIG2_C0 = 22e-6  # F (Eq. C1)
FIG2_R = 2.0  # A_exp ≈ 2 A₀ for the experiments of Fig. 2 (App. C)
FIG3_R0 = 1000.0  # Ω (Eq. C2: the circuit of the other experiments, Figs. 3 and 5)
FIG3_C0 = 2.2e-6  # F (Eq. C2)
FIG3_R = 1.5  # A_exp ≈ A₀ to 1.5 A₀ for the other experiments (App. C; code uses 1.5)
# App. D quotes γ ≈ 2.4e6 Ω/s for Fig. 2 and 3.2e6 Ω/s for Fig. 3. From the components,
# r γ = r / (V₀ R₀ C₀ S) is 3.24e6 Ω/s for Fig. 2 and 2.43e6 Ω/s for Fig. 3: the two quoted values
# appear swapped. This package uses the components (r γ), never the quoted numbers; they are kept
# here only so that tests and reports can state the discrepancy.
GAMMA_APPENDIX_D_FIG2 = 2.4e6  # Ω/s, as printed in App. D
GAMMA_APPENDIX_D_FIG3 = 3.2e6  # Ω/s, as printed in App. D

# --- the ring classification of Fig. 5 (App. B, App. C, main text) -------------------------
FIG5_V_PLUS = 0.435  # V, supply V₊ of the lattice (App. B)
FIG5_V_MINUS = 0.018  # V, supply V₋ of the lattice (App. B)
FIG5_LABEL = 0.018  # V, label magnitude |L±| (App. B)
FIG5_ETA_OVERCLAMP = 0.25  # overclamping η, with L₀ = V₊ (App. B; App. F quotes L₀ ≈ 0.43 V)
FIG5_TAU = 200e-6  # s, cycle time (Fig. 5 caption)
FIG5_T_H = 100e-6  # s, step time per data point (main text)
FIG5_BIAS_SCALE = 2.0  # V/s, scale of the per-edge learning bias ("of order 2 V/s", App. C)

#: The presets that hold the paper's experiments (Figs. 2B,F; 2C,G; 3).
PAPER_EXPERIMENTS = ("exp1", "exp2", "fig3")


def gamma_from_components(R0: float, C0: float, *, V0: float = V_0, S: float = S) -> float:
    """Ideal learning rate γ = A₀/S = 1 / (V₀ R₀ C₀ S) in Ω/s (Eq. C1 with D1), paper defaults.

    `clln_theory.electrical.rule.learning_rate_gamma` with the paper's ``V0`` and ``S`` as
    defaults; multiply by the measured factor ``r = A_exp/A₀`` (App. C) to get the rate of the
    experiment.

    Parameters
    ----------
    R0 : float
        Charging resistor, Ω.
    C0 : float
        Gate capacitor, F.
    V0 : float
        Multiplier scale, V (default `V_0`).
    S : float
        Device slope, A/V² (default `S`).

    Returns
    -------
    float
        γ in Ω/s.

    Raises
    ------
    ArgumentError
        An argument that is not a finite number > 0 (named).
    """
    return learning_rate_gamma(R0, C0, S, V0=V0)


@dataclass(frozen=True, slots=True)
class PaperExperiment:
    """One two-task experiment of the paper, as its preset describes it.

    Attributes
    ----------
    name : str
        Preset name (``"exp1"``, ``"exp2"``, ``"fig3"``).
    description : str
        The preset's one-line description (figure and tasks).
    tasks : dict of str to tuple of (float, float)
        Task name to its points ``((V₁, L), ...)``: the voltage of node ``Input`` and the label,
        V (App. B).
    lines : dict of str to tuple of (float, float)
        Task name to the measured solution lines ``(a, c)`` of ``G₊ = a G₋ + c``, one per point
        (code); empty where none were published.
    reference : tuple of float
        The central point of App. E, V, order (G₋, G₊).
    bias : tuple of float
        The bias B of App. E, V/s, order (G₋, G₊).
    R0, C0, r : float
        Rate components: Ω, F and the measured factor ``A_exp/A₀`` (App. C).
    drift_files : dict of str to str
        Task name to the file name of its drift test (code); empty without drift tests.
    drift_windows : dict of str to int
        Task name to the number of finite-difference velocities averaged (code).
    """

    name: str
    description: str
    tasks: dict[str, tuple[tuple[float, float | tuple[float, ...]], ...]]
    lines: dict[str, tuple[tuple[float, float], ...]]
    reference: tuple[float, ...] | None
    bias: tuple[float, ...] | None
    R0: float | None
    C0: float | None
    r: float | None
    drift_files: dict[str, str]
    drift_windows: dict[str, int]

    @construction
    def __post_init__(self) -> None:
        check_record(
            self, name="text", description="text", tasks=dict, lines=dict, reference="tuple?",
            bias="tuple?", R0="real?", C0="real?", r="real?", drift_files=dict,
            drift_windows=dict,
        )  # fmt: skip


def _from_config(cfg: ExperimentConfig) -> PaperExperiment:
    tasks: dict[str, tuple[tuple[float, float | tuple[float, ...]], ...]] = {}
    lines: dict[str, tuple[tuple[float, float], ...]] = {}
    for spec in cfg.tasks:
        tasks[spec.name] = tuple((p.inputs["Input"], p.label) for p in spec.points)
        measured = [ln for ln in spec.lines if ln is not None]
        if len(measured) == len(spec.lines):
            lines[spec.name] = tuple((ln.a, ln.c) for ln in measured)
    drift = [m for m in cfg.bias.measurements if m.kind == "drift"]
    return PaperExperiment(
        name=cfg.name,
        description=cfg.description,
        tasks=tasks,
        lines=lines,
        reference=cfg.reference,
        bias=cfg.bias.paper,
        R0=cfg.rate.R0,
        C0=cfg.rate.C0,
        r=cfg.rate.r,
        drift_files={m.task: Path(m.file).name for m in drift if m.file is not None},
        drift_windows={m.task: m.window for m in drift if isinstance(m.window, int)},
    )


def paper_experiment(name: str) -> PaperExperiment:
    """The experiment of a paper preset as a `PaperExperiment`.

    Parameters
    ----------
    name : {"exp1", "exp2", "fig3"}
        One of `PAPER_EXPERIMENTS`.

    Returns
    -------
    PaperExperiment

    Raises
    ------
    ArgumentError
        ``name`` is not one of `PAPER_EXPERIMENTS`.
    """
    return _from_config(load_config(choice(name, "name", PAPER_EXPERIMENTS)))


class _PresetExperiments(Mapping):
    """Read-only mapping name -> `PaperExperiment`, each preset read on first access."""

    def __init__(self) -> None:
        self._cache: dict[str, PaperExperiment] = {}

    def __getitem__(self, name: str) -> PaperExperiment:
        if name not in PAPER_EXPERIMENTS:
            raise KeyError(name)
        if name not in self._cache:
            self._cache[name] = paper_experiment(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(PAPER_EXPERIMENTS)

    def __len__(self) -> int:
        return len(PAPER_EXPERIMENTS)

    def __repr__(self) -> str:
        return f"<the paper's experiments {list(PAPER_EXPERIMENTS)}, read from the presets>"


#: The paper's experiments by name, read from the presets (see `paper_experiment`).
EXPERIMENTS: Mapping[str, PaperExperiment] = _PresetExperiments()


def experiment_tasks(name: str = "exp1") -> tuple[Task, ...]:
    """The nominal tasks of a published experiment as `Task` objects (read from its preset).

    Parameters
    ----------
    name : {"exp1", "exp2", "fig3"}
        One of `PAPER_EXPERIMENTS`.

    Returns
    -------
    tasks : tuple of Task
        ``(alpha, beta)`` on `star_network`'s node names: each point imposes ``High = V_PLUS``,
        ``Low = V_MINUS`` and the point's ``Input`` (App. B); output node ``"Output"``; tasks
        named after their preset entries.

    Raises
    ------
    ArgumentError
        ``name`` is not one of `PAPER_EXPERIMENTS` (the message lists them).
    """
    cfg = load_config(choice(name, "name", PAPER_EXPERIMENTS))
    return tuple(Task(spec.points, cfg.output, name=spec.name) for spec in cfg.tasks)
