"""SDRM3 (published as DREAM): score-driven layer-block scheduling with predictive frame drop.

Source: Kim et al., "DREAM: A Dynamic Scheduler for Dynamic Real-time Multi-model ML Workloads"
(ASPLOS 2023). The paper leaves the exact terms open; this is the formalisation of SPEC §6.

At a decision point at time t, for every ready job j (one frame of one model, with its remaining
layers) and every idle accelerator a:

- urgency ``U_j = R_j / max(slack_j, eps)`` clipped to ``[0, u_max]``, where ``R_j`` is the
  remaining latency of j on its fastest accelerator and ``slack_j = deadline_j - t``;
- starvation ``F_j = (t - last progress of j) / T_m`` (time since release or since the end of
  j's latest block, in periods of j's model);
- energy ``G_ja = E_a(block_ja) / min_a' E_a'(block_ja) - 1``: ``block_ja`` is the next layer block
  of j cut for a (below); the ratio compares the *same layers* on every accelerator, so it is the
  relative energy overhead of running that block on a instead of on its most efficient accelerator;
- switch ``S_ja = 1`` if j's previous block ran on another accelerator (activations move), else 0;
- ``MapScore(j, a) = U_j + alpha F_j - beta G_ja - gamma S_ja``, computed as one numpy expression
  over the [ready jobs x idle accelerators] matrix (:func:`map_scores`).

Decisions, in order:

1. *predictive drop*: a ready job whose best-case remaining latency exceeds ``delta x slack`` (all
   started jobs past their deadline included) is dropped before it spends more energy. The engine
   settles its cascade children: a child frame that would have been triggered by the dropped frame
   is dropped with it, whether already released or released later (``scheduler/engine.py``).
2. *dispatch*: greedily the pair with the highest MapScore, then the best pair among the remaining
   jobs and accelerators, until no idle accelerator or no job is left (one job per accelerator).
   A pair (j, a) is a candidate only if j's remaining layers can finish by its deadline on a, or
   cannot on any accelerator (``PairTerms.feasible``), or it is a *progress pair* (below).
   *Progress pairs* (``progress=True``; our refinement of SPEC §6, which leaves the mapping to the
   score alone): let b be the accelerator, among those on which j could still finish alone, that
   frees up first (all busy), at ``free_at`` (its committed block). j may run a block on an idle
   accelerator a on which it cannot finish alone if, after that block, the rest of j on b (from
   ``free_at``) still meets j's deadline, and either
   (i) waiting for b would make j miss (``free_at + R_jb > deadline``): the block bridges the wait
   and ends by ``free_at``; or
   (ii) waiting would fit j but breaks the EDF demand test on b (j's remaining work plus that of
   the jobs that can finish *only* on b, in deadline order from ``free_at``, one of them misses):
   the block is the longest one that keeps finishing on b possible, so j uses the contended b as
   little as it can. On ``vr_gaming`` at 4K this is the case: HT can finish only on WS (16.4 ms of
   a 22.2 ms period, 29.8 ms on OS), ES->GE is 3.3 + 13.9 ms on OS, 0.6 ms over its 16.7 ms
   period; the plain rule sent GE to WS (it cannot finish on OS alone) and starved HT (2/3 of its
   frames dropped), while GE mostly on OS plus a short tail on WS keeps HT whole.
   Otherwise j waits for b, as before.
3. *energy-aware deferral* (``defer=True``; our addition, off in the paper): a job is not started
   on an accelerator that costs more energy (``G_ja > 0``) when its most efficient accelerator is
   busy but frees up early enough for the job to finish there with ``defer_margin`` of its slack to
   spare; the accelerator stays free for a job that does not have that choice.

Dispatch unit: a layer block cut where the block's latency on the chosen accelerator reaches
``block_fraction`` x the scenario's shortest period (at least one layer); preemption happens only
between blocks.

theta = (alpha, beta, gamma, delta) are the tunable parameters. Defaults, chosen by reasoning and a
small measured one-at-a-time sweep (``benchmarks/bench_compare.py --sweep``, recorded there):

- ``alpha = 0.5``: starvation matters only once a job has waited for a sizeable part of its period;
  at ``F = 1`` it weighs like a job at half its slack.
- ``beta = 1.0``: a block that costs twice its minimum energy (``G = 1``) loses one urgency unit,
  i.e. it yields to an equally urgent job that is efficient here unless it is itself more urgent.
- ``gamma = 1.0``: moving activations is not charged by the cost model, but switching splits a
  frame's layers over both accelerators, so it keeps blocks of a started frame together unless the
  other accelerator is clearly better; the sweep preferred 1.0 over 0.2 and 0 on both systems.
- ``delta = 1.0``: drop exactly the jobs that cannot meet their deadline even on their fastest
  accelerator with nothing else running. ``delta < 1`` would drop jobs that could still make it
  (lowering UXCost by discarding work, i.e. gaming the metric) and is rejected; a job whose drop
  would take along a cascade child that could still meet its own (later) deadline is kept.

The online tuner holds delta (``THETA_TUNED``; our refinement): delta > 1 only keeps jobs that are
provably late, and a late frame counts like a dropped one in UXCost's V while still spending
energy, so UXCost cannot gain from it; probing it cost whole windows (on ``ar_assistant``, 333 ms
windows, the delta probe doubled a window's UXCost and made the tuned run worse than static).

``tuner=True`` (the registered ``sdrm3``) adapts theta online with :class:`scheduler.tuner.Tuner`
every window (default: :func:`tuner_window_ms`, the hyperperiod when short, else the scenario's
longest period) from the window's UXCost with V floored at the run's scale
(:func:`tuner_objective`), comparing windows of the same slot of the hyperperiod
(:func:`tuner_cycle`), first with a coarse probe of gamma = 0 (``THETA_COARSE``: the best gamma
depends on the system, 0 on ``vr_gaming`` at 4K, 1 on ``ar_assistant`` at 8K), then finite
differences; ``sdrm3_static``
keeps the defaults; ``sdrm3_supernet`` adds the Supernet selector
(:mod:`scheduler.supernet_selector`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rtmm.errors import SimulationError
from scheduler.policies.base import Decision, Dispatch, Drop, Policy, RunContext
from scheduler.state import Job, RunningMetrics, SchedulerState, WindowMetrics
from scheduler.supernet_selector import SupernetSelector
from scheduler.theta import THETA_BOUNDS, THETA_NAMES  # noqa: F401  (public here too)
from scheduler.tuner import Tuner


@dataclass(frozen=True)
class Theta:
    """SDRM3's tunable parameters (SPEC §6)."""

    alpha: float = 0.5
    beta: float = 1.0
    gamma: float = 1.0
    delta: float = 1.0

    def as_array(self) -> np.ndarray:
        return np.array([self.alpha, self.beta, self.gamma, self.delta], dtype=float)

    @classmethod
    def from_array(cls, values: Sequence[float]) -> Theta:
        return cls(*(float(v) for v in values))


