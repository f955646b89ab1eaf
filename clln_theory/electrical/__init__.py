"""The physics at one gate vector G: Kirchhoff free and clamped states of linear networks,
the damped-Newton solver of nonlinear circuits, the nudge and hinge of Coupled Learning (one
definition for the theory and the simulator), the learning force and rate, and the exact
symbolic model (sympy; loaded on first use).
"""

from __future__ import annotations

import importlib as _importlib
from typing import Any as _Any

from .circuit import (
    DEFAULT_ATOL_CURRENT,
    DEFAULT_MAX_ITER,
    DEFAULT_RTOL_CURRENT,
    DEFAULT_TOL_STEP,
    NEWTON_DENSE_MAX_INTERIOR,
    CircuitSolution,
    CircuitSolver,
    edge_currents,
    node_currents,
    solve_circuit,
)
from .clamping import (
    CLAMPINGS,
    Clamping,
    check_clamping,
    check_eta,
    nudge,
    nudge_amplitudes,
    output_split,
    past_label,
    point_nudge,
)
from .kirchhoff import (
    CHOLESKY_MAX_INTERIOR,
    InteriorSolver,
    KirchhoffSolver,
    State,
    clamped_state,
    contrastive_function,
    free_state,
    laplacian,
    power,
    solve_voltages,
)
from .rule import (
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
    "CHOLESKY_MAX_INTERIOR",
    "CLAMPINGS",
    "DEFAULT_ATOL_CURRENT",
    "DEFAULT_MAX_GATES",
    "DEFAULT_MAX_INTERIOR",
    "DEFAULT_MAX_ITER",
    "DEFAULT_RTOL_CURRENT",
    "DEFAULT_TOL_STEP",
    "NEWTON_DENSE_MAX_INTERIOR",
    "CircuitSolution",
    "CircuitSolver",
    "Clamping",
    "ForceResult",
    "InteriorSolver",
    "KirchhoffSolver",
    "State",
    "SymbolicModel",
    "check_clamping",
    "check_eta",
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
    "nudge",
    "nudge_amplitudes",
    "output_split",
    "past_label",
    "point_nudge",
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
