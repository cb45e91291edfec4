"""SDRM3's pipelined split of pinned, heavily loaded models (``pipeline_split`` of :mod:`.sdrm3`;
issue 12l's remedy 2, built in 12n; on by default at 0.75 since 12p).

A model is *split* when SDRM3 pins it to accelerator a (its full frame fits its period there
only, :func:`~.sdrm3_capacity.pinned_accelerators`) and that frame takes more than ``threshold``
x its period on a. Its frames are then cut once, at the layer boundary c (and on the accelerator
b != a) that minimises the larger of the two stage times (:func:`best_cut`):

- stage 1, the *prefix* (layers ``[0, c)``) on b: ``L_b[0, c)``;
- stage 2, the *suffix* (layers ``[c, end)``) on a, after moving the cut activation from b:
  ``move_a(c) + L_a[c, end)``, with ``move_a(c)`` the engine's migration latency (the input
  words of layer c at the off-chip bandwidth, :meth:`~scheduler.mechanics.MechanicsRuntime.move_ms`;
  0 when the run charges no migration);

subject to the two stages together fitting the period (else the frame could not meet its deadline
through the pipeline). No cut is made unless the larger stage is shorter than the whole frame on a
and the prefix takes b no longer than the split frees on a (``L_b[0, c) <= L_a - stage 2``): a
split that costs the pair more accelerator time than a whole frame on a is not a pipeline but a
loss (12n: on 4K-L, SS's best cut took 10.8 ms of WS to free 5.9 ms of OS). Consecutive frames
then overlap across the pair: frame k's suffix runs on a while frame k+1's prefix runs on b, as
planaria's fission does for DR on 8K-L (12l, section 3).

The stage times are the cost tables' **contention-free** latencies, as everywhere else SDRM3
decides what a model needs: the pins, the threshold and exclusive-work protection use the
contention-free whole-frame latency, and the cut must be consistent with the pin that triggers it.
The contended latency depends on how many accelerators are busy when each block is dispatched,
which the cut, fixed once per run, cannot know. The migration latency is the engine's own
formula, which does not depend on contention.

At a decision point a split job is *routed* (:meth:`PipelineSplit.routes`):

- a frame that has not passed the cut and has run nowhere or on b may run only on b, the rest of
  its prefix as one block, while the rest of its prefix, the migration and its suffix can still
  meet its deadline, counted from when b frees up if the frame has not started, and b frees up
  before the engine would drop the frame as hopeless (the drop test does not know when b frees
  up); otherwise it is left to SDRM3's ordinary rules (whole on a). The wait for b counts since
  12p: 12n counted the pipeline from now, and its hopeless-drop check stood in for the wait only
  under the old drop rule, whose best case was the whole frame on one accelerator, so that an
  unstarted frame was routed only if b freed up within ``deadline - L_a`` (2.6 ms for SS on 4K-J).
  Under 12o's exact best case (the split itself, ~93 ms of SS's 100 ms period) frames were routed
  to a b that freed up too late for the pipeline, waited there while a, free, stayed idle, then
  fell back to a too late for a whole frame and were dropped part-way;
- a frame past the cut whose last block ran on b may run only on a, its suffix as one block.

A stage is one block, as in planaria's lease: cut into SDRM3's dispatch unit, other jobs
interleave and the stage misses (12n: on 8K-L social_interaction_a DR got 67 frames on time of
180 that way, 150 as one block). A routed job is not held back by the energy waits (deferral,
``lax_wait``) or by exclusive-work protection: its route is its only accelerator. Protection
still counts a split model's expected frames whole on a (counting the prefix on b and the suffix on
a instead was measured in 12n and lost). One threshold for every model, scenario and system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scheduler.costs import VariantCosts
from scheduler.policies.sdrm3_terms import PairTerms
from scheduler.state import Job, SchedulerState

#: SDRM3's default ``pipeline_split`` since issue 12p's selection (``benchmarks/RESULTS.md``,
#: "Issue 12p: result"): chosen on the tuning set only, the middle of the range [0.66, 0.86) in
#: which the same models are split there ("Issue 12n-pipe"; 12p changed the routing, not which
#: models are split or where).
THRESHOLD = 0.75


@dataclass(frozen=True)
class Cut:
    """Where a split model's frame is cut: layers ``[0, layer)`` on ``prefix_acc``, the rest on
    ``home_acc`` (ms: each stage's latency, the suffix's migration included)."""

    layer: int
    prefix_acc: int
    home_acc: int
    prefix_ms: float
    suffix_ms: float

    @property
    def stage_ms(self) -> float:
        """The larger stage: the pipeline's interval between frames."""
        return max(self.prefix_ms, self.suffix_ms)


