"""The training protocol of the simulator and the checks of its schedule.

`TrainingProtocol` says how the twin networks are clamped (the rule of
`clln_theory.electrical.clamping`), how long a data point is held and how fast the gates learn. The
functions below turn the arguments of `clln_theory.simulator.simulate`, `period_map` and
`limit_cycle` into the checked objects the step kernels use: the tasks, the number of steps per
half period (τ/2 must be a whole number of steps ``t_h``), the gate box, the initial gates and
the bias.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import count, number, positive, real_array, validator
from ..electrical._clamping import nudge_points, point_rule
from ..electrical.clamping import Clamping, check_clamping, check_eta
from ..errors import ArgumentError, DeviceError, ProtocolError, ShapeError, TaskError
from ..model.network import Network
from ..model.tasks import Task

__all__ = [
    "StepNoise",
    "TrainingProtocol",
]

#: Hold time of one data point, seconds (paper, Experimental Methods: t_h = 100 µs).
_T_H = 100e-6
#: Relative tolerance deciding that τ/2 is a whole number of steps t_h (float round-off of
#: decimal τ such as 0.0126 s is ~1e-15 relative).
STEP_RTOL = 1e-9
#: Largest number of learning steps of one run (and of one half period): the paper's longest
#: runs are ~1e7 steps; 1e9 steps take from ~20 minutes (fast engine) to hours, so more is
#: refused before the run starts rather than left to run for days.
MAX_STEPS = 1_000_000_000
#: Largest number of recorded gate values of one run (samples x gates): 1e8 float64 values are
#: 800 MB; a longer recording must be decimated (``record``).
MAX_RECORD_VALUES = 100_000_000
#: Ideal A₀ of the Fig. 2 components (R₀ = 100 Ω, C₀ = 22 µF; Eq. (C1)), 1/(V s):
#: ``learning_rate_A0(100.0, 22e-6)`` = 1 / (0.33 V · 100 Ω · 22 µF), the same expression.
_A0 = 1.0 / (0.33 * 100.0 * 22e-6)
#: Relative asymmetry and negative eigenvalue (of the largest) up to which an ``update_noise``
#: matrix counts as symmetric positive semi-definite: ~1e4 ulp, round-off of a Q computed as
#: ``L Lᵀ`` or read from a file, far below a real negative direction.
_PSD_TOL = 1e-12


@dataclass(frozen=True, slots=True)
class TrainingProtocol:
    """How the twin networks are clamped and how long each data point is held.

    Parameters
    ----------
    clamping : {"standard", "overclamp"}
        ``"standard"``: ``O_C = O_F + η δ`` (1)/(F1), hold time ``t_h``. ``"overclamp"``:
        ``O_C = O_F + η (L₀ sign δ − O_F)`` (F5), hold time ``r₀ |δ|``.
    eta : float
        Nudge amplitude η in (0, 1]; default 1.
    t_h : float
        Nominal hold time of one data point, s; default 100e-6 (100 µs, the paper's
        Experimental Methods). The simulation clock advances by
        ``t_h`` per step in every protocol, so τ/2 must be a whole number of steps.
    A0 : float
        Learning-rate constant, 1/(V s) (use `learning_rate_A0`; include the measured factor r);
        default ``learning_rate_A0(100.0, 22e-6)`` ≈ 1377.4, the ideal A₀ of Eq. (C1).
    L0 : float, optional
        Overclamping target magnitude, V (required for ``"overclamp"``; paper: L₀ = V₊).
    r0 : float, optional
        Overclamping: hold time per volt of error, s/V (``t_h = r₀ |δ|``). ``None`` (default)
        adapts it at every task switch so that the mean hold time over the active points of the
        new task equals ``t_h`` (the paper modifies r₀ "to keep the period approximately
        constant").
    update_noise : float, (n,) or (n, n) array_like, optional
        Update noise ``dW`` with ``E[dW dWᵀ] = Q dt``, Q in V²/s: a scalar (the same σ² on every
        learning edge), per-edge variances σ² (n,) (diagonal Q) or a symmetric positive
        semi-definite Q (n, n). Every step (clock time ``t_h``) adds ``sqrt(t_h) L ξ`` with
        ``Q = L Lᵀ`` and ξ standard normal, then clips to the gate box. Default None: off.
    voltage_noise : float, optional
        Node-voltage measurement noise, V (standard deviation): every node voltage of the free
        and of the clamped state is read with independent Gaussian noise before the edge drops
        enter ``ΔV_F² − ΔV_C²`` of (7) (the nudge itself uses the true output). Default 0: off.

    Raises
    ------
    ArgumentError
        Unknown clamping (named), η outside (0, 1], a non-positive t_h, A₀ or r₀, or a missing
        L₀ for overclamping.

    Examples
    --------
    >>> TrainingProtocol().clamping, TrainingProtocol().t_h
    ('standard', 0.0001)
    >>> TrainingProtocol(clamping="overclamp", eta=0.25, L0=0.4351).L0
    0.4351
    >>> TrainingProtocol(clamping="soft")
    Traceback (most recent call last):
    ...
    clln_theory.errors.ArgumentError: Argument `clamping` must be one of 'standard', ...
    """

    clamping: Clamping = "standard"
    eta: float = 1.0
    t_h: float = _T_H
    A0: float = _A0
    L0: float | None = None
    r0: float | None = None
    update_noise: Any = None
    voltage_noise: float = 0.0

    def __post_init__(self) -> None:
        clamping, L0 = check_clamping(self.clamping, self.L0)
        set_ = object.__setattr__
        set_(self, "clamping", clamping)
        set_(self, "L0", L0)
        set_(self, "eta", check_eta(self.eta))
        set_(self, "t_h", positive(self.t_h, "t_h", unit="s"))
        set_(self, "A0", positive(self.A0, "A0", unit="1/(V s)"))
        if self.r0 is not None:
            set_(self, "r0", positive(self.r0, "r0", unit="s/V"))
        set_(self, "voltage_noise", number(self.voltage_noise, "voltage_noise", low=0.0))
        if self.update_noise is not None:
            set_(self, "update_noise", check_update_noise(self.update_noise))

    @property
    def noisy(self) -> bool:
        """True when update or node-voltage noise is on."""
        return self.update_noise is not None or self.voltage_noise > 0.0

    @property
    def overclamp(self) -> bool:
        """True for overclamping (F5)."""
        return self.clamping == "overclamp"

    def point_rule(self, task: Task) -> Callable[[float, float], tuple[float, float]]:
        """The nudge of one point of ``task`` under this protocol (`point_nudge`).

        Parameters
        ----------
        task : Task
            Its kind decides whether the classification hinge applies.

        Returns
        -------
        callable
            ``f(O_F, L) -> (shift, weight)``; for a multi-output task ``O_F``, ``L`` and
            ``shift`` are arrays (one entry per target, each nudged on its own error by the
            array form `clln_theory.electrical.clamping.nudge`) and the weight is 1.

        Raises
        ------
        TaskError
            Overclamping a multi-output task.
        """
        if task.is_multi_output:
            if self.overclamp:
                raise TaskError(
                    f"Task {task.name!r} has {task.n_outputs} targets, but overclamping sets one "
                    "hold time r0 |delta| per point from a single error; use standard clamping."
                )
            eta, classification = self.eta, task.kind == "classification"

            def targets(O_F: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, float]:
                O_C = nudge_points(O_F, L, eta, "standard", None, classification)[0]  # (1), A
                return O_C - O_F, 1.0

            return targets  # type: ignore[return-value]  # arrays per target, documented above
        return point_rule(self.eta, self.clamping, self.L0, task.kind == "classification")


def check_update_noise(value: Any) -> float | tuple:
    """The ``update_noise`` of a `TrainingProtocol`: a variance >= 0 (V²/s), per-edge variances
    (n,) >= 0, or a symmetric positive semi-definite (n, n) Q, as nested tuples.

    Parameters
    ----------
    value : float, (n,) or (n, n) array_like
        The field's value.

    Returns
    -------
    float or tuple

    Raises
    ------
    ArgumentError
        Not real and finite (booleans refused), negative, another shape, or a matrix that is not
        symmetric positive semi-definite (names ``update_noise``).
    """
    if isinstance(value, bool | np.bool_):
        raise ArgumentError(f"Argument `update_noise` must be a variance in V²/s, but is {value}.")
    q = real_array(value, "update_noise")
    if q.dtype.kind == "b" or q.ndim > 2 or (q.ndim == 2 and q.shape[0] != q.shape[1]):
        raise ArgumentError(
            "Argument `update_noise` must be a scalar, (n,) variances or a square Q "
            f"(n, n) in V²/s, but has shape {q.shape}."
        )
    if q.ndim < 2 and np.any(q < 0):
        raise ArgumentError(f"Argument `update_noise` must be >= 0, but is {q!r} V²/s.")
    if q.ndim == 2 and q.size:
        asym = float(np.max(np.abs(q - q.T)))
        lam = np.linalg.eigvalsh(0.5 * q + 0.5 * q.T)  # halves first: no overflow near 1e308
        bad = not np.all(np.isfinite(lam)) or lam[0] < -_PSD_TOL * max(lam[-1], 0.0)
        if asym > _PSD_TOL * np.max(np.abs(q)) or bad:
            raise ArgumentError(
                "Argument `update_noise` must be symmetric positive semi-definite (V²/s), "
                f"but has asymmetry {asym:.3g} and smallest eigenvalue {lam[0]:.3g}."
            )
    # tuples keep the frozen dataclass comparable and hashable
    return tuple(map(tuple, q)) if q.ndim == 2 else (tuple(q) if q.ndim else float(q))


@validator
def check_seed(seed: Any, name: str = "seed") -> Any:
    """``seed`` if `numpy.random.default_rng` takes it: None, an integer >= 0, a
    `numpy.random.SeedSequence` or a `numpy.random.Generator`.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        The seed of a run's noise.
    name : str
        The argument's name, for counting.

    Returns
    -------
    int, SeedSequence, Generator or None

    Raises
    ------
    ArgumentError
        Anything else (a negative integer, a bool, a float, a string).
    """
    if seed is None or isinstance(seed, np.random.SeedSequence | np.random.Generator):
        return seed
    return count(seed, name, minimum=0)


@validator
def check_protocol(protocol: Any, name: str = "protocol") -> TrainingProtocol:
    """``protocol`` itself, or the default `TrainingProtocol` for None.

    Parameters
    ----------
    protocol : TrainingProtocol or None
        The protocol argument of a simulator entry point.
    name : str
        The argument's name, for counting (`clln_theory._checks.count_validations`).

    Returns
    -------
    TrainingProtocol

    Raises
    ------
    ArgumentError
        Anything else (a clamping string, for example).
    """
    if protocol is None:
        return TrainingProtocol()
    if not isinstance(protocol, TrainingProtocol):
        raise ArgumentError(
            f"Argument `protocol` must be a TrainingProtocol, but is {type(protocol).__name__}."
        )
    return protocol


@validator
def check_tasks(network: Network, tasks: Any, name: str = "tasks") -> tuple[Task, ...]:
    """One task (a drift test) or two alternating tasks, each checked against ``network``.

    Parameters
    ----------
    network : Network
        The trained network.
    tasks : Task or sequence of Task
        The tasks argument of a simulator entry point.

    Returns
    -------
    tuple of Task

    Raises
    ------
    ArgumentError
        Not one or two tasks, or not a `Task`.
    NetworkError
        A task inconsistent with ``network`` (unknown or floating nodes, named).
    """
    if isinstance(tasks, Task):
        tasks = (tasks,)
    if isinstance(tasks, str | bytes) or not isinstance(tasks, Iterable):
        raise ArgumentError(
            f"Argument `{name}` must be a Task or a sequence of one or two tasks, but is "
            f"{type(tasks).__name__}."
        )
    tasks = tuple(tasks)
    if len(tasks) not in (1, 2):
        raise ArgumentError(
            f"Argument `{name}` must hold one task (a drift test) or two alternating tasks, but "
            f"holds {len(tasks)}."
        )
    for k, t in enumerate(tasks):
        if not isinstance(t, Task):
            raise ArgumentError(
                f"Argument `{name}`: item {k} must be a Task, but is {type(t).__name__}."
            )
        t.validate(network)
    return tasks


@validator
def steps_per_half(tau: Any, t_h: float, name: str = "tau") -> tuple[float, int]:
    """The number of learning steps in τ/2.

    Parameters
    ----------
    tau : float
        Period τ, s.
    t_h : float
        Step (hold time of one data point), s.

    Returns
    -------
    tau : float
        τ, s.
    n_half : int
        ``τ / (2 t_h)``, a whole number >= 1.

    Raises
    ------
    ArgumentError
        ``tau`` not a finite number > 0, or τ/2 more than `MAX_STEPS` steps.
    ProtocolError
        τ/2 is not a whole number of steps; the message names the nearest valid τ.
    """
    tau = positive(tau, "tau", unit="s")
    n = tau / (2.0 * t_h)
    if n > MAX_STEPS:
        raise ArgumentError(
            f"Argument `tau` = {tau:.6g} s holds {n:.3g} steps t_h per half period, more than "
            f"MAX_STEPS = {MAX_STEPS}."
        )
    k = round(n)
    if k < 1 or abs(n - k) > STEP_RTOL * max(1.0, n):
        nearest = 2.0 * max(k, 1) * t_h
        raise ProtocolError(
            f"tau/2 = {tau / 2:.6g} s is not a whole number of learning steps t_h = {t_h:.6g} s; "
            f"the nearest valid tau is {nearest:.6g} s."
        )
    return tau, int(k)


def snapped_steps(
    tau: float, shares: tuple[float, ...], t_h: float
) -> tuple[float, tuple[int, ...]]:
    """The period nearest ``tau`` (s) that trains each task a whole number of steps ``t_h``:
    task ``k`` for ``max(1, round(shares[k] * tau / t_h))`` steps, and the snapped period
    ``t_h`` times their sum (checked values: ``tau``, ``t_h`` > 0, ``shares`` > 0 summing to 1).
    With two equal shares it is the nearest valid τ that `steps_per_half` names."""
    steps = tuple(max(1, round(share * tau / t_h)) for share in shares)
    return t_h * sum(steps), steps


@validator
def check_limits(
    gate_limits: Any, n: int, name: str = "gate_limits"
) -> tuple[np.ndarray, np.ndarray] | None:
    """The gate box as two arrays ``(G_min, G_max)`` of shape ``(n,)``, or None.

    Parameters
    ----------
    gate_limits : (G_min, G_max) or None
        Scalars or per-gate arrays, V.
    n : int
        Number of gates.

    Returns
    -------
    (lo, hi) or None

    Raises
    ------
    ArgumentError
        Not a pair of finite bounds with ``G_min < G_max``.
    """
    if gate_limits is None:
        return None
    try:
        lo, hi = gate_limits
        lo = np.broadcast_to(np.asarray(lo, dtype=float), (n,)).copy()
        hi = np.broadcast_to(np.asarray(hi, dtype=float), (n,)).copy()
        ok = bool(np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo < hi))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ArgumentError(
            f"Argument `gate_limits` must be (G_min, G_max) with finite G_min < G_max, but is "
            f"{gate_limits!r}."
        )
    return lo, hi


@validator
def check_G0(
    network: Network,
    G0: Any,
    limits: tuple[np.ndarray, np.ndarray] | None,
    name: str = "G0",
) -> np.ndarray:
    """Initial gates: shape ``(n_gates,)``, above threshold, clipped to the box.

    Parameters
    ----------
    network : Network
        The trained network.
    G0 : (n_gates,) array_like
        Initial gate voltages, V.
    limits : (lo, hi) or None
        The gate box from `check_limits`.

    Returns
    -------
    (n_gates,) ndarray

    Raises
    ------
    ShapeError
        Wrong shape or not finite.
    DeviceError
        A gate at or below its threshold (names the edge).
    """
    G0 = network.check_gates(G0, "G0")
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


@validator
def bias_function(
    B: Any, n: int, name: str = "B"
) -> tuple[np.ndarray | None, Callable[[np.ndarray], Any] | None]:
    """A constant bias vector, or a bias callable of the state.

    Parameters
    ----------
    B : (n,) array_like, scalar or callable
        Bias per gate, V/s, or ``B(G) -> (n,)``.
    n : int
        Number of gates.

    Returns
    -------
    (b, None) or (None, B)
        ``b`` the constant bias of shape ``(n,)``.

    Raises
    ------
    ShapeError
        A constant bias of the wrong shape, or not finite.
    """
    if callable(B):
        return None, B
    b = real_array(B, "B", error=ShapeError)
    b = np.broadcast_to(b, (n,)).copy() if b.ndim == 0 else b
    if b.shape != (n,):
        raise ShapeError(
            f"Argument `B` must have shape ({n},) (one bias per gate) or be a callable of G, but "
            f"has shape {b.shape}."
        )
    return b, None


@validator
def record_stride(
    record: Any, n_half: int, *, n_halves: int = 0, n_gates: int = 0, name: str = "record"
) -> int:
    """Steps between samples; with ``n_halves``, also the size check of the whole run.

    Parameters
    ----------
    record : "half", "step" or int
        Every half period, every step, or every ``record`` steps.
    n_half : int
        Steps per half period.
    n_halves : int
        Half periods of the run (`half_periods`); 0 skips the size check.
    n_gates : int
        Gates recorded per sample.

    Returns
    -------
    int

    Raises
    ------
    ArgumentError
        Anything else; or a run of more than `MAX_STEPS` steps (naming ``n_periods``) or more
        than `MAX_RECORD_VALUES` recorded values (naming ``record``).
    """
    if record == "half":
        stride = n_half
    elif record == "step":
        stride = 1
    elif isinstance(record, int | np.integer) and not isinstance(record, bool):
        stride = count(record, "record")
    else:
        raise ArgumentError(
            f"Argument `record` must be 'half', 'step' or a positive number of steps, but is "
            f"{record!r}."
        )
    steps = n_halves * n_half
    if steps > MAX_STEPS:
        raise ArgumentError(
            f"Argument `n_periods` asks for {float(steps):.3g} learning steps, more than "
            f"MAX_STEPS = {MAX_STEPS}; run fewer periods (or chain runs from the last state)."
        )
    values = (steps // stride + n_halves + 1) * max(n_gates, 1)
    if n_halves and values > MAX_RECORD_VALUES:
        raise ArgumentError(
            f"Argument `record` would record {float(values):.3g} gate values, more than "
            f"MAX_RECORD_VALUES = {MAX_RECORD_VALUES}; record fewer samples (a larger stride)."
        )
    return stride


@validator
def half_periods(n_periods: Any, name: str = "n_periods") -> int:
    """The number of half periods in ``n_periods`` periods.

    Parameters
    ----------
    n_periods : float
        Duration in periods, a non-negative multiple of 1/2.

    Returns
    -------
    int

    Raises
    ------
    ArgumentError
        Not a finite number in [0, `MAX_STEPS`].
    ProtocolError
        Not a whole number of half periods.
    """
    n_halves = 2.0 * number(n_periods, "n_periods", low=0.0, high=MAX_STEPS)
    if abs(n_halves - round(n_halves)) >= 1e-9:
        raise ProtocolError(
            f"Argument `n_periods` must be a non-negative multiple of 1/2, but is {n_periods!r}."
        )
    return round(n_halves)


class StepNoise:
    """The seeded noise of one run: update noise ``sqrt(t_h) L ξ`` and node-voltage noise.

    Parameters
    ----------
    protocol : TrainingProtocol
        Its ``update_noise`` (Q, V²/s) and ``voltage_noise`` (V).
    n : int
        Number of gates.
    seed : int or None
        Seed of the random generator (`numpy.random.default_rng`).

    Attributes
    ----------
    L : (n, n) ndarray or None
        ``sqrt(t_h)`` times a factor of Q (``Q = L Lᵀ``), V per step; None without update noise.
    sigma_V : float
        Node-voltage noise, V.

    Raises
    ------
    ShapeError
        ``update_noise`` not of size 1, n or (n, n).
    ArgumentError
        A matrix Q that is not symmetric positive semi-definite.
    """

    def __init__(self, protocol: TrainingProtocol, n: int, seed: Any) -> None:
        self.rng = np.random.default_rng(seed)
        self.sigma_V = protocol.voltage_noise
        self.L: np.ndarray | None = None
        if protocol.update_noise is not None:
            q = np.asarray(protocol.update_noise, dtype=float)
            if q.ndim < 2:
                q = np.broadcast_to(q, (n,)) if q.ndim == 0 else q
                if q.shape != (n,):
                    raise ShapeError(
                        f"Argument `update_noise` must have {n} per-edge variances, but has "
                        f"shape {q.shape}."
                    )
                L = np.diag(np.sqrt(q))
            else:
                if q.shape != (n, n):
                    raise ShapeError(
                        f"Argument `update_noise` must be ({n}, {n}), but has shape {q.shape}."
                    )
                lam, U = np.linalg.eigh(0.5 * (q + q.T))  # symmetric PSD: checked on construction
                L = U * np.sqrt(np.clip(lam, 0.0, None))
            self.L = np.sqrt(protocol.t_h) * L

    def update(self) -> np.ndarray:
        """One step of update noise, V (shape (n,)).

        Returns
        -------
        (n,) ndarray
        """
        L = self.L
        assert L is not None  # called with update noise only (the callers test `L`)
        return L @ self.rng.standard_normal(L.shape[1])

    def voltages(self, n_nodes: int) -> np.ndarray:
        """Measurement noise of every node voltage of one state, V.

        Parameters
        ----------
        n_nodes : int
            Number of nodes.

        Returns
        -------
        (n_nodes,) ndarray
        """
        return self.sigma_V * self.rng.standard_normal(n_nodes)

    def update_block(self, steps: int) -> list | None:
        """Update noise of ``steps`` steps as nested lists (V), or None without update noise.

        Parameters
        ----------
        steps : int
            Number of steps.

        Returns
        -------
        list of list of float or None
        """
        if self.L is None:
            return None
        return (self.rng.standard_normal((steps, self.L.shape[1])) @ self.L.T).tolist()

    def voltage_block(self, steps: int, n_nodes: int) -> list | None:
        """Node-voltage noise of ``steps`` steps, free and clamped (V), or None without it.

        Parameters
        ----------
        steps : int
            Number of steps.
        n_nodes : int
            Number of nodes.

        Returns
        -------
        list (steps) of [free (n_nodes), clamped (n_nodes)] lists, or None
        """
        if self.sigma_V == 0.0:
            return None
        return (self.sigma_V * self.rng.standard_normal((steps, 2, n_nodes))).tolist()
