"""Figures of a reproduction, in the layout of the paper's Fig. 2 (matplotlib, optional extra).

:func:`plot_reproduction` draws three panels: the combined error Ē (A4) and the squared cycle span
D² (4) against the period τ on log axes, measurements as points and the theory as a line (black
where the orbit stays inside the gate box; with a gate box, orange where the cycle in the box
saturates, gates pinned at the limits, and the orbit without limits dashed grey beside it;
without a box, dashed where the orbit leaves it) next to the zero-bias ("perfect") prediction of
the paper's Fig. 3A,B
(dash-dot, drawn where it is positive beyond round-off: compatible tasks give D = 0 and Ē = 0 at
their joint solution, which a log axis cannot show), and the limit cycles in G-space for the
chosen periods over the measured cycles (with a gate box also the saturated cycles at the first
and last saturated period of the table, their pinned stretches drawn as a wide orange band along
the box edge), with the two tasks' solution lines, the linearization points, the gate limits and
the bias arrow.

matplotlib is imported only when a figure is drawn; without it the functions raise
``ModuleNotFoundError`` with the install command. The squared span is ``D2`` and the combined
error ``Ebar``, as in the tables of the reproduction (``D2_theory``, ``D2_measured``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._checks import instance
from ..errors import ArgumentError
from ..experiments.reproduction import Reproduction
from ..theory import periodic_orbit
from ._args import check_dpi, check_path
from ._mpl import figure_class, save_figure

__all__ = ["plot_reproduction"]

_ALPHA, _BETA = "#1f5fbf", "#c0392b"  # the paper's colours: task alpha blue, task beta red
_SIM = "#2e8b57"  # the simulator
_CYCLE_COLOURS = ("#2a9d8f", "#e9a23b", "#8e44ad", "#7f8c8d", "#d35400")
_SATURATED = "#e67e22"  # the cycle in the gate box with gates pinned at the limits

_ZERO_BIAS_FLOOR = 1e-16
"""Zero-bias D² or Ē below this fraction of the biased curve's largest value is drawn as zero. Both
are squares: the floor is 1e-8 in amplitude, far above the orbit's round-off (~eps·κ·|G|, squared
~1e-30 V² for the compatible tasks of Fig. 2) and far below anything a measurement resolves."""
#: Fraction of the G-space panel's width kept right of the data for the saturated cycles' labels.
_LABEL_ROOM = 0.2
#: Resolution of a saved raster image, dots per inch (the value the figure always used).
_DPI = 150


def _theory_lines(ax: Any, grid: dict, key: str) -> None:
    """The theory curve of the grid: black where the orbit stays in the gate box; where it
    leaves, the saturated cycle in the box (orange) and the orbit without limits (dashed)."""
    t, y, inside = grid["tau"], grid[key + "_theory"], grid["in_box"]
    y_in = np.where(inside, y, np.nan)
    # join the segments so that the lines have no gap at the box exit
    edge = np.flatnonzero(np.diff(inside.astype(int)) != 0)
    unconstrained = grid.get(key + "_unconstrained")
    y_out = np.where(~inside, y, np.nan)
    y_free = None if unconstrained is None else np.where(~inside, unconstrained, np.nan)
    for k in edge:
        for arr, src in ((y_out, y), (y_free, unconstrained)):
            if arr is not None and src is not None:
                arr[k], arr[k + 1] = src[k], src[k + 1]
    ax.plot(t, y_in, "k-", lw=1.8, label="theory (orbit in gate box)")
    if not np.any(~inside):
        return
    if y_free is None:  # no gate box in the theory: the orbit without limits, flagged
        ax.plot(t, y_out, "k--", lw=1.2, alpha=0.6, label="theory (orbit leaves box)")
        return
    ax.plot(t, y_free, "--", color="0.45", lw=1.2, label="theory without gate limits")
    ax.plot(t, y_out, "-", color=_SATURATED, lw=2.2,
            label="theory, saturated cycle in gate box")  # fmt: skip


def _curve_panel(ax, rep, key: str, label: str):
    grid = rep.grid
    if grid:
        _theory_lines(ax, grid, key)
        symbol = r"$D^2$" if key == "D2" else r"$\bar E$"
        # a note goes where the rising curves leave room: Ē top left, D² bottom right
        corner = (0.98, 0.03, "right", "bottom") if key == "D2" else (0.02, 0.97, "left", "top")
        _zero_bias_curve(ax, grid["tau"], grid.get(key + "_bias_free"), grid[key + "_theory"],
                         symbol, corner)  # fmt: skip
    sim = getattr(rep, "sim", None)
    if sim is not None:
        ys = sim.D2_sim if key == "D2" else sim.Ebar_sim
        dev = rep.config.simulate.device
        ax.plot(rep.tau, ys, "-", color=_SIM, lw=1.2, alpha=0.8)
        free, lim = np.isfinite(ys) & ~sim.at_limit, np.isfinite(ys) & sim.at_limit
        ax.plot(rep.tau[free], ys[free], "s", ms=4.5, color=_SIM, label=f"simulator ({dev})")
        if np.any(lim):
            ax.plot(rep.tau[lim], ys[lim], "s", ms=4.5, mfc="white", mec=_SIM,
                    label="simulator, gates at limits")  # fmt: skip
    measured = rep.D2_measured if key == "D2" else rep.Ebar_measured
    has = np.isfinite(measured)
    if np.any(has):
        boxed = getattr(rep, "box_orbit", None) is not None  # theory at every period
        inb = has & (rep.in_box | boxed)
        outb = has & ~inb
        ax.plot(rep.tau[inb], measured[inb], "o", ms=6, mfc="#444", mec="k", label="measured")
        if np.any(outb):
            ax.plot(
                rep.tau[outb],
                measured[outb],
                "o",
                ms=6,
                mfc="white",
                mec="#444",
                label="measured (theory orbit leaves box)",
            )
    for j, tau in enumerate(_drawn_periods(rep)):
        ax.axvline(tau, color=_CYCLE_COLOURS[j % len(_CYCLE_COLOURS)], lw=1.0, alpha=0.7, ls=":",
                   label="periods drawn in C (colour = C's cycle)" if j == 0 else None)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"period $\tau$ (s)")
    ax.set_ylabel(label)
    ax.grid(True, which="major", alpha=0.25)


def _drawn_periods(rep: Any) -> list[float]:
    """The periods drawn in G-space: the measured cycles', then (with a gate box) the first and
    the last saturated period of the table."""
    out = [float(t) for t in rep.config.sweep.cycles]
    sat = np.asarray(getattr(rep, "saturated", ()), dtype=bool)
    if getattr(rep, "box_orbit", None) is not None and sat.size and sat.any():
        k = np.flatnonzero(sat)
        for i in dict.fromkeys((int(k[0]), int(k[-1]))):
            out.append(float(rep.tau[i]))
    return out


def _zero_bias_curve(ax, t, y0, y_biased, symbol: str, corner):
    """The zero-bias ("perfect") prediction, dash-dot black, where it is meaningfully positive.

    Where it is zero to round-off throughout (compatible tasks) the panel says so in words.
    """
    if y0 is None:
        return
    finite = y_biased[np.isfinite(y_biased)]
    floor = _ZERO_BIAS_FLOOR * (float(finite.max()) if finite.size else 0.0)
    shown = np.where(y0 > floor, y0, np.nan)
    if np.any(np.isfinite(shown)):  # the legend names only what is drawn
        ax.plot(t, shown, color="k", ls="-.", lw=1.3, label="theory, zero bias (perfect)")
    else:
        x, y, ha, va = corner
        ax.text(
            x,
            y,
            f"zero bias (perfect): {symbol} = 0\n(≤ {np.nanmax(np.abs(y0)):.0e} V$^2$, round-off)",
            transform=ax.transAxes,
            ha=ha,
            va=va,
            fontsize=7.5,
            color="0.25",
        )


def _gspace_panel(ax, rep):
    cfg = rep.config
    a_task, b_task = rep.tasks
    box = cfg.gate_box
    # limits: everything that is drawn, plus a margin
    pts = [a_task.G_star, b_task.G_star]
    cyc_taus = list(cfg.sweep.cycles)
    drawn = _drawn_periods(rep)
    orbit_tr, pinned = None, None
    if drawn:
        if getattr(rep, "box_orbit", None) is not None and box is not None:
            orb = periodic_orbit(a_task.linear, b_task.linear, B=rep.B, tau=np.array(drawn),
                                 box=(box[0], box[1]))  # fmt: skip
            tr = orb.trajectory(401)
            orbit_tr, pinned = tr.G, tr.pinned  # (T, m, 2)
        else:
            orb = periodic_orbit(a_task.linear, b_task.linear, B=rep.B, tau=np.array(drawn))
            orbit_tr = orb.trajectory(401).G  # (T, m, 2)
        pts += list(orbit_tr.reshape(-1, 2))
    for c in rep.cycles:
        pts += list(c.G[:, :2])
    P = np.array(pts)
    lo, hi = P.min(axis=0), P.max(axis=0)
    pad = 0.12 * max(hi - lo) + 0.05
    lo, hi = lo - pad, hi + pad
    if box is not None:
        lo, hi = np.maximum(lo, box[0] - 0.15), np.minimum(hi, box[1] + 0.15)
    if pinned is not None and np.any(pinned):  # room right of the box for the labels
        hi[0] += _LABEL_ROOM / (1 - _LABEL_ROOM) * float(hi[0] - lo[0])
    # solution lines of each point
    x = np.linspace(lo[0], hi[0], 2)
    for task, colour in ((a_task, _ALPHA), (b_task, _BETA)):
        for k, line in enumerate(task.lines):
            if line is not None:
                lab = f"solution line {task.name}" if k == 0 else None
                ax.plot(x, line.a * x + line.c, ls=(0, (2, 2)), color=colour, lw=1.3, label=lab)
        ax.plot(*task.G_star, "x", color=colour, ms=8, mew=2)
    # gate limits
    if box is not None:
        shown = False
        for g in box:
            if lo[0] <= g <= hi[0]:
                ax.axvline(g, color="k", lw=3)
                shown = True
            if lo[1] <= g <= hi[1]:
                ax.axhline(g, color="k", lw=3)
                shown = True
        if shown:  # the legend names only what is drawn
            ax.plot([], [], "-", color="k", lw=3, label=f"gate box [{box[0]:g}, {box[1]:g}] V")
    # measured cycles, one colour per period
    for c in rep.cycles:
        k = _nearest_index(cyc_taus, c.tau)
        colour = _CYCLE_COLOURS[k % len(_CYCLE_COLOURS)] if k is not None else "#555"
        ax.plot(
            c.G[:, 0],
            c.G[:, 1],
            "o",
            ms=3.5,
            color=colour,
            alpha=0.75,
            label=f"measured, τ = {c.tau:g} s",
        )
    if orbit_tr is not None:
        avoid = [(ln.a, ln.c) for t in rep.tasks for ln in t.lines if ln is not None]
        avoid += [(0.0, float(g)) for g in (box or ())]
        _theory_orbits(ax, orbit_tr, drawn, lo, hi, pinned, avoid)
    sim = getattr(rep, "sim", None)
    if sim is not None:
        _simulated_cycles(ax, sim, drawn)
    _bias_arrow(ax, rep.B, lo, hi)
    ax.plot([], [], "x", color="0.3", ms=7, mew=2, label="linearization point G* (α, β)")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal", adjustable="box")
    xl, yl = _gate_labels(cfg)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)


def _theory_orbits(
    ax: Any,
    orbit_tr: np.ndarray,
    taus: list[float],
    lo: Any,
    hi: Any,
    pinned: Any = None,
    avoid: list | None = None,
) -> None:
    """Theory orbits: the alpha half blue, the beta half red, outlined in black; the stretches
    of a saturated cycle with a gate pinned at a limit under a wide orange band."""
    m = orbit_tr.shape[1]
    half = (m - 1) // 2
    anchors = []  # each orbit's right end, labelled in a column right of all orbits
    inner = []  # saturated cycles: labelled inside, next to their free stretch
    any_pinned = False
    for k, tau in enumerate(taus):
        G = orbit_tr[k]
        if pinned is not None and np.any(pinned[k]):
            held = np.any(pinned[k], axis=1)
            band = np.where(held[:, None], G, np.nan)
            # a band where the pinned gate slides, a dot where the cycle rests on the face
            ax.plot(band[:, 0], band[:, 1], "o-", color=_SATURATED, lw=9, ms=11, alpha=0.55,
                    solid_capstyle="butt", markevery=[int(np.flatnonzero(held)[-1])])  # fmt: skip
            any_pinned = True
        ax.plot(G[:, 0], G[:, 1], "-", color="k", lw=3.2, alpha=0.9, solid_capstyle="round")
        ax.plot(G[: half + 1, 0], G[: half + 1, 1], "-", color=_ALPHA, lw=1.4)
        ax.plot(G[half:, 0], G[half:, 1], "-", color=_BETA, lw=1.4)
        _direction_arrows(ax, G, half)
        if pinned is not None and np.any(pinned[k]):
            inner.append((G[int(np.argmax(G[:, 0]))], f"τ = {tau:g} s", k))
        else:
            anchors.append((G[int(np.argmax(G[:, 0]))], f"τ = {tau:g} s", k))
    _tau_labels(ax, anchors, lo, hi)
    _outer_labels(ax, inner, lo, hi, avoid or [])
    ax.plot([], [], "-", color="k", lw=3, label="theory orbit (α blue, β red; arrows: direction)")
    if any_pinned:
        ax.plot([], [], "-", color=_SATURATED, lw=7, alpha=0.55, label="gate pinned at a limit")


def _direction_arrows(ax: Any, G: np.ndarray, half: int) -> None:
    """An arrow head in the middle of each half of a drawn cycle: the direction it runs in
    (α, then β), as the paper's Fig. 2 draws it."""
    for start, stop, colour in ((0, half, _ALPHA), (half, G.shape[0] - 1, _BETA)):
        i = (start + stop) // 2
        if stop - start < 2 or np.allclose(G[i], G[i + 1]):
            continue  # a half without motion has no direction to show
        ax.annotate("", xy=tuple(G[i + 1]), xytext=tuple(G[i]),
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.2, mutation_scale=13,
                                    shrinkA=0, shrinkB=0))  # fmt: skip


