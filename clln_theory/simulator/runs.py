"""Nonlinear reference simulator of Coupled Learning with bias, and its limit-cycle finder.

Twin free/clamped networks of nonlinear devices (any `Device`), discrete learning steps

    ΔG = t_h [A₀ (ΔV_F² − ΔV_C²) + B]                                              (7)

one data point per step (cycling the points of the active task), tasks alternating every τ/2,
gate clipping to [G_min, G_max], standard clamping (1), the classification hinge (Appendix A)
and overclamping (F5) with ``t_h = r₀|δ|``. A continuum mode integrates

    dG/dt = ⟨w_p [A₀ (ΔV_F,p² − ΔV_C,p²) + B]⟩_p,     w_p = t_p / t_h,               (5)

with `scipy.integrate.solve_ivp`. `limit_cycle` finds the periodic steady state by Newton
shooting on the period map (monodromy matrix by finite differences, Floquet multipliers), with
plain iteration as the fallback.

This module never imports the linear theory (``linear``, ``cycles``, ``linearize``,
``symbolic``): it is the independent check of it (DESIGN.md §2).

Engines
-------
``"general"``
    Any network: the damped Newton of `clln_theory.electrical.circuit` for the free and the clamped state
    of every step (warm-started from the previous step of the same point).
``"fast"``
    Networks whose free state has a single interior node, the output (the paper's 2+1 network):
    the current law at that node is solved in closed form (`LinearDevice`: linear; `OhmicMOSFET`:
    quadratic) or by a safeguarded scalar Newton (`ThreeRegimeMOSFET`) in plain ``math``, and the
    clamped state needs no solve at all. It gives the same answers as ``"general"`` to the solver
    tolerance (``tests/test_simulate.py``) at 20-100x the speed.
``"auto"`` (default) picks ``"fast"`` where it applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.integrate import solve_ivp

from ..electrical.circuit import (
    DEFAULT_ATOL_CURRENT,
    DEFAULT_RTOL_CURRENT,
    DEFAULT_TOL_STEP,
    CircuitSolver,
)
from ..electrical.rule import Clamping, learning_rate_A0
from ..errors import ConvergenceError, DeviceError, ProtocolError, ShapeError, TaskError
from ..metrics import task_error
from ..model.devices import LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET
from ..model.network import Network, _readonly
from ..model.tasks import Task

__all__ = [
    "DEFAULT_A0",
    "DEFAULT_T_H",
    "LimitCycle",
    "TrainingProtocol",
    "SimulatedTrajectory",
    "limit_cycle",
    "period_map",
    "simulate",
    "task_errors",
]

#: Hold time of one data point, seconds (paper, Experimental Methods: t_h = 100 µs).
DEFAULT_T_H = 100e-6
#: Relative tolerance deciding that τ/2 is a whole number of steps t_h (float round-off of
#: decimal τ such as 0.0126 s is ~1e-15 relative).
_STEP_RTOL = 1e-9


def _positive(v: Any, name: str, unit: str = "") -> float:
    """``v`` as a finite float > 0, or a `ProtocolError` naming the argument."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = math.nan
    if not (math.isfinite(x) and x > 0):
        raise ProtocolError(f"Argument `{name}` must be a finite number > 0{unit}, but is {v!r}.")
    return x


def _count(v: Any, name: str) -> int:
    """``v`` as an int >= 1, or a `ProtocolError` naming the argument."""
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ProtocolError(f"Argument `{name}` must be an integer >= 1, but is {v!r}.")
    return int(v)


#: Ideal A₀ of the Fig. 2 components (R₀ = 100 Ω, C₀ = 22 µF; Eq. (C1)), 1/(V s).
DEFAULT_A0 = learning_rate_A0(100.0, 22e-6)


@dataclass(frozen=True, slots=True)
class TrainingProtocol:
    """How the twin networks are clamped and how long each data point is held.

    Parameters
    ----------
    clamping : {"standard", "overclamp"}
        ``"standard"``: ``O_C = O_F + η δ`` (1)/(F1), hold time ``t_h``. ``"overclamp"``:
        ``O_C = O_F + η (L₀ sign δ − O_F)`` (F5), hold time ``r₀ |δ|``.
    eta : float
        Nudge amplitude η in (0, 1].
    t_h : float
        Nominal hold time of one data point, s (100 µs). The simulation clock advances by
        ``t_h`` per step in every protocol, so τ/2 must be a whole number of steps.
    A0 : float
        Learning-rate constant, 1/(V s) (use `learning_rate_A0`; include the measured factor r).
    L0 : float, optional
        Overclamping target magnitude, V (required for ``"overclamp"``; paper: L₀ = V₊).
    r0 : float, optional
        Overclamping: hold time per volt of error, s/V (``t_h = r₀ |δ|``). ``None`` (default)
        adapts it at every task switch so that the mean hold time over the active points of the
        new task equals ``t_h`` (the paper modifies r₀ "to keep the period approximately
        constant").

    Raises
    ------
    ProtocolError
        Unknown clamping (named), η outside (0, 1], non-positive t_h or A₀, missing L₀.

    Examples
    --------
    >>> TrainingProtocol().clamping, TrainingProtocol().t_h
    ('standard', 0.0001)
    >>> TrainingProtocol(clamping="overclamp", eta=0.25, L0=0.4351).L0
    0.4351
    >>> TrainingProtocol(clamping="soft")
    Traceback (most recent call last):
    ...
    clln_theory.errors.ProtocolError: Unknown clamping protocol 'soft'; use ...
    """

    clamping: Clamping = "standard"
    eta: float = 1.0
    t_h: float = DEFAULT_T_H
    A0: float = DEFAULT_A0
    L0: float | None = None
    r0: float | None = None

    def __post_init__(self) -> None:
        if self.clamping not in ("standard", "overclamp"):
            raise ProtocolError(
                f"Unknown clamping protocol {self.clamping!r}; use 'standard' or 'overclamp'."
            )
        eta = float(self.eta)
        if not (0.0 < eta <= 1.0):
            raise ProtocolError(f"Nudge amplitude `eta` must be in (0, 1], but is {eta!r}.")
        for name in ("t_h", "A0"):
            v = float(getattr(self, name))
            if not (np.isfinite(v) and v > 0):
                raise ProtocolError(
                    f"TrainingProtocol `{name}` must be finite and > 0, but is {v!r}."
                )
            object.__setattr__(self, name, v)
        object.__setattr__(self, "eta", eta)
        if self.clamping == "overclamp":
            if self.L0 is None or not (np.isfinite(self.L0) and self.L0 > 0):
                raise ProtocolError(
                    f"Overclamping needs a target magnitude `L0` > 0 (volts), but got {self.L0!r}."
                )
        if self.L0 is not None:
            object.__setattr__(self, "L0", float(self.L0))
        if self.r0 is not None:
            r0 = float(self.r0)
            if not (np.isfinite(r0) and r0 > 0):
                raise ProtocolError(
                    f"TrainingProtocol `r0` must be None or > 0 (s/V), but is {r0!r}."
                )
            object.__setattr__(self, "r0", r0)

    @property
    def overclamp(self) -> bool:
        """True for overclamping (F5)."""
        return self.clamping == "overclamp"


