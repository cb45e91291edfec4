"""Readers for MAESTRO's text formats: directive lists, dataflow files and hardware files.

**Directive lists** (grammar in :mod:`hardware_db.directives`, shared with the YAML format):
directives separated by ``;`` or newlines, outermost first::

    TemporalMap(16,16) C; SpatialMap(1,1) X'; Cluster(16,P); SpatialMap(1,1) K; ...

``TemporalMap``/``SpatialMap`` may be abbreviated ``T``/``S``; ``Cluster(n)`` and ``Cluster(n,P)``
are the same (logical clusters, ``Cluster(n,L)``, are not supported). Dimensions are those of
:data:`hardware_db.dataflow.MAP_DIMS`; ``OY``/``OX`` are accepted for ``Y'``/``X'``. Comments run
from ``//`` to the end of the line. A list is rejected when it is empty, a size or offset is not a
positive integer, or a dimension is mapped twice at the same cluster level.

**Dataflow files** hold one or more ``Dataflow { ... }`` blocks (XRBench's dual/quad dataflow files
hold one block per accelerator, in accelerator order).

**Hardware files** hold one or more ``Accelerator NAME { key: value ... }`` blocks (several blocks =
a system, in order) with the keys ``num_pes, offchip_bw, top_noc_bw, top_noc_latency,
top_noc_multicast, col_noc_bw, col_noc_latency, col_noc_multicast, global_shared_memory,
PE_local_memory`` (XRBench's style), or one brace-less list of ``key: value`` lines in MAESTRO's
older style (``num_pes, l1_size_cstr, l2_size_cstr, noc_bw_cstr, offchip_bw_cstr``;
``noc_bw_cstr`` feeds both NoC levels). Memory sizes are bytes, bandwidths words per cycle.
A hardware file and its dataflows become a system in :mod:`hardware_db.maestro_system`, which
documents what MAESTRO files do not say (clock 1 GHz, word 1 byte, NoC latency 1, multicast on).

Every error is a :class:`rtmm.errors.SpecError` naming the file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware_db.dataflow import Dataflow
from hardware_db.directives import (
    DirectiveSyntaxError,
    check_directives,
    dataflow_name_for,
    parse_directive,
    parse_directives,
    split_statements,
    strip_comment,
)
from rtmm.errors import SpecError
from rtmm.fileio import read_text

__all__ = [
    "DirectiveSyntaxError",
    "MaestroHardware",
    "check_directives",
    "dataflow_name_for",
    "parse_dataflow_text",
    "parse_directive",
    "parse_directives",
    "parse_hardware_text",
    "read_dataflow_file",
    "read_hardware_file",
    "split_statements",
    "strip_comment",
]

# --------------------------------------------------------------------------------------------
# Block-structured files


@dataclass(frozen=True)
class _Block:
    """``HEADER { statements }``: statements as (line number, text)."""

    header: str
    line: int
    statements: tuple[tuple[int, str], ...]


def _items(text: str) -> list[tuple[int, str]]:
    """(line, piece) with comments removed and ``{``/``}``/``;`` split out as pieces."""
    out: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for piece in re.split(r"([{};])", strip_comment(line)):
            if piece.strip():
                out.append((number, piece.strip()))
    return out


def _blocks(text: str, source: str) -> tuple[list[_Block], list[tuple[int, str]]]:
    """Split a file into top-level blocks and the statements outside any block."""
    blocks: list[_Block] = []
    loose: list[tuple[int, str]] = []
    items = _items(text)
    i = 0
    while i < len(items):
        line, piece = items[i]
        if piece == "}":
            raise SpecError("unmatched '}'", source=source, field=f"line {line}")
        if piece in ("{", ";"):
            if piece == "{":
                raise SpecError("'{' without a block header", source=source, field=f"line {line}")
            i += 1
            continue
        if i + 1 < len(items) and items[i + 1][1] == "{":
            body: list[tuple[int, str]] = []
            j = i + 2
            while j < len(items) and items[j][1] != "}":
                if items[j][1] == "{":
                    raise SpecError(
                        "nested block inside a block", source=source, field=f"line {items[j][0]}"
                    )
                if items[j][1] != ";":
                    body.append(items[j])
                j += 1
            if j == len(items):
                raise SpecError(
                    f"block '{piece}' is not closed",
                    source=source,
                    field=f"line {line}",
                    allowed="a '}' ending the block",
                )
            blocks.append(_Block(piece, line, tuple(body)))
            i = j + 1
        else:
            loose.append((line, piece))
            i += 1
    return blocks, loose


def _source_text(path: str | os.PathLike) -> tuple[str, str]:
    return str(path), read_text(path)


def parse_dataflow_text(text: str, source: str = "<string>") -> list[Dataflow]:
    """Parse ``Dataflow { ... }`` blocks; a block equal to a preset gets the preset's name."""
    blocks, loose = _blocks(text, source)
    if loose:
        line, piece = loose[0]
        raise SpecError(
            f"'{piece}' outside a Dataflow block", source=source, field=f"line {line}",
            allowed="Dataflow { directives }",
        )  # fmt: skip
    if not blocks:
        raise SpecError("no Dataflow block", source=source, allowed="Dataflow { directives }")
    stem = Path(source).stem
    out: list[Dataflow] = []
    for index, block in enumerate(blocks):
        if block.header != "Dataflow":
            raise SpecError(
                f"unknown block '{block.header}'", source=source, field=f"line {block.line}",
                allowed="Dataflow",
            )  # fmt: skip
        directives = []
        for line, statement in block.statements:
            try:
                directives.append(parse_directive(statement))
            except DirectiveSyntaxError as exc:
                raise SpecError(
                    exc.message, source=source, field=f"line {line}", allowed=exc.allowed
                ) from None
        try:
            check_directives(directives)
        except DirectiveSyntaxError as exc:
            raise SpecError(
                f"Dataflow block {index}: {exc.message}", source=source,
                field=f"line {block.line}", allowed=exc.allowed,
            ) from None  # fmt: skip
        fallback = stem if len(blocks) == 1 else f"{stem}[{index}]"
        out.append(Dataflow(dataflow_name_for(tuple(directives), fallback), tuple(directives)))
    return out


