"""SDRM3's value-aware protection (``protect_value``, issues 12l/12m)."""

from __future__ import annotations

import math

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
    assert static_options(SDRM3Static(protect_value=2.0))["protect_value"] == 2.0


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
