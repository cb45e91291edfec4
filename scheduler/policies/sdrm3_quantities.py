"""SDRM3's derived quantities of a decision point, computed once: each job's remaining latency
(with and without the engine's migration cost), the best-case rest after a block, when each
accelerator frees up, and the work exclusive to each accelerator (:meth:`_exclusive_work`, used by
exclusive-work protection and the lax-job wait). The quantities that depend only on a job's variant,
next layer and previous accelerator are memoised for the run (``_memo``, reset by
:meth:`~.sdrm3.SDRM3.reset`); those of one decision point are cached for that decision only
(``_dc``, set by :meth:`~.sdrm3.SDRM3.decide`). Neither changes a value: both only avoid computing
it again. :class:`SDRM3Quantities` is the base of the mixin :class:`~.sdrm3_checks.SDRM3Checks`.
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.policies.base import RunContext
from scheduler.policies.sdrm3_rows import rem_ms
from scheduler.state import Job, SchedulerState


class SDRM3Quantities:
    """Memoised and per-decision quantities read by SDRM3's tests."""

    # Set by SDRM3.__init__/reset before any use.
    ctx: RunContext
    ms_per_cycle: np.ndarray
    busy_until: np.ndarray
    full_ms: np.ndarray
    _full_ms_rows: list[list[float]]  # full_ms as nested lists (plain floats)
    pinned: np.ndarray
    protect_pending: bool
    #: Per model, the share of its frames the service plan serves (``plan_protect``), else None.
    _plan_weight: np.ndarray | None
    #: Run-long memo of pure functions of (variant, layer, previous accelerator, ...).
    _memo: dict
    #: The state of the decision point being decided and that decision's cache (per-decide
    #: quantities computed once: free-up times, exclusive work).
    _dc_state: SchedulerState | None = None
    _dc: dict

    def _rem(self, job: Job, start: int | None = None) -> np.ndarray:
        """Per accelerator: latency (ms) of ``job``'s layers from ``start`` (default: its next
        layer) to its end, without migration; read-only (memoised for the run)."""
        layer = job.next_layer if start is None else start
        return rem_ms(self._memo, job.costs, layer, self.ms_per_cycle)

    def _rem_list(self, job: Job) -> list[float]:
        """:meth:`_rem` as a list of plain floats (memoised for the run)."""
        key = ("rem_list", job.costs, job.next_layer)
        out = self._memo.get(key)
        if out is None:
            out = self._memo[key] = self._rem(job).tolist()
        return out

    def _cache(self, state: SchedulerState) -> dict | None:
        """The cache of the decision point at ``state`` (None outside :meth:`decide`)."""
        return self._dc if self._dc_state is state else None

    def _busy_until(self, state: SchedulerState) -> np.ndarray:
        """When each accelerator's running block ends: the engine's, else SDRM3's own estimate."""
        return self.busy_until if state.busy_until_ms is None else state.busy_until_ms

    def _free_from(self, state: SchedulerState) -> np.ndarray:
        """When each accelerator frees up (ms): its running block's end, now if it is idle."""
        cache = self._cache(state)
        if cache is not None and "free" in cache:
            return cache["free"].copy()
        now = state.now_ms
        busy = np.asarray(self._busy_until(state), dtype=float).tolist()
        free = np.array(
            [now if r is None else max(b, now) for r, b in zip(state.running, busy, strict=True)],
            dtype=float,
        )
        if cache is not None:
            cache["free"] = free.copy()
        return free

    def _remaining_ms(self, job: Job, state: SchedulerState) -> np.ndarray:
        """Per accelerator: latency (ms) of ``job``'s remaining layers there, the engine's
        migration cost included."""
        mech = state.mechanics
        if mech is None:
            return self._rem(job)
        # the migration cost is a function of the job's variant, next layer and previous
        # accelerator (the run's migration rule fixed): memoised for the run
        key = ("remaining", mech, job.costs, job.next_layer, job.last_accelerator)
        rem = self._memo.get(key)
        if rem is None:
            rem = self._rem(job) + mech.move_ms(job)
            rem.setflags(write=False)
            self._memo[key] = rem
        return rem

    def _best_remaining(self, job: Job, state: SchedulerState) -> float:
        """The least of :meth:`_remaining_ms` (memoised like it)."""
        key = ("best", state.mechanics, job.costs, job.next_layer, job.last_accelerator)
        best = self._memo.get(key)
        if best is None:
            best = self._memo[key] = float(self._remaining_ms(job, state).min())
        return best

    def _rest_ms(self, job: Job, end_layer: int) -> float:
        """Latency (ms) of ``job``'s layers from ``end_layer`` on its fastest accelerator (0 when
        none are left): the rest of the job after a block that ends there."""
        c = job.costs
        if end_layer >= c.num_layers:
            return 0.0
        key = ("rest", c, end_layer)
        rest = self._memo.get(key)
        if rest is None:
            rest = self._memo[key] = float(self._rem(job, end_layer).min())
        return rest

    def _exclusive_work(self, state: SchedulerState, pins: np.ndarray | None = None) -> tuple:
        """(items, free, can) of :meth:`_protected`: per accelerator the ``(release, deadline,
        work)`` items of the work exclusive to it, when each accelerator frees up, and per ready
        job the accelerators on which its remaining layers finish in time."""
        cache = self._cache(state)
        key = ("exclusive", id(pins))
        if cache is not None and key in cache:
            hit = cache[key]  # copies: lax_waits appends to the queues
            return [list(x) for x in hit[0]], hit[1].copy(), hit[2]
        now = state.now_ms
        n_acc = len(self.ms_per_cycle)
        free = self._free_from(state)
        items: list[list[tuple[float, float, float]]] = [[] for _ in range(n_acc)]
        can: list[np.ndarray] = []
        for j in state.ready:
            rem = self._rem_list(j)
            slack = j.deadline_ms - now
            fits = [r <= slack for r in rem]
            can.append(np.array(fits, dtype=bool))
            if sum(fits) == 1:
                a = fits.index(True)
                items[a].append((now, j.deadline_ms, rem[a]))
        periods = np.asarray(state.periods_ms, dtype=float).tolist()
        horizon = now + max(periods)
        end = min(horizon, self.ctx.horizon_ms) + 1e-9
        full = self._full_ms_rows
        for m, a in enumerate(np.asarray(self.pinned if pins is None else pins).tolist()):
            if a < 0 or state.parents[m] is not None:
                continue
            period = periods[m]
            work = float(state.probabilities[m]) * full[m][a]
            if self._plan_weight is not None:  # issue 12v: the share the service plan serves
                work *= float(self._plan_weight[m])
            f = math.floor(now / period + 1e-9) + 1
            if self.protect_pending:
                f -= _pending(state, m, f - 1)
            while f * period <= end:
                items[a].append((f * period, (f + 1) * period, work))
                f += 1
        if cache is not None:  # pins stays alive for the whole decision (id is unique then)
            cache[key] = ([list(x) for x in items], free.copy(), can)
        return items, free, can


