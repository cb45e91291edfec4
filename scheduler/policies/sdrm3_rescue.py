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

``mode="value"`` (issue 12s): a block is cut at the budget but is at least one layer long, so a
single long layer of another job may hold an accelerator for longer than the budget. The bound
is then the longest block any other ready job would start now on an idle accelerator (never
below the budget): a started job whose spare time is below it cannot afford that wait. Two
rescued jobs may then compete for one accelerator; SDRM3 then takes the frame whose loss costs
the score more first (:func:`~.overload.frame_loss`; one of two ASR frames in a run before one
of twenty SS frames), its MapScore breaking ties.
"""

from __future__ import annotations

import numpy as np

from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import SchedulerState


def longest_blocks_ms(terms: PairTerms, ms_per_cycle: np.ndarray) -> np.ndarray:
    """Per job of ``terms``: the longest block (ms) it would start now on one of its idle
    accelerators (``terms.n_layers`` layers there)."""
    out = np.zeros(len(terms.jobs))
    accs = terms.accelerators.tolist()
    for i, job in enumerate(terms.jobs):
        c = job.costs
        for k, a in enumerate(accs):
            cycles = c.block_latency_cycles(job.next_layer, int(terms.n_layers[i, k]), a)
            out[i] = max(out[i], float(cycles * ms_per_cycle[a]))
    return out


def rescue_pairs(
    terms: PairTerms,
    feasible: np.ndarray,
    state: SchedulerState,
    block_ms: float,
    mode: str = "budget",
    ms_per_cycle: np.ndarray | None = None,
) -> np.ndarray:
    """``[jobs x idle]`` mask of the pairs to take first (module docstring); ``mode``
    ``"budget"`` or ``"value"`` (with ``ms_per_cycle``) sets the wait a job must afford."""
    out = np.zeros(feasible.shape, dtype=bool)
    mech = state.mechanics
    if mech is None:
        return out
    now = state.now_ms
    accs = terms.accelerators.tolist()
    top: tuple[int, float, float] | None = None  # (argmax, max, second max) of the blocks
    for i, job in enumerate(terms.jobs):
        if not job.started:
            continue
        slack = job.deadline_ms - now
        spare = slack - mech.best_remaining_ms(job)
        if spare < 0.0:
            continue
        if spare >= block_ms:  # rescued only under a bound above the budget
            if mode != "value" or ms_per_cycle is None or len(terms.jobs) < 2:
                continue
            if top is None:
                longest = longest_blocks_ms(terms, ms_per_cycle)
                order = np.argsort(longest)
                top = (int(order[-1]), float(longest[order[-1]]), float(longest[order[-2]]))
            other = top[2] if i == top[0] else top[1]  # another job's block is the wait
            if not spare < other:
                continue
        for k, a in enumerate(accs):
            if feasible[i, k]:
                need = mech.continue_need_ms(job, a, int(terms.n_layers[i, k]), None)
                out[i, k] = need <= slack
    return out
