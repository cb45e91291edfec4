"""PREMA: token-based predictive preemptive priority scheduling.

Source: Choi & Rhu, "PREMA: A Predictive Multi-task Scheduling Algorithm for Preemptible Neural
Processing Units" (HPCA 2020). Every task has a priority (low 1, medium 3, high 9); while it waits
it accumulates *tokens* at a rate of priority x its normalised slowdown (time waited / its isolated
execution time, predicted from the network's shape). At each scheduling point the tasks whose tokens
reach a threshold — the priority level of the highest-priority waiting task — are the candidates,
and among them the one with the shortest *predicted* remaining time runs first (shortest-job-first
among high-token tasks), preempting the running task.

Our version:

- a task is a frame (job); its priority comes from its model's frame-rate tier: period <= 1.5 x the
  scenario's shortest period -> 9, <= 4 x -> 3, otherwise 1 (or an explicit ``priorities`` mapping
  model id -> priority);
- tokens grow by priority x (time spent ready, not running) / the model's isolated latency (whole
  model on its fastest accelerator); they are kept per job across blocks;
- candidates: ready jobs with tokens >= ``threshold`` (default: the highest priority among the ready
  jobs, as in PREMA); if none qualifies, the jobs holding the most tokens. The candidate with the
  shortest predicted remaining latency (fastest accelerator) is dispatched first, on the free
  accelerator where its remaining layers are fastest; the selection repeats for the next free
  accelerator (PREMA schedules one NPU; we apply its rule once per accelerator);
- preemption happens at layer-block boundaries (blocks of ``block_fraction`` x the shortest period,
  via :class:`~scheduler.policies.base.BlockSizing`), not by checkpointing or killing mid-layer;
  PREMA's dynamic choice among preemption mechanisms therefore does not apply. Native mode only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from scheduler.policies.base import (
    BlockSizing,
    Decision,
    Dispatch,
    Policy,
    RunContext,
    bad_parameter,
    best_accelerator,
)
from scheduler.state import Job, SchedulerState

#: PREMA's priority levels (low, medium, high).
PRIORITY_LEVELS = (1.0, 3.0, 9.0)


def tier_priorities(periods_ms: np.ndarray) -> np.ndarray:
    """PREMA priority per model from its period relative to the scenario's shortest one."""
    ratio = np.asarray(periods_ms, dtype=float) / float(np.min(periods_ms))
    low, medium, high = PRIORITY_LEVELS
    return np.where(ratio <= 1.5, high, np.where(ratio <= 4.0, medium, low))


class PREMA(BlockSizing, Policy):
    """Token accumulation by priority x normalised waiting; SJF among the high-token jobs."""

    name = "prema"

    def __init__(
        self,
        block_fraction: float | None = 0.25,
        priorities: Mapping[str, float] | None = None,
        threshold: float | None = None,
    ) -> None:
        if block_fraction is not None and not (np.isfinite(block_fraction) and block_fraction > 0):
            raise bad_parameter(self.name, "block_fraction", block_fraction, "None or a number > 0")
        if threshold is not None and not (np.isfinite(threshold) and threshold >= 0):
            raise bad_parameter(self.name, "threshold", threshold, "None or a finite number >= 0")
        for model_id, p in (priorities or {}).items():
            if not (np.isfinite(p) and p > 0):
                raise bad_parameter(self.name, f"priority of {model_id}", p, "a finite number > 0")
        self.block_fraction = block_fraction
        self.priorities = dict(priorities or {})
        self.threshold = threshold
        self.tokens: dict[Job, float] = {}
        self._seen: dict[Job, float] = {}

    def reset(self, ctx: RunContext) -> None:
        super().reset(ctx)
        unknown = sorted(set(self.priorities) - set(ctx.model_ids))
        if unknown:
            raise bad_parameter(self.name, "priorities", unknown[0], ", ".join(ctx.model_ids))
        prio = tier_priorities(ctx.periods_ms)
        for m, model_id in enumerate(ctx.model_ids):
            prio[m] = self.priorities.get(model_id, prio[m])
        self._priority = prio
        ms_per_cycle = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)
        self._ms_per_cycle = ms_per_cycle
        self._isolated_ms = np.array(
            [
                max(float(np.min(m.full.total_latency_cycles * ms_per_cycle)), 1e-9)
                for m in ctx.costs.models
            ]
        )
        self.tokens = {}
        self._seen = {}

    def _accumulate(self, state: SchedulerState) -> None:
        """Add priority x normalised waiting since the last look to every ready job's tokens."""
        now = state.now_ms
        for job in state.ready:
            since = max(self._seen.get(job, -np.inf), job.last_progress_ms)
            waited = max(0.0, now - since)
            gain = self._priority[job.model] * waited / self._isolated_ms[job.model]
            self.tokens[job] = self.tokens.get(job, 0.0) + gain
            self._seen[job] = now
        if len(self.tokens) > 4 * len(state.ready) + 32:  # forget resolved jobs
            for job in [j for j in self.tokens if j.status is not None]:
                del self.tokens[job]
                self._seen.pop(job, None)

    def predicted_remaining_ms(self, job: Job) -> float:
        """Best-case remaining latency of ``job`` (its fastest accelerator)."""
        return float(np.min(job.remaining_latency_cycles() * self._ms_per_cycle))

    def _pick(self, jobs: list[Job]) -> Job:
        tokens = np.array([self.tokens[j] for j in jobs])
        threshold = self.threshold
        if threshold is None:
            threshold = float(max(self._priority[j.model] for j in jobs))
        chosen = tokens >= threshold
        if not chosen.any():
            chosen = tokens >= tokens.max() * (1 - 1e-12)
        candidates = [j for j, c in zip(jobs, chosen, strict=True) if c]
        return min(
            candidates,
            key=lambda j: (self.predicted_remaining_ms(j), j.deadline_ms, j.model, j.frame),
        )

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        self._accumulate(state)
        waiting = list(state.ready)
        free = list(state.idle)
        decisions: list[Decision] = []
        while free and waiting:
            job = self._pick(waiting)
            waiting.remove(job)
            acc = best_accelerator(job.remaining_latency_cycles(), free)
            free.remove(acc)
            decisions.append(Dispatch(job, acc, self.block_size(job, acc, state)))
        return decisions
