"""(D4) => (D5): the solution of the linearized learning dynamics, and the phi_1 form.

The linearized dynamics (D2) of the paper, dG/dt = -M (G - G*) + B with M symmetric positive
semi-definite, has the solution (D4). This script proves that (D4) equals the split form (D5)
into a pseudoinverse part and a nullspace drift, proves that (D5) solves (D2), derives the
phi_1 form ``b = h phi_1(-h M) (M G* + B)`` that the engine evaluates, and compares with
``clln_theory.theory.linear``.

Run ``python derivations/d01_evolution.py`` to re-run every check and rewrite
``d01_evolution.md``.
"""

from __future__ import annotations

import sys

import mpmath as mp
import sympy as sp
from _derivation import Document, main, mp_matrix, mp_max_abs, rng

SLUG = "d01_evolution"


# ------------------------------------------------------------------------------------------
# 50-digit reference implementations (independent of the package)
# ------------------------------------------------------------------------------------------
def random_psd(n: int, rank: int, seed: int) -> tuple[mp.matrix, mp.matrix, list]:
    """A random symmetric PSD ``M`` of given rank, an orthonormal basis ``U``, the eigenvalues.

    ``U`` comes from a 50-digit QR of a random matrix; ``M = U diag(lam) U^T`` with ``rank``
    eigenvalues drawn in [0.5, 3] and the rest exactly zero.
    """
    r = rng(seed)
    X = mp_matrix([[r.uniform(-1, 1) for _ in range(n)] for _ in range(n)])
    U, _ = mp.qr(X)
    lam = [mp.mpf(r.uniform(0.5, 3.0)) for _ in range(rank)] + [mp.mpf(0)] * (n - rank)
    M = U * mp.diag(lam) * U.T
    return M, U, lam


def spectral(U: mp.matrix, lam: list, f) -> mp.matrix:
    """``f(M) = U diag(f(lam)) U^T`` for the spectral data of `random_psd`."""
    return U * mp.diag([f(x) for x in lam]) * U.T


def reference_D5(U, lam, G0, G_star, B, t):
    """(D5) at 50 digits from the eigendecomposition."""
    E = spectral(U, lam, lambda x: mp.exp(-x * t))
    M_pinv = spectral(U, lam, lambda x: 1 / x if x != 0 else mp.mpf(0))
    N = spectral(U, lam, lambda x: mp.mpf(1) if x == 0 else mp.mpf(0))
    one = mp.eye(len(lam))
    return E * G0 + (one - E) * (G_star + M_pinv * B) + t * (N * B)


