"""SDRM3 and the engine's frame mechanics: invariants, MapScore, hopeless drop, tuner, Supernet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from test_scheduler_properties import Acc, Model, Scenario, System, check_invariants, workloads

from scheduler import policies, simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.mechanics import FrameMechanics
from scheduler.policies.base import RunContext
from scheduler.policies.sdrm3 import SDRM3
from scheduler.policies.sdrm3_terms import THETA_BOUNDS, Theta, greedy_pairs, map_scores, pair_terms
from scheduler.state import Job, RunningMetrics, WindowMetrics
from scheduler.supernet_selector import SupernetSelector, delivered_accuracy
from scheduler.tuner import Tuner
from scheduler.tuner_trace import plot_trace, settling_window

SDRM3_NAMES = ["sdrm3", "sdrm3_static", "sdrm3_supernet", "sdrm3_static_supernet"]


@pytest.mark.parametrize("policy", SDRM3_NAMES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_sdrm3_invariants(policy, workload):
    scenario, system, costs, horizon, seed, jitter = workload
    run = dict(costs=costs, horizon_ms=horizon, seed=seed, jitter_ms=jitter)
    result = simulate(scenario, system, policy, **run)
    check_invariants(result, scenario, costs, horizon)
    again = simulate(scenario, system, policy, **run)
    pd.testing.assert_frame_equal(result.frames, again.frames)
    pd.testing.assert_frame_equal(result.timeline, again.timeline)


def _variant(name, lat, en, accuracy=1.0):
    return VariantCosts(name, np.asarray(lat, np.int64), np.asarray(en, float), accuracy)


def _job(model, costs, *, frame=0, period=20.0, release=0.0, next_layer=0, last=-1, progress=0.0):
    j = Job(model, f"M{model}", frame, period, release, release + period, None, True)
    j.costs = costs
    j.next_layer = next_layer
    j.last_accelerator = last
    j.last_progress_ms = progress
    return j


def test_map_score_matrix_equals_naive_per_pair():
    rng = np.random.default_rng(3)
    ms_per_cycle = np.array([1e-6, 1e-6, 2e-6])
    jobs = []
    for m in range(5):
        layers = int(rng.integers(2, 9))
        c = _variant(
            f"M{m}",
            rng.integers(100_000, 3_000_000, (layers, 3)),
            rng.uniform(1e3, 1e6, (layers, 3)),
        )
        jobs.append(
            _job(
                m, c, period=float(rng.choice([16.0, 33.0])), release=float(rng.uniform(0, 5)),
                next_layer=int(rng.integers(0, layers)), last=int(rng.integers(-1, 3)),
                progress=float(rng.uniform(0, 5)),
            )
        )  # fmt: skip
    idle, now, block_ms = (0, 2), 6.0, 1.5
    theta = Theta(0.7, 1.3, 0.4)
    terms = pair_terms(jobs, idle, now, ms_per_cycle, block_ms, u_max=5.0)
    scores = map_scores(terms, theta)
    for i, j in enumerate(jobs):
        c, start = j.costs, j.next_layer
        rem = [
            sum(int(c.latency_cycles[k, a]) for k in range(start, c.num_layers)) * ms_per_cycle[a]
            for a in range(3)
        ]
        u = min(max(min(rem) / max(j.deadline_ms - now, 1e-3), 0.0), 5.0)
        f = (now - j.last_progress_ms) / j.period_ms
        for col, a in enumerate(idle):
            n, spent = 0, 0.0
            while start + n < c.num_layers:  # cut where the block's latency reaches the budget
                step = c.latency_cycles[start + n, a] * ms_per_cycle[a]
                if n >= 1 and spent + step > block_ms + 1e-12:
                    break
                spent += step
                n += 1
            assert terms.n_layers[i, col] == n
            e = [float(c.energy_nj[start : start + n, b].sum()) for b in range(3)]
            g = e[a] / min(e) - 1.0
            s = 1.0 if j.last_accelerator >= 0 and j.last_accelerator != a else 0.0
            naive = u + theta.alpha * f - theta.beta * g - theta.gamma * s
            assert scores[i, col] == pytest.approx(naive, rel=1e-9, abs=1e-12)


def test_greedy_pairs_take_best_pair_first_one_job_per_accelerator():
    s = np.array([[1.0, 5.0], [4.0, 6.0], [0.5, 0.2]])
    assert greedy_pairs(s) == [(1, 1), (0, 0)]
    assert greedy_pairs(np.array([[-np.inf, 1.0]])) == [(0, 1)]
    assert greedy_pairs(np.full((2, 2), -np.inf)) == []


def _cascade_run(policy, parent_cycles, horizon=100.0):
    scenario = Scenario("s", (Model("P", 50.0), Model("C", 50.0, "P", 1.0), Model("X", 25.0)))
    system = System("sys", (Acc("a0"), Acc("a1")))
    p = ModelCosts("P", (_variant("P", [[parent_cycles] * 2] * 2, [[1e3, 2e3]] * 2),))
    c = ModelCosts("C", (_variant("C", [[1_000_000] * 2], [[1e3, 1e3]]),))
    x = ModelCosts("X", (_variant("X", [[2_000_000, 3_000_000]], [[5e3, 1e3]]),))
    costs = CostArrays((p, c, x), ("a0", "a1"), np.full(2, 1e9))
    return simulate(scenario, system, policy, costs=costs, horizon_ms=horizon, seed=1)


@pytest.mark.parametrize("policy", ["sdrm3_static", "edf", "latency_greedy", "herald"])
def test_engine_drops_infeasible_parent_and_its_cascade_children(policy):
    # P needs 2 x 15 ms > its 20 ms period on either accelerator: hopeless from release; the
    # engine drops it under every policy (the mechanics are the engine's)
    r = _cascade_run(policies.get(policy), 15_000_000)
    f = r.frames
    assert (f[f.model == "P"].status == "dropped").all()
    assert (f[f.model == "C"].status == "dropped").all()
    assert f[f.model.isin(["P", "C"])].energy_nj.sum() == 0.0  # dropped before wasting energy
    assert not r.timeline.model.isin(["P", "C"]).any()
    assert (f[f.model == "X"].status == "on_time").all()
    # a feasible parent is not dropped and its children run
    ok = _cascade_run(policies.get(policy), 2_000_000).frames
    assert (ok[ok.model.isin(["P", "C"])].status == "on_time").all()


def test_started_job_past_its_deadline_is_dropped_between_blocks():
    # one model, 10 layers of 3 ms, 25 ms period: the frame cannot finish and is cut mid-way
    scenario = Scenario("s", (Model("M", 40.0),))
    costs = CostArrays(
        (ModelCosts("M", (_variant("M", [[3_000_000]] * 10, [[1e3]] * 10),)),),
        ("a0",),
        np.full(1, 1e9),
    )
    pol = SDRM3(tuner=False)
    late = FrameMechanics(drop_delta=4.0)  # only drop once the slack is nearly gone
    sys1 = System("s", (Acc("a0"),))
    r = simulate(scenario, sys1, pol, costs=costs, horizon_ms=100.0, mechanics=late)
    assert (r.frames.status == "dropped").all()
    assert (r.frames.energy_nj > 0).all()  # started, then dropped when hopeless
    assert (r.frames.num_blocks < 10).all()


def test_sdrm3_rejects_bad_parameters():
    from rtmm.errors import SimulationError

    with pytest.raises(SimulationError):
        SDRM3(alpha=-1.0)
    with pytest.raises(SimulationError):
        SDRM3(block_fraction=0.0)
    assert policies.get("sdrm3_static").use_tuner is False
    assert policies.get("sdrm3_supernet").use_supernet is True


# --- tuner ---------------------------------------------------------------------------------------


def _bowl(optimum):
    opt = np.asarray(optimum, dtype=float)
    return lambda theta: 1.0 + float(np.sum((np.asarray(theta) - opt) ** 2))


def test_tuner_descends_and_readapts_after_a_workload_change():
    bounds = np.array([[0.0, 4.0], [0.0, 4.0]])
    tuner = Tuner([0.5, 0.5], bounds, names=("a", "b"), step0=0.25, min_step=0.01)
    f = _bowl([3.0, 2.0])
    theta = tuner.current
    for _ in range(40):
        theta = tuner.step(f(theta))
    assert f(tuner.theta) < 1.05  # near the optimum (1.0)
    first_phase = len(tuner.rows)
    g = _bowl([0.5, 3.5])  # the workload changes: the optimum moves
    for _ in range(60):
        theta = tuner.step(g(theta))
    events = list(tuner.trace_frame().event[first_phase:])
    assert "restart" in events
    assert g(tuner.theta) < 1.1
    assert np.all(tuner.theta >= bounds[:, 0]) and np.all(tuner.theta <= bounds[:, 1])


def test_tuner_stays_within_bounds_and_ignores_empty_windows(tmp_path):
    tuner = Tuner([0.0, 0.0, 0.0], THETA_BOUNDS)
    for k in range(30):
        theta = tuner.step(float("nan") if k % 7 == 0 else 1.0 + 0.1 * (k % 3))
        lo, hi = tuner.bounds[:, 0], tuner.bounds[:, 1]
        assert np.all(theta >= lo) and np.all(theta <= hi)
    trace = tuner.trace_frame()
    assert len(trace) == 30 and (trace.event == "no data").sum() == 5
    assert {"alpha", "beta", "gamma", "uxcost"} <= set(trace.columns)
    plot_trace(trace, tmp_path / "t.png", title="x")
    assert (tmp_path / "t.png").stat().st_size > 0


def test_tuner_window_is_a_short_hyperperiod_else_the_longest_period():
    from scheduler.policies.sdrm3_terms import tuner_window_ms

    def window(*fps):
        return tuner_window_ms([1000.0 / f for f in fps])

    assert window(60, 45) == pytest.approx(1000 / 15)  # vr_gaming: 3 HT and 4 ES frames each
    assert window(60, 60, 30, 30) == pytest.approx(1000 / 30)
    assert window(3, 3, 10, 30) == pytest.approx(1000 / 3)  # hyperperiod 1000 ms: too long


def test_settling_window():
    assert settling_window([5.0, 2.0, 1.02, 0.99, 1.0]) == 2
    assert settling_window([1.0, 1.0]) == 0
    assert settling_window([1.0, 2.0, 1.0]) == 2


# --- Supernet selector ---------------------------------------------------------------------------


def _static():
    """The selector's what-if policy: SDRM3 without tuner and selector."""
    return SDRM3(tuner=False, supernet=False)


