"""Native discrete-event engine: layer-block dispatch, full per-frame accounting.

Events live in a heap ordered by (time, kind, sequence): block completions first, then frame
releases, then window boundaries, so an accelerator freed at t is available to a frame released at
t. After all events of one instant are applied the engine

1. drops hopeless ready jobs (:mod:`scheduler.mechanics`: best-case remaining latency — or, with
   ``contention_drop``, its estimate under the current off-chip contention — beyond
   ``drop_delta x slack``, started jobs included) — or, with ``drop_delta=None``, only unstarted
   jobs whose deadline has passed (``drop_expired``), then
2. asks the policy for decisions if a job is ready and an accelerator idle (or always, for a policy
   with ``decide_when_busy``), validates them and applies them; with feasibility-aware placement a
   dispatch after which the job could no longer finish is held back and the policy is asked again
   without that job.

The mechanics (:class:`scheduler.mechanics.FrameMechanics`: hopeless drop, placement, migration
cost) are the engine's, identical for every policy.

Semantics:

- model m has period T_m = 1000 / FPS ms (float); frame f is released at f T_m + jitter (jitter
  uniform in [0, ``jitter_ms``), drawn per frame) with deadline (f + 1) T_m; the frames released are
  those whose deadline is within the horizon. After the horizon no frame is released and the run
  continues until every released frame is resolved, so every frame ends in exactly one of
  ``on_time``, ``late``, ``dropped``, ``not_triggered``.
- cascades: a child's frame f is *ready* only once its parent's frame f has completed (and not
  before its own release); whether it runs at all is a Bernoulli(p) draw per frame, made up front
  from the seeded generator (it models "did the parent's output trigger the child", a property of
  the input). If the parent's frame is dropped, a child frame that would have been triggered is
  dropped too (the event it should have handled was missed); one that would not have been triggered
  is ``not_triggered``. A child of a not-triggered frame is not triggered. This applies down chains.
- a block ``[next_layer, next_layer + n)`` runs non-preemptively on one accelerator for the sum of
  its layers' latencies (cycles / clock); its energy is the sum of its layers' energies, plus the
  migration cost when it runs on another accelerator than the job's previous block. With
  ``offchip_contention`` each layer of the block takes at least its off-chip words x (number of
  busy accelerators at dispatch, itself included) / the system's off-chip bandwidth — a
  processor-sharing approximation evaluated at dispatch time, applied layer by layer because a
  layer's latency in the cost tables overlaps its transfers with its own compute only (so a job's
  contended latency does not depend on how it is cut into blocks). With
  ``offchip_sharing="fluid"`` the running blocks share the bandwidth at every instant instead,
  re-timed whenever a block starts or ends (:mod:`scheduler.fluid`).
- workload changes (``probability_changes``: ``(model, time_ms, p)``): frames of the model
  released from ``time_ms`` on are triggered with probability ``p`` — a model joins (0 -> 1) or
  leaves (1 -> 0), a cascade's probability moves — drawn from the same random stream.
- same seed -> same result: the random streams (triggers, jitter, the policy's generator) are
  independent children of ``numpy.random.SeedSequence(seed)`` and drawn independently of the policy.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rtmm.errors import SimulationError
from scheduler.costs import CostArrays
from scheduler.decisions import Dispatch, Drop
from scheduler.fluid import fluid_sharing
from scheduler.mechanics import FrameMechanics, MechanicsRuntime, Migration, Partition
from scheduler.result import frames_frame, timeline_frame
from scheduler.state import FrameStatus, Job, RunningMetrics, SchedulerState, WindowMetrics

if TYPE_CHECKING:
    from scheduler.policies.base import Policy

_COMPLETE, _RELEASE, _WINDOW, _WAKE = 0, 1, 2, 3


class NativeEngine:
    """One native run. Build it, call :meth:`run`, read the row lists it returns."""

    def __init__(
        self,
        *,
        model_ids: tuple[str, ...],
        fps: tuple[float, ...],
        parents: tuple[int | None, ...],
        probabilities: np.ndarray,
        costs: CostArrays,
        policy: Policy,
        horizon_ms: float,
        trigger_rng: np.random.Generator,
        jitter_rng: np.random.Generator,
        jitter_ms: float = 0.0,
        window_ms: float | None = None,
        drop_expired: bool = True,
        offchip_bw_words_per_cycle: float | None = None,
        mechanics: FrameMechanics | None = None,
        migration: Migration | None = None,
        partition: Partition | None = None,
        probability_changes: Sequence[tuple[int, float, float]] = (),
        offchip_sharing: str = "dispatch",
    ) -> None:
        self.model_ids = model_ids
        self.parents = parents
        self.probabilities = np.asarray(probabilities, dtype=float)
        self.costs = costs
        self.policy = policy
        self.horizon_ms = float(horizon_ms)
        self.window_ms = window_ms
        self.drop_expired = drop_expired
        self.offchip_bw = offchip_bw_words_per_cycle
        self.num_acc = costs.num_accelerators
        self.ms_per_cycle = 1e3 / np.asarray(costs.clock_hz, dtype=float)
        self.periods_ms = np.array([1000.0 / f for f in fps])
        self.children = [
            tuple(c for c, p in enumerate(parents) if p == m) for m in range(len(model_ids))
        ]
        self.options = FrameMechanics(drop_delta=None) if mechanics is None else mechanics
        self.mech = MechanicsRuntime(
            self.options, migration, costs, self.periods_ms, self.children, self.horizon_ms
        )
        self.running_move_nj: list[float] = [0.0] * self.num_acc
        self.partition = partition
        if partition is not None and len(partition.physical) != self.num_acc:
            raise SimulationError(
                f"partition has {len(partition.physical)} units for {self.num_acc} accelerators",
                source="<api>",
            )
        self.conflicts = [
            partition.conflicts(a) if partition is not None else () for a in range(self.num_acc)
        ]
        self.array_mode: dict[int, bool] = {}
        self.probability_changes = tuple(sorted(probability_changes, key=lambda c: c[1]))
        self.jobs = self._make_jobs(trigger_rng, jitter_rng, jitter_ms)
        self.metrics = RunningMetrics.zeros(len(model_ids))
        self.ready: list[Job] = []
        self.running: list[Job | None] = [None] * self.num_acc
        self.running_n: list[int] = [0] * self.num_acc
        self.running_done_ms = np.zeros(self.num_acc)
        self.mech.bind_contention(offchip_bw_words_per_cycle, self.running, self.running_done_ms)
        self.heap: list[tuple] = []
        self.seq = 0
        self.now = 0.0
        self.block_rows: list[tuple] = []
        self.fluid = fluid_sharing(
            offchip_sharing, offchip_bw_words_per_cycle, self.ms_per_cycle,
            self._push, _COMPLETE, self.running_done_ms, self.block_rows,
        )  # fmt: skip
        #: What a policy needs to replay the engine from a state (``scheduler.replay``): the
        #: running blocks' layer counts and migration energies (live lists) and the options.
        self.state_extra = {
            "running_n": self.running_n,
            "running_move_nj": self.running_move_nj,
            "offchip_bw_words_per_cycle": offchip_bw_words_per_cycle,
            "drop_expired": drop_expired,
            "offchip_sharing": offchip_sharing,
        }

    # --- setup -------------------------------------------------------------------------------
    def _make_jobs(
        self, trigger_rng: np.random.Generator, jitter_rng: np.random.Generator, jitter_ms: float
    ) -> list[list[Job]]:
        jobs = []
        for m, period in enumerate(self.periods_ms):
            n = int(np.floor(self.horizon_ms / period + 1e-9))
            p = np.full(n, self.probabilities[m])
            for model, at_ms, new_p in self.probability_changes:  # workload changes mid-run
                if model == m:
                    p[np.arange(n) * period >= at_ms] = new_p
            triggers = trigger_rng.random(n) < p
            jitter = jitter_rng.random(n) * jitter_ms if jitter_ms > 0 else np.zeros(n)
            jobs.append(
                [
                    Job(
                        m, self.model_ids[m], f, float(period), f * period + float(jitter[f]),
                        (f + 1) * period, self.parents[m], bool(triggers[f]),
                    )
                    for f in range(n)
                ]
            )  # fmt: skip
        return jobs

    def _push(self, time: float, kind: int, a: int, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (time, kind, self.seq, a, b))

    # --- main loop ---------------------------------------------------------------------------
    def run(self) -> tuple:
        for model_jobs in self.jobs:
            for job in model_jobs:
                self._push(job.release_ms, _RELEASE, job.model, job.frame)
        if self.window_ms:
            k = 1
            while k * self.window_ms <= self.horizon_ms + 1e-9:
                self._push(k * self.window_ms, _WINDOW, k - 1)
                k += 1
        self._window_snapshot = self.metrics.copy()
        while self.heap:
            self._step()
        return self._frame_rows(), timeline_frame(self.block_rows), self.now

    def _step(self) -> None:
        """One step of the event loop: handle every event at the earliest time on the heap, then
        drop hopeless frames, let the policy decide, or wake/stall (shared with the replay)."""
        heap = self.heap
        self.now = now = heap[0][0]
        while heap and heap[0][0] == now:
            _, kind, _, a, b = heapq.heappop(heap)
            if kind == _COMPLETE and (self.fluid is None or self.fluid.current(a, b)):
                self._complete_block(a)  # (a stale fluid completion matches no branch)
            elif kind == _RELEASE:
                self._release(self.jobs[a][b])
            elif kind == _WINDOW:
                self._window(a)
        if self.ready:
            self._drop_hopeless(now)
        if self.ready and (self.policy.decide_when_busy or self._idle()):
            self._decide()
        if self.fluid is not None:
            self.fluid.purge(heap)  # re-timed blocks' stale completions
        if not heap and self.ready:
            self._wake_or_stall()

    def _drop_hopeless(self, now: float) -> None:
        if self.options.drop_delta is not None:
            doomed = [j for j in self.ready if self.mech.hopeless(j, now)]
        elif self.drop_expired:
            doomed = [j for j in self.ready if j.deadline_ms < now and j.next_layer == 0]
        else:
            return
        for job in doomed:
            self._drop(job)

    def _wake_or_stall(self) -> None:
        """Nothing is pending but jobs are ready: wake up when the first can be dropped, or fail."""
        if self.options.drop_delta is not None:
            times = [self.mech.hopeless_at_ms(j, self.now) for j in self.ready]
        elif self.drop_expired:
            times = [j.deadline_ms for j in self.ready if j.next_layer == 0]
        else:
            times = []
        times = [t for t in times if np.isfinite(t)]
        if times:
            self._push(float(np.nextafter(max(min(times), self.now), np.inf)), _WAKE, 0)
            return
        self._bad(
            f"left {len(self.ready)} job(s) ready with idle accelerators and nothing pending "
            f"at {self.now:.3f} ms (first: {self.ready[0]!r})"
        )

    # --- events ------------------------------------------------------------------------------
    def _release(self, job: Job) -> None:
        parent = job.parent
        if parent is None:
            self._trigger(job) if job.triggered else self._resolve(job, FrameStatus.NOT_TRIGGERED)
            return
        if job.frame >= len(self.jobs[parent]):
            self._resolve(job, FrameStatus.NOT_TRIGGERED)
            return
        pstatus = self.jobs[parent][job.frame].status
        if pstatus is None:
            return  # waits for the parent's frame; resolved in _parent_resolved
        self._follow_parent(job, pstatus)

    def _follow_parent(self, job: Job, parent_status: FrameStatus) -> None:
        if not job.triggered or parent_status == FrameStatus.NOT_TRIGGERED:
            self._resolve(job, FrameStatus.NOT_TRIGGERED)
        elif parent_status == FrameStatus.DROPPED:
            self._resolve(job, FrameStatus.DROPPED)
        else:
            self._trigger(job)

    def _trigger(self, job: Job) -> None:
        """The job becomes ready: pick its variant, count it as released."""
        job.ready_ms = self.now
        job.last_progress_ms = self.now
        variant = self.policy.select_variant(job, self._state())
        model_costs = self.costs.models[job.model]
        if not 0 <= variant < len(model_costs.variants):
            raise SimulationError(
                f"policy '{self.policy.name}' chose variant {variant} for {job.model_id}",
                source="<api>",
                allowed=f"0..{len(model_costs.variants) - 1}",
            )
        job.variant = variant
        job.costs = model_costs.variants[variant]
        self.metrics.released[job.model] += 1
        self.ready.append(job)

    def _resolve(self, job: Job, status: FrameStatus) -> None:
        """Give ``job`` its final status, update the counters and settle its cascade children."""
        if job.costs is None:
            job.costs = self.costs.models[job.model].full
        job.status = status
        m = job.model
        met = self.metrics
        if status == FrameStatus.NOT_TRIGGERED:
            met.not_triggered[m] += 1
        else:
            if job.ready_ms != job.ready_ms:  # never became ready (dropped with its parent)
                met.released[m] += 1
            job.completion_ms = self.now
            met.lost_streak[m] = 0 if status == FrameStatus.ON_TIME else met.lost_streak[m] + 1
            if status == FrameStatus.DROPPED:
                met.dropped[m] += 1
                job.undone_energy_nj = job.costs.undone_energy_nj(job.next_layer)
                met.undone_energy_nj[m] += job.undone_energy_nj
            else:
                if status == FrameStatus.ON_TIME:
                    met.on_time[m] += 1
                else:
                    met.late[m] += 1
                met.acc_shortfall[m] += 1.0 - min(1.0, job.costs.accuracy)
            met.min_energy_nj[m] += job.costs.min_energy_nj
        for c in self.children[m]:
            if job.frame < len(self.jobs[c]):
                child = self.jobs[c][job.frame]
                if child.status is None and child.release_ms <= self.now:
                    self._follow_parent(child, status)

    def _drop(self, job: Job) -> None:
        self.ready.remove(job)
        self._resolve(job, FrameStatus.DROPPED)

    def _complete_block(self, acc: int) -> None:
        job = self.running[acc]
        n = self.running_n[acc]
        self.running[acc] = None
        if self.fluid is not None:
            self.fluid.finish(acc, self.now)
        energy = job.costs.block_energy_nj(job.next_layer, n, acc) + self.running_move_nj[acc]
        job.energy_nj += energy
        self.metrics.energy_nj[job.model] += energy
        job.next_layer += n
        job.last_accelerator = acc
        job.last_progress_ms = self.now
        if job.next_layer == job.costs.num_layers:
            late = self.now > job.deadline_ms
            self._resolve(job, FrameStatus.LATE if late else FrameStatus.ON_TIME)
        else:
            self.ready.append(job)

    def _window(self, index: int) -> None:
        delta = self.metrics - self._window_snapshot
        self._window_snapshot = self.metrics.copy()
        start = index * self.window_ms
        window = WindowMetrics(index, start, start + self.window_ms, delta)
        self.policy.on_window(window, self._state())

    # --- decisions ---------------------------------------------------------------------------
    def _state(self) -> SchedulerState:
        return SchedulerState(
            now_ms=self.now,
            ready=self.ready,
            idle=self._idle(),
            running=self.running,
            costs=self.costs,
            model_ids=self.model_ids,
            periods_ms=self.periods_ms,
            parents=self.parents,
            probabilities=self.probabilities,
            metrics=self.metrics,
            mechanics=self.mech,
            busy_until_ms=self.running_done_ms,
            partition=self.partition,
            extra=self.state_extra,
        )

    def _idle(self) -> tuple[int, ...]:
        """Accelerators (units) free now: not running, and no unit sharing their hardware is."""
        run = self.running
        return tuple(
            a
            for a in range(self.num_acc)
            if run[a] is None and all(run[c] is None for c in self.conflicts[a])
        )

    def _decide(self) -> None:
        held: list[Job] = []
        while True:
            state = self._state()
            if held:
                state.ready = [j for j in self.ready if all(j is not h for h in held)]
            decisions = self.policy.decide(state)
            new_held = self._apply(decisions, state)
            if not new_held:
                return
            held += new_held
            if not self._idle() or len(held) >= len(self.ready):
                return

    def _apply(self, decisions: Sequence, state: SchedulerState) -> list[Job]:
        """Apply decisions; return the jobs whose dispatch placement held back."""
        seen_jobs: set[int] = set()
        ready_ids = {id(j) for j in state.ready}
        held = []
        for d in decisions:
            job = d.job
            if id(job) in seen_jobs or id(job) not in ready_ids:
                self._bad(f"decided on {job!r}, which is not ready or was decided on twice")
            seen_jobs.add(id(job))
            if isinstance(d, Drop):
                self._drop(job)
            elif isinstance(d, Dispatch):
                if self.options.feasible_placement and self._placement_holds(job, d):
                    held.append(job)
                else:
                    self._dispatch(job, d.accelerator, d.n_layers)
            else:
                self._bad(f"returned {type(d).__name__}, expected Dispatch or Drop")
        return held

    def _placement_holds(self, job: Job, d: Dispatch) -> bool:
        if not (0 <= d.accelerator < self.num_acc and 1 <= d.n_layers <= job.remaining_layers):
            return False  # invalid: let _dispatch report it
        return not self.mech.can_continue(job, d.accelerator, d.n_layers, self.now)

    def _bad(self, what: str) -> None:
        raise SimulationError(f"policy '{self.policy.name}' {what}", source="<api>")

    def _dispatch(self, job: Job, acc: int, n: int) -> None:
        if not (0 <= acc < self.num_acc) or acc not in self._idle():
            self._bad(f"dispatched {job!r} to accelerator {acc}, which is not idle")
        if not 1 <= n <= job.remaining_layers:
            self._bad(f"dispatched {n} layers of {job!r} (allowed 1..{job.remaining_layers})")
        start = job.next_layer
        busy = None if self.offchip_bw is None else 1 + sum(r is not None for r in self.running)
        cycles = self.mech.block_cycles(job, acc, n, busy)  # the contention rule, one copy
        move_ms = float(self.mech.move_ms(job)[acc])
        setup_cycles = 0.0
        if self.partition is not None:  # whole <-> split switch of the physical array
            phys, split = self.partition.physical[acc], self.partition.split[acc]
            if self.array_mode.get(phys, split) != split:
                setup_cycles = self.partition.reconfig_cycles
            self.array_mode[phys] = split
        self.running_move_nj[acc] = self.mech.move_energy_nj(job, acc)
        done = self.now + move_ms + (cycles + setup_cycles) * self.ms_per_cycle[acc]
        self.ready.remove(job)
        self.running[acc] = job
        self.running_n[acc] = n
        self.running_done_ms[acc] = done
        if job.num_blocks == 0:
            job.first_dispatch_ms = self.now
        self.block_rows.append(
            (
                acc, self.costs.accelerator_names[acc], job.model_id, job.frame, job.num_blocks,
                start, n, job.release_ms, self.now, job.deadline_ms, done,
                job.costs.block_energy_nj(start, n, acc) + self.running_move_nj[acc],
            )
        )  # fmt: skip
        job.num_blocks += 1
        if self.fluid is None:
            self._push(done, _COMPLETE, acc)
        else:  # progressive sharing re-times every running block
            self.fluid.start(acc, job.costs, start, n, move_ms, setup_cycles, self.now)

    # --- output ------------------------------------------------------------------------------
    def _frame_rows(self):
        rows = []
        for model_jobs in self.jobs:
            for j in model_jobs:
                if j.status is None:  # cannot happen: the heap drains every released frame
                    raise SimulationError(f"internal: {j!r} unresolved", source="<engine>")
                rows.append(
                    (
                        j.model_id, j.frame, j.variant, str(j.status), j.release_ms, j.ready_ms,
                        j.deadline_ms, j.first_dispatch_ms, j.completion_ms, j.energy_nj,
                        j.costs.accuracy, j.costs.min_energy_nj, j.num_blocks,
                        j.undone_energy_nj,
                    )
                )  # fmt: skip
        return frames_frame(rows)
