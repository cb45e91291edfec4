"""Cost tables, the analysis registry, caching and the ``rtmm cost`` CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from costmodel import analyses, cache, table
from costmodel.batch import LayerBatch
from costmodel.maestro import analyse_layers, maestro_dims
from dse.cli import main
from hardware_db.library import get_accelerator, get_system
from rtmm.errors import CostModelError, RtmmError, UnknownNameError
from workloads import zoo
from workloads.layer import Layer, OpType

CONTRACT = ("model", "layer_idx", "layer", "accelerator", "accelerator_name", "latency_cycles")


def test_model_cost_table_columns_and_numbers():
    frame = table.model_cost_table("ASR_EM_24L", "xrbench-4k-A/0")
    assert list(frame.columns) == list(table.COST_COLUMNS)
    assert frame.latency_cycles.dtype == np.int64 and frame.energy_nj.dtype == np.float64
    assert len(frame) == len(zoo.load("ASR_EM_24L").layers)
    first = frame.iloc[0]
    assert (first.layer, first.latency_cycles, first.computations) == ("fc1", 524_288, 536_867_840)
    assert first.energy_nj == pytest.approx(5_116_467.216384, rel=1e-12)
    assert first.latency_s == pytest.approx(524_288e-9)
    assert (frame.accelerator == 0).all() and (frame.model == "ASR_EM_24L").all()


def test_system_cost_table_rows_order_and_cache():
    cache.clear()
    system = get_system("xrbench-4k-J")  # WS + OS
    models = ["KD_res8_narrow", "ES_RITNet"]
    frame = table.system_cost_table(models, system)
    n_layers = sum(len(zoo.load(m).layers) for m in models)
    assert len(frame) == n_layers * len(system.accelerators)
    assert set(CONTRACT) <= set(frame.columns)
    assert frame.model.iloc[0] == "KD_res8_narrow" and frame.model.iloc[-1] == "ES_RITNet"
    assert frame.accelerator.tolist()[:4] == [0, 1, 0, 1]
    assert not frame.duplicated(["model", "layer_idx", "accelerator"]).any()
    ws = frame[(frame.accelerator == 0) & (frame.model == "KD_res8_narrow")]
    alone = table.model_cost_table("KD_res8_narrow", system.accelerators[0])
    assert ws.latency_cycles.tolist() == alone.latency_cycles.tolist()
    again = table.system_cost_table(models, system)
    pd.testing.assert_frame_equal(frame, again)
    again.loc[0, "latency_cycles"] = -1  # a copy: the cached table is unaffected
    assert table.system_cost_table(models, system).latency_cycles.iloc[0] != -1
    assert cache.stats()["tables"] == 1


def test_each_distinct_layer_is_costed_once(monkeypatch):
    cache.clear()
    seen: list[int] = []

    def counting(batch, accelerator, options):
        seen.append(len(batch))
        return analyse_layers(batch, accelerator, options)

    monkeypatch.setitem(analyses.ANALYSES, "counting", counting)
    acc = get_accelerator("xrbench-4k-B/0")
    layers = list(zoo.load("KD_res8_narrow").layers)  # conv2..conv7 share their dims
    first = table.layer_costs(layers, acc, analysis="counting")
    assert seen == [len({layer.dims for layer in layers})]
    second = table.layer_costs(layers + layers[:2], acc, analysis="counting")
    assert len(seen) == 1  # nothing new to cost
    assert second.latency_cycles.tolist()[: len(layers)] == first.latency_cycles.tolist()


def test_unknown_and_missing_analyses():
    acc = get_accelerator("xrbench-4k-A/0")
    with pytest.raises(UnknownNameError, match="unknown analysis"):
        table.layer_costs(zoo.load("KD_res8_narrow").layers, acc, analysis="nope")
    try:
        import costmodel.native  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(CostModelError, match="native"):
            table.layer_costs(zoo.load("KD_res8_narrow").layers, acc, analysis="native")


def test_non_xrbench_layers_keep_their_macs():
    layers = [
        Layer("s2", OpType.CONV, 1, 32, 16, 56, 56, 3, 3, stride=(2, 2), padding=(1, 1)),
        Layer("dw", OpType.CONV, 1, 32, 32, 28, 28, 3, 3, padding=(1, 1), groups=32),
        Layer("pool", OpType.POOL, 1, 32, 32, 28, 28, 2, 2, stride=(2, 2), padding=(0, 0)),
        Layer("add", OpType.ELTWISE, 1, 32, 32, 14, 14, padding=(0, 0)),
        Layer("fc", OpType.GEMM, 2, 10, 64, 1, 1),
    ]
    batch = LayerBatch.from_layers(layers)
    dims = maestro_dims(batch)
    assert dims[0].tolist() == [1, 32, 16, 28 + 2, 28 + 2, 3, 3]  # same 28x28 output, stride 1
    assert dims[1].tolist() == [32, 1, 1, 30, 30, 3, 3]  # 32 groups of a 1x1-channel conv
    frame = table.layer_costs(layers, get_accelerator("xrbench-4k-C/0"))
    assert frame.macs.tolist() == [layer.macs for layer in layers]
    assert (frame.latency_cycles > 0).all()


def test_energy_preset_changes_energy_not_latency():
    from dataclasses import replace

    from hardware_db.energy import PRESETS

    acc = get_accelerator("xrbench-4k-A/0")
    other = replace(acc, energy=PRESETS["eyeriss"])
    a = table.model_cost_table("ES_RITNet", acc)
    b = table.model_cost_table("ES_RITNet", other)
    assert a.latency_cycles.tolist() == b.latency_cycles.tolist()
    assert not np.allclose(a.energy_nj, b.energy_nj)
    np.testing.assert_allclose(b.energy_compute_pj, PRESETS["eyeriss"].mac_pj * b.macs)


def test_calibration_through_cost_tables(golden_data):
    ref = pd.read_csv(golden_data / "maestro_calibration.csv")
    ref = ref[(ref.num_pes == 4096) & (ref.dataflow == "OS")]
    frame = table.system_cost_table(zoo.names(), "xrbench-4k-B")
    merged = ref.merge(frame, on=["model", "layer_idx"], suffixes=("_ref", ""))
    assert len(merged) == len(ref)
    assert (merged.latency_cycles == merged.latency_cycles_ref).all()
    np.testing.assert_allclose(merged.energy_nj, merged.energy_nj_ref, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# CLI

LAYERS_CSV = """# layers worked by hand (tests/test_costmodel_maestro.py)
name,type,N,K,C,Y,X,R,S,extra
fc1,CONV,1,512,512,128,1,1,1,a
conv6,CONV,1,32,32,80,50,3,3,b
conv1,CONV,1,64,3,128,128,7,7,c
"""


def test_cli_layers_to_csv(tmp_path, capsys):
    src = tmp_path / "layers.csv"
    src.write_text(LAYERS_CSV)
    out = tmp_path / "out.csv"
    argv = ["cost", "--layers", str(src), "--pes", "4096", "--noc-bw", "256", "--dataflow", "rs"]
    assert main([*argv, "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert frame.name.tolist() == ["fc1", "conv6", "conv1"]
    assert frame.extra.tolist() == ["a", "b", "c"]
    assert frame.latency_cycles.tolist() == [524_288, 89_856, 81_984]
    np.testing.assert_allclose(frame.energy_nj, [1_488_874.68, 532_810.42, 681_817.47], atol=0.006)
    assert main(argv) == 0
    assert "524288" in capsys.readouterr().out


def test_cli_prints_tables_that_name_layers_in_a_layer_column(tmp_path, capsys):
    """The XRBench tables call the name column ``layer``; printing must work for them too."""
    src = tmp_path / "xr.csv"
    src.write_text("layer,type,N,K,C,Y,X,R,S\nconv1,CONV,1,19,1,98,40,3,3\n")
    argv = ["cost", "--layers", str(src), "--pes", "4096", "--noc-bw", "256", "--dataflow", "os"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "13680" in out


@pytest.mark.parametrize(
    "text,message",
    [
        ("name,type,N,K,C,Y,X,R\nc,CONV,1,2,3,4,5,1\n", "line 1: missing column(s) S"),
        ("name,type,N,K,C,Y,X,R,S\nc,CONV,1,2,x,4,5,1,1\n", "line 2 column C: C = 'x'"),
        ("name,type,N,K,C,Y,X,R,S\n\nc,CONV,1,2,3,-4,5,1,1\n", "line 3 column Y: Y = -4"),
        ("name,type,N,K,C,Y,X,R,S\nc,WARP,1,2,3,4,5,1,1\n", "line 2 column type"),
    ],
)
def test_cli_bad_layer_tables(tmp_path, capsys, text, message):
    src = tmp_path / "bad.csv"
    src.write_text(text)
    argv = ["cost", "--layers", str(src), "--pes", "64", "--noc-bw", "8", "--dataflow", "OS"]
    assert main([*argv, "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(src) in err and message in err
    assert not (tmp_path / "o.csv").exists()


def test_cli_model_on_accelerator_and_errors(tmp_path, capsys):
    out = tmp_path / "kd.csv"
    assert main(["cost", "--model", "KD_res8_narrow", "--accelerator", "xrbench-4k-B/0"]) == 0
    assert "13680" in capsys.readouterr().out  # KD conv1 on OS, quirk 3
    argv = ["cost", "--model", "KD_res8_narrow", "--system", "xrbench-4k-J", "--out", str(out)]
    assert main(argv) == 0
    assert len(pd.read_csv(out)) == 16
    assert main(["cost", "--model", "KD_res8_narrow"]) == 2
    assert main(["cost", "--layers", "x.csv", "--pes", "0"]) == 2
    assert "--pes" in capsys.readouterr().err


def test_plots_return_figures():
    from costmodel import plots

    costs = table.system_cost_table(["KD_res8_narrow"], "xrbench-4k-J")
    fig = plots.layer_breakdown(costs)
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 16
    fig2 = plots.compare_analyses(costs, costs.assign(latency_cycles=costs.latency_cycles * 2))
    ratios = fig2.axes[1].lines[0].get_ydata()
    np.testing.assert_allclose(ratios, 2.0)
    with pytest.raises(RtmmError):
        plots.layer_breakdown(costs.drop(columns=["latency_cycles"]))


def test_layer_tables_and_model_files_share_one_reader(tmp_path):
    """Same per-row rules in both file kinds: MAESTRO-style DSCONV (K: 1) becomes K = groups = C,
    bad cells give the same message; only a layer table keeps extra (annotation) columns."""
    from costmodel.batch import LayerBatch, read_layer_table
    from rtmm.errors import SpecError
    from workloads.modelfile import parse_model_csv

    text = "name,type,N,K,C,Y,X,R,S,stride\ndw,DSCONV,1,1,32,16,16,3,3,2\n"
    path = tmp_path / "l.csv"
    path.write_text(text)
    _, batch = read_layer_table(path)
    model = parse_model_csv(text, name="m", source=str(path))
    assert batch.key_matrix().tolist() == LayerBatch.from_layers(model.layers).key_matrix().tolist()
    assert model.layers[0].K == model.layers[0].groups == 32
    bad = text.replace("16,16", "16,-16")
    path.write_text(bad)
    with pytest.raises(SpecError) as from_table:
        read_layer_table(path)
    with pytest.raises(SpecError) as from_model:
        parse_model_csv(bad, name="m", source=str(path))
    assert str(from_table.value) == str(from_model.value)
    assert "line 2 column X: X = -16" in str(from_model.value)
    annotated = "name,type,N,K,C,Y,X,R,S,note\nc,CONV,1,4,3,8,8,3,3,hi\n"
    path.write_text(annotated)
    raw, _ = read_layer_table(path)
    assert raw["note"].tolist() == ["hi"]
    with pytest.raises(SpecError, match="unknown column 'note'"):
        parse_model_csv(annotated, name="m", source=str(path))


def test_cost_tables_persist_on_disk_keyed_by_content_and_code(tmp_path, monkeypatch):
    """With a disk folder, a second process (simulated by clearing the in-process caches) gets
    the table without costing; a corrupt entry is recomputed; the key covers the code."""
    from costmodel import cache
    from costmodel import table as table_mod

    cache.clear()
    cache.set_disk_dir(tmp_path)
    try:
        first = table_mod.system_cost_table(["KD_res8_narrow"], "xrbench-4k-J")
        files = list(tmp_path.glob("*.pkl"))
        assert len(files) == 1
        key = next(iter(cache.TABLES))
        cache.clear()

        def no_costing(*args, **kwargs):
            raise AssertionError("costed again")

        monkeypatch.setitem(analyses.ANALYSES, "maestro", no_costing)
        again = table_mod.system_cost_table(["KD_res8_narrow"], "xrbench-4k-J")
        pd.testing.assert_frame_equal(first, again)
        monkeypatch.undo()
        files[0].write_bytes(b"not a pickle")
        cache.clear()
        third = table_mod.system_cost_table(["KD_res8_narrow"], "xrbench-4k-J")
        pd.testing.assert_frame_equal(first, third)
        cache.clear()
        assert cache.get_table(key) is not None  # rewritten after the corrupt read
        cache.clear()
        monkeypatch.setattr(cache, "code_digest", lambda: "another cost model")
        assert cache.get_table(key) is None
    finally:
        cache.follow_environment()
        cache.clear()