def _supernet_ctx(fps=(50.0, 50.0)):
    full = _variant("A", [[9_000_000, 9_000_000]], [[4e3, 5e3]])
    half = _variant("A@s", [[4_000_000, 4_000_000]], [[2e3, 2e3]], accuracy=0.97)
    b = _variant("B", [[2_000_000, 3_000_000]], [[1e3, 1e3]])
    costs = CostArrays(
        (ModelCosts("A", (full, half)), ModelCosts("B", (b,))), ("a0", "a1"), np.full(2, 1e9)
    )
    return RunContext(
        costs=costs, model_ids=("A", "B"), periods_ms=1000.0 / np.asarray(fps),
        parents=(None, None), probabilities=np.ones(2), horizon_ms=1000.0, xrbench=False,
        rng=np.random.default_rng(0),
    )  # fmt: skip


def _window(k, released):
    delta = RunningMetrics.zeros(2)
    delta.released[:] = released
    delta.on_time[:] = released
    return WindowMetrics(k, 20.0 * k, 20.0 * (k + 1), delta)


def _static():
    return SDRM3(tuner=False)


def test_supernet_selector_downgrades_under_load_without_flapping():
    # A: 9 ms at 50 fps on 2 accelerators = load 0.45 + B 0.05 -> rho 0.5: full models
    light = SupernetSelector(
        _supernet_ctx((50.0, 50.0)), accuracy_budget=0.02, policy_factory=_static
    )
    assert list(light.assignment) == [0, 0]
    # at 200 fps A alone needs 1.8 accelerators: overloaded, the sub-network is chosen
    heavy = SupernetSelector(
        _supernet_ctx((200.0, 50.0)), accuracy_budget=0.02, dwell_ms=0.0, policy_factory=_static
    )
    assert list(heavy.assignment) == [1, 0]
    assert heavy.mean_accuracy() >= 0.98
    for k in range(50):  # constant load: the assignment never changes again
        heavy.observe(_window(k, [4, 1]))
    assert len(heavy.changes) == 1
    # a budget too small for the sub-network keeps the full model however loaded
    strict = SupernetSelector(
        _supernet_ctx((200.0, 50.0)), accuracy_budget=0.01, policy_factory=_static
    )
    assert list(strict.assignment) == [0, 0]


