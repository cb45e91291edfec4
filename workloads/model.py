"""A DNN model: a DAG of :class:`~workloads.layer.Layer` objects with a thin wrapper.

A model holds its layers in insertion order and, per layer, the names of its producers.
``Model.layers`` lists the layers in a *stable* topological order: among the layers that are
ready, the one inserted first comes first, so a chain read from a table keeps the table's order.
``Model.graph`` is the same DAG as a networkx ``DiGraph`` (nodes are layer names, node attribute
``"layer"`` holds the :class:`Layer`, edges run from producer to consumer). It is built on first
use: the readers list layers in an order where every producer comes before its consumers, and
such a list already is the stable topological order (a ready layer inserted earlier would
precede it), so costing a model never imports networkx. Only a model whose layers are inserted
out of order (or one built from a ``DiGraph``) is sorted and cycle-checked with networkx.

Construction (:meth:`Model.__init__`, :meth:`Model.chain`) only rejects what would make the object
meaningless (a cycle, a node without a layer). Checking that connected layers agree on their shapes
is a separate step, :func:`check_shapes`, which the file readers run for models whose layers use
real padding; XRBench tables (``padding="xrbench"``) are chains whose neighbouring rows do not have
consistent shapes, so they are never shape-checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from rtmm.errors import SpecError
from workloads.layer import Layer, OpType

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

    from workloads.supernet import Variant

#: Columns of :meth:`Model.to_frame`, in order.
FRAME_COLUMNS = (
    "layer_idx",
    "name",
    "type",
    "N",
    "K",
    "C",
    "Y",
    "X",
    "R",
    "S",
    "stride",
    "padding",
    "groups",
    "out_y",
    "out_x",
    "macs",
    "input_elems",
    "weight_elems",
    "output_elems",
    "inputs",
)


@dataclass(frozen=True)
class LayerDag:
    """A model's DAG without networkx: layers in insertion order and, per layer, the names of
    the layers feeding it (what the file readers build)."""

    layers: tuple[Layer, ...]
    inputs: tuple[tuple[str, ...], ...]


class Model:
    """A named DAG of layers with an accuracy figure (relative quality, full model = 1.0).

    ``graph`` is a :class:`LayerDag` or a networkx ``DiGraph`` (nodes named by layer, attribute
    ``"layer"``). ``variants`` lists the supernet sub-networks available for this model (largest
    first, the full model included) and is empty for models without a supernet. Treat the graph
    as read-only: models are cached and shared.
    """

    def __init__(
        self,
        name: str,
        graph: LayerDag | nx.DiGraph,
        *,
        accuracy: float = 1.0,
        variants: Sequence[Variant] = (),
        source: str | None = None,
        layer_dataflows: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.accuracy = float(accuracy)
        self.variants: tuple[Variant, ...] = tuple(variants)
        #: Layers with their own mapping (MAESTRO ``Dataflow`` blocks): layer name → directive
        #: list. The cost model costs such a layer with it instead of the accelerator's dataflow.
        self.layer_dataflows: dict[str, str] = dict(layer_dataflows or {})
        self._graph: nx.DiGraph | None = None
        self.layers: tuple[Layer, ...]
        """Layers in stable topological order (file order for chains)."""
        if isinstance(graph, LayerDag):
            self._dag = graph
            self.layers = _check_dag(graph, name=name, source=source)
        else:
            _check_graph(graph, name=name, source=source)
            self._graph = graph
            self._dag = LayerDag(
                tuple(graph.nodes[n]["layer"] for n in graph.nodes),
                tuple(tuple(graph.predecessors(n)) for n in graph.nodes),
            )
            self.layers = _sorted_layers(graph)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def chain(cls, name: str, layers: Iterable[Layer], **kwargs: object) -> Model:
        """A sequential model: each layer feeds the next, in the given order."""
        return cls.from_edges(name, layers, None, **kwargs)

    @classmethod
    def from_edges(
        cls,
        name: str,
        layers: Iterable[Layer],
        inputs: Sequence[Sequence[str]] | None,
        **kwargs: object,
    ) -> Model:
        """Build a DAG from layers and, per layer, the names of its predecessors.

        ``inputs=None`` makes a chain. Duplicate layer names and unknown predecessors raise
        :class:`SpecError`.
        """
        layers = list(layers)
        given = kwargs.get("source")
        source = given if isinstance(given, str | os.PathLike) else None
        known: set[str] = set()
        for layer in layers:
            if layer.name in known:
                raise SpecError(
                    f"duplicate layer name '{layer.name}'",
                    source=source,
                    allowed="unique layer names per model",
                )
            known.add(layer.name)
        if inputs is None:
            inputs = [()] + [(a.name,) for a in layers[:-1]]
        else:
            for layer, preds in zip(layers, inputs, strict=True):
                for pred in preds:
                    if pred not in known:
                        raise SpecError(
                            f"layer '{layer.name}' takes input from unknown layer '{pred}'",
                            source=source,
                            allowed="names of layers in the same model",
                        )
        dag = LayerDag(tuple(layers), tuple(tuple(p) for p in inputs))
        return cls(name, dag, **kwargs)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Model:
        """A copy with some of name/accuracy/variants/source replaced (graph shared)."""
        kwargs = {
            "accuracy": self.accuracy,
            "variants": self.variants,
            "source": self.source,
        }
        name = str(changes.pop("name", self.name))
        kwargs.update(changes)
        copy = Model(name, self._dag, **kwargs)  # type: ignore[arg-type]
        copy._graph = self._graph
        return copy

    # -- views --------------------------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """The DAG as a networkx ``DiGraph`` (built on first use; shared, read-only)."""
        if self._graph is None:
            self._graph = _digraph(self.name, self._dag)
        return self._graph

    @cached_property
    def _preds(self) -> dict[str, tuple[str, ...]]:
        return {
            layer.name: inputs
            for layer, inputs in zip(self._dag.layers, self._dag.inputs, strict=True)
        }

    @cached_property
    def _succs(self) -> dict[str, list[str]]:
        succs: dict[str, list[str]] = {layer.name: [] for layer in self._dag.layers}
        for name, preds in self._preds.items():
            for pred in dict.fromkeys(preds):
                succs[pred].append(name)
        return succs

    @cached_property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.layer_names)}

    @cached_property
    def macs_array(self) -> np.ndarray:
        """Per-layer MACs (int64, signed as in the XRBench tables), in :attr:`layers` order."""
        return self._dim_arrays()["macs"]

    @property
    def total_macs(self) -> int:
        return int(self.macs_array.sum())

    @property
    def is_chain(self) -> bool:
        return all(len(set(p)) <= 1 for p in self._preds.values()) and all(
            len(s) <= 1 for s in self._succs.values()
        )

    def predecessors(self, layer: str | int) -> list[str]:
        """Names of the layers feeding ``layer`` (a name or an index), in layer order."""
        name = self.layer_names[layer] if isinstance(layer, int) else layer
        return sorted(set(self._preds[name]), key=self._index.__getitem__)

    def successors(self, layer: str | int) -> list[str]:
        """Names of the layers ``layer`` (a name or an index) feeds, in layer order."""
        name = self.layer_names[layer] if isinstance(layer, int) else layer
        return sorted(self._succs[name], key=self._index.__getitem__)

    def index_of(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise SpecError(
                f"model '{self.name}' has no layer '{name}'", source=self.source
            ) from None

    def __len__(self) -> int:
        return len(self._dag.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __getitem__(self, key: int | str) -> Layer:
        if isinstance(key, str):
            return self.layers[self.index_of(key)]
        return self.layers[key]

    def __repr__(self) -> str:
        return (
            f"Model({self.name!r}, layers={len(self)}, macs={self.total_macs}, "
            f"accuracy={self.accuracy:g}, variants={len(self.variants)})"
        )

    def subgraph(self, start: int | str = 0, stop: int | str | None = None) -> Model:
        """The layers ``start:stop`` (indices into :attr:`layers`, Python slice semantics; a layer
        name stands for its index) as a model with the edges among them."""
        lo = self.index_of(start) if isinstance(start, str) else start
        hi = self.index_of(stop) if isinstance(stop, str) else stop
        names = self.layer_names[slice(lo, hi)]
        if not names:
            raise SpecError(
                f"layer range [{start}:{stop}] of model '{self.name}' is empty",
                source=self.source,
                allowed=f"a non-empty range within 0..{len(self)}",
            )
        kept = set(names)
        dag = LayerDag(
            tuple(self.layers[self._index[n]] for n in names),
            tuple(tuple(p for p in self._preds[n] if p in kept) for n in names),
        )
        return Model(
            f"{self.name}[{names[0]}:{names[-1]}]",
            dag,
            accuracy=self.accuracy,
            source=self.source,
        )

    def _dim_arrays(self) -> dict[str, np.ndarray]:
        layers = self.layers
        dims = np.array([layer.dims for layer in layers], dtype=np.int64).reshape(-1, 7)
        n, k, c, y, x, r, s = dims.T
        sy = np.array([layer.stride[0] for layer in layers], dtype=np.int64)
        sx = np.array([layer.stride[1] for layer in layers], dtype=np.int64)
        groups = np.array([layer.groups for layer in layers], dtype=np.int64)
        xr = np.array([layer.padding == "xrbench" for layer in layers], dtype=bool)
        py = np.array(
            [0 if p else layer.padding[0] for p, layer in zip(xr, layers, strict=True)], np.int64
        )
        px = np.array(
            [0 if p else layer.padding[1] for p, layer in zip(xr, layers, strict=True)], np.int64
        )
        out_y = (y + 2 * py - r) // sy + 1
        out_x = (x + 2 * px - s) // sx + 1
        op = np.array([layer.op.value for layer in layers], dtype=object)
        no_weights = np.isin(op, [OpType.POOL.value, OpType.ELTWISE.value, OpType.ATTN.value])
        macs = n * k * (c // groups) * r * s * out_y * out_x
        macs = np.where(op == OpType.POOL.value, n * k * r * s * out_y * out_x, macs)
        macs = np.where(op == OpType.ELTWISE.value, n * k * out_y * out_x, macs)
        return {
            "N": n,
            "K": k,
            "C": c,
            "Y": y,
            "X": x,
            "R": r,
            "S": s,
            "groups": groups,
            "out_y": out_y,
            "out_x": out_x,
            "macs": macs,
            "input_elems": n * c * y * x,
            "weight_elems": np.where(no_weights, 0, k * (c // groups) * r * s),
            "output_elems": n * k * out_y * out_x,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per layer (in :attr:`layers` order) with dimensions, MACs and tensor sizes.

        ``stride`` and ``padding`` are strings as in the model CSV format (``"2"`` or ``"2x1"``;
        ``"xrbench"`` or ``"1"``/``"1x0"``); ``inputs`` is the ';'-joined predecessor names.
        """
        import pandas as pd  # lazy: listing and costing models needs no pandas

        arrays = self._dim_arrays()
        frame = pd.DataFrame(
            {
                "layer_idx": np.arange(len(self.layers), dtype=np.int64),
                "name": list(self.layer_names),
                "type": [layer.op.value for layer in self.layers],
                **{key: arrays[key] for key in "NKCYXRS"},
                "stride": [format_pair(layer.stride) for layer in self.layers],
                "padding": [format_padding(layer.padding) for layer in self.layers],
                "groups": arrays["groups"],
                "out_y": arrays["out_y"],
                "out_x": arrays["out_x"],
                "macs": arrays["macs"],
                "input_elems": arrays["input_elems"],
                "weight_elems": arrays["weight_elems"],
                "output_elems": arrays["output_elems"],
                "inputs": [";".join(self.predecessors(n)) for n in self.layer_names],
            }
        )
        return frame[list(FRAME_COLUMNS)]


