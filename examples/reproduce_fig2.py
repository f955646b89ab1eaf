"""Reproduce the paper's Fig. 2 (experiments 1 and 2) and the theory of Fig. 3.

For each experiment the pipeline fits the linear model to the measured solution lines, infers the
bias from the drift tests (Appendix E), computes the closed orbit for every measured period and
compares the predicted squared cycle span D² and combined error Ē with the measurements.

Run from the repository root (the data folder is found by `clln_theory.data.default_data_dir`,
e.g. from $CLLN_DATA_DIR; give another folder as the first argument)::

    python examples/reproduce_fig2.py [DATA_DIR]

Figures go to $CLLN_OUT_DIR (default: the current folder). The same, from the shell::

    clln-theory reproduce exp1 --data-dir DATA_DIR --plot exp1.png
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from clln_theory.data import default_data_dir
from clln_theory.experiments import reproduce
from clln_theory.plotting import plot_reproduction


def main() -> None:
    out = Path(os.environ.get("CLLN_OUT_DIR", "."))
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_data_dir()
    names = ["fig3"]
    if data_dir is None:
        print("No data folder found (see default_data_dir); only the Fig. 3 theory is computed.")
    else:
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
