"""SDRM3's decision mechanisms on small hand-built situations: laxity urgency, slack-aware energy
placement, load-aware affinity and the finish-time term, layer-affinity blocks, overload-aware
admission. A test of an energy mechanism turns the lax-job wait (on by default, tested in
``test_sdrm3_wait.py``) off, so that it sees that mechanism alone."""

from __future__ import annotations

import numpy as np
import pytest

from rtmm.errors import SimulationError
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.decisions import Dispatch, Drop, RunContext
from scheduler.policies.sdrm3 import SDRM3
from scheduler.policies.sdrm3_capacity import committed, home_accelerators, pinned_accelerators
from scheduler.policies.sdrm3_rows import affinity_run_end
from scheduler.policies.sdrm3_terms import (
    frame_loss,
    pair_terms,
    shed_for_capacity,
    slack_safe,
)
from scheduler.state import Job, RunningMetrics, SchedulerState

CLOCK = 1e9  # 1 cycle = 1e-6 ms


def _variant(name, lat, en):
    return VariantCosts(name, np.asarray(lat, np.int64), np.asarray(en, float), 1.0)


def _job(model, costs, period, *, frame=0, release=0.0):
    j = Job(model, f"M{model}", frame, period, release, release + period, None, True)
    j.costs = costs
    return j


def _setup(variants, periods, *, policy, now=0.0, ready=None, running=None, busy=None):
    """A RunContext and SchedulerState with ``variants`` (one per model) on 2 accelerators."""
    models = tuple(ModelCosts(v.name, (v,)) for v in variants)
    costs = CostArrays(models, ("a0", "a1"), np.full(2, CLOCK))
    periods = np.asarray(periods, dtype=float)
    n = len(variants)
    ctx = RunContext(
        costs, tuple(v.name for v in variants), periods, (None,) * n, np.ones(n), 1000.0, False,
        np.random.default_rng(0),
    )  # fmt: skip
    policy.reset(ctx)
    jobs = ready if ready is not None else [_job(m, variants[m], periods[m]) for m in range(n)]
    run = running or [None, None]
    state = SchedulerState(
        now, jobs, tuple(a for a in range(2) if run[a] is None), run, costs, ctx.model_ids,
        periods, ctx.parents, ctx.probabilities, RunningMetrics.zeros(n),
        busy_until_ms=None if busy is None else np.asarray(busy, dtype=float),
    )  # fmt: skip
    return ctx, state


# --- laxity urgency ------------------------------------------------------------------------------


def test_laxity_urgency_ranks_by_time_left_to_wait_not_by_density():
    # A: 2 ms of work, 4 ms slack (density 0.5, laxity 2 ms); B: 12 ms of work, 20 ms slack
    # (density 0.6, laxity 8 ms). Density puts B first, laxity A.
    a = _variant("A", [[2_000_000, 2_000_000]], [[1.0, 1.0]])
    b = _variant("B", [[12_000_000, 12_000_000]], [[1.0, 1.0]])
    jobs = [_job(0, a, 4.0), _job(1, b, 20.0)]
    ms = np.full(2, 1e-6)
    dens = pair_terms(jobs, (0,), 0.0, ms, 100.0)
    lax = pair_terms(jobs, (0,), 0.0, ms, 100.0, urgency="laxity", scale_ms=4.0)
    assert dens.urgency[1] > dens.urgency[0]
    assert lax.urgency == pytest.approx([-(4.0 - 2.0) / 4.0, -(20.0 - 12.0) / 4.0])
    assert lax.urgency[0] > lax.urgency[1]


# --- slack-aware energy placement -------------------------------------------------------------


def test_slack_safe_keeps_the_fastest_and_pairs_that_keep_the_share():
    lax = np.array([[10.0, 6.0], [10.0, 4.0], [-1.0, -3.0]])
    assert slack_safe(lax, 0.5).tolist() == [[True, True], [True, False], [True, False]]
    assert slack_safe(lax, 0.0).tolist() == [[True, True], [True, True], [True, False]]


