"""Training runs of the Fig. 5 experiment: one case, the whole sweep, and its result.

The experiment (the lattice, the node placement, the ring tasks, the clamping modes) is
described in `clln_theory.experiments.fig5`. Here:

`run_fig5_case`
    Trains the lattice on one (ring diameter, split, clamping, seed) with the nonlinear
    simulator and evaluates the final gates; returns a JSON-ready dict (a failed circuit solve
    is reported, not raised).
`overclamping_experiment`
    Every case on an executor (`clln_theory.sweeps.run_sweep`: process pool, Dask, resumable
    result file), collected in a `Fig5Result` whose arrays are indexed
    ``(clamping, eps, seed, split)``, with means, standard errors and plain-text tables.

`clln_theory.plotting.plot_fig5` draws the figure of a `Fig5Result`.

Overclamping at the smallest rings: early best, later decline
--------------------------------------------------------------
In this simulation overclamping at the smallest ring (83 mV) reaches its best accuracy after
about 0.3-0.6 s of training and then loses gain: the gates next to the outputs fall towards
``G_min`` and the outputs shrink. The cause is the part of the learning rule that Appendix F
drops from (F8): the clamped output moves by ``dn = ±η L₀ / 2`` per output node, and on an edge
between an output and a node at voltage drop ``dV`` the rule gives
``dV_F² - dV_C² = -2 dV dn - dn²``. The first term carries the sign of the error and cancels
between the classes; the second lowers the conductances next to the outputs for every active
point. It is harmless when the drops exceed ``dn/2`` (wide rings) and dominates when the inputs
span only tens of mV.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import islice
from types import MappingProxyType
from typing import Any

import numpy as np

from .._checks import (
    check_record,
    choice,
    construction,
    count,
    number,
    positive,
    real_array,
    validator,
)
from .._repr import short_repr
from ..electrical import learning_rate_A0
from ..electrical.clamping import CLAMPINGS
from ..errors import (
    ArgumentError,
    ConvergenceError,
    Failure,
    NumericalRangeError,
    ProtocolError,
    ShapeError,
)
from ..metrics import accuracy, hinge_loss, task_error, two_task_error
from ..simulator import TrainingProtocol, simulate, simulate_batch
from ._ring import (
    ring_outputs,
    ring_points,
    seeded_bias,
    seeded_gates,
    split_signs,
    training_task,
)
from .fig5 import (
    FIG5_EPS,
    FIG5_L0,
    N_RING,
    Fig5Placement,
    fig5_network,
)
from .paper import (
    FIG3_C0,
    FIG3_R,
    FIG3_R0,
    FIG5_BIAS_SCALE,
    FIG5_ETA_OVERCLAMP,
    FIG5_LABEL,
    FIG5_T_H,
    G_MAX,
    G_MIN,
)

__all__ = [
    "FIG5_DEFAULTS",
    "Fig5Result",
    "overclamping_experiment",
    "run_fig5_batch",
    "run_fig5_case",
]


# --------------------------------------------------------------------------- one experiment
#: Defaults of one Fig. 5 run (see `run_fig5_case`).
FIG5_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "seed": 0,
        "n_steps": 12_800,
        "half_steps": 160,
        "r": FIG3_R,
        "device": "three-regime",
        "gate_limits": (G_MIN, G_MAX),
        "bias_scale": FIG5_BIAS_SCALE,
    }
)
#: Largest ring diameter a case may ask for, V: Fig. 5's largest is V+ - V- = 0.417 V; beyond a
#: few volts the inputs leave every device model's range and the circuit's arithmetic overflows.
_EPS_MAX = 10.0
#: Most learning steps of one case (10⁹ steps of 100 µs: a day of simulated training); bounds the
#: work a call may ask for.
_MAX_STEPS = 10**9
#: Initial gate range of the hardware, V (`fig5_initial_gates`' defaults).
_G0_RANGE = (2.5, 3.5)
#: Most values along one axis of the sweep (diameters, splits, seeds): bounds the work asked for.
_MAX_AXIS = 10_000


def _training_protocol(clamping: str, A0: float) -> TrainingProtocol:
    if clamping == "standard":
        return TrainingProtocol(clamping="standard", eta=1.0, t_h=FIG5_T_H, A0=A0)
    return TrainingProtocol(
        clamping="overclamp", eta=FIG5_ETA_OVERCLAMP, L0=FIG5_L0, t_h=FIG5_T_H, A0=A0
    )


@validator
def _case_settings(item: Mapping[str, Any], arg: str = "item") -> dict[str, Any]:
    """The item over `FIG5_DEFAULTS`, validated (``arg``: the argument, for messages)."""
    if not isinstance(item, Mapping):
        raise ArgumentError(
            f"Argument `{arg}` must be a mapping (a Fig. 5 case), but is {type(item).__name__}."
        )
    cfg = {**FIG5_DEFAULTS, **dict(item)}
    for k in ("eps", "split", "clamping"):
        if k not in cfg:
            raise ArgumentError(
                f"Argument `item` must have the key {k!r} (a Fig. 5 case), but has "
                f"{sorted(dict(item))}."
            )
    cfg["eps"] = number(cfg["eps"], "eps", low=0.0, low_open=True, high=_EPS_MAX, unit="V")
    cfg["split"] = count(cfg["split"], "split", minimum=0, maximum=N_RING - 1)
    choice(cfg["clamping"], "clamping", CLAMPINGS)
    count(cfg["seed"], "seed", minimum=0)
    number(cfg["bias_scale"], "bias_scale", low=0.0, unit="V/s")
    positive(cfg["r"], "r")
    n_steps = count(cfg["n_steps"], "n_steps", maximum=_MAX_STEPS)
    half = count(cfg["half_steps"], "half_steps")
    if n_steps < half or n_steps % half:
        raise ProtocolError(
            f"`n_steps` ({n_steps}) must be a positive multiple of `half_steps` ({half})."
        )
    return cfg


def _failed_case(exc: Exception, split: int, n_gates: int, **extra: Any) -> dict[str, Any]:
    """The record of a case whose circuit solve failed during training (None -> NaN later)."""
    return {
        "accuracy": None,
        "hinge": None,
        "E_class": None,
        "O": [None] * N_RING,
        "labels": split_signs(split, N_RING, FIG5_LABEL).tolist(),
        "G": [None] * n_gates,
        "t_trace": [],
        "hinge_trace": [],
        "accuracy_trace": [],
        **extra,
        "engine": None,
        "error": f"{type(exc).__name__}: {exc}",
        "error_kind": type(exc).__name__,
    }


def run_fig5_case(item: Mapping[str, Any]) -> dict[str, Any]:
    """Train the lattice on one (ring diameter, split, clamping, seed) and evaluate it.

    A module-level function of one dict, so that `clln_theory.sweeps.run_sweep` can map it over
    a process pool or a Dask cluster.

    Parameters
    ----------
    item : mapping
        Required: ``eps`` (ring diameter, V), ``split`` (0-7), ``clamping`` (``"standard"``:
        η = 1; ``"overclamp"``: η = 0.25, L₀ = V₊). Optional (defaults in `FIG5_DEFAULTS`):
        ``seed`` (hardware: bias and initial gates), ``n_steps`` (learning steps of 100 µs),
        ``half_steps`` (steps between two adaptations of the overclamping r₀, and between two
        recorded samples; a divisor of ``n_steps``), ``r`` (measured rate factor:
        A₀ = `clln_theory.electrical.learning_rate_A0` of the circuit of Eq. (C2) times r,
        Appendix C), ``device``, ``gate_limits``, ``bias_scale``, ``placement`` (a mapping of
        the `Fig5Placement` roles; default `Fig5Placement()`).

    Returns
    -------
    dict
        ``accuracy`` (fraction of the 8 points on the right side), ``hinge`` (mean shortfall
        `clln_theory.metrics.hinge_loss`, V), ``E_class`` ((A2) averaged over both classes,
        (A3), V²), ``O`` (free outputs of the 8 ring points, V), ``labels``, ``G`` (final gates,
        V), ``hinge_trace`` and ``accuracy_trace`` (at every sample), ``t_trace`` (sample
        times, s), ``seconds`` (run time, s), ``A0``, ``n_steps`` and ``engine``. If a circuit solve
        fails during training (`ConvergenceError`), the run is reported as failed: ``error``
        holds the message and the results are None.

    Raises
    ------
    ArgumentError
        A missing key or a bad value (unknown clamping, non-integer step counts).
    ProtocolError
        ``n_steps`` not a multiple of ``half_steps``.

    Notes
    -----
    Training: `clln_theory.simulator.simulate` (discrete mode) on the interleaved 8-point task
    of `fig5_training_task`, one point per step of ``t_h = 100 µs``, so α and β alternate every
    100 µs: the paper's ``tau = 200 µs``. The simulator's half period is ``half_steps`` steps;
    it only sets how often r₀ is re-adapted (overclamping: mean hold time over the active
    points equal to ``t_h``, "to keep the period approximately constant") and how often the
    state is recorded. Evaluation: fresh (cold-start) Newton solves of the free state at the
    final gates.
    """
    cfg = _case_settings(item)
    eps, split = float(cfg["eps"]), int(cfg["split"])
    n_steps, half = int(cfg["n_steps"]), int(cfg["half_steps"])
    t0 = time.perf_counter()
    net = fig5_network(cfg["device"])
    seed = int(cfg["seed"])
    B = seeded_bias(net.n_gates, seed, float(cfg["bias_scale"]))
    G0 = seeded_gates(net.n_gates, seed, *_G0_RANGE)
    A0 = learning_rate_A0(FIG3_R0, FIG3_C0, r=float(cfg["r"]))  # (C2) times the factor r
    pl = Fig5Placement.from_spec(cfg.get("placement"))
    limits = cfg["gate_limits"]
    try:
        tr = simulate(
            net,
            [training_task(eps, split, pl, FIG5_LABEL, 0.0, N_RING)],
            G0,
            tau=2 * half * FIG5_T_H,
            n_periods=n_steps / (2 * half),
            B=B,
            protocol=_training_protocol(cfg["clamping"], A0),
            gate_limits=None if limits is None else tuple(limits),
            record="half",
        )
    except ConvergenceError as exc:  # one failed run must not end a sweep
        extra = {"seconds": time.perf_counter() - t0, "A0": A0, "n_steps": n_steps}
        return _failed_case(exc, split, net.n_gates, **extra)
    rec = _evaluate(net, tr, eps, split, pl)
    return {**rec, "seconds": time.perf_counter() - t0, "A0": A0, "n_steps": n_steps}


def _evaluate(net, tr, eps: float, split: int, pl: Fig5Placement) -> dict[str, Any]:
    """The record of one trained case: final outputs, accuracy, hinge, (A3), traces."""
    G = np.asarray(tr.G_final)
    X = ring_points(eps, N_RING, None, 0.0)
    y = split_signs(split, N_RING, FIG5_LABEL)
    O = ring_outputs(net, G, pl.imposed_values(X[:, 0], X[:, 1]), pl)
    # ring order -> interleaved order of the trained task, for the recorded trace
    order = np.r_[np.flatnonzero(y > 0), np.flatnonzero(y < 0)]
    inter = np.ravel(np.column_stack([order[:4], order[4:]]))
    pos, neg = y > 0, y < 0
    E_class = two_task_error(  # (A3) of the classification errors (A2) of the two classes
        task_error(O[pos], y[pos], kind="classification"),
        task_error(O[neg], y[neg], kind="classification"),
    )
    return {
        "accuracy": accuracy(O, y),
        "hinge": hinge_loss(O, y),
        "E_class": E_class,
        "O": O.tolist(),
        "labels": y.tolist(),
        "G": G.tolist(),
        "t_trace": np.asarray(tr.times).tolist(),
        "hinge_trace": np.atleast_1d(hinge_loss(tr.outputs[0], y[inter])).tolist(),
        "accuracy_trace": np.atleast_1d(accuracy(tr.outputs[0], y[inter])).tolist(),
        "engine": tr.engine,
    }


def run_fig5_batch(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Train many Fig. 5 cases at once (`clln_theory.simulator.simulate_batch`), one record each.

    A module-level function of one list, so that `clln_theory.sweeps.run_sweep` can spread
    batches over a process pool or a Dask cluster.

    Parameters
    ----------
    items : sequence of mapping
        Cases as for `run_fig5_case`; they must share every setting but ``eps``, ``split`` and
        ``seed`` (one clamping, the same step counts, device, rate, gate box and placement).

    Returns
    -------
    list of dict
        One record per item, in order, with the keys of `run_fig5_case` (``seconds`` is the
        batch's time divided by the number of cases; ``engine`` is ``"batch"``). A case whose
        circuit solve failed is reported as in `run_fig5_case`; the others go on.

    Raises
    ------
    ArgumentError
        A missing key, a bad value, or items that differ in a shared setting (named).
    ProtocolError
        ``n_steps`` not a multiple of ``half_steps``.
    """
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise ArgumentError(
            "Argument `items` must be a sequence of mappings (Fig. 5 cases), but is "
            f"{type(items).__name__}."
        )
    cfgs = [_case_settings(it, f"items[{i}]") for i, it in enumerate(items)]
    if not cfgs:
        raise ArgumentError("Argument `items` must hold at least one Fig. 5 case, but is empty.")
    shared = [k for k in cfgs[0] if k not in ("eps", "split", "seed")]
    for i, c in enumerate(cfgs):
        for k in shared:
            if c.get(k) != cfgs[0][k]:
                raise ArgumentError(
                    f"Argument `items`: case {i} has {k} = {c.get(k)!r} but case 0 has "
                    f"{cfgs[0][k]!r}; a batch shares every setting but eps, split and seed."
                )
    cfg = cfgs[0]
    n_steps, half = int(cfg["n_steps"]), int(cfg["half_steps"])
    t0 = time.perf_counter()
    net = fig5_network(cfg["device"])
    A0 = learning_rate_A0(FIG3_R0, FIG3_C0, r=float(cfg["r"]))  # (C2) times the factor r
    pl = Fig5Placement.from_spec(cfg.get("placement"))
    scale = float(cfg["bias_scale"])
    tasks = [
        training_task(float(c["eps"]), int(c["split"]), pl, FIG5_LABEL, 0.0, N_RING) for c in cfgs
    ]
    G0 = np.stack([seeded_gates(net.n_gates, int(c["seed"]), *_G0_RANGE) for c in cfgs])
    B = np.stack([seeded_bias(net.n_gates, int(c["seed"]), scale) for c in cfgs])
    limits = cfg["gate_limits"]
    res = simulate_batch(
        net,
        tasks,
        G0,
        tau=2 * half * FIG5_T_H,
        n_periods=n_steps / (2 * half),
        B=B,
        protocol=_training_protocol(cfg["clamping"], A0),
        gate_limits=None if limits is None else tuple(limits),
        record="half",
    )
    out = []
    failures = iter(res.failures)  # one Failure per failed run, in run order
    for c, tr in zip(cfgs, res.trajectories, strict=True):
        if tr is None:
            why = next(failures).why
            out.append(_failed_case(ConvergenceError(why), int(c["split"]), net.n_gates))
        else:
            out.append(_evaluate(net, tr, float(c["eps"]), int(c["split"]), pl))
    seconds = (time.perf_counter() - t0) / len(cfgs)
    return [{**r, "seconds": seconds, "A0": A0, "n_steps": n_steps} for r in out]


