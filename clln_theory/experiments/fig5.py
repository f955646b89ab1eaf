"""Overclamping vs standard clamping on the ring classification of Fig. 5 of the paper.

The experiment (Taming Imperfection; Fig. 5; Appendices A, B, F of the paper): a 4 × 4 periodic
lattice of self-adjusting transistors (`periodic_lattice(4)`: 16 nodes, 32 learning edges) learns
to classify eight points equally spaced on a ring of diameter ``eps`` in the 2-D input space
``(V1, V2)``. Four neighbouring points form class α (label ``L+ = +18 mV``), the other four class β
(``L- = -18 mV``); rotating the dividing line gives the 8 linear splits. The two classes are two
tasks trained alternately with period ``tau = 200 µs`` (one data point per half period at
``t_h = 100 µs``). Every edge carries a constant random learning bias of order 2 V/s (Appendix C).
Standard clamping (``eta = 1``, (1)) is compared with overclamping (``eta = 0.25``,
``L0 = V+``, (F5) with ``t_h = r0 |delta|``) by training accuracy and hinge loss (A2) against
``eps``.

Node placement — our choice
---------------------------
The paper shows the input and output nodes only in a photograph (Fig. 1A); it does not list them.
We use `Fig5Placement` (default below). The eight remaining nodes are hidden (``.``; ``a``-``d``
are the hidden nodes that route V2 and V2' to the outputs)::

        col 0    col 1    col 2    col 3
    0   V+       a        V2       b
    1   V1'      O+       V1       O-
    2   .        c        V2'      d
    3   .        .        V-       .

Why. With linear resistors every node voltage is a convex combination of the imposed voltages,
so ``dO+/dV1 = w+(V1) - w+(V1')`` (and likewise for V2 and for O-): an output can follow an input
with either sign only if it is electrically close to both the input and its inverse. Every split
of Fig. 5 has its normal at 22.5° + k 45°; at the smallest ring (radius 41.7 mV) the points next
to the dividing line must reach ``|O| >= 18 mV``, which for an affine output needs sensitivities
of about (1.04, 0.43) in the normal's orientation and sign, i.e. ``|dO/dVi| > 1`` for one input:
both outputs must pull, with the needed sign, on both inputs. On the 4 × 4 torus (the
4-cube) two nodes share at most two neighbours, so: the outputs sit two steps apart in one row
and share V1 and V1' as direct neighbours; V2 and V2' are at distance 2 from both outputs, each
output reaching each of them through its own hidden node (a: O+ to V2, c: O+ to V2', b, d
likewise for O-). Mirroring the columns (``c -> -c``) swaps O+ and O- and fixes every imposed
node, so with mirror-symmetric gates ``O = 0`` for all inputs: no sign of any sensitivity is
favoured by the wiring, and the 8 splits differ only through the random hardware (bias, G0).

V+ sits on the mirror line next to V1' and the routers a, b; V- on the mirror line at ``(3,2)``,
next to V2, V2' and the hidden nodes ``(3,1)``, ``(3,3)`` that feed the routers. (A first try with
V- at ``(2,0)`` was equally good but gave the hidden node ``(3,0)`` both supplies as neighbours,
where the circuit solver once met a singular Jacobian; with V- at ``(3,2)`` such failures remain
rare but do occur, see `Fig5Result.errors`.)

An earlier choice put V1, V2 next to O+ and V1', V2' next to O- (``O+ (1,1)`` beside ``V1 (0,1)``,
``V2 (1,0)``; ``O- (3,3)`` beside ``V1' (2,3)``, ``V2' (3,2)``); it makes ``dO/dVi > 0`` the easy
sign. At the smallest ring (seed 0, 6400 steps) overclamping then learned 100 % of splits 0 and
7 but 25-50 % of splits 2-4 (mean 66 % over the 8 splits; on the opposite pair 3/7: 25 % and
100 %); with the placement above it learned 75-100 % of every split (mean 92 %; 3/7: 100 %
and 100 %). Both placements can *represent* every split at the smallest ring (direct
optimisation of the gates reaches 100 %): what the old one lacked was learnability.

Overclamping at the smallest rings: early best, later decline
-------------------------------------------------------------
In our simulation overclamping at the smallest ring (83 mV) reaches its best accuracy after
about 0.3-0.6 s of training and then loses gain (gates next to the outputs fall to ``G_min``, the
outputs shrink to a few mV, the accuracy drops). The cause is the part of the learning rule that
Appendix F drops from (F8): the clamped output moves by ``dn = ±eta L0 / 2`` per output node
(±54 mV), and on an edge between an output and a node at voltage drop ``dV`` the rule gives
``dV_F² - dV_C² = -2 dV dn - dn²``. The first term carries the sign of the error and cancels
between the classes; the second is ``-dn²`` for every active point of both classes, so it steadily
lowers the conductances next to the outputs. It is harmless when the drops are larger than
``dn/2`` (wide rings) and dominates when the inputs, and hence the drops, span only tens of mV.
The adaptive ``r0`` (mean hold time kept at ``t_h``) keeps the steps full-sized even when only
one or two points are still active, so the decline continues. (Seed 0, after 1.28 s: the 8 gates
next to the outputs average 1.02 V, 70 % of them at ``G_min``, at 83 mV; 1.6 V at 167 mV; 2.6 V
at 417 mV; 2.3-2.4 V under standard clamping at every diameter; the other gates 2.7-3.1 V.)

Inputs: ``V1``, ``V2`` and the inverted inputs ``V1' = V+ - V1``, ``V2' = V+ - V2`` (Fig. 1 caption)
plus the supplies ``V+ = 0.435 V`` and ``V- = 0.018 V`` (Appendix B). Output: the difference
``O = V[O+] - V[O-]``. The ring is centred at ``((V+ + V-)/2, (V+ + V-)/2)``; the diameters are
``eps = k (V+ - V-)/5``, ``k = 1..5`` (83 mV … 417 mV, "equally spaced", Appendix B — the largest
ring spans exactly ``[V-, V+]``).

Seeds
-----
One integer ``seed`` fixes the "hardware": the per-edge bias ``B ~ N(0, (2 V/s)^2)`` and the
initial gates ``G0 ~ U(2.5 V, 3.5 V)``. The same hardware is used for every split, diameter and
protocol (as in the experiment, one physical network), so the comparison is paired.

Examples
--------
>>> from clln_theory.experiments.fig5 import fig5_tasks, ring_inputs, FIG5_EPS
>>> [round(1e3 * e) for e in FIG5_EPS]
[83, 167, 250, 334, 417]
>>> ring_inputs(0.2).round(4)[:3]
array([[0.3265, 0.2265],
       [0.2972, 0.2972],
       [0.2265, 0.3265]])
>>> alpha, beta = fig5_tasks(0.2, split=0)
>>> alpha.n_points, beta.n_points, alpha.output, float(alpha.labels[0]), float(beta.labels[0])
(4, 4, ('1,1', '1,3'), 0.018, -0.018)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from ..electrical.circuit import CircuitSolver
from ..errors import ConvergenceError, NetworkError, TaskError
from ..model.devices import LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET
from ..model.network import Network, periodic_lattice
from ..model.tasks import DataPoint, Task

__all__ = [
    "FIG5_BIAS_SCALE",
    "FIG5_DEFAULTS",
    "FIG5_EPS",
    "FIG5_ETA_OVERCLAMP",
    "FIG5_L0",
    "FIG5_LABEL",
    "FIG5_TAU",
    "FIG5_T_H",
    "FIG5_V_MINUS",
    "FIG5_V_PLUS",
    "Fig5Placement",
    "Fig5Result",
    "classification_outputs",
    "fig5_bias",
    "fig5_initial_gates",
    "fig5_network",
    "fig5_tasks",
    "fig5_training_task",
    "overclamping_experiment",
    "plot_fig5",
    "ring_inputs",
    "run_fig5_case",
    "split_labels",
]

#: Supply voltages of Fig. 5 (Appendix B), V.
FIG5_V_PLUS = 0.435
FIG5_V_MINUS = 0.018
#: Label magnitude |L±| of Fig. 5 (Appendix B), V.
FIG5_LABEL = 0.018
#: Overclamping of Fig. 5: eta = 0.25, L0 = V+ (Appendix B; Appendix F quotes L0 ≈ 0.43 V).
FIG5_ETA_OVERCLAMP = 0.25
FIG5_L0 = FIG5_V_PLUS
#: Ring diameters: equally spaced from 83 mV to 417 mV = V+ - V- (Appendix B), V.
FIG5_EPS = tuple((FIG5_V_PLUS - FIG5_V_MINUS) * k / 5 for k in range(1, 6))
#: Cycle time of Fig. 5 (caption), s; with the default step time each half period is one point.
FIG5_TAU = 200e-6
#: Step time per data point (main text), s.
FIG5_T_H = 100e-6
#: Scale of the per-edge learning bias (Appendix C, "of order 2 V/s"), V/s.
FIG5_BIAS_SCALE = 2.0

_DEVICES = {"three_regime": ThreeRegimeMOSFET, "ohmic": OhmicMOSFET, "linear": LinearDevice}
_N_RING = 8


# --------------------------------------------------------------------------- placement, tasks
@dataclass(frozen=True, slots=True)
class Fig5Placement:
    """Which lattice node plays which role in the Fig. 5 experiment (our choice; see module).

    Parameters
    ----------
    V1, V2 : str
        Variable inputs.
    V1_inv, V2_inv : str
        Inverted inputs ``V+ - V1``, ``V+ - V2``.
    V_plus, V_minus : str
        Supplies ``V+`` and ``V-``.
    out_plus, out_minus : str
        Output pair, ``O = V[out_plus] - V[out_minus]``.

    Examples
    --------
    >>> p = Fig5Placement()
    >>> p.imposed
    ('1,2', '0,2', '1,0', '2,2', '0,0', '3,2')
    """

    V1: str = "1,2"
    V2: str = "0,2"
    V1_inv: str = "1,0"
    V2_inv: str = "2,2"
    V_plus: str = "0,0"
    V_minus: str = "3,2"
    out_plus: str = "1,1"
    out_minus: str = "1,3"

    def __post_init__(self) -> None:
        names = [getattr(self, f.name) for f in fields(self)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise NetworkError(
                f"Each role of the Fig. 5 placement needs its own node, but {dup} are used twice."
            )

    @property
    def imposed(self) -> tuple[str, ...]:
        """Imposed nodes in the order ``(V1, V2, V1', V2', V+, V-)``."""
        return (self.V1, self.V2, self.V1_inv, self.V2_inv, self.V_plus, self.V_minus)

    @property
    def output(self) -> tuple[str, str]:
        """The differential output pair ``(out_plus, out_minus)``."""
        return (self.out_plus, self.out_minus)

    def imposed_values(
        self, V1: Any, V2: Any, *, V_plus: float = FIG5_V_PLUS, V_minus: float = FIG5_V_MINUS
    ) -> np.ndarray:
        """Imposed voltages ``(..., 6)`` in `imposed` order for inputs ``V1``, ``V2``."""
        V1 = np.asarray(V1, dtype=float)
        V2 = np.asarray(V2, dtype=float)
        V1, V2 = np.broadcast_arrays(V1, V2)
        return np.stack(
            [V1, V2, V_plus - V1, V_plus - V2, np.full_like(V1, V_plus), np.full_like(V1, V_minus)],
            axis=-1,
        )


def fig5_network(device: str | Any = "three_regime", *, L: int = 4) -> Network:
    """The periodic ``L x L`` lattice of Fig. 5 with the given learning-edge device.

    Parameters
    ----------
    device : {"three_regime", "ohmic", "linear"} or Device
        ``"three_regime"`` (default): `ThreeRegimeMOSFET`, the transistor of the experiment;
        ``"ohmic"``: Eq. (2); ``"linear"``: the theory's resistor.
    L : int
        Lattice size (4 in the paper: 16 nodes, 32 edges).

    Examples
    --------
    >>> net = fig5_network()
    >>> net.n_nodes, net.n_gates, type(net.device).__name__
    (16, 32, 'ThreeRegimeMOSFET')
    """
    if isinstance(device, str):
        if device not in _DEVICES:
            raise ValueError(
                f"Argument `device` must be one of {sorted(_DEVICES)} or a Device, but is "
                f"{device!r}."
            )
        device = _DEVICES[device]()
    return periodic_lattice(L, device=device)


def ring_inputs(
    eps: float,
    *,
    n_points: int = _N_RING,
    center: tuple[float, float] | None = None,
    phase: float = 0.0,
) -> np.ndarray:
    """Input points ``(V1, V2)`` equally spaced on a ring of diameter ``eps``.

    Parameters
    ----------
    eps : float
        Ring diameter, V (> 0).
    n_points : int
        Number of points (8 in Fig. 5; must be even).
    center : (float, float), optional
        Ring centre, V. Default: the centre of the input range, ``(V+ + V-)/2`` in both inputs.
    phase : float
        Angle of point 0, radians (counter-clockwise from the ``V1`` axis).

    Returns
    -------
    (n_points, 2) ndarray
        Point ``k`` at angle ``phase + 2 pi k / n_points``.
    """
    eps = float(eps)
    if not (np.isfinite(eps) and eps > 0):
        raise TaskError(f"Ring diameter `eps` must be finite and > 0 volts, but is {eps!r}.")
    if n_points < 2 or n_points % 2:
        raise TaskError(f"`n_points` must be an even number >= 2, but is {n_points!r}.")
    c = (0.5 * (FIG5_V_PLUS + FIG5_V_MINUS),) * 2 if center is None else center
    theta = phase + 2 * np.pi * np.arange(n_points) / n_points
    return np.column_stack([c[0] + 0.5 * eps * np.cos(theta), c[1] + 0.5 * eps * np.sin(theta)])


def split_labels(split: int, *, n_points: int = _N_RING, label: float = FIG5_LABEL) -> np.ndarray:
    """Labels of one linear split of the ring: ``+label`` on half the ring, ``-label`` on the rest.

    Split ``s`` gives class α (``+label``) to points ``s, s+1, …, s + n/2 - 1`` (mod ``n``):
    rotating the dividing line by one point spacing moves ``s`` by one, so ``s = 0 … n-1`` are
    the ``n`` distinct linear splits of Fig. 5 (each dividing line with both class assignments).

    Examples
    --------
    >>> (split_labels(6) * 1e3).round().astype(int).tolist()
    [18, 18, -18, -18, -18, -18, 18, 18]
    """
    if not (isinstance(split, int | np.integer) and 0 <= split < n_points):
        raise TaskError(f"`split` must be an integer in [0, {n_points}), but is {split!r}.")
    k = (np.arange(n_points) - int(split)) % n_points
    return np.where(k < n_points // 2, float(label), -float(label))


def fig5_tasks(
    eps: float,
    split: int,
    *,
    placement: Fig5Placement | None = None,
    label: float = FIG5_LABEL,
    phase: float = 0.0,
) -> tuple[Task, Task]:
    """The two classification tasks (α: ``+label``, β: ``-label``) of one Fig. 5 experiment.

    Parameters
    ----------
    eps : float
        Ring diameter, V.
    split : int in [0, 8)
        Which linear split (see `split_labels`).
    placement : Fig5Placement, optional
        Node roles (default `Fig5Placement()`).
    label : float
        ``|L±|``, V.
    phase : float
        Angle of ring point 0, radians.

    Returns
    -------
    alpha, beta : Task
        Classification tasks with the differential output, 4 points each; every point imposes
        ``V1, V2, V1', V2', V+, V-``.
    """
    pl = placement or Fig5Placement()
    X = ring_inputs(eps, phase=phase)
    y = split_labels(split, label=label)
    vals = pl.imposed_values(X[:, 0], X[:, 1])
    pts = [DataPoint(dict(zip(pl.imposed, map(float, v))), float(L)) for v, L in zip(vals, y)]
    alpha = Task([p for p in pts if p.label > 0], pl.output, kind="classification", name="alpha")
    beta = Task([p for p in pts if p.label < 0], pl.output, kind="classification", name="beta")
    return alpha, beta


def fig5_bias(network: Network, seed: int, *, scale: float = FIG5_BIAS_SCALE) -> np.ndarray:
    """Seeded per-edge learning bias ``B ~ N(0, scale²)``, V/s, one per gate (Appendix C).

    Examples
    --------
    >>> B = fig5_bias(fig5_network(), seed=0)
    >>> B.shape, bool(1.0 < B.std() < 3.0)
    ((32,), True)
    """
    rng = np.random.default_rng([int(seed), 1])
    return scale * rng.standard_normal(network.n_gates)


def fig5_initial_gates(
    network: Network, seed: int, *, low: float = 2.5, high: float = 3.5
) -> np.ndarray:
    """Seeded initial gates ``G0 ~ U(low, high)``, V, one per gate."""
    rng = np.random.default_rng([int(seed), 2])
    return rng.uniform(low, high, network.n_gates)


# --------------------------------------------------------------------------- evaluation
def classification_outputs(
    network: Network,
    G: Any,
    V1: Any,
    V2: Any,
    *,
    placement: Fig5Placement | None = None,
) -> np.ndarray:
    """Free differential outputs ``O = V[O+] - V[O-]`` at inputs ``(V1, V2)`` (nonlinear solve).

    Parameters
    ----------
    network : Network
        The lattice with its device.
    G : (n_gates,) array_like
        Gates, V.
    V1, V2 : array_like
        Inputs, V (broadcast together).
    placement : Fig5Placement, optional

    Returns
    -------
    O : ndarray, shape of ``broadcast(V1, V2)``
        Volts.
    """
    pl = placement or Fig5Placement()
    vals = pl.imposed_values(V1, V2)
    shape = vals.shape[:-1]
    flat = vals.reshape(-1, vals.shape[-1])
    solver = CircuitSolver(network, pl.imposed)
    ip, im = network.node(pl.out_plus), network.node(pl.out_minus)
    G = network.check_gates(G)
    out = np.empty(flat.shape[0])
    for k, v in enumerate(flat):
        V = solver.solve(G, v).V
        out[k] = V[ip] - V[im]
    return out.reshape(shape)


def fig5_training_task(
    eps: float,
    split: int,
    *,
    placement: Fig5Placement | None = None,
    label: float = FIG5_LABEL,
    phase: float = 0.0,
) -> Task:
    """The 8 ring points as one task in the order trained at ``tau = 200 µs``: α₀ β₀ α₁ β₁ …

    At the paper's cycle time ``tau = 200 µs = 2 t_h`` every half period holds exactly one data
    point, so the experiment alternates one α point and one β point, cycling through the points
    of each class. `clln_theory.simulator.runs.simulate` restarts the point cycle of a task at every
    task switch, so two 4-point tasks with ``tau = 2 t_h`` would train only the first point of
    each class. One task holding the interleaved points, trained alone, gives exactly the
    paper's sequence of steps (see `run_fig5_case`).

    Returns
    -------
    Task
        Classification task ``"ring"``, differential output, 8 points.
    """
    alpha, beta = fig5_tasks(eps, split, placement=placement, label=label, phase=phase)
    pts = [p for pair in zip(alpha.points, beta.points) for p in pair]
    return Task(pts, alpha.output, kind="classification", name="ring")


# --------------------------------------------------------------------------- one experiment
#: Defaults of one Fig. 5 run (see `run_fig5_case`).
FIG5_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "seed": 0,
        "n_steps": 12_800,
        "half_steps": 160,
        "r": 1.5,
        "device": "three_regime",
        "gate_limits": (1.0, 5.0),
        "bias_scale": FIG5_BIAS_SCALE,
    }
)


def _protocol(name: str, A0: float):
    from ..simulator.runs import TrainingProtocol

    if name == "standard":
        return TrainingProtocol(clamping="standard", eta=1.0, t_h=FIG5_T_H, A0=A0)
    if name == "overclamp":
        return TrainingProtocol(
            clamping="overclamp", eta=FIG5_ETA_OVERCLAMP, L0=FIG5_L0, t_h=FIG5_T_H, A0=A0
        )
    raise ValueError(f"Unknown Fig. 5 protocol {name!r}; use 'standard' or 'overclamp'.")


def run_fig5_case(item: Mapping[str, Any]) -> dict[str, Any]:
    """Train the lattice on one (ring diameter, split, protocol, seed) and evaluate it.

    A module-level function of one dict, so that `clln_theory.sweeps.run_sweep` can map it over
    a process pool or a Dask cluster.

    Parameters
    ----------
    item : mapping
        Required: ``eps`` (ring diameter, V), ``split`` (0-7), ``protocol`` (``"standard"``:
        η = 1; ``"overclamp"``: η = 0.25, L₀ = V₊). Optional (defaults in `FIG5_DEFAULTS`):
        ``seed`` (hardware: bias and initial gates), ``n_steps`` (learning steps of 100 µs),
        ``half_steps`` (steps between two adaptations of the overclamping r₀, and between two
        recorded samples; a divisor of ``n_steps``), ``r`` (measured rate factor: A₀ =
        r / (0.33 V · 1 kΩ · 2.2 µF), Appendix C), ``device``, ``gate_limits``, ``bias_scale``,
        ``placement`` (a mapping of the `Fig5Placement` roles; default `Fig5Placement()`).

    Returns
    -------
    dict
        ``accuracy`` (fraction of the 8 points on the right side), ``hinge`` (mean shortfall
        `clln_theory.metrics.hinge_loss`, V), ``E_class`` ((A2) averaged over both classes,
        V²), ``O`` (free outputs of the 8 ring points, V), ``labels``, ``G`` (final gates, V),
        ``hinge_trace`` (hinge loss at every sample), ``t_trace`` (sample times, s),
        ``runtime`` (s), and the settings used. If a circuit solve fails during training
        (`ConvergenceError`), the run is reported as failed: ``error`` holds the message and the
        results are None.

    Notes
    -----
    Training: `clln_theory.simulator.runs.simulate` (discrete mode, general Newton engine) on the
    interleaved 8-point task of `fig5_training_task`, one point per step of ``t_h = 100 µs``, so
    α and β alternate every 100 µs: the paper's ``tau = 200 µs``. The simulator's half period is
    ``half_steps`` steps; it only sets how often r₀ is re-adapted (overclamping: mean hold
    time over the active points equal to ``t_h``, "to keep the period approximately constant")
    and how often the state is recorded. Evaluation: fresh (cold-start) Newton solves of the
    free state at the final gates.
    """
    from .. import metrics
    from ..simulator.runs import simulate

    cfg = {**FIG5_DEFAULTS, **dict(item)}
    for k in ("eps", "split", "protocol"):
        if k not in cfg:
            raise ValueError(f"A Fig. 5 case needs {k!r}, but the item {dict(item)!r} lacks it.")
    eps, split, name = float(cfg["eps"]), int(cfg["split"]), str(cfg["protocol"])
    n_steps, half = int(cfg["n_steps"]), int(cfg["half_steps"])
    if half < 1 or n_steps < half or n_steps % half:
        raise ValueError(
            f"`n_steps` ({n_steps}) must be a positive multiple of `half_steps` ({half})."
        )
    t0 = time.perf_counter()
    net = fig5_network(cfg["device"])
    seed = int(cfg["seed"])
    B = fig5_bias(net, seed, scale=float(cfg["bias_scale"]))
    G0 = fig5_initial_gates(net, seed)
    A0 = float(cfg["r"]) / (0.33 * 1e3 * 2.2e-6)  # (C2) times the measured factor r
    pl = _placement(cfg.get("placement"))
    task = fig5_training_task(eps, split, placement=pl)
    limits = cfg["gate_limits"]
    try:
        tr = simulate(
            net,
            [task],
            G0,
            tau=2 * half * FIG5_T_H,
            n_periods=n_steps / (2 * half),
            B=B,
            protocol=_protocol(name, A0),
            gate_limits=None if limits is None else tuple(limits),
            record="half",
        )
    except ConvergenceError as exc:
        # A circuit solve failed during training: report the run as failed (None -> NaN in
        # Fig5Result, excluded from means and counted), so that one run does not end a sweep.
        return {
            "accuracy": None,
            "hinge": None,
            "E_class": None,
            "O": [None] * _N_RING,
            "labels": split_labels(split).tolist(),
            "G": [None] * net.n_gates,
            "t_trace": [],
            "hinge_trace": [],
            "accuracy_trace": [],
            "runtime": time.perf_counter() - t0,
            "A0": A0,
            "n_steps": n_steps,
            "engine": None,
            "error": f"{type(exc).__name__}: {exc}",
        }
    # The final gates are the last sample of the trajectory: check that it is the end of the run
    # (before commit 07be9ea, simulate() counted an integer record stride within each half period
    # and could end a trajectory early, or record only t = 0).
    if not np.isclose(tr.times[-1], n_steps * FIG5_T_H, rtol=0, atol=0.5 * FIG5_T_H):
        raise RuntimeError(
            f"The trajectory's last sample is at t = {tr.times[-1]:.6g} s, not at the end of the "
            f"run ({n_steps * FIG5_T_H:.6g} s); its final gates would be wrong."
        )
    G = np.asarray(tr.G_final)
    X = ring_inputs(eps)
    y = split_labels(split)
    O = classification_outputs(net, G, X[:, 0], X[:, 1], placement=pl)
    # ring order -> interleaved order of the trained task, for the recorded trace
    order = np.r_[np.flatnonzero(y > 0), np.flatnonzero(y < 0)]
    inter = np.ravel(np.column_stack([order[:4], order[4:]]))
    trace = metrics.hinge_loss(tr.outputs[0], y[inter])
    acc_trace = metrics.accuracy(tr.outputs[0], y[inter])
    return {
        "accuracy": metrics.accuracy(O, y),
        "hinge": metrics.hinge_loss(O, y),
        "E_class": 0.5 * (_e_class(O[y > 0], y[y > 0]) + _e_class(O[y < 0], y[y < 0])),
        "O": O.tolist(),
        "labels": y.tolist(),
        "G": G.tolist(),
        "t_trace": np.asarray(tr.times).tolist(),
        "hinge_trace": np.atleast_1d(trace).tolist(),
        "accuracy_trace": np.atleast_1d(acc_trace).tolist(),
        "runtime": time.perf_counter() - t0,
        "A0": A0,
        "n_steps": n_steps,
        "engine": tr.engine,
    }


def _e_class(O: np.ndarray, labels: np.ndarray) -> float:
    """(A2): mean of ``delta² Θ(L delta)`` over one class, V²."""
    delta = labels - O
    return float(np.mean(np.where(labels * delta > 0, delta**2, 0.0)))


# --------------------------------------------------------------------------- the whole figure
@dataclass(frozen=True, slots=True)
class Fig5Result:
    """Accuracy and hinge loss of the Fig. 5 experiment, per protocol, diameter, seed and split.

    Attributes
    ----------
    protocols : tuple of str
        ``("standard", "overclamp")`` or a subset.
    eps : (n_eps,) ndarray
        Ring diameters, V.
    seeds : tuple of int
    splits : tuple of int
    accuracy : (n_protocols, n_eps, n_seeds, n_splits) ndarray
        Training accuracy (fraction of the 8 points classified by the sign of ``O``).
    hinge : same shape
        Hinge loss (mean shortfall beyond the label, `clln_theory.metrics.hinge_loss`), V.
    E_class : same shape
        Classification error (A2), averaged over the two classes (A3), V².
    O : (n_protocols, n_eps, n_seeds, n_splits, 8) ndarray
        Final free outputs of the ring points, V.
    G : (n_protocols, n_eps, n_seeds, n_splits, n_gates) ndarray
        Final gates, V.
    settings : mapping
        The run settings (`FIG5_DEFAULTS` overridden by the call).
    runtime : float
        Summed compute time of all cases, s (wall time is smaller on several workers).
    elapsed : float
        Wall time of the sweep, s.
    errors : tuple of str
        One line per failed run (its case and the solver's message); a failed run is NaN in
        the arrays and left out of `mean`, `stderr` and `count`.
    t_trace : (n_samples,) ndarray, optional
        Times of the training samples (every ``half_steps`` steps), s.
    accuracy_trace : (n_protocols, n_eps, n_seeds, n_splits, n_samples) ndarray, optional
        Training accuracy of the free network at those times (NaN for failed runs).
    """

    protocols: tuple[str, ...]
    eps: np.ndarray
    seeds: tuple[int, ...]
    splits: tuple[int, ...]
    accuracy: np.ndarray
    hinge: np.ndarray
    E_class: np.ndarray
    O: np.ndarray
    G: np.ndarray
    settings: Mapping[str, Any] = field(default_factory=dict)
    runtime: float = 0.0
    elapsed: float = 0.0
    errors: tuple[str, ...] = ()
    t_trace: np.ndarray | None = None
    accuracy_trace: np.ndarray | None = None

    def _flat(self, quantity: str) -> np.ndarray:
        a = np.asarray(getattr(self, quantity), dtype=float)
        return a.reshape(*a.shape[:2], -1)

    def count(self) -> np.ndarray:
        """Number of finished (not failed) runs per ``(protocol, eps)``."""
        return np.isfinite(self._flat("accuracy")).sum(axis=-1)

    def mean(self, quantity: str = "accuracy") -> np.ndarray:
        """Mean over seeds and splits, ``(n_protocols, n_eps)`` (Fig. 5B, C), without failures."""
        a = self._flat(quantity)
        n = np.isfinite(a).sum(axis=-1)
        return np.where(n > 0, np.nansum(a, axis=-1) / np.maximum(n, 1), np.nan)

    def stderr(self, quantity: str = "accuracy") -> np.ndarray:
        """Standard error over seeds and splits, ``(n_protocols, n_eps)`` (0 for one run)."""
        a = self._flat(quantity)
        n = np.isfinite(a).sum(axis=-1)
        dev = np.where(np.isfinite(a), a - self.mean(quantity)[..., None], 0.0)
        var = (dev**2).sum(axis=-1) / np.maximum(n - 1, 1)
        return np.where(n > 1, np.sqrt(var / np.maximum(n, 1)), 0.0)

    def table(self) -> str:
        """Plain-text table: accuracy and hinge loss (mean ± s.e.) per diameter and protocol."""
        acc, acc_e = self.mean("accuracy"), self.stderr("accuracy")
        h, h_e = self.mean("hinge"), self.stderr("hinge")
        head = "eps [mV] | " + " | ".join(
            f"{p:>9} acc [%]    {p:>9} hinge [mV]" for p in self.protocols
        )
        lines = [head, "-" * len(head)]
        for j, e in enumerate(self.eps):
            cells = [
                f"{100 * acc[i, j]:6.1f} ± {100 * acc_e[i, j]:4.1f}      "
                f"{1e3 * h[i, j]:7.3f} ± {1e3 * h_e[i, j]:5.3f}"
                for i in range(len(self.protocols))
            ]
            lines.append(f"{1e3 * e:8.0f} | " + " | ".join(cells))
        if self.errors:
            lines.append(f"{len(self.errors)} failed run(s), left out of the means:")
            lines.extend(f"  {e}" for e in self.errors)
        return "\n".join(lines)

    def split_table(self, seed: int | None = None) -> str:
        """Plain-text table: accuracy [%] per split, per protocol and diameter (one seed)."""
        di = 0 if seed is None else self.seeds.index(seed)
        head = f"{'protocol':>9} eps [mV] | " + " ".join(f"{s:>4d}" for s in self.splits)
        lines = [f"accuracy [%] per split (seed {self.seeds[di]})", head, "-" * len(head)]
        for i, p in enumerate(self.protocols):
            for j, e in enumerate(self.eps):
                acc = 100 * self.accuracy[i, j, di]
                cells = " ".join(f"{a:4.0f}" if np.isfinite(a) else "fail" for a in acc)
                lines.append(f"{p:>9} {1e3 * e:8.0f} | " + cells)
        return "\n".join(lines)


def overclamping_experiment(
    *,
    eps: Sequence[float] = FIG5_EPS,
    splits: Iterable[int] = range(_N_RING),
    protocols: Sequence[str] = ("standard", "overclamp"),
    seeds: Iterable[int] = (0,),
    n_steps: int = FIG5_DEFAULTS["n_steps"],
    half_steps: int = FIG5_DEFAULTS["half_steps"],
    r: float = FIG5_DEFAULTS["r"],
    device: str = FIG5_DEFAULTS["device"],
    bias_scale: float = FIG5_BIAS_SCALE,
    placement: Fig5Placement | Mapping[str, str] | None = None,
    executor: Any = None,
    max_workers: int | None = None,
    path: Any = None,
    progress: bool | None = None,
) -> Fig5Result:
    """Run the Fig. 5 comparison: every protocol × diameter × seed × split, on an executor.

    Parameters
    ----------
    eps : sequence of float
        Ring diameters, V (default `FIG5_EPS`: 83 … 417 mV).
    splits : iterable of int
        Linear splits (default all 8).
    protocols : sequence of {"standard", "overclamp"}
    seeds : iterable of int
        Hardware seeds (bias, initial gates); each seed is one simulated physical network.
    n_steps, half_steps, r, device, bias_scale
        See `run_fig5_case`.
    placement : Fig5Placement or mapping of its roles, optional
        Node roles (default `Fig5Placement()`).
    executor, max_workers, path, progress
        Passed to `clln_theory.sweeps.run_sweep` (process pool by default; a result file makes
        the run resumable).

    Returns
    -------
    Fig5Result
    """
    from ..sweeps import grid, run_sweep

    eps_t = tuple(float(e) for e in eps)
    splits_t = tuple(int(s) for s in splits)
    seeds_t = tuple(int(s) for s in seeds)
    prots = tuple(protocols)
    for p in prots:
        if p not in ("standard", "overclamp"):
            raise ValueError(f"Unknown Fig. 5 protocol {p!r}; use 'standard' or 'overclamp'.")
    settings = {
        "n_steps": int(n_steps),
        "half_steps": int(half_steps),
        "r": float(r),
        "device": str(device),
        "bias_scale": float(bias_scale),
        "gate_limits": list(FIG5_DEFAULTS["gate_limits"]),
    }
    if placement is not None:  # stored in every item (and result-file record) as a plain dict
        pl = _placement(placement)
        settings["placement"] = {f.name: getattr(pl, f.name) for f in fields(pl)}
    items = [
        {**it, **settings} for it in grid(protocol=prots, eps=eps_t, seed=seeds_t, split=splits_t)
    ]
    res = run_sweep(
        run_fig5_case,
        items,
        executor=executor,
        max_workers=max_workers,
        path=path,
        progress=progress,
        desc="Fig. 5",
    )
    shape = (len(prots), len(eps_t), len(seeds_t), len(splits_t))
    recs = res.results

    def arr(key: str) -> np.ndarray:
        return np.array([r[key] for r in recs], dtype=float).reshape(*shape, -1).squeeze(-1)

    def vec(key: str) -> np.ndarray:
        return np.array([r[key] for r in recs], dtype=float).reshape(*shape, -1)

    errors = tuple(
        f"{it['protocol']} eps={1e3 * it['eps']:.0f} mV seed={it['seed']} split={it['split']}: "
        f"{r['error']}"
        for it, r in zip(items, recs)
        if r.get("error")
    )
    ok = [r for r in recs if not r.get("error")]
    n_t = len(ok[0]["t_trace"]) if ok else 0
    acc_tr = np.array(
        [r["accuracy_trace"] if not r.get("error") else [np.nan] * n_t for r in recs], dtype=float
    ).reshape(*shape, n_t)
    return Fig5Result(
        t_trace=np.array(ok[0]["t_trace"]) if ok else np.zeros(0),
        accuracy_trace=acc_tr,
        errors=errors,
        protocols=prots,
        eps=np.array(eps_t),
        seeds=seeds_t,
        splits=splits_t,
        accuracy=arr("accuracy"),
        hinge=arr("hinge"),
        E_class=arr("E_class"),
        O=vec("O"),
        G=vec("G"),
        settings=MappingProxyType(settings),
        runtime=float(sum(r["runtime"] for r in recs)),
        elapsed=res.elapsed,
    )


# --------------------------------------------------------------------------- figure
def plot_fig5(
    result: Fig5Result,
    path: Any = None,
    *,
    splits: Sequence[int] | None = None,
    seed: int | None = None,
    n_grid: int = 31,
) -> Any:
    """Figure in the layout of Fig. 5: output maps (A), accuracy (B) and hinge loss (C) vs ε.

    Parameters
    ----------
    result : Fig5Result
    path : path-like, optional
        Where to save (PNG, 150 dpi); the figure is returned either way.
    splits : sequence of int, optional
        Splits shown in the maps (default: splits 0 and 4 if present, whose dividing lines are
        the same with the classes swapped, so they need opposite output sensitivities; else the
        first split of ``result``).
    seed : int, optional
        Which hardware seed to show in the maps (default: the first).
    n_grid : int
        Map resolution per axis (each pixel is one free-state Newton solve).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install clln_theory[plot]``).

    Notes
    -----
    A: one row per (split, protocol), one column per diameter: the trained network's output
    ``O(V1, V2)`` over the square ``centre ± 0.75 ε`` (each map zoomed to its ring; colour clipped
    at ``±3 |L|``; decision boundary ``O = 0`` in black), with the training points (blue: class
    α, ``L = +18 mV``; red: class β) and the run's accuracy. B: mean accuracy ± standard error
    over splits and seeds. C: mean hinge loss ± s.e. on a log axis, with a broken-off strip below
    it that shows the value 0 (as in the paper).
    """
    try:
        import matplotlib.pyplot as plt
        from matplotlib.colors import TwoSlopeNorm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plot_fig5 needs matplotlib; install it with `pip install clln_theory[plot]`."
        ) from exc

    if splits is None:
        splits = (0, 4) if {0, 4} <= set(result.splits) else result.splits[:1]
    shown = [result.splits.index(int(s)) for s in splits]
    di = 0 if seed is None else result.seeds.index(seed)
    net = fig5_network(result.settings.get("device", "three_regime"))
    pl = _placement(result.settings.get("placement"))
    n_eps, n_p = result.eps.size, len(result.protocols)
    n_rows = n_p * len(shown)
    colors = {"standard": "0.35", "overclamp": "#d89c00"}
    labels = {"standard": "standard clamping (η = 1)", "overclamp": "overclamping (η = 0.25)"}
    short = {"standard": "standard", "overclamp": "overclamp"}
    fig = plt.figure(figsize=(2.1 * max(n_eps, 4) + 1.0, 2.0 * n_rows + 3.6), layout="constrained")
    sub = fig.subfigures(2, 1, height_ratios=[2.0 * n_rows, 3.4])
    axs = np.atleast_2d(sub[0].subplots(n_rows, n_eps, squeeze=False))
    lim = 3 * FIG5_LABEL
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    c = 0.5 * (FIG5_V_PLUS + FIG5_V_MINUS)
    im = None
    for r_s, si in enumerate(shown):
        y = split_labels(result.splits[si])
        for i, prot in enumerate(result.protocols):
            row = r_s * n_p + i
            for j, e in enumerate(result.eps):
                ax = axs[row, j]
                ax.set_xticks([])
                ax.set_yticks([])
                if not np.all(np.isfinite(result.G[i, j, di, si])):
                    ax.text(0.5, 0.5, "run failed\n(circuit solve)", ha="center", va="center",
                            transform=ax.transAxes, fontsize=8)  # fmt: skip
                    continue
                u = np.linspace(c - 0.75 * e, c + 0.75 * e, n_grid)
                V1, V2 = np.meshgrid(u, u)
                Omap = classification_outputs(net, result.G[i, j, di, si], V1, V2, placement=pl)
                im = ax.pcolormesh(
                    1e3 * V1, 1e3 * V2, np.clip(Omap, -lim, lim), cmap="RdBu", norm=norm,
                    shading="auto",
                )  # fmt: skip
                if Omap.min() < 0 < Omap.max():
                    ax.contour(1e3 * V1, 1e3 * V2, Omap, levels=[0.0], colors="k", linewidths=1)
                X = ring_inputs(e)
                ax.scatter(
                    1e3 * X[:, 0], 1e3 * X[:, 1], c=np.where(y > 0, "#1f4e9c", "#c0272d"), s=26,
                    edgecolors="white", linewidths=0.8, zorder=3,
                )  # fmt: skip
                ax.set_aspect("equal")
                ax.set_xticks([])
                ax.set_yticks([])
                acc = result.accuracy[i, j, di, si]
                head = f"ε = {1e3 * e:.0f} mV\n" if row == 0 else ""
                ax.set_title(f"{head}acc {100 * acc:.0f}%", fontsize=8.5)
                if j == 0:
                    ax.set_ylabel(f"split {result.splits[si]}\n{short[prot]}", fontsize=9)
    cb = sub[0].colorbar(im, ax=axs, shrink=0.6, pad=0.01)
    cb.set_label("output O [V]")
    sub[0].suptitle(
        "A  trained output O(V₁, V₂) (maps span ±0.75 ε; black: O = 0; dots: training data, "
        "blue L = +18 mV, red L = −18 mV)",
        x=0.01,
        ha="left",
        fontsize=9.5,
    )
    traces = result.accuracy_trace is not None and result.t_trace is not None
    traces = traces and result.t_trace.size > 1
    gs = sub[1].add_gridspec(2, 3 if traces else 2, height_ratios=[5, 1], hspace=0.05)
    axB = sub[1].add_subplot(gs[:, 0])
    axC = sub[1].add_subplot(gs[0, 1])
    axZ = sub[1].add_subplot(gs[1, 1], sharex=axC)
    if traces:
        axD = sub[1].add_subplot(gs[:, 2])
        tr = np.asarray(result.accuracy_trace, dtype=float)
        tr = tr.reshape(*tr.shape[:2], -1, tr.shape[-1])
        for i, prot in enumerate(result.protocols):
            for j, ls in ((0, "-"), (result.eps.size - 1, ":")):
                m = np.nanmean(tr[i, j], axis=0) if np.isfinite(tr[i, j]).any() else None
                if m is None:
                    continue
                axD.plot(
                    1e3 * result.t_trace, 100 * m, ls, color=colors[prot], lw=1.3,
                    label=f"{short[prot]}, ε = {1e3 * result.eps[j]:.0f} mV",
                )  # fmt: skip
        axD.set_ylim(0, 105)
        axD.axhline(50, color="0.8", lw=0.8, zorder=0)
        axD.set_xlabel("training time [ms]")
        axD.set_ylabel("training accuracy [%] (mean)")
        axD.set_title("D  during training", loc="left", fontsize=10)
        axD.legend(fontsize=7, loc="lower right")
    eps_mV = 1e3 * result.eps
    acc_m, acc_e = 100 * result.mean("accuracy"), 100 * result.stderr("accuracy")
    h_m, h_e = 1e3 * result.mean("hinge"), 1e3 * result.stderr("hinge")
    pos = h_m[h_m > 0]
    floor = 10 ** np.floor(np.log10(pos.min() / 2)) if pos.size else 1e-3
    for i, prot in enumerate(result.protocols):
        kw = dict(color=colors[prot], marker="o", capsize=3, label=labels[prot])
        axB.errorbar(eps_mV, acc_m[i], yerr=acc_e[i], **kw)
        on_log = h_m[i] > 0
        axC.errorbar(eps_mV[on_log], h_m[i, on_log], yerr=h_e[i, on_log], **kw)
        axC.plot(eps_mV, np.where(on_log, h_m[i], np.nan), color=colors[prot], lw=1)
        zero = h_m[i] == 0
        axZ.plot(eps_mV[zero], np.zeros(zero.sum()), "o", color=colors[prot])
    axB.set_xlabel("ring diameter ε [mV]")
    axB.set_ylabel("training accuracy [%]")
    axB.set_ylim(0, 105)
    axB.axhline(50, color="0.8", lw=0.8, zorder=0)
    axB.set_title("B", loc="left", fontsize=10)
    axB.legend(fontsize=8, loc="lower right")
    axC.set_yscale("log")
    axC.set_ylim(bottom=floor)
    axC.set_ylabel("hinge loss [mV]")
    axC.set_title("C", loc="left", fontsize=10)
    axC.tick_params(labelbottom=False, bottom=False)
    axC.spines["bottom"].set_visible(False)
    axZ.set_ylim(-1, 1)
    axZ.set_yticks([0])
    axZ.axhline(0, color="k", lw=1.0)
    axZ.spines["top"].set_visible(False)
    axZ.set_xlabel("ring diameter ε [mV]")
    brk = dict(marker=[(-1, -0.5), (1, 0.5)], markersize=9, ls="none", color="k", clip_on=False)
    axC.plot([0, 1], [0, 0], transform=axC.transAxes, **brk)  # axis break marks
    axZ.plot([0, 1], [1, 1], transform=axZ.transAxes, **brk)
    n = len(result.splits) * len(result.seeds)
    st = result.settings
    failed = f"; {len(result.errors)} failed run(s) left out" if result.errors else ""
    sub[1].suptitle(
        f"B-D: mean (± s.e.) over {n} runs ({len(result.splits)} splits × {len(result.seeds)} "
        f"seeds{failed}); 4×4 periodic lattice, {st.get('device', '?')} MOSFETs, bias ~ N(0, "
        f"({st.get('bias_scale', FIG5_BIAS_SCALE):g} V/s)²), {st.get('n_steps', '?')} steps of "
        "100 µs",
        fontsize=8,
    )
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def _placement(spec: Any) -> Fig5Placement:
    """A `Fig5Placement` from ``None`` (default), a placement, or a mapping of its roles."""
    if spec is None:
        return Fig5Placement()
    if isinstance(spec, Fig5Placement):
        return spec
    if isinstance(spec, Mapping):
        return Fig5Placement(**dict(spec))
    raise TypeError(
        f"A Fig. 5 placement must be a Fig5Placement or a mapping of its roles, but is {spec!r}."
    )
