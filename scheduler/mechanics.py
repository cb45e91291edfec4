"""Frame mechanics the native engine applies identically under every policy.

A comparison of schedulers is a comparison of decision rules, so what a frame *can* do — be
abandoned when it can no longer finish, be held back from an accelerator on which it would miss,
pay for moving its activations between accelerators — belongs to the engine, not to one policy:

- **hopeless drop** (``drop_delta``): at every decision instant the engine drops each ready job
  (started or not) whose *best-case remaining latency* exceeds ``drop_delta x slack``. The best
  case is the least contention-free time of the job's remaining layers over every assignment of
  layers to accelerators, the migration latency of every move included
  (:mod:`scheduler.lower_bound`): nothing can make it finish sooner, so with ``drop_delta >= 1``
  no frame that could still meet its deadline is dropped. (On a system whose accelerators
  differ, the rest alone on its fastest accelerator is not such a bound: issue 12o.) A job is
  kept if dropping it would take along a cascade child that could still meet its own, later
  deadline.
  Dropped frames' cascade children are settled by the engine (dropped or not triggered).
- **contention-aware drop** (``contention_drop``, off by default; acts only when the run has
  off-chip contention): the drop test uses instead an *estimate* of the remaining latency if the
  current off-chip load lasts: on each accelerator a, the wait until a frees up (0 if idle) plus
  the remaining layers under the engine's contention rule (per layer ``max(latency_a, off-chip
  words_a x k / bandwidth)``, summed) with ``k`` = 1 + the accelerators busy now (plus the
  migration latency), minimised over accelerators. It is an estimate, not a lower
  bound: when accelerators free up the job gets a larger share. With it ``drop_delta`` is the
  factor by which the estimate may exceed the slack before the frame is dropped: ``delta = 1``
  drops a frame that would miss if the current load lasted, and can drop one that would have
  finished had it eased.
- **feasibility-aware placement** (``feasible_placement``, off by default): a dispatch of a block
  of a job to an accelerator is allowed only if, after that block, the rest of the job can still
  finish by its deadline on some accelerator (for a whole-model dispatch: the job can finish
  there). Otherwise the engine holds the job back (it stays ready, the accelerator stays free for
  the other ready jobs) — "take a free accelerator only if the job can still finish there, else
  wait". A job that cannot finish anywhere is not restricted.
- **contention-aware placement** (``contention_placement``, off by default; acts only with
  feasibility-aware placement and off-chip contention): the placement test charges the block the
  latency the engine will give it — per layer ``max(latency, off-chip words x (1 + busy
  accelerators) / bandwidth)``, summed; exact at dispatch — instead of its contention-free latency;
  the rest of the job stays at its best case. The test stays a necessary condition: it never holds
  back a dispatch after which the job could still finish.
- **migration cost** (``migration``): a block that runs on another accelerator than the job's
  previous block first moves its input activation through shared memory: ``input_words`` at the
  system's off-chip bandwidth (latency) and one DRAM write plus one DRAM read per word (energy, at
  the source's and the destination's DRAM energy per access). ``None`` applies it whenever the
  cost arrays carry per-layer input sizes (every table built from the model zoo does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rtmm.errors import SimulationError
from scheduler.costs import CostArrays, VariantCosts
from scheduler.lower_bound import plan_segment_layers, remaining_lower_bound_ms, suffix_best_ms
from scheduler.state import Job


@dataclass(frozen=True)
class FrameMechanics:
    """The engine's frame mechanics (module docstring). The defaults are the fair ones."""

    drop_delta: float | None = 1.0
    feasible_placement: bool = False
    migration: bool | None = None
    contention_drop: bool = False
    contention_placement: bool = False

    def __post_init__(self) -> None:
        d = self.drop_delta
        if d is not None and not (isinstance(d, int | float) and math.isfinite(d) and d >= 1):
            raise SimulationError(
                f"drop_delta {d!r} would drop frames that can still finish on time",
                source="<api>",
                field="drop_delta",
                allowed="None or a finite number >= 1",
            )

    def label(self) -> str:
        """Short description for tables: which mechanics were on."""
        drop = "off" if self.drop_delta is None else f"delta={self.drop_delta:g}"
        place = "feasible" if self.feasible_placement else "any"
        if self.feasible_placement and self.contention_placement:
            place += " (contention-aware)"
        mig = {None: "auto", True: "on", False: "off"}[self.migration]
        est = ", contention-aware" if self.contention_drop and self.drop_delta is not None else ""
        return f"drop {drop}{est}, placement {place}, migration {mig}"