#: Parameters the online tuner moves by default: delta is held (see :class:`SDRM3`).
THETA_TUNED = (True, True, True, False)

#: Coarse search before the tuner's fine descent: factors of each parameter's value probed first.
THETA_COARSE = ((), (), (0.0,), ())


@dataclass(frozen=True)
class PairTerms:
    """The per-job and per-pair terms of MapScore at one decision point.

    ``jobs`` x ``accelerators`` (the idle ones): ``urgency``/``starvation`` are per job,
    ``energy``/``switch`` per pair, ``n_layers`` is the block each pair would dispatch.
    """

    jobs: tuple[Job, ...]
    accelerators: np.ndarray
    urgency: np.ndarray
    starvation: np.ndarray
    energy: np.ndarray
    switch: np.ndarray
    n_layers: np.ndarray
    feasible: np.ndarray


def map_scores(terms: PairTerms, theta: Theta) -> np.ndarray:
    """``MapScore = U + alpha F - beta G - gamma S`` over all (job, accelerator) pairs at once."""
    u = terms.urgency[:, None]
    f = terms.starvation[:, None]
    return u + theta.alpha * f - theta.beta * terms.energy - theta.gamma * terms.switch


def remaining_latency_ms(jobs: Sequence[Job], ms_per_cycle: np.ndarray) -> np.ndarray:
    """``[jobs x accelerators]`` latency of each job's remaining layers, in ms."""
    if not jobs:
        return np.zeros((0, len(ms_per_cycle)))
    rows = np.stack(
        [j.costs.latency_prefix[-1] - j.costs.latency_prefix[j.next_layer] for j in jobs]
    )
    return rows * ms_per_cycle


