"""The ``native`` analysis: MAESTRO's data-centric method, departures from physics corrected.

Nine corrections, each one field of :class:`NativeOptions` (all on by default, each switchable;
with all of them off the result equals ``maestro`` exactly). :func:`correction_deltas` applies
them cumulatively, in this order, and reports the cost after each one. The first seven correct
MAESTRO's case machinery (:mod:`costmodel.maestro`, :mod:`costmodel.levels`); the last two
replace it by a loop-nest analysis (:mod:`costmodel.native_nest`), which is what the default
``native`` runs and what ``docs/NATIVE_VALIDATION.md`` validates against measured silicon.

1. ``true_windows`` — a map on an output dim Y' (X') of size s' becomes an input window of
   s' + R − 1 rows (the layer's filter extent at that level), not s' + (number of directives) − 1
   (**[Q]** §1 step 1). The temporal edge tile is the remaining *window* ((A rem o) + R − 1 rows,
   not E rem o), spatial tiles are trimmed in the U status too (quirk #1), spatial window maps
   count positions (A) for fits/over and round up the edge round's sub-units, and a level that
   maps a window dim and its filter dim spatially (RS: ``Sp Y; Sp R``) spreads the (output row,
   filter row) pairs over its sub-units. Output tiles use the trimmed window. Result: the
   computation count equals the MACs for dense stride-1 layers; compute energy charges MACs.
2. ``strides`` — layers keep their strides (and padding): windows are (s'−1)·σ + R rows advancing
   σ·o' rows, partial sums per window ⌊(m̂ − R)/σ⌋ + 1. Without it a strided layer is costed as the
   stride-1 "valid" convolution with the same output size (what ``maestro`` does).
3. ``grouped`` — depthwise layers (C/g = K/g = 1), pooling and element-wise layers are costed as
   one layer whose channel dim C is *parallel*: the output is indexed by {C, Y, X}, weights by
   {C, R, S} (none for POOL/ELTWISE), no reduction across channels. Without it they are g (or K)
   sequential repetitions of a one-channel layer. Other grouped layers stay g repetitions of a
   (K/g, C/g) layer, which already has the right tensors.
4. ``all_egress`` — a step's egress is a·Q_out when the sub-units hold different outputs (the
   output has a spatially mapped dim), not Q_out (**[Q]** §4). A spatial map over a reduction dim
   (C, R, a coupled Y/R pair) is reduced in the network and sends one tile.
5. ``capacity`` — buffer capacities. L1: a level-0 sub-unit's per-step working set (full input +
   weight + output tiles, in bytes) is compared with its L1 (l1_bytes_per_pe × PEs per sub-unit);
   the excess words cannot stay resident, so up to that many of the words a step would have reused
   (input first, then weight) are re-read from L2 every step: extra L2 reads, L1 writes and NoC
   ingress (time). L2: when the layer's working set (input + weight + output bytes) exceeds L2,
   the larger of input/weight is tiled into ⌈working set / L2⌉ passes and the smaller one is
   streamed from DRAM once per pass: DRAM reads = I + W + (passes − 1)·min(I, W), writes = O
   (outputs written once). The re-fetched words are L2 writes too.
6. ``offchip`` — DRAM traffic is charged (``EnergyTable.dram_pj`` per word of ``dram_rd`` +
   ``dram_wr``) and bounds the latency: latency = max(on-chip latency, ⌈DRAM words / off-chip
   bandwidth⌉). Without it DRAM energy is ``maestro``'s compulsory L2 fill and there is no bound.
7. ``noc_latency`` — δ(x) = latency_cycles + ⌈x/B⌉ − 1 (0 for x = 0) with each level's own NoC:
   ``noc_top`` feeds level 0 (L2 → clusters), ``noc_col`` every inner level. ``maestro`` fixes
   1 hop × 1 cycle and gives the top bandwidth to the innermost level (**[Q]** §5). The NoC-bound
   share of an inner level's runtime also counts as NoC time in the ``bound`` of the outer level
   (``maestro`` calls an outer step whose delay is the inner runtime compute-bound).
8. ``reuse`` — the layer is costed on the loop nest of its directive list
   (:mod:`costmodel.loopnest`: every map partitions one of N, K, C, P, Q, R, S, so the
   computation count equals the MACs for any layer, stride, group count and mapping, coupled
   window/filter spatial maps included; N may be mapped) with each tensor's DRAM ↔ L2 ↔ L1
   traffic from the reuse analysis of :mod:`costmodel.reuse` (a tile is fetched again only when
   a loop above it that indexes the tensor advances; partial sums stay in L2 while they fit).
   It replaces ``capacity``'s per-pass refetch and the case machinery's step delays: latency =
   max(compute, NoC in, NoC out, off-chip), with DRAM feature maps scaled by the accelerator's
   ``fmap_compression`` and the off-chip bandwidth in words per core cycle
   (``offchip_clock_hz``). ``noc_latency`` and ``offchip`` keep their meaning on this path;
   ``true_windows``/``strides``/``grouped`` only choose how the layer is folded into rows.
9. ``pass_fill`` — each processing pass first loads every PE's first step tile from L2 over the
   top NoC; without ``double_buffered`` the array waits for it every pass, with it only what
   exceeds the previous pass's compute shows.

Outputs (per layer): the keys of :func:`costmodel.maestro.analyse` plus ``dram_rd``/``dram_wr``
(words actually moved, compressed), ``onchip_cycles``, ``offchip_cycles``, ``l1_spill_words``,
``l2_refetch_words`` (DRAM words beyond each tensor once); under ``reuse`` also ``l2_rd_output``
(partial sums read back), ``fill_cycles`` (exposed pass fill), ``passes``, ``dram_raw_words``;
``bound`` ∈ {compute, noc, l1_spill, offchip, l2_spill}; ``energy_pj`` with its breakdown
(``energy_dram_pj`` included); ``energy_nj`` is XRBench's formula on the native counts.
Degenerate layers (no output position) do no work under ``true_windows``/``strides``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from costmodel import maestro as M
from costmodel.batch import LayerBatch
from costmodel.intmath import ceil0, ceil_div_bw, crem
from costmodel.levels import (
    DIM_COLUMN,
    DIMS,
    PARTNER,
    DataflowPlan,
    LevelGeometry,
    LevelPlan,
    plan_dataflow,
)
from costmodel.native_nest import NestRows, nest_costs
from costmodel.table import OPTIONAL_COLUMNS, register_analysis
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from rtmm.errors import CostModelError
from workloads.layer import Layer, OpType

#: The corrections, in the order :func:`correction_deltas` applies them.
CORRECTIONS: tuple[str, ...] = (
    "true_windows",
    "strides",
    "grouped",
    "all_egress",
    "capacity",
    "offchip",
    "noc_latency",
    "reuse",
    "pass_fill",
)
BOUNDS = ("compute", "noc", "l1_spill", "offchip", "l2_spill")
EXTRA_KEYS = OPTIONAL_COLUMNS  # the keys native adds; cost tables carry them as columns
_WINDOW = {"Y": "Y'", "X": "X'"}


@dataclass(frozen=True)
class NativeOptions:
    """The corrections of the ``native`` analysis (module docstring), all on by default.

    ``vector_width`` is MAESTRO's w (compute delay ⌈P/w⌉₀ at the innermost level).
    """

    true_windows: bool = True
    strides: bool = True
    grouped: bool = True
    all_egress: bool = True
    capacity: bool = True
    offchip: bool = True
    noc_latency: bool = True
    reuse: bool = True
    pass_fill: bool = True
    vector_width: int = 1

    def key(self) -> tuple:
        """A hashable content key (for caches)."""
        return (type(self).__name__, *dataclasses.astuple(self))

    @classmethod
    def none(cls, **on: bool) -> NativeOptions:
        """Every correction off (== ``maestro``), except those passed as ``name=True``."""
        return cls(**{**dict.fromkeys(CORRECTIONS, False), **on})

    @classmethod
    def upto(cls, step: int) -> NativeOptions:
        """The first ``step`` corrections of :data:`CORRECTIONS` on, the others off."""
        return cls.none(**dict.fromkeys(CORRECTIONS[:step], True))


DEFAULT_NATIVE = NativeOptions()


# --------------------------------------------------------------------------------------------
# layers → analysed rows


@dataclass(frozen=True)
class NativeRows:
    """The per-layer rows the level machinery costs, and the layer-level tensor sizes.

    ``dims`` (n, 7): repetitions, K, C, Y, X, R, S of one repetition (Y, X in input rows/columns
    actually touched); ``stride`` (n, 2); ``channel_out``: output indexed by C (depthwise fold);
    ``weights``: the layer has a weight tensor; ``valid``: at least one output position.
    Tensor words are the layer's own (unpadded input, true weights and outputs).
    """

    dims: np.ndarray
    stride: np.ndarray
    channel_out: np.ndarray
    weights: np.ndarray
    valid: np.ndarray
    input_words: np.ndarray
    weight_words: np.ndarray
    output_words: np.ndarray


def native_rows(batch: LayerBatch, options: NativeOptions) -> NativeRows:
    """Step 0: each layer as (repetitions × one analysed convolution), per the corrections."""
    if not (options.strides or options.grouped):
        dims = M.maestro_dims(batch)
        ones = np.ones((len(batch), 2), dtype=np.int64)
        return _rows(batch, dims, ones, np.zeros(len(batch), bool), np.ones(len(batch), bool))
    n, k, c, y, x, r, s = (batch.dims[:, i].copy() for i in range(7))
    stride = batch.stride.copy() if options.strides else np.ones_like(batch.stride)
    plain = batch.xrbench & (batch.stride == 1).all(axis=1)
    oy, ox = batch.out_y, batch.out_x
    y = np.where(plain, y, (oy - 1) * stride[:, 0] + r)
    x = np.where(plain, x, (ox - 1) * stride[:, 1] + s)
    g = batch.groups
    per_channel = np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    eltwise = batch.op == OpType.ELTWISE.value
    depthwise = (g > 1) & (c == g) & (k == g)
    fold = options.grouped & (per_channel | depthwise)
    reps = np.where(fold, n, np.where(per_channel, n * k, n * g))
    kk = np.where(fold | per_channel, 1, k // g)
    cc = np.where(fold, k, np.where(per_channel, 1, c // g))
    y = np.where(eltwise, y - r + 1, y)
    x = np.where(eltwise, x - s + 1, x)
    r = np.where(eltwise, 1, r)
    s = np.where(eltwise, 1, s)
    dims = np.column_stack([reps, kk, cc, y, x, r, s]).astype(np.int64)
    weights = ~(options.grouped & per_channel)
    return _rows(batch, dims, stride.astype(np.int64), fold, weights)


def _rows(batch, dims, stride, channel_out, weights) -> NativeRows:
    n, k, c, y, x, r, s = batch.dims.T
    has_w = ~np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    oy, ox = batch.out_y, batch.out_x
    valid = (oy >= 1) & (ox >= 1)
    weight_words = np.where(has_w, k * (c // batch.groups) * r * s, 0)
    return NativeRows(
        dims=dims,
        stride=stride,
        channel_out=np.asarray(channel_out, bool),
        weights=np.asarray(weights, bool),
        valid=valid,
        input_words=n * c * y * x,
        weight_words=weight_words.astype(np.int64),
        output_words=n * k * np.maximum(oy, 0) * np.maximum(ox, 0),
    )


# --------------------------------------------------------------------------------------------
# step 1: levels with true windows and strides


def native_materialise(
    plan: DataflowPlan,
    dataflow: Dataflow,
    dims: np.ndarray,
    stride: np.ndarray,
    num_pes: np.ndarray,
    options: NativeOptions,
) -> tuple[LevelGeometry, ...]:
    """:func:`costmodel.levels.materialise` with the output-dim windows of ``true_windows``
    ((s'−1)·σ + R rows) and ``strides`` (offset o'·σ); identical to it with both off."""
    rows = dims.shape[0]
    extents = {v: dims[:, DIM_COLUMN[v]].astype(np.int64) for v in DIMS}
    sigma = {"Y": stride[:, 0], "X": stride[:, 1]}
    units0 = np.asarray(num_pes, dtype=np.int64) // np.int64(plan.cluster_product)
    out: list[LevelGeometry] = []
    parent: LevelGeometry | None = None
    for level, written in zip(plan.levels, dataflow.levels, strict=True):
        raw = {d.dim: d for d in written}
        sizes = np.empty((len(level.slots), rows), dtype=np.int64)
        offsets = np.empty_like(sizes)
        for i, slot in enumerate(level.slots):
            if slot.origin == "written":
                sizes[i], offsets[i] = slot.size, slot.offset
                primed = raw.get(_WINDOW.get(slot.dim, ""))
                filter_dim = PARTNER.get(slot.dim)
                if primed is not None and filter_dim not in raw:
                    sizes[i], offsets[i] = _window(primed, slot, sigma[slot.dim],
                                                   extents[filter_dim], options)  # fmt: skip
            elif slot.origin == "inherited":
                assert parent is not None
                sizes[i], offsets[i] = parent.sizes[slot.parent], parent.offsets[slot.parent]
            else:
                sizes[i], offsets[i] = extents[slot.dim], extents[slot.dim]
        units = units0 if level.index == 0 else np.full(rows, level.cluster_size, np.int64)
        geometry = LevelGeometry(level, sizes, offsets, extents, units)
        out.append(geometry)
        extents = {v: np.minimum(sizes[level.slot_of[v]], extents[v]) for v in DIMS}
        parent = geometry
    return tuple(out)


def _window(primed, slot, sigma, filter_extent, options):
    """Input rows and advance of a written Y'/X' map (size s', offset o')."""
    f = filter_extent if options.true_windows else slot.size - primed.size + 1
    return (primed.size - 1) * sigma + f, primed.offset * sigma


# --------------------------------------------------------------------------------------------
# step 2: per-level constants


@dataclass(frozen=True)
class NativeConstants(M.LevelConstants):
    """:class:`costmodel.maestro.LevelConstants` plus the per-map stride σ, positions A and
    which maps are (coupled) window maps."""

    sigma: np.ndarray = None  # (m, rows)
    positions: np.ndarray = None  # (m, rows) A (pairs for a coupled window map)
    window: np.ndarray = None  # (m,) bool: Y or X map
    coupled: np.ndarray = None  # (m,) bool: primary window map whose filter dim is spatial too


def native_level_constants(
    geom: LevelGeometry, stride: np.ndarray, options: NativeOptions
) -> NativeConstants:
    """§2 with the ``true_windows`` position rules (== ``maestro.level_constants`` when off)."""
    base = M.level_constants(geom)
    plan, tw = geom.plan, options.true_windows
    s, o, n, sp = base.size, base.offset, base.units, base.spatial[:, None]
    window = np.array([slot.dim in ("Y", "X") for slot in plan.slots])
    coupled = np.zeros(len(plan.slots), dtype=bool)
    absorbed = np.zeros(len(plan.slots), dtype=bool)  # the filter map of a coupled pair
    u = plan.primary
    if tw and u >= 0 and window[u]:
        f = plan.slot_of[PARTNER[plan.slots[u].dim]]
        coupled[u] = absorbed[f] = plan.slots[f].spatial
    sigma = np.ones_like(s)
    positions = base.extent.copy()
    for i, slot in enumerate(plan.slots):
        if window[i]:
            sigma[i] = stride[:, 0] if slot.dim == "Y" else stride[:, 1]
            partner = geom.extents[PARTNER[slot.dim]]
            positions[i] = base.extent[i] - partner + 1
            if coupled[i]:
                positions[i] = ceil0(positions[i], sigma[i]) * partner
    extra = dict(sigma=sigma, positions=positions, window=window, coupled=coupled)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    if not tw or plan.primary < 0:
        return NativeConstants(**fields, **extra)
    by_positions = sp & window[:, None]
    cmp = np.where(by_positions, positions, base.extent)
    span = o * n
    covered = np.where(coupled[:, None], (n - 1) * o + s >= cmp, base.covered)
    fits = np.where(sp, span >= cmp, s >= cmp)
    over = np.where(sp, span > cmp, s > cmp)
    # the pairs of a coupled map include the filter rows: its filter map does not iterate
    covered, fits = covered | absorbed[:, None], fits | absorbed[:, None]
    over = over & ~absorbed[:, None]
    counted = np.where(window[:, None], positions, base.extent)  # A, or the pairs if coupled
    rem_u = crem(counted[u], span[u])
    edge_sp = rem_u != 0
    rounds = ceil0(counted, span)
    steady = np.where(sp, np.where(covered, 0, rounds - 1 - edge_sp), base.steady)
    edge = np.where(sp, edge_sp[None, :] & ~fits, base.edge != 0)
    fields.update(
        covered=covered,
        fits=fits,
        over=over,
        steady=steady.astype(np.int64),
        edge=edge.astype(np.int64),
        edge_units=np.where(edge_sp, ceil0(rem_u, o[u]), 1).astype(np.int64),  # rounded up
        primary_over=over[u],
    )
    return NativeConstants(**fields, **extra)


# --------------------------------------------------------------------------------------------
# step 3: per-variant tables


def native_variant_tables(
    plan: LevelPlan, c: NativeConstants, channel_out: np.ndarray, options: NativeOptions
) -> M.VariantTables:
    """Tiles, partial sums and outputs per variant (== ``maestro.variant_tables`` when the
    corrections are off). ``channel_out`` (rows,) marks the depthwise fold (output by C)."""
    tw, fold = options.true_windows, options.grouped
    if not tw and not np.any(c.sigma != 1) and not (fold and channel_out.any()):
        return M.variant_tables(plan, c)
    s, o, e, sp = c.size, c.offset, c.extent, c.spatial[:, None]
    win = c.window[:, None]
    rem = crem(e, o)
    partner = c.partner_size
    if tw:  # the edge step's window: the remaining positions, rounded to σ, plus the filter
        left = crem(c.positions, o)
        left_tile = (ceil0(left, c.sigma) - 1) * c.sigma + partner
        rem = np.where(win & (left != 0), left_tile, rem)
    t_first = np.where(c.over, e, s)
    t_tile = np.stack([t_first, s, rem, t_first], axis=1)
    trim = np.where(e < s, e, s)
    if tw:
        last = crem(c.positions, o)
        last_tile = np.where(win, (ceil0(last, c.sigma) - 1) * c.sigma + partner, last)
        trim_edge = np.where(e < s, e, np.where(last == 0, s, last_tile))
        trim_edge = np.where(c.coupled[:, None], s, trim_edge)
        resident = np.where(c.over, trim, s)  # quirk #1 corrected: U is trimmed too
    else:
        trim_edge = np.where(e < s, e, np.where(rem == 0, s, rem))
        resident = s
    sp_tile = np.stack([np.where(c.over, trim, s), s, trim, resident], axis=1)
    resident_edge = np.where(c.over, trim_edge, s) if tw else s
    sp_tile_edge = np.stack([np.where(c.over, trim_edge, s), s, trim_edge, resident_edge], axis=1)
    tile = np.where(sp[:, None, :], sp_tile, t_tile)
    tile_edge = np.where(sp[:, None, :], sp_tile_edge, t_tile)
    psum, psum_edge, outputs = tile.copy(), tile_edge.copy(), np.ones_like(tile)
    for i, slot in enumerate(plan.slots):
        s_i, s_pi, sig = s[i][None, :], partner[i][None, :], c.sigma[i][None, :]
        if slot.dim in ("R", "S"):
            psum[i] = psum_edge[i] = s_i
        elif slot.dim in ("Y", "X"):
            psum[i] = np.maximum(1, (tile[i] - s_pi) // sig + 1)
            psum_edge[i] = np.maximum(1, (tile_edge[i] - s_pi) // sig + 1)
            nominal = np.where(s_i < s_pi, tile[i], s_i - s_pi + 1)
            outputs[i] = psum[i] if tw else nominal
        elif slot.dim == "K":
            outputs[i] = tile[i]
        elif slot.dim == "C" and fold:
            outputs[i] = np.where(channel_out[None, :], tile[i], 1)
    base = M.variant_tables(plan, c)
    return M.VariantTables(base.count, psum, psum_edge, outputs, base.units)


# --------------------------------------------------------------------------------------------
# step 4: one level (cases, loads, spill, delays, counts)


@dataclass(frozen=True)
class LevelLinks:
    """Per-row context of one level: its NoC (bandwidth, latency), the layer's flags and, at
    level 0 under ``capacity``, the words of a sub-unit's working set that do not fit its L1."""

    bw: np.ndarray
    latency: np.ndarray | None  # None: maestro's 1 hop x 1 cycle
    stride: np.ndarray
    channel_out: np.ndarray
    weights: np.ndarray
    l1_words: np.ndarray | None  # L1 words of one level-0 sub-unit (None: no capacity check)
    word_bytes: int = 1


def noc_delay(words: np.ndarray, links: LevelLinks) -> np.ndarray:
    """δ(x): ``maestro``'s ⌈x/B⌉ (1 hop × 1 cycle) or, under ``noc_latency``, latency + ⌈x/B⌉ − 1,
    0 for x ≤ 0 in both."""
    if links.latency is None:
        return ceil0(words, links.bw)
    return np.where(words > 0, links.latency + ceil0(words, links.bw) - 1, 0)


def _output_spread(plan: LevelPlan, c: NativeConstants, links: LevelLinks) -> np.ndarray:
    """(rows,) whether the level's sub-units hold different outputs (a spatial output dim)."""
    spread = np.zeros(links.bw.shape, dtype=bool)
    for i, slot in enumerate(plan.slots):
        if not slot.spatial or c.coupled[i]:
            continue
        if slot.dim in ("K", "Y", "X"):
            spread[:] = True
        elif slot.dim == "C":
            spread |= links.channel_out
    return spread


def l1_spill(
    plan: LevelPlan,
    c: NativeConstants,
    tables: M.VariantTables,
    links: LevelLinks,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: full input and weight tiles of a level-0 sub-unit and the words of its per-step
    working set beyond its L1 (0 without a capacity check)."""
    full_i, _ = M.full_tile(plan, c, "I")
    full_w, _ = M.full_tile(plan, c, "W")
    full_w = np.where(links.weights, full_w, 0)
    if links.l1_words is None:
        return full_i, full_w, np.zeros_like(full_i)
    out_tile = np.prod(tables.outputs[:, 1, :], axis=0)  # nominal (steady) output tile
    excess = np.maximum(0, full_i + full_w + out_tile - links.l1_words)
    return full_i, full_w, excess


def native_evaluate_level(
    geom: LevelGeometry,
    links: LevelLinks,
    inner_runtime: np.ndarray | None,
    options: NativeOptions,
    *,
    counts: bool = False,
    inner_noc_share: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``maestro.evaluate_level`` with the corrections: runtime Rt_ℓ, bound cycles and (level 0)
    the access counts including the L1 spill re-reads."""
    plan = geom.plan
    c = native_level_constants(geom, links.stride, options)
    tables = native_variant_tables(plan, c, links.channel_out, options)
    rows = geom.units.shape[0]
    full_i, full_w, excess = l1_spill(plan, c, tables, links)
    spread = _output_spread(plan, c, links) if options.all_egress else np.zeros(rows, bool)
    keys = ("runtime", "compute_cycles", "noc_cycles", "spill_cycles", "l1_spill_words")
    acc = {k: np.zeros(rows, dtype=np.int64) for k in keys}
    if counts:
        acc.update({k: np.zeros(rows, dtype=np.int64) for k in M.ACCESS_COUNTS + ("computations",)})
    for pos in M._blocks(M.live_cases(plan, c), rows):
        b = M.case_work(plan, c, tables, pos)
        n = np.where(b.psum == 0, 0, b.count)
        lam_i, _, tau_i = M.case_loads(plan, c, b, "I")
        lam_w, _, tau_w = M.case_loads(plan, c, b, "W")
        lam_w, tau_w = lam_w * links.weights, tau_w * links.weights
        spill_i = np.minimum(excess, np.maximum(0, full_i - lam_i))  # input evicted first
        spill_w = np.minimum(excess - spill_i, np.maximum(0, full_w - lam_w))
        spilled = b.units * (spill_i + spill_w)
        compute = ceil0(b.psum, options.vector_width)
        if inner_runtime is not None:
            compute = np.where(inner_runtime[None, :] != 0, inner_runtime[None, :], compute)
        egress = noc_delay(np.where(spread, b.units * b.outputs, b.outputs), links)
        noc_plain = np.maximum(noc_delay(tau_i + tau_w, links), egress)
        noc = np.maximum(noc_delay(tau_i + tau_w + spilled, links), egress)
        weighted = n * np.maximum(compute, noc)
        acc["runtime"] += weighted.sum(axis=0)
        by_compute = compute >= noc
        by_spill = ~by_compute & (noc_plain <= compute)
        inner_noc = 0
        if inner_noc_share is not None:  # an inner level's NoC time is NoC time here too
            inner_noc = np.rint(weighted * inner_noc_share[None, :]).astype(np.int64)
        acc["compute_cycles"] += np.where(by_compute, weighted - inner_noc, 0).sum(axis=0)
        acc["noc_cycles"] += np.where(by_compute, inner_noc, 0).sum(axis=0)
        acc["spill_cycles"] += np.where(by_spill, weighted, 0).sum(axis=0)
        acc["noc_cycles"] += np.where(~by_compute & ~by_spill, weighted, 0).sum(axis=0)
        acc["l1_spill_words"] += (n * spilled).sum(axis=0)
        if counts:
            reads = (tau_i + b.units * spill_i, tau_w + b.units * spill_w)
            _accumulate_counts(acc, n, b, lam_i + spill_i, lam_w + spill_w, *reads)
    if counts:
        acc.update(_l2_fills(geom, links, c))
    return acc


def _accumulate_counts(acc, n, b, lam_i, lam_w, tau_i, tau_w) -> None:
    """§6 level-0 counts of one block of cases (spilled words are L2 reads and L1 writes)."""
    na = n * b.units
    nap = (na * b.psum).sum(axis=0)
    acc["l2_rd_input"] += (n * tau_i).sum(axis=0)
    acc["l2_rd_weight"] += (n * tau_w).sum(axis=0)
    acc["l1_wr_input"] += (na * lam_i).sum(axis=0)
    acc["l1_wr_weight"] += (na * lam_w).sum(axis=0)
    acc["l1_rd_input"] += nap
    acc["l1_rd_weight"] += nap
    acc["l1_wr_output"] += (n * b.psum).sum(axis=0)
    acc["l1_rd_output"] += (n * (b.psum - 1)).sum(axis=0)
    acc["computations"] += (n * ((b.units - 1) * b.psum + b.psum_edge)).sum(axis=0)


def _l2_fills(geom: LevelGeometry, links: LevelLinks, c: NativeConstants) -> dict:
    """Each tensor of one repetition written into L2 once (signed, as ``maestro``)."""
    k, cc, y, x, r, s = (geom.extents[v] for v in ("K", "C", "Y", "X", "R", "S"))
    oy = (y - r) // links.stride[:, 0] + 1
    ox = (x - s) // links.stride[:, 1] + 1
    return {
        "l2_wr_input": cc * y * x,
        "l2_wr_weight": k * cc * r * s * links.weights,
        "l2_wr_output": np.where(links.channel_out, cc, k) * oy * ox,
    }


# --------------------------------------------------------------------------------------------
# step 5: the layer on the levels, then L2/DRAM, off-chip bound and energy


def _links(acc: Accelerator, rows: NativeRows, index: int, depth: int, options: NativeOptions,
           l1_words: np.ndarray | None) -> LevelLinks:  # fmt: skip
    n = rows.dims.shape[0]
    if options.noc_latency:
        noc = acc.noc_top if index == 0 else acc.noc_col
        bw, latency = noc.bw_words_per_cycle, np.full(n, noc.latency_cycles, np.int64)
    else:  # [Q] the top bandwidth feeds the innermost level
        noc = acc.noc_top if index == depth - 1 else acc.noc_col
        bw, latency = noc.bw_words_per_cycle, None
    return LevelLinks(
        bw=np.full(n, bw, np.int64),
        latency=latency,
        stride=rows.stride,
        channel_out=rows.channel_out,
        weights=rows.weights,
        l1_words=l1_words if index == 0 else None,
        word_bytes=acc.word_bytes,
    )


def onchip(rows: NativeRows, acc: Accelerator, options: NativeOptions) -> dict[str, np.ndarray]:
    """The levels, innermost first, on one repetition of every row (unique rows costed once)."""
    flow = _without_batch_maps(acc.dataflow)
    plan = plan_dataflow(flow)
    if acc.num_pes < plan.cluster_product:
        raise CostModelError(
            f"the Cluster sizes multiply to {plan.cluster_product} > num_pes = {acc.num_pes}",
            source=f"dataflow '{plan.name}'",
            allowed=f"num_pes >= {plan.cluster_product}",
        )
    depth = plan.num_levels
    unit_dims = rows.dims.copy()
    unit_dims[:, 0] = 1
    pes = np.full(len(unit_dims), acc.num_pes, np.int64)
    geoms = native_materialise(plan, flow, unit_dims, rows.stride, pes, options)
    l1_words = None
    if options.capacity:
        pes_per_unit = plan.cluster_product
        l1_words = np.full(len(unit_dims), acc.l1_bytes_per_pe * pes_per_unit // acc.word_bytes)
    inner, share, runtimes, level0 = None, None, [], {}
    for index in reversed(range(depth)):
        links = _links(acc, rows, index, depth, options, l1_words)
        level = native_evaluate_level(
            geoms[index], links, inner, options, counts=index == 0, inner_noc_share=share
        )
        inner = level["runtime"]
        if options.noc_latency:
            share = level["noc_cycles"] / np.maximum(inner, 1)
        runtimes.append(inner)
        level0 = level
    out = {k: v for k, v in level0.items() if k != "runtime"}
    out["latency_cycles"] = level0["runtime"]
    out["cluster_runtimes"] = np.stack(runtimes, axis=1)
    out["pes_used"] = np.prod(np.stack([g.units for g in geoms]), axis=0)
    return out


def _without_batch_maps(flow: Dataflow) -> Dataflow:
    """MAESTRO's cases cannot map N: its maps are dropped (images run one after the other)."""
    if all(d.dim != "N" for d in flow.directives):
        return flow
    return Dataflow(flow.name, tuple(d for d in flow.directives if d.dim != "N"))


def dram_traffic(
    rows: NativeRows, acc: Accelerator, options: NativeOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DRAM reads, writes (words) and the re-fetched words of the L2 model (module docstring)."""
    i, w, o = rows.input_words, rows.weight_words, rows.output_words
    refetch = np.zeros_like(i)
    if options.capacity:
        ws_bytes = (i + w + o) * acc.word_bytes
        passes = np.maximum(1, ceil0(ws_bytes, acc.l2_bytes))
        refetch = (passes - 1) * np.minimum(i, w)
    return i + w + refetch, o, refetch


def analyse_native(
    batch: LayerBatch | Sequence[Layer] | pd.DataFrame,
    accelerator: Accelerator,
    options: NativeOptions | None = None,
) -> dict[str, np.ndarray]:
    """The ``native`` analysis of every layer of ``batch`` on ``accelerator`` (per-row arrays).

    The registered entry point (``analysis="native"``); ``options`` defaults to every correction
    on. Returns the keys of :func:`costmodel.maestro.analyse` plus :data:`EXTRA_KEYS`.
    """
    options = options or DEFAULT_NATIVE
    if not isinstance(options, NativeOptions):
        raise CostModelError(
            f"options of type {type(options).__name__}", source="<api>", allowed="NativeOptions"
        )
    batch = LayerBatch.of(batch)
    rows = native_rows(batch, options)
    if options.reuse:
        return _analyse_nest(batch, rows, accelerator, options)
    corrected = options.true_windows or options.strides
    live = np.where(corrected & ~rows.valid, 0, rows.dims[:, 0])
    analysed = rows.dims.copy()
    analysed[:, 0] = 1
    if corrected:  # a layer without output positions: cost a 1x1 output, zero repetitions
        analysed[:, 3] = np.where(rows.valid, analysed[:, 3], analysed[:, 5])
        analysed[:, 4] = np.where(rows.valid, analysed[:, 4], analysed[:, 6])
    if len(batch):
        M._check_dims(analysed)
    key = np.column_stack([analysed[:, 1:], rows.stride, rows.channel_out, rows.weights])
    unique, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    sub = dataclasses.replace(
        rows, **{f.name: getattr(rows, f.name)[first] for f in dataclasses.fields(rows)}
    )
    sub = dataclasses.replace(sub, dims=analysed[first])
    result = onchip(sub, accelerator, options) if len(batch) else _empty(accelerator)
    out = {k: v[inverse.reshape(-1)] for k, v in result.items()}
    return _finish(out, batch, rows, live, accelerator, options)


def _analyse_nest(
    batch: LayerBatch, rows: NativeRows, acc: Accelerator, options: NativeOptions
) -> dict[str, np.ndarray]:
    """``reuse``: every row on the loop nest of :mod:`costmodel.native_nest`."""
    _, k, c, y, x, r, s = rows.dims.T
    out_rows = (y - r) // rows.stride[:, 0] + 1
    out_cols = (x - s) // rows.stride[:, 1] + 1
    images = batch.dims[:, 0]
    valid = rows.valid & (out_rows >= 1) & (out_cols >= 1)
    nest_rows = NestRows(
        repetitions=np.where(valid, rows.dims[:, 0] // images, 0),
        images=images, k=k, c=c, out_rows=out_rows, out_cols=out_cols, r=r, s=s,
        stride=rows.stride, input_rows=np.minimum(batch.dims[:, 3], y),
        input_cols=np.minimum(batch.dims[:, 4], x), weights=rows.weights,
        channel_out=rows.channel_out,
    )  # fmt: skip
    if len(batch):
        M._check_dims(np.column_stack([images, k, c, np.maximum(y, r), np.maximum(x, s), r, s]))
    out = nest_costs(nest_rows, acc, pass_fill=options.pass_fill,
                     noc_latency=options.noc_latency, offchip=options.offchip)  # fmt: skip
    reps = nest_rows.repetitions * images
    out["macs"] = reps * k * c * r * s * np.maximum(out_rows, 0) * np.maximum(out_cols, 0)
    ratio_in, ratio_out = acc.fmap_compression
    compulsory = np.ceil(ratio_in * rows.input_words + ratio_out * rows.output_words)
    compulsory = compulsory.astype(np.int64) + rows.weight_words
    out["l2_refetch_words"] = np.maximum(0, out["dram_rd"] + out["dram_wr"] - compulsory)
    bound = np.where(out["noc_cycles"] > out["compute_cycles"], "noc", "compute")
    if options.offchip:
        spill = ceil_div_bw(compulsory, acc.offchip_words_per_core_cycle) <= out["onchip_cycles"]
        dram = out["offchip_cycles"] > out["onchip_cycles"]
        bound = np.where(dram, np.where(spill, "l2_spill", "offchip"), bound)
    out["bound"] = bound.astype("<U8")
    with np.errstate(divide="ignore", invalid="ignore"):
        util = out["macs"] / (out["latency_cycles"].astype(np.float64) * acc.num_pes)
    out["utilisation"] = np.where(out["latency_cycles"] > 0, util, 0.0)
    out.update(_energy(out, acc, options))
    return out


def _empty(acc: Accelerator) -> dict[str, np.ndarray]:
    z = np.zeros(0, dtype=np.int64)
    keys = ("latency_cycles", "pes_used", "computations", *M.ACCESS_COUNTS, "compute_cycles",
            "noc_cycles", "spill_cycles", "l1_spill_words")  # fmt: skip
    out = dict.fromkeys(keys, z)
    out["cluster_runtimes"] = np.zeros(
        (0, plan_dataflow(_without_batch_maps(acc.dataflow)).num_levels), np.int64
    )
    return out


def _finish(out, batch, rows, reps, acc, options) -> dict[str, np.ndarray]:
    """Repetitions, MACs, L2/DRAM, the off-chip bound, the dominating bound and energy."""
    scaled = ("latency_cycles", "computations", *M.ACCESS_COUNTS, "compute_cycles",
              "noc_cycles", "spill_cycles", "l1_spill_words")  # fmt: skip
    for k in scaled:
        out[k] = out[k] * reps
    out["cluster_runtimes"] = out["cluster_runtimes"] * reps[:, None]
    _, k, c, y, x, r, s = rows.dims.T
    oy = (y - r) // rows.stride[:, 0] + 1
    ox = (x - s) // rows.stride[:, 1] + 1
    out["macs"] = np.where(options.true_windows | options.strides,
                           reps * k * c * r * s * np.maximum(oy, 0) * np.maximum(ox, 0),
                           rows.dims[:, 0] * k * c * r * s * oy * ox)  # fmt: skip
    dram_rd, dram_wr, refetch = dram_traffic(rows, acc, options)
    smaller_is_input = rows.input_words <= rows.weight_words
    out["l2_wr_input"] = out["l2_wr_input"] + np.where(smaller_is_input, refetch, 0)
    out["l2_wr_weight"] = out["l2_wr_weight"] + np.where(smaller_is_input, 0, refetch)
    out["dram_rd"], out["dram_wr"], out["l2_refetch_words"] = dram_rd, dram_wr, refetch
    onchip_cycles = out["latency_cycles"]
    out["onchip_cycles"] = onchip_cycles
    bw = acc.offchip_bw_words_per_cycle
    out["offchip_cycles"] = ceil0(dram_rd + dram_wr, bw)
    if options.offchip:
        out["latency_cycles"] = np.maximum(onchip_cycles, out["offchip_cycles"])
    out["bound"] = _bound(out, ceil0(dram_rd + dram_wr - refetch, bw), options)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = out["macs"] / (out["latency_cycles"].astype(np.float64) * acc.num_pes)
    out["utilisation"] = np.where(out["latency_cycles"] > 0, util, 0.0)
    out.update(_energy(out, acc, options))
    return out


def _bound(out: dict, compulsory_cycles: np.ndarray, options: NativeOptions) -> np.ndarray:
    """compute / noc / l1_spill by level-0 cycles; offchip / l2_spill when DRAM sets the latency."""
    cycles = np.stack([out["compute_cycles"], out["noc_cycles"], out["spill_cycles"]])
    bound = np.array(BOUNDS[:3])[np.argmax(cycles, axis=0)]
    if options.offchip:
        dram = out["offchip_cycles"] > out["onchip_cycles"]
        spill = compulsory_cycles <= out["onchip_cycles"]
        bound = np.where(dram, np.where(spill, "l2_spill", "offchip"), bound)
    return bound.astype("<U8")


def _energy(out: dict, acc: Accelerator, options: NativeOptions) -> dict[str, np.ndarray]:
    """``maestro``'s energy on the native counts; compute charges MACs under ``true_windows``;
    DRAM charges ``dram_rd + dram_wr`` under ``offchip``."""
    table = acc.energy
    if options.true_windows and table.charges_maestro_computations:
        table = dataclasses.replace(table, charges_maestro_computations=False)
    energy = M.access_energy(out, table)
    if options.true_windows:
        nc = out["computations"].astype(np.float64)
        energy["energy_nj"] = energy["energy_nj"] + M.XRBENCH_MAC_NJ * (out["macs"] - nc)
    if "l2_rd_output" in out:  # partial sums read back from L2 (the loop nest counts them)
        psum_reads = out["l2_rd_output"].astype(np.float64)
        energy["energy_l2_pj"] = energy["energy_l2_pj"] + table.l2_pj * psum_reads
        energy["energy_nj"] = (
            energy["energy_nj"] + M.XRBENCH_MAC_NJ * M.XRBENCH_L2_FACTOR * psum_reads
        )
    if options.offchip:
        energy["energy_dram_pj"] = table.dram_pj * (out["dram_rd"] + out["dram_wr"]).astype(float)
    energy["energy_pj"] = sum(energy[f"energy_{p}_pj"] for p in M.ENERGY_PARTS)
    return energy


# --------------------------------------------------------------------------------------------
# the corrections one by one


def correction_deltas(
    layers: Sequence[Layer] | pd.DataFrame | LayerBatch,
    accelerator: Accelerator,
    options: NativeOptions = DEFAULT_NATIVE,
) -> pd.DataFrame:
    """Latency and energy of ``layers`` (summed) after each correction, applied cumulatively.

    Row 0 (``step = "maestro"``) has every correction off and equals the ``maestro`` analysis;
    row i adds correction i of :data:`CORRECTIONS`; the last row is the full ``native`` result
    (``options`` supplies ``vector_width``). Columns: step, latency_cycles, energy_pj, energy_nj,
    computations, macs, dram_words, their deltas against the previous row and the latency and
    energy relative to ``maestro``.
    """
    batch = LayerBatch.of(layers)
    records = []
    for step in range(len(CORRECTIONS) + 1):
        opts = dataclasses.replace(NativeOptions.upto(step), vector_width=options.vector_width)
        r = analyse_native(batch, accelerator, opts)
        records.append({
            "step": CORRECTIONS[step - 1] if step else "maestro",
            "latency_cycles": int(r["latency_cycles"].sum()),
            "energy_pj": float(r["energy_pj"].sum()),
            "energy_nj": float(r["energy_nj"].sum()),
            "computations": int(r["computations"].sum()),
            "macs": int(r["macs"].sum()),
            "dram_words": int((r["dram_rd"] + r["dram_wr"]).sum()),
        })  # fmt: skip
    frame = pd.DataFrame(records)
    for column in ("latency_cycles", "energy_pj"):
        frame[f"delta_{column}"] = frame[column].diff().fillna(0).astype(frame[column].dtype)
        base = frame[column].iloc[0]
        frame[f"{column}_vs_maestro"] = frame[column] / base if base else np.nan
    return frame


register_analysis("native", analyse_native)
