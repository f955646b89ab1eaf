"""The linear dynamics inside the gate box: piece maps, events, the cycle and its plateau.

Proves the closed form of one piece of the projected flow (free gates in the eigenbasis of the
free block, null modes drifting linearly), the form of every event function as a sum of monotone
terms (the enclosures that guarantee the bracketing of event times), the velocity of the pinned
gates, and the saltation of a gate hitting a limit; checks the piece map at 50 digits against the
matrix exponential of the augmented generator; states when the fixed point of the period map is
unique; derives the large-tau plateau as the box-constrained minimizer of the task energy (KKT),
checked at 50 digits; compares with ``clln_theory.theory`` (``periodic_orbit(..., box=)``,
``evolve(..., box=)``, ``box_plateau``).

Run ``python derivations/d08_box.py`` to re-run every check and rewrite ``d08_box.md``.
"""

from __future__ import annotations

import sys

import mpmath as mp
import numpy as np
import sympy as sp
from _derivation import DIGITS, Document, main, mp_matrix, mp_max_abs, rng

SLUG = "d08_box"


def _mp_flow(M: mp.matrix, b: mp.matrix, G0: mp.matrix, t) -> mp.matrix:
    """``G(t)`` of ``dG/dt = b - M G`` by ``expm`` of the augmented generator at 50 digits."""
    n = M.rows
    big = mp.zeros(n + 1, n + 1)
    for i in range(n):
        big[i, n] = (b[i] - sum(M[i, j] * G0[j] for j in range(n))) * t
        for j in range(n):
            big[i, j] = -M[i, j] * t
    W = mp.expm(big)
    return G0 + mp.matrix([[W[i, n]] for i in range(n)])


def _piece_section(doc: Document) -> None:
    doc.section("1. One piece in closed form")
    doc.text(
        r"""
        On task $\mu$ the gates obey $\dot G = \Pi[v(G)]$ with $v(G) = b - MG$,
        $b = MG^* + B$, inside $lo \le G \le hi$: a gate at a limit is *pinned* while its
        velocity points outward and is free otherwise. With the pinned set $P$ fixed, the free
        gates $F$ obey $\dot G_F = v_F(G)$, an affine flow with the principal block $M_{FF}$
        (symmetric positive semi-definite, a principal submatrix of $M$). With
        $M_{FF} = V \operatorname{diag}(\lambda) V^T$ and the modal initial velocity
        $\gamma = V^T v_F(G(0))$, each mode's velocity obeys $\dot w_k = -\lambda_k w_k$, so
        """
    )
    doc.eq(
        r"G_F(t) = G_F(0) + V\,(\gamma \circ \varphi(t)),\qquad "
        r"\varphi_k(t) = \frac{1 - e^{-\lambda_k t}}{\lambda_k}\ \ (= t \text{ for } \lambda_k = 0)."
    )
    t, lam, g = sp.symbols("t lambda gamma", positive=True)
    phi = (1 - sp.exp(-lam * t)) / lam
    doc.prove(r"$\dot\varphi_k = e^{-\lambda_k t}$ (the mode moves at $\gamma e^{-\lambda t}$)",
              sp.diff(g * phi, t), g * sp.exp(-lam * t))  # fmt: skip
    w = g * sp.exp(-lam * t)
    doc.prove(r"the modal velocity $w = \gamma e^{-\lambda t}$ solves $\dot w = -\lambda w$",
              sp.diff(w, t), -lam * w)  # fmt: skip
    doc.prove(r"$\varphi_k \to t$ as $\lambda_k \to 0$: a null mode drifts linearly",
              sp.limit(phi, lam, 0), t)  # fmt: skip
    doc.text(
        r"""
        The pinned gates do not move, so the velocity of a pinned gate is affine in the free
        gates' displacement: $v_P(t) = v_P(0) - M_{PF}\,V(\gamma\circ\varphi(t))$.
        """
    )
    m = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"m_{min(i, j)}{max(i, j)}", real=True))
    bs = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"b_{i}", real=True))
    G = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"G_{i}", real=True))
    d = sp.Matrix([0, sp.Symbol("d_1", real=True), sp.Symbol("d_2", real=True)])  # gate 0 pinned
    v = lambda x: bs - m * x  # noqa: E731
    doc.prove(r"$v(G + \delta) - v(G) = -M\delta$, so $v_P$ changes by $-M_{PF}\delta_F$",
              (v(G + d) - v(G))[0], -(m[0, 1] * d[1] + m[0, 2] * d[2]))  # fmt: skip
    # 50 digits: the closed form on a random free block equals expm of the augmented generator
    r = rng(8)
    n = 3
    X = mp_matrix([[r.uniform(-1, 1) for _ in range(n)] for _ in range(2)])
    M = X.T * X * 7
    M[2, 2] += mp.mpf("0.01")  # a rank-2 block plus a slow mode
    bv = mp_matrix([[r.uniform(-1, 1)] for _ in range(n)])
    G0 = mp_matrix([[r.uniform(1, 3)] for _ in range(n)])
    tt = mp.mpf("0.7")
    E, Q = mp.eigsy(M)
    gam = Q.T * (bv - M * G0)
    ph = mp.matrix([[(1 - mp.exp(-E[k] * tt)) / E[k] * gam[k]] for k in range(n)])
    closed = G0 + Q * ph
    doc.check50("the piece map equals the flow of the augmented generator (3 free gates)",
                mp_max_abs(closed - _mp_flow(M, bv, G0, tt)), "1e-40")  # fmt: skip


