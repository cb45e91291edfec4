"""First-come, first-served.

Source: the classic non-preemptive FIFO baseline used throughout the RTMM literature (e.g. as the
"FCFS" baseline of PREMA, HPCA 2020, and Herald, 2021).

Our version: ready jobs are served in order of release time (ties: model order in the scenario,
then frame); each takes the free accelerator on which its remaining layers are fastest (ties: lowest
index). By default a job runs to completion (``block_fraction = None``); with ``block_fraction`` it
is cut into layer blocks, but the FIFO order still means the oldest job is re-dispatched first.
No deadline awareness, no dropping (the engine's expired-frame rule still applies).
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.policies.base import BlockSizing, Decision, Policy, assign_in_order
from scheduler.state import SchedulerState


class FCFS(BlockSizing, Policy):
    name = "fcfs"

    def __init__(self, block_fraction: float | None = None) -> None:
        self.block_fraction = block_fraction

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        jobs = sorted(state.ready, key=lambda j: (j.release_ms, j.model, j.frame))
        return assign_in_order(
            jobs,
            state.idle,
            lambda j: j.remaining_latency_cycles(),
            lambda j, a: self.block_size(j, a, state),
        )
