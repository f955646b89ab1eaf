"""The linear theory re-linearized along its own cycle (issue 21 item 2): each task's rate matrix
taken at the centre of the task's stretch of the cycle instead of at one solution ``G*``,
iterated to self-consistency. The engine is `clln_theory.theory._relinearize` (its docstring
gives the algorithm and the choice of the linearization point).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._checks import choice, count, instance, number, positive, times
from ..electrical.clamping import check_eta
from ..electrical.kirchhoff import check_task as check_network_task
from ..errors import ArgumentError, NetworkError, ShapeError, TaskError
from ..model.bias import bias_vector
from ..model.network import Network
from ._relinearize import POINTS, Relinearized
from ._relinearize import relinearized_cycle as _engine
from ._spectral import MAX_RATE
from .linear import LinearTask
from .multitask import check_tasks
from .trajectories import check_box

__all__ = ["Relinearized", "relinearized_cycle"]

#: Largest deviation of the shares ``durations`` from summing to 1 (the rounding of a few
#: decimal fractions is ~1e-16; any intended share is far above 1e-9).
_SHARE_SUM_TOL = 1e-9


def relinearized_cycle(
    network: Network,
    tasks: Sequence[Any],
    linear0: Sequence[LinearTask],
    *,
    B: ArrayLike,
    tau: float,
    gamma: float,
    durations: ArrayLike | None = None,
    box: tuple[Any, Any] | None = None,
    eta: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 30,
    point: str = "centre",
) -> Relinearized:
    """The cycle of K tasks, each linearized at the centre of its own stretch (self-consistent).

    The linear theory takes each task's ``M`` at one solution ``G*``; where the cycle runs far
    from it (long periods, large bias, gates pinned at the gate box) that ``M`` is not the
    local one. Here the cycle (in the gate box ``box``) and the linearizations are iterated:
    cycle → the state at the middle of each task's stretch → each task re-linearized there →
    cycle, until the linearization points move less than ``tol`` (Anderson mixing, restarted
    damped where it goes astray).

    Parameters
    ----------
    network : Network
        A linear-device network the tasks fit.
    tasks : sequence of Task
        The K >= 2 tasks (e.g. each `CalibratedTask.task`), trained in this order.
    linear0 : sequence of LinearTask
        Their starting linearizations (at ``G*``), one per task, of the network's size.
    B : (n,) array_like
        Constant bias, V/s.
    tau : float
        One period, s (> 0).
    gamma : float
        The rate factor ``r γ`` of `linearize` (Ω/s, > 0).
    durations : (K,) array_like, optional
        Each task's share of ``tau`` (> 0, summing to 1); default ``1/K`` each.
    box : (lo, hi), optional
        Gate limits (numbers or (n,) arrays, V); default none (a box at ±1e6 V).
    eta : float
        Clamping strength η of the nudge (0 < η <= 1); default 1.
    tol : float
        Convergence: the largest move of a linearization point in the last iteration, V
        (> 0); default 1e-6 V.
    max_iter : int
        Budget of cycles (>= 1); default 30.
    point : {"centre", "nearest"}
        Where each task is linearized: ``"centre"`` (default) the Gauss-Newton linearization at
        the centre itself (``M = r γ J_GN(c)``, ``G*`` one Gauss-Newton step from ``c``);
        ``"nearest"`` the exact linearization at the point of the task's solution set nearest
        the centre (needs a solution above threshold near every centre).

    Returns
    -------
    Relinearized
        ``orbit`` (a `BoxOrbit` for two tasks sharing the period equally, else a
        `BoxCyclicOrbit`), ``linear``, ``points``, ``centres``, ``iterations``,
        ``converged``, ``shift``. Not converged within ``max_iter``: ``converged=False`` and
        the iterate of smallest ``shift``.

    Raises
    ------
    ArgumentError
        A bad number, ``point``, or shares that do not sum to 1.
    ShapeError
        ``B``, ``durations`` or ``box`` of the wrong shape; tasks of different sizes.
    TaskError
        A task that does not fit ``network``, or ``linear0`` and ``tasks`` of different counts.
    ConvergenceError
        A task cannot be linearized at its point (``"nearest"``: no solution above threshold
        near a centre), or the box engine does not settle.

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> from clln_theory.theory import linearize, nearest_solution
    >>> net = star_network()
    >>> a, b = experiment_tasks("exp1")
    >>> lin = [linearize(net, t, nearest_solution(net, t, [3.0, 3.5]), gamma=3.2e6)
    ...        for t in (a, b)]
    >>> res = relinearized_cycle(net, [a, b], lin, B=[3.0, 4.4], tau=0.02, gamma=3.2e6,
    ...                          box=(1.0, 5.0))
    >>> res.converged, res.points.shape
    (True, (2, 2))
    """
    instance(network, "network", Network, error=NetworkError)
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Sequence):
        raise TaskError(f"Argument `tasks` must be a sequence of Task, not {type(tasks).__name__}.")
    checked = tuple(check_network_task(t, network, f"tasks[{i}]") for i, t in enumerate(tasks))
    lin = check_tasks(linear0, "linear0")
    K, n = len(lin), network.n_gates
    if len(checked) != K:
        raise TaskError(
            f"Arguments `tasks` and `linear0` must hold one linearization per task, but hold "
            f"{len(checked)} and {K}."
        )
    if lin[0].n != n:
        raise ShapeError(f"Argument `linear0` must have {n} gates (the network's), not {lin[0].n}.")
    Bv = bias_vector(B, n)
    tau = positive(tau, "tau", unit="s")
    gamma = number(gamma, "gamma", low=0.0, low_open=True, high=MAX_RATE, unit="Ω/s")
    shares = np.full(K, 1.0 / K) if durations is None else _shares(durations, K)
    lo_hi = None if box is None else check_box(box, n)
    eta = check_eta(eta)
    tol = positive(tol, "tol", unit="V")
    max_iter = count(max_iter, "max_iter")
    choice(point, "point", POINTS)
    return _engine(network, checked, lin, Bv, tau, shares, lo_hi, gamma, eta, tol, max_iter, point)


def _shares(durations: ArrayLike, K: int) -> np.ndarray:
    """``durations``: K shares > 0 of the period summing to 1."""
    d = times(durations, "durations", positive=True)
    if d.shape != (K,):
        raise ShapeError(f"Argument `durations` must have shape ({K},), but has shape {d.shape}.")
    if abs(float(d.sum()) - 1.0) > _SHARE_SUM_TOL:
        raise ArgumentError(
            f"Argument `durations` must hold shares of the period summing to 1, but they sum "
            f"to {float(d.sum()):.6g}."
        )
    return d