def test_delivered_accuracy_reported_per_model():
    frames = pd.DataFrame(
        {
            "model": ["A", "A", "A", "B", "B"],
            "variant": [0, 1, 1, 0, 0],
            "status": ["on_time", "late", "dropped", "on_time", "not_triggered"],
            "accuracy": [1.0, 0.9, 0.9, 1.0, 1.0],
        }
    )
    acc = delivered_accuracy(frames).set_index("model")
    assert acc.loc["A", "accuracy"] == pytest.approx(0.95)
    assert acc.loc["A", "completed"] == 2 and acc.loc["A", "subnet_share"] == 0.5
    assert acc.loc["B", "accuracy"] == 1.0
    assert acc.loc["", "accuracy"] == pytest.approx(0.975)


def test_supernet_policy_uses_variants_and_credits_accuracy():
    ctx = _supernet_ctx((200.0, 50.0))
    scenario = Scenario("s", (Model("A", 200.0), Model("B", 50.0)))
    system = System("sys", (Acc("a0"), Acc("a1")))
    r = simulate(scenario, system, "sdrm3_static_supernet", costs=ctx.costs, horizon_ms=200.0)
    done = r.frames[r.frames.status.isin(["on_time", "late"])]
    assert (done[done.model == "A"].variant == 1).all()
    assert r.summary().set_index("model").loc["A", "acc"] == pytest.approx(0.97)


