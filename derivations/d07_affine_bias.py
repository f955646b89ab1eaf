"""A state-dependent bias B(G) = B0 + J (G - G_ref): the non-symmetric dynamics M - J, the
stable closed orbit and its existence (beyond the paper).

Proves that the affine bias turns (D2) into ``dG/dt = -(M - J) G + c``, that the period map's
``I - Phi`` is built without cancellation by the recursion the package uses, and the
cancellation-free Floquet test; checks the Van Loan blocks and the closed orbit at 50 digits and
compares with ``clln_theory.theory.affine``.

Run ``python derivations/d07_affine_bias.py`` to re-run every check and rewrite
``d07_affine_bias.md``.
"""

from __future__ import annotations

import sys

import mpmath as mp
import numpy as np
import sympy as sp
from _derivation import Document, main, mp_matrix, mp_max_abs, rng

SLUG = "d07_affine_bias"


def mp_blocks(A: mp.matrix, c: mp.matrix, h):
    """``exp(-A h)`` and ``phi(h) c`` from ``expm([[-A h, c h], [0, 0]])`` at 50 digits."""
    n = A.rows
    big = mp.zeros(n + 1, n + 1)
    for i in range(n):
        big[i, n] = c[i] * h
        for j in range(n):
            big[i, j] = -A[i, j] * h
    W = mp.expm(big)
    Phi = mp.matrix([[W[i, j] for j in range(n)] for i in range(n)])
    return Phi, mp.matrix([[W[i, n]] for i in range(n)])


def mp_orbit(Ms, Gs, B0, J, G_ref, h):
    """The closed orbit's start at 50 digits: ``(I - Phi)^{-1} d`` by LU (the literal form)."""
    n = J.rows
    Phi, d = mp.eye(n), mp.zeros(n, 1)
    for M, G in zip(Ms, Gs, strict=True):
        A = M - J
        c = M * G + B0 - J * G_ref
        P, v = mp_blocks(A, c, h)
        Phi, d = P * Phi, P * d + v
    return mp.lu_solve(mp.eye(n) - Phi, d)


def _random_case(seed: int, n: int = 3):
    r = rng(seed)

    def mat(rows, cols, lo=-1.0, hi=1.0):
        return mp_matrix([[mp.mpf(r.uniform(lo, hi)) for _ in range(cols)] for _ in range(rows)])

    Ms = []
    for _ in range(2):
        V = mat(n, 2)
        Ms.append(V * V.T * 5)
    Gs = [mat(n, 1, 1.0, 3.0) for _ in range(2)]
    J = mat(n, n) * mp.mpf("0.3") - mp.eye(n) * mp.mpf("0.5")
    return Ms, Gs, mat(n, 1), J, mat(n, 1, 1.0, 3.0)


