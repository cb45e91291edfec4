"""The ``native`` analysis on the loop nest: the ``reuse`` and ``pass_fill`` corrections.

Under ``reuse`` a layer is costed on the loop nest of its directive list
(:mod:`costmodel.loopnest`) instead of MAESTRO's cases, with the tensor traffic of the reuse
analysis (:mod:`costmodel.reuse`):

- **compute**: the busiest PE's MACs, summed over the nest (exact, edge tiles included);
- **pass fill** (``pass_fill``): a processing pass (one iteration of everything outside the
  innermost level's temporal loops) starts by loading every PE's first step tile of I, W and O
  from L2 over the top NoC, as far as the previous pass did not leave it there
  (:func:`~costmodel.reuse.pass_fill_words`): ``latency + ⌈words / bandwidth⌉`` cycles. Without
  ``double_buffered`` the array idles during every fill; with it a fill overlaps the previous
  pass and only what exceeds that pass's compute shows (the first fill always shows);
- **NoC**: the words crossing the top NoC, inbound (I, W, partial-sum reads) and outbound
  (partial-sum and output writes) separately, at its bandwidth; with clusters also the words
  crossing one cluster's inner NoC (``noc_col``; the clusters' total over the level-0 sub-units
  in use, rounded up: the clusters run side by side), in and out, at its bandwidth. The pass
  fill crosses both: ``latency_top + ⌈max(words / B_top, words_col / B_col)⌉ − 1``, its
  per-cluster words scaled like the pass's traffic, plus the inner hop's latency on every fill
  the array waits for in full (the first one; every one without ``double_buffered``; a fill
  issued during the previous pass has that hop pipelined behind it);
- **L1**: a tensor whose step tile does not fit a PE's L1 (``l1_bytes_per_pe``, after the more
  reused tensors) is streamed from L2, one word per use (:func:`~costmodel.reuse.l1_held`):
  more NoC traffic (``l1_spill_words``; ``spill_cycles`` is the NoC time of a layer that
  streams, and its bound is ``l1_spill`` when that NoC time sets the latency);
- **off-chip**: DRAM words (feature maps scaled by ``fmap_compression``) at the off-chip
  bandwidth in words per core cycle (``offchip_clock_hz`` converts a link clock).

On-chip latency = max(compute + exposed fill, NoC in, NoC out); latency = max(on-chip,
off-chip) (DRAM traffic overlapped, as a double-buffered global buffer allows).

Not modelled on this path: L1 holding more than the step tile (the mapping decides what a PE
keeps; a larger L1 does not add reuse the directive list does not ask for) and the busiest
cluster's share beyond the average (edge tiles make clusters unequal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.intmath import ceil_div_bw
from costmodel.loopnest import LoopNest, build_loop_nest
from costmodel.reuse import NestWalk, TensorShapes, pass_fill_words, traffic
from hardware_db.accelerator import Accelerator


@dataclass(frozen=True)
class NestRows:
    """Per-row layer facts for the loop nest (one repetition = one group of ``images``)."""

    repetitions: np.ndarray  # groups analysed one after the other (0: nothing to do)
    images: np.ndarray
    k: np.ndarray
    c: np.ndarray
    out_rows: np.ndarray
    out_cols: np.ndarray
    r: np.ndarray
    s: np.ndarray
    stride: np.ndarray  # (rows, 2)
    input_rows: np.ndarray  # unpadded input rows/columns (what DRAM holds)
    input_cols: np.ndarray
    weights: np.ndarray
    channel_out: np.ndarray


def loop_nest_of(
    rows: NestRows, acc: Accelerator, offsets: np.ndarray | None = None
) -> tuple[LoopNest, TensorShapes]:
    """The loop nest of ``acc.dataflow`` on ``rows`` and the rows' tensor shapes (what
    :func:`nest_costs` costs; also the mapper's capacity check, so both size the same tiles).
    ``offsets``: per-row map offsets (:func:`costmodel.loopnest.build_loop_nest`)."""
    extents = {
        "N": rows.images, "K": rows.k, "C": rows.c, "P": np.maximum(rows.out_rows, 1),
        "Q": np.maximum(rows.out_cols, 1), "R": rows.r, "S": rows.s,
    }  # fmt: skip
    extents = {v: np.asarray(a, np.int64) for v, a in extents.items()}
    nest = build_loop_nest(acc.dataflow, extents, rows.stride, acc.num_pes, offsets)
    shapes = TensorShapes(rows.stride, rows.input_rows, rows.input_cols, rows.weights,
                          rows.channel_out)  # fmt: skip
    return nest, shapes


def nest_costs(
    rows: NestRows,
    acc: Accelerator,
    *,
    pass_fill: bool = True,
    noc_latency: bool = True,
    offchip: bool = True,
    offsets: np.ndarray | None = None,
    footprints: bool = False,
) -> dict[str, np.ndarray]:
    """Latency, bound cycles, access counts and DRAM words of every row (all repetitions);
    ``offsets``: per-row map offsets of ``acc.dataflow`` (:func:`loop_nest_of`). With
    ``footprints`` also, per tensor t, ``pe_<t>`` (one image's PE step tile) and ``chip_<t>``
    (one step of the whole array) in words, for one repetition: the mapper's capacity check
    (:mod:`costmodel.mapper.capacity`) on the same nest."""
    nest, shapes = loop_nest_of(rows, acc, offsets)
    n = len(rows.k)
    l2_words = np.full(n, acc.l2_bytes // acc.word_bytes, np.int64)
    reserved = None
    if acc.l2_weight_bytes is not None:
        reserved = np.full(n, acc.l2_weight_bytes // acc.word_bytes, np.int64)
    l1_words = np.full(n, acc.l1_bytes_per_pe // acc.word_bytes, np.int64)
    walk = NestWalk(nest, shapes)  # tiles and crossings computed once for all of the below
    t = traffic(nest, shapes, l2_words, reserved, multicast=acc.noc_top.multicast,
                l1_words=l1_words, col_multicast=acc.noc_col.multicast, walk=walk)  # fmt: skip
    reps = np.asarray(rows.repetitions, np.int64)

    bw = acc.noc_top.bw_words_per_cycle
    hop = acc.noc_top.latency_cycles if noc_latency else 1
    fill_words = pass_fill_words(nest, shapes, t)
    inbound = t["noc_I"] + t["noc_W"] + t["noc_O_rd"]
    col_in, col_out, fill_col = (np.zeros(n, np.int64),) * 3
    col_hop = 0  # latency of the inner hop (clusters only)
    if nest.level_iterations.shape[1] > 1:  # clusters: each has its own inner NoC
        clusters = np.ones(n, np.int64)
        for loop in nest.loops:
            if not loop.temporal and loop.level == 0:
                clusters = clusters * loop.trips
        clusters = np.maximum(clusters, 1)
        col_in = -(-(t["col_I"] + t["col_W"] + t["col_O_rd"]) // clusters)
        col_out = -(-t["col_O"] // clusters)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(inbound > 0, col_in / inbound.astype(np.float64), 0.0)
        fill_col = np.ceil(fill_words * scale).astype(np.int64)
        col_hop = acc.noc_col.latency_cycles if noc_latency else 0
    bw_col = acc.noc_col.bw_words_per_cycle
    serial = np.maximum(ceil_div_bw(fill_words, bw), ceil_div_bw(fill_col, bw_col))
    fill = np.where(fill_words > 0, hop + serial - 1, 0)
    if not pass_fill:
        fill = np.zeros_like(fill)
    waited = np.where(fill > 0, fill + col_hop, 0)  # a fill the array waits for in full
    per_pass = nest.compute_cycles / nest.passes
    if acc.double_buffered:
        hidden = np.ceil(np.maximum(0.0, fill - per_pass)).astype(np.int64)
        exposed = waited + (nest.passes - 1) * hidden
    else:
        exposed = nest.passes * waited
    compute = nest.compute_cycles + exposed
    top_cycles = np.maximum(ceil_div_bw(inbound, bw), ceil_div_bw(t["noc_O"], bw))
    col_cycles = np.maximum(ceil_div_bw(col_in, bw_col), ceil_div_bw(col_out, bw_col))
    noc = np.maximum(top_cycles, col_cycles)
    onchip = np.maximum(compute, noc)

    ratio_in, ratio_out = acc.fmap_compression
    dram_rd = np.ceil(ratio_in * t["dram_I"] + ratio_out * t["dram_O_rd"]).astype(np.int64)
    dram_rd = dram_rd + t["dram_W"]
    dram_wr = np.ceil(ratio_out * t["dram_O"]).astype(np.int64)
    offchip_cycles = ceil_div_bw(dram_rd + dram_wr, acc.offchip_words_per_core_cycle)
    latency = np.maximum(onchip, offchip_cycles) if offchip else onchip

    macs = nest.computations
    runtimes = [latency] + [
        np.ceil(nest.compute_cycles / nest.level_iterations[:, i]).astype(np.int64)
        for i in range(1, nest.level_iterations.shape[1])
    ]  # level 0's runtime is the latency
    out = {
        "latency_cycles": latency,
        "onchip_cycles": onchip,
        "offchip_cycles": offchip_cycles,
        "compute_cycles": compute,
        "noc_cycles": noc,
        "fill_cycles": exposed,
        "passes": nest.passes,
        "computations": macs,
        "dram_rd": dram_rd,
        "dram_wr": dram_wr,
        "dram_raw_words": t["dram_I"] + t["dram_W"] + t["dram_O"] + t["dram_O_rd"],
        "l2_rd_input": t["noc_I"],
        "l2_rd_weight": t["noc_W"],
        "l2_rd_output": t["noc_O_rd"] + t["dram_O"],
        "l2_wr_input": t["dram_I"],
        "l2_wr_weight": t["dram_W"],
        "l2_wr_output": t["noc_O"] + t["dram_O_rd"],
        "l1_wr_input": t["l1_fill_I"],
        "l1_wr_weight": t["l1_fill_W"],
        "l1_rd_input": macs,
        "l1_rd_weight": np.where(rows.weights, macs, 0),
        "l1_wr_output": macs,
        "l1_rd_output": np.maximum(0, macs - t["noc_O"]),
        "spill_cycles": np.where(t["l1_spill"] > 0, noc, 0),
        "l1_spill_words": t["l1_spill"],
    }
    out = {k: v * reps for k, v in out.items() if k != "passes"} | {"passes": nest.passes * reps}
    out["cluster_runtimes"] = np.stack(runtimes[::-1], axis=1) * reps[:, None]
    out["pes_used"] = nest.pes_used
    if footprints:
        out.update(walk.footprints())
    return out
