"""Engine: the closed orbit of two tasks with a state-dependent bias inside the gate box.

With ``B(G) = B0 + J (G - G_ref)`` task ``mu`` moves by ``dG/dt = Pi[c - A G]`` with
``A = M_mu - J`` (not symmetric) and ``c = M_mu G*_mu + B0 - J G_ref``; ``Pi`` pins a gate at a
limit while its velocity points outward (the rule of ``_box.py``). Between events the free gates
follow the affine flow of ``A_FF`` in closed form (one augmented matrix exponential per time);
the events (a free gate reaching a limit, a pinned gate's velocity turning inward) are located by
sampling the closed form at ``_EVENT_SAMPLES`` times of the rest of the half period and refining
the first sign change with ``brentq``. The cycle is the fixed point of the period map: the
unconstrained orbit (``_affine.cycle_fields``) when it exists, is stable and stays inside;
otherwise plain iteration (which finds attracting cycles, e.g. a runaway pinned at a limit)
accelerated by Newton steps with a finite-difference Jacobian, a Newton result accepted only if
its multipliers are inside the unit circle.

The constant-bias box engine (``_box*.py``) is exact piece by piece; this one is exact between
events and places events to ``brentq``'s tolerance (1e-13 relative of the half period). A
sampled event search can miss a pair of crossings inside one sampling interval (a gate that
touches a limit and leaves within 1/64 of the rest of the half period); the tests compare it with
the exact engine at ``J = 0``. Takes checked arrays only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
from numpy.typing import NDArray
from scipy.optimize import brentq

from ..errors import ConvergenceError, StabilityError
from ..model.bias import AffineBias
from ._affine import affine_flow, cycle_fields

__all__ = ["AffineBoxCycle", "affine_box_cycle"]

#: Closed-form samples of the rest of a half period where events are looked for: 64 linearly
#: and 32 geometrically spaced times (the geometric ones catch fast early relaxations).
_EVENT_SAMPLES = 64
#: A gate within this of a limit (relative to the box scale) is at it (as ``_box.POS_RTOL``,
#: loosened 1e3x for brentq-located events).
_POS_RTOL = 1e-9
#: Pieces per half period before the flow is called Zeno.
_MAX_PIECES = 64
#: Fixed-point residual of the period map, relative to the box scale.
_FIX_RTOL = 1e-10
#: Finite-difference step of the period map's Jacobian, V.
_FD = 1e-7
#: Budget of period-map iterations.
_MAX_ITER = 400
#: Samples per period for the check that the unconstrained orbit stays in the box.
_INSIDE_SAMPLES = 201

Array = NDArray[np.float64]


class AffineBoxCycle:
    """The cycle's starts ``G0``, ``G_half``, its span and whether a gate was pinned."""

    __slots__ = ("G0", "G_half", "floquet", "saturated", "span")

    def __init__(self, G0: Array, G_half: Array, saturated: bool, floquet: NDArray) -> None:
        self.G0 = G0
        self.G_half = G_half
        self.span = float(np.linalg.norm(G_half - G0))
        self.saturated = saturated
        self.floquet = floquet


def _sampled(L: Array, z0: Array, ts: Array) -> Array:
    """``expm(L t) z0`` at every ``t`` of ``ts`` (S,) -> (S, k)."""
    E = scipy.linalg.expm(L[None] * ts[:, None, None])
    return (E @ z0)[:, :-1]


def _half(A: Array, c: Array, G: Array, h: float, lo: Array, hi: Array) -> tuple[Array, bool]:
    """The projected affine flow over ``h`` from ``G`` inside ``[lo, hi]``; and whether some
    gate was pinned on the way."""
    scale = max(1.0, float(np.max(np.abs(np.concatenate([lo, hi])))))
    ptol = _POS_RTOL * scale
    vscale = float(np.max(np.abs(A))) * scale + float(np.max(np.abs(c))) + 1.0
    vtol = 1e-12 * vscale
    G = np.clip(G, lo, hi)
    t, pinned_any = 0.0, False
    for _ in range(_MAX_PIECES):
        v = c - A @ G
        at_lo = (G - lo <= ptol) & (v <= vtol)
        at_hi = (hi - G <= ptol) & (v >= -vtol)
        pin = at_lo | at_hi
        G = np.where(at_lo, lo, np.where(at_hi, hi, G))
        pinned_any |= bool(np.any(pin))
        F = np.flatnonzero(~pin)
        rest = h - t
        if F.size == 0 or rest <= 0.0:
            return G, pinned_any
        k = F.size
        L = np.zeros((k + 1, k + 1))
        L[:k, :k] = -A[np.ix_(F, F)]
        L[:k, k] = c[F] - A[np.ix_(F, np.flatnonzero(pin))] @ G[pin]
        z0 = np.append(G[F], 1.0)

        def at(ts: Array, F: Any = F, L: Array = L, z0: Array = z0, G: Array = G) -> Array:
            out = np.repeat(G[None], ts.size, axis=0)
            out[:, F] = _sampled(L, z0, ts)
            return out

        def trigger(Gs: Array, pin: Any = pin, at_lo: Any = at_lo) -> Array:
            """Per sample the most negative event function (< 0: an event happened)."""
            vs = c[None] - Gs @ A.T
            f = (np.minimum(Gs - lo, hi - Gs) + ptol) / scale  # free gates: inside
            rel = (np.where(at_lo, -vs, vs) + vtol) / vscale  # pinned: velocity still outward
            f = np.where(pin[None], rel, f)
            return f.min(axis=1)

        ts = np.unique(
            np.concatenate(
                [np.linspace(0.0, rest, _EVENT_SAMPLES + 1)[1:], rest * np.geomspace(1e-9, 1, 32)]
            )
        )
        Gs = at(ts)
        f = trigger(Gs)
        bad = np.flatnonzero(f < 0.0)
        if bad.size == 0:
            return Gs[-1], pinned_any
        j = int(bad[0])
        a = 0.0 if j == 0 else float(ts[j - 1])
        te = brentq(lambda s: float(trigger(at(np.array([s])))[0]), a, float(ts[j]), xtol=1e-13 * h)
        G = at(np.array([te]))[0]
        t += te
    raise ConvergenceError(f"The flow in the gate box took more than {_MAX_PIECES} pieces in τ/2.")


