"""MAESTRO text formats: directive lists, dataflow files, hardware files, pairing into a System."""

from __future__ import annotations

import dataclasses

import pytest

from hardware_db import library
from hardware_db.dataflow import PRESETS, Directive
from hardware_db.maestro_format import (
    DirectiveSyntaxError,
    parse_dataflow_text,
    parse_directives,
    parse_hardware_text,
    read_dataflow_file,
    read_hardware_file,
)
from hardware_db.maestro_system import read_maestro_system
from rtmm.errors import SpecError

BLOCK = """Accelerator {name} {{
  num_pes: {pes}
  offchip_bw: 128
  top_noc_bw: 128
  top_noc_latency: 1
  top_noc_multicast: True
  col_noc_bw: 128
  col_noc_latency: 1
  col_noc_multicast: True
  global_shared_memory: 2097152 // 2 MiB
  PE_local_memory: 8192 // 8KiB
}}
"""
BIG_LITTLE = "// big.LITTLE, top and col order kept\n\n" + "\n".join(
    BLOCK.format(name=n, pes=p) for n, p in (("Acc0_2K", 3072), ("Acc1_2K", 1024))
)
WS_OS = """// NVDLA
  Dataflow {
    TemporalMap(16,16) C;
    TemporalMap(16,16) K;
    TemporalMap(1,1) Y'; //'
    SpatialMap(1,1) X'; //'
    Cluster(16,P);
    SpatialMap(1,1) K;
    TemporalMap(64,64) C;
    TemporalMap(1,1) Y';
    TemporalMap(1,1) X';
    Cluster(16, P);
    SpatialMap(1,1) C;
  }

// Hand-optimized OS
Dataflow {
  TemporalMap(1,1) K;
  SpatialMap(1,1) Y'; //'
  TemporalMap(4,4) X'; //'
  TemporalMap(16,16) C;
  Cluster(4,P);
  SpatialMap(1,1) X'; //'
  Cluster(16, P);
  SpatialMap(1,1) C;
}
"""


def test_directive_string_forms():
    directives = parse_directives("T(16,16) C; SpatialMap(1, 1) OX; Cluster(16,P)\nS(1,1) K // c")
    assert directives == (
        Directive("T", 16, 16, "C"),
        Directive("S", 1, 1, "X'"),
        Directive("C", 16),
        Directive("S", 1, 1, "K"),
    )
    for preset in PRESETS.values():
        assert parse_directives(str(preset)) == preset.directives


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("TemporalMap(1,1) Q", "unknown dimension 'Q'"),
        ("TemporalMap(0,1) C", "size '0' in 'TemporalMap(0,1) C' is not a positive integer"),
        ("TemporalMap(1,1) C; SpatialMap(1,1) C", "dimension C is mapped twice at cluster level 0"),
        ("Cluster(4,L); S(1,1) C", "cluster type 'L'"),
        ("Cluster(4)", "no map directives"),
        ("", "no map directives"),
        ("Foo(1,1) C", "cannot parse directive 'Foo(1,1) C'"),
    ],
)
def test_directive_errors(text, message):
    with pytest.raises(DirectiveSyntaxError) as info:
        parse_directives(text)
    assert message in info.value.message


def test_same_dim_at_different_levels_is_fine():
    parse_directives("T(1,1) C; Cluster(4); T(1,1) C")


def test_dataflow_file_with_two_blocks_maps_to_presets(tmp_path):
    path = tmp_path / "WS_OS.m"
    path.write_text(WS_OS)
    flows = read_dataflow_file(path)
    assert flows == [PRESETS["WS"], PRESETS["OS"]]


def test_dataflow_file_custom_name_and_errors():
    (flow,) = parse_dataflow_text("Dataflow { T(1,1) K; S(1,1) C; }", "dir/my_df.m")
    assert flow.name == "my_df" and len(flow.directives) == 2
    with pytest.raises(SpecError, match=r"x.m: line 3: unknown dimension 'Z'"):
        parse_dataflow_text("Dataflow {\n T(1,1) K;\n S(1,1) Z;\n}", "x.m")
    with pytest.raises(SpecError, match=r"x.m: line 1: block 'Dataflow' is not closed"):
        parse_dataflow_text("Dataflow {\n T(1,1) K;\n", "x.m")
    with pytest.raises(SpecError, match=r"x.m: no Dataflow block"):
        parse_dataflow_text("// nothing\n", "x.m")


