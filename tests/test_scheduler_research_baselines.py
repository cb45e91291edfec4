"""Research baselines (Herald, PREMA, Planaria, Veltair): invariants and one behaviour each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_scheduler_properties import Acc, Model, Scenario, System, check_invariants
from test_scheduler_xrbench import maestro_table

from rtmm.errors import RtmmError
from scheduler import policies, simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.mechanics import FrameMechanics
from scheduler.policies.base import Dispatch, RunContext
from scheduler.policies.herald import Herald, assign_layers, segment_ends
from scheduler.policies.planaria import Planaria, water_fill
from scheduler.policies.prema import PREMA
from scheduler.policies.veltair import Veltair
from scheduler.simulate import build_costs
from scheduler.state import Job, RunningMetrics, SchedulerState
from workloads import scenario as scenario_lib

RESEARCH = ("herald", "prema", "planaria", "veltair")
MS = 1_000_000  # cycles per ms at 1 GHz


# --- fixtures ---------------------------------------------------------------------------------
def arrays(per_model: dict[str, tuple[np.ndarray, np.ndarray]]) -> CostArrays:
    """Cost arrays from ``{model: (latency_cycles, energy_nj)}``, all at 1 GHz."""
    num_acc = next(iter(per_model.values()))[0].shape[1]
    models = tuple(ModelCosts(m, (VariantCosts(m, lat, en),)) for m, (lat, en) in per_model.items())
    return CostArrays(models, tuple(f"a{i}" for i in range(num_acc)), np.full(num_acc, 1e9))


def system(num_acc: int) -> System:
    return System("sys", tuple(Acc(f"a{i}") for i in range(num_acc)))


def context(costs: CostArrays, fps: list[float]) -> RunContext:
    n = len(costs.models)
    return RunContext(
        costs=costs,
        model_ids=tuple(m.model_id for m in costs.models),
        periods_ms=np.array([1000.0 / f for f in fps]),
        parents=(None,) * n,
        probabilities=np.ones(n),
        horizon_ms=100.0,
        xrbench=False,
        rng=np.random.default_rng(0),
    )


def job(costs: CostArrays, model: int, frame: int, period: float, release: float, deadline: float):
    j = Job(model, costs.models[model].model_id, frame, period, release, deadline, None, True)
    j.costs = costs.models[model].full
    j.ready_ms = release
    return j


def state(ctx: RunContext, now: float, ready: list[Job], idle: tuple[int, ...]) -> SchedulerState:
    num_acc = ctx.costs.num_accelerators
    running = [None if a in idle else ready[0] for a in range(num_acc)]
    return SchedulerState(
        now_ms=now,
        ready=list(ready),
        idle=idle,
        running=running,
        costs=ctx.costs,
        model_ids=ctx.model_ids,
        periods_ms=ctx.periods_ms,
        parents=ctx.parents,
        probabilities=ctx.probabilities,
        metrics=RunningMetrics.zeros(len(ctx.model_ids)),
    )


def random_workload(seed: int):
    """Three models (one cascaded), three heterogeneous accelerators, random layer costs."""
    rng = np.random.default_rng(seed)
    models = (
        Model("M0", 60.0),
        Model("M1", 30.0, parent="M0", probability=0.5),
        Model("M2", 15.0),
    )
    per_model = {}
    for m in models:
        layers = int(rng.integers(2, 12))
        lat = rng.integers(50_000, 3_000_000, size=(layers, 3))
        en = rng.uniform(1e3, 1e6, size=(layers, 3))
        per_model[m.model_id] = (lat, en)
    return Scenario("random", models), system(3), arrays(per_model)


# --- all four: registry, invariants, determinism ----------------------------------------------
def test_registered():
    for name in RESEARCH:
        assert name in policies.names()
        assert policies.get(name).name == name


@pytest.mark.parametrize("policy", RESEARCH)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_invariants_on_synthetic_workloads(policy, seed):
    scenario, sys_, costs = random_workload(seed)
    run = dict(costs=costs, horizon_ms=250.0, seed=seed, jitter_ms=2.0)
    result = simulate(scenario, sys_, policy, **run)
    check_invariants(result, scenario, costs, 250.0)
    assert len(result.timeline) > 0
    again = simulate(scenario, sys_, policy, **run)
    pd.testing.assert_frame_equal(result.timeline, again.timeline)
    pd.testing.assert_frame_equal(result.frames, again.frames)


@pytest.mark.parametrize("policy", RESEARCH)
def test_library_scenario_with_calibration_costs(golden_data, policy):
    """vr_gaming and social_interaction_b on XRBench system M (WS, OS, WS, OS) at 4K PEs."""
    table = maestro_table(golden_data, 1024, 128, ("WS", "OS", "WS", "OS"))
    for name in ("vr_gaming", "social_interaction_b"):
        scenario = scenario_lib.load(name)
        from hardware_db import library

        sys_ = library.get_system("xrbench-4k-M")
        costs = build_costs(scenario, sys_, table)
        result = simulate(scenario, sys_, policy, costs=costs)
        check_invariants(result, scenario, costs, 700.0)
        assert (result.frames.status == "on_time").any()


def _costmodel_ready() -> bool:
    try:
        import costmodel.table  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _costmodel_ready(), reason="costmodel.table has not landed")
@pytest.mark.parametrize("policy", RESEARCH)
def test_library_scenario_with_own_costs(policy):
    scenario = scenario_lib.load("vr_gaming")
    result = simulate(scenario, "xrbench-4k-J", policy=policy)
    from hardware_db import library

    costs = build_costs(scenario, library.get_system("xrbench-4k-J"), None)
    check_invariants(result, scenario, costs, 700.0)


@pytest.mark.parametrize(
    "name, params",
    [
        ("herald", {"switch_penalty": -1.0}),
        ("herald", {"sweeps": 0}),
        ("herald", {"max_utilisation": 1.0}),
        ("herald", {"block_fraction": 0.0}),
        ("prema", {"block_fraction": -0.5}),
        ("prema", {"threshold": float("nan")}),
        ("prema", {"priorities": {"M0": 0.0}}),
        ("planaria", {"lease_fraction": 0.0}),
        ("planaria", {"max_urgency": -1.0}),
        ("veltair", {"granularities": ()}),
        ("veltair", {"granularities": (0.25, 0.5), "thresholds": (1.0,)}),
        ("veltair", {"granularities": (1.0, 0.5), "thresholds": (1.0, 2.0)}),
        ("veltair", {"granularities": (1.0, 0.5, 0.25), "thresholds": (2.0, 1.0)}),
    ],
)
def test_bad_parameters_are_one_line_errors(name, params):
    with pytest.raises(RtmmError) as err:
        policies.get(name, **params)
    assert "\n" not in str(err.value) and name in str(err.value)


def test_prema_unknown_priority_model_is_rejected():
    costs = arrays({"M0": (np.full((2, 1), MS), np.ones((2, 1)))})
    with pytest.raises(RtmmError, match="priorities"):
        PREMA(priorities={"nope": 3.0}).reset(context(costs, [30.0]))


# --- Herald -----------------------------------------------------------------------------------
def test_assign_layers_is_exact_and_switch_penalty_merges_segments():
    cost = np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 2.0], [1.0, 1.5]])
    assert assign_layers(cost, 0.0).tolist() == [0, 1, 0, 0]
    # a switch costs more than the 1.0 saved on layer 1: stay on accelerator 0 throughout
    assert assign_layers(cost, 1.5).tolist() == [0, 0, 0, 0]
    assert segment_ends(np.array([0, 1, 1, 0])).tolist() == [1, 3, 3, 4]
    # brute force over all paths agrees with the DP on a random instance
    rng = np.random.default_rng(5)
    cost = rng.uniform(0, 1, size=(6, 3))
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 6, indexing="ij"), -1).reshape(-1, 6)
    totals = cost[np.arange(6), grid].sum(1) + 0.3 * (np.diff(grid, axis=1) != 0).sum(1)
    best = assign_layers(cost, 0.3)
    assert cost[np.arange(6), best].sum() + 0.3 * (np.diff(best) != 0).sum() == pytest.approx(
        totals.min()
    )


def test_herald_plan_balances_load_across_models():
    """Two identical heavy models on two identical accelerators end up on different ones."""
    lat = np.full((4, 2), 2 * MS)  # 8 ms per frame at 60 FPS: 48 % of an accelerator each
    en = np.ones((4, 2))
    costs = arrays({"M0": (lat, en), "M1": (lat.copy(), en.copy())})
    policy = Herald(switch_penalty=1.0)
    policy.reset(context(costs, [60.0, 60.0]))
    a0, a1 = policy.assignment(0), policy.assignment(1)
    assert len(set(a0)) == 1 and len(set(a1)) == 1 and a0[0] != a1[0]


def test_herald_plan_follows_per_layer_edp_when_lightly_loaded():
    lat = np.array([[1, 3], [3, 1], [1, 3]]) * 10_000
    en = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    costs = arrays({"M0": (lat, en)})
    free = Herald(switch_penalty=0.0)
    free.reset(context(costs, [10.0]))
    assert free.assignment(0).tolist() == [0, 1, 0]
    sticky = Herald(switch_penalty=5.0)
    sticky.reset(context(costs, [10.0]))
    assert sticky.assignment(0).tolist() == [0, 0, 0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_herald_runs_every_layer_on_its_assigned_accelerator(seed):
    scenario, sys_, costs = random_workload(seed)
    policy = Herald(switch_penalty=0.0)  # many segments: blocks are cut at every switch
    result = simulate(scenario, sys_, policy, costs=costs, horizon_ms=250.0, seed=seed)
    check_invariants(result, scenario, costs, 250.0)
    ids = [m.model_id for m in scenario.models]
    for row in result.timeline.itertuples():
        path = policy.assignment(ids.index(row.model))
        assert (path[row.first_layer : row.first_layer + row.n_layers] == row.accelerator).all()
        # a block is the whole run of consecutive layers bound to that accelerator
        end = row.first_layer + row.n_layers
        assert end == len(path) or path[end] != row.accelerator


def test_herald_serves_its_accelerator_in_deadline_order():
    lat = np.full((2, 2), MS)
    en = np.array([[1.0, 100.0], [1.0, 100.0]])  # accelerator 1 wastes energy: both bound to 0
    costs = arrays({"M0": (lat, en), "M1": (lat.copy(), en.copy())})
    ctx = context(costs, [30.0, 30.0])
    policy = Herald()
    policy.reset(ctx)
    assert policy.assignment(0).tolist() == policy.assignment(1).tolist() == [0, 0]
    late = job(costs, 0, 0, 33.3, 0.0, 30.0)
    early = job(costs, 1, 0, 33.3, 1.0, 20.0)
    decisions = policy.decide(state(ctx, 1.0, [late, early], (0, 1)))
    assert decisions == [Dispatch(early, 0, 2)]  # accelerator 1 stays idle: nothing bound to it


# --- PREMA ------------------------------------------------------------------------------------
def overtake_workload():
    """One accelerator; a long low-rate model L and a short high-rate model H."""
    lat_l = np.full((10, 1), 4 * MS)  # 40 ms, low priority (period 200 ms)
    lat_h = np.full((1, 1), 5 * MS)  # 5 ms, high priority (period 20 ms)
    costs = arrays({"L": (lat_l, np.ones((10, 1))), "H": (lat_h, np.ones((1, 1)))})
    return Scenario("overtake", (Model("L", 5.0), Model("H", 50.0))), system(1), costs


def test_prema_high_priority_job_overtakes_waiting_low_priority_job():
    scenario, sys_, costs = overtake_workload()
    # no hopeless drop: the point is the order in which the two policies serve H#1 and L#0
    run = dict(costs=costs, horizon_ms=200.0, mechanics=FrameMechanics(drop_delta=None))
    prema = simulate(scenario, sys_, "prema", **run)
    check_invariants(prema, scenario, costs, 200.0)
    fifo = simulate(scenario, sys_, policies.get("fcfs", block_fraction=0.25), **run)
    frames = {
        r: f.set_index(["model", "frame"]) for r, f in (("p", prema.frames), ("f", fifo.frames))
    }
    l_done = frames["p"].loc[("L", 0), "completion_ms"]
    # H#1 (released at 20 ms) overtakes L#0, which was ready since 0 ms and not finished
    assert frames["p"].loc[("H", 1), "first_dispatch_ms"] < l_done
    assert frames["p"].loc[("L", 0), "num_blocks"] > 1
    assert (prema.frames[prema.frames.model == "H"].status == "on_time").all()
    # FIFO with the same block size keeps serving L#0 and H#1 misses its deadline
    assert (
        frames["f"].loc[("H", 1), "first_dispatch_ms"] >= frames["f"].loc[("L", 0), "completion_ms"]
    )
    assert frames["f"].loc[("H", 1), "status"] == "late"


def test_prema_tokens_and_threshold_rule():
    lat_h = np.full((1, 1), 5 * MS)  # isolated 5 ms, priority 9 (shortest period)
    lat_l = np.full((1, 1), 1 * MS)  # isolated 1 ms, priority 1 (period 10x longer)
    costs = arrays({"H": (lat_h, np.ones((1, 1))), "L": (lat_l, np.ones((1, 1)))})
    ctx = context(costs, [100.0, 10.0])
    policy = PREMA()
    policy.reset(ctx)
    h = job(costs, 0, 3, 10.0, 30.0, 40.0)
    low = job(costs, 1, 0, 100.0, 20.0, 100.0)
    # at 30 ms: L waited 10 ms / 1 ms x priority 1 = 10 tokens >= threshold 9; H has 0 -> L runs
    decisions = policy.decide(state(ctx, 30.0, [h, low], (0,)))
    assert policy.tokens[low] == pytest.approx(10.0)
    assert policy.tokens[h] == pytest.approx(0.0)
    assert decisions == [Dispatch(low, 0, 1)]
    # L waited only 5 ms (5 tokens) and H 3 ms (9 x 3 / 5 = 5.4): nobody reaches the threshold,
    # so the richest job runs
    policy.reset(ctx)
    h2 = job(costs, 0, 3, 10.0, 27.0, 40.0)
    low2 = job(costs, 1, 0, 100.0, 25.0, 100.0)
    decisions = policy.decide(state(ctx, 30.0, [low2, h2], (0,)))
    assert policy.tokens[h2] == pytest.approx(5.4) and policy.tokens[low2] == pytest.approx(5.0)
    assert decisions == [Dispatch(h2, 0, 1)]


def test_prema_shortest_predicted_job_among_candidates():
    long_ = np.full((4, 1), 2 * MS)
    short = np.full((1, 1), 2 * MS)
    costs = arrays({"A": (long_, np.ones((4, 1))), "B": (short, np.ones((1, 1)))})
    ctx = context(costs, [50.0, 50.0])  # same priority tier
    policy = PREMA(block_fraction=None)
    policy.reset(ctx)
    a = job(costs, 0, 0, 20.0, 0.0, 20.0)
    b = job(costs, 1, 0, 20.0, 0.0, 20.0)
    # nobody has waited yet (0 tokens each): all are candidates and the shortest job runs first
    decisions = policy.decide(state(ctx, 0.0, [a, b], (0,)))
    assert decisions == [Dispatch(b, 0, 1)]


# --- Planaria ---------------------------------------------------------------------------------
def test_water_fill_shares():
    assert water_fill(np.array([5.0, 1.0, 1.0]), 2).tolist() == [1.0, 0.5, 0.5]
    assert water_fill(np.array([1.0, 1.0]), 3).tolist() == [1.0, 1.0]
    assert water_fill(np.array([1.0, 3.0]), 1).tolist() == [0.25, 0.75]
    assert water_fill(np.array([2.0, 0.0]), 2).tolist() == [1.0, 1.0]
    assert water_fill(np.array([0.0, 0.0]), 1).tolist() == [0.5, 0.5]


def test_planaria_most_urgent_job_gets_its_fastest_accelerator():
    lat = np.tile(np.array([[1, 3]]) * MS, (10, 1))  # accelerator 0 is 3x faster for everyone
    costs = arrays({"A": (lat[:1], np.ones((1, 2))), "B": (lat, np.ones((10, 2)))})
    ctx = context(costs, [50.0, 25.0])
    policy = Planaria()
    policy.reset(ctx)
    a = job(costs, 0, 0, 20.0, 0.0, 15.0)  # earlier deadline, 1 ms of work: urgency 1/15
    b = job(costs, 1, 0, 40.0, 0.0, 30.0)  # later deadline, 10 ms of work: urgency 1/3
    decisions = policy.decide(state(ctx, 0.0, [a, b], (0, 1)))
    assert [(d.job, d.accelerator) for d in decisions] == [(b, 0), (a, 1)]
    edf = policies.get("edf")
    edf.reset(ctx)
    assert edf.decide(state(ctx, 0.0, [a, b], (0, 1)))[0] == Dispatch(a, 0, 1)


def test_planaria_less_urgent_jobs_get_shorter_leases():
    lat = np.full((40, 1), MS // 2)
    costs = arrays({"A": (lat, np.ones((40, 1))), "B": (lat.copy(), np.ones((40, 1)))})
    ctx = context(costs, [25.0, 25.0])  # shortest period 40 ms; lease 0.5 x 40 = 20 ms
    policy = Planaria()
    policy.reset(ctx)
    urgent = job(costs, 0, 0, 40.0, 0.0, 25.0)  # urgency 20 / 25
    relaxed = job(costs, 1, 0, 40.0, 0.0, 100.0)  # urgency 20 / 100
    shares = dict((id(j), s) for j, s in policy.partition(state(ctx, 0.0, [relaxed, urgent], (0,))))
    assert shares[id(urgent)] == pytest.approx(0.8) and shares[id(relaxed)] == pytest.approx(0.2)
    # alone on the accelerator: the urgent job's lease is 0.8 x 20 ms = 16 ms = 32 layers
    (d,) = policy.decide(state(ctx, 0.0, [relaxed, urgent], (0,)))
    assert d.job is urgent and d.n_layers == 32
    # the relaxed job, alone, gets the whole accelerator: share 1, a full 20 ms lease
    (d,) = policy.decide(state(ctx, 0.0, [relaxed], (0,)))
    assert d.n_layers == 40


# --- Veltair ----------------------------------------------------------------------------------
def test_veltair_block_size_shrinks_with_contention():
    lat = np.full((64, 4), MS)  # 1 ms layers; shortest period 16 ms
    costs = arrays({"M": (lat, np.ones((64, 4)))})
    ctx = context(costs, [62.5])
    policy = Veltair()
    policy.reset(ctx)
    sizes = []
    for num_ready in (1, 6, 10, 16):
        jobs = [job(costs, 0, f, 16.0, 0.0, 16.0 + f) for f in range(num_ready)]
        st = state(ctx, 0.0, jobs, (0, 1, 2, 3))
        decisions = policy.decide(st)
        assert decisions[0].job is jobs[0]  # least slack first (earliest deadline, same work)
        sizes.append(decisions[0].n_layers)
    # contention 0.25, 1.5, 2.5, 4 -> fractions 1, 1/2, 1/4, 1/8 of 16 ms
    assert sizes == [16, 8, 4, 2]


def test_veltair_orders_by_least_slack():
    short = np.full((1, 1), MS)
    long_ = np.full((10, 1), MS)
    costs = arrays({"S": (short, np.ones((1, 1))), "L": (long_, np.ones((10, 1)))})
    ctx = context(costs, [50.0, 50.0])
    policy = Veltair()
    policy.reset(ctx)
    s = job(costs, 0, 0, 20.0, 0.0, 12.0)  # laxity 11 ms
    l_ = job(costs, 1, 0, 20.0, 0.0, 15.0)  # laxity 5 ms despite the later deadline
    (d,) = policy.decide(state(ctx, 0.0, [s, l_], (0,)))
    assert d.job is l_


def test_veltair_uses_finer_blocks_in_a_busier_run():
    """Same models; more concurrent models per accelerator -> smaller blocks on average."""
    lat = np.full((40, 1), MS // 4)
    en = np.ones((40, 1))
    quiet = arrays({"M0": (lat, en)})
    busy = arrays({f"M{i}": (lat.copy(), en.copy()) for i in range(4)})
    runs = []
    for costs in (quiet, busy):
        ids = [m.model_id for m in costs.models]
        scenario = Scenario("s", tuple(Model(i, 30.0) for i in ids))
        result = simulate(scenario, system(1), "veltair", costs=costs, horizon_ms=200.0)
        check_invariants(result, scenario, costs, 200.0)
        runs.append(result.timeline.n_layers.mean())
    assert runs[1] < runs[0]
