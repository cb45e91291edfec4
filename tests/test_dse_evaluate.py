"""Evaluating design points with the real hardware library, scenarios and simulator.

Cost tables come from ``costmodel.table.system_cost_table`` when it is installed; otherwise a
MAC-proportional stand-in with the same columns is put in its place, so that the glue between
hardware, cost table and simulator is still exercised.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import dse
from dse import evaluate
from dse.evaluate import area_metrics, check_spec, evaluate_point
from dse.executors import LocalExecutor, SerialExecutor
from dse.runner import run_sweep
from dse.sweep import expand, load_spec, parse_spec
from rtmm.errors import SpecError, UnknownNameError


def _stand_in_cost_table(models, system, analysis="maestro"):
    rows = []
    for model in models:
        for a, acc in enumerate(system.accelerators):
            speed = acc.num_pes * (0.6 if acc.dataflow.name == "WS" else 0.4)
            for i, layer in enumerate(model.layers):
                macs = max(1, abs(layer.macs))
                energy = macs * 0.00288 * 3 * (1 + 2**20 / acc.l2_bytes)
                rows.append((model.name, i, layer.name, a, acc.name,
                             int(np.ceil(macs / speed)) + 100, energy))  # fmt: skip
    cols = ["model", "layer_idx", "layer", "accelerator", "accelerator_name", "latency_cycles",
            "energy_nj"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


@pytest.fixture
def cost_stack():
    """Empty the evaluator's caches before and after a test (cold, independent runs)."""
    for fn in (evaluate._scenario_costs, evaluate.point_system):
        fn.cache_clear()
    yield "real"
    for fn in (evaluate._scenario_costs, evaluate.point_system):
        fn.cache_clear()


def _spec(**overrides):
    data = {
        "base_system": "xrbench-4k-J",
        "axes": {"pe_split": [0.25, 0.5], "accelerators[*].l2_bytes": [1048576, 4194304]},
        "scenarios": ["vr_gaming", "ar_gaming"],
        "policies": ["latency_greedy"],
        "seeds": [0],
    }
    data.update(overrides)
    return parse_spec(data, source="sweep.yaml")


def test_area_metrics_xrbench_style_a():
    from hardware_db.library import get_system

    m = area_metrics(get_system("xrbench-4k-A"))
    assert m["total_pes"] == 4096
    assert m["l1_bytes_total"] == 4096 * 8192
    assert m["l2_bytes_total"] == 4 * 2**20
    assert m["area_proxy_pe_eq"] == pytest.approx(4096 + (4096 * 8192 + 4 * 2**20) / 40)
    m8 = area_metrics(get_system("xrbench-8k-D"))
    assert m8["area_proxy_pe_eq"] > m["area_proxy_pe_eq"]


def test_evaluate_point_matches_a_direct_simulation(cost_stack):
    from hardware_db.library import get_system
    from scheduler import build_costs, simulate
    from workloads import scenario

    spec = _spec()
    point = next(p for p in expand(spec) if p.scenario == "vr_gaming")
    metrics = evaluate_point(point)
    for key in ("score", "uxcost", "e_norm", "v", "miss_rate", "drop_rate", "energy_mj",
                "area_proxy_pe_eq", "released"):  # fmt: skip
        assert key in metrics
    assert 0.0 <= metrics["score"] <= 1.0 and metrics["energy_mj"] > 0
    # the same run by hand
    system = evaluate.apply_hardware(get_system("xrbench-4k-J"), point.hardware)
    assert system.accelerators[0].num_pes == 1024 and system.accelerators[1].l2_bytes == 2**20
    sc = scenario.load("vr_gaming")
    table = evaluate.scenario_cost_table(sc, system, "maestro")  # the xrbench-mode default
    costs = build_costs(sc, system, table)
    result = simulate(sc, system, "latency_greedy", costs=costs, xrbench_compatible=True, seed=0)
    row = result.summary().set_index("model").loc[""]
    assert metrics["score"] == row["score"] and metrics["uxcost"] == row["uxcost"]
    assert evaluate_point(point) == metrics  # deterministic (and served from the caches)


def test_check_spec_fails_fast_with_named_errors(cost_stack):
    check_spec(_spec())
    with pytest.raises(UnknownNameError, match="scenario"):
        check_spec(_spec(scenarios=["vr_gaming", "moon_landing"]))
    with pytest.raises(UnknownNameError, match="unknown policy 'sdrm9'"):
        check_spec(_spec(policies=["sdrm9"]))
    with pytest.raises(SpecError) as err:
        check_spec(_spec(axes={"accelerators[*].num_pes": [64, 1024]}))
    text = str(err.value)
    assert text.startswith(
        "sweep.yaml [base_system=xrbench-4k-J, accelerators[*].num_pes=64]: "
        "accelerators[0].dataflow"
    )
    assert "exceed num_pes 64" in text
    with pytest.raises(SpecError, match="pe_split needs a two-accelerator system"):
        check_spec(_spec(base_system="xrbench-4k-A", axes={"pe_split": [0.5]}))


