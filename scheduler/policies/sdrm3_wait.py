"""SDRM3's energy-aware wait for lax jobs (``lax_wait=k`` of :mod:`.sdrm3`; k = 2 by default).

A job is held back from an idle accelerator a when its next block (as cut for the pair) costs at
least ``k`` times the energy there that it costs on its cheapest accelerator c (migration energy
included) and the job, waiting for c, can still finish there by its deadline with room left for
*all* of its cascade children's best-case work (not their expected work: a wait saves energy only,
so it must not make a child that is triggered hopeless) without making more of c's queue miss.
c's queue is the exclusive work of :meth:`~.sdrm3_quantities.SDRM3Quantities._exclusive_work` --
the ready jobs that can finish only on c and the expected frames of the models pinned (or
guard-pinned) to c, within the longest period -- from when c's running block ends (now if c is
idle too: another job may take it at this decision point), plus the jobs already held back for c
here (visited by urgency, the most urgent first), in deadline order
(:func:`~.sdrm3_quantities._misses`). The job's own pair on c is never held back. With
``lax_fallback=True`` the wait also keeps a fallback: the job is held back from a only if, starting
where that queue would start it on c, it could still finish on a instead (c may be taken by work
the queue does not count: ready jobs that could run elsewhere).

Unlike energy-aware deferral (``defer``), the wait is not switched off under load: the test
counts the work that will need c, so under load the job does not wait. One constant ``k`` for
every model, scenario and system.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scheduler.policies.sdrm3_quantities import _finishes, _misses
from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import Job, SchedulerState


def lax_waits(
    policy: Any,
    terms: PairTerms,
    state: SchedulerState,
    k: float,
    pins: np.ndarray,
    fallback: bool = False,
) -> np.ndarray:
    """``[jobs x idle]`` mask of the pairs held back for the job's cheapest accelerator
    (``fallback``: only if the job could still finish on the pair's accelerator instead)."""
    mask = np.zeros(terms.energy.shape, dtype=bool)
    items: list = []
    free = np.zeros(0)
    now, mech, mpc = state.now_ms, state.mechanics, policy.ms_per_cycle
    accs: list[int] = terms.accelerators.astype(int).tolist()
    blocks: list[list[int]] = terms.n_layers.tolist()
    n_acc = len(mpc)
    for i in (-terms.urgency).argsort(kind="stable").tolist():
        job = terms.jobs[i]
        start = job.next_layer
        rem = policy._remaining_ms(job, state)
        due = job.deadline_ms - float(policy.chain_full_ms[job.model])
        starts: dict[int, float | None] = {}  # cheapest accelerator -> the job's start there
        held: set[int] = set()
        for kk, a in enumerate(accs):
            energy, cheap = _block_energy(policy._memo, job, start + blocks[i][kk], mech, n_acc)
            if cheap == a or energy[a] < k * energy[cheap]:
                continue
            if not items:  # the exclusive work, needed from the first candidate wait on
                items, free, _ = policy._exclusive_work(state, pins)
            if cheap not in starts:
                own = (now, due, float(rem[cheap]))
                queue = items[cheap]
                ok = _misses([*queue, own], free[cheap]) <= _misses(queue, free[cheap])
                ends = _finishes([*queue, own], free[cheap])
                starts[cheap] = float(ends[-1] - rem[cheap]) if ok else None
            begin = starts[cheap]
            wait = begin is not None and (not fallback or begin + float(rem[a]) <= due)
            mask[i, kk] = wait
            if wait:
                held.add(cheap)
        for cheap in held:  # the jobs already waiting for it
            items[cheap].append((now, due, float(rem[cheap])))
    return mask


def _block_energy(memo: dict, job: Job, end: int, mech: Any, n_acc: int) -> tuple[list, int]:
    """Per accelerator: the energy (nJ) of ``job``'s layers from its next one to ``end`` there,
    migration energy included, and the accelerator where it is least. A function of the job's
    variant, next layer, previous accelerator and ``end`` only, memoised in ``memo`` (one run)."""
    c, start = job.costs, job.next_layer
    key = ("wait", c, start, end, job.last_accelerator)
    hit = memo.get(key)
    if hit is None:
        energy = c.energy_prefix[end] - c.energy_prefix[start]
        if mech is not None:
            energy = energy + np.array([mech.move_energy_nj(job, b) for b in range(n_acc)])
        hit = (energy.tolist(), int(np.argmin(energy)))
        memo[key] = hit
    return hit
