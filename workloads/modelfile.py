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

Lines starting with ``#`` are comments; ``# accuracy: 0.93`` sets the model's relative accuracy.
Models whose layers use explicit padding are shape-checked (:func:`workloads.model.check_shapes`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path

from rtmm.errors import SpecError
from rtmm.fileio import atomic_write_text, read_text
from workloads.layer import Layer, parse_op, same_padding, validate_layer
from workloads.model import Model, check_shapes, format_padding, format_pair

REQUIRED_COLUMNS = ("name", "type", "N", "K", "C", "Y", "X", "R", "S")
OPTIONAL_COLUMNS = ("stride", "groups", "padding", "inputs")
#: Column order written by :func:`write_model_csv`.
WRITE_COLUMNS = (*REQUIRED_COLUMNS, "stride", "groups", "padding", "inputs")

_PAIR = re.compile(r"^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$")
_META = re.compile(r"^#\s*(\w+)\s*:\s*(.*?)\s*$")


def _int_cell(text: str, *, source: str, where: str, column: str) -> int:
    try:
        value = int(text.strip())
    except (ValueError, AttributeError):
        raise SpecError(
            f"{column} = '{text}' is not an integer", source=source, field=where
        ) from None
    return value


def _pair_cell(text: str, *, source: str, where: str, column: str) -> tuple[int, int]:
    match = _PAIR.match(text)
    if not match:
        raise SpecError(
            f"{column} = '{text}'", source=source, field=where, allowed="'2' or '2x1' (Y x X)"
        )
    y = int(match.group(1))
    return (y, int(match.group(2)) if match.group(2) is not None else y)


def parse_model_csv(text: str, *, name: str, source: str = "<string>") -> Model:
    """Parse model CSV text into a :class:`Model` (validated; shape-checked unless XRBench)."""
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
    _check_header(header, source=source, lineno=header_line)
    layers: list[Layer] = []
    inputs: list[list[str]] = []
    for (lineno, _), row in zip(body_lines[1:], rows[1:], strict=True):
        where = f"line {lineno}"
        if len(row) != len(header):
            raise SpecError(
                f"{len(row)} fields, header has {len(header)}", source=source, field=where
            )
        record = dict(zip(header, row, strict=True))
        layer = _layer_from_record(record, source=source, where=where)
        layers.append(layer)
        inputs.append(_inputs_of(record.get("inputs", ""), layers, source=source, where=where))
    if not layers:
        raise SpecError("header only, no layers", source=source, allowed="at least one layer row")
    model = Model.from_edges(name, layers, inputs, accuracy=accuracy, source=source)
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


def _check_header(header: list[str], *, source: str, lineno: int) -> None:
    where = f"line {lineno} (header)"
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    for col in header:
        if col not in known:
            raise SpecError(
                f"unknown column '{col}'",
                source=source,
                field=where,
                allowed=", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS),
            )
    if len(set(header)) != len(header):
        raise SpecError("duplicate column", source=source, field=where)
    missing = [col for col in REQUIRED_COLUMNS if col not in header]
    if missing:
        raise SpecError(
            f"missing column(s) {', '.join(missing)}",
            source=source,
            field=where,
            allowed="name,type,N,K,C,Y,X,R,S[,stride,groups,padding,inputs]",
        )


def _layer_from_record(record: dict[str, str], *, source: str, where: str) -> Layer:
    name = record["name"].strip()
    if not name:
        raise SpecError("empty layer name", source=source, field=where)
    op_text = record["type"].strip()
    op = parse_op(op_text, source=source, field=where)
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
        else _pair_cell(pad_text, source=source, where=where, column="padding")
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
    "parse_model_csv",
    "read_model_csv",
    "model_csv_text",
    "write_model_csv",
]
