"""The project's own model file format: one CSV row per layer.

Columns (header required, order free): ``name,type,N,K,C,Y,X,R,S`` (required) and
``stride,groups,padding,inputs`` (optional).

- ``type``: CONV, DSCONV (depthwise: groups = C = K), GEMM/FC, ATTN, POOL, ELTWISE.
- ``stride``: ``2`` (both axes) or ``2x1`` (Y x X); default 1.
- ``padding``: ``xrbench`` (default; XRBench's stride-1 "valid" convention with signed output
  size), rows/columns added on each side, ``1`` or ``1x0``, or ``same`` (output size
  ceil(input / stride); the per-side padding is derived, :func:`workloads.layer.same_padding`).
- ``groups``: default 1.
- ``inputs``: predecessor layer names separated by ``;``. Empty means "the previous row" (none
  for the first row); ``-`` means "no predecessor" (another graph input).

A ``layer`` column may stand in for ``name``. Standalone layer tables (``rtmm cost --layers``,
:func:`costmodel.batch.read_layer_table`) are read by the same code (:func:`read_layer_rows`,
:func:`layer_from_record`) and may carry extra columns, kept as annotations; a model file refuses
them (a misspelt optional column would silently change the model).

Lines starting with ``#`` are comments; ``# accuracy: 0.93`` sets the model's relative accuracy.
Models whose layers use explicit padding are shape-checked (:func:`workloads.shapes.check_shapes`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rtmm.errors import SpecError
from rtmm.fileio import atomic_write_text, read_text
from workloads.layer import Layer, parse_op, same_padding, validate_layer
from workloads.model import Model, format_padding, format_pair
from workloads.shapes import check_shapes

REQUIRED_COLUMNS = ("name", "type", "N", "K", "C", "Y", "X", "R", "S")
OPTIONAL_COLUMNS = ("stride", "groups", "padding", "inputs")
#: Column order written by :func:`write_model_csv`.
WRITE_COLUMNS = (*REQUIRED_COLUMNS, "stride", "groups", "padding", "inputs")

_PAIR = re.compile(r"^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$")
_META = re.compile(r"^#\s*(\w+)\s*:\s*(.*?)\s*$")


def _int_cell(text: str, *, source: str, where: str, column: str, minimum: int = 1) -> int:
    try:
        value = int(text.strip())
    except (ValueError, AttributeError):
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
    return value


def _pair_cell(
    text: str, *, source: str, where: str, column: str, minimum: int = 1
) -> tuple[int, int]:
    match = _PAIR.match(text)
    pair = None
    if match:
        y = int(match.group(1))
        pair = (y, int(match.group(2)) if match.group(2) is not None else y)
    if pair is None or min(pair) < minimum:
        raise SpecError(
            f"{column} = '{text}'",
            source=source,
            field=f"{where} column {column}",
            allowed=f"'2' or '2x1' (Y x X), integers >= {minimum}",
        )
    return pair


@dataclass(frozen=True)
class LayerRows:
    """The rows of a layer CSV: header (file order), ``(line number, record)`` per layer row
    (cells stripped, a ``layer`` column copied to ``name``), and the ``# accuracy:`` value."""

    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]
    accuracy: float = 1.0


def read_layer_rows(text: str, *, source: str, annotations: bool = False) -> LayerRows:
    """Split a layer CSV into checked rows — the one reader of layer tables.

    Both file kinds use it: model files (:func:`parse_model_csv`, ``annotations=False``: a column
    outside :data:`REQUIRED_COLUMNS` and :data:`OPTIONAL_COLUMNS` is refused, so a misspelt
    optional column cannot silently change the model) and standalone layer tables
    (``costmodel.batch.read_layer_table``, ``annotations=True``: other columns are kept as
    annotations and passed through to the output). A ``layer`` column stands in for ``name``
    (XRBench's tables). Each row becomes a layer with :func:`layer_from_record`.
    """
    accuracy = 1.0
    body_lines: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            meta = _META.match(stripped)
            if meta and meta.group(1).lower() == "accuracy":
                accuracy = _parse_accuracy(meta.group(2), source=source, lineno=lineno)
            continue
        if stripped:
            body_lines.append((lineno, line))
    if not body_lines:
        raise SpecError("no header and no layers", source=source, allowed="a CSV layer table")
    try:
        rows = list(csv.reader(io.StringIO("\n".join(line for _, line in body_lines))))
    except csv.Error as exc:
        raise SpecError(f"not valid CSV ({exc})", source=source) from None
    if len(rows) != len(body_lines):
        raise SpecError("quoted fields spanning lines are not supported", source=source)
    header = [h.strip() for h in rows[0]]
    header_line = body_lines[0][0]
    _check_header(header, source=source, lineno=header_line, annotations=annotations)
    records = []
    for (lineno, _), row in zip(body_lines[1:], rows[1:], strict=True):
        if len(row) != len(header):
            raise SpecError(
                f"{len(row)} fields, header has {len(header)}",
                source=source,
                field=f"line {lineno}",
            )
        record = dict(zip(header, (cell.strip() for cell in row), strict=True))
        if "name" not in record:
            record["name"] = record["layer"]
        records.append((lineno, record))
    if not records:
        raise SpecError("header only, no layers", source=source, allowed="at least one layer row")
    return LayerRows(tuple(header), tuple(records), accuracy)


