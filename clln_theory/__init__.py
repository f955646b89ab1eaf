"""clln_theory: the physics of learning machines made of imperfect analog parts.

Closed-form limit cycles of biased Coupled Learning (Appendix D of Dillavou, Guzman, Liu and
Durian, "Understanding and Embracing Imperfection in Physical Learning Networks", 2025),
symbolic contrastive Hessians, a nonlinear reference simulator of the real circuit, and the
paper's reproduction against its measured data.

The public names below are re-exported lazily (PEP 562), so ``import clln_theory`` stays fast
and sympy, matplotlib or dask load only when a function that needs them is first used. Every
name also lives in the subpackage of its concept (``clln_theory.theory.orbits.periodic_orbit``
and so on); the README's "Layout" section maps the subpackages.

Examples
--------
>>> import numpy as np
>>> import clln_theory as cl
>>> a = cl.LinearTask(np.diag([10.0, 0.0]), np.zeros(2))
>>> b = cl.LinearTask(np.diag([0.0, 10.0]), np.zeros(2))
>>> orbit = cl.periodic_orbit(a, b, B=np.array([1.0, 1.0]), tau=0.1)
>>> bool(orbit.span > 0)
True
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> defining module (one concept per module; see DEVELOPING.md)
_EXPORTS: dict[str, str] = {}


def _export(module: str, *names: str) -> None:
    for name in names:
        _EXPORTS[name] = module


_export("errors", "CLLNError", "ShapeError", "NetworkError", "DeviceError", "TaskError")
_export("errors", "ProtocolError", "ConfigError", "DataFormatError", "SingularSystemError")
_export("errors", "ConvergenceError", "SymbolicSizeError", "AccuracyWarning", "GateBoxWarning")
_export("errors", "ArgumentError", "NumericalRangeError")
_export("model.devices", "Device", "LinearDevice", "OhmicMOSFET", "ThreeRegimeMOSFET")
_export("model.network", "Edge", "Network", "from_networkx", "periodic_lattice", "star_network")
_export("model.tasks", "DataPoint", "Task")
_export(
    "electrical.kirchhoff", "State", "free_state", "clamped_state", "power", "contrastive_function"
)
_export(
    "electrical.rule",
    "Clamping",
    "ForceResult",
    "coupled_learning_force",
    "clamped_outputs",
)
_export("electrical.symbolic", "SymbolicModel", "symbolic_model", "symbolic_contrastive_hessian")
_export("theory.jacobian", "linearize", "force_jacobian", "ForceJacobian", "contrastive_hessian")
_export("theory.jacobian", "nearest_solution", "joint_solution")
_export("metrics", "task_error", "two_task_error", "combined_error", "cycle_span")
_export("metrics", "accuracy", "hinge_loss")
_export("theory.linear", "LinearTask", "evolve", "half_period_map", "HalfPeriodMap")
_export("theory.orbits", "Orbit", "OrbitTrajectory", "periodic_orbit")
_export("theory.asymptotics", "small_tau", "large_tau", "crossover_tau", "compatible_span_slope")
_export("electrical.circuit", "CircuitSolver", "CircuitSolution", "solve_circuit")
_export("simulator", "TrainingProtocol", "limit_cycle", "period_map", "LimitCycle")
_export("simulator", "SimulatedTrajectory", "simulate")
_export("electrical.rule", "learning_rate_A0", "learning_rate_gamma")
_export("experiments.compare", "compare_theory_simulation", "compare_with_measurement")
_export("inference.calibration", "calibrate_to_line", "calibrate_task")
_export("experiments.compare", "CycleFailure")
_export("experiments.paper", "experiment_tasks")
_export("inference.cycle_fit", "infer_bias_from_cycle", "infer_bias_from_cycles", "CycleBiasFit")
_export(
    "inference.drift",
    "drift_velocity",
    "stationary_projection",
    "combine_projections",
    "BiasEstimate",
)
_export("inference.calibration", "SolutionLine", "calibrate_point", "model_solution_line")
_export("data", "default_data_dir", "load_curve", "load_cycle", "load_drift_test")
_export("experiments.specs", "ExperimentConfig")
_export("experiments.config", "load_config", "parse_config", "list_presets")
_export("experiments.reproduction", "Reproduction", "reproduce")
_export("sweeps", "run_sweep", "grid", "load_records", "SweepResult")
_export("inference.drift", "cycle_drift_projection", "cycle_stationary_projection")
_export("data", "packaged_data_dir")
_export("theory.multitask", "cyclic_orbit", "CyclicOrbit", "CyclicTrajectory")
_export(
    "theory.stochastic",
    "orbit_covariance",
    "random_order_moments",
    "OrbitCovariance",
    "RandomOrderMoments",
)
_export("theory.memory", "forgetting_curve", "ForgettingCurve")
_export("theory", "linearize_factor")
_export("errors", "StabilityError")
_export("model.bias", "AffineBias")
_export("theory.affine", "AffineOrbit", "affine_orbit", "cyclic_affine_orbit", "evolve_affine")
_export("inference.state_bias", "infer_state_bias", "StateBiasFit", "DriftMeasurement")
_export("inference.state_bias", "drift_measurement")
_export("experiments.compare", "simulate_periods", "SimulatedPeriods")
_export("experiments.specs", "SimulateSpec")
_export("model.tasks", "Differential")
_export("simulator.batch", "simulate_batch", "BatchResult")

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'clln_theory' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # cache: later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
