"""The ``edf_split`` baseline: EDF with SDRM3's plan-pair placement for split-only frames."""

from __future__ import annotations

import pandas as pd

from dse.compare_eval import simulate_point
from dse.compare_points import Point, default_policies


def _frames(policy: str, scenario: str, system: str, horizon_ms: float) -> pd.DataFrame:
    result, _ = simulate_point(Point(scenario, system, policy, 0, horizon_ms, "maestro", ()))
    return result.frames


def test_edf_split_is_a_fair_baseline():
    assert "edf_split" in default_policies()


def test_edf_split_serves_the_frames_only_a_split_can_finish():
    """xrbench-4k-L ar_gaming (a tuning-set cell, maestro costs): plane detection fits its
    period only when split layer by layer; EDF loses every such frame, EDF with the plan rule
    serves them (as SDRM3's plan pairs do)."""

    def pd_on_time(policy: str) -> int:
        f = _frames(policy, "ar_gaming", "xrbench-4k-L", 1000.0)
        return int(((f["model"] == "PD_Plane_RCNN_Quarter") & (f["status"] == "on_time")).sum())

    assert pd_on_time("edf") == 0
    assert pd_on_time("edf_split") > 0


def test_edf_split_is_edf_where_no_frame_needs_a_split():
    """On a system of identical accelerators no frame can be split-only: the runs are EDF's."""
    a = _frames("edf", "social_interaction_a", "xrbench-4k-D", 1000.0)
    b = _frames("edf_split", "social_interaction_a", "xrbench-4k-D", 1000.0)
    pd.testing.assert_frame_equal(a, b)
