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


# --- Orbit.condition, held to its documented meaning -------------------------------------------
# "Perturbing M_alpha, M_beta, G* and B by a relative eps moves the exact G0 by up to about
# eps * kappa * |G0|" (Orbit.condition). The tests below measure that sensitivity and check the
# invariances and limits the estimate must share with it.


def _measured_condition(Ma, Ga, Mb, Gb, B, tau, t=1e-7):
    """A lower bound of the relative condition number of G0, measured by central differences.

    Each input is perturbed along a unit direction scaled by its own norm (entries of the
    symmetric M in the Frobenius-orthonormal basis, |E|_2 <= |E|_F = 1; G* and B along the
    axes). The columns dG0/dt form J; a perturbation with sum of squared relative sizes <= eps^2
    (a subset of "each input by a relative eps") moves G0 by at most eps |J|_2, attained, so
    |J|_2 / |G0| is a lower bound of the documented kappa. Step t = 1e-7: the truncation error
    is ~t^2, the rounding error ~eps kappa / t < 1e-5 for kappa <= 1e4 (the inputs are positive
    definite or zero, so no eigenvalue is clipped by the perturbation).
    """
    args = [np.asarray(x, dtype=float) for x in (Ma, Ga, Mb, Gb, B)]
    n = args[-1].size

    def g0(Ma, Ga, Mb, Gb, B):
        return periodic_orbit(LinearTask(Ma, Ga), LinearTask(Mb, Gb), B=B, tau=tau).G0

    sym = []
    for i in range(n):
        for j in range(i, n):
            E = np.zeros((n, n))
            E[i, j] = E[j, i] = 1.0 if i == j else np.sqrt(0.5)
            sym.append(E)
    cols = []
    for k, x in enumerate(args):
        scale = np.linalg.norm(x, 2) if x.ndim == 2 else np.linalg.norm(x)
        for d in sym if x.ndim == 2 else np.eye(n):
            if scale == 0.0:
                continue  # a relative perturbation of zero is zero
            plus, minus = list(args), list(args)
            plus[k], minus[k] = x + t * scale * d, x - t * scale * d
            cols.append((g0(*plus) - g0(*minus)) / (2.0 * t))
    return np.linalg.svd(np.array(cols).T, compute_uv=False)[0] / np.linalg.norm(g0(*args))


# (M_alpha, G*_alpha, M_beta, G*_beta, B, tau), all with a sensitivity far above the terms of
# kappa that do not involve the rates (|S_hat^-1| and the rounding term, ~2 here):
CONDITION_CASES = {
    # identical stiff-and-soft tasks, G* = 0, B along the stiff axis: a relative eps of B along
    # the soft axis moves G0 by eps (L / l) |G0| (measured 112; the B term |B| / |M| of R)
    "identical": (np.diag([100.0, 1.0]), [0, 0], np.diag([100.0, 1.0]), [0, 0], [1.0, 0.0], 0.01),
    # task alpha is zero (pure drift): the condition comes from task beta alone (measured 67)
    "zero alpha": (np.zeros((2, 2)), [1, 0], np.diag([100.0, 1.0]), [0, 1], [1.0, 1.0], 0.1),
    # three gates, task alpha stiff along one axis only: |M_alpha| is its largest eigenvalue,
    # not its second (measured 883)
    "three gates": (
        np.diag([1000.0, 0.01, 0.01]),
        [1, 0, 0],
        np.eye(3),
        [0, 0, 0],
        [0.0, 1.0, 0.0],
        0.01,
    ),
}


@pytest.mark.parametrize("case", CONDITION_CASES)
def test_condition_bounds_the_measured_sensitivity(case):
    Ma, Ga, Mb, Gb, B, tau = CONDITION_CASES[case]
    kappa = periodic_orbit(LinearTask(Ma, Ga), LinearTask(Mb, Gb), B=B, tau=tau).condition
    measured = _measured_condition(Ma, Ga, Mb, Gb, B, tau)
    assert measured > 50.0  # the rate-dependent terms of kappa are needed
    # an upper estimate: measured ratios kappa / measured are 1.8, 1.6 and 1.5 here
    assert measured <= kappa


def test_condition_of_a_fixed_point_shared_by_both_tasks_is_at_least_one():
    # G*_alpha = G*_beta and B = 0: G0 = G* exactly, and scaling G* (and B) by 1 + eps scales
    # G0 by 1 + eps: the relative condition number is >= 1 (measured 0.99 by the columns alone)
    Ma, Mb, G = np.diag([100.0, 1.0]), np.diag([1.0, 100.0]), [1.0, 1.0]
    orbit = periodic_orbit(LinearTask(Ma, G), LinearTask(Mb, G), B=[0.0, 0.0], tau=0.01)
    np.testing.assert_allclose(orbit.G0, G, rtol=1e-14)
    assert orbit.condition >= 1.0


