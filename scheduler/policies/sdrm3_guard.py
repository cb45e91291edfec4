"""SDRM3's starvation guard (option ``guard`` of :mod:`.sdrm3`): a model whose last ``frames``
frames were all lost (late or dropped) is *starving*, until one of its frames completes on time.

While a model starves, SDRM3 (see :meth:`~.sdrm3.SDRM3.decide`)

- takes its ready jobs' pairs before every other pair (their MapScore is raised by a constant
  larger than any spread of MapScores; infeasible pairs stay excluded),
- never holds them back by exclusive-work protection or energy-aware deferral, and
- protects its expected frames on the accelerator where a whole frame finishes first, as if the
  model were pinned there (if a frame fits its period there; root models only, like the pins).

With ``guard_mode="yield"`` (off by default) the guard is *score-aware*: a starving model's
pair is taken first (and spared protection and deferral) only if it takes no accelerator from
work exclusive to it (:meth:`~.sdrm3_checks.SDRM3Checks._protected`) and makes no more of the
lookahead demand exceed the capacity than if the job were not served (:func:`displaced`;
``guard_mode="order"``: than with the job in deadline order; ``"trade"``: by at most one item;
``"budget"``: by no more, summed over the model's pairs taken first in the run, than its
on-time frames + 1); otherwise it is scheduled like any other pair (its expected frames stay
protected).

The rule has one parameter, ``frames``, the same for every model, scenario and system; it reads
only the engine's running per-model counters (``SchedulerState.metrics.lost_streak``), so it has
no state of its own (a replay started from the engine's counters decides as the real run).
``"budget"`` is the one exception: what each model's pairs displaced so far
(:attr:`~.sdrm3.SDRM3.guard_spent`, allocated in that mode only) is an estimate made at each
dispatch, which no engine counter records, so a replay does not decide exactly as the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scheduler.policies.sdrm3_capacity import demand_curve
from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import RunningMetrics, SchedulerState


def starving_models(metrics: RunningMetrics, frames: int) -> np.ndarray:
    """Per model, True if its frames lost since its latest on-time frame (the engine's
    ``lost_streak``) reach ``frames``."""
    return np.asarray(metrics.lost_streak) >= frames


def guard_pins(
    pinned: np.ndarray, starving: np.ndarray, full_ms: np.ndarray, periods_ms: np.ndarray
) -> np.ndarray:
    """The pins protection uses: each starving model is pinned to the accelerator where a whole
    frame finishes first when a frame fits its period there; the others keep ``pinned``."""
    if not np.asarray(starving).any():  # the method: np.any's dispatch costs more here
        return np.array(pinned, copy=True)
    fastest = np.argmin(full_ms, axis=1)
    fits = full_ms[np.arange(len(full_ms)), fastest] <= np.asarray(periods_ms, dtype=float)
    return np.where(np.asarray(starving) & fits, fastest, pinned)


def displaced(
    demand: tuple,
    own: int,
    blocks_ms: np.ndarray,
    accelerators: np.ndarray,
    rest_ms: np.ndarray,
    against: str = "yield",
) -> np.ndarray:
    """Per pair of one starving job: how much other work taking it first displaces.

    ``demand`` is SDRM3's lookahead demand ``(deadlines, work, ..., free)``
    (:meth:`~.sdrm3_checks.SDRM3Checks._demand_items`, the job being item ``own``). Running the
    job's block of ``blocks_ms[k]`` on ``accelerators[k]`` now (its remaining ``rest_ms[k]``
    then counted at its deadline) displaces the number of deadlines at which the cumulative
    demand exceeds the capacity (:func:`~.sdrm3_capacity.demand_curve`) beyond those without the
    job (``against="order"``: with its work in deadline order) -- a proxy for the frames that
    would miss.
    """
    deadlines, work, free = demand[0], demand[1], demand[-1]

    def over(w: np.ndarray, f: np.ndarray) -> int:
        cum, cap = demand_curve(deadlines, w, f)
        return int(np.sum(cum > cap + 1e-9))

    base = work.copy()
    if against != "order":
        base[own] = 0.0
    before = over(base, free)
    out = np.zeros(len(accelerators), dtype=np.int64)
    for k, a in enumerate(accelerators):
        w, f = work.copy(), free.copy()
        w[own], f[int(a)] = rest_ms[k], f[int(a)] + blocks_ms[k]
        out[k] = over(w, f) - before
    return out


def guard_first(
    policy: Any,
    terms: PairTerms,
    state: SchedulerState,
    jobs: list,
    starving: np.ndarray,
    protected: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``[jobs x idle]`` pairs the guard takes first, and with ``guard_mode="budget"`` what each
    such pair is charged if taken (else None).

    The pairs: every pair of a starving model's job (``guard_mode="first"``), else only those that
    take no exclusive work's accelerator (``protected``, computed without exempting the starving
    models) and displace (:func:`displaced`) nothing (``"yield"``, ``"order"``), at most one item
    (``"trade"``), or no more than the model's budget (``"budget"``: its on-time frames + 1 -
    what its pairs taken first displaced so far, ``policy.guard_spent``; the charge of a pair is
    what it displaces)."""
    if not np.asarray(starving).any():
        first = np.zeros(terms.energy.shape, dtype=bool)
    else:
        first = np.repeat(
            starving[[j.model for j in terms.jobs]][:, None], terms.energy.shape[1], 1
        )
    mode = policy.guard_mode
    if mode == "first" or not first.any():
        return first, None
    charge = np.zeros(first.shape, dtype=np.int64) if mode == "budget" else None
    first &= ~protected
    demand = policy._demand_items(jobs, state)
    index = {id(j): i for i, j in enumerate(jobs)}
    mpc = policy.ms_per_cycle
    for i in np.flatnonzero(first.any(axis=1)):
        job = terms.jobs[i]
        c, start = job.costs, job.next_layer
        accs = terms.accelerators.astype(int)
        ends = start + terms.n_layers[i].astype(int)
        blocks = np.array([c.block_latency_cycles(start, int(e - start), a) * mpc[a]
                           for e, a in zip(ends, accs, strict=True)])  # fmt: skip
        rest = np.array([policy._rest_ms(job, e) for e in ends]) + float(policy.chain_ms[job.model])
        cost = displaced(demand, index[id(job)], blocks, accs, rest, mode)
        if charge is None:
            first[i] &= cost <= {"yield": 0, "order": 0, "trade": 1}[mode]
            continue
        m = job.model
        first[i] &= cost <= int(state.metrics.on_time[m]) + 1 - int(policy.guard_spent[m])
        charge[i] = np.where(first[i], np.maximum(cost, 0), 0)
    return first, charge


def charge_budget(
    spent: np.ndarray | None,
    charge: np.ndarray | None,
    terms: PairTerms,
    pairs: list[tuple[int, int]],
) -> None:
    """``guard_mode="budget"``: add to ``spent`` (per model) the charge (:func:`guard_first`) of
    each ``(job, idle)`` pair dispatched; nothing in the other modes (both None)."""
    if spent is None or charge is None:
        return
    for i, k in pairs:
        spent[terms.jobs[i].model] += charge[i, k]
