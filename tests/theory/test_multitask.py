"""Tests of clln_theory.theory.multitask: cyclic_orbit against periodic_orbit (K = 2), against an
independent 50-digit mpmath reference (K = 3, 4), the common-null drift, the trajectory and bad
input."""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from clln_theory.errors import AccuracyWarning, ArgumentError, ShapeError
from clln_theory.testing import task_pairs
from clln_theory.theory.linear import LinearTask, evolve
from clln_theory.theory.multitask import cyclic_orbit
from clln_theory.theory.orbits import periodic_orbit

EPS = np.finfo(float).eps
#: K = 2 against periodic_orbit: the issue's 1e-12 relative, wherever the attainable accuracy
#: eps * Orbit.condition allows it (<= KAPPA_OK); beyond, both engines are only accurate to a
#: small multiple of it (test_cycles.py measures <= 30 eps * kappa for periodic_orbit) and the
#: difference must stay within KAPPA_ULPS * eps * kappa.
REL_K2 = 1e-12
KAPPA_OK = 1e-14
KAPPA_ULPS = 60
#: K = 3, 4 against 50-digit mpmath (the issue's requirement), on well-conditioned draws.
REL_MP = 1e-10
TAUS = np.logspace(-9, 3, 5)
SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rel(x, ref):
    return np.linalg.norm(x - ref, axis=-1) / np.maximum(np.linalg.norm(ref, axis=-1), 1e-300)


def _check_k2(a, b, B):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        po = periodic_orbit(a, b, B=B, tau=TAUS)
    co = cyclic_orbit([a, b], B=B, durations=np.outer(TAUS, [0.5, 0.5]))
    att = EPS * po.condition
    for got, ref in ((co.G_starts[:, 0], po.G0), (co.G_starts[:, 1], po.G_half)):
        err = _rel(got, ref)
        assert np.all(err[att <= KAPPA_OK] <= REL_K2), (err, att)
        assert np.all(err <= np.maximum(REL_K2, KAPPA_ULPS * att)), (err, att)
    span_err = np.abs(co.span - po.span) / np.maximum(po.span, 1e-300)
    assert np.all(
        span_err
        <= np.maximum(
            REL_K2, KAPPA_ULPS * att * np.linalg.norm(po.G0, axis=-1) / np.maximum(po.span, 1e-300)
        )
    ), span_err
    np.testing.assert_array_equal(co.drift, po.drift)


@SETTINGS
@given(task_pairs(2))
def test_k2_equals_periodic_orbit_full_rank(pair):
    _check_k2(*pair)


@SETTINGS
@given(task_pairs(3, ranks=(1, 2)))
def test_k2_equals_periodic_orbit_rank_deficient(pair):
    _check_k2(*pair)


@SETTINGS
@given(task_pairs(4, ranks=(2, 1), shared_null=1))
def test_k2_equals_periodic_orbit_shared_null(pair):
    _check_k2(*pair)


@SETTINGS
@given(task_pairs(3, compatible=True, ranks=(1, 2)))
def test_k2_equals_periodic_orbit_compatible(pair):
    _check_k2(*pair)


@SETTINGS
@given(task_pairs(3, angle_range=(1e-4, 1e-1)))
def test_k2_equals_periodic_orbit_nearly_parallel(pair):
    _check_k2(*pair)


# ------------------------------------------------------------------------------------------
# K = 3, 4 against an independent 50-digit reference
# ------------------------------------------------------------------------------------------
def _mp_segment(M, G_star, B, h):
    """``A = exp(-hM)``, ``b`` as blocks of ``expm(h [[-M, M G* + B], [0, 0]])`` (Van Loan)."""
    n = M.rows
    X = mp.zeros(n + 1, n + 1)
    f = M * G_star + B
    for i in range(n):
        X[i, n] = h * f[i]
        for j in range(n):
            X[i, j] = -h * M[i, j]
    Y = mp.expm(X)
    return Y[:n, :n], Y[:n, n]


def mp_cyclic(tasks, B, durations, Q=None, G_ref=None, dps=50):
    """Segment starts of the cyclic orbit at ``dps`` digits: compose the K segment maps, LU (or,
    with a common null basis ``Q``, least squares pinned by ``Q^T x = Q^T G_ref``)."""
    with mp.workdps(dps):
        n = tasks[0].n
        Bm = mp.matrix(B.tolist())
        maps = [
            _mp_segment(mp.matrix(t.M.tolist()), mp.matrix(t.G_star.tolist()), Bm, mp.mpf(h))
            for t, h in zip(tasks, durations)
        ]
        Pi, c = mp.eye(n), mp.zeros(n, 1)
        for A, b in maps:
            Pi, c = A * Pi, A * c + b
        L = mp.eye(n) - Pi
        if Q is None:
            x = mp.lu_solve(L, c)
        else:
            k = Q.shape[1]
            Qm = mp.matrix(Q.tolist())
            stacked, right = mp.zeros(n + k, n), mp.zeros(n + k, 1)
            for i in range(n):
                right[i] = c[i]
                for j in range(n):
                    stacked[i, j] = L[i, j]
            pin = Qm.T * mp.matrix(G_ref.tolist())
            for i in range(k):
                right[n + i] = pin[i]
                for j in range(n):
                    stacked[n + i, j] = Qm[j, i]
            # the null component of c (tau * drift) has no solution: drop it, as the drift
            drift_tau = Qm * (Qm.T * c)
            for i in range(n):
                right[i] -= drift_tau[i]
            x, res = mp.qr_solve(stacked, right)
            # the float64 M_k annihilate Z only to ~eps |M|: the system is consistent to that
            assert res < mp.mpf("1e-12"), res
        out = [x]
        for A, b in maps[:-1]:
            out.append(A * out[-1] + b)
        return np.array([[float(v[i]) for i in range(n)] for v in out])


