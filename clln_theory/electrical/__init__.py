"""The physics at one gate vector G: Kirchhoff free and clamped states of linear networks,
the damped-Newton solver of nonlinear circuits, the Coupled Learning rule (nudge, hinge, force,
learning rate) and the exact symbolic model (sympy; loaded on first use).
"""

from __future__ import annotations

import importlib as _importlib
from typing import Any as _Any

from .circuit import (
    DEFAULT_ATOL_CURRENT,
    DEFAULT_MAX_ITER,
    DEFAULT_RTOL_CURRENT,
    DEFAULT_TOL_STEP,
    CircuitSolution,
    CircuitSolver,
    edge_currents,
    node_currents,
    solve_circuit,
)
from .kirchhoff import (
    DENSE_MAX_INTERIOR,
    State,
    clamped_state,
    contrastive_function,
    free_state,
    laplacian,
    power,
    solve_voltages,
)
from .rule import (
    Clamping,
    ForceResult,
    clamped_outputs,
    coupled_learning_force,
    learning_rate_A0,
    learning_rate_gamma,
)

_LAZY = {
    "DEFAULT_MAX_GATES": "symbolic",
    "DEFAULT_MAX_INTERIOR": "symbolic",
    "SymbolicModel": "symbolic",
    "symbolic_contrastive_hessian": "symbolic",
    "symbolic_force_jacobian": "symbolic",
    "symbolic_model": "symbolic",
}

__all__ = [
    "DEFAULT_ATOL_CURRENT",
    "DEFAULT_MAX_GATES",
    "DEFAULT_MAX_INTERIOR",
    "DEFAULT_MAX_ITER",
    "DEFAULT_RTOL_CURRENT",
    "DEFAULT_TOL_STEP",
    "DENSE_MAX_INTERIOR",
    "CircuitSolution",
    "CircuitSolver",
    "Clamping",
    "ForceResult",
    "State",
    "SymbolicModel",
    "clamped_outputs",
    "clamped_state",
    "contrastive_function",
    "coupled_learning_force",
    "edge_currents",
    "free_state",
    "laplacian",
    "learning_rate_A0",
    "learning_rate_gamma",
    "node_currents",
    "power",
    "solve_circuit",
    "solve_voltages",
    "symbolic_contrastive_hessian",
    "symbolic_force_jacobian",
    "symbolic_model",
]


def __getattr__(name: str) -> _Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
