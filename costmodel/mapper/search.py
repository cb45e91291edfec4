"""The search: exhaustive on small per-layer spaces, a shared-candidate local search otherwise.

One analysis call costs a candidate dataflow on many layers at once (about 10 ms fixed plus
~0.06 ms per layer on this machine), so the search is organised around *candidates shared by
layers*, not around one layer at a time:

1. **Exhaustive layers** — a layer whose canonical space (:meth:`Space.count`) holds at most
   ``exhaustive_limit`` points is enumerated completely; a point shared by several such layers is
   costed for all of them in one call.
2. **Seeds** — every other layer is costed under every seed of :meth:`Space.seeds` (each
   structure with whole and thin tiles), one call per seed over all those layers.
3. **Local search** — each layer holds its incumbent (best feasible point so far). Every round,
   each layer lists the neighbours of its incumbent (:meth:`Space.neighbours`) it has not seen
   yet; the ``per_round`` neighbours wanted by most layers are costed, each on the layers that
   want it, and incumbents move to improvements. The search stops when no layer has an unseen
   neighbour (every layer sits at a local optimum of the neighbourhood) or after ``budget`` calls.

**Exact and surrogate costs.** A point is layer independent, whole dimensions written as FULL.
The ``native`` analysis sizes a level-0 unit's L1 working set (and output windows) from the written
map sizes unclipped, so an oversized map is not the same as one of the extent; the exact directive
list of a layer writes every whole dimension as its extent (:func:`written`), which differs between
layers. Exhaustive layers are costed exactly (one call per distinct exact list). Seeds and the
local search cost one list on all the layers of a call, every tile clipped to the largest extent
among those layers: a *surrogate*, exact for a layer at that extent (and whenever the call holds
one layer), and otherwise overstating the working set of tiles that reach the layer's extent
(whole-dimension tiles look worse than they are). The mapping returned is always re-costed
exactly (:func:`costmodel.mapper.api.search_mappings`), so every reported number is exact; the
surrogate only steers the search, and its effect is part of the measured optimality gap.

Candidates are compared on feasibility first (no L1 spill), then the objective; a layer keeps the
least-spilling point only when no feasible one was found (reported ``feasible = False``).
Points are canonicalised per layer (:func:`canonical`) so no (layer, mapping) pair is costed twice.
Because layers vote together, a layer's result can depend on the other layers of its batch; the
search is deterministic for a given batch. The optimality gap is measured, not bounded: see
docs/MAPPER.md and benchmarks/bench_mapper.py.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.mapper.evaluate import OBJECTIVES, analyse_mapping, feasible
from costmodel.mapper.space import Point, Space, canonical
from costmodel.native import NativeOptions
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow

#: Analysis calls of the local search (after seeds and exhaustive layers).
DEFAULT_BUDGET = 160
#: Layers with at most this many canonical points are searched exhaustively.
EXHAUSTIVE_LIMIT = 256
#: Neighbours costed per round of the local search.
PER_ROUND = 16

Progress = Callable[[int], None]


@dataclass
class Incumbents:
    """Per layer of a batch: the best point found, its objective value and spill, what was seen."""

    batch: LayerBatch
    accelerator: Accelerator
    objective: str
    options: NativeOptions | None
    bounds: np.ndarray
    progress: Progress | None = None
    record: list | None = None

    def __post_init__(self) -> None:
        n = len(self.batch)
        self.value = np.full(n, np.inf)
        self.spill = np.full(n, np.inf)
        self.ok = np.zeros(n, bool)
        self.point: list[Point | None] = [None] * n
        self.seen: list[set[Point]] = [set() for _ in range(n)]
        self.calls = 0
        self.evaluations = 0

    def bound(self, row: int) -> tuple[int, int, int, int]:
        return tuple(int(v) for v in self.bounds[row])  # type: ignore[return-value]

    def cost(self, point: Point, rows, *, exact: bool = False) -> None:
        """Cost ``point`` on the layers ``rows`` that have not seen it.

        ``exact``: each layer gets the point's directive list for its own extents
        (:func:`written`), layers with the same list sharing a call. Otherwise one list is costed
        on all of them in one call, every tile clipped to the largest extent among them — a
        surrogate, exact for the layers at that extent (module docstring)."""
        fresh: list[tuple[int, Point]] = []
        for r in rows:
            cp = canonical(point, self.bound(r))
            if cp is not None and cp not in self.seen[r]:
                self.seen[r].add(cp)
                fresh.append((r, cp))
        if not fresh:
            return
        shared = None
        if not exact:  # every tile clipped to the largest extent among these layers
            top = self.bounds[[r for r, _ in fresh]].max(axis=0)
            shared = written(point, tuple(int(v) for v in top))
        groups: dict[Dataflow, tuple[list[int], list[Point]]] = {}
        for r, cp in fresh:
            flow = shared if shared is not None else written(cp, self.bound(r))
            rows_, points = groups.setdefault(flow, ([], []))
            rows_.append(r)
            points.append(cp)
        for flow, (keep, canon) in groups.items():
            self._call(flow, keep, canon)
        if groups and self.progress is not None:
            self.progress(1)

    def _call(self, flow: Dataflow, keep: list[int], canon: list[Point]) -> None:
        idx = np.asarray(keep, dtype=np.int64)
        result = analyse_mapping(self.batch.take(idx), self.accelerator, flow, self.options)
        self.calls += 1
        self.evaluations += len(keep)
        value = OBJECTIVES[self.objective](result)
        ok = feasible(result)
        spill = result["l1_spill_words"].astype(np.float64)
        cur_ok, cur_v, cur_s = self.ok[idx], self.value[idx], self.spill[idx]
        better = (ok & (~cur_ok | (value < cur_v))) | (
            ~ok & ~cur_ok & ((spill < cur_s) | ((spill == cur_s) & (value < cur_v)))
        )
        for j in np.flatnonzero(better):
            r = keep[j]
            self.point[r] = canon[j]
            self.value[r], self.spill[r], self.ok[r] = value[j], spill[j], ok[j]
        if self.record is not None:
            for j, r in enumerate(keep):
                self.record.append((r, canon[j], float(result["latency_cycles"][j]),
                                    float(result["energy_pj"][j]), bool(ok[j])))  # fmt: skip


def run_search(
    state: Incumbents,
    space: Space,
    *,
    budget: int = DEFAULT_BUDGET,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    per_round: int = PER_ROUND,
) -> np.ndarray:
    """Search every layer of ``state`` (phases of the module docstring); returns the mask of
    layers searched exhaustively."""
    n = len(state.batch)
    sizes = np.array([space.count(state.bound(r)) for r in range(n)])
    exhaustive = sizes <= exhaustive_limit
    wanted: dict[Point, list[int]] = defaultdict(list)
    for r in np.flatnonzero(exhaustive):
        for p in space.enumerate(state.bound(r)):
            wanted[p].append(int(r))
    for p in sorted(wanted):
        state.cost(p, wanted[p], exact=True)
    rest = [int(r) for r in np.flatnonzero(~exhaustive)]
    if not rest:
        return exhaustive
    for p in space.seeds():
        state.cost(p, rest)
    spent = 0
    while spent < budget:
        votes: dict[Point, list[int]] = defaultdict(list)
        for r in rest:
            incumbent = state.point[r]
            b = state.bound(r)
            for q in dict.fromkeys(space.neighbours(incumbent)):
                cq = canonical(q, b)
                if cq is not None and cq not in state.seen[r]:
                    votes[q].append(r)
        if not votes:
            break
        ranked = sorted(votes, key=lambda q: (-len(votes[q]), q))
        for q in ranked[: min(per_round, budget - spent)]:
            state.cost(q, votes[q])
            spent += 1
    return exhaustive


@functools.lru_cache(maxsize=65536)
def written(point: Point, bound: tuple[int, int, int, int], name: str = "searched") -> Dataflow:
    """The point's directive list for one layer, every whole dimension written as its extent
    (the exact form: what is costed exactly and what the user gets)."""
    tiles = tuple(b if t >= b else t for t, b in zip(point.tiles, bound, strict=True))
    return replace(point, tiles=tiles).dataflow(name)
