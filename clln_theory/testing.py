"""Hypothesis strategies and independent reference computations for property-testing.

Users property-test their own linearized tasks with the same generators the toolkit's tests use:

* :func:`psd_matrices` - symmetric PSD rate matrices with a chosen rank and eigenvalue range;
* :func:`linear_tasks` - :class:`~clln_theory.theory.linear.LinearTask` objects built from them;
* :func:`task_pairs` - pairs of tasks plus a bias: generic, sharing a common nullspace, with nearly
  parallel ranges (nearly parallel solution spaces), compatible (a joint solution) or not;
* :func:`hard_pair` - one fixed stiff, nearly parallel pair (the accuracy benchmark's hard case).

and compare against two deliberately naive references that share no code with the engine:

* :func:`augmented_expm_map` - the affine map of one task over a time ``h`` from
  ``scipy.linalg.expm`` of the augmented matrix ``[[-M, M G* + B], [0, 0]] h``, (D4);
* :func:`naive_orbit_G0` - (D11) the obvious way: ``expm`` per period, ``I - A_beta A_alpha``,
  ``solve``. It loses up to ~10 digits at small ``tau`` (cancellation in ``I - A_beta A_alpha``).

``hypothesis`` is a test extra (``pip install clln_theory[test]``); it is imported only when a
strategy is requested, and a clear ImportError says so if it is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, NDArray

from .errors import ArgumentError
from .theory import LinearTask

__all__ = [
    "augmented_expm_map",
    "factor_pairs",
    "hard_pair",
    "linear_tasks",
    "naive_orbit_G0",
    "psd_matrices",
    "task_pairs",
]

#: Default eigenvalue range (1/s) of generated rate matrices: 1e-2 to 1e4, six decades, the
#: spread of curvatures of the paper's networks times gamma ~ 1e6 Ohm/s.
DEFAULT_EIGVAL_RANGE = (1e-2, 1e4)


def _strategies() -> Any:
    try:
        import hypothesis.strategies as st
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "clln_theory.testing strategies need hypothesis; install the test extra: "
            "pip install 'clln_theory[test]'."
        ) from exc
    return st


def _orthogonal(rng: np.random.Generator, n: int) -> NDArray:
    """Haar-random orthogonal matrix (QR of a Gaussian matrix with sign fix)."""
    Z = rng.standard_normal((n, n))
    Q, R = np.linalg.qr(Z)
    return Q * np.sign(np.diag(R))


def _eigvals(draw: Any, st: Any, count: int, eigval_range: tuple[float, float]) -> NDArray:
    lo, hi = np.log10(eigval_range[0]), np.log10(eigval_range[1])
    exps = draw(st.lists(st.floats(lo, hi), min_size=count, max_size=count))
    return 10.0 ** np.asarray(exps, dtype=float)


def psd_matrices(
    n: int,
    *,
    rank: int | None = None,
    eigval_range: tuple[float, float] = DEFAULT_EIGVAL_RANGE,
) -> Any:
    """Strategy for symmetric PSD ``(n, n)`` matrices ``U diag(lam) U^T`` with a given rank.

    Parameters
    ----------
    n : int
        Size.
    rank : int, optional
        Number of nonzero eigenvalues (default ``n``); the others are exactly 0 before rounding.
    eigval_range : (float, float)
        Nonzero eigenvalues are log-uniform in this range (1/s).

    Returns
    -------
    hypothesis strategy
        Draws ``(n, n)`` float arrays.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(psd_matrices(3, rank=2))
    ... def check(M):
    ...     assert np.linalg.matrix_rank(M, tol=1e-6) == 2
    >>> check()
    """
    st = _strategies()
    r = n if rank is None else rank

    @st.composite
    def build(draw: Any) -> NDArray:
        lam = np.zeros(n)
        lam[:r] = _eigvals(draw, st, r, eigval_range)
        U = _orthogonal(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), n)
        M = (U * lam) @ U.T
        return 0.5 * (M + M.T)

    return build()


def linear_tasks(
    n: int,
    *,
    rank: int | None = None,
    eigval_range: tuple[float, float] = DEFAULT_EIGVAL_RANGE,
    G_range: tuple[float, float] = (-5.0, 5.0),
) -> Any:
    """Strategy for :class:`~clln_theory.theory.linear.LinearTask` objects.

    Parameters
    ----------
    n : int
        Number of gates.
    rank : int, optional
        Rank of ``M`` (default ``n``), as in :func:`psd_matrices`.
    eigval_range : (float, float)
        Nonzero eigenvalues of ``M`` are log-uniform in this range (1/s).
    G_range : (float, float)
        Entries of ``G_star`` are uniform in this range (V).

    Returns
    -------
    hypothesis strategy
        Draws :class:`~clln_theory.theory.linear.LinearTask` objects.
    """
    st = _strategies()
    G = st.lists(st.floats(*G_range), min_size=n, max_size=n)
    return st.builds(LinearTask, psd_matrices(n, rank=rank, eigval_range=eigval_range), G)


def factor_pairs(
    n_range: tuple[int, int] = (3, 40),
    *,
    rank_range: tuple[int, int] = (0, 8),
    scale_range: tuple[float, float] = (0.1, 10.0),
    G_range: tuple[float, float] = (-5.0, 5.0),
    B_range: tuple[float, float] = (-5.0, 5.0),
) -> Any:
    """Strategy for ``(F_a, F_b, G_star_a, G_star_b, B, G_ref)``: two low-rank factors and vectors.

    ``F_mu`` (n, r_mu) are Gaussian matrices with random column scales (rates ``|F|^2`` spread
    over ``scale_range**2``); when ``r_a + r_b < n`` the tasks share a common nullspace, so ``B``
    and ``G_ref`` (uniform in their ranges) have components in it (drift, the ``G_ref``
    convention).

    Parameters
    ----------
    n_range : (int, int)
        Number of gates, inclusive.
    rank_range : (int, int)
        Rank of each factor (columns), inclusive.
    scale_range : (float, float)
        Range of the column scales, sqrt(1/s) (log-uniform).
    G_range : (float, float)
        Range of the entries of ``G_star`` and ``G_ref``, V.
    B_range : (float, float)
        Range of the entries of ``B``, V/s.

    Returns
    -------
    hypothesis strategy
        Of tuples of ndarrays ``(F_a, F_b, G_a, G_b, B, G_ref)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3, deadline=None)
    ... @given(factor_pairs((4, 6), rank_range=(1, 2)))
    ... def check(p):
    ...     assert p[0].shape[0] == p[2].size
    >>> check()
    """
    st = _strategies()

    @st.composite
    def build(draw: Any) -> tuple[NDArray, ...]:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        n = draw(st.integers(*n_range))
        lo, hi = np.log10(scale_range[0]), np.log10(scale_range[1])
        Fs = []
        for _ in range(2):
            r = draw(st.integers(*rank_range))
            Fs.append(rng.standard_normal((n, r)) * 10.0 ** rng.uniform(lo, hi, r) / np.sqrt(n))
        vecs = [rng.uniform(*G_range, n) for _ in range(2)]
        B = rng.uniform(*B_range, n)
        return (Fs[0], Fs[1], vecs[0], vecs[1], B, rng.uniform(*G_range, n))

    return build()


def task_pairs(
    n: int,
    *,
    ranks: tuple[int, int] | None = None,
    shared_null: int = 0,
    angle_range: tuple[float, float] | None = None,
    compatible: bool = False,
    eigval_range: tuple[float, float] = DEFAULT_EIGVAL_RANGE,
    G_range: tuple[float, float] = (-5.0, 5.0),
    B_range: tuple[float, float] = (-5.0, 5.0),
) -> Any:
    """Strategy for ``(task_a, task_b, B)``: two tasks on ``n`` gates and a bias (V/s).

    Parameters
    ----------
    n : int
        Number of gates.
    ranks : (int, int), optional
        Ranks of ``M_alpha`` and ``M_beta``; default ``(n - shared_null,) * 2``. They must satisfy
        ``ranks[0] + ranks[1] >= n - shared_null`` so that the common nullspace is exactly
        ``shared_null``-dimensional.
    shared_null : int
        Dimension of the common nullspace of ``M_alpha`` and ``M_beta`` (no closed orbit: drift).
    angle_range : (float, float), optional
        If given, the eigenbasis of ``M_beta`` is that of ``M_alpha`` rotated by an angle
        log-uniform in this range (radians) within the complement: nearly parallel ranges, hence
        nearly parallel solution spaces and a nearly singular ``M_alpha + M_beta``.
    compatible : bool
        If True the tasks share a joint solution ``G_joint``: ``G_star`` of each is ``G_joint``
        moved along its own solution manifold (its nullspace).
    eigval_range, G_range, B_range : (float, float)
        Nonzero eigenvalues (log-uniform, 1/s), solution and bias entries (uniform).

    Returns
    -------
    hypothesis strategy
        Draws ``(task_a, task_b, B)`` tuples.

    Raises
    ------
    ArgumentError
        If ``ranks`` and ``shared_null`` are inconsistent with ``n``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(task_pairs(3, ranks=(1, 1), shared_null=1))
    ... def check(pair):
    ...     a, b, B = pair
    ...     assert a.rank == b.rank == 1
    >>> check()
    """
    st = _strategies()
    m = n - shared_null
    r_a, r_b = (m, m) if ranks is None else ranks
    if not (0 <= shared_null <= n and 0 <= r_a <= m and 0 <= r_b <= m and r_a + r_b >= m):
        raise ArgumentError(
            f"Arguments `ranks` and `shared_null` must satisfy ranks[i] <= n - shared_null <= "
            f"ranks[0] + ranks[1], but are {ranks} and {shared_null} for n = {n}."
        )

    @st.composite
    def build(draw: Any) -> tuple[LinearTask, LinearTask, NDArray]:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        V = _orthogonal(rng, n)
        C = V[:, shared_null:]  # complement of the common nullspace
        Ra = _orthogonal(rng, m)
        if angle_range is None:
            Rb = _orthogonal(rng, m)
        else:
            lo, hi = np.log10(angle_range[0]), np.log10(angle_range[1])
            angle = 10.0 ** draw(st.floats(lo, hi))
            K = rng.standard_normal((m, m))
            K = K - K.T
            K *= angle / max(np.linalg.norm(K, 2), 1e-300)
            Rb = Ra @ scipy.linalg.expm(K)
        # ranges: the first r columns of each basis; with r_a + r_b >= m they span the
        # complement (for a small angle, only barely: M_alpha + M_beta is nearly singular)
        Ua = C @ Ra
        Ub = C @ Rb
        lam_a = _eigvals(draw, st, r_a, eigval_range)
        lam_b = _eigvals(draw, st, r_b, eigval_range)
        cols_a = slice(0, r_a)
        cols_b = slice(0, r_b)
        M_a = (Ua[:, cols_a] * lam_a) @ Ua[:, cols_a].T
        M_b = (Ub[:, cols_b] * lam_b) @ Ub[:, cols_b].T
        vec = st.lists(st.floats(*G_range), min_size=n, max_size=n)
        if compatible:
            G_joint = np.asarray(draw(vec))
            shift_a = np.asarray(draw(vec))
            shift_b = np.asarray(draw(vec))
            Na = np.eye(n) - Ua[:, cols_a] @ Ua[:, cols_a].T
            Nb = np.eye(n) - Ub[:, cols_b] @ Ub[:, cols_b].T
            G_a = G_joint + Na @ shift_a
            G_b = G_joint + Nb @ shift_b
        else:
            G_a = np.asarray(draw(vec))
            G_b = np.asarray(draw(vec))
        B = np.asarray(draw(st.lists(st.floats(*B_range), min_size=n, max_size=n)))
        return LinearTask(0.5 * (M_a + M_a.T), G_a), LinearTask(0.5 * (M_b + M_b.T), G_b), B

    return build()


def hard_pair(rotation: float = 0.0) -> tuple[LinearTask, LinearTask, NDArray]:
    """A hard case: ``(task_a, task_b, B)`` on two gates, stiff and nearly parallel.

    Task alpha has rank 1 at 1e4 1/s; task beta is full rank at 1e-2 1/s; their solution lines
    are 0.01 rad apart, so ``M_alpha + M_beta`` spans six decades and the naive (D11) loses up
    to ~10 digits at small ``tau``. Every input is optionally rotated by ``rotation`` rad (a
    generic, non-axis-aligned version; ``rotation = 0`` leaves the inputs bit-for-bit as given).

    Parameters
    ----------
    rotation : float
        Angle, rad.

    Returns
    -------
    task_a, task_b : LinearTask
    B : (2,) ndarray
        Bias, V/s.

    Examples
    --------
    >>> a, b, B = hard_pair()
    >>> a.rank, b.rank, f"{a.eigvals[-1] / b.eigvals[0]:.2g}"
    (1, 2, '1e+06')
    """
    th = 1e-2
    u = np.array([1.0, 0.0])
    v = np.array([np.cos(th), np.sin(th)])
    Ma = 1e4 * np.outer(u, u)
    Mb = 1e-2 * np.outer(v, v) + 1e-2 * np.outer([0, 1.0], [0, 1.0])
    Ga, Gb, B = np.array([2.0, 3.0]), np.array([2.5, 2.0]), np.array([0.3, -0.7])
    c, s = np.cos(rotation), np.sin(rotation)
    R = np.array([[c, -s], [s, c]])
    Ma, Mb = R @ Ma @ R.T, R @ Mb @ R.T
    a = LinearTask(0.5 * (Ma + Ma.T), R @ Ga)
    b = LinearTask(0.5 * (Mb + Mb.T), R @ Gb)
    return a, b, R @ B


# --------------------------------------------------------------------------------------------
# naive, independent references (scipy.linalg.expm)
# --------------------------------------------------------------------------------------------


def augmented_expm_map(task: LinearTask, *, B: ArrayLike, h: float) -> tuple[NDArray, NDArray]:
    """``(A, b)`` of one task over a time ``h`` from ``scipy.linalg.expm`` of an augmented matrix.

    ``expm(h [[-M, M G* + B], [0, 0]]) = [[A, b], [0, 1]]``: the exact flow of (D2) by (D4),
    with no eigendecomposition, pseudoinverse or nullspace projector. Independent of the engine
    (and, being a reference, it does not validate its input).

    Parameters
    ----------
    task : LinearTask
        The task trained: ``M`` (1/s) and ``G_star`` (V).
    B : (n,) array_like
        Bias, V/s.
    h : float
        Duration, s.

    Returns
    -------
    A : (n, n) ndarray
        ``exp(-h M)``, (D8).
    b : (n,) ndarray
        The offset of the affine map ``G -> A G + b``, V, (D9).

    Examples
    --------
    >>> A, b = augmented_expm_map(LinearTask([[1.0]], [2.0]), B=[0.0], h=1.0)
    >>> float(A[0, 0]), float(b[0])  # exp(-1), 2 (1 - exp(-1))
    (0.36787944117144233, 1.2642411176571153)
    """
    n = task.n
    X = np.zeros((n + 1, n + 1))
    X[:n, :n] = -h * task.M
    X[:n, n] = h * (task.M @ task.G_star + np.asarray(B, dtype=float))
    Y = scipy.linalg.expm(X)
    return Y[:n, :n], Y[:n, n]


def naive_orbit_G0(
    task_a: LinearTask, task_b: LinearTask, *, B: ArrayLike, tau: ArrayLike
) -> NDArray:
    """(D11) the obvious way, one period at a time: ``solve(I - A_b A_a, A_b b_a + b_b)``.

    ``A`` and ``b`` come from :func:`augmented_expm_map`. This is the baseline of the benchmark
    and the accuracy comparison: forming ``I - A_beta A_alpha`` cancels ``log10(1 / (h lam_min))``
    digits for ``h lam_min << 1``.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Task alpha (trained first in each period) and task beta.
    B : (n,) array_like
        Bias, V/s.
    tau : float or (T,) array_like
        Period(s), s.

    Returns
    -------
    ndarray
        ``G0`` of (D11), V: ``(n,)`` for a scalar ``tau`` and ``(T, n)`` for a 1-D one.

    Raises
    ------
    numpy.linalg.LinAlgError
        When ``I - A_beta A_alpha`` is singular (no closed orbit).
    """
    taus = np.atleast_1d(np.asarray(tau, dtype=float))
    n = task_a.n
    out = np.empty((taus.size, n))
    eye = np.eye(n)
    for i, t in enumerate(taus):
        A_a, b_a = augmented_expm_map(task_a, B=B, h=t / 2)
        A_b, b_b = augmented_expm_map(task_b, B=B, h=t / 2)
        out[i] = np.linalg.solve(eye - A_b @ A_a, A_b @ b_a + b_b)
    return out[0] if np.ndim(tau) == 0 else out
