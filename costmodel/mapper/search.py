"""The search: exhaustive on small per-layer spaces; otherwise a best-first search over
structures with per-layer coordinate line searches over tiles, costed in batches of
(candidate, layer) rows.

The analysis takes one directive *structure* per call and a tiling per row
(:mod:`costmodel.mapper.tiles`), so a call costs any number of (layer, tiling) pairs of one
structure. Its fixed cost (~2 ms) is paid per structure, its cost per row is ~2.5 µs
(docs/MAPPER.md): the search is organised around structures, and every layer gets its own tiles.
The search state and its moves are in :mod:`costmodel.mapper.search_state`, the helpers in
:mod:`costmodel.mapper.moves`; this module is the driver.

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
   With ``share`` (the default) each call also offers the structure to every other layer still
   searched that has no node of it yet: at the layer's own best tiles moved over and at up to
   :data:`SHARE_TILES` (8) distinct tilings of the layers that called it (the most common
   first), each made canonical for the layer; the best of these rows becomes its new node.
   Layers pick up structures, and tilings, that serve other layers for ~2.5 µs a row, and
   gather on common structures, which keeps the calls per round few. Voting (instead of every
   layer's best node called) cut the zoo's calls from 1,371 to 750 at equal quality
   (docs/MAPPER.md). With ``share_stopped`` (off by default) the layers that stopped are
   offered the called structures too, and resume if one improves their best.
4. **Stop** — a layer leaves the search after ``budget`` expansions, after ``patience`` ×
   ``budget`` expansions without improving its best (:data:`PATIENCE`; 1.0 by default, i.e.
   every layer spends its budget; both scale with the budget, so a search given 10x the budget
   also waits 10x longer), or when no node is open.

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

import math
from collections import defaultdict

import numpy as np

from costmodel.mapper.moves import neighbour_structures, transplant, written
from costmodel.mapper.search_state import SHARE_TILES, Node, Progress, Search
from costmodel.mapper.space import TILE_DIMS, Point, Space, canonical
from costmodel.mapper.tiles import structure_of

__all__ = ["DEFAULT_BUDGET", "EXHAUSTIVE_LIMIT", "PATIENCE", "SHARE_TILES", "Node", "Progress",
           "Search", "neighbour_structures", "run_search", "transplant", "useful_seeds",
           "written"]  # fmt: skip

#: Node expansions (coordinate line searches) per layer.
DEFAULT_BUDGET = 48
#: Layers with at most this many canonical points are searched exhaustively.
EXHAUSTIVE_LIMIT = 2048
#: A layer stops once its best has not improved for this fraction of the budget (expansions);
#: 1.0: never before its budget is spent (0.6 reached 91.8 % of the zoo within 2 % of 10x the
#: budget, 1.0 96.0 %, at 2,492 and 3,407 calls; docs/MAPPER.md).
PATIENCE = 1.0

#: Open nodes per layer that vote for the structures of a round (its best ``WIDTH``).
WIDTH = 3
#: Structures called per round: the most voted (None: every voted one).
PER_ROUND: int | None = 8
#: A layer none of whose voted structures was called for this many rounds gets its best called.
DELAY = 2
#: Called structures are offered to the layers that stopped too (they resume if one improves).
SHARE_STOPPED = False


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
    share_tiles: int = SHARE_TILES,
    share_stopped: bool = SHARE_STOPPED,
) -> np.ndarray:
    """Search every layer of ``state`` (phases of the module docstring); returns the mask of
    layers searched exhaustively."""
    space = state.space
    n = len(state.batch)
    if neighbourhood is not None:
        state.neighbourhood = neighbourhood
    state.share_tiles = share_tiles
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
        for r in rest if share_stopped else active:  # a stopped layer that improved resumes
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
            offered = (rest if share_stopped else active) if share else []
            state.expand(structure, groups[structure], offered)
    return exhaustive


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
