"""The ``maestro`` analysis: MAESTRO's per-layer cost model as XRBench uses it, vectorised.

Implements the method described in ``docs/MAESTRO_METHOD.md`` (whose section numbers the steps
below cite), MAESTRO's quirks (**[Q]**) included, over many (layer, accelerator) rows at once.
The level structure depends only on the dataflow (:mod:`costmodel.levels`); everything else is
int64 arithmetic per row with C-like division (:mod:`costmodel.intmath`). The recipe, as named
steps a variant analysis can reuse or override:

1. :func:`~costmodel.levels.plan_dataflow`, :func:`~costmodel.levels.materialise` — the levels;
2. :func:`level_constants` — per-map steps, tails, coverage, spatial edge (§2);
3. :func:`live_cases` — the 3^m position vectors that can occur, and their counts N (§3);
4. :func:`case_work` — active sub-units, effective tiles, partial sums, outputs (§4);
5. :func:`case_loads` — per-sub-unit tensor loads (reuse) and NoC traffic (§4);
6. :func:`evaluate_level` — step delays under double buffering, level runtime (§5) and, at level 0,
   the access counts (§6);
7. :func:`access_energy` — XRBench's energy and a breakdown by an :class:`EnergyTable`.

:func:`analyse` is the entry point: ``dims`` ``(rows, 7)`` of N,K,C,Y,X,R,S plus per-row PE counts
and NoC bandwidths in, a dict of per-row arrays out. Identical rows are costed once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.intmath import cdiv, ceil0, ceil_div_bw, crem
from costmodel.levels import (
    PARTNER,
    DataflowPlan,
    LevelGeometry,
    LevelPlan,
    materialise,
    plan_dataflow,
)
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from hardware_db.energy import PRESETS as ENERGY_PRESETS
from hardware_db.energy import EnergyTable
from rtmm.errors import CostModelError
from workloads.layer import OpType

#: XRBench's energy formula: nJ = E_MAC · (NC + 0.55·L1 + 6.0·L2).
XRBENCH_MAC_NJ = 0.00288
XRBENCH_L1_FACTOR = 0.55
XRBENCH_L2_FACTOR = 6.0

#: Upper bound on (cases × rows) elements evaluated at once (memory ~ 8 bytes × this × ~30 arrays).
_BLOCK_ELEMENTS = 1 << 18

L2_COUNTS = ("l2_rd_input", "l2_rd_weight", "l2_wr_input", "l2_wr_weight", "l2_wr_output")
L1_COUNTS = (
    "l1_rd_input",
    "l1_rd_weight",
    "l1_rd_output",
    "l1_wr_input",
    "l1_wr_weight",
    "l1_wr_output",
)
ACCESS_COUNTS = L2_COUNTS + L1_COUNTS
ENERGY_PARTS = ("compute", "l1", "l2", "noc", "dram")

# Variant index of a directive in one case: its position (0 first, 1 steady, 2 edge), with
# position 0 split into status I (0) and U (3, "whole dimension resident").
_I, _S, _E, _U = 0, 1, 2, 3


@dataclass(frozen=True)
class AnalysisOptions:
    """Knobs of the analysis; the defaults are MAESTRO as XRBench runs it.

    ``vector_width`` is MAESTRO's w (compute delay ⌈P/w⌉₀). A NoC transfer of x elements takes
    ``noc_hops·noc_hop_cycles + ⌈x/B⌉₀ − 1`` cycles (XRBench: 1 hop of 1 cycle).
    """

    vector_width: int = 1
    noc_hops: int = 1
    noc_hop_cycles: int = 1

    def key(self) -> tuple:
        """A hashable content key (for caches)."""
        return (type(self).__name__, self.vector_width, self.noc_hops, self.noc_hop_cycles)


DEFAULT_OPTIONS = AnalysisOptions()


# --------------------------------------------------------------------------------------------
# §2 per-level constants


@dataclass(frozen=True)
class LevelConstants:
    """Per-map arrays ``(m, rows)`` of one level and per-row spatial-edge data (§2)."""

    spatial: np.ndarray  # (m,) bool
    size: np.ndarray
    offset: np.ndarray
    extent: np.ndarray  # E(v) of each map's dimension
    partner_size: np.ndarray  # size of the partner's map (Y↔R, X↔S); own size otherwise
    covered: np.ndarray
    fits: np.ndarray
    over: np.ndarray
    steady: np.ndarray  # occurrence factor of position 1
    edge: np.ndarray  # occurrence factor of position 2
    units: np.ndarray  # n, (rows,)
    edge_units: np.ndarray  # n_edge, (rows,)
    primary_over: np.ndarray  # over(u), (rows,)


def level_constants(geom: LevelGeometry) -> LevelConstants:
    """Adjusted extents, coverage, steps/tails, spatial rounds and the spatial edge (§2, §3)."""
    plan = geom.plan
    m = len(plan.slots)
    s, o, n = geom.sizes, geom.offsets, geom.units
    spatial = np.array([slot.spatial for slot in plan.slots], dtype=bool)
    extent = np.stack([geom.extents[slot.dim] for slot in plan.slots])
    adjusted = extent.copy()
    partner_size = s.copy()
    for i, slot in enumerate(plan.slots):
        if slot.dim in PARTNER:
            partner_size[i] = s[plan.slot_of[PARTNER[slot.dim]]]
        if slot.dim in ("Y", "X"):
            adjusted[i] = extent[i] - geom.extents[PARTNER[slot.dim]] + 1
    sp = spatial[:, None]
    span = o * n  # o·n of a spatial map
    covered = np.where(sp, (n - 1) * o + s >= extent, s >= extent)
    fits = np.where(sp, span >= extent, s >= extent)
    over = np.where(sp, span > extent, s > extent)
    tail = crem(adjusted, o) != 0
    temporal_steps = ceil0(adjusted, o)
    rounds = ceil0(adjusted, span)
    if plan.primary >= 0:
        u = plan.primary
        rem_u = crem(adjusted[u], span[u])
        edge_sp = rem_u != 0
        edge_units = np.where(adjusted[u] <= s[u], 1, cdiv(rem_u, o[u]))
        primary_over = over[u]
    else:
        edge_sp = np.zeros_like(n, dtype=bool)
        edge_units = n.copy()
        primary_over = np.zeros_like(n, dtype=bool)
    steady = np.where(
        covered,
        0,
        np.where(sp, rounds - 1 - edge_sp, temporal_steps - 1 - tail),
    )
    has_edge = np.where(sp, edge_sp[None, :], tail)
    edge = (has_edge & ~fits).astype(np.int64)
    assert steady.shape == (m, n.shape[0])
    return LevelConstants(
        spatial, s, o, extent, partner_size, covered, fits, over, steady.astype(np.int64), edge,
        n, edge_units.astype(np.int64), primary_over,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# §3 cases and §4 per-variant tables


@dataclass(frozen=True)
class VariantTables:
    """Per map, its contribution in each variant (I, S, E, U): arrays ``(m, 4, rows)``.

    ``count`` is the occurrence factor f, ``psum``/``psum_edge`` the partial-sum factor p with the
    nominal / edge-PE tile, ``outputs`` the Q_out factor (1 for C, R, S), ``units`` the number of
    active sub-units ``(4, rows)`` selected by the primary map's variant.
    """

    count: np.ndarray
    psum: np.ndarray
    psum_edge: np.ndarray
    outputs: np.ndarray
    units: np.ndarray


def variant_tables(plan: LevelPlan, c: LevelConstants) -> VariantTables:
    """Effective tile sizes m̂, m̂ᵉ and the per-map factors of N, P, P_edge and Q_out (§3, §4)."""
    s, o, e, sp = c.size, c.offset, c.extent, c.spatial[:, None]
    one = np.ones_like(s)
    rem = crem(e, o)
    # temporal: I/U with over → E; E status → E rem o (raw extent); otherwise s
    t_first = np.where(c.over, e, s)
    t_tile = np.stack([t_first, s, rem, t_first], axis=1)
    # spatial: E status, or I with over ([Q] not U) → trimmed; otherwise s
    trim = np.where(e < s, e, s)
    trim_edge = np.where(e < s, e, np.where(rem == 0, s, rem))
    sp_tile = np.stack([np.where(c.over, trim, s), s, trim, s], axis=1)
    sp_tile_edge = np.stack([np.where(c.over, trim_edge, s), s, trim_edge, s], axis=1)
    tile = np.where(sp[:, None, :], sp_tile, t_tile)
    tile_edge = np.where(sp[:, None, :], sp_tile_edge, t_tile)
    psum = tile.copy()
    psum_edge = tile_edge.copy()
    outputs = np.ones_like(tile)
    for i, slot in enumerate(plan.slots):
        s_i, s_pi = s[i][None, :], c.partner_size[i][None, :]
        if slot.dim in ("R", "S"):
            psum[i] = psum_edge[i] = s_i
        elif slot.dim in ("Y", "X"):
            psum[i] = np.maximum(1, tile[i] - s_pi + 1)
            psum_edge[i] = np.maximum(1, tile_edge[i] - s_pi + 1)
            outputs[i] = np.where(s_i < s_pi, tile[i], s_i - s_pi + 1)
        elif slot.dim == "K":
            outputs[i] = tile[i]
    count = np.stack([one, c.steady, c.edge, one], axis=1)
    n = c.units
    if plan.primary >= 0:
        first = np.where(c.primary_over, c.edge_units, n)
        units = np.stack([first, n, c.edge_units, first])
    else:
        units = np.stack([n, n, n, n])
    return VariantTables(count, psum, psum_edge, outputs, units)


def live_cases(plan: LevelPlan, c: LevelConstants) -> np.ndarray:
    """Position vectors ``(cases, m)`` whose count N is non-zero for at least one row (§3).

    Position 0 is always possible; 1 and 2 only where some row has a non-zero factor.
    """
    choices = []
    for i in range(len(plan.slots)):
        options = [0]
        if np.any(c.steady[i] != 0):
            options.append(1)
        if np.any(c.edge[i] != 0):
            options.append(2)
        choices.append(options)
    return np.array(list(itertools.product(*choices)), dtype=np.int64).reshape(-1, len(choices))


def _blocks(positions: np.ndarray, rows: int) -> Iterator[np.ndarray]:
    step = max(1, _BLOCK_ELEMENTS // max(rows, 1))
    for start in range(0, positions.shape[0], step):
        yield positions[start : start + step]


@dataclass
class CaseBlock:
    """Per-case, per-row arrays ``(cases, rows)`` of one block of position vectors."""

    positions: np.ndarray  # (cases, m)
    all_initial: np.ndarray  # (cases,)
    advancing: np.ndarray  # j*, (cases,)
    variant: np.ndarray  # (m, cases, rows) in {_I, _S, _E, _U}
    count: np.ndarray  # N
    psum: np.ndarray  # P
    psum_edge: np.ndarray  # P_edge
    outputs: np.ndarray  # Q_out
    units: np.ndarray  # a


def case_work(plan: LevelPlan, c: LevelConstants, t: VariantTables, pos: np.ndarray) -> CaseBlock:
    """Statuses, counts N, active sub-units a, partial sums P/P_edge and outputs Q_out (§3–§4)."""
    ncase, m = pos.shape
    all_initial = ~np.any(pos != 0, axis=1)
    advancing = np.where(pos != 0, np.arange(m)[None, :], -1).max(axis=1)
    resident = (pos == 0) & ~all_initial[:, None]  # (cases, m): position 0 outside all-zero
    variant = np.where(
        resident.T[:, :, None] & c.covered[:, None, :], _U, pos.T[:, :, None]
    )  # (m, cases, rows)
    count = psum = psum_edge = outputs = None
    for i in range(m):
        v = variant[i]
        f = np.take_along_axis(t.count[i], v, axis=0)
        p = np.take_along_axis(t.psum[i], v, axis=0)
        pe = np.take_along_axis(t.psum_edge[i], v, axis=0)
        q = np.take_along_axis(t.outputs[i], v, axis=0)
        count = f if count is None else count * f
        psum = p if psum is None else psum * p
        psum_edge = pe if psum_edge is None else psum_edge * pe
        outputs = q if outputs is None else outputs * q
    if plan.primary >= 0:
        units = np.take_along_axis(t.units, variant[plan.primary], axis=0)
    else:
        units = np.broadcast_to(c.units, count.shape)
    return CaseBlock(pos, all_initial, advancing, variant, count, psum, psum_edge, outputs, units)


def full_tile(plan: LevelPlan, c: LevelConstants, tensor: str) -> tuple[np.ndarray, np.ndarray]:
    """F_t for the first and the other sub-units, per row (§4 'full tile')."""
    first = np.ones_like(c.units)
    other = np.ones_like(c.units)
    for i in plan.tensor_slots(tensor):
        s, o = c.size[i], c.offset[i]
        if c.spatial[i]:
            first = first * s
            other = other * np.minimum(s, o)
        else:
            f = np.where(c.over[i], crem(c.extent[i], o), s)
            first, other = first * f, other * f
    if not plan.has_spatial(tensor):
        other = np.zeros_like(other)
    return first, other


def case_loads(
    plan: LevelPlan, c: LevelConstants, b: CaseBlock, tensor: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sub-unit loads λ_t (first, other sub-unit) and the parent read τ_t (§4 rules 1–5)."""
    slots = plan.tensor_slots(tensor)
    full_first, full_other = full_tile(plan, c, tensor)
    jstar = b.advancing[:, None]
    j_t = np.full(b.count.shape, -1, dtype=np.int64)
    all_resident = np.ones(b.count.shape, dtype=bool)
    first = np.ones(b.count.shape, dtype=np.int64)
    other = np.ones(b.count.shape, dtype=np.int64)
    for i in slots:
        moving = (b.positions[:, i] != 0)[:, None]
        initial_before = ~c.covered[i][None, :] & (i < jstar)
        j_t = np.where(moving | initial_before, i, j_t)
        resident = b.variant[i] == _U
        all_resident &= resident
        s, o, e = c.size[i][None, :], c.offset[i][None, :], c.extent[i][None, :]
        if c.spatial[i]:
            first = first * s
            other = other * np.minimum(s, o)
        else:
            f = np.where(jstar == i, np.minimum(s, o), np.where(resident, e, s))
            first, other = first * f, other * f
    rule = [
        (b.all_initial[:, None], full_first[None, :], full_other[None, :]),
        (all_resident, 0, 0),
        (j_t == -1, full_first[None, :], full_other[None, :]),
        (j_t != jstar, 0, 0),
    ]
    lam_first, lam_other = first, other
    for cond, f, o in reversed(rule):
        lam_first = np.where(cond, f, lam_first)
        lam_other = np.where(cond, o, lam_other)
    if plan.has_spatial(tensor):
        traffic = np.where(b.units > 1, lam_first + (b.units - 1) * lam_other, lam_first)
    else:
        traffic = lam_first
    return lam_first, lam_other, traffic


