"""The physics at one gate vector G: Kirchhoff free and clamped states of linear networks,
the damped-Newton solver of nonlinear circuits, the nudge and hinge of Coupled Learning (one
definition for the theory and the simulator), the learning force and rate, and the exact
symbolic model (sympy, imported on first use).

Faces (`kirchhoff`, `circuit`, `clamping`, `rule`, `symbolic`) check their arguments once and
call the engines (`_kirchhoff`, `_circuit`, `_clamping`, `_force`), which other rooms' faces
call with checked values.
"""

from __future__ import annotations

from .circuit import CircuitSolution, CircuitSolver, edge_currents, node_currents, solve_circuit
from .clamping import CLAMPINGS, Clamping, nudge
from .kirchhoff import (
    State,
    clamped_state,
    contrastive_function,
    free_state,
    power,
    solve_voltages,
)
from .rule import (
    V0_MULTIPLIER,
    ForceResult,
    clamped_outputs,
    coupled_learning_force,
    learning_rate_A0,
    learning_rate_gamma,
)
from .symbolic import (  # imports sympy inside its functions only: the room loads fast
    SymbolicModel,
    symbolic_contrastive_hessian,
    symbolic_force_jacobian,
    symbolic_model,
)

# functions and classes first, constants last
__all__ = [  # noqa: RUF022
    "clamped_outputs",
    "clamped_state",
    "contrastive_function",
    "coupled_learning_force",
    "edge_currents",
    "free_state",
    "learning_rate_A0",
    "learning_rate_gamma",
    "node_currents",
    "nudge",
    "power",
    "solve_circuit",
    "solve_voltages",
    "symbolic_contrastive_hessian",
    "symbolic_force_jacobian",
    "symbolic_model",
    "CircuitSolution",
    "CircuitSolver",
    "ForceResult",
    "State",
    "SymbolicModel",
    "Clamping",
    "CLAMPINGS",
    "V0_MULTIPLIER",
]
