"""Structures and per-row tilings: a :class:`~costmodel.mapper.space.Point` split into the
directive *structure* it writes and the *tile parameters* of that structure.

A structure is everything of a point but its sizes: the Cluster sizes, the spatial dims of every
level, the loop order and the inner mode (:func:`structure_of` keeps the point with its sizes
blanked). Its tile parameters, :data:`PARAMS`, are the level-0 spatial chunk ``s0`` and the
level-0 temporal tiles of K, C, Y', X' (the spatial dim's entry unused). Every point of one
structure writes the same directive kinds, dims, levels and cluster sizes; only the offsets of
the parametrised directives differ. The loop-nest ``native`` analysis takes those offsets per row
(:func:`costmodel.loopnest.build_loop_nest`), so one analysis call costs one structure under a
different tiling per row: (candidate, layer) pairs, each layer with its own tiles.

:func:`template` finds which directive carries which parameter by writing the structure once with
marker sizes, so it follows whatever :meth:`Point.dataflow` writes (new structures included).
A row's offsets are its layer's *exact* directive list (:func:`costmodel.mapper.search.written`:
every temporal tile at or above its dimension's extent written as the extent), so a batched
cost equals the cost of that list costed alone (``tests/test_mapper_rows.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from costmodel.mapper.space import FULL, TILE_DIMS, Point
from hardware_db.dataflow import Dataflow

#: Tile parameters of a structure, the columns of a parameter array: the level-0 spatial chunk,
#: the level-0 temporal tiles of :data:`~costmodel.mapper.space.TILE_DIMS`, and a
#: row-stationary point's filters p and channels q per PE (``Point.chunks``; 1 elsewhere).
PARAMS: tuple[str, ...] = ("s0", *TILE_DIMS, "p", "q")
_CHUNKS = 5  # column of the first chunk
#: Marker sizes (above any size a space uses) that locate each parameter's directive.
_MARK = 8 * FULL


def structure_of(point: Point) -> Point:
    """The point's structure: the point with its chunks 1 and every temporal tile whole."""
    return replace(point, spatial0_size=1, tiles=(FULL,) * len(TILE_DIMS),
                   chunks=(1,) * len(point.chunks))  # fmt: skip


def params_of(point: Point) -> tuple[int, ...]:
    """The point's tile parameters, in :data:`PARAMS` order."""
    chunks = (*point.chunks, 1, 1)[:2]
    return (point.spatial0_size, *point.tiles, *chunks)


def with_params(structure: Point, params) -> Point:
    """The point of ``structure`` with tile parameters ``params`` (:data:`PARAMS` order)."""
    values = tuple(int(v) for v in params)
    chunks = values[_CHUNKS : _CHUNKS + len(structure.chunks)]
    return replace(structure, spatial0_size=values[0], tiles=values[1:_CHUNKS], chunks=chunks)


