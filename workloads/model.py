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
meaningless (a cycle, a node without a layer; :mod:`workloads.layer_dag`). Checking that connected
layers agree on their shapes is a separate step, :func:`workloads.shapes.check_shapes`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from rtmm.errors import SpecError
from workloads.layer import Layer, OpType
from workloads.layer_dag import LayerDag, check_dag, check_graph, digraph, sorted_layers

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
            self.layers = check_dag(graph, name=name, source=source)
        else:
            check_graph(graph, name=name, source=source)
            self._graph = graph
            self._dag = LayerDag(
                tuple(graph.nodes[n]["layer"] for n in graph.nodes),
                tuple(tuple(graph.predecessors(n)) for n in graph.nodes),
            )
            self.layers = sorted_layers(graph)

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
            self._graph = digraph(self.name, self._dag)
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