def _run_batch_job(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`run_fig5_batch` of one sweep item ``{"cases": [...]}`` (picklable)."""
    return run_fig5_batch(job["cases"])


# --------------------------------------------------------------------------- the whole figure
@dataclass(frozen=True, slots=True)
class Fig5Result:
    """Accuracy and hinge loss of the Fig. 5 experiment, per clamping, diameter, seed and split.

    Attributes
    ----------
    clampings : tuple of str
        ``("standard", "overclamp")`` or a subset.
    eps : (n_eps,) ndarray
        Ring diameters, V.
    seeds : tuple of int
        Hardware seeds.
    splits : tuple of int
        Linear splits.
    accuracy : (n_clampings, n_eps, n_seeds, n_splits) ndarray
        Training accuracy (fraction of the 8 points classified by the sign of ``O``).
    hinge : same shape
        Hinge loss (mean shortfall beyond the label, `clln_theory.metrics.hinge_loss`), V.
    E_class : same shape
        Classification error (A2), averaged over the two classes (A3), V².
    O : (n_clampings, n_eps, n_seeds, n_splits, 8) ndarray
        Final free outputs of the ring points, V.
    G : (n_clampings, n_eps, n_seeds, n_splits, n_gates) ndarray
        Final gates, V.
    settings : mapping
        The run settings (`FIG5_DEFAULTS` overridden by the call).
    compute_seconds : float
        Summed compute time of all cases, s (wall time is smaller on several workers).
    seconds : float
        Wall time of the sweep, s.
    failures : tuple of Failure
        One per failed run (``where``: its case; ``why``: the solver's message); a failed run
        is NaN in the arrays and left out of `mean`, `stderr` and `count`.
    t_trace : (n_samples,) ndarray, optional
        Times of the training samples (every ``half_steps`` steps), s.
    accuracy_trace : (n_clampings, n_eps, n_seeds, n_splits, n_samples) ndarray, optional
        Training accuracy of the free network at those times (NaN for failed runs).
    """

    __repr__ = short_repr

    clampings: tuple[str, ...]
    eps: np.ndarray
    seeds: tuple[int, ...]
    splits: tuple[int, ...]
    accuracy: np.ndarray
    hinge: np.ndarray
    E_class: np.ndarray
    O: np.ndarray
    G: np.ndarray
    settings: Mapping[str, Any] = field(default_factory=dict)
    compute_seconds: float = 0.0
    seconds: float = 0.0
    failures: tuple[Failure, ...] = ()
    t_trace: np.ndarray | None = None
    accuracy_trace: np.ndarray | None = None

    @construction
    def __post_init__(self) -> None:
        check_record(
            self, clampings="tuple", eps="array", seeds="tuple", splits="tuple",
            accuracy="array|nan", hinge="array|nan", E_class="array|nan", O="array|nan",
            G="array|nan", settings=Mapping, compute_seconds="real", seconds="real",
            failures="tuple", t_trace="array?", accuracy_trace="array|nan?",
        )  # fmt: skip
        _check_axes(self)

    def _flat(self, quantity: str) -> np.ndarray:
        a = np.asarray(getattr(self, quantity), dtype=float)
        return a.reshape(*a.shape[:2], -1)

    def count(self) -> np.ndarray:
        """Number of finished (not failed) runs per ``(clamping, eps)``."""
        return np.isfinite(self._flat("accuracy")).sum(axis=-1)

    def mean(self, quantity: str = "accuracy") -> np.ndarray:
        """Mean over seeds and splits, ``(n_clampings, n_eps)`` (Fig. 5B, C), without failures.

        Parameters
        ----------
        quantity : {"accuracy", "hinge", "E_class"}
            Which array to average.
        """
        a = self._flat(quantity)
        n = np.isfinite(a).sum(axis=-1)
        return np.where(n > 0, np.nansum(a, axis=-1) / np.maximum(n, 1), np.nan)

    def stderr(self, quantity: str = "accuracy") -> np.ndarray:
        """Standard error over seeds and splits, ``(n_clampings, n_eps)`` (0 for one run).

        Parameters
        ----------
        quantity : {"accuracy", "hinge", "E_class"}
            Which array.
        """
        a = self._flat(quantity)
        n = np.isfinite(a).sum(axis=-1)
        dev = np.where(np.isfinite(a), a - self.mean(quantity)[..., None], 0.0)
        var = (dev**2).sum(axis=-1) / np.maximum(n - 1, 1)
        return np.where(n > 1, np.sqrt(var / np.maximum(n, 1)), 0.0)

    def table(self) -> str:
        """Plain-text table: accuracy and hinge loss (mean ± s.e.) per diameter and clamping."""
        acc, acc_e = self.mean("accuracy"), self.stderr("accuracy")
        h, h_e = self.mean("hinge"), self.stderr("hinge")
        head = "eps [mV] | " + " | ".join(
            f"{p:>9} acc [%]    {p:>9} hinge [mV]" for p in self.clampings
        )
        lines = [head, "-" * len(head)]
        for j, e in enumerate(self.eps):
            cells = [
                f"{100 * acc[i, j]:6.1f} ± {100 * acc_e[i, j]:4.1f}      "
                f"{1e3 * h[i, j]:7.3f} ± {1e3 * h_e[i, j]:5.3f}"
                for i in range(len(self.clampings))
            ]
            lines.append(f"{1e3 * e:8.0f} | " + " | ".join(cells))
        if self.failures:
            lines.append(f"{len(self.failures)} failed run(s), left out of the means:")
            lines.extend(f"  {f.where}: {f.why}" for f in self.failures)
        return "\n".join(lines)

    def split_table(self, seed: int | None = None) -> str:
        """Plain-text table: accuracy [%] per split, per clamping and diameter (one seed).

        Parameters
        ----------
        seed : int, optional
            Which hardware seed (default: the first).
        """
        di = 0 if seed is None else self.seeds.index(seed)
        head = f"{'clamping':>9} eps [mV] | " + " ".join(f"{s:>4d}" for s in self.splits)
        lines = [f"accuracy [%] per split (seed {self.seeds[di]})", head, "-" * len(head)]
        for i, p in enumerate(self.clampings):
            for j, e in enumerate(self.eps):
                acc = 100 * self.accuracy[i, j, di]
                cells = " ".join(f"{a:4.0f}" if np.isfinite(a) else "fail" for a in acc)
                lines.append(f"{p:>9} {1e3 * e:8.0f} | " + cells)
        return "\n".join(lines)


def _check_axes(res: Fig5Result) -> None:
    """The axes and shapes of a `Fig5Result` agree, and NaN marks exactly its failed runs."""
    for name, ok in (
        ("clampings", all(c in CLAMPINGS for c in res.clampings)),
        ("seeds", all(isinstance(v, int) and not isinstance(v, bool) for v in res.seeds)),
        ("splits", all(isinstance(v, int) and not isinstance(v, bool) for v in res.splits)),
        ("failures", all(isinstance(f, Failure) for f in res.failures)),
        ("eps", res.eps.ndim == 1),
    ):
        if not ok:
            raise ArgumentError(f"Field `{name}` of Fig5Result holds a value of the wrong kind.")
    shape = (len(res.clampings), res.eps.size, len(res.seeds), len(res.splits))
    arrays = {"accuracy": 0, "hinge": 0, "E_class": 0, "O": 1, "G": 1, "accuracy_trace": 1}
    failed = ~np.isfinite(res.accuracy)  # its shape is checked first, below
    for name, extra in arrays.items():
        a = getattr(res, name)
        if a is not None and (a.shape[:4] != shape or a.ndim != 4 + extra):
            raise ShapeError(
                f"Field `{name}` of Fig5Result must have shape {shape}{' + (n,)' * extra}, "
                f"but has shape {a.shape}."
            )
        if a is not None and (~np.isfinite(a).reshape(*shape, -1).all(axis=-1) & ~failed).any():
            raise NumericalRangeError(
                f"Field `{name}` of Fig5Result holds NaN or inf outside the failed runs."
            )
    n_failed = int(failed.sum())
    if n_failed != len(res.failures):
        raise ArgumentError(
            f"Field `failures` of Fig5Result must list each of its {n_failed} failed runs (NaN "
            f"accuracy), but lists {len(res.failures)}."
        )


def _collect(items: list, recs: tuple, shape: tuple, settings: dict, seconds: float, **axes):
    """The `Fig5Result` of the sweep's records (failed runs: NaN, listed in ``failures``)."""

    def arr(key: str, squeeze: bool = True) -> np.ndarray:
        a = np.array([r[key] for r in recs], dtype=float).reshape(*shape, -1)
        return a.squeeze(-1) if squeeze else a

    failures = tuple(
        Failure(
            what="run",
            why=r["error"],
            where=f"{it['clamping']} eps={1e3 * it['eps']:.0f} mV seed={it['seed']} "
            f"split={it['split']}",
            kind=r.get("error_kind", ""),
        )
        for it, r in zip(items, recs, strict=True)
        if r.get("error")
    )
    ok = [r for r in recs if not r.get("error")]
    n_t = len(ok[0]["t_trace"]) if ok else 0
    acc_tr = np.array(
        [r["accuracy_trace"] if not r.get("error") else [np.nan] * n_t for r in recs], dtype=float
    ).reshape(*shape, n_t)
    return Fig5Result(
        **axes,
        t_trace=np.array(ok[0]["t_trace"]) if ok else np.zeros(0),
        accuracy_trace=acc_tr,
        failures=failures,
        accuracy=arr("accuracy"),
        hinge=arr("hinge"),
        E_class=arr("E_class"),
        O=arr("O", squeeze=False),
        G=arr("G", squeeze=False),
        settings=MappingProxyType(settings),
        compute_seconds=float(sum(r["seconds"] for r in recs)),
        seconds=seconds,
    )


@validator
def _sweep_axes(eps: Any, splits: Any, seeds: Any, clampings: Any) -> tuple[tuple, ...]:
    """The axes of the sweep as tuples: diameters (V, in ``(0, _EPS_MAX]``), splits (in
    ``[0, N_RING)``), seeds (>= 0) and clamping modes; each non-empty."""
    e = real_array(eps, "eps")
    if e.ndim != 1 or not 0 < e.size <= _MAX_AXIS:
        raise ShapeError(
            f"Argument `eps` must be a non-empty 1-D sequence, but has shape {e.shape}."
        )
    eps_t = tuple(number(x, "eps", low=0.0, low_open=True, high=_EPS_MAX, unit="V") for x in e)

    def items(value: Any, name: str) -> tuple:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise ArgumentError(
                f"Argument `{name}` must be a non-empty sequence, but is {type(value).__name__}."
            )
        out = tuple(islice(value, _MAX_AXIS + 1))
        if not 0 < len(out) <= _MAX_AXIS:
            raise ArgumentError(f"Argument `{name}` must hold 1 to {_MAX_AXIS} values.")
        return out

    splits_t = tuple(
        count(s, "splits", minimum=0, maximum=N_RING - 1) for s in items(splits, "splits")
    )
    seeds_t = tuple(count(s, "seeds", minimum=0) for s in items(seeds, "seeds"))
    modes = tuple(choice(c, "clampings", CLAMPINGS) for c in items(clampings, "clampings"))
    return eps_t, splits_t, seeds_t, modes


def overclamping_experiment(
    *,
    eps: Sequence[float] = FIG5_EPS,
    splits: Iterable[int] = range(N_RING),
    clampings: Sequence[str] = CLAMPINGS,
    seeds: Iterable[int] = (0,),
    n_steps: int = FIG5_DEFAULTS["n_steps"],
    half_steps: int = FIG5_DEFAULTS["half_steps"],
    r: float = FIG5_DEFAULTS["r"],
    device: str = FIG5_DEFAULTS["device"],
    bias_scale: float = FIG5_BIAS_SCALE,
    placement: Fig5Placement | Mapping[str, str] | None = None,
    batch_size: int | None = 120,
    executor: Any = None,
    max_workers: int | None = None,
    path: Any = None,
    progress: bool | None = None,
) -> Fig5Result:
    """Run the Fig. 5 comparison: every clamping × diameter × seed × split, on an executor.

    Parameters
    ----------
    eps : sequence of float
        Ring diameters, V (default `FIG5_EPS`: 83 … 417 mV).
    splits : iterable of int
        Linear splits (default all 8).
    clampings : sequence of {"standard", "overclamp"}
        Clamping modes compared (default both).
    seeds : iterable of int
        Hardware seeds (bias, initial gates); each seed is one simulated physical network.
    n_steps : int
        Learning steps of 100 µs per run.
    half_steps : int
        Steps between two adaptations of r₀ and two recorded samples (divides ``n_steps``).
    r : float
        Measured rate factor ``A_exp / A₀`` (Appendix C).
    device : {"three-regime", "ohmic", "linear"}
        Learning-edge device (`fig5_network`).
    bias_scale : float
        Standard deviation of the per-edge bias, V/s.
    placement : Fig5Placement or mapping of its roles, optional
        Node roles (default `Fig5Placement()`).
    batch_size : int or None
        Cases trained together as one array program (`run_fig5_batch`), per clamping mode; the
        batches are spread over the executor. None: one case at a time (`run_fig5_case`).
        The result file then holds one record per batch (or per case).
    executor : concurrent.futures.Executor, optional
        Where to run (default: a process pool); see `clln_theory.sweeps.run_sweep`.
    max_workers : int, optional
        Workers of the default process pool.
    path : path-like, optional
        Result file: makes the run resumable.
    progress : bool, optional
        Progress bar on standard error (default: only on a terminal).

    Returns
    -------
    Fig5Result

    Raises
    ------
    ArgumentError
        An unknown clamping mode or a bad placement.
    """
    from ..sweeps import grid, run_sweep

    eps_t, splits_t, seeds_t, modes = _sweep_axes(eps, splits, seeds, clampings)
    settings = {
        "n_steps": count(n_steps, "n_steps", maximum=_MAX_STEPS),
        "half_steps": count(half_steps, "half_steps"),
        "r": positive(r, "r"),
        "device": str(device),
        "bias_scale": number(bias_scale, "bias_scale", low=0.0, unit="V/s"),
        "gate_limits": list(FIG5_DEFAULTS["gate_limits"]),
    }
    if placement is not None:  # stored in every item (and result-file record) as a plain dict
        pl = Fig5Placement.from_spec(placement)
        settings["placement"] = {f.name: getattr(pl, f.name) for f in fields(pl)}
    items = [
        {**it, **settings} for it in grid(clamping=modes, eps=eps_t, seed=seeds_t, split=splits_t)
    ]
    jobs: list[Any] = items
    if batch_size is not None:
        size = count(batch_size, "batch_size")
        jobs = []
        for mode in modes:
            group = [it for it in items if it["clamping"] == mode]
            jobs += [{"cases": group[i : i + size]} for i in range(0, len(group), size)]
    res = run_sweep(
        run_fig5_case if batch_size is None else _run_batch_job,
        jobs,
        executor=executor,
        max_workers=max_workers,
        path=path,
        progress=progress,
        desc="Fig. 5",
    )
    results = res.results
    if batch_size is not None:  # batches are in item order within each clamping, modes in order
        results = tuple(r for batch in res.results for r in batch)
    shape = (len(modes), len(eps_t), len(seeds_t), len(splits_t))
    return _collect(
        items, results, shape, settings, res.seconds,
        clampings=modes, eps=np.array(eps_t), seeds=seeds_t, splits=splits_t,
    )  # fmt: skip