def build() -> Document:
    """Derive the affine-bias dynamics, the stable period map and the existence test; compare."""
    doc = Document(
        SLUG, "State-dependent bias $B(G) = B_0 + J(G - G_{ref})$: dynamics, orbit, existence"
    )
    doc.text(
        r"""
        A bias that depends on the gates, to first order about $G_{ref}$, is
        $B(G) = B_0 + J(G - G_{ref})$ with $J = \partial B/\partial G$ (1/s), any real matrix.
        With it (D2) of task $k$ stays linear but loses its symmetry.
        """
    )
    doc.section("1. The dynamics")
    n = 2
    M = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"m_{min(i, j)}{max(i, j)}", real=True))
    J = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"j_{i}{j}", real=True))
    G, Gs, B0, Gr = (
        sp.Matrix(sp.symbols(f"{s}_1:{n + 1}", real=True)) for s in ("g", "s", "b", "r")
    )
    rhs = -M * (G - Gs) + B0 + J * (G - Gr)
    A = M - J
    c = M * Gs + B0 - J * Gr
    doc.eq(
        r"\dot G = -M(G - G^*) + B_0 + J(G - G_{ref}) = -A\,G + c,\quad A = M - J,\quad c = MG^* + B_0 - JG_{ref}"
    )
    doc.prove("the affine bias gives $\\dot G = -(M - J)G + c$", rhs, -A * G + c)
    doc.text(
        r"""
        $A$ is not symmetric, so the eigenbasis of $M$ no longer diagonalizes the flow. With
        $\varphi(h) = \int_0^h e^{-As}\,ds$ one segment of length $h$ is
        $G \mapsto e^{-Ah}G + \varphi(h)c$, and Van Loan's block exponential gives both pieces
        at once, each as an integral (no $I - e^{-Ah}$ formed by subtraction):
        """
    )
    doc.eq(
        r"\exp\begin{pmatrix}-Ah & Ah & ch\\ 0 & 0 & 0\\ 0 & 0 & 0\end{pmatrix} = \begin{pmatrix}e^{-Ah} & I - e^{-Ah} & \varphi(h)c\\ 0 & I & 0\\ 0 & 0 & 1\end{pmatrix}"
    )
    a, hs, s = sp.symbols("a h s", positive=True)
    doc.prove(
        "scalar check of the block: $\\int_0^h e^{-as}\\,ds\\;a = 1 - e^{-ah}$",
        sp.integrate(sp.exp(-a * s), (s, 0, hs)) * a,
        1 - sp.exp(-a * hs),
    )
    case = _random_case(1)
    Ms, Gsl, B0m, Jm, Grm = case
    Am = Ms[0] - Jm
    cm = Ms[0] * Gsl[0] + B0m - Jm * Grm
    h = mp.mpf("0.37")
    _, v = mp_blocks(Am, cm, h)
    quad = mp.matrix(
        [[mp.quad(lambda t, i=i: (mp.expm(-Am * t) * cm)[i], [0, h])] for i in range(3)]
    )
    doc.check50(
        "the block $\\varphi(h)c$ equals the quadrature $\\int_0^h e^{-As}c\\,ds$ (3 gates, seeded)",
        mp_max_abs(v - quad),
        "1e-40",
    )

    doc.section("2. The period map without cancellation")
    doc.text(
        r"""
        Segments $k = 1..K$ with $\Phi_k = e^{-A_k h_k} = I - E_k$ compose to $x \mapsto \Phi x + d$,
        $\Phi = \Phi_K\cdots\Phi_1$. The closed orbit solves $(I - \Phi)x_0 = d$. As $h \to 0$,
        $\Phi \to I$ and forming $I - \Phi$ by subtraction loses all digits of $O(h)$; the package
        builds it by the recursion $R_k = R_{k-1} + E_k(I - R_{k-1})$, $R_0 = 0$, in which every
        term is $O(h)$ or a product of such:
        """
    )
    E1, E2, E3 = sp.symbols("E_1 E_2 E_3", commutative=False)
    I = sp.Integer(1)
    R1 = E1
    R2 = R1 + E2 * (I - R1)
    R3 = R2 + E3 * (I - R2)
    doc.prove(
        "$R_2 = I - (I - E_2)(I - E_1)$ (noncommutative)",
        sp.expand(R2),
        sp.expand(I - (I - E2) * (I - E1)),
    )
    doc.prove(
        "$R_3 = I - (I - E_3)(I - E_2)(I - E_1)$ (noncommutative)",
        sp.expand(R3),
        sp.expand(I - (I - E3) * (I - E2) * (I - E1)),
    )

    doc.section("3. When does the cycle exist?")
    doc.text(
        r"""
        The orbit attracts, and exists as the limit of training, iff every Floquet multiplier
        $\mu$ (eigenvalue of $\Phi$) on the complement of the common null space has $|\mu| < 1$.
        With $\nu = 1 - \mu$ the eigenvalues of $R = I - \Phi$ (available without cancellation),
        $1 - |\mu|^2 = 2\,\mathrm{Re}\,\nu - |\nu|^2$, and the cycle's rate is
        $\kappa = -\ln|\mu|/\tau$: the real part of an eigenvalue of the effective $M - J$ of one
        period, $-\log(\Phi)/\tau$, which tends to the time-weighted mean of $M_k - J$ as
        $\tau \to 0$. The package raises `StabilityError` when $\kappa$ is at or below the rate
        threshold. For $J = jI$ every multiplier is multiplied by $e^{j\tau}$, so
        $\kappa(J = jI) = \kappa(J = 0) - j$ exactly: the cycle disappears at $j = \kappa(0)$.
        """
    )
    x, y = sp.symbols("x y", real=True)
    doc.prove(
        "$1 - |1 - \\nu|^2 = 2\\,\\mathrm{Re}\\,\\nu - |\\nu|^2$",
        1 - ((1 - x) ** 2 + y**2),
        2 * x - (x**2 + y**2),
    )

    doc.section("4. The package against the 50-digit orbit")
    from clln_theory.errors import StabilityError
    from clln_theory.model import AffineBias
    from clln_theory.theory import LinearTask, periodic_orbit

    def to_np(m):
        return np.array([[float(m[i, j]) for j in range(m.cols)] for i in range(m.rows)])

    tasks = [
        LinearTask(to_np(Mk), G_star=to_np(Gk).ravel()) for Mk, Gk in zip(Ms, Gsl, strict=True)
    ]
    bias = AffineBias(to_np(B0m).ravel(), to_np(Jm), to_np(Grm).ravel())
    worst = 0.0
    for tau in ("1e-3", "1", "100"):
        ref = to_np(mp_orbit(Ms, Gsl, B0m, Jm, Grm, mp.mpf(tau) / 2)).ravel()
        got = periodic_orbit(tasks[0], tasks[1], B=bias, tau=float(tau)).G0
        worst = max(worst, float(np.max(np.abs(got - ref)) / np.max(np.abs(ref))))
    doc.compare(
        "`periodic_orbit` with an `AffineBias`: $\\bar G_0$ at $\\tau$ = 1e-3, 1, 100 s vs the 50-digit LU of $(I - \\Phi)x_0 = d$",
        worst,
        "1e-10",
    )
    flat = AffineBias(to_np(B0m).ravel(), np.zeros((3, 3)), to_np(Grm).ravel())
    k0 = periodic_orbit(tasks[0], tasks[1], B=flat, tau=0.5).rate
    j = 0.5 * k0
    kj = periodic_orbit(
        tasks[0], tasks[1], B=AffineBias(flat.B0, j * np.eye(3), flat.G_ref), tau=0.5
    ).rate
    doc.compare(
        "`AffineOrbit.rate` obeys $\\kappa(jI) = \\kappa(0) - j$", abs(kj - (k0 - j)) / k0, "1e-10"
    )
    try:
        periodic_orbit(
            tasks[0], tasks[1], B=AffineBias(flat.B0, 1.01 * k0 * np.eye(3), flat.G_ref), tau=0.5
        )
        raised = 1.0
    except StabilityError:
        raised = 0.0
    doc.compare("$j$ just beyond $\\kappa(0)$ raises `StabilityError` (no cycle)", raised, "1e-12")
    return doc


if __name__ == "__main__":
    sys.exit(main(build, __file__))
