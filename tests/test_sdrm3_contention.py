"""SDRM3's contention hold (``contention_hold=True``, ``sdrm3_contention``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from test_mechanics_contention_drop import BW, MS, SysBW, _variant  # one two-array builder
from test_scheduler_properties import Acc, Model, Scenario, workloads

from rtmm.errors import SimulationError
from scheduler import simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.mechanics import FrameMechanics, MechanicsRuntime, Migration
from scheduler.policies.sdrm3 import SDRM3Static
from scheduler.policies.sdrm3_contention import held
from scheduler.state import Job


def _case():
    """X: 10 ms alone on a0 with 8 ms of off-chip words at full bandwidth (16 ms while another
    accelerator is busy), period 15 ms. Y: 3 ms on a1, no off-chip words, period 5 ms: Y is the
    more urgent job, so it is dispatched first and X, dispatched right after it, gets half the
    bandwidth unless it waits the 3 ms until Y's block ends."""
    costs = CostArrays(
        (
            ModelCosts("X", (_variant("X", [10, 1000], [8, 8]),)),
            ModelCosts("Y", (_variant("Y", [1000, 3], [0, 0]),)),
        ),
        ("a0", "a1"),
        np.full(2, 1e9),
    )
    scenario = Scenario("s", (Model("X", 1000 / 15), Model("Y", 200.0)))
    system = SysBW("s", (Acc("a0"), Acc("a1")), BW)
    return costs, scenario, system


def _run(hold: bool, contention: bool = True):
    costs, scenario, system = _case()
    return simulate(
        scenario, system, SDRM3Static(contention_hold=hold), costs=costs, horizon_ms=90.0,
        mechanics=FrameMechanics(feasible_placement=True), offchip_contention=contention,
    )  # fmt: skip


def test_hold_waits_for_the_bandwidth_and_saves_the_frames_contention_made_late():
    off = _run(False).frames
    on = _run(True).frames
    x_off, x_on = off[off.model == "X"], on[on.model == "X"]
    assert len(x_on) == 6
    # dispatched next to Y: 16 ms > 15 ms (until the starvation guard puts X first)
    assert (x_off.status == "late").sum() >= 3
    assert (x_on.status == "on_time").all()  # waits 3 ms for Y's block, then 10 ms alone
    assert (on[on.model == "Y"].status == "on_time").all()
    assert (off[off.model == "Y"].status == "on_time").all()


def test_without_contention_the_hold_changes_nothing_here():
    pd.testing.assert_frame_equal(_run(False, False).frames, _run(True, False).frames)


def _runtime(costs, busy):
    mech = MechanicsRuntime(
        FrameMechanics(feasible_placement=True), None, costs, np.array([15.0]), [()], 100.0
    )
    mech.bind_contention(BW, busy, np.zeros(len(busy)))
    return mech


def test_held_is_the_engines_rule_at_the_share_the_block_gets():
    # two layers on a0: 4 ms with 5 ms of words, then 2 ms without words; deadline 15 ms
    lat = np.array([[4.0, 50.0], [2.0, 50.0]]) * MS
    words = np.array([[5.0, 0.0], [0.0, 0.0]]) * MS * BW
    costs = CostArrays(
        (ModelCosts("X", (VariantCosts("X", lat, np.ones_like(lat), 1.0, words),)),),
        ("a0", "a1"),
        np.full(2, 1e9),
    )
    job = Job(0, "X", 0, 15.0, 0.0, 15.0, None, True)
    job.costs = costs.models[0].full
    busy: list = [None, None]
    state = type("S", (), {"mechanics": _runtime(costs, busy), "now_ms": 0.0})()
    assert state.mechanics.block_ms(job, 0, 1, 1) == pytest.approx(5.0)
    assert state.mechanics.block_ms(job, 0, 1, 3) == pytest.approx(15.0)
    # first layer, then 2 ms: alone 7 ms; k = 2: 12 ms; k = 3: 17 ms > 15 ms
    assert not held(job, 0, 1, 1, state)
    assert not held(job, 0, 1, 2, state)
    assert held(job, 0, 1, 3, state)
    state.now_ms = 9.0  # 6 ms of slack left: hopeless at full bandwidth too, so never held
    assert not held(job, 0, 1, 3, state)
    state.now_ms = 0.0
    state.mechanics.offchip_bw = None  # no contention in the run: never held
    assert not held(job, 0, 1, 3, state)


def test_continue_need_is_the_placement_tests_time_and_the_memo_changes_no_hold():
    """``continue_need_ms`` is what ``can_continue`` compares with the slack, and ``held`` with a
    run memo of it decides as without (multi-layer jobs, migration, random shares and times)."""
    rng = np.random.default_rng(0)
    n_layers, n_acc = 6, 3
    lat = rng.integers(1, 5, size=(n_layers, n_acc)) * MS
    words = rng.uniform(0.0, 6.0, size=(n_layers, n_acc)) * MS * BW / 2
    inputs = rng.uniform(0.5, 3.0, size=n_layers) * MS * BW  # 0.5 to 3 ms per move
    v = VariantCosts("X", lat, np.ones(lat.shape), 1.0, words, inputs)
    costs = CostArrays((ModelCosts("X", (v,)),), ("a0", "a1", "a2"), np.full(n_acc, 1e9))
    migration = Migration(BW, np.array([1.0, 2.0, 3.0]))
    mech = MechanicsRuntime(
        FrameMechanics(feasible_placement=True), migration, costs, np.array([40.0]), [()], 100.0
    )
    mech.bind_contention(BW, [None] * n_acc, np.zeros(n_acc))
    memo: dict = {}
    outcomes, holds = set(), 0
    for _ in range(400):
        job = Job(0, "X", 0, 40.0, 0.0, 40.0, None, True)
        job.costs = v
        job.next_layer = int(rng.integers(0, n_layers))
        job.last_accelerator = int(rng.integers(-1, n_acc))
        acc, busy = int(rng.integers(0, n_acc)), int(rng.integers(1, 4))
        n = int(rng.integers(1, n_layers - job.next_layer + 1))
        need = mech.continue_need_ms(job, acc, n, busy)
        now = max(0.0, job.deadline_ms - need * float(rng.uniform(0.9, 1.1)))  # near the edge
        slack = job.deadline_ms - now
        expect = mech.can_continue(job, acc, n, now, busy=busy)
        assert expect == (mech.best_remaining_ms(job) > slack or need <= slack)
        outcomes.add(expect)
        state = type("S", (), {"mechanics": mech, "now_ms": now})()
        h = held(job, acc, n, busy, state)
        assert held(job, acc, n, busy, state, memo) == h
        holds += h
    assert outcomes == {True, False} and holds > 0  # both outcomes and some held pairs occur


def test_option_is_checked_and_copied():
    with pytest.raises(SimulationError, match="contention_hold"):
        SDRM3Static(contention_hold="yes")
    from scheduler.policies.sdrm3_options import static_options

    assert static_options(SDRM3Static(contention_hold=True))["contention_hold"] is True
    assert SDRM3Static().contention_hold is True  # the default since issues 12g/12h
    assert static_options(SDRM3Static(contention_hold=False))["contention_hold"] is False


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_option_changes_nothing_without_contention(workload):
    scenario, system, costs, horizon, seed, jitter = workload
    runs = [
        simulate(
            scenario, system, SDRM3Static(contention_hold=h), costs=costs, horizon_ms=horizon,
            seed=seed, jitter_ms=jitter, mechanics=FrameMechanics(feasible_placement=True),
        ).frames
        for h in (False, True)
    ]  # fmt: skip
    pd.testing.assert_frame_equal(*runs)
