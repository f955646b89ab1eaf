"""Closed orbits of low-rank tasks: the dense engine in the span of the ranges, drift on the rest.

:func:`~clln_theory.theory.orbits.periodic_orbit` hands a pair with a task in factor form
(:meth:`~clln_theory.theory.linear.LinearTask.from_factor`) to :func:`lowrank_orbit`: both tasks
are reduced to the span ``U`` (n, k) of their ranges (:mod:`clln_theory.theory._lowrank`), the
``k x k`` pair is solved by the dense engine itself (same algebra, stability and ``condition``),
and the result is lifted: ``G0 = U g0 + (1 - U U^T) G_ref``, ``G_half = U g_half + (1 - U U^T)
G_ref + (tau / 2) (1 - U U^T) B``, ``drift = (1 - U U^T) B`` (the complement is the common
nullspace). The :class:`LowRankOrbit` keeps the orbit in that factored form (memory
``O(n k + T k)``) and forms ``G0``/``G_half`` (``T x n``) only when they are read. Public names for
the theory's modules; not part of the package's API.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import count, times
from ..errors import ArgumentError, ShapeError
from ._limits import check_samples
from ._lowrank import ProjectedPair, project_pair
from ._pair import pair_inputs, periods
from ._spectral import EPS
from .linear import DENSE_MAX_N, LinearTask
from .orbits import Orbit, OrbitTrajectory, periodic_orbit

__all__ = ["LowRankOrbit", "lowrank_orbit"]

_ORBIT_SLOT = {name: Orbit.__dict__[name] for name in ("G0", "G_half", "null_basis")}


class LowRankOrbit(Orbit):
    """An :class:`Orbit` of low-rank tasks, held as ``U`` plus the orbit of the reduced pair.

    ``G0`` and ``G_half`` are formed on first access (``T x n``); ``range_basis`` is ``U``;
    ``reduced`` the :class:`Orbit` of the ``k x k`` pair; ``null_basis`` (the complement of ``U``)
    is formed on access for ``n <= DENSE_MAX_N`` only.
    """

    __slots__ = ("_B_perp", "_cache", "_offset", "range_basis", "reduced")

    def __init__(self, pp: ProjectedPair, reduced: Orbit | None, **fields: object) -> None:
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
        return f"LowRankOrbit(n={n}, k={k}, tau={self.tau!r}, span={self.span!r})"

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


def lowrank_orbit(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    tau: float | ArrayLike,
    G_ref: ArrayLike | None,
    rate_tol: float | None,
    dps: int | None,
    rtol: float | None,
) -> LowRankOrbit:
    """:func:`~clln_theory.theory.orbits.periodic_orbit` for a pair with a low-rank task.

    Time ``O(n (r_alpha + r_beta)^2)`` for the reduction plus the dense engine on ``k x k``
    (``O(k^3)`` per period at most); memory ``O(n k + T k)``.
    """
    B, G_ref, rate_tol = pair_inputs(task_a, task_b, B, G_ref, rate_tol)
    taus, scalar = periods(tau)
    pp = project_pair(task_a, task_b, B, G_ref, rate_tol)
    drift_n = pp.B_perp
    if pp.task_a is None:  # k = 0: no dynamics left, pure drift from G_ref
        reduced = None
        span_periodic = np.zeros(taus.size)
        span_r = span_periodic
        cond = np.ones(taus.size)
        null_coupling, used_dps = 0.0, np.zeros(taus.size, dtype=int)
    else:
        reduced = periodic_orbit(
            pp.task_a, pp.task_b, B=pp.B, tau=taus[0] if scalar else taus, G_ref=pp.G_ref,
            rate_tol=rate_tol, dps=dps, rtol=rtol,
        )  # fmt: skip
        drift_n = drift_n + pp.lift(np.atleast_2d(reduced.drift)[0])
        span_periodic = np.atleast_1d(np.asarray(reduced.span_periodic, dtype=float))
        span_r = np.atleast_1d(np.asarray(reduced.span, dtype=float))
        null_coupling = pp.null_coupling + reduced.null_coupling
        cond = np.atleast_1d(np.asarray(reduced.condition, dtype=float)) + pp.null_coupling / EPS
        used_dps = np.atleast_1d(np.asarray(reduced.dps))
    span = np.hypot(span_r, 0.5 * taus * float(np.linalg.norm(pp.B_perp)))
    for a in (drift_n, span, cond, span_periodic, used_dps):
        a.setflags(write=False)
    if scalar:
        per_tau = dict(
            tau=float(taus[0]),
            span=float(span[0]),
            drift=drift_n,
            condition=float(cond[0]),
            span_periodic=float(span_periodic[0]),
            dps=int(used_dps[0]),
        )
    else:
        per_tau = dict(
            tau=taus,
            span=span,
            drift=np.broadcast_to(drift_n, (taus.size, drift_n.size)),
            condition=cond,
            span_periodic=span_periodic,
            dps=used_dps,
        )
    return LowRankOrbit(
        pp, reduced, task_a=task_a, task_b=task_b, B=B, null_coupling=null_coupling, **per_tau
    )
