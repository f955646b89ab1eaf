"""Engine of `clln_theory.theory.relinearized_cycle`: the linear theory re-linearized along its
own cycle (issue 21 item 2, issue 19 (b)).

The linear theory takes each task's rate matrix ``M`` at one solution ``G*``. Where the cycle
runs far from ``G*`` (long periods, a large bias, gates pinned at the gate box), the force there
is not that of ``M(G*)``. Here each task is linearized at the centre of its own stretch of the
cycle instead, and the cycle and the linearizations are iterated to self-consistency:

1. the cycle (the projected dynamics in the box; a box far beyond any gate voltage without one)
   of the current linear tasks;
2. the centre ``c_k`` of task ``k``'s stretch: the state at the middle of the stretch (on the box
   where a gate is pinned then);
3. task ``k`` re-linearized at ``c_k`` (``point="centre"``, the default) or at ``p_k``, the
   point of its solution set nearest ``c_k`` (``point="nearest"``);
4. repeat until the points move at most ``tol`` (Anderson mixing, below).

*The choice of the point.* ``"centre"``: the Gauss-Newton linearization at the centre itself,
``M = r γ J_GN(c_k)`` (symmetric, positive semi-definite for a single output, as a `LinearTask`
needs) and ``G* = c_k - J_GN^+ F(c_k)``: the flow ``-M (G - G*)`` is the force's first-order
expansion about ``c_k`` with ``F(c_k)`` projected on the range of ``J_GN`` (on the 2+1 network
of the presets the curvature term of ``dF/dG`` vanishes, so there it is the exact Jacobian).
``"nearest"``: the exact linearization (`_linearize.linearize_at`) at the point of the task's
solution set nearest ``c_k`` (constrained Gauss-Newton, `_adjoint.solve_manifold`): it keeps
``G*`` a solution but needs one above threshold near every centre. Measured against the
simulator on the theory's own linear devices (issue 21's report), ratio D²_theory/D²_sim:

- exp1, gates pinned at the box (τ = 0.80-2 s): M at G* 1.021, nearest 1.001-1.003, centre
  1.000-1.001; τ = 0.08-0.2 s: G* 0.86/0.81/0.73, nearest the same, centre 0.98/0.88/0.77;
  τ <= 0.02 s (cycle near the joint point): G* 0.91, nearest 0.91, centre 1.11.
- the 3x3 grid of docs/toml-reference.md (cycle pinned at box corners far from G*): "nearest"
  fails (no solution of task beta above threshold near its centre); centre 1.18 / 0.17 / 0.23
  at τ = 0.0216 / 0.1 / 0.2154 s, where M at G* gives 0.030 / 0.0056 / 0.013.

So ``"centre"`` is the default: it exists wherever the cycle goes and is the closer one where
the cycle is far from G* (what re-linearizing is for); near G* both are within ~10 %.

*Iteration.* The map ``points -> centres of the cycle at points`` is iterated with Anderson
mixing (type II, depth `_DEPTH`): plain iteration oscillates between two cycles of the box on
the grid (τ >= 0.1 s). A shift `_BLOW_UP` times the best so far restarts the mixing from the
best iterate with the mixing factor halved. Not converged within ``max_iter`` cycles: the
iterate of smallest shift, ``converged=False``. A task whose conditions fix its solution
(as many as gates) never moves with ``"nearest"``: its ``p_k`` is its ``G*``.

Takes checked values only; imports no face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import readonly
from .._repr import short_repr
from ..electrical._kirchhoff import KirchhoffSolver
from ..errors import CLLNError, ConvergenceError
from ..model.network import Network
from ..model.tasks import Task
from ._adjoint import DELTA_TOL, SOLUTION_TOL, force_of, jacobian_of, nudged, solve_manifold
from ._box import box_task, sample
from ._box_build import box_cyclic_from, box_orbit_from
from ._box_orbit import cycle_sweep
from ._linearize import linearize_at
from ._spectral import RATE_TOL
from ._tasks import checked_task
from .linear import LinearTask

__all__ = ["FAR_BOX", "POINTS", "Relinearized", "relinearized_cycle"]

#: The linearization points: the solution nearest the centre, or the centre itself.
POINTS = ("nearest", "centre")

FAR_BOX = 1e6
"""V: the box standing in for "no box" (the gates of any cycle that closes stay far inside),
as the reproduction's K-task theory uses."""

