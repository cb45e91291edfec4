"""A model's layer DAG without networkx, and its checks: :class:`LayerDag` holds the layers in
insertion order and, per layer, the names of its producers (what the file readers build).
:func:`check_dag` returns the layers in stable topological order; when every layer's producers come
before it (the readers' order) that order is the answer and networkx is never imported. Only a
DAG inserted out of order, or a networkx ``DiGraph`` given to :class:`workloads.model.Model`, is
sorted and cycle-checked with networkx (imported inside the functions that need it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rtmm.errors import SpecError
from workloads.layer import Layer

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class LayerDag:
    """A model's DAG without networkx: layers in insertion order and, per layer, the names of
    the layers feeding it (what the file readers build)."""

    layers: tuple[Layer, ...]
    inputs: tuple[tuple[str, ...], ...]


def check_dag(dag: LayerDag, *, name: str, source: str | None) -> tuple[Layer, ...]:
    """Check a :class:`LayerDag` and return its layers in stable topological order.

    When every layer's producers come before it (the readers' order), that order is the answer
    and no graph library is needed; otherwise networkx sorts the graph and finds any cycle."""
    if not dag.layers:
        raise SpecError(f"model '{name}' has no layers", source=source)
    if len(dag.inputs) != len(dag.layers):
        raise SpecError(
            f"model '{name}': {len(dag.layers)} layers but {len(dag.inputs)} input lists",
            source=source,
            allowed="one input list per layer",
        )
    seen: set[str] = set()
    ordered = True
    for layer, inputs in zip(dag.layers, dag.inputs, strict=True):
        if not isinstance(layer, Layer):
            raise SpecError(f"model '{name}': {layer!r} is not a Layer", source=source)
        if layer.name in seen:
            raise SpecError(
                f"duplicate layer name '{layer.name}'",
                source=source,
                allowed="unique layer names per model",
            )
        ordered = ordered and all(p in seen for p in inputs)
        seen.add(layer.name)
    if ordered:
        return dag.layers
    graph = digraph(name, dag)
    check_graph(graph, name=name, source=source)
    return sorted_layers(graph)


def digraph(name: str, dag: LayerDag) -> nx.DiGraph:
    """The networkx graph of ``dag`` (networkx imported here: only graph features need it)."""
    import networkx as nx

    graph = nx.DiGraph(name=name)
    for layer in dag.layers:
        graph.add_node(layer.name, layer=layer)
    for layer, inputs in zip(dag.layers, dag.inputs, strict=True):
        graph.add_edges_from((pred, layer.name) for pred in inputs)
    return graph


def sorted_layers(graph: nx.DiGraph) -> tuple[Layer, ...]:
    """Layers in stable topological order: among ready layers, the one inserted first."""
    import networkx as nx

    order = {n: i for i, n in enumerate(graph.nodes)}
    names = nx.lexicographical_topological_sort(graph, key=order.__getitem__)
    return tuple(graph.nodes[n]["layer"] for n in names)


def check_graph(graph: object, *, name: str, source: str | None) -> None:
    import networkx as nx

    if not isinstance(graph, nx.DiGraph):
        raise SpecError(
            f"model '{name}' graph is {type(graph).__name__}, expected a LayerDag or nx.DiGraph"
        )
    if graph.number_of_nodes() == 0:
        raise SpecError(f"model '{name}' has no layers", source=source)
    for node, data in graph.nodes(data=True):
        layer = data.get("layer")
        if not isinstance(layer, Layer) or layer.name != node:
            raise SpecError(
                f"model '{name}': node '{node}' has no Layer with that name in attribute 'layer'",
                source=source,
            )
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        path = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
        raise SpecError(
            f"model '{name}' has a cycle: {path}", source=source, allowed="a DAG of layers"
        )
