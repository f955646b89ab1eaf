"""Reproduce the paper's Fig. 2 (experiments 1 and 2) and the theory of Fig. 3.

For each experiment the pipeline fits the linear model to the measured solution lines, infers the
bias from the drift tests (Appendix E), computes the closed orbit for every measured period and
compares the predicted squared cycle span D² and combined error Ē with the measurements.

Reads the data shipped with the package (or $CLLN_DATA_DIR; give another copy of the same
layout with ``--data-dir``)::

    python examples/reproduce_fig2.py [--data-dir DATA_DIR]

Figures go to $CLLN_OUT_DIR (default: the current folder). The same, from the shell::

    clln-theory reproduce exp1 --data-dir DATA_DIR --plot exp1.png
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from clln_theory.experiments import reproduce
from clln_theory.plotting import plot_reproduction

DATA_DIR_HELP = (
    "copy of the published data layout (default: $CLLN_DATA_DIR, else the packaged copy)"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    args = ap.parse_args()
    out = Path(os.environ.get("CLLN_OUT_DIR", "."))
    data_dir = args.data_dir
    names = ["exp1", "exp2", "fig3"]
    for name in names:
        t0 = time.perf_counter()
        rep = reproduce(name, data_dir=data_dir)
        path = out / f"{name}.png"
        plot_reproduction(rep, path)
        dt = time.perf_counter() - t0
        s = rep.summary()
        print(f"{name}: {rep.config.description}")
        B = np.round(rep.B, 3).tolist()
        if rep.bias is not None:
            err = 100 * s["B_relative_error"]
            print(f"  bias from drift tests B = {B} V/s (paper {s['B_paper']}, {err:.1f} % off)")
        else:
            print(f"  bias given B = {B} V/s")
        ratio = rep.D2_ratio
        ok = rep.in_box & np.isfinite(ratio)
        if ok.any():
            print(
                f"  orbit in the gate box at {rep.n_in_box}/{rep.tau.size} periods; "
                f"D2 theory/measured there {ratio[ok].min():.2f} .. {ratio[ok].max():.2f}"
            )
        print(f"  {dt:.2f} s, figure {path}")


if __name__ == "__main__":
    main()