def _pending(state: SchedulerState, model: int, frame: int) -> int:
    """1 if root ``model``'s ``frame`` (whose nominal release has passed) is not released yet:
    the engine has seen fewer release events of the model (triggered or not) than ``frame + 1``."""
    m = state.metrics
    seen = int(m.released[model] + m.not_triggered[model])
    return int(seen <= frame)


def _finishes(items: list[tuple[float, float, float]], start_ms: float) -> np.ndarray:
    """Finish time of each ``(release, deadline, work)`` item (in the items' order) when they run
    in deadline order from ``start_ms`` on one accelerator (each starts at the earliest at its
    release)."""
    t, out = start_ms, np.empty(len(items))
    for i in sorted(range(len(items)), key=lambda i: items[i][1]):
        release, _, work = items[i]
        t = max(t, release) + work
        out[i] = t
    return out


def _misses(items: list[tuple[float, float, float]], start_ms: float) -> int:
    """Deadline misses of ``(release, deadline, work)`` items run in deadline order from
    ``start_ms`` on one accelerator (:func:`_finishes`)."""
    t, misses = start_ms, 0
    for release, deadline, work in sorted(items, key=lambda x: x[1]):  # as _finishes, stable
        t = max(t, release) + work
        misses += t > deadline + 1e-9
    return misses
