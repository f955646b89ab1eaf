"""Node names are strings (issue 18): a data point never merges two inputs whose keys print
alike, and a network names a node that is not a string instead of raising a raw TypeError."""

from __future__ import annotations

import pytest

from clln_theory.errors import NetworkError, TaskError
from clln_theory.model import DataPoint, Edge, Network


@pytest.mark.parametrize("key", [1, 1.5, None, ("a",), b"a", ""])
def test_data_point_refuses_keys_that_are_not_node_names(key):
    with pytest.raises(TaskError, match="node names"):
        DataPoint({key: 0.1, "b": 0.2}, 0.3)


def test_data_point_never_drops_an_input():
    """DataPoint({1: .1, "1": .2}, .3) kept one input."""
    with pytest.raises(TaskError, match=r"has 1 \(int\)"):
        DataPoint({1: 0.1, "1": 0.2}, 0.3)


def test_network_with_a_list_as_a_node_is_typed():
    edge = Edge("e", ["a"], "b", True, S=1e-3, V_T=0.7)  # type: ignore[arg-type]
    with pytest.raises(NetworkError, match="named by strings"):
        Network(("a", "b"), (edge,))
    with pytest.raises(NetworkError, match="named by strings"):
        Network.from_edges([(["a"], "b")])
    with pytest.raises(NetworkError, match="must be non-empty strings"):
        Network([["a"], "b"], (Edge("e", "a", "b", True, S=1e-3, V_T=0.7),))  # type: ignore[list-item]


def test_network_from_edges_keeps_int_labels():
    assert Network.from_edges([(0, 1), (1, 2, 1e-3)]).nodes == ("0", "1", "2")
