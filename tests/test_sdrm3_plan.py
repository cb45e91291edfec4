"""SDRM3's plan pairs (``plan_split``, issue 12r): a job that only a split across accelerators can
finish keeps to a fastest split."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_lower_bound import TABLES, random_tables

from dse.compare_eval import simulate_point
from dse.compare_points import Point
from scheduler.lower_bound import plan_segment_layers, remaining_lower_bound_ms, suffix_best_ms
from scheduler.policies import sdrm3_options
from scheduler.policies.sdrm3 import SDRM3Static


@settings(max_examples=200, deadline=None)
@given(**TABLES)
def test_a_plan_segment_then_the_best_case_takes_exactly_the_least_time_from_that_start(
    n_layers, n_acc, seed, move_scale, data
):
    """Running the segment on a, then the rest at the best case, needs ``best[start, a]``; one
    layer more on a (if the segment stops before the end) needs strictly more."""
    lat, move_in = random_tables(n_layers, n_acc, seed, move_scale)
    best = suffix_best_ms(lat, move_in)
    start = data.draw(st.integers(0, n_layers - 1))
    a = data.draw(st.integers(0, n_acc - 1))
    n = plan_segment_layers(best, move_in, start, a)
    assert 1 <= n <= n_layers - start
    need = lat[start : start + n, a].sum() + remaining_lower_bound_ms(best, move_in, start + n, a)
    assert np.isclose(need, best[start, a])
    if start + n < n_layers:  # staying one layer longer is slower than the plan
        longer = lat[start : start + n + 1, a].sum() + remaining_lower_bound_ms(
            best, move_in, start + n + 1, a
        )
        assert longer > best[start, a] + 1e-12


def test_a_single_accelerator_keeps_the_whole_rest():
    lat = np.ones((5, 1))
    best = suffix_best_ms(lat, np.zeros_like(lat))
    assert plan_segment_layers(best, np.zeros_like(lat), 2, 0) == 3


def test_plan_split_is_an_option_of_the_static_copy_and_on_by_default_since_12t():
    assert "plan_split" in sdrm3_options.STATIC_OPTIONS
    assert SDRM3Static().plan_split is True
    assert sdrm3_options.static_options(SDRM3Static(plan_split=False))["plan_split"] is False


def _pd_status(params: tuple) -> dict:
    point = Point("ar_gaming", "xrbench-4k-L", "sdrm3_static", 0, 1000.0, "maestro", params)
    result, _ = simulate_point(point)
    frames = result.frames
    return frames[frames["model"] == "PD_Plane_RCNN_Quarter"]["status"].value_counts().to_dict()


def test_plan_split_serves_the_frames_only_a_split_can_finish():
    """xrbench-4k-L ar_gaming (a tuning-set cell, maestro costs): plane detection is longer than
    its period on both accelerators alone, shorter when split layer by layer. Without the option
    SDRM3 strays from the fastest split and every frame is dropped after part of it ran."""
    assert _pd_status((("plan_split", False),)).get("on_time", 0) == 0
    with_plan = _pd_status((("plan_split", True),))
    assert with_plan.get("on_time", 0) == sum(with_plan.values()) > 0
