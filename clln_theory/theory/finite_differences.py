"""Finite-difference references of the theory's derivatives (slow, independent of the adjoint)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import instance, positive
from ..electrical.rule import coupled_learning_force
from ..errors import ShapeError
from ..model.network import Network
from ..model.tasks import Task

__all__ = ["force_jacobian_fd"]


def force_jacobian_fd(
    network: Network, G: Any, task: Task, *, eta: float = 1.0, h: float = 1e-5
) -> np.ndarray:
    """Central finite differences of the mean force: the slow reference for `force_jacobian`.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        The task whose mean force is differentiated.
    eta : float in (0, 1]
        Nudge amplitude (standard clamping).
    h : float
        Gate step, V. Truncation error ~``h**2 |F'''|``, round-off ~``eps |F| / h``; 1e-5 V
        balances them for gates of a few volts (about 9-10 correct digits).

    Returns
    -------
    J : (n_gates, n_gates) ndarray
        Column ``j`` is ``(F(G + h e_j) - F(G - h e_j)) / (2 h)``; ``2 n_gates`` force solves.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> from clln_theory.theory.jacobian import force_jacobian
    >>> net = star_network()
    >>> J = force_jacobian_fd(net, [3.0, 3.5], task)
    >>> bool(np.allclose(J, force_jacobian(net, [3.0, 3.5], task).J, rtol=1e-7, atol=0))
    True
    """
    instance(network, "network", Network)
    G = network.check_gates(G).astype(float)
    if G.ndim != 1:
        raise ShapeError(f"Argument `G` must have shape ({network.n_gates},), but has {G.shape}.")
    h = positive(h, "h", unit="V")
    n = G.size
    J = np.empty((n, n))
    for j in range(n):
        Gp, Gm = G.copy(), G.copy()
        Gp[j] += h
        Gm[j] -= h
        Fp = coupled_learning_force(network, Gp, task, eta=eta).F
        Fm = coupled_learning_force(network, Gm, task, eta=eta).F
        J[:, j] = (Fp - Fm) / (2.0 * h)
    return J
