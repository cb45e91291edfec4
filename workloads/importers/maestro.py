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
The block syntax itself (tokens, nesting, :class:`Entry`) is read by
:mod:`workloads.importers.maestro_syntax`; this module interprets the entries.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rtmm.errors import SpecError
from rtmm.fileio import read_text
from workloads.importers.maestro_dataflow import layer_dataflow_text
from workloads.importers.maestro_syntax import Entry, parse_blocks
from workloads.layer import Layer, OpType, parse_op, validate_layer
from workloads.model import Model

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
