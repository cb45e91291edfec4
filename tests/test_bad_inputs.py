# ruff: noqa: E501  (the catalogue is a table; its rows stay on one line each where possible)
"""Catalogue of hostile inputs across every entry point (issues 8 and 13).

Each case writes its files into a fresh folder, runs the ``rtmm`` CLI in-process and checks that the
run ends with exit code 2, exactly one line on stderr that starts with ``rtmm: error:`` and names
what it must (the file and the field or line, and what is allowed), no traceback, no output file
left behind, and every input file unchanged byte for byte. A second part calls the Python API and
checks that the same inputs raise the project's typed errors (subclasses of
:class:`rtmm.RtmmError`). Faults that need real processes or signals (two sweeps on one store,
Ctrl-C while outputs are written, a store locked by another process) are tests of their own at the
end.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dse.cli import main
from rtmm.errors import RtmmError

HW_OK = """\
name: sys
offchip_bw_words_per_cycle: 128
accelerators:
- name: a0
  num_pes: 1024
  dataflow: WS
  clock_hz: 1000000000
  l1_bytes_per_pe: 8192
  l2_bytes: 2097152
  noc_top: {bw_words_per_cycle: 128}
  noc_col: {bw_words_per_cycle: 128}
  offchip_bw_words_per_cycle: 128
  word_bytes: 1
  energy: xrbench
"""

MODEL_OK = "name,type,N,K,C,Y,X,R,S\nc1,CONV,1,8,3,16,16,3,3\nc2,CONV,1,8,8,14,14,3,3\n"

SCENARIO_OK = """\
name: s
models:
  - {model: ES_RITNet, fps: 60}
  - {model: GE_FBNet_C, fps: 60, parent: ES_RITNet, probability: 1.0}
"""

MAESTRO_HW_OK = """\
Accelerator A {
  num_pes: 256
  offchip_bw: 64
  top_noc_bw: 64
  col_noc_bw: 64
  global_shared_memory: 1048576 // 1 MiB
  PE_local_memory: 4096
}
"""

COSTS_HEADER = "model,layer_idx,accelerator,latency_cycles,energy_nj\n"


def _hw(old: str, new: str) -> str:
    assert old in HW_OK
    return HW_OK.replace(old, new)


def _scn(old: str, new: str) -> str:
    assert old in SCENARIO_OK
    return SCENARIO_OK.replace(old, new)


def _es_ge_costs(**override: str) -> str:
    """A complete external cost table for ES_RITNet + GE_FBNet_C on one accelerator."""
    from workloads import zoo

    rows = []
    for model in ("ES_RITNet", "GE_FBNet_C"):
        for i in range(len(zoo.load(model).layers)):
            rows.append(f"{model},{i},0,1000,1.5")
    text = COSTS_HEADER + "\n".join(rows) + "\n"
    for old, new in override.items():
        text = text.replace(old, new, 1)
    return text


class _Fifo:
    """A named pipe (reading it would block until a writer appears)."""


class _Dir:
    """A directory."""


@dataclass(frozen=True)
class _Link:
    """A symbolic link to ``target`` (a path relative to the case folder)."""

    target: str


FIFO, DIR = _Fifo(), _Dir()


def _alias_bomb(levels: int = 9, width: int = 10) -> str:
    """A YAML 'billion laughs' value: ``width ** levels`` scalars once the aliases are expanded."""
    lines = [f"- &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"- &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join("  " + line for line in lines) + "\n"


def _deep_maestro(depth: int = 20_000) -> str:
    return "Network N {\n" + "Layer L {\n" * depth + "}\n" * (depth + 1)


def _onnx_bytes(kind: str) -> bytes:
    """A one-node ONNX model broken in one way (``kind``)."""
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    def weights(shape):
        return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), "w")

    conv_w, out = [weights((8, 3, 3, 3))], [1, 8, 16, 16]
    if kind == "zero-strides":
        nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c1", strides=[0, 0])]
    elif kind == "empty-kernel":
        nodes, conv_w, out = (
            [helper.make_node("MaxPool", ["x"], ["y"], name="p1")],
            [],
            [1, 3, 16, 16],
        )
        nodes[0].attribute.append(
            helper.make_attribute("kernel_shape", [], attr_type=onnx.AttributeProto.INTS)
        )
    elif kind == "rank2-weights":
        nodes, conv_w = [helper.make_node("Conv", ["x", "w"], ["y"], name="c1")], [weights((8, 3))]
    else:  # cycle: n1 reads n2's output, n2 reads n1's
        nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
                 helper.make_node("Relu", ["a"], ["b"], name="n2"),
                 helper.make_node("Relu", ["b"], ["y"], name="n3")]  # fmt: skip
        conv_w, out = [], [1, 3, 16, 16]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)],
        conv_w,
    )
    return helper.make_model(graph).SerializeToString()


def _sqlite_bytes(*statements: str) -> bytes:
    """The bytes of a SQLite database after running ``statements`` (another app's database)."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "db.sqlite"
        con = sqlite3.connect(path)
        for statement in statements:
            con.execute(statement)
        con.commit()
        con.close()
        return path.read_bytes()


def _store_bytes(scenarios: tuple[str, ...] = ("vr_gaming", "ar_gaming")) -> bytes:
    """A results store with one point per scenario (written through the store's own API)."""
    import tempfile

    from dse.store import PointResult, ResultStore

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.sqlite"
        with ResultStore.open(path, fingerprint="f", spec_json="{}", resume=False) as store:
            store.write([
                PointResult(point_id=f"p{i}", seq=i, params={"scenario": scn},
                            flat_params={"scenario": scn, "seed": 0},
                            metrics={"energy_mj": 1.0 + i, "score": 0.5})
                for i, scn in enumerate(scenarios)
            ])  # fmt: skip
        return path.read_bytes()


def _costs_es(n_rows: int | None = None, extra: str = "", **override: str) -> str:
    """A cost table for ES_RITNet alone on one accelerator (``n_rows`` first layers only)."""
    from workloads import zoo

    n = len(zoo.load("ES_RITNet").layers)
    rows = [f"ES_RITNet,{i},0,1000,1.5" for i in range(n if n_rows is None else n_rows)]
    text = COSTS_HEADER + "\n".join(rows) + "\n" + extra
    for old, new in override.items():
        text = text.replace(old, new, 1)
    return text


SCENARIO_ES = "name: s\nmodels:\n  - {model: ES_RITNet, fps: 30}\n"
SWEEP_OK = ("base_system: xrbench-4k-J\nscenarios: [vr_gaming]\npolicies: [latency_greedy]\n"
            "seeds: [0]\nhorizon_ms: 50\n")  # fmt: skip
LAYERS_FLAGS = ["--pes", "256", "--noc-bw", "64", "--dataflow", "ws"]


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]
    argv: list[str]
    expect: list[str]  # substrings (regex) the one-line message must contain
    outputs: list[str] = field(default_factory=list)  # paths that must not exist afterwards