def best_cut(
    costs: VariantCosts,
    home: int,
    ms_per_cycle: np.ndarray,
    period_ms: float,
    move_cycles: np.ndarray | None = None,
) -> Cut | None:
    """The cut of ``costs``'s frame (module docstring) with its suffix on ``home``, or None.

    ``move_cycles[c]`` is the migration latency (cycles, as the engine charges it: input words of
    layer c over the off-chip bandwidth) of starting layer c on ``home`` after a block elsewhere;
    None: migration is free. Among the cuts whose two stages fit ``period_ms``, the one of least
    larger stage; ties go to the least total, then the earliest layer, then the lowest
    accelerator. None when there is no such cut or it is not shorter than the whole frame on
    ``home``.
    """
    lp = np.asarray(costs.latency_prefix, dtype=float)
    n_layers = lp.shape[0] - 1
    if n_layers < 2:
        return None
    mpc = np.asarray(ms_per_cycle, dtype=float)
    whole = lp[-1, home] * mpc[home]
    layers = np.arange(1, n_layers)
    move = np.zeros(n_layers) if move_cycles is None else np.asarray(move_cycles, dtype=float)
    suffix = (lp[-1, home] - lp[layers, home] + move[layers]) * mpc[home]
    best: tuple | None = None
    for b in range(lp.shape[1]):
        if b == home:
            continue
        prefix = lp[layers, b] * mpc[b]
        stage = np.maximum(prefix, suffix)
        ok = np.flatnonzero(prefix + suffix <= period_ms + 1e-9)
        for i in ok[np.lexsort((prefix[ok] + suffix[ok], stage[ok]))][:1].tolist():
            key = (float(stage[i]), float(prefix[i] + suffix[i]), int(layers[i]), b)
            if best is None or key < best[0]:
                best = (key, Cut(int(layers[i]), b, home, float(prefix[i]), float(suffix[i])))
    if best is None or best[1].stage_ms >= whole:
        return None
    if best[1].prefix_ms > whole - best[1].suffix_ms:
        return None  # the prefix would take b longer than the split frees on home
    return best[1]


def split_models(
    full_ms: np.ndarray, periods_ms: np.ndarray, pinned: np.ndarray, threshold: float
) -> np.ndarray:
    """Per model: the accelerator it is pinned to if its full frame takes more than ``threshold``
    x its period there (a split candidate), else -1."""
    periods = np.asarray(periods_ms, dtype=float)
    pinned = np.asarray(pinned)
    out = np.full(len(pinned), -1, dtype=np.int64)
    for m, a in enumerate(pinned.tolist()):
        if a >= 0 and float(full_ms[m, a]) > threshold * periods[m]:
            out[m] = a
    return out


