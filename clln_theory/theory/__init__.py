"""The linear theory of biased learning (Appendix D of the paper): the force Jacobian and the
rate matrix M at a solution, linear tasks and their evolution (D4)-(D9), closed orbits (D10)-(D11)
and their small- and large-period asymptotics.
"""

from __future__ import annotations

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
    HalfPeriodMap,
    LinearTask,
    evolve,
    half_period_map,
)
from .orbits import (
    ACCURACY_WARN_LEVEL,
    RTOL_SAFETY,
    Orbit,
    OrbitTrajectory,
    periodic_orbit,
)

__all__ = [
    "ACCURACY_WARN_LEVEL",
    "COMPATIBLE_RTOL",
    "DEFAULT_DELTA_TOL",
    "DEFAULT_PSD_TOL",
    "DEFAULT_RATE_TOL",
    "DEFAULT_SOLUTION_TOL",
    "DEFAULT_SYM_TOL",
    "RTOL_SAFETY",
    "SINGULAR_LEVEL",
    "Crossover",
    "ForceJacobian",
    "HalfPeriodMap",
    "LargeTauAsymptotics",
    "LinearTask",
    "Orbit",
    "OrbitTrajectory",
    "SmallTauAsymptotics",
    "compatible_span_slope",
    "contrastive_hessian",
    "crossover_tau",
    "evolve",
    "force_jacobian",
    "force_jacobian_fd",
    "half_period_map",
    "joint_solution",
    "large_tau",
    "linearize",
    "nearest_solution",
    "periodic_orbit",
    "small_tau",
]
