"""The XRBench zoo, the model DAG wrapper, the CSV format and supernet variants."""

from __future__ import annotations

import time

import networkx as nx
import pandas as pd
import pytest

from rtmm.errors import RtmmError, SpecError, UnknownNameError
from workloads import supernet, zoo
from workloads.layer import Layer, OpType, validate_layer
from workloads.model import Model
from workloads.modelfile import model_csv_text, parse_model_csv, write_model_csv
from workloads.shapes import check_shapes

# Layer counts (SPEC section 4) and exact MAC totals computed from the XRBench layer tables.
ZOO = {
    "HT_hand_graph_cnn_half": (224, 3_724_475_712),
    "ES_RITNet": (42, 1_040_138_240),
    "GE_FBNet_C": (63, 2_158_333_504),
    "KD_res8_narrow": (8, 5_345_688),
    "ASR_EM_24L": (120, 9_663_676_416),
    "SS_HRViT_b1": (423, 20_095_232_384),
    "OD_D2go_FasterRCNN": (138, 9_707_348_224),
    "AS_ED_TCN": (4, 354_457_600),
    "DE_midas_v21_small": (92, 18_493_636_608),
    "DR_RGBd_200": (34, 16_837_208_128),
    "PD_Plane_RCNN_Quarter": (153, 7_523_982_272),
}
# SPEC's rounded GMAC column.
SPEC_GMACS = {
    "HT_hand_graph_cnn_half": 3.72, "ES_RITNet": 1.04, "GE_FBNet_C": 2.16, "KD_res8_narrow": 0.005,
    "ASR_EM_24L": 9.66, "SS_HRViT_b1": 20.1, "OD_D2go_FasterRCNN": 9.68, "AS_ED_TCN": 0.35,
    "DE_midas_v21_small": 18.5, "DR_RGBd_200": 16.8, "PD_Plane_RCNN_Quarter": 7.52,
}  # fmt: skip


def test_zoo_names():
    assert zoo.names() == sorted(ZOO)
    assert zoo.aliases() == {"D2go_FastRCNN": "OD_D2go_FasterRCNN"}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_counts_and_macs(name):
    model = zoo.load(name)
    layers, macs = ZOO[name]
    assert len(model) == layers
    assert model.total_macs == macs
    assert model.total_macs / 1e9 == pytest.approx(SPEC_GMACS[name], rel=0.015, abs=0.0005)
    assert model.is_chain
    assert model.accuracy == 1.0


def test_alias_is_the_od_model():
    od, alias = zoo.load("OD_D2go_FasterRCNN"), zoo.load("D2go_FastRCNN")
    assert alias.name == "D2go_FastRCNN"
    assert alias.layers == od.layers
    assert alias.total_macs == ZOO["OD_D2go_FasterRCNN"][1]


def test_zoo_rows_equal_shared_table(golden_data):
    table = pd.read_csv(golden_data / "xrbench_model_layers.csv")
    for name, rows in table.groupby("model", sort=False):
        frame = zoo.load(name).to_frame()
        rows = rows.reset_index(drop=True)
        assert list(frame["name"]) == list(rows["layer"]), name
        for col in ["type", "N", "K", "C", "Y", "X", "R", "S", "macs"]:
            assert list(frame[col]) == list(rows[col]), (name, col)
        assert list(frame["layer_idx"]) == list(rows["layer_idx"])


def test_degenerate_xrbench_layers_keep_signed_macs():
    ht = zoo.load("HT_hand_graph_cnn_half")
    conv56 = ht["conv56"]  # Y = 2 < R = 3: Y' = 0
    assert (conv56.out_y, conv56.macs) == (0, 0)
    pd_ = zoo.load("PD_Plane_RCNN_Quarter")["conv128"]  # Y' = X' = -1: positive product
    assert (pd_.out_y, pd_.out_x, pd_.macs) == (-1, -1, 5_242_880)


def test_loading_is_cached_and_fast():
    zoo.load("SS_HRViT_b1")
    start = time.perf_counter()
    for _ in range(1000):
        zoo.load("SS_HRViT_b1")
    assert time.perf_counter() - start < 0.1
    assert zoo.load("ES_RITNet") is zoo.load("ES_RITNet")


def test_unknown_model_is_one_line_error():
    with pytest.raises(UnknownNameError, match="unknown model 'NoSuchNet'") as err:
        zoo.load("NoSuchNet")
    assert "\n" not in str(err.value)


# -- Model ----------------------------------------------------------------------------------------


