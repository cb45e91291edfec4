"""SDRM3's energy-aware wait for lax jobs (option ``lax_wait``, :mod:`~.sdrm3_wait`)."""

from __future__ import annotations

import numpy as np
import pytest
from test_mechanics import MS, _costs
from test_scheduler_properties import Acc, Model, Scenario, System
from test_sdrm3_mechanisms import _job, _setup, _variant

from rtmm.errors import SimulationError
from scheduler import simulate
from scheduler.policies.sdrm3 import SDRM3


def _decide(lax_wait, *, energy=(3.0, 1.0), deadline_ms=100.0, busy_ms=5.0, pinned=False,
            a0_ms=10.0, fallback=False):  # fmt: skip
    # A (model 0): 10 ms on either array, costs energy[0] on a0 and energy[1] on a1; a1 runs a
    # block of model 1 until busy_ms. With ``pinned``, model 1 fits its 10 ms period only on a1
    # (9 ms), so its expected frames fill a1.
    a = _variant("A", [[int(a0_ms * MS), 10 * MS]], [list(energy)])
    b = _variant("B", [[50 * MS, 9 * MS]] if pinned else [[10 * MS, 10 * MS]], [[1.0, 1.0]])
    pol = SDRM3(tuner=False, defer=False, guard=None, lax_wait=lax_wait, lax_fallback=fallback)
    _, state = _setup([a, b], [deadline_ms, 10.0 if pinned else 100.0], policy=pol,
                      ready=[_job(0, a, deadline_ms)], running=[None, _job(1, b, 10.0)],
                      busy=[0.0, busy_ms])  # fmt: skip
    return pol.decide(state)


def test_lax_job_waits_for_its_busy_cheapest_accelerator():
    assert [d.accelerator for d in _decide(None)] == [0]  # takes the idle, costlier array
    assert _decide(2.0) == []  # waits 5 ms for a1 (a third of the energy), still on time


def test_no_wait_below_the_energy_ratio():
    assert [d.accelerator for d in _decide(2.0, energy=(1.5, 1.0))] == [0]
    assert _decide(1.5, energy=(1.5, 1.0)) == []


def test_no_wait_when_the_job_would_miss_on_the_cheapest_accelerator():
    # due at 20 ms: a1 frees at 15 ms, 15 + 10 > 20
    assert [d.accelerator for d in _decide(2.0, deadline_ms=20.0, busy_ms=15.0)] == [0]
    assert _decide(2.0, deadline_ms=20.0, busy_ms=5.0) == []


def test_wait_counts_the_expected_frames_of_a_model_pinned_there():
    # model 1's frames take 9 ms of every 10 ms on a1: A, queued behind them, would miss
    assert [d.accelerator for d in _decide(2.0, pinned=True)] == [0]


def test_fallback_waits_only_while_the_idle_accelerator_would_still_do():
    # A takes 30 ms on a0, 10 ms on a1 (busy until 15 ms), due at 40 ms: waiting fits a1 (25 ms),
    # but starting on a0 at 15 ms would end at 45 ms
    assert _decide(2.0, deadline_ms=40.0, busy_ms=15.0, a0_ms=30.0) == []
    got = _decide(2.0, deadline_ms=40.0, busy_ms=15.0, a0_ms=30.0, fallback=True)
    assert [d.accelerator for d in got] == [0]
    assert _decide(2.0, deadline_ms=50.0, busy_ms=15.0, a0_ms=30.0, fallback=True) == []


def test_lax_wait_must_be_at_least_one():
    for bad in (0.5, -1.0, float("inf")):
        with pytest.raises(SimulationError, match="lax_wait"):
            SDRM3(lax_wait=bad)
    assert SDRM3(lax_wait=2).lax_wait == 2


def test_engine_run_a_lax_model_waits_for_its_cheap_array_and_stays_on_time():
    # L: four 5 ms layers per 100 ms frame, 3x the energy on a0; H: 4 ms per 10 ms, 1.5x on a0
    # (more urgent, it takes a1 first). Without the wait L takes the idle a0; with it L waits for
    # a1 and runs there only.
    scenario = Scenario("s", (Model("L", 10.0), Model("H", 100.0)))
    costs = _costs({"L": ([[5 * MS, 5 * MS]] * 4, [[3.0, 1.0]] * 4),
                    "H": ([[4 * MS, 4 * MS]], [[1.5, 1.0]])}, 2)  # fmt: skip
    system = System("s", (Acc("a0"), Acc("a1")))
    runs = {}
    for k in (None, 2.0):
        r = simulate(scenario, system, SDRM3(tuner=False, defer=False, lax_wait=k), costs=costs,
                     horizon_ms=500.0)  # fmt: skip
        f = r.frames[r.frames.status != "not_triggered"]
        runs[k] = (f[f.model == "L"].energy_nj.sum(), (f.status == "on_time").mean())
    assert runs[2.0][0] < runs[None][0]
    assert runs[2.0][0] == pytest.approx(4.0 * 5, rel=0.01)  # 5 frames, 4 nJ each: all on a1
    assert runs[2.0][1] == 1.0 and runs[None][1] == 1.0
    assert np.isfinite(runs[None][0])