# ------------------------------------------------------------------------------------------
def build() -> Document:
    """Derive (D5) from (D4), prove it solves (D2), derive the phi_1 form; compare."""
    doc = Document(SLUG, "(D4) ⇒ (D5): solution of the linearized dynamics, and the φ₁ form")
    doc.text(
        r"""
        The paper linearizes the biased learning dynamics at a solution $G^*$ (D2):
        $\dot G = -M(G - G^*) + B$ with $M = \gamma\,\partial^2 C/\partial G^2$ symmetric positive
        semi-definite. Variation of constants gives (D4). This document shows, step by step, that
        (D4) equals the split form (D5), that (D5) solves (D2) exactly, and that over a half
        period $h = \tau/2$ the flow is the affine map $G \mapsto A G + b$ with
        $b = h\,\varphi_1(-hM)(MG^* + B)$, which is how `clln_theory.theory.linear` evaluates it.
        """
    )
    doc.eq(
        r"G(t, G_0) = e^{-Mt} G_0 + \Big[\int_0^t e^{-Ms}\,ds\Big](M G^* + B)",
        "D4",
    )
    doc.eq(
        r"G(t, G_0) = e^{-Mt} G_0 + (1 - e^{-Mt})(G^* + M^{\dagger} B) + t\,N B",
        "D5",
    )

    # ---------------------------------------------------------------- 1. scalar lemma
    s, g, b, g0 = sp.symbols("s g b g_0", real=True)
    lp = sp.Symbol("lambda", positive=True)
    tp = sp.Symbol("t", nonnegative=True)
    doc.section("1. One eigenvalue at a time")
    doc.text(
        r"""
        Write $M = \sum_i \lambda_i u_i u_i^{\mathsf T}$ with orthonormal $u_i$ and
        $\lambda_i \ge 0$. Every matrix in (D4) and (D5) is a function of $M$ —
        $e^{-Mt} = \sum_i e^{-\lambda_i t} u_i u_i^{\mathsf T}$, the pseudoinverse
        $M^\dagger = \sum_{\lambda_i > 0} \lambda_i^{-1} u_i u_i^{\mathsf T}$ and the nullspace
        projector $N = \sum_{\lambda_i = 0} u_i u_i^{\mathsf T}$ — so both sides act on each
        eigen-direction separately. With $g = u_i^{\mathsf T} G^*$, $b = u_i^{\mathsf T} B$ and
        $g_0 = u_i^{\mathsf T} G_0$, the identity (D4) = (D5) is two scalar identities, one for
        a positive eigenvalue ($M^\dagger \to 1/\lambda$, $N \to 0$) and one for a zero
        eigenvalue ($M^\dagger \to 0$, $N \to 1$).
        """
    )
    integral_pos = sp.integrate(sp.exp(-lp * s), (s, 0, tp))
    doc.eq_sym(r"\int_0^t e^{-\lambda s}\,ds", integral_pos)
    d4_pos = sp.exp(-lp * tp) * g0 + integral_pos * (lp * g + b)
    d5_pos = sp.exp(-lp * tp) * g0 + (1 - sp.exp(-lp * tp)) * (g + b / lp)
    doc.prove("λ > 0: (D4) and (D5) agree on a positive-curvature direction", d4_pos, d5_pos)
    d4_zero = g0 + sp.integrate(sp.Integer(1), (s, 0, tp)) * (0 * g + b)
    d5_zero = g0 + (1 - 1) * (g + 0 * b) + tp * b
    doc.prove("λ = 0: on a null direction both give $g_0 + t\\,b$, a pure drift", d4_zero, d5_zero)
    doc.text(
        r"""
        On a null direction $G^*$ drops out ($MG^*$ has no component there) and the bias
        drives a drift of constant speed $NB$. Summing over eigen-directions gives (D5) for every
        symmetric positive semi-definite $M$ of any size.
        """
    )

    # ---------------------------------------------------------------- 2. an explicit matrix
    doc.section("2. The same, with explicit 3 × 3 matrices")
    doc.text(
        r"""
        As an independent check of the assembly, take a rational orthogonal $Q$ and
        $M = Q\,\mathrm{diag}(\lambda_1, \lambda_2, 0)\,Q^{\mathsf T}$ with symbolic
        $\lambda_1, \lambda_2 > 0$ (a rank-deficient $M$, as for a single-point task). The
        candidates for $e^{-Mt}$, $M^\dagger$ and $N$ are built from the spectrum and then
        *characterized* without reference to it: $E(t)$ is the matrix exponential because it
        solves $E' = -ME$, $E(0) = I$; $P$ is the pseudoinverse because it satisfies the four
        Penrose conditions; $N = I - MM^\dagger$ is the orthogonal projector on the nullspace.
        """
    )
    l1, l2 = sp.symbols("lambda_1 lambda_2", positive=True)
    Q = sp.Matrix([[1, 2, 2], [2, 1, -2], [2, -2, 1]]) / 3
    doc.eq_sym("Q", Q)
    doc.prove("$Q$ is orthogonal", Q.T * Q, sp.eye(3))
    M = Q * sp.diag(l1, l2, 0) * Q.T
    E = Q * sp.diag(sp.exp(-l1 * tp), sp.exp(-l2 * tp), 1) * Q.T
    P = Q * sp.diag(1 / l1, 1 / l2, 0) * Q.T
    N = sp.eye(3) - M * P
    doc.eq_sym("M", M)
    doc.prove("$E(t)$ solves $E' = -ME$", E.diff(tp), -M * E)
    doc.prove("$E(0) = I$, hence $E(t) = e^{-Mt}$", E.subs(tp, 0), sp.eye(3))
    doc.prove("Penrose 1: $MPM = M$", M * P * M, M)
    doc.prove("Penrose 2: $PMP = P$", P * M * P, P)
    doc.prove(
        "Penrose 3, 4: $MP$ and $PM$ are symmetric",
        (M * P - (M * P).T).col_join(P * M - (P * M).T),
        sp.zeros(6, 3),
    )
    doc.prove(
        "$N$ is a symmetric idempotent with $MN = 0$",
        (N * N - N).col_join(M * N).col_join(N - N.T),
        sp.zeros(9, 3),
    )
    doc.prove(
        "$N$ has rank 1 (trace 1): it projects on null$(M)$", sp.Matrix([N.trace()]), sp.Matrix([1])
    )
    Gs = sp.Matrix(sp.symbols("G^*_1:4", real=True))
    Bv = sp.Matrix(sp.symbols("B_1:4", real=True))
    G0 = sp.Matrix(sp.symbols("G_{0\\,1:4}", real=True))
    sv = sp.Symbol("s", nonnegative=True)
    integral = Q * sp.diag(*[sp.integrate(sp.exp(-x * sv), (sv, 0, tp)) for x in (l1, l2, 0)]) * Q.T
    doc.prove(
        "the integral in (D4), entry by entry, has derivative $e^{-Mt}$ and vanishes at $t=0$",
        (integral.diff(tp) - E).col_join(integral.subs(tp, 0)),
        sp.zeros(6, 3),
    )
    D4 = E * G0 + integral * (M * Gs + Bv)
    D5 = E * G0 + (sp.eye(3) - E) * (Gs + P * Bv) + tp * N * Bv
    doc.prove("(D4) = (D5) for the explicit rank-2 matrix", D4, D5)
    doc.prove(
        "(D5) solves (D2): $\\dot G + M(G - G^*) - B = 0$",
        D5.diff(tp) + M * (D5 - Gs) - Bv,
        sp.zeros(3, 1),
    )
    doc.prove("(D5) starts at $G_0$", D5.subs(tp, 0), G0)

    # ---------------------------------------------------------------- 3. phi_1 form
    doc.section("3. The φ₁ form used by the engine, and (D8)–(D9)")
    doc.text(
        r"""
        With $\varphi_1(z) = (e^{z} - 1)/z$, $\varphi_1(0) = 1$ (an entire function), the integral
        in (D4) is $\int_0^h e^{-Ms} ds = h\,\varphi_1(-hM)$ for *every* $M$, singular or not.
        The half-period map is therefore
        $G(h) = A\,G_0 + b$ with $A = e^{-hM}$ and $b = h\,\varphi_1(-hM)(MG^* + B)$. On a positive
        eigenvalue this equals (D9); on a zero eigenvalue $\varphi_1(0) = 1$ gives $h\,b$, the
        drift. Unlike the split (D5), this form needs no decision about which eigenvalues are
        zero, and evaluating $\varphi_1$ directly avoids the cancellation in
        $1 - e^{-h\lambda}$ when $h\lambda \ll 1$.
        """
    )
    hp = sp.Symbol("h", positive=True)
    phi1 = sp.Lambda(sp.Symbol("z"), (sp.exp(sp.Symbol("z")) - 1) / sp.Symbol("z"))
    doc.prove(
        "$h\\,\\varphi_1(-h\\lambda)(\\lambda g + b) = (1 - e^{-h\\lambda})(g + b/\\lambda)$ for λ > 0 — this is (D9)",
        hp * phi1(-hp * lp) * (lp * g + b),
        (1 - sp.exp(-hp * lp)) * (g + b / lp),
    )
    z = sp.Symbol("z")
    doc.prove(
        "$\\varphi_1(z) \\to 1$ as $z \\to 0$, so a null direction gets $h\\,b$ — the drift term $hNB$ of (D9)",
        sp.limit((sp.exp(z) - 1) / z, z, 0),
        1,
    )
    doc.prove(
        "$h\\,\\varphi_1(-h\\lambda) = \\int_0^h e^{-\\lambda s}ds$ for λ > 0",
        hp * phi1(-hp * lp),
        sp.integrate(sp.exp(-lp * sv), (sv, 0, hp)),
    )
    doc.text(
        r"""
        `evolve` uses a second, equivalent φ₁ form: starting from the initial velocity
        $v_0 = -M(G_0 - G^*) + B$ of (D2), $G(t) = G_0 + t\,\varphi_1(-tM)\,v_0$ (on a zero
        eigenvalue this is plainly $g_0 + t\,b$).
        """
    )
    doc.prove(
        "$g_0 + t\\varphi_1(-t\\lambda)(-\\lambda(g_0 - g) + b)$ equals (D5) on a positive eigenvalue",
        g0 + tp * phi1(-tp * lp) * (-lp * (g0 - g) + b),
        sp.exp(-lp * tp) * g0 + (1 - sp.exp(-lp * tp)) * (g + b / lp),
    )
    doc.eq(r"A_\mu = e^{-h M_\mu}", "D8")
    doc.eq(
        r"b_\mu = h\,\varphi_1(-hM_\mu)(M_\mu G^*_\mu + B) = (1 - e^{-hM_\mu})(G^*_\mu + M_\mu^\dagger B) + h N_\mu B",
        "D9",
    )

    # ---------------------------------------------------------------- 4. 50 digits
    doc.section("4. A 50-digit check on a random 4 × 4 matrix")
    doc.text(
        r"""
        Independent of the eigen-decomposition argument: for a random symmetric $M$ of rank 2 in
        $\mathbb R^4$ (seed 1), evaluate (D4) with mpmath's matrix exponential (Taylor series with
        scaling and squaring), the integral $\int_0^t e^{-Ms}ds$ being the upper-right block of
        $\exp\big(t\begin{pmatrix} -M & I \\ 0 & 0 \end{pmatrix}\big)$ (Van Loan's
        block formula), and (D5) from the spectrum, both at 50 digits.
        """
    )
    with mp.workdps(50):
        M4, U4, lam4 = random_psd(4, 2, seed=1)
        r = rng(2)
        G0v, Gsv, Bv4 = (mp_matrix([[r.uniform(1, 4)] for _ in range(4)]) for _ in range(3))
        t4 = mp.mpf("0.7")
        big = mp.zeros(8, 8)
        for i in range(4):
            big[i, i + 4] = 1
            for j in range(4):
                big[i, j] = -M4[i, j]
        W = mp.expm(big * t4)
        integral4 = mp.matrix([[W[i, j + 4] for j in range(4)] for i in range(4)])
        d4 = mp.expm(-M4 * t4) * G0v + integral4 * (M4 * Gsv + Bv4)
        d5 = reference_D5(U4, lam4, G0v, Gsv, Bv4, t4)
        doc.check50(
            "(D4) by matrix exponentials equals (D5) from the spectrum, rank-2 $M$ in $\\mathbb{R}^4$",
            mp_max_abs(d4 - d5),
            "1e-40",
        )

    # ---------------------------------------------------------------- 5. the package
    doc.section("5. Comparison with `clln_theory.theory.linear`")
    _compare_with_package(doc, M4, U4, lam4, G0v, Gsv, Bv4)
    return doc