# --- no metric gaming: SDRM3 drops only frames that provably cannot finish on time ---------------


@pytest.mark.parametrize(
    "policy",
    [
        "sdrm3", "sdrm3_static", SDRM3(tuner=False, lax_wait=2.0),
        SDRM3(tuner=False, lax_wait=2.0, lax_fallback=True),
        SDRM3(tuner=False, contention_hold=True),
    ],
    ids=["sdrm3", "sdrm3_static", "lax_wait", "lax_wait+fallback", "contention_hold"],
)  # fmt: skip
def test_sdrm3_drops_nothing_when_every_frame_is_feasible(policy):
    # light load on two accelerators, a cascade and a model that is slow on one accelerator:
    # every frame can finish on time, so UXCost can only be lowered by energy, never by drops
    # (the lax-job wait once made A wait for its cheap accelerator leaving room only for its
    # child C's *expected* work, so a triggered C became hopeless)
    scenario = Scenario(
        "feasible",
        (Model("A", 50.0), Model("B", 40.0), Model("C", 50.0, "A", 0.5), Model("D", 10.0)),
    )
    system = System("sys", (Acc("a0"), Acc("a1")))
    a = ModelCosts("A", (_variant("A", [[1_000_000, 2_500_000]] * 4, [[2e3, 1e3]] * 4),))
    b = ModelCosts("B", (_variant("B", [[1_500_000, 1_200_000]] * 4, [[1e3, 3e3]] * 4),))
    c = ModelCosts("C", (_variant("C", [[1_500_000, 1_500_000]] * 2, [[1e3, 1e3]] * 2),))
    d = ModelCosts("D", (_variant("D", [[4_000_000, 9_000_000]] * 5, [[5e3, 4e3]] * 5),))
    costs = CostArrays((a, b, c, d), ("a0", "a1"), np.full(2, 1e9))
    for seed in range(3):
        r = simulate(scenario, system, policy, costs=costs, horizon_ms=1000.0, seed=seed)
        status = r.frames.status
        assert (status != "dropped").all()
        assert set(status) <= {"on_time", "not_triggered"}


