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

from dataclasses import dataclass

import numpy as np

from costmodel.loopnest import Loop, LoopNest

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

    def uniform(self, tensor: str, dim: str) -> bool | None:
        """:meth:`relevant` when it is the same on every row (True / False), else None."""
        if tensor == "I":
            return dim in ("N", "C", "P", "Q", "R", "S")
        flags = self._flags()
        if tensor == "W":
            if dim == "K":
                if flags["weights"] is False or flags["channel_out"] is True:
                    return False
                if flags["weights"] is True and flags["channel_out"] is False:
                    return True
                return None
            return flags["weights"] if dim in ("C", "R", "S") else False
        if dim == "C":
            return flags["channel_out"]
        if dim == "K":
            return None if flags["channel_out"] is None else not flags["channel_out"]
        return dim in ("N", "P", "Q")

    def _flags(self) -> dict[str, bool | None]:
        """``weights`` and ``channel_out``: True / False on every row, None when mixed."""
        cached = self.__dict__.get("_uniform_flags")
        if cached is None:
            cached = {}
            for name in ("weights", "channel_out"):
                flag = np.asarray(getattr(self, name), bool)
                on = int(np.count_nonzero(flag))
                cached[name] = True if on == flag.size else False if on == 0 else None
            object.__setattr__(self, "_uniform_flags", cached)
        return cached

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