def test_model_frame_and_subgraph():
    model = zoo.load("KD_res8_narrow")
    frame = model.to_frame()
    for col in ["name", "type", "N", "K", "C", "Y", "X", "R", "S", "stride", "groups", "macs"]:
        assert col in frame.columns
    assert frame["macs"].sum() == model.total_macs
    assert frame["macs"].dtype.kind == "i"
    sub = model.subgraph(2, 5)
    assert [layer.name for layer in sub.layers] == ["conv3", "conv4", "conv5"]
    assert sub.graph.number_of_edges() == 2
    assert model.subgraph("conv7").layer_names == ("conv7", "fc1")
    with pytest.raises(SpecError, match="empty"):
        model.subgraph(5, 5)


def _l(name, k, c, y, x, r=1, s=1, op=OpType.CONV, **kw):
    return Layer(name, op, 1, k, c, y, x, r, s, padding=kw.pop("padding", (r // 2, s // 2)), **kw)


def test_dag_with_skip_connection_and_stable_order():
    layers = [
        _l("a", 8, 3, 16, 16, 3, 3),
        _l("b", 8, 8, 16, 16, 3, 3),
        _l("c", 8, 8, 16, 16, 1, 1),
        _l("add", 8, 8, 16, 16, op=OpType.ELTWISE, padding=(0, 0)),
    ]
    model = Model.from_edges("res", layers, [[], ["a"], ["b"], ["a", "c"]])
    check_shapes(model)
    assert model.layer_names == ("a", "b", "c", "add")
    assert not model.is_chain
    assert model.predecessors("add") == ["a", "c"]
    assert model.total_macs == sum(layer.macs for layer in layers)


def test_cycle_is_rejected():
    graph = nx.DiGraph()
    for name in "ab":
        graph.add_node(name, layer=_l(name, 4, 4, 8, 8))
    graph.add_edges_from([("a", "b"), ("b", "a")])
    with pytest.raises(SpecError, match="cycle: a -> b -> a"):
        Model("loop", graph)


def test_shape_mismatch_detected_for_real_padding_only():
    bad = [_l("a", 8, 3, 16, 16, 3, 3), _l("b", 8, 16, 16, 16, 3, 3)]
    with pytest.raises(SpecError, match="shape mismatch: layer 'b'"):
        check_shapes(Model.chain("bad", bad))
    xr = [Layer("a", OpType.CONV, 1, 8, 3, 16, 16, 3, 3), Layer("b", OpType.CONV, 1, 8, 16, 9, 9)]
    check_shapes(Model.chain("xr", xr))  # XRBench convention: never shape-checked


# -- layers ---------------------------------------------------------------------------------------


def test_layer_conventions():
    fc = Layer("fc", OpType.CONV, 1, 512, 2048, 128, 1)  # XRBench GEMM as CONV, X = 1
    assert fc.macs == 512 * 2048 * 128
    strided = Layer("s", OpType.CONV, 1, 32, 16, 224, 224, 3, 3, stride=(2, 2), padding=(1, 1))
    assert (strided.out_y, strided.out_x) == (112, 112)
    assert strided.macs == 32 * 16 * 9 * 112 * 112
    dw = Layer("dw", OpType.CONV, 1, 32, 32, 56, 56, 3, 3, padding=(1, 1), groups=32)
    assert dw.is_depthwise and dw.macs == 32 * 9 * 56 * 56
    assert dw.tensor_bytes(2) == {"input": 2 * 32 * 56 * 56, "weight": 2 * 32 * 9,
                                  "output": 2 * 32 * 56 * 56}  # fmt: skip
    pool = Layer("p", OpType.POOL, 1, 8, 8, 8, 8, 2, 2, stride=(2, 2), padding=(0, 0))
    assert pool.weight_elems == 0 and pool.out_y == 4


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (Layer("a", OpType.CONV, 1, 0, 3, 8, 8), "K = 0"),
        (Layer("a", OpType.CONV, 1, 8, 6, 8, 8, groups=4), "groups = 4 does not divide"),
        (Layer("a", OpType.POOL, 1, 8, 4, 8, 8), "K = 8 != C = 4"),
        (Layer("a", OpType.GEMM, 1, 8, 4, 8, 1, 3, 1), "R = 3"),
        (Layer("a", OpType.CONV, 1, 8, 4, 2, 2, 3, 3, padding=(0, 0)), "is empty"),
        (Layer("a", OpType.CONV, 1, 8, 4, 8, 8, stride=(0, 1)), "stride"),
    ],
)
def test_validate_layer_rejects(layer, message):
    with pytest.raises(SpecError, match=message) as err:
        validate_layer(layer, source="f.csv")
    assert str(err.value).startswith("f.csv: layer 'a'")


def test_validate_layer_allows_xrbench_degenerate():
    validate_layer(Layer("a", OpType.CONV, 1, 128, 128, 2, 2, 3, 3))


# -- CSV format -----------------------------------------------------------------------------------


def test_csv_round_trip_of_a_dag(tmp_path):
    text = (
        "# accuracy: 0.9\n"
        "name,type,N,K,C,Y,X,R,S,stride,groups,padding,inputs\n"
        "stem,CONV,1,16,3,32,32,3,3,2,1,1,\n"
        "dw,DSCONV,1,16,16,16,16,3,3,1,1,1,\n"
        "pw,CONV,1,16,16,16,16,1,1,1,1,0,\n"
        "add,ELTWISE,1,16,16,16,16,1,1,1,1,0,stem;pw\n"
        "fc,GEMM,1,10,4096,1,1,1,1,1,1,0,\n"
    )
    model = parse_model_csv(text, name="net", source="net.csv")
    assert model.accuracy == 0.9
    assert model["dw"].groups == 16 and model["dw"].is_depthwise
    assert model.predecessors("add") == ["stem", "pw"]
    path = tmp_path / "net.csv"
    write_model_csv(model, path)
    again = zoo.load(str(path))
    assert again.layers == model.layers
    assert set(again.graph.edges) == set(model.graph.edges)
    assert again.accuracy == 0.9
    assert model_csv_text(again) == model_csv_text(model)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,type,N,K,C,Y,X,R\n", "missing column"),
        ("name,type,N,K,C,Y,X,R,S,color\n", "unknown column 'color'"),
        ("name,type,N,K,C,Y,X,R,S\na,CONV,1,2,3,4,5,1\n", "line 2: 8 fields"),
        ("name,type,N,K,C,Y,X,R,S\na,FOO,1,2,3,4,5,1,1\n", "unknown layer type 'FOO'"),
        ("name,type,N,K,C,Y,X,R,S\na,CONV,1,x,3,4,5,1,1\n", "K = 'x' is not an integer"),
        ("name,type,N,K,C,Y,X,R,S,inputs\na,CONV,1,2,3,4,5,1,1,\nb,CONV,1,2,2,4,5,1,1,zz\n",
         "input 'zz' is not an earlier layer"),
        ("name,type,N,K,C,Y,X,R,S\na,CONV,1,2,3,4,5,1,1\na,CONV,1,2,3,4,5,1,1\n",
         "duplicate layer name 'a'"),
    ],
)  # fmt: skip
def test_csv_bad_input(text, message):
    with pytest.raises(SpecError, match=message) as err:
        parse_model_csv(text, name="m", source="m.csv")
    assert "\n" not in str(err.value) and str(err.value).startswith("m.csv")


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        zoo.load(str(tmp_path / "none.csv"))
    other = tmp_path / "model.txt"
    other.write_text("x")
    with pytest.raises(SpecError, match="unknown model file type '.txt'"):
        zoo.load(str(other))


