"""Engine of `clln_theory.model.network.Network.to_spice`: an ngspice netlist (checked values).

The mapping (why it is exact)
-----------------------------
A learning edge ``a -> b`` becomes a level-1 (Shichman–Hodges) n-channel MOSFET with drain
``a``, source ``b``, its gate at a voltage source of value ``G`` and its bulk at ground::

    M<j> n<a> g<j> n<b> 0 MOD<j> W=10u L=10u
    .model MOD<j> NMOS (LEVEL=1 KP=S VTO=V_T GAMMA=0 LAMBDA=0 IS=0 JS=0 ...)

Level 1 takes the source to be the lower of the two channel terminals (it swaps them when
``Vds < 0``), so with ``Vs = min(Va, Vb)``, ``Vds = |Va - Vb|`` and ``Vov = G - V_T - Vs``
its drain current is ``KP (W/L) (Vov - Vds/2) Vds`` in triode (``0 < Vds < Vov``),
``KP (W/L) Vov² / 2`` in saturation (``Vds >= Vov > 0``) and 0 in cutoff (``Vov <= 0``), times
``(1 + LAMBDA Vds)``. With ``KP = S``, ``W/L = 1``, ``VTO = V_T``, ``LAMBDA = 0`` and
``GAMMA = 0`` (no body effect, so the threshold does not move with the bulk-source voltage) the
triode law is ``S (G - V_T - Vs - Vds/2) Vds = S (G - V_T - Vbar) |dV|``, Eq. (2) of the paper
with ``Vbar = (Va + Vb)/2``, term for term; and the saturation law is ``S Vov²/2``, the
saturation branch of `ThreeRegimeMOSFET`. ``IS = JS = 0`` removes the bulk junction currents;
what remains of them is ngspice's ``gmin`` across each junction, set to `_GMIN`.

What level 1 does not reproduce: `ThreeRegimeMOSFET`'s exponential tail below an overdrive of
``transition`` (0.096 V) (level 1 uses the square law down to ``Vov = 0`` and cuts off below);
`OhmicMOSFET` beyond ``Vds = Vov`` (Eq. (2) continues the parabola, level 1 saturates). The face
refuses gate vectors at which an edge could be there. `LinearDevice` (the theory's resistor,
``K = S (G - V_T)`` without the ``Vbar`` term) has no MOSFET equivalent: its learning edges are
written as resistors of ``1/K``.

Output format
-------------
The netlist names node ``i`` of the network ``n<i>`` (a comment line ``* node n<i> = <name>``
maps the names), runs ``.op`` from its ``.control`` block and prints one line per node, in node
order, ``v(n<i>) = <value>`` with 17 significant digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .devices import LinearDevice, OhmicMOSFET

__all__ = ["spice_netlist"]

#: ngspice's relative tolerance of node voltages and currents between Newton iterates (default
#: 1e-3). 1e-12 of a volt-scale node voltage is 1e-12 V, three decades below the 1e-9 V the
#: comparison with `clln_theory.electrical.solve_circuit` asks for; Newton converges
#: quadratically, so the last iterate is at round-off anyway.
_RELTOL = 1e-12
#: Absolute node-voltage tolerance, V (default 1e-6 V): 1e-13 V, well below 1e-9 V.
_VNTOL = 1e-13
#: Absolute current tolerance, A (default 1e-12 A). The edges conduct ~1e-4 S; a residual current
#: of 1e-16 A moves a node by ~1e-12 V.
_ABSTOL = 1e-16
#: Conductance ngspice puts across every junction (and every nonlinear branch), S (default
#: 1e-12 S). At the default a 1 V bulk-drain bias leaks 1e-12 A into a node held by ~1e-3 S,
#: ~1e-9 V: too close to the target. 1e-20 S leaks 1e-20 A, ~1e-17 V.
_GMIN = 1e-20
#: Width and length of every transistor, m: W/L = 1 so that KP = S (the geometry only enters
#: the capacitances, which a ``.op`` analysis ignores).
_SIZE = "10u"


def _num(x: float) -> str:
    """A float in its shortest form that reads back as the same double (``repr``)."""
    return repr(float(x))


def spice_netlist(network: Any, G: np.ndarray, imposed: dict[int, float], *, title: str) -> str:
    """The netlist of ``network`` at checked gates ``G`` with node index -> imposed volts.

    ``network`` is a `clln_theory.model.network.Network` whose device is a `LinearDevice`,
    `OhmicMOSFET` or `ThreeRegimeMOSFET`; the caller has checked the regimes.
    """
    device = network.device
    if isinstance(device, LinearDevice):
        law = "LinearDevice: resistors of 1/K, K = S*(G - V_T)"
    elif isinstance(device, OhmicMOSFET):
        law = "OhmicMOSFET (Eq. (2)): level-1 NMOS, exact in triode"
    else:
        law = "ThreeRegimeMOSFET: level-1 NMOS, exact above the subthreshold tail"
    lines = [
        f"* {title}",
        "* written by clln_theory Network.to_spice; run: ngspice -b FILE",
        f"* network: {network.name!a}; learning edges: {law}",
        "* level-1 NMOS: KP = S, VTO = V_T, W/L = 1, GAMMA = LAMBDA = 0: triode current",
        "* S*(G - V_T - (Va + Vb)/2)*|Va - Vb|, saturation S*(G - V_T - Vs)^2/2",
        *(f"* node n{i} = {name!a}" for i, name in enumerate(network.nodes)),
        f".options reltol={_num(_RELTOL)} vntol={_num(_VNTOL)} abstol={_num(_ABSTOL)}"
        f" gmin={_num(_GMIN)} temp=27 tnom=27",
        "* imposed voltages (the data point's inputs)",
    ]
    lines += [f"VIN{i} n{i} 0 DC {_num(v)}" for i, v in sorted(imposed.items())]
    lines.append("* fixed edges: resistors of 1/K")
    for k in np.flatnonzero(~network.learning_mask):
        a, b = network.tail[k], network.head[k]
        lines.append(f"* edge {network.edges[k].name!a}")
        lines.append(f"R{k} n{a} n{b} {_num(1.0 / network.K_fixed[k])}")
    lines.append("* learning edges, in gate order")
    for j, k in enumerate(network.gate_edges):
        a, b = network.tail[k], network.head[k]
        S, V_T = network.S[j], network.V_T[j]
        lines.append(f"* gate {j}: {network.gate_names[j]!a}, G = {_num(G[j])} V")
        if isinstance(device, LinearDevice):
            lines.append(f"R{k} n{a} n{b} {_num(1.0 / (S * (G[j] - V_T)))}")
            continue
        lines += [
            f"VG{j} g{j} 0 DC {_num(G[j])}",
            f"M{j} n{a} g{j} n{b} 0 MOD{j} W={_SIZE} L={_SIZE}",
            f".model MOD{j} NMOS (LEVEL=1 KP={_num(S)} VTO={_num(V_T)} GAMMA=0 LAMBDA=0"
            " IS=0 JS=0 CBD=0 CBS=0 CGSO=0 CGDO=0 CGBO=0)",
        ]
    lines += [".op", ".control", "run", "set numdgt=17"]
    lines += [f"print v(n{i})" for i in range(network.n_nodes)]
    lines += [".endc", ".end", ""]
    return "\n".join(lines)
