"""Earliest deadline first that keeps split-only frames to their fastest split: a fair baseline.

Source: EDF (Liu & Layland, JACM 1973), placed as in :mod:`.edf`, plus the placement rule of
SDRM3's plan pairs (issue 12r, :mod:`.sdrm3_plan`; on in SDRM3 since 12t), given to EDF so that
the comparison measures the scheduler rather than that rule. A frame that no single accelerator
can finish by its deadline but a split across accelerators can (the engine's best case,
:mod:`scheduler.lower_bound`) runs its next block only on an accelerator where its fastest
split starts, cut where that split moves
(:meth:`~scheduler.mechanics.MechanicsRuntime.plan_layers`); if no such accelerator is free, it
waits. Every other frame is placed exactly as :class:`~.edf.EDF` places it. The rule reads only
the engine's placement information, which every policy may read; there is no constant.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.policies.base import Decision, assign_each, best_accelerator, deadline_order
from scheduler.policies.edf import EDF
from scheduler.state import Job, SchedulerState


class EDFSplit(EDF):
    name = "edf_split"

    def _plan_start(
        self, job: Job, free: list[int], state: SchedulerState
    ) -> tuple[int, int] | None:
        """(accelerator, layers) of the job's next block on its fastest split among ``free``, or
        None when it is not split-only (EDF's placement) -- (-1, 0) when it must wait."""
        mech = state.mechanics
        if mech is None:
            return None
        least = mech.split_only_least_ms(job, state.now_ms)
        if least is None:
            return None  # one accelerator suffices, or hopeless: EDF's placement
        for a in free:
            n, on_split = mech.plan_block(job, a, self.block_size(job, a, state), least)
            if on_split:
                return a, n
        return -1, 0

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        if self.drop_infeasible or state.mechanics is None:
            return super().decide(state)

        def choose(job: Job, free: list[int]) -> tuple[int, int] | None:
            plan = self._plan_start(job, free, state)
            if plan is None:  # EDF's placement
                acc = best_accelerator(job.remaining_latency_cycles(), free)
                return acc, self.block_size(job, acc, state)
            if plan[0] < 0:
                return None  # its fastest split starts on a busy accelerator: it waits
            return plan

        return assign_each(deadline_order(state.ready), state.idle, choose)
