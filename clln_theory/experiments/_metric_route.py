"""The reproduction's tasks with a differential output (engine of
`clln_theory.experiments.reproduction`): linearized in the diagonal metric of
`clln_theory.theory._metric`, which makes them symmetric.

Each task is calibrated and its linearization point found as for any other output
(`clln_theory.inference._calibrate.fitted_task`); its force Jacobian there is taken as it is
(`rate_matrix`: rank one for a one-point task, not symmetric, so `linearize` refuses it), and
the K Jacobians are made symmetric at once by `symmetrize`: ``y = d G`` with ``d = sqrt(W)``.
The `CalibratedTask.linear` of each task is then its task in ``y`` (``M~`` in 1/s, ``G* -> d
G*``; its eigenvalues are those of ``D^-1 M~ D``, the rate matrix in ``G`` it stands for, which
is the Jacobian itself where no edge is replaced); the theory columns
(`clln_theory.experiments._pipeline.theory`, `clln_theory.experiments._cyclic.cyclic_theory`)
run the orbit engines in ``y`` with ``B -> d B`` and the box ``-> d box``, and map every state
back, ``G = y / d``, before D², Ē, the gate range and the stretch starts (D² and Ē are defined
on ``G``). The orbit objects of the result (``orbit``, ``box_orbit``) stay in ``y``; the notes
say so, with the range of ``W``, the edges where ``W <= 0`` was replaced by 1 and the relative
change of the learning response that makes (`Metric.change`). On the 3x3 grid of
docs/toml-reference.md 6 of 12 edges are replaced (13-15 % of the learning response), and the
cycle differs from that of the exact non-symmetric linear dynamics (integrated in ``G``) by
0.7-1.5 % in D² (``tests/experiments/test_reproduce_networks.py``).

What the metric route does not do (a `TaskError` naming the key): ``theory.relinearize`` (the
re-linearization engine takes tasks in ``G``), a state-dependent bias and bias measurements that
use a task's linearization (``stationary``, ``cycle-stationary``, ``drift`` along the line);
tasks with more than one point (their Jacobians are not rank one).
"""

from __future__ import annotations

import numpy as np

from ..errors import TaskError
from ..inference import CalibratedTask
from ..inference._calibrate import fitted_task
from ..model import Differential, Task
from ..theory._adjoint import SOLUTION_TOL
from ..theory._metric import Metric, rate_matrix, symmetrize
from ..theory._spectral import RATE_TOL
from ._pipeline import calibrated
from .specs import ExperimentConfig

__all__ = ["metric_note", "metric_tasks", "theory_tasks", "uses_metric"]


def uses_metric(cfg: ExperimentConfig) -> bool:
    """True for a description whose tasks read one differential output."""
    return isinstance(cfg.task_output, Differential)


def theory_tasks(
    cfg: ExperimentConfig, nominal: tuple[Task, ...], gamma: float, eta: float
) -> tuple[tuple[CalibratedTask, ...], Metric | None]:
    """The description's tasks ready for the theory: in the metric with a differential output
    (`metric_tasks`), else `clln_theory.experiments._pipeline.calibrated` and None."""
    if uses_metric(cfg):
        return metric_tasks(cfg, nominal, gamma, eta)
    return calibrated(cfg, nominal, gamma, eta), None


def _refuse_unsupported(cfg: ExperimentConfig) -> None:
    """TaskError naming the key the metric route cannot honour (module docstring)."""
    why = None
    if cfg.relinearize:
        why = "'theory.relinearize' (the re-linearization takes tasks in G)"
    elif cfg.bias.state != "constant":
        why = f"'bias.state' = {cfg.bias.state!r} (the state model takes tasks in G)"
    else:
        for m in cfg.bias.measurements:
            if m.kind in ("stationary", "cycle-stationary") or (
                m.kind == "drift" and m.direction != "drift"
            ):
                why = f"the bias measurement of kind {m.kind!r} on task {m.task!r}"
                break
    if why is not None:
        raise TaskError(
            f"Description {cfg.name!r} has a differential output, whose tasks are linearized in "
            f"the diagonal metric W (y = sqrt(W) G), and {why} is not supported there; remove it "
            "or give the bias (bias.given, bias.random, or cycle-drift / drift measurements)."
        )


def metric_tasks(
    cfg: ExperimentConfig, nominal: tuple[Task, ...], gamma: float, eta: float
) -> tuple[tuple[CalibratedTask, ...], Metric]:
    """Every task calibrated as `clln_theory.experiments._pipeline.calibrated` does (``gamma``
    = r γ, Ω/s, and ``eta`` checked), its rate matrix ``r γ J`` (1/s) taken at its point (the
    same solution check) and all of them symmetrized by one metric: the tasks with ``linear``
    in ``y = d G`` (with ``SOLUTION_TOL`` and ``RATE_TOL`` of `linearize`), and the `Metric`."""
    _refuse_unsupported(cfg)
    ref = None if cfg.reference is None else np.array(cfg.reference, dtype=float)
    fitted = []
    for spec, task in zip(cfg.tasks, nominal, strict=True):
        G_star = None if spec.G_star is None else np.array(spec.G_star, dtype=float)
        lines = list(spec.lines)
        fit = fitted_task(cfg.network, task, lines, cfg.task_output, spec.fit_input, ref, G_star)
        fitted.append((task, lines, *fit))
    Ms = [rate_matrix(cfg.network, f[2], f[4], gamma, eta, SOLUTION_TOL) for f in fitted]
    points = np.array([f[4] for f in fitted])
    try:
        metric = symmetrize(Ms, points, RATE_TOL)
    except ValueError as err:
        raise TaskError(
            f"The tasks of {cfg.name!r} (differential output) cannot be made symmetric by one "
            f"diagonal metric: {err}; the metric route takes one-point tasks only."
        ) from err
    out = tuple(
        CalibratedTask(
            name=task.name,
            task=eff,
            nominal=task.points,
            lines=tuple(lines),
            calibrations=cals,
            G_star=G_star,
            linear=lin,
        )
        for (task, lines, eff, cals, G_star), lin in zip(fitted, metric.tasks, strict=True)
    )
    return out, metric


def metric_note(metric: Metric) -> str:
    """The note every row of a reproduction in the metric carries."""
    W = metric.ratio
    text = (
        "differential output: theory in the metric W (y = sqrt(W) G; tasks' M and the orbits "
        f"in y; W from {float(W.min()):.3g} to {float(W.max()):.3g})"
    )
    if metric.replaced:
        changes = ", ".join(f"{100 * c:.2g} %" for c in metric.change)
        text += (
            f"; {len(metric.replaced)} edges with W <= 0 set to W = 1 (relative change of the "
            f"learning response per task: {changes})"
        )
    return text