def _outer_labels(ax: Any, anchors: list, lo: Any, hi: Any, avoid: list) -> None:
    """Labels of the saturated cycles in a column right of the panel's data (the room the
    panel keeps beyond the gate box), each joined to its cycle's right end by a thin leader.

    ``avoid`` holds the lines drawn across that room as ``(a, c)`` of ``y = a x + c``
    (solution lines; horizontal box edges with ``a = 0``): each label takes the highest free
    slot whose text keeps clear of them. The leftmost cycle's label comes first, so each leader
    (from its label's left end, down to the left) passes clear of the labels below it.
    """
    if not anchors:
        return
    x = float(hi[0]) - 0.95 * _LABEL_ROOM * float(hi[0] - lo[0])
    x_end = x + 0.9 * _LABEL_ROOM * float(hi[0] - lo[0])
    dy = float(hi[1] - lo[1])
    slots = list(float(hi[1]) - dy * np.arange(0.08, 0.9, 0.035))
    xs = np.linspace(x, x_end, 9)

    def clear(y: float) -> bool:
        return all(float(np.min(np.abs(a * xs + c - y))) > 0.045 * dy for a, c in avoid)

    taken: list[float] = []
    for point, text, k in sorted(anchors, key=lambda a: float(a[0][0])):
        free = [y for y in slots if clear(y) and all(abs(y - t) > 0.06 * dy for t in taken)]
        y = free[0] if free else slots[min(len(taken), len(slots) - 1)]
        taken.append(y)
        colour = _CYCLE_COLOURS[k % len(_CYCLE_COLOURS)]
        ax.annotate(text, point, xytext=(x, y), textcoords="data", va="center", fontsize=8,
                    color=colour, arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6,
                                              "relpos": (0.0, 0.5)},
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.85})  # fmt: skip


