"""The theory columns of a reproduction with K >= 3 tasks (engine of
`clln_theory.experiments.reproduction`): the cycle of the K tasks trained in turn, task ``k``
for ``durations[k] * tau``, in the gate box (the engine of ``cyclic_orbit(..., box=)``).

Definitions (the K-task generalizations of the paper's (4), (A3), (A4), as `cyclic_orbit`'s
``span``): with ``s_k`` the state at the end of task ``k``'s stretch on the cycle, D is the
largest distance between two of the ``s_k`` (for K = 2, ``|G(τ/2) − G(τ)|``), and
``Ē = (1/K) Σ_k E(s_k)`` with ``E(G) = (1/K) Σ_j E_j(G)`` the mean of the K task errors.

Without ``theory.gate_box`` the cycle is computed in a box far beyond any gate voltage
(``±_FAR`` V): it is the orbit without limits where that closes; where the tasks share a null
direction the orbit drifts without closing, and that period is NaN with the reason in its note
(a failure row, never an abort).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .._metrics import task_error_of
from ..electrical._force import solve_free
from ..errors import CLLNError, ConvergenceError
from ..inference import CalibratedTask
from ..inference._calibrate import require_conducting
from ..model import Network
from ..theory._box_build import box_cycle_orbits, box_cyclic_from
from ..theory._relinearize import relinearized_cycle
from ._metric_route import metric_note
from ._pipeline import Theory
from ._pipeline import notes as pipeline_notes
from .specs import ExperimentConfig

__all__ = ["DRIFT_NOTE", "K_task_error_of", "cyclic_theory", "notes", "relinearized_theory"]

_FAR = 1e6
"""V: the box standing in for "no box" (the gates of any orbit that closes stay far inside)."""

DRIFT_NOTE = (
    "no cycle found: the tasks share a null direction (without theory.gate_box the orbit "
    "drifts) or the box engine did not settle"
)


def K_task_error_of(
    network: Network, tasks: tuple[CalibratedTask, ...]
) -> Callable[[np.ndarray], np.ndarray]:
    """``G -> E(G)`` for gate vectors (..., n), V²: the mean of the K task errors (A1)/(A2)."""

    def E(G: Any) -> np.ndarray:
        G = np.asarray(G, dtype=float)
        flat = G.reshape(-1, G.shape[-1])
        out = np.empty(flat.shape[0])
        for i, g in enumerate(flat):
            require_conducting(network, g)
            errs = []
            for t in tasks:
                O = solve_free(network, g, t.task)[1].O
                errs.append(float(task_error_of(O, t.task.labels, t.task.kind == "classification")))
            out[i] = np.mean(errs)
        return out.reshape(G.shape[:-1])

    return E


def _ebar(E: Callable[[np.ndarray], np.ndarray], starts: np.ndarray) -> np.ndarray:
    """``(1/K) Σ_k E(s_k)`` per period of ``starts`` (T, K, n); NaN where a conductance <= 0."""
    out = np.full(starts.shape[0], np.nan)
    for k in range(out.size):
        try:
            out[k] = float(np.mean(E(starts[k])))
        except CLLNError:
            pass  # stays NaN; the row's note says why
    return out


def cyclic_theory(
    cfg: ExperimentConfig,
    tasks: tuple[CalibratedTask, ...],
    E: Callable[[np.ndarray], np.ndarray],
    B: np.ndarray,
    taus: np.ndarray,
    d: np.ndarray | None = None,
) -> Theory:
    """The theory columns at the periods ``taus`` (T,) for the description's K tasks and
    shares (``cfg.durations``), with ``E`` of `K_task_error_of` (module docstring). With the
    metric ``d`` of a differential output the tasks' ``linear`` are in ``y = d G``: the cycle
    is found there (``d B``, ``d box``) and its stretch starts mapped back (``G = y / d``)
    before D² (the largest distance between two starts), Ē and the gate range."""
    lin = tuple(t.linear for t in tasks)
    n = lin[0].n
    box = cfg.gate_box if cfg.gate_box is not None else (-_FAR, _FAR)
    lo, hi = np.full(n, float(box[0])), np.full(n, float(box[1]))
    H = np.outer(taus, np.array(cfg.durations, dtype=float))
    tol = max(t.rate_tol for t in lin)
    Bv = np.asarray(B, dtype=float)
    if d is not None:
        lo, hi, Bv = d * lo, d * hi, d * Bv
    T, K = H.shape
    starts = np.full((T, K, n), np.nan)
    D2, Ebar = np.full(T, np.nan), np.full(T, np.nan)
    sat, inside = np.zeros(T, dtype=bool), np.zeros(T, dtype=bool)
    last: Any = None
    for k in range(T):  # a period without a cycle is a NaN row, never an abort
        try:
            found = box_cycle_orbits(lin, Bv, H[k : k + 1], lo, hi, tol, None)
        except ConvergenceError:
            continue
        last = box_cyclic_from(lin, Bv, H[k : k + 1], True, (lo, hi), tol, found)
        if d is None:
            starts[k] = last.G_starts
            D2[k] = float(last.span) ** 2
        else:
            starts[k] = np.asarray(last.G_starts) / d
            gaps = starts[k][:, None, :] - starts[k][None, :, :]
            D2[k] = float(np.max(np.sum(gaps**2, axis=-1)))
        sat[k], inside[k] = bool(last.saturated), bool(last.unconstrained_in_box)
        Ebar[k] = _ebar(E, starts[k : k + 1])[0]
    if cfg.gate_box is None:  # a cycle pinned at the far box: the orbit drifts, no closed one
        D2 = np.where(sat, np.nan, D2)
        Ebar = np.where(sat, np.nan, Ebar)
        sat = np.zeros_like(sat)
    G_lo, G_hi = starts.min(axis=1), starts.max(axis=1)
    orbit: Any = None
    return Theory(orbit, last, D2, Ebar, inside, sat, G_lo, G_hi, D2, Ebar, starts)


def relinearized_theory(
    cfg: ExperimentConfig,
    tasks: tuple[CalibratedTask, ...],
    E: Callable[[np.ndarray], np.ndarray],
    B: np.ndarray,
    taus: np.ndarray,
    th: Theory,
) -> Theory:
    """``th`` (the theory with M at G*, 2-task or K-task route) with the theory columns of
    `relinearized_cycle` at every period (``theory.relinearize``): D², Ē, ``saturated``, the
    gate range (over the stretch starts and centres) and the stretch starts; ``in_box`` and the
    ``*_unconstrained`` columns stay those at G*. A period whose re-linearization fails is a NaN
    row; its note (`notes`) says why, as it gives the iterations, or the flag where the
    iteration did not converge."""
    n, K = cfg.network.n_gates, len(tasks)
    box = None
    if cfg.gate_box is not None:
        box = (np.full(n, float(cfg.gate_box[0])), np.full(n, float(cfg.gate_box[1])))
    shares = np.array(cfg.durations, dtype=float) if K > 2 else np.full(2, 0.5)
    T = taus.size
    D2, Ebar = np.full(T, np.nan), np.full(T, np.nan)
    sat = np.zeros(T, dtype=bool)
    lo, hi = np.full((T, n), np.nan), np.full((T, n), np.nan)
    starts = np.full((T, K, n), np.nan)
    results: list[Any] = []
    ftasks, lin0 = tuple(t.task for t in tasks), tuple(t.linear for t in tasks)
    for k, tau in enumerate(taus):
        try:
            r = relinearized_cycle(
                cfg.network, ftasks, lin0, B, float(tau), shares, box, cfg.rate.gamma, cfg.eta
            )
        except CLLNError as e:
            results.append(str(e))
            continue
        results.append(r)
        o = r.orbit
        s = np.array(o.G_starts) if hasattr(o, "G_starts") else np.stack([o.G0, o.G_half])
        starts[k] = s
        D2[k] = float(o.span) ** 2
        sat[k] = bool(o.saturated)
        both = np.concatenate([s, r.centres])
        lo[k], hi[k] = both.min(axis=0), both.max(axis=0)
        Ebar[k] = _ebar(E, s[None])[0]
    return replace(
        th, D2=D2, Ebar=Ebar, saturated=sat, lo=lo, hi=hi, starts=starts,
        relinearized=tuple(results), D2_at_G_star=th.D2,
    )  # fmt: skip


def _relin_note(item: Any, D2_star: float) -> str:
    """The note of one period of `relinearized_theory`."""
    if isinstance(item, str):
        return f"relinearization failed: {item}"
    text = f"relinearized ({item.iterations} iterations; D2 with M at G*: {D2_star:.4g} V²)"
    if not item.converged:
        text += f"; NOT CONVERGED (last shift {item.shift:.2g} V)"
    return text


#: V: a gate pinned farther than this from its task's G* is noted (M is taken at G*).
_FAR_FROM_G_STAR = 1.0


def notes(
    cfg: ExperimentConfig, tasks: tuple[CalibratedTask, ...], th: Theory, metric: Any = None
) -> tuple[str, ...]:
    """The notes of the rows: those of `_pipeline.notes`, the drift of K tasks without a box,
    where the cycle pins gates far from the G* the linear theory's M is taken at, and with the
    `Metric` of a differential output (``metric``) the note of `metric_note` on every row."""
    notes = list(pipeline_notes(th.inside, th.Ebar, th.box_orbit is not None))
    G_stars = np.array([t.G_star for t in tasks])
    for k in range(len(notes)):
        extra = []
        if not np.isfinite(th.D2[k]):
            extra.append(DRIFT_NOTE)
        if th.relinearized is not None:
            assert th.D2_at_G_star is not None  # set with `relinearized`
            extra.append(_relin_note(th.relinearized[k], float(th.D2_at_G_star[k])))
        elif th.saturated.size and th.saturated[k]:
            far = max(
                float(np.max(np.abs(th.lo[k] - G_stars.min(axis=0)))),
                float(np.max(np.abs(th.hi[k] - G_stars.max(axis=0)))),
            )
            if far > _FAR_FROM_G_STAR:
                hint = ": theory.relinearize = true re-linearizes along the cycle"
                hint = "" if metric is not None else hint  # (refused with a metric)
                extra.append(f"gates pinned up to {far:.2g} V from G* (M taken at G*{hint})")
        if metric is not None:
            extra.append(metric_note(metric))
        notes[k] = "; ".join(x for x in [notes[k], *extra] if x)
    return tuple(notes)
