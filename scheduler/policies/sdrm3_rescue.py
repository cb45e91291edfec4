"""SDRM3's *rescue* of started work (option ``rescue``, issue 12r).

Under overload SDRM3 interleaves frames at layer-block granularity, and a started frame that is
passed over for one more block can become hopeless: the engine drops it after part of it ran
(issue 12r's diagnosis: 16-30 % of SDRM3's busy time on the tuning cells where its score is
lowest went to frames later dropped; the non-preemptive baselines waste none). ``commit`` (run
every started job to completion) removes that waste but blocks urgent new frames. ``rescue`` acts
only where the loss is certain otherwise: a started job that can still meet its deadline but
cannot afford to wait one more block (its spare time, slack minus the engine's best case, is
below SDRM3's block budget) is taken first on the idle accelerators where it can still finish.
No constant: the block budget is SDRM3's own dispatch unit.
"""

from __future__ import annotations

import numpy as np

from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import SchedulerState


def rescue_pairs(
    terms: PairTerms, feasible: np.ndarray, state: SchedulerState, block_ms: float
) -> np.ndarray:
    """``[jobs x idle]`` mask of the pairs to take first (module docstring)."""
    out = np.zeros(feasible.shape, dtype=bool)
    mech = state.mechanics
    if mech is None:
        return out
    now = state.now_ms
    accs = terms.accelerators.tolist()
    for i, job in enumerate(terms.jobs):
        if not job.started:
            continue
        slack = job.deadline_ms - now
        spare = slack - mech.best_remaining_ms(job)
        if not 0.0 <= spare < block_ms:
            continue
        for k, a in enumerate(accs):
            if feasible[i, k]:
                need = mech.continue_need_ms(job, a, int(terms.n_layers[i, k]), None)
                out[i, k] = need <= slack
    return out