# --------------------------------------------------------------------------------------------
# §5 delays and level runtime, §6 access counts


def noc_delay(elements: np.ndarray, bw: np.ndarray, options: AnalysisOptions) -> np.ndarray:
    """δ(x) = h·t_hop + ⌈x/B⌉₀ − 1 (XRBench: ⌈x/B⌉ for x ≥ 1, 0 for x = 0)."""
    return options.noc_hops * options.noc_hop_cycles + ceil_div_bw(elements, bw) - 1


def accumulate_counts(acc, n, b, lam_i, lam_w, tau_i, tau_w) -> None:
    """Add one block of level-0 cases to the access counts and the computation count: L2 reads of
    the step loads, L1 writes of the per-sub-unit loads (**[Q]** the first sub-unit's volume for
    every active one), L1 reads and writes of the partial sums, and NC."""
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


def evaluate_level(
    geom: LevelGeometry,
    bw: np.ndarray,
    inner_runtime: np.ndarray | None,
    options: AnalysisOptions = DEFAULT_OPTIONS,
    *,
    counts: bool = False,
) -> dict[str, np.ndarray]:
    """Runtime Rt_ℓ of one level (and, with ``counts``, its §6 access counts), per row.

    ``inner_runtime`` is Rt_{ℓ+1} (``None`` at the innermost level). Also returns
    ``compute_cycles``/``noc_cycles``: Σ N·Δ over the cases whose step delay is set by compute /
    by the NoC (for the dominating bound).
    """
    plan = geom.plan
    c = level_constants(geom)
    tables = variant_tables(plan, c)
    rows = geom.units.shape[0]
    zero = np.zeros(rows, dtype=np.int64)
    acc = {k: zero.copy() for k in ("runtime", "compute_cycles", "noc_cycles")}
    if counts:
        acc.update({k: zero.copy() for k in ACCESS_COUNTS + ("computations",)})
    for pos in _blocks(live_cases(plan, c), rows):
        b = case_work(plan, c, tables, pos)
        n = np.where(b.psum == 0, 0, b.count)  # cases with P = 0 are skipped
        lam_i, _, tau_i = case_loads(plan, c, b, "I")
        lam_w, _, tau_w = case_loads(plan, c, b, "W")
        compute = ceil0(b.psum, options.vector_width)
        if inner_runtime is not None:
            compute = np.where(inner_runtime[None, :] != 0, inner_runtime[None, :], compute)
        noc = np.maximum(noc_delay(tau_i + tau_w, bw, options), noc_delay(b.outputs, bw, options))
        step = np.maximum(compute, noc)
        weighted = n * step
        acc["runtime"] += weighted.sum(axis=0)
        noc_bound = noc > compute
        acc["noc_cycles"] += np.where(noc_bound, weighted, 0).sum(axis=0)
        acc["compute_cycles"] += np.where(noc_bound, 0, weighted).sum(axis=0)
        if counts:
            accumulate_counts(acc, n, b, lam_i, lam_w, tau_i, tau_w)
    if counts:
        k, cc, y, x, r, s = (geom.extents[v] for v in ("K", "C", "Y", "X", "R", "S"))
        acc["l2_wr_input"] = cc * y * x
        acc["l2_wr_weight"] = k * cc * r * s
        acc["l2_wr_output"] = k * (y - r + 1) * (x - s + 1)
    return acc


