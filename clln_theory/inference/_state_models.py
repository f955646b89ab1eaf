"""Engine of the state-dependent bias models (``state_bias.py``): the four shapes of ``J``, the
gains along the solution lines, and the along-line velocities of measured bow-ties.

Every model is linear in its parameters ``theta``: ``vec(J) = basis @ theta`` with

* ``constant``: no parameter, ``J = 0``;
* ``affine``: ``theta = vec(J)`` (``n^2``);
* ``diagonal``: ``J = diag(theta)`` (each learning edge's bias depends on its own gate only);
* ``along-lines``: ``J = sum_mu k_mu u_mu u_mu^T`` over the tasks' null directions ``u_mu``
  (the solution lines), ``theta = k``.

The gain of a bias along task ``mu``'s line is ``g_mu = u_mu^T J u_mu`` (1/s): positive, the
drift along the line speeds up as the gates move along it (d09). Since ``u_mu^T M_mu = 0``,
``u_mu . dG/dt = u_mu . B(G)`` *exactly* at every point of task ``mu``'s half period, relaxed or
not: every finite-difference velocity of a bow-tie projected on the line of the task being
trained is one linear equation in ``(B0, theta)``, the same kind as a drift test. Takes checked
values only; public names for the inference room's faces, not part of the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "STATE_MODELS",
    "LinearFit",
    "VelocityRows",
    "drift_rows",
    "gains_of",
    "j_basis",
    "lag1",
    "line_directions",
    "velocity_fit",
    "velocity_rows",
]

#: Autocorrelation clip, as in the cycle fits: the AR(1) variance stays finite.
_RHO_MAX = 0.95

#: The state models, in the order the scoreboard lists them.
STATE_MODELS = ("constant", "affine", "diagonal", "along-lines")


def line_directions(tasks: Sequence[Any]) -> tuple[tuple[int, NDArray], ...]:
    """``(task index, unit null direction)`` of every task with a solution line (rank < n):
    the eigenvectors of its zero eigenvalues (the first, sign fixed by its largest entry)."""
    out = []
    for k, t in enumerate(tasks):
        for j in range(t.n - t.rank):
            u = np.array(t.eigvecs[:, j], dtype=float)
            u = u / np.linalg.norm(u)
            out.append((k, u if u[np.argmax(np.abs(u))] > 0 else -u))
    return tuple(out)


def j_basis(model: str, n: int, lines: Sequence[tuple[int, NDArray]]) -> NDArray:
    """``(n*n, p)`` matrix with ``vec(J) = basis @ theta`` for ``model``."""
    if model == "constant":
        return np.zeros((n * n, 0))
    if model == "affine":
        return np.eye(n * n)
    if model == "diagonal":
        return np.eye(n * n)[:, :: n + 1]
    return (
        np.column_stack([np.outer(u, u).ravel() for _, u in lines])
        if lines
        else np.zeros((n * n, 0))
    )


def gains_of(
    J: NDArray, cov_J: NDArray, lines: Sequence[tuple[int, NDArray]]
) -> tuple[NDArray, NDArray]:
    """Gains ``u^T J u`` (1/s) and their 1σ from the covariance ``cov_J`` of ``vec(J)``."""
    g = np.array([u @ J @ u for _, u in lines])
    w = [np.outer(u, u).ravel() for _, u in lines]
    with np.errstate(invalid="ignore"):
        var = np.array([wi @ cov_J @ wi if np.all(np.isfinite(cov_J)) else np.inf for wi in w])
    return g, np.sqrt(np.abs(var))


class VelocityRows:
    """Linear equations ``a_B0 . B0 + a_theta . theta = v`` from bow-tie velocities: ``A``
    (r, n + p), ``v`` (r,), the cycle of each row ``cycle`` (r,), its run ``run`` (r,: the
    consecutive velocities of one line within one half period, in time order) and its sample
    spacing ``dt`` (r,), s."""

    __slots__ = ("A", "cycle", "dt", "run", "v")

    def __init__(self, A: NDArray, v: NDArray, cycle: NDArray, run: NDArray, dt: NDArray) -> None:
        self.A, self.v, self.cycle, self.run, self.dt = A, v, cycle, run, dt


def velocity_rows(
    cycles: Sequence[Any],
    phases: NDArray,
    lines: Sequence[tuple[int, NDArray]],
    basis: NDArray,
    G_ref: NDArray,
) -> VelocityRows:
    """Projected finite-difference velocities of every cycle within each half period (pairs of
    samples that straddle a switch are dropped), on the line of the task trained then."""
    n = G_ref.size
    rows, vals, which, runs, dts = [], [], [], [], []
    for ci, (c, phi) in enumerate(zip(cycles, phases, strict=True)):
        m = c.G.shape[0]
        t = (phi % 1.0) * c.tau + c.dt * np.arange(m)
        half = np.floor(t / (c.tau / 2)).astype(int)
        for i in range(m - 1):
            if half[i] != half[i + 1]:
                continue
            task = half[i] % 2
            x = 0.5 * (c.G[i] + c.G[i + 1]) - G_ref
            dG = (c.G[i + 1] - c.G[i]) / c.dt
            for li, (k, u) in enumerate(lines):
                if k != task:
                    continue
                rows.append(np.concatenate([u, np.outer(u, x).ravel() @ basis]))
                vals.append(float(u @ dG))
                which.append(ci)
                runs.append((ci, int(half[i]), li))
                dts.append(c.dt)
    A = np.array(rows).reshape(-1, n + basis.shape[1])
    run = np.unique(np.array(runs, dtype=int).reshape(-1, 3), axis=0, return_inverse=True)[1]
    return VelocityRows(
        A, np.array(vals), np.array(which, dtype=int), np.asarray(run, dtype=int).ravel(),
        np.array(dts, dtype=float),
    )  # fmt: skip


def drift_rows(drifts: Sequence[Any], basis: NDArray, G_ref: NDArray) -> tuple[NDArray, NDArray]:
    """The drift tests as rows of the same linear system: ``A`` (d, n + p), ``v`` (d,)."""
    rows = [np.concatenate([d.direction, np.outer(d.direction, d.G - G_ref).ravel() @ basis])
            for d in drifts]  # fmt: skip
    A = np.array(rows).reshape(len(drifts), G_ref.size + basis.shape[1])
    return A, np.array([d.value for d in drifts])


def lag1(r: NDArray, groups: NDArray) -> float:
    """Lag-1 autocorrelation of residuals ``r`` within consecutive runs of equal ``groups``,
    clipped to [0, 0.95] (as the cycle fits)."""
    num = den = 0.0
    for g in np.unique(groups):
        x = r[groups == g]
        x = x - x.mean()
        num += float(np.sum(x[1:] * x[:-1]))
        den += float(np.sum(x * x))
    return float(np.clip(num / den if den > 0 else 0.0, 0.0, 0.95))


class LinearFit:
    """``(B0, theta)`` from velocity equations: ``x`` (n + p,), ``cov`` (n + p, n + p), the
    bow-tie velocities' scatter ``sigma_v`` (V/s), ``rho``, the residuals of the drift tests."""

    __slots__ = ("cov", "dof", "drift_residuals", "rho", "sigma_v", "x")

    def __init__(self, x, cov, sigma_v, rho, drift_residuals, dof) -> None:
        self.x, self.cov, self.sigma_v, self.rho = x, cov, sigma_v, rho
        self.drift_residuals, self.dof = drift_residuals, dof


