"""The JSON pieces of a reproduction's summary (engine of
`clln_theory.experiments.reproduction`): finite numbers or None, the state-bias fit, and
the size check of its sweeps."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentError
from ..inference import StateBiasFit
from ..theory.linear import MAX_PERIODS, MAX_SAMPLE_VALUES

__all__ = ["opt", "ratio", "require_sizes", "state_summary"]


def state_summary(fit: StateBiasFit, floquet: np.ndarray | None) -> dict:
    """B0, J (with 1σ), G_ref, the gains along the lines (with 1σ) and the Floquet multipliers."""
    return {
        "model": fit.model,
        "shapes_only": fit.shapes_only,
        "fitted_to_positions": fit.fitted_to_positions,
        "B0": fit.bias.B0.tolist(),
        "B0_std": [opt(x) for x in fit.B0_std],
        "J": fit.bias.J.tolist(),
        "J_std": [[opt(x) for x in row] for row in fit.J_std],
        "G_ref": fit.bias.G_ref.tolist(),
        "directions": fit.directions.tolist(),
        "gains": fit.gains.tolist(),
        "gains_std": [opt(x) for x in fit.gains_std],
        "rms_cycles": fit.rms_cycles.tolist(),
        "floquet_max": None if floquet is None else [opt(x) for x in floquet],
    }


def opt(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def ratio(a: float, b: float) -> float | None:
    """``a / b`` as `opt` reports it (None where it is not finite, as ``b = 0`` or NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return opt(np.float64(a) / np.float64(b))


def require_sizes(n_periods: int, grid_points: int, cycle_samples: int, n: int) -> None:
    """The orbits' samples (periods x ``cycle_samples`` x gates) fit in memory."""
    for periods, name in ((n_periods, "tau"), (grid_points, "grid_points")):
        if periods > MAX_PERIODS:
            raise ArgumentError(
                f"Argument `{name}` asks for {periods} periods, more than MAX_PERIODS = "
                f"{MAX_PERIODS}; split the sweep."
            )
        if cycle_samples * max(periods, 1) * max(n, 1) > MAX_SAMPLE_VALUES:
            raise ArgumentError(
                f"Argument `cycle_samples` asks for {cycle_samples} samples of {periods} periods "
                f"(`{name}`) of {n} gates, more than MAX_SAMPLE_VALUES = {MAX_SAMPLE_VALUES} "
                "values; sample fewer times."
            )
