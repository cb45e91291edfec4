"""The ``native`` case machinery, steps 4–5 (the path with ``reuse`` off): one level's cases,
loads, L1 spill and NoC delays (corrections ``all_egress``, ``capacity``, ``noc_latency``), the
layer on its levels (:func:`onchip`) and the L2 pass model of the DRAM traffic
(:func:`dram_traffic`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel import maestro as M
from costmodel.intmath import ceil0
from costmodel.levels import LevelGeometry, LevelPlan, plan_dataflow
from costmodel.native_geometry import (
    NativeConstants,
    native_level_constants,
    native_materialise,
    native_variant_tables,
)
from costmodel.native_options import NativeOptions
from costmodel.native_rows import NativeRows
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from rtmm.errors import CostModelError

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
            # spilled words are L2 reads and L1 writes too
            M.accumulate_counts(acc, n, b, lam_i + spill_i, lam_w + spill_w, *reads)
    if counts:
        acc.update(_l2_fills(geom, links, c))
    return acc


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
    flow = without_batch_maps(acc.dataflow)
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


def without_batch_maps(flow: Dataflow) -> Dataflow:
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
