"""Tests of clln_theory.theory.memory: the forgetting curve against direct integration, its
long-time growth set by the drift speed, and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from clln_theory.errors import ArgumentError, ShapeError
from clln_theory.theory.linear import LinearTask
from clln_theory.theory.memory import forgetting_curve

#: solve_ivp at rtol 1e-12 (DOP853) is accurate to ~1e-10 relative over these few cycles.
REL_IVP = 1e-9


def _tasks(seed=0):
    rng = np.random.default_rng(seed)
    W = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    mem = LinearTask(2.0 * np.outer(W[:, 0], W[:, 0]) + np.outer(W[:, 2], W[:, 2]), [1, 0, 1.0])
    o1 = LinearTask(3.0 * np.outer(W[:, 1], W[:, 1]), G_star=[0.5, 1.0, -1.0])
    o2 = LinearTask(np.outer(W[:, 0] + W[:, 1], W[:, 0] + W[:, 1]), G_star=[0.0, 0.3, 0.2])
    return mem, [o1, o2], W


def test_forgetting_curve_against_solve_ivp():
    mem, others, _ = _tasks()
    B = np.array([0.2, -0.3, 0.1])
    h = np.array([0.7, 0.4])
    t = np.linspace(0.0, 5.5, 23)
    fc = forgetting_curve(mem, others, B=B, durations=h, t=t)
    tau = h.sum()

    def rhs(s, G):
        k = 0 if (s % tau) < h[0] else 1
        return -others[k].M @ (G - others[k].G_star) + B

    # integrate segment by segment (the right-hand side jumps at each switch)
    edges = np.unique(np.concatenate([np.arange(0, 6, tau), np.arange(0, 6, tau) + h[0], [5.5]]))
    edges = edges[edges <= 5.5]
    G, out = mem.G_star.astype(float), {}
    for a, b in itertools.pairwise(edges):
        sel = t[(t >= a) & (t <= b)]
        sol = solve_ivp(
            rhs,
            (a, b),
            G,
            t_eval=sel,
            rtol=1e-12,
            atol=1e-14,
            method="DOP853",
            first_step=1e-3,
            max_step=(b - a),
        )
        for ti, Gi in zip(sol.t, sol.y.T):
            out.setdefault(ti, Gi)
        G = (
            sol.y[:, -1]
            if sol.t.size and sol.t[-1] == b
            else solve_ivp(rhs, (a, b), G, rtol=1e-12, atol=1e-14, method="DOP853").y[:, -1]
        )
    ref = np.array([out[ti] for ti in t])
    assert np.max(np.abs(fc.G - ref)) <= REL_IVP * np.max(np.abs(ref))
    dG = ref - mem.G_star
    H = np.eye(3) - mem.N
    np.testing.assert_allclose(fc.error, np.einsum("mi,ij,mj->m", dG, H, dG), atol=1e-9)
    assert fc.error[0] == 0.0 and fc.error[-1] > 0.01


def test_long_time_growth_is_set_by_the_drift():
    mem, others, W = _tasks()
    B = np.array([0.2, -0.3, 0.1])
    Z = W[:, 2:3]  # the others' common nullspace: W[:, 2] (both act in span(W0, W1))
    fc = forgetting_curve(mem, others, B=B, durations=[0.7, 0.4], t=[1e3, 2e3])
    np.testing.assert_allclose(fc.drift, Z @ Z.T @ B, atol=1e-14)
    assert abs(fc.drift_speed - abs(Z[:, 0] @ B)) <= 1e-14
    # error ~ (erasure_rate t)^2: the ratio of errors at 2t and t tends to 4
    assert abs(fc.error[1] / fc.error[0] - 4.0) < 0.01
    assert abs(np.sqrt(fc.error[1]) / 2e3 - fc.erasure_rate) < 0.01 * fc.erasure_rate
    assert fc.erasure_time(1.0) == pytest.approx(1.0 / fc.erasure_rate)


def test_no_common_null_no_erasure():
    mem, others, W = _tasks()
    full = LinearTask(np.outer(W[:, 2], W[:, 2]), G_star=[0.0, 0.0, 0.0])
    fc = forgetting_curve(
        mem, [*others, full], B=[0.2, -0.3, 0.1], durations=[1, 1, 1], t=[999.0, 1998.0]
    )  # whole cycles of tau = 3 s
    assert fc.drift_speed == 0.0 and fc.erasure_time(1.0) == np.inf
    assert abs(fc.error[1] - fc.error[0]) <= 1e-9 * fc.error[0]  # bounded: periodic


def test_bad_input_is_named():
    mem, others, _ = _tasks()
    with pytest.raises(ArgumentError, match="task"):
        forgetting_curve(mem.M, others, B=np.zeros(3), durations=[1, 1], t=[0.0])
    with pytest.raises(ShapeError, match="durations"):
        forgetting_curve(mem, others, B=np.zeros(3), durations=[1.0], t=[0.0])
    with pytest.raises(ArgumentError, match="t"):
        forgetting_curve(mem, others, B=np.zeros(3), durations=[1, 1], t=[-1.0])
