"""Closed-form cycles on the paper's 4x4 periodic lattice (32 learning edges) vs simulation.

Run: ``python examples/lattice_cycles.py [--quick]``.

The problem (seeded, ``SEED``): linear edges K = S (G − V_T) (Appendix D), S = 8.5e-4 A/V²,
V_T = 0.7 V; input nodes ``0,0``, ``2,2``, ``3,1``, ground ``0,2`` (0 V), supply ``1,3``
(V₊ = 0.4351 V), output node ``2,0`` (the output is affine in three inputs: four independent
points are possible). Task α and task β are regressions with two points each (inputs drawn in
[0, 0.45] V); the labels are
the free outputs of a hidden gate vector ``G_target`` (uniform in [2.5, 3.5] V), so the tasks
are compatible. Their **joint solution** G* is found by
:func:`clln_theory.theory.jacobian.joint_solution` from a common start ``G_target + 0.3 V`` noise;
``M_α`` and ``M_β`` come from the adjoint :func:`clln_theory.theory.jacobian.linearize` at G*
(η = 1, A₀ of Eq. (C1), r = 1). The bias is random per edge, normal with 2 V/s standard deviation
(the scale of Appendix C).

Four gate constraints on 32 gates: ``M_α + M_β`` has rank 4 and a 28-dimensional common
nullspace, so no closed orbit exists — the gates drift at ``Q Qᵀ B`` while a closed orbit runs in
the 4-dimensional complement (:func:`clln_theory.theory.orbits.periodic_orbit` splits the two). The
span printed is the per-period ``D = |G(τ/2) − G(τ)|`` with the drift included (what a
measurement over one period sees), from τ = 1e-4 s to 10 s in closed form.

Check: the simulator (LinearDevice, continuum mode, no gate limits) started on the theory's G0,
run for one period; the relative difference of D at several τ for biases ``s × B`` with
s = 0.01 … 1, and the fitted slope of log(rel. difference) against log s (1 expected: the
linearization error is first order in the orbit amplitude, which is ∝ B).

Output: ``lattice_cycles.png`` in ``$CLLN_OUT_DIR`` if set, else the current
folder (for the committed figure: ``CLLN_OUT_DIR=docs/figures``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from clln_theory.electrical.kirchhoff import free_state
from clln_theory.errors import DeviceError
from clln_theory.model.network import periodic_lattice
from clln_theory.model.tasks import DataPoint, Task
from clln_theory.simulator import TrainingProtocol, simulate
from clln_theory.theory.jacobian import joint_solution, linearize
from clln_theory.theory.orbits import periodic_orbit

ROOT = Path(__file__).resolve().parents[1]
SEED = 7
INPUTS, GROUND, SUPPLY, OUTPUT = ("0,0", "2,2", "3,1"), "0,2", "1,3", "2,0"
V_SUPPLY = 0.4351  # V, the paper's V+
B_SCALE = 2.0  # V/s per edge, Appendix C
# continuum simulator tolerances: relative 1e-10 keeps its error far below the smallest
# linearization difference measured (~1e-4 relative at s = 0.01)
SIM_RTOL, SIM_ATOL = 1e-10, 1e-12


def build(seed: int = SEED):
    """The lattice, the two tasks, the joint solution and the linearized tasks (reusable)."""
    rng = np.random.default_rng(seed)
    net = periodic_lattice(4)
    G_target = rng.uniform(2.5, 3.5, net.n_gates)

    def points(k):
        pts = []
        for _ in range(k):
            v = {k: rng.uniform(0.0, 0.45) for k in INPUTS} | {GROUND: 0.0, SUPPLY: V_SUPPLY}
            O = free_state(net, G_target, Task([DataPoint(v, 0.0)], OUTPUT)).O[0]
            pts.append(DataPoint(v, float(O)))
        return pts

    ta = Task(points(2), OUTPUT, name="alpha")
    tb = Task(points(2), OUTPUT, name="beta")
    G_start = G_target + 0.3 * rng.standard_normal(net.n_gates)
    G_star = joint_solution(net, ta, tb, G_start)
    prot = TrainingProtocol()
    gamma = prot.A0 / float(net.S[0])
    la = linearize(net, ta, G_star, gamma=gamma)
    lb = linearize(net, tb, G_star, gamma=gamma)
    B = B_SCALE * rng.standard_normal(net.n_gates)
    return net, ta, tb, G_star, la, lb, B, prot


def period_span(orbit) -> np.ndarray:
    """D over one period including the drift: |G(tau/2) - G(tau)|, G(tau) = G0 + drift tau."""
    G_end = orbit.G0 + orbit.drift * np.asarray(orbit.tau)[..., None]
    return np.linalg.norm(orbit.G_half - G_end, axis=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 periods x 2 bias scales")
    args = ap.parse_args()
    t0 = time.perf_counter()
    net, ta, tb, G_star, la, lb, B, prot = build()
    print(f"4x4 periodic lattice: {net.n_gates} gates; |G* - start| solved, G* in "
          f"[{G_star.min():.2f}, {G_star.max():.2f}] V")  # fmt: skip
    rates_a, rates_b = np.round(la.eigvals[-la.rank :], 1), np.round(lb.eigvals[-lb.rank :], 1)
    print(
        f"rank M_alpha = {la.rank}, rank M_beta = {lb.rank}; nonzero rates [1/s]: "
        f"alpha {rates_a}, beta {rates_b}"
    )
    taus = np.geomspace(1e-4, 10.0, 61)
    orbit = periodic_orbit(la, lb, B=B, tau=taus)
    D = period_span(orbit)
    drift = np.linalg.norm(orbit.drift[0])
    print(
        f"common nullspace dim {orbit.null_basis.shape[1]}, drift |Q Q^T B| = {drift:.3f} V/s "
        f"of |B| = {np.linalg.norm(B):.3f} V/s"
    )
    # the same bias without its common-null part: a true closed orbit
    closed = periodic_orbit(la, lb, B=B - orbit.drift[0], tau=taus)
    print(f"closed form, 61 periods 1e-4..10 s: {1e3 * (time.perf_counter() - t0):.0f} ms incl. "
          "setup")  # fmt: skip
    for t in (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0):
        j = int(np.argmin(np.abs(np.log(taus / t))))
        print(f"  tau = {taus[j]:8.2e} s: D = {D[j]:.4e} V")

    sim_taus = [2e-3, 2e-1] if args.quick else [2e-3, 2e-2, 2e-1, 2.0]
    scales = np.array([0.03, 0.3]) if args.quick else np.array([0.01, 0.03, 0.1, 0.3, 1.0])
    rel = np.full((len(scales), len(sim_taus)), np.nan)
    print("\nrelative difference |D_sim - D_theory| / D_theory over one period from the theory G0")
    print("   s   " + "".join(f"{t:>11.0e}" for t in sim_taus))
    for i, s in enumerate(scales):
        orb = periodic_orbit(la, lb, B=s * B, tau=np.array(sim_taus))
        Dt = period_span(orb)
        for j, tau in enumerate(sim_taus):
            try:
                tr = simulate(
                    net, [ta, tb], orb.G0[j], tau=tau, n_periods=1, B=s * B, protocol=prot,
                    gate_limits=None, mode="continuum", rtol=SIM_RTOL, atol=SIM_ATOL,
                )  # fmt: skip
            except DeviceError:  # the theory's orbit takes a gate below threshold: no device
                continue
            Ds = float(np.linalg.norm(tr.G[1] - tr.G[2]))
            rel[i, j] = abs(Ds - Dt[j]) / Dt[j]
        cells = "".join(f"{r:11.2e}" if np.isfinite(r) else "  below V_T" for r in rel[i])
        print(f"{s:6.2f} " + cells)
    slopes = []
    for j in range(len(sim_taus)):
        # the asymptotic (small-bias) regime: s <= 0.1
        ok = np.isfinite(rel[:, j]) & (rel[:, j] > 0) & (scales <= 0.1 + 1e-12)
        fit = np.polyfit(np.log(scales[ok]), np.log(rel[ok, j]), 1)[0] if ok.sum() >= 2 else np.nan
        slopes.append(fit)
    pairs = ", ".join(f"{t:g} s: {p:.2f}" for t, p in zip(sim_taus, slopes, strict=True))
    print(f"fitted slope d log(rel. difference) / d log s (s <= 0.1) per tau: {pairs}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    out = Path(os.environ.get("CLLN_OUT_DIR") or ".")
    print(f"figure: {figure(taus, D, closed.span, sim_taus, scales, rel, slopes, out)}")


def figure(taus, D, span, sim_taus, scales, rel, slopes, out: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional dependency
        msg = f"matplotlib is needed for the figure ({exc}); pip install matplotlib"
        raise SystemExit(msg) from None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    ax = axes[0]
    ax.loglog(taus, D, "k-", label="D per period (incl. drift along the 28-dim common null)")
    ax.loglog(taus, span, "k--", label="closed orbit for B without its common-null part")
    ax.set_xlabel("period τ [s]")
    ax.set_ylabel("D [V]")
    ax.set_title("4x4 periodic lattice, 32 gates, random bias 2 V/s per edge", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    for j, t in enumerate(sim_taus):
        ax.loglog(scales, rel[:, j], "o-", label=f"τ = {t:g} s (slope {slopes[j]:.2f})")
    ax.set_xlabel("bias scale s  (B = s × B_random)")
    ax.set_ylabel("|D_sim − D_theory| / D_theory")
    ax.set_title("Linear-device simulator vs closed form: error ∝ B", fontsize=10)
    ax.legend(fontsize=8)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "lattice_cycles.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
