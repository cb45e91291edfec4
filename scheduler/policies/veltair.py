"""Veltair-like adaptive layer-block granularity with least-slack dispatch.

Source: Liu, Leng, Zhang, Luo, Li, Guo, "Veltair: Towards High-Performance Multi-tenant Deep
Learning Services via Adaptive Compilation and Scheduling" (ASPLOS 2022). Veltair schedules
multi-tenant DNNs at *layer-block* granularity and picks the block size at run time: coarse blocks
when the system is quiet (fewer scheduling/switch overheads), fine blocks when many tenants compete
(less blocking of urgent work). Its compiler prepares several versions of each block for different
interference levels and a threshold on the measured contention selects which one runs.

Our version:

- granularity levels are fractions of the scenario's shortest period, ``granularities`` (default
  1, 1/2, 1/4, 1/8), coarsest first — the analogue of Veltair's pre-compiled versions;
- the level is chosen per decision from the *contention* = (ready jobs + running jobs) / number of
  accelerators, by thresholds (default 1, 2, 3): contention <= 1 selects the coarsest level,
  (1, 2] the next, and so on; above the last threshold the finest;
- dispatch order is least slack first (laxity = deadline - now - best-case remaining latency); each
  job takes the free accelerator where its remaining layers are fastest, for a block whose latency
  there reaches the chosen fraction of the shortest period (at least one layer).

Interference: co-running blocks slow each other down through the shared off-chip bandwidth — the
engine's contention model (``simulate(offchip_contention=True)``, on for every policy in ``rtmm
compare``): each layer of a block takes at least its off-chip words x the number of busy
accelerators / the system's bandwidth. Differences from Veltair ("-like"): the contention level that
selects the granularity is counted from the ready and running jobs, not measured from hardware
counters; no per-level compiled code versions (a level only changes the block size); dropping
hopeless frames and placement checks are the engine's mechanics, as for every policy. Native mode
only.
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


class Veltair(Policy):
    """Block size from a contention threshold; least-slack-first dispatch."""

    name = "veltair"

    def __init__(
        self,
        granularities: Sequence[float] = (1.0, 0.5, 0.25, 0.125),
        thresholds: Sequence[float] = (1.0, 2.0, 3.0),
    ) -> None:
        levels = np.asarray(granularities, dtype=float)
        limits = np.asarray(thresholds, dtype=float)
        if levels.ndim != 1 or len(levels) == 0 or not (np.isfinite(levels) & (levels > 0)).all():
            raise bad_parameter(
                self.name, "granularities", tuple(granularities), "one or more numbers > 0"
            )
        if (np.diff(levels) > 0).any():
            raise bad_parameter(
                self.name, "granularities", tuple(granularities), "coarsest first (non-increasing)"
            )
        if limits.ndim != 1 or len(limits) != len(levels) - 1:
            raise bad_parameter(
                self.name,
                "thresholds",
                tuple(thresholds),
                f"{len(levels) - 1} number(s), one per level step",
            )
        if not np.isfinite(limits).all() or (np.diff(limits) <= 0).any():
            raise bad_parameter(
                self.name, "thresholds", tuple(thresholds), "finite, strictly increasing numbers"
            )
        self.granularities = levels
        self.thresholds = limits

    def reset(self, ctx: RunContext) -> None:
        super().reset(ctx)
        self._ms_per_cycle = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)

    @staticmethod
    def contention(state: SchedulerState) -> float:
        """Jobs competing per accelerator: (ready + running) / accelerators."""
        running = sum(1 for r in state.running if r is not None)
        return (len(state.ready) + running) / max(1, state.costs.num_accelerators)

    def granularity(self, state: SchedulerState) -> float:
        """The block budget, as a fraction of the shortest period, for the current contention."""
        level = int(np.searchsorted(self.thresholds, self.contention(state), side="left"))
        return float(self.granularities[level])

    def laxity_ms(self, job: Job, now_ms: float) -> float:
        best = float(np.min(job.remaining_latency_cycles() * self._ms_per_cycle))
        return job.deadline_ms - now_ms - best

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        now = state.now_ms
        budget = self.granularity(state) * state.min_period_ms
        jobs = sorted(
            state.ready,
            key=lambda j: (self.laxity_ms(j, now), j.deadline_ms, j.release_ms, j.model, j.frame),
        )
        free = list(state.idle)
        decisions: list[Decision] = []
        for job in jobs:
            if not free:
                break
            acc = best_accelerator(job.remaining_latency_cycles(), free)
            free.remove(acc)
            n = block_for_budget(job, acc, budget, float(state.costs.clock_hz[acc]))
            decisions.append(Dispatch(job, acc, n))
        return decisions
