"""Fig. 5 of the paper: overclamping vs standard clamping on a ring classification.

The experiment (Fig. 5; Appendices A, B, F of the paper)
---------------------------------------------------------
A 4 × 4 periodic lattice of self-adjusting transistors (`fig5_network`: 16 nodes, 32 learning
edges) learns to classify eight points equally spaced on a ring of diameter ``eps`` in the 2-D
input space ``(V1, V2)`` (`ring_inputs`). Four neighbouring points form class α (label
``L+ = +18 mV``), the other four class β (``L- = -18 mV``); rotating the dividing line gives the
8 linear splits (`split_labels`). The diameters are ``eps = k (V+ - V-)/5``, ``k = 1..5``
(`FIG5_EPS`: 83 … 417 mV, "equally spaced", Appendix B; the largest ring spans ``[V-, V+]``),
centred at ``((V+ + V-)/2, (V+ + V-)/2)``.

Each point imposes the inputs ``V1``, ``V2``, the inverted inputs ``V1' = V+ - V1``,
``V2' = V+ - V2`` (Fig. 1 caption) and the supplies ``V+ = 0.435 V``, ``V- = 0.018 V``
(Appendix B); the output is the difference ``O = V[O+] - V[O-]``. The two classes are two tasks
(`fig5_tasks`), trained alternately with period ``tau = 200 µs``: one data point per half period,
held ``t_h = 100 µs`` (`fig5_training_task` interleaves them into the trained sequence).

Protocols: standard clamping (``"standard"``: η = 1, (1) of the paper) and overclamping
(``"overclamp"``: η = 0.25, ``L0 = V+``, (F5) with hold time ``t_h = r0 |delta|``, r0 adapted
so that the mean hold time stays ``t_h``). Every edge carries a constant random learning bias of
order 2 V/s (`fig5_bias`, Appendix C) and starts from random gates (`fig5_initial_gates`).

Which node plays which role
---------------------------
The paper shows the input and output nodes only in a photograph (Fig. 1A); `Fig5Placement`
is this package's choice. The outputs sit two steps apart in one row and share V1 and V1' as
direct neighbours; V2 and V2' are two steps from both outputs, each output reaching each of them
through its own hidden node (``a``-``d``); ``.`` are the other hidden nodes::

        col 0    col 1    col 2    col 3
    0   V+       a        V2       b
    1   V1'      O+       V1       O-
    2   .        c        V2'      d
    3   .        .        V-       .

Mirroring the columns swaps O+ and O- and fixes every imposed node, so the wiring favours no
sign of any output sensitivity: the 8 splits differ only through the random hardware. Every
split needs ``|dO/dVi| > 1`` for one input at the smallest ring, which needs both outputs to be
electrically close to both an input and its inverse.

Running it
----------
`clln_theory.experiments.fig5_runs` trains the lattice: `run_fig5_case` trains and evaluates
one (diameter, split, clamping, seed) case and returns a JSON-ready dict (accuracy, hinge loss
`clln_theory.metrics.hinge_loss`, the classification error (A2)/(A3), the final outputs and
gates, the training traces; a case whose circuit solve fails is reported, not raised);
`overclamping_experiment` runs every case on an executor and collects a `Fig5Result` (arrays
indexed ``(clamping, eps, seed, split)``, means, standard errors, tables);
`clln_theory.plotting.plot_fig5` draws the figure.

One integer ``seed`` fixes the hardware, the per-edge bias ``B ~ N(0, (2 V/s)^2)`` and the
initial gates ``G0 ~ U(2.5 V, 3.5 V)``; the same hardware serves every split, diameter and
clamping mode (one physical network), so the comparison is paired.

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
(4, 4, Differential(plus='1,1', minus='1,3'), 0.018, -0.018)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .._checks import (
    check_record,
    construction,
    count,
    finite_result,
    instance,
    number,
    positive,
    real_array,
    validator,
)
from ..errors import ArgumentError, NetworkError, ShapeError
from ..model import (
    Differential,
    Network,
    Task,
    periodic_lattice,
)
from ..model.devices import device_named
from ._ring import (
    ring_outputs,
    ring_points,
    seeded_bias,
    seeded_gates,
    split_signs,
    task_pair,
    training_task,
)
from .paper import FIG5_BIAS_SCALE, FIG5_LABEL, FIG5_V_MINUS, FIG5_V_PLUS

__all__ = [
    "FIG5_EPS",
    "FIG5_L0",
    "N_RING",
    "Fig5Placement",
    "classification_outputs",
    "fig5_bias",
    "fig5_initial_gates",
    "fig5_network",
    "fig5_tasks",
    "fig5_training_task",
    "ring_inputs",
    "split_labels",
]

#: Overclamping target magnitude L₀ = V₊ (Appendix B), V.
FIG5_L0 = FIG5_V_PLUS
#: Ring diameters: equally spaced from 83 mV to 417 mV = V+ - V- (Appendix B), V.
FIG5_EPS = tuple((FIG5_V_PLUS - FIG5_V_MINUS) * k / 5 for k in range(1, 6))
#: Number of points on the ring (Fig. 5).
N_RING = 8
#: Most ring points a call may ask for: far beyond any figure, and it bounds the arrays.
_MAX_POINTS = 10**6
#: Largest input magnitude `classification_outputs` takes, V: the supplies span 0.018-0.435 V
#: and every Fig. 5 ring (even a map around the largest allowed one) stays inside ±10 V; far
#: beyond it the transistors carry amperes and Newton's method on (KCL) stops converging.
_V_MAX = 10.0


# --------------------------------------------------------------------------- placement, tasks
@dataclass(frozen=True, slots=True)
class Fig5Placement:
    """Which lattice node plays which role in the Fig. 5 experiment (this package's choice).

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

    @construction
    def __post_init__(self) -> None:
        check_record(self, **dict.fromkeys((f.name for f in fields(self)), "text"))
        names = [getattr(self, f.name) for f in fields(self)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise NetworkError(
                f"Each role of the Fig. 5 placement needs its own node, but {dup} are used twice."
            )

    @classmethod
    def from_spec(cls, spec: Any) -> Fig5Placement:
        """A placement from None (the default), a placement, or a mapping of its roles.

        Parameters
        ----------
        spec : None, Fig5Placement or mapping of str to str
            The roles (``V1``, ``V2``, ``V1_inv``, ...) and their nodes.

        Returns
        -------
        Fig5Placement

        Raises
        ------
        ArgumentError
            ``spec`` of another type.
        """
        if spec is None:
            return cls()
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, Mapping):
            return cls(**dict(spec))
        raise ArgumentError(
            "Argument `placement` must be a Fig5Placement or a mapping of its roles, but is "
            f"{type(spec).__name__}."
        )

    @property
    def imposed(self) -> tuple[str, ...]:
        """Imposed nodes in the order ``(V1, V2, V1', V2', V+, V-)``."""
        return (self.V1, self.V2, self.V1_inv, self.V2_inv, self.V_plus, self.V_minus)

    @property
    def output(self) -> Differential:
        """The differential output pair ``(out_plus, out_minus)``."""
        return Differential(self.out_plus, self.out_minus)

    def imposed_values(
        self, V1: Any, V2: Any, *, V_plus: float = FIG5_V_PLUS, V_minus: float = FIG5_V_MINUS
    ) -> np.ndarray:
        """Imposed voltages ``(..., 6)`` in `imposed` order for inputs ``V1``, ``V2``.

        Parameters
        ----------
        V1, V2 : array_like
            Inputs, V (broadcast together).
        V_plus, V_minus : float
            Supplies, V.
        """
        V1 = np.asarray(V1, dtype=float)
        V2 = np.asarray(V2, dtype=float)
        V1, V2 = np.broadcast_arrays(V1, V2)
        return np.stack(
            [V1, V2, V_plus - V1, V_plus - V2, np.full_like(V1, V_plus), np.full_like(V1, V_minus)],
            axis=-1,
        )


def fig5_network(device: str | Any = "three-regime", *, L: int = 4) -> Network:
    """The periodic ``L x L`` lattice of Fig. 5 with the given learning-edge device.

    Parameters
    ----------
    device : {"three-regime", "ohmic", "linear"} or Device
        ``"three-regime"`` (default): `ThreeRegimeMOSFET`, the transistor of the experiment;
        ``"ohmic"``: Eq. (2); ``"linear"``: the theory's resistor.
    L : int
        Lattice size (4 in the paper: 16 nodes, 32 edges).

    Returns
    -------
    Network

    Raises
    ------
    ArgumentError
        An unknown device name.

    Examples
    --------
    >>> net = fig5_network()
    >>> net.n_nodes, net.n_gates, type(net.device).__name__
    (16, 32, 'ThreeRegimeMOSFET')
    """
    if isinstance(device, str):
        device = device_named(device)
    return periodic_lattice(L, device=device)


def ring_inputs(
    eps: float,
    *,
    n_points: int = N_RING,
    center: tuple[float, float] | None = None,
    phase: float = 0.0,
) -> np.ndarray:
    """Input points ``(V1, V2)`` equally spaced on a ring of diameter ``eps``.

    Parameters
    ----------
    eps : float
        Ring diameter, V (> 0).
    n_points : int
        Number of points (8 in Fig. 5; even, at most 10⁶).
    center : (float, float), optional
        Ring centre, V. Default: the centre of the input range, ``(V+ + V-)/2`` in both inputs.
    phase : float
        Angle of point 0, radians (counter-clockwise from the ``V1`` axis).

    Returns
    -------
    (n_points, 2) ndarray
        Point ``k`` at angle ``phase + 2 pi k / n_points``.

    Raises
    ------
    ArgumentError
        A diameter that is not a finite number > 0, an odd ``n_points`` (or more than 10⁶), or
        a ``phase`` that is not a finite number.
    """
    eps = positive(eps, "eps", unit="V")
    if count(n_points, "n_points", minimum=2, maximum=_MAX_POINTS) % 2:
        raise ArgumentError(f"Argument `n_points` must be an even integer, but is {n_points}.")
    return ring_points(eps, n_points, center, number(phase, "phase", unit="rad"))


def split_labels(split: int, *, n_points: int = N_RING, label: float = FIG5_LABEL) -> np.ndarray:
    """Labels of one linear split of the ring: ``+label`` on half the ring, ``-label`` on the rest.

    Split ``s`` gives class α (``+label``) to points ``s, s+1, …, s + n/2 - 1`` (mod ``n``):
    rotating the dividing line by one point spacing moves ``s`` by one, so ``s = 0 … n-1`` are
    the ``n`` distinct linear splits of Fig. 5 (each dividing line with both class assignments).

    Parameters
    ----------
    split : int
        Which split, in ``[0, n_points)``.
    n_points : int
        Number of ring points (8 in Fig. 5; at least 2, at most 10⁶).
    label : float
        ``|L±|``, V (> 0).

    Returns
    -------
    (n_points,) ndarray
        Labels, V.

    Raises
    ------
    ArgumentError
        A ``split`` that is not an integer in ``[0, n_points)``, a bad ``n_points`` or a
        ``label`` that is not a finite number > 0.

    Examples
    --------
    >>> (split_labels(6) * 1e3).round().astype(int).tolist()
    [18, 18, -18, -18, -18, -18, 18, 18]
    """
    n_points = count(n_points, "n_points", minimum=2, maximum=_MAX_POINTS)
    split = count(split, "split", minimum=0, maximum=n_points - 1)
    return split_signs(split, n_points, positive(label, "label", unit="V"))


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
    eps, split, label, phase = _ring_args(eps, split, label, phase)
    return task_pair(eps, split, placement or Fig5Placement(), label, phase, N_RING)


@validator
def _ring_args(eps: Any, split: Any, label: Any, phase: Any) -> tuple[float, int, float, float]:
    """``eps`` (V, > 0), ``split`` (an integer in ``[0, N_RING)``), ``label`` (V, > 0) and
    ``phase`` (rad, finite) of one Fig. 5 case."""
    return (
        positive(eps, "eps", unit="V"),
        count(split, "split", minimum=0, maximum=N_RING - 1),
        positive(label, "label", unit="V"),
        number(phase, "phase", unit="rad"),
    )


def fig5_bias(network: Network, seed: int, *, scale: float = FIG5_BIAS_SCALE) -> np.ndarray:
    """Seeded per-edge learning bias ``B ~ N(0, scale²)``, V/s, one per gate (Appendix C).

    Parameters
    ----------
    network : Network
        The lattice (its number of gates).
    seed : int
        Hardware seed.
    scale : float
        Standard deviation, V/s (>= 0).

    Returns
    -------
    (n_gates,) ndarray

    Raises
    ------
    ArgumentError
        A ``network`` that is not a `Network`, a ``seed`` that is not an integer >= 0, or a
        ``scale`` that is not a finite number >= 0.
    NumericalRangeError
        A ``scale`` so large that the bias overflows.

    Examples
    --------
    >>> B = fig5_bias(fig5_network(), seed=0)
    >>> B.shape, bool(1.0 < B.std() < 3.0)
    ((32,), True)
    """
    instance(network, "network", Network)
    seed = count(seed, "seed", minimum=0)
    scale = number(scale, "scale", low=0.0, unit="V/s")
    with np.errstate(over="ignore", invalid="ignore"):
        B = seeded_bias(network.n_gates, seed, scale)
    return finite_result(B, "bias", hint="Check the magnitude of `scale`.")


def fig5_initial_gates(
    network: Network, seed: int, *, low: float = 2.5, high: float = 3.5
) -> np.ndarray:
    """Seeded initial gates ``G0 ~ U(low, high)``, V, one per gate.

    Parameters
    ----------
    network : Network
        The lattice (its number of gates).
    seed : int
        Hardware seed.
    low, high : float
        Range of the uniform distribution, V (finite, ``low < high``).

    Returns
    -------
    (n_gates,) ndarray

    Raises
    ------
    ArgumentError
        A ``network`` that is not a `Network`, a ``seed`` that is not an integer >= 0, or a
        range that is not finite with ``low < high``.
    """
    instance(network, "network", Network)
    seed = count(seed, "seed", minimum=0)
    low, high = number(low, "low", unit="V"), number(high, "high", unit="V")
    if not high > low or not np.isfinite(high - low):
        raise ArgumentError(
            f"Argument `high` must be a number > `low` = {low!r} with a finite range (V), but is "
            f"{high!r}."
        )
    return seeded_gates(network.n_gates, seed, low, high)


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
        Inputs, V (broadcast together; within ±10 V).
    placement : Fig5Placement, optional
        Node roles (default `Fig5Placement()`).

    Returns
    -------
    O : ndarray, shape of ``broadcast(V1, V2)``
        Volts.

    Raises
    ------
    ArgumentError
        A ``network`` that is not a `Network`; inputs that are not finite real arrays within
        ±10 V.
    ShapeError
        ``V1`` and ``V2`` that do not broadcast together.
    NumericalRangeError
        Inputs so large that the circuit's arithmetic overflows.
    """
    instance(network, "network", Network)
    pl = placement or Fig5Placement()
    V1, V2 = real_array(V1, "V1"), real_array(V2, "V2")
    for name, a in (("V1", V1), ("V2", V2)):
        if a.size and np.abs(a).max() > _V_MAX:
            raise ArgumentError(
                f"Argument `{name}` must lie in [-{_V_MAX:g}, {_V_MAX:g}] V, but reaches "
                f"{float(a.flat[np.abs(a).argmax()])!r}."
            )
    try:
        np.broadcast_shapes(V1.shape, V2.shape)
    except ValueError:
        raise ShapeError(
            f"Arguments `V1` and `V2` must broadcast together, but have shapes {V1.shape} and "
            f"{V2.shape}."
        ) from None
    G = network.check_gates(G)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = ring_outputs(network, G, pl.imposed_values(V1, V2), pl)
    return finite_result(out, "outputs", hint="Check the magnitudes of `V1` and `V2`.")


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
    of each class. `clln_theory.simulator.simulate` restarts the point cycle of a task at every
    task switch, so two 4-point tasks with ``tau = 2 t_h`` would train only the first point of
    each class. One task holding the interleaved points, trained alone, gives exactly the
    paper's sequence of steps (see `run_fig5_case`).

    Parameters
    ----------
    eps, split, placement, label, phase
        As in `fig5_tasks`.

    Returns
    -------
    Task
        Classification task ``"ring"``, differential output, 8 points.
    """
    eps, split, label, phase = _ring_args(eps, split, label, phase)
    return training_task(eps, split, placement or Fig5Placement(), label, phase, N_RING)