def _compare_with_package(doc, M4, U4, lam4, G0v, Gsv, Bv4) -> None:
    import numpy as np

    from clln_theory.theory.linear import LinearTask, evolve, half_period_map

    def to_np(A):
        return np.array(A.tolist(), dtype=float)

    M_np = to_np(M4)
    M_np = 0.5 * (M_np + M_np.T)
    task = LinearTask(M_np, to_np(Gsv).ravel())
    G0n, Bn = to_np(G0v).ravel(), to_np(Bv4).ravel()
    doc.text(
        r"""
        The same random case (double precision for the package, 50 digits for the reference).
        `LinearTask` must find the rank-2 nullspace; `evolve` must reproduce (D5) at short and long
        times (the long time, $t = 40$, is dominated by the drift $tNB$); `half_period_map` must
        return $A = e^{-hM}$ and $b$ of (D9).
        """
    )
    with mp.workdps(50):
        N_ref = to_np(spectral(U4, lam4, lambda x: mp.mpf(1) if x == 0 else mp.mpf(0)))
        doc.compare(
            "`LinearTask.N` is the nullspace projector of the rank-2 $M$",
            _rel(np.asarray(task.N), N_ref),
            "1e-10",
        )
        P_ref = to_np(spectral(U4, lam4, lambda x: 1 / x if x != 0 else mp.mpf(0)))
        doc.compare(
            "`LinearTask.M_pinv` is $M^\\dagger$", _rel(np.asarray(task.M_pinv), P_ref), "1e-10"
        )
        for tt in ("0.7", "40"):
            ref = to_np(reference_D5(U4, lam4, G0v, Gsv, Bv4, mp.mpf(tt))).ravel()
            got = np.asarray(evolve(task, G0n, t=float(tt), B=Bn), dtype=float).ravel()
            doc.compare(f"`evolve(task, G0, t={tt}, B=B)` equals (D5)", _rel(got, ref), "1e-11")
        h = mp.mpf("0.35")
        A_ref = to_np(spectral(U4, lam4, lambda x: mp.exp(-x * h)))
        b_ref = to_np(reference_D5(U4, lam4, mp.matrix(4, 1), Gsv, Bv4, h)).ravel()
        hp_map = half_period_map(task, B=Bn, h=float(h))
        A_got, b_got = hp_map.A, hp_map.b
        doc.compare(
            "`half_period_map(task, B=B, h=h)` returns $A = e^{-hM}$ (D8)",
            _rel(np.asarray(A_got), A_ref),
            "1e-11",
        )
        doc.compare(
            "`half_period_map(task, B=B, h=h)` returns $b$ of (D9)",
            _rel(np.asarray(b_got).ravel(), b_ref),
            "1e-11",
        )


def _rel(got, ref) -> float:
    import numpy as np

    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    if got.shape != ref.shape:
        raise AssertionError(f"shape {got.shape} from the package, {ref.shape} expected")
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))


if __name__ == "__main__":
    sys.exit(main(build, __file__))
