"""Three tasks in a cycle with update noise, and a random task order (beyond the paper).

Run: ``python examples/many_tasks_noise.py [--quick]``. Three single-point tasks on two gates
(solution lines at 0, 60 and 120 degrees, crossing at (2.5, 2.5) V) are trained in turn for tau/3
each under the bias of the paper's Fig. 3, with white update noise Q = q I (V²/s). Prints, per
tau, the noiseless span (generalized (4)), the expected D² between the first two segment ends
with noise, and the random-order spread; draws ``many_tasks_noise.png`` (to ``$CLLN_OUT_DIR`` if
set, else the current folder; the committed figure: ``CLLN_OUT_DIR=docs/figures``): the three-task
orbit with its 3-sigma noise ellipses at the switches, and D² against tau with and without noise.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from clln_theory.theory import LinearTask, cyclic_orbit, orbit_covariance, random_order_moments


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer periods")
    p.add_argument("--q", type=float, default=1e-3, help="noise rate q, V²/s")
    args = p.parse_args(argv)
    angles = np.deg2rad([0.0, 60.0, 120.0])
    tasks = [
        LinearTask(20.0 * np.outer([np.cos(a), np.sin(a)], [np.cos(a), np.sin(a)]), [2.5, 2.5])
        for a in angles
    ]
    B = np.array([-1.79, 0.68])  # V/s, the bias quoted for Fig. 3 of the paper
    Q = args.q * np.eye(2)
    taus = np.logspace(-3, 1, 5 if args.quick else 25)
    D2_clean, D2_noisy, spread = [], [], []
    print(
        f"{'tau [s]':>10} {'span [V]':>11} {'D2 [V^2]':>11} {'E D2 noisy':>11} {'rand sd [V]':>11}"
    )
    for tau in taus:
        d = np.full(3, tau / 3)
        orbit = cyclic_orbit(tasks, B=B, durations=d)
        cov = orbit_covariance(tasks, durations=d, Q=Q)
        mom = random_order_moments(tasks, probs=[1 / 3] * 3, duration=tau / 3, B=B)
        D2n = cov.D2(orbit)
        D2_clean.append(np.linalg.norm(orbit.G_starts[1] - orbit.G_starts[2]) ** 2)
        D2_noisy.append(D2n[0, 1])
        spread.append(np.sqrt(np.trace(mom.covariance)))
        print(
            f"{tau:10.3g} {orbit.span:11.4e} {D2_clean[-1]:11.4e} {D2_noisy[-1]:11.4e} "
            f"{spread[-1]:11.4e}"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        print(f"matplotlib is needed for the figure ({exc}); pip install matplotlib")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    tau = 1.0
    d = np.full(3, tau / 3)
    orbit = cyclic_orbit(tasks, B=B, durations=d)
    cov = orbit_covariance(tasks, durations=d, Q=Q)
    traj = orbit.trajectory(301)
    colors = ["C0", "C1", "C2"]
    for k in range(3):
        sel = traj.task_index == k
        ax1.plot(*traj.G[sel].T, ".", ms=2, color=colors[k], label=f"training task {k + 1}")
        lam, V = np.linalg.eigh(cov.covariance[k])
        th = np.linspace(0, 2 * np.pi, 100)
        ell = orbit.G_starts[k][:, None] + (V * 3.0 * np.sqrt(lam)) @ np.array(
            [np.cos(th), np.sin(th)]
        )
        ax1.plot(*ell, "-", color=colors[k], lw=1.2, label=f"3-sigma noise, start of task {k + 1}")
    for a in angles:  # solution lines: G - G* orthogonal to u
        t = np.linspace(-0.3, 0.3, 2)
        ax1.plot(2.5 - np.sin(a) * t, 2.5 + np.cos(a) * t, "k:", lw=0.8)
    ax1.set_xlabel("G1 [V]")
    ax1.set_ylabel("G2 [V]")
    ax1.set_title(
        f"3-task orbit, tau = {tau} s, q = {args.q} V²/s (dotted: solution lines)", fontsize=9
    )
    ax1.legend(fontsize=7)
    ax1.set_aspect("equal", "datalim")
    ax2.loglog(taus, D2_clean, "k-", label="no noise: |s1 - s2|²")
    ax2.loglog(taus, D2_noisy, "C3--", label=f"with noise: E|s1 - s2|² (q = {args.q})")
    ax2.loglog(taus, np.square(spread), "C0:", label="random order: tr Cov at switches")
    ax2.set_xlabel("tau [s]")
    ax2.set_ylabel("squared distance [V²]")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    out = Path(os.environ.get("CLLN_OUT_DIR") or ".")
    path = out / "many_tasks_noise.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
