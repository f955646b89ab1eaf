"""Memory erasure: a learned task forgotten while two others are trained (beyond the paper).

Run: ``python examples/memory_erasure.py [--quick]``. Three gates; the remembered task acts on
gates 1 and 3, the two tasks trained afterwards both act only in the (1, 2) plane, so gate 3 is a
common null direction of theirs and the bias drifts it at |N B|. Prints the forgetting curve for
several biases and draws ``memory_erasure.png`` (to ``$CLLN_OUT_DIR`` if set, else the current
folder; the committed figure: ``CLLN_OUT_DIR=docs/figures``): the remembered task's error
against time, with the asymptote (erasure_rate * t)².
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from clln_theory.theory import LinearTask, forgetting_curve


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer times")
    args = p.parse_args(argv)
    u = np.array([1.0, 0.0, 1.0]) / np.sqrt(2)
    mem = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0, 1.0])
    o1 = LinearTask(5.0 * np.diag([1.0, 0.0, 0.0]), G_star=[1.2, 0.0, 0.0])
    o2 = LinearTask(5.0 * np.outer([0.6, 0.8, 0.0], [0.6, 0.8, 0.0]), G_star=[1.0, 1.0, 0.0])
    t = np.logspace(-2, 3, 30 if args.quick else 300)
    curves = {}
    print(f"{'|N B| [V/s]':>12} {'E(1 s) [V^2]':>13} {'E(1e3 s)':>11} {'t(E=0.01) [s]':>14}")
    for b3 in (0.0, 1e-3, 1e-2, 1e-1):
        B = np.array([0.1, -0.05, b3])
        fc = forgetting_curve(mem, [o1, o2], B=B, durations=[0.5, 0.5], t=t)
        curves[b3] = fc
        e1 = np.interp(1.0, t, fc.error)
        print(
            f"{fc.drift_speed:12.3g} {e1:13.4e} {fc.error[-1]:11.4e} {fc.erasure_time(0.01):14.4g}"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        print(f"matplotlib is needed for the figure ({exc}); pip install matplotlib")
        return
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, fc in enumerate(curves.values()):
        ax.loglog(t, fc.error, color=f"C{i}", label=f"|N B| = {fc.drift_speed:.3g} V/s")
        if fc.erasure_rate > 0:
            ax.loglog(t, (fc.erasure_rate * t) ** 2, ":", color=f"C{i}", lw=1)
    ax.set_xlabel("time training the other tasks [s]")
    ax.set_ylabel("error of the remembered task [V²]")
    ax.set_title("Forgetting curves (dotted: drift asymptote (erasure_rate t)²)", fontsize=9)
    ax.set_ylim(1e-6, None)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(os.environ.get("CLLN_OUT_DIR") or ".")
    path = out / "memory_erasure.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
