"""Closed-form tau sweep of the limit cycle of two 2x2 tasks ((D11) of the paper).

Run: ``python examples/closed_form_sweep.py [--n-tau 12]``. Prints tau, the cycle span D (4) and
|G0| for periods from 1e-6 s to 1e3 s, computed in one vectorized call.
"""

from __future__ import annotations

import argparse

import numpy as np

from clln_theory.theory.linear import LinearTask
from clln_theory.theory.orbits import periodic_orbit


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-tau", type=int, default=12, help="number of periods (log-spaced)")
    p.add_argument("--tau-min", type=float, default=1e-6)
    p.add_argument("--tau-max", type=float, default=1e3)
    args = p.parse_args(argv)
    # two single-point tasks: solution lines through (2.5, 2.5) V at 45 and 90 degrees (1/s)
    u = np.array([1.0, -1.0]) / np.sqrt(2)
    v = np.array([1.0, 0.0])
    task_a = LinearTask(40.0 * np.outer(u, u), G_star=[2.5, 2.5])
    task_b = LinearTask(25.0 * np.outer(v, v), G_star=[2.5, 2.5])
    B = np.array([-1.79, 0.68])  # V/s, the bias quoted for Fig. 3 of the paper
    taus = np.logspace(np.log10(args.tau_min), np.log10(args.tau_max), args.n_tau)
    orbit = periodic_orbit(task_a, task_b, B=B, tau=taus)
    print(f"{'tau [s]':>12} {'span D [V]':>14} {'|G0| [V]':>12}")
    for tau, D, G0 in zip(orbit.tau, orbit.span, orbit.G0):
        print(f"{tau:12.3e} {D:14.6e} {np.linalg.norm(G0):12.6f}")


if __name__ == "__main__":
    main()
