"""Float64 kernels of the closed orbit (D10)/(D11): the symmetric mid-alpha form, solved stably.

The engine behind :func:`~clln_theory.theory.orbits.periodic_orbit` (the docstring of
:mod:`clln_theory.theory.orbits` gives the algebra). Inputs are validated and the common nullspace
is split off by the caller; here every period of a sweep is solved at once: explicit 2 x 2 algebra
for two gates, numpy stacks below `STACK_MAX_N` gates, one LAPACK ``dposv`` per period below
`LOOP_MIN_N`, and BLAS ``dsyrk`` + LAPACK ``dpotrf``/``dpotrs`` per period beyond. The functions
have public names so that :mod:`~clln_theory.theory.orbits` can import them; they are not part of
the package's API.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numpy.typing import NDArray

from ..errors import AccuracyWarning, SingularSystemError
from ._spectral import EPS
from .linear import LinearTask

_dsyrk = scipy.linalg.blas.dsyrk
_dpotrf = scipy.linalg.lapack.dpotrf
_dpotrs = scipy.linalg.lapack.dpotrs
_dposv = scipy.linalg.lapack.dposv

__all__ = [
    "CHUNK_ENTRIES",
    "FLUSH_X",
    "LOOP_MIN_N",
    "SINGULAR_MESSAGE",
    "STACK_MAX_N",
    "Factors",
    "condition_estimate",
    "exp_columns",
    "factors",
    "lu_fallback",
    "orbit_float",
    "orbit_n2",
    "per_period",
    "reduced_eig",
    "scaled_gram",
    "solve_2x2",
    "solve_spd",
    "syrk_loop",
]

#: From this size on, periods are looped over calling BLAS ``dsyrk`` and LAPACK ``dpotrf`` /
#: ``dpotrs`` / ``dpocon`` directly (BLAS-3 dominated); below it, batched numpy over the periods.
LOOP_MIN_N = 48


#: Below this size the periods are solved as numpy stacks (``np.linalg.cholesky`` / ``solve`` on
#: (T, n, n)); from it on (and below ``LOOP_MIN_N``) by one LAPACK ``dposv`` call per period.
STACK_MAX_N = 16

#: ``exp(-x)`` for ``x`` beyond this (``< 1e-150``) is set to 0: it multiplies quantities of
#: order 1 (relative contribution below 1e-150) and its products would be subnormal numbers,
#: which slow floating-point arithmetic down by orders of magnitude.
FLUSH_X = 345.0

#: Largest number of ``tau * n * n`` matrix entries held at once by the batched solver (~64 MB).
CHUNK_ENTRIES = 8_000_000


#: Message of the :class:`~clln_theory.errors.SingularSystemError` of the closed-orbit system.
SINGULAR_MESSAGE = (
    "The closed-orbit system (D11) is singular to working precision on the complement of the "
    "common nullspace: the tasks nearly share a null direction (increase `rate_tol` to treat "
    "the softest common direction as null; it then drifts), or a period `tau` is so short "
    "(rate x tau below ~1e-150) that the system underflows."
)


def reduced_eig(M: NDArray, P: NDArray | None) -> tuple[NDArray, NDArray]:
    """Clipped eigendecomposition of ``P^T M P`` (``M`` itself when ``P`` is None)."""
    Mr = M if P is None else P.T @ M @ P
    lam, U = np.linalg.eigh(0.5 * (Mr + Mr.T))
    return np.clip(lam, 0.0, None), U


@dataclass(frozen=True, slots=True)
class Factors:
    """Per-period diagonal factors of the symmetric mid-alpha form, each of shape (T, m).

    ``sa = exp(-q lam_a)`` (``C`` in the alpha basis), ``ea = 1 - exp(-h lam_a)``,
    ``pa = (1 - exp(-q lam_a)) / lam_a`` (``q`` at ``lam = 0``), ``eb = 1 - exp(-h lam_b)``,
    ``ab = exp(-h lam_b)`` and ``pb = (1 - exp(-h lam_b)) / lam_b`` (``h`` at 0); ``q = h / 2``.
    """

    sa: NDArray
    ea: NDArray
    pa: NDArray
    eb: NDArray
    ab: NDArray
    pb: NDArray


def factors(lam_a: NDArray, lam_b: NDArray, h: NDArray) -> Factors:
    """All exponentials of one sweep in two passes (one ``expm1``, one ``exp``) over (T, 2m)."""
    m = lam_a.size
    rates = np.concatenate([0.5 * lam_a, lam_b])  # alpha over q = h/2, beta over h
    X = np.multiply.outer(h, rates)
    E = -np.expm1(-X)
    A = np.exp(-X)
    A[X > FLUSH_X] = 0.0  # flush: subnormal products would slow BLAS down ~100x
    inv = np.divide(1.0, rates, out=np.zeros_like(rates), where=rates > 0)
    zero = (rates == 0).astype(float)
    Phi = E * inv + np.multiply.outer(h, zero)  # (1 - e^{-h r}) / r, h at r = 0
    Phi[:, :m] *= 0.5  # alpha columns (r = lam/2): (1 - e^{-q lam}) / lam, q at lam = 0
    ea_q, sa = E[:, :m], A[:, :m]
    ea = ea_q * (1.0 + sa)  # 1 - e^{-2x} = (1 - e^{-x})(1 + e^{-x}): no cancellation
    return Factors(sa=sa, ea=ea, pa=Phi[:, :m], eb=E[:, m:], ab=A[:, m:], pb=Phi[:, m:])


def orbit_float(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    P: NDArray,
    Q: NDArray,
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Float64 closed orbit for all ``taus``: ``G0``, ``G_half`` (T, n), ``span``, ``condition``.

    Symmetric mid-alpha form of (D10) (see the docstring of :mod:`clln_theory.theory.orbits`),
    in the eigenbasis of ``M_alpha`` (reduced to the complement of the common nullspace when
    there is one).
    """
    n, k = task_a.n, Q.shape[1]
    T = taus.size
    h = 0.5 * taus
    drift = Q @ (Q.T @ B)
    if k == n:  # no dynamics left: pure drift from G_ref
        G0 = np.broadcast_to(G_ref, (T, n)).copy()
        return G0, G0 + h[:, None] * drift, np.zeros(T), np.ones(T)
    if n == 2 and k == 0:
        return orbit_n2(task_a, task_b, B, h)
    dG = task_b.G_star - task_a.G_star
    if k == 0:  # closed orbit: the tasks' own cached eigendecompositions
        lam_a, U_a, lam_b, U_b = task_a.eigvals, task_a.eigvecs, task_b.eigvals, task_b.eigvecs
        Mb, Bc, dGc = task_b.M, B, dG
    else:  # reduced tasks on the complement of the common nullspace
        lam_a, U_a = reduced_eig(task_a.M, P)
        lam_b, U_b = reduced_eig(task_b.M, P)
        Mb, Bc, dGc = P.T @ task_b.M @ P, P.T @ B, P.T @ dG
    # coordinates g = G - G*_alpha: velocities (D2) at g = 0 are c_a = B, c_b = M_b dG + B
    c_a = U_a.T @ Bc  # alpha eigenbasis
    c_b = U_b.T @ (Mb @ dGc + Bc)  # beta eigenbasis
    W = U_a.T @ U_b
    f = factors(lam_a, lam_b, h)
    # z = G(h/2) in the alpha basis:  (E_a(h) + C E_b(h) C) z = C (A_b b_a(q) + b_b(h)) + b_a(q)
    ba = f.pa * c_a  # b_alpha(q), alpha basis  (D9)
    r = f.sa * (((ba @ W) * f.ab + f.pb * c_b) @ W.T) + ba
    m = lam_a.size
    if m == 1:
        S = f.ea[:, 0] + (f.sa[:, 0] * W[0, 0]) ** 2 * f.eb[:, 0]
        if not np.all(S > 0):
            raise SingularSystemError(SINGULAR_MESSAGE)
        z = r / S[:, None]
        inv_norm, inv_scaled = 1.0 / S, np.ones(T)
    elif m == 2:
        z0, z1, inv_norm, inv_scaled = solve_2x2(
            f.ea[:, 0], f.ea[:, 1], f.sa[:, 0], f.sa[:, 1], f.eb[:, 0], f.eb[:, 1], W, r.T
        )
        z = np.stack([z0, z1], axis=-1)
    else:
        z, inv_norm, inv_scaled = solve_spd(f, W, r)
    x_half = f.sa * z + ba  # G(tau/2) = C z + b_a(q), alpha basis
    y_half = x_half @ W  # beta basis
    dy = f.pb * (c_b - lam_b * y_half)  # G(tau) - G(tau/2) = h phi_1(-h M_b) v_b  (D5)
    g_half = x_half @ U_a.T
    dg = dy @ U_b.T
    if k:
        base = task_a.G_star - Q @ (Q.T @ task_a.G_star) + Q @ (Q.T @ G_ref)
        g_half = g_half @ P.T
        dg = dg @ P.T
        G_half = base + g_half + h[:, None] * drift
        G0 = base + g_half + dg
    else:
        G_half = task_a.G_star + g_half
        G0 = G_half + dg
    span = np.sqrt(np.sum(dy * dy, axis=-1))  # (4), periodic part
    norms = [np.linalg.norm(G0, axis=-1)]
    for task in (task_a, task_b):
        norms.append(np.linalg.norm(G0 - task.G_star, axis=-1))
        norms.append(np.linalg.norm(G_half - task.G_star, axis=-1))
    cond = condition_estimate(task_a, task_b, B, h, lam_a, lam_b, inv_norm, inv_scaled, *norms)
    return G0, G_half, span, cond


