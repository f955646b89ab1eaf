"""The result types of closed orbits: :class:`Orbit`, its low-rank form and :class:`ClosedOrbit`.

:func:`~clln_theory.theory.orbits.periodic_orbit` returns an :class:`Orbit` (a
``LowRankOrbit``, held in factored form, for a pair with a low-rank task) or, for a
state-dependent bias, an :class:`~clln_theory.theory.affine.AffineOrbit`; all of them satisfy the
:class:`ClosedOrbit` protocol (``G0``, ``G_half``, ``tau``, ``span``, ``trajectory``). The engine
``_orbit_build`` assembles them from the kernels' arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import count, times
from .._repr import short_repr, summary
from ..errors import ArgumentError, ShapeError
from ._lowrank import ProjectedPair
from ._phase import sample_pair
from ._spectral import DENSE_MAX_N
from .linear import LinearTask, check_samples
from .trajectories import OrbitTrajectory

__all__ = ["ClosedOrbit", "Orbit", "OrbitTrajectory"]


@runtime_checkable
class ClosedOrbit(Protocol):
    """What every closed-orbit result offers (:class:`Orbit`, ``LowRankOrbit``, ``AffineOrbit``).

    Attributes
    ----------
    G0 : ndarray
        State at the start of the first task on the orbit, V.
    G_half : ndarray
        State when training switches to the second task, V.
    tau : float or ndarray
        Period(s), s.
    span : float or ndarray
        Cycle span (4), V.
    """

    @property
    def G0(self) -> NDArray: ...

    @property
    def G_half(self) -> NDArray: ...

    @property
    def tau(self) -> float | NDArray: ...

    @property
    def span(self) -> float | NDArray: ...

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> OrbitTrajectory:
        """Sample the gates along the orbit.

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            An ``int`` ``m >= 2`` samples one period at ``m`` equally spaced times; an array
            gives absolute times in s.

        Returns
        -------
        OrbitTrajectory
            The sample ``times`` and the gates ``G`` there.
        """
        ...


@dataclass(frozen=True, slots=True)
class Orbit:
    """Limit cycle of alternating training (D7)-(D11), for one ``tau`` or a sweep.

    With a scalar ``tau`` the arrays have the shapes below; with ``T`` periods every field except
    ``task_a``, ``task_b``, ``B`` and ``null_basis`` gains a leading axis of length ``T``.

    Attributes
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first in each period) and beta.
    B : (n,) ndarray
        Bias, V/s.
    tau : float or (T,) ndarray
        Period, s.
    G0 : (n,) ndarray
        State at the start of task alpha on the orbit, (D11) (solved in the symmetric form
        described in the module docstring).
    G_half : (n,) ndarray
        State at ``tau / 2``, when training switches to task beta.
    span : float or (T,) ndarray
        Cycle span ``D = |G(tau/2) - G(tau)|`` of (4), taken literally on the trajectory: with a
        common-null drift it is ``sqrt(span_periodic**2 + (tau/2)**2 |drift|**2)``.
    span_periodic : float or (T,) ndarray
        Span of the periodic part alone (the component orthogonal to the common nullspace);
        equal to ``span`` when a closed orbit exists.
    dps : int or (T,) ndarray of int
        0 where the period was computed in float64; otherwise the mpmath precision (decimal
        digits) used, by request (``dps=``) or to meet ``rtol=``.
    null_coupling : float
        With a common null direction: how well the inputs determine the split at all, the
        largest coupling ``|P^T M_mu Q|`` (plus the largest eigenvalue magnitude inside the
        nullspace) relative to the slowest rate kept. Zero for exactly PSD inputs with an exact
        shared null; included in ``condition`` (as ``null_coupling / eps``).
    drift : (n,) ndarray
        Velocity along the common nullspace of ``M_alpha`` and ``M_beta`` (V/s): the projection
        of ``B`` on it; zeros when a closed orbit exists. The orbit then closes up to
        ``drift * tau``: ``G(tau) = G0 + drift * tau``.
    null_basis : (n, k) ndarray
        Orthonormal basis of the common nullspace (``k = 0`` when a closed orbit exists).
    condition : float or (T,) ndarray
        Estimated relative condition number ``kappa`` of ``G0``: perturbing ``M_alpha``,
        ``M_beta``, ``G*`` and ``B`` by a relative ``eps`` (what rounding the inputs to float64,
        or a backward-stable eigendecomposition, does) moves the exact ``G0`` by up to about
        ``eps * kappa * |G0|``, so ``eps * kappa`` (``eps = 2.2e-16``) is the attainable
        relative accuracy and the engine's error is a small multiple of it. It is
        ``|S_hat^-1| + (|G*_alpha| + |G_half - G*_alpha|) / |G0| +
        |S^-1| sum_mu phi_mu |M_mu| R_mu / |G0|`` with ``S`` the matrix of the
        symmetric mid-alpha system (see the module docstring), ``S_hat`` its
        Jacobi-scaled form, ``phi_mu = (1 - exp(-h lam_min)) / lam_min`` (``h`` for a singular
        ``M_mu``) the flow's sensitivity to its rate matrix and
        ``R_mu = max|G - G*_mu| + |G*_mu| + |B| / |M_mu|`` over ``G0`` and ``G_half``. Norms of
        inverses are exact for ``n = 2`` and estimates (inverse iteration, LAPACK ``dpocon``)
        otherwise. The second term is the rounding of the final sums (the engine works
        relative to ``G*_alpha``); it matters only when ``|G0|`` is far below ``|G*_alpha|``.
        NaN on the ``dps`` (mpmath) path.
    """

    __repr__ = short_repr

    task_a: LinearTask
    task_b: LinearTask
    B: NDArray
    tau: float | NDArray
    G0: NDArray
    G_half: NDArray
    span: float | NDArray
    drift: NDArray
    null_basis: NDArray = field(repr=False)
    condition: float | NDArray = field(default=float("nan"), repr=False)
    span_periodic: float | NDArray = field(default=float("nan"), repr=False)
    dps: int | NDArray = field(default=0, repr=False)
    null_coupling: float = field(default=0.0, repr=False)

    @property
    def low_rank(self) -> bool:
        """Whether the orbit is held in factored form (a pair with a low-rank task)."""
        return False

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> OrbitTrajectory:
        """Sample the gates along the orbit.

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            An ``int`` ``m >= 2`` samples one period at ``m`` equally spaced times from 0 to
            ``tau`` (inclusive); an array gives absolute times in s (``>= 0``), applied to every
            period of a sweep. Times past ``tau`` continue the periodic motion, plus
            ``drift * t`` along the common nullspace.

        Returns
        -------
        OrbitTrajectory
            ``times`` of shape (m,) or (T, m) and ``G`` of shape (m, n) or (T, m, n).

        Raises
        ------
        ArgumentError
            If an ``int`` is below 2, or a time is negative, NaN or inf, or the samples would
            hold more than ``MAX_SAMPLE_VALUES`` (10⁸) gate values.
        ShapeError
            If the array of times is not 1-D.

        Notes
        -----
        Chains (D5) for task alpha from ``G0`` over ``[0, tau/2]`` with (D5) for task beta from
        ``G_half`` over ``[tau/2, tau]``, as the last sentence of Appendix D of the paper says.
        """
        tau = np.atleast_1d(np.asarray(self.tau, dtype=float))
        G0 = np.atleast_2d(self.G0)
        G_half = np.atleast_2d(self.G_half)
        drift = np.atleast_2d(self.drift)
        if isinstance(times_or_n, (int, np.integer)) and not isinstance(times_or_n, bool):
            m = count(times_or_n, "times_or_n", minimum=2)
            check_samples(m, tau.size, G0.shape[-1])  # at most MAX_SAMPLE_VALUES
            t_abs = tau[:, None] * np.linspace(0.0, 1.0, m)[None, :]
        else:
            t = times(times_or_n, "times_or_n", positive=False)
            if t.ndim != 1:
                raise ShapeError(
                    f"Argument `times_or_n` must be 1-D, but has shape {t.shape}; pass an int "
                    "for equally spaced samples."
                )
            check_samples(t.size, tau.size, G0.shape[-1])
            t_abs = np.broadcast_to(t[None, :], (tau.size, t.size))
        # exact phase (fmod); a positive multiple of tau is drawn at the end of its period
        G = sample_pair(self.task_a, self.task_b, self.B, G0, G_half, drift, tau, t_abs)
        if np.ndim(self.tau) == 0:
            return OrbitTrajectory(times=t_abs[0], G=G[0])
        return OrbitTrajectory(times=t_abs, G=G)


class LowRankOrbit(Orbit):
    """An :class:`Orbit` of low-rank tasks, held as ``U`` plus the orbit of the reduced pair.

    ``G0`` and ``G_half`` are formed on first access (``T x n``); ``range_basis`` is ``U``;
    ``reduced`` the :class:`Orbit` of the ``k x k`` pair; ``null_basis`` (the complement of ``U``)
    is formed on access for ``n <= DENSE_MAX_N`` only.
    """

    __slots__ = ("_B_perp", "_cache", "_offset", "range_basis", "reduced")
    range_basis: NDArray
    reduced: Orbit | None
    _offset: NDArray
    _B_perp: NDArray
    _cache: dict[str, NDArray]

    def __init__(self, pp: ProjectedPair, reduced: Orbit | None, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        for name, value in (
            ("range_basis", pp.U),
            ("reduced", reduced),
            ("_offset", pp.G_ref_perp),
            ("_B_perp", pp.B_perp),
            ("_cache", {}),
        ):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        n, k = self.range_basis.shape
        return f"LowRankOrbit(n={n}, k={k}, tau={summary(self.tau)}, span={summary(self.span)})"

    @property
    def low_rank(self) -> bool:
        return True

    def _lifted(self, which: str) -> NDArray:
        if which not in self._cache:
            tau = np.asarray(self.tau, dtype=float)
            if self.reduced is None:
                g = np.zeros((*tau.shape, 0))
            else:
                g = getattr(self.reduced, which)
            G = g @ self.range_basis.T + self._offset
            if which == "G_half":
                G += (0.5 * tau)[..., None] * self._B_perp
            G.setflags(write=False)
            self._cache[which] = G
        return self._cache[which]

    def compact_field(self, name: str) -> object:
        """What `finite_outputs` checks for ``name``: the factors of ``G0``/``G_half`` (the
        reduced orbit, the complement offset and drift), never the lifted ``T x n`` arrays."""
        if name not in ("G0", "G_half"):
            return getattr(self, name)
        parts = [self._offset, self._B_perp]
        if self.reduced is not None:
            parts.append(getattr(self.reduced, name))
        return np.concatenate([np.ravel(q) for q in parts])

    G0 = property(lambda self: self._lifted("G0"), doc="State at the start of task alpha, V.")
    G_half = property(lambda self: self._lifted("G_half"), doc="State at ``tau / 2``, V.")

    @property
    def null_basis(self) -> NDArray:
        """Orthonormal basis of the common nullspace (the complement of ``range_basis``)."""
        n, k = self.range_basis.shape
        if n > DENSE_MAX_N:
            raise ArgumentError(
                f"The common nullspace of a low-rank orbit with n = {n} gates has dimension "
                f"{n - k}; its basis is formed only for n <= DENSE_MAX_N = {DENSE_MAX_N}: it is "
                "the orthogonal complement of `range_basis`."
            )
        if "null_basis" not in self._cache:
            full = np.linalg.qr(self.range_basis, mode="complete")[0] if k else np.eye(n)
            self._cache["null_basis"] = full[:, k:]
        return self._cache["null_basis"]

    def trajectory(self, times_or_n: int | ArrayLike = 101) -> OrbitTrajectory:
        """Sample the gates along the orbit (as :meth:`Orbit.trajectory`).

        Parameters
        ----------
        times_or_n : int or (m,) array_like
            As :meth:`Orbit.trajectory`.

        Returns
        -------
        OrbitTrajectory
            The reduced orbit's samples lifted, plus ``(1 - U U^T)(G_ref + t B)``.
        """
        if isinstance(times_or_n, (int, np.integer)) and not isinstance(times_or_n, bool):
            m = max(int(times_or_n), 0)
        else:
            try:  # a bad array is refused, naming it, by the sampler below
                m = int(np.size(times_or_n))
            except (TypeError, ValueError):
                m = 0
        check_samples(m, int(np.size(self.tau)), self.range_basis.shape[0])  # the lifted size
        if self.reduced is not None:
            tk = self.reduced.trajectory(times_or_n)
            t_abs, g = tk.times, tk.G
        else:
            t_abs = _sample_times(self.tau, times_or_n, self.range_basis.shape[0])
            g = np.zeros((*t_abs.shape, 0))
        G = g @ self.range_basis.T + self._offset + t_abs[..., None] * self._B_perp
        return OrbitTrajectory(times=t_abs, G=G)


def _sample_times(tau: float | NDArray, times_or_n: int | ArrayLike, n: int) -> NDArray:
    """The sample times of :meth:`Orbit.trajectory` (for the orbit with no reduced problem)."""
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    if isinstance(times_or_n, (int, np.integer)) and not isinstance(times_or_n, bool):
        m = count(times_or_n, "times_or_n", minimum=2)
        check_samples(m, tau.size, n)  # at most MAX_SAMPLE_VALUES
        t_abs = tau[:, None] * np.linspace(0.0, 1.0, m)[None, :]
    else:
        t = times(times_or_n, "times_or_n", positive=False)
        if t.ndim != 1:
            raise ShapeError(f"Argument `times_or_n` must be 1-D, but has shape {t.shape}.")
        check_samples(t.size, tau.size, n)
        t_abs = np.broadcast_to(t[None, :], (tau.size, t.size))
    return t_abs[0] if tau.size == 1 and np.ndim(tau) == 1 else t_abs
