"""One loop nest's tiles and its reuse walk (the ``native`` analysis, ``reuse``).

:class:`TensorShapes` holds the per-row facts the tile sizes need; :class:`NestWalk` computes,
once per nest, the range of every dimension below every loop position, each tensor's tile
there, and each tensor's crossings walked once over the loops, by the reuse rule of
:mod:`costmodel.reuse` (which uses it for the crossings, the L2 position and the traffic).
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


class NestWalk:
    """One nest's tiles and crossings, each computed once: the ranges below every loop
    position, each tensor's tile at every position, and each tensor's crossings at every
    position walked once (:meth:`prefix`), so the crossings at any boundary, the L2 position
    and the traffic of one nest share one walk per tensor (the same arithmetic as
    :func:`costmodel.reuse.crossing` alone: bit-identical results)."""

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
        """The ranges below loop ``position`` across every unit (as ``costmodel.reuse._ranges``)."""
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

    def footprints(self) -> dict[str, np.ndarray]:
        """Per tensor t, ``pe_<t>``: the words one PE holds (its step tile), and ``chip_<t>``:
        the words L2 must hold for one step of the whole array (the mapper's capacity check)."""
        pe, last = self.step(), len(self.nest.loops)
        out = {f"pe_{t}": pe[t] for t in TENSORS}
        out.update({f"chip_{t}": self.size(t, last) for t in TENSORS})
        return out

    def relevant(self, tensor: str, dim: str) -> np.ndarray:
        key = (tensor, dim)
        if key not in self._relevant:
            self._relevant[key] = self.shapes.relevant(tensor, dim)
        return self._relevant[key]

    def prefix(self, tensor: str, top: int = 0) -> list[np.ndarray]:
        """Per boundary position b (``top`` … number of loops; entry b - ``top``): the words of
        ``tensor`` moved across b by the loops in ``[top, b)``, before fan-out copies (the
        reuse rule of :mod:`costmodel.reuse`)."""
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
        """:func:`costmodel.reuse.crossing` of ``tensor`` across ``bottom`` by the loops in
        ``[top, bottom)``."""
        best = self.prefix(tensor, top)[bottom - top]
        copies = copies_of(multicast, copy_levels)
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
        """:func:`costmodel.reuse.shared_fanout` of the nest."""
        shared = np.ones(self.shapes.weights.shape[0], np.int64)
        for _, level, factor in self.fanouts(tensor):
            if level >= copy_levels and factor is not None:
                shared = shared * factor
        return shared


def copies_of(multicast: bool, copy_levels: int | None) -> int:
    if copy_levels is not None:
        return copy_levels
    return 0 if multicast else 1 << 30


def step_footprints(nest: LoopNest, shapes: TensorShapes) -> dict[str, np.ndarray]:
    """Per tensor, the words of one image's PE step tile: what a PE's L1 holds of it while it
    computes (images share nothing but weights, so a PE takes its step's images one at a time)."""
    step = dict(nest.step_tile)
    step["N"] = np.ones_like(step["N"])
    return {t: shapes.size(t, step) for t in TENSORS}