def test_hardware_file_big_little(tmp_path):
    path = tmp_path / "Dual_4K_BigLittle.m"
    path.write_text(BIG_LITTLE)
    hw = read_hardware_file(path)
    assert [h.name for h in hw] == ["Acc0_2K", "Acc1_2K"]
    assert [h.num_pes for h in hw] == [3072, 1024]
    assert hw[0].global_shared_memory == 2 << 20 and hw[0].pe_local_memory == 8192
    assert hw[1].top_noc_multicast is True and hw[1].col_noc_latency == 1


def test_pairing_reproduces_the_library_system(tmp_path):
    hw, df = tmp_path / "Dual_4K_BigLittle.m", tmp_path / "WS_OS.m"
    hw.write_text(BIG_LITTLE)
    df.write_text(WS_OS)
    system = read_maestro_system(hw, df)
    reference = library.get_system("xrbench-4k-K")
    assert system.name == "Dual_4K_BigLittle"
    assert len(system) == 2
    for ours, ref in zip(system.accelerators, reference.accelerators, strict=True):
        assert dataclasses.replace(ours, name=ref.name) == ref
    # one preset for all accelerators, and the library entry point with dataflow=
    both_ws = library.get_system(hw, dataflow="WS")
    assert [a.dataflow.name for a in both_ws.accelerators] == ["WS", "WS"]
    with pytest.raises(SpecError, match="states no dataflow"):
        library.get_system(hw)


def test_pairing_count_mismatch(tmp_path):
    hw = tmp_path / "hw.m"
    hw.write_text(BIG_LITTLE)
    with pytest.raises(SpecError, match="3 dataflows for 2 accelerators"):
        read_maestro_system(hw, ["WS", "OS", "RS"])
    with pytest.raises(SpecError, match="dataflow 'XY' is neither a preset nor a file"):
        read_maestro_system(hw, "XY")


def test_cluster_larger_than_pes_in_maestro_pairing(tmp_path):
    hw = tmp_path / "tiny.m"
    hw.write_text(BLOCK.format(name="Tiny", pes=128))
    with pytest.raises(SpecError, match=r"tiny.m: accelerators\[0\].dataflow: cluster sizes 16x16"):
        read_maestro_system(hw, "WS")


def test_legacy_braceless_hardware_file():
    text = "num_pes: 256\nl1_size_cstr: 100\nl2_size_cstr: 3000\nnoc_bw_cstr: 64\n"
    text += "offchip_bw_cstr: 50\n"
    (hw,) = parse_hardware_text(text, "data/hw/accelerator_1.m")
    assert (hw.name, hw.num_pes, hw.pe_local_memory, hw.global_shared_memory) == (
        "accelerator_1",
        256,
        100,
        3000,
    )
    assert (hw.top_noc_bw, hw.col_noc_bw, hw.offchip_bw) == (64, 64, 50)
    with pytest.raises(SpecError, match=r"hw.m: accelerator 'hw' lacks noc_bw_cstr"):
        text = "num_pes: 256\nl1_size_cstr: 1\nl2_size_cstr: 1\noffchip_bw_cstr: 1"
        parse_hardware_text(text, "hw.m")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BLOCK.format(name="A", pes=64).replace("offchip_bw", "offchip_bandwidth"),
         "hw.m: line 3: unknown key 'offchip_bandwidth' (allowed: num_pes, offchip_bw,"),
        (BLOCK.format(name="A", pes="4k"), "hw.m: line 2: num_pes: '4k' is not a positive integer"),
        (BLOCK.format(name="A", pes=-4), "hw.m: line 2: num_pes: '-4' is not a positive integer"),
        (BLOCK.format(name="A", pes=64).replace("True", "yes", 1),
         "hw.m: line 6: top_noc_multicast: 'yes' is not a boolean (allowed: True or False)"),
        (BLOCK.format(name="A", pes=64).replace("  PE_local_memory: 8192 // 8KiB\n", ""),
         "hw.m: line 1: accelerator 'A' lacks PE_local_memory"),
        (BLOCK.format(name="A", pes=64) + BLOCK.format(name="A", pes=64),
         "hw.m: accelerator name 'A' is used twice"),
        (BLOCK.format(name="A", pes=64).replace("  offchip_bw: 128\n", "  offchip_bw: 128\n" * 2),
         "hw.m: line 4: duplicate key 'offchip_bw' (first on line 3)"),
        ("Accelerator A {\n num_pes: 4\n", "hw.m: line 1: block 'Accelerator A' is not closed"),
        ("Accel A {\n num_pes: 4\n}\n", "hw.m: line 1: unknown block header 'Accel A'"),
        ("}\n", "hw.m: line 1: unmatched '}'"),
        ("// only a comment\n", "hw.m: no accelerator in the file"),
    ],
)  # fmt: skip
def test_hardware_file_errors(text, message):
    with pytest.raises(SpecError) as info:
        parse_hardware_text(text, "hw.m")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
