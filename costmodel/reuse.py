"""Loop-nest reuse analysis: each tensor's traffic DRAM ↔ L2 ↔ L1 (the ``native`` analysis).

Storage is DRAM → L2 (one shared buffer) → L1 (one per PE, holding the PE's step tile of the
:class:`~costmodel.loopnest.LoopNest`). A storage level holds, per tensor, the tile spanned by
the loops inside its boundary; the loops outside decide how often it is fetched again:

- **Reuse rule.** Let j be the innermost temporal loop outside the boundary whose dimension
  indexes tensor t. The tile below j is fetched once per iteration of j and of every temporal
  loop outside j: ``words = ∏_{i ≤ j} trips_i × |tile below j|``. Loops inside j that do not
  index t leave the tile in place (stationary reuse); spatial fan-outs on dimensions t does not
  depend on are multicast (one transfer), those on its dimensions widen the tile.
- **Sliding windows.** When j walks output rows (columns) of the input, consecutive iterations
  share the window overlap: after the first only the advance, chunk·σ rows, is new.
- **Partial sums.** The output tile leaves the level each time j (over N, K, P, Q) advances; a
  reduction loop (C, R, S) outside j makes it come back as a partial sum: updates as above, and
  ``reads = updates − |output region|`` (its first visit needs no read). Reduction loops inside
  j accumulate in place: the outputs stay resident while their tile fits.
- **What L2 holds.** L2 keeps the tiles below the outermost loop position at which the three
  tiles fit its capacity together; the loops outside that position stream from DRAM by the
  rule above. More L2 never moves the position inwards, so never adds DRAM traffic.
- **What L1 holds.** A PE's L1 holds its step tile of a tensor only if it fits. Images share
  nothing but weights, so a PE works through the images of its step one after the other (the
  weights stay) and the check is on one image's step tile. The tensors are taken in order of
  uses per word within it (most reused first) and held while their tiles fit ``l1_words``
  together; a tensor after the first that does not fit is *streamed*
  (a spill): every use of it in a computation is a word from L2, so its L1 traffic is the
  computations (divided by the PEs one multicast word reaches at once). The order does not
  depend on the capacity, so more L1 only holds more tensors; a layer whose step tiles fit is
  unchanged by growing L1.
- **Inside clusters.** With clusters (a ``Cluster`` in the directive list) each level-0
  sub-unit has its own inner NoC (``noc_col``) carrying the words its PEs receive: multicast
  over fan-outs inside the cluster (if that NoC multicasts), one copy per cluster across the
  level-0 fan-outs (``col_*``, summed over the clusters).

Counts are for one repetition (one group) of the analysed layer, in words.
"""

from __future__ import annotations

import numpy as np

from costmodel.loopnest import LoopNest
from costmodel.nest_walk import (
    TENSORS,
    NestWalk,
    TensorShapes,
    copies_of,
    step_footprints,
)

__all__ = [
    "TENSORS",
    "NestWalk",
    "TensorShapes",
    "crossing",
    "held_footprints",
    "l1_held",
    "l2_position",
    "pass_fill_words",
    "shared_fanout",
    "step_footprints",
    "traffic",
]


def _ranges(nest: LoopNest, position: int) -> dict[str, np.ndarray]:
    """The ranges below loop ``position``, across every unit: spatial fan-outs outside the
    position run at the same time, so they widen the tile (the storage above is shared)."""
    rng = {v: nest.range_at(position, v) for v in nest.extents}
    for loop in reversed(nest.loops[:position]):
        if not loop.temporal:
            rng[loop.dim] = np.minimum(loop.outer, rng[loop.dim] * loop.trips)
    return rng


def crossing(
    nest: LoopNest,
    shapes: TensorShapes,
    tensor: str,
    top: int,
    bottom: int,
    multicast: bool = True,
    copy_levels: int | None = None,
) -> np.ndarray:
    """Words of ``tensor`` moved across the boundary at loop position ``bottom`` by the loops
    in ``[top, bottom)`` (the reuse rule of the module docstring), per row.

    Fan-outs on dimensions the tensor does not depend on are multicast (one transfer), except
    those of levels < ``copy_levels``, which receive one copy per unit (default: 0 with
    ``multicast``, every level without it)."""
    return NestWalk(nest, shapes).crossing(tensor, bottom, multicast, copy_levels, top)