_MANIFOLD_TOL = 1e-13
"""V: the residual |O_F - L| at which a re-linearization point counts as a solution (the
default of `nearest_solution`: float64 resolution of ~1 V outputs, far below any `tol`)."""
_MANIFOLD_ITER = 50
"""Constrained Gauss-Newton steps per point: from a centre within the gate box it converges
quadratically in < 10 steps; 50 is the budget of `nearest_solution`."""
_MIN_DAMPING = 1.0 / 64
"""Smallest mixing factor β of the Anderson iteration after restarts (six halvings)."""
_DEPTH = 5
"""Iterates remembered by the Anderson mixing: on the 3x3 grid depth 5 converges in 11-17
cycles where plain iteration oscillates between two cycles of the box (τ = 0.1-1 s)."""
_BLOW_UP = 4.0
"""A shift this many times the best so far restarts the mixing from the best iterate with β
halved (the map switches active sets of the box: the secant model is then wrong)."""


@dataclass(frozen=True, slots=True)
class Relinearized:
    """The cycle of tasks each linearized at the centre of its own stretch (self-consistent).

    Attributes
    ----------
    orbit : BoxOrbit or BoxCyclicOrbit
        The cycle at the final linearizations: a `BoxOrbit` (scalar period) for two tasks
        sharing the period equally, else a `BoxCyclicOrbit`. Without a box, that in a box far
        beyond any gate voltage (±1e6 V).
    linear : tuple of LinearTask
        Each task linearized at its point in ``points``.
    points : (K, n) ndarray
        The linearization points (each on its task's solution set), V.
    centres : (K, n) ndarray
        The state at the middle of each task's stretch of ``orbit``, V.
    iterations : int
        Cycles computed (1: the starting linearizations were already self-consistent).
    converged : bool
        True when the last proposed move of the points, ``shift``, is at most ``tol``.
    shift : float
        ``max |p_k - p_k'|`` of the last iteration: the distance between ``points`` and the
        solutions nearest ``centres``, V.
    """

    __repr__ = short_repr

    orbit: Any
    linear: tuple[LinearTask, ...]
    points: NDArray
    centres: NDArray
    iterations: int
    converged: bool
    shift: float


def _cycle(
    lin: Sequence[LinearTask], B: NDArray, h: NDArray, lo: NDArray, hi: NDArray, rate_tol: float
) -> tuple[Any, NDArray]:
    """The cycle in the box of the tasks ``lin`` (durations ``h`` (K,), s) and the state at the
    middle of each stretch (K, n)."""
    bts = [box_task(np.asarray(t.M, dtype=float), t.G_star, B, lo, hi, rate_tol) for t in lin]
    (orb,) = cycle_sweep(bts, h[None, :], None)
    centres = np.stack(
        [sample(bt, seg, np.array([0.5 * hk]))[0] for bt, seg, hk in zip(bts, orb.pieces, h)]
    )
    return orb, centres


def _nearest(network: Network, task: Task, G_ref: NDArray, k: int) -> NDArray:
    """The point of ``task``'s solution set nearest ``G_ref``; a `ConvergenceError` naming task
    ``k`` where there is none above threshold nearby."""
    try:
        return solve_manifold(network, [task], G_ref, _MANIFOLD_TOL, _MANIFOLD_ITER)
    except CLLNError as e:
        raise ConvergenceError(
            f"Re-linearizing task {k} ({task.name!r}) failed: no solution found near the centre "
            f"{np.round(G_ref, 4).tolist()} V of its stretch ({e})"
        ) from e


def _points(network: Network, tasks: Sequence[Task], G_refs: NDArray, point: str) -> NDArray:
    """The linearization points (K, n) for the reference points ``G_refs``: the references
    themselves (``"centre"``) or the solutions nearest them (``"nearest"``)."""
    if point == "centre":
        return np.array(G_refs, dtype=float)
    return np.stack([_nearest(network, t, g, k) for k, (t, g) in enumerate(zip(tasks, G_refs))])


def _linearized(
    network: Network, task: Task, G: NDArray, gamma: float, eta: float, k: int, point: str
) -> LinearTask:
    try:
        if point == "centre":
            return centre_task(network, task, G, gamma, eta)
        return linearize_at(network, task, G, gamma, 1.0, eta, "auto", SOLUTION_TOL, False)
    except CLLNError as e:
        raise ConvergenceError(
            f"Re-linearizing task {k} ({task.name!r}) at {np.round(G, 4).tolist()} V failed: {e}"
        ) from e


