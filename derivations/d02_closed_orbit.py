"""(D6)-(D11): the closed orbit of two-task training, when it exists, and the drift otherwise.

Proves that the period map has the unique fixed point (D11) exactly when the two rate matrices
share no null direction; that otherwise no closed orbit exists, the gates drift at the projection
of B on the common nullspace (a pseudoinverse would silently drop that drift), and the rest of
the motion is a closed orbit. Compares with ``clln_theory.theory.orbits.periodic_orbit``.

Run ``python derivations/d02_closed_orbit.py`` to re-run every check and rewrite
``d02_closed_orbit.md``.
"""

from __future__ import annotations

import sys

import mpmath as mp
import numpy as np
import sympy as sp
from _derivation import Document, main, mp_matrix, mp_max_abs, mp_norm, rng

SLUG = "d02_closed_orbit"


# ------------------------------------------------------------------------------------------
# 50-digit reference (independent of the package): Van Loan block exponentials and LU
# ------------------------------------------------------------------------------------------
def mp_half_period(M: mp.matrix, G_star: mp.matrix, B: mp.matrix, h: mp.mpf):
    """``A = e^{-hM}`` and ``b`` of (D9) as blocks of ``exp(h [[-M, M G* + B], [0, 0]])``."""
    n = M.rows
    big = mp.zeros(n + 1, n + 1)
    f = M * G_star + B
    for i in range(n):
        big[i, n] = f[i]
        for j in range(n):
            big[i, j] = -M[i, j]
    W = mp.expm(big * h)
    A = mp.matrix([[W[i, j] for j in range(n)] for i in range(n)])
    b = mp.matrix([[W[i, n]] for i in range(n)])
    return A, b


def mp_orbit(Ma, Ga, Mb, Gb, B, tau, Q=None, G_ref=None):
    """(D11) at 50 digits; with a common null basis ``Q`` (columns), the drifting orbit.

    Returns ``G0, G_half, G_tau`` (``G_tau = G0 + tau Q Q^T B``).
    """
    h = tau / 2
    Aa, ba = mp_half_period(Ma, Ga, B, h)
    Ab, bb = mp_half_period(Mb, Gb, B, h)
    n = Ma.rows
    lhs = mp.eye(n) - Ab * Aa
    rhs = Ab * ba + bb
    if Q is None:
        G0 = mp.lu_solve(lhs, rhs)
    else:
        drift = Q * (Q.T * B)
        k = Q.cols
        stacked = mp.zeros(n + k, n)
        right = mp.zeros(n + k, 1)
        for i in range(n):
            right[i] = rhs[i] - tau * drift[i]
            for j in range(n):
                stacked[i, j] = lhs[i, j]
        pin = Q.T * G_ref
        for i in range(k):
            right[n + i] = pin[i]
            for j in range(n):
                stacked[n + i, j] = Q[j, i]
        G0, res = mp.qr_solve(stacked, right)
        if res > mp.mpf("1e-40"):
            raise AssertionError(f"drifting-orbit system inconsistent, residual {res}")
    G_half = Aa * G0 + ba
    return G0, G_half, Ab * G_half + bb