def _sim(scenario: str = "s.yaml", system: str = "xrbench-4k-A", *extra: str) -> list[str]:
    return ["simulate", "--scenario", scenario, "--system", system, "--out", "out", *extra]


CASES: list[Case] = [
    # --- hardware YAML -------------------------------------------------------------------------
    Case("hw-empty", {"hw.yaml": ""}, ["hardware", "show", "hw.yaml"], ["hw.yaml"]),
    Case("hw-binary", {"hw.yaml": b"\x00\xff\xfe\x01garbage"}, ["hardware", "show", "hw.yaml"],
         ["hw.yaml", "binary"]),
    Case("hw-not-yaml", {"hw.yaml": "name: [unclosed\n"}, ["hardware", "show", "hw.yaml"],
         ["hw.yaml", "YAML"]),
    Case("hw-duplicate-key", {"hw.yaml": HW_OK.replace("  word_bytes: 1\n",
                                                       "  word_bytes: 1\n  word_bytes: 2\n")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "duplicate key 'word_bytes'"]),
    Case("hw-unknown-key", {"hw.yaml": _hw("  word_bytes: 1\n", "  word_bytes: 1\n  colour: red\n")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "colour"]),
    Case("hw-missing-field", {"hw.yaml": _hw("  l2_bytes: 2097152\n", "")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "l2_bytes"]),
    Case("hw-negative-pes", {"hw.yaml": _hw("num_pes: 1024", "num_pes: -4")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", r"num_pes"]),
    Case("hw-zero-l2", {"hw.yaml": _hw("l2_bytes: 2097152", "l2_bytes: 0")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "l2_bytes"]),
    Case("hw-nan-bw", {"hw.yaml": _hw("noc_top: {bw_words_per_cycle: 128}",
                                      "noc_top: {bw_words_per_cycle: .nan}")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "noc_top.bw_words_per_cycle"]),
    Case("hw-inf-clock", {"hw.yaml": _hw("clock_hz: 1000000000", "clock_hz: .inf")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "clock_hz"]),
    Case("hw-huge-pes", {"hw.yaml": _hw("num_pes: 1024", "num_pes: 1" + "0" * 40)},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "num_pes"]),
    Case("hw-bool-int", {"hw.yaml": _hw("word_bytes: 1", "word_bytes: true")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "word_bytes"]),
    Case("hw-string-int", {"hw.yaml": _hw("num_pes: 1024", "num_pes: lots")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "num_pes"]),
    Case("hw-unknown-dataflow", {"hw.yaml": _hw("dataflow: WS", "dataflow: XS")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "dataflow", "WS"]),
    Case("hw-dim-mapped-twice", {"hw.yaml": _hw(
        "dataflow: WS", "dataflow: \"TemporalMap(1,1) K; SpatialMap(1,1) K; Cluster(4); "
        "SpatialMap(1,1) C\"")}, ["hardware", "show", "hw.yaml"], ["hw.yaml", "dataflow", "K"]),
    Case("hw-cluster-too-big", {"hw.yaml": _hw(
        "dataflow: WS", "dataflow: \"SpatialMap(1,1) K; Cluster(4096); SpatialMap(1,1) C\"")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "[Cc]luster"]),
    Case("hw-unknown-energy", {"hw.yaml": _hw("energy: xrbench", "energy: nuclear")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "energy", "xrbench"]),
    Case("hw-list-not-mapping", {"hw.yaml": "- 1\n- 2\n"}, ["hardware", "show", "hw.yaml"],
         ["hw.yaml"]),
    # --- MAESTRO hardware / dataflow files ------------------------------------------------------
    Case("maestro-hw-unknown-key", {"hw.m": "Accelerator A {\n  num_pes: 256\n  warp_drive: 9\n}\n",
                                    "df.m": "Dataflow {\n SpatialMap(1,1) K;\n}\n"},
         ["hardware", "show", "hw.m", "--dataflow", "df.m"], ["hw.m", "warp_drive"]),
    Case("maestro-hw-bad-number", {"hw.m": "Accelerator A {\n  num_pes: 2x56\n}\n"},
         ["hardware", "show", "hw.m", "--dataflow", "WS"], ["hw.m", "num_pes"]),
    Case("maestro-df-garbage", {"hw.m": MAESTRO_HW_OK,
                                "df.m": "Dataflow {\n  WobbleMap(1,1) K;\n}\n"},
         ["hardware", "show", "hw.m", "--dataflow", "df.m"], ["df.m"]),
    # --- model files ----------------------------------------------------------------------------
    Case("model-empty", {"m.csv": ""}, ["models", "show", "m.csv"], ["m.csv"]),
    Case("model-missing-column", {"m.csv": "name,type,N,K,C,Y,X,R\nc1,CONV,1,8,3,16,16,3\n"},
         ["models", "show", "m.csv"], ["m.csv", "S"]),
    Case("model-negative-dim", {"m.csv": MODEL_OK.replace("1,8,3,16,16,3,3", "1,-8,3,16,16,3,3")},
         ["models", "show", "m.csv"], ["m.csv", "K"]),
    Case("model-non-integer", {"m.csv": MODEL_OK.replace("1,8,3,16,16,3,3", "1,8,3,sixteen,16,3,3")},
         ["models", "show", "m.csv"], ["m.csv", "Y"]),
    Case("model-unknown-op", {"m.csv": MODEL_OK.replace("c1,CONV", "c1,TELEPORT")},
         ["models", "show", "m.csv"], ["m.csv", "TELEPORT"]),
    Case("model-cycle", {"m.csv": "name,type,N,K,C,Y,X,R,S,inputs\n"
                                  "a,CONV,1,8,8,16,16,1,1,b\nb,CONV,1,8,8,16,16,1,1,a\n"},
         ["models", "show", "m.csv"], ["m.csv", "line 2", "earlier layer"]),
    Case("model-shape-mismatch", {"m.csv": "name,type,N,K,C,Y,X,R,S,padding,inputs\n"
                                           "a,CONV,1,8,3,16,16,3,3,1,\n"
                                           "b,CONV,1,8,32,16,16,3,3,1,a\n"},
         ["models", "show", "m.csv"], ["m.csv", "b"]),
    Case("model-maestro-garbage", {"m.m": "Network N {\n Layer L {\n Type: CONV\n Dimensions { K: x }"},
         ["models", "show", "m.m"], ["m.m"]),
    Case("model-onnx-garbage", {"m.onnx": b"\x08\x07garbage-not-a-protobuf\xff\xff"},
         ["models", "show", "m.onnx"], ["m.onnx"]),
    Case("model-unknown-name", {}, ["models", "show", "NoSuchNet"], ["NoSuchNet"]),
    # --- scenario files ---------------------------------------------------------------------------
    Case("scenario-unknown-model", {"s.yaml": _scn("GE_FBNet_C", "GE_NoSuchNet")},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "GE_NoSuchNet"]),
    Case("scenario-zero-fps", {"s.yaml": _scn("{model: ES_RITNet, fps: 60}",
                                              "{model: ES_RITNet, fps: 0}")},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "fps"]),
    Case("scenario-nan-fps", {"s.yaml": _scn("{model: ES_RITNet, fps: 60}",
                                             "{model: ES_RITNet, fps: .nan}")},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "fps"]),
    Case("scenario-bad-probability", {"s.yaml": _scn("probability: 1.0", "probability: 1.5")},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "probability"]),
    Case("scenario-cascade-cycle", {"s.yaml": _scn("{model: ES_RITNet, fps: 60}",
                                                   "{model: ES_RITNet, fps: 60, parent: GE_FBNet_C}")},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "cycle"]),
    Case("scenario-duplicate-key", {"s.yaml": "name: s\nname: t\nmodels: []\n"},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "duplicate key"]),
    Case("scenario-unknown-name", {}, ["scenarios", "show", "no_such_scenario"],
         ["no_such_scenario"]),
    # --- external cost tables (rtmm simulate --costs) ----------------------------------------
    Case("costs-missing-column", {"s.yaml": SCENARIO_OK, "c.csv": "model,layer_idx,accelerator\n"},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "latency_cycles"],
         ["out/summary.csv"]),
    Case("costs-negative-latency", {"s.yaml": SCENARIO_OK,
                                    "c.csv": lambda: _es_ge_costs(**{",1000,": ",-5,"})},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "latency_cycles"],
         ["out/summary.csv"]),
    Case("costs-accelerator-out-of-range", {"s.yaml": SCENARIO_OK,
                                            "c.csv": lambda: _es_ge_costs(**{",0,1000": ",7,1000"})},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "accelerator"],
         ["out/summary.csv"]),
    Case("costs-model-missing", {"s.yaml": SCENARIO_OK,
                                 "c.csv": COSTS_HEADER + "ES_RITNet,0,0,10,1.0\n"},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv"], ["out/summary.csv"]),
    Case("costs-binary", {"s.yaml": SCENARIO_OK, "c.csv": b"\x00\x01\x02\x03"},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv"], ["out/summary.csv"]),
    # --- cost CLI (rtmm cost --layers) --------------------------------------------------------
    Case("cost-layers-negative", {"l.csv": MODEL_OK.replace("1,8,3,16,16,3,3", "1,8,3,16,16,-3,3")},
         ["cost", "--layers", "l.csv", "--pes", "256", "--noc-bw", "64", "--dataflow", "ws",
          "--out", "o.csv"], ["l.csv", "R"], ["o.csv"]),
    Case("cost-layers-empty", {"l.csv": ""},
         ["cost", "--layers", "l.csv", "--pes", "256", "--noc-bw", "64", "--dataflow", "ws",
          "--out", "o.csv"], ["l.csv"], ["o.csv"]),
    Case("cost-zero-pes", {"l.csv": MODEL_OK},
         ["cost", "--layers", "l.csv", "--pes", "0", "--noc-bw", "64", "--dataflow", "ws",
          "--out", "o.csv"], ["pes"], ["o.csv"]),
    Case("cost-unknown-dataflow", {"l.csv": MODEL_OK},
         ["cost", "--layers", "l.csv", "--pes", "256", "--noc-bw", "64", "--dataflow", "zz",
          "--out", "o.csv"], ["dataflow"], ["o.csv"]),
    # --- CLI arguments ------------------------------------------------------------------------
    Case("cli-unknown-policy", {"s.yaml": SCENARIO_OK}, _sim("s.yaml", "xrbench-4k-A",
                                                             "--policy", "telepathy"),
         ["telepathy", "latency_greedy"], ["out/summary.csv"]),
    Case("cli-unknown-system", {"s.yaml": SCENARIO_OK}, _sim("s.yaml", "xrbench-9k-Z"),
         ["xrbench-9k-Z", "xrbench-4k-A"], ["out/summary.csv"]),
    Case("cli-unknown-scenario", {}, _sim("no_such_scenario", "xrbench-4k-A"),
         ["no_such_scenario"], ["out/summary.csv"]),
    Case("cli-negative-horizon", {"s.yaml": SCENARIO_OK}, _sim("s.yaml", "xrbench-4k-A",
                                                               "--horizon-ms", "-5"),
         ["horizon"], ["out/summary.csv"]),
    Case("cli-nan-horizon", {"s.yaml": SCENARIO_OK}, _sim("s.yaml", "xrbench-4k-A",
                                                          "--horizon-ms", "nan"),
         ["horizon"], ["out/summary.csv"]),
    Case("cli-negative-seed", {"s.yaml": SCENARIO_OK}, _sim("s.yaml", "xrbench-4k-A", "--seed", "-1"),
         ["seed", "integers >= 0"], ["out/summary.csv"]),
    Case("cli-unwritable-output", {"l.csv": MODEL_OK},
         ["cost", "--layers", "l.csv", "--pes", "256", "--noc-bw", "64", "--dataflow", "ws",
          "--out", "missing\x00dir/o.csv"], ["o.csv"]),
    Case("cli-output-under-a-file", {"l.csv": MODEL_OK, "blocker": "a file, not a folder"},
         ["cost", "--layers", "l.csv", "--pes", "256", "--noc-bw", "64", "--dataflow", "ws",
          "--out", "blocker/o.csv"], ["blocker/o.csv", "cannot write"]),
    Case("cli-missing-argument", {}, ["simulate", "--system", "xrbench-4k-A", "--out", "out"],
         ["scenario"], ["out/summary.csv"]),
    Case("cli-unknown-hardware-name", {}, ["hardware", "show", "xrbench-4k-Q"], ["xrbench-4k-Q"]),
    # --- sweep specs --------------------------------------------------------------------------
    Case("sweep-unknown-axis", {"sw.yaml": "base_system: xrbench-4k-J\naxes:\n  warp: [1, 2]\n"
                                           "scenarios: [vr_gaming]\npolicies: [latency_greedy]\n"},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--quiet"], ["sw.yaml", "warp"],
         ["r.sqlite"]),
    Case("sweep-empty-axis", {"sw.yaml": "base_system: xrbench-4k-J\naxes:\n"
                                         "  offchip_bw_words_per_cycle: []\n"
                                         "scenarios: [vr_gaming]\npolicies: [latency_greedy]\n"},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--quiet"],
         ["sw.yaml", "offchip_bw_words_per_cycle"], ["r.sqlite"]),
    Case("sweep-unknown-policy", {"sw.yaml": "base_system: xrbench-4k-J\n"
                                             "scenarios: [vr_gaming]\npolicies: [telepathy]\n"},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--quiet"], ["telepathy"], ["r.sqlite"]),
    Case("sweep-binary", {"sw.yaml": b"\x00\x00\x00"},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--quiet"], ["sw.yaml"], ["r.sqlite"]),
    # === issue 13 ==============================================================================
    # --- 1: an output never replaces an input; stores are only read ----------------------------
    Case("out-is-layers-input", {"l.csv": MODEL_OK},
         ["cost", "--layers", "l.csv", *LAYERS_FLAGS, "--out", "./l.csv"],
         ["l.csv", "--out", "would overwrite the input"]),
    Case("out-is-symlink-to-model", {"m.csv": MODEL_OK, "o.csv": _Link("m.csv")},
         ["cost", "--model", "m.csv", "--accelerator", "xrbench-4k-A/0", "--out", "o.csv"],
         ["o.csv", "would overwrite the input m.csv"]),
    Case("out-folder-holds-costs", {"s.yaml": SCENARIO_ES, "out/summary.csv": _costs_es},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "out/summary.csv"),
         ["out/summary.csv", "would overwrite the input"]),
    Case("pareto-csv-is-store", {"r.sqlite": _store_bytes},
         ["pareto", "r.sqlite", "--where", "scenario=vr_gaming", "--csv", "r.sqlite"],
         ["r.sqlite", "--csv", "would overwrite"]),
    Case("sweep-store-is-spec", {"sw.yaml": SWEEP_OK},
         ["sweep", "sw.yaml", "--store", "sw.yaml", "--quiet"], ["sw.yaml", "--store", "would overwrite"]),
    Case("pareto-foreign-database", {"app.db": lambda: _sqlite_bytes("CREATE TABLE contacts (name TEXT)")},
         ["pareto", "app.db"], ["app.db", "not a results store", "contacts"]),
    Case("pareto-empty-file", {"empty.sqlite": b""}, ["pareto", "empty.sqlite"],
         ["empty.sqlite", "not a results store"]),
    # --- 3: nothing hangs -----------------------------------------------------------------------
    Case("yaml-alias-bomb-scenario", {"s.yaml": "name: s\ndescription:\n" + _alias_bomb() + "models:\n  - {model: ES_RITNet, fps: 30}\n"},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "aliases expand to more than"]),
    Case("yaml-alias-bomb-hardware-name", {"hw.yaml": _hw("name: a0", "name:\n" + _alias_bomb())},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "aliases expand"]),
    Case("yaml-recursive-alias", {"sw.yaml": "base_system: &b [*b]\n"},
         ["sweep", "sw.yaml", "--store", "r.sqlite"], ["sw.yaml", "refers to itself"], ["r.sqlite"]),
    Case("fifo-scenario", {"s.yaml": FIFO}, _sim("s.yaml", "xrbench-4k-A"),
         ["s.yaml", "not a regular file"], ["out/summary.csv"]),
    Case("fifo-costs", {"s.yaml": SCENARIO_ES, "c.csv": FIFO},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "not a regular file"]),
    Case("fifo-onnx-model", {"m.onnx": FIFO}, ["models", "show", "m.onnx"], ["m.onnx", "not a regular file"]),
    Case("fifo-store", {"r.sqlite": FIFO}, ["pareto", "r.sqlite"], ["r.sqlite", "not a regular file"]),
    Case("scenario-1e9-fps", {"s.yaml": SCENARIO_ES.replace("fps: 30", "fps: 1000000000")},
         _sim("s.yaml", "xrbench-4k-A"), ["s.yaml", "fps", "10000"], ["out/summary.csv"]),
    Case("horizon-1e300", {"s.yaml": SCENARIO_ES}, _sim("s.yaml", "xrbench-4k-A", "--horizon-ms", "1e300"),
         ["--horizon-ms", "allowed"], ["out/summary.csv"]),
    Case("horizon-too-many-frames", {"s.yaml": SCENARIO_ES.replace("fps: 30", "fps: 9000")},
         _sim("s.yaml", "xrbench-4k-A", "--horizon-ms", "900000"), ["frames", "--horizon-ms"],
         ["out/summary.csv"]),
    # --- 4: outputs validated before any work; nothing partial ---------------------------------
    Case("out-member-is-directory", {"s.yaml": SCENARIO_ES, "out/trace.json": DIR},
         _sim("s.yaml", "xrbench-4k-A", "--horizon-ms", "50"), ["out/trace.json", "not a regular file"],
         ["out/summary.csv", "out/frames.csv"]),
    Case("pareto-bad-plot-suffix", {"r.sqlite": _store_bytes},
         ["pareto", "r.sqlite", "--where", "scenario=vr_gaming", "--csv", "ok.csv", "--plot", "bad.xyz"],
         ["bad.xyz", "--plot", ".png"], ["ok.csv"]),
    Case("compare-out-is-file", {"results": "a file"}, ["compare", "--out", "results", "--quiet"],
         ["results", "--out", "is a file, expected an output folder"]),
    Case("cost-out-is-directory", {"l.csv": MODEL_OK, "outdir": DIR},
         ["cost", "--layers", "l.csv", *LAYERS_FLAGS, "--out", "outdir"], ["outdir", "is a directory"]),
    Case("sweep-evaluator-crashes", {"sw.yaml": SWEEP_OK + "evaluator: math:sqrt\n"},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--executor", "serial", "--quiet"],
         ["evaluator crashed with TypeError"], ["r.sqlite", "r.sqlite-wal"]),
    Case("sweep-evaluator-returns-junk", {"sw.yaml": SWEEP_OK + "evaluator: builtins:repr\n"},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--executor", "serial", "--quiet"],
         ["the evaluator returned str"], ["r.sqlite"]),
    # --- 5: bad values are one line, never a traceback -------------------------------------------
    Case("layers-int-beyond-int64", {"l.csv": MODEL_OK.replace("1,8,3,16,16,3,3", "1,99999999999999999999999,3,16,16,3,3")},
         ["cost", "--layers", "l.csv", *LAYERS_FLAGS], ["l.csv", "line 2", "K", "1048576"]),
    Case("model-csv-int-beyond-int64", {"m.csv": MODEL_OK.replace("1,8,8,14,14,3,3", "1,8,8,14,14,3,99999999999999999999")},
         ["models", "show", "m.csv"], ["m.csv", "line 3", "S = 99999999999999999999"]),
    Case("maestro-hw-5000-digits", {"hw.m": MAESTRO_HW_OK.replace("num_pes: 256", "num_pes: " + "9" * 5000)},
         ["hardware", "show", "hw.m", "--dataflow", "WS"], ["hw.m", "num_pes"]),
    Case("maestro-directive-2-62", {"hw.m": MAESTRO_HW_OK, "df.m": "Dataflow {\n SpatialMap(4611686018427387904,1) K;\n}\n"},
         ["hardware", "show", "hw.m", "--dataflow", "df.m"], ["df.m", "too large"]),
    Case("maestro-20000-nested-blocks", {"n.m": _deep_maestro}, ["models", "show", "n.m"],
         ["n.m", "nested more than"]),
    Case("xrbench-scenario-nested-blocks", {"x.m": _deep_maestro}, ["scenarios", "show", "x.m"],
         ["x.m", "nested"]),
    Case("onnx-zero-strides", {"m.onnx": lambda: _onnx_bytes("zero-strides")}, ["models", "show", "m.onnx"],
         ["m.onnx", "c1", "strides"]),
    Case("onnx-empty-kernel-shape", {"m.onnx": lambda: _onnx_bytes("empty-kernel")}, ["models", "show", "m.onnx"],
         ["m.onnx", "p1", "kernel_shape"]),
    Case("onnx-rank2-conv-weights", {"m.onnx": lambda: _onnx_bytes("rank2-weights")}, ["models", "show", "m.onnx"],
         ["m.onnx", "c1", "weight rank 2"]),
    Case("onnx-cyclic-graph", {"m.onnx": lambda: _onnx_bytes("cycle")}, ["models", "show", "m.onnx"],
         ["m.onnx", "n1", "cycle"]),
    Case("scenario-denormal-fps", {"s.yaml": SCENARIO_ES.replace("fps: 30", "fps: 4.9e-324")},
         _sim("s.yaml", "xrbench-4k-A"), ["s.yaml", "fps"], ["out/summary.csv"]),
    Case("scenario-fps-huge-int", {"s.yaml": SCENARIO_ES.replace("fps: 30", "fps: 1" + "0" * 400)},
         ["scenarios", "show", "s.yaml"], ["s.yaml", "fps"]),
    Case("xrbench-mode-2000-fps", {"s.yaml": SCENARIO_ES.replace("fps: 30", "fps: 2000")},
         _sim("s.yaml", "xrbench-4k-A", "--xrbench-compatible", "--horizon-ms", "50"),
         ["ES_RITNet", "2000 FPS", "1000"], ["out/summary.csv"]),
    Case("sweep-seed-beyond-int64", {"sw.yaml": SWEEP_OK.replace("seeds: [0]", "seeds: [99999999999999999999999]")},
         ["sweep", "sw.yaml", "--store", "r.sqlite"], ["sw.yaml", "seeds", "2\\^63"], ["r.sqlite"]),
    Case("sweep-sample-1e11", {"sw.yaml": SWEEP_OK + "sample: {method: lhs, n: 100000000000}\n"},
         ["sweep", "sw.yaml", "--store", "r.sqlite"], ["sw.yaml", "sample.n"], ["r.sqlite"]),
    Case("compare-seed-range-1e12", {}, ["compare", "--seeds", "0..1000000000000", "--out", "cmp"],
         ["--seeds", "at most 1000"], ["cmp"]),
    Case("compare-horizon-1e300", {}, ["compare", "--horizon-ms", "1e300", "--out", "cmp", "--quiet"],
         ["--horizon-ms", "1e\\+06"], ["cmp"]),
    Case("compare-jobs-huge", {}, ["compare", "--jobs", "9" * 25, "--out", "cmp", "--quiet"],
         ["--jobs", "1..1024"], ["cmp"]),
    Case("simulate-seed-1e30", {"s.yaml": SCENARIO_ES}, _sim("s.yaml", "xrbench-4k-A", "--seed", "1" + "0" * 30),
         ["--seed", "2\\^63"], ["out/summary.csv"]),
    Case("sweep-malformed-dask-address", {"sw.yaml": SWEEP_OK},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--scheduler-address", "tcp://no port here"],
         ["--scheduler-address", "HOST:PORT"], ["r.sqlite"]),
    Case("sweep-workers-huge", {"sw.yaml": SWEEP_OK},
         ["sweep", "sw.yaml", "--store", "r.sqlite", "--workers", "1" + "0" * 20], ["--workers", "integers from 1 to 1024"], ["r.sqlite"]),
    Case("pareto-corrupted-store", {"r.sqlite": lambda: _store_bytes()[:100] + b"\x13" * 4000},
         ["pareto", "r.sqlite"], ["r.sqlite", "store"]),
    Case("pareto-wrong-schema-store", {"r.sqlite": lambda: _sqlite_bytes("CREATE TABLE points (seq INTEGER)")},
         ["pareto", "r.sqlite"], ["r.sqlite", "points lacks point_id"]),
    # --- 6: messages name the file, the row, and what is allowed --------------------------------
    Case("costs-huge-latency", {"s.yaml": SCENARIO_ES, "c.csv": lambda: _costs_es(**{",1000,": ",99999999999999999999,"})},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "line 2", "latency_cycles", "too large"],
         ["out/summary.csv"]),
    Case("layers-dim-above-bound-names-file", {"l.csv": MODEL_OK.replace("1,8,3,16,16,3,3", "1,9999999999,3,16,16,3,3")},
         ["cost", "--layers", "l.csv", *LAYERS_FLAGS], ["^rtmm: error: l.csv", "line 2", "K", "1048576"]),
    Case("cli-pes-1e20", {"l.csv": MODEL_OK}, ["cost", "--layers", "l.csv", "--pes", "1e20", "--noc-bw", "64", "--dataflow", "ws"],
         ["--pes", "allowed: integers from 1 to 2\\^40"]),
    Case("cli-pes-beyond-int64", {"l.csv": MODEL_OK},
         ["cost", "--layers", "l.csv", "--pes", "99999999999999999999999", "--noc-bw", "64", "--dataflow", "ws"],
         ["--pes", "too large", "2\\^40"]),
    Case("directory-as-system-yaml", {"s.yaml": SCENARIO_ES, "hw.yaml": DIR}, _sim("s.yaml", "hw.yaml"),
         ["hw.yaml", "is a directory"], ["out/summary.csv"]),
    Case("system-refers-to-itself", {"hw.yaml": "name: me\noffchip_bw_words_per_cycle: 128\naccelerators:\n- ./hw.yaml/0\n"},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "refers to itself"]),
    Case("systems-refer-to-each-other", {"a.yaml": "name: a\noffchip_bw_words_per_cycle: 128\naccelerators:\n- ./b.yaml/0\n",
                                         "b.yaml": "name: b\noffchip_bw_words_per_cycle: 128\naccelerators:\n- ./a.yaml/0\n"},
         ["hardware", "show", "a.yaml"], ["a.yaml", "refers to itself", "b.yaml"]),
    # --- 7: nothing overflows into inf or wrapped numbers ----------------------------------------
    Case("hw-huge-mac-pj", {"hw.yaml": _hw("energy: xrbench", "energy: {base: xrbench, mac_pj: 1.0e+300}")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "mac_pj", "1e\\+06"]),
    Case("hw-tiny-clock", {"hw.yaml": _hw("clock_hz: 1000000000", "clock_hz: 1.0e-300")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "clock_hz"]),
    Case("hw-yaml-directive-near-2-62", {"hw.yaml": _hw("dataflow: WS", "dataflow: \"SpatialMap(4611686018427387903,1) K; TemporalMap(1,1) C\"")},
         ["hardware", "show", "hw.yaml"], ["hw.yaml", "too large"]),
    Case("costs-energy-1e300", {"s.yaml": SCENARIO_ES, "c.csv": lambda: _costs_es(**{",1.5": ",1e300"})},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "line 2", "energy_nj"], ["out/summary.csv"]),
    Case("cli-clock-hz-denormal", {"l.csv": MODEL_OK}, ["cost", "--layers", "l.csv", *LAYERS_FLAGS, "--clock-hz", "1e-310"],
         ["--clock-hz", "1000"]),
    # --- issue 15: cost tables checked against the models; --where values exist -----------------
    Case("costs-missing-last-layer", {"s.yaml": SCENARIO_ES, "c.csv": lambda: _costs_es(n_rows=41)},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "line 42", "42 layers", "layer 40"],
         ["out/summary.csv"]),
    Case("costs-extra-layer-index", {"s.yaml": SCENARIO_ES, "c.csv": lambda: _costs_es(extra="ES_RITNet,42,0,1000,1.5\n")},
         _sim("s.yaml", "xrbench-4k-A", "--costs", "c.csv"), ["c.csv", "line 44", "no layer 42", "0..41"],
         ["out/summary.csv"]),
    Case("pareto-where-matches-nothing", {"r.sqlite": _store_bytes},
         ["pareto", "r.sqlite", "--where", "scenario=vr_gamin", "--csv", "f.csv"],
         ["--where", "did you mean vr_gaming", "ar_gaming, vr_gaming"], ["f.csv"]),
    Case("pareto-mixed-scenarios", {"r.sqlite": _store_bytes}, ["pareto", "r.sqlite", "--csv", "f.csv"],
         ["r.sqlite", "2 scenarios", "--where scenario=NAME"], ["f.csv"]),
]  # fmt: skip