def velocity_fit(rows: VelocityRows, drift_A: NDArray, drift_v: NDArray, drift_std: NDArray):
    """Weighted linear least squares of the bow-tie velocities (scatter estimated, two passes)
    and the drift tests (their standard errors); ``None`` when the system does not determine
    every parameter (rank deficient: e.g. a task without a solution line leaves a component of
    ``B0`` to the positions). Covariance: `velocity_cov` (the drift tests alone: the Gauss-Markov
    one, scaled by the reduced chi-square when it exceeds 1)."""
    A = np.vstack([rows.A, drift_A])
    v = np.concatenate([rows.v, drift_v])
    finite_std = np.where(np.isfinite(drift_std), drift_std, np.inf)
    sig = 1.0
    for _ in range(2):
        w = np.concatenate([np.full(rows.v.size, 1.0 / sig), 1.0 / finite_std])
        Aw, vw = A * w[:, None], v * w
        if Aw.shape[0] < Aw.shape[1] or np.linalg.matrix_rank(Aw) < Aw.shape[1]:
            return None
        x = np.linalg.lstsq(Aw, vw, rcond=None)[0]
        r = rows.v - rows.A @ x
        sig = float(np.sqrt(np.mean(r**2))) if r.size else 1.0
    rw = vw - Aw @ x
    dof = max(int(v.size - x.size), 1)
    if rows.v.size == 0:
        cov = np.linalg.inv(Aw.T @ Aw) * max(float(rw @ rw) / dof, 1.0)
        return LinearFit(x, cov, sig, 0.0, drift_A @ x - drift_v, dof)
    cov, rho = velocity_cov(rows, rows.v - rows.A @ x, Aw, w[: rows.v.size], dof)
    return LinearFit(x, cov, sig, rho, drift_A @ x - drift_v, dof)


