"""Round-robin time slicing over models.

Source: the textbook round-robin scheduler (a fixed quantum, rotating over tasks), the usual
"time-multiplexing" baseline for multi-tenant accelerators (e.g. in PREMA, HPCA 2020).

Our version: the quantum is a layer block cut where its latency reaches ``block_fraction`` (default
0.25) x the scenario's shortest period. A pointer rotates over the scenario's models; at each
decision point models are visited starting after the one served last, each contributing its oldest
ready frame, and each takes the free accelerator where its next block is fastest. Preemption
happens at every block boundary. No deadline awareness, no dropping.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.policies.base import BlockSizing, Decision, Dispatch, Policy, best_accelerator
from scheduler.state import SchedulerState


class RoundRobin(BlockSizing, Policy):
    name = "round_robin"

    def __init__(self, block_fraction: float | None = 0.25) -> None:
        self.block_fraction = block_fraction
        self._next_model = 0

    def reset(self, ctx) -> None:
        super().reset(ctx)
        self._next_model = 0

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        num_models = len(state.model_ids)
        oldest: dict[int, object] = {}
        for job in state.ready:
            cur = oldest.get(job.model)
            if cur is None or job.frame < cur.frame:
                oldest[job.model] = job
        free = list(state.idle)
        decisions: list[Decision] = []
        first = self._next_model
        for step in range(num_models):
            if not free:
                break
            model = (first + step) % num_models
            job = oldest.get(model)
            if job is None:
                continue
            acc = best_accelerator(job.remaining_latency_cycles(), free)
            free.remove(acc)
            decisions.append(Dispatch(job, acc, self.block_size(job, acc, state)))
            self._next_model = (model + 1) % num_models
        return decisions
