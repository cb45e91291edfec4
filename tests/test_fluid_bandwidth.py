"""Progressive ("fluid") off-chip bandwidth sharing, an engine option (issue 12q-fluid).

Under ``offchip_sharing="fluid"`` the running blocks share the off-chip bandwidth equally at every
instant and are re-timed when a block starts or ends (:mod:`scheduler.fluid`); the default,
``"dispatch"``, fixes a block's share at its dispatch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scheduler_engine import SyBW
from test_scheduler_properties import Acc, check_invariants, workloads
from test_scheduler_properties import Model as M
from test_scheduler_properties import Scenario as Sc

from rtmm.errors import SimulationError
from scheduler import policies, simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.fluid import FluidBlock
from scheduler.policies.base import Dispatch, Policy

BW_WORDS_PER_CYCLE = 1.0


@st.composite
def contended_workloads(draw):
    """:func:`workloads` with off-chip words (a layer needs up to 3x its latency in transfers at
    the full bandwidth) on a system with a shared bandwidth of 1 word per cycle."""
    scenario, system, costs, horizon, seed, jitter = draw(workloads())
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    models = []
    for mc in costs.models:
        v = mc.full
        words = v.latency_cycles * rng.uniform(0.0, 3.0, size=v.latency_cycles.shape)
        words *= rng.random(words.shape) < 0.5  # about half the layers move nothing
        variant = VariantCosts(v.name, v.latency_cycles, v.energy_nj, offchip_words=words)
        models.append(ModelCosts(mc.model_id, (variant,)))
    costs = CostArrays(tuple(models), costs.accelerator_names, costs.clock_hz)
    system = SyBW(system.name, system.accelerators, BW_WORDS_PER_CYCLE)
    return scenario, system, costs, horizon, seed, jitter


def _run(workload, policy, **kwargs):
    scenario, system, costs, horizon, seed, jitter = workload
    return simulate(scenario, system, policy, costs=costs, horizon_ms=horizon, seed=seed,
                    jitter_ms=jitter, **kwargs)  # fmt: skip


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.frames, b.frames, check_exact=True)
    pd.testing.assert_frame_equal(a.timeline, b.timeline, check_exact=True)


# --- option off: nothing changes ---------------------------------------------------------------


@pytest.mark.parametrize("policy", ["edf", "sdrm3", "latency_greedy"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=contended_workloads())
def test_dispatch_sharing_is_the_default_and_fluid_needs_contention(policy, workload):
    default = _run(workload, policy, offchip_contention=True)
    _same(default, _run(workload, policy, offchip_contention=True, offchip_sharing="dispatch"))
    # without contention there is nothing to share: fluid is inert
    free = _run(workload, policy)
    _same(free, _run(workload, policy, offchip_sharing="fluid"))


def test_an_unknown_sharing_rule_is_refused():
    sc = Sc("s", (M("X", 20.0),))
    with pytest.raises(SimulationError, match="offchip_sharing"):
        simulate(sc, SyBW("sys", (Acc("a0"),), 1), "edf", costs=_table({"X": [(1e6, 0.0)]}),
                 offchip_sharing="progressive")  # fmt: skip


# --- hand-worked cases ---------------------------------------------------------------------------


class _Pin(Policy):
    """X on a0, everything else on a1, whole jobs, in the order of ``first``."""

    name = "pin"

    def __init__(self, first: str = "X") -> None:
        self.first = first

    def decide(self, state):
        out = []
        for j in sorted(state.ready, key=lambda j: j.model_id != self.first):
            acc = 0 if j.model_id == "X" else 1
            if acc in state.idle and all(d.accelerator != acc for d in out):
                out.append(Dispatch(j, acc, j.remaining_layers))
        return out


def _table(models: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """Per model, per layer (latency cycles, off-chip words), the same on a0 and a1 (1 GHz)."""
    rows = [
        (m, i, a, int(lat), 1.0, words)
        for m, layers in models.items()
        for i, (lat, words) in enumerate(layers)
        for a in (0, 1)
    ]
    cols = ["model", "layer_idx", "accelerator", "latency_cycles", "energy_nj", "offchip_words"]
    return pd.DataFrame(rows, columns=cols)


def _completion_ms(table, sharing: str, first: str = "X") -> dict[str, float]:
    models = tuple(dict.fromkeys(table.model))
    sc = Sc("s", tuple(M(m, 20.0) for m in models))
    sy = SyBW("sys", (Acc("a0"), Acc("a1")), BW_WORDS_PER_CYCLE)
    run = simulate(sc, sy, _Pin(first), costs=table, horizon_ms=50.0, offchip_contention=True,
                   offchip_sharing=sharing)  # fmt: skip
    done = run.frames.set_index("model").completion_ms
    tl = run.timeline.set_index("model").completion_ms
    assert all(done[m] == pytest.approx(tl[m]) for m in models)  # timeline carries fluid times
    return {m: float(done[m]) for m in models}


@pytest.mark.parametrize("first", ["X", "Y"])
def test_a_running_block_is_slowed_by_a_newcomer_and_sped_up_when_it_ends(first):
    # X: one layer, 1 ms of compute, 10 ms of transfers alone (1e7 words at 1 word/cycle, 1 GHz).
    # Y: a 4 ms compute-bound layer on a1. From 0 to 4 ms k = 2: X does 4/20 of its layer;
    # then k = 1: the remaining 0.8 x 10 ms = 8 ms. X ends at 12 ms, whoever was dispatched first.
    table = _table({"X": [(1e6, 1e7)], "Y": [(4e6, 0.0)]})
    fluid = _completion_ms(table, "fluid", first)
    assert fluid["X"] == pytest.approx(12.0) and fluid["Y"] == pytest.approx(4.0)
    # the dispatch rule charges the newcomer for both: X at k = 2 for 20 ms, or Y (no traffic)
    # nothing and X alone 10 ms
    assert _completion_ms(table, "dispatch", first)["X"] == pytest.approx(
        20.0 if first == "Y" else 10.0
    )


class _Late(_Pin):
    """:class:`_Pin`, but Y waits until ``y_at_ms`` (the run's window events wake the policy)."""

    def __init__(self, y_at_ms: float) -> None:
        super().__init__()
        self.y_at_ms = y_at_ms

    def decide(self, state):
        out = super().decide(state)
        return [d for d in out if d.job.model_id == "X" or state.now_ms >= self.y_at_ms]


def test_a_block_is_advanced_at_the_old_share_before_a_newcomer_starts():
    # X alone from 0 to 2 ms does 2/10 of its transfers; Y runs on a1 from 2 to 6 ms (k = 2):
    # 4/20 more; X's remaining 0.6 x 10 ms alone: it ends at 12 ms
    table = _table({"X": [(1e6, 1e7)], "Y": [(4e6, 0.0)]})
    sc = Sc("s", (M("X", 20.0), M("Y", 20.0)))
    sy = SyBW("sys", (Acc("a0"), Acc("a1")), BW_WORDS_PER_CYCLE)
    run = simulate(sc, sy, _Late(2.0), costs=table, horizon_ms=50.0, window_ms=2.0,
                   offchip_contention=True, offchip_sharing="fluid")  # fmt: skip
    tl = run.timeline.set_index("model")
    assert (tl.dispatch_ms["Y"], tl.completion_ms["Y"]) == pytest.approx((2.0, 6.0))
    assert tl.completion_ms["X"] == pytest.approx(12.0)


class _Watch(_Late):
    """:class:`_Late` that records, at every window, X's projected end as policies see it."""

    def __init__(self, y_at_ms: float) -> None:
        super().__init__(y_at_ms)
        self.seen: dict[float, float] = {}

    def on_window(self, window, state) -> None:
        if state.running[0] is not None:
            self.seen[round(state.now_ms, 9)] = float(state.busy_until_ms[0])


def test_policies_see_the_current_fluid_projection_in_busy_until():
    # the case above: at the 2 ms window Y has not started yet (X alone ends at 10 ms); when Y
    # starts X (0.2 done) is re-timed at k = 2 -> 2 + 0.8 x 20 = 18 ms; at 6 ms Y ends and X
    # (0.4 done) is re-timed alone -> 6 + 0.6 x 10 = 12 ms
    table = _table({"X": [(1e6, 1e7)], "Y": [(4e6, 0.0)]})
    sc = Sc("s", (M("X", 20.0), M("Y", 20.0)))
    sy = SyBW("sys", (Acc("a0"), Acc("a1")), BW_WORDS_PER_CYCLE)
    watch = _Watch(2.0)
    simulate(sc, sy, watch, costs=table, horizon_ms=50.0, window_ms=2.0,
             offchip_contention=True, offchip_sharing="fluid")  # fmt: skip
    assert watch.seen == pytest.approx({2.0: 10.0, 4.0: 18.0, 6.0: 12.0, 8.0: 12.0, 10.0: 12.0})


def test_two_bandwidth_bound_blocks_share_then_the_survivor_speeds_up():
    # X: 10 ms of transfers alone, Y: 4 ms. Together each gets half: Y ends at 8 ms, when X has
    # done 8/20; X's remaining 0.6 x 10 ms = 6 ms alone: it ends at 14 ms.
    table = _table({"X": [(1e5, 1e7)], "Y": [(1e5, 4e6)]})
    assert _completion_ms(table, "fluid") == pytest.approx({"X": 14.0, "Y": 8.0})


def test_a_compute_bound_layer_ignores_the_share_and_the_next_layer_takes_it():
    # X: a 3 ms compute-bound layer, then 5 ms of transfers alone; Y on a1 from 0 to 4 ms.
    # X's second layer starts at 3 ms: 3-4 ms at k = 2 (1/10 done), then 4.5 ms alone: 8.5 ms.
    table = _table({"X": [(3e6, 0.0), (1e6, 5e6)], "Y": [(4e6, 0.0)]})
    assert _completion_ms(table, "fluid")["X"] == pytest.approx(8.5)


def test_fluid_block_advance_crosses_layers_exactly():
    # three layers of 2, 3 and 4 ms alone (1 GHz), the last two bandwidth-bound
    v = VariantCosts("v", np.array([[2_000_000], [1], [1]]), np.ones((3, 1)),
                     offchip_words=np.array([[0.0], [3e6], [4e6]]))  # fmt: skip
    b = FluidBlock(v, 0, 3, 0, 1e-6, setup_ms=0.5, row=0, now_ms=0.0)
    assert b.remaining_ms(1.0) == pytest.approx(9.5)
    b.advance(4.0, 1.0)  # 0.5 set-up, 2 ms layer 0, 1.5 of layer 1's 3 ms
    assert (b.layer, b.frac) == (1, pytest.approx(0.5))
    assert b.remaining_ms(2.0) == pytest.approx(0.5 * 6.0 + 8.0)
    b.advance(7.0, 2.0)  # layer 1's remaining half at k = 2 (3 ms)
    assert (b.layer, b.frac) == (2, pytest.approx(0.0, abs=1e-12))
    assert b.remaining_ms(1.0) == pytest.approx(4.0)


# --- properties ----------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", policies.names())
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=contended_workloads())
def test_fluid_blocks_are_between_alone_and_every_accelerator_busy(policy, workload):
    scenario, system, costs, horizon, _, _ = workload
    run = _run(workload, policy, offchip_contention=True, offchip_sharing="fluid")
    check_invariants(run, scenario, costs, horizon)
    n_acc = costs.num_accelerators
    ids = [m.model_id for m in scenario.models]
    for row in run.timeline.itertuples():
        v = costs.models[ids.index(row.model)].full
        a, ms_per_cycle = row.accelerator, 1e3 / costs.clock_hz[row.accelerator]
        alone, crowded = (
            v.contended_latency_cycles(row.first_layer, row.n_layers, k / BW_WORDS_PER_CYCLE)[a]
            * ms_per_cycle
            for k in (1, n_acc)
        )
        took = row.completion_ms - row.dispatch_ms
        assert alone * (1 - 1e-9) - 1e-9 <= took <= crowded * (1 + 1e-9) + 1e-9


