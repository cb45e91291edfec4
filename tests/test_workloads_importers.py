"""Importers: MAESTRO model files, ONNX graphs, and fuzzing of every text parser."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtmm.errors import RtmmError, SpecError
from workloads import zoo
from workloads.importers.maestro import parse_maestro_model
from workloads.layer import OpType
from workloads.modelfile import parse_model_csv
from workloads.scenario import parse_scenario_yaml, parse_xrbench_scenario

MAESTRO = """
// a MAESTRO model file
Network mini {
  Layer CONV1 {
    Type: CONV
    Stride { X: 2, Y: 2 }
    Dimensions { K: 32, C: 3, R: 3, S: 3, Y: 225, X: 225 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(Sz(R),1) Y;
      Cluster(16, P);
    }
  }
  Layer DW2 {
    Type: DSCONV
    Dimensions { K: 1, C: 32, R: 3, S: 3, Y: 114, X: 114 }
  }
  Layer FC3 {
    Type: GEMM
    Dimensions { M: 64, N: 10, K: 32 }
  }
}
"""


def test_maestro_model_file(tmp_path):
    path = tmp_path / "mini.m"
    path.write_text(MAESTRO)
    model = zoo.load(str(path))
    assert model.name == "mini" and model.layer_names == ("CONV1", "DW2", "FC3")
    conv, dw, fc = model.layers
    assert conv.stride == (2, 2) and conv.out_y == 112 and conv.N == 1
    assert conv.macs == 32 * 3 * 9 * 112 * 112
    assert dw.is_depthwise and (dw.K, dw.groups) == (32, 32) and dw.macs == 32 * 9 * 112 * 112
    assert (fc.op, fc.K, fc.C, fc.Y, fc.X) == (OpType.GEMM, 10, 32, 64, 1)
    assert model.total_macs == conv.macs + dw.macs + 64 * 10 * 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Network a { Layer l { Type: CONV } }", "missing 'Dimensions"),
        ("Network a { Layer l { Type: WARP Dimensions { K: 1 } } }", "unknown layer type 'WARP'"),
        ("Network a { Layer l { Type: CONV Dimensions { K: 1, Q: 2 } } }", "unknown dimension 'Q'"),
        ("Network a { Layer l { Type: CONV Dimensions { K: 1, C: 1, Y: 2 } } }",
         "missing dimension"),
        ("Network a { Layer l { Type: CONV Dimensions { K: 1.5 } } }", "not an integer"),
        ("Network a { Layer l { Type: CONV", "end of file"),
        ("Network a { }", "no layers"),
        ("Network a { } }", "unbalanced"),
        ("Network a { Layer l { Type: CONV Dimensions { K: 2, C: 2, Y: 4, X: 4, R: 1, S: 1 } } }"
         "\nNetwork b { Layer l { Type: CONV Dimensions { K: 2, C: 2, Y: 4, X: 4, R: 1, S: 1 } } }",
         "2 networks"),
        ("Network a { Layer l { Type: CONV Dimensions { K: 0, C: 2, Y: 4, X: 4, R: 1, S: 1 } } }",
         "K = 0"),
        ("Network a { Layer l @ }", "unexpected character '@'"),
    ],
)  # fmt: skip
def test_maestro_bad_input(text, message):
    with pytest.raises(SpecError, match=message) as err:
        parse_maestro_model(text, source="bad.m")
    assert "\n" not in str(err.value) and str(err.value).startswith("bad.m")


# -- ONNX -----------------------------------------------------------------------------------------

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _weights(name, shape):
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def residual_onnx():
    """stem conv (stride 2) -> relu -> [conv -> depthwise conv] + relu -> maxpool -> gap -> fc."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="stem", strides=[2, 2], pads=[1] * 4),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv", pads=[1] * 4),
        helper.make_node("Conv", ["c2", "w3"], ["c3"], name="dw", pads=[1] * 4, group=16),
        helper.make_node("Add", ["c3", "r1"], ["a"], name="add"),
        helper.make_node("MaxPool", ["a"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "resnetlet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [_weights("w1", (16, 3, 3, 3)), _weights("w2", (16, 16, 3, 3)),
         _weights("w3", (16, 1, 3, 3)), _weights("wf", (10, 16)), _weights("bf", (10,))],
    )  # fmt: skip
    return helper.make_model(graph)