def shared_fanout(
    nest: LoopNest, shapes: TensorShapes, tensor: str, copy_levels: int
) -> np.ndarray:
    """Per row, the units one transfer of ``tensor`` reaches at once: the product of the
    fan-outs on dimensions it does not depend on, at levels >= ``copy_levels``."""
    shared = np.ones(shapes.weights.shape[0], np.int64)
    for loop in nest.loops:
        if not loop.temporal and loop.level >= copy_levels:
            shared = shared * np.where(shapes.relevant(tensor, loop.dim), 1, loop.trips)
    return shared


def held_footprints(nest: LoopNest, shapes: TensorShapes, position: int) -> dict[str, np.ndarray]:
    """Per tensor, the words of its tile below loop ``position`` across every unit: what L2
    holds of it when its boundary is at ``position`` (``len(nest.loops)``: one step of the
    whole array)."""
    rng = _ranges(nest, position)
    return {t: shapes.size(t, rng) for t in TENSORS}


def l1_held(
    nest: LoopNest, shapes: TensorShapes, l1_words: np.ndarray, walk: NestWalk | None = None
) -> dict[str, np.ndarray]:
    """Per tensor, (rows,) bool: does a PE's L1 hold its step tile (module docstring)?

    Tensors in order of uses per word within the step (ties: W, I, O), held while the step
    tiles taken so far fit ``l1_words``; from the first that does not fit on, streamed."""
    step = dict(nest.step_tile)
    step["N"] = np.ones_like(step["N"])  # images share nothing but weights: one at a time
    size = walk.step() if walk is not None else step_footprints(nest, shapes)
    step_macs = step["N"]
    for v in nest.extents:
        if v != "N":
            step_macs = step_macs * step[v]
    step_macs = step_macs.astype(np.float64)
    reuse = {t: np.where(size[t] > 0, step_macs / np.maximum(size[t], 1), np.inf) for t in size}
    # t is taken after u when u is more reused (ties: W, I, O); t is held when the tiles taken
    # up to and including it fit (sizes are >= 0, so the earlier ones then fit too)
    w_first_i = reuse["W"] >= reuse["I"]
    w_first_o = reuse["W"] >= reuse["O"]
    i_first_o = reuse["I"] >= reuse["O"]
    s_w, s_i, s_o = size["W"], size["I"], size["O"]
    taken = {
        "W": s_w + np.where(w_first_i, 0, s_i) + np.where(w_first_o, 0, s_o),
        "I": s_i + np.where(w_first_i, s_w, 0) + np.where(i_first_o, 0, s_o),
        "O": s_o + np.where(w_first_o, s_w, 0) + np.where(i_first_o, s_i, 0),
    }
    return {t: taken[t] <= l1_words for t in ("W", "I", "O")}


def l2_position(
    nest: LoopNest,
    shapes: TensorShapes,
    l2_words: np.ndarray,
    tensors: tuple[str, ...] = TENSORS,
    walk: NestWalk | None = None,
) -> np.ndarray:
    """Per row, the outermost loop position whose tiles of ``tensors`` fit ``l2_words`` together
    (the number of loops if none does: L2 then holds only what one step needs)."""
    walk = walk or NestWalk(nest, shapes)
    fits = sum(walk.sizes(t) for t in tensors) <= l2_words  # (positions, rows)
    return np.where(fits.any(axis=0), fits.argmax(axis=0), len(nest.loops)).astype(np.int64)


def _select(position: np.ndarray, values: list[np.ndarray]) -> np.ndarray:
    """``values[c]`` taken at each row's own position ``c``."""
    if not position.size:
        return np.zeros(position.shape, np.int64)
    low, high = int(position.min()), int(position.max())
    if low == high:  # one position on every row (common): that entry as it is
        return values[low].astype(np.int64)
    table = np.stack(values[low : high + 1]).astype(np.int64, copy=False)
    return table[position - low, np.arange(position.size)]