def format_pair(pair: tuple[int, int]) -> str:
    """``(2, 2)`` → ``"2"``; ``(2, 1)`` → ``"2x1"``."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def format_padding(padding: str | tuple[int, int]) -> str:
    return padding if isinstance(padding, str) else format_pair(padding)


def _check_dag(dag: LayerDag, *, name: str, source: str | None) -> tuple[Layer, ...]:
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
    graph = _digraph(name, dag)
    _check_graph(graph, name=name, source=source)
    return _sorted_layers(graph)


def _digraph(name: str, dag: LayerDag) -> nx.DiGraph:
    """The networkx graph of ``dag`` (networkx imported here: only graph features need it)."""
    import networkx as nx

    graph = nx.DiGraph(name=name)
    for layer in dag.layers:
        graph.add_node(layer.name, layer=layer)
    for layer, inputs in zip(dag.layers, dag.inputs, strict=True):
        graph.add_edges_from((pred, layer.name) for pred in inputs)
    return graph


def _sorted_layers(graph: nx.DiGraph) -> tuple[Layer, ...]:
    """Layers in stable topological order: among ready layers, the one inserted first."""
    import networkx as nx

    order = {n: i for i, n in enumerate(graph.nodes)}
    names = nx.lexicographical_topological_sort(graph, key=order.__getitem__)
    return tuple(graph.nodes[n]["layer"] for n in names)


def _check_graph(graph: object, *, name: str, source: str | None) -> None:
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


def _matches(producer: Layer, consumer: Layer) -> bool:
    return (producer.N, producer.K, producer.out_y, producer.out_x) == (
        consumer.N,
        consumer.C,
        consumer.Y,
        consumer.X,
    )


def _inputs_fit(preds: list[Layer], layer: Layer) -> bool:
    """Whether the producers' outputs can form the consumer's input (see :func:`check_shapes`)."""
    if all(_matches(p, layer) for p in preds):
        return True  # chain, or element-wise merge of equal tensors
    if (
        all((p.N, p.out_y, p.out_x) == (layer.N, layer.Y, layer.X) for p in preds)
        and sum(p.K for p in preds) == layer.C
    ):
        return True  # channel concatenation
    produced = [p.output_elems for p in preds]
    if sum(produced) == layer.input_elems:
        return True  # reshape / flatten / concatenation along another axis
    if layer.op == OpType.ATTN:
        # two activations: (Y x C) and (C x K)
        return all(e in (layer.input_elems, layer.N * layer.C * layer.K) for e in produced)
    if layer.op == OpType.ELTWISE:
        # broadcasting operands (e.g. squeeze-excite scale): each divides the full tensor
        return all(e > 0 and layer.input_elems % e == 0 for e in produced) and (
            max(produced) == layer.input_elems
        )
    return False


def check_shapes(model: Model) -> Model:
    """Raise :class:`SpecError` if a producer's output cannot be its consumer's input.

    Accepted: equal shapes (N, K, Y', X') == (N, C, Y, X); channel concatenation of several
    producers; a reshape with the same element count; the two operands of an attention matmul;
    broadcasting operands of an element-wise layer. Skipped for layers with ``padding="xrbench"``.
    """
    for name in model.layer_names:
        layer = model[name]
        if layer.padding == "xrbench":
            continue
        preds = [model[p] for p in model.predecessors(name)]
        if preds and not _inputs_fit(preds, layer):
            got = ", ".join(f"'{p.name}' {p.N}x{p.K}x{p.out_y}x{p.out_x}" for p in preds)
            raise SpecError(
                f"shape mismatch: layer '{name}' expects input N x C x Y x X = "
                f"{layer.N}x{layer.C}x{layer.Y}x{layer.X} but gets {got}",
                source=model.source,
                field=f"model '{model.name}'",
                allowed="producer output (N, K, Y', X') equal to consumer input (N, C, Y, X)",
            )
    return model