def read_dataflow_file(path: str | os.PathLike) -> list[Dataflow]:
    """Read a MAESTRO dataflow file: one Dataflow per block, in file order."""
    return parse_dataflow_text(*reversed(_source_text(path)))


# --------------------------------------------------------------------------------------------
# Hardware files


@dataclass(frozen=True)
class MaestroHardware:
    """One accelerator of a MAESTRO hardware file, in MAESTRO's own terms (bytes, words/cycle)."""

    name: str
    num_pes: int
    offchip_bw: int
    top_noc_bw: int
    top_noc_latency: int
    top_noc_multicast: bool
    col_noc_bw: int
    col_noc_latency: int
    col_noc_multicast: bool
    global_shared_memory: int
    pe_local_memory: int


#: Keys of an ``Accelerator`` block → field of :class:`MaestroHardware`; True = required.
_HW_KEYS: dict[str, tuple[str, bool]] = {
    "num_pes": ("num_pes", True),
    "offchip_bw": ("offchip_bw", True),
    "top_noc_bw": ("top_noc_bw", True),
    "top_noc_latency": ("top_noc_latency", False),
    "top_noc_multicast": ("top_noc_multicast", False),
    "col_noc_bw": ("col_noc_bw", True),
    "col_noc_latency": ("col_noc_latency", False),
    "col_noc_multicast": ("col_noc_multicast", False),
    "global_shared_memory": ("global_shared_memory", True),
    "PE_local_memory": ("pe_local_memory", True),
}
#: MAESTRO's older brace-less keys → keys above (``noc_bw_cstr`` feeds both NoC levels).
_LEGACY_KEYS: dict[str, tuple[str, ...]] = {
    "num_pes": ("num_pes",),
    "l1_size_cstr": ("PE_local_memory",),
    "l2_size_cstr": ("global_shared_memory",),
    "noc_bw_cstr": ("top_noc_bw", "col_noc_bw"),
    "offchip_bw_cstr": ("offchip_bw",),
}
_BOOL_WORDS = {"true": True, "false": False}


