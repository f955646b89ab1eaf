"""Robustness of the public API: bad input gives a typed error naming the argument, or a finite
valid result; never a raw exception, never a non-finite result.

Every public entry point of ``clln_theory.__all__`` (except the loaders, the TOML config, the CLI,
``reproduce`` and the drift measurements, covered by ``tests/test_robustness_io.py``) is called
with a valid baseline, then with one argument at a time replaced by a hostile value: wrong types
(str, None, complex, object, bool), NaN, ±inf, huge (1e300) and tiny (1e-300) numbers, negative
numbers, wrong shapes, complex and object arrays. A derandomized hypothesis test adds drawn floats,
complex numbers, text and arrays for every numeric argument.

``python tests/test_robustness.py`` prints the table of cases by entry point.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import time
import types
from collections import Counter
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import clln_theory
from clln_theory.errors import CLLNError
from clln_theory.inference import free_output

#: Every public name of the top level and of every room, by name (the rooms' faces).
ROOMS = (
    "model",
    "electrical",
    "theory",
    "simulator",
    "inference",
    "experiments",
    "metrics",
    "data",
    "sweeps",
)
cl = types.SimpleNamespace(
    **{
        name: getattr(room, name)
        for room in [
            *(__import__(f"clln_theory.{r}", fromlist=["__all__"]) for r in ROOMS),
            clln_theory,
        ]
        for name in room.__all__
    }
)

# --------------------------------------------------------------------------- fixtures
NET = cl.star_network()
SUP = {"High": 0.4351, "Low": 0.0181}
ALPHA = cl.Task([cl.DataPoint({**SUP, "Input": 0.4351}, 0.31)], "Output", name="alpha")
BETA = cl.Task([cl.DataPoint({**SUP, "Input": 0.0181}, 0.14)], "Output", name="beta")
LA = cl.LinearTask(np.array([[10.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.5]))
LB = cl.LinearTask(np.array([[1.0, -2.0], [-2.0, 10.0]]), np.array([3.0, 3.5]))
G_STAR = cl.joint_solution(NET, ALPHA, BETA, (3.0, 3.5))
G = np.array([3.0, 3.5])
V_NODES = np.array([0.4351, 0.0181, 0.3, 0.2])
PROTO = cl.TrainingProtocol(A0=1377.41, t_h=1e-4)


class Arg:
    """One argument of an entry point: its baseline value and the kind of bad values to try."""

    def __init__(self, value: Any, kind: str, *, keyword: bool = False, names: tuple = ()):
        self.value, self.kind, self.keyword, self.names = value, kind, keyword, names


def A(value, kind, **kw):
    return Arg(value, kind, **kw)


def K(value, kind, **kw):
    return Arg(value, kind, keyword=True, **kw)


# entry point -> (callable, {argument: Arg}); positional arguments first, in order
ENTRIES: dict[str, tuple[Callable, dict[str, Arg]]] = {
    "Network.from_edges": (
        cl.Network.from_edges,
        {
            "edges": A([("a", "b", 1e-3), ("b", "c")], "object"),
            "S": K(8.5e-4, "positive"),
            "V_T": K(0.7, "number"),
        },
    ),
    "star_network": (
        cl.star_network,
        {
            "S": K(8.5e-4, "positive"),
            "V_T": K(0.7, "number"),
            "R_input": K(500.0, "positive"),
        },
    ),
    "periodic_lattice": (cl.periodic_lattice, {"L": A(3, "count"), "S": K(8.5e-4, "positive")}),
    "from_networkx": (
        cl.from_networkx,
        {"graph": A(nx.path_graph(3), "object"), "S": K(8.5e-4, "positive")},
    ),
    "Edge": (
        cl.Edge,
        {
            "name": A("e", "name"),
            "a": A("a", "name"),
            "b": A("b", "name"),
            "learning": A(False, "flag"),
            "K": A(1e-3, "positive"),
        },
    ),
    "DataPoint": (
        cl.DataPoint,
        {"inputs": A({**SUP, "Input": 0.2}, "mapping"), "label": A(0.3, "number")},
    ),
    "Task": (
        cl.Task,
        {"points": A([ALPHA.points[0]], "object"), "output": A("Output", "name")},
    ),
    "free_state": (
        cl.free_state,
        {"network": A(NET, "object"), "G": A(G, "gates"), "task": A(ALPHA, "object")},
    ),
    "clamped_state": (
        cl.clamped_state,
        {
            "network": A(NET, "object"),
            "G": A(G, "gates"),
            "task": A(ALPHA, "object"),
            "O_C": A(np.array([0.3]), "array"),
        },
    ),
    "power": (
        cl.power,
        {"network": A(NET, "object"), "G": A(G, "gates"), "V": A(V_NODES, "array")},
    ),
    "contrastive_function": (
        cl.contrastive_function,
        {
            "network": A(NET, "object"),
            "G": A(G, "gates"),
            "task": A(ALPHA, "object"),
            "eta": K(1.0, "positive"),
        },
    ),
    "coupled_learning_force": (
        cl.coupled_learning_force,
        {
            "network": A(NET, "object"),
            "G": A(G, "gates"),
            "task": A(ALPHA, "object"),
            "eta": K(0.5, "positive"),
            "clamping": K("standard", "choice"),
        },
    ),
    "clamped_outputs": (
        cl.clamped_outputs,
        {"O_F": A(np.array([0.2]), "array"), "task": A(ALPHA, "object"), "eta": K(0.5, "positive")},
    ),
    "learning_rate_A0": (
        cl.learning_rate_A0,
        {"R0": A(100.0, "positive"), "C0": A(22e-6, "positive"), "r": K(2.0, "positive")},
    ),
    "learning_rate_gamma": (
        cl.learning_rate_gamma,
        {"R0": A(100.0, "positive"), "C0": A(22e-6, "positive"), "S": A(8.5e-4, "positive")},
    ),
    "solve_circuit": (
        cl.solve_circuit,
        {
            "network": A(NET, "object"),
            "G": A(G, "gates"),
            "imposed": A(["High", "Low", "Input"], "names"),
            "values": A(np.array([0.4351, 0.0181, 0.3]), "array"),
        },
    ),
    "CircuitSolver": (
        cl.CircuitSolver,
        {
            "network": A(NET, "object"),
            "imposed": A(["High", "Low", "Input"], "names"),
            "tol_step": K(1e-12, "positive"),
            "max_iter": K(60, "count"),
        },
    ),
    "force_jacobian": (
        cl.force_jacobian,
        {
            "network": A(NET, "object"),
            "G": A(G, "gates"),
            "task": A(ALPHA, "object"),
            "eta": K(1.0, "positive"),
        },
    ),
    "contrastive_hessian": (
        cl.contrastive_hessian,
        {"network": A(NET, "object"), "G": A(G, "gates"), "task": A(ALPHA, "object")},
    ),
    "linearize": (
        cl.linearize,
        {
            "network": A(NET, "object"),
            "task": A(ALPHA, "object"),
            "G_star": A(G_STAR, "gates"),
            "gamma": K(3.2e6, "positive"),
            "r": K(1.0, "positive"),
        },
    ),
    "nearest_solution": (
        cl.nearest_solution,
        {
            "network": A(NET, "object"),
            "task": A(ALPHA, "object"),
            "G_ref": A(G, "gates"),
            "tol": K(1e-13, "positive"),
            "max_iter": K(50, "count"),
        },
    ),
    "joint_solution": (
        cl.joint_solution,
        {
            "network": A(NET, "object"),
            "task_a": A(ALPHA, "object"),
            "task_b": A(BETA, "object"),
            "G_guess": A(G, "gates"),
        },
    ),
    "LinearTask": (
        cl.LinearTask,
        {
            "M": A(np.array([[10.0, 2.0], [2.0, 1.0]]), "matrix"),
            "G_star": A(G, "gates"),
            "rate_tol": A(1e-9, "positive"),
        },
    ),
    "evolve": (
        cl.evolve,
        {
            "task": A(LA, "object"),
            "G0": A(G, "gates"),
            "t": K(np.array([0.0, 0.1]), "times"),
            "B": K(np.array([1.0, 1.0]), "gates"),
        },
    ),
    "half_period_map": (
        cl.half_period_map,
        {"task": A(LA, "object"), "B": K(np.array([1.0, 1.0]), "gates"), "h": K(0.05, "positive")},
    ),
    "periodic_orbit": (
        cl.periodic_orbit,
        {
            "task_a": A(LA, "object"),
            "task_b": A(LB, "object"),
            "B": K(np.array([1.0, 1.0]), "gates"),
            "tau": K(0.1, "positive"),
        },
    ),
    "small_tau": (
        cl.small_tau,
        {
            "task_a": A(LA, "object"),
            "task_b": A(LB, "object"),
            "B": K(np.array([1.0, 1.0]), "gates"),
        },
    ),
    "large_tau": (
        cl.large_tau,
        {
            "task_a": A(LA, "object"),
            "task_b": A(LB, "object"),
            "B": K(np.array([1.0, 1.0]), "gates"),
        },
    ),
    "crossover_tau": (
        cl.crossover_tau,
        {
            "task_a": A(LA, "object"),
            "task_b": A(LB, "object"),
            "B": K(np.array([1.0, 1.0]), "gates"),
        },
    ),
    "compatible_span_slope": (
        cl.compatible_span_slope,
        {
            "task_a": A(LA, "object"),
            "task_b": A(LB, "object"),
            "B": K(np.array([1.0, 1.0]), "gates"),
        },
    ),
    "task_error": (
        cl.task_error,
        {"O": A(np.array([0.3]), "array"), "labels": A(np.array([0.31]), "array")},
    ),
    "two_task_error": (
        cl.two_task_error,
        {"E_alpha": A(0.1, "number"), "E_beta": A(0.2, "number")},
    ),
    "combined_error": (cl.combined_error, {"E_half": A(0.1, "number"), "E_full": A(0.2, "number")}),
    "cycle_span": (cl.cycle_span, {"G_half": A(G, "gates"), "G_full": A(G + 0.1, "gates")}),
    "accuracy": (
        cl.accuracy,
        {"O": A(np.array([0.3, -0.1]), "array"), "labels": A(np.array([1.0, -1.0]), "array")},
    ),
    "hinge_loss": (
        cl.hinge_loss,
        {"O": A(np.array([0.3, -0.1]), "array"), "labels": A(np.array([1.0, -1.0]), "array")},
    ),
    "TrainingProtocol": (
        cl.TrainingProtocol,
        {
            "clamping": A("standard", "choice"),
            "eta": A(1.0, "positive"),
            "t_h": A(1e-4, "positive"),
            "A0": A(1377.41, "positive"),
            "L0": A(None, "optional"),
        },
    ),
    "simulate": (
        cl.simulate,
        {
            "network": A(NET, "object"),
            "tasks": A([ALPHA, BETA], "object"),
            "G0": A(G, "gates"),
            "tau": K(0.002, "positive"),
            "n_periods": K(1.0, "positive"),
            "B": K(np.array([1.0, 1.0]), "gates"),
            "protocol": K(PROTO, "object"),
            "gate_limits": K((1.0, 5.0), "limits"),
        },
    ),
    "period_map": (
        cl.period_map,
        {
            "network": A(NET, "object"),
            "task_a": A(ALPHA, "object"),
            "task_b": A(BETA, "object"),
            "G": A(G, "gates"),
            "tau": K(0.002, "positive"),
            "B": K(np.array([1.0, 1.0]), "gates"),
            "protocol": K(PROTO, "object"),
            "gate_limits": K((1.0, 5.0), "limits"),
        },
    ),
    "symbolic_model": (
        cl.symbolic_model,
        {
            "network": A(NET, "object"),
            "task_or_inputs": A(ALPHA, "object"),
            "max_interior": K(8, "count"),
        },
    ),
    "symbolic_contrastive_hessian": (
        cl.symbolic_contrastive_hessian,
        {
            "network": A(NET, "object"),
            "G": A(G, "gates"),
            "task": A(ALPHA, "object"),
            "eta": K(1.0, "positive"),
        },
    ),
    "grid": (cl.grid, {"tau": K([0.1, 1.0], "axis"), "seed": K([0, 1], "axis")}),
    "run_sweep": (
        cl.run_sweep,
        {
            "func": A(abs, "callable"),
            "items": A([1, -2], "object"),
            "executor": K(cl.SerialExecutor(), "object"),
            "on_error": K("raise", "choice"),
            "save_interval": K(0.0, "number"),
        },
    ),
}

# --------------------------------------------------------------------------- more entry points
# Calibration, bias inference, comparisons and the newest public names.
U1, U2 = np.array([1.0, 0.0]), np.array([0.6, 0.8])
TA = cl.LinearTask(10.0 * np.outer(U1, U1), G_star=[1.0, 1.0])
TB = cl.LinearTask(20.0 * np.outer(U2, U2), G_star=[1.0, 1.0])
CYCLE_G = cl.periodic_orbit(TA, TB, B=[0.3, -0.2], tau=0.5).trajectory(np.arange(61) / 120).G
CYCLE = types.SimpleNamespace(tau=0.5, G=CYCLE_G[:-1])
OUT = free_output(NET, "Output")
LINE = cl.model_solution_line(OUT, ALPHA.points[0])
TIMES = np.arange(10) * 0.1
G_DRIFT = np.c_[3.0 + 0.1 * TIMES, 3.0 + 0.2 * TIMES]
THREE = [cl.LinearTask(10.0 * np.outer(w, w), G_star=[1.0, 1.0]) for w in (U1, U2, [0.0, 1.0])]
DIAG = [cl.LinearTask(np.diag(d), G_star=[0.0, 0.0]) for d in ([1.0, 0.0], [0.0, 1.0])]

ENTRIES.update(
    {
        "SolutionLine": (cl.SolutionLine, {"a": A(-1.0, "number"), "c": A(6.5, "number")}),
        "model_solution_line": (
            cl.model_solution_line,
            {
                "output": A(OUT, "callable"),
                "point": A(ALPHA.points[0], "object"),
                "G1": K((2.0, 3.0, 4.0), "array"),
                "bracket": K((1.0, 100.0), "limits"),
                "tol": K(1e-9, "positive"),
            },
        ),
        "calibrate_point": (
            cl.calibrate_point,
            {
                "output": A(OUT, "callable"),
                "point": A(ALPHA.points[0], "object"),
                "line": A(LINE, "object"),
                "fit_input": K("Input", "name"),
                "centre": K(None, "optional_gates"),
                "tol": K(1e-9, "positive"),
            },
        ),
        "calibrate_to_line": (
            cl.calibrate_to_line,
            {
                "network": A(NET, "object"),
                "task": A(ALPHA, "object"),
                "line": A((LINE.a, LINE.c), "line"),
                "fit_input": K("Input", "name"),
                "centre": K((3.0, 3.5), "gates"),
                "step": K(1.0, "positive"),
            },
        ),
        "calibrate_task": (
            cl.calibrate_task,
            {
                "network": A(NET, "object"),
                "task": A(ALPHA, "object"),
                "lines": A([None], "object"),
                "gamma": K(3.2e6, "positive"),
                "eta": K(1.0, "positive"),
                "reference": K((3.0, 3.5), "gates"),
            },
        ),
        "drift_velocity": (
            cl.drift_velocity,
            {
                "times": A(TIMES, "array"),
                "G": A(G_DRIFT, "matrix"),
                "window": K(5, "count"),
                "skip": K(2, "count"),
            },
        ),
        "stationary_projection": (
            cl.stationary_projection,
            {"task": A(LA, "object"), "G": A(np.array([3.1, 3.4]), "gates")},
        ),
        "combine_projections": (
            cl.combine_projections,
            {
                "directions": A(np.eye(2), "matrix"),
                "values": A(np.array([1.0, 2.0]), "gates"),
                "max_condition": K(1e8, "positive"),
            },
        ),
        "cycle_drift_projection": (
            cl.cycle_drift_projection,
            {"G": A(G_DRIFT, "matrix"), "tau": K(1.0, "positive"), "window": K((2, 8), "limits")},
        ),
        "cycle_stationary_projection": (
            cl.cycle_stationary_projection,
            {"task": A(LA, "object"), "G": A(np.array([3.1, 3.4]), "gates")},
        ),
        "compare_theory_simulation": (
            cl.compare_theory_simulation,
            {
                "network": A(NET, "object"),
                "task_a": A(ALPHA, "object"),
                "task_b": A(BETA, "object"),
                "tau": K([0.002], "times"),
                "B": K(np.array([1.0, 1.0]), "gates"),
                "G_ref": K(G, "gates"),
                "protocol": K(PROTO, "object"),
                "gate_limits": K(None, "limits"),
                "tol": K(1e-12, "positive"),
                "on_failure": K("record", "choice"),
            },
        ),
        "compare_with_measurement": (
            cl.compare_with_measurement,
            {
                "network": A(NET, "object"),
                "task_a": A(ALPHA, "object"),
                "task_b": A(BETA, "object"),
                "tau": K([0.002], "times"),
                "D2_measured": K([1e-6], "array"),
                "B": K(np.array([1.0, 1.0]), "gates"),
                "protocol": K(PROTO, "object"),
                "gate_limits": K((1.0, 5.0), "limits"),
                "G0": K(None, "optional_gates"),
                "tol": K(1e-10, "positive"),
            },
        ),
        "infer_bias_from_cycle": (
            cl.infer_bias_from_cycle,
            {
                "task_a": A(TA, "object"),
                "task_b": A(TB, "object"),
                "samples_G": A(CYCLE_G, "matrix"),
                "tau": K(0.5, "positive"),
            },
        ),
        "infer_bias_from_cycles": (
            cl.infer_bias_from_cycles,
            {
                "task_a": A(TA, "object"),
                "task_b": A(TB, "object"),
                "cycles": A([(0.5, CYCLE_G)], "object"),
                "matching": K("phase", "choice"),
                "phase_grid": K(256, "count"),
            },
        ),
        "infer_bias_from_cycles[nearest]": (
            cl.infer_bias_from_cycles,
            {
                "task_a": A(TA, "object"),
                "task_b": A(TB, "object"),
                "cycles": A([(0.5, CYCLE_G)], "object"),
                "matching": K("nearest", "choice"),
                "B0": K(np.array([0.3, -0.2]), "gates"),
                "curve_samples": K(200, "count"),
                "max_iter": K(50, "count"),
            },
        ),
        "infer_state_bias": (
            cl.infer_state_bias,
            {
                "task_a": A(TA, "object"),
                "task_b": A(TB, "object"),
                "cycles": A([CYCLE], "object"),
                "phases": K([0.0], "array"),
                "B_start": K(np.array([0.3, -0.2]), "gates"),
                "G_ref": K(None, "optional_gates"),
                "sigma_cycle": K(None, "optional"),
                "max_nfev": K(400, "count"),
                "model": K("affine", "choice"),
                "shapes_only": K(False, "flag"),
            },
        ),
        "cyclic_orbit": (
            cl.cyclic_orbit,
            {
                "tasks": A(THREE, "object"),
                "B": K(np.array([0.1, -0.2]), "gates"),
                "durations": K([0.5, 0.5, 0.5], "times"),
                "G_ref": K(None, "optional_gates"),
                "rate_tol": K(None, "optional"),
            },
        ),
        "orbit_covariance": (
            cl.orbit_covariance,
            {
                "tasks": A(DIAG, "object"),
                "durations": K([1.0, 1.0], "times"),
                "Q": K(0.01 * np.eye(2), "matrix"),
            },
        ),
        "random_order_moments": (
            cl.random_order_moments,
            {
                "tasks": A([LA, TA], "object"),
                "probs": K([0.5, 0.5], "array"),
                "duration": K(1.0, "positive"),
                "B": K(np.array([0.0, 0.0]), "gates"),
            },
        ),
        "forgetting_curve": (
            cl.forgetting_curve,
            {
                "task": A(DIAG[0], "object"),
                "others": A([DIAG[1]], "object"),
                "B": K(np.array([0.0, 0.1]), "gates"),
                "durations": K([1.0], "times"),
                "t": K([0.0, 10.0], "times"),
                "G0": K(None, "optional_gates"),
            },
        ),
        "AffineBias": (
            cl.AffineBias,
            {
                "B0": A(np.array([1.0, 2.0]), "gates"),
                "J": A(np.array([[-0.5, 0.0], [0.0, 0.0]]), "matrix"),
                "G_ref": A(np.array([3.0, 3.0]), "gates"),
            },
        ),
        "LinearTask.from_factor": (
            cl.LinearTask.from_factor,
            {
                "F": A(np.array([[3.0], [1.0]]), "matrix"),
                "G_star": A(G, "gates"),
                "rate_tol": K(1e-9, "positive"),
            },
        ),
    }
)


# --------------------------------------------------------------------------- bad values
_OBJ = object()
BAD: dict[str, list[Any]] = {
    "number": [
        "x",
        None,
        1j,
        _OBJ,
        True,
        [1.0, 2.0],
        math.nan,
        math.inf,
        -math.inf,
        1e300,
        -1e300,
        1e-300,
        0.0,
        -1.0,
    ],
    "count": ["x", None, 1.5, 1j, _OBJ, True, -1, 0, 10**12, math.nan],
    "array": [
        "x",
        None,
        _OBJ,
        1j,
        np.array([1j]),
        np.array([math.nan]),
        np.array([math.inf]),
        np.array([1e300]),
        np.array([1e-300]),
        np.zeros(0),
        np.zeros((2, 2)),
        np.array([_OBJ], dtype=object),
        [[1.0], [1.0, 2.0]],
    ],
    "gates": [
        "x",
        None,
        _OBJ,
        1j,
        3.0,
        np.array([3.0]),
        np.array([3.0, 3.0, 3.0]),
        np.array([1j, 1.0]),
        np.array([math.nan, 3.0]),
        np.array([math.inf, 3.0]),
        np.array([1e300, 1e300]),
        np.array([1e-300, 1e-300]),
        np.array([-3.0, -3.0]),
        np.zeros((2, 2)),
        np.array([[3.0, 3.0]]),
    ],
    "matrix": [
        "x",
        None,
        _OBJ,
        np.full((2, 2), 1e308),
        np.array([[1.0, 1j], [-1j, 1.0]]),
        np.full((2, 2), math.nan),
        np.ones((2, 3)),
        np.ones(2),
        np.ones((3, 3)),
        np.array([[1.0, 5.0], [0.0, 1.0]]),
        -np.eye(2),
        np.full((2, 2), 1e-300),
    ],
    "times": [
        "x",
        None,
        _OBJ,
        1j,
        np.array([math.nan]),
        np.array([math.inf]),
        np.array([-1.0]),
        np.array([1e300]),
        np.array([1e-300]),
        np.zeros((2, 2, 2)),
    ],
    "object": ["x", None, 1.0, _OBJ, [1, 2], 1j],
    "optional": ["x", 1j, _OBJ, math.nan, math.inf, 1e300, -1.0, 0.0],
    "choice": [None, 1, "nonsense", _OBJ, ""],
    "name": [None, 1, _OBJ, 1j, ""],
    "names": [None, "x", 1, [None], [1, 2], ["nowhere"], []],
    "flag": [None, "x", 1j, _OBJ],
    "mapping": [
        None,
        "x",
        1,
        _OBJ,
        {"Input": "x"},
        {"Input": math.nan},
        {"Input": 1j},
        {"Input": 1e300},
        {1: 0.2},
        {},
    ],
    "limits": [5.0, (1, 2, 3), "x", (math.nan, 5.0), (5.0, 1.0), (1j, 5.0), (None, None), _OBJ],
    "axis": [None, 1.0, _OBJ, [], range(10**9)],
    "callable": [None, "x", 1],
}
BAD["positive"] = BAD["number"]
BAD["optional_gates"] = [v for v in BAD["gates"] if v is not None]
BAD["line"] = [
    "x",
    None,
    1.0,
    _OBJ,
    (1.0,),
    (1.0, 2.0, 3.0),
    (math.nan, 1.0),
    (1j, 1.0),
    (1e300, 0.0),
]

# A typed error may name the argument through a related word (the object it belongs to).
ALIASES = {
    "edges": ("edge",),
    "graph": ("graph",),
    "points": ("point", "task"),
    "inputs": ("input",),
    "M": ("`M`", "`G_star`"),
    "G": ("gate", "edge"),
    "G_star": ("gate", "edge"),
    "G_guess": ("gate", "edge", "`G_ref`"),
    "G0": ("gate", "edge"),
    "task_or_inputs": ("task", "input"),
    "tasks": ("task",),
    "axis": ("axis",),
    "imposed": ("imposed", "node"),
    # Points in gate space: out of the device's domain, a DeviceError names the gate value and
    # the edge (as for `G`); for `line` and `step`, the calibration point they place.
    "centre": ("`centre`", "gate"),
    "reference": ("`reference`", "gate"),
    "line": ("`line`", "gate"),
    "step": ("`step`", "gate"),
}


class Hang(Exception):
    """A call ran longer than CALL_LIMIT seconds."""


#: A bad argument must be refused (or a result computed) quickly; the slowest valid baseline
#: (a short simulation) takes ~0.1 s on the shared 2-core box, so 5 s means a runaway loop.
CALL_LIMIT = 5.0


def _raise_hang(signum, frame):
    raise Hang()


#: Fields documented to be non-finite on purpose: ``Crossover.tau_drift`` is inf when there is
#: no drift (no drift time), ``Crossover.tau_knee`` NaN when the two asymptotes of D(tau) do not
#: cross exactly once (e.g. a bias too small to move the gates within float64's resolution).
INF_MEANS_NEVER = ("tau_drift", "tau_knee")


def finite_everywhere(x: Any, depth: int = 0) -> bool:
    """True if every float in ``x`` (arrays, numbers, dataclass fields, containers) is finite."""
    if depth > 4:
        return True
    if isinstance(x, bool | str | bytes) or x is None:
        return True
    if isinstance(x, float | complex | np.floating | np.complexfloating):
        return bool(np.isfinite(x))
    if isinstance(x, np.ndarray):
        return x.dtype.kind not in "fc" or bool(np.all(np.isfinite(x)))
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return all(
            finite_everywhere(getattr(x, f.name), depth + 1)
            for f in dataclasses.fields(x)
            if f.name not in ("network", "device", *INF_MEANS_NEVER)
        )
    if isinstance(x, list | tuple):
        return all(finite_everywhere(v, depth + 1) for v in x[:1000])
    if isinstance(x, dict):
        return all(finite_everywhere(v, depth + 1) for v in list(x.values())[:1000])
    return True


def call(entry: str, replace: dict[str, Any] | None = None) -> Any:
    fn, args = ENTRIES[entry]
    vals = {k: a.value for k, a in args.items()}
    vals.update(replace or {})
    pos = [vals[k] for k, a in args.items() if not a.keyword]
    kw = {k: vals[k] for k, a in args.items() if a.keyword}
    return fn(*pos, **kw)


def outcome(entry: str, arg: str, value: Any) -> tuple[str, str]:
    """("typed" | "valid" | a failure kind, detail) of one call with ``arg`` replaced."""
    old = signal.signal(signal.SIGALRM, _raise_hang)
    signal.setitimer(signal.ITIMER_REAL, CALL_LIMIT)
    try:
        res = call(entry, {arg: value})
    except Hang:
        return "hang", f"longer than {CALL_LIMIT} s"
    except CLLNError as exc:
        msg = str(exc)
        names = (f"`{arg}`", arg, *ALIASES.get(arg, ()))
        if any(n in msg for n in names):
            return "typed", msg
        return "unnamed", f"{type(exc).__name__}: {msg}"
    except Exception as exc:  # the failure this suite exists to find
        return "raw", f"{type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if not finite_everywhere(res):
        return "nonfinite", repr(res)[:200]
    return "valid", ""


def cases(entry: str) -> list[tuple[str, Any]]:
    _, args = ENTRIES[entry]
    return [(name, v) for name, a in args.items() for v in BAD[a.kind]]


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_baseline_is_valid(entry):
    """The baseline call of every entry point succeeds (so each bad case tests one argument)."""
    assert finite_everywhere(call(entry))


#: Entry points with bad cases still open (none today; see the table printed by
#: ``python tests/test_robustness.py``). Strict xfail: fixing one makes its case XPASS, which
#: fails the run until it is removed from this list.
KNOWN_GAPS: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, marks=pytest.mark.xfail(strict=True, reason="known open bad cases"))
        if e in KNOWN_GAPS
        else e
        for e in sorted(ENTRIES)
    ],
)
def test_bad_arguments_give_typed_error_or_finite_result(entry):
    failures = []
    for arg, value in cases(entry):
        kind, detail = outcome(entry, arg, value)
        if kind not in ("typed", "valid"):
            failures.append(f"{arg}={_short(value)}: {kind}: {detail[:160]}")
    assert not failures, f"{entry}: {len(failures)} bad outcomes:\n" + "\n".join(failures)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) < 50 else text[:47] + "..."


_NUMERIC = [
    (e, a)
    for e, (_, args) in sorted(ENTRIES.items())
    for a, spec in args.items()
    if e not in KNOWN_GAPS and spec.kind in ("number", "positive", "gates", "array", "times")
]
_HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.none(),
    st.integers(min_value=-(10**30), max_value=10**30),
    hnp.arrays(np.float64, st.integers(0, 4), elements=st.floats(allow_nan=True)),
    hnp.arrays(np.complex128, 2),
)


@settings(max_examples=150, deadline=None)
@given(case=st.sampled_from(_NUMERIC), value=_HOSTILE)
def test_drawn_values_give_typed_error_or_finite_result(case, value):
    entry, arg = case
    kind, detail = outcome(entry, arg, value)
    assert kind in ("typed", "valid"), f"{entry}({arg}={_short(value)}): {kind}: {detail}"


# --------------------------------------------------------------------------- table
def table() -> str:
    rows, total = [], Counter()
    for entry in sorted(ENTRIES):
        c = Counter(outcome(entry, a, v)[0] for a, v in cases(entry))
        total.update(c)
        bad = sum(n for k, n in c.items() if k not in ("typed", "valid"))
        rows.append(f"| {entry} | {sum(c.values())} | {c['typed']} | {c['valid']} | {bad} |")
    head = (
        "| entry point | cases | typed errors | valid results | failures |\n|---|---|---|---|---|"
    )
    bad = sum(n for k, n in total.items() if k not in ("typed", "valid"))
    foot = f"| **total** | {sum(total.values())} | {total['typed']} | {total['valid']} | {bad} |"
    return "\n".join([head, *rows, foot])


if __name__ == "__main__":
    t0 = time.perf_counter()
    print(table())
    print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)


# --------------------------------------------------------------------------- documented limits
#: Largest memory a refused call may allocate, bytes: refusing must happen before the work's
#: arrays exist (the refused requests below would need gigabytes to terabytes).
REFUSAL_PEAK = 32 * 2**20


def _refused(fn: Callable[[], Any], error: type[Exception], name: str) -> None:
    """``fn()`` raises ``error`` naming ``name``, quickly and with little memory."""
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(error, match=f"`{name}`"):
            fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < REFUSAL_PEAK, f"{peak / 2**20:.0f} MB allocated before refusing `{name}`"
    assert time.perf_counter() - t0 < CALL_LIMIT


def test_documented_limits_refuse_before_allocating():
    from clln_theory.electrical._args import HARD_MAX_GATES, HARD_MAX_INTERIOR
    from clln_theory.errors import ArgumentError, NetworkError
    from clln_theory.inference.cycle_fit import _MAX_FIT_SAMPLES as MAX_FIT_SAMPLES
    from clln_theory.model.network import MAX_LATTICE_SIDE
    from clln_theory.simulator.protocol import MAX_RECORD_VALUES, MAX_STEPS
    from clln_theory.theory.linear import MAX_PERIODS, MAX_SAMPLE_VALUES

    B = np.array([1.0, 1.0])
    many_taus = np.full(MAX_PERIODS + 1, 0.1)  # the caller's array, 8 MB
    _refused(lambda: cl.periodic_orbit(LA, LB, B=B, tau=many_taus), ArgumentError, "tau")
    orbit = cl.periodic_orbit(LA, LB, B=B, tau=[0.1, 0.2])
    m = MAX_SAMPLE_VALUES // 4 + 1  # 2 periods x 2 gates x m samples > MAX_SAMPLE_VALUES
    _refused(lambda: orbit.trajectory(m), ArgumentError, "times_or_n")
    _refused(
        lambda: cl.symbolic_model(NET, ALPHA, max_interior=HARD_MAX_INTERIOR + 1),
        ArgumentError,
        "max_interior",
    )
    _refused(
        lambda: cl.symbolic_model(NET, ALPHA, max_gates=HARD_MAX_GATES + 1),
        ArgumentError,
        "max_gates",
    )
    _refused(lambda: cl.periodic_lattice(MAX_LATTICE_SIDE + 1), NetworkError, "L")
    run = dict(B=B, protocol=PROTO)
    half = 10  # tau = 0.002 s: 10 steps of 100 us per half period
    _refused(
        lambda: cl.simulate(NET, [ALPHA, BETA], G, tau=0.002, n_periods=MAX_STEPS // half, **run),
        ArgumentError,
        "n_periods",
    )
    n_rec = MAX_RECORD_VALUES // (2 * half)  # every step recorded: 2 gates x 2 half x 10 > max
    _refused(
        lambda: cl.simulate(
            NET, [ALPHA, BETA], G, tau=0.002, n_periods=n_rec, record="step", **run
        ),
        ArgumentError,
        "record",
    )
    _refused(
        lambda: cl.simulate(
            NET, [ALPHA, BETA], G, tau=2.0 * 1e-4 * (MAX_STEPS + 1), n_periods=1, **run
        ),
        ArgumentError,
        "tau",
    )
    _refused(
        lambda: cl.infer_bias_from_cycles(TA, TB, [(0.5, CYCLE_G)], phase_grid=MAX_FIT_SAMPLES + 1),
        ArgumentError,
        "phase_grid",
    )
