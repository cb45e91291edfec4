"""Overload shedding shared by SDRM3 (option ``admission``) and the fair baseline
:class:`~.edf_admission.EDFAdmission`: the demand due within a lookahead, the frames' losses, and
which unstarted ready jobs to shed when even an ideal schedule cannot fit that demand.

The test is deliberately one function for both policies (issue 12r: overload shedding must not be
SDRM3's privilege): each policy supplies the same per-model quantities (expected cascade work, loss
per lost frame, expected work of a future frame) and the same best-case remaining work of a job;
:func:`demand_items` builds the items and :func:`shed_jobs` picks the jobs to drop.

- Items: the ready jobs (unstarted ones sheddable; work = best-case remaining latency plus expected
  cascade work), the running jobs' work after their current block (not sheddable), and the
  expected frames of the root models still to be released whose deadline falls within the longest
  period from now (sheddable later, on release: if one of them is the cheapest to lose, nothing
  is shed now). Capacity counts each accelerator from when its running block ends.
- Shedding: :func:`shed_for_capacity` (most work per loss first, among the items due by the first
  deadline whose demand exceeds the capacity).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from scheduler.state import Job, SchedulerState

#: The demand items: (deadlines_ms, work_ms, loss, sheddable, free_from_ms).
DemandItems = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def free_from_ms(state: SchedulerState, busy_until_ms: np.ndarray | None = None) -> np.ndarray:
    """When each accelerator frees up (ms): its running block's end (``busy_until_ms``, default
    the engine's ``state.busy_until_ms``; without either, now), now if it is idle."""
    now = state.now_ms
    busy = state.busy_until_ms if busy_until_ms is None else busy_until_ms
    if busy is None:
        busy = np.full(len(state.running), now)
    ends = np.asarray(busy, dtype=float).tolist()
    return np.array(
        [now if r is None else max(b, now) for r, b in zip(state.running, ends, strict=True)],
        dtype=float,
    )


def best_remaining_ms(job: Job, state: SchedulerState, ms_per_cycle: np.ndarray) -> float:
    """The best-case remaining latency (ms) of a ready job, as SDRM3's admission counts it: with the
    engine's mechanics at the policy's clocks, the least over accelerators of the job's remaining
    layers there plus the engine's migration cost; at other clocks the mechanics' lower bound
    (:meth:`~scheduler.mechanics.MechanicsRuntime.best_remaining_ms`); without mechanics the least
    remaining latency."""
    mech = state.mechanics
    if mech is None:
        return float(np.min(job.costs.remaining_latency_cycles(job.next_layer) * ms_per_cycle))
    if np.array_equal(mech.ms_per_cycle, ms_per_cycle):
        return mech.single_best_ms(job)
    return mech.best_remaining_ms(job)


def running_rest_ms(job: Job, ms_per_cycle: np.ndarray) -> float:
    """A running job's work after its current block (ms): its layers from its next layer on its
    fastest accelerator, without migration (0 when none are left)."""
    c = job.costs
    if job.next_layer >= c.num_layers:
        return 0.0
    return float((c.remaining_latency_cycles(job.next_layer) * ms_per_cycle).min())


def demand_items(
    state: SchedulerState,
    jobs: Sequence[Job],
    best_ms: Callable[[Job], float],
    rest_ms: Callable[[Job], float],
    chain_ms: Sequence[float],
    loss: Sequence[float],
    frame_ms: Sequence[float],
    free_ms: np.ndarray,
    run_horizon_ms: float,
) -> DemandItems:
    """(deadlines, work, loss, sheddable, free_from) of the demand within a lookahead (module
    docstring), the ready ``jobs`` first in their order.

    ``best_ms(job)``: a ready job's best-case remaining latency; ``rest_ms(job)``: a running
    job's work after its block; per model ``chain_ms`` (expected cascade work), ``loss``
    (:func:`frame_loss`) and ``frame_ms`` (a frame's best-case full latency plus its cascade
    work); ``free_ms``: when each accelerator frees up; ``run_horizon_ms``: the run's end (no
    frame due after it is counted). The lookahead is the longest period from now.
    """
    now = state.now_ms
    periods = np.asarray(state.periods_ms, dtype=float).tolist()
    horizon = now + max(periods)
    deadlines, work, lost, can = [], [], [], []
    for j in jobs:
        deadlines.append(j.deadline_ms)
        work.append(best_ms(j) + chain_ms[j.model])
        lost.append(loss[j.model])
        can.append(not j.started)
    for j in state.running:
        if j is None:
            continue
        deadlines.append(j.deadline_ms)
        work.append(rest_ms(j) + chain_ms[j.model])
        lost.append(0.0)
        can.append(False)
    end = min(horizon, run_horizon_ms) + 1e-9
    for m, parent in enumerate(state.parents):
        if parent is not None:
            continue
        period = periods[m]
        f = math.floor(now / period + 1e-9) + 1  # the first frame released after now
        due = []
        while (f + 1) * period <= end:
            due.append((f + 1) * period)
            f += 1
        deadlines += due
        work += [float(state.probabilities[m]) * frame_ms[m]] * len(due)
        lost += [loss[m]] * len(due)
        can += [True] * len(due)
    return np.array(deadlines), np.array(work), np.array(lost), np.array(can), free_ms


