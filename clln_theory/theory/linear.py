"""Linearized learning dynamics of one task: (D2), (D4), (D5), (D8) and (D9) of the paper.

Near a solution ``G_star`` the gates of a Coupled Learning network trained on one task obey

    dG/dt = -M (G - G_star) + B                                   (D2)

with ``M`` (1/s) the symmetric positive semi-definite rate matrix and ``B`` (V/s) the bias.
:class:`LinearTask` holds ``(M, G_star)`` with one cached eigendecomposition of ``M``;
:func:`evolve` is the closed-form solution (D4)/(D5); :func:`half_period_map` returns the affine
map ``G -> A G + b`` of one half period, (D8) and (D9).

Everything is computed in the eigenbasis of ``M`` with ``expm1`` (the "phi_1 form")::

    G(t) = G0 + t * phi_1(-t M) (-M (G0 - G_star) + B),    phi_1(z) = (exp(z) - 1) / z,

which equals (D4) and (D5) exactly, needs no threshold to separate the nullspace of ``M`` from its
range, and keeps full relative accuracy as ``t -> 0`` where ``1 - exp(-M t)`` would cancel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import (
    finite_outputs,
    gate_vector,
    number,
    real_array,
    times,
    validator,
    vector,
)
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError
from ..model.bias import AffineBias, bias_vector
from ._affine import affine_flow
from ._box import as_box_pieces, box_task, flow, sample, sides_at
from ._spectral import (
    DENSE_MAX_N,
    MAX_RATE,
    PSD_TOL,
    RATE_TOL,
    SYM_TOL,
    check_rate_matrix,
    dense_spectrum,
    flow_dense,
    flow_factor,
    half_period_arrays,
    rank_threshold,
    require_finite,
    thin_eig,
)
from .trajectories import BoxTrajectory, check_box

__all__ = ["HalfPeriodMap", "LinearTask", "evolve", "half_period_map"]

#: Largest number of periods τ in one call (a τ sweep): each period holds a few ``(n,)``
#: results and the solver works through them in chunks; 10⁶ periods of a two-gate pair take
#: about a second, a larger sweep is better split.
MAX_PERIODS = 1_000_000

#: Largest number of gate values in one sampled trajectory (periods × samples × gates): 10⁸
#: float64 values are 800 MB.
MAX_SAMPLE_VALUES = 100_000_000


@validator
def check_task(task: object, name: str = "task") -> LinearTask:
    """Return ``task`` if it is a :class:`LinearTask`, else raise ArgumentError naming ``name``.

    The type check of every function of the linear theory that takes a task (not in
    ``__all__``: a validator of the theory's faces).

    Parameters
    ----------
    task : object
        The value passed as a task.
    name : str
        The argument's name, as the caller spelled it (``"task_a"``).

    Returns
    -------
    LinearTask
        ``task`` itself.

    Raises
    ------
    ArgumentError
        If ``task`` is not a :class:`LinearTask` (for example a raw rate matrix).
    """
    if not isinstance(task, LinearTask):
        raise ArgumentError(
            f"Argument `{name}` must be a LinearTask, but is {type(task).__name__}; build one "
            "with LinearTask(M, G_star) or linearize(...)."
        )
    return task


@validator
def check_pair(task_a: object, task_b: object) -> int:
    """Check that both are :class:`LinearTask` of one size; return that size ``n``.

    Raises ArgumentError for a non-task and ShapeError for tasks of different sizes (a
    validator of the two-task faces, not in ``__all__``).
    """
    n = check_task(task_a, "task_a").n
    b = check_task(task_b, "task_b")
    if b.n != n:
        raise ShapeError(
            f"Argument `task_b` must have as many gates as `task_a` ({n}), but has {b.n}."
        )
    return n


def pair_inputs(
    task_a: object,
    task_b: object,
    B: ArrayLike,
    G_ref: ArrayLike | None,
    rate_tol: float | None,
) -> tuple[LinearTask, LinearTask, NDArray, NDArray, float]:
    """The tasks, ``B``, ``G_ref`` and ``rate_tol`` of a two-task call, validated, with defaults.

    ``G_ref`` defaults to ``(G*_alpha + G*_beta) / 2`` and ``rate_tol`` to the larger
    ``rate_tol`` of the two tasks. Raises ShapeError or ArgumentError naming the argument.
    """
    n = check_pair(task_a, task_b)
    assert isinstance(task_a, LinearTask) and isinstance(task_b, LinearTask)  # check_pair
    Bv = bias_vector(B, n)
    if G_ref is None:
        G_ref_v = 0.5 * (task_a.G_star + task_b.G_star)
    else:
        G_ref_v = vector(G_ref, "G_ref", n)
    if rate_tol is None:
        tol = max(task_a.rate_tol, task_b.rate_tol)
    else:
        tol = number(rate_tol, "rate_tol", low=0.0, unit="1/s")
    return task_a, task_b, Bv, G_ref_v, tol


@validator
def check_affine(B: object, n: int, name: str = "B") -> AffineBias:
    """``B`` if it is an :class:`AffineBias` of ``n`` gates, else ArgumentError/ShapeError."""
    if not isinstance(B, AffineBias):
        raise ArgumentError(f"Argument `{name}` must be an AffineBias, but is {type(B).__name__}.")
    if B.n != n:
        raise ShapeError(f"Argument `{name}` must act on {n} gates, but acts on {B.n}.")
    return B


@validator
def periods(tau: float | ArrayLike, name: str = "tau") -> tuple[NDArray, bool]:
    """Periods (s, each finite and ``> 0``) as a 1-D array, and whether ``tau`` was a scalar.

    Raises ArgumentError for a bad value or more than `MAX_PERIODS` periods, and ShapeError for
    more than one dimension.
    """
    t = times(tau, name, positive=True)
    if t.ndim > 1:
        raise ShapeError(f"Argument `{name}` must be a scalar or 1-D, but has shape {t.shape}.")
    if t.size > MAX_PERIODS:
        raise ArgumentError(
            f"Argument `{name}` holds {t.size} periods, more than MAX_PERIODS = {MAX_PERIODS};"
            " split the sweep."
        )
    return np.atleast_1d(t), t.ndim == 0


@validator
def check_samples(m: int, n_periods: int, n: int, name: str = "times_or_n") -> None:
    """Refuse a trajectory of more than `MAX_SAMPLE_VALUES` values (``m`` samples of
    ``n_periods`` periods of ``n`` gates) with an ArgumentError naming ``name``."""
    if m * max(n_periods, 1) * max(n, 1) > MAX_SAMPLE_VALUES:
        raise ArgumentError(
            f"Argument `{name}` asks for {m} samples of {n_periods} period(s) of {n} gates, more "
            f"than MAX_SAMPLE_VALUES = {MAX_SAMPLE_VALUES} values; sample fewer times."
        )


# --------------------------------------------------------------------------------------------
# LinearTask
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinearTask:
    """One task linearized at a solution: rate matrix ``M`` and solution ``G_star`` of (D2).

    Parameters
    ----------
    M : (n, n) array_like
        Rate matrix in 1/s, ``M = gamma * d2C/dG2`` at the solution ((D2) of the paper).
        Must be finite, symmetric within ``sym_tol`` and positive semi-definite within
        ``psd_tol``. It is copied, symmetrized as ``(M + M.T) / 2`` and made read-only.
    G_star : (n,) array_like
        The solution (a minimum of the contrastive function C) the dynamics are linearized at, V.
    rate_tol : float, optional
        Absolute rank threshold in 1/s: eigenvalues ``<= max(rate_tol, n * eps * max(eigvals))``
        count as zero in :attr:`rank`, :attr:`M_pinv` and :attr:`N`. The second term is the
        round-off level of the eigensolver. Default 1e-9 1/s (a mode relaxing slower than once
        per ~30 years is indistinguishable from a zero mode).
    psd_tol : float, optional
        Relative tolerance on negative eigenvalues: ``lam < 0`` is accepted (and clipped to 0)
        when ``-lam <= psd_tol * max|lam| + rate_tol``. Default 1e-8.
    sym_tol : float, optional
        Relative symmetry tolerance, ``max|M - M.T| <= sym_tol * max|M|``. Default 1e-8.

    Attributes
    ----------
    n : int
        Number of gates.
    eigvals : (n,) ndarray
        Eigenvalues of ``M`` in ascending order, clipped at 0 (1/s).
    eigvecs : (n, n) ndarray
        Orthonormal eigenvectors (columns) of ``M``, in the order of :attr:`eigvals`: column 0
        is the slowest mode (``numpy.linalg.eigh`` of the symmetrized ``M``).
    rank : int
        Number of eigenvalues above the rank threshold :attr:`rank_threshold`.
    rank_threshold : float
        ``max(rate_tol, n * eps * max(eigvals))`` in 1/s.
    M_pinv : (n, n) ndarray
        Moore-Penrose pseudoinverse ``M^+`` (s) at the rank threshold, as in (D5).
    N : (n, n) ndarray
        Orthogonal projector onto the nullspace of ``M``, as in (D5).
    low_rank : bool
        Whether the task is held in factor form ``M = F F^T`` (built by :meth:`from_factor`).
    factor : (n, r) ndarray or None
        ``F`` of a low-rank task (None for a dense one).
    factor_basis, factor_eigvals : ndarray or None
        Low-rank task: the thin SVD of ``F``, ``M = factor_basis diag(factor_eigvals)
        factor_basis^T`` with ``min(n, r)`` orthonormal columns and eigenvalues (ascending, 1/s,
        those below the rank threshold included). None for a dense task.
    range_basis : (n, rank) ndarray
        Orthonormal basis of the range of ``M`` (eigenvectors above the rank threshold).
    range_eigvals : (rank,) ndarray
        The eigenvalues of ``M`` above the rank threshold, ascending, 1/s.

    Notes
    -----
    *Low-rank tasks.* ``LinearTask.from_factor(F, G_star)`` holds ``M = F F^T`` by its factor
    (memory ``O(n r)``, setup ``O(n r^2)``): ``rank``, ``range_basis`` and ``range_eigvals`` come
    from the thin SVD of ``F``; :func:`evolve`, ``periodic_orbit``, the asymptotics and
    ``Orbit.trajectory`` work in factor form. The dense attributes (``M``, ``eigvals``,
    ``eigvecs``, ``M_pinv``, ``N``, and so :func:`half_period_map`) are formed on first access
    for ``n <= DENSE_MAX_N`` and refused with ArgumentError beyond. A low-rank task equals only
    itself (``==`` is identity: factors are not unique).

    Raises
    ------
    ArgumentError
        If a tolerance is not a finite number ``>= 0``, or ``M`` or ``G_star`` is not a real
        array (a string, None, complex numbers).
    ShapeError
        If ``M`` is not square or ``G_star`` does not match it.
    TaskError
        If an entry is NaN or inf, ``M`` is not symmetric or not positive semi-definite.

    Examples
    --------
    A single-point task in two gates has a rank-one ``M`` and a line of solutions:

    >>> import numpy as np
    >>> from clln_theory.theory.linear import LinearTask
    >>> task = LinearTask([[2.0, 2.0], [2.0, 2.0]], G_star=[1.0, 3.0])
    >>> task.rank, task.eigvals
    (1, array([0., 4.]))
    >>> np.round(task.N, 12)
    array([[ 0.5, -0.5],
           [-0.5,  0.5]])
    """

    __repr__ = short_repr

    M: NDArray
    G_star: NDArray
    rate_tol: float = RATE_TOL
    psd_tol: float = PSD_TOL
    sym_tol: float = SYM_TOL
    eigvals: NDArray = field(init=False, repr=False, compare=False)
    eigvecs: NDArray = field(init=False, repr=False, compare=False)
    rank: int = field(init=False, repr=False, compare=False)
    rank_threshold: float = field(init=False, repr=False, compare=False)
    M_pinv: NDArray = field(init=False, repr=False, compare=False)
    N: NDArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("rate_tol", "psd_tol", "sym_tol"):
            object.__setattr__(self, name, number(getattr(self, name), name, low=0.0))
        M = real_array(self.M, "M", finite=False)  # a private float copy
        if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
            raise ShapeError(f"Argument `M` must be square (n, n), but has shape {M.shape}.")
        n = M.shape[0]
        require_finite(M, "M")
        check_rate_matrix(M, self.sym_tol)
        G_star = real_array(self.G_star, "G_star", shape=(n,), finite=False)
        require_finite(G_star, "G_star")
        for name, value in dense_spectrum(M, G_star, self.rate_tol, self.psd_tol).items():
            object.__setattr__(self, name, value)

    @property
    def n(self) -> int:
        """Number of gates (the size of ``M``)."""
        return int(self.M.shape[0])

    @property
    def low_rank(self) -> bool:
        """Whether the task is held in factor form ``M = F F^T`` (:meth:`from_factor`)."""
        return False

    @property
    def factor(self) -> NDArray | None:
        """``F`` with ``M = F F^T`` for a low-rank task; None for a dense one."""
        return None

    @property
    def factor_basis(self) -> NDArray | None:
        """Left singular vectors of ``F`` (low-rank task), else None."""
        return None

    @property
    def factor_eigvals(self) -> NDArray | None:
        """Squared singular values of ``F``, ascending, 1/s (low-rank task), else None."""
        return None

    @property
    def range_basis(self) -> NDArray:
        """Orthonormal basis (n, rank) of the range of ``M``, above the rank threshold."""
        return self.eigvecs[:, self.eigvals > self.rank_threshold]

    @property
    def range_eigvals(self) -> NDArray:
        """Eigenvalues of ``M`` above the rank threshold, ascending, 1/s."""
        return self.eigvals[self.eigvals > self.rank_threshold]

    @classmethod
    def from_factor(
        cls, F: ArrayLike, G_star: ArrayLike, *, rate_tol: float = RATE_TOL
    ) -> LinearTask:
        """A low-rank task ``M = F F^T`` held by its factor, never forming an ``n x n`` matrix.

        Parameters
        ----------
        F : (n, r) array_like
            Factor of the rate matrix, sqrt(1/s): ``M = F F^T`` (for a task linearized at a
            solution, one column per data point; ``linearize(..., low_rank=True)``).
        G_star : (n,) array_like
            The solution, V.
        rate_tol : float, optional
            Absolute rank threshold in 1/s, as for a dense task (``rank_threshold =
            max(rate_tol, n * eps * max eig)``). Default 1e-9 1/s.

        Returns
        -------
        LinearTask
            With ``low_rank`` True; memory ``O(n r)``, cost ``O(n r^2)`` (QR of ``F`` and SVD of
            its ``r x r`` triangle).

        Raises
        ------
        ArgumentError
            If ``F`` or ``G_star`` is not a real array or ``rate_tol`` not a number ``>= 0``.
        ShapeError
            If ``F`` is not 2-D with ``n >= 1`` rows or ``G_star`` does not have ``n`` entries.
        TaskError
            If an entry is NaN or inf.

        Examples
        --------
        >>> import numpy as np
        >>> task = LinearTask.from_factor([[1.0], [1.0]], G_star=[1.0, 3.0])
        >>> task.low_rank, task.rank, task.range_eigvals
        (True, 1, array([2.]))
        >>> task.M  # formed on demand (n <= DENSE_MAX_N)
        array([[1., 1.],
               [1., 1.]])
        """
        return _FactorTask(F, G_star, rate_tol)

    def velocity(self, G: ArrayLike, *, B: ArrayLike) -> NDArray:
        """Right-hand side of (D2), ``-M (G - G_star) + B``.

        Parameters
        ----------
        G : (n,) or (..., n) array_like
            Gates, V; a leading batch shape is kept.
        B : (n,) array_like
            Bias, V/s.

        Returns
        -------
        ndarray of shape ``G.shape``
            ``dG/dt`` under this task, V/s.

        Raises
        ------
        ShapeError
            If ``G`` does not end in ``n`` or ``B`` is not of shape ``(n,)``.
        ArgumentError
            If ``G`` or ``B`` is not a finite real array.
        """
        G = gate_vector(G, "G", self.n, batch=True)
        B = bias_vector(B, self.n)
        return -(G - self.G_star) @ self.M + B

    def stationary_bias(self, G: ArrayLike) -> NDArray:
        """The bias that holds the gates still at ``G``: ``M (G - G_star)``, (D2) at rest.

        With ``dG/dt = 0`` in (D2), ``B = M (G - G_star)``: a measured stationary point ``G``
        of this task reveals the bias (its component along the range of ``M``; Appendix E).

        Parameters
        ----------
        G : (n,) array_like
            Stationary gates, V.

        Returns
        -------
        (n,) ndarray
            ``M (G - G_star)``, V/s.

        Raises
        ------
        ShapeError
            If ``G`` is not of shape ``(n,)``.
        ArgumentError
            If ``G`` is not a finite real vector.

        Examples
        --------
        >>> task = LinearTask([[2.0, 0.0], [0.0, 1.0]], G_star=[1.0, 1.0])
        >>> task.stationary_bias([1.5, 0.0])
        array([ 1., -1.])
        """
        G = vector(G, "G", self.n)
        return self.M @ (G - self.G_star)


class _FactorTask(LinearTask):
    """A :class:`LinearTask` held by its factor ``M = F F^T`` (see ``LinearTask.from_factor``).

    The dense attributes are properties formed on first access (``n <= DENSE_MAX_N``).
    """

    __slots__ = ("_F", "_U", "_dense", "_lam")
    _F: NDArray
    _U: NDArray
    _lam: NDArray
    _dense: dict[str, NDArray]

    def __init__(self, F: ArrayLike, G_star: ArrayLike, rate_tol: float) -> None:
        rate_tol = number(rate_tol, "rate_tol", low=0.0)
        F = real_array(F, "F", finite=False)
        if F.ndim != 2 or F.shape[0] == 0:
            raise ShapeError(f"Argument `F` must have shape (n, r) with n >= 1, but has {F.shape}.")
        require_finite(F, "F")
        n = F.shape[0]
        if float(np.max(np.abs(F), initial=0.0)) > np.sqrt(MAX_RATE):  # M = F F^T <= MAX_RATE
            raise ArgumentError(
                f"Argument `F` must have entries of magnitude <= {MAX_RATE**0.5:g}."
            )
        G_star = real_array(G_star, "G_star", finite=False)
        if G_star.shape != (n,):
            raise ShapeError(
                f"Argument `G_star` must have shape ({n},) (rows of `F`), not {G_star.shape}."
            )
        require_finite(G_star, "G_star")
        U, lam = thin_eig(F)
        thr = rank_threshold(rate_tol, n, lam[-1] if lam.size else 0.0)
        for a in (F, G_star, U, lam):
            a.setflags(write=False)
        for name, value in (
            ("G_star", G_star),
            ("rate_tol", rate_tol),
            ("psd_tol", PSD_TOL),
            ("sym_tol", SYM_TOL),
            ("rank", int(np.count_nonzero(lam > thr))),
            ("rank_threshold", thr),
            ("_F", F),
            ("_U", U),
            ("_lam", lam),
            ("_dense", {}),
        ):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        n, r = self._F.shape
        return f"LinearTask.from_factor(<F of shape ({n}, {r})>, rank={self.rank})"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    @property
    def n(self) -> int:
        return int(self._F.shape[0])

    @property
    def low_rank(self) -> bool:
        return True

    @property
    def factor(self) -> NDArray:
        return self._F

    @property
    def factor_basis(self) -> NDArray:
        return self._U

    @property
    def factor_eigvals(self) -> NDArray:
        return self._lam

    @property
    def range_basis(self) -> NDArray:
        return self._U[:, self._lam > self.rank_threshold]

    @property
    def range_eigvals(self) -> NDArray:
        return self._lam[self._lam > self.rank_threshold]

    def _formed(self, name: str) -> NDArray:
        """The dense attribute ``name``, formed once (``n <= DENSE_MAX_N``)."""
        if name not in self._dense:
            n = self.n
            if n > DENSE_MAX_N:
                raise ArgumentError(
                    f"Argument `task` is a low-rank LinearTask with n = {n} gates: its dense "
                    f"`{name}` (n x n) is formed only for n <= DENSE_MAX_N = {DENSE_MAX_N}; use "
                    "`factor`, `range_basis` and `range_eigvals`, or evolve/periodic_orbit/"
                    "the asymptotics, which work in factor form."
                )
            U, lam, F = self._U, self._lam, self._F
            Qc = np.linalg.qr(U, mode="complete")[0] if U.shape[1] else np.eye(n)
            Uk = self.range_basis
            d = {
                "M": F @ F.T,
                "eigvals": np.concatenate([np.zeros(n - lam.size), lam]),
                "eigvecs": np.hstack([Qc[:, U.shape[1] :], U]),
                "M_pinv": (Uk / self.range_eigvals) @ Uk.T,
                "N": np.eye(n) - Uk @ Uk.T,
            }
            for arr in d.values():
                arr.setflags(write=False)
            self._dense.update(d)
        return self._dense[name]

    M = property(lambda self: self._formed("M"), doc="``F F^T``, formed on access.")
    eigvals = property(lambda self: self._formed("eigvals"), doc="All n eigenvalues.")
    eigvecs = property(lambda self: self._formed("eigvecs"), doc="A complete eigenbasis.")
    M_pinv = property(lambda self: self._formed("M_pinv"), doc="``M^+`` at the threshold.")
    N = property(lambda self: self._formed("N"), doc="Projector onto the nullspace of ``M``.")

    def velocity(self, G: ArrayLike, *, B: ArrayLike) -> NDArray:
        G = gate_vector(G, "G", self.n, batch=True)
        B = bias_vector(B, self.n)
        return -((G - self.G_star) @ self._F) @ self._F.T + B

    def stationary_bias(self, G: ArrayLike) -> NDArray:
        G = vector(G, "G", self.n)
        return self._F @ (self._F.T @ (G - self.G_star))


# --------------------------------------------------------------------------------------------
# evolve (D4)/(D5)
# --------------------------------------------------------------------------------------------


@overload
def evolve(task: LinearTask, G0: ArrayLike, *, t: ArrayLike, B: ArrayLike) -> NDArray: ...


@overload
def evolve(
    task: LinearTask, G0: ArrayLike, *, t: ArrayLike, B: ArrayLike, box: None
) -> NDArray: ...


@overload
def evolve(
    task: LinearTask, G0: ArrayLike, *, t: ArrayLike, B: ArrayLike, box: tuple[Any, Any]
) -> BoxTrajectory: ...


@finite_outputs("")
def evolve(
    task: LinearTask,
    G0: ArrayLike,
    *,
    t: ArrayLike,
    B: ArrayLike,
    box: tuple[Any, Any] | None = None,
) -> NDArray | BoxTrajectory:
    """Gates at times ``t`` under one task from ``G0``: (D4)/(D5) of the paper.

    Parameters
    ----------
    task : LinearTask
        The task trained: ``M`` (1/s) and ``G_star`` (V).
    G0 : (n,) array_like
        Gates at ``t = 0``, V.
    t : float or array_like of shape (...)
        Times, s, each ``>= 0``.
    B : (n,) array_like or AffineBias
        Bias, V/s; an :class:`~clln_theory.model.AffineBias` (state-dependent bias) is solved
        in closed form, as :func:`~clln_theory.theory.affine.evolve_affine` does.
    box : (lo, hi), optional
        Gate limits, V: each a number or an ``(n,)`` array, finite, ``lo < hi``. The gates then
        follow the projected dynamics: a gate at a limit stays there while its velocity (D2)
        points outward and is released when it turns inward; between such events the motion is
        (D5) of the task restricted to the free gates, in closed form (``theory/_box.py``). A
        ``G0`` outside the box is first clipped into it (the gates start at the nearest point
        of the box). Refused with an ``AffineBias``. Default None: no limits.

    Returns
    -------
    G : ndarray of shape ``t.shape + (n,)``, or BoxTrajectory
        ``G(t) = exp(-M t) G0 + (1 - exp(-M t)) (G_star + M^+ B) + t N B``, (D5). With
        ``box``: a :class:`~clln_theory.theory.trajectories.BoxTrajectory` (``times`` = ``t``,
        ``G`` of the shape above, ``pinned`` per sample and gate, and the ``pieces`` of the
        flow up to the largest time, each with its pinned gates).

    Raises
    ------
    ShapeError
        If ``G0`` or ``B`` does not have shape ``(n,)``.
    ArgumentError
        If ``task`` is not a :class:`LinearTask`, ``G0`` or ``B`` has a NaN or inf, or a time
        is negative, NaN or inf; ``box`` is not a pair of finite limits with ``lo < hi``, or is
        given with an ``AffineBias`` (the box route is for a constant bias).
    ConvergenceError
        With ``box``, if the pinned set chatters at a point (a Zeno point; not observed).

    Notes
    -----
    Evaluated as ``G0 + U diag(phi) U^T v`` with ``v = -M (G0 - G_star) + B`` the initial velocity
    of (D2) and ``phi_i = (1 - exp(-t lam_i)) / lam_i`` (``= t`` for ``lam_i = 0``) from
    ``expm1``: this is (D4) written with ``phi_1``, equal to (D5) term by term, and exact in the
    nullspace without a rank threshold. Cost: one ``n x n`` matrix-vector product per time after
    the cached eigendecomposition; relative accuracy a few ulps of ``|G|`` for every ``t``. A
    low-rank task (:meth:`LinearTask.from_factor`) uses the thin basis ``U`` of its factor and
    moves by ``t (1 - U U^T) v`` on the rest: ``O(n r)`` per time.

    Examples
    --------
    Decay to the solution line plus drift along it at ``N B``:

    >>> from clln_theory.theory.linear import LinearTask, evolve
    >>> task = LinearTask([[2.0, 2.0], [2.0, 2.0]], G_star=[1.0, 3.0])
    >>> evolve(task, [0.0, 0.0], t=[0.0, 10.0], B=[0.0, 0.1]).round(6)
    array([[0.    , 0.    ],
           [1.5125, 2.5125]])

    The same inside the box [0, 2] V: gate 1 reaches its upper limit and is held there while
    gate 0 keeps relaxing towards the solution line:

    >>> traj = evolve(task, [0.0, 0.0], t=[0.0, 10.0], B=[0.0, 0.1], box=(0.0, 2.0))
    >>> traj.G.round(6)
    array([[0., 0.],
           [2., 2.]])
    >>> traj.pinned[-1], traj.pieces[-1].pinned_hi
    (array([False,  True]), (1,))
    """
    n = check_task(task).n
    if box is not None and isinstance(B, AffineBias):
        raise ArgumentError(
            "Arguments `B` (an AffineBias) and `box` of `evolve` exclude each other: the motion "
            "inside the gate box is computed for a constant bias; pass an array `B` or drop `box`."
        )
    if box is not None:
        lo, hi = check_box(box, n)
        return _evolve_box(
            task, vector(G0, "G0", n), times(t, "t", positive=False), bias_vector(B, n), lo, hi
        )
    if isinstance(B, AffineBias):  # state-dependent bias: the closed form of theory/_affine.py
        B = check_affine(B, n)
        G0v = vector(G0, "G0", n)
        tv = times(t, "t", positive=False)
        return affine_flow(task.M, task.G_star, G0v, tv, B)
    G0v = vector(G0, "G0", n)
    Bv = bias_vector(B, n)
    tv = times(t, "t", positive=False)
    if task.low_rank:
        F, U, lam = task.factor, task.factor_basis, task.factor_eigvals
        assert F is not None and U is not None and lam is not None  # a low-rank task
        return flow_factor(F, U, lam, task.G_star, G0v, tv, Bv)
    return flow_dense(task.eigvecs, task.eigvals, task.M, task.G_star, G0v, tv, Bv)


def _evolve_box(
    task: LinearTask, G0: NDArray, t: NDArray, B: NDArray, lo: NDArray, hi: NDArray
) -> BoxTrajectory:
    """The ``box`` route of :func:`evolve` on checked values: the projected flow up to the
    largest time, sampled in closed form piece by piece."""
    bt = box_task(task.M, task.G_star, B, lo, hi, task.rate_tol)
    T = float(np.max(t)) if t.size else 0.0
    fl = flow(bt, np.minimum(np.maximum(G0, lo), hi), T, False)
    G = sample(bt, fl.pieces, t)
    pinned = sides_at(fl.pieces, t) != 0
    return BoxTrajectory(
        times=t,
        G=G,
        pinned=pinned,
        task_index=np.zeros(t.shape, dtype=int),
        pieces=as_box_pieces(fl.pieces, 0, 0.0),
    )


# --------------------------------------------------------------------------------------------
# half-period map (D8)/(D9)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HalfPeriodMap:
    """Affine map ``G -> A G + b`` of training one task for a time ``h``, (D8)/(D9).

    Attributes
    ----------
    h : ndarray of shape (...)
        Durations, s (``tau / 2`` in the paper).
    A : ndarray of shape ``h.shape + (n, n)``
        ``exp(-h M)``, (D8).
    E : ndarray of shape ``h.shape + (n, n)``
        ``1 - A``, computed with ``expm1`` (no cancellation for small ``h``).
    b : ndarray of shape ``h.shape + (n,)``
        ``(1 - A)(G_star + M^+ B) + h N B``, (D9).
    """

    __repr__ = short_repr

    h: NDArray
    A: NDArray
    E: NDArray
    b: NDArray

    def __call__(self, G: ArrayLike) -> NDArray:
        """Apply the map: ``A G + b``.

        Parameters
        ----------
        G : (n,) array_like, or broadcastable against ``h.shape + (n,)``
            Gates at the start of the half period, V.

        Returns
        -------
        ndarray of shape ``h.shape + (n,)``
            Gates at its end, V.

        Raises
        ------
        ArgumentError
            If ``G`` is not a finite real array.
        """
        G = real_array(G, "G")
        return np.einsum("...ij,...j->...i", self.A, G) + self.b


@finite_outputs("A", "E", "b")
def half_period_map(task: LinearTask, *, B: ArrayLike, h: ArrayLike) -> HalfPeriodMap:
    """``A`` and ``b`` of (D8) and (D9) of the paper for durations ``h`` (``tau / 2``).

    Parameters
    ----------
    task : LinearTask
        The task trained during the half period: ``M`` (1/s) and ``G_star`` (V).
    B : (n,) array_like
        Bias, V/s.
    h : float or array_like of shape (...)
        Durations, s, each ``> 0``.

    Returns
    -------
    HalfPeriodMap
        ``A = exp(-h M)`` (D8), ``E = 1 - A`` and ``b`` (D9), with a leading ``h.shape``.

    Raises
    ------
    ShapeError
        If ``B`` does not have shape ``(n,)``.
    ArgumentError
        If ``task`` is not a :class:`LinearTask`, ``B`` has a NaN or inf, or a duration is
        ``<= 0``, NaN or inf.

    Notes
    -----
    ``b = h phi_1(-h M) (M G_star + B) = U diag((1 - exp(-h lam)) / lam) U^T (M G_star + B)``,
    which equals (D9) with no pseudoinverse; ``E = U diag(-expm1(-h lam)) U^T``. Cost per ``h``:
    one ``n x n`` matrix product for each of ``A`` and ``E``.

    Examples
    --------
    >>> from clln_theory.theory.linear import LinearTask, half_period_map
    >>> task = LinearTask([[1.0, 0.0], [0.0, 0.0]], G_star=[2.0, 0.0])
    >>> m = half_period_map(task, B=[0.0, 1.0], h=1.0)
    >>> m.A.round(6), m.b.round(6)
    (array([[0.367879, 0.      ],
           [0.      , 1.      ]]), array([1.264241, 1.      ]))
    """
    n = check_task(task).n
    Bv = bias_vector(B, n)
    hv = times(h, "h", positive=True)
    A, E, b = half_period_arrays(task.eigvecs, task.eigvals, task.M, task.G_star, Bv, hv)
    return HalfPeriodMap(h=hv, A=A, E=E, b=b)