def _simulated_cycles(ax: Any, sim: Any, cyc_taus: list[float]) -> None:
    """The simulator's cycle at each drawn period where it found one (dashed green)."""
    drawn = False
    for tau in cyc_taus:
        k = _nearest_index(list(sim.tau), tau)
        if k is not None and sim.trajectories[k] is not None:
            G = sim.trajectories[k]
            ax.plot(G[:, 0], G[:, 1], "--", color=_SIM, lw=1.3,
                    label=None if drawn else "simulated cycle")  # fmt: skip
            drawn = True


def _bias_arrow(ax: Any, B: np.ndarray, lo: Any, hi: Any) -> None:
    """The bias arrow (the paper's grey arrow) in the margin right of the panel, under its
    legend, where it can cover neither an orbit nor a label (the panel's aspect is equal, so the
    direction in the margin is the direction in G-space)."""
    span = np.asarray(hi, dtype=float) - np.asarray(lo, dtype=float)
    Bn = B[:2] / max(float(np.linalg.norm(B[:2])), 1e-300)
    d = Bn / span  # data -> axes fraction
    d = 0.16 * d / max(float(np.linalg.norm(d)), 1e-300)
    start = np.array([1.19, 0.14]) - 0.5 * np.array([0.0, d[1]])
    ax.annotate(
        "",
        xy=tuple(start + d),
        xytext=tuple(start),
        xycoords="axes fraction",
        textcoords="axes fraction",
        annotation_clip=False,
        arrowprops={"arrowstyle": "-|>", "color": "0.45", "lw": 2.4, "mutation_scale": 18},
    )
    ax.annotate(
        f"bias B = ({B[0]:.2f}, {B[1]:.2f}) V/s",
        tuple(start),
        xycoords="axes fraction",
        textcoords="offset points",
        xytext=(0, -12),
        ha="center",
        fontsize=8,
        color="0.3",
        annotation_clip=False,
    )


