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

Counts are for one repetition (one group) of the analysed layer, in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.loopnest import LoopNest

TENSORS = ("I", "W", "O")


@dataclass(frozen=True)
class TensorShapes:
    """Per-row facts the tile sizes need: strides, the input's (unpadded) rows/columns, whether
    the layer has weights and whether its output is indexed by C (depthwise/pooling fold)."""

    stride: np.ndarray  # (rows, 2)
    input_rows: np.ndarray
    input_cols: np.ndarray
    weights: np.ndarray  # bool
    channel_out: np.ndarray  # bool

    def relevant(self, tensor: str, dim: str) -> np.ndarray:
        """(rows,) bool: does ``dim`` index ``tensor``?"""
        rows = self.weights.shape
        if tensor == "I":
            return np.full(rows, dim in ("N", "C", "P", "Q", "R", "S"))
        if tensor == "W":
            if dim == "K":
                return self.weights & ~self.channel_out
            return np.full(rows, dim in ("C", "R", "S")) & self.weights
        if dim == "C":
            return self.channel_out.copy()
        if dim == "K":
            return ~self.channel_out
        return np.full(rows, dim in ("N", "P", "Q"))

    def size(self, tensor: str, rng: dict[str, np.ndarray]) -> np.ndarray:
        """Words of ``tensor`` spanned by the dimension ranges ``rng``."""
        if tensor == "I":
            rows = np.minimum(_touched(rng["P"], rng["R"], self.stride[:, 0]), self.input_rows)
            cols = np.minimum(_touched(rng["Q"], rng["S"], self.stride[:, 1]), self.input_cols)
            return rng["N"] * rng["C"] * rows * cols
        if tensor == "W":
            k = np.where(self.channel_out, 1, rng["K"])
            return np.where(self.weights, k * rng["C"] * rng["R"] * rng["S"], 0)
        channels = np.where(self.channel_out, rng["C"], rng["K"])
        return rng["N"] * channels * rng["P"] * rng["Q"]


def _touched(outputs: np.ndarray, window: np.ndarray, stride: np.ndarray) -> np.ndarray:
    """Input rows read by ``outputs`` output rows of ``window`` filter rows at ``stride``: the
    span (σ < window: windows overlap) or the windows alone (σ > window: rows in the gaps are
    never read)."""
    return np.minimum((outputs - 1) * stride + window, outputs * window)


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
) -> np.ndarray:
    """Words of ``tensor`` moved across the boundary at loop position ``bottom`` by the loops
    in ``[top, bottom)`` (the reuse rule of the module docstring), per row."""
    loops = nest.loops
    rows = shapes.weights.shape[0]
    best = shapes.size(tensor, _ranges(nest, top))  # no relevant loop: fetched once
    trips_above = np.ones(rows, np.int64)
    for j in range(top, bottom):
        loop = loops[j]
        if not loop.temporal:
            continue
        trips_above = trips_above * loop.trips
        relevant = shapes.relevant(tensor, loop.dim) & (
            loop.trips > 1
        )  # a 1-trip loop never advances
        below = _ranges(nest, j + 1)
        words = trips_above * shapes.size(tensor, below)
        if tensor == "I" and loop.dim in ("P", "Q"):
            # after the first iteration of a window walk only the advance is new
            axis = 0 if loop.dim == "P" else 1
            span_dim = "R" if loop.dim == "P" else "S"
            window = _touched(below[loop.dim], below[span_dim], shapes.stride[:, axis])
            fresh = np.minimum(window, loop.inner * shapes.stride[:, axis])
            fresh_rng = dict(below)
            # a window of `fresh` rows: express it through the span dim of a 1-row output tile
            fresh_rng[loop.dim] = np.ones_like(fresh)
            fresh_rng[span_dim] = fresh
            first = shapes.size(tensor, below)
            later = shapes.size(tensor, fresh_rng)
            outer = trips_above // np.maximum(loop.trips, 1)
            words = outer * (first + (loop.trips - 1) * later)
        best = np.where(relevant, words, best)
    if not multicast:
        for loop in loops[top:bottom]:
            if not loop.temporal:
                best = best * np.where(shapes.relevant(tensor, loop.dim), 1, loop.trips)
    return best


def l2_position(
    nest: LoopNest, shapes: TensorShapes, l2_words: np.ndarray, tensors: tuple[str, ...] = TENSORS
) -> np.ndarray:
    """Per row, the outermost loop position whose tiles of ``tensors`` fit ``l2_words`` together
    (the number of loops if none does: L2 then holds only what one step needs)."""
    rows = shapes.weights.shape[0]
    last = len(nest.loops)
    chosen = np.full(rows, last, np.int64)
    for position in range(last, -1, -1):
        rng = _ranges(nest, position)
        working = sum(shapes.size(t, rng) for t in tensors)
        chosen = np.where(working <= l2_words, position, chosen)
    return chosen


def _select(nest: LoopNest, shapes: TensorShapes, position: np.ndarray, fn) -> np.ndarray:
    """``fn(c)`` evaluated at each row's own position ``c``."""
    out = np.zeros(position.shape, np.int64)
    for c in np.unique(position):
        mask = position == c
        out = np.where(mask, fn(int(c)), out)
    return out


def traffic(
    nest: LoopNest,
    shapes: TensorShapes,
    l2_words: np.ndarray,
    weight_words: np.ndarray | None = None,
    multicast: bool = True,
) -> dict[str, np.ndarray]:
    """Per-tensor words of one repetition: DRAM ↔ L2 (``dram_*``), L2 ↔ L1 (``noc_*``), the
    per-PE L1 fills (``l1_fill_*``) and the L2 positions (``l2_position``; ``l2_position_W``).

    ``weight_words``: a part of L2 reserved for weights (None: one shared buffer); I and O then
    share the rest and W has its own position in its part.
    """
    last = len(nest.loops)
    whole_o = shapes.size("O", _ranges(nest, 0))
    if weight_words is None:
        cut = cut_w = l2_position(nest, shapes, l2_words)
    else:
        cut = l2_position(nest, shapes, l2_words - weight_words, ("I", "O"))
        cut_w = l2_position(nest, shapes, weight_words, ("W",))
    out: dict[str, np.ndarray] = {"l2_position": cut, "l2_position_W": cut_w}
    for t in TENSORS:
        at = cut_w if t == "W" else cut
        out[f"dram_{t}"] = _select(nest, shapes, at, lambda c, t=t: crossing(nest, shapes, t, 0, c))
        out[f"noc_{t}"] = crossing(nest, shapes, t, 0, last, multicast)
        out[f"l1_fill_{t}"] = crossing(nest, shapes, t, 0, last, multicast=False)
    out["dram_O_rd"] = np.maximum(0, out["dram_O"] - whole_o)
    out["noc_O_rd"] = np.maximum(0, out["noc_O"] - whole_o)
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
