"""Progressive ("fluid") sharing of the off-chip bandwidth among running blocks (engine option).

The engine's default, ``offchip_sharing="dispatch"``, fixes a block's share when it is dispatched:
each of its layers takes ``max(latency_l, words_l x k / bw)`` with ``k`` = 1 + the accelerators
busy at dispatch, for the whole block; blocks already running are not slowed by a newcomer, nor
sped up when another ends. Under ``"fluid"`` the ``k`` running blocks share the bandwidth equally
at every instant: layer l of a block on accelerator a progresses at the rate
``1 / max(latency_l, words_l x k / bw)`` per cycle of a's clock. Whenever the set of running blocks
changes (a dispatch or a completion), every running block is advanced to that instant at the old
``k``, then its completion is re-timed at the new ``k``; the engine's old completion event of that
block is invalidated by a version number per accelerator.

- A block's fixed set-up (the migration latency of its input activation and a reconfiguration of a
  split array) is not re-timed: it runs first, at the duration charged at dispatch. The block counts
  in ``k`` from its dispatch.
- Alone (``k = 1`` throughout) a block takes exactly the dispatch rule's time, and a job's time
  does not depend on how it is cut into blocks (each layer progresses on its own, as in the
  dispatch rule). A block is never faster than alone and never slower than with every
  accelerator busy throughout.
- Energy does not depend on the share: it stays the tables' per-layer energy.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from rtmm.errors import SimulationError
from scheduler.costs import VariantCosts
from scheduler.result import TIMELINE_COLUMNS

SHARING = ("dispatch", "fluid")
#: Where a timeline row (:data:`~scheduler.result.TIMELINE_COLUMNS`) holds the completion time.
_COMPLETION = TIMELINE_COLUMNS.index("completion_ms")
#: Remaining time (ms) below which a re-timed block is complete now (float rounding).
_DONE_TOL_MS = 1e-9


def check_sharing(option: str) -> str:
    """``option`` if it names an off-chip sharing rule, else a :class:`SimulationError`."""
    if option not in SHARING:
        raise SimulationError(
            f"offchip_sharing {option!r} is not a sharing rule",
            source="<api>",
            field="offchip_sharing",
            allowed=", ".join(SHARING),
        )
    return option


class FluidBlock:
    """A running block's progress: set-up left, current layer and the fraction of it done."""

    __slots__ = ("cycles", "words", "ms_per_cycle", "setup_ms", "row", "layer", "frac", "at_ms")

    def __init__(
        self, costs: VariantCosts, start: int, n_layers: int, accelerator: int,
        ms_per_cycle: float, setup_ms: float, row: int, now_ms: float,
    ) -> None:  # fmt: skip
        end = start + n_layers
        self.cycles = costs.latency_cycles[start:end, accelerator].astype(np.float64)
        words = costs.offchip_words
        self.words = np.zeros(n_layers) if words is None else words[start:end, accelerator]
        self.ms_per_cycle = float(ms_per_cycle)
        self.setup_ms = float(setup_ms)
        self.row = row  # its row in the engine's timeline
        self.layer = 0  # index within the block of the layer in progress
        self.frac = 0.0  # fraction of that layer done
        self.at_ms = float(now_ms)  # the instant the progress refers to

    def durations_ms(self, cycles_per_word: float) -> np.ndarray:
        """Per layer of the block from the current one: its duration at this share (ms)."""
        i = self.layer
        cycles = np.maximum(self.cycles[i:], self.words[i:] * cycles_per_word)
        return cycles * self.ms_per_cycle

    def advance(self, now_ms: float, cycles_per_word: float) -> None:
        """Progress from ``at_ms`` to ``now_ms`` at the share ``1 / cycles_per_word``."""
        dt = now_ms - self.at_ms
        self.at_ms = now_ms
        if dt <= 0.0:
            return
        used = min(self.setup_ms, dt)
        self.setup_ms -= used
        dt -= used
        if dt <= 0.0 or self.layer >= len(self.cycles):
            return
        dur = self.durations_ms(cycles_per_word)
        first = (1.0 - self.frac) * dur[0]
        if dt < first:
            self.frac += dt / dur[0]
            return
        dt -= first
        ends = np.cumsum(dur[1:])  # end of each later layer, from the current one's end
        done = int(np.searchsorted(ends, dt, side="right"))
        if done:
            dt -= float(ends[done - 1])
        self.layer += 1 + done
        rest = dur[1 + done] if 1 + done < len(dur) else 0.0
        self.frac = min(dt / rest, 1.0) if rest > 0.0 else 0.0

    def remaining_ms(self, cycles_per_word: float) -> float:
        """Time to finish the block at this share from ``at_ms`` (ms)."""
        if self.layer >= len(self.cycles):
            return self.setup_ms
        dur = self.durations_ms(cycles_per_word)
        return self.setup_ms + (1.0 - self.frac) * float(dur[0]) + float(dur[1:].sum())


