"""The nonlinear reference simulator of the real circuit: training protocol and schedule
(`protocol`), discrete learning steps on the twin free/clamped networks (`kernels`), recorded
runs (`runs`), many runs at once (`batch`), the sparse engine of large linear networks
(`sparse`), the continuum integrator (`continuum`) and limit cycles found by shooting
(`shooting`). It never imports the linear theory, so that it stays an independent check of it.
"""

from __future__ import annotations

from .batch import BatchResult, simulate_batch
from .protocol import DEFAULT_A0, DEFAULT_T_H, TrainingProtocol
from .runs import SimulatedTrajectory, simulate
from .shooting import LimitCycle, limit_cycle, period_map

__all__ = [
    "DEFAULT_A0",
    "DEFAULT_T_H",
    "BatchResult",
    "LimitCycle",
    "SimulatedTrajectory",
    "TrainingProtocol",
    "limit_cycle",
    "period_map",
    "simulate",
    "simulate_batch",
]
