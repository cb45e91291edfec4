"""``rtmm compare``: outputs on a tiny setting, reductions, argument errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dse import compare
from dse.cli import main
from scheduler.metrics import V_FLOOR

pytest.importorskip("costmodel.table")


def test_compare_tiny_writes_runs_and_reductions(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(
        [
            "compare", "--scenarios", "vr_gaming", "--systems", "xrbench-4k-J",
            "--policies", "edf,sdrm3", "--seeds", "0", "--horizon-ms", "150",
            "--jobs", "1", "--quiet", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    runs = pd.read_csv(out / "runs.csv")
    expected = [
        "scenario", "system", "policy", "seed", "uxcost", "score", "miss_rate", "drop_rate",
        "energy_mj", "e_norm", "v",
    ]  # fmt: skip
    assert list(runs.columns[: len(expected)]) == expected
    assert len(runs) == 2 and set(runs.policy) == {"edf", "sdrm3"}
    assert np.allclose(runs.uxcost, runs.e_norm * (runs.v + V_FLOOR))
    red = pd.read_csv(out / "reductions.csv")
    assert list(red.columns[:3]) == ["baseline", "system", "geomean_uxcost_reduction"]
    assert list(red.baseline) == ["edf"] and list(red.system) == ["xrbench-4k-J"]
    ux = runs.set_index("policy").uxcost
    assert red.geomean_uxcost_reduction.iloc[0] == pytest.approx(1 - ux["sdrm3"] / ux["edf"])
    for name in ("summary.csv", "tuner.csv", "uxcost_xrbench-4k-J.png", "tuner_convergence.png"):
        assert (out / name).stat().st_size > 0
    assert list(out.glob("gantt_vr_gaming_xrbench-4k-J.png"))
    text = capsys.readouterr().out
    assert "best fair baseline per scenario" in text and "edf" in text
    scen = pd.read_csv(out / "scenarios.csv")
    assert list(scen.best_baseline) == ["edf"] and scen.seeds.iloc[0] == 1
    assert scen.reduction.iloc[0] == pytest.approx(1 - ux["sdrm3"] / ux["edf"])
    assert {"ideal_load", "ci_low", "ci_high", "starved_sdrm3"} <= set(scen.columns)


def test_reductions_pair_runs_by_scenario_and_seed():
    rows = []
    for seed, (a, b) in enumerate([(1.0, 4.0), (2.0, 2.0)]):
        rows.append(dict(scenario="s", system="x", policy="sdrm3", seed=seed, uxcost=a, score=0.5))
        rows.append(dict(scenario="s", system="x", policy="edf", seed=seed, uxcost=b, score=0.4))
    red = compare.reductions(pd.DataFrame(rows))
    # geomean of (1/4, 2/2) = 0.5
    assert red.geomean_uxcost_reduction.iloc[0] == pytest.approx(0.5)
    assert red.points.iloc[0] == 2


def test_compare_defaults_cover_all_baselines_and_sdrm3_variants():
    pols = compare.default_policies()
    baselines = ("fcfs", "round_robin", "edf", "edf_admission", "edf_split", "latency_greedy",
                 "edp_greedy")  # fmt: skip
    for name in (*baselines, "sdrm3"):
        assert name in pols
    assert {"sdrm3_static", "sdrm3_supernet"} <= set(pols)
    cfg = compare.CompareConfig()
    assert len(cfg.seeds) >= 5 and set(cfg.systems) == {"xrbench-4k-J", "xrbench-8k-J"}


@pytest.mark.parametrize(
    "args",
    [
        ["--policies", "nope"],
        ["--scenarios", "nope"],
        ["--systems", "nope"],
        ["--seeds", "a,b"],
        ["--horizon-ms", "0"],
        ["--jobs", "0"],
    ],
)
def test_compare_bad_arguments_are_one_line_errors(tmp_path, capsys, args):
    code = main(["compare", "--quiet", "--out", str(tmp_path / "o"), *args])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rtmm: error:") and "\n" not in err
    assert not (tmp_path / "o" / "runs.csv").exists()


def test_geomean_refuses_zero_or_nan_points():
    from rtmm.errors import RtmmError
    from scheduler.metrics import geomean

    assert geomean([1.0, 4.0]) == pytest.approx(2.0)
    for bad in ([1.0, 0.0], [1.0, float("nan")], []):
        with pytest.raises(RtmmError, match="geometric mean"):
            geomean(bad)


def test_best_fair_baseline_and_bootstrap_ci():
    from dse.compare_stats import scenario_comparison

    rows = []
    for seed in range(6):
        pols = (("sdrm3", 1.0 + 0.1 * seed), ("edf", 2.0), ("llf", 1.5 + 0.1 * seed))
        for policy, ux in (*pols, ("edf@published", 0.5)):
            rows.append(
                dict(scenario="s", system="x", policy=policy, seed=seed, uxcost=ux, score=0.5,
                     miss_rate=0.0, drop_rate=0.1, starved_models="")
            )  # fmt: skip
    c = scenario_comparison(pd.DataFrame(rows))
    assert c.best_baseline.iloc[0] == "llf"  # never an "as published" run
    assert c.ci_low.iloc[0] <= c.reduction.iloc[0] <= c.ci_high.iloc[0]
    assert 0 < c.reduction.iloc[0] < 0.5


def test_compare_costs_a_scenario_files_own_models(tmp_path):
    """A scenario entry with a model file runs that file's layers in compare too (not the zoo
    model of the same name), with each layer's input size attached for the migration cost."""
    from dse.compare_points import cost_arrays
    from hardware_db.library import get_system
    from workloads import scenario as scenario_lib

    (tmp_path / "tiny.csv").write_text(
        "name,type,N,K,C,Y,X,R,S\nc1,CONV,1,4,3,8,8,3,3\nc2,CONV,1,4,4,6,6,3,3\n"
    )
    (tmp_path / "s.yaml").write_text(
        "name: own\nmodels:\n  - {model: ES_RITNet, file: tiny.csv, fps: 30}\n"
        "  - {model: GE_FBNet_C, fps: 30}\n"
    )
    scenario = scenario_lib.load(tmp_path / "s.yaml")
    arrays = cost_arrays(scenario, get_system("xrbench-4k-J"), "maestro")
    es, ge = (m.variants[0] for m in arrays.models)
    assert es.num_layers == 2  # the file's two layers, not the zoo's 42
    assert list(es.input_words) == [3 * 8 * 8, 4 * 6 * 6]
    assert ge.num_layers == 63


