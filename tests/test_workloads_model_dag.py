"""Model DAGs without networkx: the LayerDag fast path agrees with the networkx graph."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtmm.errors import SpecError
from workloads.layer import Layer, OpType
from workloads.layer_dag import LayerDag
from workloads.model import Model


def _layer(name: str) -> Layer:
    return Layer(name, OpType.CONV, 1, 4, 4, 8, 8, 3, 3)


@st.composite
def dags(draw):
    """A random DAG (edges from lower to higher rank) inserted in a random order."""
    n = draw(st.integers(1, 12))
    edges = [(i, j) for j in range(n) for i in range(j) if draw(st.booleans())]
    order = draw(st.permutations(range(n)))
    layers = [_layer(f"l{i}") for i in order]
    inputs = [[f"l{i}" for i, j in edges if j == k] for k in order]
    return layers, inputs


@settings(max_examples=150, deadline=None)
@given(dags())
def test_layer_order_and_neighbours_match_networkx(dag):
    layers, inputs = dag
    model = Model.from_edges("m", layers, inputs)
    graph = nx.DiGraph()
    for layer in layers:
        graph.add_node(layer.name, layer=layer)
    for layer, preds in zip(layers, inputs, strict=True):
        graph.add_edges_from((p, layer.name) for p in preds)
    reference = Model("m", graph)
    assert model.layer_names == reference.layer_names
    assert model.is_chain == reference.is_chain
    for name in model.layer_names:
        assert model.predecessors(name) == reference.predecessors(name)
        assert set(model.successors(name)) == set(graph.successors(name))
    assert set(model.graph.edges) == set(graph.edges)


def test_readers_order_needs_no_networkx_and_cycles_are_refused():
    chain = Model.chain("c", [_layer("a"), _layer("b"), _layer("c")])
    assert chain._graph is None and chain.layer_names == ("a", "b", "c") and chain.is_chain
    with pytest.raises(SpecError, match="has a cycle"):
        Model.from_edges("loop", [_layer("a"), _layer("b")], [["b"], ["a"]])
    with pytest.raises(SpecError, match="has a cycle"):
        Model.from_edges("self", [_layer("a")], [["a"]])


def test_malformed_layer_dags_are_one_line_errors():
    with pytest.raises(SpecError, match="input lists"):
        Model("m", LayerDag((_layer("a"),), ()))
    with pytest.raises(SpecError, match="duplicate layer name 'a'"):
        Model("m", LayerDag((_layer("a"), _layer("a")), ((), ())))
    with pytest.raises(SpecError, match="no layers"):
        Model("m", LayerDag((), ()))
    with pytest.raises(SpecError, match="expected a LayerDag or nx.DiGraph"):
        Model("m", [_layer("a")])  # type: ignore[arg-type]
