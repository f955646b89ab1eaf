"""The ``clln-theory`` command.

Subcommands
-----------
``reproduce CONFIG_OR_PRESET [--data-dir DIR] [--simulate] [--json F] [--csv F] [--plot F]
[--quiet]``
    Run the paper's pipeline (`clln_theory.experiments.reproduce`) on a TOML description or a
    preset (``exp1``, ``exp2``, ``exp3``, ``fig3``) and print a table of theory next to
    measurement (units in the line under the column names); ``--simulate`` adds the nonlinear
    simulator of the description's ``[simulate]`` section (columns ``D2_sim``, ``Ebar_sim``,
    ``at_limit``). ``--json -`` / ``--csv -`` print to standard output instead of the table.
    ``--csv FILE`` writes a CSV that ``pandas.read_csv(FILE)`` reads as it is (the header
    first) and its provenance to the sidecar ``FILE.json``. Work longer than ~2 s shows a
    progress line on standard error when that is a terminal (``--quiet``: never); warnings
    (``FallbackWarning``: shooting fell back to iteration) are one line each there.
``presets [--show NAME]``
    List the shipped presets, or print one (a template to copy).

Also ``clln-theory --version`` and ``python -m clln_theory``. Misuse (bad arguments, a bad
description, missing or malformed data, an output path that cannot be written, checked before any
computation) ends the command with status 2 and one sentence on standard error; Ctrl-C with status
130 and one line; a closed standard output (``| head``) quietly. No traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ._checks import validator
from ._progress import quiet
from ._tables import sidecar_path
from .errors import CLLNError

__all__ = ["build_parser", "main"]

PLOT_FORMATS = ("png", "pdf", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp", "svgz")
"""File types ``--plot`` accepts (those matplotlib writes without extra packages)."""


class UsageError(CLLNError):
    """A misuse of the command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-sentence errors (no usage block) and status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help').")


@validator
def _check_output(path: str | None, name: str, *, suffixes: tuple[str, ...] = ()) -> None:
    """Refuse an output path that cannot be written, before any computation."""
    if path is None or path == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"Option {name} names '{p}', which is a folder; give a file name.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"Option {name} names '{p}', but its folder '{parent}' does not exist.")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"Option {name} names '{p}', but its folder '{parent}' is not writable.")
    if suffixes and p.suffix.lower().lstrip(".") not in suffixes:
        raise UsageError(
            f"Option {name} names '{p}', whose type {p.suffix or '(none)'!r} is not one of "
            f"{', '.join(suffixes)}."
        )


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "—" if x is None else format(x, spec)


def _sim_cells(r: dict) -> str:
    """The snapped period and the theory/simulator ratio of a row of the table."""
    return f"{_fmt(r.get('tau_sim'), '9.4g'):>9} {_fmt(r.get('D2_theory_over_sim'), '7.3g'):>7}"


def _task_line(t: Any) -> str:
    """One calibrated task of the table's head: G*, M's eigenvalues (two gates), the points."""
    pts = "; ".join(
        f"L = {p.label:.4f} V" + (f", {c.fit_input} = {p.inputs[c.fit_input]:.4f} V" if c else "")
        for p, c in zip(t.task.points, t.calibrations, strict=True)
    )
    if t.G_star.size == 2:
        return (
            f"task {t.name}: G* = ({t.G_star[0]:.4f}, {t.G_star[1]:.4f}) V, "
            f"eig M = {', '.join(f'{v:.4g}' for v in t.linear.eigvals)} 1/s; {pts}"
        )
    return f"task {t.name}: G* = {t.G_star.round(4).tolist()} V; {pts}"


