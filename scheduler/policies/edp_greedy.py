"""EDPGreedy, the XRBench runtime's energy-delay-product scheduler.

Source: XRBench (Kwon et al., MLSys 2023), processor-assignment engine, strategy ``EDPGreedy``: like
LatencyGreedy, but the idle accelerator chosen is the one minimising the model's EDP computed as
XRBench does, the *sum over layers* of (layer latency x layer energy), not total latency x total
energy. Ties: lowest index.

Native mode: same visit order as :mod:`scheduler.policies.latency_greedy`; the EDP is summed over
the job's remaining layers; whole-model dispatch; no dropping.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.costs import CostArrays
from scheduler.policies.base import Decision, Policy, assign_in_order, best_accelerator
from scheduler.policies.latency_greedy import xrbench_visit_order
from scheduler.state import Job, SchedulerState


def remaining_edp(job: Job):
    """Per-accelerator sum over the job's remaining layers of latency_cycles x energy_nj."""
    prefix = job.costs.edp_prefix
    return prefix[-1] - prefix[job.next_layer]


class EDPGreedy(Policy):
    name = "edp_greedy"

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        return assign_in_order(
            xrbench_visit_order(state.ready),
            state.idle,
            remaining_edp,
            lambda j, a: j.remaining_layers,
        )

    def xrbench_accelerator(self, job: Job, idle: Sequence[int], costs: CostArrays) -> int:
        return best_accelerator(job.costs.edp_prefix[-1], idle)
