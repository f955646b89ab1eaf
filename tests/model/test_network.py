"""Network, Edge, devices and builders: structure, validation and device identities."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clln_theory.errors import DeviceError, NetworkError, ShapeError
from clln_theory.model.devices import LinearDevice, OhmicMOSFET
from clln_theory.model.network import Edge, Network, from_networkx, periodic_lattice, star_network


def test_star_network_matches_design():
    net = star_network()
    assert net.nodes == ("High", "Low", "Input", "Output")
    assert net.gate_names == ("Low-Output", "High-Output")  # G = (G-, G+)
    assert net.K_fixed[2] == pytest.approx(1 / 500)
    dV = net.incidence @ np.array([4.0, 3.0, 2.0, 1.0])
    np.testing.assert_array_equal(dV, [2.0, 3.0, 1.0])  # V[a] - V[b]


@pytest.mark.parametrize("L", [3, 4, 7])
def test_periodic_lattice_is_four_regular(L):
    net = periodic_lattice(L)
    assert (net.n_nodes, net.n_edges, net.n_gates) == (L * L, 2 * L * L, 2 * L * L)
    degree = np.bincount(np.r_[net.tail, net.head], minlength=net.n_nodes)
    assert np.all(degree == 4)


def test_periodic_lattice_too_small():
    with pytest.raises(NetworkError, match="L"):
        periodic_lattice(2)


def test_errors_name_the_problem():
    with pytest.raises(NetworkError, match="self-loop on node 'a'"):
        Edge("e", "a", "a", False, K=1.0)
    with pytest.raises(NetworkError, match="unknown node 'c'"):
        Network(("a", "b"), (Edge("e", "a", "c", False, K=1.0),))
    with pytest.raises(NetworkError, match="Duplicate edge"):
        Network.from_edges([("a", "b"), ("b", "a", 1.0)])
    with pytest.raises(NetworkError, match="K > 0"):
        Network.from_edges([("a", "b", -1.0)])
    net = star_network()
    with pytest.raises(ShapeError, match="shape"):
        net.conductances([3.0])
    with pytest.raises(ShapeError, match="finite"):
        net.conductances([3.0, np.nan])
    with pytest.raises(DeviceError, match=r"'High-Output'.*V_T = 0\.7"):
        net.conductances([3.0, 0.5])
    with pytest.raises(DeviceError, match="linear devices"):
        net.with_device(OhmicMOSFET()).conductances([3.0, 3.0])


def test_floating_nodes_are_named():
    net = Network.from_edges([("a", "b"), ("c", "d")])
    assert net.floating_nodes(["a"]) == ("c", "d")
    assert net.floating_nodes(["a", "d"]) == ()


def test_from_networkx_roundtrip():
    nx = pytest.importorskip("networkx")
    g = nx.grid_2d_graph(3, 3, periodic=True)
    net = from_networkx(g)
    assert net.n_edges == 18 and net.n_gates == 18


finite = st.floats(-1.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(G=st.floats(1.0, 5.0), Va=finite, Vb=finite)
def test_device_derivatives_match_finite_differences(G, Va, Vb):
    S, V_T, h = 8.5e-4, 0.7, 1e-6
    for dev in (LinearDevice(), OhmicMOSFET()):
        I, dIa, dIb, dIG = dev.current_and_derivatives(G, S, V_T, Va, Vb)
        assert I == pytest.approx(dev.current(G, S, V_T, Va, Vb), abs=1e-15)
        # current is odd under swapping the ends
        assert dev.current(G, S, V_T, Vb, Va) == pytest.approx(-I, abs=1e-15)
        fd = [
            (dev.current(G, S, V_T, Va + h, Vb) - dev.current(G, S, V_T, Va - h, Vb)) / (2 * h),
            (dev.current(G, S, V_T, Va, Vb + h) - dev.current(G, S, V_T, Va, Vb - h)) / (2 * h),
            (dev.current(G + h, S, V_T, Va, Vb) - dev.current(G - h, S, V_T, Va, Vb)) / (2 * h),
        ]
        # currents are at most quadratic in each argument, so central differences are exact up to
        # round-off: |I| <= 1e-2 A, h = 1e-6 -> error ~ 1e-16 / 1e-6 = 1e-10 absolute.
        np.testing.assert_allclose([dIa, dIb, dIG], fd, atol=1e-9)
