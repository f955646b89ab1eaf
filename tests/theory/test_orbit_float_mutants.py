"""The float orbit kernel's solvers: the cases the mutation run (tests/mutation) found untested.

`solve_spd` on every path (numpy stacks below STACK_MAX_N, one ``dposv`` per period below
LOOP_MIN_N, ``dsyrk`` + ``dpotrf`` beyond) against a dense reference: the solution of the
unscaled system and the Cholesky pivots of its Jacobi-scaled form. The LU fallback (Cholesky
failed) on an indefinite scaled system, and the fallback's limits.
"""

import re
import warnings

import numpy as np
import pytest

from clln_theory.errors import AccuracyWarning, SingularSystemError
from clln_theory.theory import _orbit_float
from clln_theory.theory._orbit_float import (
    FLUSH_X,
    LOOP_MIN_N,
    SINGULAR_MESSAGE,
    STACK_MAX_N,
    Factors,
    condition_estimate,
    exp_columns,
    factors,
    lu_fallback,
    orbit_n2,
    per_period,
    reduced_eig,
    solve_2x2,
    solve_spd,
)
from clln_theory.theory.linear import LinearTask, half_period_map
from clln_theory.theory.orbits import periodic_orbit

SIZES = (5, STACK_MAX_N + 4, LOOP_MIN_N + 2)


def _orthogonal(m, rng):
    return np.linalg.qr(rng.normal(size=(m, m)))[0]


def _reference(f, W, r):
    """Per period: z = S^-1 r and max 1/L_ii^2 of the Cholesky (or cond) of S_hat = D^-1 S D^-1."""
    z, inv_scaled, inv_norm = [], [], []
    for t in range(r.shape[0]):
        S = np.diag(f.ea[t]) + (f.sa[t][:, None] * W * f.eb[t]) @ (W.T * f.sa[t][None, :])
        d = np.sqrt(np.diag(S))
        S_hat = S / np.outer(d, d)
        z.append(np.linalg.solve(S, r[t]))
        try:
            piv = np.diag(np.linalg.cholesky(S_hat))
            inv_scaled.append(np.max(1.0 / piv**2))
        except np.linalg.LinAlgError:
            inv_scaled.append(np.linalg.cond(S_hat))  # the fallback's pseudo-pivots
        inv_norm.append(inv_scaled[-1] / np.min(d * d))
    return np.array(z), np.array(inv_norm), np.array(inv_scaled)


@pytest.mark.parametrize("m", SIZES)
def test_solve_spd_matches_the_dense_solution_and_pivots(m):
    rng = np.random.default_rng(m)
    lam_a, lam_b = rng.uniform(0.1, 3.0, m), rng.uniform(0.0, 3.0, m)
    f = factors(lam_a, lam_b, np.array([0.05, 0.7, 6.0]))
    W = _orthogonal(m, rng)
    r = rng.normal(size=(3, m))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # positive definite: no fallback
        z, inv_norm, inv_scaled = solve_spd(f, W, r.copy())
    z_ref, norm_ref, scaled_ref = _reference(f, W, r)
    np.testing.assert_allclose(z, z_ref, rtol=1e-9, atol=1e-12 * np.abs(z_ref).max())
    np.testing.assert_allclose(inv_scaled, scaled_ref, rtol=1e-9)
    np.testing.assert_allclose(inv_norm, norm_ref, rtol=1e-9)


def _indefinite_factors(m, rng, T=2, bad=1):
    """Period ``bad``: S_hat = -I + u u^T (indefinite, cond 2m - 1); the others: definite."""
    W = _orthogonal(m, rng)
    w2 = W[:, 0] ** 2
    eb = np.zeros((T, m))
    eb[:, 0] = 1.0
    ea = np.full((T, m), 0.5) * rng.uniform(0.5, 2.0, size=(T, 1))
    ea[bad] = -0.5 * w2
    ones, zeros = np.ones((T, m)), np.zeros((T, m))
    return Factors(sa=ones, ea=ea, pa=zeros, eb=eb, ab=zeros, pb=zeros), W


