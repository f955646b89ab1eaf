"""`Network.to_spice`: the ngspice netlist reproduces `solve_circuit` to 1e-9 V.

The comparison runs Debian's ``ngspice`` (``apt-get install ngspice``; CI installs it) in batch
mode on the 2+1 network and on the paper's 4×4 periodic lattice, at several gate vectors and data
points: `OhmicMOSFET` circuits with every edge in triode, `ThreeRegimeMOSFET` circuits with some
edges saturated (checked), and `LinearDevice` circuits (resistors). Without ngspice the comparison
skips (CI installs ngspice and sets ``CLLN_REQUIRE_NGSPICE=1``, so there it cannot skip); the
netlist's own checks run everywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from clln_theory.electrical import solve_circuit
from clln_theory.errors import ArgumentError, DeviceError, NetworkError, ShapeError, TaskError
from clln_theory.model import (
    DataPoint,
    LinearDevice,
    Network,
    OhmicMOSFET,
    ThreeRegimeMOSFET,
    periodic_lattice,
    star_network,
)

NGSPICE = shutil.which("ngspice")
#: CI sets CLLN_REQUIRE_NGSPICE=1 (it installs ngspice): there a missing ngspice fails the test.
needs_ngspice = pytest.mark.skipif(
    NGSPICE is None and not os.environ.get("CLLN_REQUIRE_NGSPICE"),
    reason="ngspice is not installed (apt-get install ngspice)",
)
#: The agreement asked of the netlist, V.
TOL = 1e-9
_LINE = re.compile(r"^v\(n(\d+)\)\s*=\s*(\S+)\s*$", re.MULTILINE)


def run_ngspice(text: str, folder: Path, n_nodes: int) -> np.ndarray:
    """Node voltages printed by ``ngspice -b`` on the netlist ``text``, in node order."""
    assert NGSPICE is not None, "CLLN_REQUIRE_NGSPICE is set but ngspice is not on PATH"
    cir = folder / "circuit.cir"
    cir.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [NGSPICE, "-b", str(cir)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = {int(i): float(v) for i, v in _LINE.findall(done.stdout)}
    assert sorted(found) == list(range(n_nodes)), done.stdout
    return np.array([found[i] for i in range(n_nodes)])


def _regimes(net: Network, G: np.ndarray, V: np.ndarray) -> tuple[int, int]:
    """(triode edges, saturated edges) of the MOSFETs at node voltages V (moving edges only)."""
    Va, Vb = V[net.tail[net.gate_edges]], V[net.head[net.gate_edges]]
    Vds, Vov = np.abs(Va - Vb), G - net.V_T - np.minimum(Va, Vb)
    moving = Vds > 0
    return int(np.sum(moving & (Vds < Vov))), int(np.sum(moving & (Vds >= Vov)))


def _lattice_point(values=(1.0, 0.0, 0.4)) -> dict[str, float]:
    return dict(zip(("0,0", "2,2", "1,3"), values))


def _circuits():
    """(label, network, G, inputs, pass V to to_spice, expected regime) of every comparison."""
    rng = np.random.default_rng(21)
    star = {"High": 1.0, "Low": 0.0}
    out = []
    ohm = star_network(device=OhmicMOSFET())
    for G in ([3.0, 3.0], [2.2, 4.1], [1.9, 2.6]):
        for v_in in (0.0, 0.5, 1.0):
            out.append(("star ohmic", ohm, G, {**star, "Input": v_in}, False, "triode"))
    three = star_network(device=ThreeRegimeMOSFET())
    for G in ([3.0, 1.2], [1.5, 1.4], [0.95, 2.5]):
        for v_in in (0.1, 0.35):
            out.append(("star three-regime", three, G, {**star, "Input": v_in}, True, "saturation"))
    lat_ohm = periodic_lattice(4, device=OhmicMOSFET())
    for _ in range(3):
        G = rng.uniform(1.8, 4.0, lat_ohm.n_gates)
        out.append(("lattice ohmic", lat_ohm, G, _lattice_point(), False, "triode"))
    lat_three = periodic_lattice(4, device=ThreeRegimeMOSFET())
    for values in ((1.0, 0.0, 0.4), (0.6, 0.0, 1.2), (1.5, 0.2, 0.0)):
        G = 0.7 + rng.uniform(0.6, 1.3, lat_three.n_gates)
        out.append(
            ("lattice three-regime", lat_three, G, _lattice_point(values), True, "saturation")
        )
    lat_lin = periodic_lattice(4)
    G = rng.uniform(1.5, 4.0, lat_lin.n_gates)
    out.append(("lattice linear", lat_lin, G, _lattice_point(), False, "linear"))
    return out


CIRCUITS = _circuits()


@needs_ngspice
def test_ngspice_node_voltages_equal_solve_circuit(tmp_path, capsys):
    worst, counts = 0.0, {"triode": 0, "saturation": 0, "linear": 0}
    for label, net, G, inputs, with_V, regime in CIRCUITS:
        G = np.asarray(G, dtype=float)
        sol = solve_circuit(net, G, list(inputs), list(inputs.values()))
        text = net.to_spice(G, DataPoint(inputs, 0.0), V=sol.V if with_V else None)
        V = run_ngspice(text, tmp_path, net.n_nodes)
        diff = float(np.max(np.abs(V - sol.V)))
        assert diff <= TOL, (label, G, inputs, diff)
        worst = max(worst, diff)
        if regime != "linear":
            n_triode, n_sat = _regimes(net, G, sol.V)
            assert n_triode > 0, (label, G, inputs)
            assert (n_sat > 0) == (regime == "saturation"), (label, G, inputs, n_sat)
        counts[regime] += 1
    with capsys.disabled():
        print(
            f"\nngspice vs solve_circuit: {len(CIRCUITS)} circuits ({counts['triode']} all "
            f"triode, {counts['saturation']} with saturated edges, {counts['linear']} linear), "
            f"largest |dV| = {worst:.3g} V"
        )


def test_netlist_maps_edges_to_level1_mosfets_and_resistors():
    net = star_network(device=ThreeRegimeMOSFET(), S=9e-4, V_T=0.65)
    text = net.to_spice([3.0, 2.5], {"High": 1.0, "Low": 0.0, "Input": 0.5})
    assert "VIN0 n0 0 DC 1.0" in text and "VIN2 n2 0 DC 0.5" in text
    assert "R2 n2 n3 500.0" in text  # the fixed input edge, 1/K
    assert "VG0 g0 0 DC 3.0" in text and "VG1 g1 0 DC 2.5" in text
    assert "M0 n1 g0 n3 0 MOD0 W=10u L=10u" in text  # drain a = Low, source b = Output
    assert "LEVEL=1 KP=0.0009 VTO=0.65 GAMMA=0 LAMBDA=0" in text
    assert "* node n3 = 'Output'" in text
    assert text.count("print v(n") == 4 and ".op" in text
    lin = star_network().to_spice([3.0, 2.5], {"High": 1.0, "Low": 0.0, "Input": 0.5})
    assert ".model" not in lin and f"R0 n1 n3 {1 / (8.5e-4 * (3.0 - 0.7))!r}" in lin


def test_path_is_written_atomically(tmp_path):
    net = star_network(device=OhmicMOSFET())
    target = tmp_path / "star.cir"
    target.write_text("old", encoding="utf-8")
    text = net.to_spice([3.0, 3.0], {"High": 1.0, "Low": 0.0, "Input": 0.5}, path=target)
    assert target.read_text(encoding="utf-8") == text
    assert os.listdir(tmp_path) == ["star.cir"]  # no temporary file left behind


def test_bad_arguments_are_named():
    net = star_network(device=OhmicMOSFET())
    point = {"High": 1.0, "Low": 0.0, "Input": 0.5}
    with pytest.raises(ShapeError, match="`G` must have shape"):
        net.to_spice([3.0], point)
    with pytest.raises(ShapeError, match="`G`"):
        net.to_spice([3.0, np.nan], point)
    with pytest.raises(NetworkError, match=r"'Inptu'.*did you mean \['Input'\]"):
        net.to_spice([3.0, 3.0], {"High": 1.0, "Low": 0.0, "Inptu": 0.5})
    with pytest.raises(TaskError, match="`point`"):
        net.to_spice([3.0, 3.0], {})
    with pytest.raises(TaskError, match="point\\['Low'\\]"):
        net.to_spice([3.0, 3.0], {"High": 1.0, "Low": "zero"})
    with pytest.raises(NetworkError, match="not connected"):
        Network.from_edges([("a", "b"), ("c", "d")], device=OhmicMOSFET()).to_spice(
            [3.0, 3.0], {"a": 1.0}
        )
    with pytest.raises(ShapeError, match="`V`"):
        net.to_spice([3.0, 3.0], point, V=[0.0, 1.0])
    with pytest.raises(ArgumentError, match="`V` must hold the inputs"):
        net.to_spice([3.0, 3.0], point, V=[0.0, 0.0, 0.5, 0.3])
    with pytest.raises(ArgumentError, match="`path`"):
        net.to_spice([3.0, 3.0], point, path=3)


def test_regimes_level1_does_not_reproduce_are_refused():
    point = {"High": 1.0, "Low": 0.0, "Input": 0.5}
    ohm = star_network(device=OhmicMOSFET())
    with pytest.raises(DeviceError, match=r"'High-Output'.*in triode"):
        ohm.to_spice([3.0, 1.5], point)  # G - V_T = 0.8 < 1 V: the edge may saturate
    three = star_network(device=ThreeRegimeMOSFET())
    with pytest.raises(DeviceError, match=r"'High-Output'.*subthreshold.*`V=`"):
        three.to_spice([3.0, 1.2], point)  # saturated edges need V= (a priori bound refuses)
    sol = solve_circuit(three, [3.0, 1.2], list(point), list(point.values()))
    assert "NMOS" in three.to_spice([3.0, 1.2], point, V=sol.V)
    deep = solve_circuit(three, [3.0, 0.8], list(point), list(point.values()))
    with pytest.raises(DeviceError, match=r"'High-Output'.*at `V`"):
        three.to_spice([3.0, 0.8], point, V=deep.V)  # subthreshold at the operating point
    with pytest.raises(DeviceError, match="conductance <= 0"):
        star_network().to_spice([3.0, 0.6], point)
    with pytest.raises(DeviceError, match="LinearDevice, OhmicMOSFET and ThreeRegimeMOSFET"):

        class Custom(LinearDevice):
            pass

        Network.from_edges([("a", "b")], device=_Other()).to_spice([3.0], {"a": 1.0})


class _Other:
    """A user-defined device (satisfies the Device protocol) that to_spice cannot write."""

    is_linear = False

    def current(self, G, S, V_T, Va, Vb):
        return OhmicMOSFET().current(G, S, V_T, Va, Vb)

    def current_and_derivatives(self, G, S, V_T, Va, Vb):
        return OhmicMOSFET().current_and_derivatives(G, S, V_T, Va, Vb)
