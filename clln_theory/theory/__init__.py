"""The linear theory of biased learning (Appendix D of the paper): the force Jacobian and the
rate matrix M at a solution, linear tasks and their evolution (D4)-(D9), closed orbits (D10)-(D11)
and their small- and large-period asymptotics.

Faces (the public modules below) validate their arguments once and call the engines (the
modules whose names start with ``_``), which compute on checked values.
"""

from __future__ import annotations

from .affine import AffineOrbit as AffineOrbit
from .affine import affine_orbit as affine_orbit
from .affine import cyclic_affine_orbit as cyclic_affine_orbit
from .affine import evolve_affine as evolve_affine
from .asymptotics import BoxPlateau as BoxPlateau
from .asymptotics import Crossover as Crossover
from .asymptotics import LargeTauAsymptotics as LargeTauAsymptotics
from .asymptotics import SmallTauAsymptotics as SmallTauAsymptotics
from .asymptotics import box_plateau as box_plateau
from .asymptotics import compatible_span_slope as compatible_span_slope
from .asymptotics import crossover_tau as crossover_tau
from .asymptotics import large_tau as large_tau
from .asymptotics import small_tau as small_tau
from .box_results import BoxCyclicOrbit as BoxCyclicOrbit
from .box_results import BoxOrbit as BoxOrbit
from .finite_differences import force_jacobian_fd as force_jacobian_fd
from .jacobian import ForceJacobian as ForceJacobian
from .jacobian import contrastive_hessian as contrastive_hessian
from .jacobian import force_jacobian as force_jacobian
from .jacobian import joint_solution as joint_solution
from .jacobian import linearize as linearize
from .jacobian import nearest_solution as nearest_solution
from .linear import HalfPeriodMap as HalfPeriodMap
from .linear import LinearTask as LinearTask
from .linear import evolve as evolve
from .linear import half_period_map as half_period_map
from .lowrank_jacobian import linearize_factor as linearize_factor
from .memory import ForgettingCurve as ForgettingCurve
from .memory import forgetting_curve as forgetting_curve
from .multitask import CyclicOrbit as CyclicOrbit
from .multitask import CyclicTrajectory as CyclicTrajectory
from .multitask import cyclic_orbit as cyclic_orbit
from .orbit_results import ClosedOrbit as ClosedOrbit
from .orbit_results import Orbit as Orbit
from .orbits import periodic_orbit as periodic_orbit
from .relinearize import Relinearized as Relinearized
from .relinearize import relinearized_cycle as relinearized_cycle
from .stochastic import OrbitCovariance as OrbitCovariance
from .stochastic import RandomOrderMoments as RandomOrderMoments
from .stochastic import orbit_covariance as orbit_covariance
from .stochastic import random_order_moments as random_order_moments
from .trajectories import BoxPiece as BoxPiece
from .trajectories import BoxTrajectory as BoxTrajectory
from .trajectories import OrbitTrajectory as OrbitTrajectory

__all__ = [
    # classes
    "AffineOrbit",
    "BoxCyclicOrbit",
    "BoxOrbit",
    "BoxPiece",
    "BoxPlateau",
    "BoxTrajectory",
    "ClosedOrbit",
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
    "Relinearized",
    "SmallTauAsymptotics",
    # functions
    "affine_orbit",
    "box_plateau",
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
    "relinearized_cycle",
    "small_tau",
]