@dataclass(frozen=True)
class Template:
    """How a structure's directive list takes its parameters.

    ``dataflow`` is the structure's list (what the analysis reads for everything but offsets),
    ``columns[j]`` the :data:`PARAMS` index whose value is directive j's offset (-1: a fixed
    offset, ``base[j]``), ``free`` the parameters the list writes (the spatial dim's tile is
    not), ``spatial0`` the :data:`TILE_DIMS` index of the level-0 spatial dim."""

    structure: Point
    dataflow: Dataflow
    columns: tuple[int, ...]
    base: np.ndarray
    free: tuple[int, ...]
    spatial0: int

    def offsets(self, params: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        """``(rows, len(directives))`` map offsets of the rows' exact lists: ``params`` (rows,
        7) on layers with K, C, Y', X' extents ``bounds`` (rows, 4); temporal tiles clipped to
        the extent, the spatial chunks as given."""
        params = np.asarray(params, np.int64)
        clipped = params.copy()
        clipped[:, 1:_CHUNKS] = np.minimum(params[:, 1:_CHUNKS], bounds)
        out = np.tile(self.base, (len(params), 1))
        for j, column in enumerate(self.columns):
            if column >= 0:
                out[:, j] = clipped[:, column]
        return out


@functools.lru_cache(maxsize=4096)
def template(structure: Point) -> Template:
    """The :class:`Template` of ``structure`` (found with marker sizes, module docstring)."""
    marks = [_MARK + i for i in range(len(PARAMS))]
    marked = replace(structure, spatial0_size=marks[0], tiles=tuple(marks[1:_CHUNKS]),
                     chunks=tuple(marks[_CHUNKS : _CHUNKS + len(structure.chunks)]))  # fmt: skip
    columns = []
    for d in marked.dataflow().directives:
        index = d.offset - _MARK if d.kind != "C" else -1  # the marked parameter, if any
        columns.append(index if 0 <= index < len(PARAMS) else -1)
    flow = structure.dataflow("searched")
    base = np.array([d.offset for d in flow.directives], np.int64)
    free = tuple(sorted({c for c in columns if c >= 0}))
    return Template(structure, flow, tuple(columns), base, free,
                    TILE_DIMS.index(structure.spatial0))  # fmt: skip


def canonical_rows(
    params: np.ndarray, bounds: np.ndarray, tpl: Template
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`~costmodel.mapper.space.canonical` of the structure of ``tpl``: every
    temporal tile at or above its extent (or not written) becomes FULL; returns ``(params,
    valid)`` where a row is invalid when its spatial chunk (> 1) reaches the extent of the
    level-0 spatial dim, or a row-stationary chunk p (q) > 1 reaches K (C) (pruned)."""
    out = np.asarray(params, np.int64).copy()
    tiles = out[:, 1:_CHUNKS]
    tiles[tiles >= bounds] = FULL
    for i in range(len(TILE_DIMS)):
        if 1 + i not in tpl.free:
            tiles[:, i] = FULL
    chunk = out[:, 0]
    valid = (chunk < bounds[:, tpl.spatial0]) | (chunk == 1)
    for i in range(len(tpl.structure.chunks)):
        c = out[:, _CHUNKS + i]
        valid &= (c < bounds[:, i]) | (c == 1)
    return out, valid


def line_rows(
    centers: np.ndarray, free: tuple[int, ...], sizes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The coordinate lines through each center: for every free parameter, the center with that
    parameter set to each of ``sizes`` (the center itself included). Returns (owner, params):
    the index of the center each row came from and the rows' parameters (not canonical)."""
    m = len(centers)
    grid = np.asarray(sizes, np.int64)
    if not free:
        raise ValueError("line_rows: no free parameter to vary")
    # the block of each free parameter: every center repeated once per size, that column set
    # to the sizes in turn; the blocks one after the other (all of them in one assignment)
    per_block = m * len(grid)
    params = np.tile(np.repeat(centers, len(grid), axis=0), (len(free), 1))
    column = np.repeat(np.asarray(free, np.int64), per_block)
    params[np.arange(len(params)), column] = np.tile(grid, m * len(free))
    owner = np.tile(np.repeat(np.arange(m), len(grid)), len(free))
    return owner, params


def plane_rows(
    centers: np.ndarray, free: tuple[int, ...], sizes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The coordinate planes through each center: for every pair of free parameters, the
    center with those two set to every pair of ``sizes`` (the lines and the center included).
    Returns (owner, params) as :func:`line_rows`."""
    if len(free) < 2:
        return line_rows(centers, free, sizes)
    m = len(centers)
    grid = np.asarray(sizes, np.int64)
    a, b = (g.reshape(-1) for g in np.meshgrid(grid, grid, indexing="ij"))
    blocks, owners = [], []
    for i, f in enumerate(free):
        for g in free[i + 1 :]:
            block = np.repeat(centers, len(a), axis=0)
            block[:, f] = np.tile(a, m)
            block[:, g] = np.tile(b, m)
            blocks.append(block)
            owners.append(np.repeat(np.arange(m), len(a)))
    return np.concatenate(owners), np.concatenate(blocks)