@pytest.mark.parametrize(("period", "expected"), [(40.0, 1), (16.0, 0)])
def test_efficient_accelerator_chosen_only_when_the_deadline_keeps_its_slack(period, expected):
    # a0: 5 ms, 4 nJ; a1 (efficient): 10 ms, 1 nJ. At a 40 ms deadline a1 keeps 30 of the 35 ms
    # laxity (>= 75 %): it is chosen for energy. At 16 ms a1 still meets the deadline but keeps
    # only 6 of the 11 ms (< 75 %): a0 is chosen.
    v = _variant("A", [[5_000_000, 10_000_000]], [[4.0, 1.0]])
    pol = SDRM3(tuner=False, urgency="laxity", energy_term="energy", energy_slack=0.75, defer=False,
                lax_wait=None)  # fmt: skip
    _, state = _setup([v], [period], policy=pol)
    (d,) = pol.decide(state)
    assert isinstance(d, Dispatch) and d.accelerator == expected
    # without the slack rule the energy term alone sends it to a1 in both cases
    plain = SDRM3(tuner=False, urgency="laxity", energy_term="energy", defer=False, lax_wait=None)
    _, state = _setup([v], [period], policy=plain)
    assert plain.decide(state)[0].accelerator == 1


def test_unsafe_pair_still_uses_an_idle_accelerator():
    # two jobs, both tight: each prefers a0 (fast); the second still gets a1 rather than waiting
    v = _variant("A", [[5_000_000, 9_000_000]], [[4.0, 1.0]])
    pol = SDRM3(tuner=False, urgency="laxity", energy_slack=0.9, defer=False)
    jobs = [_job(0, v, 12.0), _job(0, v, 12.0, frame=1, release=0.0)]
    _, state = _setup([v], [12.0], policy=pol, ready=jobs)
    decisions = pol.decide(state)
    assert sorted(d.accelerator for d in decisions) == [0, 1]


# --- queue-aware, load-aware deferral ------------------------------------------------------------


def _defer_case(periods, *, loaded=True, running_rest_ms=0.0):
    # a0 (efficient: 1 nJ, 4 ms) runs a block until 2 ms (then ``running_rest_ms`` of that job are
    # left, due at 20 ms); a1 is idle (4 nJ, 4 ms)
    v = _variant("A", [[4_000_000, 4_000_000]], [[1.0, 4.0]])
    jobs = [_job(0, v, p, frame=k) for k, p in enumerate(periods)]
    rest = int(running_rest_ms * 1e6)
    big = _variant("R", [[4_000_000, 4_000_000], [max(rest, 1), max(rest, 1)]], [[1.0, 1.0]] * 2)
    run = _job(0, big, 20.0, frame=9)
    run.next_layer = 1 if rest else 2
    pol = SDRM3(tuner=False, urgency="laxity", energy_term="energy", defer=True,
                defer_margin=0.5, defer_when_loaded=loaded, defer_load=1.0,
                lax_wait=None)  # fmt: skip
    _, state = _setup([v], [100.0], policy=pol, ready=jobs, running=[run, None],
                      busy=[2.0, 0.0])  # fmt: skip
    return jobs, pol.decide(state)


def test_job_waits_for_the_efficient_accelerator_only_if_it_keeps_its_laxity():
    # 40 ms deadline: laxity 36 ms now, 34 ms after waiting 2 ms: it waits (nothing dispatched)
    _, decisions = _defer_case([40.0])
    assert decisions == []
    # 7 ms deadline: laxity 3 ms, 1 ms after waiting: less than half of it, it takes a1 now
    jobs, decisions = _defer_case([7.0])
    assert [(d.job, d.accelerator) for d in decisions] == [(jobs[0], 1)]


def test_waiting_jobs_see_the_queue_on_the_efficient_accelerator():
    # 12 ms deadlines: each alone keeps 6 of its 8 ms laxity by waiting; the second, queued also
    # behind the first's 4 ms block, would keep 2 of 8: it runs on a1 now
    jobs, decisions = _defer_case([12.0, 12.0])
    assert [(d.job, d.accelerator) for d in decisions] == [(jobs[1], 1)]


def test_no_accelerator_idles_for_energy_when_the_demand_exceeds_capacity():
    # the running job still needs 40 ms by 20 ms: more than the 38 ms both accelerators offer by
    # then. Overloaded: with defer_when_loaded=False the 40 ms job is not held back for a0.
    _, decisions = _defer_case([40.0], running_rest_ms=30.0, loaded=False)
    assert decisions == []  # 30 ms fits: it waits as before
    jobs, decisions = _defer_case([40.0], running_rest_ms=40.0, loaded=False)
    assert [(d.job, d.accelerator) for d in decisions] == [(jobs[0], 1)]
    _, decisions = _defer_case([40.0], running_rest_ms=40.0, loaded=True)
    assert decisions == []


