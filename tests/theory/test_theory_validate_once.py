"""Each public call of the theory's faces validates each argument once (faces over engines).

``count_validations`` counts the outermost validator calls per ``(validator, argument name)``;
a face that called another public function would validate the same argument twice.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from clln_theory._checks import count_validations
from clln_theory.errors import ArgumentError
from clln_theory.experiments.paper import experiment_tasks
from clln_theory.model import AffineBias
from clln_theory.model.network import star_network
from clln_theory.theory import (
    ClosedOrbit,
    LinearTask,
    cyclic_orbit,
    force_jacobian,
    linearize,
    nearest_solution,
    periodic_orbit,
)

#: Names validated inside the electrical room's ``KirchhoffSolver`` (the Kirchhoff solve that
#: `linearize` builds once): its gate vector ``G`` (checked by ``check_gates`` and again by
#: ``conductances``) and the clamped outputs ``O_C``. They go once the solve is called through
#: the electrical engine, which trusts its checked inputs.
ELECTRICAL_INTERNALS = {"G", "O_C"}


def _per_argument(counter: collections.Counter) -> collections.Counter:
    per: collections.Counter = collections.Counter()
    for (_validator, arg), k in counter.items():
        per[arg] += k
    return per


@pytest.fixture(scope="module")
def pair():
    u, v = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    b = LinearTask(20.0 * np.outer(v, v), G_star=[1.0, 1.0])
    return a, b


def test_periodic_orbit_on_an_array_of_periods_validates_each_argument_once(pair):
    a, b = pair
    with count_validations() as c:
        periodic_orbit(a, b, B=[0.1, -0.2], tau=[1e-3, 1.0, 1e3], G_ref=[1.0, 1.0], rate_tol=1e-9)
    per = _per_argument(c)
    assert {"B", "tau", "G_ref", "rate_tol"} <= set(per)
    assert all(k == 1 for k in per.values()), per


def test_the_low_rank_route_validates_once(pair):
    _, b = pair
    low = LinearTask.from_factor([[1.0], [0.0]], G_star=[1.0, 1.0])
    with count_validations() as c:
        periodic_orbit(low, b, B=[0.1, -0.2], tau=[1e-3, 1.0], rate_tol=1e-9, rtol=1e-8)
    per = _per_argument(c)
    assert all(k == 1 for k in per.values()), per


def test_cyclic_orbit_validates_each_argument_once(pair):
    a, b = pair
    with count_validations() as c:
        cyclic_orbit([a, b, a], B=[0.1, -0.2], durations=[0.5, 0.5, 0.5], G_ref=[1, 1])
    per = _per_argument(c)
    assert {"tasks", "B", "durations", "G_ref"} <= set(per)
    assert all(k == 1 for k in per.values()), per


def test_linearize_validates_each_argument_once():
    net = star_network()
    task, _ = experiment_tasks("exp1")
    G_star = nearest_solution(net, task, [3.0, 3.5])
    with count_validations() as c:
        linearize(net, task, G_star, gamma=1.6e6, r=2.0, eta=1.0, route="auto")
    per = _per_argument(c)
    assert {"network", "gamma", "r", "eta", "route", "curvature", "G_star"} <= set(per)
    mine = {k: v for k, v in per.items() if k not in ELECTRICAL_INTERNALS}
    assert all(k == 1 for k in mine.values()), per
    assert all(per[k] <= 2 for k in ELECTRICAL_INTERNALS), per  # one solver, not two


def test_options_that_would_be_ignored_are_refused(pair):
    a, b = pair
    affine = AffineBias([0.1, 0.1], -np.eye(2), [0.0, 0.0])
    with pytest.raises(ArgumentError, match=r"`dps`.*`rtol`"):
        periodic_orbit(a, b, B=[0.1, 0.2], tau=1.0, dps=30, rtol=1e-10)
    for kw in ({"dps": 30}, {"rtol": 1e-9}):
        with pytest.raises(ArgumentError, match="AffineBias"):
            periodic_orbit(a, b, B=affine, tau=1.0, **kw)
    net = star_network()
    task, _ = experiment_tasks("exp1")
    with pytest.raises(ArgumentError, match="renamed `route`"):
        linearize(net, task, [3.0, 3.5], gamma=1.0, method="adjoint")
    with pytest.raises(ArgumentError, match="unexpected keyword"):
        linearize(net, task, [3.0, 3.5], gamma=1.0, foo=1)
    with pytest.raises(ArgumentError, match="`curvature"):
        linearize(net, task, [3.0, 3.5], gamma=1.0, route="symbolic", curvature="exact")
    with pytest.raises(ArgumentError, match="`delta_tol`"):
        force_jacobian(net, [3.0, 3.5], task, curvature="exact", delta_tol=1e-3)


def test_every_orbit_result_is_a_closed_orbit(pair):
    a, b = pair
    affine = AffineBias([0.1, 0.1], -np.eye(2), [0.0, 0.0])
    low = LinearTask.from_factor([[1.0], [0.0]], G_star=[1.0, 1.0])
    for orbit in (
        periodic_orbit(a, b, B=[0.1, 0.2], tau=1.0),
        periodic_orbit(low, b, B=[0.1, 0.2], tau=[1.0, 2.0]),
        periodic_orbit(a, b, B=affine, tau=1.0),
    ):
        assert isinstance(orbit, ClosedOrbit)
