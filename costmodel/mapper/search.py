"""The search: exhaustive on small per-layer spaces; otherwise a best-first search over
structures with per-layer coordinate line searches over tiles, costed in batches of
(candidate, layer) rows.

The analysis takes one directive *structure* per call and a tiling per row
(:mod:`costmodel.mapper.tiles`), so a call costs any number of (layer, tiling) pairs of one
structure. Its fixed cost (~3 ms) is paid per structure, its cost per row is ~2.5 µs
(docs/MAPPER.md): the search is organised around structures, and every layer gets its own tiles.

1. **Exhaustive layers** — a layer whose canonical space (:meth:`Space.count`) holds at most
   ``exhaustive_limit`` points is enumerated completely: its points are grouped by structure,
   one call per structure over every such layer. It gets the exact optimum of the space.
2. **Seeds** — for every other layer each seed of :meth:`Space.seeds` (:func:`useful_seeds`)
   is opened as a *node* (one structure's best tiling found for one layer) and expanded at
   once, one call per seed structure over all of them.
3. **Best-first descent** — every round, each layer still searched ranks its open nodes by
   cost (a node not yet costed ranks as the node it was spawned from) and its best
   :data:`WIDTH` vote for their structures. The :data:`PER_ROUND` most voted structures are
   called (a layer none of whose votes was called for :data:`DELAY` rounds gets its best
   node's structure called too), one call per structure. A layer *expands* each of its voted
   nodes whose structure is called: the node's coordinate lines (each tile parameter set to
   every size of the grid, the others kept) are costed, and the node moves to the best of
   them. A node whose lines hold nothing better is a local optimum of its structure (closed);
   it then *spawns* its structure neighbours (:meth:`Space.neighbours` that change the
   structure: level-0 spatial dim, inner spatial dims, loop order, inner mode, cluster split;
   for row-stationary points order, N tile and PE sets),
   each starting from its tiles, to be expanded when they rank among the layer's best.
   With ``share`` (the default) each call also costs the structure at its current tiles on every
   other layer still searched that has no node of it yet (one row each): layers pick up
   structures that serve other layers for ~2 µs a row, and gather on common structures, which
   keeps the calls per round few. Voting (instead of every layer's best node called) cut the
   zoo's calls from 1,371 to 750 at equal quality (docs/MAPPER.md).
4. **Stop** — a layer leaves the search after ``budget`` expansions, after ``patience`` ×
   ``budget`` expansions without improving its best (:data:`PATIENCE`; both scale with the
   budget, so a search given 10x the budget also waits 10x longer), or when no node is open.

What is enumerated and what is heuristic: within one structure the lines cover every size of
every parameter around the node, so a closed node is a coordinate-wise optimum of its structure
(not a global one: parameters interact). Across structures the search is a best-first local
search from the seeds; the spawned neighbours are the restarts. Nothing is fitted per layer.

Candidates are ranked feasible first (the working sets fit L1 and L2 by the mapper's own check,
:mod:`costmodel.mapper.capacity`, and the analysis reports no L1 spill), then by the objective;
among infeasible ones the least overflow wins (reported ``feasible = False``). Every row is the
layer's exact directive list (:func:`written`), so every cost is exact. Under an analysis path
that cannot take tiles per row (``reuse`` off) each distinct list is costed in its own call:
same search, slower. Layers are searched independently, except that ``share`` lets a call made
for some layers seed others; the search is deterministic for a given batch.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.mapper.evaluate import OBJECTIVES, analyse_mapping, bounds, clips_maps, overflow
from costmodel.mapper.space import FULL, TILE_DIMS, Point, Space, canonical
from costmodel.mapper.tiles import (
    PARAMS,
    canonical_rows,
    line_rows,
    params_of,
    plane_rows,
    structure_of,
    template,
    with_params,
)
from costmodel.native import NativeOptions
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow

#: Node expansions (coordinate line searches) per layer.
DEFAULT_BUDGET = 48
#: Layers with at most this many canonical points are searched exhaustively.
EXHAUSTIVE_LIMIT = 2048
#: A layer stops once its best has not improved for this fraction of the budget (expansions).
PATIENCE = 0.5

#: Open nodes per layer that vote for the structures of a round (its best ``WIDTH``).
WIDTH = 3
#: Structures called per round: the most voted (None: every voted one).
PER_ROUND: int | None = 8
#: A layer none of whose voted structures was called for this many rounds gets its best called.
DELAY = 2

Progress = Callable[[int], None]
#: Rank of a candidate: (infeasible, overflow bytes, objective); lower is better.
Key = tuple[float, float, float]
_UNSEEN: Key = (math.inf, math.inf, math.inf)


@dataclass
class Node:
    """One structure's best tiling found for one layer; ``priority`` is ``key`` once costed,
    before that the key of the node it was spawned from."""

    structure: Point
    params: tuple[int, ...]
    key: Key = _UNSEEN
    priority: Key = _UNSEEN
    open: bool = True


@dataclass
class Search:
    """The search state of a batch of layers (module docstring)."""

    batch: LayerBatch
    accelerator: Accelerator
    objective: str
    options: NativeOptions | None
    space: Space
    progress: Progress | None = None
    #: the rows of an expansion: coordinate ``lines`` or ``planes`` (every pair of parameters)
    neighbourhood: str = "lines"
    calls: int = 0
    evaluations: int = 0
    bounds: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.batch)
        self.bounds = bounds(self.batch)
        self._bound = [tuple(int(v) for v in row) for row in self.bounds]
        self.nodes: list[dict[Point, Node]] = [{} for _ in range(n)]
        self.heaps: list[list[tuple[Key, int, Point]]] = [[] for _ in range(n)]
        self.best: list[Key] = [_UNSEEN] * n
        self.point: list[Point | None] = [None] * n
        self.expansions = [0] * n
        self.improved_at = [0] * n
        self._pushed = 0
        self._batched = clips_maps(self.options)

    def bound(self, r: int) -> tuple[int, int, int, int]:
        return self._bound[r]  # type: ignore[return-value]

    # -- costing ---------------------------------------------------------------------------

    def cost(self, structure: Point, layers: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Rank keys ``(rows, 3)`` (infeasible, overflow bytes, objective) of ``params`` (rows,
        5; canonical) of ``structure`` on layers ``layers`` (one entry per row), in one analysis
        call (:func:`costmodel.mapper.tiles.template`)."""
        if not len(layers):
            return np.zeros((0, 3))
        tpl = template(structure)
        sub = self.batch.take(layers)
        if self._batched:
            offsets = tpl.offsets(params, self.bounds[layers])
            result = analyse_mapping(sub, self.accelerator, tpl.dataflow, self.options, offsets,
                                     footprints=True)  # fmt: skip
            spill = overflow(sub, self.accelerator, tpl.dataflow, result, offsets)
            value = OBJECTIVES[self.objective](result)
            self.calls += 1
        else:  # the analysis path takes one list per call: one call per distinct list
            spill, value = np.zeros(len(layers)), np.zeros(len(layers))
            groups: dict[Dataflow, list[int]] = defaultdict(list)
            for i, (r, row) in enumerate(zip(layers.tolist(), params.tolist(), strict=True)):
                groups[written(with_params(structure, row), self.bound(r))].append(i)
            for flow, idx in groups.items():
                part = sub.take(np.asarray(idx))
                result = analyse_mapping(part, self.accelerator, flow, self.options)
                spill[idx] = overflow(part, self.accelerator, flow, result)
                value[idx] = OBJECTIVES[self.objective](result)
                self.calls += 1
        self.evaluations += len(layers)
        if self.progress is not None:
            self.progress(1)
        spill = np.asarray(spill, np.float64)
        return np.column_stack([(spill > 0).astype(np.float64), spill,
                                np.asarray(value, np.float64)])  # fmt: skip

    def _offer(self, r: int, structure: Point, params: tuple[int, ...], key: Key) -> bool:
        """Layer r's best becomes this point when it ranks strictly first; True if it did."""
        if key < self.best[r]:
            self.best[r] = key
            self.point[r] = with_params(structure, params)
            self.improved_at[r] = self.expansions[r]
            return True
        return False

    def _push(self, r: int, node: Node) -> None:
        self._pushed += 1
        heapq.heappush(self.heaps[r], (node.priority, self._pushed, node.structure))

    # -- phases ----------------------------------------------------------------------------

    def enumerate_layers(self, rows: list[int]) -> None:
        """Cost every canonical point of the layers ``rows``, one call per structure."""
        per_structure: dict[Point, tuple[list[int], list[tuple[int, ...]]]] = {}
        for r in rows:
            for p in self.space.enumerate(self.bound(r)):
                layers, params = per_structure.setdefault(structure_of(p), ([], []))
                layers.append(r)
                params.append(params_of(p))
        for structure in sorted(per_structure):
            layers, params = per_structure[structure]
            owner = np.asarray(layers, np.int64)
            table = np.asarray(params, np.int64)
            keys = self.cost(structure, owner, table)
            for j in _best_per_owner(owner, keys):
                self._offer(int(owner[j]), structure, tuple(table[j].tolist()), _key(keys[j]))

    def expand(self, structure: Point, rows: list[int], share: list[int]) -> None:
        """Expand the node of ``structure`` of each layer of ``rows`` (its coordinate lines or
        planes), and cost ``structure`` at their current tiles on the layers ``share`` that
        have no node of it (one row each, a new node), all in one call."""
        tpl = template(structure)
        nodes = [self.nodes[r][structure] for r in rows]
        centers = np.asarray([n.params for n in nodes], np.int64).reshape(-1, len(PARAMS))
        rows_of = plane_rows if self.neighbourhood == "planes" else line_rows
        owner, params = rows_of(centers, tpl.free, self.space.sizes)
        layer_of = np.asarray(rows, np.int64)[owner]
        params, valid = canonical_rows(params, self.bounds[layer_of], tpl)
        owner, params = _distinct(owner[valid], params[valid])
        shared: list[tuple[int, Point]] = []
        for r in share:
            if structure not in self.nodes[r]:
                moved = transplant(self.point[r], structure, self.bound(r))
                if moved is not None:
                    shared.append((r, moved))
        extra = np.asarray([params_of(p) for _, p in shared], np.int64).reshape(-1, len(PARAMS))
        layers = np.concatenate([np.asarray(rows, np.int64)[owner],
                                 np.asarray([r for r, _ in shared], np.int64)])  # fmt: skip
        keys = self.cost(structure, layers, np.vstack([params, extra]))
        best = {int(owner[j]): j for j in _best_per_owner(owner, keys[: len(owner)])}
        for o, r in enumerate(rows):
            node = nodes[o]
            self.expansions[r] += 1
            j = best.get(o)
            key = _key(keys[j]) if j is not None else _UNSEEN
            if key < node.key:
                node.key = node.priority = key
                node.params = tuple(params[j].tolist())  # type: ignore[index]
                self._offer(r, structure, node.params, key)
                self._push(r, node)
            else:
                node.open = False
                self._spawn(r, node)
        for i, (r, p) in enumerate(shared):
            key = _key(keys[len(owner) + i])
            node = Node(structure, params_of(p), key, key)
            self.nodes[r][structure] = node
            self._push(r, node)
            self._offer(r, structure, node.params, key)

    def seed(self, structure: Point, rows: list[int], points: list[Point]) -> None:
        """Open a node of ``structure`` at ``points`` for the layers ``rows`` and expand it."""
        fresh = [(r, p) for r, p in zip(rows, points, strict=True)
                 if structure not in self.nodes[r]]  # fmt: skip
        for r, p in fresh:
            self.nodes[r][structure] = Node(structure, params_of(p))
        if fresh:
            self.expand(structure, [r for r, _ in fresh], [])

    def _spawn(self, r: int, node: Node) -> None:
        """Open the structure neighbours of a closed node, starting from its tiles."""
        if node.key == _UNSEEN:
            return
        point = with_params(node.structure, node.params)
        for s in _neighbour_structures(self.space, node.structure):
            if s in self.nodes[r]:
                continue
            cq = transplant(point, s, self.bound(r))
            if cq is None:
                continue
            child = Node(s, params_of(cq), _UNSEEN, node.key)
            self.nodes[r][s] = child
            self._push(r, child)

    def pick(self, r: int) -> Node | None:
        """Layer r's best open node (lazy heap: stale entries are dropped)."""
        top = self.top(r, 1)
        return top[0] if top else None

    def top(self, r: int, k: int) -> list[Node]:
        """Layer r's ``k`` best open nodes, best first (stale heap entries are dropped)."""
        heap = self.heaps[r]
        out: list[Node] = []
        kept: list[tuple[Key, int, Point]] = []
        while heap and len(out) < k:
            entry = heapq.heappop(heap)
            node = self.nodes[r][entry[2]]
            if node.open and node.priority == entry[0] and all(node is not o for o in out):
                out.append(node)
                kept.append(entry)
        for entry in kept:
            heapq.heappush(heap, entry)
        return out


