"""The UXCost lower bound (:mod:`scheduler.uxcost_bound`): hand-computed programmes, and the bound
held by every full-model policy on real runs (it is the same for all of them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dse.compare_eval import simulate_point
from dse.compare_points import Point, cost_arrays, default_policies
from hardware_db import library
from rtmm.errors import SimulationError
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.metrics import V_FLOOR
from scheduler.uxcost_bound import GRID_INTERVALS, uxcost_bound
from workloads import scenario as scenario_lib

MS = 1_000_000  # cycles per ms at 1 GHz


def _costs(lat_ms: list[list[float]], energy_nj: list[list[float]] | None = None) -> CostArrays:
    """One single-layer model per row: latency (ms) and energy (nJ) per accelerator."""
    models = []
    for i, row in enumerate(lat_ms):
        lat = (np.asarray([row]) * MS).astype(np.int64)
        en = np.ones(lat.shape) if energy_nj is None else np.asarray([energy_nj[i]], dtype=float)
        v = VariantCosts(f"M{i}", lat, en, 1.0)
        models.append(ModelCosts(v.name, (v,)))
    k = len(lat_ms[0])
    return CostArrays(tuple(models), tuple(f"a{i}" for i in range(k)), np.full(k, 1e9))


def _frames(periods_ms: list[float], frames_each: int, status: str = "on_time") -> pd.DataFrame:
    """``frames_each`` back-to-back frames of model ``M<i>`` per period, all released."""
    rows = [
        {
            "model": f"M{m}",
            "frame": f,
            "status": status,
            "release_ms": f * p,
            "deadline_ms": (f + 1) * p,
        }  # fmt: skip
        for m, p in enumerate(periods_ms)
        for f in range(frames_each)
    ]
    return pd.DataFrame(rows)


def test_bound_is_the_floor_when_everything_fits_at_least_energy():
    b = uxcost_bound(_frames([10.0, 20.0], 4), _costs([[4.0], [5.0]]))
    assert (b.v_min, b.v_0) == (0.0, 0.0)
    assert b.uxcost == pytest.approx(V_FLOOR)


def test_bound_counts_what_capacity_cannot_serve():
    # one array over 40 ms; four 10 ms frames of M0 at 4 ms and two 20 ms frames of M1 at 18 ms
    # need 16 + 36 = 52 ms: M0 in full (16 ms), M1 in the 24 ms left (share 24/36), so
    # V >= (1 - 2/3) / 2 = 1/6
    frames = pd.concat([_frames([10.0], 4), _frames([20.0, 20.0], 2).query("model == 'M1'")])
    b = uxcost_bound(frames, _costs([[4.0], [18.0]]))
    assert b.v_min == pytest.approx(1 / 6)
    assert b.uxcost == pytest.approx(1 / 6 + V_FLOOR)


def test_a_model_no_window_fits_is_lost_under_any_schedule():
    b = uxcost_bound(_frames([10.0, 20.0], 2), _costs([[4.0], [30.0]]))
    assert b.v_min == pytest.approx(0.5)  # M1 (30 ms > its 20 ms window) fails every frame


def test_bound_charges_the_energy_of_serving_on_the_dear_accelerator():
    # a0: 5 ms, 2 nJ; a1: 20 ms (beyond the 10 ms window), 1 nJ. Serving every frame needs at
    # least 2/3 of its work on a0 (layers in sequence within 10 ms), so E_norm >= 5/3 at V = 0;
    # at least energy nothing is served (v_0 = 1). The grid bound lies between
    # E_norm(1/K) x V_FLOOR and 5/3 x V_FLOOR.
    b = uxcost_bound(_frames([10.0], 6), _costs([[5.0, 20.0]], [[2.0, 1.0]]))
    assert (b.v_min, b.v_0) == (pytest.approx(0.0), pytest.approx(1.0))
    e_first = 1 + 2 * (1 - 1 / GRID_INTERVALS) / 3
    assert e_first * V_FLOOR - 1e-9 <= b.uxcost <= 5 / 3 * V_FLOOR + 1e-9


def test_bound_refuses_xrbench_compatible_frames():
    with pytest.raises(SimulationError, match="unfinished"):
        uxcost_bound(_frames([10.0], 2, status="unfinished"), _costs([[4.0]]))


#: Cells of the property test: an overloaded and an underloaded one per analysis.
CELLS = (
    ("social_interaction_a", "xrbench-4k-J", "maestro", 3),
    ("outdoor_activity_a", "xrbench-4k-L", "maestro", 4),
    ("ar_assistant", "xrbench-4k-K", "native", 5),
    ("vr_gaming", "xrbench-8k-M", "native", 6),
)


@pytest.mark.parametrize(("scenario", "system", "analysis", "seed"), CELLS)
def test_every_full_model_policy_stays_at_or_above_the_same_bound(scenario, system, analysis, seed):
    costs = cost_arrays(scenario_lib.load(scenario), library.get_system(system), analysis)
    bounds, uxcosts = {}, {}
    for policy in (p for p in default_policies() if "supernet" not in p):
        res, _ = simulate_point(Point(scenario, system, policy, seed, 600.0, analysis, ()))
        s = res.summary()
        uxcosts[policy] = float(s.loc[s["model"] == "", "uxcost"].iloc[0])
        bounds[policy] = uxcost_bound(res.frames, costs).uxcost
    assert len(set(bounds.values())) == 1  # the released frames do not depend on the policy
    bound = next(iter(bounds.values()))
    assert bound >= V_FLOOR
    assert all(u >= bound * (1 - 1e-9) for u in uxcosts.values()), (bound, uxcosts)