def _materialise(case: Case, folder: Path) -> None:
    for name, content in case.files.items():
        if callable(content) and not isinstance(content, _Fifo | _Dir | _Link):
            content = content()
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, _Fifo):
            os.mkfifo(path)
        elif isinstance(content, _Dir):
            path.mkdir()
        elif isinstance(content, _Link):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _regular_files(folder: Path) -> dict[Path, bytes]:
    """Contents of the regular files under ``folder`` (FIFOs are never opened)."""
    return {
        p.relative_to(folder): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink() and stat.S_ISREG(p.stat().st_mode)
    }


def test_catalogue_is_large_enough():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_gives_one_line_error(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _materialise(case, tmp_path)
    before = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    inputs = _regular_files(tmp_path)
    code = main(case.argv)
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, f"exit {code}; stderr: {err!r}"
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert lines[0].startswith("rtmm: error: ")
    assert "Traceback" not in err + captured.out
    for pattern in case.expect:
        assert re.search(pattern, lines[0]), f"{pattern!r} not in {lines[0]!r}"
    for out in case.outputs:
        assert not (tmp_path / out).exists(), f"{out} left behind"
    after = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    leftovers = [p for p in after - before if p.is_file() if (tmp_path / p).is_file()]
    stray = [p for p in after - before if (tmp_path / p).is_file()]
    assert not stray, f"files left behind: {stray} {leftovers}"
    changed = [p for p, data in inputs.items() if (tmp_path / p).read_bytes() != data]
    assert not changed, f"inputs modified: {changed}"


# --- the same inputs through the Python API raise the typed errors -------------------------------


def test_api_hardware_errors_are_typed(tmp_path):
    from hardware_db import library

    p = tmp_path / "hw.yaml"
    p.write_text(_hw("num_pes: 1024", "num_pes: -4"))
    with pytest.raises(RtmmError, match="num_pes"):
        library.get_system(p)
    with pytest.raises(RtmmError, match="xrbench-4k-A"):
        library.get_system("xrbench-4k-Q")


def test_api_workload_errors_are_typed(tmp_path):
    from workloads import scenario, zoo

    m = tmp_path / "m.csv"
    m.write_text(MODEL_OK.replace("c1,CONV", "c1,TELEPORT"))
    with pytest.raises(RtmmError, match="TELEPORT"):
        zoo.load(m)
    s = tmp_path / "s.yaml"
    s.write_text(_scn("probability: 1.0", "probability: -0.1"))
    with pytest.raises(RtmmError, match="probability"):
        scenario.load(s)


def test_api_model_graph_cycle_is_rejected():
    from workloads.layer import Layer, OpType
    from workloads.model import Model

    layers = [Layer(n, OpType.CONV, 1, 8, 8, 16, 16, 1, 1) for n in ("a", "b", "c")]
    with pytest.raises(RtmmError, match="cycle"):
        Model.from_edges("loop", layers, [["c"], ["a"], ["b"]])


def test_api_simulation_errors_are_typed():
    from scheduler import simulate

    with pytest.raises(RtmmError, match="telepathy"):
        simulate("vr_gaming", "xrbench-4k-A", policy="telepathy")


def test_api_cost_tables_must_cover_the_models_that_run(tmp_path):
    """Issue 15: the API checks a cost table against the scenario's own models: a two-layer
    model file needs exactly layers 0..1 (not the zoo model of the same name)."""
    from scheduler import simulate

    (tmp_path / "tiny.csv").write_text(MODEL_OK)
    scn = tmp_path / "s.yaml"
    scn.write_text("name: s\nmodels:\n  - {model: ES_RITNet, file: tiny.csv, fps: 30}\n")
    good = tmp_path / "good.csv"
    good.write_text(COSTS_HEADER + "ES_RITNet,0,0,1000,1.5\nES_RITNet,1,0,1000,1.5\n")
    result = simulate(str(scn), "xrbench-4k-A", policy="fcfs", costs=str(good), horizon_ms=100)
    assert len(result.frames) > 0
    short = tmp_path / "short.csv"
    short.write_text(COSTS_HEADER + "ES_RITNet,0,0,1000,1.5\n")
    with pytest.raises(RtmmError, match=r"short.csv: line 2: .* has 2 layers but rows stop"):
        simulate(str(scn), "xrbench-4k-A", policy="fcfs", costs=str(short), horizon_ms=100)
    extra = tmp_path / "extra.csv"
    extra.write_text(good.read_text() + "ES_RITNet,2,0,1000,1.5\n")
    with pytest.raises(RtmmError, match=r"extra.csv: line 4: .* no layer 2"):
        simulate(str(scn), "xrbench-4k-A", policy="fcfs", costs=str(extra), horizon_ms=100)


def test_overload_is_not_an_error():
    """A scenario the hardware cannot sustain runs and reports its misses and drops."""
    from scheduler import simulate

    # maestro's costs overload this system (native's do not)
    result = simulate(
        "ar_assistant", "xrbench-4k-G", policy="fcfs", horizon_ms=300, seed=1, analysis="maestro"
    )
    summary = result.summary()
    scen = summary[summary["model"].isna() | (summary["model"] == "")].iloc[0]
    assert scen["miss_rate"] + scen["drop_rate"] > 0.2


# --- faults: locks, Ctrl-C, file modes, completeness (issue 13 class 8, issue 15 item 4) ---------


def test_pareto_on_a_locked_store_fails_fast_with_one_line(tmp_path, capsys):
    import sqlite3
    import time

    store = tmp_path / "r.sqlite"
    store.write_bytes(_store_bytes())
    holder = sqlite3.connect(store, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE meta SET value = value")
        t0 = time.perf_counter()
        code = main(["pareto", str(store), "--where", "scenario=vr_gaming"])
        elapsed = time.perf_counter() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "locked by another process" in err
    assert elapsed < 10.0


def test_outputs_get_the_umask_mode(tmp_path):
    from rtmm.fileio import atomic_write_text

    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o644


def _simulate_args(out: Path, *extra: str) -> list[str]:
    return ["simulate", "--scenario", "vr_gaming", "--system", "xrbench-4k-J", "--policy",
            "fcfs", "--horizon-ms", "60", "--out", str(out), *extra]  # fmt: skip


def test_output_folder_manifest_is_written_last_and_detects_changes(tmp_path, capsys):
    from rtmm.paths import MANIFEST_NAME, verify_manifest

    out = tmp_path / "out"
    assert main(_simulate_args(out, "--no-plots")) == 0
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    names = [f["name"] for f in manifest["files"]]
    assert names == ["frames.csv", "run.json", "summary.csv", "timeline.csv", "trace.json",
                     "utilisation.csv"]  # fmt: skip
    assert verify_manifest(out) == []
    latest = max((out / n).stat().st_mtime_ns for n in names)
    assert (out / MANIFEST_NAME).stat().st_mtime_ns >= latest
    (out / "summary.csv").write_text("edited\n")
    assert verify_manifest(out) == ["summary.csv: changed since the run"]


def test_interrupted_output_writing_leaves_no_manifest_and_no_temp_file(tmp_path, capsys,
                                                                        monkeypatch):  # fmt: skip
    """Ctrl-C after some outputs are written: the folder keeps no manifest (so it reads as
    incomplete, even though a previous complete run had one) and no hidden temp file."""
    import scheduler.outputs as outputs
    from rtmm.paths import MANIFEST_NAME, verify_manifest

    out = tmp_path / "out"
    assert main(_simulate_args(out, "--no-plots")) == 0

    def interrupted(result, path):
        from rtmm.fileio import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text('{"half": ')
            raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "write_trace", interrupted)
    assert main(_simulate_args(out, "--no-plots", "--seed", "3")) == 130
    assert not (out / MANIFEST_NAME).exists()
    assert "did not finish" in verify_manifest(out)[0]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_real_sigint_during_a_run_never_leaves_a_temp_file(tmp_path):
    """Real Ctrl-C (SIGINT) at several moments while ``rtmm simulate`` writes its outputs (timed
    from the moment the output folder appears): exit 130 or 0; never a hidden temp file; a folder
    holding a manifest is complete, one without is marked incomplete."""
    import signal
    import subprocess
    import sys
    import time

    from rtmm.paths import MANIFEST_NAME, verify_manifest

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    outcomes = []
    for i, delay in enumerate((0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)):
        out = tmp_path / f"out{i}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "dse.cli", *_simulate_args(out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # a background job's children inherit SIGINT ignored: restore the default
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # the folder appears with the first output file
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 130), err
        assert "Traceback" not in err
        hidden = [p.name for p in out.glob(".*")] if out.exists() else []
        assert not hidden, f"temp files left after SIGINT at {delay} s: {hidden}"
        if out.exists() and (out / MANIFEST_NAME).exists():
            assert verify_manifest(out) == []
        outcomes.append((proc.returncode, out.exists() and (out / MANIFEST_NAME).exists()))
    assert (130, False) in outcomes  # at least one run was really interrupted