def test_onnx_residual_imports_as_dag(tmp_path):
    path = tmp_path / "resnetlet.onnx"
    onnx.save(residual_onnx(), str(path))
    model = zoo.load(str(path))
    assert model.layer_names == ("stem", "relu", "conv", "dw", "add", "pool", "gap", "fc")
    assert not model.is_chain
    assert model.predecessors("add") == ["relu", "dw"]
    assert model.predecessors("fc") == ["gap"]  # Flatten creates no layer
    expected = {
        "stem": 16 * 3 * 9 * 16 * 16,
        "relu": 16 * 16 * 16,
        "conv": 16 * 16 * 9 * 16 * 16,
        "dw": 16 * 9 * 16 * 16,
        "add": 16 * 16 * 16,
        "pool": 16 * 4 * 8 * 8,
        "gap": 16 * 64,
        "fc": 10 * 16,
    }
    assert {layer.name: layer.macs for layer in model.layers} == expected
    assert model.total_macs == sum(expected.values())
    assert model["dw"].is_depthwise and model["stem"].stride == (2, 2)


def test_onnx_attention_matmul():
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["x", "wk"], ["k"], name="k_proj"),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
        helper.make_node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "attn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, 4])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [2, 8, 8])],
        [_weights("wq", (4, 4)), _weights("wk", (4, 4))],
    )
    from workloads.importers.onnx_import import parse_onnx

    model = parse_onnx(helper.make_model(graph), name="attn")
    scores = model["scores"]
    assert scores.op == OpType.ATTN and (scores.N, scores.K, scores.C, scores.Y) == (2, 8, 4, 8)
    assert model.predecessors("scores") == ["q_proj", "k_proj"]
    assert model["q_proj"].op == OpType.GEMM and model["q_proj"].macs == 2 * 8 * 4 * 4


def test_onnx_unsupported_operator():
    node = helper.make_node("Resize", ["x", "", "sc"], ["y"], name="up")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], dtype=np.float32), "sc")],
    )
    from workloads.importers.onnx_import import parse_onnx

    with pytest.raises(SpecError, match="node 'up': unsupported ONNX operator 'Resize'"):
        parse_onnx(helper.make_model(graph), source="g.onnx")


def test_onnx_garbage_file(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x01\x02not a protobuf\xff" * 10)
    with pytest.raises(SpecError, match="not a valid ONNX model"):
        zoo.load(str(path))


def test_onnx_missing_package(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    from workloads.importers.onnx_import import read_onnx

    with pytest.raises(RtmmError, match="needs the 'onnx' package"):
        read_onnx("model.onnx")


# -- fuzzing: the text parsers only ever raise RtmmError ------------------------------------------

_ALPHABET = st.sampled_from(
    list("NetworkLayerTypeCONVDimensionsFPSProbabilityDependency{}:,;#/-.0123456789 \n\tKCXYRS_@")
)
_SNIPPETS = st.sampled_from(
    ["Network ", "Layer ", "Type: ", "CONV", "DSCONV", "GEMM", "Dimensions", "{", "}", ":", ",",
     " K: ", " C: 3", " Y: 8", " X: 0", " R: 9", " S: 1", "FPS: ", "Probability: ", "Dependency",
     "-1", "1e9", "nan", "\n", "// c\n", "Stride { X: 0 }", "Dataflow { ( ; }"]
)  # fmt: skip
_TEXT = st.one_of(
    st.text(_ALPHABET, max_size=200),
    st.lists(_SNIPPETS, max_size=40).map("".join),
    st.text(max_size=100),
)
_CSV_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(["name,type,N,K,C,Y,X,R,S,stride,groups,padding,inputs\n", "a", "b", ",",
                         "CONV", "POOL", "DSCONV", "1", "0", "-3", "2x1", "xrbench", ";", "-",
                         "\n", "# accuracy: 2\n", '"']),
        max_size=60,
    ).map("".join),
)  # fmt: skip
_YAML_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(["models:\n", "  - ", "{model: ES_RITNet, fps: 60}", "model: ", "fps: ",
                         "parent: ", "probability: ", "GE_FBNet_C", "-1", ".nan", "[", "]", "{",
                         "}", "\n", "name: ", "file: x.csv", "1.5", "null", "&a", "*a"]),
        max_size=40,
    ).map("".join),
)  # fmt: skip

_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_rtmm_errors(parse, text):
    try:
        parse(text)
    except RtmmError as err:
        assert "\n" not in str(err)


@_FUZZ
@given(_TEXT)
def test_fuzz_maestro_model(text):
    _only_rtmm_errors(lambda t: parse_maestro_model(t, source="f.m"), text)


@_FUZZ
@given(_TEXT)
def test_fuzz_xrbench_scenario(text):
    _only_rtmm_errors(lambda t: parse_xrbench_scenario(t, name="f", source="f.m"), text)


@_FUZZ
@given(_CSV_TEXT)
def test_fuzz_model_csv(text):
    _only_rtmm_errors(lambda t: parse_model_csv(t, name="f", source="f.csv"), text)


@_FUZZ
@given(_YAML_TEXT)
def test_fuzz_scenario_yaml(text):
    _only_rtmm_errors(lambda t: parse_scenario_yaml(t, name="f", source="f.yaml"), text)
