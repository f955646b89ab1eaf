"""Numerical kernels shared by the linear theory's modules (private to the theory room).

Everything here works on already validated float arrays: the public functions of
:mod:`~clln_theory.theory.linear`, :mod:`~clln_theory.theory.orbits` and
:mod:`~clln_theory.theory.asymptotics` check their arguments first. The functions have public
names so that the theory's modules can share them; they are not part of the package's API.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import ArgumentError, TaskError

__all__ = [
    "DENSE_MAX_N",
    "EPS",
    "MAX_RATE",
    "PSD_TOL",
    "RATE_TOL",
    "SYM_TOL",
    "check_rate_matrix",
    "dense_spectrum",
    "flow_dense",
    "flow_factor",
    "half_period_arrays",
    "knee_period",
    "phi1_times",
    "rank_threshold",
    "require_finite",
    "scaled_norm",
    "thin_eig",
]

#: Machine epsilon of float64 (2.2e-16): the relative rounding of one operation.
EPS = np.finfo(float).eps

#: Absolute rank threshold on the eigenvalues of ``M``, as rates in 1/s. A mode relaxing slower
#: than once per ~30 years (1e-9 1/s) is indistinguishable from a zero mode in any experiment.
RATE_TOL = 1e-9

#: Relative symmetry tolerance: ``max|M - M.T| <= sym_tol * max|M|``. Hessians assembled in
#: floating point (adjoint or Gauss-Newton sums) are symmetric to ~1e-14 relative; finite
#: differences to ~1e-8. Larger asymmetry means the input is not a Hessian.
SYM_TOL = 1e-8

#: Relative tolerance on negative eigenvalues: an eigenvalue ``lam < 0`` is accepted (and clipped
#: to 0) when ``-lam <= psd_tol * max|lam| + rate_tol``. Round-off in an n x n symmetric
#: eigensolver is ~n * eps * max|lam|, far below 1e-8 for any practical n.
PSD_TOL = 1e-8

#: Largest ``n`` for which a low-rank task (``LinearTask.from_factor``) forms its dense
#: attributes (``M``, ``eigvals``, ``eigvecs``, ``M_pinv``, ``N``) on first access: at 2,048 gates
#: each is a 32 MB ``n x n`` array and the complete basis costs about a second; beyond, the
#: access raises ArgumentError (use ``factor``, ``range_basis``, ``range_eigvals``).
DENSE_MAX_N = 2048

#: Largest |M| entry, 1/s. The paper's rates are ~1e2 1/s; beyond 1e150 the products M·B·τ
#: and the eigen-decomposition's squares leave float64's range (1e308) for ordinary B and τ.
MAX_RATE = 1e150


def require_finite(a: NDArray, name: str) -> None:
    """Raise TaskError naming the first NaN or inf entry of a task's data ``a``."""
    if not np.all(np.isfinite(a)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise TaskError(
            f"Argument `{name}` must be finite, but {name}[{', '.join(map(str, idx))}] = "
            f"{a[idx]!r}."
        )


def check_rate_matrix(M: NDArray, sym_tol: float) -> None:
    """Refuse a (finite, square) rate matrix that would overflow or is not symmetric.

    ArgumentError when ``max|M| > MAX_RATE``; TaskError when ``max|M - M.T| > sym_tol max|M|``.
    """
    scale = float(np.max(np.abs(M)))
    if scale > MAX_RATE:
        raise ArgumentError(
            f"Argument `M` must have entries of magnitude <= {MAX_RATE:g} 1/s, but has "
            f"max|M| = {scale:.3g}; rescale time (the orbit arithmetic would overflow)."
        )
    asym = float(np.max(np.abs(M - M.T)))
    if asym > sym_tol * scale:
        raise TaskError(
            f"Argument `M` must be symmetric, but max|M - M.T| = {asym:.3g} exceeds "
            f"sym_tol * max|M| = {sym_tol * scale:.3g}; pass the symmetric part or a "
            "larger `sym_tol`."
        )


def dense_spectrum(
    M: NDArray, G_star: NDArray, rate_tol: float, psd_tol: float
) -> dict[str, NDArray | int | float]:
    """The cached attributes of a dense ``LinearTask`` from a checked ``M`` and ``G_star``.

    Symmetrizes ``M``, decomposes it once, refuses eigenvalues below ``-(psd_tol max|eig| +
    rate_tol)`` (TaskError) and returns read-only ``M``, ``G_star``, ``eigvals`` (clipped at 0),
    ``eigvecs``, ``M_pinv``, ``N`` with ``rank`` and ``rank_threshold``.
    """
    n = M.shape[0]
    M = 0.5 * M + 0.5 * M.T  # no overflow of M + M.T
    lam, U = np.linalg.eigh(M)
    lam_abs_max = float(np.max(np.abs(lam))) if n else 0.0
    if lam[0] < -(psd_tol * lam_abs_max + rate_tol):
        raise TaskError(
            f"Argument `M` must be positive semi-definite, but has eigenvalue {lam[0]:.6g} "
            f"1/s (below -(psd_tol * max|eig| + rate_tol) = "
            f"{-(psd_tol * lam_abs_max + rate_tol):.3g}); a rate matrix is a "
            "Hessian at a minimum of C."
        )
    lam = np.clip(lam, 0.0, None)
    thr = rank_threshold(rate_tol, n, lam[-1])
    keep = lam > thr
    inv = np.zeros_like(lam)
    inv[keep] = 1.0 / lam[keep]
    M_pinv = (U * inv) @ U.T
    Un = U[:, ~keep]
    N = Un @ Un.T
    out: dict[str, NDArray | int | float] = {}
    for name, arr in (
        ("M", M),
        ("G_star", G_star),
        ("eigvals", lam),
        ("eigvecs", U),
        ("M_pinv", M_pinv),
        ("N", N),
    ):
        arr.setflags(write=False)
        out[name] = arr
    out["rank"] = int(np.count_nonzero(keep))
    out["rank_threshold"] = thr
    return out


def rank_threshold(rate_tol: float, n: int, lam_max: float) -> float:
    """The rank threshold (1/s) for ``n`` eigenvalues up to ``lam_max``.

    ``max(rate_tol, n * eps * lam_max)``: eigenvalues at or below it count as zero. The second
    term is the round-off level of a symmetric eigensolver on an ``n x n`` matrix.
    """
    return max(float(rate_tol), n * EPS * float(lam_max))


def phi1_times(lam: NDArray, t: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Return ``e = 1 - exp(-t lam)``, ``a = exp(-t lam)`` and ``phi = e / lam`` (``t`` at 0).

    ``lam`` has shape ``(n,)``, ``t`` any shape; outputs have shape ``t.shape + (n,)``. ``phi``
    equals ``t * phi_1(-t lam)`` and is accurate to a few ulps for every ``t lam >= 0``.
    """
    x = np.multiply.outer(t, lam)
    e = -np.expm1(-x)
    a = np.exp(-x)
    pos = x > 0
    ratio = np.divide(e, x, out=np.ones_like(x), where=pos)
    phi = ratio * np.asarray(t)[..., None]
    return e, a, phi


def flow_factor(
    F: NDArray, U: NDArray, lam: NDArray, G_star: NDArray, G0: NDArray, t: NDArray, B: NDArray
) -> NDArray:
    """(D4)/(D5) from ``G0`` at times ``t`` for ``M = F F^T`` with thin basis ``U`` and ``lam``.

    The range of ``F`` in its thin basis, drift ``t v`` on the rest; ``O(n r)`` per time.
    """
    v = -((G0 - G_star) @ F) @ F.T + B  # (D2) at G0, O(n r)
    c = v @ U
    _, _, phi = phi1_times(lam, t)
    G = G0 + (phi * c) @ U.T
    if U.shape[1] < U.shape[0]:  # a complement exists (else v - U c is round-off times t)
        G += np.multiply.outer(t, v - U @ c)
    return G


def flow_dense(
    U: NDArray, lam: NDArray, M: NDArray, G_star: NDArray, G0: NDArray, t: NDArray, B: NDArray
) -> NDArray:
    """(D4)/(D5) of the paper from ``G0`` at times ``t`` (any shape), on validated input.

    ``G0 + U diag(phi) U^T v`` with ``v = -M (G0 - G_star) + B`` the initial velocity of (D2)
    and ``phi`` from :func:`phi1_times`; returns shape ``t.shape + (n,)``.
    """
    v = U.T @ (-(G0 - G_star) @ M + B)  # (D2) at G0, in the eigenbasis
    _, _, phi = phi1_times(lam, t)  # (D4) with phi_1 = (D5)
    return G0 + (phi * v) @ U.T


def half_period_arrays(
    U: NDArray, lam: NDArray, M: NDArray, G_star: NDArray, B: NDArray, h: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """``A = exp(-h M)`` (D8), ``E = 1 - A`` and ``b`` (D9) in the eigenbasis ``U``, ``lam``.

    ``b = U diag((1 - exp(-h lam)) / lam) U^T (M G_star + B)`` (the phi_1 form); a leading
    ``h.shape`` on every output.
    """
    e, a, phi = phi1_times(lam, h)
    c = U.T @ (M @ G_star + B)
    A = np.einsum("ik,...k,jk->...ij", U, a, U)  # (D8)
    E = np.einsum("ik,...k,jk->...ij", U, e, U)
    b = (phi * c) @ U.T  # (D9)
    return A, E, b


def thin_eig(F: NDArray) -> tuple[NDArray, NDArray]:
    """Nonzero spectrum of ``M = F F^T`` from the thin SVD of ``F`` (n, r), never forming ``M``.

    Returns ``U`` (n, min(n, r)) with orthonormal columns and ``lam`` (ascending, ``>= 0``) with
    ``M = U diag(lam) U^T``: QR of ``F`` then SVD of its ``r x r`` triangle (``O(n r^2)``) when
    ``r <= n``, a thin SVD of ``F`` otherwise.
    """
    n, r = F.shape
    if r == 0:
        return np.zeros((n, 0)), np.zeros(0)
    if r <= n:
        Qf, R = np.linalg.qr(F)
        Ur, s, _ = np.linalg.svd(R)
        U = Qf @ Ur
    else:
        U, s, _ = np.linalg.svd(F, full_matrices=False)
    order = np.argsort(s)
    return np.ascontiguousarray(U[:, order]), s[order] ** 2


def scaled_norm(x: NDArray) -> float:
    """Euclidean norm of a vector without underflow or overflow of its squares (BLAS nrm2 style).

    ``np.linalg.norm`` squares the entries: a vector of 1e-300 V/s has norm 0 and one of 1e200 has
    norm inf; scaling by the largest entry first keeps every representable norm.
    """
    x = np.asarray(x, dtype=float)
    s = float(np.max(np.abs(x), initial=0.0))
    if s == 0.0 or not np.isfinite(s):
        return s
    return s * float(np.linalg.norm(x / s))


def knee_period(cs: float, cl: float, d0: NDArray, d1: NDArray) -> float:
    """Where ``cs tau = |d0 + (tau/2) d1|`` (the knee of ``crossover_tau``), s; NaN if none.

    The positive root of ``(cs^2 - cl^2) tau^2 - (d0 . d1) tau - |d0|^2 = 0`` with
    ``cl = |d1| / 2``, unique when ``cs > cl``. The root does not depend on the scale of the
    bias, so the coefficients are first scaled to ~1: their squares neither underflow (a tiny
    ``B``) nor overflow (a huge one).
    """
    unit = max(
        cs, cl, float(np.max(np.abs(d0), initial=0.0)), float(np.max(np.abs(d1), initial=0.0))
    )
    if unit > 0:
        cs, cl, d0, d1 = cs / unit, cl / unit, d0 / unit, d1 / unit
    a2 = cs * cs - cl * cl
    a1 = -float(d0 @ d1)
    a0 = -float(d0 @ d0)
    if not (a2 > 0 and a0 < 0):
        return float("nan")
    disc = np.sqrt(a1 * a1 - 4.0 * a2 * a0)
    # positive root of a2 t^2 + a1 t + a0, in the form without cancellation
    return float((-a1 + disc) / (2.0 * a2) if a1 <= 0 else -2.0 * a0 / (a1 + disc))
