"""Engine of the edge conductances of a linear network (checked values only).

`clln_theory.model.network.Network.conductances` checks a gate vector (shape, finite, every
learning edge conducting) and calls `edge_conductances`; the Kirchhoff engines of
`clln_theory.electrical` call it with gate vectors their faces already checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["edge_conductances"]


def edge_conductances(network: Any, G: np.ndarray) -> np.ndarray:
    """Conductance of every edge at a checked gate vector ``G`` of shape ``(..., n_gates)``.

    ``network`` is a `clln_theory.model.network.Network` with a linear device: fixed edges keep
    their ``K``; learning edges get ``device.conductance(G, S, V_T)``.
    """
    Kg = network.device.conductance(G, network.S, network.V_T)
    K = np.broadcast_to(network.K_fixed, (*G.shape[:-1], network.n_edges)).copy()
    K[..., network.gate_edges] = Kg
    return K