def run_search(
    state: Search,
    *,
    budget: int = DEFAULT_BUDGET,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    patience: float | None = PATIENCE,
    share: bool = True,
    neighbourhood: str | None = None,
    width: int = WIDTH,
    per_round: int | None = PER_ROUND,
    delay: int = DELAY,
) -> np.ndarray:
    """Search every layer of ``state`` (phases of the module docstring); returns the mask of
    layers searched exhaustively."""
    space = state.space
    n = len(state.batch)
    if neighbourhood is not None:
        state.neighbourhood = neighbourhood
    sizes = np.array([space.count(state.bound(r)) for r in range(n)])
    exhaustive = sizes <= exhaustive_limit
    state.enumerate_layers([int(r) for r in np.flatnonzero(exhaustive)])
    rest = [int(r) for r in np.flatnonzero(~exhaustive)]
    if not rest:
        return exhaustive
    for seed in useful_seeds(space, state.bounds[rest]):
        rows, points = [], []
        for r in rest:
            cp = canonical(seed, state.bound(r))
            if cp is not None:
                rows.append(r)
                points.append(cp)
        state.seed(structure_of(seed), rows, points)
    for r in rest:  # the budget and the patience count the expansions after the seeds
        state.expansions[r] = state.improved_at[r] = 0
    wait = None if patience is None else max(1, math.ceil(patience * budget))
    active = list(rest)
    waited = dict.fromkeys(rest, 0)  # rounds since the layer last expanded a node
    while active:
        tops: dict[int, list[Node]] = {}
        for r in active:
            stalled = wait is not None and state.expansions[r] - state.improved_at[r] >= wait
            if state.expansions[r] < budget and not stalled:
                top = state.top(r, width)
                if top:
                    tops[r] = top
        active = list(tops)
        votes: dict[Point, int] = defaultdict(int)
        for top in tops.values():
            for node in top:
                votes[node.structure] += 1
        ranked = sorted(votes, key=lambda s: (-votes[s], s))
        called = set(ranked[:per_round] if per_round else ranked)
        for r, top in tops.items():  # a layer left out too long gets its best node called
            if waited[r] >= delay and not any(node.structure in called for node in top):
                called.add(top[0].structure)
        groups: dict[Point, list[int]] = defaultdict(list)
        for r, top in tops.items():
            mine = [node.structure for node in top if node.structure in called]
            waited[r] = 0 if mine else waited[r] + 1
            for structure in mine[: max(1, budget - state.expansions[r])]:
                groups[structure].append(r)
        for structure in sorted(groups, key=lambda s: (-len(groups[s]), s)):
            state.expand(structure, groups[structure], active if share else [])
    return exhaustive


