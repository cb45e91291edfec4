"""Earliest deadline first.

Source: Liu & Layland, "Scheduling algorithms for multiprogramming in a hard-real-time environment"
(JACM 1973); used as the deadline-aware baseline of RTMM schedulers (e.g. DREAM/SDRM3, ASPLOS 2023).

Our version (global EDF on heterogeneous accelerators): ready jobs in order of absolute deadline
(ties: release, model, frame) each take the free accelerator on which their remaining layers are
fastest. Preemptive at layer-block boundaries: blocks are cut at ``block_fraction`` (default 0.25) x
the shortest period, so a newly released frame with an earlier deadline gets the next free
accelerator. Dropping hopeless frames and feasibility-aware placement are the engine's mechanics
(:mod:`scheduler.mechanics`), applied to EDF exactly as to every other policy: under the fair
mechanics this *is* "EDF with drop and feasibility-aware placement". ``drop_infeasible`` (off by
default) is kept for runs with the engine's drop switched off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from scheduler.policies.base import (
    BlockSizing,
    Decision,
    Drop,
    Policy,
    assign_in_order,
    deadline_order,
)
from scheduler.state import Job, SchedulerState


class EDF(BlockSizing, Policy):
    name = "edf"

    def __init__(self, block_fraction: float | None = 0.25, drop_infeasible: bool = False) -> None:
        self.block_fraction = block_fraction
        self.drop_infeasible = drop_infeasible

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        jobs = deadline_order(state.ready)
        decisions: list[Decision] = []
        if self.drop_infeasible:
            keep = []
            ms_per_cycle = 1e3 / state.costs.clock_hz
            for job in jobs:
                best_ms = float(np.min(job.remaining_latency_cycles() * ms_per_cycle))
                if state.now_ms + best_ms > job.deadline_ms:
                    decisions.append(Drop(job))
                else:
                    keep.append(job)
            jobs = keep
        decisions += assign_in_order(
            jobs,
            state.idle,
            lambda j: j.remaining_latency_cycles(),
            lambda j, a: self.block_size(j, a, state),
        )
        return decisions

    def decide_after_shed(self, state: SchedulerState, shed: Sequence[Job]) -> list[Decision]:
        """Drop ``shed`` (ready jobs an overload rule chose) and schedule the rest exactly as
        :meth:`decide` would on a state without them (``edf_admission``, ``edf_plan``)."""
        if not shed:  # EDF's own decide, not a subclass's (which called this one)
            return list(EDF.decide(self, state))
        dropped = {id(j) for j in shed}
        kept = [j for j in state.ready if id(j) not in dropped]
        rest = EDF.decide(self, dataclasses.replace(state, ready=kept)) if kept else []
        return [*(Drop(j) for j in shed), *rest]
