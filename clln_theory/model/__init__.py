"""The shared data model: networks (nodes, oriented edges, which edges learn), device
conductance models, and tasks (data points with imposed inputs and labels).
"""

from __future__ import annotations

from .bias import AffineBias
from .devices import (
    DEVICES,
    SUBTHRESHOLD_SLOPE,
    SUBTHRESHOLD_TRANSITION,
    Device,
    LinearDevice,
    OhmicMOSFET,
    ThreeRegimeMOSFET,
    device_named,
)
from .network import (
    PAPER_S,
    PAPER_V_T,
    Edge,
    Network,
    from_networkx,
    periodic_lattice,
    star_network,
)
from .tasks import (
    DataPoint,
    Differential,
    Task,
)

# functions and classes first, constants last
__all__ = [  # noqa: RUF022
    "device_named",
    "from_networkx",
    "periodic_lattice",
    "star_network",
    "AffineBias",
    "DataPoint",
    "Device",
    "Differential",
    "Edge",
    "LinearDevice",
    "Network",
    "OhmicMOSFET",
    "Task",
    "ThreeRegimeMOSFET",
    "DEVICES",
    "PAPER_S",
    "PAPER_V_T",
    "SUBTHRESHOLD_SLOPE",
    "SUBTHRESHOLD_TRANSITION",
]
