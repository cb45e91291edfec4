"""Layers as column arrays: the input every analysis receives, and the layer-table CSV reader.

A :class:`LayerBatch` holds n layers as int64 arrays (dimensions, strides, padding, groups, an
operator code). Analyses are vectorised over it; :meth:`LayerBatch.key_matrix` is the content key
of each layer (what the caches hash).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rtmm.errors import SpecError
from rtmm.fileio import read_text
from workloads.layer import (
    MAX_LAYER_DIM,
    MAX_LAYER_VOLUME,
    Layer,
    OpType,
    parse_op,
    same_padding,
)

#: Operator codes used in :meth:`LayerBatch.key_matrix` (stable order).
OP_CODES: dict[str, int] = {op.value: i for i, op in enumerate(OpType)}
#: Required columns of a layer table (XRBench's convention).
LAYER_COLUMNS = ("name", "type", "N", "K", "C", "Y", "X", "R", "S")
_COLUMNS_ALLOWED = "columns " + ",".join(LAYER_COLUMNS) + " (optional stride, groups, padding)"
_PAIR = re.compile(r"^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$")


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
            names=tuple(self.names[i] for i in index),
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
        return _batch_from_records(frame.astype(str).to_dict("records"), source, lines=None)

    @classmethod
    def of(cls, layers: Sequence[Layer] | pd.DataFrame | LayerBatch) -> LayerBatch:
        if isinstance(layers, LayerBatch):
            return layers
        if isinstance(layers, pd.DataFrame):
            return cls.from_frame(layers)
        return cls.from_layers(layers)


def _where(lines: Sequence[int] | None, index: int) -> str:
    return f"line {lines[index]}" if lines is not None else f"row {index}"


def _int_cell(record: dict, column: str, source: str, where: str, minimum: int = 1) -> int:
    text = str(record[column]).strip()
    try:
        value = int(text)
    except ValueError:
        raise SpecError(
            f"{column} = '{text}' is not an integer",
            source=source,
            field=f"{where} column {column}",
        ) from None
    if value < minimum:
        raise SpecError(
            f"{column} = {value}",
            source=source,
            field=f"{where} column {column}",
            allowed=f"integers >= {minimum}",
        )
    return _bounded(value, column, source, where)


def _bounded(value: int, column: str, source: str, where: str) -> int:
    """``value`` if at most :data:`MAX_LAYER_DIM` (int64 counts stay exact), else SpecError."""
    if value > MAX_LAYER_DIM:
        raise SpecError(
            f"{column} = {value} is too large",
            source=source,
            field=f"{where} column {column}",
            allowed=f"integers <= {MAX_LAYER_DIM}",
        )
    return value


def _pair_cell(record: dict, column: str, source: str, where: str) -> tuple[int, int]:
    text = str(record[column])
    match = _PAIR.match(text)
    if not match or int(match.group(1)) < 1 or (match.group(2) and int(match.group(2)) < 1):
        raise SpecError(
            f"{column} = '{text}'",
            source=source,
            field=f"{where} column {column}",
            allowed="a positive integer or 'YxX' (e.g. 2 or 2x1)",
        )
    y = _bounded(int(match.group(1)), column, source, where)
    return (y, _bounded(int(match.group(2)), column, source, where) if match.group(2) else y)


def _batch_from_records(
    records: list[dict], source: str, lines: Sequence[int] | None
) -> LayerBatch:
    if records:
        missing = [c for c in LAYER_COLUMNS if c not in records[0]]
        if missing:
            raise SpecError(
                f"missing column(s) {', '.join(missing)}",
                source=source,
                field="header",
                allowed=_COLUMNS_ALLOWED,
            )
    names, ops, dims, strides, pads, xr, groups = [], [], [], [], [], [], []
    blank = ("", "nan", "None")
    for index, rec in enumerate(records):
        where = _where(lines, index)
        name = str(rec["name"]).strip()
        if not name or name in blank:
            raise SpecError("empty layer name", source=source, field=f"{where} column name")
        op_text = str(rec["type"]).strip()
        op = parse_op(op_text, source=source, field=f"{where} column type")
        row = [_int_cell(rec, c, source, where) for c in "NKCYXRS"]
        if np.prod(np.array(row, dtype=np.float64)) > MAX_LAYER_VOLUME:
            raise SpecError(
                "N·K·C·Y·X·R·S overflows the int64 access counts",
                source=source,
                field=where,
                allowed="layers with N·K·C·Y·X·R·S <= 2^52",
            )
        stride = (1, 1)
        if str(rec.get("stride", "")).strip() not in blank:
            stride = _pair_cell(rec, "stride", source, where)
        g = 1
        if str(rec.get("groups", "")).strip() not in blank:
            g = _int_cell(rec, "groups", source, where)
        elif op_text.upper() == "DSCONV":
            g = row[2]
        pad_text = str(rec.get("padding", "")).strip()
        is_xr = pad_text in blank or pad_text == "xrbench"
        if pad_text.lower() == "same":
            where_pad = f"{where} column padding"
            pad = same_padding(
                (row[3], row[4]), (row[5], row[6]), stride, source=source, field=where_pad
            )
        else:
            pad = (0, 0) if is_xr else _pair_cell_zero(rec, source, where)
        if row[1] % g or row[2] % g:
            raise SpecError(
                f"groups = {g} does not divide C = {row[2]} and K = {row[1]}",
                source=source,
                field=f"{where} column groups",
                allowed="a common divisor of C and K",
            )
        names.append(name)
        ops.append(op.value)
        dims.append(row)
        strides.append(stride)
        pads.append(pad)
        xr.append(is_xr)
        groups.append(g)
    return LayerBatch(
        names=tuple(names),
        op=np.array(ops, dtype=object),
        dims=np.array(dims, dtype=np.int64).reshape(-1, 7),
        stride=np.array(strides, dtype=np.int64).reshape(-1, 2),
        padding=np.array(pads, dtype=np.int64).reshape(-1, 2),
        xrbench=np.array(xr, dtype=bool),
        groups=np.array(groups, dtype=np.int64),
    )


def _pair_cell_zero(record: dict, source: str, where: str) -> tuple[int, int]:
    text = str(record["padding"])
    match = _PAIR.match(text)
    if not match:
        raise SpecError(
            f"padding = '{text}'",
            source=source,
            field=f"{where} column padding",
            allowed="'xrbench', 'same', a non-negative integer or 'YxX' (e.g. 1 or 1x0)",
        )
    y = _bounded(int(match.group(1)), "padding", source, where)
    return (y, _bounded(int(match.group(2)), "padding", source, where) if match.group(2) else y)


def read_layer_table(path: str | os.PathLike) -> tuple[pd.DataFrame, LayerBatch]:
    """Read a layer-table CSV (header with :data:`LAYER_COLUMNS`, any extra columns kept).

    A ``layer`` column stands in for ``name`` when there is no ``name`` column (as in XRBench's
    ``xrbench_model_layers.csv``).

    Lines starting with ``#`` are comments. Returns the raw table (all columns as strings, rows
    in file order) and the validated :class:`LayerBatch`. Errors name the file, line and column.
    """
    source = os.fspath(path)
    lines = read_text(path).splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if not line.lstrip().startswith("#")]
    numbered = [(n, line) for n, line in numbered if line.strip()]
    if not numbered:
        raise SpecError("no header line", source=source, allowed=",".join(LAYER_COLUMNS))
    header_line, header_text = numbered[0]
    header = [h.strip() for h in next(csv.reader([header_text]))]
    name_column = "name" if "name" in header or "layer" not in header else "layer"
    if len(set(header)) != len(header):
        raise SpecError("duplicate column names", source=source, field=f"line {header_line}")
    missing = [c for c in LAYER_COLUMNS if c not in header and c != "name"]
    missing = (["name"] if name_column not in header else []) + missing
    if missing:
        raise SpecError(
            f"missing column(s) {', '.join(missing)}",
            source=source,
            field=f"line {header_line}",
            allowed=_COLUMNS_ALLOWED,
        )
    records, line_numbers = [], []
    for lineno, text in numbered[1:]:
        cells = next(csv.reader(io.StringIO(text)))
        if len(cells) != len(header):
            raise SpecError(
                f"{len(cells)} fields, the header has {len(header)}",
                source=source,
                field=f"line {lineno}",
            )
        record = dict(zip(header, (c.strip() for c in cells), strict=True))
        record.setdefault("name", record[name_column])
        records.append(record)
        line_numbers.append(lineno)
    if not records:
        raise SpecError("no layer rows", source=source, allowed="one row per layer")
    batch = _batch_from_records(records, source, line_numbers)
    return pd.DataFrame([{h: r[h] for h in header} for r in records], columns=header), batch