# ----------------------------------------------------------------------------- results
def task_errors(outputs: Any, task: Task) -> np.ndarray:
    """Task error (A1), or its hinge form (A2) for a classification task.

    Parameters
    ----------
    outputs : (..., n_points) array_like
        Free outputs ``O`` of the task's points, V.
    task : Task

    Returns
    -------
    E : (...) ndarray
        ``mean_i δ_i²`` (A1) or ``mean_i δ_i² Θ(L_i δ_i)`` (A2), V².

    Examples
    --------
    >>> from clln_theory.model.tasks import DataPoint, Task
    >>> t = Task([DataPoint({"a": 0.0}, 0.3), DataPoint({"a": 1.0}, -0.3)], "o",
    ...          kind="classification")
    >>> float(task_errors([0.5, -0.1], t))  # first point beyond its label: not counted
    0.02

    Raises
    ------
    ShapeError
        ``outputs`` does not end in an axis of the task's ``n_points``, or is not finite.
    """
    return np.asarray(task_error(outputs, task.labels, kind=task.kind))  # (A1)/(A2)


@dataclass(frozen=True, slots=True)
class SimulatedTrajectory:
    """A recorded simulation.

    Attributes
    ----------
    times : (n_samples,) ndarray
        Sample times, s (``t = 0`` is the start; a sample at ``t`` is taken after the steps
        ending at ``t``).
    G : (n_samples, n_gates) ndarray
        Gate voltages, V.
    outputs : tuple of (n_samples, n_points_k) ndarrays
        Free output of every point of task k at every sample, V.
    errors : (n_samples, n_tasks) ndarray
        Task errors (A1)/(A2) at every sample, V².
    active : (n_samples,) int ndarray
        Index of the task trained during the step that ended at the sample (that of the first
        step at ``t = 0``).
    task_names, gate_names : tuple of str
    tau : float
        Period, s.
    t_h : float
        Step, s.
    mode : {"discrete", "continuum"}
    engine : {"fast", "general"}
    n_steps : int
        Learning steps taken (0 in continuum mode).
    """

    times: np.ndarray
    G: np.ndarray
    outputs: tuple[np.ndarray, ...]
    errors: np.ndarray
    active: np.ndarray
    task_names: tuple[str, ...]
    gate_names: tuple[str, ...]
    tau: float
    t_h: float
    mode: str
    engine: str
    n_steps: int

    @property
    def G_final(self) -> np.ndarray:
        """Gate voltages at the last sample, ``(n_gates,)``."""
        return self.G[-1]

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.times.size)


@dataclass(frozen=True, slots=True)
class LimitCycle:
    """Periodic steady state of alternating two-task training.

    Attributes
    ----------
    G0 : (n_gates,) ndarray
        State at the start of task α on the cycle (the fixed point of the period map), V.
    G_half : (n_gates,) ndarray
        State at τ/2 (end of task α), V.
    D : float
        Cycle span ``|G(τ/2) − G(τ)|`` (4), V.
    Ebar : float
        Combined error ``(E(τ/2) + E(τ))/2`` with ``E = (E_α + E_β)/2`` (A3, A4), V².
    E_half, E_end : float
        ``E(τ/2)`` and ``E(τ)``, V².
    monodromy : (n_gates, n_gates) ndarray
        Jacobian of the period map at ``G0`` (finite differences).
    multipliers : (n_gates,) complex ndarray
        Floquet multipliers (eigenvalues of ``monodromy``), sorted by decreasing modulus.
    n_periods : int
        Period-map evaluations used in all (warm-up, Newton, finite differences, fallback).
    residual : float
        ``max |P(G0) − G0|``, V.
    method : {"shooting", "iterate"}
        The method that converged (``"iterate"`` also after a shooting fallback).
    converged : bool
    trajectory : SimulatedTrajectory
        One period from ``G0``, every step recorded (decimated to at most ``max_samples``).
    tau : float
    """

    G0: np.ndarray
    G_half: np.ndarray
    D: float
    Ebar: float
    E_half: float
    E_end: float
    monodromy: np.ndarray
    multipliers: np.ndarray
    n_periods: int
    residual: float
    method: str
    converged: bool
    trajectory: SimulatedTrajectory
    tau: float

    @property
    def span(self) -> float:
        """The cycle span ``D`` (4), under the name `clln_theory.theory.orbits.Orbit` uses."""
        return self.D


# ------------------------------------------------------------------------ validation
def _check_tasks(network: Network, tasks: Any) -> tuple[Task, ...]:
    if isinstance(tasks, Task):
        tasks = (tasks,)
    tasks = tuple(tasks)
    if len(tasks) not in (1, 2):
        raise TaskError(
            f"Argument `tasks` must hold one task (a drift test) or two alternating tasks, but "
            f"holds {len(tasks)}."
        )
    for t in tasks:
        if not isinstance(t, Task):
            raise TaskError(f"Every task must be a Task, but got {type(t).__name__}.")
        t.validate(network)
    return tasks


def _steps_per_half(tau: float, t_h: float) -> int:
    tau = float(tau)
    if not (np.isfinite(tau) and tau > 0):
        raise ProtocolError(f"Period `tau` must be finite and > 0 seconds, but is {tau!r}.")
    n = tau / (2.0 * t_h)
    k = round(n)
    if k < 1 or abs(n - k) > _STEP_RTOL * max(1.0, n):
        nearest = 2.0 * max(k, 1) * t_h
        raise ProtocolError(
            f"tau/2 = {tau / 2:.6g} s is not a whole number of learning steps t_h = {t_h:.6g} s; "
            f"the nearest valid tau is {nearest:.6g} s."
        )
    return int(k)