def test_condition_is_invariant_under_a_change_of_time_unit():
    # M -> s M, B -> s B, tau -> tau / s is the same orbit in other time units (G0 identical);
    # a relative condition number is dimensionless. s = 2^10: every scaling is exact.
    rng = np.random.default_rng(7)
    Fa, Fb = rng.normal(size=(2, 3, 3))
    Ma, Mb = Fa @ Fa.T + 0.1 * np.eye(3), Fb @ Fb.T
    Ga, Gb, B = rng.normal(size=(3, 3))
    tau = np.array([0.01, 1.0, 50.0])
    s = 1024.0
    one = periodic_orbit(LinearTask(Ma, Ga), LinearTask(Mb, Gb), B=B, tau=tau)
    other = periodic_orbit(LinearTask(s * Ma, Ga), LinearTask(s * Mb, Gb), B=s * B, tau=tau / s)
    np.testing.assert_allclose(other.G0, one.G0, rtol=1e-12)
    np.testing.assert_allclose(other.condition, one.condition, rtol=1e-12)


def test_condition_settles_at_long_periods():
    # full-rank tasks: once every rate x tau / 2 is beyond ~40 the orbit no longer changes with
    # tau (exp(-40) < eps), so neither does its sensitivity: the estimate must settle too
    Ma, Mb = np.diag([100.0, 1.0]), np.diag([1.0, 100.0])
    orbit = periodic_orbit(
        LinearTask(Ma, [1.0, 0.0]), LinearTask(Mb, [0.0, 1.0]), B=[0.3, 0.0], tau=[1e3, 1e5]
    )
    np.testing.assert_allclose(orbit.G0[1], orbit.G0[0], rtol=1e-14)
    assert orbit.condition[1] == pytest.approx(orbit.condition[0], rel=1e-12)


@pytest.mark.parametrize("n", [2, 3])
def test_condition_is_continuous_as_a_rate_vanishes(n):
    # task alpha's slow rates at exactly 0 (phi_alpha = h, its singular branch) and at 1e-9:
    # the orbit moves by ~1e-9 relative, and so may the estimate (rtol 1e-6, a margin of 1e3)
    Gb = np.eye(n)[1]
    B = np.linspace(0.5, 0.2, n)
    Mb = np.diag(np.arange(1.0, n + 1.0))
    kappa = []
    for lo in (0.0, 1e-9):
        Ma = np.diag([100.0] + [lo] * (n - 1))
        orbit = periodic_orbit(LinearTask(Ma, np.eye(n)[0]), LinearTask(Mb, Gb), B=B, tau=0.5)
        kappa.append(orbit.condition)
    assert kappa[1] == pytest.approx(kappa[0], rel=1e-6)


@pytest.mark.parametrize("copies", [2, 4])
def test_identical_uncoupled_copies_have_the_condition_of_one(copies):
    # c uncoupled copies of a one-gate problem: every norm in kappa grows by sqrt(c) alike, the
    # systems S are c copies of the scalar one; the relative condition number is the same. One
    # gate takes the scalar branch of the kernel, two the 2 x 2 algebra, four the SPD solver.
    tau = np.array([0.01, 1.0, 30.0])
    one = periodic_orbit(LinearTask([[1.0]], [1.0]), LinearTask([[3.0]], [-2.0]), B=[0.4], tau=tau)
    eye, ones = np.eye(copies), np.ones(copies)
    many = periodic_orbit(
        LinearTask(eye, ones), LinearTask(3.0 * eye, -2.0 * ones), B=0.4 * ones, tau=tau
    )
    np.testing.assert_allclose(many.G0, one.G0 * ones, rtol=1e-13)
    np.testing.assert_allclose(many.condition, one.condition, rtol=1e-12)


def test_a_period_whose_half_underflows_is_refused():
    # tau = 5e-324 (the smallest subnormal) is finite and > 0; h = tau / 2 rounds to 0, so the
    # one-gate system S = 1 - exp(-h (lam_a + lam_b)) is exactly 0: singular
    a, b = LinearTask([[1.0]], [1.0]), LinearTask([[2.0]], [0.0])
    tau = np.array([5e-324])
    with pytest.raises(SingularSystemError, match=re.escape(SINGULAR_MESSAGE)):
        periodic_orbit(a, b, B=[0.5], tau=tau)
    with pytest.raises(SingularSystemError, match=re.escape(SINGULAR_MESSAGE)):
        _orbit_float.orbit_float(a, b, np.array([0.5]), tau, np.zeros(1), None, np.zeros((1, 0)))
