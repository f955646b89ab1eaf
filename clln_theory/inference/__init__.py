"""Inference from measurements: the bias from drift tests and stationary points (Appendix E),
the bias from measured limit cycles, and every calibration of a task to a measured solution line.
"""

from __future__ import annotations

from .calibration import (
    CalibratedPoint,
    CalibratedTask,
    SolutionLine,
    calibrate_point,
    calibrate_task,
    calibrate_to_line,
    free_output,
    model_solution_line,
)
from .cycle_fit import (
    CycleBiasFit,
    CycleMisfit,
    cycle_misfit,
    infer_bias_from_cycle,
    infer_bias_from_cycles,
)
from .cycle_model import AffineCycle, MeasuredCycle, affine_cycle
from .drift import (
    BiasEstimate,
    DriftVelocity,
    Projection,
    combine_projections,
    cycle_drift_projection,
    cycle_stationary_projection,
    drift_velocity,
    stationary_projection,
)
from .state_bias import DriftMeasurement, StateBiasFit, drift_measurement, infer_state_bias

__all__ = [
    "AffineCycle",
    "BiasEstimate",
    "CalibratedPoint",
    "CalibratedTask",
    "CycleBiasFit",
    "CycleMisfit",
    "DriftMeasurement",
    "DriftVelocity",
    "MeasuredCycle",
    "Projection",
    "SolutionLine",
    "StateBiasFit",
    "affine_cycle",
    "calibrate_point",
    "calibrate_task",
    "calibrate_to_line",
    "combine_projections",
    "cycle_drift_projection",
    "cycle_misfit",
    "cycle_stationary_projection",
    "drift_measurement",
    "drift_velocity",
    "free_output",
    "infer_bias_from_cycle",
    "infer_bias_from_cycles",
    "infer_state_bias",
    "model_solution_line",
    "stationary_projection",
]