def _check_limits(gate_limits: Any, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    if gate_limits is None:
        return None
    lo, hi = gate_limits
    lo = np.broadcast_to(np.asarray(lo, dtype=float), (n,)).copy()
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (n,)).copy()
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo < hi)):
        raise ProtocolError(
            f"`gate_limits` must be (G_min, G_max) with finite G_min < G_max, but is "
            f"{gate_limits!r}."
        )
    return lo, hi


def _check_G0(network: Network, G0: Any, limits) -> np.ndarray:
    G0 = network.check_gates(G0)
    if G0.shape != (network.n_gates,):
        raise ShapeError(
            f"Argument `G0` must have shape ({network.n_gates},), but has shape {G0.shape}."
        )
    bad = np.flatnonzero(G0 <= network.V_T)
    if bad.size:
        j = int(bad[0])
        raise DeviceError(
            f"Gate of edge {network.gate_names[j]!r} starts at {G0[j]:.6g} V, at or below its "
            f"threshold V_T = {network.V_T[j]:.6g} V; start every gate above threshold."
        )
    if limits is not None:
        G0 = np.clip(G0, limits[0], limits[1])
    return G0.astype(float)


def _bias_function(B: Any, n: int) -> tuple[np.ndarray | None, Callable | None]:
    if callable(B):
        return None, B
    b = np.asarray(B, dtype=float)
    b = np.broadcast_to(b, (n,)).copy() if b.ndim == 0 else b
    if b.shape != (n,):
        raise ShapeError(
            f"Argument `B` must have shape ({n},) (one bias per gate) or be a callable of G, but "
            f"has shape {b.shape}."
        )
    if not np.all(np.isfinite(b)):
        raise ShapeError("Argument `B` must be finite, but contains NaN or inf.")
    return b, None


def _eval_bias(Bfun: Callable, G: np.ndarray, n: int) -> np.ndarray:
    b = np.asarray(Bfun(np.array(G, dtype=float)), dtype=float)
    if b.shape != (n,) or not np.all(np.isfinite(b)):
        raise ShapeError(
            f"The bias callable must return a finite array of shape ({n},), but returned shape "
            f"{b.shape}."
        )
    return b


# --------------------------------------------------------------------------- kernels
class _GeneralTask:
    """Free/clamped Newton solves of one task on any network."""

    def __init__(self, network: Network, task: Task) -> None:
        self.network, self.task = network, task
        self.free = CircuitSolver(network, task.input_nodes)
        self.clamped = CircuitSolver(network, task.input_nodes + task.output_nodes)
        self.out = [network.node(n) for n in task.output_nodes]
        self.diff = task.is_differential
        self.Vf: list[np.ndarray | None] = [None] * task.n_points
        self.Vc: list[np.ndarray | None] = [None] * task.n_points
        ge = network.gate_edges
        self.ta, self.hb = network.tail[ge], network.head[ge]

    def output(self, G: np.ndarray, p: int) -> tuple[float, np.ndarray]:
        sol = self.free.solve(G, self.task.inputs[p], self.Vf[p])
        V = sol.V
        self.Vf[p] = V
        O = V[self.out[0]] - V[self.out[1]] if self.diff else V[self.out[0]]
        return float(O), V

    def signal(self, G: np.ndarray, p: int, VF: np.ndarray, nudge: float) -> np.ndarray:
        """``ΔV_F² − ΔV_C²`` per gate for a clamped output moved by ``nudge``."""
        if self.diff:
            vals = [VF[self.out[0]] + 0.5 * nudge, VF[self.out[1]] - 0.5 * nudge]
        else:
            vals = [VF[self.out[0]] + nudge]
        guess = self.Vc[p] if self.Vc[p] is not None else VF
        sol = self.clamped.solve(G, np.concatenate([self.task.inputs[p], vals]), guess)
        self.Vc[p] = sol.V
        dF = VF[self.ta] - VF[self.hb]
        dC = sol.V[self.ta] - sol.V[self.hb]
        return dF * dF - dC * dC


_LN10 = math.log(10.0)