def _event_section(doc: Document) -> None:
    doc.section("2. Events, their bracketing, and the saltation")
    doc.text(
        r"""
        An event ends a piece: a free gate reaching a limit ($f = G_i - hi_i$ or
        $f = lo_i - G_i$ turning positive) or a pinned gate's velocity turning inward
        ($f = -s_j v_j$, $s_j = \pm 1$ at hi/lo). By section 1 every event function is
        """
    )
    doc.eq(r"f(t) = f(0) + \sum_k E_k\,\varphi_k(t),\qquad E = W\circ\gamma,")
    doc.text(
        r"""
        with rows $W$ of $\pm V$ or $s_j (M_{PF}V)$. Each term is monotone: $\varphi_k$
        increases and $\dot\varphi_k = e^{-\lambda_k t}$ decreases. Splitting $E = E^+ + E^-$
        by sign gives on any interval $[a, b]$ the rigorous enclosures
        $f \le f(0) + E^+\!\cdot\varphi(b) + E^-\!\cdot\varphi(a)$ and
        $E^+\!\cdot e(b) + E^-\!\cdot e(a) \le \dot f \le E^+\!\cdot e(a) + E^-\!\cdot e(b)$.
        The search excludes an interval only by these bounds, and where $\dot f$ has a sign the
        first root is bracketed for Brent's method: no root is missed between samples.
        """
    )
    t, lam = sp.symbols("t lambda", positive=True)
    phi = (1 - sp.exp(-lam * t)) / lam
    doc.prove(r"$\ddot\varphi_k = -\lambda_k e^{-\lambda_k t} \le 0$: $\dot\varphi_k$ decreases",
              sp.diff(phi, t, 2), -lam * sp.exp(-lam * t))  # fmt: skip
    doc.text(
        r"""
        At a hit of gate $j$ at time $t_j$ the vector field jumps in component $j$ only
        ($\nabla h = e_j$), so the saltation matrix is $S = I - e_j e_j^T$: the Jacobian of
        the flow loses row $j$. At a release $v_j = 0$, the field is continuous: $S = I$.
        In one free gate with $\dot G = c - \lambda G$ started at $x$ below $hi$, the state at
        $T$ after a hit is $hi$ whatever $x$ is: $\partial G(T)/\partial x = 0$.
        """
    )
    x, c, hi = sp.symbols("x c h", positive=True)
    t_hit = sp.log((c - lam * x) / (c - lam * hi)) / lam  # hi reached at t_hit
    reach = c / lam + (x - c / lam) * sp.exp(-lam * t_hit)
    doc.prove("the hit time solves $G(t_j) = hi$", sp.simplify(reach - hi), 0)
    doc.prove(r"$\partial t_j/\partial x = -e^{-\lambda t_j}/\dot G(t_j^-)$ (the saltation)",
              sp.simplify(sp.diff(t_hit, x) + sp.exp(-lam * t_hit) / (c - lam * hi)), 0)  # fmt: skip


