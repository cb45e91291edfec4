"""The search: exhaustive on small per-layer spaces, a shared-candidate local search otherwise.

One analysis call costs a candidate dataflow on many layers at once (its fixed cost dominates:
docs/MAPPER.md), so the search is organised around *candidates shared by layers*, not around one
layer at a time:

1. **Exhaustive layers** — a layer whose canonical space (:meth:`Space.count`) holds at most
   ``exhaustive_limit`` points (2,048 by default, about 10 s of analysis calls for one layer) is
   enumerated completely under exact costs, so it gets the exact optimum of the space; layers
   with the same exact directive list share a call.
2. **Seeds** — every other layer is costed under every seed of :meth:`Space.seeds` (each
   structure, level-0 spatial dims :attr:`Space.seed_spatial0`) that spreads its levels only over
   dims some of those layers have (:func:`useful_seeds`), one call per seed over all of them.
3. **Local search (best first)** — each layer keeps every point costed on it, ranked. Every
   round, each layer lists the neighbours (:meth:`Space.neighbours`) of its best point that still
   has unseen neighbours — its incumbent, or once that is a local optimum the next best point
   (a restart from the next-best seed or visited point; restarts are taken only in rounds where
   no incumbent has an unseen neighbour left) — that it has not seen
   yet; the ``per_round`` neighbours wanted by most layers are costed, each on **every** layer
   still searched (not only those that proposed it: a call's fixed cost dwarfs its
   cost per layer, and layers of similar shape improve by each other's moves), and
   incumbents move to improvements. The search stops when no costed point of any layer has an
   unseen neighbour, after ``budget`` calls, or when no incumbent has improved for ``patience``
   × ``budget`` calls (:data:`PATIENCE`; scaled with the budget, so a search given 10x the budget
   also waits 10x longer — it is what ends a single layer's restarts early).

Options measured and not used by default (docs/MAPPER.md, benchmarks/RESULTS.md "Issue 16d"):
``drop_stalled`` (a layer whose incumbent has not improved for the patience leaves the batch;
``stall_descents=False``: only once it is a local optimum) and ``fair`` (that many of each
round's slots go to the own moves of the layers whose latest improvement was largest).

**Exact and surrogate costs.** A point is layer independent, whole dimensions written as FULL.
The exact directive list of a layer writes every whole dimension as its extent (:func:`written`),
which differs between layers. Exhaustive layers are costed exactly (one call per distinct exact
list). Seeds and the local search cost one list on all the layers of a call, every tile clipped to
the largest extent among those layers: a *surrogate*, exact for a layer at that extent (and
whenever the call holds one layer). The loop-nest ``native`` analysis (the default, ``reuse`` on)
clips every map to its dimension, so there the surrogate equals the exact cost
(:func:`costmodel.mapper.evaluate.clips_maps`; a test checks the equality on a sample) and every
cost is taken as exact. Other analysis paths need not clip: there each layer keeps a shortlist of
its ``SHORTLIST`` best candidates, and :meth:`Incumbents.finalise` re-costs those that were only
costed as a surrogate under their own lists and picks the best exactly costed one. Exact costs
are memoised by content under the layer's own list (:func:`costmodel.mapper.cache.get_cost`), so
searches of several objectives on the same layers share one enumeration.

Candidates are compared on feasibility first (the working sets fit L1 and L2 by the mapper's own
check, :mod:`costmodel.mapper.capacity`, and the analysis reports no L1 spill), then the objective;
a layer keeps the least-overflowing point only when no feasible one was found (reported
``feasible = False``). The capacity check is computed per layer from its own extents, so it is
exact even in a surrogate call.
Points are canonicalised per layer (:func:`canonical`) so no (layer, mapping) pair is costed twice.
Because layers vote together, a layer's result can depend on the other layers of its batch; the
search is deterministic for a given batch. The optimality gap is measured, not bounded: see
docs/MAPPER.md and benchmarks/bench_mapper.py.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.mapper import cache
from costmodel.mapper.evaluate import analyse_mapping, clips_maps, overflow
from costmodel.mapper.space import TILE_DIMS, Point, Space, canonical
from costmodel.native import NativeOptions
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow

#: Analysis calls of the local search (after seeds and exhaustive layers).
DEFAULT_BUDGET = 640
#: Layers with at most this many canonical points are searched exhaustively.
EXHAUSTIVE_LIMIT = 2048
#: Neighbours costed per round of the local search.
PER_ROUND = 4  # short rounds: incumbents re-vote after every 4 candidates
#: The search stops once no incumbent has improved for this fraction of the budget (in calls);
#: scaled with the budget, so a search given 10x the budget also waits 10x longer.
PATIENCE = 0.05
#: Best candidates per layer kept for the final choice on exact costs.
SHORTLIST = 3

Progress = Callable[[int], None]

#: :data:`OBJECTIVES` on one candidate's floats (latency_cycles, energy_pj, energy_nj): the
#: ranking runs once per (layer, candidate), where building arrays would dominate.
_SCALAR_OBJECTIVES: dict[str, Callable[[float, float, float], float]] = {
    "latency": lambda lat, pj, nj: lat,
    "energy": lambda lat, pj, nj: pj,
    "edp": lambda lat, pj, nj: nj * lat,
}


@dataclass
class Incumbents:
    """Per layer of a batch: the best point found, its objective value and overflow, what was
    seen, and a shortlist of the best candidates with whether their cost is exact."""

    batch: LayerBatch
    accelerator: Accelerator
    objective: str
    options: NativeOptions | None
    bounds: np.ndarray
    progress: Progress | None = None
    record: list | None = None
    shortlist: int = SHORTLIST
    #: Surrogate costs are exact (:func:`costmodel.mapper.evaluate.clips_maps`); None: from
    #: ``options``. False forces the re-cost of surrogate costs (tests compare both).
    surrogate_exact: bool | None = None

    def __post_init__(self) -> None:
        n = len(self.batch)
        if self.surrogate_exact is None:
            self.surrogate_exact = clips_maps(self.options)
        self.value = np.full(n, np.inf)
        self.spill = np.full(n, np.inf)
        self.ok = np.zeros(n, bool)
        self.point: list[Point | None] = [None] * n
        self.seen: list[set[Point]] = [set() for _ in range(n)]
        self.best: list[list[tuple[tuple[float, float, float], Point, bool]]] = [
            [] for _ in range(n)
        ]
        #: per layer, a heap of (rank key, point) of every point costed on it (best-first)
        self.frontier: list[list[tuple[tuple[float, float, float], int, Point]]] = [
            [] for _ in range(n)
        ]
        self._pushed = [0] * n
        self.calls = 0
        #: per layer, :attr:`calls` when its incumbent last improved
        self.improved_at = [0] * n
        #: per layer, the relative objective gain of its latest improvement (1: first feasible)
        self.gain = [1.0] * n
        self.evaluations = 0
        self._rows = [row.tobytes() for row in self.batch.key_matrix()]
        self._bounds: list[tuple[int, int, int, int]] = [
            tuple(int(v) for v in row)  # type: ignore[misc]
            for row in self.bounds
        ]
        self._hw = (cache.hardware_key(self.accelerator),
                    self.options.key() if self.options is not None else None)  # fmt: skip

    def bound(self, row: int) -> tuple[int, int, int, int]:
        return self._bounds[row]

    def cost(self, point: Point, rows, *, exact: bool = False) -> None:
        """Cost ``point`` on the layers ``rows`` that have not seen it.

        ``exact``: each layer gets the point's directive list for its own extents
        (:func:`written`), layers with the same list sharing a call. Otherwise one list is costed
        on all of them in one call, every tile clipped to the largest extent among them — a
        surrogate, exact for the layers whose own list it is (module docstring)."""
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
        called = False
        for flow, (keep, canon) in groups.items():
            called |= self._call(flow, keep, canon)
        if called and self.progress is not None:
            self.progress(1)

    def _call(self, flow: Dataflow, keep: list[int], canon: list[Point]) -> bool:
        """Cost ``flow`` on the layers ``keep`` (exact costs come from the content-keyed memo
        when known); offer each result to its layer. Returns whether the analysis ran."""
        if self.surrogate_exact:
            exact = [True] * len(keep)
        else:
            exact = [
                flow == written(cp, self._bounds[r]) for r, cp in zip(keep, canon, strict=True)
            ]
        # the layer's key row and its canonical point fix its own directive list (``written``)
        costs: list[tuple[float, float, float, float] | None] = [
            cache.get_cost((self._rows[r], self._hw, cp)) if e else None
            for r, cp, e in zip(keep, canon, exact, strict=True)
        ]
        todo = [j for j, c in enumerate(costs) if c is None]
        if todo:
            idx = np.asarray([keep[j] for j in todo], dtype=np.int64)
            sub = self.batch.take(idx)
            result = analyse_mapping(sub, self.accelerator, flow, self.options)
            self.calls += 1
            self.evaluations += len(todo)
            lat = result["latency_cycles"].astype(np.float64).tolist()
            energy_pj = result["energy_pj"].astype(np.float64).tolist()
            energy_nj = result["energy_nj"].astype(np.float64).tolist()
            spill = overflow(sub, self.accelerator, flow, result).astype(np.float64).tolist()
            for i, j in enumerate(todo):
                cost = (lat[i], energy_pj[i], energy_nj[i], spill[i])
                costs[j] = cost
                if exact[j]:
                    cache.put_cost((self._rows[keep[j]], self._hw, canon[j]), cost)
        for j, r in enumerate(keep):
            self._offer(r, canon[j], costs[j], exact[j])  # type: ignore[arg-type]
        return bool(todo)

    def _offer(self, r: int, point: Point, cost: tuple[float, float, float, float],
               exact: bool) -> None:  # fmt: skip
        """Rank one costed candidate of layer r (``cost``: latency_cycles, energy_pj, energy_nj,
        overflow): feasible first, then the objective; among infeasible ones the least overflow.
        The incumbent is the best of the shortlist."""
        latency, energy_pj, energy_nj, spill = cost
        v = _SCALAR_OBJECTIVES[self.objective](latency, energy_pj, energy_nj)
        key = (0.0, 0.0, v) if spill == 0 else (1.0, spill, v)
        if self.record is not None:
            self.record.append((r, point, latency, energy_pj, spill == 0))
        # ties rank first-costed first, as the shortlist does: the heap's top is the incumbent
        self._pushed[r] += 1
        heapq.heappush(self.frontier[r], (key, self._pushed[r], point))
        best = self.best[r]
        if len(best) >= self.shortlist and not key < best[-1][0]:
            return  # ranks below the whole shortlist (ties: the first costed stays)
        at = len(best)
        while at and key < best[at - 1][0]:
            at -= 1
        best.insert(at, (key, point, exact))
        del best[self.shortlist :]
        if at == 0:
            before = self.value[r] if self.ok[r] else np.inf
            self._adopt(r)
            self.improved_at[r] = self.calls
            self.gain[r] = 1.0 if not np.isfinite(before) or before <= 0 else 1.0 - v / before

    def _adopt(self, r: int) -> None:
        key, point, _ = self.best[r][0]
        self.point[r] = point
        self.ok[r] = key[0] == 0
        self.spill[r] = key[1]
        self.value[r] = key[2]

    def finalise(self) -> None:
        """Make the final choice of every layer on exact costs: the shortlisted candidates that
        were costed only as a surrogate are re-costed under their own directive lists (layers
        sharing a list share a call) and each layer keeps the best exactly costed one."""
        redo: dict[Dataflow, tuple[list[int], list[Point]]] = {}
        for r, best in enumerate(self.best):
            for _, point, exact in best:
                if not exact:
                    rows_, points = redo.setdefault(written(point, self.bound(r)), ([], []))
                    rows_.append(r)
                    points.append(point)
            self.best[r] = [e for e in best if e[2]]
        for flow, (keep, canon) in redo.items():
            self._call(flow, keep, canon)
        for r, best in enumerate(self.best):
            if best:
                self._adopt(r)


def run_search(
    state: Incumbents,
    space: Space,
    *,
    budget: int = DEFAULT_BUDGET,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    per_round: int = PER_ROUND,
    share: bool = True,
    restarts: bool = True,
    patience: float | None = PATIENCE,
    drop_stalled: bool = False,
    stall_descents: bool = True,
    fair: int = 0,
) -> np.ndarray:
    """Search every layer of ``state`` (phases of the module docstring); returns the mask of
    layers searched exhaustively. ``share``: each local-search candidate is costed on every
    layer still searched, not only on those that proposed it (``False``: proposers only).
    ``restarts``: once every incumbent is a local optimum, expand next-best points (``False``:
    stop there)."""
    n = len(state.batch)
    sizes = np.array([space.count(state.bound(r)) for r in range(n)])
    exhaustive = sizes <= exhaustive_limit
    wanted: dict[Point, list[int]] = defaultdict(list)
    for r in (int(i) for i in np.flatnonzero(exhaustive)):
        for p in space.enumerate(state.bound(r)):
            wanted[p].append(int(r))
    for p in sorted(wanted):
        state.cost(p, wanted[p], exact=True)
    rest = [int(r) for r in np.flatnonzero(~exhaustive)]
    if not rest:
        state.finalise()
        return exhaustive
    for p in useful_seeds(space, state.bounds[rest]):
        state.cost(p, rest)
    spent = 0
    moves: dict[Point, tuple[Point, ...]] = {}  # neighbours of a point, computed once
    # per layer: the point last expanded and its neighbours with their canonical forms there
    expanded: list[tuple[Point | None, list[tuple[Point, Point]]]] = [(None, [])] * n
    wait = None if patience is None else max(1, math.ceil(patience * budget))
    descending: set[int] = set(rest)
    state.improved_at = [max(at, state.calls) for at in state.improved_at]  # stalls count from here
    while spent < budget:
        if wait is not None and drop_stalled:  # stalled layers leave the batch
            rest = [r for r in rest if state.calls - state.improved_at[r] < wait
                    or (not stall_descents and r in descending)]  # fmt: skip
            if not rest:
                break
        elif wait is not None and state.calls - max(state.improved_at[r] for r in rest) >= wait:
            break  # no incumbent improved for ``wait`` calls: the whole search has stalled
        descending = set()
        proposals: dict[int, list[Point]] = {}
        # descents from incumbents first; restarts only once every incumbent is a local optimum
        descents: dict[Point, list[int]] = defaultdict(list)
        restarts_: dict[Point, list[int]] = defaultdict(list)
        for r in rest:
            frontier, b, seen = state.frontier[r], state.bound(r), state.seen[r]
            votes = descents if frontier and frontier[0][2] == state.point[r] else restarts_
            while frontier:  # the best costed point with unseen neighbours
                top = frontier[0][2]
                if expanded[r][0] != top:
                    near = moves.get(top)
                    if near is None:
                        near = moves[top] = tuple(dict.fromkeys(space.neighbours(top)))
                    expanded[r] = (top, [(q, cq) for q in near
                                         if (cq := canonical(q, b)) is not None])  # fmt: skip
                fresh = [q for q, cq in expanded[r][1] if cq not in seen]
                if fresh:
                    for q in fresh:
                        votes[q].append(r)
                    if votes is descents:
                        descending.add(r)
                    proposals[r] = fresh
                    break
                heapq.heappop(frontier)  # a local optimum (or exhausted): expand the next best
                votes = restarts_
        votes = descents or (restarts_ if restarts else {})
        if not votes:
            break
        ranked = sorted(votes, key=lambda q: (-len(votes[q]), q))
        picks = ranked[: max(per_round - fair, 0)]
        if fair:  # the other slots: own moves of the layers whose latest improvement was largest
            for r in sorted(proposals, key=lambda r: (-state.gain[r], r)):
                if len(picks) >= per_round:
                    break
                pick = next((q for q in proposals[r] if q in votes and q not in picks), None)
                if pick is not None:
                    picks.append(pick)
        for q in picks[: budget - spent]:
            state.cost(q, rest if share else votes[q])
            spent += 1
    state.finalise()
    return exhaustive


def useful_seeds(space: Space, bounds: np.ndarray) -> list[Point]:
    """The seeds of ``space`` whose every spatial dim (level 0 and each inner level; ``"YR"``
    as Y') has an extent above 1 in at least one layer (rows of K, C, Y', X' ``bounds``): a
    level spread over a dim of extent 1 idles all but one of its units, so such seeds are not
    costed (the local search can still move there). All seeds when none qualifies."""
    wide = {dim for dim, top in zip(TILE_DIMS, bounds.max(axis=0), strict=True) if top > 1}
    wide |= {"YR"} if "Y'" in wide else set()
    seeds = space.seeds()
    kept = [p for p in seeds if p.spatial0 in wide and all(d in wide for d in p.spatial)]
    return kept or seeds


@functools.lru_cache(maxsize=65536)
def written(point: Point, bound: tuple[int, int, int, int], name: str = "searched") -> Dataflow:
    """The point's directive list for one layer, every whole dimension written as its extent
    (the exact form: what is costed exactly and what the user gets)."""
    tiles = tuple(b if t >= b else t for t, b in zip(point.tiles, bound, strict=True))
    return replace(point, tiles=tiles).dataflow(name)
