"""The ``native`` case machinery, steps 1–3 (the path with ``reuse`` off): MAESTRO's levels
(:mod:`costmodel.levels`, :mod:`costmodel.maestro`) with the ``true_windows`` and ``strides``
windows, per-level constants and per-variant tables (:mod:`costmodel.native`, corrections 1–3)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from costmodel import maestro as M
from costmodel.intmath import ceil0, crem
from costmodel.levels import (
    DIM_COLUMN,
    DIMS,
    PARTNER,
    DataflowPlan,
    LevelGeometry,
    LevelPlan,
)
from costmodel.native_options import NativeOptions
from hardware_db.dataflow import Dataflow

_WINDOW = {"Y": "Y'", "X": "X'"}

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
                if primed is not None and filter_dim is not None and filter_dim not in raw:
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

    sigma: np.ndarray  # (m, rows)
    positions: np.ndarray  # (m, rows) A (pairs for a coupled window map)
    window: np.ndarray  # (m,) bool: Y or X map
    coupled: np.ndarray  # (m,) bool: primary window map whose filter dim is spatial too


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