def test_tiny_real_sweep_local_equals_serial(cost_stack, tmp_path):
    spec = _spec(policies=["latency_greedy", "edf"], modes=["xrbench", "native"])
    serial = tmp_path / "serial.sqlite"
    report = run_sweep(spec, serial, executor=SerialExecutor(), progress=False)
    assert report.total_points == 32
    frame = dse.load(serial)
    # edf has no XRBench-compatible mode: those points are error rows, the rest have metrics
    bad = frame[(frame["policy"] == "edf") & (frame["mode"] == "xrbench")]
    assert len(bad) == 8 and (bad["status"] == "error").all()
    assert bad["error"].str.contains("no XRBench-compatible mode").all()
    good = frame[frame["status"] == "ok"]
    assert len(good) == 24 and good["score"].notna().all()
    # a bigger L2 never costs more energy in the stand-in / maestro setting, all else equal
    keys = ["pe_split", "scenario", "mode", "policy", "seed"]
    by_l2 = good.pivot_table(index=keys, columns="accelerators[*].l2_bytes", values="energy_mj")
    assert (by_l2[4194304] <= by_l2[1048576] + 1e-9).all()
    local = tmp_path / "local.sqlite"
    with LocalExecutor(2) as ex:
        run_sweep(spec, local, executor=ex, batch_size=3, progress=False)
    pd.testing.assert_frame_equal(dse.load(local), frame)


REAL_SPEC = """\
base_system: xrbench-4k-J
axes:
  pe_split: [0.25, 0.5, 0.75]
  accelerators[1].dataflow: [OS, RS]
scenarios: [vr_gaming, ar_gaming, social_interaction_b]
policies: [latency_greedy, edp_greedy]
modes: xrbench
seeds: {start: 0, stop: 9, step: 1}
"""


def test_real_sweep_killed_and_resumed_equals_uninterrupted(tmp_path):
    pytest.importorskip("costmodel.table")
    import os
    import signal
    import subprocess
    import time

    from test_dse_runner import _count, _env

    spec_path = tmp_path / "real.yaml"
    spec_path.write_text(REAL_SPEC)
    total = 3 * 2 * 3 * 2 * 10
    reference = tmp_path / "reference.sqlite"
    spec = load_spec(spec_path)
    assert spec.num_points == total
    with LocalExecutor(2) as ex:
        run_sweep(spec, reference, executor=ex, progress=False)
    store = tmp_path / "killed.sqlite"
    cmd = [sys.executable, "-m", "dse.cli", "sweep", str(spec_path), "--store", str(store),
           "--workers", "2", "--batch-size", "2", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=_env(), stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _count(store) < 20:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 of the sweep and its workers
        proc.communicate()
    done = _count(store)
    assert 20 <= done < total
    resumed = subprocess.run(cmd + ["--resume"], env=_env(), capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(dse.load(store), dse.load(reference))
    assert (dse.load(store)["status"] == "ok").all()


def test_figure5_sweep_reproduces_published_xrbench_scores(golden_data, tmp_path):
    """A sweep over the 13 XRBench 4K systems reproduces XRBench's published Figure-5 scores."""
    pytest.importorskip("costmodel.table")
    from dse.plots import plot_scenario_scores

    published = pd.read_csv(golden_data / "xrbench_fig5_4k_published.csv")
    systems = sorted(published["system"].unique())
    assert len(systems) == 13
    spec = parse_spec(
        {
            "base_system": systems,
            "scenarios": sorted(published["scenario"].unique()),
            "policies": "latency_greedy",
            "modes": "xrbench",
        },
        source="figure5.yaml",
    )
    store = tmp_path / "fig5.sqlite"
    with LocalExecutor(2) as ex:
        report = run_sweep(spec, store, executor=ex, progress=False)
    assert report.computed == len(published) and report.errors == 0
    ours = dse.load(store).rename(columns={"base_system": "system"})
    both = published.merge(ours, on=["system", "scenario"], suffixes=("_published", ""))
    assert len(both) == len(published)
    assert np.allclose(both["score"], both["score_published"], rtol=0, atol=1e-6)
    assert np.allclose(both["rt"], both["rt_mean"], rtol=0, atol=1e-6)
    fig = plot_scenario_scores(ours, system="system", path=tmp_path / "fig5.png")
    assert len(fig.axes[0].patches) == len(published)


def test_timeline_of_a_point(cost_stack, tmp_path):
    from dse.plots import plot_timeline

    point = next(iter(expand(_spec())))
    result = evaluate.simulate_point(point)
    fig = plot_timeline(result, path=tmp_path / "gantt.png")
    (blocks,) = fig.axes[0].collections  # one collection: a compound path per model
    rectangles = sum(len(path.vertices) for path in blocks.get_paths()) // 5
    assert rectangles == len(result.timeline) > 0
    assert (tmp_path / "gantt.png").stat().st_size > 1000


def test_cascade_probability_axis_changes_vr_gaming(cost_stack):
    spec = _spec(
        axes={}, scenarios=["vr_gaming", "ar_gaming"], cascade_probabilities=[0.25, 1.0],
        seeds=[3],
    )  # fmt: skip
    points = list(expand(spec))
    assert [(p.scenario, p.cascade_probability) for p in points] == [
        ("vr_gaming", 0.25), ("vr_gaming", 1.0), ("ar_gaming", 0.25), ("ar_gaming", 1.0),
    ]  # fmt: skip
    assert points[0].flat_params()["cascade_probability"] == 0.25
    assert "cascade_probability" not in next(iter(expand(_spec()))).params()
    sc = evaluate.point_scenario("vr_gaming", 0.25)
    assert {m.model_id: m.probability for m in sc.models if m.parent} == {"GE_FBNet_C": 0.25}
    m = [evaluate_point(p) for p in points]
    # fewer GE frames are triggered at p = 0.25; ar_gaming has no cascade and does not change
    assert m[0]["not_triggered"] > 0 and m[1]["not_triggered"] == 0
    assert m[0]["released"] < m[1]["released"]
    assert m[2] == m[3]
    with pytest.raises(SpecError, match="must be <= 1, got 1.5") as err:
        _spec(cascade_probabilities=[0.5, 1.5])
    assert str(err.value).startswith("sweep.yaml: cascade_probabilities: ")
