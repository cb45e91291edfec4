"""MAESTRO directive lists: the grammar shared by MAESTRO's dataflow files and the YAML format.

Directives are separated by ``;`` or newlines, outermost first::

    TemporalMap(16,16) C; SpatialMap(1,1) X'; Cluster(16,P); SpatialMap(1,1) K; ...

``TemporalMap``/``SpatialMap`` may be abbreviated ``T``/``S``; ``Cluster(n)`` and ``Cluster(n,P)``
are the same (logical clusters, ``Cluster(n,L)``, are not supported). Dimensions are those of
:data:`hardware_db.dataflow.MAP_DIMS`; ``OY``/``OX`` are accepted for ``Y'``/``X'``. Comments run
from ``//`` to the end of the line. A list is rejected when it is empty, a size or offset is not a
positive integer, or a dimension is mapped twice at the same cluster level. Errors are
:class:`DirectiveSyntaxError` without a location; the file readers (:mod:`hardware_db.schema`,
:mod:`hardware_db.maestro_format`) turn them into located :class:`rtmm.errors.SpecError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hardware_db.dataflow import MAP_DIMS, PRESETS, Directive, DirectiveKind

_DIM_ALIASES = {"OY": "Y'", "OX": "X'"}
_MAP_RE = re.compile(
    r"^(TemporalMap|SpatialMap|T|S)\s*\(\s*([^,()]*?)\s*,\s*([^,()]*?)\s*\)\s*(\S+)$"
)
_CLUSTER_RE = re.compile(r"^Cluster\s*\(\s*([^,()]*?)\s*(?:,\s*([^,()]*?)\s*)?\)$")
_DIRECTIVE_FORMS = "TemporalMap(size,offset) DIM, SpatialMap(size,offset) DIM, Cluster(n[,P])"


class DirectiveSyntaxError(Exception):
    """Internal: a directive list is malformed. Callers turn it into a located SpecError."""

    def __init__(self, message: str, allowed: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.allowed = allowed


#: Largest directive size or offset (and cluster size): a mapping larger than every layer
#: dimension (at most 2^20) is clipped to the dimension anyway, and larger values would overflow
#: the int64 tile arithmetic of the cost analysis.
MAX_DIRECTIVE_SIZE = 1 << 20


def _positive_int(text: str, what: str, statement: str) -> int:
    if not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise DirectiveSyntaxError(
            f"{what} '{text}' in '{statement}' is not a positive integer", "integers >= 1"
        )
    if len(text) > 12 or int(text) > MAX_DIRECTIVE_SIZE:
        raise DirectiveSyntaxError(
            f"{what} {text[:30]} in '{statement[:80]}' is too large",
            f"integers from 1 to {MAX_DIRECTIVE_SIZE}",
        )
    return int(text)


def parse_directive(statement: str) -> Directive:
    """Parse one directive (no comments, no ``;``). Raises :class:`DirectiveSyntaxError`."""
    text = " ".join(statement.split())
    cluster = _CLUSTER_RE.match(text)
    if cluster:
        size = _positive_int(cluster.group(1), "cluster size", text)
        cluster_type = cluster.group(2)
        if cluster_type is not None and cluster_type != "P":
            raise DirectiveSyntaxError(
                f"cluster type '{cluster_type}' in '{text}' is not supported",
                "Cluster(n) or Cluster(n,P)",
            )
        return Directive("C", size)
    mapping = _MAP_RE.match(text)
    if not mapping:
        raise DirectiveSyntaxError(f"cannot parse directive '{text}'", _DIRECTIVE_FORMS)
    kind: DirectiveKind = "T" if mapping.group(1).startswith("T") else "S"
    size = _positive_int(mapping.group(2), "size", text)
    offset = _positive_int(mapping.group(3), "offset", text)
    dim = _DIM_ALIASES.get(mapping.group(4), mapping.group(4))
    if dim not in MAP_DIMS:
        raise DirectiveSyntaxError(
            f"unknown dimension '{mapping.group(4)}' in '{text}'", ", ".join(MAP_DIMS)
        )
    return Directive(kind, size, offset, dim)


def check_directives(directives: Sequence[Directive]) -> None:
    """Structural checks of a whole list: not empty, no dimension mapped twice at one level."""
    if not any(d.kind != "C" for d in directives):
        raise DirectiveSyntaxError("no map directives", "at least one TemporalMap/SpatialMap")
    level, seen = 0, set[str]()
    for d in directives:
        if d.kind == "C":
            level, seen = level + 1, set()
            continue
        if d.dim in seen:
            raise DirectiveSyntaxError(
                f"dimension {d.dim} is mapped twice at cluster level {level}",
                "each dimension at most once per cluster level",
            )
        seen.add(d.dim)


def strip_comment(line: str) -> str:
    """Drop a ``//`` comment."""
    cut = line.find("//")
    return line if cut < 0 else line[:cut]


def split_statements(text: str) -> list[str]:
    """Split a directive list (``;`` or newline separated, ``//`` comments) into statements."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(s.strip() for s in strip_comment(line).split(";") if s.strip())
    return out


def parse_directives(text: str | Sequence[str]) -> tuple[Directive, ...]:
    """Parse and check a directive list given as one string or a list of statements.

    Raises :class:`DirectiveSyntaxError` (unlocated); file readers add the location.
    """
    statements = split_statements(text) if isinstance(text, str) else list(text)
    directives = tuple(parse_directive(s) for s in statements)
    check_directives(directives)
    return directives


def dataflow_name_for(directives: tuple[Directive, ...], fallback: str) -> str:
    """The preset name whose directives equal ``directives``, else ``fallback``."""
    for name, preset in PRESETS.items():
        if preset.directives == directives:
            return name
    return fallback