@dataclass(frozen=True, eq=False)
class Migration:
    """Cost of moving a job's activations between accelerators through shared memory."""

    bw_words_per_cycle: float
    dram_pj_per_word: np.ndarray  # per accelerator

    def cycles(self, words: float) -> float:
        return float(words) / self.bw_words_per_cycle

    def energy_nj(self, words: float, source: int, dest: int) -> float:
        return (
            float(words) * float(self.dram_pj_per_word[source] + self.dram_pj_per_word[dest]) / 1e3
        )


def resolve_migration(option: bool | None, costs: CostArrays, system: object) -> Migration | None:
    """The :class:`Migration` of a run, or ``None`` when migration is free.

    ``option=None`` (auto) charges migration when every variant has ``input_words`` and the system
    has an off-chip bandwidth; ``True`` requires both (else a :class:`SimulationError`).
    """
    if option is False:
        return None
    missing = [v.name for m in costs.models for v in m.variants if v.input_words is None]
    bw = getattr(system, "offchip_bw_words_per_cycle", None)
    accs = getattr(system, "accelerators", ())
    dram = [getattr(getattr(a, "energy", None), "dram_pj", None) for a in accs]
    usable = not missing and bw and len(dram) == costs.num_accelerators and None not in dram
    if not usable:
        if option is None:
            return None
        why = f"no input activation sizes for {missing[0]}" if missing else "no off-chip bandwidth"
        raise SimulationError(
            f"migration cost: {why}",
            source="<api>",
            field="migration",
            allowed="an input_words column in the cost table (or zoo models), or migration=False",
        )
    return Migration(float(bw or 0.0), np.asarray(dram, dtype=float))


def _costs(job: Job) -> VariantCosts:
    """The costs of the variant ``job`` runs (set by the engine before any mechanics apply)."""
    if job.costs is None:
        raise SimulationError(f"internal: job of model {job.model} has no costs", source="<engine>")
    return job.costs


def _input_words(costs: VariantCosts) -> np.ndarray:
    """Per layer, its input activation in words (present whenever migration is charged)."""
    if costs.input_words is None:
        raise SimulationError(f"internal: {costs.name} has no input sizes", source="<engine>")
    return costs.input_words


#: Tolerance (ms) of "needs no more than its least remaining time" (float sums in another order).
PLAN_TOL_MS = 1e-6


