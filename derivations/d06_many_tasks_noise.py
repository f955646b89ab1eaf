"""Beyond the paper: K tasks in a cycle, update noise, random task order, memory erasure.

Proves the telescoped form of the K-segment fixed point solved by ``cyclic_orbit``, the
cancellation-free Kronecker form of the discrete Lyapunov operator, the elementwise noise integral
and the moment recursion of a random task order; checks them at 50 digits; compares
``cyclic_orbit``, ``orbit_covariance`` and ``random_order_moments`` with 50-digit references.

Run ``python derivations/d06_many_tasks_noise.py`` to re-run every check and rewrite
``d06_many_tasks_noise.md``.
"""

from __future__ import annotations

import sys

import mpmath as mp
import numpy as np
import sympy as sp
from _derivation import Document, main, mp_matrix, mp_max_abs, rng

from clln_theory.theory.linear import LinearTask
from clln_theory.theory.multitask import cyclic_orbit
from clln_theory.theory.stochastic import orbit_covariance, random_order_moments

SLUG = "d06_many_tasks_noise"


def _mp_affine(M, G_star, B, h):
    """``A = e^{-hM}``, ``b`` from ``expm(h [[-M, M G* + B], [0, 0]])``."""
    n = M.rows
    X = mp.zeros(n + 1, n + 1)
    f = M * G_star + B
    for i in range(n):
        X[i, n] = h * f[i]
        for j in range(n):
            X[i, j] = -h * M[i, j]
    Y = mp.expm(X)
    return Y[:n, :n], Y[:n, n]


def _mp_noise(M, Q, h):
    """Van Loan: ``W = F22^T F12`` of ``expm(h [[M, Q], [0, -M^T]])`` (short h only)."""
    m = M.rows
    X = mp.zeros(2 * m, 2 * m)
    for i in range(m):
        for j in range(m):
            X[i, j], X[i, m + j], X[m + i, m + j] = h * M[i, j], h * Q[i, j], -h * M[j, i]
    F = mp.expm(X)
    return F[m:, m:].T * F[:m, m:]


