"""LatencyGreedy, the XRBench runtime's default scheduler.

Source: XRBench (Kwon et al., MLSys 2023), runtime ``HET_runtime.hpp`` / processor-assignment
engine: the model queues are visited in alphabetical order of model id, the head (oldest frame) of
each queue is dispatched if its dependencies are met and an accelerator is idle, and the whole model
runs, non-preemptively, on the idle accelerator with the smallest whole-model latency (ties: lowest
index).

XRBench-compatible mode reproduces that exactly (the engine owns the queue visiting; this policy
answers :meth:`xrbench_accelerator`). Native mode keeps the same rule on the ready jobs: visit order
is "oldest frame of every model alphabetically, then the second-oldest of every model, ...", which
is the order XRBench's repeat-until-no-change loop produces, and each job gets the free accelerator
with the smallest latency for its remaining layers. Whole-model dispatch; no dropping (the engine's
expired-frame rule plays the role of XRBench's drop step).
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.costs import CostArrays
from scheduler.policies.base import Decision, Policy, assign_in_order, best_accelerator
from scheduler.state import Job, SchedulerState


def xrbench_visit_order(jobs: Sequence[Job]) -> list[Job]:
    """Jobs in XRBench's dispatch order: k-th oldest frame of each model, models alphabetically."""
    by_model: dict[str, list[Job]] = {}
    for job in jobs:
        by_model.setdefault(job.model_id, []).append(job)
    ranked = []
    for model_id, model_jobs in by_model.items():
        model_jobs.sort(key=lambda j: j.frame)
        ranked.extend((rank, model_id, job) for rank, job in enumerate(model_jobs))
    ranked.sort(key=lambda t: (t[0], t[1]))
    return [job for _, _, job in ranked]


class LatencyGreedy(Policy):
    name = "latency_greedy"

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        return assign_in_order(
            xrbench_visit_order(state.ready),
            state.idle,
            lambda j: j.remaining_latency_cycles(),
            lambda j, a: j.remaining_layers,
        )

    def xrbench_accelerator(self, job: Job, idle: Sequence[int], costs: CostArrays) -> int:
        return best_accelerator(job.costs.total_latency_cycles, idle)
