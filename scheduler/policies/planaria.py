"""Planaria-like dynamic partitioning of the accelerators among the active tasks.

Source: Ghodrati, Ahn, Kim, Kinzer, Yatham, Sharma, Esmaeilzadeh, "Planaria: Dynamic Architecture
Fission for Spatial Multi-Tenant Acceleration of Deep Neural Networks" (MICRO 2020). Planaria splits
one systolic array into sub-arrays ("fission") and, whenever a task arrives or finishes, re-assigns
the sub-arrays among the co-running tasks according to their QoS needs: the tasks closest to missing
their deadline get resources first, and allocations are revisited at task boundaries.

Our version. At every decision point:

- each ready job gets an urgency ``U = R / max(slack, eps_ms)`` (``R`` its best-case remaining
  latency, ``slack`` = deadline - now), clipped to ``[0, max_urgency]``; jobs are served most
  urgent first;
- *spatial fission* (when the run has a :class:`~scheduler.mechanics.Partition`, as ``rtmm
  compare`` gives it, see :mod:`scheduler.fission`): each fully free physical array is either
  used whole or split into its two sub-arrays. Arrays are visited fastest first (for the most
  urgent job); an array is split when more jobs wait than there are free arrays left to serve
  them one each, so the co-running tasks share the hardware as in Planaria. Sub-array costs come
  from the cost model at the sub-array's PE count; switching an array between whole and split
  mode pays the engine's reconfiguration cost;
- the free units are divided among the jobs by water-filling on urgency (share_j = min(1, c x
  U_j), shares summing to the number of free units); each job in turn takes the free unit where
  its remaining layers are fastest, for a block of ``share x lease_fraction x`` the shortest
  period (at least one layer): a job that earned a fraction of a unit gives it back sooner.

Differences from Planaria ("-like"): two-way fission only (Planaria splits into up to 16 pods of
a systolic array, in several shapes); the split decision is a count rule, not Planaria's
latency-model-driven allocation search; reconfiguration is charged as refilling the array's
buffer (Planaria overlaps it with execution); on a run without a partition, whole accelerators
are leased as before. Dropping hopeless frames and placement checks are the engine's mechanics.
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

    def free_units(self, state: SchedulerState, jobs: Sequence[Job]) -> list[int]:
        """The units to hand out now: free sub-arrays of split arrays, then each fully free
        array whole or split (module docstring)."""
        part = state.partition
        idle = set(state.idle)
        if part is None:
            return sorted(idle)
        units = [u for u in idle if part.split[u] and not self._array_free(part, u, idle)]
        arrays = sorted(
            {part.physical[u] for u in idle if self._array_free(part, u, idle)},
            key=lambda p: self._speed_key(part, p, jobs),
        )
        for k, p in enumerate(arrays):
            left = len(arrays) - k
            need = len(jobs) - len(units)
            split = need > left
            units += [
                u
                for u in range(len(part.physical))
                if part.physical[u] == p and part.split[u] == split
            ]
        return sorted(units)

    @staticmethod
    def _array_free(part, unit: int, idle: set[int]) -> bool:
        p = part.physical[unit]
        return all(u in idle for u in range(len(part.physical)) if part.physical[u] == p)

    @staticmethod
    def _speed_key(part, p: int, jobs: Sequence[Job]) -> float:
        whole = [
            u for u in range(len(part.physical)) if part.physical[u] == p and not part.split[u]
        ]
        if not jobs or not whole:
            return 0.0
        return float(jobs[0].remaining_latency_cycles()[whole[0]])

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        plan = self.partition(state)
        free = self.free_units(state, [j for j, _ in plan])
        shares = water_fill(np.array([self.urgency(j, state.now_ms) for j, _ in plan]), len(free))
        decisions: list[Decision] = []
        for (job, _), share in zip(plan, shares, strict=True):
            if not free:
                break
            acc = best_accelerator(job.remaining_latency_cycles(), free)
            free.remove(acc)
            budget = share * self.lease_fraction * state.min_period_ms
            n = block_for_budget(job, acc, budget, float(state.costs.clock_hz[acc]))
            decisions.append(Dispatch(job, acc, n))
        return decisions
