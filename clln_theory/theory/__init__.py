"""The linear theory of biased learning (Appendix D of the paper): the force Jacobian and the
rate matrix M at a solution, linear tasks and their evolution (D4)-(D9), closed orbits (D10)-(D11)
and their small- and large-period asymptotics.
"""

from __future__ import annotations

from .affine import AffineOrbit, affine_orbit, cyclic_affine_orbit, evolve_affine
from .asymptotics import (
    COMPATIBLE_RTOL,
    SINGULAR_LEVEL,
    Crossover,
    LargeTauAsymptotics,
    SmallTauAsymptotics,
    compatible_span_slope,
    crossover_tau,
    large_tau,
    small_tau,
)
from .finite_differences import force_jacobian_fd
from .jacobian import (
    DEFAULT_DELTA_TOL,
    DEFAULT_SOLUTION_TOL,
    ForceJacobian,
    contrastive_hessian,
    force_jacobian,
    joint_solution,
    linearize,
    nearest_solution,
)
from .linear import (
    DEFAULT_PSD_TOL,
    DEFAULT_RATE_TOL,
    DEFAULT_SYM_TOL,
    DENSE_MAX_N,
    HalfPeriodMap,
    LinearTask,
    evolve,
    half_period_map,
)
from .lowrank_jacobian import FACTOR_PARALLEL_TOL, linearize_factor
from .memory import ForgettingCurve, forgetting_curve
from .multitask import CyclicOrbit, CyclicTrajectory, cyclic_orbit
from .orbits import (
    ACCURACY_WARN_LEVEL,
    RTOL_SAFETY,
    Orbit,
    OrbitTrajectory,
    periodic_orbit,
)
from .stochastic import (
    MAX_MOMENT_GATES,
    OrbitCovariance,
    RandomOrderMoments,
    orbit_covariance,
    random_order_moments,
)

__all__ = [
    "ACCURACY_WARN_LEVEL",
    "COMPATIBLE_RTOL",
    "DEFAULT_DELTA_TOL",
    "DEFAULT_PSD_TOL",
    "DEFAULT_RATE_TOL",
    "DEFAULT_SOLUTION_TOL",
    "DEFAULT_SYM_TOL",
    "DENSE_MAX_N",
    "FACTOR_PARALLEL_TOL",
    "MAX_MOMENT_GATES",
    "RTOL_SAFETY",
    "SINGULAR_LEVEL",
    "AffineOrbit",
    "Crossover",
    "CyclicOrbit",
    "CyclicTrajectory",
    "ForceJacobian",
    "ForgettingCurve",
    "HalfPeriodMap",
    "LargeTauAsymptotics",
    "LinearTask",
    "Orbit",
    "OrbitCovariance",
    "OrbitTrajectory",
    "RandomOrderMoments",
    "SmallTauAsymptotics",
    "affine_orbit",
    "compatible_span_slope",
    "contrastive_hessian",
    "crossover_tau",
    "cyclic_affine_orbit",
    "cyclic_orbit",
    "evolve",
    "evolve_affine",
    "force_jacobian",
    "force_jacobian_fd",
    "forgetting_curve",
    "half_period_map",
    "joint_solution",
    "large_tau",
    "linearize",
    "linearize_factor",
    "nearest_solution",
    "orbit_covariance",
    "periodic_orbit",
    "random_order_moments",
    "small_tau",
]