class MechanicsRuntime:
    """The mechanics' arithmetic for one run; the engine and policies share it via the state."""

    def __init__(
        self,
        options: FrameMechanics,
        migration: Migration | None,
        costs: CostArrays,
        periods_ms: np.ndarray,
        children: list[tuple[int, ...]],
        horizon_ms: float,
    ) -> None:
        self.options = options
        self.migration = migration
        self.ms_per_cycle = 1e3 / np.asarray(costs.clock_hz, dtype=float)
        self.periods_ms = np.asarray(periods_ms, dtype=float)
        self.children = children
        self.horizon_ms = float(horizon_ms)
        #: Off-chip contention of the run (``bind_contention``): bandwidth and the live list of
        #: running jobs per accelerator; ``None`` when the run has no contention.
        self.offchip_bw: float | None = None
        self.running: list | None = None
        self.busy_until_ms: np.ndarray = np.zeros(len(self.ms_per_cycle))
        self._split_cache: dict[VariantCosts, tuple[np.ndarray, np.ndarray]] = {}
        self._plan_cache: dict[tuple[VariantCosts, int, int], int] = {}
        self._single_cache: dict[tuple[VariantCosts, int, int], float] = {}
        self._best_full_ms = np.array(  # fastest variant of each model, best placed layer by layer
            [
                min(float(self._split_tables(v)[0][0].min()) for v in mc.variants)
                for mc in costs.models
            ]
        )

    def bind_contention(
        self, offchip_bw: float | None, running: list, busy_until_ms: np.ndarray
    ) -> None:
        """The engine's off-chip bandwidth (words per cycle, ``None``: no contention), its live
        list of running jobs and array of their end times per accelerator (read by the
        contention-aware drop estimate)."""
        self.offchip_bw = offchip_bw
        self.running = running
        self.busy_until_ms = busy_until_ms

    # --- migration ---------------------------------------------------------------------------
    def move_ms(self, job: Job, layer: int | None = None, source: int | None = None) -> np.ndarray:
        """Per accelerator: migration latency (ms) of running layer ``layer`` (default: the job's
        next) there after a block on ``source`` (default: the job's last accelerator)."""
        n = len(self.ms_per_cycle)
        src = job.last_accelerator if source is None else source
        if self.migration is None or src < 0:
            return np.zeros(n)
        layer = job.next_layer if layer is None else layer
        costs = _costs(job)
        if layer >= costs.num_layers:
            return np.zeros(n)
        cycles = self.migration.cycles(_input_words(costs)[layer])
        out = cycles * self.ms_per_cycle
        out[src] = 0.0
        return out

    def move_energy_nj(self, job: Job, accelerator: int) -> float:
        src = job.last_accelerator
        if self.migration is None or src < 0 or src == accelerator:
            return 0.0
        words = _input_words(_costs(job))[job.next_layer]
        return self.migration.energy_nj(words, src, accelerator)

    # --- best case and drop ------------------------------------------------------------------
    def remaining_ms(self, job: Job) -> np.ndarray:
        """Per accelerator: the job's remaining layers alone there, migration included (ms)."""
        rem = _costs(job).remaining_latency_cycles(job.next_layer) * self.ms_per_cycle
        return rem + self.move_ms(job)

    def single_best_ms(self, job: Job) -> float:
        """The least over accelerators of :meth:`remaining_ms` (the rest alone on one
        accelerator, migration included), memoised per variant, next layer and previous
        accelerator."""
        key = (_costs(job), job.next_layer, job.last_accelerator)
        best = self._single_cache.get(key)
        if best is None:
            best = self._single_cache[key] = float(self.remaining_ms(job).min())
        return best

    def best_remaining_ms(self, job: Job) -> float:
        """Lower bound on the time the job still needs: its remaining layers placed layer by
        layer where they finish first, migration included (:mod:`scheduler.lower_bound`)."""
        best, move_in = self._split_tables(_costs(job))
        return remaining_lower_bound_ms(best, move_in, job.next_layer, job.last_accelerator)

    def plan_layers(self, job: Job, accelerator: int) -> int:
        """Layers from the job's next one that its fastest continuation starting on
        ``accelerator`` runs there (:func:`~scheduler.lower_bound.plan_segment_layers`): a block
        of at most this many layers there, then the rest at the best case, needs the least time
        any continuation starting on ``accelerator`` needs. Information every policy may read."""
        c = _costs(job)
        key = (c, job.next_layer, accelerator)
        n = self._plan_cache.get(key)
        if n is None:
            best, move_in = self._split_tables(c)
            n = self._plan_cache[key] = plan_segment_layers(
                best, move_in, job.next_layer, accelerator
            )
        return n

    def split_only_least_ms(self, job: Job, now_ms: float) -> float | None:
        """The job's least remaining time (:meth:`best_remaining_ms`) when only a split across
        accelerators can finish it by its deadline: no single accelerator can
        (:meth:`single_best_ms` above the slack) but the best case can. ``None`` otherwise (it
        fits on one accelerator, or it is hopeless)."""
        slack = job.deadline_ms - now_ms
        if self.single_best_ms(job) <= slack:
            return None
        least = self.best_remaining_ms(job)
        return None if least > slack else least

    def plan_block(
        self, job: Job, accelerator: int, max_layers: int, least_ms: float
    ) -> tuple[int, bool]:
        """The job's next block on ``accelerator`` cut where its fastest continuation from there
        moves (at most ``max_layers``, :meth:`plan_layers`), and whether that start lies on a
        fastest split: the job then still needs no more than ``least_ms``
        (:meth:`split_only_least_ms`), up to :data:`PLAN_TOL_MS`."""
        n = min(int(max_layers), self.plan_layers(job, accelerator))
        return n, self.continue_need_ms(job, accelerator, n, None) <= least_ms + PLAN_TOL_MS

    def _split_tables(self, costs: VariantCosts) -> tuple[np.ndarray, np.ndarray]:
        """The suffix minima and per-layer move-in latencies of ``costs`` (ms), once per run."""
        tables = self._split_cache.get(costs)
        if tables is None:
            latency_ms = costs.latency_cycles * self.ms_per_cycle
            if self.migration is None:
                move_in = np.zeros_like(latency_ms)
            else:
                words = _input_words(costs).astype(float)
                move_in = np.outer(words / self.migration.bw_words_per_cycle, self.ms_per_cycle)
            tables = self._split_cache[costs] = (suffix_best_ms(latency_ms, move_in), move_in)
        return tables

    def contended_remaining_ms(self, job: Job, now_ms: float) -> np.ndarray:
        """Per accelerator a: the wait until a frees up plus the job's remaining layers on a under
        the off-chip bandwidth share of the current load (the engine's contention rule, layer by
        layer, with ``k`` = 1 + the accelerators busy now), migration included (ms). Equal to
        :meth:`remaining_ms` without contention. An estimate, not a lower bound (module
        docstring)."""
        bw, running = self.offchip_bw, self.running
        c = _costs(job)
        if bw is None or running is None or c.offchip_words is None:
            return self.remaining_ms(job)
        busy = np.array([r is not None for r in running], dtype=bool)
        wait = np.where(busy, np.maximum(np.asarray(self.busy_until_ms) - now_ms, 0.0), 0.0)
        start = job.next_layer
        k = 1.0 + busy.sum()
        contended = c.contended_latency_cycles(start, c.num_layers - start, k / bw)
        return wait + contended * self.ms_per_cycle + self.move_ms(job)

    def drop_estimate_ms(self, job: Job, now_ms: float) -> float:
        """The remaining latency the drop test compares with ``drop_delta x slack``: the best
        case, or with ``contention_drop`` in a run with contention the contended estimate
        (module docstring)."""
        contended = self.offchip_bw is not None and self.running is not None
        if self.options.contention_drop and contended and _costs(job).offchip_words is not None:
            return float(self.contended_remaining_ms(job, now_ms).min())
        return self.best_remaining_ms(job)

    def hopeless(self, job: Job, now_ms: float) -> bool:
        """True if the job should be dropped now under ``drop_delta`` (module docstring)."""
        delta = self.options.drop_delta
        if delta is None:
            return False
        need = self.drop_estimate_ms(job, now_ms)
        if need <= delta * (job.deadline_ms - now_ms):
            return False
        return not self._descendant_could_finish(job.model, job.frame, now_ms + need)

    def hopeless_at_ms(self, job: Job, now_ms: float) -> float:
        """The time from which :meth:`hopeless` holds if nothing runs (ignoring descendants)."""
        delta = self.options.drop_delta
        if delta is None:
            return math.inf
        return job.deadline_ms - self.drop_estimate_ms(job, now_ms) / delta

    def _descendant_could_finish(self, model: int, frame: int, finish_ms: float, depth=0) -> bool:
        """Could a cascade descendant of (model, frame) still meet its deadline if the frame
        finished at ``finish_ms`` (each descendant then alone on its fastest accelerator)?"""
        if depth > len(self.children):
            return False
        for c in self.children[model]:
            period = float(self.periods_ms[c])
            if frame >= int(np.floor(self.horizon_ms / period + 1e-9)):
                continue
            done = finish_ms + self._best_full_ms[c]
            if done <= (frame + 1) * period or self._descendant_could_finish(
                c, frame, done, depth + 1
            ):
                return True
        return False

    # --- placement ---------------------------------------------------------------------------
    def block_cycles(self, job: Job, accelerator: int, n_layers: int, busy: int | None) -> float:
        """The engine's latency of ``job``'s next ``n_layers`` on ``accelerator`` with ``busy``
        accelerators busy at dispatch, itself included: per layer ``max(latency, off-chip words x
        busy / bandwidth)``, summed (:meth:`VariantCosts.contended_latency_cycles`); ``busy=None``
        or a run without contention: the latency alone (cycles)."""
        c, start, a = _costs(job), job.next_layer, accelerator
        if busy is None or not self.offchip_bw:
            return float(c.block_latency_cycles(start, n_layers, a))
        return float(c.contended_latency_cycles(start, n_layers, busy / self.offchip_bw)[a])

    def block_ms(self, job: Job, accelerator: int, n_layers: int, busy: int | None) -> float:
        """:meth:`block_cycles` in ms."""
        return float(
            self.block_cycles(job, accelerator, n_layers, busy) * self.ms_per_cycle[accelerator]
        )

    def can_continue(
        self, job: Job, accelerator: int, n_layers: int, now_ms: float, busy: int | None = None
    ) -> bool:
        """Could ``job`` still meet its deadline after running ``n_layers`` on ``accelerator`` now?

        True also when it cannot meet it anywhere (placement is then not restricted). The block
        is charged :meth:`block_ms` with ``busy`` accelerators busy; by default none (best case),
        or with ``contention_placement`` the accelerators busy now plus itself.
        """
        slack = job.deadline_ms - now_ms
        if self.best_remaining_ms(job) > slack:
            return True
        if busy is None and self.options.contention_placement and self.running is not None:
            busy = 1 + sum(r is not None for r in self.running)  # the engine's rule at dispatch
        return self.continue_need_ms(job, accelerator, n_layers, busy) <= slack

    def continue_need_ms(
        self, job: Job, accelerator: int, n_layers: int, busy: int | None
    ) -> float:
        """The time (ms from now) ``job`` needs to finish when its next ``n_layers`` run on
        ``accelerator`` with ``busy`` accelerators busy, migration included, then the rest at its
        best case (:meth:`best_remaining_ms`, leaving ``accelerator``): what :meth:`can_continue`
        compares with the slack. A function of the job's variant, next layer and previous
        accelerator, not of the time, so a policy may cache it (SDRM3's contention hold does)."""
        c, start, a = _costs(job), job.next_layer, accelerator
        end_layer = start + n_layers
        block = self.block_ms(job, a, n_layers, busy)
        end = float(self.move_ms(job)[a] + block)
        if end_layer >= c.num_layers:
            return end
        best, move_in = self._split_tables(c)
        return end + remaining_lower_bound_ms(best, move_in, end_layer, a)

    def placeable(self, job: Job, accelerators, n_layers, now_ms: float) -> np.ndarray:
        """:meth:`can_continue` for each of ``accelerators`` (``n_layers`` one per accelerator,
        or one int); all True when feasibility-aware placement is off."""
        accs = list(accelerators)
        if not self.options.feasible_placement:
            return np.ones(len(accs), dtype=bool)
        ns = [n_layers] * len(accs) if isinstance(n_layers, int | np.integer) else list(n_layers)
        return np.array(
            [self.can_continue(job, a, int(n), now_ms) for a, n in zip(accs, ns, strict=True)],
            dtype=bool,
        )


