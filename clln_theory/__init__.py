"""clln_theory: the physics of learning machines made of imperfect analog parts.

Closed-form limit cycles of biased Coupled Learning (Appendix D of Dillavou, Guzman, Liu and
Durian, "Understanding and Embracing Imperfection in Physical Learning Networks", 2025),
symbolic contrastive Hessians, a nonlinear reference simulator of the real circuit, and the
paper's reproduction against its measured data.

The top level re-exports, grouped by job, the names a user needs for the five jobs, the result
types they return and the errors. Everything else is imported from its room
(``clln_theory.theory``, ``clln_theory.electrical``, ``clln_theory.simulator``, ...), whose
``__all__`` lists what it offers; the README's "Layout" section maps the rooms. sympy and
matplotlib are imported only inside the functions that need them.

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

from ._version import __version__

# Job 1, Hessians: the symbolic model of a small network, the numeric Hessian, the linearization.
from .electrical import SymbolicModel, symbolic_model

# Errors and warnings, and the one record of a failed item.
from .errors import (
    AccuracyWarning,
    ArgumentError,
    CLLNError,
    ConfigError,
    ConvergenceError,
    DataFormatError,
    DeviceError,
    Failure,
    FallbackWarning,
    FileWriteError,
    GateBoxWarning,
    MissingDependencyError,
    NetworkError,
    NumericalRangeError,
    ProtocolError,
    ShapeError,
    SingularSystemError,
    StabilityError,
    SymbolicSizeError,
    TaskError,
)

# Job 4, property tests: the hypothesis strategies live in `clln_theory.testing`.
# Job 5, the paper against its measured data.
from .experiments import (
    ExperimentConfig,
    MeasuredComparison,
    Reproduction,
    TheoryComparison,
    compare_theory_simulation,
    compare_with_measurement,
    list_presets,
    load_config,
    reproduce,
)
from .inference import CycleBiasFit, infer_bias_from_cycles

# The data model: a network, its tasks, a state-dependent bias.
from .model import AffineBias, DataPoint, Network, Task

# Job 3, the full dynamics: the nonlinear simulator and its comparison with the theory.
from .simulator import LimitCycle, SimulatedTrajectory, TrainingProtocol, limit_cycle, simulate
from .sweeps import SweepResult, run_sweep

# Job 2, closed-form cycles: linear tasks, their evolution and periodic orbits (D4)-(D11).
from .theory import (
    AffineOrbit,
    ClosedOrbit,
    CyclicOrbit,
    LinearTask,
    Orbit,
    OrbitTrajectory,
    contrastive_hessian,
    cyclic_orbit,
    evolve,
    large_tau,
    linearize,
    periodic_orbit,
    small_tau,
)

__all__ = [  # noqa: RUF022 - grouped by job, as the imports above
    "__version__",
    # errors
    "AccuracyWarning",
    "ArgumentError",
    "CLLNError",
    "ConfigError",
    "ConvergenceError",
    "DataFormatError",
    "DeviceError",
    "Failure",
    "FileWriteError",
    "FallbackWarning",
    "GateBoxWarning",
    "MissingDependencyError",
    "NetworkError",
    "NumericalRangeError",
    "ProtocolError",
    "ShapeError",
    "SingularSystemError",
    "StabilityError",
    "SymbolicSizeError",
    "TaskError",
    # data model
    "AffineBias",
    "DataPoint",
    "Network",
    "Task",
    # Hessians
    "SymbolicModel",
    "contrastive_hessian",
    "linearize",
    "symbolic_model",
    # closed-form cycles
    "AffineOrbit",
    "ClosedOrbit",
    "CyclicOrbit",
    "LinearTask",
    "Orbit",
    "OrbitTrajectory",
    "cyclic_orbit",
    "evolve",
    "large_tau",
    "periodic_orbit",
    "small_tau",
    # full dynamics
    "LimitCycle",
    "SimulatedTrajectory",
    "TheoryComparison",
    "TrainingProtocol",
    "compare_theory_simulation",
    "limit_cycle",
    "simulate",
    # the paper against its data
    "CycleBiasFit",
    "ExperimentConfig",
    "MeasuredComparison",
    "Reproduction",
    "SweepResult",
    "compare_with_measurement",
    "infer_bias_from_cycles",
    "list_presets",
    "load_config",
    "reproduce",
    "run_sweep",
]
