"""The closed orbit (D11) in extended precision with mpmath: an independent verification route.

Used by :func:`~clln_theory.theory.orbits.periodic_orbit` for ``dps=`` (on request) and for the
periods a requested ``rtol`` needs beyond float64. It shares no algebra with the float64 engine:
``mpmath.expm`` of augmented matrices gives (D8)/(D9), and (D11) is solved by LU. The function
has a public name so that :mod:`~clln_theory.theory.orbits` can import it; it is not part of the
package's API.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .linear import LinearTask

__all__ = ["mp_affine", "orbit_mpmath"]


def orbit_mpmath(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    thr: float,
    dps: int,
) -> tuple[NDArray, NDArray, NDArray]:
    """High-precision closed orbit by ``mpmath.expm`` of augmented matrices (independent route).

    The common nullspace is found from ``mpmath.eigsy`` of ``M_alpha + M_beta`` at the same
    threshold ``thr``; the reduced model on its complement is the same as in the float path.
    """
    import mpmath as mp  # type: ignore[import-untyped]  # mpmath ships no type information

    n = task_a.n
    with mp.workdps(dps):
        Ma = mp.matrix(task_a.M.tolist())
        Mb = mp.matrix(task_b.M.tolist())
        Ga = mp.matrix(task_a.G_star.tolist())
        Gb = mp.matrix(task_b.G_star.tolist())
        Bm = mp.matrix(B.tolist())
        Gr = mp.matrix(G_ref.tolist())
        ev, EV = mp.eigsy(Ma + Mb)
        order = sorted(range(n), key=lambda i: ev[i])
        null_idx = [i for i in order if ev[i] <= thr]
        keep_idx = [i for i in order if ev[i] > thr]
        m = len(keep_idx)
        P = mp.matrix(n, m)
        Q = mp.matrix(n, len(null_idx))
        for j, i in enumerate(keep_idx):
            for r in range(n):
                P[r, j] = EV[r, i]
        for j, i in enumerate(null_idx):
            for r in range(n):
                Q[r, j] = EV[r, i]
        QQ = Q * Q.T if null_idx else mp.zeros(n, n)
        drift = QQ * Bm
        base = Gr if not null_idx else QQ * Gr
        G0s, Ghs, spans = [], [], []
        if m > 0:
            Mra, Mrb = P.T * Ma * P, P.T * Mb * P
            ca = Mra * (P.T * Ga) + P.T * Bm  # (D2) at g = 0 in reduced coordinates
            cb = Mrb * (P.T * Gb) + P.T * Bm
        for tau in taus:
            h = mp.mpf(float(tau)) / 2
            if m == 0:
                y = mp.zeros(0, 1)
                G0 = base
                Gh = base + h * drift
                span = mp.mpf(0)
            else:
                Aa, ba = mp_affine(mp, Mra, ca, h)
                Ab, bb = mp_affine(mp, Mrb, cb, h)
                K = mp.eye(m) - Ab * Aa  # (D11)
                y = mp.lu_solve(K, Ab * ba + bb)
                yh = Aa * y + ba
                G0 = P * y + (QQ * Gr if null_idx else mp.zeros(n, 1))
                Gh = P * yh + (QQ * Gr if null_idx else mp.zeros(n, 1)) + h * drift
                span = mp.norm(yh - y)
            G0s.append([float(G0[i]) for i in range(n)])
            Ghs.append([float(Gh[i]) for i in range(n)])
            spans.append(float(span))
    return np.array(G0s), np.array(Ghs), np.array(spans)


def mp_affine(mp, M, c, h):  # mpmath module and matrices
    """``A = exp(-h M)`` and ``b = int_0^h exp(-s M) ds c`` from one augmented ``mpmath.expm``."""
    m = M.rows
    X = mp.zeros(m + 1, m + 1)
    for i in range(m):
        X[i, m] = h * c[i]
        for j in range(m):
            X[i, j] = -h * M[i, j]
    Y = mp.expm(X)  # (D4): [[A, b], [0, 1]]
    A = mp.matrix(m, m)
    b = mp.matrix(m, 1)
    for i in range(m):
        b[i] = Y[i, m]
        for j in range(m):
            A[i, j] = Y[i, j]
    return A, b