def pair_terms(
    jobs: Sequence[Job],
    idle: Sequence[int],
    now_ms: float,
    ms_per_cycle: np.ndarray,
    block_ms: float,
    *,
    eps_ms: float = 1e-3,
    u_max: float = 10.0,
    chain_ms: np.ndarray | None = None,
) -> PairTerms:
    """MapScore's terms for ``jobs`` x ``idle`` accelerators at ``now_ms``.

    Blocks are cut where their latency on the pair's accelerator reaches ``block_ms`` (at least one
    layer). Per-job quantities are vectors, per-pair ones ``[jobs x idle]`` matrices.
    ``chain_ms[m]`` (optional, per model) is added to ``R_j``: the expected latency of the cascade
    work that still depends on j's frame (children run after j, before the same deadline).
    ``feasible[j, k]`` is False when j's remaining layers cannot finish by its deadline on idle
    accelerator k although they could on its fastest one.
    """
    idle_arr = np.asarray(idle, dtype=np.int64)
    n = len(jobs)
    rem = remaining_latency_ms(jobs, ms_per_cycle)
    best = rem.min(axis=1) if n else np.zeros(0)
    deadline = np.array([j.deadline_ms for j in jobs], dtype=float)
    slack = deadline - now_ms
    chain = np.zeros(n) if chain_ms is None else np.asarray(chain_ms)[[j.model for j in jobs]]
    urgency = np.clip((best + chain) / np.maximum(slack, eps_ms), 0.0, u_max)
    feasible = ~((rem[:, idle_arr] > slack[:, None]) & (best <= slack)[:, None])
    progress = np.array([j.last_progress_ms for j in jobs], dtype=float)
    period = np.array([j.period_ms for j in jobs], dtype=float)
    starvation = np.maximum(now_ms - progress, 0.0) / period
    last = np.array([j.last_accelerator for j in jobs], dtype=np.int64)
    switch = ((last[:, None] >= 0) & (last[:, None] != idle_arr[None, :])).astype(float)
    n_layers = np.zeros((n, len(idle_arr)), dtype=np.int64)
    energy = np.zeros((n, len(idle_arr)))
    budget_cycles = block_ms / ms_per_cycle  # per accelerator
    for i, job in enumerate(jobs):
        c = job.costs
        start = job.next_layer
        lat = c.latency_prefix[:, idle_arr]
        limit = lat[start] + budget_cycles[idle_arr]
        ends = np.array(
            [np.searchsorted(lat[:, k], limit[k], side="right") - 1 for k in range(len(idle_arr))]
        )
        ends = np.clip(ends, start + 1, c.num_layers)
        n_layers[i] = ends - start
        block_energy = c.energy_prefix[ends] - c.energy_prefix[start]  # [idle x all accelerators]
        own = block_energy[np.arange(len(idle_arr)), idle_arr]
        energy[i] = own / np.maximum(block_energy.min(axis=1), 1e-300) - 1.0
    return PairTerms(
        tuple(jobs),
        idle_arr,
        urgency,
        starvation,
        np.maximum(energy, 0.0),
        switch,
        n_layers,
        feasible,
    )


def cascade_latency_ms(ctx: RunContext, ms_per_cycle: np.ndarray) -> np.ndarray:
    """Per model: expected best-case latency of the cascade work its frame triggers.

    ``chain[m] = sum over children c of p_c x (L_c + chain[c])`` with ``L_c`` the child's full-model
    latency on its fastest accelerator.
    """
    n = len(ctx.model_ids)
    best = np.array(
        [float(np.min(mc.full.total_latency_cycles * ms_per_cycle)) for mc in ctx.costs.models]
    )
    chain = np.zeros(n)

    def total(m: int, depth: int = 0) -> float:
        if depth > n:
            return 0.0
        kids = [c for c in range(n) if ctx.parents[c] == m]
        return sum(float(ctx.probabilities[c]) * (best[c] + total(c, depth + 1)) for c in kids)

    for m in range(n):
        chain[m] = total(m)
    return chain