def _tau_labels(ax, anchors, lo, hi) -> None:
    """Period labels in a column right of the orbits, at least 5 % of the panel apart (so that
    they never overlap each other), each joined to its orbit's right end by a thin leader."""
    if not anchors:
        return
    x = max(float(a[0][0]) for a in anchors) + 0.06 * float(hi[0] - lo[0])
    gap = 0.05 * float(hi[1] - lo[1])
    ys: list[float] = []
    for point, _, _ in sorted(anchors, key=lambda a: float(a[0][1])):
        ys.append(max(float(point[1]), ys[-1] + gap) if ys else float(point[1]))
    for (point, text, k), y in zip(sorted(anchors, key=lambda a: float(a[0][1])), ys, strict=True):
        colour = _CYCLE_COLOURS[k % len(_CYCLE_COLOURS)]
        ax.annotate(text, point, xytext=(x, y), textcoords="data", va="center", fontsize=8,
                    color=colour, arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6},
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.85})  # fmt: skip


def _gate_labels(cfg) -> tuple[str, str]:
    """G₋ / G₊ for the paper's network (edges from the supplies Low / High), else G₁ / G₂."""
    names = cfg.network.gate_names
    sup = cfg.raw.get("network", {}).get("supplies", {}) if isinstance(cfg.raw, dict) else {}
    out = []
    for k, name in enumerate(names[:2]):
        sign = {"Low": "-", "High": "+"}.get(name.split("-")[0]) if sup else None
        sym = f"$G_{{{sign}}}$" if sign else f"$G_{k + 1}$"
        out.append(f"{sym}, gate of {name} (V)")
    return out[0], out[1]


