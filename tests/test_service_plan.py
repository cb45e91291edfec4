"""The long-run service plan (:mod:`scheduler.policies.service_plan`, issue 12u): the fluid
linear programme, the even shedder, SDRM3's option ``service_plan`` and the ``edf_plan``
baseline that gets the same plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dse.compare_eval import simulate_point
from dse.compare_points import Point, default_policies
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.policies.service_plan import PlanShedder, service_plan
from scheduler.state import Job

MS = 1_000_000  # cycles per ms at 1 GHz


def _costs(lat_ms: list[list[float]]) -> CostArrays:
    """One single-layer model per row, latency (ms) per accelerator."""
    models = []
    for i, row in enumerate(lat_ms):
        lat = (np.asarray([row]) * MS).astype(np.int64)
        v = VariantCosts(f"M{i}", lat, np.ones(lat.shape), 1.0)
        models.append(ModelCosts(v.name, (v,)))
    k = len(lat_ms[0])
    return CostArrays(tuple(models), tuple(f"a{i}" for i in range(k)), np.full(k, 1e9))


def _plan(lat_ms, periods, parents=None, probs=None) -> np.ndarray:
    costs = _costs(lat_ms)
    n = len(lat_ms)
    return service_plan(costs, np.full(costs.num_accelerators, 1e-6), periods,
                        parents or (None,) * n, probs or [1.0] * n)  # fmt: skip


def test_plan_serves_everything_when_the_fluid_load_fits():
    assert _plan([[4.0], [5.0]], [10.0, 20.0]) == pytest.approx([1.0, 1.0])


def test_plan_sheds_the_heavier_model_per_unit_of_value():
    # one array; A takes 0.4 of it, B 0.9: A in full, B gets the 0.6 left (share 2/3)
    assert _plan([[4.0], [18.0]], [10.0, 20.0]) == pytest.approx([1.0, 0.6 / 0.9])


def test_plan_is_fluid_over_accelerators():
    # B takes 0.9 of a0, or 1.8 of a1 (too slow there to finish a frame alone). A on a0 (0.4)
    # leaves 0.6 of a0 (2/3 of B) and all of a1 (1/1.8 of B): B is served in full
    assert _plan([[4.0, 4.0], [18.0, 36.0]], [10.0, 20.0]) == pytest.approx([1.0, 1.0])


def test_plan_leaves_out_a_model_no_accelerator_can_finish():
    # C's 30 ms never fits its 20 ms period: share 1 (not shed by the plan), no load counted
    assert _plan([[4.0], [30.0]], [10.0, 20.0]) == pytest.approx([1.0, 1.0])


def test_plan_serves_a_cascade_child_at_most_as_often_as_its_parent():
    # parent P (0.2 of the array), child C (p = 1, 0.5), heavy H (0.9): a child alone would be
    # worth serving before H, but never without its parent's frame
    share = _plan([[2.0], [5.0], [9.0]], [10.0, 10.0, 10.0], (None, 0, None), [1.0, 1.0, 1.0])
    assert share[1] <= share[0] + 1e-9
    assert share[0] == pytest.approx(1.0) and share[1] == pytest.approx(1.0)
    assert share[2] == pytest.approx(0.3 / 0.9)


@settings(max_examples=60, deadline=None)
@given(
    lat=st.lists(st.lists(st.floats(0.5, 30.0), min_size=2, max_size=2), min_size=1, max_size=4),
    periods=st.lists(st.sampled_from([10.0, 20.0, 33.3, 100.0]), min_size=4, max_size=4),
)
def test_plan_shares_are_feasible_and_full_when_underloaded(lat, periods):
    """Shares lie in [0, 1], the busy time they imply fits the capacity (two arrays), and a
    scenario whose models fit on one array together is served in full."""
    periods = periods[: len(lat)]
    share = _plan(lat, periods)
    assert np.all(share >= -1e-9) and np.all(share <= 1 + 1e-9)
    lat_a, per = np.asarray(lat), np.asarray(periods)
    planned = (lat_a <= per[:, None]).any(axis=1)
    busy = (share * planned * lat_a.min(axis=1) / per).sum()
    assert busy <= 2.0 + 1e-6
    if (lat_a.min(axis=1) / per).sum() <= 1.0:
        assert share == pytest.approx(np.ones(len(lat)))


def _job(model: int, frame: int) -> Job:
    return Job(model, f"M{model}", frame, 10.0, 10.0 * frame, 10.0 * frame + 10.0, None, True)


def test_shedder_spreads_the_shed_frames_evenly_and_never_sheds_started_work():
    shedder = PlanShedder(np.array([1.0, 0.25]), (None, None))
    kept = []
    for f in range(8):
        jobs = [_job(0, f), _job(1, f)]
        shed = shedder.shed(jobs)
        assert jobs[0] not in shed  # a fully served model is never shed
        kept.append(jobs[1] not in shed)
        assert shedder.shed(jobs) == []  # judged once
    assert kept == [False, True, False, False, False, True, False, False]
    started = _job(1, 8)
    started.next_layer = 1
    assert shedder.shed([started]) == []


def test_shedder_is_inactive_when_the_plan_serves_everything():
    shedder = PlanShedder(np.ones(2), (None, None))
    assert not shedder.active and shedder.shed([_job(0, 0), _job(1, 0)]) == []


def _frames(policy: str, params: tuple = (), system: str = "xrbench-4k-J") -> pd.DataFrame:
    p = Point("social_interaction_a", system, policy, 0, 1000.0, "maestro", params)
    return simulate_point(p)[0].frames


def test_edf_plan_is_a_fair_baseline_and_edf_where_the_plan_serves_everything():
    assert "edf_plan" in default_policies()
    pd.testing.assert_frame_equal(
        _frames("edf", system="xrbench-8k-J"), _frames("edf_plan", system="xrbench-8k-J")
    )


@pytest.mark.parametrize("policy,params", [("edf_plan", ()), ("sdrm3_static",
                                           (("service_plan", True),))])  # fmt: skip
def test_the_plan_sheds_the_heavy_model_on_an_overloaded_cell(policy, params):
    """maestro 4K-J social_interaction_a (tuning set): the fluid plan serves DR (31 ms of the WS
    array per 33 ms) at about 60 % of its frames and the rest in full; with the plan, DR frames are
    shed at release (never started) and the other models lose no more frames than without it."""
    if policy == "edf_plan":
        without = _frames("edf")
    else:
        without = _frames("sdrm3_static", (("service_plan", False),))
    with_plan = _frames(policy, params)

    def lost(f: pd.DataFrame, model: str) -> int:
        return int(((f["model"] == model) & (f["status"] != "on_time")).sum())

    dr = with_plan[with_plan["model"] == "DR_RGBd_200"]
    shed = dr[(dr["status"] == "dropped") & dr["first_dispatch_ms"].isna()]
    assert len(shed) >= 0.3 * len(dr)
    others = ("ES_RITNet", "GE_FBNet_C", "HT_hand_graph_cnn_half")
    assert sum(lost(with_plan, m) for m in others) <= sum(lost(without, m) for m in others)


def test_plan_protect_expects_a_pinned_models_frames_at_the_plans_share():
    """With ``plan_protect`` (issue 12v), the expected frames of a pinned model in SDRM3's
    exclusive-work protection carry the plan's share of its work: on maestro 4K-J
    social_interaction_a DR is pinned to the WS array and the plan serves about 62 % of it."""
    from scheduler import simulate
    from scheduler.policies.sdrm3 import SDRM3Static

    seen: dict[bool, set] = {}

    class Watch(SDRM3Static):
        def _exclusive_work(self, state, pins=None):
            items, free, can = super()._exclusive_work(state, pins)
            m = state.model_ids.index("DR_RGBd_200")
            a = int(self.pinned[m])
            seen.setdefault(self.plan_protect, set()).update(
                round(w / self.full_ms[m][a], 6) for r, _, w in items[a] if r > state.now_ms
            )
            return items, free, can

    shares = {}
    for flag in (False, True):
        pol = Watch(plan_protect=flag)
        simulate("social_interaction_a", "xrbench-4k-J", pol, horizon_ms=300.0,
                 analysis="maestro")  # fmt: skip
        shares[flag] = float(pol._plan.share[pol.ctx.model_ids.index("DR_RGBd_200")])
    assert seen[False] == {1.0}  # DR's expected frames in full
    assert seen[True] == {round(shares[True], 6)}
    assert 0.5 < shares[True] < 0.7
