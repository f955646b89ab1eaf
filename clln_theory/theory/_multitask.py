"""Engine of K tasks trained in a cycle (``theory/multitask.py``, ``theory/stochastic.py``).

On checked tasks and arrays: the common nullspace of all tasks split off, the segment maps
(D8)/(D9) and the telescoped fixed-point system. Public names for the theory's modules; not part
of the package's API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._spectral import phi1_times, rank_threshold
from .linear import LinearTask

__all__ = ["ReducedTasks", "reduce_tasks", "segment_maps", "telescoped"]


@dataclass(frozen=True, slots=True)
class ReducedTasks:
    """The K tasks on the complement of their common nullspace.

    ``P`` (n, m) and ``Q`` (n, k) are orthonormal bases of the complement and of the common
    nullspace; ``lam[k]``, ``U[k]`` the eigen-decomposition of ``P^T M_k P``; ``c[k] = P^T M_k
    (G*_k - ref) + P^T B`` the velocity (D2) at ``ref`` in those coordinates, so that the
    segment maps act on ``y = P^T (G - ref)``.
    """

    P: NDArray
    Q: NDArray
    ref: NDArray
    lam: tuple[NDArray, ...]
    U: tuple[NDArray, ...]
    c: tuple[NDArray, ...]
    M: tuple[NDArray, ...]


def reduce_tasks(tasks: tuple[LinearTask, ...], B: NDArray, rate_tol: float) -> ReducedTasks:
    """Split off the common nullspace of all tasks (the nullspace of ``sum_k M_k``).

    Without a common null direction the tasks' own cached eigendecompositions are used (``P =
    I``); with one, the reduced ``P^T M_k P`` are decomposed anew.
    """
    n = tasks[0].n
    M_sum = tasks[0].M.copy()
    for t in tasks[1:]:
        M_sum = M_sum + t.M
    ref = tasks[0].G_star
    lam_S, U_S = np.linalg.eigh(M_sum)
    thr = rank_threshold(rate_tol, n, max(float(lam_S[-1]), 0.0))
    null = lam_S <= thr
    if not np.any(null):
        P, Q = np.eye(n), np.zeros((n, 0))
        lam = tuple(t.eigvals for t in tasks)
        U = tuple(t.eigvecs for t in tasks)
        M = tuple(t.M for t in tasks)
    else:
        P, Q = U_S[:, ~null], U_S[:, null]
        M = tuple(P.T @ t.M @ P for t in tasks)
        M = tuple(0.5 * (m + m.T) for m in M)
        eig = [np.linalg.eigh(m) for m in M]
        lam = tuple(np.clip(e[0], 0.0, None) for e in eig)
        U = tuple(e[1] for e in eig)
    c = tuple(P.T @ (t.M @ (t.G_star - ref) + B) for t in tasks)
    return ReducedTasks(P=P, Q=Q, ref=ref, lam=lam, U=U, c=c, M=M)


def segment_maps(red: ReducedTasks, h: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``A_k``, ``E_k = I - A_k`` and ``b_k`` of every segment, in reduced coordinates.

    ``h`` has shape (T, K); returns ``A``, ``E`` of shape (T, K, m, m) and ``b`` (T, K, m), with
    ``b_k = U diag((1 - exp(-h lam)) / lam) U^T c_k`` (the phi_1 form of (D9)).
    """
    T, K = h.shape
    m = red.P.shape[1]
    A = np.empty((T, K, m, m))
    E = np.empty((T, K, m, m))
    b = np.empty((T, K, m))
    for k in range(K):
        U = red.U[k]
        e, a, phi = phi1_times(red.lam[k], h[:, k])
        A[:, k] = np.einsum("ik,tk,jk->tij", U, a, U)
        E[:, k] = np.einsum("ik,tk,jk->tij", U, e, U)
        b[:, k] = (phi * (U.T @ red.c[k])) @ U.T
    return A, E, b


def telescoped(A: NDArray, E: NDArray, b: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``I - Pi_K = sum_k E_k Pi_{k-1}``, ``Pi_K`` and ``c = sum_k A_K..A_{k+1} b_k``.

    Inputs of shape (T, K, m, m) and (T, K, m); no ``I - Pi`` is formed (see the module
    docstring).
    """
    T, K, m, _ = A.shape
    Pi = np.broadcast_to(np.eye(m), (T, m, m)).copy()
    S = np.zeros((T, m, m))
    c = np.zeros((T, m))
    for k in range(K):
        S += E[:, k] @ Pi
        Pi = A[:, k] @ Pi
        c = np.einsum("tij,tj->ti", A[:, k], c) + b[:, k]
    return S, Pi, c
