"""Least laxity first (LLF).

Source: Mok, "Fundamental design problems of distributed systems for the hard-real-time
environment" (MIT PhD thesis, 1983); the dynamic-priority counterpart of EDF that also accounts for
how much work a job still has.

Our version (global LLF on heterogeneous accelerators): the laxity of a ready job is
``deadline - now - best-case remaining latency``, the best case being the job's remaining layers
alone on the accelerator where they finish first, migration included (the engine's
:meth:`~scheduler.mechanics.MechanicsRuntime.best_remaining_ms`). Ready jobs in order of laxity
(ties: deadline, release, model, frame) each take the free accelerator on which their remaining
layers are fastest, for a block cut at ``block_fraction`` (default 0.25) x the shortest period, so
laxities are re-evaluated at every block boundary. Dropping hopeless frames and the placement check
are the engine's mechanics, as for every policy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.policies.base import BlockSizing, Decision, Policy, assign_in_order
from scheduler.state import Job, SchedulerState


class LLF(BlockSizing, Policy):
    name = "llf"

    def __init__(self, block_fraction: float | None = 0.25) -> None:
        self.block_fraction = block_fraction

    @staticmethod
    def laxity_ms(job: Job, state: SchedulerState) -> float:
        if state.mechanics is not None:
            best = state.mechanics.best_remaining_ms(job)
        else:
            best = float(np.min(job.remaining_latency_cycles() * 1e3 / state.costs.clock_hz))
        return job.deadline_ms - state.now_ms - best

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        jobs = sorted(
            state.ready,
            key=lambda j: (self.laxity_ms(j, state), j.deadline_ms, j.release_ms, j.model, j.frame),
        )
        return assign_in_order(
            jobs,
            state.idle,
            lambda j: j.remaining_latency_cycles(),
            lambda j, a: self.block_size(j, a, state),
        )