def tuner_objective(window: WindowMetrics, horizon_ms: float) -> float:
    """The window's UXCost with V floored at the scale of the run, the tuner's objective.

    :meth:`RunningMetrics.uxcost` floors V at ``1 / frames resolved``; over a window of ~10 frames
    that floor (~0.1) hides the violations the run's floor (``1 / frames of the run``) does not: on
    ``vr_gaming`` at 4K one dropped HT frame per 66.7 ms window (V = 0.11) and none (V = 0, floored
    to 0.09) measured the same window UXCost, while their runs differ 27x. The floor here is
    ``1 / (frames resolved in the window x windows per run)``, so the tuner minimises what each
    window contributes to the run's UXCost. ``nan`` when nothing was resolved.
    """
    d = window.delta
    resolved = d.resolved
    total = int(resolved.sum())
    ref = float(d.min_energy_nj.sum())
    if total == 0 or ref <= 0:
        return float("nan")
    length = max(window.end_ms - window.start_ms, 1e-9)
    per_run = max(horizon_ms / length, 1.0)
    has = resolved > 0
    v = float(np.mean((d.late[has] + d.dropped[has]) / resolved[has]))
    return float(d.energy_nj.sum()) / ref * max(v, 1.0 / (total * per_run))


def tuner_window_ms(periods_ms: Sequence[float], short_ms: float = 100.0) -> float:
    """Default tuner window: the hyperperiod of the periods when that is short (at most
    ``short_ms`` or the longest period), else the longest period.

    Over a hyperperiod every window releases the same frames, so consecutive windows compare like
    for like: vr_gaming's 16.7 / 22.2 ms periods give 66.7 ms windows instead of 22.2 ms ones whose
    UXCost alternated with the release pattern (1 or 2 frames of a model per window). Scenarios
    with 3 fps models keep the longest period (333 ms; their hyperperiod is 1000 ms).
    """
    longest = float(np.max(periods_ms))
    hyper = hyperperiod_ms(periods_ms)
    return hyper if hyper <= max(short_ms, longest) + 1e-9 else longest


def hyperperiod_ms(periods_ms: Sequence[float]) -> float:
    """Least common multiple of the periods (as fractions with denominators up to 1000)."""
    from fractions import Fraction

    fracs = [Fraction(float(p)).limit_denominator(1000) for p in periods_ms]
    num = 1
    den = 0
    for f in fracs:  # lcm of fractions: lcm of numerators / gcd of denominators
        num = num * f.numerator // math.gcd(num, f.numerator)
        den = math.gcd(den, f.denominator)
    return num / den


def tuner_cycle(periods_ms: Sequence[float], window_ms: float, max_cycle: int = 8) -> int:
    """Windows per hyperperiod when that is a whole number up to ``max_cycle``, else 1.

    Windows ``k`` and ``k + cycle`` release the same frames, so the tuner compares a window with
    the baseline of its own slot in the cycle (``ar_assistant``: 333 ms windows, 1000 ms
    hyperperiod, cycle 3; measured window UXCosts of one theta differ up to 11x between slots).
    """
    ratio = hyperperiod_ms(periods_ms) / window_ms
    k = round(ratio)
    return k if 1 <= k <= max_cycle and abs(ratio - k) < 1e-6 * max(ratio, 1.0) else 1