# --- load-aware affinity, finish-time term -------------------------------------------------------


def _crowding_case(**options):
    """a0 and a1 equally fast (6 ms); A and B spend least on a0 (affinity overhead 4 on a1), C on
    a1. A (due at 9 ms) is the most urgent, then B (10 ms), C (40 ms) is loose."""
    ab = [_variant(n, [[6_000_000, 6_000_000]], [[1.0, 25.0]]) for n in ("A", "B")]
    c = _variant("C", [[6_000_000, 6_000_000]], [[25.0, 1.0]])
    pol = SDRM3(tuner=False, urgency="laxity", energy_term="affinity", defer=False, **options)
    _, state = _setup([*ab, c], [9.0, 10.0, 40.0], policy=pol)
    return {d.job.model: d.accelerator for d in pol.decide(state)}


def test_load_aware_affinity_yields_to_a_free_accelerator_when_the_queue_would_cost_the_slack():
    # plain affinity: A takes a0, and B's overhead on a1 puts it below the loose C, so B waits
    # for a0 behind A and cannot make its 10 ms deadline (A holds a0 until 6 ms)
    plain = _crowding_case()
    assert plain == {0: 0, 2: 1}
    # load-aware: queued behind A's block on a0, B would keep 1.75 of its 4 ms laxity (< half):
    # it loses its affinity, leans to a1 where it finishes first, and is more urgent than C
    aware = _crowding_case(affinity_load=True)
    assert aware == {0: 0, 1: 1}
    # with a margin of 0.25 the 1.75 ms left are enough: B keeps its affinity, C gets a1
    loose = _crowding_case(affinity_load=True, affinity_margin=0.25)
    assert loose == plain


def test_load_aware_affinity_keeps_the_energy_preference_with_slack():
    # one job, loose deadline: its preferred a1 is idle and keeps all its laxity; it goes to a1
    # even though a0 is as fast (the affinity term is untouched)
    v = _variant("C", [[6_000_000, 6_000_000]], [[25.0, 1.0]])
    pol = SDRM3(tuner=False, urgency="laxity", energy_term="affinity", defer=False,
                affinity_load=True)  # fmt: skip
    _, state = _setup([v], [40.0], policy=pol)
    (d,) = pol.decide(state)
    assert d.accelerator == 1


def test_finish_term_prefers_the_idle_accelerator_where_the_job_finishes_first():
    # a0 (fast, 2 ms) is busy until 5 ms, a1 (slow, 4 ms) idle and a0 energy-efficient. The
    # finish term counts a0's queue: a1 finishes at 4 ms, a0 at 7: the job runs on a1 now.
    v = _variant("A", [[2_000_000, 4_000_000]], [[1.0, 9.0]])
    other = _job(0, v, 50.0, frame=3)
    pol = SDRM3(tuner=False, urgency="laxity", energy_term="finish", defer=False, lax_wait=None)
    _, state = _setup([v], [50.0], policy=pol, running=[other, None], busy=[5.0, 0.0])
    (d,) = pol.decide(state)
    assert d.accelerator == 1
    terms = pair_terms(state.ready, (0, 1), 0.0, np.full(2, 1e-6), 100.0)
    pol._placement_term(terms, state, load_aware=False)
    assert terms.energy[0].tolist() == pytest.approx([(7.0 - 4.0) / 50.0, 0.0])


# --- home accelerators (capacity-aware affinity), exclusive-work protection ---------------------


def test_pinned_models_fit_their_period_on_one_accelerator_only():
    full = np.array([[138.0, 94.8], [28.9, 22.7], [5.0, 6.0], [50.0, 60.0]])
    assert pinned_accelerators(full, [100.0, 33.3, 10.0, 40.0]).tolist() == [1, -1, -1, -1]


def test_home_spreads_models_when_the_affinity_choice_is_full():
    # S fits its 100 ms period only on a1 (94.8 ms: load 0.95); O prefers a1 too (lower sqrt(E L))
    # but a1 has no room left: O's home is a0 (load 0.87). Lightly loaded (periods x 10), both
    # stay with their affinity's choice.
    full = np.array([[138.0, 94.8], [28.9, 22.7]])
    energy = np.array([[1127.0, 504.0], [127.5, 109.1]])
    assert home_accelerators(full, energy, [100.0, 33.3], np.ones(2)).tolist() == [1, 0]
    assert home_accelerators(full, energy, [1000.0, 333.0], np.ones(2)).tolist() == [1, 1]


