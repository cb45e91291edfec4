"""MAESTRO model files and the ``Network`` blocks of XRBench multi-network scenario files.

:func:`parse_networks` reads every block; :mod:`workloads.scenario` builds scenarios from them.

Both share MAESTRO's block syntax::

    Network ES_RITNet {
      FPS: 60                        // scenario files only
      Probability: 0.5               // scenario files only (cascaded models)
      Dependency: { KD_res8_narrow } // scenario files only: the cascade parent
      Layer conv1 {
        Type: CONV                   // CONV, DSCONV, PWCONV, GEMM/FC, POOL, ELTWISE, ATTN
        Stride { X: 2, Y: 2 }        // optional, default 1
        Dimensions { N: 1, K: 32, C: 3, Y: 224, X: 224, R: 3, S: 3 }
        Dataflow { ... }             // optional: this layer's own mapping (see below)
      }
    }

Layers become ``padding="xrbench"`` layers (MAESTRO's Y/X are the padded input size; output size
``(Y - R) // stride + 1``). DSCONV is depthwise (K = groups = C; MAESTRO writes K: 1). GEMM takes
either our dims (K outputs, C reduction, Y rows) or MAESTRO's ``M, N, K`` (rows, outputs,
reduction). A network's layers form a chain in file order.

A layer's ``Dataflow { ... }`` block is MAESTRO's per-layer mapping. Its directives are kept, as
text, in ``Model.layer_dataflows`` (layer name → directive list) with ``Sz(D)`` replaced by the
layer's size of dimension D as written in the file (MAESTRO's meaning); the cost model
(:mod:`costmodel.layer_dataflows`) costs that layer with it instead of the accelerator's dataflow.
The block is read verbatim (``Y'``, ``Sz(R)`` and ``//`` comments allowed;
:mod:`workloads.importers.maestro_dataflow`); its directives are checked when the layer is costed.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from rtmm.errors import SpecError
from rtmm.fileio import read_text
from workloads.importers.maestro_dataflow import DATAFLOW_OPEN, layer_dataflow_text, raw_block
from workloads.layer import Layer, OpType, parse_op, validate_layer
from workloads.model import Model

_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<comment>//[^\n]*|#[^\n]*)"
    r"|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<word>[A-Za-z_][\w.\-]*)|(?P<punct>[{}:,;()])"
)


@dataclass
class _Tok:
    kind: str
    text: str
    line: int


@dataclass
class Entry:
    """A parsed item: ``key: scalar``, ``key { ... }``, ``Kind name { ... }`` or a bare word."""

    key: str
    line: int
    name: str | None = None
    value: Union[str, list[Entry], None] = None  # noqa: UP007 (recursive alias)


def _tokenize(text: str, source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    line = 1
    pos = 0
    while pos < len(text):
        if tokens and tokens[-1].kind == "word" and tokens[-1].text.lower() == "dataflow":
            opening = DATAFLOW_OPEN.match(text, pos)
            if opening:  # keep the block verbatim: directives use Y', Sz(R), ...
                line += text.count("\n", pos, opening.end())
                body, end = raw_block(text, opening.end(), source, line)
                tokens.append(_Tok("raw", body, line))
                line += body.count("\n")
                pos = end
                continue
        m = _TOKEN.match(text, pos)
        if not m:
            raise SpecError(
                f"unexpected character {text[pos]!r}",
                source=source,
                field=f"line {line}",
                allowed="MAESTRO block syntax: words, numbers, { } : , and // comments",
            )
        kind = m.lastgroup or ""
        if kind == "nl":
            line += 1
        elif kind in ("num", "word", "punct"):
            tokens.append(_Tok(kind, m.group(), line))
        pos = m.end()
    return tokens


#: Deepest block nesting accepted (Network { Layer { Dimensions { } } } is 3).
MAX_BLOCK_DEPTH = 32


class _Parser:
    def __init__(self, tokens: list[_Tok], source: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source = source
        self.depth = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def error(self, message: str, tok: _Tok | None) -> SpecError:
        where = f"line {tok.line}" if tok else "end of file"
        return SpecError(message, source=self.source, field=where)

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.error(f"unexpected end of file, expected {text or 'more input'}", None)
        if text is not None and tok.text != text:
            raise self.error(f"expected '{text}', found '{tok.text}'", tok)
        self.pos += 1
        return tok

    def entries(self, closing: bool) -> list[Entry]:
        if self.depth > MAX_BLOCK_DEPTH:
            raise self.error(
                f"blocks nested more than {MAX_BLOCK_DEPTH} deep", self.peek()
            )  # the parser recurses per block; real files nest 3 deep
        self.depth += 1
        try:
            return self._entries(closing)
        finally:
            self.depth -= 1

    def _entries(self, closing: bool) -> list[Entry]:
        items: list[Entry] = []
        while True:
            tok = self.peek()
            if tok is None:
                if closing:
                    raise self.error("unexpected end of file, missing '}'", None)
                return items
            if tok.text == "}":
                if not closing:
                    raise self.error("unbalanced '}'", tok)
                self.pos += 1
                return items
            if tok.text in (",", ";"):
                self.pos += 1
                continue
            items.append(self.entry())

    def entry(self) -> Entry:
        key = self.take()
        if key.kind != "word":
            raise self.error(f"expected a keyword, found '{key.text}'", key)
        nxt, after = self.peek(), self.peek(1)
        if nxt is not None and nxt.kind == "raw":
            self.pos += 1
            return Entry(key.text, key.line, value=nxt.text)
        if (
            nxt is not None
            and nxt.kind in ("word", "num")
            and after is not None
            and after.text == "{"
        ):
            self.pos += 2  # Kind name {
            return Entry(key.text, key.line, name=nxt.text, value=self.entries(closing=True))
        if nxt is not None and nxt.text == ":":
            self.pos += 1
            nxt = self.peek()
            if nxt is None:
                raise self.error(f"missing value after '{key.text}:'", None)
        if nxt is not None and nxt.text == "{":
            self.pos += 1
            return Entry(key.text, key.line, value=self.entries(closing=True))
        if self.pos > 0 and self.tokens[self.pos - 1].text == ":":
            value = self.take()
            if value.kind not in ("word", "num"):
                raise self.error(
                    f"expected a value after '{key.text}:', found '{value.text}'", value
                )
            return Entry(key.text, key.line, value=value.text)
        return Entry(key.text, key.line)  # bare word (e.g. inside Dependency { ... })


def parse_blocks(text: str, source: str = "<string>") -> list[Entry]:
    """Parse MAESTRO block syntax into a list of top-level :class:`Entry` objects."""
    parser = _Parser(_tokenize(text, source), source)
    return parser.entries(closing=False)


# -- interpretation -------------------------------------------------------------------------------

_LAYER_KEYS = {"type", "dimensions", "stride", "dataflow"}
_NETWORK_KEYS = {"layer", "fps", "probability", "dependency"}


def _int_value(entry: Entry, source: str) -> int:
    text = entry.value if isinstance(entry.value, str) else ""
    if not re.fullmatch(r"[-+]?\d{1,30}", text):
        raise SpecError(
            f"{entry.key} = '{text or '{...}'}' is not an integer",
            source=source,
            field=f"line {entry.line}",
        )
    return int(text)


def _float_value(entry: Entry, source: str) -> float:
    text = entry.value if isinstance(entry.value, str) else ""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SpecError(
            f"{entry.key} = '{text or '{...}'}' is not a number",
            source=source,
            field=f"line {entry.line}",
        )
    return value


def _kv_block(entry: Entry, source: str, allowed: str) -> dict[str, int]:
    if not isinstance(entry.value, list):
        raise SpecError(
            f"'{entry.key}' must be a block {{ ... }}", source=source, field=f"line {entry.line}"
        )
    out: dict[str, int] = {}
    for item in entry.value:
        key = item.key.upper()
        if key not in allowed:
            raise SpecError(
                f"unknown dimension '{item.key}' in {entry.key}",
                source=source,
                field=f"line {item.line}",
                allowed=", ".join(allowed),
            )
        if key in out:
            raise SpecError(
                f"duplicate dimension '{item.key}'", source=source, field=f"line {item.line}"
            )
        out[key] = _int_value(item, source)
    return out


def _single(entries: list[Entry], key: str, source: str, where: str) -> Entry | None:
    found = [e for e in entries if e.key.lower() == key]
    if len(found) > 1:
        raise SpecError(
            f"'{found[1].key}' given twice in {where}", source=source, field=f"line {found[1].line}"
        )
    return found[0] if found else None


def _layer(entry: Entry, source: str) -> tuple[Layer, str | None]:
    """The layer of a ``Layer`` block and its own dataflow text (None without a block)."""
    where = f"line {entry.line}, layer '{entry.name}'"
    body = entry.value if isinstance(entry.value, list) else []
    for item in body:
        if item.key.lower() not in _LAYER_KEYS:
            raise SpecError(
                f"unknown key '{item.key}' in layer '{entry.name}'",
                source=source,
                field=f"line {item.line}",
                allowed="Type, Stride, Dimensions, Dataflow",
            )
    type_entry = _single(body, "type", source, where)
    dim_entry = _single(body, "dimensions", source, where)
    if type_entry is None or not isinstance(type_entry.value, str):
        raise SpecError("missing 'Type: ...'", source=source, field=where)
    if dim_entry is None:
        raise SpecError("missing 'Dimensions { ... }'", source=source, field=where)
    type_text = type_entry.value.upper()
    if type_text == "PWCONV":
        type_text = "CONV"
    op = parse_op(type_text, source=source, field=where)
    dims = _kv_block(dim_entry, source, "NKCYXRSM")
    flow_entry = _single(body, "dataflow", source, where)
    flow_dims = {"N": 1, "R": 1, "S": 1, **dims}
    flow = (
        layer_dataflow_text(flow_entry, flow_dims, source, str(entry.name)) if flow_entry else None
    )
    stride_entry = _single(body, "stride", source, where)
    stride = _kv_block(stride_entry, source, "XY") if stride_entry else {}
    if op in (OpType.GEMM, OpType.ATTN) and "M" in dims:
        # MAESTRO GEMM: (M x K) . (K x N)
        m, n, k = dims.pop("M"), dims.pop("N", 1), dims.pop("K", 1)
        dims = {"N": 1, "K": n, "C": k, "Y": m, "X": 1, "R": 1, "S": 1, **dims}
    if "M" in dims:
        raise SpecError("dimension M is only allowed for GEMM layers", source=source, field=where)
    if type_text == "DSCONV":
        dims["K"] = dims.get("C", 0)
    if op in (OpType.GEMM, OpType.ATTN, OpType.ELTWISE, OpType.POOL):
        dims.setdefault("X", 1)
    if op in (OpType.POOL, OpType.ELTWISE):
        dims.setdefault("K", dims.get("C", 0))
    dims.setdefault("N", 1)
    dims.setdefault("R", 1)
    dims.setdefault("S", 1)
    missing = [d for d in "NKCYXRS" if d not in dims]
    if missing:
        raise SpecError(
            f"missing dimension(s) {', '.join(missing)}",
            source=source,
            field=where,
            allowed="N, K, C, Y, X, R, S",
        )
    layer = Layer(
        name=str(entry.name),
        op=op,
        stride=(stride.get("Y", 1), stride.get("X", 1)),
        groups=dims["C"] if type_text == "DSCONV" else 1,
        N=dims["N"],
        K=dims["K"],
        C=dims["C"],
        Y=dims["Y"],
        X=dims["X"],
        R=dims["R"],
        S=dims["S"],
    )
    return validate_layer(layer, source=source, field=where), flow


@dataclass(frozen=True)
class NetworkSpec:
    """One ``Network`` block: its model and the scenario keys (if any)."""

    model: Model
    fps: float | None
    probability: float | None
    dependencies: tuple[str, ...]
    line: int


def _network(entry: Entry, source: str) -> NetworkSpec:
    name = str(entry.name)
    where = f"line {entry.line}, network '{name}'"
    body = entry.value if isinstance(entry.value, list) else []
    for item in body:
        if item.key.lower() not in _NETWORK_KEYS:
            raise SpecError(
                f"unknown key '{item.key}' in network '{name}'",
                source=source,
                field=f"line {item.line}",
                allowed="Layer, FPS, Probability, Dependency",
            )
    parsed = [_layer(item, source) for item in body if item.key.lower() == "layer"]
    if not parsed:
        raise SpecError(f"network '{name}' has no layers", source=source, field=where)
    flows = {layer.name: flow for layer, flow in parsed if flow is not None}
    model = Model.chain(name, [layer for layer, _ in parsed], source=source, layer_dataflows=flows)
    fps_entry = _single(body, "fps", source, where)
    prob_entry = _single(body, "probability", source, where)
    dep_entry = _single(body, "dependency", source, where)
    deps: tuple[str, ...] = ()
    if dep_entry is not None:
        if not isinstance(dep_entry.value, list) or any(
            d.value is not None or d.name is not None for d in dep_entry.value
        ):
            raise SpecError(
                "Dependency must be a block of network names",
                source=source,
                field=f"line {dep_entry.line}",
                allowed="Dependency: { PARENT_NETWORK }",
            )
        deps = tuple(d.key for d in dep_entry.value)
    return NetworkSpec(
        model=model,
        fps=_float_value(fps_entry, source) if fps_entry else None,
        probability=_float_value(prob_entry, source) if prob_entry else None,
        dependencies=deps,
        line=entry.line,
    )


def parse_networks(text: str, source: str = "<string>") -> list[NetworkSpec]:
    """All ``Network`` blocks of a MAESTRO/XRBench file, in file order."""
    entries = parse_blocks(text, source)
    networks = []
    seen: set[str] = set()
    for entry in entries:
        if entry.key.lower() != "network" or entry.name is None:
            raise SpecError(
                f"unexpected '{entry.key}' at top level",
                source=source,
                field=f"line {entry.line}",
                allowed="Network NAME { ... } blocks",
            )
        if entry.name in seen:
            raise SpecError(
                f"network '{entry.name}' defined twice", source=source, field=f"line {entry.line}"
            )
        seen.add(entry.name)
        networks.append(_network(entry, source))
    if not networks:
        raise SpecError("no Network block", source=source, allowed="Network NAME { Layer ... }")
    return networks


def parse_maestro_model(text: str, source: str = "<string>") -> Model:
    """A MAESTRO model file (exactly one ``Network``) as a chain :class:`Model`."""
    networks = parse_networks(text, source)
    if len(networks) != 1:
        raise SpecError(
            f"{len(networks)} networks in a model file",
            source=source,
            allowed="exactly one Network (use the scenario importer for several)",
        )
    return networks[0].model


def read_maestro_model(path: str | os.PathLike) -> Model:
    p = Path(path)
    return parse_maestro_model(read_text(p), source=str(p))
