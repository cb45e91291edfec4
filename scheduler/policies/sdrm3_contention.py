"""SDRM3's contention hold (``contention_hold=True``; issue 12h, on by default since 12g/12h).

Principle: a block's off-chip transfers share the system's bandwidth with the blocks running when it
is dispatched. The engine charges each layer of a block ``max(latency, off-chip words x k /
bandwidth)`` with ``k`` = 1 + the accelerators busy at its dispatch, fixed for the block's whole run
(its processor-sharing rule, :mod:`scheduler.engine`), so the share a block gets is known exactly
when it is dispatched. SDRM3 cuts jobs into short blocks (``block_fraction`` of the shortest
period), which isolates a layer whose transfers dominate its compute in a block of its own;
dispatched next to a busy accelerator it runs up to ``k`` times longer than its best case, which the
best-case tests (the engine's placement check, SDRM3's feasibility) do not see. With the hold a pair
is not taken when the job could still meet its deadline after the block at full bandwidth but cannot
at the share the block would get now (block at that share, then the rest of the job at its best
case); the job waits until fewer accelerators are busy. Pairs of a job that cannot meet its deadline
anyway are not touched, so the hold never keeps a hopeless job from an idle accelerator.

The test is the same for every model, scenario and system (no constant): it only acts where the
run has off-chip contention and a block is bandwidth-bound at the current share. Several pairs
dispatched at one decision point are checked in their dispatch order, each with the accelerators
made busy by the ones before it (the engine applies them in that order).
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import Job, SchedulerState


def held(
    job: Job, acc: int, n: int, k: int, state: SchedulerState, memo: dict | None = None
) -> bool:
    """Would running ``n`` layers of ``job`` on ``acc`` with ``k`` accelerators busy (itself
    included) make it miss its deadline, when the block at full bandwidth would not? (The
    engine's placement test, :meth:`~scheduler.mechanics.MechanicsRuntime.can_continue`, at the
    two shares; a job that cannot meet its deadline anyway is never held.) ``memo`` (optional,
    one run): the time-independent parts of that test
    (:meth:`~scheduler.mechanics.MechanicsRuntime.continue_need_ms`) are computed once per
    (variant, next layer, previous accelerator, block, share)."""
    mech = state.mechanics
    if mech is None or not getattr(mech, "offchip_bw", None) or k <= 1:
        return False
    if memo is None:
        # the shared test first: a block that fits at the share fits at full bandwidth too
        # (and the result is the same whichever test runs first, both being pure)
        if mech.can_continue(job, acc, n, state.now_ms, busy=k):
            return False
        return mech.can_continue(job, acc, n, state.now_ms, busy=1)
    slack = job.deadline_ms - state.now_ms
    key = (mech, mech.offchip_bw, job.costs, job.next_layer, job.last_accelerator)
    best = memo.get(("hold_best", *key))
    if best is None:
        best = memo["hold_best", *key] = mech.best_remaining_ms(job)
    if best > slack:  # can_continue is True at every share
        return False
    if _need(memo, key, job, acc, n, k) <= slack:
        return False
    return _need(memo, key, job, acc, n, 1) <= slack


def _need(memo: dict, key: tuple, job: Job, acc: int, n: int, busy: int) -> float:
    """``continue_need_ms`` of the run's mechanics (``key[0]``), memoised."""
    full = ("hold_need", *key, acc, n, busy)
    need = memo.get(full)
    if need is None:
        need = memo[full] = key[0].continue_need_ms(job, acc, n, busy)
    return need


def pick_unheld(
    scores: np.ndarray, terms: PairTerms, state: SchedulerState, memo: dict | None = None
) -> list[tuple[int, int]]:
    """:func:`~.sdrm3_terms.greedy_pairs` skipping held pairs: best pair first, each job and
    accelerator at most once; a pair is checked with the accelerators busy now plus the ones the
    pairs picked before it occupy. ``memo``: that of :func:`held`."""
    s = np.array(scores, dtype=float, copy=True)
    busy = 1 + sum(r is not None for r in state.running)
    picked: list[tuple[int, int]] = []
    while s.size:
        flat = int(s.argmax())
        if not math.isfinite(s.flat[flat]):
            break
        i, k = divmod(flat, s.shape[1])
        acc, n = int(terms.accelerators[k]), int(terms.n_layers[i, k])
        if held(terms.jobs[i], acc, n, busy + len(picked), state, memo):
            s[i, k] = -np.inf
            continue
        picked.append((i, k))
        s[i, :] = -np.inf
        s[:, k] = -np.inf
    return picked