def _protect_case(protect):
    # P (model 0) fits its 10 ms period only on a1 (9 ms) and releases a frame at 10 ms; J
    # (model 1, due at 40 ms) takes 12 ms on either accelerator; a0 is busy until 1 ms.
    p = _variant("P", [[50_000_000, 9_000_000]], [[1.0, 1.0]])
    j = _variant("J", [[12_000_000, 12_000_000]], [[1.0, 1.0]])
    job = _job(1, j, 40.0)
    pol = SDRM3(tuner=False, urgency="laxity", defer=False, protect=protect)
    _, state = _setup([p, j], [10.0, 40.0], policy=pol, ready=[job],
                      running=[_job(1, j, 40.0, frame=7), None], busy=[1.0, 0.0])  # fmt: skip
    return pol.decide(state)


def test_exclusive_work_keeps_its_accelerator_from_a_job_that_can_run_elsewhere():
    # J on a1 now would hold it until 12 ms: P's frame released at 10 ms would end at 21 > 20 ms.
    # With protection J leaves a1 to P (and waits for a0); without, it takes the idle a1.
    assert _protect_case(protect=False)[0].accelerator == 1
    assert _protect_case(protect=True) == []


def _commit_case(commit, period):
    # L started on a0 (1 of 2 layers of 5 ms done), due at ``period``; N is new, due at 8 ms.
    # One idle accelerator, a0; a1 is busy until 20 ms.
    lv = _variant("L", [[5_000_000, 5_000_000]] * 2, [[1.0, 1.0]] * 2)
    nv = _variant("N", [[2_000_000, 2_000_000]], [[1.0, 1.0]])
    started = _job(0, lv, period)
    started.next_layer, started.last_accelerator = 1, 0
    new = _job(1, nv, 8.0)
    pol = SDRM3(tuner=False, urgency="laxity", defer=False, commit=commit)
    _, state = _setup([lv, nv], [period, 8.0], policy=pol, ready=[started, new],
                      running=[None, _job(1, nv, 8.0, frame=5)], busy=[0.0, 20.0])  # fmt: skip
    (d,) = pol.decide(state)
    return d.job.model


def test_commit_runs_a_started_job_to_completion_while_it_can_still_finish():
    # N is the more urgent (laxity 6 vs 15 ms): laxity order starts N; with commit the started L
    # keeps a0.
    assert _commit_case(commit=False, period=20.0) == 1
    assert _commit_case(commit=True, period=20.0) == 0
    # only while L can still finish on a0: due at 4 ms with 5 ms left it is not committed
    lv = _variant("L", [[5_000_000, 5_000_000]] * 2, [[1.0, 1.0]] * 2)
    for period, expected in ((20.0, [[True, False]]), (4.0, [[False, False]])):
        job = _job(0, lv, period)
        job.next_layer, job.last_accelerator = 1, 0
        terms = pair_terms([job], (0, 1), 0.0, np.full(2, 1e-6), 100.0)
        assert committed(terms, 0.0, np.full(2, 1e-6)).tolist() == expected


# --- layer-affinity blocks ---------------------------------------------------------------------


def test_block_ends_where_the_cheapest_accelerator_changes():
    energy = np.array([[1.0, 2.0], [1.0, 3.0], [5.0, 1.0], [4.0, 1.0], [1.0, 9.0]])
    assert affinity_run_end(energy, 0) == 2
    assert affinity_run_end(energy, 2) == 4
    assert affinity_run_end(energy, 4) == 5
    v = _variant("A", [[1000, 1000]] * 5, energy)
    terms = pair_terms([_job(0, v, 50.0)], (0, 1), 0.0, np.full(2, 1e-6), 100.0,
                       cut_on_affinity=True)  # fmt: skip
    assert terms.n_layers.tolist() == [[2, 2]]
    assert terms.energy[0].tolist() == [0.0, pytest.approx(5.0 / 2.0 - 1.0)]


# --- overload-aware admission ------------------------------------------------------------------


def test_frame_loss_weights_rare_frames_and_cascade_children():
    # A: 10 ms period; B: 40 ms; C: child of B with p 0.5 (so a quarter... of B's frames: share 0.5)
    loss = frame_loss([10.0, 40.0, 40.0], (None, None, 1), [1.0, 1.0, 0.5])
    assert loss[0] == pytest.approx(10.0)
    assert loss[2] == pytest.approx(40.0 / 0.5)
    assert loss[1] == pytest.approx(40.0 + 0.5 * 80.0)


