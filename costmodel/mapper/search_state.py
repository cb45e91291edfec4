"""The search state of a batch of layers (:mod:`costmodel.mapper.search`): per layer its nodes
(one structure's best tiling found for that layer), their heap and the best point found, and the
moves on them — costing rows in one analysis call per structure, enumerating small layers,
expanding nodes along their coordinate lines, sharing a called structure with the other layers,
spawning a closed node's structure neighbours."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.mapper.evaluate import OBJECTIVES, analyse_mapping, bounds, clips_maps, overflow
from costmodel.mapper.moves import (
    UNSEEN,
    Key,
    best_per_owner,
    distinct,
    key_of,
    neighbour_structures,
    share_tilings,
    transplant,
    transplant_rows,
    written,
)
from costmodel.mapper.space import TILE_DIMS, Point, Space
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
from costmodel.native import DEFAULT_NATIVE, NativeOptions, native_rows
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow

Progress = Callable[[int], None]
#: Tilings a called structure is offered at on each other searched layer without a node of it:
#: the layer's own best point moved over, and up to this many distinct tilings of the layers
#: that called it (:func:`~costmodel.mapper.moves.share_tilings`).
SHARE_TILES = 8


@dataclass(slots=True)
class Node:
    """One structure's best tiling found for one layer; ``priority`` is ``key`` once costed,
    before that the key of the node it was spawned from."""

    structure: Point
    params: tuple[int, ...]
    key: Key = UNSEEN
    priority: Key = UNSEEN
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
    #: tilings of the callers a shared structure is offered at (:data:`SHARE_TILES`)
    share_tiles: int = SHARE_TILES
    calls: int = 0
    evaluations: int = 0
    bounds: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.batch)
        self.bounds = bounds(self.batch)
        self._bound = [tuple(int(v) for v in row) for row in self.bounds]
        self.nodes: list[dict[Point, Node]] = [{} for _ in range(n)]
        self.holders: dict[Point, set[int]] = defaultdict(set)  # the layers with a node of it
        # per layer: (priority, push count, structure, tiles of a node not built yet or None)
        self.heaps: list[list[tuple]] = [[] for _ in range(n)]
        self.best: list[Key] = [UNSEEN] * n
        self._best_structure: list[Point | None] = [None] * n
        # the best point's tile parameters, level-0 spatial dim (-1: none yet) and chunk count
        self.best_params = np.ones((n, len(PARAMS)), np.int64)
        self.best_spatial0 = np.full(n, -1, np.int64)
        self.best_chunked = np.zeros(n, np.int64)
        self.expansions = [0] * n
        self.improved_at = [0] * n
        self._pushed = 0
        self._batched = clips_maps(self.options)
        self._rows = native_rows(self.batch, self.options or DEFAULT_NATIVE)  # taken per call

    @property
    def point(self) -> list[Point | None]:
        """Per layer, the best point found (None: none yet)."""
        return [None if s is None else with_params(s, p)
                for s, p in zip(self._best_structure, self.best_params, strict=True)]  # fmt: skip

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
                                     footprints=True, rows=self._rows.take(layers))  # fmt: skip
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
            self._best_structure[r] = structure
            self.improved_at[r] = self.expansions[r]
            self.best_params[r] = params
            self.best_spatial0[r] = TILE_DIMS.index(structure.spatial0)
            self.best_chunked[r] = len(structure.chunks)
            return True
        return False

    def _push(self, r: int, node: Node) -> None:
        self._pushed += 1
        heapq.heappush(self.heaps[r], (node.priority, self._pushed, node.structure, None))

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
            for j in best_per_owner(owner, keys):
                self._offer(int(owner[j]), structure, tuple(table[j].tolist()), key_of(keys[j]))

    def expand(self, structure: Point, rows: list[int], share: list[int]) -> None:
        """Expand the node of ``structure`` of each layer of ``rows`` (its coordinate lines or
        planes), and offer ``structure`` to the layers ``share`` that have no node of it, all in
        one call: each such layer gets a new node at the best of its own best point moved over
        and the callers' tilings (:meth:`shared_rows`)."""
        tpl = template(structure)
        nodes = [self.nodes[r][structure] for r in rows]
        centers = np.asarray([n.params for n in nodes], np.int64).reshape(-1, len(PARAMS))
        rows_of = plane_rows if self.neighbourhood == "planes" else line_rows
        owner, params = rows_of(centers, tpl.free, self.space.sizes)
        layer_of = np.asarray(rows, np.int64)[owner]
        params, valid = canonical_rows(params, self.bounds[layer_of], tpl)
        owner, params = distinct(owner[valid], params[valid])
        held = self.holders[structure]
        fresh = [r for r in share if r not in held]
        taker, extra = self.shared_rows(structure, fresh, centers)
        layers = np.concatenate([np.asarray(rows, np.int64)[owner], taker])
        keys = self.cost(structure, layers, np.vstack([params, extra]))
        best = {int(owner[j]): j for j in best_per_owner(owner, keys[: len(owner)])}
        for o, r in enumerate(rows):
            node = nodes[o]
            self.expansions[r] += 1
            j = best.get(o)
            key = key_of(keys[j]) if j is not None else UNSEEN
            if key < node.key:
                node.key = node.priority = key
                node.params = tuple(params[j].tolist())  # type: ignore[index]
                self._offer(r, structure, node.params, key)
                self._push(r, node)
            else:
                node.open = False
                self._spawn(r, node)
        shared = keys[len(owner) :]
        pick = best_per_owner(taker, shared)
        heaps, push, best_of = self.heaps, heapq.heappush, self.best
        for r, tiles, key in zip(taker[pick].tolist(), extra[pick].tolist(),
                                 shared[pick].tolist(), strict=True):  # fmt: skip
            key, tiles = tuple(key), tuple(tiles)
            held.add(r)  # its node is built when it first ranks among the layer's best (top)
            self._pushed += 1
            push(heaps[r], (key, self._pushed, structure, tiles))
            if key < best_of[r]:
                self._offer(r, structure, tiles, key)

    def shared_rows(
        self, structure: Point, layers: list[int], centers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows (layer, canonical params) offering ``structure`` to ``layers``: each
        layer's best point moved over (:func:`~costmodel.mapper.moves.transplant_rows`) and the
        callers' tilings ``centers`` (up to :attr:`share_tiles` distinct), distinct per layer."""
        taker = np.asarray(layers, np.int64)
        if not len(taker):
            return taker, np.zeros((0, len(PARAMS)), np.int64)
        own = transplant_rows(self.best_params[taker], self.best_spatial0[taker],
                              self.best_chunked[taker], structure)  # fmt: skip
        tilings = share_tilings(centers, self.share_tiles)
        owner = np.concatenate([taker, np.repeat(taker, len(tilings))])
        params = np.vstack([own, np.tile(tilings, (len(taker), 1))])
        placed = np.concatenate([self.best_spatial0[taker] >= 0,
                                 np.ones(len(taker) * len(tilings), bool)])  # fmt: skip
        params, valid = canonical_rows(params, self.bounds[owner], template(structure))
        return distinct(owner[valid & placed], params[valid & placed])

    def seed(self, structure: Point, rows: list[int], points: list[Point]) -> None:
        """Open a node of ``structure`` at ``points`` for the layers ``rows`` and expand it."""
        held = self.holders[structure]
        fresh = [(r, p) for r, p in zip(rows, points, strict=True) if r not in held]
        for r, p in fresh:
            self.nodes[r][structure] = Node(structure, params_of(p))
            self.holders[structure].add(r)
        if fresh:
            self.expand(structure, [r for r, _ in fresh], [])

    def _spawn(self, r: int, node: Node) -> None:
        """Open the structure neighbours of a closed node, starting from its tiles."""
        if node.key == UNSEEN:
            return
        point = with_params(node.structure, node.params)
        for s in neighbour_structures(self.space, node.structure):
            if r in self.holders[s]:
                continue
            cq = transplant(point, s, self.bound(r))
            if cq is None:
                continue
            child = Node(s, params_of(cq), UNSEEN, node.key)
            self.nodes[r][s] = child
            self.holders[s].add(r)
            self._push(r, child)

    def structures(self, r: int) -> set[Point]:
        """The structures layer r has a node of (built or not)."""
        return {s for s, held in self.holders.items() if r in held}

    def pick(self, r: int) -> Node | None:
        """Layer r's best open node (lazy heap: stale entries are dropped)."""
        top = self.top(r, 1)
        return top[0] if top else None

    def top(self, r: int, k: int) -> list[Node]:
        """Layer r's ``k`` best open nodes, best first (stale heap entries are dropped)."""
        heap = self.heaps[r]
        out: list[Node] = []
        kept: list[tuple] = []
        nodes = self.nodes[r]
        while heap and len(out) < k:
            entry = heapq.heappop(heap)
            node = nodes.get(entry[2])
            if node is None:  # a shared node, built now
                node = nodes[entry[2]] = Node(entry[2], entry[3], entry[0], entry[0])
            if node.open and node.priority == entry[0] and all(node is not o for o in out):
                out.append(node)
                kept.append(entry)
        for entry in kept:
            heapq.heappush(heap, entry)
        return out
