"""Small-tau and large-tau asymptotics of the cycle span D and of the orbit's centre; crossover.

From the closed orbit (D11): as tau -> 0 the orbit shrinks onto the fixed point of the averaged
dynamics (a bias-shifted joint solution) with D ~ (tau/2) |v|; as tau -> infinity the half-period
maps become projections and the orbit is affine in tau up to exponentially small terms,
D ~ |(tau/2) a + w|. Both hold for compatible and incompatible tasks. The crossover period is
where the large-tau line leaves its plateau. Checked at 50 digits and against
``clln_theory.theory.orbits.periodic_orbit``.

Run ``python derivations/d03_asymptotics.py`` to re-run every check and rewrite
``d03_asymptotics.md``.
"""

from __future__ import annotations

import sys

import mpmath as mp
import numpy as np
import sympy as sp
from _derivation import Document, main, mp_matrix, mp_norm
from d02_closed_orbit import mp_orbit

SLUG = "d03_asymptotics"


def mp_inv_psd_parts(M: mp.matrix):
    """``M^+`` and the nullspace projector ``N`` of a symmetric PSD matrix, at 50 digits."""
    lam, U = mp.eigsy(M)
    n = M.rows
    scale = max(abs(x) for x in lam)
    tol = scale * mp.mpf(10) ** (-mp.mp.dps + 5)
    Mp = mp.zeros(n, n)
    N = mp.zeros(n, n)
    for k in range(n):
        u = U[:, k]
        if abs(lam[k]) > tol:
            Mp += (u * u.T) / lam[k]
        else:
            N += u * u.T
    return Mp, N


def mp_small_tau(Ma, Ga, Mb, Gb, B):
    """Centre ``c0`` and velocity ``v`` of the small-tau orbit: D ~ h |v|."""
    S = Ma + Mb
    fa, fb = Ma * Ga + B, Mb * Gb + B
    c0 = mp.lu_solve(S, fa + fb)
    return c0, fa - Ma * c0


def mp_large_tau(Ma, Ga, Mb, Gb, B):
    """``a, w`` with ``G(tau/2) - G0 = h a + w`` up to O(exp(-h lambda_min)), and centre parts."""
    n = Ma.rows
    I = mp.eye(n)
    Pa, Na = mp_inv_psd_parts(Ma)
    Pb, Nb = mp_inv_psd_parts(Mb)
    qa = (I - Na) * Ga + Pa * B
    qb = (I - Nb) * Gb + Pb * B
    K = I - Nb * Na
    u1 = mp.lu_solve(K, (Nb * Na + Nb) * B)
    u0 = mp.lu_solve(K, Nb * qa + qb)
    a = (Na - I) * u1 + Na * B
    w = (Na - I) * u0 + qa
    centre1 = (u1 + Na * u1 + Na * B) / 2  # slope of (G0 + G_half)/2 in h
    centre0 = (u0 + Na * u0 + qa) / 2
    return a, w, centre1, centre0


