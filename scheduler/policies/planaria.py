"""Planaria-like dynamic partitioning of the accelerators among the active tasks.

Source: Ghodrati, Ahn, Kim, Kinzer, Yatham, Sharma, Esmaeilzadeh, "Planaria: Dynamic Architecture
Fission for Spatial Multi-Tenant Acceleration of Deep Neural Networks" (MICRO 2020). Planaria splits
one systolic array into sub-arrays ("fission") and, whenever a task arrives or finishes, re-assigns
the sub-arrays among the co-running tasks according to their QoS needs: the tasks closest to missing
their deadline get resources first, and allocations are revisited at task boundaries.

Our version: the indivisible unit of partitioning is a whole accelerator of the system (we cannot
split an accelerator, and a job's layers run one after the other, so a job holds at most one
accelerator at a time). At every decision point:

- each ready job gets an urgency ``U = R / max(slack, eps_ms)`` (``R`` its best-case remaining
  latency, ``slack`` = deadline - now), clipped to ``[0, max_urgency]``;
- the idle accelerators are divided among the ready jobs in proportion to urgency by water-filling:
  share_j = min(1, c x U_j) with the shares summing to the number of idle accelerators (at most one
  per job); jobs are served in order of urgency, the most urgent first picking its fastest
  accelerator (for its remaining layers), the next one the fastest of the rest, and so on;
- a job's share fixes how long it holds its accelerator before the next re-partitioning: a block of
  ``share x lease_fraction x`` the shortest period (at least one layer). Fully-served (share 1)
  jobs keep their accelerator for a full lease; jobs that only earned a fraction give it back
  sooner, which is how time stands in for the sub-arrays they did not get.

Simplifications: no sub-array fission inside an accelerator, no reconfiguration cost, no dropping.
Native mode only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.policies.base import (
    Decision,
    Dispatch,
    Policy,
    RunContext,
    bad_parameter,
    best_accelerator,
    block_for_budget,
)
from scheduler.state import Job, SchedulerState


def water_fill(weights: np.ndarray, capacity: float) -> np.ndarray:
    """Shares ``min(1, c x w)`` summing to ``min(capacity, len(w))``.

    Capacity left once every positive-weight entry is capped at 1 is split equally among the
    zero-weight entries.
    """
    w = np.asarray(weights, dtype=float)
    total = min(float(capacity), float(len(w)))
    shares = np.zeros(len(w))
    if total <= 0:
        return shares
    capped = np.zeros(len(w), dtype=bool)
    positive = w > 0
    while True:
        open_ = positive & ~capped
        left = total - capped.sum()
        if not open_.any() or left <= 0:
            break
        shares[open_] = w[open_] * (left / w[open_].sum())
        over = open_ & (shares > 1.0)
        if not over.any():
            break
        capped |= over
        shares[capped] = 1.0
    left = total - shares.sum()
    zero = ~positive
    if left > 1e-12 and zero.any():
        shares[zero] = min(1.0, left / zero.sum())
    return shares


class Planaria(Policy):
    """Urgency-proportional partitioning of the idle accelerators, re-partitioned every lease."""

    name = "planaria"

    def __init__(
        self, lease_fraction: float = 0.5, max_urgency: float = 1e3, eps_ms: float = 1e-3
    ) -> None:
        if not (np.isfinite(lease_fraction) and lease_fraction > 0):
            raise bad_parameter(self.name, "lease_fraction", lease_fraction, "a number > 0")
        if not (np.isfinite(max_urgency) and max_urgency > 0):
            raise bad_parameter(self.name, "max_urgency", max_urgency, "a number > 0")
        if not (np.isfinite(eps_ms) and eps_ms > 0):
            raise bad_parameter(self.name, "eps_ms", eps_ms, "a number > 0")
        self.lease_fraction = float(lease_fraction)
        self.max_urgency = float(max_urgency)
        self.eps_ms = float(eps_ms)

    def reset(self, ctx: RunContext) -> None:
        super().reset(ctx)
        self._ms_per_cycle = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)

    def urgency(self, job: Job, now_ms: float) -> float:
        """Best-case remaining latency over slack, clipped to ``[0, max_urgency]``."""
        remaining = float(np.min(job.remaining_latency_cycles() * self._ms_per_cycle))
        slack = job.deadline_ms - now_ms
        if slack <= 0:
            return self.max_urgency
        return float(np.clip(remaining / max(slack, self.eps_ms), 0.0, self.max_urgency))

    def partition(self, state: SchedulerState) -> list[tuple[Job, float]]:
        """Ready jobs, most urgent first, with their share of the idle accelerators."""
        now = state.now_ms
        jobs = sorted(
            state.ready,
            key=lambda j: (-self.urgency(j, now), j.deadline_ms, j.release_ms, j.model, j.frame),
        )
        urgencies = np.array([self.urgency(j, now) for j in jobs])
        shares = water_fill(urgencies, len(state.idle))
        return list(zip(jobs, shares, strict=True))

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        free = list(state.idle)
        decisions: list[Decision] = []
        for job, share in self.partition(state):
            if not free:
                break
            acc = best_accelerator(job.remaining_latency_cycles(), free)
            free.remove(acc)
            budget = share * self.lease_fraction * state.min_period_ms
            n = block_for_budget(job, acc, budget, float(state.costs.clock_hz[acc]))
            decisions.append(Dispatch(job, acc, n))
        return decisions
