"""Sampled trajectories of the linear theory, and the gate box they may be drawn in.

:class:`OrbitTrajectory` is a sampled closed orbit (``Orbit.trajectory``); :class:`BoxTrajectory`
adds, for the dynamics inside the gate box ``lo <= G <= hi`` (``box=`` of ``evolve``,
``periodic_orbit`` and ``cyclic_orbit``), which gates are pinned at each sample and the pieces
of the motion (:class:`BoxPiece`). ``check_box`` is the one validator of a ``box=`` argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import real_array, validator
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError

__all__ = ["BoxPiece", "BoxTrajectory", "OrbitTrajectory"]


@dataclass(frozen=True, slots=True)
class OrbitTrajectory:
    """Gates sampled along an orbit (``Orbit.trajectory``, ``AffineOrbit.trajectory``).

    Attributes
    ----------
    times : ndarray of shape (m,) or (T, m)
        Sample times, s, counted from the start of task alpha.
    G : ndarray of shape (m, n) or (T, m, n)
        Gates at those times, V.
    """

    __repr__ = short_repr

    times: NDArray
    G: NDArray


@dataclass(frozen=True, slots=True)
class BoxPiece:
    """One piece of the motion inside the gate box: one task, one set of pinned gates.

    Attributes
    ----------
    task : int
        Index of the task trained (0 for task alpha, 1 for task beta; ``k`` for ``tasks[k]`` of
        a cyclic orbit; 0 for ``evolve``).
    t_start, t_end : float
        Start and end of the piece, s, counted from the start of the period (of the flow for
        ``evolve``).
    pinned_lo, pinned_hi : tuple of int
        Gates (indices) held at their lower / upper limit during the piece; the others move
        freely under the affine flow of the task restricted to them.
    """

    task: int
    t_start: float
    t_end: float
    pinned_lo: tuple[int, ...]
    pinned_hi: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BoxTrajectory(OrbitTrajectory):
    """Gates sampled along a motion inside the gate box (an :class:`OrbitTrajectory` with more).

    Attributes
    ----------
    times : ndarray of shape (m,) or (T, m)
        Sample times, s (from the start of the period, or of the flow for ``evolve``).
    G : ndarray of shape (m, n) or (T, m, n)
        Gates at those times, V, each within the box.
    pinned : bool ndarray, the shape of ``G``
        Whether each gate is pinned at a limit at each sample (a gate exactly at a limit but
        moving inward is not pinned).
    task_index : int ndarray of shape (m,) or (T, m)
        Index of the task trained at each sample (a time at an exact switch: the earlier task).
    pieces : tuple of BoxPiece, or tuple of such tuples (one per period of a sweep)
        The pieces of the motion: of the flow for ``evolve`` (up to the largest time), of one
        period of the orbit otherwise.
    """

    __repr__ = short_repr

    pinned: NDArray
    task_index: NDArray
    pieces: tuple[Any, ...]


@validator
def check_box(box: Any, n: int, name: str = "box") -> tuple[NDArray, NDArray]:
    """``box = (lo, hi)`` as two read-only ``(n,)`` arrays (V) with ``lo < hi``, finite.

    Each limit is a number or an ``(n,)`` array. Not in ``__all__``: the shared check of the
    theory's ``box=`` arguments. Raises ArgumentError (not a pair, NaN/inf, ``lo >= hi``) or
    ShapeError (a limit of the wrong shape), naming ``box``.
    """
    if isinstance(box, (str, bytes)) or not isinstance(box, Sequence | np.ndarray):
        raise ArgumentError(
            f"Argument `{name}` must be a pair (lo, hi) of gate limits, but is "
            f"{type(box).__name__}."
        )
    if len(box) != 2:
        raise ArgumentError(
            f"Argument `{name}` must be a pair (lo, hi) of gate limits, but has {len(box)} items."
        )
    out = []
    for which, value in zip(("lo", "hi"), box, strict=True):
        a = real_array(value, f"{name}[{'01'[which == 'hi']}]")
        if a.ndim == 0:
            a = np.full(n, float(a))
        elif a.shape != (n,):
            raise ShapeError(
                f"Argument `{name}` must hold numbers or ({n},) arrays, but its {which} has "
                f"shape {a.shape}."
            )
        out.append(np.array(a, dtype=float))
    lo, hi = out
    if not np.all(lo < hi):
        i = int(np.flatnonzero(~(lo < hi))[0])
        raise ArgumentError(
            f"Argument `{name}` must have lo < hi for every gate, but gate {i} has lo = "
            f"{lo[i]!r} >= hi = {hi[i]!r}."
        )
    for a in (lo, hi):
        a.setflags(write=False)
    return lo, hi
