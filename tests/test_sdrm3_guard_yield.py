"""SDRM3's score-aware starvation guard (``guard_mode``, :func:`~.sdrm3_guard.displaced`)."""

from __future__ import annotations

import numpy as np
import pytest
from test_mechanics import MS, _costs
from test_scheduler_properties import Acc, Model, Scenario, System
from test_sdrm3_mechanisms import _job, _setup, _variant

from rtmm.errors import SimulationError
from scheduler import simulate
from scheduler.mechanics import FrameMechanics
from scheduler.policies.sdrm3 import SDRM3
from scheduler.policies.sdrm3_guard import displaced


def _demand(deadlines, work, free):
    return np.array(deadlines, float), np.array(work, float), None, None, np.array(free, float)


def test_displaced_compares_with_the_job_left_out_or_in_deadline_order():
    # one accelerator; item 0 due at 10 (4 ms), the starving job (item 1) due at 20 with 18 ms:
    # in deadline order the demand already exceeds the capacity at 20; a 2 ms block of it now
    # leaves item 0 room, but without the job nothing would exceed it
    d = _demand([10.0, 20.0], [4.0, 18.0], [0.0])
    args = (1, np.array([2.0]), np.array([0]), np.array([16.0]))
    assert displaced(d, *args, against="yield").tolist() == [1]
    assert displaced(d, *args, against="order").tolist() == [0]
    # a 7 ms block now makes item 0 (4 ms by 10) exceed the capacity even in the order test
    big = (1, np.array([7.0]), np.array([0]), np.array([11.0]))
    assert displaced(d, *big, against="order").tolist() == [1]
    assert displaced(d, *big, against="yield").tolist() == [2]


def _starving_b(mode, on_time=0, spent=0):
    # A (model 0): 8 ms, due at 10 ms; B (model 1, starving): 8 ms, due at 20 ms. a0 runs until
    # 9 ms, a1 is idle: B first on a1 would leave A 3 ms of capacity by its deadline.
    a = _variant("A", [[8 * MS, 8 * MS]], [[1.0, 1.0]])
    b = _variant("B", [[8 * MS, 8 * MS]], [[1.0, 1.0]])
    pol = SDRM3(tuner=False, defer=False, guard=2, guard_mode=mode)
    _, state = _setup([a, b], [10.0, 20.0], policy=pol,
                      running=[_job(1, b, 20.0, frame=5), None], busy=[9.0, 0.0])  # fmt: skip
    state.metrics.dropped[:] = [0, 3]
    state.metrics.lost_streak[:] = [0, 3]
    state.metrics.on_time[:] = [0, on_time]
    if mode == "budget":
        pol.guard_spent[1] = spent
    (d,) = pol.decide(state)
    return d.job.model, None if pol.guard_spent is None else int(pol.guard_spent[1])


def test_yielding_guard_serves_a_starving_model_only_if_no_one_is_displaced():
    assert _starving_b("first")[0] == 1
    assert _starving_b("yield")[0] == 0
    assert _starving_b("order")[0] == 0


def test_budget_guard_lets_a_model_displace_what_its_on_time_frames_allow():
    # B first on a1 makes two deadlines' demand exceed the capacity (A's, and the one at 20 ms)
    assert _starving_b("budget") == (0, 0)  # budget 0 + 1 on-time frames
    assert _starving_b("budget", on_time=1) == (1, 2)  # budget 2, charged for the pair taken
    assert _starving_b("budget", on_time=1, spent=1) == (0, 1)  # one already spent


def test_only_the_budget_guard_keeps_state_of_its_own():
    # the other modes decide from the engine's counters alone: no budget is kept or charged
    for mode in ("first", "yield", "order", "trade"):
        assert _starving_b(mode, on_time=1)[1] is None


def test_engine_run_the_yielding_guard_leaves_the_other_models_frames_alone():
    # one accelerator, two identical models of 6 ms per 10 ms: only one frame per period fits,
    # so serving B's frames costs A as many
    scenario = Scenario("s", (Model("A", 100.0), Model("B", 100.0)))
    costs = _costs({"A": ([[6 * MS]], [[1.0]]), "B": ([[6 * MS]], [[1.0]])}, 1)
    system = System("s", (Acc("a0"),))
    done = {}
    for guard, mode in ((None, "first"), (2, "first"), (2, "yield")):
        pol = SDRM3(tuner=False, guard=guard, guard_mode=mode, service_plan=False)
        r = simulate(scenario, system, pol, costs=costs, horizon_ms=200.0,
                     mechanics=FrameMechanics(feasible_placement=True))  # fmt: skip
        done[guard, mode] = r.frames[r.frames.status == "on_time"].groupby("model").size()
    assert done[2, "first"]["A"] < done[None, "first"]["A"]
    assert done[2, "yield"]["A"] == done[None, "first"]["A"]


def test_guard_mode_is_checked():
    with pytest.raises(SimulationError, match="guard_mode"):
        SDRM3(guard_mode="always")
    assert SDRM3(guard_mode="yield").guard_mode == "yield"
