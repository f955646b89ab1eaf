"""The cycle in the gate box against the nonlinear simulator on the 2+1 network.

Linear devices, the tasks of exp1 linearized at their joint solution ``G*``, bias ``s B_exp1``
and the box ``G* ± s/2`` V: the linear cycle saturates (each half period ends with a gate pinned)
and, scaled by ``s``, is the same at every ``s``. The simulator (`limit_cycle`, Euler steps
``t_h`` with clipping) then differs from the theory by the linearization error, relative
``O(s)`` (the box width), plus the Euler error, relative ``O(t_h)``: fitted log-log slopes 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.electrical import learning_rate_A0
from clln_theory.experiments.paper import EXPERIMENTS, FIG2_C0, FIG2_R, FIG2_R0, experiment_tasks
from clln_theory.model import LinearDevice, star_network
from clln_theory.simulator import TrainingProtocol, limit_cycle
from clln_theory.theory import joint_solution, linearize, periodic_orbit

#: These tests put orbits in boxes they leave on purpose: the `GateBoxWarning` that says so is
#: expected here (it is tested with `pytest.warns` in test_box.py) and would only be noise.
pytestmark = pytest.mark.filterwarnings("ignore::clln_theory.errors.GateBoxWarning")


A0 = learning_rate_A0(FIG2_R0, FIG2_C0, r=FIG2_R)
B_EXP1 = np.array(EXPERIMENTS["exp1"].bias)
ALPHA, BETA = experiment_tasks("exp1")
NET = star_network().with_device(LinearDevice())
G_STAR = joint_solution(NET, ALPHA, BETA, (3.0, 3.5))
GAMMA = A0 / float(NET.S[0])
LA = linearize(NET, ALPHA, G_STAR, gamma=GAMMA)
LB = linearize(NET, BETA, G_STAR, gamma=GAMMA)
TAU = 0.08
#: A fitted slope within this of 1 (as tests/experiments/test_compare.py).
SLOPE_TOL = 0.15


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _relative_difference(s, t_h):
    box = (G_STAR - 0.5 * s, G_STAR + 0.5 * s)
    o = periodic_orbit(LA, LB, B=s * B_EXP1, tau=TAU, box=box)
    assert o.saturated and not o.unconstrained_in_box
    assert {p.pinned_hi for p in o.pieces} == {(), (0,), (1,)}
    lc = limit_cycle(NET, ALPHA, BETA, tau=TAU, B=s * B_EXP1, gate_limits=box, G0=o.G0,
                     protocol=TrainingProtocol(A0=A0, t_h=t_h), tol=1e-15 * s)  # fmt: skip
    diff = max(np.max(np.abs(lc.G0 - o.G0)), np.max(np.abs(lc.G_half - o.G_half)))
    return diff / s


def test_difference_shrinks_in_proportion_to_the_box_width():
    widths = np.array([0.1, 0.05, 0.025])
    rel = [_relative_difference(s, 2.5e-6) for s in widths]  # Euler error ~100x below
    assert abs(_slope(widths, rel) - 1.0) < SLOPE_TOL, rel
    assert rel[-1] < 1e-3


def test_difference_shrinks_with_the_step():
    t_h = np.array([2e-4, 1e-4, 5e-5, 2.5e-5])
    rel = [_relative_difference(1e-4, th) for th in t_h]  # linearization error ~1e-6
    assert abs(_slope(t_h, rel) - 1.0) < SLOPE_TOL, rel
    assert rel[-1] < 1e-4