def _distinct(owner: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (owner, params) rows, sorted (one integer code per row: fast)."""
    if not len(owner):
        return owner, params
    code = owner.astype(np.int64)
    for column in params.T:
        levels, index = np.unique(column, return_inverse=True)
        code = code * (len(levels) + 1) + index.reshape(-1)
    _, first = np.unique(code, return_index=True)
    return owner[first], params[first]


def _key(row: np.ndarray) -> Key:
    return (float(row[0]), float(row[1]), float(row[2]))


def _best_per_owner(owner: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per distinct owner, the index of its best row by (infeasible, overflow, objective);
    ties: the first row."""
    if not len(owner):
        return np.zeros(0, np.int64)
    order = np.lexsort((np.arange(len(owner)), keys[:, 2], keys[:, 1], keys[:, 0], owner))
    first = np.r_[True, owner[order][1:] != owner[order][:-1]]
    return order[first]


@functools.lru_cache(maxsize=65536)
def _neighbour_structures(space: Space, structure: Point) -> tuple[Point, ...]:
    """The structures one move of :meth:`Space.neighbours` away from ``structure`` (the moves
    that change more than sizes; they do not depend on the sizes, and :func:`transplant` moves
    a point's sizes over as those moves do)."""
    own = structure_of(structure)
    moved = (structure_of(q) for q in space.neighbours(structure))
    return tuple(s for s in dict.fromkeys(moved) if s != own)


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


def useful_seeds(space: Space, bounds: np.ndarray) -> list[Point]:
    """The seeds of ``space`` whose every spatial dim (level 0 and each inner level; ``"YR"``
    as Y') has an extent above 1 in at least one layer (rows of K, C, Y', X' ``bounds``): a
    level spread over a dim of extent 1 idles all but one of its units, so such seeds are not
    costed (the search can still move there). All seeds when none qualifies."""
    wide = {dim for dim, top in zip(TILE_DIMS, bounds.max(axis=0), strict=True) if top > 1}
    wide |= {"YR"} if "Y'" in wide else set()
    seeds = space.seeds()
    kept = [p for p in seeds if p.spatial0 in wide and all(d in wide for d in p.spatial)]
    return kept or seeds


@functools.lru_cache(maxsize=65536)
def written(point: Point, bound: tuple[int, int, int, int], name: str = "searched") -> Dataflow:
    """The point's directive list for one layer, every whole dimension written as its extent
    (the exact form: what is costed and what the user gets)."""
    tiles = tuple(b if t >= b else t for t, b in zip(point.tiles, bound, strict=True))
    return replace(point, tiles=tiles).dataflow(name)
