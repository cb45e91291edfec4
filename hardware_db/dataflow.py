"""Data-centric dataflows in MAESTRO's directive form.

A dataflow is an ordered list (outermost first) of directives ``TemporalMap(size, offset) DIM``,
``SpatialMap(size, offset) DIM`` and ``Cluster(n)``. Dimensions are K, C, R, S, Y, X and the primed
output dimensions Y', X' (written ``Y'``/``X'``, or ``OY``/``OX``).

``dataflow: search`` (or ``search:latency|energy|edp``) on an accelerator is a placeholder with no
directives (:func:`search_dataflow`): cost tables then search each layer's mapping
(:mod:`costmodel.mapper`, docs/MAPPER.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DirectiveKind = Literal["T", "S", "C"]

#: Dimensions a map directive may name. ``Y'``/``X'`` are output rows/columns.
MAP_DIMS: tuple[str, ...] = ("K", "C", "R", "S", "Y", "X", "Y'", "X'", "N")


@dataclass(frozen=True)
class Directive:
    """One directive: ``kind`` ``"T"`` (temporal map), ``"S"`` (spatial map) or ``"C"`` (cluster).

    For a cluster directive ``size`` is the cluster size and ``offset``/``dim`` are unused
    (``offset = 0``, ``dim = ""``).
    """

    kind: DirectiveKind
    size: int
    offset: int = 0
    dim: str = ""

    def __str__(self) -> str:
        if self.kind == "C":
            return f"Cluster({self.size})"
        name = "TemporalMap" if self.kind == "T" else "SpatialMap"
        return f"{name}({self.size},{self.offset}) {self.dim}"


@dataclass(frozen=True)
class Dataflow:
    """A named, ordered directive list (outermost first)."""

    name: str
    directives: tuple[Directive, ...]

    @property
    def cluster_sizes(self) -> tuple[int, ...]:
        """Arguments of the ``Cluster`` directives, outermost first."""
        return tuple(d.size for d in self.directives if d.kind == "C")

    @property
    def levels(self) -> tuple[tuple[Directive, ...], ...]:
        """The directive list cut at every ``Cluster``: level 0 (outermost) first."""
        out: list[tuple[Directive, ...]] = []
        current: list[Directive] = []
        for d in self.directives:
            if d.kind == "C":
                out.append(tuple(current))
                current = []
            else:
                current.append(d)
        out.append(tuple(current))
        return tuple(out)

    def __str__(self) -> str:
        return "; ".join(str(d) for d in self.directives)


#: Objectives of ``dataflow: search:OBJECTIVE`` (``search`` alone means ``edp``).
SEARCH_OBJECTIVES: tuple[str, ...] = ("latency", "energy", "edp")


def search_dataflow(objective: str = "edp") -> Dataflow:
    """The placeholder dataflow of an accelerator whose mapping is searched per layer."""
    return Dataflow(f"search:{objective}", ())


def search_objective(dataflow: Dataflow) -> str | None:
    """The objective of a :func:`search_dataflow` placeholder, None for a real directive list."""
    if dataflow.directives:
        return None
    prefix, _, objective = dataflow.name.partition(":")
    return objective if prefix == "search" and objective in SEARCH_OBJECTIVES else None


def _t(size: int, offset: int, dim: str) -> Directive:
    return Directive("T", size, offset, dim)


def _s(size: int, offset: int, dim: str) -> Directive:
    return Directive("S", size, offset, dim)


def _c(size: int) -> Directive:
    return Directive("C", size)


#: XRBench's three presets, outermost first.
PRESETS: dict[str, Dataflow] = {
    "WS": Dataflow(
        "WS",
        (
            _t(16, 16, "C"), _t(16, 16, "K"), _t(1, 1, "Y'"), _s(1, 1, "X'"),
            _c(16),
            _s(1, 1, "K"), _t(64, 64, "C"), _t(1, 1, "Y'"), _t(1, 1, "X'"),
            _c(16),
            _s(1, 1, "C"),
        ),
    ),
    "OS": Dataflow(
        "OS",
        (
            _t(1, 1, "K"), _s(1, 1, "Y'"), _t(4, 4, "X'"), _t(16, 16, "C"),
            _c(4),
            _s(1, 1, "X'"),
            _c(16),
            _s(1, 1, "C"),
        ),
    ),
    "RS": Dataflow(
        "RS",
        (
            _t(1, 1, "Y'"), _t(16, 16, "X'"), _t(4, 4, "C"), _s(1, 1, "K"),
            _c(16),
            _t(1, 1, "Y'"), _s(1, 1, "X'"), _t(4, 4, "C"), _t(1, 1, "K"),
            _c(4),
            _s(1, 1, "Y"), _s(1, 1, "R"),
        ),
    ),
}  # fmt: skip