def build() -> Document:
    """Derive the small- and large-tau asymptotics of D and of the centre; check; compare."""
    doc = Document(SLUG, "Asymptotics of the cycle span and of the orbit's centre; the crossover")
    doc.text(
        r"""
        Notation: $h = \tau/2$; task $\mu \in \{\alpha, \beta\}$ has rate matrix $M_\mu$,
        linearization point $G^*_\mu$ and velocity field $v_\mu(G) = -M_\mu(G - G^*_\mu) + B$;
        $f_\mu = M_\mu G^*_\mu + B$; $S = M_\alpha + M_\beta$, assumed invertible (no common
        null direction, so a closed orbit exists: `d02_closed_orbit.md`). *Compatible* tasks
        share the linearization point, $G^*_\alpha = G^*_\beta = G^*$. The span is
        $D = \|G(\tau/2) - \bar G_0\|$ and the centre is the midpoint
        $m = (\bar G_0 + G(\tau/2))/2$ of the two states at which (A4) measures the error.
        """
    )

    # ---------------------------------------------------------------- small tau
    doc.section("1. Small τ: a bias-shifted fixed point and D ∝ τ")
    doc.text(
        r"""
        With $A_\mu = I - hM_\mu + O(h^2)$ and $b_\mu = h f_\mu + O(h^2)$ (the φ₁ form of
        `d01_evolution.md`), (D10) reads $h\,[S\bar G_0 - f_\alpha - f_\beta] = O(h^2)$. Hence the
        orbit collapses onto the fixed point of the *averaged* dynamics
        $\dot G = \tfrac12(v_\alpha + v_\beta)$,
        """
    )
    doc.eq(
        r"c_0 = \lim_{\tau\to 0} \bar G_0 = S^{-1}(M_\alpha G^*_\alpha + M_\beta G^*_\beta + 2B)"
    )
    doc.text(
        r"""
        and each half period moves it by $h\,v_\alpha(c_0) + O(h^2)$, so
        $D = \tfrac{\tau}{2}\,\|v_\alpha(c_0)\| + O(\tau^2)$, with $v_\beta(c_0) = -v_\alpha(c_0)$.
        The bias shift of the centre is $2S^{-1}B$ (exactly linear in $B$). Writing
        $v_\alpha(c_0)$ out:
        """
    )
    doc.eq(
        r"D \simeq \frac{\tau}{2}\,\big\| M_\alpha S^{-1} M_\beta\,(G^*_\alpha - G^*_\beta) + (M_\beta - M_\alpha) S^{-1} B \big\|"
    )
    doc.text(
        r"""
        For compatible tasks only the bias term survives,
        $D \simeq \tfrac{\tau}{2}\|(M_\alpha - M_\beta)(M_\alpha + M_\beta)^{-1}B\|$: without
        bias a compatible pair has no cycle at all. The first term is the bias-free span of
        incompatible tasks; $M_\alpha S^{-1}M_\beta$ (the "parallel sum") is symmetric.
        Proof of the rewriting, for general symmetric 2 × 2 matrices:
        """
    )
    a1, a2, a3, b1, b2, b3 = sp.symbols("a_1 a_2 a_3 b_1 b_2 b_3", real=True)
    Ms_a = sp.Matrix([[a1, a2], [a2, a3]])
    Ms_b = sp.Matrix([[b1, b2], [b2, b3]])
    Ga_s = sp.Matrix(sp.symbols("g_1 g_2", real=True))
    Gb_s = sp.Matrix(sp.symbols("k_1 k_2", real=True))
    B_s = sp.Matrix(sp.symbols("B_1 B_2", real=True))
    S_inv = (Ms_a + Ms_b).inv()
    c0_s = S_inv * (Ms_a * Ga_s + Ms_b * Gb_s + 2 * B_s)
    va = -Ms_a * (c0_s - Ga_s) + B_s
    vb = -Ms_b * (c0_s - Gb_s) + B_s
    doc.prove("$v_\\alpha(c_0) + v_\\beta(c_0) = 0$", va + vb, sp.zeros(2, 1), simplifier=sp.cancel)
    doc.prove(
        "$v_\\alpha(c_0) = M_\\alpha S^{-1}M_\\beta(G^*_\\alpha - G^*_\\beta) + (M_\\beta - M_\\alpha)S^{-1}B$",
        va,
        Ms_a * S_inv * Ms_b * (Ga_s - Gb_s) + (Ms_b - Ms_a) * S_inv * B_s,
        simplifier=sp.cancel,
    )
    doc.prove(
        "$M_\\alpha S^{-1} M_\\beta = M_\\beta S^{-1} M_\\alpha$ (parallel sum is symmetric)",
        Ms_a * S_inv * Ms_b,
        Ms_b * S_inv * Ms_a,
        simplifier=sp.cancel,
    )
    # ---------------------------------------------------------------- large tau
    doc.section("2. Large τ: projections, an affine orbit, and drift along solution lines")
    doc.text(
        r"""
        As $h\lambda_{\min} \to \infty$ ($\lambda_{\min}$ the smallest nonzero rate of either
        task) $A_\mu \to N_\mu$ and $b_\mu \to q_\mu + hN_\mu B$ with
        $q_\mu = (I - N_\mu)G^*_\mu + M_\mu^\dagger B$, all up to $O(e^{-h\lambda_{\min}})$: each
        half period relaxes completely onto task μ's (bias-shifted) solution set and then drifts
        along it at $N_\mu B$. (D10) becomes *affine in h*: with $K = I - N_\beta N_\alpha$
        (invertible iff the nullspaces meet only in 0, by the lemma of `d02_closed_orbit.md`
        applied to projections),
        """
    )
    doc.eq(
        r"\bar G_0 \simeq u_0 + h u_1,\quad u_1 = K^{-1}(N_\beta N_\alpha + N_\beta)B,\quad u_0 = K^{-1}(N_\beta q_\alpha + q_\beta)"
    )
    doc.eq(
        r"G(\tau/2) - \bar G_0 \simeq h\,a + w,\quad a = (N_\alpha - I)u_1 + N_\alpha B,\quad w = (N_\alpha - I)u_0 + q_\alpha"
    )
    doc.text(
        r"""
        so $D \simeq \|h a + w\|$: linear in τ with slope $\|a\|/2$, on top of an offset
        $\|w\|$. For the paper's Fig. 3 (task α of two points, $M_\alpha$ invertible, so
        $N_\alpha = 0$) this gives $a = -N_\beta B$: the large-τ span is the drift along β's
        solution line, $D \simeq \tfrac{\tau}{2}\|N_\beta B\|$, and $\|w\|$ is the distance
        from α's bias-shifted solution $G^*_\alpha + M_\alpha^{-1}B$ to β's bias-shifted
        solution line — the plateau of the bias-free curve. The centre moves as
        $m \simeq m_0 + h\,m_1$ with $m_1 = \tfrac12[(I + N_\alpha)u_1 + N_\alpha B]$: it drifts
        away from the joint solution linearly in τ, which is why the combined error $\bar E$
        leaves its low plateau.

        **Crossover.** The large-τ law $D \simeq \|ha + w\|$ is a plateau $\|w\|$ for
        $h\|a\| \ll \|w\|$ and a line $h\|a\|$ beyond; the crossover period is
        $\tau_\times = 2\|w\|/\|a\|$. For incompatible tasks with weak bias this is the end of the
        bias-free plateau (Fig. 3B); the small-τ line $\tfrac{\tau}{2}\|v_\alpha(c_0)\|$ meets the
        plateau at $\tau_1 = 2\|w\|/\|v_\alpha(c_0)\|$. For compatible tasks
        ($G^*_\alpha = G^*_\beta$) both $a$ and $w$ are linear in $B$ (and $v_\alpha(c_0)$
        too), so $D/\|B\|$ and $\tau_\times$ are independent of the bias magnitude: the
        crossover is set by the rates alone.
        """
    )
    doc.text(
        r"""
        Exact check for two rank-one tasks in two gates ($M_\alpha = \mathrm{diag}(1, 0)$,
        $M_\beta = 2uu^{\mathsf T}$ with $u = (3, 4)/5$, compatible at $G^* = 0$, symbolic bias).
        The exact orbit (D11) is a rational function of $h$, $x_1 = e^{-h}$ and $x_2 = e^{-2h}$;
        setting $x_1 = x_2 = 0$ (the terms dropped are $O(h\,e^{-h})$) must leave exactly
        $u_0 + h u_1$.
        """
    )
    hp = sp.Symbol("h", positive=True)
    x1, x2 = sp.symbols("x_1 x_2", nonnegative=True)
    u = sp.Matrix([3, 4]) / 5
    A1 = sp.eye(2) - (1 - x1) * sp.diag(1, 0)
    A2 = sp.eye(2) - (1 - x2) * u * u.T
    b1v = (sp.eye(2) - A1) * sp.diag(1, 0) * B_s + hp * sp.diag(0, 1) * B_s
    b2v = (sp.eye(2) - A2) * (u * u.T / 2) * B_s + hp * (sp.eye(2) - u * u.T) * B_s
    G0_exact = (sp.eye(2) - A2 * A1).LUsolve(A2 * b1v + b2v)
    Na_s = sp.diag(0, 1)
    Nb_s = sp.eye(2) - u * u.T
    K = sp.eye(2) - Nb_s * Na_s
    doc.prove(
        "for two rank-one tasks in two gates $\\det K = \\sin^2\\theta$ (here $\\sin\\theta = 4/5$ between $u_\\alpha = (1,0)$ and $u$)",
        sp.Matrix([K.det()]),
        sp.Matrix([sp.Rational(16, 25)]),
    )
    qa = sp.diag(1, 0) * B_s
    qb = (u * u.T / 2) * B_s
    u1 = K.inv() * (Nb_s * Na_s + Nb_s) * B_s
    u0 = K.inv() * (Nb_s * qa + qb)
    doc.prove(
        "the exact orbit with $e^{-h\\lambda} \\to 0$ is $\\bar G_0 = u_0 + h u_1$",
        G0_exact.subs({x1: 0, x2: 0}),
        u0 + hp * u1,
        simplifier=sp.cancel,
    )
    doc.prove(
        "… and $G(\\tau/2) - \\bar G_0 = ha + w$",
        (A1 * G0_exact + b1v - G0_exact).subs({x1: 0, x2: 0}),
        hp * ((Na_s - sp.eye(2)) * u1 + Na_s * B_s) + (Na_s - sp.eye(2)) * u0 + qa,
        simplifier=sp.cancel,
    )

    doc.section("3. An exact result: when the two ranges meet only in 0, D ∝ τ for every τ")
    doc.text(
        r"""
        Projecting the half-period maps on the nullspaces gives two *exact* relations, for any
        start and any $\tau$: $N_\mu(I - A_\mu) = 0$ and $N_\mu b_\mu = hN_\mu B$ (from (D9)), so
        task α moves the gates along its null directions by exactly $hN_\alpha B$ and task β by
        $hN_\beta B$. On the closed orbit, $d = G(\tau/2) - \bar G_0$ therefore satisfies
        """
    )
    doc.eq(r"N_\alpha d = h N_\alpha B, \qquad N_\beta d = -h N_\beta B")
    doc.text(
        r"""
        These determine $d$ uniquely when $\mathrm{range}(M_\alpha) \cap \mathrm{range}(M_\beta)
        = \{0\}$ (the only $d$ with $N_\alpha d = N_\beta d = 0$ lies in both ranges). Then
        $d = h\hat d$ with $\hat d$ independent of $\tau$, of the rates and of $G^*_\alpha$,
        $G^*_\beta$: **the span is exactly linear,** $D = \tfrac{\tau}{2}\|\hat d\|$, for all
        $\tau$. This is the case of the paper's Fig. 2 — two single-point tasks in two gates,
        two distinct rank-one $M_\mu$ — and explains why $D \propto \tau$ there over all decades
        until the gates hit their limits. The large-τ offset $w$ vanishes, so there is no
        plateau and no crossover ($\tau_\times = 0$); small- and large-τ slopes coincide. With a
        two-point task (Fig. 3, $M_\alpha$ invertible) the ranges meet and the exactness is lost.
        Exact check for rank-one tasks in two gates with *symbolic* rates and symbolic
        $x_\mu = e^{-h\lambda_\mu}$, independent solution points, symbolic bias:
        """
    )
    la_, lb_ = sp.symbols("lambda_alpha lambda_beta", positive=True)
    ga = sp.Matrix(sp.symbols("g_1 g_2", real=True))
    gb = sp.Matrix(sp.symbols("k_1 k_2", real=True))

    def rank_one(lam, x, uu, Gst):
        P = uu * uu.T
        A = sp.eye(2) - (1 - x) * P
        return A, (sp.eye(2) - A) * (Gst + P * B_s / lam) + hp * (sp.eye(2) - P) * B_s

    Aa_, ba_ = rank_one(la_, x1, sp.Matrix([1, 0]), ga)
    Ab_, bb_ = rank_one(lb_, x2, u, gb)
    G0x = (sp.eye(2) - Ab_ * Aa_).LUsolve(Ab_ * ba_ + bb_)
    d_exact = Aa_ * G0x + ba_ - G0x
    Nmat = sp.Matrix([[0, 1], [-4, 3]]) / 5  # rows: null directions of M_alpha and M_beta
    d_hat = Nmat.LUsolve(sp.Matrix([Nmat[0, :] * B_s, -Nmat[1, :] * B_s]))
    doc.prove(
        "$G(\\tau/2) - \\bar G_0 = h\\hat d$ exactly, for all $h$, rates and solution points",
        d_exact,
        hp * d_hat,
        simplifier=sp.cancel,
    )

    # ---------------------------------------------------------------- 50 digits + package
    doc.section("4. 50-digit checks on the paper's two settings, and the package")
    doc.text(
        r"""
        (i) *Compatible*: two rank-one tasks through a common $G^*$ (Fig. 2: rates 40 and
        25 s⁻¹, directions at 0.3 and 1.9 rad, $B = (2.97, 4.41)$ V/s of Appendix E);
        (ii) *incompatible*: a rank-two task α and a rank-one task β with different solution
        points (Fig. 3). For each: the exact orbit at 50 digits (`d02_closed_orbit.md`) at
        $h\lambda \sim 10^{-15}$, where the relative error of the small-τ law must be
        $O(h\lambda)$, and at $h\lambda_{\min} = 400$, where the large-τ law is exact to
        $e^{-400}$. Then `periodic_orbit` at the same periods.
        """
    )
    from clln_theory.theory.asymptotics import crossover_tau, large_tau, small_tau
    from clln_theory.theory.linear import LinearTask
    from clln_theory.theory.orbits import periodic_orbit

    def _rel(got, ref):
        ref = np.array(ref.tolist(), dtype=float).ravel()
        return float(np.max(np.abs(np.asarray(got) - ref)) / np.max(np.abs(ref)))

    def to_np(A):
        return np.array(A.tolist(), dtype=float)

    with mp.workdps(50):

        def unit(angle):
            return mp_matrix([[mp.cos(angle)], [mp.sin(angle)]])

        ua, ub = unit(mp.mpf("0.3")), unit(mp.mpf("1.9"))
        B2 = mp_matrix([[2.97], [4.41]])
        G_c = mp_matrix([[3.0], [3.5]])
        cases = {
            "compatible": (mp.mpf(40) * ua * ua.T, G_c, mp.mpf(25) * ub * ub.T, G_c, mp.mpf(25)),
            "incompatible": (
                mp.mpf(60) * ua * ua.T + mp.mpf(15) * unit(mp.mpf("1.87")) * unit(mp.mpf("1.87")).T,
                mp_matrix([[2.5], [2.5]]),
                mp.mpf(30) * ub * ub.T,
                mp_matrix([[2.6], [2.3]]),
                mp.mpf(15),
            ),
        }
        for name, (Ma, Ga, Mb, Gb, lam_min) in cases.items():
            c0, v = mp_small_tau(Ma, Ga, Mb, Gb, B2)
            a, w, m1, m0 = mp_large_tau(Ma, Ga, Mb, Gb, B2)
            tau_s = 2 * mp.mpf("1e-15") / lam_min
            G0, Gh, _ = mp_orbit(Ma, Ga, Mb, Gb, B2, tau_s)
            rel_D = abs(mp_norm(Gh - G0) / (tau_s / 2 * mp_norm(v)) - 1)
            rel_c = mp_norm((G0 + Gh) / 2 - c0) / mp_norm(c0)
            doc.check50(
                f"{name}, small τ: $D / (\\tfrac{{\\tau}}{{2}}\\|v_\\alpha(c_0)\\|) - 1$ and the centre's distance to $c_0$ are $O(h\\lambda)$",
                max(rel_D, rel_c),
                "1e-13",
            )
            tau_l = 2 * mp.mpf(400) / lam_min
            h = tau_l / 2
            G0, Gh, _ = mp_orbit(Ma, Ga, Mb, Gb, B2, tau_l)
            resid = max(mp_norm(Gh - G0 - (h * a + w)), mp_norm((G0 + Gh) / 2 - (m0 + h * m1)))
            doc.check50(
                f"{name}, large τ: $G(\\tau/2) - \\bar G_0 = ha + w$ and $m = m_0 + h m_1$ up to $e^{{-h\\lambda_{{\\min}}}}$",
                resid,
                "1e-40",
            )
            ta = LinearTask(to_np(Ma), to_np(Ga).ravel())
            tb = LinearTask(to_np(Mb), to_np(Gb).ravel())
            Bn = to_np(B2).ravel()
            tau_small = float(2e-7 / lam_min)
            orb = periodic_orbit(ta, tb, B=Bn, tau=tau_small)
            D_small = tau_small / 2 * float(mp_norm(v))
            doc.compare(
                f"{name}: `periodic_orbit(...).span` at $h\\lambda = 10^{{-7}}$ follows the small-τ law",
                abs(orb.span / D_small - 1),
                "1e-6",
            )
            doc.compare(
                f"{name}: `periodic_orbit(...).G0` at $h\\lambda = 10^{{-7}}$ is at the bias-shifted centre $c_0$",
                float(np.linalg.norm(orb.G0 - to_np(c0).ravel()) / float(mp_norm(c0))),
                "1e-6",
            )
            orb = periodic_orbit(ta, tb, B=Bn, tau=float(tau_l))
            D_large = float(mp_norm(h * a + w))
            doc.compare(
                f"{name}: `periodic_orbit(...).span` at $h\\lambda_{{\\min}} = 400$ equals $\\|ha + w\\|$",
                abs(orb.span / D_large - 1),
                "1e-10",
            )
            # the engine's documented O(tau^2) relative error of the small-tau law
            tau_m = 2 * mp.mpf("1e-5") / lam_min
            G0, Gh, _ = mp_orbit(Ma, Ga, Mb, Gb, B2, tau_m)
            rel_D = abs(mp_norm(Gh - G0) / (tau_m / 2 * mp_norm(v)) - 1)
            rel_c = mp_norm((G0 + Gh) / 2 - c0) / mp_norm(c0)
            doc.check50(
                f"{name}: at $h\\lambda_{{\\min}} = 10^{{-5}}$ the small-τ laws for $D$ and for the centre are off by $O((h\\lambda)^2)$, not $O(h\\lambda)$ (the $O(h)$ terms cancel by the α/β symmetry)",
                max(rel_D, rel_c),
                "1e-8",
            )
            # the package's asymptotics module
            st = small_tau(ta, tb, B=Bn)
            doc.compare(
                f"{name}: `asymptotics.small_tau` span slope, centre and bias shift equal $\\|v_\\alpha(c_0)\\|/2$, $c_0$, $2S^{{-1}}B$",
                max(
                    abs(st.span_slope / float(mp_norm(v) / 2) - 1),
                    _rel(st.centre, c0),
                    _rel(st.bias_shift, 2 * mp.lu_solve(Ma + Mb, B2)),
                ),
                "1e-10",
            )
            lt = large_tau(ta, tb, B=Bn)
            scale = float(mp_norm(w) + mp_norm(a))
            doc.compare(
                f"{name}: `asymptotics.large_tau` offset `d0` and slope `d1` equal $w$ and $a$ (relative to $\\|w\\| + \\|a\\|$)",
                max(
                    float(np.max(np.abs(lt.d0 - to_np(w).ravel()))),
                    float(np.max(np.abs(lt.d1 - to_np(a).ravel()))),
                )
                / scale,
                "1e-10",
            )
            cr = crossover_tau(ta, tb, B=Bn)
            if name == "compatible":
                doc.check50(
                    "compatible rank-one pair: the large-τ offset $w$ vanishes (no plateau)",
                    mp_norm(w),
                    "1e-40",
                )
                doc.check50(
                    "compatible rank-one pair: small- and large-τ slopes are equal",
                    abs(mp_norm(v) - mp_norm(a)),
                    "1e-40",
                )
                taus = np.array([1e-4, 1e-2, 0.1, 1.0, 10.0])
                orb = periodic_orbit(ta, tb, B=Bn, tau=taus)
                doc.compare(
                    "compatible rank-one pair: `periodic_orbit` span is exactly $\\tfrac{\\tau}{2}\\|\\hat d\\|$ at τ = 1e-4 … 10 s (through the crossover region $\\tau \\sim 2/\\lambda$)",
                    float(np.max(np.abs(orb.span / (taus / 2 * float(mp_norm(v))) - 1))),
                    "1e-10",
                )
                doc.text(
                    f"""
                    compatible: both slopes {mp.nstr(mp_norm(v) / 2, 6)} V/s, no plateau ($w = 0$), so
                    $\\tau_\\times = 0$. (The package's `crossover_tau(...).tau_drift` and
                    `large_tau(...).plateau` return the round-off of this exact 0, below 1e-12 s and V.)
                    """
                )
                doc.compare(
                    "compatible: the package's `tau_drift` is 0 up to round-off (s)",
                    abs(cr.tau_drift),
                    "1e-12",
                )
            else:
                tau_x = 2 * mp_norm(w) / mp_norm(a)
                # knee: (|v|/2) tau = |w + (tau/2) a|, positive root of a quadratic in tau
                qa_ = (mp_norm(v) / 2) ** 2 - mp_norm(a) ** 2 / 4
                qb_ = -(w.T * a)[0]
                qc_ = -(mp_norm(w) ** 2)
                knee = (-qb_ + mp.sqrt(qb_**2 - 4 * qa_ * qc_)) / (2 * qa_)
                doc.compare(
                    "incompatible: `crossover_tau` `tau_drift` $= 2\\|w\\|/\\|a\\| = \\tau_\\times$ and `tau_knee` (small-τ line meets $\\|w + ha\\|$)",
                    max(abs(cr.tau_drift / float(tau_x) - 1), abs(cr.tau_knee / float(knee) - 1)),
                    "1e-10",
                )
                doc.text(
                    f"""
                    incompatible: small-τ slope {mp.nstr(mp_norm(v) / 2, 6)} V/s, large-τ slope
                    {mp.nstr(mp_norm(a) / 2, 6)} V/s, offset $\\|w\\|$ = {mp.nstr(mp_norm(w), 6)} V;
                    $\\tau_\\times$ = {mp.nstr(tau_x, 6)} s, knee {mp.nstr(knee, 6)} s
                    ($\\lambda_{{\\min}}$ = {mp.nstr(lam_min, 3)} s⁻¹).
                    """
                )
                _, Nb = mp_inv_psd_parts(Mb)
                doc.check50(
                    "incompatible with $M_\\alpha$ invertible: $a = -N_\\beta B$",
                    mp_norm(a + Nb * B2),
                    "1e-40",
                )
    return doc


if __name__ == "__main__":
    sys.exit(main(build, __file__))