class _FastTask:
    """Single interior node (the output): closed-form or scalar-Newton current law in ``math``."""

    def __init__(
        self, network: Network, task: Task, tol_step: float, rtol: float, atol: float
    ) -> None:
        dev = network.device
        self.kind = (
            "linear"
            if type(dev) is LinearDevice
            else "ohmic"
            if type(dev) is OhmicMOSFET
            else "three"
        )
        if self.kind == "three":
            self.Vtr = float(dev.transition)
            self.n = float(dev.slope)
        self.tol_step, self.rtol, self.atol = tol_step, rtol, atol
        x = network.node(task.output_nodes[0])
        imp = {network.node(n): k for k, n in enumerate(task.input_nodes)}
        gate_of_edge = {int(e): j for j, e in enumerate(network.gate_edges)}
        self.points = []
        for p in range(task.n_points):
            vals = task.inputs[p]
            Ksum = 0.0
            Ku = 0.0
            gates = []
            lo, hi = math.inf, -math.inf
            for e, (a, b) in enumerate(zip(network.tail, network.head)):
                if a != x and b != x:
                    continue
                other = int(b if a == x else a)
                u = float(vals[imp[other]])
                lo, hi = min(lo, u), max(hi, u)
                if e in gate_of_edge:
                    j = gate_of_edge[e]
                    gates.append((j, u, float(network.S[j]), float(network.V_T[j])))
                else:
                    Ksum += float(network.K_fixed[e])
                    Ku += float(network.K_fixed[e]) * u
            self.points.append((Ksum, Ku, tuple(gates), lo, hi))
        self.x_prev = [None] * task.n_points

    def output(self, G: Sequence[float], p: int) -> float:
        Ksum, Ku, gates, lo, hi = self.points[p]
        if self.kind == "linear":
            num, den = Ku, Ksum
            for j, u, S, VT in gates:
                K = S * (G[j] - VT)
                num += K * u
                den += K
            return num / den
        if self.kind == "ohmic":
            return self._ohmic_root(G, Ksum, Ku, gates)
        # Three-regime device: where every gate edge is ohmic at the ohmic root, that root is the
        # exact answer (the two models coincide there); otherwise safeguarded scalar Newton.
        x = self._ohmic_root(G, Ksum, Ku, gates, strict=False)
        if x is not None and lo <= x <= hi:
            Vtr = self.Vtr
            for j, u, _S, VT in gates:
                Vov = G[j] - VT - (x if x < u else u)
                if Vov < Vtr or abs(u - x) >= Vov:
                    break
            else:
                return x
        x0 = self.x_prev[p]
        if x0 is None or not (lo <= x0 <= hi):
            x0 = x if (x is not None and lo <= x <= hi) else 0.5 * (lo + hi)
        x = self._newton(G, Ksum, Ku, gates, lo, hi, x0)
        self.x_prev[p] = x
        return x

    @staticmethod
    def _ohmic_root(G, Ksum, Ku, gates, strict: bool = True):
        """Root of Σ K (u − x) + Σ S [(G − V_T)(u − x) − (u² − x²)/2] = 0 inside [min u, max u].

        The current law with Eq. (2) devices is the quadratic ``a x² + b x + c = 0``; the
        physical root (current decreasing in x) is the smaller one, in the cancellation-free
        form ``2c / (−b + sqrt(b² − 4ac))``.
        """
        a = 0.0
        b = -Ksum
        c = Ku
        for j, u, S, VT in gates:
            ov = S * (G[j] - VT)
            a += 0.5 * S
            b -= ov
            c += ov * u - 0.5 * S * u * u
        if a == 0.0:
            return -c / b
        disc = b * b - 4.0 * a * c
        den = -b + math.sqrt(disc) if disc >= 0.0 else 0.0
        if den <= 0.0:
            if not strict:
                return None
            raise ConvergenceError(
                "The ohmic current law at the output node has no physical root (gates far below "
                "threshold); keep the gates above threshold."
            )
        return 2.0 * c / den

    def _newton(self, G, Ksum, Ku, gates, lo, hi, x) -> float:
        Vtr, n = self.Vtr, self.n
        for _ in range(100):
            h = Ku - Ksum * x  # net current into x
            dh = -Ksum
            scale = abs(Ku - Ksum * x)
            for j, u, S, VT in gates:
                if u >= x:
                    s, Vs, Vds = 1.0, x, u - x
                else:
                    s, Vs, Vds = -1.0, u, x - u
                Vov = G[j] - VT - Vs
                Vo = Vov if Vov >= Vtr else Vtr
                if Vds < Vo:
                    f = S * (Vo - 0.5 * Vds) * Vds
                    fov = S * Vds
                    fds = S * (Vo - Vds)
                else:
                    f = 0.5 * S * Vo * Vo
                    fov = S * Vo
                    fds = 0.0
                if Vov < Vtr:
                    g = 10.0 ** ((Vov - Vtr) / n)
                    f *= g
                    fov = f * _LN10 / n
                    fds *= g
                h += s * f
                dh -= (fov + fds) if s > 0 else fds
                if f > scale:
                    scale = f
            if h > 0.0:
                lo = x
            elif h < 0.0:
                hi = x
            else:
                return x
            if dh < 0.0:
                x_new = x - h / dh
                if not (lo < x_new < hi):
                    x_new = 0.5 * (lo + hi)
            else:
                x_new = 0.5 * (lo + hi)
            step = abs(x_new - x)
            x = x_new
            if step <= self.tol_step and abs(h) <= self.rtol * scale + self.atol:
                return x
            if hi - lo <= self.tol_step:
                return 0.5 * (lo + hi)
        raise ConvergenceError(
            f"Scalar Newton on the current law at the output node did not converge in 100 "
            f"iterations (residual {abs(h):.3g} A); check that the gates are in range."
        )


def _fast_applies(network: Network, tasks: Sequence[Task]) -> bool:
    if type(network.device) not in (LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET):
        return False
    for t in tasks:
        if t.is_differential:
            return False
        interior = set(network.nodes) - set(t.input_nodes)
        if interior != {t.output_nodes[0]}:
            return False
    return True


