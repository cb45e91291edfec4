"""MAESTRO per-layer ``Dataflow { ... }`` blocks are honoured, never ignored (issue 15 item 3)."""

from __future__ import annotations

import dataclasses

import pytest

from costmodel.layer_dataflows import layer_dataflows
from costmodel.table import layer_costs, model_cost_table, system_cost_table
from dse.cli import main
from hardware_db.dataflow import PRESETS
from hardware_db.library import get_accelerator, get_system
from hardware_db.schema import default_array_shape
from rtmm.errors import SpecError
from workloads.importers.maestro import parse_maestro_model

OWN = """
    SpatialMap(1,1) K;
    TemporalMap(64,64) C;     // MAESTRO comments and Sz() sizes
    TemporalMap(Sz(R),Sz(R)) R;
    TemporalMap(Sz(S),Sz(S)) S;
    TemporalMap(Sz(R),1) Y;
    TemporalMap(Sz(S),1) X;
    Cluster(64, P);
    SpatialMap(1,1) C;
    TemporalMap(Sz(R),1) Y;
    TemporalMap(Sz(S),1) X;
    TemporalMap(Sz(R),Sz(R)) R;
    TemporalMap(Sz(S),Sz(S)) S;
"""
NET = """
Network tinydf {{
  Layer c1 {{
    Type: CONV
    Stride {{ X: 2, Y: 2 }}
    Dimensions {{ N: 1, K: 32, C: 3, Y: 66, X: 66, R: 3, S: 3 }}
    Dataflow {{ {own} }}
  }}
  Layer c2 {{
    Type: CONV
    Dimensions {{ N: 1, K: 64, C: 32, Y: 34, X: 34, R: 3, S: 3 }}
    Dataflow {{ {ws} }}
  }}
  Layer c3 {{
    Type: CONV
    Dimensions {{ N: 1, K: 64, C: 64, Y: 34, X: 34, R: 3, S: 3 }}
  }}
}}
"""


def _model(own: str = OWN):
    text = NET.format(own=own, ws=str(PRESETS["WS"]).replace("Y'", "Y'"))
    return parse_maestro_model(text, source="net.m")


def test_blocks_are_read_with_sizes_resolved():
    model = _model()
    assert set(model.layer_dataflows) == {"c1", "c2"}
    assert "TemporalMap(3,3) R" in model.layer_dataflows["c1"]
    assert "Sz" not in model.layer_dataflows["c1"] and "//" not in model.layer_dataflows["c1"]
    flows = layer_dataflows(model)
    assert flows[0].name == "layer:c1" and flows[1].name == "WS"  # a preset is recognised


@pytest.mark.parametrize("where", ["xrbench-4k-K/1", "xrbench-4k-K"])
def test_a_layer_is_costed_with_its_own_dataflow(where):
    model = _model()
    own = layer_dataflows(model)
    if "/" in where:
        accs = [get_accelerator(where)]
        table = model_cost_table(model, accs[0])
    else:
        accs = list(get_system(where).accelerators)
        table = system_cost_table([model], get_system(where))
    for a, acc in enumerate(accs):
        rows = table[table["accelerator"] == a].reset_index(drop=True)
        for i, layer in enumerate(model.layers):
            flow = own.get(i, acc.dataflow)
            shape = default_array_shape(acc.num_pes, flow.directives)
            ref_acc = dataclasses.replace(acc, dataflow=flow, array_shape=shape)
            ref = layer_costs([layer], acc if i not in own else ref_acc)
            assert rows.loc[i, "latency_cycles"] == ref.loc[0, "latency_cycles"]
            assert rows.loc[i, "energy_nj"] == pytest.approx(ref.loc[0, "energy_nj"], rel=1e-12)
            assert rows.loc[i, "dataflow"] == flow.name


def test_own_dataflow_changes_the_cost_and_the_cache_key():
    with_blocks = _model()
    plain = parse_maestro_model(
        NET.replace("Dataflow {{ {own} }}", "").replace("Dataflow {{ {ws} }}", "").format(),
        source="plain.m",
    )
    acc = get_accelerator("eyeriss")
    a = system_cost_table([with_blocks], get_system("xrbench-4k-K"))
    b = system_cost_table([plain], get_system("xrbench-4k-K"))
    assert (a["latency_cycles"] != b["latency_cycles"]).any()
    assert model_cost_table(plain, acc)["dataflow"].tolist() == ["RS"] * 3


def test_bad_directives_and_oversized_clusters_name_the_layer(tmp_path):
    with pytest.raises(SpecError, match=r"net.m: Dataflow of layer 'c1'"):
        layer_dataflows(_model("SpatialMap(1,1) Q;"))
    big = _model(
        "SpatialMap(1,1) K; Cluster(64); SpatialMap(1,1) C; Cluster(64); SpatialMap(1,1) Y;"
    )
    with pytest.raises(SpecError, match=r"layer 'c1' has clusters of 4096 PEs.*eyeriss"):
        model_cost_table(big, get_accelerator("eyeriss"))
    with pytest.raises(SpecError, match="Sz"):
        _model("TemporalMap(Sz(Q),1) Y;")
    with pytest.raises(SpecError, match="empty Dataflow block"):
        _model("  // nothing  ")


def test_cli_costs_with_layer_blocks(tmp_path, capsys):
    path = tmp_path / "net.m"
    path.write_text(NET.format(own=OWN, ws=str(PRESETS["WS"])))
    assert main(["cost", "--model", str(path), "--accelerator", "xrbench-4k-K/1"]) == 0
    out = capsys.readouterr().out
    assert "layer:c1" in out and " WS " in out and " OS " in out
    # a layer's clusters that do not fit the accelerator: one line, exit 2
    assert main(["cost", "--model", str(path), "--accelerator", "eyeriss"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "layer 'c2'" in err and "168" in err
