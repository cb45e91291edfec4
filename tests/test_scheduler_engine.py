"""Cost-table validation, native-mode semantics (cascades, hooks, variants), outputs and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from test_scheduler_properties import Acc
from test_scheduler_properties import Model as M
from test_scheduler_properties import Scenario as Sc
from test_scheduler_properties import System as Sy

from dse.cli import main
from rtmm.errors import SimulationError, SpecError, UnknownNameError
from scheduler import policies, simulate
from scheduler.cost_csv import read_cost_csv
from scheduler.costs import CostArrays, ModelCosts, VariantCosts, from_table
from scheduler.metrics import running_uxcost
from scheduler.policies.base import Dispatch, Policy


@dataclass(frozen=True)
class SyBW:
    name: str
    accelerators: tuple
    offchip_bw_words_per_cycle: int


def cost_table(models: dict[str, int], num_acc: int, cycles: int = 1_000_000) -> pd.DataFrame:
    rows = [
        (m, layer, a, cycles * (a + 1), 100.0 * (num_acc - a))
        for m, n in models.items()
        for layer in range(n)
        for a in range(num_acc)
    ]
    return pd.DataFrame(
        rows, columns=["model", "layer_idx", "accelerator", "latency_cycles", "energy_nj"]
    )


# --- cost tables ---------------------------------------------------------------------------------


def test_dense_arrays_and_prefix_sums():
    arrays = from_table(cost_table({"X": 3, "Y": 2}, 2), ["Y", "X"], ["a0", "a1"])
    x = arrays.models[1].full
    assert arrays.models[0].model_id == "Y" and x.num_layers == 3
    assert x.total_latency_cycles.tolist() == [3_000_000, 6_000_000]
    assert x.block_latency_cycles(1, 2, 1) == 4_000_000
    assert x.block_energy_nj(0, 3, 0) == pytest.approx(600.0)
    assert x.layers_within(0, 0, 2_500_000) == 2
    assert x.layers_within(2, 0, 10) == 1  # at least one layer
    assert x.min_energy_nj == pytest.approx(300.0)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.drop(columns="energy_nj"), "missing column 'energy_nj'"),
        (lambda t: t[t.model != "Y"], "no rows for model 'Y'"),
        (lambda t: t.assign(latency_cycles=t.latency_cycles.where(t.index != 4, -5)), "line 6"),
        (lambda t: t.assign(accelerator=t.accelerator.where(t.index != 3, 7)), "out of range"),
        (lambda t: t[~((t.model == "X") & (t.layer_idx == 1) & (t.accelerator == 0))], "layer 1"),
        (
            lambda t: t.assign(energy_nj=t.energy_nj.astype(object).where(t.index != 2, "x")),
            "line 4",
        ),
    ],
)
def test_external_cost_csv_validation(tmp_path, mutate, message):
    path = tmp_path / "costs.csv"
    mutate(cost_table({"X": 3, "Y": 2}, 2)).to_csv(path, index=False)
    with pytest.raises(SpecError, match=message) as err:
        from_table(read_cost_csv(path), ["X", "Y"], ["a0", "a1"], source=str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


# --- native semantics ----------------------------------------------------------------------------


def two_model_run(policy="fcfs", **kw):
    sc = Sc("s", (M("P", 10.0), M("C", 10.0, "P", kw.pop("p", 1.0))))
    sy = Sy("sys", (Acc("a0"), Acc("a1")))
    costs = kw.pop("costs", cost_table({"P": 4, "C": 2}, 2))
    return simulate(sc, sy, policy, costs=costs, horizon_ms=kw.pop("horizon_ms", 1000.0), **kw)


def test_cascade_child_waits_for_parent_and_follows_drops():
    r = two_model_run(p=0.5, seed=3)
    f = r.frames.set_index(["model", "frame"])
    child = f.loc["C"]
    assert set(child.status) == {"on_time", "not_triggered"}
    for frame, row in child.iterrows():
        if row.status == "on_time":
            assert row.first_dispatch_ms >= f.loc[("P", frame), "completion_ms"]
    # a parent too slow for its deadline is dropped, and its triggered children with it
    slow = cost_table({"P": 4, "C": 2}, 2, cycles=60_000_000)
    r = two_model_run(costs=slow, horizon_ms=500.0)
    statuses = r.frames.groupby("model").status.apply(set)
    assert "dropped" in statuses["P"] and "dropped" in statuses["C"]
    f = r.frames.set_index(["model", "frame"])
    for frame in range(5):
        if f.loc[("P", frame), "status"] == "dropped":
            assert f.loc[("C", frame), "status"] == "dropped"


def test_seed_changes_triggers_but_same_seed_reproduces():
    a, b, c = (two_model_run(p=0.5, seed=s).frames for s in (1, 1, 2))
    pd.testing.assert_frame_equal(a, b)
    assert not a.status.equals(c.status)


class Recorder(Policy):
    """FCFS-like test policy that records windows and picks the small variant for odd frames."""

    name = "recorder"

    def reset(self, ctx):
        super().reset(ctx)
        self.windows = []

    def select_variant(self, job, state):
        return job.frame % 2 if len(state.costs.models[job.model].variants) > 1 else 0

    def on_window(self, window, state):
        self.windows.append(window)

    def decide(self, state):
        free = list(state.idle)
        return [Dispatch(j, free.pop(0), 1) for j in state.ready[: len(free)]]


def test_window_hook_and_variant_hook():
    big = np.full((4, 2), 2_000_000)
    small = np.full((2, 2), 1_000_000)
    costs = CostArrays(
        (
            ModelCosts(
                "P",
                (VariantCosts("P", big, big / 1e3), VariantCosts("P@s", small, small / 1e3, 0.8)),
            ),
            ModelCosts("C", (VariantCosts("C", small, small / 1e3),)),
        ),
        ("a0", "a1"),
        np.full(2, 1e9),
    )
    policy = Recorder()
    r = two_model_run(policy, costs=costs, window_ms=100.0)
    assert len(policy.windows) == 10
    assert sum(int(w.delta.released.sum()) for w in policy.windows) == 20
    assert all(np.isfinite(running_uxcost(w.delta)[0]) for w in policy.windows[1:])
    p = r.frames[r.frames.model == "P"]
    assert (p.variant == p.frame % 2).all()
    assert set(p.loc[p.variant == 1, "accuracy"]) == {0.8}
    assert r.timeline[r.timeline.model == "P"].groupby("frame").n_layers.sum().tolist()[:2] == [
        4,
        2,
    ]
    assert r.summary().set_index("model").loc["P", "acc"] == pytest.approx(0.9)


def test_bad_decisions_are_simulation_errors():
    class Twice(Policy):
        name = "twice"

        def decide(self, state):
            j = state.ready[0]
            return [Dispatch(j, state.idle[0], 1), Dispatch(j, state.idle[-1], 1)]

    with pytest.raises(SimulationError, match="policy 'twice'"):
        two_model_run(Twice())


def test_offchip_contention_slows_concurrent_blocks():
    table = cost_table({"P": 4}, 2)
    table["offchip_words"] = 2_000_000.0  # per layer; 1 word/cycle -> 2 ms per layer alone
    table = pd.concat([table, table.assign(model="Q")], ignore_index=True)
    sc = Sc("s", (M("P", 10.0), M("Q", 10.0)))
    sy = SyBW("sys", (Acc("a0"), Acc("a1")), 1)
    run = dict(costs=table, horizon_ms=300.0)
    free = simulate(sc, sy, "fcfs", **run).timeline
    shared = simulate(sc, sy, "fcfs", offchip_contention=True, **run).timeline
    # alone: P takes 4 ms on a0, Q 8 ms on a1; sharing DRAM: P is bound at 8 ms, Q (2 busy) at 16
    assert (free.completion_ms - free.dispatch_ms).max() == pytest.approx(8.0)
    assert (shared.completion_ms - shared.dispatch_ms).max() == pytest.approx(16.0)
    with pytest.raises(SimulationError, match="offchip_words"):
        simulate(sc, sy, "fcfs", costs=table.drop(columns="offchip_words"), offchip_contention=True)


def test_policy_registry():
    assert {"fcfs", "round_robin", "edf", "latency_greedy", "edp_greedy"} <= set(policies.names())
    assert policies.get("Latency-Greedy").name == "latency_greedy"
    with pytest.raises(UnknownNameError, match="allowed: .*edf"):
        policies.get("nope")
    with pytest.raises(SimulationError, match="no XRBench-compatible mode"):
        two_model_run("edf", xrbench_compatible=True)


# --- outputs and CLI -----------------------------------------------------------------------------


def test_cli_writes_all_outputs(tmp_path, capsys):
    costs = tmp_path / "costs.csv"
    from workloads import zoo

    # a --costs file must cover every layer of every model that runs (issue 15)
    models = ("ES_RITNet", "GE_FBNet_C", "HT_hand_graph_cnn_half")
    # (10 µs a layer, so whole models fit their frame periods and some blocks run)
    cost_table({m: len(zoo.load(m)) for m in models}, 1, cycles=10_000).to_csv(costs, index=False)
    out = tmp_path / "out"
    rc = main(
        ["simulate", "--scenario", "vr_gaming", "--system", "xrbench-4k-A", "--policy", "edf",
         "--costs", str(costs), "--horizon-ms", "200", "--out", str(out)]
    )  # fmt: skip
    assert rc == 0
    for name in (
        "summary.csv",
        "timeline.csv",
        "frames.csv",
        "trace.json",
        "gantt.png",
        "scores.png",
    ):
        assert (out / name).stat().st_size > 0
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False)
    assert list(summary.columns[:12]) == [
        "model", "rt", "en", "acc", "qoe", "score", "uxcost", "e_norm", "v", "miss_rate",
        "drop_rate", "energy_mj",
    ]  # fmt: skip
    assert summary.model.tolist()[-1] == "" and len(summary) == 4
    assert 0.0 <= float(summary.score.iloc[-1]) <= 1.0
    trace = json.loads((out / "trace.json").read_text())
    blocks = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    timeline = pd.read_csv(out / "timeline.csv")
    assert len(blocks) == len(timeline) > 0
    assert blocks[0]["dur"] == pytest.approx(
        (timeline.completion_ms[0] - timeline.dispatch_ms[0]) * 1e3
    )
    assert {"accelerator", "model", "frame", "block", "release_ms", "dispatch_ms", "deadline_ms",
            "completion_ms", "energy_nj"} <= set(timeline.columns)  # fmt: skip


def test_cli_errors_are_one_line(tmp_path, capsys):
    costs = tmp_path / "costs.csv"
    cost_table({"ES_RITNet": 3}, 1).to_csv(costs, index=False)
    args = [
        "simulate",
        "--scenario",
        "vr_gaming",
        "--system",
        "xrbench-4k-A",
        "--out",
        str(tmp_path),
    ]
    assert main([*args, "--policy", "nope", "--costs", str(costs)]) == 2
    assert "unknown policy 'nope'" in capsys.readouterr().err
    assert main([*args, "--costs", str(costs)]) == 2
    err = capsys.readouterr().err
    assert "GE_FBNet_C" in err and str(costs) in err and err.count("\n") == 1