# --------------------------------------------------------------------------- runner
class _Runner:
    """Compiled simulation of one network, task pair and protocol (reused by `limit_cycle`)."""

    def __init__(
        self,
        network: Network,
        tasks: Any,
        *,
        tau: float,
        B: Any,
        protocol: TrainingProtocol | None,
        gate_limits: Any,
        engine: str,
        tol_step: float = DEFAULT_TOL_STEP,
        rtol_current: float = DEFAULT_RTOL_CURRENT,
        atol_current: float = DEFAULT_ATOL_CURRENT,
    ) -> None:
        # the shared boundary checks of simulate, period_map and limit_cycle
        protocol = TrainingProtocol() if protocol is None else protocol
        tasks = _check_tasks(network, tasks)
        if not isinstance(protocol, TrainingProtocol):
            raise ProtocolError(
                f"Argument `protocol` must be a TrainingProtocol, but is {type(protocol).__name__}."
            )
        if engine not in ("auto", "fast", "general"):
            raise ProtocolError(f"Unknown engine {engine!r}; use 'auto', 'fast' or 'general'.")
        fast_ok = _fast_applies(network, tasks)
        if engine == "fast" and not fast_ok:
            raise ProtocolError(
                "The 'fast' engine needs a single output node that is the only free node of "
                "every task, and a LinearDevice, OhmicMOSFET or ThreeRegimeMOSFET; use "
                "engine='general'."
            )
        self.engine = "fast" if (engine == "fast" or (engine == "auto" and fast_ok)) else "general"
        self.network, self.tasks, self.protocol = network, tasks, protocol
        self.n = network.n_gates
        self.tau = float(tau)
        self.n_half = _steps_per_half(tau, protocol.t_h)
        self.limits = _check_limits(gate_limits, self.n)
        self.B, self.Bfun = _bias_function(B, self.n)
        self.linear_device = isinstance(network.device, LinearDevice)
        if self.engine == "fast":
            self.kernels = [
                _FastTask(network, t, tol_step, rtol_current, atol_current) for t in tasks
            ]
        else:
            self.kernels = [_GeneralTask(network, t) for t in tasks]

    # -- helpers -------------------------------------------------------------------
    def task_of_half(self, h: int) -> int:
        return h % len(self.tasks)

    def outputs(self, G: np.ndarray, k: int) -> np.ndarray:
        ker = self.kernels[k]
        Gl = G.tolist() if self.engine == "fast" else G
        vals = []
        for p in range(self.tasks[k].n_points):
            vals.append(ker.output(Gl, p) if self.engine == "fast" else ker.output(Gl, p)[0])
        return np.array(vals)

    def _hinge(self, task: Task, p: int, O: float) -> bool:
        """True if point p is beyond its label in the label's direction (Appendix A)."""
        if task.kind != "classification":
            return False
        L = task.labels[p]
        return (O - L) * L > 0.0

    def _r0(self, G: np.ndarray, k: int) -> float:
        """Overclamping r₀ for task k: fixed, or adapted so the mean hold time is t_h."""
        prot = self.protocol
        if prot.r0 is not None:
            return prot.r0
        task = self.tasks[k]
        O = self.outputs(G, k)
        d = [
            abs(task.labels[p] - O[p])
            for p in range(task.n_points)
            if not self._hinge(task, p, O[p])
        ]
        tot = sum(d)
        return prot.t_h * len(d) / tot if tot > 0 else 0.0

    def _check_linear(self, G: np.ndarray, t: float) -> None:
        bad = np.flatnonzero(
            self.network.device.conductance(G, self.network.S, self.network.V_T) <= 0
        )
        if bad.size:
            j = int(bad[0])
            raise DeviceError(
                f"Gate of edge {self.network.gate_names[j]!r} fell to {G[j]:.6g} V, at or below "
                f"its threshold, at t = {t:.6g} s (linear device: conductance <= 0); add gate "
                "limits above V_T or reduce the bias."
            )

    # -- one half period -----------------------------------------------------------
    def half(self, G: np.ndarray, h: int, record: int, t0: float) -> tuple[np.ndarray, list, list]:
        """Run the steps of half period ``h`` from ``G``; samples every ``record`` steps.

        The stride counts steps from the start of the run (step ``h * n_half`` opens half
        period ``h``), so a stride longer than a half period still samples.
        """
        k = self.task_of_half(h)
        r0 = self._r0(G, k) if self.protocol.overclamp else 0.0
        offset = h * self.n_half
        if self.engine == "fast":
            return self._half_fast(G, k, r0, record, t0, offset)
        return self._half_general(G, k, r0, record, t0, offset)

    def _half_fast(self, G: np.ndarray, k: int, r0: float, record: int, t0: float, offset: int):
        prot = self.protocol
        ker = self.kernels[k]
        task = self.tasks[k]
        labels = task.labels.tolist()
        npts = task.n_points
        classif = task.kind == "classification"
        over = prot.overclamp
        eta, A0, t_h = prot.eta, prot.A0, prot.t_h
        L0 = prot.L0 if over else 0.0
        n = self.n
        Gl = G.tolist()
        Bl = self.B.tolist() if self.B is not None else None
        Bfun = self.Bfun
        if self.limits is not None:
            lo = self.limits[0].tolist()
            hi = self.limits[1].tolist()
        else:
            lo = hi = None
        points = ker.points
        out = ker.output
        rng = range(n)
        times: list[float] = []
        samples: list[list[float]] = []
        lin = self.linear_device
        for step in range(self.n_half):
            p = step % npts
            x = out(Gl, p)
            L = labels[p]
            delta = L - x
            hinge = classif and (x - L) * L > 0.0
            if over:
                if hinge or delta == 0.0:
                    tp = 0.0
                    xc = x
                else:
                    tp = r0 * abs(delta)
                    xc = x + eta * ((L0 if delta > 0 else -L0) - x)  # (F5)
            else:
                tp = t_h
                xc = x if hinge else x + eta * delta  # (1), hinge of App. A
            if tp != 0.0:
                b = Bl if Bfun is None else _eval_bias(Bfun, np.array(Gl), n).tolist()
                inc = [tp * b[j] for j in rng]
                c = tp * A0
                for j, u, _S, _VT in points[p][2]:
                    dF = u - x
                    dC = u - xc
                    inc[j] += c * (dF * dF - dC * dC)  # (7)
                for j in rng:
                    g = Gl[j] + inc[j]
                    if lo is not None:
                        if g < lo[j]:
                            g = lo[j]
                        elif g > hi[j]:
                            g = hi[j]
                    Gl[j] = g
                if lin:
                    for j, _u, _S, VT in points[p][2]:
                        if Gl[j] <= VT:
                            self._check_linear(np.array(Gl), t0 + (step + 1) * t_h)
            if record and (offset + step + 1) % record == 0:
                times.append(t0 + (step + 1) * t_h)
                samples.append(list(Gl))
        return np.array(Gl), times, samples

    def _half_general(self, G: np.ndarray, k: int, r0: float, record: int, t0: float, offset: int):
        prot = self.protocol
        ker = self.kernels[k]
        task = self.tasks[k]
        G = np.array(G, dtype=float)
        times: list[float] = []
        samples: list[np.ndarray] = []
        for step in range(self.n_half):
            p = step % task.n_points
            O, VF = ker.output(G, p)
            L = task.labels[p]
            delta = L - O
            hinge = self._hinge(task, p, O)
            if prot.overclamp:
                if hinge or delta == 0.0:
                    tp, nudge = 0.0, 0.0
                else:
                    tp = r0 * abs(delta)
                    nudge = prot.eta * (math.copysign(prot.L0, delta) - O)  # (F5)
            else:
                tp = prot.t_h
                nudge = 0.0 if hinge else prot.eta * delta  # (1), hinge of App. A
            if tp != 0.0:
                b = self.B if self.Bfun is None else _eval_bias(self.Bfun, G, self.n)
                s = ker.signal(G, p, VF, nudge) if nudge != 0.0 else 0.0
                G = G + tp * (prot.A0 * s + b)  # (7)
                if self.limits is not None:
                    G = np.clip(G, self.limits[0], self.limits[1])
                if self.linear_device:
                    self._check_linear(G, t0 + (step + 1) * prot.t_h)
            if record and (offset + step + 1) % record == 0:
                times.append(t0 + (step + 1) * prot.t_h)
                samples.append(G.copy())
        return G, times, samples

    # -- continuum ------------------------------------------------------------------
    def velocity(self, G: np.ndarray, k: int, r0: float) -> np.ndarray:
        """Right-hand side of the continuum dynamics for task k (mean over points)."""
        prot = self.protocol
        task = self.tasks[k]
        ker = self.kernels[k]
        b = self.B if self.Bfun is None else _eval_bias(self.Bfun, G, self.n)
        v = np.zeros(self.n)
        Gl = G.tolist()
        for p in range(task.n_points):
            if self.engine == "fast":
                O = ker.output(Gl, p)
                VF = None
            else:
                O, VF = ker.output(G, p)
            L = task.labels[p]
            delta = L - O
            hinge = self._hinge(task, p, O)
            if prot.overclamp:
                if hinge or delta == 0.0:
                    continue
                w = r0 * abs(delta) / prot.t_h
                nudge = prot.eta * (math.copysign(prot.L0, delta) - O)
            else:
                w = 1.0
                nudge = 0.0 if hinge else prot.eta * delta
            if nudge != 0.0:
                if self.engine == "fast":
                    s = np.zeros(self.n)
                    for j, u, _S, _VT in ker.points[p][2]:
                        s[j] = (u - O) ** 2 - (u - O - nudge) ** 2
                else:
                    s = ker.signal(G, p, VF, nudge)
                v += w * (prot.A0 * s + b)
            else:
                v += w * b
        v /= task.n_points
        if self.limits is not None:  # projected dynamics on the gate box
            v = np.where((G <= self.limits[0]) & (v < 0), 0.0, v)
            v = np.where((G >= self.limits[1]) & (v > 0), 0.0, v)
        return v

    def half_continuum(self, G, h, t0, t_eval, rtol, atol, method):
        k = self.task_of_half(h)
        r0 = self._r0(G, k) if self.protocol.overclamp else 0.0
        t1 = t0 + self.tau / 2.0

        def integrate(t_eval):
            sol = solve_ivp(
                lambda t, y: self.velocity(self._clip(y), k, r0),
                (t0, t1),
                G,
                method=method,
                t_eval=t_eval,
                rtol=rtol,
                atol=atol,
            )
            if not sol.success:
                raise ConvergenceError(
                    f"The continuum integration of half period {h} failed: {sol.message}; try "
                    "method='Radau' or the discrete mode."
                )
            return sol

        sol = integrate(t_eval)
        if sol.t.size and sol.t[-1] == t1:
            Gend = self._clip(sol.y[:, -1])
        else:  # t_eval did not include t1: integrate the end point alone
            Gend = self._clip(integrate(None).y[:, -1])
        return Gend, list(sol.t), [self._clip(y) for y in sol.y.T]

    def _clip(self, G: np.ndarray) -> np.ndarray:
        if self.limits is None:
            return np.asarray(G, dtype=float)
        return np.clip(G, self.limits[0], self.limits[1])

    # -- whole runs -----------------------------------------------------------------
    def run(self, G0: np.ndarray, n_halves: int, record: int, h0: int = 0):
        """Discrete run of ``n_halves`` half periods; returns ``(G, times, samples, active)``."""
        G = np.array(G0, dtype=float)
        times: list[float] = [h0 * self.n_half * self.protocol.t_h]
        samples: list[Any] = [G.copy()]
        active: list[int] = [self.task_of_half(h0)]
        for h in range(h0, h0 + n_halves):
            t0 = h * self.n_half * self.protocol.t_h
            G, ts, ss = self.half(G, h, record, t0)
            times.extend(ts)
            samples.extend(ss)
            active.extend([self.task_of_half(h)] * len(ts))
        t_end = (h0 + n_halves) * self.n_half * self.protocol.t_h
        if (
            record
            and n_halves
            and not np.isclose(times[-1], t_end, rtol=0, atol=1e-3 * self.protocol.t_h)
        ):
            # a recorded run always ends with its final state, whatever the stride
            times.append(t_end)
            samples.append(np.array(G, dtype=float))
            active.append(self.task_of_half(h0 + n_halves - 1))
        return G, times, samples, active

    def period(self, G: np.ndarray) -> np.ndarray:
        """The period map: state after one full period (two half periods) from task α."""
        return self.run(G, 2, 0)[0]

    def trajectory(self, times, samples, active, mode: str) -> SimulatedTrajectory:
        G = np.array([np.asarray(s, dtype=float) for s in samples])
        outs = []
        for k in range(len(self.tasks)):
            outs.append(np.array([self.outputs(g, k) for g in G]).reshape(len(G), -1))
        errs = np.stack([task_errors(o, t) for o, t in zip(outs, self.tasks)], axis=-1)
        return SimulatedTrajectory(
            times=_readonly(times, float),
            G=_readonly(G, float),
            outputs=tuple(_readonly(o, float) for o in outs),
            errors=_readonly(errs, float),
            active=np.array(active, dtype=int),
            task_names=tuple(t.name or f"task{i}" for i, t in enumerate(self.tasks)),
            gate_names=self.network.gate_names,
            tau=self.tau,
            t_h=self.protocol.t_h,
            mode=mode,
            engine=self.engine,
            n_steps=(len(times) and round((times[-1] - times[0]) / self.protocol.t_h))
            if mode == "discrete"
            else 0,
        )