class _Cut(Policy):
    """Every job on a0, in blocks of ``n`` layers."""

    name = "cut"

    def __init__(self, n: int) -> None:
        self.n = n

    def decide(self, state):
        if 0 not in state.idle or not state.ready:
            return []
        j = state.ready[0]
        return [Dispatch(j, 0, min(self.n, j.remaining_layers))]


@settings(max_examples=40, deadline=None)
@given(
    layers=st.lists(st.tuples(st.integers(1, 3_000_000), st.floats(0.0, 6e6)), min_size=1,
                    max_size=10),
    cut=st.integers(1, 10),
)  # fmt: skip
def test_alone_the_fluid_time_does_not_depend_on_the_cut(layers, cut):
    table = _table({"X": layers})
    sc = Sc("s", (M("X", 5.0),))  # a 200 ms period: never hopeless
    sy = SyBW("sys", (Acc("a0"), Acc("a1")), BW_WORDS_PER_CYCLE)
    kw = dict(costs=table, horizon_ms=200.0, offchip_contention=True, offchip_sharing="fluid")
    whole = simulate(sc, sy, _Cut(99), **kw).timeline.completion_ms.max()
    pieces = simulate(sc, sy, _Cut(cut), **kw).timeline.completion_ms.max()
    alone_ms = sum(max(lat, words / BW_WORDS_PER_CYCLE) for lat, words in layers) / 1e6
    assert whole == pytest.approx(alone_ms, rel=1e-9)
    assert pieces == pytest.approx(alone_ms, rel=1e-9)