def _fixed_point_section(doc: Document) -> None:
    doc.section("3. The cycle: fixed point of the period map")
    doc.text(
        r"""
        Task $\mu$'s projected flow is the projected gradient flow of the convex energy
        $E_\mu(G) = \tfrac12 (G - G^*_\mu)^T M_\mu (G - G^*_\mu) - B^T G$ over the box (a convex
        set): $-v = \nabla E_\mu$. Such a flow is nonexpansive in the Euclidean norm, and so is
        the period map $P$ (a composition). With finite limits $P$ maps the box into itself, so
        a fixed point exists (Brouwer). The fixed points of a nonexpansive map in a strictly
        convex norm form a convex set; hence a fixed point that is *isolated* is the only one.
        On the event sequence of the cycle $P$ is affine, $G \mapsto J G + c$, and the fixed
        point is isolated, so unique, when $I - J$ is nonsingular: no direction stays free and
        null for both tasks over the whole cycle without bias along it (bias along a shared
        null direction pushes the gates to the limits, which removes that direction from the
        free blocks). The package solves $(I - J)\,s = P(G) - G$ on the current sequence
        (Newton on the piecewise-affine map) and accepts only a point that reproduces its own
        event sequence with residual at round-off.
        """
    )
    from clln_theory.theory import LinearTask, evolve, periodic_orbit

    Ma = np.array([[20.0, 10.0], [10.0, 5.0]])
    Mb = np.array([[5.0, -8.0], [-8.0, 12.8]])
    a, b = LinearTask(Ma, G_star=[3.0, 3.5]), LinearTask(Mb, G_star=[2.5, 3.0])
    B, box = np.array([0.3, -0.2]), (1.0, 5.0)
    gen = np.random.default_rng(5)
    worst = 0.0
    for _ in range(20):  # nonexpansive: |P(x) - P(y)| <= |x - y| on random pairs
        x, y = gen.uniform(1, 5, 2), gen.uniform(1, 5, 2)
        px = evolve(b, evolve(a, x, t=30.0, B=B, box=box).G, t=30.0, B=B, box=box).G
        py = evolve(b, evolve(a, y, t=30.0, B=B, box=box).G, t=30.0, B=B, box=box).G
        worst = max(worst, np.linalg.norm(px - py) / np.linalg.norm(x - y) - 1.0)
    doc.compare("the period map is nonexpansive (20 random pairs, tau = 60 s)",
                max(worst, 0.0), "1e-12")  # fmt: skip
    o = periodic_orbit(a, b, B=B, tau=60.0, box=box)
    back = evolve(b, evolve(a, o.G0, t=30.0, B=B, box=box).G, t=30.0, B=B, box=box).G
    doc.compare("the saturated cycle is a fixed point of the period map (tau = 60 s)",
                float(np.max(np.abs(back - o.G0)) / np.max(np.abs(o.G0))), "1e-13")  # fmt: skip


