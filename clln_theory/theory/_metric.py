"""The diagonal metric of a differential output (engine; Fig. 1 and the reproduction pipeline).

*Why a metric.* With a differential output the clamped state moves ``O+`` by ``+delta/2`` and
``O-`` by ``-delta/2`` (both nodes imposed), while the output responds to the gates through the
free network: the force Jacobian of a one-point task at its solution is ``M = a b^T`` (rank one)
with ``a`` the learning response of each edge to the two-node clamp and ``b = dO/dG``, not
parallel (`clln_theory.theory.linearize` refuses it: no gradient flow). In a linear network both
responses are fields of the same network at the same gates, independent of the inputs, so the
ratio ``W_i = b_i / a_i`` (up to one constant per task) is the same for every task. In the
coordinates ``y = d G`` with ``d = sqrt(W)`` every task becomes symmetric rank-one
``M~ = (d^-1 b)(d^-1 b)^T / kappa``, and because ``d`` is diagonal a gate box stays a box
(``d lo``, ``d hi``) and a bias ``B`` becomes ``d B``: the closed-form orbits and box orbits of
the theory room apply unchanged, and every state maps back as ``G = y / d``. Edges with
``a_i b_i <= 0`` (an edge whose two responses disagree in sign, or an edge no task moves) get
``W_i = 1``: there the learning response is replaced by ``b_i / kappa``; `symmetrize` reports
the relative change of ``a`` this makes per task (0.4 % on the Fig. 1 preset).

The metric is not a workaround for a wrong Jacobian: ``W`` is, up to a constant, the metric of
the exact identity ``J = W⁻¹ ∇²C / η`` at a solution (``W_e = K_eff dλ_O,e / dμ_e``; see
`clln_theory.theory._linearize` and ``tests/theory/test_jacobian.py``): the two-node clamp is
a gradient flow of ``C`` only in that metric, exactly where ``W > 0`` on every edge. Tasks
linearized at different points (the reproduction's, each at its own solution) share ``W`` only
approximately (``W`` is a field of the network at the gates); per gate the ratio of the task
that moves it most is taken.

Checked values in; public names for the experiments room's engines only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..electrical._kirchhoff import KirchhoffSolver
from ..model.network import Network
from ..model.tasks import Task
from ._adjoint import DELTA_TOL, force_of, jacobian_of, nudged
from ._linearize import require_solution
from .linear import LinearTask

__all__ = ["Metric", "rate_matrix", "reduced_pair", "symmetrize"]

#: A one-point task's Jacobian is rank one: its second singular value is round-off (~1e-16
#: relative on the preset); 1e-6 leaves room for ill-conditioned networks and still refuses a
#: genuinely rank-two Jacobian.
_RANK_ONE_RTOL = 1e-6


@dataclass(frozen=True, slots=True)
class Metric:
    """The diagonal metric of `symmetrize` and the symmetric tasks it gives.

    Attributes
    ----------
    d : (n,) ndarray
        ``y = d * G``.
    tasks : tuple of LinearTask
        The tasks in ``y`` coordinates (rank-one, symmetric).
    change : tuple of float
        Per task, ``|a_eff - a| / |a|``: how much the learning response was changed.
    replaced : tuple of int
        Gates whose ratio ``b_i / a_i`` was not positive (``W_i = 1`` there).
    ratio : (n,) ndarray
        The ratio ``b_i / a_i`` per gate before the replacement (each task's scaled to median
        1 over its positive entries; ``W`` where it is positive).
    """

    d: np.ndarray
    tasks: tuple[LinearTask, ...]
    change: tuple[float, ...]
    replaced: tuple[int, ...]
    ratio: np.ndarray


def rate_matrix(
    network: Network, task: Task, G_star: np.ndarray, gamma: float, eta: float, solution_tol: float
) -> np.ndarray:
    """``gamma J`` (1/s) at the solution ``G_star`` of a checked ``task``, not required to be
    symmetric: the Jacobian of `clln_theory.theory._linearize.linearize_at` (same engines, same
    curvature choice and solution check) without its symmetry refusal."""
    s = KirchhoffSolver(network, G_star, task)
    free = s.free_state()
    ad, delta, eta_p, Delta = nudged(s, free, task, eta)
    J = np.array(jacobian_of(ad, delta, eta_p, Delta, task, eta, "solution", DELTA_TOL).J)
    require_solution(G_star, force_of(s, free, task, eta_p), solution_tol, float(np.max(np.abs(J))))
    return gamma * J


def _rank_one(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``M = a b^T`` with ``b`` a unit vector and ``b . a > 0``; ValueError if not rank one."""
    U, s, Vt = np.linalg.svd(M)
    if s[0] <= 0 or s[1] > _RANK_ONE_RTOL * s[0]:
        raise ValueError(f"a one-point task's Jacobian is not rank one (singular values {s[:2]})")
    a, b = U[:, 0] * s[0], Vt[0]
    return (a, b) if float(b @ a) > 0 else (-a, -b)


def symmetrize(Ms: list[np.ndarray], G_star: np.ndarray, rate_tol: float) -> Metric:
    """The metric ``d`` and the symmetric tasks ``LinearTask(M~, d G*)`` of rank-one rate
    matrices ``Ms`` (1/s) linearized at ``G_star``: one (n,) point shared by every task, or one
    point per task (K, n) (see the module docstring). ValueError unless every M is rank one."""
    factors = [_rank_one(M) for M in Ms]
    A = np.array([a for a, _ in factors])
    Bm = np.array([b for _, b in factors])
    points = np.broadcast_to(G_star, A.shape)
    R = np.divide(Bm, A, out=np.zeros_like(A), where=A != 0)  # b_i / a_i of every task
    for k in range(R.shape[0]):  # each task's ratios carry its own constant: scale it out
        pos = R[k] > 0
        R[k] = R[k] / np.median(R[k][pos]) if np.any(pos) else 0.0
    best = np.argmax(np.abs(A), axis=0)  # per gate, the task that moves it most
    ratio = R[best, np.arange(A.shape[1])]
    good = ratio > 0
    W = np.where(good, ratio, 1.0)
    d = np.sqrt(W)
    tasks, change = [], []
    for (a, b), point in zip(factors, points, strict=True):
        wa = W[good] * a[good]
        kappa = float(b[good] @ wa) / float(wa @ wa)
        m = b / d
        tasks.append(LinearTask(np.outer(m, m) / kappa, d * point, rate_tol=rate_tol))
        change.append(float(np.linalg.norm(b / (kappa * W) - a) / np.linalg.norm(a)))
    replaced = tuple(int(i) for i in np.flatnonzero(~good))
    return Metric(d, tuple(tasks), tuple(change), replaced, ratio)


def reduced_pair(
    tasks: tuple[LinearTask, ...], free: np.ndarray, y: np.ndarray, rate_tol: float
) -> tuple[LinearTask, ...]:
    """The tasks on the ``free`` gates with the others held at ``y``: ``M_FF`` and the solution
    of the free block, ``y*_F - M_FF^+ M_FP (y_P - y*_P)`` (rank one: exact in the range)."""
    out = []
    P = ~free
    for t in tasks:
        M = np.asarray(t.M)
        MFF = M[np.ix_(free, free)]
        shift = np.linalg.pinv(MFF) @ (M[np.ix_(free, P)] @ (y[P] - t.G_star[P]))
        out.append(LinearTask(MFF, t.G_star[free] - shift, rate_tol=rate_tol))
    return tuple(out)
