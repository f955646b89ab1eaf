"""Engine of the edge conductances of a linear network (checked values only).

`clln_theory.model.network.Network.conductances` checks a gate vector (shape, finite) and calls
`conductances_in_range` (every learning edge conducting, none beyond the conductance range);
the Kirchhoff engines of `clln_theory.electrical` call `edge_conductances` with gate vectors
their faces already checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DeviceError
from .edges import CONDUCTANCE_RANGE

__all__ = ["conductances_in_range", "edge_conductances"]


def edge_conductances(network: Any, G: np.ndarray) -> np.ndarray:
    """Conductance of every edge at a checked gate vector ``G`` of shape ``(..., n_gates)``.

    ``network`` is a `clln_theory.model.network.Network` with a linear device: fixed edges keep
    their ``K``; learning edges get ``device.conductance(G, S, V_T)``.
    """
    Kg = network.device.conductance(G, network.S, network.V_T)
    K = np.broadcast_to(network.K_fixed, (*G.shape[:-1], network.n_edges)).copy()
    K[..., network.gate_edges] = Kg
    return K


def conductances_in_range(network: Any, G: np.ndarray, name: str) -> np.ndarray:
    """`edge_conductances` at a gate vector ``G`` of checked shape, if they are physical.

    ``network`` is a `clln_theory.model.network.Network`; ``name`` is the gate argument's name
    in the calling face, for the messages.

    Raises
    ------
    DeviceError
        The device is not linear, or a learning edge has ``K <= 0`` at this ``G`` (its gate is
        at or below threshold) or ``K`` beyond `CONDUCTANCE_RANGE`; the message names the edge.
    """
    if not getattr(network.device, "is_linear", False):
        raise DeviceError(
            f"Conductances are defined only for linear devices, but this network uses "
            f"{type(network.device).__name__}; use network.with_device(LinearDevice())."
        )
    K = edge_conductances(network, G)
    Kg = K[..., network.gate_edges]
    bad = ~(Kg > 0)
    if np.any(bad):
        j = int(np.argwhere(bad)[0][-1])
        g = float(np.asarray(G)[..., j].ravel()[np.argmax(bad[..., j].ravel())])
        raise DeviceError(
            f"Learning edge {network.gate_names[j]!r} has conductance <= 0 at gate {g:.6g} V "
            f"of argument `{name}` (threshold V_T = {network.V_T[j]:.6g} V); keep every gate "
            "above its threshold."
        )
    huge = ~(Kg <= CONDUCTANCE_RANGE[1])
    if np.any(huge):
        j = int(np.argwhere(huge)[0][-1])
        raise DeviceError(
            f"Learning edge {network.gate_names[j]!r} has conductance > {CONDUCTANCE_RANGE[1]:g}"
            f" S at argument `{name}` = {float(np.max(G[..., j])):.6g} V; keep gates near V_T."
        )
    return K
