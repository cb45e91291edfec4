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
   a loop above it that indexes the tensor advances; partial sums stay in L2 while they fit; a
   tensor whose step tile does not fit a PE's L1, ``l1_bytes_per_pe``, is streamed from L2, one
   word per use). It replaces ``capacity``'s per-pass refetch and the case machinery's step
   delays: latency = max(compute, NoC in, NoC out, off-chip), the NoC being the top NoC and,
   with clusters, each cluster's inner NoC (``noc_col``), with DRAM feature maps scaled by the
   accelerator's
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

Modules: :mod:`costmodel.native_options` (the options), :mod:`costmodel.native_rows` (layers →
analysed rows), :mod:`costmodel.native_geometry` and :mod:`costmodel.native_cases` (the case
machinery, ``reuse`` off), :mod:`costmodel.native_nest` (the loop nest, ``reuse`` on); this
module runs them, adds L2/DRAM, the bound and energy, and applies the corrections one by one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from costmodel import maestro as M
from costmodel.analyses import register_analysis
from costmodel.batch import LayerBatch
from costmodel.intmath import ceil0, ceil_div_bw
from costmodel.levels import plan_dataflow
from costmodel.native_cases import dram_traffic, onchip, without_batch_maps
from costmodel.native_nest import NestRows, nest_costs
from costmodel.native_options import (
    BOUNDS,
    CORRECTIONS,
    DEFAULT_NATIVE,
    EXTRA_KEYS,
    NativeOptions,
)
from costmodel.native_rows import NativeRows, native_rows
from hardware_db.accelerator import Accelerator
from rtmm.errors import CostModelError
from workloads.layer import Layer

__all__ = [
    "BOUNDS",
    "CORRECTIONS",
    "DEFAULT_NATIVE",
    "EXTRA_KEYS",
    "NativeOptions",
    "NativeRows",
    "analyse_native",
    "correction_deltas",
    "native_rows",
]


def analyse_native(
    batch: LayerBatch | Sequence[Layer] | pd.DataFrame,
    accelerator: Accelerator,
    options: NativeOptions | None = None,
    offsets: np.ndarray | None = None,
    footprints: bool = False,
    rows: NativeRows | None = None,
) -> dict[str, np.ndarray]:
    """The ``native`` analysis of every layer of ``batch`` on ``accelerator`` (per-row arrays).

    The registered entry point (``analysis="native"``); ``options`` defaults to every correction
    on. Returns the keys of :func:`costmodel.maestro.analyse` plus :data:`EXTRA_KEYS`.

    ``offsets`` (rows, len(directives)), optional: per-row map offsets of the accelerator's
    dataflow, so one call costs one directive *structure* under a different tiling per row
    (the mapper's (candidate, layer) pairs; :func:`costmodel.loopnest.build_loop_nest`). Only
    the loop-nest path (``reuse``) reads tiles per row; the case machinery refuses them.
    ``footprints`` (loop-nest path only): also each tensor's PE step tile and array step tile
    in words (:func:`costmodel.native_nest.nest_costs`), for the mapper's capacity check.
    ``rows``: ``native_rows(batch, options)`` when the caller has it (the mapper keeps its
    layers' rows and takes them per call).
    """
    options = options or DEFAULT_NATIVE
    if not isinstance(options, NativeOptions):
        raise CostModelError(
            f"options of type {type(options).__name__}", source="<api>", allowed="NativeOptions"
        )
    batch = LayerBatch.of(batch)
    rows = native_rows(batch, options) if rows is None else rows
    if options.reuse:
        return _analyse_nest(batch, rows, accelerator, options, offsets, footprints)
    if offsets is not None or footprints:
        raise CostModelError(
            "per-row offsets and footprints need the loop-nest path of the native analysis",
            source="<api>",
            field="offsets",
            allowed="NativeOptions with reuse=True (the default), or neither",
        )
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


def nest_rows_of(batch: LayerBatch, options: NativeOptions | None = None) -> NestRows:
    """The loop-nest rows the ``reuse`` path costs for ``batch`` (one analysed convolution per
    layer: per-group / folded channels, true strides and windows, per ``options``)."""
    batch = LayerBatch.of(batch)
    return _nest_rows(batch, native_rows(batch, options or DEFAULT_NATIVE))


def _nest_rows(batch: LayerBatch, rows: NativeRows) -> NestRows:
    _, k, c, y, x, r, s = rows.dims.T
    out_rows = (y - r) // rows.stride[:, 0] + 1
    out_cols = (x - s) // rows.stride[:, 1] + 1
    images = batch.dims[:, 0]
    valid = rows.valid & (out_rows >= 1) & (out_cols >= 1)
    return NestRows(
        repetitions=np.where(valid, rows.dims[:, 0] // images, 0),
        images=images, k=k, c=c, out_rows=out_rows, out_cols=out_cols, r=r, s=s,
        stride=rows.stride, input_rows=np.minimum(batch.dims[:, 3], y),
        input_cols=np.minimum(batch.dims[:, 4], x), weights=rows.weights,
        channel_out=rows.channel_out,
    )  # fmt: skip


_NEST_BOUNDS = np.array(["compute", "noc", "l1_spill", "offchip", "l2_spill"], dtype="<U8")


def _analyse_nest(
    batch: LayerBatch,
    rows: NativeRows,
    acc: Accelerator,
    options: NativeOptions,
    offsets: np.ndarray | None = None,
    footprints: bool = False,
) -> dict[str, np.ndarray]:
    """``reuse``: every row on the loop nest of :mod:`costmodel.native_nest`."""
    _, k, c, y, x, r, s = rows.dims.T
    nest_rows = _nest_rows(batch, rows)
    images, out_rows, out_cols = nest_rows.images, nest_rows.out_rows, nest_rows.out_cols
    if len(batch):
        M._check_dims(np.column_stack([images, k, c, np.maximum(y, r), np.maximum(x, s), r, s]))
    out = nest_costs(nest_rows, acc, pass_fill=options.pass_fill,
                     noc_latency=options.noc_latency, offchip=options.offchip,
                     offsets=offsets, footprints=footprints)  # fmt: skip
    reps = nest_rows.repetitions * images
    out["macs"] = reps * k * c * r * s * np.maximum(out_rows, 0) * np.maximum(out_cols, 0)
    ratio_in, ratio_out = acc.fmap_compression
    compulsory = np.ceil(ratio_in * rows.input_words + ratio_out * rows.output_words)
    compulsory = compulsory.astype(np.int64) + rows.weight_words
    out["l2_refetch_words"] = np.maximum(0, out["dram_rd"] + out["dram_wr"] - compulsory)
    noc_bound = out["noc_cycles"] > out["compute_cycles"]
    # index into _NEST_BOUNDS: compute 0, noc 1, l1_spill 2, offchip 3, l2_spill 4
    code = noc_bound * (1 + (out["l1_spill_words"] > 0))
    if options.offchip:
        spill = ceil_div_bw(compulsory, acc.offchip_words_per_core_cycle) <= out["onchip_cycles"]
        dram = out["offchip_cycles"] > out["onchip_cycles"]
        code = np.where(dram, np.where(spill, 4, 3), code)
    out["bound"] = _NEST_BOUNDS[code]
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
        (0, plan_dataflow(without_batch_maps(acc.dataflow)).num_levels), np.int64
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