def orbit_n2(
    task_a: LinearTask, task_b: LinearTask, B: NDArray, h: NDArray
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """n = 2 without a common nullspace: the same algebra as :func:`orbit_float`, written out
    on length-T columns (a few dozen numpy passes, no (T, 2, 2) stacks or tiny matmuls)."""
    lam_a, U_a, lam_b, U_b = task_a.eigvals, task_a.eigvecs, task_b.eigvals, task_b.eigvecs
    dG = task_b.G_star - task_a.G_star
    c_a = U_a.T @ B
    c_b = U_b.T @ (task_b.M @ dG + B)
    W = U_a.T @ U_b
    w00, w01, w10, w11 = (float(v) for v in W.ravel())
    q = 0.5 * h
    ea_q0, sa0, pa0 = exp_columns(float(lam_a[0]), q)
    ea_q1, sa1, pa1 = exp_columns(float(lam_a[1]), q)
    eb0, ab0, pb0 = exp_columns(float(lam_b[0]), h)
    eb1, ab1, pb1 = exp_columns(float(lam_b[1]), h)
    ea0 = ea_q0 * (1.0 + sa0)  # 1 - e^{-h lam} without cancellation
    ea1 = ea_q1 * (1.0 + sa1)
    ba0 = pa0 * float(c_a[0])  # b_alpha(q), alpha basis  (D9)
    ba1 = pa1 * float(c_a[1])
    u0 = (ba0 * w00 + ba1 * w10) * ab0 + pb0 * float(c_b[0])  # A_b b_a + b_b, beta basis
    u1 = (ba0 * w01 + ba1 * w11) * ab1 + pb1 * float(c_b[1])
    r0 = sa0 * (w00 * u0 + w01 * u1) + ba0
    r1 = sa1 * (w10 * u0 + w11 * u1) + ba1
    z0, z1, inv_norm, inv_scaled = solve_2x2(ea0, ea1, sa0, sa1, eb0, eb1, W, (r0, r1))
    x0 = sa0 * z0 + ba0  # G(tau/2), alpha basis
    x1 = sa1 * z1 + ba1
    dy0 = pb0 * (float(c_b[0]) - float(lam_b[0]) * (x0 * w00 + x1 * w10))  # (D5), beta basis
    dy1 = pb1 * (float(c_b[1]) - float(lam_b[1]) * (x0 * w01 + x1 * w11))
    T = h.size
    G_half = np.empty((T, 2))
    G0 = np.empty((T, 2))
    for i in range(2):
        G_half[:, i] = (float(task_a.G_star[i]) + float(U_a[i, 0]) * x0) + float(U_a[i, 1]) * x1
        G0[:, i] = G_half[:, i] + (float(U_b[i, 0]) * dy0 + float(U_b[i, 1]) * dy1)
    span = np.sqrt(dy0 * dy0 + dy1 * dy1)  # (4)

    def norm2(x: NDArray, c: NDArray) -> NDArray:
        d0 = x[:, 0] - float(c[0])
        d1 = x[:, 1] - float(c[1])
        return np.sqrt(d0 * d0 + d1 * d1)

    zero = np.zeros(2)
    norms = [norm2(G0, zero)]
    for task in (task_a, task_b):
        norms.append(norm2(G0, task.G_star))
        norms.append(norm2(G_half, task.G_star))
    cond = condition_estimate(task_a, task_b, B, h, lam_a, lam_b, inv_norm, inv_scaled, *norms)
    return G0, G_half, span, cond


def exp_columns(lam: float, t: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``1 - e^{-t lam}``, ``e^{-t lam}`` and ``(1 - e^{-t lam}) / lam`` (``t`` at 0), 1-D."""
    if lam == 0.0:
        return np.zeros_like(t), np.ones_like(t), t.copy()
    x = t * lam
    e = -np.expm1(-x)
    a = np.exp(-x)
    a[x > FLUSH_X] = 0.0
    return e, a, e * (1.0 / lam)


def condition_estimate(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    h: NDArray,
    lam_a: NDArray,
    lam_b: NDArray,
    inv_norm: NDArray,
    inv_scaled: NDArray,
    g0: NDArray,
    ra0: NDArray,
    rah: NDArray,
    rb0: NDArray,
    rbh: NDArray,
) -> NDArray:
    """Estimated relative condition number of ``G0`` (see
    :attr:`~clln_theory.theory.orbits.Orbit.condition`).

    ``g0 = |G0|``; ``ra0, rah, rb0, rbh`` are ``|G0 - G*_mu|`` and ``|G_half - G*_mu|``.
    """
    g0 = np.maximum(g0, np.finfo(float).tiny)
    # G0 is assembled as G*_alpha + (G_half - G*_alpha) + (G0 - G_half): rounding those sums
    # costs eps (|G*_alpha| + |G_half - G*_alpha|) absolutely, which dominates when |G0| is
    # far below |G*_alpha| (a stiff task beta pulling the orbit onto G*_beta = 0)
    kappa = inv_scaled + (float(np.linalg.norm(task_a.G_star)) + rah) / g0
    nB = float(np.linalg.norm(B))
    for task, lam, r0, rh in ((task_a, lam_a, ra0, rah), (task_b, lam_b, rb0, rbh)):
        norm = float(task.eigvals[-1])
        if norm == 0.0:
            continue
        lo = float(lam[0])
        # largest entry of h phi_1(-h M): the flow's sensitivity to a perturbation of its rate
        phi_max = h if lo == 0.0 else -np.expm1(-h * lo) * (1.0 / lo)
        R = np.maximum(r0, rh) + (float(np.linalg.norm(task.G_star)) + nB / norm)
        kappa += inv_norm * phi_max * (norm * R / g0)
    return kappa


def solve_2x2(
    ea0: NDArray,
    ea1: NDArray,
    sa0: NDArray,
    sa1: NDArray,
    eb0: NDArray,
    eb1: NDArray,
    W: NDArray,
    r: tuple[NDArray, NDArray] | NDArray,
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """``S z = r`` for two gates by explicit algebra, vectorized over the periods (columns).

    ``S = diag(ea) + V V^T`` with ``V = diag(sa) W diag(sqrt(eb))``; its determinant is a sum of
    four non-negative terms (no cancellation). Returns ``z0``, ``z1``, ``|S^-1|_2`` (exact, from
    the eigenvalues of ``S``) and ``|S_hat^-1|_2`` of the Jacobi-scaled ``S_hat`` (exact).
    """
    w00, w01, w10, w11 = (float(v) for v in W.ravel())
    detW2 = (w00 * w11 - w01 * w10) ** 2
    F00 = (w00 * w00) * eb0 + (w01 * w01) * eb1  # W diag(eb) W^T = E_beta(h), alpha basis
    F11 = (w10 * w10) * eb0 + (w11 * w11) * eb1
    F01 = (w00 * w10) * eb0 + (w01 * w11) * eb1
    s00 = sa0 * sa0
    s11 = sa1 * sa1
    t00 = s00 * F00
    t11 = s11 * F11
    S00 = ea0 + t00
    S11 = ea1 + t11
    S01 = (sa0 * sa1) * F01
    det = ea0 * ea1 + ea0 * t11 + ea1 * t00 + (s00 * s11) * (eb0 * eb1) * detW2
    if not np.all(det > 0):
        raise SingularSystemError(SINGULAR_MESSAGE)
    r0, r1 = r[0], r[1]
    inv_det = 1.0 / det
    z0 = (S11 * r0 - S01 * r1) * inv_det
    z1 = (S00 * r1 - S01 * r0) * inv_det
    half_diff = 0.5 * (S00 - S11)
    lam_max = 0.5 * (S00 + S11) + np.sqrt(half_diff * half_diff + S01 * S01)
    g = np.sqrt(S00 * S11)
    # 1 - |rho| = det / (g (g + |S01|)): |S_hat^-1| = 1 / (1 - |rho|) without cancellation
    return z0, z1, lam_max * inv_det, g * (g + np.abs(S01)) * inv_det


def scaled_gram(f: Factors, W: NDArray, sl: slice) -> tuple[NDArray, NDArray]:
    """Jacobi-scaled ``S_hat = D^-1 S D^-1`` (unit diagonal) and ``d = sqrt(diag S)`` for the
    periods ``sl``, with ``S = diag(ea) + diag(sa) W diag(eb) W^T diag(sa)``.

    ``W diag(eb) W^T`` for all periods is one GEMM ``eb @ [W_ik W_jk]_{k, (i, j)}`` of
    ``2 m^3`` flops per period (m^2 (m + 1) of them needed, by symmetry).
    """
    eb, sa, ea = f.eb[sl], f.sa[sl], f.ea[sl]
    t, m = eb.shape
    WW = (W[:, None, :] * W[None, :, :]).reshape(m * m, m)
    S = (eb @ WW.T).reshape(t, m, m)
    d2 = ea + sa * sa * np.einsum("tii->ti", S)
    d = np.sqrt(d2)
    rs = sa / d
    S *= rs[:, :, None]
    S *= rs[:, None, :]
    S[:, np.arange(m), np.arange(m)] = 1.0  # = ea / d^2 + (row norm of V_hat)^2 exactly
    return S, d


def solve_spd(f: Factors, W: NDArray, r: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``S z = r`` for m >= 3 gates: Cholesky of the Jacobi-scaled ``S`` of every period.

    ``m < STACK_MAX_N``: numpy stacks (``cholesky`` and ``solve`` on (T, m, m), in chunks);
    up to ``LOOP_MIN_N``: the stack is built at once and LAPACK ``dposv`` is called per
    period; beyond: per period ``dsyrk`` + ``dpotrf`` + ``dpotrs`` (BLAS-3 dominated).
    ``|S_hat^-1|`` is estimated by ``max_i 1 / L_ii^2`` over the Cholesky pivots (a lower bound
    on it: each pivot is a Schur complement), ``|S^-1| <= |S_hat^-1| / min(diag S)``.
    """
    T, m = r.shape
    z = np.empty_like(r)
    piv = np.empty((T, m))  # Cholesky pivots L_ii of S_hat
    dd = np.empty((T, m))
    if m >= LOOP_MIN_N:
        syrk_loop(f, W, r, z, piv, dd)
    else:
        step = max(1, CHUNK_ENTRIES // (m * m))
        diag = np.arange(m)
        for s in range(0, T, step):
            sl = slice(s, s + step)
            S, d = scaled_gram(f, W, sl)
            rs = r[sl] / d
            dd[sl] = d

            def rebuild(i: int, s: int = s) -> NDArray:
                return scaled_gram(f, W, slice(s + i, s + i + 1))[0][0]

            if m < STACK_MAX_N:
                try:
                    L = np.linalg.cholesky(S)
                except np.linalg.LinAlgError:
                    z[sl], piv[sl] = per_period(S, rs, rebuild)
                    continue
                z[sl] = np.linalg.solve(S, rs[..., None])[..., 0]
                piv[sl] = L[:, diag, diag]
            else:
                z[sl], piv[sl] = per_period(S, rs, rebuild)
    z /= dd
    inv_scaled = np.max(1.0 / (piv * piv), axis=-1)
    inv_norm = inv_scaled / np.min(dd * dd, axis=-1)
    return z, inv_norm, inv_scaled


def per_period(
    S: NDArray, rs: NDArray, rebuild: Callable[[int], NDArray]
) -> tuple[NDArray, NDArray]:
    """LAPACK ``dposv`` on each scaled ``S`` of a stack (C order: ``S[i].T`` is the same
    symmetric matrix in Fortran order, factored in place); ``rebuild(i)`` gives ``S[i]`` anew
    for the fallback when Cholesky fails."""
    t, m = rs.shape
    z = np.empty_like(rs)
    piv = np.empty((t, m))
    for i in range(t):
        c, x, info = _dposv(S[i].T, rs[i], lower=1, overwrite_a=1)
        if info != 0:
            x, piv[i] = lu_fallback(rebuild(i), rs[i])
        else:
            piv[i] = np.diagonal(c)
        z[i] = x
    return z, piv


def lu_fallback(Sf: NDArray, rt: NDArray) -> tuple[NDArray, NDArray]:
    """Solve a numerically semidefinite scaled ``S`` (Cholesky failed) by LU, with a warning,
    or raise :class:`SingularSystemError`; returns ``z`` and pseudo-pivots ``1 / sqrt(cond)``."""
    cond = float(np.linalg.cond(Sf))
    if not np.isfinite(cond) or cond * EPS >= 0.5:
        raise SingularSystemError(SINGULAR_MESSAGE + f" (condition number {cond:.3g})")
    warnings.warn(
        f"The closed-orbit system is numerically semidefinite (Cholesky failed; condition "
        f"number {cond:.3g}: a nearly common null direction of M_alpha and M_beta). Solved by "
        f"LU; expect a relative error in G0 up to ~{cond * EPS:.1e}.",
        AccuracyWarning,
        stacklevel=7,  # the caller of periodic_orbit
    )
    x = scipy.linalg.solve(Sf, rt, assume_a="gen", check_finite=False)
    return x, np.full(rt.size, 1.0 / np.sqrt(cond))


def syrk_loop(f: Factors, W: NDArray, r: NDArray, z: NDArray, piv: NDArray, dd: NDArray) -> None:
    """Large m: per period ``dsyrk`` (``m^2 (m + 1)`` flops), ``dpotrf`` (``m^3 / 3``) and
    ``dpotrs`` on the Jacobi-scaled ``S``; fills ``z`` (scaled), ``piv`` and ``dd`` in place."""
    T, m = r.shape
    # d^2 = diag S = ea + sa^2 (W o W) eb for every period at once (one GEMM)
    d2 = f.ea + f.sa * f.sa * (f.eb @ (W * W).T)
    d = np.sqrt(d2)
    dd[:] = d
    rs = f.sa / d  # row scaling of V_hat = D^-1 V
    diag_hat = f.ea / d2
    rhs = r / d
    sq = np.sqrt(f.eb)
    Wc = np.ascontiguousarray(W)
    Vh = np.empty((m, m))
    Sbuf = np.empty((m, m), order="F")
    for t in range(T):
        np.multiply(Wc, sq[t][None, :], out=Vh)
        Vh *= rs[t][:, None]  # V_hat in C order: Vh.T is V_hat^T in Fortran order, no copy
        # S = (V_hat^T)^T V_hat^T with trans=1: OpenBLAS's faster SYRK variant here (~70 vs
        # ~65 GFLOP/s at m = 256, one thread), and the lower-triangle Cholesky (~34 vs ~23)
        S = _dsyrk(1.0, Vh.T, beta=0.0, c=Sbuf, lower=1, trans=1, overwrite_c=1)
        S.reshape(-1, order="F")[:: m + 1] += diag_hat[t]
        L, info = _dpotrf(S, lower=1, overwrite_a=1, clean=0)
        if info != 0:
            S = _dsyrk(1.0, Vh.T, beta=0.0, lower=1, trans=1)
            Sf = np.tril(S) + np.tril(S, -1).T + np.diag(diag_hat[t])
            z[t], piv[t] = lu_fallback(Sf, rhs[t])
            continue
        z[t], info = _dpotrs(L, rhs[t], lower=1)
        piv[t] = np.diagonal(L)
