"""Small-τ and large-τ asymptotics of the closed orbit of alternating training, (D7)-(D11).

Training task alpha for ``h = tau / 2`` and task beta for ``h``, over and over, with the linear
dynamics (D2) ``dG/dt = f_mu(G) = -M_mu (G - G*_mu) + B`` drives the gates onto the closed orbit
computed exactly by :func:`clln_theory.theory.orbits.periodic_orbit`. This module gives its limits:

* :func:`small_tau` - ``tau -> 0``: the orbit shrinks onto the centre ``G_c`` of the *averaged*
  dynamics ``dG/dt = (f_alpha + f_beta) / 2`` and its span is ``D = (tau / 2) |v|`` with ``v`` the
  velocity of task alpha at ``G_c``. For compatible tasks (a joint solution ``G*``) this is
  ``D = (tau / 2) |(M_alpha - M_beta)(M_alpha + M_beta)^+ B|`` (:func:`compatible_span_slope`)
  and the centre is ``G* + 2 (M_alpha + M_beta)^+ B``.
* :func:`large_tau` - ``tau -> infinity``: each half period relaxes fully onto the task's set of
  stationary points and then drifts along its nullspace at ``N_mu B``; the span is
  ``D = |d0 + (tau / 2) d1|``: a plateau ``|d0|`` or growth ``(tau / 2) |d1|`` by drift.
* :func:`crossover_tau` - where each form stops holding and where the two meet.

Directions in the common nullspace of ``M_alpha`` and ``M_beta`` are split off exactly as
:func:`~clln_theory.theory.orbits.periodic_orbit` does (same threshold, same ``G_ref``): there the
gates drift at ``Q Q^T B``. The attributes ``span_slope`` and ``plateau`` describe the periodic
part; the ``span(tau)`` methods return (4) as ``periodic_orbit`` does, with the drift over
``tau / 2`` added in quadrature (it is orthogonal to the periodic part).

Low-rank tasks (``LinearTask.from_factor``) are reduced to the span of their two ranges, where
these same forms are taken, and lifted; the complement is the common nullspace (cost
``O(n r^2)``, no ``n x n`` matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import finite_outputs, finite_result
from .._repr import short_repr
from ..errors import TaskError
from ._asym_lowrank import large_fields, small_fields
from ._box import box_task
from ._box_plateau import minimizer, settling
from ._spectral import knee_period
from ._tasks import max_rate
from .linear import LinearTask, pair_inputs, periods
from .trajectories import check_box

__all__ = [
    "BoxPlateau",
    "Crossover",
    "LargeTauAsymptotics",
    "SmallTauAsymptotics",
    "box_plateau",
    "compatible_span_slope",
    "crossover_tau",
    "large_tau",
    "small_tau",
]

# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------

#: The fields of each result that must be finite (a huge ``B`` overflows them).
_FINITE = {
    "small_tau": ("centre", "velocity", "span_slope"),
    "large_tau": ("g0", "g1", "k0", "k1", "d0", "d1", "plateau", "span_slope"),
}


def _finite(result: object, function: str) -> None:
    """The finite-output checks of ``function`` on its result (as ``finite_outputs`` makes)."""
    for f in _FINITE[function]:
        finite_result(getattr(result, f), f"{function} {f}", hint="Check the magnitudes of `B`.")


def _out(x: NDArray, scalar: bool) -> Any:
    """The value of one period for a scalar ``tau`` (a float or an (n,) array), else ``x``."""
    if scalar:
        return float(x[0]) if x.ndim == 1 else x[0]
    return x


# --------------------------------------------------------------------------------------------
# small tau
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmallTauAsymptotics:
    """Limit ``tau -> 0`` of the closed orbit (see :func:`small_tau`).

    Attributes
    ----------
    centre : (n,) ndarray
        ``G_c``, the stationary point of the averaged dynamics on the complement of the common
        nullspace, plus the common-null component of ``G_ref``, V.
    centre_bias_free : (n,) ndarray
        The same for ``B = 0``, V.
    bias_shift : (n,) ndarray
        ``centre - centre_bias_free = 2 (M_alpha + M_beta)^+ B``, V.
    velocity : (n,) ndarray
        ``v``: velocity of task alpha at ``G_c`` on the complement, ``P P^T f_alpha(G_c)``, V/s.
        Task beta's is ``-v``.
    velocity_bias_free : (n,) ndarray
        ``v`` for ``B = 0`` (zero for compatible tasks), V/s.
    span_slope : float
        ``|v| / 2`` (V/s): ``D ~ span_slope * tau``.
    span_slope_bias_free : float
        ``|v_0| / 2`` for ``B = 0`` (V/s).
    drift : (n,) ndarray
        ``Q Q^T B``, velocity along the common nullspace, V/s.
    compatible : bool
        Whether the tasks have a joint solution: ``|v_0| <= 1e-8 (|M_alpha| + |M_beta|)
        |G*_beta - G*_alpha|`` (round-off in ``(M_alpha + M_beta)^+`` stays below 1e-10 for
        condition numbers up to 1e6).
    """

    __repr__ = short_repr

    centre: NDArray
    centre_bias_free: NDArray
    bias_shift: NDArray
    velocity: NDArray
    velocity_bias_free: NDArray
    span_slope: float
    span_slope_bias_free: float
    drift: NDArray
    compatible: bool

    def span(self, tau: float | ArrayLike) -> float | NDArray:
        """``D(tau) ~ (tau / 2) sqrt(|v|^2 + |drift|^2)``; relative error ``O(tau^2)``.

        Parameters
        ----------
        tau : float or (T,) array_like
            Period(s), s, each ``> 0``.

        Returns
        -------
        float or (T,) ndarray
            The span (4), V.
        """
        t, scalar = periods(tau)
        return _out(0.5 * t * np.hypot(2.0 * self.span_slope, np.linalg.norm(self.drift)), scalar)

    def G0(self, tau: float | ArrayLike) -> NDArray:
        """State at the start of task alpha, ``G_c - (tau / 4) v``; error ``O(tau^2)``, V.

        Parameters
        ----------
        tau : float or (T,) array_like
            Period(s), s, each ``> 0``.

        Returns
        -------
        (n,) or (T, n) ndarray
            ``G0``, V.
        """
        t, scalar = periods(tau)
        return _out(self.centre - 0.25 * t[:, None] * self.velocity, scalar)

    def G_half(self, tau: float | ArrayLike) -> NDArray:
        """State at ``tau / 2``, ``G_c + (tau / 4) v + (tau / 2) drift``; error ``O(tau^2)``, V.

        Parameters
        ----------
        tau : float or (T,) array_like
            Period(s), s, each ``> 0``.

        Returns
        -------
        (n,) or (T, n) ndarray
            ``G_half``, V.
        """
        t, scalar = periods(tau)
        G = self.centre + 0.25 * t[:, None] * self.velocity + 0.5 * t[:, None] * self.drift
        return _out(G, scalar)


@finite_outputs("centre", "velocity", "span_slope", args=("B",))
def small_tau(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
) -> SmallTauAsymptotics:
    """Small-period limit of the closed orbit: averaged centre, bias shift and span slope.

    With ``S = M_alpha + M_beta``, ``P`` (``Q``) orthonormal bases of its range (common
    nullspace), ``Delta = G*_beta - G*_alpha``::

        G_c = P P^T G*_alpha + S^+ (M_beta Delta + 2 B) + Q Q^T G_ref       (centre)
        v   = -M_alpha (G_c - G*_alpha) + P P^T B = -P P^T f_beta(G_c)      (alpha's velocity)
        D   = (tau / 2) |v| (1 + O(tau^2)),   G0 = G_c - (tau/4) v + O(tau^2),
        G_half = G_c + (tau/4) v + (tau/2) Q Q^T B + O(tau^2).

    For compatible tasks (a joint solution ``G*``) ``G_c = P P^T G* + 2 S^+ B + Q Q^T G_ref`` and
    ``v = -(M_alpha - M_beta) S^+ B``.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first) and beta.
    B : (n,) array_like
        Bias, V/s.
    G_ref : (n,) array_like, optional
        Common-null component of the orbit, as in :func:`~clln_theory.theory.orbits.periodic_orbit`
        (default ``(G*_alpha + G*_beta) / 2``).
    rate_tol : float, optional
        Threshold (1/s) for the common nullspace, as in ``periodic_orbit``.

    Returns
    -------
    SmallTauAsymptotics

    Raises
    ------
    ArgumentError
        If a task is not a :class:`LinearTask`, ``B`` or ``G_ref`` has a NaN or inf, or
        ``rate_tol`` is not a finite number ``>= 0``.
    ShapeError
        If the tasks differ in size or ``B`` / ``G_ref`` do not match them.

    Notes
    -----
    *Centre.* The closed orbit has zero net displacement over a period on the complement, and
    ``f_mu`` is affine, so exactly ``M_alpha Gbar_alpha + M_beta Gbar_beta = P P^T (M_alpha
    G*_alpha + M_beta G*_beta + 2 B)`` with ``Gbar_mu`` the time average over task mu's half. A
    first-order expansion gives ``Gbar_alpha = Gbar_beta + O(tau^2)`` (the ``O(tau)`` terms
    ``(h/2) f_alpha`` and ``h f_alpha + (h/2) f_beta`` agree because ``f_beta = -f_alpha`` at
    leading order), hence ``Gbar_alpha = G_c + O(tau^2)``: ``G_c`` is the stationary point of the
    averaged dynamics ``dG/dt = -(S/2)(G - G_c) + Q Q^T B``.

    *Span.* Exactly ``G_half - G0 = h f_alpha(Gbar_alpha)`` (``f_alpha`` is affine), so
    ``D = h |P P^T f_alpha(G_c)| + O(tau^3)``: the relative error is ``O(tau^2)``, one order better
    than a naive expansion suggests, whenever ``v != 0``.

    *Exact case.* The two half-period displacements ``r_alpha + h N_alpha B`` and
    ``r_beta + h N_beta B`` (``r_mu`` in the range of ``M_mu``) sum to zero on the complement; when
    the ranges meet only in 0 (two single-point tasks in two gates, Fig. 2) this fixes
    ``r_mu`` proportional to ``h``, so ``D = (tau / 2) |v|`` holds exactly at every ``tau``.

    *Validity.* ``tau << 2 / max eig(M_alpha, M_beta)`` (no mode relaxes within a half period;
    see :func:`crossover_tau`). When ``v = 0`` (zero bias and compatible tasks) the span is
    ``O(tau^2)`` or exactly zero and only the absolute statement holds.

    Examples
    --------
    Two single-point tasks in two gates, solution lines crossing at ``G* = (1, 1)``:

    >>> import numpy as np
    >>> from clln_theory.theory.linear import LinearTask
    >>> from clln_theory.theory.orbits import periodic_orbit
    >>> from clln_theory.theory.asymptotics import small_tau
    >>> u, w = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    >>> a = LinearTask(10.0 * np.outer(u, u), G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer(w, w), G_star=[1.0, 1.0])
    >>> s = small_tau(a, b, B=[0.1, -0.2])
    >>> s.compatible, s.centre.round(4), round(s.span_slope, 5)
    (True, array([1.05  , 0.9312]), 0.22361)
    >>> exact = periodic_orbit(a, b, B=[0.1, -0.2], tau=1e-3).span
    >>> bool(abs(s.span(1e-3) / exact - 1) < 1e-5)
    True
    """
    task_a, task_b, Bv, G_ref_v, tol = pair_inputs(task_a, task_b, B, G_ref, rate_tol)
    return SmallTauAsymptotics(**small_fields(task_a, task_b, Bv, G_ref_v, tol))


@finite_outputs("")
def compatible_span_slope(
    task_a: LinearTask, task_b: LinearTask, *, B: ArrayLike, rate_tol: float | None = None
) -> float:
    """``|(M_alpha - M_beta)(M_alpha + M_beta)^+ B| / 2``: ``D ~ this * tau`` for compatible tasks.

    The small-``tau`` span ``D = (tau/2) |(M_alpha - M_beta) S^+ B|`` with ``S = M_alpha + M_beta``.
    It is the special case of :func:`small_tau` for tasks with a joint solution ``G*``: there the
    averaged centre is ``G* + 2 S^+ B`` (on the range of ``S``) and alpha's velocity there is
    ``-M_alpha 2 S^+ B + P P^T B = -(M_alpha - M_beta) S^+ B`` (as ``S S^+ = P P^T``). Valid for
    ``tau << 2 / max eig`` with relative error ``O(tau^2)``.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first) and beta, with a joint solution.
    B : (n,) array_like
        Bias, V/s.
    rate_tol : float, optional
        Threshold (1/s) for the common nullspace, as in
        :func:`~clln_theory.theory.orbits.periodic_orbit`.

    Returns
    -------
    float
        The slope ``D / tau`` of the span at small ``tau``, V/s.

    Raises
    ------
    ArgumentError, ShapeError
        As :func:`small_tau`.
    TaskError
        If the tasks have no joint solution (use :func:`small_tau`, whose ``span_slope`` holds
        for any pair).

    Examples
    --------
    >>> import numpy as np
    >>> from clln_theory.theory.linear import LinearTask
    >>> a = LinearTask([[10.0, 0.0], [0.0, 0.0]], G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer([0.6, 0.8], [0.6, 0.8]), G_star=[1.0, 1.0])
    >>> round(compatible_span_slope(a, b, B=[0.1, -0.2]), 5)
    0.22361
    """
    task_a, task_b, Bv, G_ref_v, tol = pair_inputs(task_a, task_b, B, None, rate_tol)
    s = SmallTauAsymptotics(**small_fields(task_a, task_b, Bv, G_ref_v, tol))
    _finite(s, "small_tau")
    if not s.compatible:
        raise TaskError(
            "Arguments `task_a` and `task_b` must have a joint solution for the compatible-task "
            f"formula, but the bias-free velocity at the averaged centre is "
            f"{np.linalg.norm(s.velocity_bias_free):.3g} V/s; use small_tau(...).span_slope."
        )
    return s.span_slope  # small_tau computes v = -(M_alpha - M_beta) S^+ B when compatible


# --------------------------------------------------------------------------------------------
# large tau
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LargeTauAsymptotics:
    """Limit ``tau -> infinity`` of the closed orbit (see :func:`large_tau`).

    With ``h = tau / 2``: ``G0 ~ g0 + h g1``, ``G_half ~ k0 + h k1``, span ``|d0 + h d1|``.

    Attributes
    ----------
    g0, g1, k0, k1 : (n,) ndarray
        Coefficients of ``G0`` and ``G_half`` (V and V/s); ``k1`` includes the common-null drift.
    d0, d1 : (n,) ndarray
        ``G_half - G0`` on the complement of the common nullspace is ``d0 + h d1`` (V, V/s).
    plateau : float
        ``|d0|`` (V): the large-``tau`` span when ``d1 = 0`` (no drift along solution sets).
    span_slope : float
        ``|d1| / 2`` (V/s): ``D ~ span_slope * tau`` when ``d1 != 0``.
    relaxation_rate : float
        Smallest nonzero eigenvalue of ``M_alpha`` and ``M_beta`` (1/s); the form holds up to
        ``O(exp(-relaxation_rate * tau / 2))`` (``inf`` if both matrices are zero).
    drift : (n,) ndarray
        ``Q Q^T B``, velocity along the common nullspace, V/s.
    """

    __repr__ = short_repr

    g0: NDArray
    g1: NDArray
    k0: NDArray
    k1: NDArray
    d0: NDArray
    d1: NDArray
    plateau: float
    span_slope: float
    relaxation_rate: float
    drift: NDArray

    def span(self, tau: float | ArrayLike) -> float | NDArray:
        """``D(tau) ~ sqrt(|d0 + h d1|^2 + h^2 |drift|^2)``, ``h = tau / 2``.

        Relative error ``O(exp(-relaxation_rate tau / 2))``.

        Parameters
        ----------
        tau : float or (T,) array_like
            Period(s), s, each ``> 0``.

        Returns
        -------
        float or (T,) ndarray
            The span (4), V.
        """
        t, scalar = periods(tau)
        periodic = np.linalg.norm(self.d0 + 0.5 * t[:, None] * self.d1, axis=-1)
        return _out(np.hypot(periodic, 0.5 * t * np.linalg.norm(self.drift)), scalar)

    def G0(self, tau: float | ArrayLike) -> NDArray:
        """State at the start of task alpha, ``g0 + (tau/2) g1``, V.

        Parameters
        ----------
        tau : float or (T,) array_like
            Period(s), s, each ``> 0``.

        Returns
        -------
        (n,) or (T, n) ndarray
            ``G0``, V.
        """
        t, scalar = periods(tau)
        return _out(self.g0 + 0.5 * t[:, None] * self.g1, scalar)

    def G_half(self, tau: float | ArrayLike) -> NDArray:
        """State at ``tau / 2``, ``k0 + (tau/2) k1``, V.

        Parameters
        ----------
        tau : float or (T,) array_like
            Period(s), s, each ``> 0``.

        Returns
        -------
        (n,) or (T, n) ndarray
            ``G_half``, V.
        """
        t, scalar = periods(tau)
        return _out(self.k0 + 0.5 * t[:, None] * self.k1, scalar)


@finite_outputs("g0", "g1", "k0", "k1", "d0", "d1", "plateau", "span_slope", args=("B",))
def large_tau(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
) -> LargeTauAsymptotics:
    """Large-period limit of the closed orbit: full relaxation plus drift in each half period.

    For ``h lambda >> 1`` on every nonzero mode, (D8) and (D9) become ``A_mu -> N_mu`` and
    ``b_mu -> c_mu + h N_mu B`` with ``c_mu = (I - N_mu) G*_mu + M_mu^+ B`` (the stationary set of
    task mu: its solution set shifted by ``M_mu^+ B``). The closed orbit of these relaxed maps,
    solved on the complement of the common nullspace (reduced quantities, ``K = I - N_beta
    N_alpha`` invertible there), is affine in ``h``::

        K g0 = N_beta c_alpha + c_beta,      K g1 = N_beta N_alpha B + N_beta B,
        k0 = N_alpha g0 + c_alpha,           k1 = N_alpha g1 + N_alpha B,
        D = |d0 + h d1|,   d0 = k0 - g0,   d1 = k1 - g1.

    So ``D`` tends to a plateau ``|d0|`` when ``d1 = 0`` (e.g. both tasks full rank:
    ``D = |G*_alpha + M_alpha^{-1} B - G*_beta - M_beta^{-1} B|``) and otherwise grows like
    ``(tau/2) |d1|`` from the drift along the solution sets (two single-point tasks in two gates
    with ``B`` not orthogonal to the solution lines; ``d1 = -N_beta B`` when alpha is full rank).

    Parameters
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first) and beta.
    B : (n,) array_like
        Bias, V/s.
    G_ref : (n,) array_like, optional
        Common-null component of ``G0``, as in :func:`~clln_theory.theory.orbits.periodic_orbit`.
    rate_tol : float, optional
        Threshold (1/s) for the common nullspace, as in ``periodic_orbit``.

    Returns
    -------
    LargeTauAsymptotics

    Raises
    ------
    ArgumentError, ShapeError
        As :func:`small_tau`.
    SingularSystemError
        If ``K`` is singular to working precision (nullspaces that intersect beyond the common
        nullspace threshold).

    Notes
    -----
    Validity: ``tau >> 2 / lambda_min`` with ``lambda_min`` the smallest nonzero eigenvalue of
    either task; the neglected terms are ``exp(-h lambda)`` times the state, so the relative error
    of ``D`` decays like ``exp(-lambda_min tau / 2)`` (or faster when that mode's coefficient
    vanishes). ``N_mu`` and ``M_mu^+`` are those of each :class:`LinearTask` (its own rank
    threshold).

    Examples
    --------
    Task alpha pins both gates, task beta (one point) leaves a solution line along which the bias
    drifts the gates at ``|N_beta B|``:

    >>> import numpy as np
    >>> from clln_theory.theory.linear import LinearTask
    >>> from clln_theory.theory.orbits import periodic_orbit
    >>> from clln_theory.theory.asymptotics import large_tau
    >>> a = LinearTask([[20.0, -5.0], [-5.0, 10.0]], G_star=[3.0, 3.0])
    >>> b = LinearTask(50.0 * np.outer([0.6, -0.8], [0.6, -0.8]), G_star=[2.5, 2.5])
    >>> B = [-1.8, 0.7]
    >>> L = large_tau(a, b, B=B)
    >>> round(L.span_slope, 4), round(float(np.linalg.norm(b.N @ B)) / 2, 4)
    (0.51, 0.51)
    >>> exact = periodic_orbit(a, b, B=B, tau=10.0).span
    >>> bool(abs(L.span(10.0) / exact - 1) < 1e-12)
    True
    """
    task_a, task_b, Bv, G_ref_v, tol = pair_inputs(task_a, task_b, B, G_ref, rate_tol)
    return LargeTauAsymptotics(**large_fields(task_a, task_b, Bv, G_ref_v, tol))


# --------------------------------------------------------------------------------------------
# crossovers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crossover:
    """Characteristic periods of ``D(tau)`` (see :func:`crossover_tau`), all in s.

    Attributes
    ----------
    tau_small : float
        ``2 / lambda_max``: the small-``tau`` form holds for ``tau << tau_small`` (relative error
        ~ ``(tau / tau_small)^2``).
    tau_large : float
        ``2 / lambda_min`` (smallest nonzero eigenvalue): the large-``tau`` form holds for
        ``tau >> tau_large`` (relative error ~ ``exp(-tau / tau_large)``).
    tau_knee : float
        Where the two asymptotes meet: ``span_slope_small * tau = |d0 + (tau/2) d1|``; ``nan``
        when they do not cross exactly once (``span_slope_small <= |d1| / 2``).
    tau_drift : float
        ``|d0| / span_slope_large``: within the large-``tau`` form, where the drift along the
        solution sets overtakes the relaxed offset (plateau for ``tau << tau_drift``, linear
        growth beyond); ``inf`` when there is no drift (``d1 = 0``).
    small : SmallTauAsymptotics
    large : LargeTauAsymptotics
    """

    __repr__ = short_repr

    tau_small: float
    tau_large: float
    tau_knee: float
    tau_drift: float
    small: SmallTauAsymptotics
    large: LargeTauAsymptotics


@finite_outputs("tau_small", "tau_large", args=("B",))
def crossover_tau(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    G_ref: ArrayLike | None = None,
    rate_tol: float | None = None,
) -> Crossover:
    """Periods separating the regimes of the cycle span ``D(tau)`` (Figs. 2E and 3B).

    ``D(tau)`` is linear at small ``tau`` (:func:`small_tau`, slope ``c_s = |v| / 2``) and, at
    large ``tau``, ``|d0 + (tau/2) d1|`` (:func:`large_tau`): a plateau ``|d0|`` followed, when
    the bias has a component along a task's solution set, by a second linear regime of slope
    ``|d1| / 2``. The small-``tau`` form needs every mode unrelaxed in a half period,
    ``tau << tau_small = 2 / lambda_max``; the large-``tau`` form needs every nonzero mode relaxed,
    ``tau >> tau_large = 2 / lambda_min`` (smallest nonzero eigenvalue of either task). In
    between, modes with ``lambda tau / 2 ~ 1`` are partly relaxed and ``D`` interpolates.

    The knee of the crossover between the two regimes is where the asymptotes meet,
    ``c_s tau = |d0 + (tau/2) d1|``, i.e. the positive root of
    ``(c_s^2 - |d1|^2/4) tau^2 - (d0 . d1) tau - |d0|^2 = 0`` (unique when ``c_s > |d1| / 2``,
    which is the case of Fig. 3B: the small-``tau`` slope exceeds the drift slope). The second
    linear regime starts near ``tau_drift = 2 |d0| / |d1|``.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first) and beta.
    B : (n,) array_like
        Bias, V/s. Pass zeros for the bias-free ("perfect") curve.
    G_ref : (n,) array_like, optional
        Common-null component, as in :func:`small_tau` and :func:`large_tau`.
    rate_tol : float, optional
        Threshold (1/s) for the common nullspace, as in :func:`small_tau` and :func:`large_tau`.

    Returns
    -------
    Crossover

    Raises
    ------
    ArgumentError, ShapeError, SingularSystemError
        As :func:`small_tau` and :func:`large_tau`.

    Examples
    --------
    A two-point task (full rank) and an incompatible single-point task, as in Fig. 3:

    >>> import numpy as np
    >>> from clln_theory.theory.linear import LinearTask
    >>> from clln_theory.theory.asymptotics import crossover_tau
    >>> a = LinearTask([[20.5, -20.6], [-20.6, 29.8]], G_star=[3.85, 3.05])
    >>> w = np.array([0.44, -0.898]) / np.hypot(0.44, 0.898)
    >>> b = LinearTask(66.1 * np.outer(w, w), G_star=[2.40, 2.70])
    >>> c = crossover_tau(a, b, B=[-1.79, 0.68])
    >>> [round(x, 3) for x in (c.tau_small, c.tau_knee, c.tau_large, c.tau_drift)]
    [0.03, 0.081, 0.496, 0.554]
    """
    task_a, task_b, Bv, G_ref_v, tol = pair_inputs(task_a, task_b, B, G_ref, rate_tol)
    small = SmallTauAsymptotics(**small_fields(task_a, task_b, Bv, G_ref_v, tol))
    _finite(small, "small_tau")
    large = LargeTauAsymptotics(**large_fields(task_a, task_b, Bv, G_ref_v, tol))
    _finite(large, "large_tau")
    lam_max = max(max_rate(task_a), max_rate(task_b))
    tau_small = 2.0 / lam_max if lam_max > 0 else np.inf
    tau_large = 2.0 / large.relaxation_rate
    tau_knee = knee_period(small.span_slope, large.span_slope, large.d0, large.d1)
    tau_drift = large.plateau / large.span_slope if large.span_slope > 0 else np.inf
    return Crossover(
        tau_small=tau_small,
        tau_large=float(tau_large),
        tau_knee=float(tau_knee),
        tau_drift=float(tau_drift),
        small=small,
        large=large,
    )


# --------------------------------------------------------------------------------------------
# the large-tau plateau inside the gate box
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoxPlateau:
    """The large-``tau`` limit of the cycle inside the gate box (see :func:`box_plateau`).

    Attributes
    ----------
    G_half : (n,) ndarray
        Plateau of ``G_half``: the minimizer of task alpha's energy over the box, V.
    G0 : (n,) ndarray
        Plateau of ``G0``: the minimizer of task beta's energy over the box, V.
    span : float
        Plateau of the span (4), ``|G_half - G0|``, V.
    side_half, side_0 : (n,) int ndarray
        Active sets of the two minimizers: ``+1`` pinned at the upper limit, ``-1`` at the
        lower, ``0`` free.
    t_settle : (2,) ndarray
        For task alpha's half (entered at ``G0``) and task beta's (entered at ``G_half``): the
        time of the last event (a gate reaching or leaving a limit), s.
    rate : (2,) ndarray
        The slowest rate of the final free block of each half, 1/s (inf if every gate ends
        pinned): after ``t_settle`` the distance to the plateau decays at least as
        ``exp(-rate (t - t_settle))``.
    distance : (2,) ndarray
        Distance to the plateau at ``t_settle``, V.
    tau_crossover : float
        ``2 max(t_settle + 1 / rate)``, s: beyond it both halves have settled on their plateau
        up to ``exp(-1)`` of ``distance`` and ``D(tau)`` levels off.
    """

    __repr__ = short_repr

    G_half: NDArray
    G0: NDArray
    span: float
    side_half: NDArray
    side_0: NDArray
    t_settle: NDArray
    rate: NDArray
    distance: NDArray
    tau_crossover: float

    def deviation(self, tau: float | ArrayLike) -> float | NDArray:
        """Estimated distance of the cycle's ``G_half`` and ``G0`` from the plateau at ``tau``.

        Parameters
        ----------
        tau : float or (T,) array_like
            Period(s), s, each finite and ``> 0``.

        Returns
        -------
        float or (T,) ndarray
            ``max_mu distance_mu exp(-rate_mu (tau/2 - t_settle_mu))`` (V) where ``tau / 2 >=
            t_settle``, inf before (the half has not settled). Exact to first order when each
            half enters at the other's plateau, as it does at large ``tau``.

        Raises
        ------
        ArgumentError
            If a period is ``<= 0``, NaN or inf.
        """
        t, scalar = periods(tau)
        h = 0.5 * t[:, None]
        with np.errstate(invalid="ignore", over="ignore"):
            rate = np.where(np.isfinite(self.rate), self.rate, 0.0)
            dec = np.where(np.isfinite(self.rate), 1.0, 0.0)
            d = self.distance * dec * np.exp(-rate * (h - self.t_settle))
        d = np.where(h >= self.t_settle, d, np.inf).max(axis=1)
        return _out(d, scalar)


@finite_outputs("G_half", "G0", "span", args=("B",))
def box_plateau(
    task_a: LinearTask,
    task_b: LinearTask,
    *,
    B: ArrayLike,
    box: tuple[Any, Any],
    rate_tol: float | None = None,
) -> BoxPlateau:
    """The large-``tau`` plateau of the cycle inside the gate box, in closed form.

    Task ``mu``'s projected dynamics is the projected gradient flow of the convex energy
    ``E_mu(G) = (G - G*_mu)^T M_mu (G - G*_mu) / 2 - B^T G``. As ``tau -> inf`` each half
    period runs to its rest point, the minimizer of ``E_mu`` over the box, so the cycle tends to
    ``G_half = argmin_box E_alpha`` and ``G0 = argmin_box E_beta``, independently of each
    other. Given the active set ``P`` (sides ``s``) the minimizer is, with ``b = M G* + B`` and
    ``F`` the free gates::

        G_P = limit_P,     M_FF G_F = b_F - M_FP G_P,     s_j (b - M G)_j >= 0 on P.

    Bias along a null direction of a task pushes the gates to the limits until ``M_FF`` is
    nonsingular: the plateau is then unique and finite, where the orbit without limits drifts
    and its span grows like ``tau``.

    Parameters
    ----------
    task_a, task_b : LinearTask
        Tasks alpha (trained first) and beta.
    B : (n,) array_like
        Bias, V/s.
    box : (lo, hi)
        Gate limits, V: numbers or ``(n,)`` arrays, finite, ``lo < hi``.
    rate_tol : float, optional
        Rate threshold (1/s) below which an eigenvalue of a free block is a null mode. Default:
        the larger ``rate_tol`` of the two tasks.

    Returns
    -------
    BoxPlateau
        ``G_half``, ``G0``, ``span``, the active sets and the crossover (``t_settle``,
        ``rate``, ``distance``, ``tau_crossover``, ``deviation(tau)``).

    Raises
    ------
    ArgumentError, ShapeError
        As :func:`small_tau`; or ``box`` is not a pair of finite limits with ``lo < hi``.
    SingularSystemError
        If a minimizer is not unique (its face has a null direction of ``M_FF`` with no bias
        along it): the plateau then depends on where the half period starts.
    ConvergenceError
        If the active-set search does not settle (not observed).

    Notes
    -----
    The active set comes from the engine's own projected flow run to rest, then the closed form
    above is solved and its KKT conditions checked (``theory/_box_plateau.py``;
    ``derivations/d08_box.md``). The crossover is read off the flow of each half entered at the
    other's plateau.

    Examples
    --------
    Two single-point tasks whose bias drifts the gates along the solution lines: without
    limits the span grows like ``tau``; in the box [0.9, 1.1] V it levels off at the plateau:

    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, box_plateau, periodic_orbit
    >>> a = LinearTask(10.0 * np.outer([1.0, 0.0], [1.0, 0.0]), G_star=[1.0, 1.0])
    >>> b = LinearTask(20.0 * np.outer([0.6, 0.8], [0.6, 0.8]), G_star=[1.0, 1.0])
    >>> P = box_plateau(a, b, B=[0.1, -0.2], box=(0.9, 1.1))
    >>> P.G_half.round(4), P.G0.round(4)
    (array([1.01, 0.9 ]), array([1.1   , 0.9094]))
    >>> orbit = periodic_orbit(a, b, B=[0.1, -0.2], tau=1e3, box=(0.9, 1.1))
    >>> bool(abs(orbit.span - P.span) < 1e-9), P.tau_crossover < 1e3
    (True, True)
    """
    task_a, task_b, Bv, _, tol = pair_inputs(task_a, task_b, B, None, rate_tol)
    lo, hi = check_box(box, task_a.n)
    ta, tb = (box_task(t.M, t.G_star, Bv, lo, hi, tol) for t in (task_a, task_b))
    Ga, sa = minimizer(ta)
    Gb, sb = minimizer(tb)
    st = [settling(ta, Gb, Ga), settling(tb, Ga, Gb)]
    t_settle = np.array([x.t_settle for x in st])
    rate = np.array([x.rate for x in st])
    cross = 2.0 * float(np.max(t_settle + 1.0 / rate))
    for a in (Ga, Gb, sa, sb, t_settle, rate):
        a.setflags(write=False)
    return BoxPlateau(
        G_half=Ga,
        G0=Gb,
        span=float(np.linalg.norm(Ga - Gb)),
        side_half=sa,
        side_0=sb,
        t_settle=t_settle,
        rate=rate,
        distance=np.array([x.distance for x in st]),
        tau_crossover=cross,
    )
