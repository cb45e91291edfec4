"""SDRM3's pipelined split of pinned, heavily loaded models (``pipeline_split``, issue 12n)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mechanics import AccE, Energy, SysBW
from test_scheduler_properties import Model, Scenario, workloads

from rtmm.errors import SimulationError
from scheduler import simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.mechanics import FrameMechanics, MechanicsRuntime
from scheduler.policies.sdrm3 import SDRM3Static
from scheduler.policies.sdrm3_options import static_options
from scheduler.policies.sdrm3_pipeline import THRESHOLD, PipelineSplit, best_cut, split_models
from scheduler.state import Job

MS = 1_000_000  # cycles per ms at 1 GHz


def _variant(lat_ms: np.ndarray, inputs: float | None = None) -> VariantCosts:
    lat = np.round(np.asarray(lat_ms, dtype=float) * MS).astype(np.int64)
    words = None if inputs is None else np.full(lat.shape[0], inputs)
    return VariantCosts("P", lat, np.ones(lat.shape), 1.0, None, words)


def _brute(c: VariantCosts, home: int, period_ms: float, move: np.ndarray) -> tuple:
    """(larger stage, prefix, suffix) of the cut of least larger stage over every (layer, other
    accelerator) whose stages fit the period, by enumeration; (inf, ...) if there is none."""
    lp = c.latency_prefix / MS
    best = (math.inf, 0.0, 0.0)
    for b in range(lp.shape[1]):
        for k in range(1, c.num_layers):
            pre, suf = lp[k, b], lp[-1, home] - lp[k, home] + move[k] / MS
            if b != home and pre + suf <= period_ms + 1e-9:
                best = min(best, (max(pre, suf), pre, suf), key=lambda t: (t[0], t[1] + t[2]))
    return best


# P: 8 layers, 3.5 ms each on a0 (28 ms); on a1 the first four take 2.5 ms, the others 7.5 ms
P_MS = np.array([[3.5, 2.5]] * 4 + [[3.5, 7.5]] * 4)


# --- the cut -------------------------------------------------------------------------------------


def test_cut_minimises_the_larger_stage():
    # stages: 2.5 c and 3.5 (8 - c) for c <= 4: the least larger one is at c = 4 (10 and 14 ms)
    c = _variant(P_MS)
    cut = best_cut(c, 0, np.full(2, 1e-6), 33.3)
    assert (cut.layer, cut.prefix_acc, cut.home_acc) == (4, 1, 0)
    assert (cut.prefix_ms, cut.suffix_ms) == pytest.approx((10.0, 14.0))
    assert cut.stage_ms == pytest.approx(_brute(c, 0, 33.3, np.zeros(8))[0])


def test_cut_counts_the_migration_of_the_cut_activation():
    c = _variant(P_MS)
    move = np.zeros(8)
    move[4] = 5 * MS  # moving layer 4's input costs 5 ms: the cut moves to layer 3
    cut = best_cut(c, 0, np.full(2, 1e-6), 33.3, move)
    assert cut.layer == 3
    assert (cut.prefix_ms, cut.suffix_ms) == pytest.approx((7.5, 17.5))
    assert cut.stage_ms == pytest.approx(_brute(c, 0, 33.3, move)[0])
    # every move costs 5 ms: the best cut (layer 4: 10 ms + 19 ms) frees 28 - 19 = 9 ms of a0 for
    # 10 ms of a1, so the migration alone makes the split not worth it
    move[:] = 5 * MS
    assert best_cut(c, 0, np.full(2, 1e-6), 33.3, move) is None
    assert best_cut(c, 0, np.full(2, 1e-6), 33.3, move * 0.5).suffix_ms == pytest.approx(16.5)


def test_no_cut_when_the_stages_cannot_fit_the_period_or_do_not_help():
    c = _variant(P_MS)
    assert best_cut(c, 0, np.full(2, 1e-6), 20.0) is None  # prefix + suffix >= 24 ms
    slow = _variant(np.array([[3.5, 40.0]] * 8))  # any prefix on a1 is longer than all of a0
    assert best_cut(slow, 0, np.full(2, 1e-6), 1e9) is None
    assert best_cut(_variant(np.array([[3.5, 4.5]])), 0, np.full(2, 1e-6), 1e9) is None
    # each layer 4.5 ms on a1: the best cut (13.5 + 17.5 ms at layer 3) costs a1 more time than
    # it frees on a0 (28 - 17.5 = 10.5 ms): no split
    assert best_cut(_variant(np.array([[3.5, 4.5]] * 8)), 0, np.full(2, 1e-6), 33.3) is None


@settings(max_examples=60, deadline=None)
@given(
    lat=st.lists(st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20)),
                 min_size=1, max_size=12),
    home=st.integers(0, 2),
    period=st.floats(5.0, 200.0),
    moves=st.lists(st.integers(0, 5), min_size=12, max_size=12),
)  # fmt: skip
def test_cut_is_in_range_and_never_slower_than_the_whole_frame(lat, home, period, moves):
    c = _variant(np.array(lat, dtype=float))
    move = np.array(moves[: c.num_layers], dtype=float) * MS
    cut = best_cut(c, home, np.full(3, 1e-6), period, move)
    whole = c.total_latency_cycles[home] / MS
    stage, prefix, suffix = _brute(c, home, period, move)
    if cut is None:  # no cut that helps, or the best one costs more than it frees on home
        assert not stage < whole or prefix > whole - suffix + 1e-9
        return
    assert 1 <= cut.layer < c.num_layers and cut.prefix_acc != home
    assert cut.stage_ms < whole and cut.prefix_ms + cut.suffix_ms <= period + 1e-9
    assert cut.prefix_ms <= whole - cut.suffix_ms + 1e-9
    assert cut.stage_ms == pytest.approx(stage)


def test_split_models_are_pinned_ones_loaded_beyond_the_threshold():
    full = np.array([[28.0, 40.0], [10.0, 40.0], [28.0, 30.0]])
    periods = np.array([33.3, 33.3, 33.3])
    pinned = np.array([0, 0, -1])
    assert split_models(full, periods, pinned, 0.75).tolist() == [0, -1, -1]
    assert split_models(full, periods, pinned, 0.25).tolist() == [0, 0, -1]
    assert split_models(full, periods, pinned, 0.9).tolist() == [-1, -1, -1]


# --- the option ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-0.1, math.inf, math.nan])
def test_option_is_checked(bad):
    with pytest.raises(SimulationError, match="pipeline_split"):
        SDRM3Static(pipeline_split=bad)


def test_option_is_on_by_default_at_the_selected_threshold_and_copied():
    assert SDRM3Static().pipeline_split == THRESHOLD == 0.75  # issue 12p's selection
    assert SDRM3Static(pipeline_split=None).pipeline_split is None
    assert static_options(SDRM3Static(pipeline_split=0.6))["pipeline_split"] == 0.6


# --- in the engine ------------------------------------------------------------------------------

WORDS = 2_000_000.0  # per layer input; at 100 words per cycle: 20000 cycles = 0.02 ms


def _pinned_run(policy, horizon_ms: float = 400.0, jitter_ms: float = 0.0):
    # P: 30 fps, 28 ms on a0 (84 % of its period, pinned there), 40 ms on a1
    scenario = Scenario("s", (Model("P", 30.0),))
    v = _variant(P_MS, inputs=WORDS)
    costs = CostArrays((ModelCosts("P", (v,)),), ("a0", "a1"), np.full(2, 1e9))
    sysm = SysBW("s", (AccE("a0", Energy(10.0)), AccE("a1", Energy(30.0))), 100)
    return simulate(
        scenario, sysm, policy, costs=costs, horizon_ms=horizon_ms, jitter_ms=jitter_ms, seed=1,
        mechanics=FrameMechanics(feasible_placement=True),
    )  # fmt: skip


def test_frames_run_their_prefix_on_the_other_accelerator_and_pay_the_migration():
    r = _pinned_run(SDRM3Static(pipeline_split=0.75))
    tl = r.timeline
    assert (r.frames.status == "on_time").all()
    move_ms = WORDS / 100 / 1e6  # words / (words per cycle) at 1 GHz
    for _, g in tl.groupby("frame"):
        g = g.sort_values("first_layer")
        assert g.accelerator.tolist() == [1, 0]  # two stages: prefix on a1, suffix on a0
        cut = int(g.first_layer.iloc[1])
        assert cut == 4
        span = (g.completion_ms - g.dispatch_ms).to_numpy()
        assert span == pytest.approx([10.0, 14.0 + move_ms])
    # energy: 8 layers x 1 nJ + one move of the cut activation (10 + 30 pJ per word)
    assert r.frames.energy_nj.to_numpy() == pytest.approx(8.0 + WORDS * 40.0 / 1e3)


def test_frames_keep_their_two_stages_under_release_jitter():
    r = _pinned_run(SDRM3Static(pipeline_split=0.75), horizon_ms=1000.0, jitter_ms=2.0)
    assert (r.frames.status == "on_time").all()
    tl = r.timeline.sort_values("dispatch_ms")
    assert set(tl.groupby("frame").accelerator.apply(tuple)) == {(1, 0)}


def test_off_or_a_threshold_above_every_load_changes_nothing():
    off = _pinned_run(SDRM3Static(pipeline_split=None))
    assert set(off.timeline.accelerator) == {0}  # whole frames on the pinned accelerator
    for threshold in (0.9, 1e9):  # 28 / 33.3 = 0.84: no model is split
        pd.testing.assert_frame_equal(_pinned_run(SDRM3Static(pipeline_split=threshold)).frames,
                                      off.frames)  # fmt: skip


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_a_huge_threshold_is_the_option_off(workload):
    scenario, system, costs, horizon, seed, jitter = workload
    run = dict(costs=costs, horizon_ms=horizon, seed=seed, jitter_ms=jitter,
               mechanics=FrameMechanics(feasible_placement=True))  # fmt: skip
    frames = [
        simulate(scenario, system, SDRM3Static(pipeline_split=t), **run).frames
        for t in (None, 1e12)
    ]
    pd.testing.assert_frame_equal(*frames)


def test_routes_follow_the_stages_and_leave_hopeless_pipelines_to_the_ordinary_rules():
    v = _variant(P_MS)
    costs = CostArrays((ModelCosts("P", (v,)),), ("a0", "a1"), np.full(2, 1e9))
    mech = MechanicsRuntime(FrameMechanics(), None, costs, np.array([33.3]), [()], 1000.0)
    split = PipelineSplit(0.75, np.array([[28.0, 40.0]]), np.array([33.3]), np.array([0]),
                          np.full(2, 1e-6))  # fmt: skip
    job = Job(0, "P", 0, 33.3, 0.0, 33.3, None, True)
    job.costs = v
    cut, acc, rest = split.route_of(job, 0.0, mech, np.zeros(2))
    assert (cut.layer, acc, rest) == (4, 1, pytest.approx(10.0))  # the prefix, on a1
    # a1 busy until 10 ms: the engine would drop the frame at 33.3 - 24 = 9.3 ms (its best case is
    # the split itself: 4 x 2.5 on a1 + 4 x 3.5 on a0, issue 12o), so no route
    assert split.route_of(job, 0.0, mech, np.array([0.0, 10.0])) is None
    assert split.route_of(job, 0.0, mech, np.array([0.0, 9.0])) is not None
    assert split.route_of(job, 9.5, mech, np.zeros(2)) is None  # 9.5 + 10 + 14 > 33.3
    job.next_layer, job.last_accelerator = 4, 1  # past the cut, after the prefix on a1
    assert split.route_of(job, 12.0, mech, np.zeros(2))[1:] == (0, pytest.approx(14.0))
    job.last_accelerator = 0  # ran on a0 (the ordinary rules): not routed
    assert split.route_of(job, 12.0, mech, np.zeros(2)) is None


@pytest.mark.parametrize(
    "last_ms, delta, b_free_ms",
    [
        # P's last layer 1 ms on a1: the engine's best case (issue 12o) runs it there, 21.5 ms, so
        # it drops the frame at 33.3 - 21.5 = 11.8 ms; the pipeline takes 10 + 14 = 24 ms
        (1.0, 1.0, 11.0),
        # P as above, 24 ms either way, with drop_delta 2: dropped at 33.3 - 12 = 21.3 ms
        (7.5, 2.0, 15.0),
    ],
)
def test_an_unstarted_prefix_is_routed_only_if_the_pipeline_makes_it_after_b_frees_up(
    last_ms, delta, b_free_ms
):
    # issue 12p: b frees up before the engine would drop the frame, but too late for the pipeline
    # (b_free_ms + 24 > 33.3): routing it there would leave a idle while it waits
    lat = P_MS.copy()
    lat[-1, 1] = last_ms
    v = _variant(lat)
    costs = CostArrays((ModelCosts("P", (v,)),), ("a0", "a1"), np.full(2, 1e9))
    mech = MechanicsRuntime(FrameMechanics(drop_delta=delta), None, costs, np.array([33.3]),
                            [()], 1000.0)  # fmt: skip
    split = PipelineSplit(0.75, np.array([[28.0, 40.0]]), np.array([33.3]), np.array([0]),
                          np.full(2, 1e-6))  # fmt: skip
    job = Job(0, "P", 0, 33.3, 0.0, 33.3, None, True)
    job.costs = v
    assert mech.hopeless_at_ms(job, 0.0) > b_free_ms  # the drop test alone would route it
    assert split.route_of(job, 0.0, mech, np.array([0.0, b_free_ms])) is None
    assert split.route_of(job, 0.0, mech, np.array([0.0, 9.0]))[1] == 1  # 9 + 24 <= 33.3