# --------------------------------------------------------------------------------------------
# energy


def access_energy(result: dict[str, np.ndarray], energy: EnergyTable) -> dict[str, np.ndarray]:
    """XRBench's ``energy_nj`` and the breakdown ``energy_<part>_pj`` under ``energy``.

    Compute charges MAESTRO's computation count when ``energy.charges_maestro_computations``
    (XRBench preset) and the true MACs otherwise. L1/L2 charge every counted access. NoC charges
    the words crossing the top NoC (L2 reads of I and W plus the output written back); DRAM charges
    the compulsory off-chip traffic (each tensor once: the L2 writes). MAESTRO itself has neither.
    """
    l1 = sum(result[k] for k in L1_COUNTS).astype(np.float64)
    l2 = sum(result[k] for k in L2_COUNTS).astype(np.float64)
    nc = result["computations"].astype(np.float64)
    out = {
        "energy_nj": XRBENCH_MAC_NJ * (nc + XRBENCH_L1_FACTOR * l1 + XRBENCH_L2_FACTOR * l2),
    }
    work = nc if energy.charges_maestro_computations else result["macs"].astype(np.float64)
    noc_words = result["l2_rd_input"] + result["l2_rd_weight"] + result["l2_wr_output"]
    dram_words = result["l2_wr_input"] + result["l2_wr_weight"] + result["l2_wr_output"]
    parts = {
        "compute": energy.mac_pj * work,
        "l1": energy.l1_pj * l1,
        "l2": energy.l2_pj * l2,
        "noc": energy.noc_pj * noc_words.astype(np.float64),
        "dram": energy.dram_pj * dram_words.astype(np.float64),
    }
    for name in ENERGY_PARTS:
        out[f"energy_{name}_pj"] = parts[name]
    out["energy_pj"] = sum(parts[name] for name in ENERGY_PARTS)
    return out