def traffic(
    nest: LoopNest,
    shapes: TensorShapes,
    l2_words: np.ndarray,
    weight_words: np.ndarray | None = None,
    multicast: bool = True,
    l1_words: np.ndarray | None = None,
    col_multicast: bool = True,
    walk: NestWalk | None = None,
) -> dict[str, np.ndarray]:
    """Per-tensor words of one repetition: DRAM ↔ L2 (``dram_*``), L2 ↔ L1 over the top NoC
    (``noc_*``) and over the clusters' inner NoCs (``col_*``, summed over the clusters), the
    per-PE L1 fills (``l1_fill_*``), the words streamed beyond what L1 would move if it held
    every step tile (``l1_spill``) and the L2 positions (``l2_position``; ``l2_position_W``).

    ``l1_words``: a PE's L1 (None: unbounded, every step tile held).

    ``weight_words``: a part of L2 reserved for weights (None: one shared buffer); I and O then
    share the rest and W has its own position in its part.
    """
    walk = walk or NestWalk(nest, shapes)
    last = len(nest.loops)
    whole_o = walk.size("O", 0)
    if weight_words is None:
        cut = cut_w = l2_position(nest, shapes, l2_words, walk=walk)
    else:
        cut = l2_position(nest, shapes, l2_words - weight_words, ("I", "O"), walk)
        cut_w = l2_position(nest, shapes, weight_words, ("W",), walk)
    out: dict[str, np.ndarray] = {"l2_position": cut, "l2_position_W": cut_w}
    rows = shapes.weights.shape[0]
    held = l1_held(nest, shapes, l1_words, walk) if l1_words is not None else None
    col_copies = 1 if col_multicast else 1 << 30
    top_copies = copies_of(multicast, None)
    out["l1_spill"] = np.zeros(rows, np.int64)
    for t in TENSORS:
        at = cut_w if t == "W" else cut
        out[f"dram_{t}"] = _select(at, walk.prefix(t))
        noc = walk.crossing(t, last, multicast)
        col = walk.crossing(t, last, copy_levels=col_copies)
        fill = walk.crossing(t, last, multicast=False)
        if held is not None and not held[t].all():  # streamed: every use is a word from L2
            # one image's step tile is empty exactly when the step's is (a step has >= 1 image)
            uses = np.where(walk.step()[t] > 0, nest.computations, 0)
            streamed = ~held[t]
            spill_noc = np.maximum(noc, -(-uses // walk.shared_fanout(t, top_copies)))
            out["l1_spill"] = out["l1_spill"] + np.where(streamed, spill_noc - noc, 0)
            noc = np.where(streamed, spill_noc, noc)
            spill_col = np.maximum(col, -(-uses // walk.shared_fanout(t, col_copies)))
            col = np.where(streamed, spill_col, col)
            fill = np.where(streamed, np.maximum(fill, uses), fill)
        out[f"noc_{t}"], out[f"col_{t}"], out[f"l1_fill_{t}"] = noc, col, fill
    out["dram_O_rd"] = np.maximum(0, out["dram_O"] - whole_o)
    out["noc_O_rd"] = np.maximum(0, out["noc_O"] - whole_o)
    out["col_O_rd"] = np.maximum(0, out["col_O"] - whole_o)
    return out


def pass_fill_words(
    nest: LoopNest, shapes: TensorShapes, moved: dict[str, np.ndarray]
) -> np.ndarray:
    """Words that must reach the PE buffers before a processing pass can compute, per row.

    Every PE's first step tile of I, W and O (each distinct word once: multicast), but of each
    tensor at most its share of the pass's NoC traffic (``moved``: ``noc_I``, ``noc_W`` and the
    partial sums read back ``noc_O_rd``, over all passes): a tile the previous pass left in the
    PE buffers (a stationary operand) is not loaded again.
    """
    rng = dict(nest.step_tile)
    for loop in nest.loops:
        if not loop.temporal:
            rng[loop.dim] = np.minimum(nest.extents[loop.dim], rng[loop.dim] * loop.trips)
    passes = np.maximum(nest.passes, 1)
    share = {"I": moved["noc_I"], "W": moved["noc_W"], "O": moved["noc_O_rd"]}
    return sum(np.minimum(shapes.size(t, rng), -(-share[t] // passes)) for t in TENSORS)
