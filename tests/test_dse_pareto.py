"""Pareto fronts (against a brute-force definition) and the sweep plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dse.pareto import mark_pareto, pareto_front, pareto_mask, parse_objectives
from dse.plots import plot_heatmap, plot_pareto, plot_scenario_scores, plot_timeline
from rtmm.errors import SpecError


def brute_force(values: np.ndarray, maximize: list[bool]) -> np.ndarray:
    costs = values * np.where(maximize, -1.0, 1.0)
    n = len(costs)
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        if np.isnan(costs[i]).any():
            continue
        dominated = False
        for j in range(n):
            if j == i or np.isnan(costs[j]).any():
                continue
            if (costs[j] <= costs[i]).all() and (costs[j] < costs[i]).any():
                dominated = True
                break
        out[i] = not dominated
    return out


def test_two_objectives_by_hand():
    df = pd.DataFrame(
        {"energy_mj": [1.0, 2.0, 3.0, 2.0, 1.0, 4.0], "score": [0.2, 0.5, 0.9, 0.4, 0.1, 0.9]}
    )
    front = pareto_front(df, {"energy_mj": "min", "score": "max"})
    assert list(front.index) == [0, 1, 2]  # sorted by energy, best first
    marked = mark_pareto(df, {"energy_mj": "min", "score": "max"})
    assert list(marked["pareto"]) == [True, True, True, False, False, False]
    # reversed directions give the opposite corner
    assert set(pareto_front(df, {"energy_mj": "max", "score": "min"}).index) == {3, 4, 5}


def test_duplicates_and_nan():
    values = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 0.5], [np.nan, 0.0], [0.5, np.nan]])
    mask = pareto_mask(values, [False, False])
    assert list(mask) == [True, True, True, False, False]


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(*(st.integers(0, 6) for _ in range(3))), min_size=1, max_size=60),
    maximize=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_matches_brute_force_three_objectives(data, maximize):
    values = np.array(data, dtype=float)
    assert (pareto_mask(values, maximize) == brute_force(values, maximize)).all()


def test_large_front_is_fast_and_correct():
    rng = np.random.default_rng(0)
    x = rng.random(20000)
    values = np.stack([x, 1 - x + 0.01 * rng.random(20000)], axis=1)  # a big, noisy front
    mask = pareto_mask(values, [False, False])
    sub = rng.choice(20000, 500, replace=False)
    expected = brute_force(values[sub], [False, False])
    assert (pareto_mask(values[sub], [False, False]) == expected).all()
    assert mask.sum() > 10


def test_objective_errors():
    df = pd.DataFrame({"a": [1.0], "b": [2.0], "s": ["x"]})
    with pytest.raises(SpecError, match="at least two objectives"):
        pareto_front(df, {"a": "min"})
    with pytest.raises(SpecError, match="unknown metric 'c'"):
        pareto_front(df, {"a": "min", "c": "max"})
    with pytest.raises(SpecError, match="bad direction 'up'"):
        pareto_front(df, {"a": "min", "b": "up"})
    with pytest.raises(SpecError, match="not numeric"):
        pareto_front(df, {"a": "min", "s": "max"})
    assert parse_objectives("energy_mj:min, score:max") == {"energy_mj": "min", "score": "max"}
    with pytest.raises(SpecError, match="bad objective"):
        parse_objectives("energy_mj")


# -- plots ----------------------------------------------------------------------------------


@pytest.fixture
def sweep_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for pes in (1024, 2048, 4096):
        for split in (0.25, 0.5, 0.75):
            for seed in range(3):
                rows.append(
                    {"accelerators[*].num_pes": pes, "pe_split": split, "seed": seed,
                     "energy_mj": 1000 / pes + rng.random(), "score": pes / 4096 - abs(split - 0.5)}
                )  # fmt: skip
    return pd.DataFrame(rows)


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pareto_and_heatmap_plots(tmp_path, sweep_frame):
    fig = plot_pareto(sweep_frame, "energy_mj", "score", path=tmp_path / "front.png")
    assert _is_png(tmp_path / "front.png")
    n_front = len(pareto_front(sweep_frame, {"energy_mj": "min", "score": "max"}))
    assert fig.axes[0].get_title().startswith(f"{n_front} of 27 points on the front")
    plot_pareto(sweep_frame, "energy_mj", "score", color_by="pe_split", path=tmp_path / "f.svg")
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    fig = plot_heatmap(sweep_frame, "accelerators[*].num_pes", "pe_split", "score",
                       path=tmp_path / "heat.pdf")  # fmt: skip
    assert (tmp_path / "heat.pdf").read_bytes()[:4] == b"%PDF"
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (3, 3)
    assert image[0, 2] == pytest.approx(1.0 - 0.25)  # split 0.25 (row 0), 4096 PEs (col 2)


def test_scenario_score_bars_figure5_style(tmp_path):
    systems = [f"xrbench-4k-{c}" for c in "ABCDEFGHIJKLM"] + [
        f"xrbench-8k-{c}" for c in "ABCDEFGHIJKLM"
    ]
    scenarios = ["social_interaction_a", "ar_gaming", "vr_gaming"]
    df = pd.DataFrame(
        [{"system": s, "scenario": c, "score": (i % 5) / 5 + j / 10}
         for i, s in enumerate(systems) for j, c in enumerate(scenarios)]
    )  # fmt: skip
    fig = plot_scenario_scores(df, path=tmp_path / "fig5.png")
    assert _is_png(tmp_path / "fig5.png")
    bars = fig.axes[0].patches
    assert len(bars) == 26 * 3
    assert bars[26 + 1].get_height() == pytest.approx(df.loc[1 * 3 + 1, "score"])
    fig = plot_scenario_scores(df, group_by="scenario")
    assert len(fig.axes[0].get_xticklabels()) == 3
    with pytest.raises(SpecError, match="bad group_by"):
        plot_scenario_scores(df, group_by="model")


def test_timeline_plot(tmp_path):
    timeline = pd.DataFrame(
        {"accelerator": [0, 1, 0], "accelerator_name": ["acc0", "acc1", "acc0"],
         "model": ["ES", "GE", "HT"], "dispatch_ms": [0.0, 1.0, 5.0],
         "completion_ms": [4.0, 3.0, 9.0]}
    )  # fmt: skip
    fig = plot_timeline(timeline, path=tmp_path / "gantt.png")
    assert _is_png(tmp_path / "gantt.png")
    (blocks,) = fig.axes[0].collections  # one collection: a compound path per model
    assert sum(len(path.vertices) for path in blocks.get_paths()) == 3 * 5
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["acc0", "acc1"]


def test_plot_errors(tmp_path, sweep_frame):
    with pytest.raises(SpecError, match="no column 'uxcost'"):
        plot_pareto(sweep_frame, "energy_mj", "uxcost")
    with pytest.raises(SpecError, match="unknown figure format '.jpgx'"):
        plot_pareto(sweep_frame, "energy_mj", "score", path=tmp_path / "x.jpgx")
    assert not list(tmp_path.iterdir())  # nothing half-written
