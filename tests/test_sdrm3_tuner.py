"""The SDRM3 online tuner settles within five windows on each of the five RTMM scenarios.

Settling is judged on what the tuner *chose*: after every window the accepted theta is evaluated
by a full run with that theta fixed (same workload, seed and horizon), which removes the
window-to-window noise of the measured UXCost; the series must be within 5 % of its final value
from window 5 on.
"""

from __future__ import annotations

import numpy as np
import pytest

from dse.compare import DEFAULT_SCENARIOS, cost_arrays
from hardware_db import library
from scheduler import policies, simulate
from scheduler.policies.sdrm3 import THETA_NAMES, tuner_window_ms
from scheduler.tuner import settling_window, static_uxcost_trace
from workloads import scenario as scenario_lib

pytest.importorskip("costmodel.table")


@pytest.mark.parametrize("system_name", ["xrbench-4k-J", "xrbench-8k-J"])
@pytest.mark.parametrize("scenario_name", DEFAULT_SCENARIOS)
def test_tuner_settles_within_five_windows(scenario_name, system_name):
    scenario = scenario_lib.load(scenario_name)
    system = library.get_system(system_name)
    costs = cost_arrays(scenario, system, "maestro")
    window = tuner_window_ms([1000.0 / m.fps for m in scenario.models])  # the tuner's default
    horizon = 12 * window
    policy = policies.get("sdrm3")
    simulate(scenario, system, policy, costs=costs, horizon_ms=horizon, seed=0)
    trace = policy.tuner.trace_frame()
    assert len(trace) >= 10

    def evaluate(theta: np.ndarray) -> float:
        fixed = policies.get("sdrm3_static", **dict(zip(THETA_NAMES, theta, strict=True)))
        run = simulate(scenario, system, fixed, costs=costs, horizon_ms=horizon, seed=0)
        return float(run.summary().iloc[-1]["uxcost"])

    chosen = static_uxcost_trace(trace, evaluate)
    assert settling_window(chosen, tolerance=0.05) <= 5
    # and the tuner stops probing: no probe starts with fewer than exploit x cycle (3) windows
    # left, so the last two windows run the accepted theta
    assert set(trace["phase"].iloc[-2:]) <= {"hold", "baseline"}


def test_coarse_probe_reaches_a_distant_optimum_and_slots_compare_like_for_like():
    from scheduler.tuner import Tuner

    bounds = np.array([[0.0, 2.0], [0.0, 2.0]])

    # a cliff at x < 0.3 that finite differences from x = 1 never see; slot 1 of each cycle of 2
    # windows releases 10x the work, so an unslotted comparison would accept noise
    def f(theta, k):
        return (0.1 if theta[0] < 0.3 else 1.0) * (10.0 if k % 2 else 1.0)

    tuner = Tuner([1.0, 1.0], bounds, names=("x", "y"), coarse=[(0.0,), ()], cycle=2, warmup=1)
    theta = tuner.current
    for k in range(12):
        theta = tuner.step(f(theta, k))
    assert tuner.theta[0] < 0.3
    trace = tuner.trace_frame()
    assert list(trace.event[:3]) == ["warmup", "baseline", "baseline"]
    assert (trace.event == "accept").sum() >= 1 and tuner.settled