def _record_stride(record: Any, n_half: int) -> int:
    if record == "half":
        return n_half
    if record == "step":
        return 1
    if isinstance(record, int | np.integer) and not isinstance(record, bool) and record >= 1:
        return int(record)
    raise ProtocolError(
        f"Argument `record` must be 'half', 'step' or a positive number of steps, but is "
        f"{record!r}."
    )


def simulate(
    network: Network,
    tasks: Task | Sequence[Task],
    G0: Any,
    *,
    tau: float,
    n_periods: float,
    B: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[Any, Any] | None = (1.0, 5.0),
    record: Literal["half", "step"] | int = "half",
    mode: Literal["discrete", "continuum"] = "discrete",
    engine: Literal["auto", "fast", "general"] = "auto",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "RK45",
) -> SimulatedTrajectory:
    """Train a network of nonlinear devices on alternating tasks with biased Coupled Learning.

    Parameters
    ----------
    network : Network
        Any device (`ThreeRegimeMOSFET` for the experiment, `LinearDevice` to compare with the
        theory).
    tasks : Task or sequence of one or two Tasks
        Two tasks alternate every τ/2 starting with ``tasks[0]`` (task α); a single task is
        trained alone (a drift test).
    G0 : (n_gates,) array_like
        Initial gates, V; every gate must be above its threshold ``V_T``.
    tau : float
        Period τ, s. In discrete mode τ/2 must be a whole number of steps ``t_h``.
    n_periods : float
        Duration in periods; a multiple of 1/2 (whole half periods).
    B : (n_gates,) array_like or callable
        Bias per gate, V/s, or a function ``B(G) -> (n_gates,)`` of the state.
    protocol : TrainingProtocol, optional
        Clamping and rates (default ``TrainingProtocol()``: standard clamping, η = 1, t_h = 100 µs,
        the ideal A₀ of Eq. (C1)).
    gate_limits : (G_min, G_max) or None
        Gate box, V (scalars or per-gate arrays); gates are clipped after every step. ``None``:
        no limits.
    record : "half", "step" or int
        Sample at every task switch (default), every step, or every ``record`` steps counted
        from the start of the run (discrete mode; the continuum mode samples at the same times,
        at least once per half period). The final state is always the last sample.
    mode : {"discrete", "continuum"}
        Discrete steps (7), or the ODE (5) integrated by `solve_ivp` over each half period.
    engine : {"auto", "fast", "general"}
        See the module notes.
    rtol, atol, method
        `solve_ivp` settings of the continuum mode.

    Returns
    -------
    SimulatedTrajectory

    Raises
    ------
    ProtocolError
        τ/2 not a whole number of steps (names the nearest valid τ), unknown protocol, engine or
        record.
    DeviceError
        A gate at or below threshold at the start (names the edge), or a linear device's gate
        falling below threshold during the run.
    TaskError, ShapeError, NetworkError
        Malformed tasks, ``G0`` or ``B``.
    ConvergenceError
        A circuit solve failed (names the node and its residual).

    Notes
    -----
    Discrete mode, one step per data point, points of the active task cycled in order from the
    start of each half period: free state at the current ``G``; error ``δ = L − O_F``; clamped
    output ``O_F + η δ`` (1) (standard), ``O_F`` if the point is beyond its label in the label's
    direction (classification hinge, Appendix A), or ``O_F + η (L₀ sign δ − O_F)`` (F5) with
    hold time ``r₀ |δ|`` (overclamping; hinge points are skipped, hold time 0). Differential
    outputs move ``O₊`` by half the nudge and ``O₋`` by minus half. Then
    ``ΔG = t_p [A₀ (ΔV_F² − ΔV_C²) + B]`` (7) and clipping to the gate box. Cost per step: one
    free and one clamped Newton solve (general engine) or one scalar solve (fast engine).

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import ThreeRegimeMOSFET
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network(device=ThreeRegimeMOSFET())
    >>> a, b = experiment_tasks("exp1")
    >>> tr = simulate(net, [a, b], [3.0, 3.5], tau=0.02, n_periods=5, B=[2.97, 4.41],
    ...               protocol=TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0)))
    >>> tr.G.shape, tr.engine
    ((11, 2), 'fast')
    """
    runner = _Runner(
        network, tasks, tau=tau, B=B, protocol=protocol, gate_limits=gate_limits, engine=engine
    )
    G0 = _check_G0(network, G0, runner.limits)
    n_halves = 2.0 * float(n_periods)
    if not (np.isfinite(n_halves) and n_halves >= 0 and abs(n_halves - round(n_halves)) < 1e-9):
        raise ProtocolError(
            f"Argument `n_periods` must be a non-negative multiple of 1/2, but is {n_periods!r}."
        )
    n_halves_i = round(n_halves)
    stride = _record_stride(record, runner.n_half)
    if mode == "continuum":
        rtol, atol = _positive(rtol, "rtol"), _positive(atol, "atol", " (volts)")
    if mode == "discrete":
        _, times, samples, active = runner.run(G0, n_halves_i, stride)
        return runner.trajectory(times, samples, active, "discrete")
    if mode != "continuum":
        raise ProtocolError(f"Unknown mode {mode!r}; use 'discrete' or 'continuum'.")
    G = G0.copy()
    times, samples, active = [0.0], [G.copy()], [0]
    dt = stride * runner.protocol.t_h
    for h in range(n_halves_i):
        t0 = h * tau / 2.0
        n_s = max(1, round((tau / 2.0) / dt))
        t_eval = t0 + dt * np.arange(1, n_s + 1)
        t_eval[-1] = t0 + tau / 2.0
        G, ts, ss = runner.half_continuum(G, h, t0, t_eval, rtol, atol, method)
        times.extend(ts)
        samples.extend(ss)
        active.extend([runner.task_of_half(h)] * len(ts))
    return runner.trajectory(times, samples, active, "continuum")