def test_compare_names_outputs_after_file_stems_and_records_the_analysis(tmp_path, capsys):
    """A scenario file is shown by its stem (rows and figure names), the banner and run.json name
    the engine and the cost analysis."""
    import json

    (tmp_path / "my-scn.yaml").write_text(
        "name: mine\nmodels:\n  - {model: KD_res8_narrow, fps: 10}\n"
    )
    out = tmp_path / "o"
    args = ["compare", "--quiet", "--out", str(out), "--scenarios", str(tmp_path / "my-scn.yaml"),
            "--systems", "xrbench-4k-J", "--policies", "edf,sdrm3", "--seeds", "1",
            "--horizon-ms", "200"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "engine: native (layer-block dispatch); cost analysis: native" in printed
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["scenario"]) == {"my-scn"} and set(runs["system"]) == {"xrbench-4k-J"}
    assert (out / "uxcost_xrbench-4k-J.png").is_file()
    assert (out / "gantt_my-scn_xrbench-4k-J.png").is_file()
    info = json.loads((out / "run.json").read_text())
    assert info["cost_analysis"] == "native" and info["engine"].startswith("native")


def test_compare_refuses_two_specs_with_one_name(tmp_path, capsys):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "s.yaml").write_text("models:\n  - {model: KD_res8_narrow, fps: 10}\n")
    code = main(["compare", "--quiet", "--out", str(tmp_path / "o"), "--scenarios",
                 f"{tmp_path / 'a' / 's.yaml'},{tmp_path / 'b' / 's.yaml'}"])  # fmt: skip
    assert code == 2
    assert "same name" in capsys.readouterr().err