class NestWalk:
    """One nest's tiles and crossings, each computed once: the ranges below every loop
    position, each tensor's tile at every position, and each tensor's crossings at every
    position walked once (:meth:`prefix`), so the crossings at any boundary, the L2 position
    and the traffic of one nest share one walk per tensor (the same arithmetic as
    :func:`crossing` alone: bit-identical results)."""

    def __init__(self, nest: LoopNest, shapes: TensorShapes) -> None:
        self.nest, self.shapes = nest, shapes
        loops = nest.loops
        last = len(loops)
        rows = shapes.weights.shape[0]
        # every position's range of each dim as one (positions, rows) array: range_at(p, v),
        # then the spatial fan-outs outside p widen it, innermost first (a fan-out j widens
        # every position below it, so taking them from the innermost out gives each position
        # its own fan-outs in that order)
        self._stacked: dict[str, np.ndarray] = {}
        for v in nest.extents:
            stacked = np.empty((last + 1, rows), np.int64)
            start = 0
            for j, loop in enumerate(loops):
                if loop.dim == v:
                    stacked[start : j + 1] = loop.outer
                    start = j + 1
            stacked[start:] = nest.step_tile[v]
            self._stacked[v] = stacked
        for j in range(last - 1, -1, -1):
            loop = loops[j]
            if not loop.temporal:
                below = self._stacked[loop.dim][j + 1 :]
                below[...] = np.minimum(loop.outer, below * loop.trips)
        self._sizes: dict[str, np.ndarray] = {}
        self._relevant: dict[tuple[str, str], np.ndarray] = {}
        self._prefix: dict[tuple[str, int], list[np.ndarray]] = {}
        self._trips: dict[int, list[tuple[int, np.ndarray, bool | None, np.ndarray]]] = {}
        self._step: dict[str, np.ndarray] | None = None
        self._fanouts: dict[str, list[tuple[int, int, np.ndarray | None]]] = {}

    def ranges(self, position: int) -> dict[str, np.ndarray]:
        """The ranges below loop ``position`` across every unit (:func:`_ranges`)."""
        return {v: stacked[position] for v, stacked in self._stacked.items()}

    def sizes(self, tensor: str) -> np.ndarray:
        """``(positions, rows)``: words of ``tensor``'s tile below every loop position across
        every unit."""
        if tensor not in self._sizes:
            self._sizes[tensor] = self.shapes.size(tensor, self._stacked)
        return self._sizes[tensor]

    def size(self, tensor: str, position: int) -> np.ndarray:
        """Words of ``tensor``'s tile below loop ``position`` across every unit."""
        return self.sizes(tensor)[position]

    def step(self) -> dict[str, np.ndarray]:
        """:func:`step_footprints` of the nest (computed once)."""
        if self._step is None:
            self._step = step_footprints(self.nest, self.shapes)
        return self._step

    def relevant(self, tensor: str, dim: str) -> np.ndarray:
        key = (tensor, dim)
        if key not in self._relevant:
            self._relevant[key] = self.shapes.relevant(tensor, dim)
        return self._relevant[key]

    def prefix(self, tensor: str, top: int = 0) -> list[np.ndarray]:
        """Per boundary position b (``top`` … number of loops; entry b - ``top``): the words of
        ``tensor`` moved across b by the loops in ``[top, b)``, before fan-out copies (the
        reuse rule of the module docstring)."""
        if (tensor, top) in self._prefix:
            return self._prefix[tensor, top]
        loops = self.nest.loops
        sizes = self.sizes(tensor)
        best = sizes[top]  # no relevant loop: fetched once
        out = [best]
        for j, trips_above, advancing, moves in self._trips_above(top):
            loop = loops[j]
            if loop.temporal:
                uniform = self.shapes.uniform(tensor, loop.dim)
                if uniform is False or advancing is False:  # never moves it: best unchanged
                    out.append(best)
                    continue
                first = sizes[j + 1]
                if tensor == "I" and loop.dim in ("P", "Q"):
                    words = self._window(loop, j + 1, trips_above, first)
                else:
                    words = trips_above * first
                if uniform is True and advancing is True:
                    best = words
                else:
                    relevant = moves
                    if uniform is None:
                        relevant = self.relevant(tensor, loop.dim) & relevant
                    best = np.where(relevant, words, best)
            out.append(best)
        self._prefix[tensor, top] = out
        return out

    def _trips_above(self, top: int) -> list[tuple[int, np.ndarray, bool | None, np.ndarray]]:
        """Per loop j >= ``top``: the iterations of the temporal loops in ``[top, j]``,
        whether loop j advances (more than one trip) on every row (True), none (False) or some
        (None), and per row whether it does; shared by the tensors' walks."""
        if top not in self._trips:
            rows = self.shapes.weights.shape[0]
            trips_above = np.ones(rows, np.int64)
            entries = []
            for j in range(top, len(self.nest.loops)):
                loop = self.nest.loops[j]
                advancing: bool | None = None
                moves = loop.trips  # (a fan-out: not read)
                if loop.temporal:
                    moves = loop.trips > 1
                    moving = int(np.count_nonzero(moves))
                    advancing = True if moving == rows else False if moving == 0 else None
                    if advancing is not False:  # (all one trip: the product is unchanged)
                        trips_above = trips_above * loop.trips
                entries.append((j, trips_above, advancing, moves))
            self._trips[top] = entries
        return self._trips[top]

    def _window(
        self, loop: Loop, position: int, trips_above: np.ndarray, first: np.ndarray
    ) -> np.ndarray:
        """The input words of a window walk: after the first iteration only the advance."""
        below = self.ranges(position)
        axis = 0 if loop.dim == "P" else 1
        span_dim = "R" if loop.dim == "P" else "S"
        window = _touched(below[loop.dim], below[span_dim], self.shapes.stride[:, axis])
        fresh = np.minimum(window, loop.inner * self.shapes.stride[:, axis])
        fresh_rng = dict(below)
        # a window of `fresh` rows: express it through the span dim of a 1-row output tile
        fresh_rng[loop.dim] = np.ones_like(fresh)
        fresh_rng[span_dim] = fresh
        later = self.shapes.size("I", fresh_rng)
        outer = trips_above // np.maximum(loop.trips, 1)
        return outer * (first + (loop.trips - 1) * later)

    def crossing(
        self,
        tensor: str,
        bottom: int,
        multicast: bool = True,
        copy_levels: int | None = None,
        top: int = 0,
    ) -> np.ndarray:
        """:func:`crossing` of ``tensor`` across ``bottom`` by the loops in ``[top, bottom)``."""
        best = self.prefix(tensor, top)[bottom - top]
        copies = _copy_levels(multicast, copy_levels)
        for j, level, factor in self.fanouts(tensor):
            if top <= j < bottom and level < copies and factor is not None:
                best = best * factor
        return best

    def fanouts(self, tensor: str) -> list[tuple[int, int, np.ndarray | None]]:
        """Per spatial fan-out (loop index, level): the units it gives ``tensor`` separate words
        (1 on a dimension the tensor depends on, its units otherwise; None: 1 on every row)."""
        if tensor not in self._fanouts:
            out: list[tuple[int, int, np.ndarray | None]] = []
            for j, loop in enumerate(self.nest.loops):
                if loop.temporal:
                    continue
                uniform = self.shapes.uniform(tensor, loop.dim)
                factor: np.ndarray | None = None  # relevant on every row
                if uniform is None:
                    factor = np.where(self.relevant(tensor, loop.dim), 1, loop.trips)
                elif uniform is False:
                    factor = loop.trips
                out.append((j, loop.level, factor))
            self._fanouts[tensor] = out
        return self._fanouts[tensor]

    def shared_fanout(self, tensor: str, copy_levels: int) -> np.ndarray:
        """:func:`shared_fanout` of the nest."""
        shared = np.ones(self.shapes.weights.shape[0], np.int64)
        for _, level, factor in self.fanouts(tensor):
            if level >= copy_levels and factor is not None:
                shared = shared * factor
        return shared


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


def _copy_levels(multicast: bool, copy_levels: int | None) -> int:
    if copy_levels is not None:
        return copy_levels
    return 0 if multicast else 1 << 30


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


def step_footprints(nest: LoopNest, shapes: TensorShapes) -> dict[str, np.ndarray]:
    """Per tensor, the words of one image's PE step tile: what a PE's L1 holds of it while it
    computes (images share nothing but weights, so a PE takes its step's images one at a time)."""
    step = dict(nest.step_tile)
    step["N"] = np.ones_like(step["N"])
    return {t: shapes.size(t, step) for t in TENSORS}


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
    top_copies = _copy_levels(multicast, None)
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