def _hw_value(key: str, raw: str, source: str, line: int) -> int | bool:
    if key.endswith("multicast"):
        if raw.lower() not in _BOOL_WORDS:
            raise SpecError(
                f"{key}: '{raw}' is not a boolean", source=source, field=f"line {line}",
                allowed="True or False",
            )  # fmt: skip
        return _BOOL_WORDS[raw.lower()]
    if not re.fullmatch(r"\d+", raw) or len(raw) > 30 or int(raw) < 1:
        raise SpecError(
            f"{key}: '{raw[:40]}' is not a positive integer below 10^30", source=source,
            field=f"line {line}", allowed="integers >= 1",
        )  # fmt: skip
    return int(raw)


def _parse_hw_statements(
    name: str, statements: Sequence[tuple[int, str]], source: str, line: int, legacy: bool
) -> MaestroHardware:
    values: dict[str, int | bool] = {}
    seen_at: dict[str, int] = {}
    allowed = sorted(_LEGACY_KEYS) if legacy else list(_HW_KEYS)
    for at, statement in statements:
        key, sep, raw = statement.partition(":")
        key, raw = key.strip(), raw.strip()
        if not sep or not key or not raw:
            raise SpecError(
                f"expected 'key: value', got '{statement}'", source=source, field=f"line {at}"
            )
        targets = _LEGACY_KEYS.get(key) if legacy else ((key,) if key in _HW_KEYS else None)
        if targets is None:
            raise SpecError(
                f"unknown key '{key}'", source=source, field=f"line {at}",
                allowed=", ".join(allowed),
            )  # fmt: skip
        if key in seen_at:
            raise SpecError(
                f"duplicate key '{key}' (first on line {seen_at[key]})",
                source=source, field=f"line {at}", allowed="each key once per block",
            )  # fmt: skip
        seen_at[key] = at
        for target in targets:
            values[target] = _hw_value(key, raw, source, at)
    missing = [k for k, (_, required) in _HW_KEYS.items() if required and k not in values]
    if missing:
        shown = missing
        if legacy:
            shown = [next(old for old, new in _LEGACY_KEYS.items() if k in new) for k in missing]
        raise SpecError(
            f"accelerator '{name}' lacks {', '.join(dict.fromkeys(shown))}",
            source=source, field=None if legacy else f"line {line}", allowed=", ".join(allowed),
        )  # fmt: skip
    values.setdefault("top_noc_latency", 1)
    values.setdefault("col_noc_latency", 1)
    values.setdefault("top_noc_multicast", True)
    values.setdefault("col_noc_multicast", True)
    fields: dict[str, Any] = {field: values[key] for key, (field, _) in _HW_KEYS.items()}
    return MaestroHardware(name=name, **fields)


def parse_hardware_text(text: str, source: str = "<string>") -> list[MaestroHardware]:
    """Parse a MAESTRO hardware file (``Accelerator NAME { ... }`` blocks or brace-less keys)."""
    blocks, loose = _blocks(text, source)
    if blocks and loose:
        line, piece = loose[0]
        raise SpecError(
            f"'{piece}' outside an Accelerator block", source=source, field=f"line {line}",
            allowed="Accelerator NAME { key: value ... }",
        )  # fmt: skip
    if not blocks:
        if not loose:
            raise SpecError(
                "no accelerator in the file", source=source,
                allowed="Accelerator NAME { key: value ... } blocks",
            )  # fmt: skip
        return [_parse_hw_statements(Path(source).stem, loose, source, 1, legacy=True)]
    out: list[MaestroHardware] = []
    for block in blocks:
        words = block.header.split()
        if len(words) != 2 or words[0] != "Accelerator":
            raise SpecError(
                f"unknown block header '{block.header}'", source=source,
                field=f"line {block.line}", allowed="Accelerator NAME",
            )  # fmt: skip
        out.append(_parse_hw_statements(words[1], block.statements, source, block.line, False))
    names = [hw.name for hw in out]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(
                f"accelerator name '{name}' is used twice", source=source,
                allowed="distinct accelerator names",
            )  # fmt: skip
    return out


def read_hardware_file(path: str | os.PathLike) -> list[MaestroHardware]:
    """Read a MAESTRO hardware file: one :class:`MaestroHardware` per accelerator, in order."""
    return parse_hardware_text(*reversed(_source_text(path)))
