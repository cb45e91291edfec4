"""The overload test shared by SDRM3's ``admission`` and the ``edf_admission`` baseline
(:mod:`scheduler.policies.overload`): its demand items, and that both policies feed it the same
numbers and shed the same jobs on the same state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from test_scheduler_properties import Model, Scenario
from test_sdrm3_memo import AccDram as _Acc  # an array with a DRAM energy (migration charged)

from scheduler import simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.decisions import RunContext
from scheduler.mechanics import FrameMechanics
from scheduler.policies.edf_admission import EDFAdmission
from scheduler.policies.overload import demand_items, free_from_ms, running_rest_ms, shed_jobs
from scheduler.policies.sdrm3 import SDRM3
from scheduler.state import Job, RunningMetrics, SchedulerState

MS = 1_000_000  # cycles per ms at 1 GHz


@dataclass(frozen=True)
class _System:
    """A system with an off-chip bandwidth, so that the engine charges migration."""

    name: str
    accelerators: tuple
    offchip_bw_words_per_cycle: float = 0.5


def _variant(name: str, lat_ms: list[list[float]]) -> VariantCosts:
    lat = (np.asarray(lat_ms) * MS).astype(np.int64)
    return VariantCosts(name, lat, np.ones(lat.shape), 1.0, input_words=np.full(len(lat), 200_000))


def _job(model: int, costs: VariantCosts, period_ms: float, *, frame: int = 0) -> Job:
    release = frame * period_ms
    j = Job(model, costs.name, frame, period_ms, release, release + period_ms, None, True)
    j.costs = costs
    return j


def test_demand_items_count_ready_running_and_expected_frames():
    # A (root, 10 ms) and its child C (p 0.5); B (root, 20 ms); 2 accelerators, a1 busy until 3 ms
    a = _variant("A", [[2.0, 4.0], [2.0, 1.0]])
    b = _variant("B", [[6.0, 5.0]])
    c = _variant("C", [[3.0, 3.0]])
    costs = CostArrays(tuple(ModelCosts(v.name, (v,)) for v in (a, b, c)), ("a0", "a1"),
                       np.full(2, 1e9))  # fmt: skip
    periods = np.array([10.0, 20.0, 10.0])
    started = _job(0, a, 10.0)
    started.next_layer = 1  # its first layer ran: not sheddable any more
    ready = [started, _job(1, b, 20.0)]
    run = _job(0, a, 10.0, frame=1)
    state = SchedulerState(
        1.0, ready, (0,), [None, run], costs, ("A", "B", "C"), periods, (None, None, 0),
        np.array([1.0, 1.0, 0.5]), RunningMetrics.zeros(3), busy_until_ms=np.array([0.0, 3.0]),
    )  # fmt: skip
    chain, loss, frame = [1.5, 0.0, 0.0], [1.0, 2.0, 3.0], [5.5, 5.0, 3.0]
    mpc = np.full(2, 1e-6)
    d, work, lost, can, free = demand_items(
        state, ready, lambda j: 7.0 * (j.model + 1), lambda j: running_rest_ms(j, mpc), chain,
        loss, frame, free_from_ms(state), 1000.0,
    )  # fmt: skip
    # ready jobs first, in order; then the running job (A's frame 1, due at 20 ms: its layers
    # from its next one on its fastest accelerator, 4 ms on a0 vs 5 on a1, plus cascade work);
    # then the roots' expected frames due within the longest period, by 21 ms: A's frame
    # released at 10 ms (due 20 ms); none of B (its next is due at 40 ms); C is a child
    assert d.tolist() == [10.0, 20.0, 20.0, 20.0]
    assert work.tolist() == [7.0 + 1.5, 14.0, 4.0 + 1.5, 5.5]
    assert lost.tolist() == [1.0, 2.0, 0.0, 1.0]
    assert can.tolist() == [False, True, False, True]
    assert free.tolist() == [1.0, 3.0]


def test_shed_jobs_returns_only_ready_jobs():
    jobs = [_job(0, _variant("A", [[9.0]]), 10.0)]
    # an expected future frame (item 1) is the cheapest to lose: nothing ready is shed
    items = (np.array([10.0, 10.0]), np.array([9.0, 9.0]), np.array([10.0, 1.0]),
             np.array([True, True]), np.zeros(1))  # fmt: skip
    assert shed_jobs(jobs, items) == []
    items = (items[0], items[1], np.array([1.0, 10.0]), items[3], items[4])
    assert shed_jobs(jobs, items) == jobs


class _Both(EDFAdmission):
    """EDFAdmission that, at every decision point, also asks an SDRM3 with ``admission=True``
    for its demand items and shed jobs on the same state, and records whether they are equal."""

    def __init__(self) -> None:
        super().__init__()
        self.sdrm3 = SDRM3(tuner=False, admission=True)
        self.points = self.shedding = 0
        self.differ: list[float] = []

    def reset(self, ctx: RunContext) -> None:
        super().reset(ctx)
        self.sdrm3.reset(ctx)

    def decide(self, state):
        jobs = list(state.ready)
        if jobs and state.idle:
            mine = self.demand(jobs, state)
            theirs = self.sdrm3._demand_items(jobs, state)
            same = all(np.array_equal(x, y) for x, y in zip(mine, theirs, strict=True))
            same &= shed_jobs(jobs, mine) == self.sdrm3._admission(jobs, state)
            self.points += 1
            self.shedding += bool(shed_jobs(jobs, mine))
            if not same:
                self.differ.append(state.now_ms)
        return super().decide(state)


@pytest.mark.parametrize("migration", [False, True])
def test_sdrm3_and_edf_admission_compute_the_same_items_and_shed_the_same_jobs(migration):
    # an overloaded cascade scenario on 2 accelerators (best-case load ~2.3 of 2; each frame fits
    # alone), with the engine's mechanics
    lat = {
        "A": [[4.0, 6.0]] * 2,
        "B": [[8.0, 7.0]] * 2,
        "C": [[3.0, 3.0]] * 2,
        "D": [[8.0, 9.0]] * 2,
    }
    costs = CostArrays(tuple(ModelCosts(m, (_variant(m, v),)) for m, v in lat.items()),
                       ("a0", "a1"), np.full(2, 1e9))  # fmt: skip
    models = (Model("A", 80.0), Model("B", 50.0), Model("C", 80.0, "A", 0.5), Model("D", 50.0))
    scenario = Scenario("s", models)
    policy = _Both()
    mech = FrameMechanics(drop_delta=1.0, feasible_placement=True, migration=migration)
    system = _System("sys", (_Acc("a0"), _Acc("a1")))  # migration: 200k words, 0.4 ms
    simulate(scenario, system, policy, costs=costs, horizon_ms=300.0, mechanics=mech)
    assert policy.points > 20 and policy.shedding > 0  # the comparison is not vacuous
    assert policy.differ == []
