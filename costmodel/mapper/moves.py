"""The search's moves between structures and its row bookkeeping: tiles moved to another
structure (:func:`transplant`, :func:`transplant_rows`), the structure neighbours of a structure,
the tilings a called structure is offered at (:func:`share_tilings`), distinct rows and the best
row per owner, and the exact directive list of a point for one layer (:func:`written`)."""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from costmodel.mapper.space import FULL, TILE_DIMS, Point, Space, canonical
from costmodel.mapper.tiles import _CHUNKS, structure_of
from hardware_db.dataflow import Dataflow

#: Rank of a candidate: (infeasible, overflow bytes, objective); lower is better.
Key = tuple[float, float, float]
UNSEEN: Key = (math.inf, math.inf, math.inf)


def transplant(
    point: Point | None, structure: Point, bound: tuple[int, int, int, int]
) -> Point | None:
    """``point``'s tiles moved to ``structure`` (canonical for the layer ``bound``): the tile of
    the new level-0 spatial dim goes to the old one's slot, the chunk is kept when the spatial
    dim is, else 1 (as :meth:`Space.neighbours` moves it), row-stationary chunks between
    row-stationary structures; None when pruned."""
    if point is None:
        return None
    tiles = list(point.tiles)
    chunk = point.spatial0_size
    if structure.spatial0 != point.spatial0:
        i, j = TILE_DIMS.index(structure.spatial0), TILE_DIMS.index(point.spatial0)
        tiles[j], tiles[i] = tiles[i], FULL
        chunk = 1
    chunks = point.chunks if len(point.chunks) == len(structure.chunks) else structure.chunks
    moved = replace(structure, spatial0_size=chunk, tiles=tuple(tiles), chunks=chunks)
    return canonical(moved, bound)


def transplant_rows(
    params: np.ndarray, spatial0: np.ndarray, chunked: np.ndarray, structure: Point
) -> np.ndarray:
    """:func:`transplant` of many points at once, before :func:`canonical` (apply
    :func:`~costmodel.mapper.tiles.canonical_rows`): ``params`` (rows, 7) of points whose
    level-0 spatial dims are ``spatial0`` (:data:`TILE_DIMS` indices) and whose structures have
    ``chunked`` row-stationary chunks (their number per row)."""
    out = np.array(params, np.int64)
    i = TILE_DIMS.index(structure.spatial0)
    moved = np.flatnonzero(spatial0 != i)
    out[moved, 1 + spatial0[moved]] = out[moved, 1 + i]
    out[moved, 1 + i] = FULL
    out[moved, 0] = 1
    out[chunked != len(structure.chunks), _CHUNKS:] = 1
    return out


def share_tilings(centers: np.ndarray, limit: int) -> np.ndarray:
    """Up to ``limit`` distinct rows of ``centers`` (the tilings of the layers that called a
    structure), the most common first (ties: lowest first)."""
    if not len(centers) or limit <= 0:
        return centers[:0]
    rows, counts = np.unique(centers, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return rows[order[:limit]]


@functools.lru_cache(maxsize=65536)
def neighbour_structures(space: Space, structure: Point) -> tuple[Point, ...]:
    """The structures one move of :meth:`Space.neighbours` away from ``structure`` (the moves
    that change more than sizes; they do not depend on the sizes, and :func:`transplant` moves
    a point's sizes over as those moves do)."""
    own = structure_of(structure)
    moved = (structure_of(q) for q in space.neighbours(structure))
    return tuple(s for s in dict.fromkeys(moved) if s != own)


def distinct(owner: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (owner, params) rows, sorted (one integer code per row: fast)."""
    if not len(owner):
        return owner, params
    levels, index = np.unique(params, return_inverse=True)  # monotone in the value
    index = index.reshape(params.shape)
    base = len(levels) + 1
    if (int(owner.max()) + 1) * float(base) ** params.shape[1] >= 2.0**62:
        return _distinct_by_column(owner, params)
    code = owner.astype(np.int64)
    for column in index.T:
        code = code * base + column
    _, first = np.unique(code, return_index=True)
    return owner[first], params[first]


def _distinct_by_column(owner: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`distinct` when one integer code per row could overflow: unique whole rows."""
    _, first = np.unique(np.column_stack([owner, params]), axis=0, return_index=True)
    return owner[first], params[first]


def key_of(row: np.ndarray) -> Key:
    return (float(row[0]), float(row[1]), float(row[2]))


def best_per_owner(owner: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per distinct owner, the index of its best row by (infeasible, overflow, objective);
    ties: the first row."""
    if not len(owner):
        return np.zeros(0, np.int64)
    order = np.lexsort((np.arange(len(owner)), keys[:, 2], keys[:, 1], keys[:, 0], owner))
    first = np.r_[True, owner[order][1:] != owner[order][:-1]]
    return order[first]


@functools.lru_cache(maxsize=65536)
def written(point: Point, bound: tuple[int, int, int, int], name: str = "searched") -> Dataflow:
    """The point's directive list for one layer, every whole dimension written as its extent
    (the exact form: what is costed and what the user gets)."""
    tiles = tuple(b if t >= b else t for t, b in zip(point.tiles, bound, strict=True))
    return replace(point, tiles=tiles).dataflow(name)