def _table(rep: Any) -> str:
    lines = []
    s = rep.summary()
    lines.append(f"{rep.config.name}: {rep.config.description}")
    lines.append(
        f"gates {tuple(s['gates'])}, r·γ = {s['gamma']:.4g} Ω/s, η = {s['eta']:g}, "
        f"gate box {s['gate_box']}"
    )
    lines += [_task_line(t) for t in rep.tasks]
    B = ", ".join(f"{b:.3f}" for b in rep.B)
    line = f"bias B = ({B}) V/s"
    if "B_relative_error" in s:
        P = ", ".join(f"{b:.3f}" for b in s["B_paper"])
        line += f"; paper ({P}) V/s; |ΔB|/|B_paper| = {100 * s['B_relative_error']:.1f} %"
    lines.append(line)
    sim = rep.sim is not None
    boxed = rep.box_orbit is not None
    if boxed:
        lines.append(
            f"theory: the cycle in the gate box {s['gate_box']} V at every period (saturated: "
            "gates pinned at a limit; in box: the orbit without limits stays inside)"
        )
    if sim:
        p = s["simulate"]
        lines.append(
            f"simulator: {p['device']} devices, t_h = {1e6 * p['t_h']:g} µs, gate limits "
            f"{p['gate_limits']} V, B = ({', '.join(f'{b:.3f}' for b in p['B'])}) V/s, tasks "
            "calibrated to the measured lines on these devices"
        )
    lines.append("")
    lines.append(
        f"{'tau':>9} {'D2 theory':>11} {'D2 meas.':>11} {'ratio':>7} "
        f"{'Ebar theory':>12} {'Ebar meas.':>11} {'ratio':>7}  in box"
        + ("  saturated" if boxed else "")
        + (
            f"    {'D2 sim':>11} {'Ebar sim':>11}  at limit {'tau sim':>9} {'th/sim':>7}"
            if sim
            else ""
        )
    )
    lines.append(  # the units of the columns above (`UNITS` of the reproduction)
        f"{'[s]':>9} {'[V²]':>11} {'[V²]':>11} {'[1]':>7} {'[V²]':>12} {'[V²]':>11} {'[1]':>7}"
        + (" " * 11 if boxed and sim else "")
        + (f"          {'[V²]':>11} {'[V²]':>11}  {'':8} {'[s]':>9} {'[1]':>7}" if sim else "")
    )
    for r in rep.rows():
        lines.append(
            f"{r['tau']:9.4g} {_fmt(r['D2_theory'], '11.3e'):>11} "
            f"{_fmt(r['D2_measured'], '11.3e'):>11} "
            f"{_fmt(r['D2_ratio'], '7.2f'):>7} {_fmt(r['Ebar_theory'], '12.3e'):>12} "
            f"{_fmt(r['Ebar_measured'], '11.3e'):>11} {_fmt(r['Ebar_ratio'], '7.2f'):>7}  "
            f"{'yes' if r['in_box'] else 'NO ' if sim or boxed else 'NO'}"
            + (f"  {'yes' if r['saturated'] else 'no':>9}" if boxed else "")
            + (
                f"    {_fmt(r['D2_sim'], '11.3e'):>11} {_fmt(r['Ebar_sim'], '11.3e'):>11}  "
                f"{'yes' if r['at_limit'] else 'no':>8} {_sim_cells(r)}"
                if sim
                else ""
            )
        )
    from .experiments._pipeline import NONPOSITIVE_NOTE

    if not np.all(np.isfinite(rep.Ebar_theory)):  # the rows whose note is NONPOSITIVE_NOTE
        lines.append(f"(—: {NONPOSITIVE_NOTE})")
    lines += _flagged(rep.rows())
    for k, tau in enumerate(rep.tau if sim else ()):
        failure = rep.sim.failure_at(k)
        if failure is not None:
            lines.append(f"(sim — at tau = {float(tau):.4g} s: {failure.why})")
    lines.append("")
    lines += _footer(rep, s, sim, boxed)
    return "\n".join(lines)


#: Words of a row's note that the printed table repeats under it: a period without a cycle, a
#: re-linearization that did not converge, gates pinned far from the G* of the linear theory.
_FLAGGED_NOTES = ("no cycle found", "NOT CONVERGED", "M taken at G*")


def _flagged(rows: list[dict]) -> list[str]:
    """The notes of ``rows`` a reader of the printed table must see (all of them: --json),
    one line per note with its periods."""
    flagged: dict[str, list[str]] = {}
    for r in rows:
        for x in r["note"].split("; "):
            if any(w in x for w in _FLAGGED_NOTES):
                flagged.setdefault(x, []).append(f"{r['tau']:.4g}")
    return [f"({note}: tau = {', '.join(taus)} s)" for note, taus in flagged.items()]


