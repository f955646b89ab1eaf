"""Exact phase arithmetic of periodic motion: the time since the start of the current period.

``t - floor(t / tau) * tau`` in floats loses every digit of the phase once ``t / tau`` passes
2⁵³ (and can come out negative or past ``tau`` well before): the product ``floor(t / tau) * tau``
is rounded to the spacing of floats near ``t``. ``fmod`` is exact (the remainder of two floats is
a float, IEEE 754), so the phase here is the exact phase of the float ``t``; the whole-period
part ``t - phase`` is that exact multiple of ``tau`` rounded once (the same float as the old
``floor(t / tau) * tau`` wherever that one was right). Engine: checked times, no validation.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from ._tasks import flow
from .linear import LinearTask

__all__ = ["cycle_count", "sample_pair", "split_phase"]


def split_phase(
    t: NDArray, tau: NDArray | float, *, at_end: bool = True
) -> tuple[NDArray, NDArray]:
    """``(base, phase)`` with ``t = base + phase``, ``base`` a whole number of periods ``tau``
    (rounded once) and ``phase`` in ``[0, tau)`` exactly, for times ``t >= 0``.

    With ``at_end`` a positive exact multiple of ``tau`` is reported at the end of the earlier
    period (``phase = tau``), as the orbits' trajectories draw it.
    """
    tau = np.asarray(tau, dtype=float)
    phase = np.fmod(t, tau)
    if at_end:
        end = (phase == 0.0) & (t > 0.0)
        phase = np.where(end, tau, phase)
    return t - phase, phase


def cycle_count(t: float, tau: float) -> tuple[int, float]:
    """The exact number of whole periods in ``t >= 0`` (a Python int, any size) and the exact
    phase ``t - cycles * tau`` in ``[0, tau)``."""
    phase = float(np.fmod(t, tau))
    q = (t - phase) / tau
    if q < 2.0**50:  # an exact multiple rounded once, then divided: within an ulp of an integer
        return round(q), phase
    return int((Fraction(t) - Fraction(phase)) / Fraction(tau)), phase


def sample_pair(
    task_a: LinearTask,
    task_b: LinearTask,
    B: NDArray,
    G0: NDArray,
    G_half: NDArray,
    drift: NDArray,
    tau: NDArray,
    t_abs: NDArray,
) -> NDArray:
    """Gates (T, m, n) of the two-task orbits at the absolute times ``t_abs`` (T, m): (D5) for
    task alpha from ``G0[i]`` over ``[0, tau/2]``, for task beta from ``G_half[i]`` after, plus
    the drift of the whole periods before (exact phase, `split_phase`). Checked arrays: ``G0``,
    ``G_half``, ``drift`` of shape (T, n), ``tau`` (T,)."""
    base, phase = split_phase(t_abs, tau[:, None])
    h = tau[:, None] / 2
    G = np.empty((*t_abs.shape, G0.shape[-1]))
    for i in range(tau.size):
        first = phase[i] <= h[i]
        G[i] = flow(task_a, G0[i], np.where(first, phase[i], 0.0), B)
        second = flow(task_b, G_half[i], np.where(first, 0.0, phase[i] - h[i]), B)
        G[i] = np.where(first[:, None], G[i], second)
        G[i] += base[i][:, None] * drift[i]
    return G
