# ruff: noqa: E501  (the catalogue is a table; its rows stay on one line each where possible)
"""Catalogue of hostile inputs across every entry point (issue 8).

Each case writes its files into a fresh folder, runs the ``rtmm`` CLI in-process and checks that the
run ends with exit code 2, exactly one line on stderr that starts with ``rtmm: error:`` and names
what it must (the file and the field or line, and what is allowed), no traceback, and no output file
left behind. A second part calls the Python API and checks that the same inputs raise the project's
typed errors (subclasses of :class:`rtmm.RtmmError`).
"""

from __future__ import annotations

import re
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
]  # fmt: skip


def _materialise(case: Case, folder: Path) -> None:
    for name, content in case.files.items():
        if callable(content):
            content = content()
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_catalogue_is_large_enough():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_gives_one_line_error(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _materialise(case, tmp_path)
    before = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
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


def test_overload_is_not_an_error():
    """A scenario the hardware cannot sustain runs and reports its misses and drops."""
    from scheduler import simulate

    result = simulate("ar_assistant", "xrbench-4k-G", policy="fcfs", horizon_ms=300, seed=1)
    summary = result.summary()
    scen = summary[summary["model"].isna() | (summary["model"] == "")].iloc[0]
    assert scen["miss_rate"] + scen["drop_rate"] > 0.2