def centre_task(network: Network, task: Task, c: NDArray, gamma: float, eta: float) -> LinearTask:
    """The Gauss-Newton linearization of ``task`` at the gate vector ``c`` (not a solution):
    ``M = r γ J_GN(c)`` (symmetric, positive semi-definite for a single output) and the fixed
    point ``G* = c - J_GN^+ F(c)``, so that ``-M (G - G*)`` is ``-r γ (F(c) + J_GN (G - c))``
    with ``F(c)`` projected on the range of ``J_GN`` (the part of the force a gate change can
    cancel; the rest, ``O(η² δ²)``, is dropped)."""
    s = KirchhoffSolver(network, c, task)
    free = s.free_state()
    ad, delta, eta_p, Delta = nudged(s, free, task, eta)
    J = np.asarray(jacobian_of(ad, delta, eta_p, Delta, task, eta, "gauss-newton", DELTA_TOL).J)
    J = 0.5 * (J + J.T)
    F = force_of(s, free, task, eta_p)
    G_star = c - np.linalg.lstsq(J, F, rcond=None)[0]
    return checked_task(gamma * J, G_star, RATE_TOL)


def _anderson(X: list[NDArray], F: list[NDArray], beta: float) -> NDArray:
    """The next iterate of Anderson mixing (type II) from the iterates ``X`` and residuals ``F``
    (the last is the current): ``x + β f - (ΔX + β ΔF) γ``, ``γ = argmin |f - ΔF γ|``."""
    x, f = X[-1], F[-1]
    if len(X) == 1:
        return x + beta * f
    dX = np.diff(np.array(X), axis=0).T
    dF = np.diff(np.array(F), axis=0).T
    g = np.linalg.lstsq(dF, f, rcond=None)[0]
    return x + beta * f - (dX + beta * dF) @ g


def relinearized_cycle(
    network: Network,
    tasks: Sequence[Task],
    linear0: Sequence[LinearTask],
    B: NDArray,
    tau: float,
    durations: NDArray,
    box: tuple[NDArray, NDArray] | None,
    gamma: float,
    eta: float,
    tol: float = 1e-6,
    max_iter: int = 30,
    point: str = "centre",
) -> Relinearized:
    """The self-consistent cycle of the module docstring on checked values: ``tasks`` (K) on the
    linear-device ``network``, their starting ``linear0``, ``B`` (n,) V/s, one period ``tau`` s,
    ``durations`` (K,) shares summing to 1, ``box`` (lo, hi) (n,) arrays or None, ``gamma``
    (r γ, Ω/s), ``eta``, ``point`` one of `POINTS`. `ConvergenceError` where a task cannot be
    linearized at its point (or the box engine does not settle); ``converged=False`` after
    ``max_iter`` cycles (then the result is the iterate of smallest ``shift``)."""
    lin = list(linear0)
    n, K = lin[0].n, len(lin)
    if box is None:
        lo, hi = np.full(n, -FAR_BOX), np.full(n, FAR_BOX)
    else:
        lo, hi = (np.asarray(v, dtype=float) for v in box)
    h = float(tau) * np.asarray(durations, dtype=float)
    rate_tol = max(t.rate_tol for t in lin)
    Bv = np.asarray(B, dtype=float)
    points = np.stack([np.array(t.G_star, dtype=float) for t in lin])
    X: list[NDArray] = []
    F: list[NDArray] = []
    beta, best = 1.0, None
    for it in range(1, max_iter + 1):
        orb, centres = _cycle(lin, Bv, h, lo, hi, rate_tol)
        f = (_points(network, tasks, centres, point) - points).ravel()
        shift = float(np.max(np.abs(f)))
        if best is None or shift < best[0]:
            best = (shift, orb, centres, tuple(lin), points, f)
        if shift <= tol or it == max_iter:
            break
        if shift > _BLOW_UP * best[0]:  # the mixing went astray: restart from the best, damped
            X, F, beta = [], [], max(0.5 * beta, _MIN_DAMPING)
            lin, points, f = list(best[3]), best[4], best[5]
        X, F = [*X, points.ravel()][-_DEPTH - 1 :], [*F, f][-_DEPTH - 1 :]
        target = _anderson(X, F, beta).reshape(K, n)
        if point == "centre":  # a centre lies in the box (the nearest solution need not)
            target = np.clip(target, lo, hi)
        points = _points(network, tasks, target, point)
        lin = [_linearized(network, t, p, gamma, eta, k, point) for k, (t, p) in enumerate(
            zip(tasks, points))]  # fmt: skip
    assert best is not None  # max_iter >= 1
    shift, orb, centres, linear, points, _ = best
    B_ro = readonly(Bv)
    box_ro = (readonly(lo), readonly(hi))
    if len(linear) == 2 and float(durations[0]) == float(durations[1]):
        orbit: Any = box_orbit_from(
            linear[0], linear[1], B_ro, np.array([float(tau)]), True, box_ro, rate_tol, [orb]
        )
    else:
        orbit = box_cyclic_from(linear, B_ro, h[None, :], True, box_ro, rate_tol, [orb])
    return Relinearized(
        orbit=orbit,
        linear=linear,
        points=readonly(points),
        centres=readonly(centres),
        iterations=it,
        converged=shift <= tol,
        shift=shift,
    )