def parse_model_csv(text: str, *, name: str, source: str = "<string>") -> Model:
    """Parse model CSV text into a :class:`Model` (validated; shape-checked unless XRBench)."""
    table = read_layer_rows(text, source=source)
    layers: list[Layer] = []
    inputs: list[list[str]] = []
    for lineno, record in table.rows:
        where = f"line {lineno}"
        layers.append(layer_from_record(record, source=source, where=where))
        inputs.append(_inputs_of(record.get("inputs", ""), layers, source=source, where=where))
    model = Model.from_edges(name, layers, inputs, accuracy=table.accuracy, source=source)
    return check_shapes(model)


def _parse_accuracy(text: str, *, source: str, lineno: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0.0 < value <= 1.0):
        raise SpecError(
            f"accuracy = '{text}'",
            source=source,
            field=f"line {lineno}",
            allowed="0 < accuracy <= 1",
        )
    return value


def _check_header(header: list[str], *, source: str, lineno: int, annotations: bool) -> None:
    where = f"line {lineno}"
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | {"layer"}
    if not annotations:
        for col in header:
            if col not in known:
                raise SpecError(
                    f"unknown column '{col}'",
                    source=source,
                    field=where,
                    allowed=", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS),
                )
    if len(set(header)) != len(header):
        raise SpecError("duplicate column names", source=source, field=where)
    missing = [
        c for c in REQUIRED_COLUMNS if c not in header and not (c == "name" and "layer" in header)
    ]
    if missing:
        raise SpecError(
            f"missing column(s) {', '.join(missing)}",
            source=source,
            field=where,
            allowed="name,type,N,K,C,Y,X,R,S[,stride,groups,padding,inputs]",
        )


def layer_from_record(record: dict[str, str], *, source: str, where: str) -> Layer:
    """One layer from one row's cells (the rules of the module docstring), validated."""
    name = record["name"].strip()
    if not name:
        raise SpecError("empty layer name", source=source, field=f"{where} column name")
    op_text = record["type"].strip()
    op = parse_op(op_text, source=source, field=f"{where} column type")
    dims = {d: _int_cell(record[d], source=source, where=where, column=d) for d in "NKCYXRS"}
    stride_text = record.get("stride", "").strip() or "1"
    stride = _pair_cell(stride_text, source=source, where=where, column="stride")
    groups_text = record.get("groups", "").strip() or "1"
    groups = _int_cell(groups_text, source=source, where=where, column="groups")
    pad_text = record.get("padding", "").strip() or "xrbench"
    padding: str | tuple[int, int] = (
        "xrbench"
        if pad_text.lower() == "xrbench"
        else same_padding(
            (dims["Y"], dims["X"]), (dims["R"], dims["S"]), stride, source=source, field=where
        )
        if pad_text.lower() == "same"
        else _pair_cell(pad_text, source=source, where=where, column="padding", minimum=0)
    )
    if op_text.upper() == "DSCONV":
        groups = dims["C"]
        dims["K"] = dims["C"]
    layer = Layer(name=name, op=op, stride=stride, padding=padding, groups=groups, **dims)
    return validate_layer(layer, source=source, field=f"{where}, layer '{name}'")


def _inputs_of(text: str, layers: list[Layer], *, source: str, where: str) -> list[str]:
    text = text.strip()
    if text == "-":
        return []
    if not text:
        return [layers[-2].name] if len(layers) > 1 else []
    names = [part.strip() for part in text.split(";")]
    if any(not n for n in names):
        raise SpecError(
            f"inputs = '{text}' has an empty name",
            source=source,
            field=where,
            allowed="layer names separated by ';'",
        )
    earlier = {layer.name for layer in layers[:-1]}
    for n in names:
        if n not in earlier:
            raise SpecError(
                f"input '{n}' is not an earlier layer",
                source=source,
                field=where,
                allowed="names of layers on earlier rows (layers are listed in topological order)",
            )
    return names


def read_model_csv(path: str | os.PathLike, name: str | None = None) -> Model:
    """Read a model CSV file; the model is named after the file stem unless ``name`` is given."""
    p = Path(path)
    return parse_model_csv(read_text(p), name=name or p.stem, source=str(p))


def model_csv_text(model: Model) -> str:
    """The model as CSV text in this format (round-trips through :func:`parse_model_csv`)."""
    out = io.StringIO()
    if model.accuracy != 1.0:
        out.write(f"# accuracy: {model.accuracy!r}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WRITE_COLUMNS)
    previous: str | None = None
    for layer in model.layers:
        preds = model.predecessors(layer.name)
        if previous is not None and preds == [previous]:
            inputs = ""
        elif not preds:
            inputs = "" if previous is None else "-"
        else:
            inputs = ";".join(preds)
        writer.writerow(
            [
                layer.name,
                layer.op.value,
                *layer.dims,
                format_pair(layer.stride),
                layer.groups,
                format_padding(layer.padding),
                inputs,
            ]
        )
        previous = layer.name
    return out.getvalue()


def write_model_csv(model: Model, path: str | os.PathLike) -> None:
    """Write ``model`` atomically in the CSV format."""
    atomic_write_text(path, model_csv_text(model))


__all__ = [
    "LayerRows",
    "layer_from_record",
    "read_layer_rows",
    "parse_model_csv",
    "read_model_csv",
    "model_csv_text",
    "write_model_csv",
]
