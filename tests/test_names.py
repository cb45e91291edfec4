"""Did-you-mean hints for every kind of name, and spec labels from file paths (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from costmodel.analyses import get_analysis
from dse.sweep import parse_spec
from hardware_db.library import get_accelerator, get_system
from rtmm.errors import RtmmError, UnknownNameError
from rtmm.names import close_matches, did_you_mean, spec_label, unknown_name
from scheduler import policies
from workloads import scenario, supernet, zoo


def test_close_matches_ignore_case_and_separators():
    assert close_matches("VR-gaming", ["vr_gaming", "ar_gaming"]) == ["vr_gaming"]
    assert close_matches("qqqq", ["vr_gaming"]) == []
    assert did_you_mean("qqqq", ["vr_gaming"]) == ""
    err = unknown_name("policy", "sdrm", ["sdrm3", "fcfs"], source="<cli>")
    assert isinstance(err, UnknownNameError)
    assert "unknown policy 'sdrm' (did you mean 'sdrm3'?)" in str(err)
    assert "(allowed: sdrm3, fcfs)" in str(err)


@pytest.mark.parametrize(
    "lookup,typo,hint",
    [
        (zoo.load, "ES_RITNett", "ES_RITNet"),
        (scenario.load, "vr_gamin", "vr_gaming"),
        (policies.get, "latency_gredy", "latency_greedy"),
        (get_analysis, "maestr", "maestro"),
        (get_system, "xrbench-4k-Z", "xrbench-4k-"),
        (get_accelerator, "eyeris", "eyeriss"),
        (lambda name: supernet.variant("GE_FBNet_C", name), "w05", "w0.5"),
    ],
)
def test_every_lookup_suggests(lookup, typo, hint):
    with pytest.raises(RtmmError) as info:
        lookup(typo)
    text = str(info.value)
    assert "did you mean" in text and hint in text and "\n" not in text


def test_scenario_file_with_unknown_model_suggests(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("models:\n  - {model: ES_RITNett, fps: 60}\n")
    with pytest.raises(UnknownNameError, match="did you mean 'ES_RITNet'"):
        scenario.load(path)


@pytest.mark.parametrize(
    "doc,hint",
    [
        ({"base_sytem": "x"}, "did you mean 'base_system'"),
        (
            {"base_system": "xrbench-4k-J", "scenarios": ["vr_gaming"], "policies": ["fcfs"],
             "axes": {"accelerators[*].dataflow": ["XS"]}},
            "did you mean 'WS'",
        ),
        (
            {"base_system": "xrbench-4k-J", "scenarios": ["vr_gaming"], "policies": ["fcfs"],
             "analysis": ["nativ"]},
            "did you mean 'native'",
        ),
    ],
)  # fmt: skip
def test_sweep_spec_names_suggest(doc, hint):
    with pytest.raises(RtmmError, match=hint):
        parse_spec(doc, source="s.yaml")


def test_spec_label_uses_stem_or_name():
    assert spec_label("specs/my-npu.yaml") == "my-npu"
    assert spec_label(Path("my-scn2.yaml")) == "my-scn2"
    assert spec_label("xrbench-4k-J") == "xrbench-4k-J"
    assert spec_label(get_system("xrbench-4k-J")) == "xrbench-4k-J"
    assert spec_label("hw/Dual.m") == "Dual"
