"""Earliest deadline first with the long-run service plan: a fair baseline (issue 12u).

SDRM3's option ``service_plan`` sheds, at release, the share of each model's frames that a fluid
plan of the whole scenario cannot serve (:mod:`~.service_plan`). Overload handling must not be
SDRM3's privilege (issue 12r), so this baseline is :class:`~.edf.EDF` with the same plan and the
same shedder: the share is computed from the run context exactly as SDRM3 computes it, the new
unstarted frames the plan does not serve are dropped, and every other frame is scheduled by EDF
exactly (same order, placement and blocks). Where the plan serves every frame it equals ``edf``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.policies.base import Decision, RunContext
from scheduler.policies.edf import EDF
from scheduler.policies.service_plan import PlanShedder, service_plan
from scheduler.state import SchedulerState


class EDFPlan(EDF):
    name = "edf_plan"

    def reset(self, ctx: RunContext) -> None:
        super().reset(ctx)
        mpc = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)
        share = service_plan(ctx.costs, mpc, ctx.periods_ms, ctx.parents, ctx.probabilities)
        self.plan = PlanShedder(share, ctx.parents)

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        jobs = list(state.ready)
        if not jobs or not state.idle or not self.plan.active:
            return super().decide(state)
        return self.decide_after_shed(state, self.plan.shed(jobs))
