"""Layers as column arrays: the input every analysis receives, and the layer-table CSV reader.

A :class:`LayerBatch` holds n layers as int64 arrays (dimensions, strides, padding, groups, an
operator code). Analyses are vectorised over it; :meth:`LayerBatch.key_matrix` is the content key
of each layer (what the caches hash).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rtmm.fileio import read_text
from workloads.layer import Layer, OpType
from workloads.modelfile import REQUIRED_COLUMNS, layer_from_record, read_layer_rows

if TYPE_CHECKING:
    import pandas as pd

#: Operator codes used in :meth:`LayerBatch.key_matrix` (stable order).
OP_CODES: dict[str, int] = {op.value: i for i, op in enumerate(OpType)}
#: Required columns of a layer table (those of a model file).
LAYER_COLUMNS = REQUIRED_COLUMNS


@dataclass(frozen=True)
class LayerBatch:
    """n layers as arrays. ``padding`` is ``(n, 2)``; ``xrbench`` marks XRBench's convention
    (stride-1 "valid", signed output size), where ``padding`` is 0."""

    names: tuple[str, ...]
    op: np.ndarray  # (n,) str
    dims: np.ndarray  # (n, 7) N,K,C,Y,X,R,S
    stride: np.ndarray  # (n, 2) (y, x)
    padding: np.ndarray  # (n, 2) (y, x) rows/columns on each side
    xrbench: np.ndarray  # (n,) bool
    groups: np.ndarray  # (n,)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def out_y(self) -> np.ndarray:
        """Output rows (Python floor division, as :attr:`workloads.layer.Layer.out_y`)."""
        y, r = self.dims[:, 3], self.dims[:, 5]
        return (y + 2 * self.padding[:, 0] - r) // self.stride[:, 0] + 1

    @property
    def out_x(self) -> np.ndarray:
        x, s = self.dims[:, 4], self.dims[:, 6]
        return (x + 2 * self.padding[:, 1] - s) // self.stride[:, 1] + 1

    def key_matrix(self) -> np.ndarray:
        """``(n, 14)`` int64 content key per layer: op, dims, stride, padding, xrbench, groups."""
        op = np.array([OP_CODES[o] for o in self.op], dtype=np.int64)
        return np.column_stack(
            [op, self.dims, self.stride, self.padding, self.xrbench.astype(np.int64), self.groups]
        ).astype(np.int64)

    def take(self, index: np.ndarray) -> LayerBatch:
        """The layers at ``index`` (an int array), in that order."""
        index = np.asarray(index, dtype=np.int64)
        return LayerBatch(
            names=tuple(map(self.names.__getitem__, index.tolist())),
            op=self.op[index],
            dims=self.dims[index],
            stride=self.stride[index],
            padding=self.padding[index],
            xrbench=self.xrbench[index],
            groups=self.groups[index],
        )

    @classmethod
    def concat(cls, batches: Sequence[LayerBatch]) -> LayerBatch:
        """All layers of ``batches``, one after the other."""
        return cls(
            names=tuple(n for b in batches for n in b.names),
            op=np.concatenate([b.op for b in batches]) if batches else np.zeros(0, object),
            dims=np.concatenate([b.dims for b in batches]).reshape(-1, 7),
            stride=np.concatenate([b.stride for b in batches]).reshape(-1, 2),
            padding=np.concatenate([b.padding for b in batches]).reshape(-1, 2),
            xrbench=np.concatenate([b.xrbench for b in batches]).astype(bool),
            groups=np.concatenate([b.groups for b in batches]).astype(np.int64),
        )

    @classmethod
    def from_layers(cls, layers: Sequence[Layer]) -> LayerBatch:
        layers = list(layers)
        xr = [layer.padding == "xrbench" for layer in layers]
        return cls(
            names=tuple(layer.name for layer in layers),
            op=np.array([OpType(layer.op).value for layer in layers], dtype=object),
            dims=np.array([layer.dims for layer in layers], dtype=np.int64).reshape(-1, 7),
            stride=np.array([layer.stride for layer in layers], dtype=np.int64).reshape(-1, 2),
            padding=np.array(
                [(0, 0) if x else layer.padding for x, layer in zip(xr, layers, strict=True)],
                dtype=np.int64,
            ).reshape(-1, 2),
            xrbench=np.array(xr, dtype=bool),
            groups=np.array([layer.groups for layer in layers], dtype=np.int64),
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "<frame>") -> LayerBatch:
        """From a DataFrame with :data:`LAYER_COLUMNS` (optional ``stride``, ``groups``,
        ``padding``), as produced by :func:`read_layer_table` or ``Model.to_frame()``."""
        blank = {"nan", "None", "<NA>"}
        records = [
            {str(k): ("" if str(v).strip() in blank else str(v)) for k, v in row.items()}
            for row in frame.to_dict("records")
        ]
        return cls.from_layers(
            [
                layer_from_record(record, source=source, where=f"row {i}")
                for i, record in enumerate(records)
            ]
        )

    @classmethod
    def of(cls, layers: Sequence[Layer] | LayerBatch | pd.DataFrame) -> LayerBatch:
        if isinstance(layers, LayerBatch):
            return layers
        if _is_frame(layers):
            return cls.from_frame(layers)  # type: ignore[arg-type]
        return cls.from_layers(layers)  # type: ignore[arg-type]


def _is_frame(value: object) -> bool:
    """Whether ``value`` is a DataFrame (without importing pandas: none exists unless it is)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def read_layer_columns(path: str | os.PathLike) -> tuple[dict[str, list[str]], LayerBatch]:
    """Read a standalone layer-table CSV: the model-file format of :mod:`workloads.modelfile`
    (same reader, same per-row rules) with any extra columns kept as annotations.

    A ``layer`` column stands in for ``name`` when there is no ``name`` column (as in XRBench's
    ``xrbench_model_layers.csv``). Returns the raw table as columns (header → cells as strings,
    rows in file order) and the validated :class:`LayerBatch`. Errors name the file, line and
    column.
    """
    source = os.fspath(path)
    table = read_layer_rows(read_text(path), source=source, annotations=True)
    layers = [
        layer_from_record(record, source=source, where=f"line {lineno}")
        for lineno, record in table.rows
    ]
    raw = {h: [record[h] for _, record in table.rows] for h in table.header}
    return raw, LayerBatch.from_layers(layers)


def read_layer_table(path: str | os.PathLike) -> tuple[pd.DataFrame, LayerBatch]:
    """:func:`read_layer_columns` with the raw table as a DataFrame (all columns strings)."""
    import pandas as pd  # lazy: ``rtmm cost --layers`` uses the columns

    raw, batch = read_layer_columns(path)
    return pd.DataFrame(raw, columns=list(raw)), batch
