"""SDRM3's value-aware protection (``protect_value`` and its mode; issues 12l, 12m, 12p)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from test_scheduler_properties import workloads

from rtmm.errors import SimulationError
from scheduler import simulate
from scheduler.mechanics import FrameMechanics
from scheduler.policies.sdrm3 import SDRM3Static
from scheduler.policies.sdrm3_options import static_options


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan])
def test_option_is_checked(bad):
    with pytest.raises(SimulationError, match="protect_value"):
        SDRM3Static(protect_value=bad)


def test_option_is_off_by_default_and_copied():
    assert SDRM3Static().protect_value is None
    assert SDRM3Static().protect_value_mode == "pinned"
    opts = static_options(SDRM3Static(protect_value=2.0, protect_value_mode="need"))
    assert opts["protect_value"] == 2.0 and opts["protect_value_mode"] == "need"


def test_mode_is_checked():
    with pytest.raises(SimulationError, match="protect_value_mode"):
        SDRM3Static(protect_value=2.0, protect_value_mode="always")


def _release_case(mode: str, rest_ms: float, deadline_ms: float, worth: float):
    """``_value_release`` of one job (rest ``rest_ms`` on accelerator 0, worth ``worth``) on
    accelerator 0, free at 10 ms, whose exclusive work is two frames of 30 ms due at 50 and 90."""
    p = SDRM3Static(protect_value=2.0, protect_value_mode=mode)
    p.loss = np.array([worth])
    p._remaining_ms = lambda job, state: np.array([rest_ms, 1.0])  # type: ignore[method-assign]
    job = SimpleNamespace(model=0, deadline_ms=deadline_ms)
    items = [[(0.0, 50.0, 30.0), (50.0, 90.0, 30.0)], []]
    state = SimpleNamespace(now_ms=0.0)
    return p._value_release(job, 0, 200.0, items, np.array([10.0, 0.0]), state)


@pytest.mark.parametrize(
    ("rest_ms", "deadline_ms", "worth", "pinned", "need"),
    [
        (20.0, 120.0, 300.0, True, False),  # waits: 10 + 30 -> 40, 50 + 30 -> 80, + 20 = 100
        (40.0, 100.0, 300.0, True, True),  # cannot wait: 80 + 40 = 120 > 100
        (30.0, 85.0, 300.0, True, False),  # due before the second frame: 40 + 30 = 70 <= 85
        (40.0, 100.0, 199.0, False, False),  # worth below R x the pinned frame
    ],
)
def test_need_mode_releases_only_a_job_that_cannot_wait(rest_ms, deadline_ms, worth, pinned, need):
    assert _release_case("pinned", rest_ms, deadline_ms, worth) is pinned
    assert _release_case("need", rest_ms, deadline_ms, worth) is need


def test_thresholds_are_r_times_the_most_valuable_pinned_frame():
    p = SDRM3Static(protect_value=2.0)
    p.loss = np.array([1.0, 5.0, 3.0])
    p.ms_per_cycle = np.ones(2)
    assert p._value_thresholds(np.array([0, -1, 0])) == [6.0, math.inf]
    assert p._value_thresholds(np.array([-1, -1, -1])) == [math.inf, math.inf]
    p.protect_value = None
    assert p._value_thresholds(np.array([0, -1, 0])) is None


class _Both(SDRM3Static):
    """Records, at every decision, the protection mask with and without the option."""

    name = "sdrm3_both"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def _protected(self, terms, state, pins=None, exempt=None):
        with_value = super()._protected(terms, state, pins, exempt=exempt)
        r, self.protect_value = self.protect_value, None
        plain = super()._protected(terms, state, pins, exempt=exempt)
        self.protect_value = r
        self.pairs.append((with_value, plain))
        return with_value


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_the_option_only_releases_pairs_and_a_huge_ratio_changes_nothing(workload):
    scenario, system, costs, horizon, seed, jitter = workload
    run = dict(costs=costs, horizon_ms=horizon, seed=seed, jitter_ms=jitter,
               mechanics=FrameMechanics(feasible_placement=True))  # fmt: skip
    both = _Both(protect_value=1.0)
    simulate(scenario, system, both, **run)
    for with_value, plain in both.pairs:
        assert not (with_value & ~plain).any()  # never protects a pair the plain rule does not
    frames = [
        simulate(scenario, system, SDRM3Static(protect_value=r), **run).frames for r in (None, 1e12)
    ]
    pd.testing.assert_frame_equal(*frames)


def test_on_ar_assistant_it_releases_some_protected_pairs_and_no_others():
    # 12l's case: on 4K-J (maestro costs) protection keeps OS for SS, whose frames are worth less
    # than a triggered ASR frame; with R = 2 some pairs are released, none is added
    both = _Both(protect_value=2.0)
    simulate(
        "ar_assistant", "xrbench-4k-J", both, horizon_ms=2000, seed=0, analysis="maestro",
        offchip_contention=True, jitter_ms=2.0, mechanics=FrameMechanics(feasible_placement=True),
    )  # fmt: skip
    released = sum(int((plain & ~with_value).sum()) for with_value, plain in both.pairs)
    added = sum(int((with_value & ~plain).sum()) for with_value, plain in both.pairs)
    assert released > 0 and added == 0


class _Modes(SDRM3Static):
    """Records, at every decision, the protection mask in modes "need" and "pinned" and without
    the option; runs in mode "need"."""

    name = "sdrm3_modes"

    def __init__(self, **kw) -> None:
        super().__init__(protect_value_mode="need", **kw)
        self.masks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def _protected(self, terms, state, pins=None, exempt=None):
        need = super()._protected(terms, state, pins, exempt=exempt)
        self.protect_value_mode = "pinned"
        pinned = super()._protected(terms, state, pins, exempt=exempt)
        r, self.protect_value = self.protect_value, None
        plain = super()._protected(terms, state, pins, exempt=exempt)
        self.protect_value, self.protect_value_mode = r, "need"
        self.masks.append((need, pinned, plain))
        return need


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_need_mode_releases_a_subset_of_the_pinned_modes_pairs(workload):
    scenario, system, costs, horizon, seed, jitter = workload
    modes = _Modes(protect_value=1.0)
    simulate(scenario, system, modes, costs=costs, horizon_ms=horizon, seed=seed,
             jitter_ms=jitter, mechanics=FrameMechanics(feasible_placement=True))  # fmt: skip
    for need, pinned, plain in modes.masks:
        assert not (need & ~plain).any()  # never protects a pair the plain rule does not
        assert not (pinned & ~need).any()  # holds back every pair the pinned mode holds back


#: SDRM3 as 12p measured it (before 12t turned the rescue and plan pairs on, and 12u the plan).
PRE_12T = {"rescue": False, "plan_split": False, "service_plan": False}


def _ar_assistant_4k_l_native(**options):
    return simulate(
        "ar_assistant", "xrbench-4k-L", SDRM3Static(**PRE_12T, **options), horizon_ms=2000, seed=1,
        analysis="native", offchip_contention=True, jitter_ms=2.0,
        mechanics=FrameMechanics(feasible_placement=True),
    ).frames  # fmt: skip


def test_need_mode_keeps_the_frames_the_pinned_mode_lost_on_native_4k_l():
    # 12p's case: the pinned mode releases ASR onto WS (DE pinned there) although ASR could wait
    # behind DE's ready frame; DE's frame is displaced and one more ASR frame is lost. Mode
    # "need" holds ASR back there and runs exactly as the defaults do.
    plain = _ar_assistant_4k_l_native()
    pinned = _ar_assistant_4k_l_native(protect_value=2.0)
    need = _ar_assistant_4k_l_native(protect_value=2.0, protect_value_mode="need")
    asr = [(f["model"] == "ASR_EM_24L") & (f["status"] == "on_time") for f in (plain, pinned)]
    assert asr[1].sum() < asr[0].sum()
    pd.testing.assert_frame_equal(need, plain)


def test_diag_lists_the_released_pairs_and_what_they_displaced(capsys):
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "diag_value_protect.py"
    spec = importlib.util.spec_from_file_location("diag_value_protect", path)
    diag = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(diag)
    lines = {}
    for mode in ("pinned", "need"):
        diag.released("xrbench-4k-L:ar_assistant:1", "native", 2.0, mode, 2000.0)
        lines[mode] = capsys.readouterr().out.strip().splitlines()
    header, *pairs = lines["pinned"]
    assert header.endswith(f"released pairs dispatched: {len(pairs)}") and pairs
    assert all("ASR_EM_24L" in p and "ready DE_midas_v21_small" in p for p in pairs)
    assert lines["need"][0].endswith("released pairs dispatched: 0") and len(lines["need"]) == 1
    with pytest.raises(SystemExit):  # held-out systems are refused
        diag.released("xrbench-4k-K:ar_assistant:1", "native", 2.0, "need", 2000.0)
