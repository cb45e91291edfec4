"""The mapping space: points, their directive lists, canonical forms and neighbourhoods.

A :class:`Point` is a data-centric mapping (COSTMODEL.md, ``TemporalMap``/``SpatialMap``/
``Cluster``) with one or two inner cluster levels, outermost first::

    level 0 (the units = num_pes / prod(clusters), fed by noc_top):
        the four dims K, C, Y', X' in the loop order ``order``; ``spatial0`` is a
        SpatialMap(s0, s0) (each unit takes s0 of it), the others TemporalMap(t, t) with the
        tile sizes ``tiles`` (sizes >= the extent mean "the whole dimension")
    Cluster(clusters[0])
    level 1: SpatialMap(1, 1) spatial[0] (one element per sub-unit); with ``inner = "stream"``
        also TemporalMap(1, 1) on Y' and X' (one output position per step), with ``"tile"``
        the sub-units inherit the level-0 tile as one step
    [Cluster(clusters[1])
    level 2: SpatialMap(1, 1) spatial[1]]

``"YR"`` (innermost only) is SpatialMap(1,1) Y; SpatialMap(1,1) R, the row-stationary pair.

A *row-stationary* point (``inner == "rows"``, :mod:`costmodel.mapper.rs_space`) has four inner
levels instead: ``clusters`` = (t, r, e, R) PE sets of R x e PEs, ``chunks`` = (p, q) filters and
channels per PE, ``tiles`` = (filters per pass m, channels per pass q·r, rows per pass e, -) and
``images`` the pass's N tile; its one level-0 unit takes no spatial map (``spatial0`` is nominal).

Every parameter is layer independent, so one point is one dataflow that can be costed on every
layer of a batch at once. Sizes come from :data:`SIZES`; :data:`FULL` stands for "the whole
extent" (a map larger than its dimension is clipped to it by the analysis). For one layer, all
sizes at or above the dimension's extent are the same mapping: :func:`canonical` folds them to
:data:`FULL`, which is what makes per-layer enumeration finite and small for small layers.

:class:`Space` fixes the domains (cluster sizes from the accelerator's array shape, sizes, orders,
spatial choices; row-stationary structures from the layers searched, :meth:`Space.for_layers`);
tests and benchmarks shrink it to enumerate exhaustively.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from costmodel.mapper import rs_space
from costmodel.mapper.rs_space import ROWS
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow, Directive

if TYPE_CHECKING:
    from costmodel.batch import LayerBatch

#: "The whole extent": larger than any dimension of a layer the zoo holds.
FULL = 1 << 20
#: Tile and spatial chunk sizes (a geometric grid; FULL = the whole dimension).
SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, FULL)
#: The level-0 dims, in the order of :attr:`Point.tiles`.
TILE_DIMS: tuple[str, ...] = ("K", "C", "Y'", "X'")
#: Level-0 loop orders (outermost first), named by the tensor the innermost loops keep resident.
ORDERS: dict[str, tuple[str, ...]] = {
    "ws": ("K", "C", "Y'", "X'"),  # weights stay while the output rows/columns sweep
    "os": ("K", "Y'", "X'", "C"),  # outputs stay while the channels are reduced
    "is": ("C", "Y'", "X'", "K"),  # inputs stay while the filters sweep
}
SPATIAL0: tuple[str, ...] = TILE_DIMS
SPATIAL1: tuple[str, ...] = (*TILE_DIMS, "YR")
INNER: tuple[str, ...] = ("tile", "stream")
#: The spatial dims of a row-stationary point's inner levels, as :func:`useful_seeds` reads
#: them: filters, channels, and the R x e PE set ("YR": output rows x filter rows).
ROW_SPATIAL: tuple[str, ...] = ("K", "C", "YR")
_MIRROR = {"Y'": "X'", "X'": "Y'", "Y": "X", "X": "Y", "R": "S", "S": "R"}


@dataclass(frozen=True, order=True)
class Point:
    """One mapping (module docstring). ``clusters`` are the Cluster sizes (one or two inner
    levels; four for a row-stationary point), ``spatial`` the dim each inner level spreads over
    its sub-units (``"YR"`` only innermost); ``tiles`` are the level-0 temporal tile sizes of K,
    C, Y', X' (the entry of ``spatial0`` is unused and kept at FULL)."""

    clusters: tuple[int, ...]
    spatial0: str
    spatial0_size: int
    spatial: tuple[str, ...]
    order: str
    tiles: tuple[int, ...]  # one temporal tile per dim of TILE_DIMS
    inner: str
    #: row-stationary points only (``inner == ROWS``): the chunks (p, q) of K and C per PE
    chunks: tuple[int, ...] = ()
    #: row-stationary points only: the level-0 N tile (1, or FULL: the whole batch)
    images: int = 1

    def __hash__(self) -> int:
        """The fields' hash, computed once (points key the search's dicts)."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            fields = (self.clusters, self.spatial0, self.spatial0_size, self.spatial, self.order)
            cached = hash((*fields, self.tiles, self.inner, self.chunks, self.images))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def dataflow(self, name: str = "searched") -> Dataflow:
        """The point as a MAESTRO directive list."""
        if self.inner == ROWS:
            tiles = dict(zip(TILE_DIMS, self.tiles, strict=True))
            flow = rs_space.directives(self.clusters, ORDERS[self.order], tiles,
                                       (self.chunks[0], self.chunks[1]), self.images)  # fmt: skip
            return Dataflow(name, tuple(flow))
        out = []
        for dim in ORDERS[self.order]:
            if dim == self.spatial0:
                out.append(Directive("S", self.spatial0_size, self.spatial0_size, dim))
            else:
                size = self.tiles[TILE_DIMS.index(dim)]
                out.append(Directive("T", size, size, dim))
        for level, (c, dim) in enumerate(zip(self.clusters, self.spatial, strict=True)):
            out.append(Directive("C", c))
            if dim == "YR":
                out += [Directive("S", 1, 1, "Y"), Directive("S", 1, 1, "R")]
            else:
                out.append(Directive("S", 1, 1, dim))
            if level == 0 and self.inner == "stream":
                taken = {"Y'"} if dim in ("YR", "Y'") else ({"X'"} if dim == "X'" else set())
                out += [Directive("T", 1, 1, d) for d in ("Y'", "X'") if d not in taken]
        return Dataflow(name, tuple(out))