def _period_map(As, cs, G: Array, h: float, lo: Array, hi: Array) -> tuple[Array, Array, bool]:
    Gh, s1 = _half(As[0], cs[0], G, h, lo, hi)
    G1, s2 = _half(As[1], cs[1], Gh, h, lo, hi)
    return G1, Gh, s1 or s2


def _jacobian(As, cs, G: Array, P: Array, h: float, lo: Array, hi: Array) -> Array:
    n = G.size
    D = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = _FD if G[i] + _FD <= hi[i] else -_FD
        D[:, i] = (_period_map(As, cs, G + e, h, lo, hi)[0] - P) / e[i]
    return D


def _inside(tasks, bias: AffineBias, fields: dict, h: float, lo: Array, hi: Array) -> bool:
    t = np.linspace(0.0, h, _INSIDE_SAMPLES // 2 + 1)
    for k, task in enumerate(tasks):
        G = affine_flow(task.M, task.G_star, fields["G_starts"][k], t, bias)
        if np.any(G < lo) or np.any(G > hi):
            return False
    return True


def affine_box_cycle(
    tasks: tuple[Any, Any], bias: AffineBias, tau: float, lo: Array, hi: Array, rate_tol: float
) -> AffineBoxCycle:
    """The attracting cycle of the two checked tasks under ``bias`` in the box at period
    ``tau``; ``ConvergenceError`` when the iteration finds none within its budget."""
    h = 0.5 * tau
    G_ref = 0.5 * (tasks[0].G_star + tasks[1].G_star)
    guess = G_ref
    try:
        with np.errstate(all="ignore"):
            fields = cycle_fields(tasks, bias, np.array([h, h]), G_ref, rate_tol)
        guess = fields["G_starts"][0]
        if np.all(np.isfinite(guess)) and _inside(tasks, bias, fields, h, lo, hi):
            s = fields["G_starts"]
            return AffineBoxCycle(s[0], s[1], False, np.asarray(fields["floquet"]))
    except (StabilityError, ArithmeticError, np.linalg.LinAlgError, ValueError):
        pass  # no stable unconstrained cycle: the box decides
    As = [t.M - bias.J for t in tasks]
    cs = [t.M @ t.G_star + bias.B0 - bias.J @ bias.G_ref for t in tasks]
    scale = max(1.0, float(np.max(np.abs(np.concatenate([lo, hi])))))
    G = np.clip(np.where(np.isfinite(guess), guess, G_ref), lo, hi)
    for it in range(_MAX_ITER):
        P, Gh, sat = _period_map(As, cs, G, h, lo, hi)
        r = P - G
        if np.linalg.norm(r) <= _FIX_RTOL * scale:
            D = _jacobian(As, cs, G, P, h, lo, hi)
            mult = np.linalg.eigvals(D)
            if np.max(np.abs(mult)) <= 1.0 + 1e-6:
                return AffineBoxCycle(G, Gh, sat, mult)
            G = np.clip(G + 1e-3 * scale * np.sign(r + 1e-300), lo, hi)  # leave a repeller
            continue
        if it % 2 == 0:  # a Newton step (accepted when it lowers the residual)
            D = _jacobian(As, cs, G, P, h, lo, hi)
            try:
                step = np.linalg.lstsq(D - np.eye(G.size), -r, rcond=None)[0]
            except np.linalg.LinAlgError:
                step = r
            trial = np.clip(G + step, lo, hi)
            Pt = _period_map(As, cs, trial, h, lo, hi)[0]
            if np.linalg.norm(Pt - trial) < np.linalg.norm(r):
                G = trial
                continue
        G = P
    raise ConvergenceError(
        f"No cycle of the state-dependent bias in the gate box at tau = {tau:.6g} s within "
        f"{_MAX_ITER} period maps."
    )
