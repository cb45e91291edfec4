"""The contention-aware hopeless-drop test (``FrameMechanics(contention_drop=True)``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from test_scheduler_properties import Acc, Model, Scenario, workloads

from scheduler import simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.mechanics import FrameMechanics, MechanicsRuntime
from scheduler.policies.base import Dispatch, Policy
from scheduler.state import Job

MS = 1_000_000  # cycles per ms at 1 GHz
BW = 100.0  # words per cycle


@dataclass(frozen=True)
class SysBW:
    name: str
    accelerators: tuple
    offchip_bw_words_per_cycle: float


def _variant(name: str, lat_ms: list, words_ms: list) -> VariantCosts:
    """One layer; latency and off-chip words (as ms alone at ``BW``) per accelerator."""
    lat = np.array([lat_ms]) * MS
    words = np.array([words_ms]) * MS * BW
    return VariantCosts(name, lat, np.ones_like(lat, dtype=float), 1.0, words)


class Pinned(Policy):
    """X runs on a0, Y on a1, each as one block, as soon as its accelerator is idle."""

    name = "pinned"

    def decide(self, state):
        out = []
        for j in state.ready:
            a = 0 if j.model_id == "X" else 1
            if a in state.idle and all(d.accelerator != a for d in out):
                out.append(Dispatch(j, a, j.remaining_layers))
        return out


def _case():
    """X: 10 ms alone on a0, 8 ms of off-chip words at full bandwidth (16 ms when a1 is busy),
    period 15 ms. Y: 90 ms on a1, no off-chip words, period 100 ms: a1 is busy from 0 to 90."""
    costs = CostArrays(
        (
            ModelCosts("X", (_variant("X", [10, 1000], [8, 8]),)),
            ModelCosts("Y", (_variant("Y", [1000, 90], [0, 0]),)),
        ),
        ("a0", "a1"),
        np.full(2, 1e9),
    )
    scenario = Scenario("s", (Model("X", 1000 / 15), Model("Y", 10.0)))
    system = SysBW("s", (Acc("a0"), Acc("a1")), BW)
    return costs, scenario, system


def _run(contention_drop: bool, contention: bool = True):
    costs, scenario, system = _case()
    mech = FrameMechanics(contention_drop=contention_drop)
    return simulate(
        scenario, system, Pinned(), costs=costs, horizon_ms=100.0, mechanics=mech,
        offchip_contention=contention,
    )  # fmt: skip


def test_contention_aware_drop_drops_a_frame_the_best_case_keeps_running_late():
    off = _run(False).frames.set_index(["model", "frame"]).status
    on = _run(True).frames.set_index(["model", "frame"]).status
    # X's frame 1 (released at 15 ms, deadline 30 ms): 10 ms best case fits its slack, but with
    # a1 busy it gets half the bandwidth: 16 ms > 15 ms. The best-case test lets it run late.
    assert off[("X", 1)] == "late"
    assert on[("X", 1)] == "dropped"
    assert (off[off.index.get_level_values(0) == "X"] == "late").sum() >= 5
    assert (on[on.index.get_level_values(0) == "X"] == "late").sum() == 0


def test_label_names_the_contention_aware_drop():
    assert "contention-aware" in FrameMechanics(contention_drop=True).label()
    assert "contention-aware" not in FrameMechanics(contention_drop=False).label()
    assert "contention-aware" not in FrameMechanics(drop_delta=None, contention_drop=True).label()


def test_without_contention_the_estimate_is_the_best_case():
    off, on = _run(False, contention=False), _run(True, contention=False)
    pd.testing.assert_frame_equal(off.frames, on.frames)
    assert (on.frames.status != "dropped").all()


def test_estimate_is_the_engines_contention_rule_on_the_remaining_block():
    costs = CostArrays(
        (ModelCosts("X", (_variant("X", [10, 4, 50], [8, 3, 0]),)),),
        ("a0", "a1", "a2"),
        np.full(3, 1e9),
    )
    mech = MechanicsRuntime(
        FrameMechanics(contention_drop=True), None, costs, np.array([15.0]), [()], 100.0
    )
    job = Job(0, "X", 0, 15.0, 0.0, 15.0, None, True)
    job.costs = costs.models[0].full
    busy = [None, None, object()]
    mech.bind_contention(BW, busy, np.array([0.0, 0.0, 20.0]))
    est = mech.contended_remaining_ms(job, 0.0)
    # one accelerator busy: k = 2 everywhere; a2 (busy until 20 ms) adds the wait
    assert est[0] == pytest.approx(max(10.0, 8.0 * 2))
    assert est[1] == pytest.approx(max(4.0, 3.0 * 2))
    assert est[2] == pytest.approx(20.0 + 50.0)
    assert mech.drop_estimate_ms(job, 0.0) == pytest.approx(6.0)
    assert mech.best_remaining_ms(job) == pytest.approx(4.0)  # the bound is unchanged
    busy[2] = None
    assert mech.drop_estimate_ms(job, 0.0) == pytest.approx(4.0)
    assert mech.hopeless_at_ms(job, 0.0) == pytest.approx(15.0 - 4.0)


@pytest.mark.parametrize("policy", ["edf", "sdrm3_static"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_option_changes_nothing_without_contention(policy, workload):
    scenario, system, costs, horizon, seed, jitter = workload
    runs = [
        simulate(
            scenario, system, policy, costs=costs, horizon_ms=horizon, seed=seed,
            jitter_ms=jitter, mechanics=FrameMechanics(feasible_placement=True, contention_drop=cd),
        ).frames
        for cd in (False, True)
    ]  # fmt: skip
    pd.testing.assert_frame_equal(*runs)


def test_contention_aware_placement_holds_back_a_block_that_contention_makes_miss():
    # X's frames (10 ms alone, 16 ms while Y runs on a1) are placed on a0 by the best-case test
    # and end late; the contention-aware test charges the block its contended 16 ms > 15 ms.
    costs, scenario, system = _case()
    status = {}
    for cp in (False, True):
        mech = FrameMechanics(feasible_placement=True, contention_placement=cp)
        r = simulate(scenario, system, Pinned(), costs=costs, horizon_ms=100.0, mechanics=mech,
                     offchip_contention=True)  # fmt: skip
        status[cp] = r.frames.set_index(["model", "frame"]).status
    assert status[False][("X", 1)] == "late"
    assert status[True][("X", 1)] == "dropped"
    x_on = status[True][status[True].index.get_level_values(0) == "X"]
    assert (x_on != "late").all()
    assert status[True][("Y", 0)] == "on_time"
    assert (
        "contention-aware"
        in FrameMechanics(feasible_placement=True, contention_placement=True).label()
    )
