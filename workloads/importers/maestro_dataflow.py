"""MAESTRO per-layer ``Dataflow { ... }`` blocks in model files: read verbatim, sizes resolved.

The model-file tokenizer (:mod:`workloads.importers.maestro_syntax`) hands a ``Dataflow`` block over
as raw text (:func:`raw_block`): its directives use ``Y'``, ``Sz(R)`` and ``//`` comments, which
are not block-syntax tokens. :func:`layer_dataflow_text` turns it into one directive list with
``Sz(D)`` replaced by the layer's size of dimension D, as MAESTRO does. The directives themselves
are parsed and checked by the cost model (:mod:`costmodel.layer_dataflows`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rtmm.errors import SpecError

if TYPE_CHECKING:
    from workloads.importers.maestro_syntax import Entry

DATAFLOW_OPEN = re.compile(r"\s*:?\s*\{")


def raw_block(text: str, pos: int, source: str, line: int) -> tuple[str, int]:
    """The text of a ``{ ... }`` block whose ``{`` ends at ``pos``, and the position after it."""
    close = text.find("}", pos)
    nested = text.find("{", pos)
    if close < 0 or 0 <= nested < close:
        raise SpecError(
            "unclosed or nested Dataflow block",
            source=source,
            field=f"line {line}",
            allowed="Dataflow { directives; ... }",
        )
    return text[pos:close], close + 1


_SZ = re.compile(r"Sz\s*\(\s*([A-Za-z]+'?)\s*\)")


def layer_dataflow_text(entry: Entry, dims: dict[str, int], source: str, layer: str) -> str:
    """The layer's directive text with ``Sz(D)`` replaced by the layer's size of D."""

    def size(match: re.Match) -> str:
        dim = match.group(1).upper()
        if dim not in dims:
            raise SpecError(
                f"Sz({match.group(1)}) in the Dataflow of layer '{layer}'",
                source=source,
                field=f"line {entry.line}",
                allowed="Sz of " + ", ".join(sorted(dims)),
            )
        return str(dims[dim])

    text = entry.value if isinstance(entry.value, str) else ""
    lines = [line.split("//", 1)[0] for line in text.splitlines()]
    body = " ".join(" ".join(lines).split())
    if not body.strip(" ;"):
        raise SpecError(
            f"empty Dataflow block in layer '{layer}'",
            source=source,
            field=f"line {entry.line}",
            allowed="Dataflow { directives; ... } or no Dataflow block",
        )
    return _SZ.sub(size, body)