def _psd(rng, n, rank, basis=None, lo=0.1, hi=10.0):
    V = basis if basis is not None else np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = 10 ** rng.uniform(np.log10(lo), np.log10(hi), rank)
    return (V[:, :rank] * lam) @ V[:, :rank].T


def _family(seed, n, K, shared_null):
    rng = np.random.default_rng(seed)
    W = np.linalg.qr(rng.standard_normal((n, n)))[0]
    Z, C = W[:, :shared_null], W[:, shared_null:]
    tasks = []
    for _ in range(K):
        R = np.linalg.qr(rng.standard_normal((n - shared_null,) * 2))[0]
        rank = max(1, n - shared_null - 1)  # every task rank deficient on its own
        M = _psd(rng, n, rank, basis=C @ R)
        tasks.append(LinearTask(0.5 * (M + M.T), G_star=rng.uniform(-3, 3, n)))
    return tasks, rng.uniform(-1, 1, n), (Z if shared_null else None)


@pytest.mark.parametrize(("K", "n", "shared_null"), [(3, 3, 0), (4, 3, 0), (3, 4, 1), (4, 4, 1)])
def test_k3_k4_against_50_digit_mpmath(K, n, shared_null):
    tasks, B, Z = _family(10 * K + n, n, K, shared_null)
    rng = np.random.default_rng(K)
    G_ref = rng.uniform(-1, 1, n)
    for tau in (1e-3, 1.0, 1e3):
        durations = tau * rng.dirichlet(np.ones(K))
        got = cyclic_orbit(tasks, B=B, durations=durations, G_ref=G_ref)
        ref = mp_cyclic(tasks, B, durations, Q=Z, G_ref=G_ref)
        assert np.max(_rel(got.G_starts, ref)) <= REL_MP, (tau, _rel(got.G_starts, ref))
        if shared_null:
            drift = Z @ (Z.T @ B)
            assert np.linalg.norm(got.drift - drift) <= 1e-14 * np.linalg.norm(B)
            assert np.linalg.norm(got.drift) > 0.01  # the drift is reported, not dropped
        else:
            assert np.all(got.drift == 0)


def test_orbit_closes_and_trajectory_is_continuous():
    tasks, B, _ = _family(7, 4, 3, 1)
    durations = np.array([0.3, 0.9, 0.5])
    orbit = cyclic_orbit(tasks, B=B, durations=durations)
    # chaining (D5) of each task from G_starts[k] reaches G_starts[k+1]; after K: + tau drift
    for k in range(3):
        end = evolve(tasks[k], orbit.G_starts[k], t=durations[k], B=B)
        target = orbit.G_starts[k + 1] if k < 2 else orbit.G_starts[0] + orbit.tau * orbit.drift
        np.testing.assert_allclose(end, target, rtol=0, atol=1e-12 * np.linalg.norm(target))
    traj = orbit.trajectory(np.array([0.1, 0.3, 1.2, 1.7, 1.7 + 0.1]))
    np.testing.assert_allclose(traj.G[1], orbit.G_starts[1], atol=1e-13)
    np.testing.assert_allclose(traj.G[2], orbit.G_starts[2], atol=1e-13)
    np.testing.assert_allclose(traj.G[4], traj.G[0] + 1.7 * orbit.drift, atol=1e-12)
    assert list(traj.task_index) == [0, 0, 1, 2, 0]
    # the generalized span is (4) literally for K = 2 and the largest end-to-end distance here
    ends = [orbit.G_starts[1], orbit.G_starts[2], orbit.G_starts[0] + orbit.tau * orbit.drift]
    D = max(np.linalg.norm(x - y) for x in ends for y in ends)
    assert abs(orbit.span - D) <= 1e-12 * D


def test_sweep_matches_single_schedules():
    tasks, B, _ = _family(3, 3, 3, 0)
    d = np.outer([0.01, 1.0, 100.0], [0.2, 0.3, 0.5])
    sweep = cyclic_orbit(tasks, B=B, durations=d)
    assert sweep.G_starts.shape == (3, 3, 3) and sweep.span.shape == (3,)
    for i in range(3):
        one = cyclic_orbit(tasks, B=B, durations=d[i])
        np.testing.assert_allclose(sweep.G_starts[i], one.G_starts, rtol=1e-14, atol=1e-15)
    assert sweep.trajectory(4).G.shape == (3, 4, 3)


def test_bad_input_is_named():
    tasks, B, _ = _family(3, 3, 3, 0)
    with pytest.raises(ArgumentError, match="tasks"):
        cyclic_orbit(tasks[0], B=B, durations=[1.0])
    with pytest.raises(ArgumentError, match="at least 2"):
        cyclic_orbit(tasks[:1], B=B, durations=[1.0])
    with pytest.raises(ShapeError, match="durations"):
        cyclic_orbit(tasks, B=B, durations=[1.0, 1.0])
    with pytest.raises(ArgumentError, match="durations"):
        cyclic_orbit(tasks, B=B, durations=[1.0, 0.0, 1.0])
    with pytest.raises(ShapeError, match="B"):
        cyclic_orbit(tasks, B=B[:2], durations=[1.0, 1.0, 1.0])
    small = LinearTask(np.eye(2), G_star=[0.0, 0.0])
    with pytest.raises(ShapeError, match=r"tasks\[1\]"):
        cyclic_orbit([tasks[0], small], B=B, durations=[1.0, 1.0])