def _vec_solve(L_apply, rhs, m):
    """Solve ``vec X = L vec X + vec rhs`` at the working precision (dense LU)."""
    big, r = mp.zeros(m * m, m * m), mp.zeros(m * m, 1)
    for a in range(m * m):
        E = mp.zeros(m, m)
        E[a // m, a % m] = 1
        col = L_apply(E)
        for b_ in range(m * m):
            big[b_, a] = (a == b_) - col[b_ // m, b_ % m]
        r[a] = rhs[a // m, a % m]
    x = mp.lu_solve(big, r)
    return mp.matrix([[x[i * m + j] for j in range(m)] for i in range(m)])


def _random_tasks(seed, n, K):
    g = np.random.default_rng(seed)
    tasks = []
    for _ in range(K):
        V = np.linalg.qr(g.standard_normal((n, n)))[0]
        lam = np.array([0.0, *10 ** g.uniform(-0.5, 0.7, n - 1)])  # each rank n - 1
        M = (V * lam) @ V.T
        tasks.append(LinearTask(0.5 * (M + M.T), G_star=g.uniform(-2, 2, n)))
    X = g.standard_normal((n, n))
    return tasks, g.uniform(-1, 1, n), 0.05 * X @ X.T


def build() -> Document:
    """Derive the K-task orbit, the noisy covariance and the random-order moments; compare."""
    doc = Document(SLUG, "Beyond the paper: K tasks, update noise, random order, memory erasure")
    doc.text(
        r"""
        Task $k = 1..K$ is trained for $h_k$, in turn. Each segment is the affine map (D8)–(D9)
        $x \mapsto A_k x + b_k$, $A_k = e^{-h_kM_k}$ (`d01_evolution.md`). The state $x_1$ at
        the start of task 1 on the closed orbit is the fixed point of the composed map
        $\Pi_K x_1 + c$, $\Pi_k = A_k\cdots A_1$, $c = \sum_k A_K\cdots A_{k+1}b_k$.
        """
    )
    # ---------------------------------------------------------------- 1. telescoping
    doc.section("1. The telescoped fixed point (what `cyclic_orbit` solves)")
    doc.eq(r"I - \Pi_K = \sum_{k=1}^{K} E_k\,\Pi_{k-1}, \qquad E_k = I - A_k,\ \Pi_0 = I")
    As = sp.symbols("A_1:5", commutative=False)
    I = sp.Integer(1)
    for K in (3, 4):
        Pi = [I]
        for A in As[:K]:
            Pi.append(A * Pi[-1])
        rhs = sum(((I - As[k]) * Pi[k] for k in range(K)), sp.Integer(0))
        doc.prove(
            f"telescoping for K = {K} (noncommutative algebra)", (I - Pi[K]).expand(), rhs.expand()
        )
    doc.text(
        r"""
        Every $E_k$ comes from `expm1` in the eigenbasis of $M_k$, so nothing of the form
        $I - (\text{something close to } I)$ is ever formed. As $h \to 0$ the sum tends to
        $\sum_k h_k M_k$, a sum of PSD matrices (no cancellation), so the system is as well
        conditioned as $\sum_k h_kM_k$ on the complement of the common nullspace. By the lemma of
        `d02_closed_orbit.md` ($\lVert e^{-hM}v\rVert = \lVert v\rVert$ iff $Mv = 0$), $I - \Pi_K$
        is singular exactly on the common nullspace of all $M_k$: there the gates drift at
        $P_ZB$ and the rest is a unique closed orbit, as for $K = 2$. For $K = 2$ the span
        generalizes as the largest distance between the $K$ segment-end states, which is (4).
        """
    )
    with mp.workdps(50):
        r = rng(6)
        n = 3
        Ms = []
        for _ in range(3):
            X = mp_matrix([[r.uniform(-1, 1) for _ in range(n)] for _ in range(n)])
            Ms.append(X * X.T)
        hs = [mp.mpf(r.uniform(0.1, 2)) for _ in range(3)]
        A = [mp.expm(-h * M) for h, M in zip(hs, Ms)]
        Pi, S = mp.eye(n), mp.zeros(n, n)
        for Ak in A:
            S += (mp.eye(n) - Ak) * Pi
            Pi = Ak * Pi
        doc.check50(
            "the telescoped sum equals $I - A_3A_2A_1$ for three random PSD $M_k$",
            mp_max_abs(S - (mp.eye(n) - Pi)),
            "1e-45",
        )

    tasks, B, Qn = _random_tasks(11, 3, 3)
    d = np.array([0.4, 1.1, 0.7])
    with mp.workdps(50):
        Bm = mp.matrix(B.tolist())
        maps = [
            _mp_affine(mp.matrix(t.M.tolist()), mp.matrix(t.G_star.tolist()), Bm, mp.mpf(h))
            for t, h in zip(tasks, d)
        ]
        Pi, c = mp.eye(3), mp.zeros(3, 1)
        for Ak, bk in maps:
            Pi, c = Ak * Pi, Ak * c + bk
        x = [mp.lu_solve(mp.eye(3) - Pi, c)]
        for Ak, bk in maps[:-1]:
            x.append(Ak * x[-1] + bk)
        ref = np.array([[float(v[i]) for i in range(3)] for v in x])
    got = cyclic_orbit(tasks, B=B, durations=d).G_starts
    doc.compare(
        "`cyclic_orbit` (K = 3, n = 3) against the composed 50-digit maps solved by LU",
        float(np.max(np.abs(got - ref)) / np.max(np.abs(ref))),
        "1e-10",
    )

    # ---------------------------------------------------------------- 2. noise
    doc.section("2. Update noise: the exact covariance maps")
    doc.text(
        r"""
        With $dG = (-M_k(G - G^*_k) + B)\,dt + dW$, $E[dW\,dW^{\mathsf T}] = Q\,dt$, the deviation
        from the mean obeys $d\delta = -M_k\delta\,dt + dW$, so over a segment (Itô isometry)
        """
    )
    doc.eq(
        r"\Sigma' = A\Sigma A^{\mathsf T} + W,\qquad W = \int_0^h e^{-Ms}Qe^{-Ms}\,ds"
        r" = U\,(U^{\mathsf T}QU \circ F)\,U^{\mathsf T},\quad"
        r" F_{ij} = \frac{1 - e^{-(\lambda_i+\lambda_j)h}}{\lambda_i+\lambda_j}"
    )
    a, b_, s, h = sp.symbols("lambda_i lambda_j s h", positive=True)
    doc.prove(
        "the elementwise integral $\\int_0^h e^{-(\\lambda_i+\\lambda_j)s}ds$",
        sp.integrate(sp.exp(-(a + b_) * s), (s, 0, h)),
        (1 - sp.exp(-(a + b_) * h)) / (a + b_),
    )
    doc.text(
        r"""
        Over a cycle $\Sigma_1 = \Pi\Sigma_1\Pi^{\mathsf T} + W_{\mathrm{tot}}$; vectorized
        (row-major), $(I\otimes I - \Pi\otimes\Pi)\,\mathrm{vec}\,\Sigma_1 =
        \mathrm{vec}\,W_{\mathrm{tot}}$, written without cancellation with $S = I - \Pi$ from §1:
        """
    )
    doc.eq(r"I\otimes I - \Pi\otimes\Pi = S\otimes I + \Pi\otimes S")
    P2 = sp.Matrix(2, 2, sp.symbols("p_1:5"))
    S2 = sp.eye(2) - P2
    doc.prove(
        "the Kronecker identity for a general 2×2 $\\Pi$",
        sp.eye(4) - sp.kronecker_product(P2, P2),
        sp.kronecker_product(S2, sp.eye(2)) + sp.kronecker_product(P2, S2),
    )
    doc.text(
        r"""
        Along the common nullspace $Z$ of all tasks $A_k$ acts as the identity, so the variance
        there grows by $Z Z^{\mathsf T} Q Z Z^{\mathsf T}$ per second (`diffusion`) and no
        stationary covariance exists. The expected squared distance between two segment ends is
        $\lVert E s_i - E s_j\rVert^2 + \mathrm{tr}(\Sigma_i + \Sigma_j - C - C^{\mathsf T})$ with
        $C = A_j\cdots A_{i+1}\Sigma_i$ (the noise of later segments is independent of
        $s_i$), plus $|t_i - t_j|\,\mathrm{tr}(\text{diffusion})$; for $K = 2$ this is
        $E[D^2]$ of (4) with noise.
        """
    )
    with mp.workdps(50):
        Mm = mp.matrix(tasks[0].M.tolist())
        Qm = mp.matrix(Qn.tolist())
        hh = mp.mpf("0.6")
        ev, U = mp.eigsy(Mm)
        Qt = U.T * Qm * U
        F = mp.matrix(3, 3)
        for i in range(3):
            for j in range(3):
                lsum = ev[i] + ev[j]
                F[i, j] = Qt[i, j] * (hh if lsum == 0 else (1 - mp.exp(-lsum * hh)) / lsum)
        doc.check50(
            "the eigenbasis form of $W$ equals Van Loan's block exponential",
            mp_max_abs(U * F * U.T - _mp_noise(Mm, Qm, hh)),
            "1e-30",
        )
        Ws = [_mp_noise(mp.matrix(t.M.tolist()), Qm, mp.mpf(h)) for t, h in zip(tasks, d)]
        As = [m_[0] for m_ in maps]
        Pi, Wt = mp.eye(3), mp.zeros(3, 3)
        for Ak, Wk in zip(As, Ws):
            Pi, Wt = Ak * Pi, Ak * Wt * Ak.T + Wk
        Sig = _vec_solve(lambda X: Pi * X * Pi.T, Wt, 3)
        ref = np.array([[float(Sig[i, j]) for j in range(3)] for i in range(3)])
    got = orbit_covariance(tasks, durations=d, Q=Qn).covariance[0]
    doc.compare(
        "`orbit_covariance` (K = 3) against Van Loan maps and a 50-digit Lyapunov solve",
        float(np.max(np.abs(got - ref)) / np.max(np.abs(ref))),
        "1e-10",
    )

    # ---------------------------------------------------------------- 3. random order
    doc.section("3. Random task order")
    doc.text(
        r"""
        At each switch task $k$ is drawn with probability $p_k$, independently of the past, and
        trained for $h$: $G' = A_kG + b_k$. Taking expectations, the stationary mean solves
        $m = \sum_k p_k(A_km + b_k)$, i.e. $(\sum_k p_kE_k)\,m = \sum_k p_kb_k$ (a PSD sum: no
        cancellation). With $\delta = G - m$ and $d_k = A_km + b_k - m$ (so $\sum_k p_kd_k = 0$),
        $G' - m = A_k\delta + d_k$; since $k$ is independent of $\delta$ and $E\delta = 0$ the
        cross terms vanish:
        """
    )
    doc.eq(r"\Sigma = \sum_k p_k A_k\Sigma A_k^{\mathsf T} + \sum_k p_k d_kd_k^{\mathsf T}")
    p1, dl, d1, d2, A1, A2 = sp.symbols("p delta d_1 d_2 A_1 A_2", real=True)
    # scalar model of the recursion: E over k and over delta (E delta = 0, E delta^2 = v)
    v = sp.Symbol("v", positive=True)
    second = p1 * sp.expand((A1 * dl + d1) ** 2) + (1 - p1) * sp.expand((A2 * dl + d2) ** 2)
    second = sp.expand(second).subs(dl**2, v).subs(dl, 0)
    doc.prove(
        "the cross terms vanish (scalar form, $E\\delta = 0$, $E\\delta^2 = v$)",
        second,
        p1 * (A1**2 * v + d1**2) + (1 - p1) * (A2**2 * v + d2**2),
    )
    probs = np.array([0.2, 0.5, 0.3])
    hr = 0.9
    with mp.workdps(50):
        rm = [
            _mp_affine(mp.matrix(t.M.tolist()), mp.matrix(t.G_star.tolist()), Bm, mp.mpf(hr))
            for t in tasks
        ]
        pm = [mp.mpf(float(x)) for x in probs]
        Abar = sum((p * A_ for p, (A_, _) in zip(pm, rm)), mp.zeros(3, 3))
        bbar = sum((p * b for p, (_, b) in zip(pm, rm)), mp.zeros(3, 1))
        mean = mp.lu_solve(mp.eye(3) - Abar, bbar)
        D = mp.zeros(3, 3)
        for p, (A_, b) in zip(pm, rm):
            dk = A_ * mean + b - mean
            D += p * dk * dk.T
        Sig = _vec_solve(
            lambda X: sum((p * A_ * X * A_.T for p, (A_, _) in zip(pm, rm)), mp.zeros(3, 3)),
            D,
            3,
        )
        ref_m = np.array([float(mean[i]) for i in range(3)])
        ref_S = np.array([[float(Sig[i, j]) for j in range(3)] for i in range(3)])
    mom = random_order_moments(tasks, probs=probs, duration=hr, B=B)
    doc.compare(
        "`random_order_moments`: the mean against the 50-digit moment equations",
        float(np.max(np.abs(mom.mean - ref_m)) / np.max(np.abs(ref_m))),
        "1e-10",
    )
    doc.compare(
        "`random_order_moments`: the covariance against the 50-digit moment equations",
        float(np.max(np.abs(mom.covariance - ref_S)) / np.max(np.abs(ref_S))),
        "1e-10",
    )

    # ---------------------------------------------------------------- 4. memory
    doc.section("4. Memory erasure")
    doc.text(
        r"""
        A task learned at $G_0$ is forgotten while other tasks are trained. Its error
        $E(t) = (G(t) - G^*)^{\mathsf T}H(G(t) - G^*)$ follows from the closed-form segment maps
        at every $t$ (`forgetting_curve`). The others relax the gates onto their own orbit (a
        bounded change); along their common nullspace $Z$ nothing restores the gates and they
        move at $d = ZZ^{\mathsf T}B$, so $G(t) = g(t) + t\,d$ with $g$ bounded (periodic after
        the transient) and
        """
    )
    t_, gH, dHd = sp.symbols("t g_H d_H", positive=True)
    doc.eq(r"E(t) = (g + td)^{\mathsf T}H(g + td) = t^2\,d^{\mathsf T}Hd + O(t)")
    e_t = gH + 2 * t_ * sp.Symbol("c") + t_**2 * dHd
    doc.prove("$E(t)/t^2 \\to d^{\\mathsf T}Hd$", sp.limit(e_t / t_**2, t_, sp.oo), dHd)
    doc.text(
        r"""
        The drift speed $\lVert ZZ^{\mathsf T}B\rVert$ thus sets the forgetting: the error reaches
        a level $E$ after about $\sqrt{E/d^{\mathsf T}Hd}$ (`ForgettingCurve.erasure_time`); when
        the others share no null direction, or the drift is invisible to the remembered task,
        its error stays bounded. The closed form is checked against `solve_ivp` in
        `tests/test_memory.py`.
        """
    )
    return doc


if __name__ == "__main__":
    sys.exit(main(build, __file__))
