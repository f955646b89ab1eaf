"""Engine of the bias scoreboard (`clln_theory.experiments.bias_scoreboard`): every bias model's
closed orbits in the gate box at the table's periods (``theory/_box_affine.py``), their D² and Ē,
the scores against the measurements, and the bow-tie rms of a simulated cycle. Takes checked
values only; public names for the face, not part of the API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._metrics import mean_error
from ..errors import CLLNError
from ..model.bias import AffineBias
from ..theory._box_affine import affine_box_cycle

__all__ = [
    "WITHIN",
    "Scores",
    "TheoryColumns",
    "bowtie_rms",
    "fmt_ratio",
    "scores",
    "sim_times",
    "table_rows",
    "theory_columns",
]

#: A prediction within this factor of the measurement counts as a hit (the issue's bar).
WITHIN = 1.5


@dataclass(frozen=True, slots=True)
class TheoryColumns:
    """Per period: D², Ē (V²), the largest |Floquet multiplier|, whether a gate was pinned."""

    D2: NDArray
    Ebar: NDArray
    floquet: NDArray
    saturated: NDArray


def theory_columns(
    tasks: tuple[Any, Any],
    bias: AffineBias,
    taus: NDArray,
    box: tuple[NDArray, NDArray],
    E: Callable[[NDArray], Any],
) -> TheoryColumns:
    """The box orbit of ``bias`` at every period (NaN where none is found)."""
    tol = max(t.rate_tol for t in tasks)
    T = taus.size
    D2, Eb, fl = np.full(T, np.nan), np.full(T, np.nan), np.full(T, np.nan)
    sat = np.zeros(T, dtype=bool)
    for k, tau in enumerate(taus):
        try:
            c = affine_box_cycle(tasks, bias, float(tau), box[0], box[1], tol)
        except (CLLNError, ArithmeticError, np.linalg.LinAlgError):
            continue
        D2[k] = c.span**2
        fl[k] = float(np.max(np.abs(c.floquet))) if np.size(c.floquet) else 0.0
        sat[k] = c.saturated
        try:
            Eb[k] = float(mean_error(E(c.G_half[None]), E(c.G0[None]))[0])  # (A4)
        except CLLNError:
            pass  # a conductance <= 0 on the orbit: Ē undefined
    return TheoryColumns(D2, Eb, fl, sat)


@dataclass(frozen=True, slots=True)
class Scores:
    """Predicted / measured at every period, and its summary."""

    ratio: NDArray  # (T,) NaN where no prediction or measurement
    within: int  # periods within WITHIN x of the measurement
    within_box: int  # the same over the periods of `box_mask`
    n_box: int
    median: float
    worst: float  # the ratio farthest from 1 in log (inf: some period without a prediction)


def scores(pred: NDArray, meas: NDArray, box_mask: NDArray) -> Scores:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = pred / meas
    ok = np.isfinite(r) & (r > 0)
    hit = ok & (r <= WITHIN) & (r >= 1 / WITHIN)
    measured = np.isfinite(meas)
    if np.any(measured & ~ok):
        worst = float("inf")
    elif np.any(ok):
        worst = float(r[ok][np.argmax(np.abs(np.log(r[ok])))])
    else:
        worst = float("nan")
    return Scores(
        ratio=r,
        within=int(hit.sum()),
        within_box=int((hit & box_mask).sum()),
        n_box=int(box_mask.sum()),
        median=float(np.median(r[ok])) if np.any(ok) else float("nan"),
        worst=worst,
    )


def bowtie_rms(G_sim: NDArray, t_sim: NDArray, tau: float, measured: NDArray) -> float:
    """Rms distance (V) of a measured bow-tie (m, n), samples over one period with both ends,
    from a simulated cycle sampled at ``t_sim`` in [0, tau], best over 400 phase shifts."""
    m = measured.shape[0]
    dt = tau / (m - 1)
    best = np.inf
    for phi in np.linspace(0.0, 1.0, 400, endpoint=False):
        t = (phi * tau + dt * np.arange(m)) % tau
        model = np.column_stack([np.interp(t, t_sim, g) for g in G_sim.T])
        best = min(best, float(np.sqrt(np.mean((model - measured) ** 2))))
    return best


def sim_times(n_samples: int, tau: float, t_h: float) -> NDArray:
    """Times of the samples `simulate_periods` keeps of one period (every ``stride``-th step
    plus τ/2 and τ)."""
    n_half = round(tau / 2 / t_h)
    stride = max(1, -(-2 * n_half // 400))
    keep = sorted(set(range(0, 2 * n_half + 1, stride)) | {n_half, 2 * n_half})
    t = np.array(keep, dtype=float) * t_h
    return t[:n_samples]


def fmt_ratio(x: float) -> str:
    return "no cycle" if not np.isfinite(x) else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def table_rows(rows: Sequence[dict]) -> str:
    """A Markdown table of the scoreboard rows."""
    head = (
        "| model | fitted to | engine | D² within 1.5× (all / in box) | D² median | D² worst "
        "| Ē within 1.5× (all / in box) | Ē median | Ē worst | bow-tie rms [mV] |"
    )
    out = [head, "|" + "---|" * 10]
    for r in rows:
        d, e = r["D2"], r["Ebar"]
        out.append(
            f"| {r['model']} | {r['fitted_to']} | {r['engine']} | {d.within} / {d.within_box} of "
            f"{d.ratio.size} / {d.n_box} | {fmt_ratio(d.median)} | {fmt_ratio(d.worst)} | "
            f"{e.within} / {e.within_box} | {fmt_ratio(e.median)} | {fmt_ratio(e.worst)} | "
            f"{r['rms']} |"
        )
    return "\n".join(out)
