"""Memory erasure: how a learned task is forgotten while other tasks are trained (beyond the
paper).

A network sits at a solution ``G0`` of task ``j`` (its memory). Then only other tasks are
trained, in a cycle of durations ``h_k``. The gates follow the closed-form segment maps (D4)/(D5)
of those tasks, so the error of task ``j``, ``E_j(t) = (G(t) - G*_j)^T H (G(t) - G*_j)``, is known
in closed form at every time. Two things erase the memory:

* the relaxation onto the other tasks' own orbit (a bounded change, over their relaxation times);
* the bias: along null directions shared by all the other tasks nothing restores the gates, and
  they drift at ``d = Z Z^T B`` (V/s). If ``d`` has a component that task ``j`` sees
  (``d^T H d > 0``), its error grows without bound, asymptotically as ``(t * sqrt(d^T H d))^2``.
  ``|N B|`` (the drift speed) thus sets the forgetting time.

Derivation: ``derivations/d06_many_tasks_noise.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import finite_outputs, readonly, real_array, times, validator, vector
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError
from ..model.bias import bias_vector
from ._memory import cycle_states
from ._spectral import DENSE_MAX_N, half_period_arrays, rank_threshold
from .linear import LinearTask, check_samples, check_task
from .multitask import check_tasks, schedule

__all__ = ["ForgettingCurve", "forgetting_curve"]


@dataclass(frozen=True, slots=True)
class ForgettingCurve:
    """The error of a remembered task while other tasks are trained.

    Attributes
    ----------
    times : (m,) ndarray
        Times since the other tasks' training began, s.
    G : (m, n) ndarray
        Gates at those times, V.
    error : (m,) ndarray
        ``(G - G*)^T H (G - G*)`` of the remembered task, V² (with the default ``H`` the squared
        distance to its solution manifold).
    drift : (n,) ndarray
        Drift velocity along the common nullspace of the other tasks, ``Z Z^T B``, V/s.
    drift_speed : float
        ``|Z Z^T B|``, V/s: the speed that sets the forgetting.
    erasure_rate : float
        ``sqrt(drift^T H drift)``, V/s: at long times ``error ~ (erasure_rate * t)^2``; zero
        when the drift is invisible to the remembered task (its error then stays bounded).
    """

    __repr__ = short_repr

    times: NDArray
    G: NDArray
    error: NDArray
    drift: NDArray
    drift_speed: float
    erasure_rate: float

    def erasure_time(self, error_level: float) -> float:
        """Time after which the drift alone reaches ``error_level`` (V²): ``sqrt(level) /
        erasure_rate`` (s; inf when the drift is invisible to the task).

        Parameters
        ----------
        error_level : float
            An error of the remembered task, V².

        Returns
        -------
        float
            s.
        """
        if self.erasure_rate == 0.0:
            return float("inf")
        return float(np.sqrt(error_level) / self.erasure_rate)


#: Relative tolerance of the symmetry and positivity checks of ``H``: a weight built as
#: ``J^T J`` in floats is symmetric and PSD to a few ulps of its largest entry; 1e-10 leaves
#: room for that and refuses every weight that is really indefinite.
_WEIGHT_TOL = 1e-10


@validator
def check_weight(H: object, n: int, name: str = "H") -> NDArray:
    """``H`` as a finite, symmetric positive semi-definite (n, n) error weight (an error is a
    square, never negative); ArgumentError or ShapeError naming it."""
    Ha = real_array(H, name, shape=(n, n))
    scale = float(np.max(np.abs(Ha))) if Ha.size else 0.0
    if float(np.max(np.abs(Ha - Ha.T), initial=0.0)) > _WEIGHT_TOL * scale:
        raise ArgumentError(f"Argument `{name}` must be symmetric (an error weight), but is not.")
    Hs = 0.5 * Ha + 0.5 * Ha.T
    lam = np.linalg.eigvalsh(Hs) if n else np.zeros(1)
    if lam[0] < -_WEIGHT_TOL * scale:
        raise ArgumentError(
            f"Argument `{name}` must be positive semi-definite (the error is a square), but "
            f"has eigenvalue {lam[0]:.3g}."
        )
    return Ha


@finite_outputs("G", "error", args=("G0", "B"))
def forgetting_curve(
    task: LinearTask,
    others: Sequence[LinearTask],
    *,
    B: ArrayLike,
    durations: ArrayLike,
    t: ArrayLike,
    G0: ArrayLike | None = None,
    H: ArrayLike | None = None,
) -> ForgettingCurve:
    """The forgetting curve of ``task`` while ``others`` are trained in a cycle, closed form.

    Parameters
    ----------
    task : LinearTask
        The remembered task.
    others : sequence of LinearTask
        The tasks trained instead, in turn (one or more), same ``n``.
    B : (n,) array_like
        Bias, V/s.
    durations : (K,) array_like
        Training time of each of the ``others`` per cycle, s, each ``> 0``.
    t : (m,) array_like
        Times since training of the others began, s, each ``>= 0``.
    G0 : (n,) array_like, optional
        Gates when the others' training begins, V. Default ``task.G_star`` (task learned).
    H : (n, n) array_like, optional
        Error weight of the remembered task, symmetric positive semi-definite. Default ``I -
        N`` (``N`` its null projector): the squared distance to its solution manifold, V². For
        linearized outputs ``O = O* + J (G - G*)``, ``J^T J`` gives its (A1) error.

    Returns
    -------
    ForgettingCurve
        ``times``, ``G``, ``error``, ``drift``, ``drift_speed``, ``erasure_rate``.

    Raises
    ------
    ArgumentError
        If a task is not a :class:`LinearTask`, a duration is ``<= 0``, a time is negative,
        ``B``, ``G0``, ``H`` are not finite, ``H`` is not symmetric positive semi-definite,
        ``n > DENSE_MAX_N`` (2048; refused before any ``n x n`` array is formed) or the curve
        would hold more than ``MAX_SAMPLE_VALUES`` (10⁸) gate values.
    NumericalRangeError
        If the gates or the error leave float64's range.
    ShapeError
        If sizes do not match.

    Notes
    -----
    Whole cycles chain the affine maps (D8)/(D9) of the others: a jump of many cycles is a
    power of the period map by repeated squaring (``O(n^3 log(t / tau))``, bounded for any
    ``t``), with the number of cycles and the phase counted exactly (``fmod``, Python ints); the
    last, partial segment is (D5) in the phi_1 form. Exact for every ``t`` (no time stepping).

    Examples
    --------
    Task 2 sees only gate 0, task 1 only gate 1; the bias pushes gate 1 at 0.1 V/s:

    >>> import numpy as np
    >>> from clln_theory.theory import LinearTask, forgetting_curve
    >>> mem = LinearTask(np.diag([0.0, 1.0]), G_star=[0.0, 0.0])
    >>> other = LinearTask(np.diag([1.0, 0.0]), G_star=[0.0, 0.0])
    >>> fc = forgetting_curve(mem, [other], B=[0.0, 0.1], durations=[1.0], t=[0.0, 10.0])
    >>> fc.error.round(6), fc.drift_speed
    (array([0., 1.]), 0.1)
    """
    check_task(task, "task")
    n = task.n
    if n > DENSE_MAX_N:  # before any (n, n) array is formed
        raise ArgumentError(
            f"Argument `task` must have at most DENSE_MAX_N = {DENSE_MAX_N} gates for "
            f"forgetting_curve (it forms n x n maps), but has {n}."
        )
    others = check_tasks(others, "others", minimum=1)
    if others[0].n != n:
        raise ShapeError(
            f"Argument `others` must have {n} gates like `task`, but has {others[0].n}."
        )
    B = bias_vector(B, n)
    h, single = schedule(durations, len(others))
    if not single:
        raise ShapeError(f"Argument `durations` must have shape ({len(others)},).")
    h = h[0]
    t = times(t, "t", positive=False)
    if t.ndim != 1:
        raise ShapeError(f"Argument `t` must be 1-D, but has shape {t.shape}.")
    check_samples(t.size, 1, n)  # at most MAX_SAMPLE_VALUES gate values
    G0 = task.G_star if G0 is None else vector(G0, "G0", n)
    H = np.eye(n) - task.N if H is None else check_weight(H, n)
    maps = [  # (A, E, b) of (D8)/(D9) for each segment
        half_period_arrays(o.eigvecs, o.eigvals, o.M, o.G_star, B, np.asarray(hk, dtype=float))
        for o, hk in zip(others, h, strict=True)
    ]
    M_sum = sum(o.M for o in others)
    lam, U = np.linalg.eigh(M_sum)
    thr = rank_threshold(max(o.rate_tol for o in others), n, max(float(lam[-1]), 0.0))
    Z = U[:, lam <= thr]
    G = cycle_states(others, maps, h, t, G0, B, Z, U[:, lam > thr])  # any t: powers of the map
    dG = G - task.G_star
    error = np.einsum("mi,ij,mj->m", dG, H, dG)
    drift = Z @ (Z.T @ B)
    return ForgettingCurve(
        times=readonly(t),
        G=readonly(G),
        error=readonly(error),
        drift=readonly(drift),
        drift_speed=float(np.linalg.norm(drift)),
        erasure_rate=float(np.sqrt(max(float(drift @ H @ drift), 0.0))),
    )