def _nearest_index(values, x):
    if not values:
        return None
    k = int(np.argmin(np.abs(np.log(np.asarray(values)) - np.log(x))))
    return k if abs(np.log(values[k] / x)) < 0.05 else None


def plot_reproduction(rep: Any, path: str | Path | None = None, *, dpi: int | None = None) -> Any:
    """Draw the Fig. 2-like figure of a `clln_theory.experiments.Reproduction`.

    Parameters
    ----------
    rep : Reproduction
        The result of `clln_theory.experiments.reproduce`.
    path : str or Path, optional
        Where to save the figure (format from the suffix, e.g. ``.png``, ``.pdf``); written to a
        temporary file beside it and renamed, so a failed save (a full disk: `FileWriteError`
        naming the file) leaves the old file.
    dpi : int, optional
        Resolution of a saved raster image, dots per inch (default 150, at most 1200); only with
        ``path``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ArgumentError
        ``dpi`` without ``path`` (it applies to the saved file only), or not an integer in
        [1, 1200]; ``rep`` that is not a `Reproduction`; ``path`` that is neither a file name
        with a format matplotlib writes nor a file object.
    """
    if dpi is not None:
        dpi = check_dpi(dpi)
        if path is None:
            raise ArgumentError(
                "Argument `dpi` sets the resolution of the saved file, so it is not used without "
                "`path`; give `path` or leave `dpi` out."
            )
    instance(rep, "rep", Reproduction)
    path = check_path(path)
    fig = figure_class()(figsize=(17.5, 5.4), layout="constrained")
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1.15])
    ax_e, ax_d, ax_g = (fig.add_subplot(gs[0, k]) for k in range(3))
    _curve_panel(ax_e, rep, "Ebar", r"combined error $\bar E$ (V$^2$)")
    _curve_panel(ax_d, rep, "D2", r"squared cycle span $D^2$ (V$^2$)")
    # one legend for A and B, below them, where it cannot cover data
    handles, labels = ax_d.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside lower left", ncol=3, frameon=False)
    _gspace_panel(ax_g, rep)
    ax_g.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    for ax, letter in ((ax_e, "A"), (ax_d, "B"), (ax_g, "C")):
        ax.text(-0.02, 1.01, letter, transform=ax.transAxes, fontsize=14, fontweight="bold",
                ha="right", va="bottom")  # fmt: skip
    s = rep.summary()
    title = f"{rep.config.name}: {rep.config.description}"
    sub = (
        f"r·γ = {rep.config.rate.gamma:.3g} Ω/s, B = ({rep.B[0]:.2f}, {rep.B[1]:.2f}) V/s"
        + (
            f" (paper {tuple(rep.config.bias.paper)}, Δ = {100 * s['B_relative_error']:.1f} %)"
            if "B_relative_error" in s
            else ""
        )
        + ("\n" if "n_saturated" in s else "; ")
        + f"orbit inside gate box at {rep.n_in_box} of {rep.tau.size} periods"
    )
    if "D2_ratio_in_box" in s:
        r0, r1 = s["D2_ratio_in_box"]
        sub += f"; D² theory/measured {r0:.2f}–{r1:.2f} there"
    if "n_saturated" in s:
        sub += f", saturated cycle in the box at {s['n_saturated']}"
        if "D2_ratio_all" in s:
            r0, r1 = s["D2_ratio_all"]
            sub += f"; D² theory/measured {r0:.2f}–{r1:.2f} at all periods"
    if "D2_sim_ratio" in s.get("simulate", {}):
        r0, r1 = s["simulate"]["D2_sim_ratio"]
        sub += f"; D² simulator/measured {r0:.2f}–{r1:.2f}"
    fig.suptitle(title + "\n" + sub, fontsize=10)
    if path is not None:
        save_figure(fig, path, dpi=_DPI if dpi is None else dpi)
    return fig