def shed_jobs(jobs: Sequence[Job], items: DemandItems) -> list[Job]:
    """The jobs (the first items of ``items``, from :func:`demand_items`) to shed now
    (:func:`shed_for_capacity`)."""
    shed = shed_for_capacity(*items)
    return [jobs[int(i)] for i in np.flatnonzero(shed[: len(jobs)])]


def frame_loss(periods_ms: Sequence[float], parents: Sequence[int | None],
               probabilities: Sequence[float]) -> np.ndarray:  # fmt: skip
    """Per model: the expected share of V that losing one of its frames costs, up to a constant.

    V averages over models the lost fraction of each model's released frames, so one lost frame of
    model m costs ``1 / n_m`` with ``n_m`` proportional to ``share_m / T_m`` (``share_m``: the
    fraction of m's frames that are triggered, the product of the cascade probabilities up to its
    root). Losing a parent frame also loses each child's frame with the child's probability:
    ``loss_m = T_m / share_m + sum over children c of p_c loss_c``.
    """
    n = len(periods_ms)
    p = np.asarray(probabilities, dtype=float)
    share = trigger_shares(parents, probabilities)
    own = np.asarray(periods_ms, dtype=float) / np.maximum(share, 1e-12)
    loss = np.zeros(n)

    def total(m: int, depth: int = 0) -> float:
        if depth > n:
            return 0.0
        kids = [c for c in range(n) if parents[c] == m]
        return float(own[m]) + sum(float(p[c]) * total(c, depth + 1) for c in kids)

    for m in range(n):
        loss[m] = total(m)
    return loss


def shed_for_capacity(
    deadlines_ms: np.ndarray,
    work_ms: np.ndarray,
    loss: np.ndarray,
    sheddable: np.ndarray,
    free_from_ms: np.ndarray,
    tol_ms: float = 1e-9,
) -> np.ndarray:
    """Which items to shed so that the demand fits the capacity at every deadline.

    Items (jobs, or expected future frames) have a deadline, a best-case work (ms on their fastest
    accelerator) and a loss (:func:`frame_loss`). Accelerator a is free from ``free_from_ms[a]``,
    so the capacity up to time d is ``sum_a max(0, d - free_from_a)``. The demand of the items due
    by d is the sum of their work. Where some demand exceeds its capacity (a necessary condition
    of feasibility fails: even an ideal schedule must lose work due by then) the item among those
    due by then with the most work per loss is shed, and the test repeats. Overloads that no
    sheddable item can relieve are left alone. Returns a boolean mask over the items.
    """
    d = np.asarray(deadlines_ms, dtype=float)
    work = np.asarray(work_ms, dtype=float)
    value = work / np.maximum(np.asarray(loss, dtype=float), 1e-300)
    order = np.argsort(d, kind="stable")
    cap = np.maximum(d[order][:, None] - np.asarray(free_from_ms)[None, :], 0.0).sum(axis=1)
    shed = np.zeros(len(d), dtype=bool)
    can = np.asarray(sheddable, dtype=bool).copy()
    while True:
        demand = np.cumsum(np.where(shed[order], 0.0, work[order]))
        over = np.flatnonzero(demand > cap + tol_ms)
        if not len(over):
            return shed
        prefix = order[: over[0] + 1]
        cand = prefix[can[prefix] & ~shed[prefix]]
        if not len(cand):
            return shed
        shed[cand[np.argmax(value[cand])]] = True


def trigger_shares(parents: Sequence[int | None], probabilities: Sequence[float]) -> np.ndarray:
    """Per model: the fraction of its frames that are triggered (the product of the cascade
    probabilities from the model up to its root)."""
    n = len(parents)
    p = np.asarray(probabilities, dtype=float)
    share = np.ones(n)
    for m in range(n):
        k, depth = m, 0
        while k is not None and depth <= n:
            share[m] *= p[k]
            k, depth = parents[k], depth + 1
    return share