def test_admission_sheds_the_cheapest_frame_per_freed_work_and_only_if_needed():
    free = np.zeros(1)  # one accelerator, free now
    d = np.array([10.0, 10.0, 10.0])
    work = np.array([4.0, 6.0, 3.0])
    loss = np.array([2.0, 1.0, 1.0])
    # demand 13 > capacity 10: item 1 frees the most work per loss (6 vs 2 and 3)
    shed = shed_for_capacity(d, work, loss, np.ones(3, bool), free)
    assert shed.tolist() == [False, True, False]
    # it fits: nothing shed
    assert not shed_for_capacity(d, np.array([4.0, 3.0, 3.0]), np.ones(3), np.ones(3, bool),
                                 free).any()  # fmt: skip
    # the cheapest is not sheddable: the next cheapest goes (3 ms per loss vs 2)
    shed = shed_for_capacity(d, work, loss, np.array([1, 0, 1], bool), free)
    assert shed.tolist() == [False, False, True]
    # an overload only at a later deadline may shed an earlier-due item, not a later one
    shed = shed_for_capacity(np.array([5.0, 10.0, 20.0]), np.array([4.0, 8.0, 1.0]),
                             np.array([1.0, 1.0, 0.01]), np.ones(3, bool), free)  # fmt: skip
    assert shed.tolist() == [False, True, False]
    # capacity counts each accelerator from when it frees up
    assert not shed_for_capacity(d, work, np.ones(3), np.ones(3, bool), np.array([0.0, 7.0])).any()
    assert shed_for_capacity(d, work, np.ones(3), np.ones(3, bool), np.array([0.0, 8.0])).any()


def test_sdrm3_admission_drops_the_cheap_frame_when_overloaded():
    # a0 and a1 equal; A (10 ms period) and B (40 ms) both need 9 ms, due at 10 ms together with a
    # running job that holds a1 until 9 ms: only one of A, B can make it. A's frame costs less V
    # (4x more frames of A are released), so A's frame is shed and B is dispatched.
    a = _variant("A", [[9_000_000, 9_000_000]], [[1.0, 1.0]])
    b = _variant("B", [[9_000_000, 9_000_000]], [[1.0, 1.0]])
    jobs = [_job(0, a, 10.0), _job(1, b, 40.0, release=-30.0)]
    run = _job(0, a, 10.0, frame=5)
    run.next_layer = 1  # its one block is running: nothing left after it
    pol = SDRM3(tuner=False, urgency="laxity", admission=True, defer=False)
    _, state = _setup([a, b], [10.0, 40.0], policy=pol, ready=jobs, running=[None, run],
                      busy=[0.0, 9.0])  # fmt: skip
    decisions = pol.decide(state)
    drops = [d.job for d in decisions if isinstance(d, Drop)]
    dispatched = [d.job for d in decisions if isinstance(d, Dispatch)]
    assert drops == [jobs[0]] and dispatched == [jobs[1]]


def test_model_starvation_favours_the_model_that_lost_frames():
    # two identical jobs of two models, one idle accelerator; model 1 lost half its frames so far
    v = [_variant(n, [[2_000_000, 2_000_000]], [[1.0, 1.0]]) for n in ("A", "B")]
    for mode, first in (("job", 0), ("model", 1)):
        pol = SDRM3(tuner=False, urgency="laxity", starvation=mode, defer=False, guard=None)
        _, state = _setup(v, [20.0, 20.0], policy=pol, running=[_job(0, v[0], 20.0), None],
                          busy=[5.0, 0.0])  # fmt: skip
        state.metrics.released[:] = [4, 4]
        state.metrics.dropped[:] = [0, 2]
        (d,) = pol.decide(state)
        assert d.job is state.ready[first]


def test_new_options_are_validated():
    with pytest.raises(SimulationError, match="urgency"):
        SDRM3(urgency="slack")
    with pytest.raises(SimulationError, match="energy_term"):
        SDRM3(energy_term="power")
    with pytest.raises(SimulationError, match="affinity_margin"):
        SDRM3(affinity_margin=1.5)
    with pytest.raises(SimulationError, match="starvation"):
        SDRM3(starvation="frame")
    with pytest.raises(SimulationError, match="energy_slack"):
        SDRM3(energy_slack=1.5)
