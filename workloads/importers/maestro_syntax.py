"""MAESTRO's block syntax, as model and XRBench scenario files use it: ``key: scalar``,
``key { ... }``, ``Kind name { ... }`` and bare words, with ``//`` and ``#`` comments.
:func:`parse_blocks` turns text into a tree of :class:`Entry` objects (a ``Dataflow { ... }`` block
is kept verbatim, :mod:`workloads.importers.maestro_dataflow`); what the entries mean is
:mod:`workloads.importers.maestro`'s business. Errors are one-line :class:`SpecError` with the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from rtmm.errors import SpecError
from workloads.importers.maestro_dataflow import DATAFLOW_OPEN, raw_block

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
