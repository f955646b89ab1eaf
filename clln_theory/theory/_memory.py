"""Engine of the forgetting curve: the gates of a cycle of tasks at any times, in closed form.

Whole cycles are powers of the period map ``x -> A x + b`` (the segment maps (D8)/(D9) chained):
a jump of ``d`` cycles moves the common nullspace part by ``d`` drift steps and raises the
augmented matrix ``[[A, b], [0, 1]]`` of the contracting rest to the ``d``-th power by repeated
squaring, ``O(n^3 log d)`` for any ``d`` (a Python int: no overflow of the count). Short
jumps (at most `_LOOP_CYCLES` cycles) apply the segment maps one by one, as the loop always did.
The last, partial cycle is (D5) in the phi_1 form. Takes checked values only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from ._phase import cycle_count
from ._tasks import flow
from .linear import LinearTask

__all__ = ["cycle_states"]

#: Jumps of at most this many cycles apply the segment maps in turn (K n² flops per cycle, the
#: same bits as before); longer ones square the period map (about 2 log2(d) n³ flops). 64 cycles
#: cost about as much as the squarings of a 2⁶⁴-cycle jump for small n.
_LOOP_CYCLES = 64


def _jump(
    maps: Sequence[tuple[NDArray, NDArray, NDArray]], Z: NDArray, R: NDArray
) -> Callable[[NDArray, int], NDArray]:
    """The map ``(x, d) -> P^d x`` of ``d`` whole cycles, ``P`` the period map.

    Split along the common nullspace ``Z`` of the tasks (every segment map is the identity there
    and adds its share of the drift, so ``z`` moves by ``d`` times a fixed step, exactly linear)
    and its complement ``R``, where the period map contracts: there ``[[A_R, b_R], [0, 1]]`` is
    raised to the ``d``-th power by repeated squaring, stable because ``A_R`` has spectral radius
    below 1 (squaring a matrix with an eigenvalue 1 + ulp would grow it as (1 + ulp)^d).
    """
    n = Z.shape[0]
    A, b = np.eye(n), np.zeros(n)
    for Ak, _, bk in maps:  # the segments in order
        A, b = Ak @ A, Ak @ b + bk
    k = R.shape[1]
    P = np.eye(k + 1)
    P[:k, :k], P[:k, k] = R.T @ A @ R, R.T @ b
    step = Z.T @ b  # the drift of one cycle along the common nullspace

    def jump(x: NDArray, d: int) -> NDArray:
        out, Q = np.eye(k + 1), P
        e = d
        while e:  # binary powering
            if e & 1:
                out = Q @ out
            e >>= 1
            if e:
                Q = Q @ Q
        r = out[:k, :k] @ (R.T @ x) + out[:k, k]
        z = Z.T @ x + float(d) * step
        return Z @ z + R @ r

    return jump


def cycle_states(
    others: Sequence[LinearTask],
    maps: Sequence[tuple[NDArray, NDArray, NDArray]],
    h: NDArray,
    t: NDArray,
    G0: NDArray,
    B: NDArray,
    Z: NDArray,
    R: NDArray,
) -> NDArray:
    """Gates (m, n) at times ``t`` (m,) from ``G0`` while ``others`` are trained in turn for
    durations ``h`` (K,), with their segment maps ``maps`` (A, E, b); ``Z`` (n, k0) and ``R``
    (n, n - k0) are orthonormal bases of the others' common nullspace and of its complement."""
    n = G0.size
    tau = float(h.sum())
    starts = np.concatenate([[0.0], np.cumsum(h)[:-1]])
    split = [cycle_count(float(ti), tau) for ti in t]  # exact: Python ints, exact phases
    order = sorted(range(t.size), key=lambda i: split[i][0])
    G = np.empty((t.size, n))
    x, done = G0.astype(float), 0
    jump = _jump(maps, Z, R)
    for i in order:
        cycles, phase = split[i]
        if cycles - done <= _LOOP_CYCLES:
            while done < cycles:  # whole cycles: the affine maps (D8)/(D9)
                for A, _, b in maps:
                    x = A @ x + b
                done += 1
        else:
            x, done = jump(x, cycles - done), cycles
        y = x
        for k, o in enumerate(others):
            if phase <= starts[k] + h[k] or k == len(others) - 1:
                G[i] = flow(o, y, np.asarray(phase - starts[k]), B)
                break
            y = maps[k][0] @ y + maps[k][2]
    return G
