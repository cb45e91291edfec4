"""Earliest deadline first with overload shedding (admission control): a fair baseline.

Source: EDF (Liu & Layland, JACM 1973) with the overload handling of classical real-time
scheduling: when the demand due by some deadline exceeds the capacity, an admission test rejects
(sheds) work so that the rest can meet its deadlines, the least valuable work per unit of
processing time first -- Buttazzo, "Hard Real-Time Computing Systems" (Springer, 3rd ed. 2011),
ch. 9 "Handling overload conditions" (admission control, value-based shedding), and Locke's
best-effort scheduling with value density (C. D. Locke, "Best-effort decision making for real-time
scheduling", PhD thesis, CMU 1986), which sheds the job of lowest value per work on overload.

What it does: at every decision point, before EDF dispatches, the unstarted ready jobs selected by
the shared overload test (:func:`~.overload.demand_items`, :func:`~.overload.shed_jobs`) are
dropped: the work due within the longest period from now (ready jobs' best-case remaining latency
plus their expected cascade work, the running jobs' rest, the root models' expected frames still
to be released) is compared with the accelerators' capacity from when each frees up, and while some
deadline's demand exceeds it the item with the most work per lost value
(:func:`~.overload.frame_loss`) is shed. The remaining jobs are scheduled by :class:`~.edf.EDF`
exactly (same order, placement and blocks).

The test is deliberately *the same* as SDRM3's option ``admission`` (issue 12r): overload
shedding must not be SDRM3's privilege, so the comparison measures the scheduler, not the
shedding. SDRM3 reads the per-model quantities from its own caches; this baseline computes the same
numbers from the run context and the state (:meth:`reset`, :func:`~.overload.best_remaining_ms`,
:func:`~.overload.running_rest_ms`, :func:`~.overload.free_from_ms`); there is no constant to
choose (the lookahead is SDRM3's). One difference outside native mode: without the engine's
``busy_until_ms`` a running accelerator counts as free now (SDRM3 uses its own estimate there).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.policies.base import Decision, RunContext
from scheduler.policies.edf import EDF
from scheduler.policies.overload import (
    DemandItems,
    best_remaining_ms,
    demand_items,
    frame_loss,
    free_from_ms,
    running_rest_ms,
    shed_jobs,
)
from scheduler.policies.sdrm3_terms import cascade_latency_ms
from scheduler.state import Job, SchedulerState


class EDFAdmission(EDF):
    name = "edf_admission"

    def reset(self, ctx: RunContext) -> None:
        super().reset(ctx)
        mpc = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)
        self.ms_per_cycle = mpc
        chain = cascade_latency_ms(ctx, mpc)
        full_ms = np.array([mc.full.total_latency_cycles * mpc for mc in ctx.costs.models])
        self.chain_ms: list[float] = chain.tolist()
        self.loss: list[float] = frame_loss(ctx.periods_ms, ctx.parents, ctx.probabilities).tolist()
        #: per model: a frame's best-case full latency plus its expected cascade work (ms)
        self.frame_ms: list[float] = (full_ms.min(axis=1) + chain).tolist()

    def demand(self, jobs: Sequence[Job], state: SchedulerState) -> DemandItems:
        """The shared demand items (:func:`~.overload.demand_items`) of ``jobs`` (ready) at
        ``state``, from the run context and the state (SDRM3's numbers)."""
        mpc = self.ms_per_cycle
        return demand_items(
            state,
            jobs,
            lambda j: best_remaining_ms(j, state, mpc),
            lambda j: running_rest_ms(j, mpc),
            self.chain_ms,
            self.loss,
            self.frame_ms,
            free_from_ms(state),
            self.ctx.horizon_ms,
        )

    def shed(self, jobs: Sequence[Job], state: SchedulerState) -> list[Job]:
        """The unstarted jobs among ``jobs`` (ready) that the shared overload test sheds now."""
        return shed_jobs(jobs, self.demand(jobs, state))

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        jobs = list(state.ready)
        if not jobs or not state.idle:
            return super().decide(state)
        return self.decide_after_shed(state, self.shed(jobs, state))