def _plan_shed_models(scenario, costs) -> tuple[str, ...]:
    """The models whose frames SDRM3's service plan sheds in part."""
    from scheduler.policies.service_plan import service_plan

    ids = [m.model_id for m in scenario.models]
    parents = tuple(None if m.parent is None else ids.index(m.parent) for m in scenario.models)
    periods = [1000.0 / m.fps for m in scenario.models]
    probs = [m.probability for m in scenario.models]
    ms_per_cycle = 1e3 / np.asarray(costs.clock_hz, dtype=float)
    share = service_plan(costs, ms_per_cycle, periods, parents, probs)
    return tuple(i for i, x in zip(ids, share, strict=True) if x < 1 - 1e-6)


def _assert_drops_are_hopeless(result, scenario, costs, shed_models=()):
    """Every dropped frame could not have met its deadline, except unstarted frames of
    ``shed_models``, which a policy's service plan may shed at release (issue 12u)."""
    frames, tl = result.frames, result.timeline
    done = tl.groupby(["model", "frame"])["n_layers"].sum()
    ids = [m.model_id for m in scenario.models]
    parent = {m.model_id: m.parent for m in scenario.models}
    best_ms = {
        i: float(costs.models[k].full.total_latency_cycles.min()) / 1e6 for k, i in enumerate(ids)
    }
    by_key = frames.set_index(["model", "frame"])

    def remaining_ms(model, frame):  # best case from the first layer not run (1 GHz clocks)
        next_layer = int(done.get((model, frame), 0))
        full = costs.models[ids.index(model)].full
        return float(full.remaining_latency_cycles(next_layer).min()) / 1e6

    def earliest_done_ms(model, frame):  # if its dropped ancestors had run on from their drop
        row, p = by_key.loc[(model, frame)], parent[model]
        if p is not None and row.num_blocks == 0 and by_key.loc[(p, frame), "status"] == "dropped":
            return earliest_done_ms(p, frame) + best_ms[model]  # dropped along with its parent
        return row.completion_ms + remaining_ms(model, frame)

    for row in frames[frames.status == "dropped"].itertuples():
        if row.model in shed_models and row.num_blocks == 0:
            continue  # shed by the policy's plan (never started)
        t = row.completion_ms  # when it was dropped
        p = parent[row.model]
        if p is not None and by_key.loc[(p, row.frame), "status"] == "dropped":
            prow = by_key.loc[(p, row.frame)]
            if prow.num_blocks == 0 and prow.completion_ms > prow.deadline_ms:
                continue  # the parent expired unstarted (engine rule, every policy)
            # taken along with a dropped parent: the child could not have made it after the
            # remaining layers of its parent and of every dropped ancestor above it
            parent_done = earliest_done_ms(p, row.frame)
            assert parent_done + best_ms[row.model] > row.deadline_ms - 1e-6
            continue
        assert t + remaining_ms(row.model, row.frame) > row.deadline_ms - 1e-6


@pytest.mark.parametrize(
    "policy", ["sdrm3", "sdrm3_static", "edf", "llf", "fcfs", "latency_greedy", "prema", "veltair"]
)
@pytest.mark.parametrize("placement", [False, True])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_engine_drops_only_frames_that_cannot_finish_on_time(policy, placement, workload):
    """Every policy gets the engine's drop, and it never drops a frame that could finish."""
    scenario, system, costs, horizon, seed, jitter = workload
    mech = FrameMechanics(drop_delta=1.0, feasible_placement=placement)
    r = simulate(
        scenario, system, policy, costs=costs, horizon_ms=horizon, seed=seed, jitter_ms=jitter,
        mechanics=mech,
    )  # fmt: skip
    # SDRM3's service plan (issue 12u, on by default) sheds unstarted frames of the models it
    # serves only in part; every other drop must be the engine's, of a hopeless frame
    shed = _plan_shed_models(scenario, costs) if policy.startswith("sdrm3") else ()
    _assert_drops_are_hopeless(r, scenario, costs, shed)
    # and nothing ready is left that was hopeless: each frame is resolved exactly once
    assert r.frames.status.notna().all()


def test_drop_delta_below_one_is_rejected():
    from rtmm.errors import SimulationError

    with pytest.raises(SimulationError, match="drop_delta"):
        FrameMechanics(drop_delta=0.5)