def _footer(rep: Any, s: dict, sim: bool, boxed: bool) -> list[str]:
    """The summary lines under the table: gate box, theory/measured ranges, simulator."""
    lines = []
    msg = f"orbit inside the gate box at {rep.n_in_box} of {rep.tau.size} periods"
    if "D2_ratio_in_box" in s:
        lo, hi = s["D2_ratio_in_box"]
        msg += f"; D2 theory/measured there: {lo:.2f} to {hi:.2f}"
    lines.append(msg)
    if boxed:
        msg = f"cycle in the gate box saturated at {s['n_saturated']} of {rep.tau.size} periods"
        for key, name in (("D2_ratio_all", "D2"), ("Ebar_ratio_all", "Ebar")):
            if key in s:
                msg += f"; {name} theory/measured {s[key][0]:.2f} to {s[key][1]:.2f}"
        lines.append(msg + (" at every measured period" if "D2_ratio_all" in s else ""))
    if sim:
        p = s["simulate"]
        msg = f"simulator: cycle found at {rep.tau.size - p['n_failed']} of {rep.tau.size} periods"
        msg += f", at the gate limits at {p['n_at_limit']}"
        if "D2_sim_ratio" in p:
            msg += f"; D2 sim/measured {p['D2_sim_ratio'][0]:.2f} to {p['D2_sim_ratio'][1]:.2f}"
        lines.append(msg + f" ({p['seconds']:.1f} s)")
    return lines


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .experiments import reproduce

    if args.json == "-" and args.csv == "-":
        raise UsageError("Give at most one of --json - and --csv - (both would go to stdout).")
    _check_output(args.json, "--json")
    _check_output(args.csv, "--csv")
    _check_output(args.plot, "--plot", suffixes=PLOT_FORMATS)
    if args.plot:
        from importlib.util import find_spec

        if find_spec("matplotlib") is None:
            raise UsageError(
                "Option --plot needs matplotlib; install it with `pip install clln_theory[plot]`."
            )
    t0 = time.perf_counter()
    if args.config == "fig1":  # Fig. 1 on the full network: two task pairs, its own runner
        from .experiments.fig1 import run_fig1

        if args.csv:
            raise UsageError("Option --csv is not available for fig1; use --json.")
        with quiet() if args.quiet else contextlib.nullcontext():
            res = run_fig1(simulate=args.simulate)
        if args.plot:
            from .plotting import plot_fig1

            plot_fig1(res, args.plot)
        if args.json and args.json != "-":
            res.to_json(args.json)
        print(res.to_json() if args.json == "-" else res.summary())
        if args.json != "-":
            print(f"done in {time.perf_counter() - t0:.1f} s")
        return 0
    with quiet() if args.quiet else contextlib.nullcontext():
        rep = reproduce(
            args.config, data_dir=args.data_dir, simulate=args.simulate, exact_tau=args.exact_tau
        )
    if args.plot:
        from .plotting import plot_reproduction

        plot_reproduction(rep, args.plot)
    seconds = time.perf_counter() - t0
    to_stdout = False
    if args.json:
        if args.json == "-":
            print(rep.to_json())
            to_stdout = True
        else:
            rep.to_json(args.json)
    if args.csv:
        if args.csv == "-":
            print(rep.to_csv(), end="")
            to_stdout = True
        else:
            rep.to_csv(args.csv)
    if not to_stdout:
        print(_table(rep))
        written = [f for f in (args.json, args.csv, args.plot) if f]
        if args.csv and args.csv != "-":
            written.insert(written.index(args.csv) + 1, str(sidecar_path(args.csv)))
        print(f"done in {seconds:.2f} s" + (f"; wrote {', '.join(written)}" if written else ""))
    return 0