def velocity_cov(rows: VelocityRows, r: NDArray, Aw: NDArray, w: NDArray, dof: int):
    """Covariance of the weighted least-squares ``(B0, theta)`` of `velocity_fit` (the sandwich
    ``N^-1 Aw^T S Aw N^-1``, ``N = Aw^T Aw``) and the largest lag-1 autocorrelation used.

    A bow-tie velocity is a difference of two samples, ``(G[i+1] - G[i]) / dt``, so within a
    run its errors are the differences of the errors ``E`` of the *positions* (the running
    sum of the velocity residuals times ``dt``, a constant per run aside): white sample noise
    makes consecutive velocity errors anticorrelated (-1/2) and the sum over a run telescopes
    to its two ends; smooth model misfit makes them correlated. Each cycle's ``E`` (demeaned per
    run) is modelled as AR(1) with its own scatter and lag-1 autocorrelation in [0, 0.95]
    (white noise: 0), which covers both; the drift tests keep their standard errors. The
    variance of one velocity scatter assumed by the usual formula (independent velocities,
    one scatter for all periods) overstates the uncertainty of white-noise bow-ties several
    times (the round trips of ``tests/inference/test_state_models.py``)."""
    p = Aw.shape[1]
    N_inv = np.linalg.inv(Aw.T @ Aw)
    S = Aw[w.size :].T @ Aw[w.size :]  # the drift tests: unit variance once weighted
    rho_max = 0.0
    for c in np.unique(rows.cycle):
        in_c = rows.cycle == c
        parts, num, den, size = [], 0.0, 0.0, 0
        for k in np.unique(rows.run[in_c]):
            sel = rows.run == k
            E = np.concatenate([[0.0], np.cumsum(r[sel] * rows.dt[sel])])
            E = E - E.mean()
            num += float(np.sum(E[1:] * E[:-1]))
            den += float(E @ E)
            size += E.size - 1  # one mean per run
            # their contribution to Aw^T (w e) = sum_i w_i^2 a_i e_i = sum_j C_j E_j
            a = w[sel, None] ** 2 * rows.A[sel] / rows.dt[sel, None]
            C = np.vstack([np.zeros(p), a]) - np.vstack([a, np.zeros(p)])
            parts.append(C)
        rho = float(np.clip(num / den if den > 0 else 0.0, 0.0, _RHO_MAX))
        s2 = den / max(size, 1)
        rho_max = max(rho_max, rho)
        for C in parts:
            lag = np.arange(C.shape[0])
            R = rho ** np.abs(lag[:, None] - lag[None, :])
            S += s2 * C.T @ R @ C
    # the scatters come from residuals of p fitted parameters: (dof + p) / dof corrects them
    return N_inv @ S @ N_inv * (dof + p) / dof, rho_max
