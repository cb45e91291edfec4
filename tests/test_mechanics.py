"""The engine's frame mechanics (placement, migration, fission) and the one UXCost: properties."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from test_scheduler_properties import Acc, Model, Scenario, System, workloads

from scheduler import simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.mechanics import FrameMechanics, Partition
from scheduler.metrics import V_FLOOR, uxcost_terms
from scheduler.policies.base import Dispatch, Drop, Policy

MS = 1_000_000  # cycles per ms at 1 GHz


@dataclass(frozen=True)
class Energy:
    dram_pj: float


@dataclass(frozen=True)
class AccE:
    name: str
    energy: Energy
    clock_hz: float = 1e9


@dataclass(frozen=True)
class SysBW:
    name: str
    accelerators: tuple
    offchip_bw_words_per_cycle: int


def _costs(models: dict, num_acc: int, inputs: float | None = None) -> CostArrays:
    out = []
    for name, (lat, en) in models.items():
        lat = np.asarray(lat)
        words = None if inputs is None else np.full(lat.shape[0], inputs)
        out.append(ModelCosts(name, (VariantCosts(name, lat, np.asarray(en), 1.0, None, words),)))
    return CostArrays(tuple(out), tuple(f"a{k}" for k in range(num_acc)), np.full(num_acc, 1e9))


# --- placement ----------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["fcfs", "edf", "llf", "latency_greedy", "prema", "sdrm3"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_with_drop_and_placement_no_frame_completes_late(policy, workload):
    """Placement admits a block only if the job can still finish after it, and the drop removes
    jobs that can no longer finish: without contention nothing can end late, under any policy —
    except a cascade parent kept (late) because its child can still meet its own deadline."""
    scenario, system, costs, horizon, seed, jitter = workload
    fair = FrameMechanics(drop_delta=1.0, feasible_placement=True)
    r = simulate(
        scenario, system, policy, costs=costs, horizon_ms=horizon, seed=seed, jitter_ms=jitter,
        mechanics=fair,
    )  # fmt: skip
    parents = {m.parent for m in scenario.models if m.parent is not None}
    late = r.frames[r.frames.status == "late"]
    assert late.model.isin(parents).all()


def test_placement_holds_a_job_back_from_an_accelerator_where_it_would_miss():
    # M: 6 ms on a0, 30 ms on a1, period 20 ms. A policy that always picks a1 gets held back.
    class Slow(Policy):
        name = "slow"

        def decide(self, state):
            return [Dispatch(j, max(state.idle), j.remaining_layers) for j in state.ready[:1]]

    scenario = Scenario("s", (Model("M", 50.0),))
    costs = _costs({"M": ([[6 * MS, 30 * MS]], [[1.0, 1.0]])}, 2)
    sysm = System("s", (Acc("a0"), Acc("a1")))
    on = FrameMechanics(feasible_placement=True)
    r = simulate(scenario, sysm, Slow(), costs=costs, horizon_ms=100.0, mechanics=on)
    # held back (the policy insists on a1), the frames wait and are dropped when hopeless
    assert len(r.timeline) == 0 and (r.frames.status == "dropped").all()
    off = simulate(scenario, sysm, Slow(), costs=costs, horizon_ms=100.0)
    assert 1 in set(off.timeline.accelerator) and (off.frames.status == "late").any()


# --- migration ----------------------------------------------------------------------------------


class Alternate(Policy):
    """Each block of one layer on the other accelerator than the previous one."""

    name = "alternate"

    def decide(self, state):
        out = []
        for j in state.ready:
            want = 0 if j.last_accelerator != 0 else 1
            if want in state.idle:
                out.append(Dispatch(j, want, 1))
        return out


def test_migration_charges_latency_at_offchip_bandwidth_and_dram_energy():
    scenario = Scenario("s", (Model("M", 10.0),))
    costs = _costs({"M": ([[MS, MS]] * 3, [[1.0, 1.0]] * 3)}, 2, inputs=128_000.0)
    sysm = SysBW("s", (AccE("a0", Energy(10.0)), AccE("a1", Energy(30.0))), 128)
    r = simulate(scenario, sysm, Alternate(), costs=costs, horizon_ms=100.0)
    tl = r.timeline.sort_values("block")
    span = (tl.completion_ms - tl.dispatch_ms).to_numpy()
    # 128000 words / 128 words per cycle = 1000 cycles = 1 us extra on blocks 2 and 3
    assert span == pytest.approx([1.0, 1.001, 1.001])
    # energy: 3 layers x 1 nJ + 2 moves x 128000 words x (10 + 30) pJ
    assert r.frames.energy_nj.iloc[0] == pytest.approx(3.0 + 2 * 128_000 * 40.0 / 1e3)
    free = simulate(
        scenario, sysm, Alternate(), costs=costs, horizon_ms=100.0,
        mechanics=FrameMechanics(migration=False),
    )  # fmt: skip
    assert free.frames.energy_nj.iloc[0] == pytest.approx(3.0)


# --- fission ------------------------------------------------------------------------------------


def test_partition_never_runs_an_array_and_its_sub_arrays_together():
    # units: 0 = whole array, 1 and 2 = its halves (twice as slow)
    scenario = Scenario("s", tuple(Model(n, 40.0) for n in ("A", "B", "C")))
    lat = [[2 * MS, 4 * MS, 4 * MS]] * 3
    costs = _costs({n: (lat, [[1.0] * 3] * 3) for n in ("A", "B", "C")}, 3)
    part = Partition((0, 0, 0), (False, True, True), reconfig_cycles=500.0)
    sysm = System("s", tuple(Acc(f"u{k}") for k in range(3)))
    r = simulate(
        scenario, sysm, "planaria", costs=costs, horizon_ms=500.0, partition=part, seed=1,
        jitter_ms=3.0,
    )  # fmt: skip
    tl = r.timeline
    whole = tl[tl.accelerator == 0]
    halves = tl[tl.accelerator > 0]
    assert len(halves) > 0
    for w in whole.itertuples():
        overlap = (halves.dispatch_ms < w.completion_ms) & (halves.completion_ms > w.dispatch_ms)
        assert not overlap.any()
    for k in (1, 2):
        mine = tl[tl.accelerator == k].sort_values("dispatch_ms")
        assert (mine.dispatch_ms.to_numpy()[1:] >= mine.completion_ms.to_numpy()[:-1] - 1e-9).all()


# --- UXCost ---------------------------------------------------------------------------------------


class DropAll(Policy):
    name = "drop_all"

    def decide(self, state):
        return [Drop(j) for j in state.ready]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_dropping_everything_is_the_worst_uxcost(workload):
    scenario, system, costs, horizon, seed, jitter = workload
    kw = dict(costs=costs, horizon_ms=horizon, seed=seed, jitter_ms=jitter)
    nothing = simulate(scenario, system, DropAll(), **kw).summary().iloc[-1]
    if nothing["released"] == 0:
        return
    assert nothing["v"] == pytest.approx(1.0) and nothing["e_norm"] >= 1.0
    for policy in ("fcfs", "edf", "sdrm3_static"):
        run = simulate(scenario, system, policy, **kw).summary().iloc[-1]
        assert run["uxcost"] <= nothing["uxcost"] + 1e-12


def test_uxcost_floor_does_not_depend_on_the_horizon_and_violations_always_count():
    # a perfect run ranks by energy only, whatever its length
    assert uxcost_terms(120.0, 100.0, 0.0, np.zeros(2), np.array([10, 10]))[0] == pytest.approx(
        1.2 * V_FLOOR
    )
    assert uxcost_terms(1200.0, 1000.0, 0.0, np.zeros(2), np.array([100, 100]))[0] == (
        pytest.approx(1.2 * V_FLOOR)
    )
    # one violation in 1000 frames still raises UXCost (no floor swallowing it)
    ok = uxcost_terms(100.0, 100.0, 0.0, np.zeros(1), np.array([1000]))[0]
    one = uxcost_terms(100.0, 100.0, 0.0, np.ones(1), np.array([1000]))[0]
    assert one > ok
    # a frame dropped before running is charged its undone energy: not cheaper than running it
    ran = uxcost_terms(100.0, 100.0, 0.0, np.zeros(1), np.array([1]))[0]
    dropped = uxcost_terms(0.0, 100.0, 100.0, np.ones(1), np.array([1]))[0]
    assert dropped > ran


def test_a_sub_network_saves_no_energy_in_e_norm_and_its_accuracy_loss_counts():
    scenario = Scenario("s", (Model("M", 20.0),))
    big, small = np.full((2, 1), 2 * MS), np.full((2, 1), MS)
    costs = CostArrays(
        (
            ModelCosts(
                "M",
                (VariantCosts("M", big, big / 1e3), VariantCosts("M@s", small, small / 1e3, 0.9)),
            ),
        ),
        ("a0",),
        np.full(1, 1e9),
    )

    class Pick(Policy):
        name = "pick"

        def __init__(self, variant):
            self.variant = variant

        def select_variant(self, job, state):
            return self.variant

        def decide(self, state):
            return [Dispatch(j, state.idle[0], j.remaining_layers) for j in state.ready[:1]]

    sysm = System("s", (Acc("a0"),))
    full = simulate(scenario, sysm, Pick(0), costs=costs, horizon_ms=200.0).summary().iloc[-1]
    sub = simulate(scenario, sysm, Pick(1), costs=costs, horizon_ms=200.0).summary().iloc[-1]
    assert full["e_norm"] == pytest.approx(1.0) and sub["e_norm"] == pytest.approx(1.0)
    assert sub["v"] == pytest.approx(0.1) and sub["uxcost"] > full["uxcost"]