def _check_fallback(f, W, r, m, bad):
    with pytest.warns(AccuracyWarning) as record:
        z, inv_norm, inv_scaled = solve_spd(f, W, r.copy())
    assert len(record) == 1  # only the indefinite period
    cond = 2 * m - 1
    message = (
        f"The closed-orbit system is numerically semidefinite (Cholesky failed; condition "
        f"number {cond:.3g}: a nearly common null direction of M_alpha and M_beta). Solved by "
        f"LU; expect a relative error in G0 up to ~{cond * np.finfo(float).eps:.1e}."
    )
    assert str(record[0].message) == message
    z_ref, norm_ref, scaled_ref = _reference(f, W, r)
    np.testing.assert_allclose(z, z_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(inv_scaled, scaled_ref, rtol=1e-9)
    np.testing.assert_allclose(inv_norm, norm_ref, rtol=1e-9)
    assert inv_scaled[bad] == pytest.approx(cond, rel=1e-9)


@pytest.mark.parametrize("m", (*SIZES, LOOP_MIN_N))
def test_failed_cholesky_falls_back_to_lu_per_period(m):
    rng = np.random.default_rng(100 + m)
    f, W = _indefinite_factors(m, rng, T=3, bad=1)  # the periods after it are solved too
    _check_fallback(f, W, rng.normal(size=(3, m)), m, 1)


def test_chunks_of_periods_and_a_fallback_inside_a_chunk(monkeypatch):
    monkeypatch.setattr(_orbit_float, "CHUNK_ENTRIES", 50)  # m = 5: chunks of 2 periods
    rng = np.random.default_rng(11)
    f, W = _indefinite_factors(5, rng, T=5, bad=3)  # the second period of the second chunk
    _check_fallback(f, W, rng.normal(size=(5, 5)), 5, 3)


def test_per_period_falls_back_on_any_failed_pivot():
    S = np.array([[[-1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])  # dposv info 1, then 0
    rs = np.array([[1.0, 2.0], [2.0, 3.0]])
    with pytest.warns(AccuracyWarning) as record:
        z, piv = per_period(S.copy(), rs.copy(), lambda i: S[i].copy())
    assert len(record) == 1
    np.testing.assert_allclose(z, [[-1.0, 2.0], [1.0, 3.0]], rtol=1e-15)
    np.testing.assert_allclose(piv, [[1.0, 1.0], [np.sqrt(2.0), 1.0]], rtol=1e-15)


def test_lu_fallback_refuses_from_half_the_precision():
    eps = np.finfo(float).eps
    on_limit = np.diag([1.0, 2.0**-51])  # cond eps = 0.5 exactly: refused
    with pytest.raises(SingularSystemError, match=re.escape("(condition number 2.25e+15)")):
        lu_fallback(on_limit, np.ones(2))
    with pytest.raises(SingularSystemError):
        lu_fallback(np.diag([1.0, 1.0 / (1.0 / eps)]), np.ones(2))  # cond eps = 1
    below = np.diag([1.0, 2.0**-50])  # cond eps = 0.25: solved, with the warning
    with pytest.warns(AccuracyWarning, match=re.escape("up to ~2.5e-01.")):
        x, piv = lu_fallback(below, np.ones(2))
    np.testing.assert_array_equal(x, [1.0, 2.0**50])
    np.testing.assert_array_equal(piv, [2.0**-25, 2.0**-25])  # 1 / sqrt(cond)


def test_reduced_eig_without_a_projection_is_the_clipped_spectrum():
    M = np.array([[2.0, 1.0], [1.0, 2.0]])
    lam, U = reduced_eig(M, None)
    np.testing.assert_allclose(lam, [1.0, 3.0])
    np.testing.assert_allclose(U @ np.diag(lam) @ U.T, M, atol=1e-15)
    P = np.array([[1.0], [0.0]])
    lam, _ = reduced_eig(M, P)
    np.testing.assert_allclose(lam, [2.0])


@pytest.mark.parametrize("det_W", (1.0, -1.0))
def test_solve_2x2_against_the_dense_system(det_W):
    rng = np.random.default_rng(5)
    W = _orthogonal(2, rng)
    if np.sign(np.linalg.det(W)) != det_W:
        W = W[:, ::-1].copy()  # a reflection: det W = -1
    ea0, ea1, sa0, sa1, eb0, eb1 = rng.uniform(0.05, 1.0, size=(6, 4))
    r = rng.normal(size=(2, 4))
    z0, z1, inv_norm, inv_scaled = solve_2x2(ea0, ea1, sa0, sa1, eb0, eb1, W, r)
    for t in range(4):
        sa, eb = np.array([sa0[t], sa1[t]]), np.array([eb0[t], eb1[t]])
        S = np.diag([ea0[t], ea1[t]]) + (sa[:, None] * W * eb) @ (W.T * sa[None, :])
        np.testing.assert_allclose([z0[t], z1[t]], np.linalg.solve(S, r[:, t]), rtol=1e-12)
        d = np.sqrt(np.diag(S))
        S_hat = S / np.outer(d, d)
        assert inv_norm[t] == pytest.approx(1.0 / np.linalg.eigvalsh(S)[0], rel=1e-12)
        assert inv_scaled[t] == pytest.approx(1.0 / np.linalg.eigvalsh(S_hat)[0], rel=1e-12)


def test_solve_2x2_refuses_a_singular_system():
    one, zero = np.ones(1), np.zeros(1)
    W = np.eye(2)
    with pytest.raises(SingularSystemError, match=re.escape(SINGULAR_MESSAGE)):
        solve_2x2(zero, zero, one, one, one, zero, W, (one, one))  # det = 0 exactly


def test_orbit_n2_condition_is_built_from_the_orbit_norms():
    rng = np.random.default_rng(2)
    Fa, Fb = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    a = LinearTask(Fa @ Fa.T, rng.normal(size=2))
    b = LinearTask(Fb @ Fb.T, rng.normal(size=2))
    B, h = rng.normal(size=2), np.array([0.1, 1.0, 5.0])
    G0, G_half, _, cond = orbit_n2(a, b, B, h)
    f = factors(a.eigvals, b.eigvals, h)
    W = a.eigvecs.T @ b.eigvecs
    z_norm, z_scaled = np.empty(3), np.empty(3)
    for t in range(3):  # exact |S^-1| and |S_hat^-1| from the eigenvalues
        S = np.diag(f.ea[t]) + (f.sa[t][:, None] * W * f.eb[t]) @ (W.T * f.sa[t][None, :])
        d = np.sqrt(np.diag(S))
        z_norm[t] = 1.0 / np.linalg.eigvalsh(S)[0]
        z_scaled[t] = 1.0 / np.linalg.eigvalsh(S / np.outer(d, d))[0]
    norms = [np.linalg.norm(G0, axis=-1)]
    for task in (a, b):
        norms.append(np.linalg.norm(G0 - task.G_star, axis=-1))
        norms.append(np.linalg.norm(G_half - task.G_star, axis=-1))
    ref = condition_estimate(a, b, B, h, a.eigvals, b.eigvals, z_norm, z_scaled, *norms)
    np.testing.assert_allclose(cond, ref, rtol=1e-10)


def test_exp_columns_flushes_only_beyond_flush_x():
    e, a, p = exp_columns(1.0, np.array([FLUSH_X, FLUSH_X + 1.0]))
    assert a[0] == np.exp(-FLUSH_X) and a[1] == 0.0
    np.testing.assert_array_equal(e, [1.0, 1.0])
    np.testing.assert_array_equal(p, [1.0, 1.0])


def test_factors_flush_only_beyond_flush_x():
    f = factors(np.array([2.0]), np.array([1.0]), np.array([FLUSH_X, FLUSH_X + 1.0]))
    np.testing.assert_array_equal(f.ab[:, 0], [np.exp(-FLUSH_X), 0.0])
    np.testing.assert_array_equal(f.sa[:, 0], [np.exp(-FLUSH_X), 0.0])  # lam_a over h / 2


def test_orbit_without_dynamics_is_pure_drift():
    zero = LinearTask(np.zeros((2, 2)), [1.0, -1.0])
    B, G_ref, tau = np.array([0.3, -0.2]), np.array([0.5, 2.0]), np.array([0.4, 3.0])
    orbit = periodic_orbit(zero, zero, B=B, tau=tau, G_ref=G_ref)
    np.testing.assert_array_equal(orbit.G0, [G_ref, G_ref])
    np.testing.assert_allclose(orbit.G_half, G_ref + np.outer(tau / 2, B), rtol=1e-15)
    np.testing.assert_allclose(orbit.span, tau / 2 * np.linalg.norm(B), rtol=1e-15)  # drift
    np.testing.assert_array_equal(orbit.condition, [1.0, 1.0])


def _shared_null_pair():
    a = LinearTask(np.diag([2.0, 0.0]), [1.0, 0.5])  # the common null direction e_2
    b = LinearTask(np.diag([0.5, 0.0]), [-0.5, 0.0])
    return a, b, np.array([0.3, 0.1]), np.array([0.0, 1.5])


def test_two_gates_sharing_a_null_direction_close_up_to_the_drift():
    a, b, B, G_ref = _shared_null_pair()  # n = 2, one common null direction: m = 1
    tau = np.array([0.2, 1.0, 7.0])
    orbit = periodic_orbit(a, b, B=B, tau=tau, G_ref=G_ref)
    drift = np.array([0.0, B[1]])
    for i, t in enumerate(tau):
        G_half = half_period_map(a, B=B, h=t / 2)(orbit.G0[i])  # (D8)/(D9), independent
        G_end = half_period_map(b, B=B, h=t / 2)(G_half)
        np.testing.assert_allclose(orbit.G_half[i], G_half, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(G_end, orbit.G0[i] + t * drift, rtol=1e-12, atol=1e-14)
        assert orbit.G0[i, 1] == pytest.approx(G_ref[1], rel=1e-14)
        assert orbit.span[i] == pytest.approx(np.linalg.norm(G_end - G_half), rel=1e-10)
    assert np.all(orbit.condition >= 1.0)


@pytest.mark.parametrize("n", [2, 4])
def test_a_sweep_equals_its_periods_one_at_a_time(n):
    rng = np.random.default_rng(n)
    if n == 2:
        a, b, B, G_ref = _shared_null_pair()
    else:
        Fa, Fb = rng.normal(size=(n, n)), rng.normal(size=(n, n))
        a, b = LinearTask(Fa @ Fa.T, rng.normal(size=n)), LinearTask(Fb @ Fb.T, rng.normal(size=n))
        B, G_ref = rng.normal(size=n), None
    tau = np.array([0.3, 2.0, 9.0])
    sweep = periodic_orbit(a, b, B=B, tau=tau, G_ref=G_ref)
    for i, t in enumerate(tau):
        one = periodic_orbit(a, b, B=B, tau=t, G_ref=G_ref)
        np.testing.assert_allclose(sweep.G0[i], one.G0, rtol=1e-13, atol=1e-15)
        assert sweep.condition[i] == pytest.approx(one.condition, rel=1e-13)
        assert sweep.span[i] == pytest.approx(one.span, rel=1e-13)
