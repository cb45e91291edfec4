"""SDRM3's *plan pairs* (option ``plan_split``, issue 12r): a job that no single accelerator can
finish by its deadline, but a split across accelerators can, runs its blocks along its fastest
split.

On a heterogeneous system a frame may be too long for its period on every accelerator alone yet
meet its deadline when each layer runs where it is fastest (the engine's best case,
:mod:`scheduler.lower_bound`). For such a job SDRM3's blocks otherwise follow its usual block
sizes and placement: each block is allowed by the engine's placement test (the job can still
finish after it), but a block that strays from the fastest split spends slack, and a few such
blocks leave a frame that can no longer finish; it is dropped after part of it ran (issue 12r's
diagnosis: on xrbench-4k-L ar_gaming every plane-detection frame, which Herald's layer mapping
serves). With ``plan_split``, a pair (job, a) of such a job is feasible only if the job can still
finish when its block on a is at most the layers its fastest continuation starting on a keeps
there (:meth:`~scheduler.mechanics.MechanicsRuntime.plan_layers`) and the job still needs no
more than its least remaining time after it (a is on a fastest split), and the block is cut
there. Such a job has no slack to spare (it cannot finish on one accelerator), so it keeps to a
fastest split: spending its spare slack on slower blocks would leave it finishing at its
deadline, where the score's RT term is 0.5, or late. If every fastest start is busy, it waits.
Jobs that fit on one accelerator and jobs routed by the pipelined split are left alone.
"""

from __future__ import annotations

import numpy as np

from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import SchedulerState


def plan_pairs(
    terms: PairTerms, feasible: np.ndarray, state: SchedulerState, skip: np.ndarray | None = None
) -> np.ndarray:
    """``feasible`` with the rows of split-only jobs replaced by their plan pairs (module
    docstring); ``terms.n_layers`` of those pairs is cut to the plan's segment. ``skip[i]``:
    leave job i alone (routed by the pipelined split)."""
    mech = state.mechanics
    if mech is None:
        return feasible
    now = state.now_ms
    out = feasible
    accs = terms.accelerators.tolist()
    for i, job in enumerate(terms.jobs):
        if skip is not None and skip[i]:
            continue
        least = mech.split_only_least_ms(job, now)
        if least is None:
            continue  # one accelerator suffices (SDRM3's own placement), or hopeless
        if out is feasible:
            out = feasible.copy()
        for k, a in enumerate(accs):
            terms.n_layers[i, k], out[i, k] = mech.plan_block(job, a, terms.n_layers[i, k], least)
    return out
