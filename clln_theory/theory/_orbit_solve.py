"""The dense closed orbit on checked values: split, couplings, float64 solve, mpmath redo.

The engine of :func:`~clln_theory.theory.orbits.periodic_orbit` (whose module docstring gives the
algebra): the common nullspace is split off (``_nullspace``), the float64 kernels of
``_orbit_float`` solve every period, and the periods that ``dps`` or ``rtol`` ask for go to the
mpmath route of ``_orbit_mp``. Inputs are validated by the face. Public names for the theory's
modules; not part of the package's API.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import AccuracyWarning, SingularSystemError
from ._nullspace import ACCURACY_WARN_LEVEL, NullSplit, common_null
from ._orbit_float import SINGULAR_MESSAGE, orbit_float
from ._orbit_mp import orbit_mpmath
from ._spectral import EPS
from .linear import LinearTask

__all__ = ["RTOL_SAFETY", "DenseOrbit", "dense_orbit", "null_coupling", "solve"]

#: Safety factor on the attainable-accuracy estimate ``eps * Orbit.condition`` when deciding,
#: for ``periodic_orbit(..., rtol=...)``, which periods float64 cannot deliver: the engine's
#: observed error stayed within 9.8 eps * kappa * |G0| (typically 1.2) over 1,960 sampled (pair,
#: tau) cases, tau = 1e-9..1e3 s (tests/benchmarks/survey_accuracy.py).
RTOL_SAFETY = 30.0


@dataclass(frozen=True, slots=True)
class DenseOrbit:
    """The per-period arrays of a dense orbit (T periods) and its common-null split ``Q``."""

    G0: NDArray
    G_half: NDArray
    span_periodic: NDArray
    cond: NDArray
    used_dps: NDArray
    Q: NDArray
    null_coupling: float


def dense_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    rate_tol: float,
    *,
    dps: int | None,
    rtol: float | None,
) -> DenseOrbit:
    """The closed orbit of two checked dense tasks for the periods ``taus`` (T,)."""
    split = common_null(task_a, task_b, rate_tol)
    coupling = null_coupling(task_a, task_b, split)
    G0, G_half, span, cond, used_dps = solve(
        task_a, task_b, B, taus, G_ref, split, coupling, dps=dps, rtol=rtol
    )
    return DenseOrbit(
        G0=G0,
        G_half=G_half,
        span_periodic=np.asarray(span, dtype=float),
        cond=cond,
        used_dps=used_dps,
        Q=split.Q,
        null_coupling=coupling,
    )


def null_coupling(task_a: LinearTask, task_b: LinearTask, split: NullSplit) -> float:
    """How well the inputs determine the split (``Orbit.null_coupling``); warns when
    ``M_alpha + M_beta`` is ill-conditioned on the complement of the common nullspace.

    Splitting off the common nullspace drops the couplings ``P^T M_mu Q``, zero for exactly PSD
    inputs with an exact shared null but of the size of the inputs' indefiniteness otherwise
    (``LinearTask`` accepts eigenvalues down to ``-psd_tol``). Relative to the slowest rate kept
    they bound how well the split, and so ``G0``, is determined by the inputs at all, whatever
    the arithmetic: ``null_coupling`` reports it and ``condition`` includes it.
    """
    n, k = task_a.n, split.Q.shape[1]
    lam_S, null, P, Q = split.lam, split.null, split.P, split.Q
    if lam_S is None:  # Weyl's bounds: no common null direction, well-conditioned sum
        return 0.0
    null_coupling = 0.0
    if 0 < k < n:
        coupling = max(np.linalg.norm(P.T @ task_a.M @ Q, 2), np.linalg.norm(P.T @ task_b.M @ Q, 2))
        null_coupling = float((coupling + np.max(np.abs(lam_S[null]))) / lam_S[~null][0])
    if k < n:
        cond = float(lam_S[-1] / lam_S[~null][0])
        if cond * EPS > ACCURACY_WARN_LEVEL:
            warnings.warn(
                f"M_alpha + M_beta has condition number {cond:.3g} on the complement of the "
                f"common nullspace: expect a relative error in G0 up to ~{cond * EPS:.1e}.",
                AccuracyWarning,
                stacklevel=5,  # the caller of periodic_orbit
            )
    return null_coupling


def solve(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    taus: NDArray,
    G_ref: NDArray,
    split: NullSplit,
    null_coupling: float,
    *,
    dps: int | None,
    rtol: float | None,
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """``G0``, ``G_half``, periodic span, ``condition`` and ``dps`` of every period: mpmath
    when ``dps`` is given, else float64 with the periods ``rtol`` needs redone in mpmath."""
    if dps is not None:
        G0, G_half, span = orbit_mpmath(task_a, task_b, B, taus, G_ref, split.thr, dps)
        return G0, G_half, span, np.full(taus.size, np.nan), np.full(taus.size, dps)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        G0, G_half, span, cond = orbit_float(task_a, task_b, B, taus, G_ref, split.P, split.Q)
    if not (np.all(np.isfinite(G0)) and np.all(np.isfinite(G_half))):
        raise SingularSystemError(SINGULAR_MESSAGE)
    cond = cond + null_coupling / EPS
    used_dps = np.zeros(taus.size, dtype=int)
    if rtol is None:
        return G0, G_half, span, cond, used_dps
    if RTOL_SAFETY * null_coupling > rtol:
        warnings.warn(
            f"rtol={rtol:.1e} cannot be met: the common nullspace of M_alpha and M_beta is "
            f"only determined to a relative {null_coupling:.1e} by the inputs (their "
            "couplings to it, or their eigenvalues in it, are not zero: slightly indefinite "
            "inputs or a rate_tol too large); no precision helps. Returning float64.",
            AccuracyWarning,
            stacklevel=5,  # the caller of periodic_orbit
        )
        return G0, G_half, span, cond, used_dps
    redo = ~(RTOL_SAFETY * EPS * cond <= rtol)
    if np.any(redo):
        # digits: those lost to conditioning, those asked for, and a margin of 10
        need = np.log10(RTOL_SAFETY * np.max(cond[redo])) - np.log10(rtol)
        n_dps = max(30, int(np.ceil(need)) + 10)
        G0m, Ghm, spm = orbit_mpmath(task_a, task_b, B, taus[redo], G_ref, split.thr, n_dps)
        G0[redo], G_half[redo], span[redo] = G0m, Ghm, spm
        used_dps[redo] = n_dps
    return G0, G_half, span, cond, used_dps
