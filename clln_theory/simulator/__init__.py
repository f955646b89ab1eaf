"""The nonlinear reference simulator of the real circuit: training protocol and schedule
(`protocol`), recorded runs (`runs`), many runs at once (`batch`) and limit cycles found by
shooting (`shooting`). These faces check their arguments once and call the engines: the step
kernels (`_kernels`), the compiled run (`_runner`), the continuum integrator (`_continuum`), the
sparse engine of large linear networks (`_sparse`) and the batched kernel (`_batch`). It never
imports the linear theory, so that it stays an independent check of it.
"""

from __future__ import annotations

from .batch import BatchResult, simulate_batch
from .protocol import TrainingProtocol
from .runs import SimulatedTrajectory, simulate
from .shooting import LimitCycle, limit_cycle, period_map

# functions and classes first
__all__ = [  # noqa: RUF022
    "limit_cycle",
    "period_map",
    "simulate",
    "simulate_batch",
    "BatchResult",
    "LimitCycle",
    "SimulatedTrajectory",
    "TrainingProtocol",
]
