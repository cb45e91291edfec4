"""SDRM3's starvation guard and the pending-frame fix of exclusive-work protection."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from test_mechanics import MS, _costs
from test_scheduler_properties import Acc, Model, Scenario, System
from test_sdrm3_mechanisms import _job, _setup, _variant

from rtmm.errors import SimulationError
from scheduler import simulate
from scheduler.mechanics import FrameMechanics
from scheduler.policies.sdrm3 import SDRM3
from scheduler.policies.sdrm3_guard import guard_pins, starving_models
from scheduler.policies.sdrm3_quantities import _pending
from scheduler.state import RunningMetrics


def test_engine_counts_lost_frames_since_the_latest_on_time_frame():
    # one accelerator, 6 ms frames of A and B every 10 ms: one of the two loses each period
    scenario = Scenario("s", (Model("A", 100.0), Model("B", 100.0)))
    costs = _costs({"A": ([[6 * MS]], [[1.0]]), "B": ([[6 * MS]], [[1.0]])}, 1)
    seen = []

    class Watch(SDRM3):
        def decide(self, state):
            seen.append((state.now_ms, state.metrics.lost_streak.copy()))
            return super().decide(state)

    pol = Watch(tuner=False, guard=None, service_plan=False)  # the counters alone, no plan
    r = simulate(scenario, System("s", (Acc("a0"),)), pol, costs=costs, horizon_ms=100.0)
    frames = r.frames[r.frames.status != "not_triggered"].sort_values("completion_ms")
    for now, got in seen:
        streak = {"A": 0, "B": 0}
        for row in frames[frames.completion_ms <= now].itertuples():
            streak[row.model] = 0 if row.status == "on_time" else streak[row.model] + 1
        assert got.tolist() == [streak["A"], streak["B"]]
    assert max(int(s[1][1]) for s in seen) >= 3  # B loses frame after frame
    m = RunningMetrics.zeros(2)
    m.lost_streak[:] = [1, 2]
    assert starving_models(m, 2).tolist() == [False, True]


def test_guard_pins_a_starving_model_where_its_frame_finishes_first_if_it_fits():
    full = np.array([[5.0, 3.0], [20.0, 30.0], [4.0, 9.0]])
    pinned = np.array([-1, -1, 0])
    pins = guard_pins(pinned, np.array([True, True, False]), full, np.array([10.0, 10.0, 10.0]))
    assert pins.tolist() == [1, -1, 0]  # model 1 fits nowhere: not pinned


def _two_jobs(guard, lost):
    v = [_variant(n, [[2_000_000, 2_000_000]], [[1.0, 1.0]]) for n in ("A", "B")]
    pol = SDRM3(tuner=False, urgency="laxity", defer=False, guard=guard)
    _, state = _setup(v, [20.0, 20.0], policy=pol, running=[_job(0, v[0], 20.0), None],
                      busy=[5.0, 0.0])  # fmt: skip
    state.metrics.on_time[:] = [4, 0]
    state.metrics.dropped[:] = [0, lost]
    state.metrics.lost_streak[:] = [0, lost]
    (d,) = pol.decide(state)
    return d.job.model


def test_starving_model_is_served_first():
    assert _two_jobs(None, 3) == 0  # the tie goes to the first job
    assert _two_jobs(3, 2) == 0
    assert _two_jobs(3, 3) == 1


def test_engine_run_a_starving_model_gets_frames_with_the_guard():
    # one accelerator, two identical models of 6 ms per 10 ms: only one frame per period fits
    scenario = Scenario("s", (Model("A", 100.0), Model("B", 100.0)))
    costs = _costs({"A": ([[6 * MS]], [[1.0]]), "B": ([[6 * MS]], [[1.0]])}, 1)
    system = System("s", (Acc("a0"),))
    done = {}
    for guard in (None, 2):
        pol = SDRM3(tuner=False, guard=guard, service_plan=False)  # the guard alone, no plan
        r = simulate(scenario, system, pol, costs=costs, horizon_ms=200.0,
                     mechanics=FrameMechanics(feasible_placement=True))  # fmt: skip
        done[guard] = r.frames[r.frames.status == "on_time"].groupby("model").size()
    assert done[None].get("B", 0) == 0
    assert done[2]["B"] >= 5 and done[2]["A"] >= 5


def test_pending_frame_counts_from_the_engines_release_events():
    m = RunningMetrics.zeros(1)
    state = SimpleNamespace(metrics=m)
    m.released[0], m.not_triggered[0] = 2, 1  # frames 0..2 released
    assert _pending(state, 0, 2) == 0
    assert _pending(state, 0, 3) == 1


def _pending_case(protect_pending, released):
    # P (model 0) fits its 10 ms period only on a1 (9 ms); at 10.5 ms its frame 1 (nominal release
    # 10 ms) may still be pending under jitter. J (model 1, due at 40 ms) takes 5 ms anywhere.
    p = _variant("P", [[50_000_000, 9_000_000]], [[1.0, 1.0]])
    j = _variant("J", [[5_000_000, 5_000_000]], [[1.0, 1.0]])
    pol = SDRM3(tuner=False, urgency="laxity", defer=False, protect_pending=protect_pending)
    _, state = _setup([p, j], [10.0, 40.0], policy=pol, now=10.5, ready=[_job(1, j, 40.0)],
                      running=[_job(1, j, 40.0, frame=7), None], busy=[11.0, 0.0])  # fmt: skip
    state.metrics.released[0] = released
    return pol.decide(state)


def test_protection_covers_a_frame_whose_release_is_pending():
    # J on a1 until 15.5 ms would make P's pending frame 1 end at 24.5 > 20 ms
    assert _pending_case(False, 1)[0].accelerator == 1  # counted from frame 2: not seen
    assert _pending_case(True, 1) == []
    assert _pending_case(True, 2)[0].accelerator == 1  # frame 1 already released


def test_guard_must_be_a_positive_count():
    for bad in (0, -1, 1.5):
        with pytest.raises(SimulationError, match="guard"):
            SDRM3(guard=bad)
    assert SDRM3(guard=None).guard is None


def test_static_copy_takes_every_constructor_option():
    # the Supernet selector's what-if runs use a static copy built from STATIC_OPTIONS: an
    # option missing there would silently run the copy with its default
    import inspect

    from scheduler.policies.sdrm3 import SDRM3
    from scheduler.policies.sdrm3_options import STATIC_OPTIONS

    params = set(inspect.signature(SDRM3.__init__).parameters) - {"self"}
    not_copied = {"alpha", "beta", "gamma", "tuner", "supernet", "window_ms", "tuner_options",
                  "selector_options"}  # fmt: skip
    assert params - not_copied == set(STATIC_OPTIONS)


def test_every_option_is_described_in_the_options_module():
    # the options' rules and defaults are documented once, in sdrm3_options' docstring
    from scheduler.policies import sdrm3_options

    doc = sdrm3_options.__doc__ or ""
    named = set(re.findall(r"``(\w+)(?:``|=)", doc))
    assert [o for o in sdrm3_options.STATIC_OPTIONS if o not in named] == []
