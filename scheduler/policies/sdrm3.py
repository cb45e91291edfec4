"""SDRM3 (published as DREAM): score-driven layer-block scheduling on heterogeneous accelerators.

Source: Kim et al., "DREAM: A Dynamic Scheduler for Dynamic Real-time Multi-model ML Workloads"
(ASPLOS 2023). The paper leaves the exact terms open; MapScore's terms are defined in
:mod:`scheduler.policies.sdrm3_terms`.

At each decision point SDRM3 scores every (ready job, idle accelerator) pair with
``MapScore = U + alpha F - beta G - gamma S`` and dispatches greedily the best pair, then the best
among the remaining jobs and accelerators, until no idle accelerator or no job is left.

- Dropping hopeless frames, the placement check and the migration cost are the engine's
  (:mod:`scheduler.mechanics`), identical for every policy; SDRM3 has no private drop rule.
- A pair (j, a) is a candidate only if j's remaining layers can finish by its deadline on a, or
  cannot on any accelerator, or it is a *progress pair*: let b be the accelerator, among those on
  which j could still finish alone, that frees up first (all are busy), at ``free_at``. j may run
  a block on an idle accelerator a on which it cannot finish alone if, after that block, the rest
  of j on b (from ``free_at``) still meets j's deadline, and either (i) waiting for b would make j
  miss (``free_at + R_jb > deadline``): the block bridges the wait and ends by ``free_at``; or
  (ii) waiting would fit j but breaks the EDF demand test on b (j's remaining work plus that of the
  jobs that can finish *only* on b, in deadline order from ``free_at``, one of them misses): the
  block is the longest one that keeps finishing on b possible, so j uses the contended b as little
  as it can. Otherwise j waits for b.
- The other rules are options, each measured on the tuning set: what each does, its default and
  where it was measured are in :mod:`~.sdrm3_options`. On by default: laxity urgency, the
  block-energy term, energy-aware deferral, exclusive-work protection with pending frames, the
  starvation guard (:mod:`~.sdrm3_guard`), the energy-aware wait of lax jobs
  (:mod:`~.sdrm3_wait`), the contention hold (:mod:`~.sdrm3_contention`), the pipelined split
  (:mod:`~.sdrm3_pipeline`), and since 12t plan pairs (:mod:`~.sdrm3_plan`) and the rescue of
  started work (:mod:`~.sdrm3_rescue`), and since 12u the long-run service plan
  (:mod:`~.service_plan`). :meth:`SDRM3.decide` applies them to the matrix of
  MapScores, as masks or constant offsets.
- The per-decision tests (progress pairs, deferral, the lookahead demand, laxity after a block,
  exclusive-work protection) are methods of the mixin :class:`~.sdrm3_checks.SDRM3Checks`; the
  quantities they share (exclusive work included) are computed once per run or per decision point
  (:mod:`~.sdrm3_quantities`, :mod:`~.sdrm3_rows`): speed only, no value changes.
- Dispatch unit: a layer block cut where the block's latency on the chosen accelerator reaches
  ``block_fraction`` x the scenario's shortest period (at least one layer).

Defaults of theta = (alpha, beta, gamma) and of the options are chosen on the tuning set
(:data:`TUNING_SYSTEMS`, ``benchmarks/bench_compare.py --sweep`` and
``benchmarks/bench_sdrm3_dev.py``; the measurements are in
``benchmarks/RESULTS.md``) and never on the held-out systems the comparison reports.

``tuner=True`` (the registered ``sdrm3``) adapts theta online, once per window, by the window's
UXCost (:mod:`~.sdrm3_windows`). ``sdrm3_static`` keeps the defaults; ``sdrm3_supernet`` adds
the Supernet selector (:mod:`scheduler.supernet_selector`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.policies.base import Decision, Dispatch, Drop, Policy, RunContext
from scheduler.policies.sdrm3_capacity import (
    committed,
    home_accelerators,
    pinned_accelerators,
)
from scheduler.policies.sdrm3_checks import SDRM3Checks
from scheduler.policies.sdrm3_contention import pick_unheld
from scheduler.policies.sdrm3_guard import (
    charge_budget,
    guard_first,
    guard_pins,
    starving_models,
)
from scheduler.policies.sdrm3_options import check_options, static_options
from scheduler.policies.sdrm3_pipeline import THRESHOLD as PIPELINE_THRESHOLD
from scheduler.policies.sdrm3_pipeline import PipelineSplit
from scheduler.policies.sdrm3_plan import plan_pairs
from scheduler.policies.sdrm3_rescue import rescue_pairs
from scheduler.policies.sdrm3_terms import (
    THETA_BOUNDS,
    THETA_NAMES,
    Theta,
    cascade_latency_ms,
    frame_loss,
    greedy_pairs,
    map_scores,
    pair_terms,
    slack_safe,
    trigger_shares,
)
from scheduler.policies.sdrm3_wait import lax_waits
from scheduler.policies.sdrm3_windows import SDRM3Windows
from scheduler.policies.service_plan import PlanShedder
from scheduler.policies.service_plan import service_plan as plan_shares
from scheduler.state import Job, SchedulerState
from scheduler.supernet_selector import SupernetSelector

#: Subtracted from the MapScore of a pair that would spend too much of the job's laxity
#: (:func:`~.sdrm3_terms.slack_safe`): larger than any spread of MapScores, so such pairs are
#: taken only when no safe pair is left, yet an idle accelerator is still used.
UNSAFE_PENALTY = 1e6

#: The systems SDRM3's defaults are chosen on; comparisons report on other systems only: every
#: multi-accelerator XRBench system of both sizes except the K (big WS + LITTLE OS) and M (quad
#: WS+OS) families, which are held out whole. That is the homogeneous pairs D (WS), E (OS), F (RS)
#: and quads G, H, I, the equal-size WS+OS pair J and the LITTLE WS + big OS pair L (a loaded
#: heterogeneous pair of arrays of different sizes, which the J-only tuning set lacked).
TUNING_SYSTEMS = tuple(
    f"xrbench-{size}-{family}"
    for size in ("4k", "8k")
    for family in ("D", "E", "F", "G", "H", "I", "J", "L")
)

__all__ = ["SDRM3", "THETA_BOUNDS", "THETA_NAMES", "TUNING_SYSTEMS", "Theta"]


class SDRM3(SDRM3Windows, SDRM3Checks, Policy):
    """SDRM3 with optional online tuner and optional Supernet selector (see module docstring)."""

    name = "sdrm3"

    def __init__(
        self,
        alpha: float | None = None,
        beta: float | None = None,
        gamma: float | None = None,
        *,
        tuner: bool = True,
        supernet: bool = False,
        block_fraction: float = 0.25,
        u_max: float = 10.0,
        eps_ms: float = 1e-3,
        defer: bool = True,
        defer_margin: float = 0.5,
        progress: bool = True,
        urgency: str = "laxity",
        energy_term: str = "energy",
        energy_slack: float | None = None,
        admission: bool = False,
        cut_on_affinity: bool = False,
        defer_when_loaded: bool = False,
        defer_load: float = 0.75,
        starvation: str = "job",
        affinity_load: bool = False,
        affinity_margin: float = 0.5,
        protect: bool = True,
        home_load: str = "frame",
        commit: bool = False,
        protect_pending: bool = True,
        protect_value: float | None = None,
        protect_value_mode: str = "pinned",
        guard: int | None = 2,
        guard_mode: str = "first",
        lax_wait: float | None = 2.0,
        lax_fallback: bool = False,
        contention_hold: bool = True,
        pipeline_split: float | None = PIPELINE_THRESHOLD,
        plan_split: bool = True,
        rescue: bool = True,
        rescue_mode: str = "value",
        service_plan: bool = True,
        plan_protect: bool = True,
        window_ms: float | None = None,
        tuner_options: dict | None = None,
        selector_options: dict | None = None,
    ) -> None:
        d = Theta()
        self.theta0 = Theta(
            d.alpha if alpha is None else alpha,
            d.beta if beta is None else beta,
            d.gamma if gamma is None else gamma,
        )
        check_options(
            self.theta0.as_array(), block_fraction=block_fraction, urgency=urgency,
            energy_term=energy_term, starvation=starvation, energy_slack=energy_slack,
            affinity_margin=affinity_margin, guard=guard, guard_mode=guard_mode, lax_wait=lax_wait,
            contention_hold=contention_hold, protect_value=protect_value,
            protect_value_mode=protect_value_mode, pipeline_split=pipeline_split,
            rescue_mode=rescue_mode,
        )  # fmt: skip
        self.urgency = urgency
        self.energy_term = energy_term
        self.energy_slack = energy_slack
        self.admission = admission
        self.cut_on_affinity = cut_on_affinity
        self.defer_when_loaded = defer_when_loaded
        self.defer_load = defer_load
        self.starvation = starvation
        self.affinity_load = affinity_load
        self.affinity_margin = affinity_margin
        self.protect = protect
        self.home_load = home_load
        self.commit = commit
        self.protect_pending = protect_pending
        self.protect_value = protect_value
        self.protect_value_mode = protect_value_mode
        self.guard = None if guard is None else int(guard)
        self.guard_mode, self.lax_wait, self.lax_fallback = guard_mode, lax_wait, lax_fallback
        self.contention_hold = contention_hold
        self.pipeline_split = pipeline_split
        self.plan_split = bool(plan_split)
        self.rescue = bool(rescue)
        self.rescue_mode = rescue_mode
        self.service_plan = bool(service_plan)
        self.plan_protect = bool(plan_protect)
        self.use_tuner = tuner
        self.use_supernet = supernet
        self.block_fraction = block_fraction
        self.u_max = u_max
        self.eps_ms = eps_ms
        self.defer = defer
        self.defer_margin = defer_margin
        self.progress = progress
        self.window_ms_option = window_ms
        self.tuner_options = dict(tuner_options or {})
        self.selector_options = dict(selector_options or {})
        self.theta = self.theta0
        self.tuner = None
        self.selector = None

    # --- hooks ------------------------------------------------------------------------------
    def reset(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.theta = self.theta0
        self.ms_per_cycle = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)
        self.block_ms = self.block_fraction * float(np.min(ctx.periods_ms))
        self.busy_until = np.zeros(ctx.costs.num_accelerators)
        self._memo = {}  # pure functions of (variant, layer[, idle]) for this run (speed only)
        self._dc_state, self._dc = None, {}
        self.chain_ms = cascade_latency_ms(ctx, self.ms_per_cycle)
        self.chain_full_ms = cascade_latency_ms(ctx, self.ms_per_cycle, triggered=True)
        self.min_period_ms = float(np.min(ctx.periods_ms))
        self.loss = frame_loss(ctx.periods_ms, ctx.parents, ctx.probabilities)
        self.full_ms = np.array(
            [mc.full.total_latency_cycles * self.ms_per_cycle for mc in ctx.costs.models]
        )
        self.best_full_ms = self.full_ms.min(axis=1)
        self._full_ms_rows = self.full_ms.tolist()
        self.pinned = pinned_accelerators(self.full_ms, ctx.periods_ms)
        self._split = None
        if self.pipeline_split is not None:  # issue 12n: pinned, loaded models in two stages
            self._split = PipelineSplit(self.pipeline_split, self.full_ms,
                                        np.asarray(ctx.periods_ms), self.pinned,
                                        self.ms_per_cycle)  # fmt: skip
        full_nj = np.array([mc.full.energy_prefix[-1] for mc in ctx.costs.models])
        shares = trigger_shares(ctx.parents, ctx.probabilities)
        if self.home_load == "frame":
            shares = np.ones_like(shares)
        self.home = home_accelerators(self.full_ms, full_nj, ctx.periods_ms, shares)
        self._model_lists = {
            "chain": self.chain_ms.tolist(),
            "loss": self.loss.tolist(),
            "frame": (self.best_full_ms + self.chain_ms).tolist(),
        }
        self._reset_windows(ctx)
        self._plan = None
        if self.service_plan:  # issue 12u: shed what a fluid plan of the whole run cannot serve
            share = plan_shares(ctx.costs, self.ms_per_cycle, ctx.periods_ms, ctx.parents,
                                ctx.probabilities)  # fmt: skip
            self._plan = PlanShedder(share, ctx.parents)
        # issue 12v: protection expects the pinned models' frames at the share the plan serves
        self._plan_weight = (
            self._plan.share if self._plan is not None and self.plan_protect else None
        )
        self.selector = None
        # guard_mode="budget" only: per model, what its pairs taken first displaced (sdrm3_guard)
        self.guard_spent = (
            np.zeros(len(ctx.model_ids), dtype=np.int64) if self.guard_mode == "budget" else None
        )
        if self.use_supernet:
            static = static_options(self)
            options = {
                "policy_factory": lambda: SDRM3(tuner=False, supernet=False, **static),
                "factory_key": ("sdrm3", *sorted(static.items())),
                **self.selector_options,
            }
            self.selector = SupernetSelector(ctx, **options)

    def select_variant(self, job: Job, state: SchedulerState) -> int:
        if self.replay is not None:
            self.replay.observe_ready(job)
        if self.selector is None:
            return 0
        return self.selector.choose(job, state)

    # --- decisions --------------------------------------------------------------------------
    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        self._windows_until_now(state)
        self._dc_state, self._dc = state, {}  # quantities computed once per decision point
        try:
            return self._decide(state)
        finally:
            self._dc_state, self._dc = None, {}

    def _decide(self, state: SchedulerState) -> list[Decision]:
        now = state.now_ms
        jobs = list(state.ready)
        decisions: list[Decision] = []
        if not jobs or not state.idle:
            return decisions
        if self._plan is not None and self._plan.active:
            shed = self._plan.shed(jobs)
            if shed:
                decisions += [Drop(j) for j in shed]
                jobs = [j for j in jobs if j not in shed]
                if not jobs:
                    return decisions
        if self.admission:
            shed = self._admission(jobs, state)
            decisions += [Drop(j) for j in shed]
            jobs = [j for j in jobs if j not in shed]
            if not jobs:
                return decisions
        terms = pair_terms(
            jobs, state.idle, now, self.ms_per_cycle, self.block_ms, eps_ms=self.eps_ms,
            u_max=self.u_max, chain_ms=self.chain_ms, urgency=self.urgency,
            scale_ms=self.min_period_ms,
            energy_term="energy" if self.energy_term == "energy" else "affinity",
            cut_on_affinity=self.cut_on_affinity,
            home=self.home if self.energy_term == "home" else None, memo=self._memo,
        )  # fmt: skip
        if self.affinity_load or self.energy_term == "finish":
            self._placement_term(terms, state, self.affinity_load)
        if self.starvation == "model":  # + the share of the model's frames lost so far
            m = state.metrics
            lost = (m.dropped + m.late) / np.maximum(m.released, 1)
            terms.starvation[:] += lost[[j.model for j in terms.jobs]]
        if self.guard is not None:
            starving = starving_models(state.metrics, self.guard)
        else:
            starving = np.zeros(len(state.model_ids), dtype=bool)
        feasible = terms.feasible
        self._now = now
        if self.progress:
            feasible = self._progress_pairs(terms, state)
        route = None if self._split is None else self._split.routes(terms, feasible, state)
        unrouted = None if route is None else np.all(route, axis=1, keepdims=True)
        if self.plan_split:  # split-only jobs follow their fastest split
            feasible = plan_pairs(
                terms, feasible, state, None if unrouted is None else ~unrouted[:, 0]
            )
        scores = np.where(feasible, map_scores(terms, self.theta), -np.inf)
        if self.energy_slack is not None:  # unsafe pairs only after every safe one (lexicographic)
            safe = slack_safe(self._laxity_after(terms, state), self.energy_slack)
            scores = np.where(safe, scores, scores - UNSAFE_PENALTY)
        pins = guard_pins(self.pinned, starving, self.full_ms, state.periods_ms)
        if self.protect:
            exempt = None if self.guard_mode == "yield" else starving
            protected = self._protected(terms, state, pins, exempt=exempt)
            if unrouted is not None:  # a routed job is exclusive to its stage's accelerator
                protected &= unrouted
            scores[protected] = -np.inf
        else:
            protected = np.zeros(scores.shape, dtype=bool)
        first, charge = guard_first(self, terms, state, jobs, starving, protected)  # taken first
        any_first = bool(first.any())  # else the masks below need no "& ~first"
        if self.rescue:  # a started job that cannot wait one more block goes first
            rescued = rescue_pairs(terms, feasible, state, self.block_ms, self.rescue_mode,
                                   self.ms_per_cycle)  # fmt: skip
            if self.rescue_mode == "value":  # competing rescues: the more valuable frame first
                loss = self.loss[[j.model for j in terms.jobs]]
                value = loss / max(float(self.loss.max()), 1e-300)
                scores = np.where(rescued, scores + UNSAFE_PENALTY * (1.0 + value[:, None]),
                                  scores)  # fmt: skip
            else:
                scores = np.where(rescued, scores + UNSAFE_PENALTY, scores)
        if self.commit:  # a started job that can still finish keeps its accelerator first
            scores = np.where(committed(terms, now, self.ms_per_cycle), scores + UNSAFE_PENALTY,
                              scores)  # fmt: skip
        if self.defer:  # the load test only matters when some pair would be deferred
            deferred = self._deferred(terms, state)
            if any_first:
                deferred &= ~first
            if unrouted is not None:  # a routed job does not wait for energy
                deferred &= unrouted
            if deferred.any() and not (
                not self.defer_when_loaded and self._overloaded(jobs, state, self.defer_load)
            ):
                scores[deferred] = -np.inf
        if self.lax_wait is not None:
            waits = lax_waits(self, terms, state, self.lax_wait, pins, self.lax_fallback)
            if unrouted is not None:
                waits &= unrouted
            scores[waits & ~first if any_first else waits] = -np.inf
        if any_first:
            scores[first] += UNSAFE_PENALTY
        if route is not None:  # routed jobs keep to their stage's accelerator
            scores[~route] = -np.inf
        if self.contention_hold:
            pairs = pick_unheld(scores, terms, state, self._memo)
        else:
            pairs = greedy_pairs(scores)
        charge_budget(self.guard_spent, charge, terms, pairs)
        for i, k in pairs:
            acc = int(terms.accelerators[k])
            n = int(terms.n_layers[i, k])
            job = terms.jobs[i]
            decisions.append(Dispatch(job, acc, n))
            cycles = job.costs.block_latency_cycles(job.next_layer, n, acc)
            self.busy_until[acc] = now + cycles * self.ms_per_cycle[acc]
        return decisions


class SDRM3Static(SDRM3):
    """SDRM3 with the default theta and no tuner."""

    name = "sdrm3_static"

    def __init__(self, **kw) -> None:
        kw.setdefault("tuner", False)
        super().__init__(**kw)


class SDRM3Supernet(SDRM3):
    """SDRM3 with the online tuner and the Supernet selector."""

    name = "sdrm3_supernet"

    def __init__(self, **kw) -> None:
        kw.setdefault("supernet", True)
        super().__init__(**kw)


class SDRM3StaticSupernet(SDRM3):
    """SDRM3 with the Supernet selector, without the tuner."""

    name = "sdrm3_static_supernet"

    def __init__(self, **kw) -> None:
        kw.setdefault("tuner", False)
        kw.setdefault("supernet", True)
        super().__init__(**kw)