def mirror_dataflow(dataflow: Dataflow) -> Dataflow:
    """A directive list with Y<->X, Y'<->X', R<->S exchanged (for a transposed layer)."""
    return Dataflow(
        dataflow.name,
        tuple(replace(d, dim=_MIRROR.get(d.dim, d.dim)) for d in dataflow.directives),
    )


@dataclass(frozen=True)
class Space:
    """The domains of every parameter of a :class:`Point`."""

    structures: tuple[tuple[int, ...], ...]
    sizes: tuple[int, ...] = SIZES
    orders: tuple[str, ...] = tuple(ORDERS)
    spatial0: tuple[str, ...] = SPATIAL0
    spatial1: tuple[str, ...] = SPATIAL1
    inner: tuple[str, ...] = INNER
    seed_orders: tuple[str, ...] = ("ws",)
    seed_tilings: int = 1
    #: level-0 spatial dims of the seeds (those of :attr:`spatial0`; None or none of them:
    #: every one). K alone: the local search's spatial-dim move reaches the others, and the
    #: three quarters of the seed calls saved buy local-search calls (docs/MAPPER.md).
    seed_spatial0: tuple[str, ...] | None = ("K",)
    #: row-stationary structures (t, r, e, R) (:mod:`costmodel.mapper.rs_space`); derived from
    #: the layers searched by :meth:`for_layers`
    row_sets: tuple[tuple[int, ...], ...] = ()
    #: per entry of :attr:`row_sets`, the (p, q) chunks of its seed
    #: (:func:`costmodel.mapper.rs_space.pe_chunks`; missing: (1, 1))
    row_seed_chunks: tuple[tuple[int, int], ...] = ()
    #: the PE's buffers in words, (L1,) or per tensor (weights, inputs, outputs), for the
    #: seed chunks of the derived row-stationary structures
    row_l1_words: tuple[int, ...] = ()
    #: PEs for which :meth:`for_layers` derives :attr:`row_sets` (0: none are derived)
    row_pes: int = 0
    #: pass widths per layer class of the derived row-stationary structures
    row_widths: int = rs_space.WIDTHS

    @classmethod
    def for_accelerator(cls, accelerator: Accelerator, **domains) -> Space:
        """Cluster structures from the PE array (rows x cols): a unit = one row, ``(cols,)``, or
        one column, ``(rows,)``; a row split in two inner levels, ``(cols/b, b)`` for b in 4, 16;
        and the XRBench presets' own structures (16, 16), (4, 16), (16, 4) — each kept when it
        divides the PE count and leaves at least two level-0 units. Row-stationary structures
        are derived from the layers searched (:meth:`for_layers`) for the accelerator's PEs."""
        rows, cols = accelerator.array_shape
        pes = accelerator.num_pes
        candidates: list[tuple[int, ...]] = [(cols,), (rows,)]
        candidates += [(cols // b, b) for b in (4, 16) if cols % b == 0 and cols // b >= 2]
        candidates += [(16, 16), (4, 16), (16, 4)]
        out = [c for c in candidates if 1 < math.prod(c) < pes and pes % math.prod(c) == 0]
        domains.setdefault("row_pes", pes)
        wb = accelerator.word_bytes
        split = accelerator.l1_tensor_bytes or (accelerator.l1_bytes_per_pe,)
        domains.setdefault("row_l1_words", tuple(int(b) // wb for b in split))
        return cls(structures=tuple(dict.fromkeys(out)) or ((1,),), **domains)

    def for_layers(self, batch: LayerBatch) -> Space:
        """This space with the row-stationary structures of ``batch`` (searched orientation:
        filter rows R, output rows Y'; :func:`costmodel.mapper.rs_space.batch_row_sets`) when
        :attr:`row_pes` is set; otherwise unchanged."""
        if not self.row_pes or len(batch) == 0:
            return self
        sets, chunks = rs_space.batch_row_sets(self.row_pes, batch.dims, batch.out_y,
                                               self.row_l1_words, self.row_widths)  # fmt: skip
        known = dict(zip(self.row_sets, self.row_seed_chunks, strict=False))
        for structure, seed in zip(sets, chunks, strict=True):
            known.setdefault(structure, seed)
        merged = tuple(dict.fromkeys((*self.row_sets, *sets)))
        return replace(self, row_sets=merged,
                       row_seed_chunks=tuple(known.get(s, (1, 1)) for s in merged))  # fmt: skip

    def key(self) -> tuple:
        """The space's content (for the mapping cache). :meth:`for_layers` adds structures
        derived by a rule that :attr:`row_pes` and :attr:`row_widths` fix."""
        return (type(self).__name__, self.structures, self.sizes, self.orders, self.spatial0,
                self.spatial1, self.inner, self.seed_orders, self.seed_tilings,
                self.seed_spatial0, self.row_sets, self.row_seed_chunks, self.row_pes,
                self.row_l1_words, self.row_widths)  # fmt: skip

    def spatials(self, clusters: tuple[int, ...]) -> list[tuple[str, ...]]:
        """Spatial dims of the inner levels: any of :attr:`spatial1` innermost, a plain dim
        (not "YR") different from it above."""
        inner: list[tuple[str, ...]] = [(d,) for d in self.spatial1]
        if len(clusters) == 1:
            return inner
        upper = [d for d in self.spatial1 if d != "YR"]
        return [(u, d) for u in upper for (d,) in inner if u != d]

    def seeds(self) -> list[Point]:
        """The starting points: every structure (clusters, inner spatial dims, level-0 spatial
        dims :attr:`seed_spatial0`; loop orders :attr:`seed_orders`) with two tilings — every
        temporal tile whole, or the inner levels' dims tiled to their sub-unit counts and the
        rest one element."""
        out: list[Point] = []
        for clusters in self.structures:
            for d0, spatial, order in itertools.product(
                self._seed_spatial0(), self.spatials(clusters), self.seed_orders
            ):
                thin = [self.sizes[0]] * 4
                for c, d in zip(clusters, spatial, strict=True):
                    i = TILE_DIMS.index("Y'" if d == "YR" else d)
                    thin[i] = self._nearest(c * (thin[i] if thin[i] > 1 else 1))
                thin[TILE_DIMS.index(d0)] = FULL
                whole = (FULL,) * 4
                for tiles in (tuple(thin), whole)[: self.seed_tilings]:
                    out.append(Point(clusters, d0, self.sizes[0], spatial, order, tiles,
                                     self.inner[0]))  # fmt: skip
        return list(dict.fromkeys(out + self.row_seeds()))

    def row_point(self, clusters: tuple[int, ...], order: str, filters: int, p: int, q: int,
                  images: int = 1) -> Point:  # fmt: skip
        """The row-stationary point of structure ``clusters`` = (t, r, e, R): ``filters`` (m)
        per pass, ``p`` filters x ``q`` channels per PE; the pass's channel tile is q·r and its
        row tile e (:mod:`costmodel.mapper.rs_space`). Level 0 has one unit (the sets fill the
        array), so ``spatial0`` is nominal (C, size 1) and not written."""
        _, r, e, _ = clusters
        tiles = (filters, q * r, e, FULL)
        return Point(clusters, "C", 1, ROW_SPATIAL, order, tiles, ROWS, (p, q), images)

    def row_seeds(self) -> list[Point]:
        """One point per row-stationary structure that spreads its sets over filters only
        (r = 1): p filters x q channels per PE, the grid sizes at most those that fill its
        buffers (:attr:`row_seed_chunks`); per pass the t·p filters on the array at once, or
        every filter (each input read once); one image; the seed order."""
        order = rs_space.SEED_ORDER if rs_space.SEED_ORDER in self.orders else self.orders[0]
        out = []
        for i, c in enumerate(self.row_sets):
            if c[1] == 1:
                p, q = (self._floor(v) for v in self.row_seed_chunks[i]) \
                    if i < len(self.row_seed_chunks) else (1, 1)  # fmt: skip
                out += [self.row_point(c, order, m, p, q) for m in (c[0] * p, FULL)]
        return out

    def _seed_spatial0(self) -> tuple[str, ...]:
        picked = tuple(d for d in self.seed_spatial0 or () if d in self.spatial0)
        return picked or self.spatial0

    def _floor(self, value: int) -> int:
        """The largest grid size at most ``value`` (the smallest size when none is)."""
        return max((s for s in self.sizes if s <= value), default=self.sizes[0])

    def _nearest(self, value: int) -> int:
        return min(self.sizes, key=lambda s: (abs(s - value), s))

    def neighbours(self, p: Point) -> Iterator[Point]:
        """Points one move away: a tile or the spatial chunk one grid step up or down (or to 1
        / whole), another spatial dim at any level, another loop order, inner mode, structure.
        Row-stationary points have their own moves (:meth:`row_neighbours`)."""
        if p.inner == ROWS:
            yield from self.row_neighbours(p)
            return
        sizes = self.sizes
        for i, dim in enumerate(TILE_DIMS):
            if dim == p.spatial0:
                continue
            for s in _steps(sizes, p.tiles[i]):
                yield replace(p, tiles=p.tiles[:i] + (s,) + p.tiles[i + 1 :])
        for s in _steps(sizes, p.spatial0_size):
            yield replace(p, spatial0_size=s)
        for d0 in self.spatial0:
            if d0 != p.spatial0:
                i = TILE_DIMS.index(d0)
                tiles = list(p.tiles)
                tiles[TILE_DIMS.index(p.spatial0)] = p.tiles[i]
                tiles[i] = FULL
                yield replace(p, spatial0=d0, spatial0_size=sizes[0], tiles=tuple(tiles))
        for spatial in self.spatials(p.clusters):
            moved = sum(a != b for a, b in zip(spatial, p.spatial, strict=True))
            if moved == 1:
                yield replace(p, spatial=spatial)
        for order in self.orders:
            if order != p.order:
                yield replace(p, order=order)
        for inner in self.inner:
            if inner != p.inner:
                yield replace(p, inner=inner)
        for clusters in self.structures:
            if clusters != p.clusters and len(clusters) == len(p.clusters):
                yield replace(p, clusters=clusters)

    def row_neighbours(self, p: Point) -> Iterator[Point]:
        """A row-stationary point one move away: filters per pass (m), filters (p) or channels
        (q) per PE a grid step up or down (or to 1 / whole), whole batch or one image per pass,
        another loop order, another structure of the same filter rows
        (:func:`costmodel.mapper.rs_space.structure_moves`)."""
        (fp, q), m = p.chunks, p.tiles[0]
        for s in _steps(self.sizes, m):
            yield self.row_point(p.clusters, p.order, s, fp, q, p.images)
        for s in _steps(self.sizes, fp):
            yield self.row_point(p.clusters, p.order, m, s, q, p.images)
        for s in _steps(self.sizes, q):
            yield self.row_point(p.clusters, p.order, m, fp, s, p.images)
        yield self.row_point(p.clusters, p.order, m, fp, q, FULL if p.images == 1 else 1)
        for order in self.orders:
            if order != p.order:
                yield self.row_point(p.clusters, order, m, fp, q, p.images)
        for clusters in rs_space.structure_moves(p.clusters, self.row_sets):
            yield self.row_point(clusters, p.order, m, fp, q, p.images)

    def enumerate(self, bounds: tuple[int, int, int, int]) -> list[Point]:
        """Every canonical point for a layer whose K, C, Y', X' extents are at most ``bounds``
        (the exhaustive space; sizes at or above a bound are folded into FULL)."""
        per_dim = [self._domain(b) for b in bounds]
        out: dict[Point, None] = {}
        for clusters in self.structures:
            for d0, spatial, order, inner in itertools.product(
                self.spatial0, self.spatials(clusters), self.orders, self.inner
            ):
                i0 = TILE_DIMS.index(d0)
                domains = [[FULL] if i == i0 else per_dim[i] for i in range(4)]
                for s0 in self._chunks(bounds[i0]):
                    for tiles in itertools.product(*domains):
                        out[Point(clusters, d0, s0, spatial, order, tiles, inner)] = None
        for clusters, order, m, fp, q, images in self._row_product(bounds):
            cp = canonical(self.row_point(clusters, order, m, fp, q, images), bounds)
            if cp is not None:
                out[cp] = None
        return list(out)

    def _row_product(self, bounds: tuple[int, int, int, int]):
        """Every row-stationary parameter combination for a layer with these bounds: structure,
        order, filters per pass (canonical tile sizes), chunks p and q (not pruned), N tile."""
        k, c = bounds[0], bounds[1]
        return itertools.product(self.row_sets, self.orders, self._domain(k), self._chunks(k),
                                 self._chunks(c), (1, FULL))  # fmt: skip

    def count(self, bounds: tuple[int, int, int, int]) -> int:
        """Number of canonical points for a layer with these extent bounds (len of
        :meth:`enumerate`, computed without enumerating)."""
        domain = [len(self._domain(b)) for b in bounds]
        tilings = sum(len(self._chunks(bounds[i])) * math.prod(n for j, n in enumerate(domain)
                      if j != i) for i in (TILE_DIMS.index(d) for d in self.spatial0))  # fmt: skip
        structures = sum(len(self.spatials(c)) for c in self.structures)
        rows = len(self.row_sets) * len(self.orders) * 2 * len(self._domain(bounds[0]))
        rows *= len(self._chunks(bounds[0])) * len(self._chunks(bounds[1]))
        return structures * len(self.orders) * len(self.inner) * tilings + rows

    def _domain(self, bound: int) -> list[int]:
        """Canonical temporal tile sizes of a dimension with this bound."""
        return sorted({s if s < bound else FULL for s in self.sizes})

    def _chunks(self, bound: int) -> list[int]:
        """Spatial chunk sizes not pruned by :func:`canonical` (below the bound, or 1)."""
        return [s for s in self.sizes if s < bound or s == 1]


def _steps(sizes: tuple[int, ...], current: int) -> list[int]:
    """Sizes one grid step below and above ``current`` (an off-grid value: the grid sizes
    around it), 1 and whole."""
    if current in sizes:
        i = sizes.index(current)
        below, above = sizes[max(i - 1, 0)], sizes[min(i + 1, len(sizes) - 1)]
    else:
        i = bisect.bisect_left(sizes, current)
        below, above = sizes[max(i - 1, 0)], sizes[min(i, len(sizes) - 1)]
    picks = {below, above, sizes[0], sizes[-1]}
    picks.discard(current)
    return sorted(picks)


def canonical(p: Point, bounds: tuple[int, int, int, int]) -> Point | None:
    """``p`` for one layer: every temporal tile at or above its dimension's bound replaced by
    FULL (the analysis clips a temporal map to its dimension, so these are the same mapping of
    that layer); None when the spatial chunk ``s0`` (> 1) reaches the bound — one unit would
    take the whole dimension, and the analysis does not clip spatial maps, so such points are
    pruned; likewise a row-stationary point whose filters (p) or channels (q) per PE (> 1) reach
    the K or C bound."""
    b0 = bounds[TILE_DIMS.index(p.spatial0)]
    if p.spatial0_size >= b0 and p.spatial0_size != 1:
        return None
    for chunk, b in zip(p.chunks, bounds, strict=False):  # row-stationary p (K), q (C)
        if chunk >= b and chunk != 1:
            return None
    tiles = tuple(t if t < b else FULL for t, b in zip(p.tiles, bounds, strict=True))
    if tiles == p.tiles:
        return p
    return Point(p.clusters, p.spatial0, p.spatial0_size, p.spatial, p.order, tiles, p.inner,  # type: ignore[arg-type]
                 p.chunks, p.images)  # fmt: skip
