"""SDRM3's per-decision tests on the lookahead demand and the pairs' laxity: which pairs are
*progress pairs*, which are held back by energy-aware deferral, whether the work due within the
lookahead exceeds the capacity (deferral off, overload-aware admission), and each pair's laxity
after its block (slack-aware energy placement). The rules are stated in the docstrings of
:mod:`scheduler.policies.sdrm3` (progress pairs) and :mod:`~.sdrm3_options` (the options);
:class:`SDRM3Checks` is a mixin of
:class:`~scheduler.policies.sdrm3.SDRM3`, reading the state that its ``reset`` sets; the
quantities the tests share (remaining latencies, free-up times, exclusive work), memoised or
computed once per decision point, are those of its base :class:`~.sdrm3_quantities.SDRM3Quantities`.
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.policies.base import RunContext
from scheduler.policies.overload import DemandItems, demand_items, shed_jobs
from scheduler.policies.sdrm3_capacity import demand_curve
from scheduler.policies.sdrm3_quantities import SDRM3Quantities, _finishes, _misses
from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import Job, SchedulerState


class SDRM3Checks(SDRM3Quantities):
    """The tests SDRM3's ``decide`` applies to the pairs of one decision point."""

    # Set by SDRM3.__init__/reset (and ``_now`` by decide) before any test runs.
    ctx: RunContext
    ms_per_cycle: np.ndarray
    busy_until: np.ndarray
    chain_ms: np.ndarray
    loss: np.ndarray
    best_full_ms: np.ndarray
    full_ms: np.ndarray
    #: Per model, as plain floats: chain_ms ("chain"), loss ("loss"), best_full_ms + chain_ms
    #: ("frame").
    _model_lists: dict[str, list[float]]
    defer_margin: float
    block_ms: float
    min_period_ms: float
    affinity_margin: float
    pinned: np.ndarray
    protect_value: float | None
    protect_value_mode: str
    home: np.ndarray
    energy_term: str
    protect_pending: bool
    _now: float

    def _laxity_after(self, terms: PairTerms, state: SchedulerState) -> np.ndarray:
        """``[jobs x idle]``: each job's laxity (ms) if its next block (as cut for the pair) runs
        on the pair's accelerator now and the rest where it finishes first, migrations included
        (the engine's), its expected cascade work after it."""
        mech = state.mechanics
        n_acc = len(self.ms_per_cycle)
        out = np.empty(terms.n_layers.shape)
        for i, job in enumerate(terms.jobs):
            c, start = job.costs, job.next_layer
            slack = job.deadline_ms - state.now_ms - float(self.chain_ms[job.model])
            move = mech.move_ms(job) if mech is not None else np.zeros(n_acc)
            for k, a in enumerate(terms.accelerators):
                a = int(a)
                end_layer = start + int(terms.n_layers[i, k])
                block = (c.latency_prefix[end_layer, a] - c.latency_prefix[start, a]) * float(
                    self.ms_per_cycle[a]
                )
                rest = 0.0
                if end_layer < c.num_layers:
                    tail = (c.latency_prefix[-1] - c.latency_prefix[end_layer]) * self.ms_per_cycle
                    if mech is not None:
                        tail = tail + mech.move_ms(job, end_layer, a)
                    rest = float(tail.min())
                out[i, k] = slack - float(move[a]) - block - rest
        return out

    def _demand_items(self, jobs: list[Job], state: SchedulerState) -> DemandItems:
        """(deadlines, work, loss, sheddable, free_from) of the demand within a lookahead: the
        shared :func:`~.overload.demand_items`, fed with SDRM3's memoised quantities (the same
        numbers :class:`~.edf_admission.EDFAdmission` computes from the state directly)."""
        mech = state.mechanics
        # at the engine's clocks: the least over accelerators of the rest there, migration
        # included (_best_remaining); not the engine's per-layer lower bound, which can be
        # lower on heterogeneous systems (12o) -- kept, the demand test is a heuristic
        same = False
        if mech is not None:
            same = self._memo.get(("clocks", mech))
            if same is None:  # checked once per run
                same = bool(np.array_equal(mech.ms_per_cycle, self.ms_per_cycle))
                self._memo["clocks", mech] = same

        def best(j: Job) -> float:
            if same:
                return self._best_remaining(j, state)
            if mech is not None:
                return mech.best_remaining_ms(j)
            return float(np.min(self._rem(j)))

        lists = self._model_lists
        return demand_items(
            state, jobs, best, lambda j: self._rest_ms(j, j.next_layer), lists["chain"],
            lists["loss"], lists["frame"], self._free_from(state), self.ctx.horizon_ms,
        )  # fmt: skip

    def _admission(self, jobs: list[Job], state: SchedulerState) -> list[Job]:
        """Unstarted ready jobs to shed now because the work due within a lookahead exceeds the
        capacity even in an ideal schedule (:meth:`_demand_items`, :func:`~.overload.shed_jobs`)."""
        return shed_jobs(jobs, self._demand_items(jobs, state))

    def _overloaded(self, jobs: list[Job], state: SchedulerState, load: float = 1.0) -> bool:
        """True if the work due within the lookahead (:meth:`_demand_items`) exceeds ``load`` x
        the capacity at some deadline: then no accelerator may be left idle for energy's sake."""
        d, work, _, _, free = self._demand_items(jobs, state)
        cum, cap = demand_curve(d, work, free)
        return bool((cum > load * cap + 1e-9).any())

    def _progress_pairs(self, terms: PairTerms, state: SchedulerState) -> np.ndarray:
        """``feasible`` extended with *progress pairs* (see the docstring of :mod:`.sdrm3`)."""
        feasible = terms.feasible.copy()
        now = state.now_ms
        for i in [i for i, ok in enumerate(feasible.all(axis=1).tolist()) if not ok]:
            job = terms.jobs[i]
            slack = job.deadline_ms - now
            good = [a for a, r in enumerate(self._rem_list(job)) if r <= slack]
            if not good or any(state.running[b] is None for b in good):
                continue
            rem = self._rem(job)
            free = np.array([max(self._busy_until(state)[b], now) for b in good])
            b = int(good[np.argmin(free)])
            free_at = float(free.min())
            waiting_fits = free_at + rem[b] <= job.deadline_ms
            if waiting_fits and self._demand_ok(job, b, free_at, state):
                continue  # wait for b: nobody loses by it
            for k in np.flatnonzero(~feasible[i]):
                acc = int(terms.accelerators[k])
                n = self._progress_block(job, acc, b, free_at, int(terms.n_layers[i, k]))
                if not waiting_fits:  # bridge the wait only: move to b as soon as it is free
                    until = (free_at - now) / self.ms_per_cycle[acc]
                    n = min(n, job.costs.layers_within(job.next_layer, acc, until))
                if n > 0:
                    terms.n_layers[i, k] = n
                    feasible[i, k] = True
        return feasible

    def _demand_ok(self, job: Job, b: int, free_at: float, state: SchedulerState) -> bool:
        """EDF demand test on accelerator b from ``free_at``: ``job`` plus the running job's and
        the ready jobs' remaining work that can finish only on b all meet their deadlines."""
        now = state.now_ms
        items = [(job.deadline_ms, job.costs.remaining_latency_cycles(job.next_layer)[b])]
        others = [j for j in state.ready if j is not job]
        run = state.running[b]
        if run is not None:
            others.append(run)
        for k in others:
            rem = self._rem(k)
            if k is run:
                rem = rem - (free_at - now)
                rem[b] = max(rem[b], 0.0)
            slack = k.deadline_ms - now
            ok = rem <= slack
            if ok[b] and ok.sum() == 1:
                items.append((k.deadline_ms, rem[b] / self.ms_per_cycle[b]))
        t = free_at
        for deadline, cycles in sorted(items, key=lambda x: x[0]):
            t += cycles * self.ms_per_cycle[b]
            if t > deadline:
                return False
        return True

    def _progress_block(self, job: Job, acc: int, b: int, free_at: float, n_max: int) -> int:
        """Largest ``n <= n_max`` such that ``n`` layers of ``job`` on ``acc`` now, then the rest on
        ``b`` once it is free at ``free_at``, still meet the deadline; 0 if none (also when the
        block would finish the job on ``acc``, which cannot meet the deadline alone)."""
        c, start = job.costs, job.next_layer
        n_max = min(n_max, c.num_layers - start - 1)
        if n_max < 1:
            return 0
        ends = c.latency_prefix[start + 1 : start + n_max + 1]
        end = self._now + (ends[:, acc] - c.latency_prefix[start, acc]) * self.ms_per_cycle[acc]
        rest = (c.latency_prefix[-1, b] - ends[:, b]) * self.ms_per_cycle[b]
        ok = np.flatnonzero(np.maximum(end, free_at) + rest <= job.deadline_ms)
        return int(ok[-1]) + 1 if len(ok) else 0

    def _deferred(self, terms: PairTerms, state: SchedulerState) -> np.ndarray:
        """``[jobs x idle]`` mask of pairs held back for a busy, more efficient accelerator.

        Jobs are visited by urgency (most urgent first). A job whose next block spends least on
        a busy accelerator waits for it if, queued there behind the running block and the blocks
        of the more urgent jobs already waiting for it, it keeps at least ``defer_margin`` of its
        laxity; its block is then added to that queue. Waiting jobs that pile up on one
        accelerator therefore see each other, and under load (little laxity) nobody waits.
        """
        mask = np.zeros(terms.energy.shape, dtype=bool)
        if all(r is None for r in state.running):
            return mask
        now = state.now_ms
        queue = np.maximum(np.asarray(self._busy_until(state), dtype=float), now)
        costlier = np.asarray(terms.energy > 0)
        some: list[bool] = costlier.any(axis=1).tolist()
        cheapest_idle: list[int] = terms.energy.argmin(axis=1).tolist()
        for i in (-terms.urgency).argsort(kind="stable").tolist():
            job = terms.jobs[i]
            if not some[i]:
                continue
            # the most efficient accelerator for the job's next block (cut for the cheapest idle)
            k = cheapest_idle[i]
            c, start, n = job.costs, job.next_layer, int(terms.n_layers[i, k])
            key = ("least_energy", c, start, n)
            target = self._memo.get(key)
            if target is None:
                target = int(np.argmin(c.energy_prefix[start + n] - c.energy_prefix[start]))
                self._memo[key] = target
            if self.energy_term == "home":  # wait for the home accelerator, not the block's
                target = int(self.home[job.model])
            if state.running[target] is None:
                continue
            block = c.block_latency_cycles(start, n, target) * self.ms_per_cycle[target]
            rest = self._rest_ms(job, start + n)
            budget = job.deadline_ms - now - float(self.chain_ms[job.model])
            lax_now = budget - self._rest_ms(job, start)
            lax_wait = budget - (queue[target] - now) - block - rest
            if lax_now > 0 and lax_wait >= self.defer_margin * lax_now:
                mask[i] = costlier[i]
                queue[target] += block
        return mask

    def _placement_term(self, terms: PairTerms, state: SchedulerState, load_aware: bool) -> None:
        """Rewrite ``terms.energy`` rows with the *finish-time* term where the energy preference
        would cost the job its slack (``load_aware``), or for every job (``energy_term="finish"``).

        Jobs are visited by urgency (most urgent first). Each accelerator b has a queue end
        ``q_b``: when its running block ends (now if idle), plus the blocks of the more urgent jobs
        that keep their preference for b. A job keeps its energy term (affinity or block energy)
        if, queued on its preferred accelerator p (least energy term over *all* accelerators) and
        then running its rest there, it keeps at least ``affinity_margin`` of its laxity; its next
        block then joins p's queue. Otherwise its row becomes ``(F_ja - min_b F_jb) / T_min``
        with ``F_jb = q_b + R_jb`` (migration included): the job leans to the idle accelerator
        where it finishes first, counting when the others free up. A preferred accelerator that
        many jobs lean to thus fills its queue, and the later, tighter jobs spread to the others.
        """
        now = state.now_ms
        queue = self._free_from(state)
        idle = terms.accelerators.astype(int)
        for i in np.argsort(-terms.urgency, kind="stable"):
            job = terms.jobs[i]
            rem = self._remaining_ms(job, state)
            finish = queue + rem
            if self.energy_term != "finish" and load_aware:
                pref = self._preferred(job, int(terms.n_layers[i, 0]))
                budget = job.deadline_ms - now - float(self.chain_ms[job.model])
                lax_now = budget - float(rem.min())
                lax_pref = budget - (queue[pref] - now) - float(rem[pref])
                if lax_now > 0 and lax_pref >= self.affinity_margin * lax_now:
                    queue[pref] += min(float(rem[pref]), self.block_ms)
                    continue
            terms.energy[i] = (finish[idle] - finish.min()) / self.min_period_ms

    def _preferred(self, job: Job, n_layers: int) -> int:
        """The accelerator the energy term prefers for ``job``: least ``sqrt(E L)`` of its whole
        variant (affinity), or least energy of its next ``n_layers`` layers (block energy)."""
        c, start = job.costs, job.next_layer
        if self.energy_term == "home":
            return int(self.home[job.model])
        if self.energy_term == "affinity":
            return int(np.argmin(c.energy_prefix[-1] * c.latency_prefix[-1] * self.ms_per_cycle))
        end = min(start + max(n_layers, 1), c.num_layers)
        return int(np.argmin(c.energy_prefix[end] - c.energy_prefix[start]))

    def _protected(
        self,
        terms: PairTerms,
        state: SchedulerState,
        pins: np.ndarray | None = None,
        exempt: np.ndarray | None = None,
    ) -> np.ndarray:
        """``[jobs x idle]`` mask of pairs that would take an accelerator from *exclusive work*.

        Work is exclusive to accelerator a when it can meet its deadline only there: ready jobs
        whose remaining layers finish in time on a alone, and the expected frames (trigger
        probability x latency on a) of the root models :attr:`pinned` to a, released within
        the longest period from now. A job that could still finish on another accelerator may not
        run a block on a if that block, placed before that work on a (from when a frees up, in
        deadline order), makes more of it miss than without the block. A job exclusive to a itself,
        or one that can finish nowhere, is never held back here, nor a model marked in ``exempt``
        (per model). ``pins`` (per model) replaces :attr:`pinned`.

        The expected frames start at the next period boundary, or with ``protect_pending`` at the
        model's first frame not yet released: under release jitter the frame whose nominal
        release has passed may still be pending, and it is neither ready nor expected otherwise.
        """
        items, free, can = self._exclusive_work(state, pins)
        mask = np.zeros(terms.energy.shape, dtype=bool)
        if not any(items[a] for a in terms.accelerators.tolist()):
            return mask  # no exclusive work on any idle accelerator
        index = {id(j): i for i, j in enumerate(state.ready)}
        mpc = self.ms_per_cycle
        without: dict[int, int] = {}  # per accelerator: misses of its exclusive work alone
        keep_ratio = self._value_thresholds(self.pinned if pins is None else pins)
        for i, job in enumerate(terms.jobs):
            ok = can[index[id(job)]] if id(job) in index else None
            if ok is None or (exempt is not None and exempt[job.model]):
                continue
            n_ok = int(ok.sum())
            if n_ok == 0:
                continue
            for k, a in enumerate(terms.accelerators.tolist()):
                if not items[a] or (ok[a] and n_ok == 1):
                    continue
                if keep_ratio is not None and self._value_release(
                    job, a, keep_ratio[a], items, free, state
                ):
                    continue  # worth more than the exclusive frames it could displace
                block = job.costs.block_latency_cycles(
                    job.next_layer, int(terms.n_layers[i, k]), a
                ) * float(mpc[a])
                if a not in without:
                    without[a] = _misses(items[a], free[a])
                mask[i, k] = _misses(items[a], free[a] + block) > without[a]
        return mask

    def _value_thresholds(self, pins: np.ndarray) -> list[float] | None:
        """With ``protect_value`` R: per accelerator, the frame worth (:attr:`loss`) from which a
        job is not held back by protection there, R x the most valuable frame of the models
        ``pins`` pins to it (infinite where none is pinned); None when the option is off."""
        if self.protect_value is None:
            return None
        top = [-math.inf] * len(self.ms_per_cycle)
        for m, a in enumerate(np.asarray(pins).tolist()):
            if a >= 0:
                top[a] = max(top[a], float(self.loss[m]))
        return [math.inf if t == -math.inf else self.protect_value * t for t in top]

    def _value_release(self, job: Job, a: int, ratio_at: float, items: list, free: np.ndarray,
                       state: SchedulerState) -> bool:  # fmt: skip
        """With ``protect_value``: whether the pair (job, a) is released from protection.

        ``protect_value_mode="pinned"`` (12m): when the job's frame is worth at least
        ``ratio_at`` (R x the most valuable frame pinned to a). ``"need"`` (12p): only when, in
        addition, the job cannot meet its deadline on a by waiting there behind a's exclusive
        work that is due first (:meth:`_can_wait`): a job that can wait loses nothing by it.
        """
        if float(self.loss[job.model]) < ratio_at:
            return False
        if self.protect_value_mode == "pinned":
            return True
        return not self._can_wait(job, a, items[a], float(free[a]), state)

    def _can_wait(
        self, job: Job, a: int, items: list, free_ms: float, state: SchedulerState
    ) -> bool:
        """True if ``job`` meets its deadline on ``a`` queued behind ``items`` (a's exclusive
        work): in deadline order from ``free_ms`` (when a frees up), its rest there (migration
        included) after the items due before it or at the same time."""
        rest = float(self._remaining_ms(job, state)[a])
        finish = _finishes([*items, (state.now_ms, job.deadline_ms, rest)], free_ms)
        return bool(finish[-1] <= job.deadline_ms + 1e-9)
