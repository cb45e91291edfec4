"""SDRM3's rescue of started work (``rescue``, issue 12r)."""

from __future__ import annotations

import numpy as np

import scheduler.policies.sdrm3 as sdrm3_module
from dse.compare_eval import simulate_point
from dse.compare_points import Point
from scheduler.policies import sdrm3_options
from scheduler.policies.sdrm3 import SDRM3Static
from scheduler.policies.sdrm3_rescue import rescue_pairs

CELL = ("social_interaction_a", "xrbench-4k-D")  # a tuning-set cell, maestro costs


def _wasted_ms(params: tuple) -> float:
    """Busy time of the blocks of frames that end dropped (ms)."""
    result, _ = simulate_point(Point(*CELL, "sdrm3_static", 0, 1000.0, "maestro", params))
    tl, fr = result.timeline, result.frames
    lost = set(zip(*fr.loc[fr["status"] == "dropped", ["model", "frame"]].T.values, strict=True))
    mask = [k in lost for k in zip(tl["model"], tl["frame"], strict=True)]
    return float((tl["completion_ms"] - tl["dispatch_ms"])[mask].sum())


def test_rescue_is_an_option_of_the_static_copy_and_off_by_default():
    assert "rescue" in sdrm3_options.STATIC_OPTIONS
    assert SDRM3Static().rescue is False
    assert sdrm3_options.static_options(SDRM3Static(rescue=True))["rescue"] is True


def test_rescue_removes_the_work_lost_to_frames_dropped_after_they_started():
    assert _wasted_ms(()) > 0
    assert _wasted_ms((("rescue", True),)) == 0


def test_rescued_pairs_are_started_jobs_that_cannot_wait_one_block_and_can_still_finish(
    monkeypatch,
):
    seen = []

    def checked(terms, feasible, state, block_ms):
        out = rescue_pairs(terms, feasible, state, block_ms)
        mech = state.mechanics
        for i, k in zip(*np.nonzero(out), strict=True):
            job = terms.jobs[i]
            slack = job.deadline_ms - state.now_ms
            assert job.started and feasible[i, k]
            assert 0 <= slack - mech.best_remaining_ms(job) < block_ms
            a, n = int(terms.accelerators[k]), int(terms.n_layers[i, k])
            assert mech.continue_need_ms(job, a, n, None) <= slack
            seen.append(i)
        return out

    monkeypatch.setattr(sdrm3_module, "rescue_pairs", checked)
    simulate_point(Point(*CELL, "sdrm3_static", 0, 1000.0, "maestro", (("rescue", True),)))
    assert seen  # the cell does exercise the rescue