# -- supernets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id", ["GE_FBNet_C", "DE_midas_v21_small", "SS_HRViT_b1", "OD_D2go_FasterRCNN"]
)
def test_supernet_variants(model_id):
    found = supernet.variants(model_id)
    assert found[0].name == model_id and found[0].accuracy == 1.0
    assert found[0].total_macs == ZOO[model_id][1]
    macs = [v.total_macs for v in found]
    assert macs == sorted(macs, reverse=True) and len(set(macs)) == len(macs)
    names = {v.name.partition("@")[2] for v in found[1:]}
    assert {"w0.75", "w0.5", "r0.75", "d0.5"} <= names
    full = zoo.load(model_id)
    assert [v.name for v in full.variants] == [v.name for v in found]
    for v in found[1:]:
        assert 0 < v.accuracy < 1
        assert v.model.accuracy == v.accuracy
        assert zoo.load(v.name).total_macs == v.total_macs
        first, last = v.model.layers[0], v.model.layers[-1]
        if v.spec.width != 1.0:
            assert first.C == full.layers[0].C and last.K == full.layers[-1].K
            assert len(v.model) == len(full)
    half = supernet.variant(model_id, "w0.5").model
    # halving the width roughly quarters the MACs
    assert 0.15 < half.total_macs / full.total_macs < 0.4


def test_depth_variant_drops_repeats_only():
    full = zoo.load("GE_FBNet_C")
    shallow = supernet.variant("GE_FBNet_C", "d0.5").model
    assert len(shallow) < len(full)
    kept = set(shallow.layer_names)
    assert kept < set(full.layer_names)
    assert full.layers[0].name in kept and full.layers[-1].name in kept
    runs = supernet.repeated_blocks(list(full.layers))
    assert runs and all(repeats >= 2 for _, _, repeats in runs)


def test_unknown_variant():
    with pytest.raises(UnknownNameError, match="no variant 'w0.1'"):
        zoo.load("GE_FBNet_C@w0.1")
    with pytest.raises(UnknownNameError, match="no supernet variants"):
        supernet.variants("ES_RITNet")
    assert issubclass(UnknownNameError, RtmmError)
