"""A directive list as a loop nest in output coordinates (the ``native`` analysis, ``reuse``).

MAESTRO reads a directive list in input coordinates with sliding windows; its case machinery
(:mod:`costmodel.maestro`) then double-counts or drops outputs when windows, strides and spatial
filter maps meet (COSTMODEL.md §1, quirk #1). This module reads the same list the way a loop-nest
model (Timeloop, ZigZag) does: every map *partitions* one of the seven problem dimensions

    N (images), K (output channels), C (input channels), P, Q (output rows, columns), R, S

into tiles of its **offset** (the advance; a size larger than the offset would only re-read an
overlap). Output-coordinate maps ``Y'``/``X'`` tile P/Q directly; an input-coordinate map
``Y``/``X`` that advances o rows owns the outputs whose windows start in those rows, o // σ of
them (at least one). Each dimension is therefore covered exactly once and the computation count
equals the MACs for any layer, stride and directive list.

Cut at every ``Cluster``, level ℓ has n_ℓ sub-units (n_0 = ⌊PEs / ∏ cluster sizes⌋). A
temporal map is one loop (``T``); a spatial map over u units is a temporal loop over its rounds
(``Rd``: ⌈tile / (o·u)⌉ trips) around a spatial fan-out (``F``: min(u, ⌈tile / o⌉) units). A
second spatial map of a level shares the units: it gets ⌊n / fan-out of the first⌋. Dimensions a
level does not map keep their tile; the tile left after the last level is one PE's **step
tile**, what its L1 holds while it computes.

Per dimension the loops split the extent into full and edge tiles; keeping (tile, count) pairs
per dimension gives exact totals, because the nest is a product over dimensions:

- computations = ∏_v Σ count·tile over the PE step tiles;
- compute cycles = ∏_v Σ count·tile, where in a spatial round the busiest unit sets the time;
- processing passes = iterations of every loop outside the innermost level's temporal loops
  (each pass reloads the PE buffers).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from hardware_db.dataflow import Dataflow, Directive
from rtmm.errors import CostModelError

#: The problem dimensions, in column order of :attr:`LoopNest.extents`.
NEST_DIMS: tuple[str, ...] = ("N", "K", "C", "P", "Q", "R", "S")
_DIM_OF = {"N": "N", "K": "K", "C": "C", "Y'": "P", "X'": "Q", "Y": "P", "X": "Q",
           "R": "R", "S": "S"}  # fmt: skip
_INPUT_COORD = {"Y": 0, "X": 1}  # stride column of an input-coordinate map


@dataclass(frozen=True)
class Loop:
    """One loop of the nest, outermost first; per-row arrays.

    ``kind``: ``T`` temporal, ``Rd`` the rounds of a spatial map, ``F`` its spatial fan-out.
    ``outer`` is the range of ``dim`` the loop walks (its parent tile), ``inner`` one iteration's
    range (for ``F``: one unit's), ``trips`` the iterations (for ``F``: units used).
    """

    level: int
    dim: str
    kind: str
    outer: np.ndarray
    inner: np.ndarray
    trips: np.ndarray

    @functools.cached_property
    def temporal(self) -> bool:  # (read often: kept after the first read)
        return self.kind != "F"


@dataclass(frozen=True)
class LoopNest:
    """The loops, the PE step tile and the exact totals of one dataflow on ``rows`` layers."""

    loops: tuple[Loop, ...]
    extents: dict[str, np.ndarray]
    step_tile: dict[str, np.ndarray]
    computations: np.ndarray
    compute_cycles: np.ndarray
    passes: np.ndarray
    level_iterations: np.ndarray  # (rows, L): iterations of the loops of levels < ℓ
    pes_used: np.ndarray
    pass_boundary: int  # index of the first loop that runs inside a pass

    def range_at(self, position: int, dim: str) -> np.ndarray:
        """The array-wide range of ``dim`` covered by the loops at ``position`` and inside."""
        for loop in self.loops[position:]:
            if loop.dim == dim:
                return loop.outer
        return self.step_tile[dim]


def _split(pairs: list, chunk: np.ndarray, span: np.ndarray | None = None) -> list:
    """(tile, count) pairs after a loop of ``chunk`` (temporal) or a spatial round of ``span``
    (latency: the busiest unit holds ``min(chunk, what is left)``)."""
    out = []
    step = chunk if span is None else span
    for tile, count in pairs:
        full = tile // step
        rest = tile - full * step
        # a pair counted on no row adds nothing to any sum, now or after later splits: dropped
        counted = count * full
        if np.count_nonzero(counted) or not counted.size:
            out.append((np.minimum(chunk, tile), counted))
        counted = count * (rest > 0)
        if np.count_nonzero(counted) or not counted.size:
            out.append((np.minimum(chunk, rest), counted))
    return out


def _product(arrays: list) -> np.ndarray:
    """The elementwise product of int64 arrays (as ``np.prod(arrays, axis=0)``: integer
    products do not depend on the order, even modulo 2**64)."""
    out = arrays[0]
    for a in arrays[1:]:
        out = out * a
    return out


def _total(pairs: list) -> np.ndarray:
    """Σ count·tile (integer sums: the order does not matter)."""
    if len(pairs) == 1:
        return pairs[0][0] * pairs[0][1]
    return sum(t * c for t, c in pairs)


def _split_count(pairs: list) -> np.ndarray:
    """Σ count·[tile > 0] of pairs made by :func:`_split`: there a pair counted on a row has
    a tile >= 1 on it (a full tile, or a remainder > 0), so the counts alone sum the same."""
    if len(pairs) == 1:
        return pairs[0][1]
    return sum(c for _, c in pairs)


def _indexed_levels(dataflow: Dataflow) -> list[list[tuple[int | None, Directive]]]:
    """:attr:`Dataflow.levels` with each directive's column in ``dataflow.directives``."""
    out: list[list[tuple[int | None, Directive]]] = [[]]
    for j, d in enumerate(dataflow.directives):
        if d.kind == "C":
            out.append([])
        else:
            out[-1].append((j, d))
    return out


@dataclass(frozen=True)
class _Plan:
    """What a directive list alone decides about its nest (no tiles, no rows): computed once
    per list object and kept (:func:`_plan_of`)."""

    sizes: tuple[int, ...]  # cluster sizes
    product: int
    maps: list[int]  # the columns of maps (not Cluster)
    levels: list[list[tuple[int | None, Directive, str]]]  # (column, directive, nest dim)
    error: str | None  # the first level that maps an unknown dimension or one twice


_PLANS: dict[int, tuple[Dataflow, _Plan]] = {}


def _plan_of(dataflow: Dataflow) -> _Plan:
    """The :class:`_Plan` of ``dataflow`` (kept per object: the mapper costs one list many
    times; the entry holds the list, so its id is not reused while kept)."""
    entry = _PLANS.get(id(dataflow))
    if entry is not None and entry[0] is dataflow:
        return entry[1]
    sizes = dataflow.cluster_sizes
    product = int(np.prod(sizes, dtype=np.int64)) if sizes else 1
    indexed = _indexed_levels(dataflow)
    if not any(d.dim == "N" for d in dataflow.directives):  # images one after the other
        indexed[0] = [(None, Directive("T", 1, 1, "N")), *indexed[0]]
    levels: list[list[tuple[int | None, Directive, str]]] = []
    error = None
    for index, written in enumerate(indexed):
        seen: set[str] = set()
        level = []
        for j, d in written:
            dim = _DIM_OF.get(d.dim)
            if (dim is None or dim in seen) and error is None:
                what = "an unknown dimension" if dim is None else "a dimension twice"
                error = f"level {index} maps {what} ({d})"
            seen.add(dim or "")
            level.append((j, d, dim or ""))
        levels.append(level)
    maps = [j for j, d in enumerate(dataflow.directives) if d.kind != "C"]
    plan = _Plan(sizes, product, maps, levels, error)
    if len(_PLANS) >= 4096:
        _PLANS.clear()
    _PLANS[id(dataflow)] = (dataflow, plan)
    return plan


def check_offsets(dataflow: Dataflow, offsets: np.ndarray, rows: int) -> np.ndarray:
    """``offsets`` as an int64 ``(rows, len(dataflow.directives))`` array of map offsets >= 1
    (the ``Cluster`` columns are ignored), or a :class:`CostModelError` saying what is wrong."""
    out = np.asarray(offsets, dtype=np.int64)
    width = len(dataflow.directives)
    if out.shape != (rows, width):
        raise CostModelError(
            f"per-row offsets of shape {out.shape} for {rows} rows and {width} directives",
            source=f"dataflow '{dataflow.name}'",
            allowed=f"an int array of shape ({rows}, {width})",
        )
    maps = _plan_of(dataflow).maps
    if rows and maps and int(out[:, maps].min()) < 1:
        raise CostModelError(
            "a per-row map offset below 1",
            source=f"dataflow '{dataflow.name}'",
            allowed="offsets >= 1",
        )
    return out


def build_loop_nest(
    dataflow: Dataflow,
    extents: dict[str, np.ndarray],
    stride: np.ndarray,
    num_pes: int,
    offsets: np.ndarray | None = None,
) -> LoopNest:
    """The loop nest of ``dataflow`` on per-row ``extents`` (N, K, C, P, Q, R, S; int64 arrays,
    all >= 1) with ``stride`` (rows, 2) on ``num_pes`` PEs (module docstring).

    ``offsets`` (rows, len(``dataflow.directives``)), optional: per-row map offsets replacing
    the written ones, column j for directive j (``Cluster`` columns unused). One call then costs
    one *structure* (the same directive kinds, dims, levels and cluster sizes) under a different
    tiling per row, e.g. (candidate, layer) pairs of the mapper. Sizes are not read: the loop
    nest partitions every dimension by offsets (module docstring)."""
    plan = _plan_of(dataflow)
    sizes, product = plan.sizes, plan.product
    if num_pes < product:
        raise CostModelError(
            f"the Cluster sizes multiply to {product} > num_pes = {num_pes}",
            source=f"dataflow '{dataflow.name}'",
            allowed=f"num_pes >= {product}",
        )
    rows = len(extents["K"])
    if offsets is not None:
        offsets = check_offsets(dataflow, offsets, rows)
    if plan.error is not None:
        raise CostModelError(
            plan.error,
            source=f"dataflow '{dataflow.name}'",
            allowed="N, K, C, Y', X', Y, X, R, S; each at most once per level",
        )
    tile = {v: np.asarray(extents[v], dtype=np.int64).copy() for v in NEST_DIMS}
    ones = np.ones(rows, np.int64)  # (only read)
    lat = {v: [(tile[v], ones)] for v in NEST_DIMS}  # (tile, count) pairs; arrays only read
    loops: list[Loop] = []
    pes_used = ones
    levels = plan.levels
    level_iterations = np.ones((rows, len(levels)), np.int64)
    boundary, passes = 0, ones
    # Σ count·[tile > 0] of each dim's pairs, kept up to date as lat changes
    counts = {v: (tile[v] > 0).astype(np.int64) for v in NEST_DIMS}
    for index, written in enumerate(levels):
        level_iterations[:, index] = _product([counts[v] for v in NEST_DIMS])
        units = num_pes // product if index == 0 else sizes[index - 1]
        free = np.full(rows, units, np.int64)
        innermost = index == len(levels) - 1
        if innermost:
            boundary = len(loops)
            passes = _product([counts[v] for v in NEST_DIMS])
        for j, d, dim in written:
            if offsets is None or j is None:  # j None: the prepended T(1,1) N
                chunk = np.full(rows, d.offset, np.int64)
            else:
                chunk = offsets[:, j]
            if d.dim in _INPUT_COORD:
                chunk = np.maximum(1, chunk // stride[:, _INPUT_COORD[d.dim]])
            outer = tile[dim]
            inner = np.minimum(chunk, outer)
            if d.kind == "T":
                loops.append(Loop(index, dim, "T", outer, inner, -(-outer // chunk)))
                lat[dim] = _split(lat[dim], chunk)
                counts[dim] = _split_count(lat[dim])
            else:
                fan = np.minimum(free, -(-outer // chunk))
                span = chunk * free
                loops.append(Loop(index, dim, "Rd", outer, np.minimum(span, outer),
                                  -(-outer // span)))  # fmt: skip
                loops.append(Loop(index, dim, "F", np.minimum(span, outer), inner, fan))
                lat[dim] = _split(lat[dim], chunk, span)
                counts[dim] = _split_count(lat[dim])
                pes_used = pes_used * fan
                free = np.maximum(1, free // fan)
                if innermost:  # spatial rounds at the PE level are passes too
                    boundary = len(loops)
                    passes = passes * loops[-2].trips
            tile[dim] = inner
    # the tiles of every dimension partition it exactly (a split keeps Σ count·tile), so the
    # computations are the product of the extents
    computations = _product([np.asarray(extents[v], np.int64) for v in NEST_DIMS])
    cycles = _product([_total(lat[v]) for v in NEST_DIMS])
    return LoopNest(
        loops=tuple(loops),
        extents={v: np.asarray(extents[v], np.int64) for v in NEST_DIMS},
        step_tile=tile,
        computations=computations,
        compute_cycles=cycles,
        passes=np.maximum(passes, 1),
        level_iterations=level_iterations,
        pes_used=pes_used,
        pass_boundary=boundary,
    )
