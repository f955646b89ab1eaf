"""Inference from measurements: the bias from drift tests and stationary points (Appendix E),
the bias from measured limit cycles, and every calibration of a task to a measured solution line.
"""

from __future__ import annotations

from .calibration import (
    DEFAULT_LINE_TOL,
    CalibratedPoint,
    SolutionLine,
    calibrate_point,
    model_solution_line,
)
from .cycle_fit import (
    DEFAULT_CURVE_SAMPLES,
    DEFAULT_PHASE_GRID,
    AffineCycle,
    CycleBiasFit,
    CycleMisfit,
    affine_cycle,
    cycle_misfit,
    infer_bias_from_cycle,
    infer_bias_from_cycles,
)
from .drift import (
    BiasEstimate,
    DriftVelocity,
    Projection,
    combine_projections,
    drift_velocity,
    stationary_projection,
)

__all__ = [
    "DEFAULT_CURVE_SAMPLES",
    "DEFAULT_LINE_TOL",
    "DEFAULT_PHASE_GRID",
    "AffineCycle",
    "BiasEstimate",
    "CalibratedPoint",
    "CycleBiasFit",
    "CycleMisfit",
    "DriftVelocity",
    "Projection",
    "SolutionLine",
    "affine_cycle",
    "calibrate_point",
    "combine_projections",
    "cycle_misfit",
    "drift_velocity",
    "infer_bias_from_cycle",
    "infer_bias_from_cycles",
    "model_solution_line",
    "stationary_projection",
]