class PipelineSplit:
    """The pipelined split of one run: which models are split, their cuts, the per-pair routes."""

    def __init__(
        self,
        threshold: float,
        full_ms: np.ndarray,
        periods_ms: np.ndarray,
        pinned: np.ndarray,
        ms_per_cycle: np.ndarray,
    ) -> None:
        self.threshold = threshold
        self.ms_per_cycle = np.asarray(ms_per_cycle, dtype=float)
        self.periods_ms = np.asarray(periods_ms, dtype=float)
        self.home = split_models(full_ms, self.periods_ms, pinned, threshold)
        self._cuts: dict[Any, Cut | None] = {}  # per variant (by identity), for this run

    @property
    def active(self) -> bool:
        """True if some model is a split candidate in this run."""
        return bool((self.home >= 0).any())

    def cut(self, model: int, costs: VariantCosts, mech: Any) -> Cut | None:
        """The cut of ``model``'s variant ``costs`` (None: not split), computed once per run."""
        home = int(self.home[model])
        if home < 0:
            return None
        key = (id(costs), model)
        if key not in self._cuts:
            move = None
            mig = None if mech is None else mech.migration
            if mig is not None and costs.input_words is not None:
                move = np.array([mig.cycles(w) for w in costs.input_words])
            self._cuts[key] = best_cut(
                costs, home, self.ms_per_cycle, float(self.periods_ms[model]), move
            )
        return self._cuts[key]

    def route_of(
        self, job: Job, now_ms: float, mech: Any, busy_until: np.ndarray | None = None
    ) -> tuple[Cut, int, float] | None:
        """``(cut, accelerator, stage_ms)``: where ``job`` must run its next block and how long the
        rest of its current stage takes there (migration included), or None if it is not routed:
        a frame that has not passed the cut and ran nowhere or on the prefix accelerator only,
        while the rest of its prefix, the migration and its suffix can still meet its deadline;
        a frame past the cut whose last block ran on the prefix accelerator."""
        cut = self.cut(job.model, job.costs, mech)
        if cut is None:
            return None
        start, last, c = job.next_layer, job.last_accelerator, job.costs
        if start < cut.layer and last in (-1, cut.prefix_acc):
            b = cut.prefix_acc
            rest = float(c.latency_prefix[cut.layer, b] - c.latency_prefix[start, b]) * float(
                self.ms_per_cycle[b]
            )
            # an unstarted prefix waits for b: the pipeline must make it from when b frees up
            # (issue 12p; module docstring)
            begin = now_ms if last >= 0 or busy_until is None else max(now_ms, float(busy_until[b]))
            if begin + rest + cut.suffix_ms > job.deadline_ms:
                return None  # the pipeline can no longer make it: SDRM3's ordinary rules
            # the engine drops a frame by its best case, whatever b's wait: an unstarted prefix
            # must be able to start on b before then, else the ordinary rules apply (whole on a)
            if (
                last < 0
                and mech is not None
                and busy_until is not None
                and max(float(busy_until[b]), now_ms) >= mech.hopeless_at_ms(job, now_ms)
            ):
                return None
            return cut, b, rest
        if start >= cut.layer and last == cut.prefix_acc:
            a = cut.home_acc
            rest = float(c.latency_prefix[-1, a] - c.latency_prefix[start, a]) * float(
                self.ms_per_cycle[a]
            )
            move = 0.0 if mech is None else float(mech.move_ms(job)[a])
            return cut, a, rest + move
        return None

    def routes(
        self, terms: PairTerms, feasible: np.ndarray, state: SchedulerState
    ) -> np.ndarray | None:
        """``[jobs x idle]`` mask of the pairs each routed job may take (True for every pair of
        a job that is not routed), or None when no job is routed. Routed rows of ``feasible`` and
        ``terms.n_layers`` are rewritten in place: a route pair's block never crosses the cut
        (it is the rest of the stage, one block), and it is feasible (the route was checked)."""
        if not self.active:
            return None
        route: np.ndarray | None = None
        accs = terms.accelerators.astype(int).tolist()
        busy = state.busy_until_ms
        for i, job in enumerate(terms.jobs):
            hit = self.route_of(job, state.now_ms, state.mechanics, busy)
            if hit is None:
                continue
            cut, acc, _ = hit
            end = cut.layer if acc == cut.prefix_acc else job.costs.num_layers
            allowed = [a == acc for a in accs]
            terms.n_layers[i, allowed] = end - job.next_layer  # the rest of the stage, one block
            if route is None:
                route = np.ones(feasible.shape, dtype=bool)
            route[i] = allowed
            feasible[i] = allowed
        return route
