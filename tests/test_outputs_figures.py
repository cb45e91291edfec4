"""Figures read as a reviewer reads them, and what every run output says produced it (issue 15).

The tests inspect the Figure objects: titles, axis labels, legend texts, annotations.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dse.cli import main
from dse.plots import design_columns, plot_pareto
from scheduler.outputs import draw_blocks, gantt_labels, plot_gantt, plot_scores
from scheduler.result import FRAME_COLUMNS, SimulationResult


def _result(end_ms: float = 100.0) -> SimulationResult:
    """Two accelerators, models A and B ran, C was released 3 times and never ran (starved),
    D is a cascade child never triggered."""
    blocks = [  # accelerator, model, frame, dispatch, completion
        (0, "A", 0, 0.0, 10.0), (1, "B", 0, 2.0, 30.0), (0, "A", 1, 50.0, 60.0),
        (0, "A", 2, 90.0, 99.0),
    ]  # fmt: skip
    timeline = pd.DataFrame(
        [
            {"accelerator": a, "accelerator_name": f"acc{a}", "model": m, "frame": f,
             "block": 0, "first_layer": 0, "n_layers": 1, "release_ms": d, "dispatch_ms": d,
             "deadline_ms": d + 20, "completion_ms": c, "energy_nj": 1.0}
            for a, m, f, d, c in blocks
        ]
    )  # fmt: skip
    rows = [("A", f, "on_time", 50.0 * f / 1.5) for f in range(3)]
    rows += [("B", 0, "late", 0.0), ("B", 1, "dropped", 50.0)]
    rows += [("C", f, "dropped", 33.0 * f) for f in range(3)]
    rows += [("D", 0, "not_triggered", 0.0)]
    frames = pd.DataFrame({c: np.nan for c in FRAME_COLUMNS}, index=range(len(rows)))
    frames["model"] = [r[0] for r in rows]
    frames["frame"] = [r[1] for r in rows]
    frames["status"] = [r[2] for r in rows]
    frames["release_ms"] = [r[3] for r in rows]
    frames["deadline_ms"] = frames["release_ms"] + 20
    return SimulationResult(
        scenario="scn", system="sys", policy="fcfs", mode="native", horizon_ms=end_ms, seed=0,
        model_ids=("A", "B", "C", "D"), periods_ms=(33.3, 50.0, 33.0, 33.0),
        accelerator_names=("acc0", "acc1"), frames=frames, timeline=timeline, end_ms=end_ms,
    )  # fmt: skip


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_gantt_whole_run_labels_and_legend():
    fig = plot_gantt(_result(), analysis="maestro")
    (ax,) = fig.axes
    assert "whole run, 100 ms" in ax.get_title()
    assert "engine: native (layer-block dispatch)" in ax.get_title()
    assert "cost analysis: maestro" in ax.get_title()
    assert ax.get_xlabel() == "simulated time (ms)" and ax.get_ylabel() == "accelerator"
    texts = _legend_texts(ax)
    assert "C: starved (0 of 3 frames)" in texts
    assert "D: never triggered (0 frames)" in texts
    assert "A (3 of 3 frames ran)" in texts and "B (1 of 2 frames ran)" in texts
    assert any("deadline" in t for t in texts)
    # one collection holds every block: 3 of A and 1 of B as two compound paths
    (blocks,) = ax.collections
    assert sum(len(p.vertices) for p in blocks.get_paths()) == 4 * 5


def test_gantt_window_is_stated():
    fig = plot_gantt(_result(), max_ms=40.0)
    (ax,) = fig.axes
    assert "first 40 of 100 ms" in ax.get_title()
    assert ax.get_legend().get_title().get_text() == "frame counts: whole run"
    assert ax.get_xlim() == (0.0, 40.0)
    (blocks,) = ax.collections  # blocks starting after the window are not drawn
    assert sum(len(p.vertices) for p in blocks.get_paths()) == 2 * 5


def test_gantt_labels_match_frame_counts():
    labels = gantt_labels(_result())
    assert labels["C"].endswith("starved (0 of 3 frames)")


def test_draw_blocks_of_an_empty_timeline_draws_nothing():
    from scheduler.outputs import new_figure

    ax = new_figure((4, 2)).subplots()
    draw_blocks(ax, _result().timeline.iloc[:0], {})
    assert not ax.collections


def test_scores_axes_are_labelled():
    summary = pd.DataFrame(
        {"model": ["A", ""], "rt": [1.0, 0.5], "en": [0.5, 0.5], "qoe": [1.0, 1.0],
         "score": [0.5, 0.25]}
    )  # fmt: skip
    fig = plot_scores(summary, title="t")
    (ax,) = fig.axes
    assert "score" in ax.get_ylabel() and "0-1" in ax.get_ylabel()
    assert ax.get_xlabel().startswith("model")
    assert _legend_texts(ax) == ["real-time (RT)", "energy (EN)", "QoE", "XRBench score"]


@pytest.fixture
def sweep() -> pd.DataFrame:
    rows = []
    for scenario in ("vr_gaming", "ar_gaming"):
        for pes in (1024, 2048, 4096):
            for split in (0.25, 0.5, 0.75):
                rows.append(
                    {"seq": len(rows), "status": "ok", "scenario": scenario,
                     "accelerators[*].num_pes": pes, "pe_split": split,
                     "energy_mj": 1000 / pes + split, "score": pes / 4096 - abs(split - 0.5)}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_pareto_points_carry_their_design_parameters(sweep):
    one = sweep[sweep["scenario"] == "vr_gaming"]
    fig = plot_pareto(one, "energy_mj", "score", filtered_on="scenario=vr_gaming")
    (ax,) = fig.axes
    assert "filtered on scenario=vr_gaming" in ax.get_title()
    assert ax.get_legend().get_title().get_text() == "filtered on scenario=vr_gaming"
    notes = [t.get_text() for t in ax.texts]
    assert notes and all("accelerators[*].num_pes=" in n and "pe_split=" in n for n in notes)
    assert not any("seq=" in n or "status=" in n for n in notes)
    assert design_columns(one, exclude=("energy_mj", "score")) == [
        "accelerators[*].num_pes",
        "pe_split",
    ]


def test_unfiltered_pareto_says_what_it_mixes(sweep):
    fig = plot_pareto(sweep, "energy_mj", "score", annotate=["pe_split"])
    (ax,) = fig.axes
    assert "unfiltered: mixes 2 scenarios" in ax.get_title()
    assert all(t.get_text().startswith("pe_split=") for t in ax.texts)


def test_simulate_default_out_and_run_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scn = tmp_path / "my-scn2.yaml"
    scn.write_text("models:\n  - {model: KD_res8_narrow, fps: 10}\n")
    argv = ["simulate", "--scenario", str(scn), "--system", "xrbench-4k-J", "--horizon-ms", "200"]
    assert main([*argv, "--analysis", "native", "--no-plots"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "results" / "simulate" / "my-scn2_xrbench-4k-J_latency_greedy"
    assert str(folder.relative_to(tmp_path)) in out
    assert "engine: native (layer-block dispatch)" in out and "cost analysis: native" in out
    run = json.loads((folder / "run.json").read_text())
    assert run["cost_analysis"] == "native" and run["scenario"] == "my-scn2"
    assert run["engine"].startswith("native") and run["horizon_ms"] == 200
    assert (folder / "summary.csv").is_file()


def test_sweep_banner_names_analysis_and_engine():
    from dse.sweep import parse_spec
    from dse.sweep_cli import what_produced

    base = {"base_system": "xrbench-4k-J", "scenarios": "vr_gaming", "policies": "fcfs"}
    assert what_produced(parse_spec(base)) == (
        "cost analysis: maestro (default); engine: xrbench-compatible (whole-model dispatch)"
    )
    both = parse_spec({**base, "analysis": ["native"], "modes": "native"})
    assert what_produced(both) == "cost analysis: native; engine: native (layer-block dispatch)"
