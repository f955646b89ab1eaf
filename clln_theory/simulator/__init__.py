"""The nonlinear reference simulator of the real circuit: training protocol and schedule,
discrete learning steps on the twin free/clamped networks, recorded runs and limit cycles found by
shooting. It never imports the linear theory, so that it stays an independent check of it.
"""

from __future__ import annotations

from .runs import (
    DEFAULT_A0,
    DEFAULT_T_H,
    LimitCycle,
    SimulatedTrajectory,
    TrainingProtocol,
    limit_cycle,
    period_map,
    simulate,
    task_errors,
)

__all__ = [
    "DEFAULT_A0",
    "DEFAULT_T_H",
    "LimitCycle",
    "SimulatedTrajectory",
    "TrainingProtocol",
    "limit_cycle",
    "period_map",
    "simulate",
    "task_errors",
]
