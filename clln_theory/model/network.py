"""Resistor networks whose learning edges are gate-controlled conductances.

A `Network` has named nodes and oriented edges ``a -> b``. Each edge is either *fixed* (a
conductance ``K`` in siemens) or *learning* (a device with parameters ``S`` in A/V² and ``V_T`` in
volts, controlled by a gate voltage). The gate vector ``G`` runs over the learning edges only, in
edge order; ``network.gate_names`` documents that order.

Builders: `Network.from_edges`, `from_networkx`, `star_network` (the paper's 2+1 network of
Figs. 2 and 3) and `periodic_lattice` (the paper's large network is ``periodic_lattice(4)``).
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .._checks import count, gate_vector, number, quote, readonly, validator, vector
from .._files import atomic_write
from ..errors import ArgumentError, DeviceError, NetworkError, ShapeError, TaskError
from ._conductance import conductances_in_range
from ._spice import spice_netlist
from .devices import Device, LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET
from .edges import (
    CONDUCTANCE_RANGE,
    MAX_THRESHOLD,
    SLOPE_RANGE,
    Edge,
    edge_number,
)

__all__ = [
    "PAPER_S",
    "PAPER_V_T",
    "Edge",
    "Network",
    "from_networkx",
    "periodic_lattice",
    "star_network",
]

#: Transistor transconductance factor S of ``K = S (G - V_T)``, A/V²: the default of every
#: builder. The value fitted to the paper's small network (its source is quoted with the paper's
#: other constants in `clln_theory.experiments.paper`).
PAPER_S = 8.5e-4
#: Threshold voltage V_T of the paper's transistors, V: the default of every builder.
PAPER_V_T = 0.7

#: Largest side of `periodic_lattice`: 256 x 256 = 65,536 nodes and 131,072 edges (a second or
#: two to build); a larger lattice is refused before anything is allocated.
MAX_LATTICE_SIDE = 256


def _items(value: Any, name: str, what: str) -> tuple:
    """``value`` (a sequence, not a string) as a tuple; NetworkError naming ``name`` otherwise."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise NetworkError(
            f"Argument `{name}` must be a sequence of {what}, but is {quote(value)}."
        )
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Network:
    """A resistor network with learning (gate-controlled) and fixed edges.

    Parameters
    ----------
    nodes : sequence of str
        Node names, unique.
    edges : sequence of Edge
        Oriented edges between known nodes; no self-loops; at most one edge per node pair.
    device : Device
        Model of every learning edge (`LinearDevice` for the theory, a MOSFET model for the
        simulator). Swap with `with_device`.
    name : str
        Free-form label.

    Attributes
    ----------
    node_index : mapping str -> int
        Node name -> index.
    tail, head : (n_edges,) int arrays
        Node indices of ``a`` and ``b`` of each edge.
    learning_mask : (n_edges,) bool array
        True at learning edges.
    gate_edges : (n_gates,) int array
        Edge index of each gate, in gate order.
    gate_names : tuple of str
        Edge name of each gate, in gate order.
    S, V_T : (n_gates,) float arrays
        Device slope (A/V²) and threshold (V) of every gate.
    K_fixed : (n_edges,) float array
        Conductance of fixed edges; 0 at learning edges.
    incidence : (n_edges, n_nodes) sparse CSR matrix
        ``+1`` at ``a``, ``-1`` at ``b``: ``dV = incidence @ V``.

    Examples
    --------
    >>> net = star_network()
    >>> net.gate_names
    ('Low-Output', 'High-Output')
    >>> net.n_nodes, net.n_edges, net.n_gates
    (4, 3, 2)
    """

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]
    device: Device = field(default_factory=LinearDevice)
    name: str = ""
    node_index: Mapping[str, int] = field(init=False, repr=False, compare=False)
    tail: np.ndarray = field(init=False, repr=False, compare=False)
    head: np.ndarray = field(init=False, repr=False, compare=False)
    learning_mask: np.ndarray = field(init=False, repr=False, compare=False)
    gate_edges: np.ndarray = field(init=False, repr=False, compare=False)
    gate_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    S: np.ndarray = field(init=False, repr=False, compare=False)
    V_T: np.ndarray = field(init=False, repr=False, compare=False)
    K_fixed: np.ndarray = field(init=False, repr=False, compare=False)
    incidence: sp.csr_matrix = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nodes = _items(self.nodes, "nodes", "node names")
        edges = _items(self.edges, "edges", "Edge objects")
        for n in nodes:
            if not isinstance(n, str) or not n:
                raise NetworkError(
                    f"Argument `nodes`: node names must be non-empty strings, but got {n!r}."
                )
        if len(set(nodes)) != len(nodes):
            dup = sorted(n for n, times in Counter(nodes).items() if times > 1)
            raise NetworkError(f"Node names must be unique, but {dup} appear more than once.")
        if not edges:
            raise NetworkError("A network needs at least one edge, but none was given.")
        index = {n: i for i, n in enumerate(nodes)}
        seen_names: set[str] = set()
        seen_pairs: dict[frozenset[str], str] = {}
        for e in edges:
            if not isinstance(e, Edge):
                raise NetworkError(
                    f"Argument `edges` must hold Edge objects, but holds a {type(e).__name__}."
                )
            for end in (e.a, e.b):
                if not isinstance(end, str):  # a list is unhashable: name it, never a TypeError
                    raise NetworkError(
                        f"Edge {e.name!r} must join nodes named by strings, but has {end!r}."
                    )
                if end not in index:
                    raise NetworkError(
                        f"Edge {e.name!r} refers to unknown node {end!r}; add it to `nodes`."
                    )
            if e.name in seen_names:
                raise NetworkError(
                    f"Edge name {e.name!r} is used twice; edge names must be unique."
                )
            seen_names.add(e.name)
            pair = frozenset((e.a, e.b))
            if pair in seen_pairs:
                raise NetworkError(
                    f"Duplicate edge: {e.name!r} joins {e.a!r} and {e.b!r}, which edge "
                    f"{seen_pairs[pair]!r} already joins; merge them into one edge."
                )
            seen_pairs[pair] = e.name
        if not isinstance(self.device, Device):
            raise NetworkError(
                f"`device` must provide current() and current_and_derivatives(), but got "
                f"{type(self.device).__name__}."
            )
        tail = np.array([index[e.a] for e in edges], dtype=np.intp)
        head = np.array([index[e.b] for e in edges], dtype=np.intp)
        learning = np.array([e.learning for e in edges], dtype=bool)
        gate_edges = np.flatnonzero(learning).astype(np.intp)
        m, n_nodes = len(edges), len(nodes)
        inc = sp.csr_matrix(
            (
                np.r_[np.ones(m), -np.ones(m)],
                (np.r_[np.arange(m), np.arange(m)], np.r_[tail, head]),
            ),
            shape=(m, n_nodes),
        )
        set_ = object.__setattr__
        set_(self, "nodes", nodes)
        set_(self, "edges", edges)
        set_(self, "node_index", MappingProxyType(index))
        set_(self, "tail", readonly(tail))
        set_(self, "head", readonly(head))
        set_(self, "learning_mask", readonly(learning))
        set_(self, "gate_edges", readonly(gate_edges))
        set_(self, "gate_names", tuple(edges[i].name for i in gate_edges))
        set_(self, "S", readonly(np.array([edges[i].S for i in gate_edges], dtype=float)))
        set_(self, "V_T", readonly(np.array([edges[i].V_T for i in gate_edges], dtype=float)))
        set_(
            self,
            "K_fixed",
            readonly(np.array([0.0 if e.learning else e.K for e in edges], dtype=float)),
        )
        set_(self, "incidence", inc)

    # ------------------------------------------------------------------ sizes
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of edges (fixed and learning)."""
        return len(self.edges)

    @property
    def n_gates(self) -> int:
        """Number of learning edges, the length of ``G``."""
        return int(self.gate_edges.size)

    # ---------------------------------------------------------------- helpers
    def with_device(self, device: Device) -> Network:
        """The same circuit with another learning-edge model.

        Parameters
        ----------
        device : Device
            The new model of every learning edge.

        Returns
        -------
        Network
        """
        return Network(self.nodes, self.edges, device=device, name=self.name)

    def node(self, name: str) -> int:
        """Index of node ``name``.

        Parameters
        ----------
        name : str
            A node name.

        Returns
        -------
        int

        Raises
        ------
        NetworkError
            Naming the unknown node and the nearest names (difflib), or else listing the
            network's nodes.
        """
        try:
            return self.node_index[name]
        except KeyError:
            near = difflib.get_close_matches(str(name), self.nodes, n=3)
            hint = (
                "did you mean " + " or ".join(repr(n) for n in near) + "?"
                if near
                else f"the network's nodes are {list(self.nodes)}."
            )
            raise NetworkError(f"Unknown node {name!r}; {hint}") from None

    @validator
    def check_gates(self, G: Any, name: str = "G") -> np.ndarray:
        """Validate a gate vector: shape ``(n_gates,)`` (or ``(..., n_gates)``) and finite.

        Parameters
        ----------
        G : (..., n_gates) array_like
            Gate voltages, V, in ``gate_names`` order.
        name : str
            The argument's name in the caller (``"G_star"``, ``"G0"``), for the message.

        Returns
        -------
        ndarray
            ``G`` as a float array.

        Raises
        ------
        ShapeError
            A wrong last axis, or a NaN/inf entry.
        """
        return gate_vector(G, name, self.n_gates, batch=True, error=ShapeError)

    @validator
    def check_point(self, G: Any, name: str = "G") -> np.ndarray:
        """One gate vector ``(n_gates,)`` at which every learning edge conducts (linear device).

        Parameters
        ----------
        G : (n_gates,) array_like
            Gate voltages, V.
        name : str
            The argument's name in the caller (``"G_ref"``), for the messages.

        Returns
        -------
        (n_gates,) ndarray

        Raises
        ------
        ShapeError, DeviceError
            A batch or a wrong shape; a gate at or below threshold (names the edge and ``name``).
        """
        G = self.check_gates(G, name)
        if G.ndim != 1:
            raise ShapeError(f"Argument `{name}` must have shape ({self.n_gates},), not {G.shape}.")
        conductances_in_range(self, G, name)
        return G

    def conductances(self, G: Any, name: str = "G") -> np.ndarray:
        """Conductance of every edge at gate vector ``G`` (linear devices only).

        Parameters
        ----------
        G : (..., n_gates) array_like
            Gate voltages, V.
        name : str
            The argument's name in the caller (``"G_ref"``), for the messages.

        Returns
        -------
        K : (..., n_edges) ndarray
            Fixed edges keep their ``K``; learning edges get ``device.conductance(G, S, V_T)``.

        Raises
        ------
        DeviceError
            If the device is not linear, or a learning edge has ``K <= 0`` at this ``G`` (its
            gate is at or below threshold); the message names the edge.
        """
        return conductances_in_range(self, self.check_gates(G, name), name)

    def floating_nodes(self, imposed: Iterable[str]) -> tuple[str, ...]:
        """Nodes in a connected component that contains no imposed node.

        Such nodes have no defined voltage; Kirchhoff solves must refuse them.

        Parameters
        ----------
        imposed : iterable of str
            Nodes whose voltage is imposed.

        Returns
        -------
        tuple of str
            The floating nodes, in node order (empty if none).

        Raises
        ------
        NetworkError
            An unknown node.
        """
        imposed_idx = {self.node(n) for n in imposed}
        adj = sp.csr_matrix(
            (np.ones(self.n_edges), (self.tail, self.head)), shape=(self.n_nodes,) * 2
        )
        _, labels = connected_components(adj, directed=False)
        anchored = {labels[i] for i in imposed_idx}
        return tuple(n for i, n in enumerate(self.nodes) if labels[i] not in anchored)

    def imposed_indices(self, imposed: Iterable[str]) -> np.ndarray:
        """Node indices of a set of imposed nodes, refusing an empty, repeated or floating set.

        The check shared by the linear (`clln_theory.electrical.kirchhoff`) and nonlinear
        (`clln_theory.electrical.circuit`) solvers.

        Parameters
        ----------
        imposed : iterable of str
            Nodes whose voltage is imposed.

        Returns
        -------
        (n_imposed,) int ndarray
            Their indices, in the given order.

        Raises
        ------
        NetworkError
            No imposed node, a repeated or unknown node, or nodes connected to no imposed node
            (named).

        Examples
        --------
        >>> star_network().imposed_indices(["High", "Low", "Input"]).tolist()
        [0, 1, 2]
        """
        if isinstance(imposed, str | bytes | Mapping) or not isinstance(imposed, Iterable):
            raise NetworkError(
                f"Argument `imposed` must be a sequence of node names, but is {quote(imposed)}."
            )
        imposed = [str(n) for n in imposed]
        if not imposed:
            raise NetworkError("At least one node voltage must be imposed, but `imposed` is empty.")
        if len(set(imposed)) != len(imposed):
            raise NetworkError(f"Imposed nodes must be unique, but got {imposed}.")
        idx = np.array([self.node(n) for n in imposed], dtype=np.intp)
        floating = self.floating_nodes(imposed)
        if floating:
            raise NetworkError(
                f"Nodes {list(floating)} are not connected to any imposed node, so their voltages "
                "are undefined; connect them or remove them."
            )
        return idx

    # ------------------------------------------------------------------ SPICE
    def to_spice(
        self,
        G: Any,
        point: Any,
        *,
        V: Any = None,
        path: str | os.PathLike[str] | None = None,
    ) -> str:
        """An ngspice netlist of this network at gate vector ``G`` and data point ``point``.

        Learning edges become level-1 n-channel MOSFETs (``KP = S``, ``VTO = V_T``,
        ``W/L = 1``, ``GAMMA = LAMBDA = 0``, bulk at ground), each gate a voltage source of
        value ``G``; fixed edges become resistors of ``1/K``; every input of ``point`` a voltage
        source to ground. The netlist runs ``.op`` and prints one line ``v(n<i>) = <value>`` per
        node, in node order, with 17 significant digits (comment lines ``* node n<i> = <name>``
        map the names); run it with ``ngspice -b FILE``.

        Which device law the netlist reproduces exactly: level 1's triode current
        ``KP (W/L) (Vov - Vds/2) Vds`` with ``Vov = G - V_T - Vs``, ``Vs = min(Va, Vb)``,
        ``Vds = |Va - Vb|`` is Eq. (2), ``S (G - V_T - Vbar) |dV|`` with ``Vbar`` the mean of
        source and drain, term for term; its saturation current ``KP (W/L) Vov²/2`` is
        `ThreeRegimeMOSFET`'s. So for an `OhmicMOSFET` network the netlist is exact while every
        edge stays in triode (``max(Va, Vb) <= G - V_T``), and for a `ThreeRegimeMOSFET` network
        while every edge stays above the subthreshold tail (``Vov >= transition``, triode or
        saturated); level 1 has no subthreshold tail (it cuts off at ``Vov = 0``). Gate vectors
        at which an edge could leave those regimes are refused. A `LinearDevice` network (the
        theory's ``K = S (G - V_T)``, no ``Vbar`` term, which no MOSFET has) is written with its
        learning edges as resistors of ``1/K``; for the transistor circuit use
        ``network.with_device(OhmicMOSFET())``. The netlist sets ngspice's ``reltol = 1e-12``,
        ``vntol = 1e-13`` V, ``abstol = 1e-16`` A and ``gmin = 1e-20`` S, so that its node
        voltages match `clln_theory.electrical.solve_circuit` to better than 1e-9 V.

        Parameters
        ----------
        G : (n_gates,) array_like
            Gate voltages, V, in ``gate_names`` order.
        point : DataPoint or mapping str -> float
            The data point whose inputs (node -> volts) are imposed; its label is not used.
        V : (n_nodes,) array_like, optional
            Node voltages at ``G`` and ``point`` (for example ``solve_circuit(...).V``) at which
            the regimes are checked. Without it the check uses only that every node voltage
            lies between the smallest and the largest input (a network of passive edges), which
            refuses every ``G`` at which some edge *could* leave the exact regimes, saturation
            of a `ThreeRegimeMOSFET` edge included: pass ``V`` to write such circuits.
        path : str or os.PathLike, optional
            Also write the netlist there, atomically (a temporary file beside it, fsync,
            rename).

        Returns
        -------
        str
            The netlist.

        Raises
        ------
        ShapeError
            ``G`` or ``V`` of the wrong shape, or not finite.
        NetworkError
            An input node the network does not have (the nearest names suggested), or nodes
            connected to no input.
        TaskError
            ``point`` without inputs, or an input that is not a finite number.
        DeviceError
            A device other than the three above, a linear edge with ``K <= 0``, or a learning
            edge that could leave the regimes level 1 reproduces (named, with its gate).
        ArgumentError
            ``V`` that does not hold the point's inputs, or a ``path`` that is not a path.

        Examples
        --------
        >>> net = star_network(device=OhmicMOSFET())
        >>> text = net.to_spice([3.0, 3.0], {"High": 1.0, "Low": 0.0, "Input": 0.5})
        >>> [line for line in text.splitlines() if line.startswith("M")]
        ['M0 n1 g0 n3 0 MOD0 W=10u L=10u', 'M1 n0 g1 n3 0 MOD1 W=10u L=10u']
        """
        G = gate_vector(G, "G", self.n_gates, error=ShapeError)
        inputs = getattr(point, "inputs", point)
        if not isinstance(inputs, Mapping) or not inputs:
            raise TaskError(
                "Argument `point` must be a DataPoint or a non-empty mapping node -> volts, "
                f"but is {quote(point)}."
            )
        for name in inputs:
            if name not in self.node_index:
                near = difflib.get_close_matches(str(name), self.nodes, n=3)
                hint = f"did you mean {near}?" if near else f"its nodes are {list(self.nodes)}."
                raise NetworkError(
                    f"Argument `point` imposes a voltage on node {quote(name)}, which the "
                    f"network does not have; {hint}"
                )
        values = {
            k: number(v, f"point[{k!r}]", unit="V", error=TaskError) for k, v in inputs.items()
        }
        idx = self.imposed_indices(list(values))
        imposed = {int(i): values[k] for i, k in zip(idx, values)}
        if V is not None:
            V = vector(V, "V", self.n_nodes, error=ShapeError)
            gap = max(abs(V[i] - v) for i, v in imposed.items())
            if not gap <= 1e-9:  # the netlist's own target accuracy, V
                raise ArgumentError(
                    f"Argument `V` must hold the inputs of `point` at their nodes, but differs "
                    f"from them by {gap:.3g} V; pass the node voltages solved at this point."
                )
        if not isinstance(path, str | os.PathLike | None):
            raise ArgumentError(f"Argument `path` must be a path or None, but is {quote(path)}.")
        self._spice_regimes(G, imposed, V)
        title = f"clln_theory network {self.name!a}: {self.n_nodes} nodes, {self.n_gates} gates"
        text = spice_netlist(self, G, imposed, title=title)
        if path is not None:
            atomic_write(path, text)
        return text

    def _spice_regimes(self, G: np.ndarray, imposed: dict[int, float], V: Any) -> None:
        """Refuse a device or a ``G`` whose law level 1 does not reproduce (part of to_spice)."""
        dev = self.device
        if isinstance(dev, LinearDevice):
            conductances_in_range(self, G, "G")
            return
        if not isinstance(dev, OhmicMOSFET | ThreeRegimeMOSFET):
            raise DeviceError(
                "Network.to_spice writes LinearDevice, OhmicMOSFET and ThreeRegimeMOSFET "
                f"networks, but this one uses {type(dev).__name__}."
            )
        on = G - self.V_T  # the gate's overdrive with respect to ground, V
        if V is None:  # node voltages lie between the smallest and largest input
            top = np.full(self.n_gates, max(imposed.values()))
            low, moving = top, np.ones(self.n_gates, dtype=bool)
        else:
            Va, Vb = V[self.tail[self.gate_edges]], V[self.head[self.gate_edges]]
            top, low, moving = np.maximum(Va, Vb), np.minimum(Va, Vb), Va != Vb
        if isinstance(dev, OhmicMOSFET):
            bad, why = moving & ~(top <= on), "in triode (drain voltage <= G - V_T)"
        else:
            bad = moving & ~(on - low >= dev.transition)
            why = f"above the subthreshold tail (G - V_T - Vs >= {dev.transition:g} V)"
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            where = "at `V`" if V is not None else "somewhere between the point's inputs"
            raise DeviceError(
                f"Learning edge {self.gate_names[j]!r} (gate G = {G[j]:.6g} V, V_T = "
                f"{self.V_T[j]:.6g} V) must stay {why} for the level-1 MOSFET to reproduce "
                f"{type(dev).__name__}, but need not {where}; raise its gate, or pass `V=` (the "
                "solved node voltages) to check at the operating point."
            )

    # --------------------------------------------------------------- builders
    @classmethod
    def from_edges(
        cls,
        edges: Iterable[Any],
        *,
        S: float = PAPER_S,
        V_T: float = PAPER_V_T,
        nodes: Iterable[str] | None = None,
        device: Device | None = None,
        name: str = "",
    ) -> Network:
        """Build a network from a list of edges.

        Parameters
        ----------
        edges : iterable
            Each item is an `Edge`, or a tuple ``(a, b)`` (a learning edge with the default
            ``S``, ``V_T``), or ``(a, b, spec)`` where ``spec`` is a float (a fixed conductance
            in siemens), the string ``"learning"``, or a dict with keys among ``name``, ``K``,
            ``S``, ``V_T``, ``learning``.
        S : float
            Default slope of learning edges, A/V² (`PAPER_S`).
        V_T : float
            Default threshold of learning edges, V (`PAPER_V_T`).
        nodes : iterable of str, optional
            Node order; default: order of first appearance in ``edges``.
        device : Device, optional
            Learning-edge model (default `LinearDevice`).
        name : str
            Free-form label of the network.

        Returns
        -------
        Network

        Raises
        ------
        NetworkError
            A malformed item (named by its index), an unknown key, or any check of `Network`.

        Examples
        --------
        >>> net = Network.from_edges([("in", "out", 1e-3), ("out", "gnd")])
        >>> net.gate_names, float(net.K_fixed[0])
        (('out-gnd',), 0.001)
        """
        if isinstance(edges, str | bytes | Mapping) or not isinstance(edges, Iterable):
            raise NetworkError(f"Argument `edges` must be a sequence, not {type(edges).__name__}.")
        S = edge_number("(default)", S, "S", *SLOPE_RANGE, "A/V^2")
        V_T = edge_number("(default)", V_T, "V_T", -MAX_THRESHOLD, MAX_THRESHOLD, "V")
        built: list[Edge] = []
        order: dict[str, None] = {}  # insertion-ordered set: linear in the number of edges
        for k, item in enumerate(edges):
            if isinstance(item, Edge):
                e = item
            else:
                if not isinstance(item, tuple | list) or len(item) not in (2, 3):
                    raise NetworkError(
                        f"Argument `edges`: item {k} must be an Edge, (a, b) or (a, b, spec), but "
                        f"is {quote(item)}."
                    )
                for end in item[:2]:  # a label str() would turn into a made-up name
                    if not isinstance(end, str | int) or isinstance(end, bool):
                        raise NetworkError(
                            f"Argument `edges`: item {k} must join nodes named by strings (or "
                            f"ints), but has {quote(end)}."
                        )
                a, b = str(item[0]), str(item[1])
                spec = item[2] if len(item) == 3 else "learning"
                ename = f"{a}-{b}"
                if spec == "learning":
                    e = Edge(ename, a, b, True, S=S, V_T=V_T)
                elif isinstance(spec, int | float) and not isinstance(spec, bool):
                    e = Edge(ename, a, b, False, K=spec)
                elif isinstance(spec, Mapping):
                    unknown = set(spec) - {"name", "K", "S", "V_T", "learning"}
                    if unknown:
                        raise NetworkError(
                            f"Edge item {k} ({a}-{b}) has unknown keys {sorted(unknown)}; "
                            "allowed: name, K, S, V_T, learning."
                        )
                    learning = bool(spec.get("learning", "K" not in spec))
                    e = Edge(
                        str(spec.get("name", ename)),
                        a,
                        b,
                        learning,
                        K=spec.get("K"),
                        S=spec.get("S", S) if learning else None,
                        V_T=spec.get("V_T", V_T) if learning else None,
                    )
                else:
                    raise NetworkError(
                        f"Edge item {k} ({a}-{b}) has spec {spec!r}; expected a conductance "
                        "(float), 'learning', or a dict."
                    )
            built.append(e)
            order.setdefault(e.a)
            order.setdefault(e.b)
        node_names = tuple(nodes) if nodes is not None else tuple(order)
        return cls(node_names, tuple(built), device=device or LinearDevice(), name=name)


def from_networkx(
    graph: Any,
    *,
    S: float = PAPER_S,
    V_T: float = PAPER_V_T,
    conductance_attr: str = "K",
    device: Device | None = None,
    name: str = "",
) -> Network:
    """Build a network from a networkx graph (optional extra ``networkx``).

    Node labels become node names (``str(label)``). An edge with attribute ``conductance_attr``
    is a fixed conductance; every other edge is a learning edge with attributes ``S``/``V_T``
    if present, else the defaults. Edge orientation follows ``graph.edges`` order.

    Parameters
    ----------
    graph : networkx.Graph
        A simple graph (no multigraph).
    S : float
        Default slope of learning edges, A/V² (`PAPER_S`).
    V_T : float
        Default threshold of learning edges, V (`PAPER_V_T`).
    conductance_attr : str
        Edge attribute holding a fixed conductance, S.
    device : Device, optional
        Learning-edge model (default `LinearDevice`).
    name : str
        Free-form label of the network.

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        A multigraph, or any check of `Network`.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.cycle_graph(3)
    >>> g.edges[0, 1]["K"] = 2e-3
    >>> from_networkx(g).gate_names
    ('0-2', '1-2')
    """
    if not callable(getattr(graph, "is_multigraph", None)) or not hasattr(graph, "edges"):
        raise NetworkError(
            f"Argument `graph` must be a networkx graph, but is {type(graph).__name__}."
        )
    S = edge_number("(default)", S, "S", *SLOPE_RANGE, "A/V^2")
    V_T = edge_number("(default)", V_T, "V_T", -MAX_THRESHOLD, MAX_THRESHOLD, "V")
    if graph.is_multigraph():
        raise NetworkError("Multigraphs are not supported: at most one edge per node pair.")
    items: list[Edge] = []
    for u, v, attrs in graph.edges(data=True):
        a, b = str(u), str(v)
        if conductance_attr in attrs:
            items.append(Edge(f"{a}-{b}", a, b, False, K=attrs[conductance_attr]))
        else:
            items.append(
                Edge(f"{a}-{b}", a, b, True, S=attrs.get("S", S), V_T=attrs.get("V_T", V_T))
            )
    nodes = tuple(str(n) for n in graph.nodes)
    return Network(nodes, tuple(items), device=device or LinearDevice(), name=name)


def star_network(
    *,
    S: float = PAPER_S,
    V_T: float = PAPER_V_T,
    R_input: float = 500.0,
    device: Device | None = None,
) -> Network:
    """The paper's 2+1 network (Figs. 2 and 3).

    Nodes ``High`` (held at V₊), ``Low`` (held at V₋), ``Input`` (the variable input V₁) and
    ``Output``. Edges, all into ``Output``: ``Low-Output`` (learning, gate G₋), ``High-Output``
    (learning, gate G₊) and ``Input-Output`` (fixed ``1/R_input``). Gate order ``(G₋, G₊)``.

    Parameters
    ----------
    S : float
        Slope of both learning edges, A/V² (`PAPER_S`).
    V_T : float
        Threshold of both learning edges, V (`PAPER_V_T`).
    R_input : float
        Resistance of the fixed input edge, Ω (its conductance within `CONDUCTANCE_RANGE`).
    device : Device, optional
        Learning-edge model (default `LinearDevice`).

    Returns
    -------
    Network

    Examples
    --------
    >>> star_network().gate_names
    ('Low-Output', 'High-Output')
    """
    R_input = number(  # the fixed edge's K = 1/R_input must be in CONDUCTANCE_RANGE
        R_input,
        "R_input",
        low=1.0 / CONDUCTANCE_RANGE[1],
        high=1.0 / CONDUCTANCE_RANGE[0],
        unit="Ohm",
        error=NetworkError,
    )
    edges = (
        Edge("Low-Output", "Low", "Output", True, S=S, V_T=V_T),
        Edge("High-Output", "High", "Output", True, S=S, V_T=V_T),
        Edge("Input-Output", "Input", "Output", False, K=1.0 / R_input),
    )
    return Network(
        ("High", "Low", "Input", "Output"), edges, device=device or LinearDevice(), name="2+1 star"
    )


def periodic_lattice(
    L: int,
    *,
    S: float = PAPER_S,
    V_T: float = PAPER_V_T,
    device: Device | None = None,
) -> Network:
    """Periodic ``L x L`` square lattice of learning edges: ``L²`` nodes, ``2 L²`` edges.

    Node ``"i,j"`` (row i, column j) joins ``"i,j+1"`` and ``"i+1,j"`` (indices mod L). The
    paper's large network (Figs. 1 and 5) is ``periodic_lattice(4)``: 16 nodes, 32 edges.

    Parameters
    ----------
    L : int
        Side, >= 3 and at most `MAX_LATTICE_SIDE` (256).
    S : float
        Slope of every edge, A/V² (`PAPER_S`).
    V_T : float
        Threshold of every edge, V (`PAPER_V_T`).
    device : Device, optional
        Learning-edge model (default `LinearDevice`).

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        ``L`` not an integer in [3, `MAX_LATTICE_SIDE`].

    Examples
    --------
    >>> net = periodic_lattice(4)
    >>> net.n_nodes, net.n_edges
    (16, 32)
    """
    if not isinstance(L, int | np.integer) or L < 3:
        raise NetworkError(
            f"Argument `L` must be an integer >= 3 (smaller periodic lattices have duplicate "
            f"edges), but is {L!r}."
        )
    L = count(L, "L", minimum=3, maximum=MAX_LATTICE_SIDE, error=NetworkError)
    name = [[f"{i},{j}" for j in range(L)] for i in range(L)]
    edges: list[Edge] = []
    for i in range(L):
        for j in range(L):
            for di, dj in ((0, 1), (1, 0)):
                a, b = name[i][j], name[(i + di) % L][(j + dj) % L]
                edges.append(Edge(f"{a}-{b}", a, b, True, S=S, V_T=V_T))
    nodes = tuple(n for row in name for n in row)
    return Network(
        nodes, tuple(edges), device=device or LinearDevice(), name=f"periodic {L}x{L} lattice"
    )