def _cmd_compare_bias(args: argparse.Namespace) -> int:
    from .experiments.bias_scoreboard import BIAS_MODELS, compare_bias

    _check_output(args.json, "--json")
    models = BIAS_MODELS if args.models is None else args.models  # --models: default all
    with quiet() if args.quiet else contextlib.nullcontext():
        sb = compare_bias(
            args.config, data_dir=args.data_dir, models=models, simulate=not args.no_simulate
        )
    if args.json == "-":
        print(sb.to_json())
        return 0
    if args.json:
        sb.to_json(args.json)
    print(sb.table() + "\n\nD2 predicted / measured:\n" + sb.ratios())
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from .experiments import list_presets, load_config

    if args.show is not None:
        if args.show not in list_presets():
            raise UsageError(f"No preset {args.show!r}; presets are {list_presets()}.")
        from importlib import resources

        text = resources.files("clln_theory") / "experiments" / "presets" / f"{args.show}.toml"
        print(text.read_text(encoding="utf-8"), end="")
        return 0
    for name in list_presets():
        print(f"{name:8s} {load_config(name).description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``clln-theory`` (subcommands ``reproduce``, ``presets``)."""
    from .data import package_version

    parser = _Parser(
        prog="clln-theory",
        description="Closed-form theory of biased Coupled Learning networks "
        "(Dillavou, Guzman, Liu, Durian 2025).",
    )
    parser.add_argument("--version", action="version", version=f"clln-theory {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "reproduce",
        help="run the paper's pipeline on a TOML description or preset",
        description="Calibrate, infer the bias, compute closed orbits, D2 and Ebar for every "
        "period, next to the measurements.",
    )
    p.add_argument("config", metavar="CONFIG_OR_PRESET", help="TOML file or preset name")
    p.add_argument(
        "--data-dir",
        help="folder of the paper's data (a copy of the layout 'imperfect-learning-physical-"
        "systems', e.g. the full upstream download); default: $CLLN_DATA_DIR, else the copy "
        "shipped with the package (experiments 1 and 2)",
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="also run the nonlinear simulator of the description's [simulate] section at every "
        "period (columns D2_sim, Ebar_sim, at_limit; seconds to minutes)",
    )
    p.add_argument(
        "--exact-tau",
        action="store_true",
        help="with --simulate: flag a period that does not train every task a whole number of "
        "steps t_h instead of simulating the nearest valid one (column tau_sim)",
    )
    p.add_argument("--json", metavar="FILE", help="write summary and table as JSON ('-': stdout)")
    p.add_argument(
        "--csv",
        metavar="FILE",
        help="write the table as CSV, header first, for pandas.read_csv(FILE); its provenance "
        "goes to FILE.json ('-': the CSV alone to stdout)",
    )
    p.add_argument("--plot", metavar="FILE", help="write the figure (png, pdf, svg)")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress line on stderr (it shows only on a terminal, after ~2 s of work)",
    )
    p.set_defaults(func=_cmd_reproduce)
    c = sub.add_parser(
        "compare-bias",
        help="fit and score every bias model (constant, affine, diagonal, along-lines) at every "
        "period",
        description="Fit each bias model to the same drift tests and bow-ties and score its D2 and "
        "Ebar at every measured period, in the theory with the gate box and in the simulator.",
    )
    c.add_argument("config", metavar="CONFIG_OR_PRESET", help="TOML file or preset name")
    c.add_argument("--data-dir", help="folder of the paper's data (as for reproduce)")
    c.add_argument("--models", nargs="+", metavar="MODEL", help="models to score (default all)")
    c.add_argument("--no-simulate", action="store_true", help="theory only (seconds, not minutes)")
    c.add_argument("--json", metavar="FILE", help="write everything as JSON ('-': stdout)")
    c.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    c.set_defaults(func=_cmd_compare_bias)
    q = sub.add_parser("presets", help="list the shipped presets, or print one")
    q.add_argument("--show", metavar="NAME", help="print the preset's TOML (a template to copy)")
    q.set_defaults(func=_cmd_presets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``clln-theory``; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for an error in the description or the data (one sentence on standard
        error, no traceback).
    """
    try:
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args))
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    except CLLNError as exc:
        _err(f"clln-theory: error: {exc}")
        return 2
    except KeyboardInterrupt:
        _err("clln-theory: interrupted.")
        return 130
    except BrokenPipeError:  # the reader closed the pipe (| head): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 141  # 128 + SIGPIPE, as a shell tool killed by the closed pipe
    except OSError as exc:  # writing an output file failed after all
        _err(f"clln-theory: error: {exc.strerror or exc} ({exc.filename or 'output'}).")
        return 2


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    """A warning as one line on standard error (no file name, no source line)."""
    _err(f"clln-theory: {category.__name__}: {message}")


def _err(line: str) -> None:
    try:
        print(" ".join(line.split()), file=sys.stderr)
    except OSError:
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