# --------------------------------------------------------------------------------------------
# entry point


def _as_rows(value: object, rows: int, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" and not (
        arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
    ):
        raise CostModelError(f"{name} must be integers, got {arr.dtype}", source="<api>")
    arr = np.broadcast_to(arr.astype(np.int64), (rows,)) if arr.ndim <= 1 else arr
    if arr.shape != (rows,):
        raise CostModelError(
            f"{name} has shape {np.shape(value)}", source="<api>", allowed=f"a scalar or ({rows},)"
        )
    if np.any(arr < 1):
        raise CostModelError(f"{name} = {int(arr.min())}", source="<api>", allowed="integers >= 1")
    return np.ascontiguousarray(arr)


def _as_bw(value: object, rows: int, name: str) -> np.ndarray:
    """A bandwidth per row: int64 when integral (MAESTRO's arithmetic), else float64 > 0."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.any(arr != np.round(arr)):
        if np.any(arr <= 0):
            raise CostModelError(f"{name} = {float(arr.min())}", source="<api>", allowed="> 0")
        arr = np.broadcast_to(arr.astype(np.float64), (rows,)) if arr.ndim <= 1 else arr
        if arr.shape != (rows,):
            raise CostModelError(
                f"{name} has shape {np.shape(value)}",
                source="<api>",
                allowed=f"a scalar or ({rows},)",
            )
        return np.ascontiguousarray(arr)
    return _as_rows(value, rows, name)


def _check_dims(dims: object) -> np.ndarray:
    arr = np.asarray(dims)
    if arr.ndim != 2 or arr.shape[1] != 7:
        raise CostModelError(
            f"dims has shape {arr.shape}", source="<api>", allowed="(rows, 7): N,K,C,Y,X,R,S"
        )
    if arr.dtype.kind not in "iu":
        raise CostModelError(f"dims must be integers, got {arr.dtype}", source="<api>")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 1:
        row, col = np.argwhere(arr < 1)[0]
        raise CostModelError(
            f"dims row {row}: {'NKCYXRS'[col]} = {arr[row, col]}",
            source="<api>",
            allowed="integers >= 1",
        )
    if arr.size and arr.max() > 1 << 20:
        row, col = np.argwhere(arr > 1 << 20)[0]
        raise CostModelError(
            f"dims row {row}: {'NKCYXRS'[col]} = {arr[row, col]} is too large",
            source="<api>",
            allowed="integers <= 1048576",
        )
    volume = np.prod(arr.astype(np.float64), axis=1)
    if arr.size and volume.max() > 2.0**52:
        row = int(np.argmax(volume))
        raise CostModelError(
            f"dims row {row}: N·K·C·Y·X·R·S = {volume[row]:.3g} overflows the int64 counts",
            source="<api>",
            allowed="layers with N·K·C·Y·X·R·S <= 2**52",
        )
    return arr


def analyse(
    dims: np.ndarray,
    dataflow: Dataflow,
    num_pes: np.ndarray | int,
    top_bw: np.ndarray | int,
    col_bw: np.ndarray | int,
    *,
    energy: EnergyTable | None = None,
    options: AnalysisOptions = DEFAULT_OPTIONS,
) -> dict[str, np.ndarray]:
    """Cost every row of ``dims`` (``(rows, 7)`` int: N,K,C,Y,X,R,S) on ``dataflow``.

    ``num_pes``, ``top_bw`` and ``col_bw`` (NoC bandwidths in words per cycle) are scalars or
    per-row arrays. MAESTRO gives the bandwidth list ``[top, col, col, …]`` entry ``L−1−ℓ`` to
    level ℓ, so ``top_bw`` feeds the innermost level (**[Q]**). ``energy`` (default: the XRBench
    preset) only affects the ``energy_*_pj`` breakdown. N is not mapped by MAESTRO's CONV analysis:
    a row with N > 1 costs N independent images (latency and every count × N).

    Returns per-row arrays: ``latency_cycles``, ``computations`` (MAESTRO's NC), ``macs``,
    ``pes_used``, the eleven access counts (:data:`ACCESS_COUNTS`), ``cluster_runtimes``
    ``(rows, L)`` = Rt_{L−1} … Rt_0, ``bound`` ("compute" or "noc", level 0), ``utilisation``
    (MACs / (latency × PEs)), ``energy_nj`` (XRBench) and ``energy_pj`` with its breakdown.
    Raises :class:`CostModelError` for an invalid dataflow, shapes or values.
    """
    dims = _check_dims(dims)
    rows = dims.shape[0]
    pes = _as_rows(num_pes, rows, "num_pes")
    top = _as_bw(top_bw, rows, "top_bw")
    col = _as_bw(col_bw, rows, "col_bw")
    plan = plan_dataflow(dataflow)
    energy = energy or ENERGY_PRESETS["xrbench"]
    if rows == 0:
        return _empty(plan, energy)
    key = np.column_stack([dims[:, 1:], pes, top, col])
    unique, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ints = unique[:, :7].astype(np.int64)  # a fractional bandwidth makes the key float64
    unit_dims = np.column_stack([np.ones(len(unique), np.int64), ints[:, :6]])
    top_u, col_u = unique[:, 7].astype(top.dtype), unique[:, 8].astype(col.dtype)
    result = analyse_unique(plan, unit_dims, ints[:, 6], top_u, col_u, options)
    out = {k: v[inverse] for k, v in result.items()}
    batch = dims[:, 0]
    for k in ("latency_cycles", "computations", *ACCESS_COUNTS, "compute_cycles", "noc_cycles"):
        out[k] = out[k] * batch
    out["cluster_runtimes"] = out["cluster_runtimes"] * batch[:, None]
    k, c, y, x, r, s = dims[:, 1:].T
    out["macs"] = batch * k * c * r * s * (y - r + 1) * (x - s + 1)
    out["pes_used"] = out["pes_used"]
    with np.errstate(divide="ignore", invalid="ignore"):
        util = out["macs"] / (out["latency_cycles"].astype(np.float64) * pes)
    out["utilisation"] = np.where(out["latency_cycles"] > 0, util, 0.0)
    out["bound"] = np.where(out["noc_cycles"] > out["compute_cycles"], "noc", "compute")
    out.update(access_energy(out, energy))
    return out


def analyse_unique(
    plan: DataflowPlan,
    dims: np.ndarray,
    num_pes: np.ndarray,
    top_bw: np.ndarray,
    col_bw: np.ndarray,
    options: AnalysisOptions = DEFAULT_OPTIONS,
) -> dict[str, np.ndarray]:
    """The levels, innermost first (§5): latency, NC, access counts, runtimes, bound cycles."""
    geoms = materialise(plan, dims, num_pes)
    depth = len(geoms)
    runtimes: list[np.ndarray] = []
    inner: np.ndarray | None = None
    level0: dict[str, np.ndarray] = {}
    for index in reversed(range(depth)):
        bw = top_bw if index == depth - 1 else col_bw  # [Q] top feeds the innermost level
        level = evaluate_level(geoms[index], bw, inner, options, counts=index == 0)
        inner = level["runtime"]
        runtimes.append(inner)
        if index == 0:
            level0 = level
    units = np.prod(np.stack([g.units for g in geoms]), axis=0)
    out = {
        "latency_cycles": level0["runtime"],
        "computations": level0["computations"],
        "pes_used": units,
        "cluster_runtimes": np.stack(runtimes, axis=1),
        "compute_cycles": level0["compute_cycles"],
        "noc_cycles": level0["noc_cycles"],
    }
    out.update({k: level0[k] for k in ACCESS_COUNTS})
    return out


def _empty(plan: DataflowPlan, energy: EnergyTable) -> dict[str, np.ndarray]:
    z = np.zeros(0, dtype=np.int64)
    out = {k: z for k in ("latency_cycles", "computations", "macs", "pes_used", *ACCESS_COUNTS)}
    out.update({"compute_cycles": z, "noc_cycles": z})
    out["cluster_runtimes"] = np.zeros((0, plan.num_levels), dtype=np.int64)
    out["utilisation"] = np.zeros(0)
    out["bound"] = np.zeros(0, dtype="<U7")
    out.update(access_energy(out, energy))
    return out


# --------------------------------------------------------------------------------------------
# layers on an accelerator


def maestro_dims(batch: LayerBatch) -> np.ndarray:
    """The ``(n, 7)`` dims the analysis costs for each layer, N column = number of repetitions.

    XRBench layers (stride 1, ``padding="xrbench"``, dense) pass unchanged. Other layers are costed
    as the stride-1 "valid" convolution with the same output size (input Y' + R − 1 rows), which
    keeps the MAC count exact; MAESTRO's own stride/depthwise handling is not described by
    docs/MAESTRO_METHOD.md and not reproduced. Grouped convolutions are ``groups`` repetitions of a
    (K/g, C/g) convolution; POOL is a per-channel (K = C = 1) R×S window repeated K times, ELTWISE
    one operation per output element, repeated K times.
    """
    n, k, c, y, x, r, s = (batch.dims[:, i].copy() for i in range(7))
    plain = batch.xrbench & (batch.stride == 1).all(axis=1)
    y = np.where(plain, y, batch.out_y + r - 1)
    x = np.where(plain, x, batch.out_x + s - 1)
    g = batch.groups
    per_channel = np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    eltwise = batch.op == OpType.ELTWISE.value
    reps = np.where(per_channel, n * k, n * g)
    k = np.where(per_channel, 1, k // g)
    c = np.where(per_channel, 1, c // g)
    y = np.where(eltwise, y - r + 1, y)
    x = np.where(eltwise, x - s + 1, x)
    r = np.where(eltwise, 1, r)
    s = np.where(eltwise, 1, s)
    dims = np.column_stack([reps, k, c, y, x, r, s]).astype(np.int64)
    bad = (dims < 1).any(axis=1)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise CostModelError(
            f"layer '{batch.names[i]}' has an empty output ({int(batch.out_y[i])} x "
            f"{int(batch.out_x[i])})",
            source="<api>",
            allowed="layers with at least one output row and column (or padding='xrbench')",
        )
    return dims


def analyse_layers(
    batch: LayerBatch, accelerator: Accelerator, options: AnalysisOptions | None = None
) -> dict[str, np.ndarray]:
    """The ``maestro`` analysis of every layer of ``batch`` on ``accelerator`` (per-row arrays).

    The registered entry point of :mod:`costmodel.table`; see :func:`analyse` for the outputs.
    ``macs`` are the layers' true MACs.
    """
    out = analyse(
        maestro_dims(batch),
        accelerator.dataflow,
        accelerator.num_pes,
        accelerator.noc_top.bw_words_per_cycle,
        accelerator.noc_col.bw_words_per_cycle,
        energy=accelerator.energy,
        options=options or DEFAULT_OPTIONS,
    )
    return out
