"""The contrastive function of the paper's 2+1 network in closed form; Hessian; the eta identity.

For the star network of Figs. 2 and 3 (nodes High, Low, Input, Output; learning edges Low-Output
and High-Output with K = S (G - V_T); fixed Input-Output conductance) this script derives
C = eta^2 K_tot delta^2, its Hessian at a solution (rank one per data point), the Coupled
Learning force and the identity Jacobian(F) = (1/eta) d2C/dG2 at a solution, which makes (D2)
exact at eta = 1. A general-network version of the identity is proved with abstract functions.
Compares with clln_theory.electrical.kirchhoff, rule, linearize and symbolic.

Run ``python derivations/d04_contrastive_2p1.py`` to re-run every check and rewrite
``d04_contrastive_2p1.md``.
"""

from __future__ import annotations

import sys

import mpmath as mp
import numpy as np
import sympy as sp
from _derivation import Document, main

SLUG = "d04_contrastive_2p1"


def build() -> Document:
    """Derive C, its gradient and Hessian for the 2+1 network and the 1/eta identity; compare."""
    doc = Document(
        SLUG, "The 2+1 network: contrastive function, Hessian, and Jacobian(F) = (1/η) ∂²C"
    )
    doc.text(
        r"""
        The network of Figs. 2–3: every edge ends at the Output node $O$.
        Learning edges Low–Output ($K_- = S(G_- - V_T)$, node voltage $V_-$) and High–Output
        ($K_+ = S(G_+ - V_T)$, $V_+$); a fixed edge Input–Output of conductance $K_0$ (500 Ω)
        from the input $V_I$. Gate order $G = (G_-, G_+)$. Edge drops are
        $\Delta V_e = V_e - O$ (edges oriented towards Output). Power $P = \sum_e K_e \Delta V_e^2$.
        """
    )
    S, V_T, K0 = sp.symbols("S V_T K_0", positive=True)
    Vm, Vp, VI, L, O = sp.symbols("V_- V_+ V_I L O", real=True)
    eta = sp.Symbol("eta", positive=True)
    Gm, Gp = sp.symbols("G_- G_+", positive=True)
    G = [Gm, Gp]
    Km, Kp = S * (Gm - V_T), S * (Gp - V_T)
    Ktot = Km + Kp + K0
    Vs = [Vm, Vp]  # node voltage at the far end of each learning edge, gate order
    P = Km * (Vm - O) ** 2 + Kp * (Vp - O) ** 2 + K0 * (VI - O) ** 2

    # ---------------------------------------------------------------- states
    doc.section("1. Free and clamped states, and C in closed form")
    O_F = (Km * Vm + Kp * Vp + K0 * VI) / Ktot
    doc.eq_sym("O_F", O_F)
    doc.prove(
        "$O_F$ minimizes the power: $\\partial P/\\partial O = 0$ at $O = O_F$",
        sp.diff(P, O).subs(O, O_F),
        0,
        simplifier=sp.cancel,
    )
    doc.prove(
        "the power is a parabola in the output voltage: $P(O) = P(O_F) + K_{\\mathrm{tot}}(O - O_F)^2$, $K_{\\mathrm{tot}} = K_- + K_+ + K_0$",
        P,
        P.subs(O, O_F) + Ktot * (O - O_F) ** 2,
        simplifier=sp.cancel,
    )
    delta = L - O_F
    O_C = O_F + eta * delta  # (1)
    C = P.subs(O, O_C) - P.subs(O, O_F)  # (D3)
    C_closed = eta**2 * Ktot * delta**2
    doc.text(
        r"""
        With standard clamping (1), $O_C = O_F + \eta\delta$, $\delta = L - O_F$, and (D3) gives
        """
    )
    doc.eq(r"C(G) = P(O_C) - P(O_F) = \eta^2\,K_{\mathrm{tot}}(G)\,\big(L - O_F(G)\big)^2")
    doc.prove("$C = \\eta^2 K_{\\mathrm{tot}}\\,\\delta^2$", C, C_closed, simplifier=sp.cancel)
    grad_O = [sp.diff(O_F, g) for g in G]
    doc.prove(
        "$\\partial O_F/\\partial G_e = S\\,(V_e - O_F)/K_{\\mathrm{tot}}$ — the output moves towards the node whose edge is opened",
        sp.Matrix(grad_O),
        sp.Matrix([S * (v - O_F) / Ktot for v in Vs]),
        simplifier=sp.cancel,
    )

    # ---------------------------------------------------------------- force vs gradient
    doc.section("2. The Coupled Learning force and the gradient of C")
    doc.text(
        r"""
        The force is $F_e = S(\Delta V_{C,e}^2 - \Delta V_{F,e}^2)$. Because the clamped value
        $O_C = (1-\eta)O_F + \eta L$ depends on $G$ through $O_F$, $F$ is the partial gradient
        of $\tilde C(G; O_C) = P(G; O_C) - P_F(G)$ *at fixed* $O_C$, not the full gradient of
        $C(G)$. The two differ off a solution unless $\eta = 1$:
        """
    )
    F = sp.Matrix([S * ((v - O_C) ** 2 - (v - O_F) ** 2) for v in Vs])
    Oc_sym = sp.Symbol("O_C", real=True)
    C_tilde = P.subs(O, Oc_sym) - P.subs(O, O_F)
    doc.prove(
        "$F = \\partial \\tilde C/\\partial G$ at fixed $O_C$ (envelope theorem: $O_F$ is stationary)",
        sp.Matrix([sp.diff(C_tilde, g) for g in G]).subs(Oc_sym, O_C),
        F,
        simplifier=sp.cancel,
    )
    gradC = sp.Matrix([sp.diff(C_closed, g) for g in G])
    doc.prove(
        "$F - \\nabla C = -2\\eta(1 - \\eta)\\,\\delta\\,K_{\\mathrm{tot}}\\nabla O_F$: $F = \\nabla C$ everywhere iff $\\eta = 1$, and both vanish at $\\delta = 0$",
        F - gradC,
        -2 * eta * (1 - eta) * delta * Ktot * sp.Matrix(grad_O),
        simplifier=sp.cancel,
    )

    # ---------------------------------------------------------------- at a solution
    doc.section("3. At a solution: Hessian of rank one, and Jacobian(F) = (1/η) Hessian")
    doc.text(
        r"""
        $\delta = 0$ is linear in $G$ — the solution line
        $K_-(V_- - L) + K_+(V_+ - L) + K_0(V_I - L) = 0$. Parametrize it by $G_-$:
        """
    )
    Gp_line = sp.solve(sp.Eq(sp.numer(sp.together(delta)), 0), Gp)[0]
    doc.eq_sym("G_+^{\\mathrm{line}}(G_-)", Gp_line)
    doc.text(
        r"""
        Equivalently, $G$ lies on the solution line of label $L$ iff $L = O_F(G)$; the proofs
        below substitute $L = O_F(G)$ *after* differentiating (cheaper than substituting the
        parametrized line, and the same statement).
        """
    )
    on_line = {L: O_F}
    H = sp.hessian(C_closed, G)
    w = sp.Matrix([Vm - L, Vp - L])
    H_formula = 2 * eta**2 * S**2 / Ktot * w * w.T
    doc.prove(
        "on the line, $\\partial^2 C/\\partial G^2 = 2\\eta^2 K_{\\mathrm{tot}}\\nabla O_F\\nabla O_F^{\\mathsf T} = \\frac{2\\eta^2 S^2}{K_{\\mathrm{tot}}}\\,w w^{\\mathsf T}$, $w = (V_- - L,\\ V_+ - L)$",
        H.subs(on_line),
        H_formula.subs(on_line),
        simplifier=sp.cancel,
    )
    tangent = sp.Matrix([grad_O[1], -grad_O[0]])  # perpendicular to grad O_F: along the line
    doc.prove("rank one: $\\det = 0$", sp.Matrix([H_formula.det()]), sp.Matrix([0]))
    doc.prove(
        "its null direction is the solution line's tangent",
        (H_formula * tangent).subs(on_line),
        sp.zeros(2, 1),
        simplifier=sp.cancel,
    )
    J = F.jacobian(G)
    doc.prove(
        "**Jacobian(F) = (1/η) ∂²C/∂G²** on the solution line, for every η",
        J.subs(on_line),
        (H / eta).subs(on_line),
        simplifier=sp.cancel,
    )
    doc.text(
        r"""
        Hence the rate matrix of the dynamics $\dot G = -\gamma F + B$ linearized at a solution
        is $M = \gamma\,\partial F/\partial G = (\gamma/\eta)\,\partial^2 C/\partial G^2$:
        the paper's $M = \gamma\,\partial^2 C/\partial G^2$ (D2) holds exactly at $\eta = 1$ (the
        clamped output at the label). Its only nonzero eigenvalue is
        $\lambda = (\gamma/\eta)\,2\eta^2 S^2\|w\|^2/K_{\mathrm{tot}} = 2\gamma\eta S^2\|w\|^2/K_{\mathrm{tot}}$.
        A task of several points, cycled fast, uses the mean force: its $M$ is the mean of
        one rank-one term per point, of rank at most the number of points (rank 2 for the
        two-point task α of Fig. 3, whose $M_\alpha$ is invertible).
        """
    )

    # ---------------------------------------------------------------- general networks
    doc.section("4. The identity for any linear network with one output")
    doc.text(
        r"""
        Eliminating the interior nodes (a Schur complement) leaves, for any linear resistor
        network, $P(G; O) = P_F(G) + K_{\mathrm{eff}}(G)\,(O - O_F(G))^2$ with $K_{\mathrm{eff}}$
        the conductance the output sees; so $\tilde C(G;O_C) = K_{\mathrm{eff}}(O_C - O_F)^2$ and
        $F = \partial_G\tilde C$ at fixed $O_C$. With $K_{\mathrm{eff}}$ and $O_F$ *arbitrary*
        smooth functions of two gates:
        """
    )
    Kf = sp.Function("K_eff")(Gm, Gp)
    Of = sp.Function("O_F")(Gm, Gp)
    Ocs = sp.Symbol("O_C", real=True)
    Ct = Kf * (Ocs - Of) ** 2
    Fg = sp.Matrix([sp.diff(Ct, g) for g in G]).subs(Ocs, Of + eta * (L - Of))
    Cg = Kf * (eta * (L - Of)) ** 2
    Jg = Fg.jacobian(G)
    Hg = sp.hessian(Cg, G)
    # at a solution: O_F = L (delta = 0); substitute after differentiating
    Lsol = {L: Of}
    doc.prove(
        "general network, at $\\delta = 0$: $\\partial F/\\partial G = (1/\\eta)\\,\\partial^2 C/\\partial G^2 = 2\\eta K_{\\mathrm{eff}}\\nabla O_F\\nabla O_F^{\\mathsf T}$",
        (Jg - Hg / eta)
        .subs(Lsol)
        .col_join(
            (
                Jg
                - 2
                * eta
                * Kf
                * sp.Matrix([sp.diff(Of, g) for g in G])
                * sp.Matrix([[sp.diff(Of, g) for g in G]])
            ).subs(Lsol)
        ),
        sp.zeros(4, 2),
    )

    # ---------------------------------------------------------------- numbers and package
    doc.section("5. The paper's numbers at 50 digits, and the package")
    from clln_theory.electrical.kirchhoff import contrastive_function
    from clln_theory.electrical.rule import coupled_learning_force
    from clln_theory.electrical.symbolic import symbolic_contrastive_hessian
    from clln_theory.experiments import paper
    from clln_theory.model.network import star_network
    from clln_theory.model.tasks import DataPoint, Task
    from clln_theory.theory.jacobian import contrastive_hessian, force_jacobian

    net = star_network()
    subs_num = {
        S: sp.Float(paper.S, 50),
        V_T: sp.Float(paper.V_T, 50),
        K0: 1 / sp.Float(paper.R_FIXED, 50),
        Vm: sp.Float(paper.V_MINUS, 50),
        Vp: sp.Float(paper.V_PLUS, 50),
    }
    doc.text(
        r"""
        Task α of experiment 1 (Fig. 2B: $V_I = V_+$, $L = 0.31$ V) in the linear model, and a
        two-point task (Fig. 3 α). Off the line at $G = (3.0, 3.5)$ V with $\eta = 0.5$ (where
        $F \ne \nabla C$); on the line at $G_- = 3.0$ V with $\eta = 0.5$ and $1$. The closed forms
        are evaluated at 50 digits (sympy `Float`s of 50 digits) and compared with `kirchhoff`,
        `rule`, `linearize` and `symbolic`.
        """
    )

    def task_of(points):
        return Task(
            [
                DataPoint({"High": paper.V_PLUS, "Low": paper.V_MINUS, "Input": vi}, lab)
                for vi, lab in points
            ],
            "Output",
        )

    def num(expr, extra):
        return np.array(sp.Matrix(expr).subs({**subs_num, **extra}).evalf(50).tolist(), dtype=float)

    point = {VI: sp.Float(paper.V_PLUS, 50), L: sp.Float("0.31", 50)}
    task_a = task_of([(paper.V_PLUS, 0.31)])
    off = {Gm: sp.Float(3, 50), Gp: sp.Float("3.5", 50)}
    e_half = {eta: sp.Float("0.5", 50)}
    C_ref = float(C_closed.subs({**subs_num, **point, **off, **e_half}).evalf(50))
    doc.compare(
        "off the line, η = 0.5: `kirchhoff.contrastive_function` equals $\\eta^2 K_{\\mathrm{tot}}\\delta^2$",
        _rel(contrastive_function(net, [3.0, 3.5], task_a, eta=0.5), C_ref),
        "1e-12",
    )
    F_ref = num(F, {**point, **off, **e_half}).ravel()
    res = coupled_learning_force(net, [3.0, 3.5], task_a, eta=0.5)
    doc.compare(
        "off the line, η = 0.5: `rule.coupled_learning_force(...).F` equals $S(\\Delta V_C^2 - \\Delta V_F^2)$",
        _rel(res.F, F_ref),
        "1e-12",
    )
    gC = num(gradC, {**point, **off, **e_half}).ravel()
    doc.check50(
        "off the line, η = 0.5, the force and $\\nabla C$ really differ (relative difference > 0.1): the $1/\\eta$ subtlety is not a rounding matter",
        mp.mpf(1) / (mp.mpf(float(np.max(np.abs(F_ref - gC)) / np.max(np.abs(F_ref))))),
        "10",
    )
    for e_val in ("0.5", "1"):
        ev = {eta: sp.Float(e_val, 50)}
        g_line = {Gm: sp.Float(3, 50), Gp: Gp_line.subs({**subs_num, **point, Gm: sp.Float(3, 50)})}
        G_np = [3.0, float(g_line[Gp])]
        H_ref = num(H, {**point, **g_line, **ev})
        J_ref = num(J, {**point, **g_line, **ev})
        doc.compare(
            f"on the line, η = {e_val}: `linearize.contrastive_hessian` equals $\\frac{{2\\eta^2S^2}}{{K_{{tot}}}}ww^{{\\mathsf T}}$",
            _rel(contrastive_hessian(net, G_np, task_a, eta=float(e_val)), H_ref),
            "1e-9",
        )
        doc.compare(
            f"on the line, η = {e_val}: `symbolic.symbolic_contrastive_hessian` equals it too",
            _rel(symbolic_contrastive_hessian(net, G_np, task_a, eta=float(e_val)), H_ref),
            "1e-9",
        )
        doc.compare(
            f"on the line, η = {e_val}: `linearize.force_jacobian(...).J` equals $(1/\\eta)\\,\\partial^2C/\\partial G^2$",
            _rel(force_jacobian(net, G_np, task_a, eta=float(e_val)).J, J_ref),
            "1e-9",
        )
    # two points: the mean of two rank-one terms at the joint solution (Fig. 3 alpha, linear model)
    pts = ((paper.V_MINUS, 0.143), (paper.V_PLUS, 0.268))
    lines = [
        sp.numer(sp.together(delta.subs({**subs_num, VI: sp.Float(vi, 50), L: sp.Float(lab, 50)})))
        for vi, lab in pts
    ]
    sol = sp.solve(lines, [Gm, Gp], dict=True)[0]
    G2 = [float(sol[Gm]), float(sol[Gp])]
    H2 = (
        sum(
            (
                num(H, {VI: sp.Float(vi, 50), L: sp.Float(lab, 50), **sol, eta: 1})
                for vi, lab in pts
            ),
            np.zeros((2, 2)),
        )
        / 2
    )
    task2 = task_of(pts)
    doc.compare(
        f"two-point task at its joint solution $G$ = ({G2[0]:.4f}, {G2[1]:.4f}) V: `contrastive_hessian` is the mean of the two rank-one terms",
        _rel(contrastive_hessian(net, G2, task2, eta=1.0), H2),
        "1e-9",
    )
    with mp.workdps(50):
        H2mp = mp.matrix(sp.Matrix(H2).tolist())
        ev = mp.eigsy(H2mp)[0]
        doc.check50(
            "… and that mean has rank 2 (smallest eigenvalue / largest > 1e-3)",
            mp.mpf(1) / (min(ev) / max(ev)),
            "1e3",
        )
    return doc


def _rel(got, ref) -> float:
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))


if __name__ == "__main__":
    sys.exit(main(build, __file__))