# ------------------------------------------------------------------------------------------
def build() -> Document:
    """Derive the closed orbit (D11), its existence condition and the drift; compare."""
    doc = Document(SLUG, "(D6)–(D11): the closed orbit, when it exists, and the drift otherwise")
    doc.text(
        r"""
        Task α is trained for $h = \tau/2$, then task β for $h$, over and over. By (D8)–(D9)
        (derived in `d01_evolution.md`) each half period is an affine map
        $G \mapsto A_\mu G + b_\mu$ with $A_\mu = e^{-hM_\mu}$. Continuity at the switch (D6)
        chains them; a closed orbit starting at $\bar G_0$ is a fixed point of the period map
        (D7), i.e. of (D10), solved by (D11):
        """
    )
    doc.eq(r"A_\beta(A_\alpha \bar G_0 + b_\alpha) + b_\beta = \bar G_0", "D10")
    doc.eq(r"\bar G_0 = (I - A_\beta A_\alpha)^{-1}(A_\beta b_\alpha + b_\beta)", "D11")

    # ---------------------------------------------------------------- 1. algebra of (D10)
    doc.section("1. From (D10) to (D11), and the form the engine solves")
    Aa, Ab, G0, ba, bb = sp.symbols("A_alpha A_beta G_0 b_alpha b_beta", commutative=False)
    I = sp.Integer(1)
    doc.prove(
        "(D10) rearranges to $(I - A_\\beta A_\\alpha)\\bar G_0 = A_\\beta b_\\alpha + b_\\beta$ (noncommutative algebra)",
        Ab * (Aa * G0 + ba) + bb - G0,
        -((I - Ab * Aa) * G0 - (Ab * ba + bb)),
    )
    doc.text(
        r"""
        `clln_theory.theory.orbits` writes $I - A_\beta A_\alpha$ with $E_\mu = I - A_\mu$ (computed
        with `expm1`, so that nothing cancels when $h\lambda \ll 1$):
        """
    )
    doc.prove(
        "$I - A_\\beta A_\\alpha = E_\\alpha + E_\\beta A_\\alpha$",
        (I - Ab * Aa).subs({}),
        ((I - Aa) + (I - Ab) * Aa).expand(),
    )

    # ---------------------------------------------------------------- 2. existence
    doc.section("2. When does the closed orbit exist?")
    doc.text(
        r"""
        **Claim.** $I - A_\beta A_\alpha$ is invertible if and only if
        $\mathrm{null}(M_\alpha) \cap \mathrm{null}(M_\beta) = \{0\}$.

        **Lemma.** For symmetric PSD $M$ and $h > 0$, $\|e^{-hM}v\| \le \|v\|$, with equality
        iff $Mv = 0$. In the eigenbasis, with $c_i = u_i^{\mathsf T} v$,
        $\|v\|^2 - \|e^{-hM}v\|^2 = \sum_i (1 - e^{-2h\lambda_i})\,c_i^2$: every term is
        non-negative and vanishes iff $c_i = 0$ or $\lambda_i = 0$.

        **Proof of the claim.** If $v \ne 0$ lies in both nullspaces, $A_\alpha v = A_\beta v = v$
        and $(I - A_\beta A_\alpha)v = 0$. Conversely if $A_\beta A_\alpha v = v$, then
        $\|v\| = \|A_\beta A_\alpha v\| \le \|A_\alpha v\| \le \|v\|$, so both are equalities:
        by the lemma $M_\alpha v = 0$, hence $A_\alpha v = v$; then $\|A_\beta v\| = \|v\|$ gives
        $M_\beta v = 0$. ∎
        """
    )
    l1, l2, hp = sp.symbols("lambda_1 lambda_2 h", positive=True)
    c = sp.Matrix(sp.symbols("c_1:4", real=True))
    Q3 = sp.Matrix([[1, 2, 2], [2, 1, -2], [2, -2, 1]]) / 3
    lam3 = (l1, l2, 0)
    Aex = Q3 * sp.diag(*[sp.exp(-hp * x) for x in lam3]) * Q3.T
    v = Q3 * c
    doc.prove(
        "the lemma's identity for $M = Q\\,\\mathrm{diag}(\\lambda_1, \\lambda_2, 0)Q^{\\mathsf T}$: $\\|v\\|^2 - \\|e^{-hM}v\\|^2 = \\sum_i (1 - e^{-2h\\lambda_i})c_i^2$",
        (v.T * v - (Aex * v).T * (Aex * v))[0],
        sum((1 - sp.exp(-2 * hp * x)) * ci**2 for x, ci in zip(lam3, c)),
    )
    doc.text(
        r"""
        For the paper's 2+1 network every single-point task has a rank-one $M_\mu =
        \lambda_\mu u_\mu u_\mu^{\mathsf T}$ in the plane $(G_-, G_+)$ (see `d04_contrastive_2p1.md`),
        and then $A_\mu = I - (1 - e^{-h\lambda_\mu})u_\mu u_\mu^{\mathsf T}$. With $\theta$ the
        angle between $u_\alpha$ and $u_\beta$ (equivalently between the two solution lines):
        """
    )
    th = sp.Symbol("theta", real=True)
    ua = sp.Matrix([1, 0])
    ub = sp.Matrix([sp.cos(th), sp.sin(th)])
    A1 = sp.eye(2) - (1 - sp.exp(-hp * l1)) * ua * ua.T
    A2 = sp.eye(2) - (1 - sp.exp(-hp * l2)) * ub * ub.T
    doc.prove(
        "$A_\\mu = I - (1 - e^{-h\\lambda_\\mu})u_\\mu u_\\mu^{\\mathsf T}$ solves $\\partial_h A = -M A$, $A(0) = I$",
        (A2.diff(hp) + l2 * ub * ub.T * A2).col_join(A2.subs(hp, 0)),
        sp.zeros(2, 2).col_join(sp.eye(2)),
        simplifier=lambda e: sp.simplify(sp.expand_trig(e)),
    )
    det = (sp.eye(2) - A2 * A1).det()
    closed = (1 - sp.exp(-hp * l1)) * (1 - sp.exp(-hp * l2)) * sp.sin(th) ** 2
    doc.eq(
        r"\det(I - A_\beta A_\alpha) = (1 - e^{-h\lambda_\alpha})(1 - e^{-h\lambda_\beta})\,\sin^2\theta"
    )
    doc.prove(
        "the determinant of $I - A_\\beta A_\\alpha$ for two rank-one tasks in two gates",
        det,
        closed,
        simplifier=lambda e: sp.simplify(sp.expand(e).rewrite(sp.cos)),
    )
    doc.text(
        r"""
        It vanishes only when $\sin\theta = 0$: parallel solution lines, i.e. a shared null
        direction. Crossing lines always give a closed orbit, for every $\tau > 0$; the orbit's
        conditioning degrades like $1/\sin^2\theta$ as the lines become parallel and like
        $1/(h^2\lambda_\alpha\lambda_\beta)$ as $\tau \to 0$.
        """
    )

    # ---------------------------------------------------------------- 3. the drift
    doc.section("3. A common null direction: drift plus a closed orbit")
    doc.text(
        r"""
        Let $Z = \mathrm{null}(M_\alpha) \cap \mathrm{null}(M_\beta) \ne \{0\}$ with orthogonal
        projector $P_Z$. Since $M_\mu P_Z = 0 = P_Z M_\mu$ (symmetry), $A_\mu P_Z = P_Z A_\mu = P_Z$
        and $P_Z b_\mu = h P_Z B$: on $Z$ the period map is $z \mapsto z + \tau P_Z B$. Hence

        * **no closed orbit exists when $P_Z B \ne 0$:** $P_Z(I - A_\beta A_\alpha) = 0$, so the
          $Z$-component of (D10) reads $0 = \tau P_Z B$ whatever $\bar G_0$ is. The pseudoinverse
          the paper suggests returns the least-squares $\bar G_0$, which silently drops exactly
          this residual $\tau P_Z B$;
        * the gates **drift** at velocity $P_Z B$: $G(t + \tau) = G(t) + \tau P_Z B$;
        * on $Z^\perp$ (invariant under both maps) the reduced maps share no fixed vector, so by
          §2 the rest of the motion is a unique closed orbit;
        * the span (4) measured on the actual trajectory is
          $\|G(\tau/2) - G(\tau)\| = \sqrt{D_\perp^2 + (\tau/2)^2\|P_Z B\|^2}$, where $D_\perp$ is
          the span of the periodic part (the two parts are orthogonal).

        Explicit check in three gates: two rank-one tasks whose directions $u_\alpha$,
        $u_\beta$ are both orthogonal to $n = (1, 2, 2)/3$, so $Z = \mathrm{span}(n)$.
        """
    )
    nvec = sp.Matrix([1, 2, 2]) / 3
    w1 = sp.Matrix([2, 1, -2]) / 3
    w2 = sp.Matrix([2, -2, 1]) / 3
    u_a = w1
    u_b = sp.Rational(3, 5) * w1 + sp.Rational(4, 5) * w2
    Bs = sp.Matrix(sp.symbols("B_1:4", real=True))
    Gs = sp.Matrix(sp.symbols("G^*_1:4", real=True))  # a common solution (compatible tasks)
    PZ = nvec * nvec.T

    # e_mu stands for exp(-h lambda_mu): the identities below are rational in e_mu, so proving
    # them for independent symbols e_mu proves them for the exponentials.
    e1, e2 = sp.symbols("e_1 e_2", positive=True)

    def rank_one_map(lam, e, u):
        M = lam * u * u.T
        A = sp.eye(3) - (1 - e) * u * u.T
        # b of (D9): (1 - A)(G* + M^+ B) + h N B with M^+ = u u^T / lam, N = 1 - u u^T
        b = (sp.eye(3) - A) * (Gs + u * u.T * Bs / lam) + hp * (sp.eye(3) - u * u.T) * Bs
        return M, A, b

    Ma3, Aa3, ba3 = rank_one_map(l1, e1, u_a)
    Mb3, Ab3, bb3 = rank_one_map(l2, e2, u_b)
    doc.prove("$M_\\alpha n = M_\\beta n = 0$", (Ma3 * nvec).col_join(Mb3 * nvec), sp.zeros(6, 1))
    doc.prove(
        "$P_Z (I - A_\\beta A_\\alpha) = 0$: (D10) has no $Z$-component on its left side",
        PZ * (sp.eye(3) - Ab3 * Aa3),
        sp.zeros(3, 3),
    )
    rhs3 = Ab3 * ba3 + bb3
    doc.prove(
        "$P_Z(A_\\beta b_\\alpha + b_\\beta) = \\tau P_Z B$ with $\\tau = 2h$",
        PZ * rhs3,
        2 * hp * PZ * Bs,
    )
    # the complement: the reduced matrix of I - A_beta A_alpha in the basis (w1, w2) of Z-perp
    W = w1.row_join(w2)
    doc.prove(
        "$I - A_\\beta A_\\alpha$ maps $Z^\\perp$ into $Z^\\perp$",
        PZ * (sp.eye(3) - Ab3 * Aa3) * W,
        sp.zeros(3, 2),
    )
    red = W.T * (sp.eye(3) - Ab3 * Aa3) * W
    doc.prove(
        "on $Z^\\perp$, $\\det = (1 - e^{-h\\lambda_\\alpha})(1 - e^{-h\\lambda_\\beta})\\sin^2\\theta$ with $\\sin\\theta = 4/5$: nonzero, so the periodic part is unique",
        red.det(),
        (1 - e1) * (1 - e2) * sp.Rational(16, 25),
    )
    G0g = sp.Matrix(sp.symbols("g_1:4", real=True))  # any starting point
    G_half_g = Aa3 * G0g + ba3
    G_tau_g = Ab3 * G_half_g + bb3
    doc.prove(
        "for *any* start $G_0$: $P_Z G(\\tau/2) = P_Z G_0 + h P_Z B$ and $P_Z G(\\tau) = P_Z G_0 + 2h P_Z B$ — the drift",
        (PZ * (G_half_g - G0g)).col_join(PZ * (G_tau_g - G0g)),
        (hp * PZ * Bs).col_join(2 * hp * PZ * Bs),
    )
    doc.text(
        r"""
        So on the orbit (periodic part closed, $(I - P_Z)G(\tau) = (I - P_Z)\bar G_0$) the
        difference $G(\tau/2) - G(\tau)$ has $Z$-component $-hP_Z B$ and $Z^\perp$-component
        $(I - P_Z)(G(\tau/2) - \bar G_0)$, whose norm is $D_\perp$: Pythagoras gives the span
        formula above. The 50-digit check in §4 confirms it on numbers.
        """
    )

    # ---------------------------------------------------------------- 4. 50 digits and package
    doc.section("4. 50-digit references and the package")
    doc.text(
        r"""
        The reference solves (D11) at 50 digits with mpmath (half-period maps from Van Loan's
        block exponential $\exp\big(h\begin{pmatrix}-M & MG^*+B\\ 0 & 0\end{pmatrix}\big)$,
        then LU), independently of the eigen-decompositions the engine uses. Three cases:
        (a) two rank-one tasks in two gates with different solution points (the paper's Fig. 2
        setting), at $\tau$ from $10^{-4}$ to $10^{3}$ times the relaxation time;
        (b) random tasks of rank 2 and 3 in four gates; (c) the three-gate drifting case of §3
        with numbers. `periodic_orbit` pins the $Z$-component of $\bar G_0$ to that of
        $G_{\mathrm{ref}} = (G^*_\alpha + G^*_\beta)/2$; the reference does the same.
        """
    )
    from clln_theory.theory.linear import LinearTask
    from clln_theory.theory.orbits import periodic_orbit

    def to_np(A):
        return np.array(A.tolist(), dtype=float)

    def rel(got, ref):
        got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
        return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))

    with mp.workdps(50):
        r = rng(7)

        # (a) two single-point tasks in two gates
        def unit(angle):
            return mp_matrix([[mp.cos(angle)], [mp.sin(angle)]])

        ua_, ub_ = unit(mp.mpf("0.3")), unit(mp.mpf("1.9"))
        Ma = mp.mpf(40) * ua_ * ua_.T
        Mb = mp.mpf(25) * ub_ * ub_.T
        Ga = mp_matrix([[3.0], [3.5]])
        Gb = mp_matrix([[3.1], [3.4]])
        B2 = mp_matrix([[2.97], [4.41]])
        ta, tb = LinearTask(to_np(Ma), to_np(Ga).ravel()), LinearTask(to_np(Mb), to_np(Gb).ravel())
        worst_fix = mp.mpf(0)
        for tau in ("1e-5", "1e-2", "1", "100"):
            G0r, Ghr, Gtr = mp_orbit(Ma, Ga, Mb, Gb, B2, mp.mpf(tau))
            worst_fix = max(worst_fix, mp_max_abs(Gtr - G0r) / mp_max_abs(G0r))
            orb = periodic_orbit(ta, tb, B=to_np(B2).ravel(), tau=float(tau))
            span_ref = mp_norm(Ghr - G0r)
            doc.compare(
                f"(a) τ = {tau} s: `periodic_orbit` $\\bar G_0$, $G(\\tau/2)$ and span $D$ equal (D11)",
                max(
                    rel(orb.G0, to_np(G0r).ravel()),
                    rel(orb.G_half, to_np(Ghr).ravel()),
                    rel(orb.span, float(span_ref)),
                ),
                "1e-9",
            )
        doc.check50(
            "(a) the 50-digit $\\bar G_0$ of (D11) is a fixed point of the period map, relative to $|\\bar G_0|$",
            worst_fix,
            "1e-40",
        )

        # (b) random tasks in four gates, ranks 2 and 3
        def rand_psd(rank):
            X = mp_matrix([[r.uniform(-1, 1) for _ in range(4)] for _ in range(4)])
            U, _ = mp.qr(X)
            lam = [mp.mpf(r.uniform(1, 50)) for _ in range(rank)] + [mp.mpf(0)] * (4 - rank)
            return U * mp.diag(lam) * U.T

        Ma4, Mb4 = rand_psd(2), rand_psd(3)
        Ga4 = mp_matrix([[r.uniform(2, 4)] for _ in range(4)])
        Gb4 = mp_matrix([[r.uniform(2, 4)] for _ in range(4)])
        B4 = mp_matrix([[r.uniform(-3, 3)] for _ in range(4)])
        G0r, Ghr, _ = mp_orbit(Ma4, Ga4, Mb4, Gb4, B4, mp.mpf("0.3"))
        orb = periodic_orbit(
            LinearTask(to_np(Ma4), to_np(Ga4).ravel()),
            LinearTask(to_np(Mb4), to_np(Gb4).ravel()),
            B=to_np(B4).ravel(),
            tau=0.3,
        )
        doc.compare(
            "(b) four gates, ranks 2 and 3: `periodic_orbit` equals (D11)",
            max(rel(orb.G0, to_np(G0r).ravel()), rel(orb.G_half, to_np(Ghr).ravel())),
            "1e-9",
        )
        doc.compare(
            "(b) no common null direction: `Orbit.drift` is zero",
            float(np.max(np.abs(orb.drift))),
            "1e-15",
        )

        # (c) the drifting three-gate case of section 3, with numbers
        to_mp = lambda m: mp_matrix(np.array(m.evalf(60).tolist(), dtype=object).tolist())  # noqa: E731
        Mc_a = to_mp(7 * u_a * u_a.T)
        Mc_b = to_mp(11 * u_b * u_b.T)
        Gc_a = mp_matrix([[2.0], [3.0], [2.5]])
        Gc_b = mp_matrix([[2.2], [2.9], [2.4]])
        Bc = mp_matrix([[1.0], [-0.5], [2.0]])
        Qc = to_mp(nvec)
        G_ref = (Gc_a + Gc_b) / 2
        tau_c = mp.mpf("0.4")
        G0r, Ghr, Gtr = mp_orbit(Mc_a, Gc_a, Mc_b, Gc_b, Bc, tau_c, Q=Qc, G_ref=G_ref)
        drift_ref = Qc * (Qc.T * Bc)
        doc.check50(
            "(c) the 50-digit drifting orbit closes up to $\\tau P_Z B$",
            mp_max_abs(Gtr - G0r - tau_c * drift_ref),
            "1e-40",
        )
        orb = periodic_orbit(
            LinearTask(to_np(Mc_a), to_np(Gc_a).ravel()),
            LinearTask(to_np(Mc_b), to_np(Gc_b).ravel()),
            B=to_np(Bc).ravel(),
            tau=float(tau_c),
        )
        doc.compare(
            "(c) `Orbit.drift` equals $P_Z B$", rel(orb.drift, to_np(drift_ref).ravel()), "1e-12"
        )
        doc.compare(
            "(c) `periodic_orbit` $\\bar G_0$ and $G(\\tau/2)$ equal the drifting orbit",
            max(rel(orb.G0, to_np(G0r).ravel()), rel(orb.G_half, to_np(Ghr).ravel())),
            "1e-9",
        )
        D_perp = mp_norm(Ghr - G0r - (Qc * (Qc.T * (Ghr - G0r))))
        D_traj = mp_norm(Ghr - Gtr)
        doc.compare(
            "(c) `Orbit.span_periodic` is $D_\\perp$, the span of the periodic part",
            rel(orb.span_periodic, float(D_perp)),
            "1e-9",
        )
        doc.check50(
            "(c) on the trajectory, (4) gives $\\sqrt{D_\\perp^2 + (\\tau/2)^2\\|P_Z B\\|^2}$",
            abs(D_traj**2 - D_perp**2 - (tau_c / 2) ** 2 * mp_norm(drift_ref) ** 2),
            "1e-40",
        )
        doc.compare(
            "(c) `Orbit.span` is (4) on the trajectory, drift included",
            rel(orb.span, float(D_traj)),
            "1e-9",
        )
    return doc


if __name__ == "__main__":
    sys.exit(main(build, __file__))