def _plateau_section(doc: Document) -> None:
    doc.section("4. The large-period plateau")
    doc.text(
        r"""
        As $\tau \to \infty$ each half period runs to the rest point of its flow, the minimizer
        of $E_\mu$ over the box, independently of where it started when that minimizer is
        unique. Given its active set $P$ with sides $s$ (Karush-Kuhn-Tucker):
        """
    )
    doc.eq(
        r"G_P = \mathrm{limit}_P,\quad M_{FF} G_F = b_F - M_{FP} G_P,\quad "
        r"s_j v_j(G) \ge 0 \ (j \in P),\quad lo_F \le G_F \le hi_F,"
    )
    doc.text(
        r"""
        so $G_{half} \to \arg\min_{box} E_\alpha$ and $G_0 \to \arg\min_{box} E_\beta$. It is
        unique when $M_{FF}$ is nonsingular on the optimal face. After the last event of a half
        period (time $t_{settle}$) the distance to the plateau decays at least as
        $e^{-\lambda_{min}(M_{FF})(t - t_{settle})}$: the crossover is
        $\tau_c = 2\max_\mu (t_{settle,\mu} + 1/\lambda_{min,\mu})$.
        """
    )
    # 50 digits: a 3-gate task whose minimizer pins gate 2 at hi; KKT solved exactly
    M = mp_matrix([[4, 1, 1], [1, 3, 1], [1, 1, 2]])
    Gs = mp_matrix([[2], [2], [9]])
    Bm = mp_matrix([[mp.mpf("0.1")], [mp.mpf("-0.2")], [mp.mpf("0.3")]])
    hi = mp.mpf(5)
    bb = M * Gs + Bm
    MFF = mp_matrix([[4, 1], [1, 3]])
    rhs = mp_matrix([[bb[0] - M[0, 2] * hi], [bb[1] - M[1, 2] * hi]])
    GF = mp.lu_solve(MFF, rhs)
    G = mp_matrix([[GF[0]], [GF[1]], [hi]])
    v = bb - M * G
    doc.check50("the KKT point has zero free velocity", mp_max_abs(mp_matrix([[v[0]], [v[1]]])),
                "1e-45")  # fmt: skip
    doc.check50("its pinned gate pushes outward (multiplier > 0)", mp.mpf(0) if v[2] > 0 else 1,
                "1e-45")  # fmt: skip
    from clln_theory.theory import LinearTask, box_plateau, periodic_orbit

    Mn = np.array([[4.0, 1, 1], [1, 3, 1], [1, 1, 2]])
    ta = LinearTask(Mn, G_star=[2.0, 2.0, 9.0])
    tb = LinearTask(np.diag([1.0, 2.0, 3.0]), G_star=[1.5, 2.5, 2.0])
    Bn = np.array([0.1, -0.2, 0.3])
    P = box_plateau(ta, tb, B=Bn, box=(0.0, 5.0))
    ref = np.array([float(G[i]) for i in range(3)])
    doc.compare("`box_plateau` gives the 50-digit KKT point", float(np.max(np.abs(P.G_half - ref))),
                "1e-14")  # fmt: skip
    o = periodic_orbit(ta, tb, B=Bn, tau=40.0 * P.tau_crossover, box=(0.0, 5.0))
    doc.compare("the cycle at tau = 40 tau_c is on the plateau",
                float(np.max(np.abs(o.G_half - P.G_half))), "1e-12")  # fmt: skip
    _ = sp  # sympy used in the sections above


def build() -> Document:
    """Derive the projected dynamics, events, fixed point and plateau; compare."""
    doc = Document(SLUG, "The linear dynamics inside the gate box")
    doc.text(
        r"""
        Beyond the paper: gates are capacitor voltages held between physical limits. This
        derivation underlies `periodic_orbit(..., box=)`, `evolve(..., box=)`,
        `cyclic_orbit(..., box=)` and `box_plateau` (`clln_theory/theory/_box*.py`).
        """
    )
    with mp.workdps(DIGITS):
        _piece_section(doc)
        _event_section(doc)
        _fixed_point_section(doc)
        _plateau_section(doc)
    return doc


if __name__ == "__main__":
    sys.exit(main(build, __file__))