def period_map(
    network: Network,
    task_a: Task,
    task_b: Task,
    G: Any,
    *,
    tau: float,
    B: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[Any, Any] | None = (1.0, 5.0),
    engine: Literal["auto", "fast", "general"] = "auto",
) -> np.ndarray:
    """State after one period (τ/2 of task α, then τ/2 of task β) from ``G``.

    Parameters
    ----------
    network, task_a, task_b, tau, B, protocol, gate_limits, engine
        As in `simulate`.
    G : (n_gates,) array_like
        State at the start of task α, V.

    Returns
    -------
    G_next : (n_gates,) ndarray
    """
    pair = (task_a, task_b)
    runner = _Runner(
        network, pair, tau=tau, B=B, protocol=protocol, gate_limits=gate_limits, engine=engine
    )
    return runner.period(_check_G0(network, G, runner.limits))


def limit_cycle(
    network: Network,
    task_a: Task,
    task_b: Task,
    *,
    tau: float,
    B: Any,
    protocol: TrainingProtocol | None = None,
    gate_limits: tuple[Any, Any] | None = (1.0, 5.0),
    G0: Any = None,
    method: Literal["shooting", "iterate"] = "shooting",
    tol: float = 1e-10,
    max_periods: int = 200_000,
    fd_step: float = 1e-7,
    engine: Literal["auto", "fast", "general"] = "auto",
    max_samples: int = 4000,
) -> LimitCycle:
    """Periodic steady state of the discrete dynamics, alternating ``task_a`` and ``task_b``.

    Parameters
    ----------
    network, tau, B, protocol, gate_limits, engine
        As in `simulate`.
    task_a, task_b : Task
        Task α (trained first in each period) and task β.
    G0 : (n_gates,) array_like, optional
        Starting guess; default the centre of the gate box (required without gate limits).
    method : {"shooting", "iterate"}
        Newton shooting on ``R(G) = P(G) − G`` (monodromy by forward differences), falling back
        to iteration if Newton fails; or plain iteration ``G ← P(G)``.
    tol : float
        Converged when ``max |P(G) − G| <= tol`` (volts). The default 1e-10 V is ~1e-8 of the
        smallest measured span (D ~ 5e-3 V at τ = 0.6 ms).
    max_periods : int
        Budget of period-map evaluations.
    fd_step : float
        Finite-difference step for the monodromy, V. ~sqrt(eps) times the gate scale (1-5 V)
        balances truncation and round-off.
    max_samples : int
        The one-period trajectory is recorded every step, decimated to at most this many samples.

    Returns
    -------
    LimitCycle

    Raises
    ------
    ConvergenceError
        Neither shooting nor iteration reached ``tol`` within ``max_periods`` (gives the
        residual reached).
    ProtocolError, DeviceError, TaskError, ShapeError
        As in `simulate`.

    Notes
    -----
    Shooting: two warm-up periods, then Newton steps ``ΔG = −(Φ − I)⁻¹ R`` with the monodromy
    ``Φ = ∂P/∂G`` from n forward differences (n + 1 periods per iteration), halving the step
    while ``|R|`` does not decrease. Near a slowly contracting cycle (Floquet multiplier
    ``1 − ε``) iteration needs ~``log(tol)/log(1 − ε)`` periods, shooting a handful. The period
    map is only piecewise smooth where the gates touch the box; Newton still converges there
    (the clipped directions have multiplier 0), and the iteration fallback covers the rest.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.model.devices import ThreeRegimeMOSFET
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> net = star_network(device=ThreeRegimeMOSFET())
    >>> a, b = experiment_tasks("exp1")
    >>> lc = limit_cycle(net, a, b, tau=0.02, B=[2.97, 4.41],
    ...                  protocol=TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0)))
    >>> lc.converged, lc.residual <= 1e-10, bool(abs(lc.multipliers[0]) < 1)
    (True, True, True)
    """
    pair = (task_a, task_b)
    runner = _Runner(
        network, pair, tau=tau, B=B, protocol=protocol, gate_limits=gate_limits, engine=engine
    )
    if G0 is None:
        if runner.limits is None:
            raise ProtocolError("Without gate limits `G0` is required (no box centre to start).")
        G0 = 0.5 * (runner.limits[0] + runner.limits[1])
    G = _check_G0(network, G0, runner.limits)
    if method not in ("shooting", "iterate"):
        raise ProtocolError(f"Unknown limit-cycle method {method!r}; use 'shooting' or 'iterate'.")
    tol = _positive(tol, "tol", " (volts)")
    fd_step = _positive(fd_step, "fd_step", " (volts)")
    max_periods = _count(max_periods, "max_periods")
    max_samples = _count(max_samples, "max_samples")
    n = network.n_gates
    count = 0

    def P(g: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        return runner.period(g)

    def monodromy(g: np.ndarray, Pg: np.ndarray) -> np.ndarray:
        J = np.empty((n, n))
        for j in range(n):
            e = np.zeros(n)
            h = fd_step * max(1.0, abs(g[j]))
            if runner.limits is not None and g[j] + h > runner.limits[1][j]:
                h = -h  # stay inside the box
            e[j] = h
            J[:, j] = (P(g + e) - Pg) / h
        return J

    used = method
    converged = False
    J = None
    if method == "shooting":
        PG = P(G)
        for _ in range(1):  # warm-up
            G, PG = PG, P(PG)
        R = PG - G
        res = float(np.max(np.abs(R)))
        for _ in range(50):
            if res <= tol:
                converged = True
                break
            if count + n + 2 > max_periods:
                break
            J = monodromy(G, PG)
            try:
                dG = -np.linalg.solve(J - np.eye(n), R)
            except np.linalg.LinAlgError:
                break
            lam = 1.0
            improved = False
            for _ in range(12):
                Gt = G + lam * dG
                if runner.limits is not None:
                    Gt = np.clip(Gt, runner.limits[0], runner.limits[1])
                PGt = P(Gt)
                rt = float(np.max(np.abs(PGt - Gt)))
                if rt < res:
                    G, PG, R, res = Gt, PGt, PGt - Gt, rt
                    improved = True
                    break
                lam *= 0.5
            if not improved:
                break
        if not converged:
            used = "iterate"
    if not converged:
        PG = P(G)
        res = float(np.max(np.abs(PG - G)))
        while res > tol and count < max_periods:
            G = PG
            PG = P(G)
            res = float(np.max(np.abs(PG - G)))
        converged = res <= tol
        if not converged:
            raise ConvergenceError(
                f"The limit cycle at tau = {tau:.6g} s was not found within {max_periods} periods: "
                f"the period-map residual is still {res:.3g} V (tol {tol:.3g} V); raise "
                "`max_periods` or loosen `tol`."
            )
    J = monodromy(G, PG)
    mult = np.linalg.eigvals(J)
    mult = mult[np.argsort(-np.abs(mult))]
    stride = max(1, math.ceil(2 * runner.n_half / max_samples))
    _, times, samples, active = runner.run(G, 2, 1)
    # decimate, always keeping t = τ/2 and t = τ
    keep = sorted(set(range(0, len(times), stride)) | {runner.n_half, 2 * runner.n_half})
    traj = runner.trajectory(
        [times[i] for i in keep], [samples[i] for i in keep], [active[i] for i in keep], "discrete"
    )
    G_half = np.asarray(samples[runner.n_half], dtype=float)
    G_end = np.asarray(samples[2 * runner.n_half], dtype=float)
    E = [  # (A3): E = (E_alpha + E_beta) / 2 at tau/2 and at tau
        0.5 * sum(float(task_errors(runner.outputs(g, k), t)) for k, t in enumerate(runner.tasks))
        for g in (G_half, G_end)
    ]
    return LimitCycle(
        G0=_readonly(G, float),
        G_half=_readonly(G_half, float),
        D=float(np.linalg.norm(G_half - G_end)),  # (4)
        Ebar=0.5 * (E[0] + E[1]),  # (A4)
        E_half=E[0],
        E_end=E[1],
        monodromy=_readonly(J, float),
        multipliers=np.array(mult),
        n_periods=count,
        residual=res,
        method=used,
        converged=converged,
        trajectory=traj,
        tau=float(tau),
    )
