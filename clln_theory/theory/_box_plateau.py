"""Engine of the gate box: the large-tau plateau, the minimizer of a task's energy over the box.

Task ``mu``'s projected flow is the projected gradient flow of the convex energy
``E_mu(G) = (G - G*)^T M (G - G*) / 2 - B^T G`` (``-v = grad E``). As ``tau -> inf`` each half
period runs to its rest point, the box-constrained minimizer, given by its active set ``P``
(sides ``s``) in closed form::

    G_P = limit_P,    M_FF G_F = b_F - M_FP G_P,    s_j v_j(G) >= 0 on P,    lo_F <= G_F <= hi_F.

The active set comes from the engine's own flow to rest (the last piece's pinned set), checked
against these KKT conditions; a primal-dual active-set iteration repairs a degenerate guess. The
crossover: entering from the other task's plateau, the half settles once ``t`` exceeds the time
``t_settle`` of its last event, after which the distance decays at least as ``exp(-lam_min (t -
t_settle))`` with ``lam_min`` the slowest rate of the final free block.

Takes checked arrays only; public names for the theory's box engines, not part of the API.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..errors import ConvergenceError, SingularSystemError
from ._box import BoxTask, Side, flow

__all__ = ["Settling", "minimizer", "settling"]

Array = NDArray[np.float64]

#: KKT tolerances relative to the engine's position and velocity tolerances: the minimizer is
#: solved to round-off, so a violation a thousand times the flow's tolerance is a wrong face.
_KKT_FACTOR = 1e3
#: "Very long" for the flow to rest, s (every relaxing mode has died out).
_REST_TIME = 1e9


class Settling(NamedTuple):
    """How a half period settles on its plateau from the other one: ``t_settle`` (s, the last
    event), ``rate`` (1/s, slowest rate of the final free block; inf if all gates are pinned)
    and ``distance`` (V, from the plateau at ``t_settle``)."""

    t_settle: float
    rate: float
    distance: float


def _kkt(task: BoxTask, side: Side) -> Array | None:
    """The KKT point on the face ``side``, or None if the face holds none. Raises
    SingularSystemError on a flat face (a null direction of ``M_FF`` without bias)."""
    G = np.where(side > 0, task.hi, task.lo).astype(float)
    blk = task.block(side)
    F = blk.free
    tg, tv = _KKT_FACTOR * task.tol_g, _KKT_FACTOR * task.tol_v
    if F.size:
        rhs = task.b[F] - task.M[np.ix_(F, blk.pinned)] @ G[blk.pinned]
        g = blk.V.T @ rhs
        null = blk.lam <= 0
        if np.any(np.abs(g[null]) > tv):
            return None  # bias along a null direction of the face: it drifts off it
        if np.any(null):
            raise SingularSystemError(
                "The plateau of a task in the gate box is not unique: its optimal face has a "
                "null direction without bias along it, so the rest point depends on where the "
                "half period starts; compute the orbit with `periodic_orbit(..., box=)` instead."
            )
        G[F] = blk.V @ (g / blk.lam)
        if np.any(G[F] < task.lo[F] - tg) or np.any(G[F] > task.hi[F] + tg):
            return None
    P = blk.pinned
    if np.any(side[P] * task.velocity(G)[P] < -tv):
        return None
    return np.minimum(np.maximum(G, task.lo), task.hi)


def minimizer(task: BoxTask) -> tuple[Array, Side]:
    """The minimizer of the task's energy over the box and its active set (``side``)."""
    fl = flow(task, 0.5 * (task.lo + task.hi), _REST_TIME, False)
    _, side = task.resolve(fl.G)
    for _ in range(4 * task.M.shape[0] + 4):
        G = _kkt(task, side)
        if G is not None:
            return G, side
        # primal-dual active set: pin a free gate whose face solution reaches a limit, keep a
        # pinned gate pinned only while its velocity pushes outward (else free it)
        Gf = np.where(side > 0, task.hi, np.where(side < 0, task.lo, fl.G))
        blk = task.block(side)
        if blk.free.size:
            rhs = task.b[blk.free] - task.M[np.ix_(blk.free, blk.pinned)] @ Gf[blk.pinned]
            lam = np.where(blk.lam > 0, blk.lam, np.inf)
            Gf[blk.free] = blk.V @ ((blk.V.T @ rhs) / lam)
        v = task.velocity(Gf)
        new = np.zeros_like(side)
        free = side == 0
        new[(free & (Gf >= task.hi - task.tol_g)) | ((side > 0) & (v > 0))] = 1
        new[(free & (Gf <= task.lo + task.tol_g)) | ((side < 0) & (v < 0))] = -1
        if np.array_equal(new, side):
            break
        side = new
    raise ConvergenceError(
        "No minimizer of the task energy over the gate box was found (the active-set iteration "
        "did not settle); check that the box and the tasks are consistent."
    )


def settling(task: BoxTask, G_enter: Array, G_rest: Array) -> Settling:
    """How the flow of ``task`` from ``G_enter`` settles on ``G_rest``."""
    fl = flow(task, G_enter, _REST_TIME, False)
    last = fl.pieces[-1]
    blk = task.block(last.side)
    pos = blk.lam[blk.lam > 0]
    rate = float(pos[0]) if pos.size else float(np.inf)
    dist = float(np.linalg.norm(last.G - G_rest))
    return Settling(float(last.t_start), rate, dist)