def greedy_pairs(scores: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs picked best-first, each row and column at most once."""
    s = np.array(scores, dtype=float, copy=True)
    picked = []
    for _ in range(min(s.shape)):
        flat = int(np.argmax(s))
        if not np.isfinite(s.flat[flat]):
            break
        i, k = divmod(flat, s.shape[1])
        picked.append((i, k))
        s[i, :] = -np.inf
        s[:, k] = -np.inf
    return picked


class SDRM3(Policy):
    """SDRM3 with optional online tuner and optional Supernet selector (see module docstring)."""

    name = "sdrm3"

    def __init__(
        self,
        alpha: float | None = None,
        beta: float | None = None,
        gamma: float | None = None,
        delta: float | None = None,
        *,
        tuner: bool = True,
        supernet: bool = False,
        block_fraction: float = 0.25,
        u_max: float = 10.0,
        eps_ms: float = 1e-3,
        defer: bool = False,
        defer_margin: float = 0.25,
        progress: bool = True,
        window_ms: float | None = None,
        tuner_options: dict | None = None,
        selector_options: dict | None = None,
    ) -> None:
        d = Theta()
        self.theta0 = Theta(
            d.alpha if alpha is None else alpha,
            d.beta if beta is None else beta,
            d.gamma if gamma is None else gamma,
            d.delta if delta is None else delta,
        )
        values = self.theta0.as_array()
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise SimulationError(
                f"sdrm3: parameters {self.theta0} must be finite", source="<api>", allowed=">= 0"
            )
        if self.theta0.delta < 1:
            raise SimulationError(
                f"sdrm3: delta {self.theta0.delta} would drop frames that can still finish on time",
                source="<api>",
                allowed="delta >= 1",
            )
        if not 0 < block_fraction <= 10:
            raise SimulationError(
                f"sdrm3: block_fraction {block_fraction}", source="<api>", allowed="0 < x <= 10"
            )
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
        self.chain_ms = cascade_latency_ms(ctx, self.ms_per_cycle)
        n = len(ctx.model_ids)
        self._children = [[c for c in range(n) if ctx.parents[c] == m] for m in range(n)]
        self._best_full_ms = np.array(  # fastest variant on its fastest accelerator
            [
                min(float(np.min(v.total_latency_cycles * self.ms_per_cycle)) for v in mc.variants)
                for mc in ctx.costs.models
            ]
        )
        self.window_ms = self.window_ms_option or tuner_window_ms(ctx.periods_ms)
        self._engine_windows = False
        self._next_window = self.window_ms
        self._window_index = 0
        self._snapshot: RunningMetrics | None = None
        self.tuner = None
        if self.use_tuner and not ctx.xrbench:
            cycle = tuner_cycle(ctx.periods_ms, self.window_ms)
            options = {
                "tunable": THETA_TUNED,
                "coarse": THETA_COARSE,
                "cycle": cycle,
                "warmup": 1 if cycle > 1 else 0,
                "windows": int(ctx.horizon_ms / self.window_ms + 1e-9),
                **self.tuner_options,
            }
            self.tuner = Tuner(self.theta0.as_array(), **options)
        self.selector = None
        if self.use_supernet:
            static = dict(
                alpha=self.theta0.alpha, beta=self.theta0.beta, gamma=self.theta0.gamma,
                delta=self.theta0.delta, block_fraction=self.block_fraction, u_max=self.u_max,
                eps_ms=self.eps_ms, defer=self.defer, defer_margin=self.defer_margin,
            )  # fmt: skip
            options = {
                "policy_factory": lambda: SDRM3(tuner=False, supernet=False, **static),
                "factory_key": ("sdrm3", *sorted(static.items())),
                **self.selector_options,
            }
            self.selector = SupernetSelector(ctx, **options)

    def select_variant(self, job: Job, state: SchedulerState) -> int:
        if self.selector is None:
            return 0
        return self.selector.choose(job, state)

    def on_window(self, window: WindowMetrics, state: SchedulerState) -> None:
        """Engine windows (``simulate(window_ms=...)``) replace the policy's own windows."""
        self._engine_windows = True
        self._observe_window(window)

    def _observe_window(self, window: WindowMetrics) -> None:
        if self.tuner is not None:
            cost = tuner_objective(window, self.ctx.horizon_ms)
            self.theta = Theta.from_array(self.tuner.step(cost, window.end_ms))
        if self.selector is not None:
            self.selector.observe(window)

    def _own_windows(self, state: SchedulerState) -> None:
        """Cut windows at decision points when the engine does not deliver them."""
        if self._snapshot is None:
            self._snapshot = RunningMetrics.zeros(len(state.model_ids))
        while state.now_ms >= self._next_window:
            delta = state.metrics - self._snapshot
            self._snapshot = state.metrics.copy()
            start = self._next_window - self.window_ms
            self._observe_window(WindowMetrics(self._window_index, start, self._next_window, delta))
            self._window_index += 1
            self._next_window += self.window_ms

    # --- decisions --------------------------------------------------------------------------
    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        if not self._engine_windows and (self.tuner is not None or self.selector is not None):
            self._own_windows(state)
        now = state.now_ms
        jobs = list(state.ready)
        decisions: list[Decision] = []
        keep = self._predictive_drop(jobs, now, decisions)
        if not keep or not state.idle:
            return decisions
        terms = pair_terms(
            keep, state.idle, now, self.ms_per_cycle, self.block_ms, eps_ms=self.eps_ms,
            u_max=self.u_max, chain_ms=self.chain_ms,
        )  # fmt: skip
        feasible = terms.feasible
        self._now = now
        if self.progress:
            feasible = self._progress_pairs(terms, state)
        scores = np.where(feasible, map_scores(terms, self.theta), -np.inf)
        if self.defer:
            scores = np.where(self._deferred(terms, state), -np.inf, scores)
        for i, k in greedy_pairs(scores):
            acc = int(terms.accelerators[k])
            n = int(terms.n_layers[i, k])
            job = terms.jobs[i]
            decisions.append(Dispatch(job, acc, n))
            cycles = job.costs.block_latency_cycles(job.next_layer, n, acc)
            self.busy_until[acc] = now + cycles * self.ms_per_cycle[acc]
        return decisions

    def _progress_pairs(self, terms: PairTerms, state: SchedulerState) -> np.ndarray:
        """``feasible`` extended with *progress pairs* (see the module docstring, decision 2)."""
        feasible = terms.feasible.copy()
        now = state.now_ms
        for i in np.flatnonzero(~feasible.all(axis=1)):
            job = terms.jobs[i]
            rem = job.costs.remaining_latency_cycles(job.next_layer) * self.ms_per_cycle
            good = np.flatnonzero(rem <= job.deadline_ms - now)
            if len(good) == 0 or any(state.running[b] is None for b in good):
                continue
            free = np.array([max(self.busy_until[b], now) for b in good])
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
            rem = k.costs.remaining_latency_cycles(k.next_layer) * self.ms_per_cycle
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

    def _predictive_drop(self, jobs: list[Job], now: float, out: list[Decision]) -> list[Job]:
        """Drop the ready jobs that provably cannot finish on time (decision 1).

        A job is dropped only if its best-case remaining latency exceeds ``delta x slack``
        (``delta >= 1``: even alone on its fastest accelerator it would be late) and no cascade
        descendant that the drop would take along could still meet *its* deadline (a child with
        a longer period than its parent could finish on time after a late parent).
        """
        if not jobs:
            return jobs
        best = remaining_latency_ms(jobs, self.ms_per_cycle).min(axis=1)
        slack = np.array([j.deadline_ms for j in jobs]) - now
        drop = best > self.theta.delta * slack
        for i in np.flatnonzero(drop):
            job = jobs[i]
            if self._descendant_could_finish(job.model, job.frame, now + best[i]):
                drop[i] = False
        out.extend(Drop(j) for j, d in zip(jobs, drop, strict=True) if d)
        return [j for j, d in zip(jobs, drop, strict=True) if not d]

    def _descendant_could_finish(self, model: int, frame: int, finish_ms: float, depth=0) -> bool:
        """Could a cascade descendant of (model, frame) still finish on time if its parent
        finished at ``finish_ms`` (each child then alone on its fastest accelerator)?"""
        if depth > len(self.ctx.model_ids):
            return False
        for c in self._children[model]:
            period = float(self.ctx.periods_ms[c])
            if frame >= int(np.floor(self.ctx.horizon_ms / period + 1e-9)):
                continue
            done = finish_ms + self._best_full_ms[c]
            if done <= (frame + 1) * period or self._descendant_could_finish(
                c, frame, done, depth + 1
            ):
                return True
        return False

    def _deferred(self, terms: PairTerms, state: SchedulerState) -> np.ndarray:
        """``[jobs x idle]`` mask of pairs held back for a busy, more efficient accelerator."""
        mask = np.zeros(terms.energy.shape, dtype=bool)
        busy = [a for a in range(len(state.running)) if state.running[a] is not None]
        if not busy:
            return mask
        now = state.now_ms
        for i, job in enumerate(terms.jobs):
            if not np.any(terms.energy[i] > 0):
                continue
            # the most efficient accelerator for the job's next block (cut for the fastest idle)
            k = int(np.argmin(terms.energy[i]))
            start, n = job.next_layer, int(terms.n_layers[i, k])
            block = job.costs.energy_prefix[start + n] - job.costs.energy_prefix[start]
            target = int(np.argmin(block))
            if state.running[target] is None:
                continue
            free_at = max(self.busy_until[target], now)
            rem = job.costs.remaining_latency_cycles(start)[target] * self.ms_per_cycle[target]
            slack = job.deadline_ms - now
            if free_at + rem <= job.deadline_ms - self.defer_margin * slack:
                mask[i] = terms.energy[i] > 0
        return mask


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
