"""The one pipeline (resolve -> cost -> simulate -> score) runs a scenario file's OWN models.

Each entry point (the ``scheduler.simulate`` API, ``rtmm simulate``, a sweep point) is checked on a
YAML entry with ``file:`` (CSV and ONNX), an XRBench ``.m`` scenario whose network shares a zoo
name, and a network whose name is not in the zoo: the frames' energies must be those of the
file's layers, costed independently with :func:`costmodel.table.model_cost_table`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from costmodel.table import model_cost_table
from dse import evaluate
from dse.cli import main
from dse.sweep import expand, parse_spec
from hardware_db.library import get_system
from scheduler import pipeline, simulate
from workloads import scenario as scenario_lib
from workloads import zoo

SYSTEM = "xrbench-4k-J"
TINY_CSV = "name,type,N,K,C,Y,X,R,S\nc1,CONV,1,4,3,8,8,3,3\nc2,CONV,1,4,4,6,6,3,3\n"
ONE_LAYER_M = """Network {name} {{
  FPS: 30
  Layer L1 {{
    Type: CONV
    Dimensions {{ K: 8, C: 3, R: 3, S: 3, Y: 16, X: 16 }}
  }}
}}
Network GE_FBNet_C {{
  FPS: 30
  Dependency {{ {name} }}
  Layer G1 {{
    Type: CONV
    Dimensions {{ K: 4, C: 3, R: 3, S: 3, Y: 8, X: 8 }}
  }}
}}
"""


def per_accelerator_energy_nj(model) -> np.ndarray:
    """Whole-model energy of ``model`` on each accelerator of SYSTEM, costed independently."""
    system = get_system(SYSTEM)
    return np.array(
        [model_cost_table(model, acc)["energy_nj"].sum() for acc in system.accelerators]
    )


def assert_runs_model(frames: pd.DataFrame, model_id: str, model) -> None:
    """Every completed frame of ``model_id`` cost the energy of ``model`` on one accelerator."""
    done = frames[(frames["model"] == model_id) & frames["completion_ms"].notna()]
    assert len(done) > 0
    expected = per_accelerator_energy_nj(model)
    for value in done["energy_nj"]:
        assert np.isclose(expected, value, rtol=1e-9).any(), (value, expected)


@pytest.fixture
def yaml_csv_scenario(tmp_path):
    (tmp_path / "tiny.csv").write_text(TINY_CSV)
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nmodels:\n  - {model: ES_RITNet, file: tiny.csv, fps: 30}\n")
    return path


@pytest.fixture
def m_scenario_zoo_name(tmp_path):
    path = tmp_path / "own.m"
    path.write_text(ONE_LAYER_M.format(name="ES_RITNet"))
    return path


@pytest.fixture
def m_scenario_unknown_name(tmp_path):
    path = tmp_path / "novel.m"
    path.write_text(ONE_LAYER_M.format(name="my_net"))
    return path


def test_yaml_file_entry_runs_the_files_layers(yaml_csv_scenario):
    sc = scenario_lib.load(yaml_csv_scenario)
    system = get_system(SYSTEM)
    arrays = pipeline.cost_arrays(sc, system)
    assert arrays.models[0].model_id == "ES_RITNet"
    assert arrays.models[0].full.latency_cycles.shape == (2, 2)  # 2 layers, not the zoo's 42
    assert len(zoo.load("ES_RITNet").layers) > 2
    table = pipeline.cost_table(sc, system)
    assert set(table["model"]) == {"ES_RITNet"} and len(table) == 4
    result = simulate(yaml_csv_scenario, SYSTEM, xrbench_compatible=True, horizon_ms=200)
    assert_runs_model(result.frames, "ES_RITNet", sc["ES_RITNet"].model)


def test_m_scenario_runs_its_networks_not_the_zoo_models(m_scenario_zoo_name):
    sc = scenario_lib.load(m_scenario_zoo_name)
    models = pipeline.scenario_models(sc)
    assert [len(m.layers) for m in models] == [1, 1]
    for xrb in (True, False):
        result = simulate(m_scenario_zoo_name, SYSTEM, xrbench_compatible=xrb, horizon_ms=200)
        assert_runs_model(result.frames, "ES_RITNet", models[0])
        assert_runs_model(result.frames, "GE_FBNet_C", models[1])


def test_network_not_in_the_zoo(m_scenario_unknown_name):
    assert not zoo.is_known("my_net")
    evaluation = pipeline.evaluate(
        m_scenario_unknown_name, SYSTEM, options=pipeline.RunOptions(horizon_ms=200)
    )
    assert evaluation.result.model_ids == ("my_net", "GE_FBNet_C")
    assert evaluation.metrics["released"] > 0 and 0.0 <= evaluation.metrics["score"] <= 1.0
    sc = scenario_lib.load(m_scenario_unknown_name)
    assert_runs_model(evaluation.result.frames, "my_net", sc["my_net"].model)


def test_onnx_file_entry(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.zeros((8, 3, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1] * 4)],
        "tinynet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        [weights],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "tiny.onnx"))
    path = tmp_path / "onnx.yaml"
    path.write_text("name: o\nmodels:\n  - {model: tiny, file: tiny.onnx, fps: 30}\n")
    sc = scenario_lib.load(path)
    result = simulate(path, SYSTEM, horizon_ms=200)
    assert_runs_model(result.frames, "tiny", sc["tiny"].model)


def test_cli_simulate_runs_the_files_models(m_scenario_zoo_name, yaml_csv_scenario, tmp_path):
    for path in (m_scenario_zoo_name, yaml_csv_scenario):
        out = tmp_path / f"out_{path.stem}"
        code = main(
            ["simulate", "--scenario", str(path), "--system", SYSTEM, "--xrbench-compatible",
             "--horizon-ms", "200", "--no-plots", "--out", str(out)]
        )  # fmt: skip
        assert code == 0
        frames = pd.read_csv(out / "frames.csv")
        sc = scenario_lib.load(path)
        assert_runs_model(frames, "ES_RITNet", sc["ES_RITNet"].model)


def test_sweep_point_runs_the_files_models(m_scenario_zoo_name, m_scenario_unknown_name):
    spec = parse_spec(
        {
            "base_system": SYSTEM,
            "scenarios": [str(m_scenario_zoo_name), str(m_scenario_unknown_name)],
            "policies": ["latency_greedy"],
            "horizon_ms": 200,
        },
        source="sweep.yaml",
    )
    evaluate.check_spec(spec)
    for point in expand(spec):
        sc = scenario_lib.load(point.scenario)
        first = sc.models[0]
        result = evaluate.simulate_point(point)
        assert_runs_model(result.frames, first.model_id, first.model)
        direct = pipeline.evaluate(
            sc, SYSTEM, options=pipeline.RunOptions(xrbench_compatible=True, horizon_ms=200)
        )
        metrics = evaluate.evaluate_point(point)
        assert metrics["score"] == direct.metrics["score"]
        assert metrics["energy_mj"] == direct.metrics["energy_mj"]


def test_score_is_the_summary_scenario_row():
    result = pipeline.run("vr_gaming", SYSTEM, options=pipeline.RunOptions(horizon_ms=100))
    row = result.summary().set_index("model").loc[""]
    metrics = pipeline.score(result)
    assert metrics["score"] == row["score"] and metrics["uxcost"] == row["uxcost"]
    assert isinstance(metrics["released"], int)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"seed": -1}, "seed"), ({"horizon_ms": 0.0}, "horizon_ms"), ({"jitter_ms": -1}, "jitter")],
)
def test_run_options_are_checked(kwargs, match):
    from rtmm.errors import SimulationError

    with pytest.raises(SimulationError, match=match):
        pipeline.RunOptions(**kwargs)


def test_supernets_add_sub_networks_of_zoo_models_only(m_scenario_zoo_name):
    from workloads import supernet

    system = get_system(SYSTEM)
    zoo_sc = scenario_lib.load("vr_gaming")
    arrays = pipeline.cost_arrays(zoo_sc, system, supernets=True)
    for m in arrays.models:
        expected = len(supernet.variants(m.model_id)) if supernet.has_variants(m.model_id) else 1
        assert len(m.variants) == expected
    assert any(len(m.variants) > 1 for m in arrays.models)
    # the .m file's GE_FBNet_C is its own one-layer network: no zoo sub-networks attached
    own = pipeline.cost_arrays(scenario_lib.load(m_scenario_zoo_name), system, supernets=True)
    assert [len(m.variants) for m in own.models] == [1, 1]
    assert supernet.has_variants("GE_FBNet_C")