def fluid_sharing(
    option: str, bw_words_per_cycle: float | None, ms_per_cycle: np.ndarray, push: Callable,
    complete_kind: int, done_ms: np.ndarray, rows: list[tuple],
) -> FluidSharing | None:  # fmt: skip
    """The engine's :class:`FluidSharing` under ``option="fluid"`` in a run with contention, else
    ``None`` (``option`` checked: :func:`check_sharing`)."""
    if check_sharing(option) != "fluid" or not bw_words_per_cycle:
        return None
    return FluidSharing(bw_words_per_cycle, ms_per_cycle, push, complete_kind, done_ms, rows)


class FluidSharing:
    """The fluid rule for one engine run: running blocks, their versions, their re-timing.

    The engine hands it its event push (``push(time, kind, accelerator, version)``), its live
    array of completion times per accelerator (``SchedulerState.busy_until_ms``) and its timeline
    rows; :meth:`start` and :meth:`finish` keep all three consistent.
    """

    def __init__(
        self, bw_words_per_cycle: float, ms_per_cycle: np.ndarray, push: Callable,
        complete_kind: int, done_ms: np.ndarray, rows: list[tuple],
    ) -> None:  # fmt: skip
        self.bw = float(bw_words_per_cycle)
        self.ms_per_cycle = np.asarray(ms_per_cycle, dtype=float)
        num_acc = len(self.ms_per_cycle)
        self.blocks: list[FluidBlock | None] = [None] * num_acc
        self.version = [0] * num_acc
        self.k = 0  # running blocks
        self.push, self.kind, self.done_ms, self.rows = push, complete_kind, done_ms, rows

    def _advance(self, now_ms: float) -> None:
        cpw = self.k / self.bw
        for b in self.blocks:
            if b is not None:
                b.advance(now_ms, cpw)

    def start(
        self, accelerator: int, costs: VariantCosts | None, start: int, n_layers: int,
        move_ms: float, setup_cycles: float, now_ms: float,
    ) -> None:  # fmt: skip
        """Layers ``[start, start + n_layers)`` of a job start on ``accelerator`` now, after
        ``move_ms`` of migration and ``setup_cycles`` of reconfiguration (the block's set-up), its
        timeline row the last one: re-time every running block."""
        if costs is None:
            raise SimulationError("internal: a block without costs", source="<engine>")
        mpc = float(self.ms_per_cycle[accelerator])
        setup_ms = move_ms + setup_cycles * mpc
        block = FluidBlock(costs, start, n_layers, accelerator, mpc, setup_ms, len(self.rows) - 1,
                           now_ms)  # fmt: skip
        self._advance(now_ms)
        self.blocks[accelerator] = block
        self.done_ms[accelerator] = np.nan  # never "unchanged": the new block gets its event
        self.k += 1
        self._retime(now_ms)

    def finish(self, accelerator: int, now_ms: float) -> None:
        """The block on ``accelerator`` ends now: its timeline row gets the fluid completion time,
        every other running block is re-timed."""
        self._advance(now_ms)
        block = self.blocks[accelerator]
        if block is None:
            raise SimulationError(f"internal: no fluid block on {accelerator}", source="<engine>")
        self.blocks[accelerator] = None
        self.k -= 1
        row = self.rows[block.row]
        self.rows[block.row] = (*row[:_COMPLETION], now_ms, *row[_COMPLETION + 1 :])
        self._retime(now_ms)

    def _retime(self, now_ms: float) -> None:
        cpw = self.k / self.bw
        for a, b in enumerate(self.blocks):
            if b is None:
                continue
            rem = b.remaining_ms(cpw)
            done = now_ms if rem <= _DONE_TOL_MS else now_ms + rem
            if done == self.done_ms[a]:
                continue  # unchanged: its pending event stays valid
            self.version[a] += 1
            self.done_ms[a] = done
            self.push(done, self.kind, a, self.version[a])

    def current(self, accelerator: int, version: int) -> bool:
        """Whether a completion event of ``accelerator`` with ``version`` is still valid."""
        return version == self.version[accelerator]

    def purge(self, heap: list[tuple]) -> None:
        """Pop invalidated completion events from the top of the engine's heap."""
        while heap and heap[0][1] == self.kind and heap[0][4] != self.version[heap[0][3]]:
            heapq.heappop(heap)