@dataclass(frozen=True)
class Partition:
    """Spatial fission of physical arrays into sub-arrays (the cost arrays' accelerators are
    *units*: whole arrays and their sub-arrays).

    ``physical[u]`` is the physical array of unit u and ``split[u]`` whether u is a sub-array.
    A whole array and its sub-arrays share hardware: the whole array is free only if none of its
    sub-arrays runs, and a sub-array only if the whole array does not run (sub-arrays of the same
    array run concurrently). Switching an array between whole and split mode costs
    ``reconfig_cycles`` before the first block in the new mode.
    """

    physical: tuple[int, ...]
    split: tuple[bool, ...]
    reconfig_cycles: float = 0.0

    def __post_init__(self) -> None:
        if len(self.physical) != len(self.split) or not (
            math.isfinite(self.reconfig_cycles) and self.reconfig_cycles >= 0
        ):
            raise SimulationError(
                "partition: physical and split must have one entry per unit",
                source="<api>",
                allowed="equal lengths, reconfig_cycles >= 0",
            )

    def conflicts(self, unit: int) -> tuple[int, ...]:
        """Units that cannot run while ``unit`` runs."""
        p, s = self.physical[unit], self.split[unit]
        return tuple(
            u for u in range(len(self.physical)) if self.physical[u] == p and self.split[u] != s
        )
