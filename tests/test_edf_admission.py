"""The ``edf_admission`` fair baseline: EDF plus the overload shedding SDRM3's ``admission``
uses (:mod:`scheduler.policies.edf_admission`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_scheduler_properties import Acc, Model, Scenario, System

from dse.compare_points import default_policies
from scheduler import policies, simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.decisions import Dispatch, Drop, RunContext
from scheduler.mechanics import FrameMechanics
from scheduler.policies.edf import EDF
from scheduler.policies.edf_admission import EDFAdmission
from scheduler.state import Job, RunningMetrics, SchedulerState

MS = 1_000_000  # cycles per ms at 1 GHz
FAIR = FrameMechanics(drop_delta=1.0, feasible_placement=True, migration=False)


def _variant(name: str, lat_ms: list[list[float]]) -> VariantCosts:
    lat = (np.asarray(lat_ms) * MS).astype(np.int64)
    return VariantCosts(name, lat, np.ones(lat.shape), 1.0)


def _job(model: int, costs: VariantCosts, period: float, *, frame: int = 0, release: float = 0.0):
    j = Job(model, costs.name, frame, period, release, release + period, None, True)
    j.costs = costs
    return j


def _overload(first_started: bool):
    """The situation of SDRM3's admission test: a0 and a1 equal; A (10 ms period) and B (40 ms)
    both need 9 ms and are due at 10 ms, a running job holds a1 until 9 ms: only one of A, B can
    make it, and A's frame costs less (4x more of A's frames are released)."""
    a = _variant("A", [[4.5, 4.5], [4.5, 4.5]])
    b = _variant("B", [[9.0, 9.0]])
    costs = CostArrays((ModelCosts("A", (a,)), ModelCosts("B", (b,))), ("a0", "a1"),
                       np.full(2, 1e9))  # fmt: skip
    periods = np.array([10.0, 40.0])
    jobs = [_job(0, a, 10.0), _job(1, b, 40.0, release=-30.0)]
    if first_started:
        jobs[0].next_layer, jobs[0].last_accelerator = 1, 0  # preempted after its first layer
    run = _job(0, a, 10.0, frame=5)
    run.next_layer = 2  # its last block is running: nothing left after it
    ctx = RunContext(costs, ("A", "B"), periods, (None, None), np.ones(2), 1000.0, False,
                     np.random.default_rng(0))  # fmt: skip
    pol = EDFAdmission()
    pol.reset(ctx)
    state = SchedulerState(
        0.0, jobs, (0,), [None, run], costs, ctx.model_ids, periods, ctx.parents,
        ctx.probabilities, RunningMetrics.zeros(2), busy_until_ms=np.array([0.0, 9.0]),
    )  # fmt: skip
    return pol, state, jobs


def test_sheds_the_cheap_frame_under_overload_and_never_a_started_one():
    pol, state, jobs = _overload(first_started=False)
    decisions = pol.decide(state)
    assert [d.job for d in decisions if isinstance(d, Drop)] == [jobs[0]]
    assert [d.job for d in decisions if isinstance(d, Dispatch)] == [jobs[1]]
    # plain EDF on the same state drops nothing (it dispatches B, released first on equal deadlines)
    edf = EDF()
    edf.reset(pol.ctx)
    assert [(type(d), d.job) for d in edf.decide(state)] == [(Dispatch, jobs[1])]
    # A started (4.5 ms left): not sheddable; the demand due by 10 ms (13.5 ms) still exceeds the
    # capacity (11 ms), and B, the only candidate, is shed instead
    pol, state, jobs = _overload(first_started=True)
    decisions = pol.decide(state)
    assert [d.job for d in decisions if isinstance(d, Drop)] == [jobs[1]]


class _Recording(EDFAdmission):
    def __init__(self) -> None:
        super().__init__()
        self.dropped: list[Job] = []
        self.started_when_dropped: list[bool] = []

    def decide(self, state):
        out = list(super().decide(state))
        for d in out:
            if isinstance(d, Drop):
                self.dropped.append(d.job)
                self.started_when_dropped.append(d.job.started)
        return out


def _scenario_costs(scale: float):
    lat = {"A": [[4.0, 6.0]] * 2, "B": [[8.0, 7.0]] * 2, "C": [[3.0, 3.0]] * 2,
           "D": [[8.0, 9.0]] * 2}  # fmt: skip
    variants = [_variant(m, (np.asarray(v) * scale).tolist()) for m, v in lat.items()]
    costs = CostArrays(tuple(ModelCosts(v.name, (v,)) for v in variants), ("a0", "a1"),
                       np.full(2, 1e9))  # fmt: skip
    models = (Model("A", 80.0), Model("B", 50.0), Model("C", 80.0, "A", 0.5), Model("D", 50.0))
    return Scenario("s", models), System("sys", (Acc("a0"), Acc("a1"))), costs


def test_run_under_overload_sheds_only_unstarted_jobs():
    scenario, system, costs = _scenario_costs(1.0)  # best-case load ~2.3 of 2 accelerators
    pol = _Recording()
    result = simulate(scenario, system, pol, costs=costs, horizon_ms=300.0, mechanics=FAIR)
    assert len(pol.dropped) > 5
    assert not any(pol.started_when_dropped)
    assert result.policy == "edf_admission"


def test_equals_plain_edf_when_underloaded():
    scenario, system, costs = _scenario_costs(0.4)  # best-case load ~0.9 of 2 accelerators
    runs = {}
    for pol in (EDF(), _Recording()):
        r = simulate(scenario, system, pol, costs=costs, horizon_ms=300.0, mechanics=FAIR, seed=1)
        runs[pol.name] = r
    assert runs["edf_admission"].frames.status.eq("on_time").sum() > 40
    assert pol.dropped == []
    pd.testing.assert_frame_equal(runs["edf"].frames, runs["edf_admission"].frames)
    pd.testing.assert_frame_equal(runs["edf"].timeline, runs["edf_admission"].timeline)


def test_registered_as_a_fair_baseline():
    assert isinstance(policies.get("edf_admission"), EDFAdmission)
    pols = default_policies()
    assert "edf_admission" in pols
    assert pols.index("edf_admission") < pols.index("sdrm3")
