"""The hardware library: the 26 XRBench systems, lookups, round trips, references."""

from __future__ import annotations

import dataclasses

import pytest

from hardware_db import library
from hardware_db.dataflow import PRESETS as DATAFLOWS
from hardware_db.energy import PRESETS as ENERGY
from hardware_db.library import accelerator_from_text, load_system, system_from_text
from hardware_db.loader import dump_accelerator, dump_system, save_system
from rtmm.errors import RtmmError, SpecError, UnknownNameError

MiB, KiB = 1 << 20, 1 << 10

# XRBench's hardware configurations: style -> (dataflows, PEs at 4K, PEs at 8K)
STYLES = {
    "A": (["WS"], [4096], [8192]),
    "B": (["OS"], [4096], [8192]),
    "C": (["RS"], [4096], [8192]),
    "D": (["WS", "WS"], [2048] * 2, [4096] * 2),
    "E": (["OS", "OS"], [2048] * 2, [4096] * 2),
    "F": (["RS", "RS"], [2048] * 2, [4096] * 2),
    "G": (["WS"] * 4, [1024] * 4, [2048] * 4),
    "H": (["OS"] * 4, [1024] * 4, [2048] * 4),
    "I": (["RS"] * 4, [1024] * 4, [2048] * 4),
    "J": (["WS", "OS"], [2048] * 2, [4096] * 2),
    "K": (["WS", "OS"], [3072, 1024], [6144, 2048]),
    "L": (["WS", "OS"], [1024, 3072], [2048, 6144]),
    "M": (["WS", "OS", "WS", "OS"], [1024] * 4, [2048] * 4),
}
# (size, number of accelerators) -> (NoC bw, L2 bytes each, L1 bytes per PE)
MEMORY = {
    ("4k", 1): (256, 4 * MiB, 8 * KiB),
    ("8k", 1): (256, 8 * MiB, 16 * KiB),
    ("4k", 2): (128, 2 * MiB, 8 * KiB),
    ("8k", 2): (256, 4 * MiB, 16 * KiB),
    ("4k", 4): (128, 2 * MiB, 8 * KiB),
    ("8k", 4): (256, 4 * MiB, 8 * KiB),
}
XRBENCH = [(size, style) for size in ("4k", "8k") for style in STYLES]


def test_list_systems_has_the_26_xrbench_systems():
    names = library.list_systems()
    assert len(names) == 26
    assert names == sorted(f"xrbench-{size}-{style}" for size, style in XRBENCH)


@pytest.mark.parametrize(("size", "style"), XRBENCH)
def test_xrbench_system_pinned_values(size, style):
    system = library.get_system(f"xrbench-{size}-{style}")
    dataflows, pes_4k, pes_8k = STYLES[style]
    pes = pes_4k if size == "4k" else pes_8k
    bw, l2, l1 = MEMORY[(size, len(dataflows))]
    assert system.num_pes == (4096 if size == "4k" else 8192)
    assert system.offchip_bw_words_per_cycle == 128
    assert [a.dataflow.name for a in system.accelerators] == dataflows
    assert [a.num_pes for a in system.accelerators] == pes
    assert system.description.startswith(("Single", "Dual", "Quad"))
    assert f"({size[0]}K PEs" in system.description
    for acc, df in zip(system.accelerators, dataflows, strict=True):
        assert acc.dataflow == DATAFLOWS[df]
        assert acc.noc_top.bw_words_per_cycle == bw
        assert acc.noc_col.bw_words_per_cycle == bw
        assert (acc.noc_top.latency_cycles, acc.noc_col.latency_cycles) == (1, 1)
        assert acc.noc_top.multicast and acc.noc_col.multicast
        assert acc.l2_bytes == l2
        assert acc.l1_bytes_per_pe == l1
        assert acc.clock_hz == 1e9
        assert acc.offchip_bw_words_per_cycle == 128
        assert acc.word_bytes == 1
        assert acc.energy == ENERGY["xrbench"]
        rows, cols = acc.array_shape
        assert rows * cols == acc.num_pes
        assert cols == {"WS": 256, "OS": 64, "RS": 64}[df]


@pytest.mark.parametrize("name", [f"xrbench-{s}-{t}" for s, t in XRBENCH])
def test_round_trip_every_system(name, tmp_path):
    system = library.get_system(name)
    assert system_from_text(dump_system(system)) == system
    path = tmp_path / f"{name}.yaml"
    save_system(system, path)
    assert load_system(path) == system
    for acc in system.accelerators:
        assert accelerator_from_text(dump_accelerator(acc)) == acc


def test_round_trip_custom_dataflow_and_energy():
    acc = library.get_accelerator("xrbench-4k-A/0")
    custom = dataclasses.replace(
        acc,
        name="custom",
        dataflow=dataclasses.replace(DATAFLOWS["OS"], name="my-os"),
        energy=dataclasses.replace(ENERGY["eyeriss"], dram_pj=123.5),
        noc_col=dataclasses.replace(acc.noc_col, multicast=False, latency_cycles=3),
    )
    text = dump_accelerator(custom)
    assert "my-os" in text and "dram_pj: 123.5" in text
    assert accelerator_from_text(text) == custom


def test_lookups_are_case_insensitive_and_cached():
    assert library.get_system("XRBENCH-4K-a") is library.get_system("xrbench-4k-A")


def test_get_accelerator_forms(tmp_path):
    big = library.get_accelerator("xrbench-4k-K/0")
    assert big.num_pes == 3072
    assert library.get_accelerator("xrbench-4k-K/acc1-OS").num_pes == 1024
    assert library.get_accelerator("eyeriss").num_pes == 168
    path = tmp_path / "sys.yaml"
    save_system(library.get_system("xrbench-8k-L"), path)
    assert library.get_accelerator(f"{path}/1").num_pes == 6144
    acc_path = tmp_path / "acc.yaml"
    acc_path.write_text(dump_accelerator(big))
    assert library.get_accelerator(acc_path) == big


def test_list_accelerators():
    names = library.list_accelerators()
    assert "eyeriss" in names and "xrbench-4k-M/3" in names
    assert len(names) == len(library._standalone_accelerators()) + 2 * (3 + 6 + 12 + 2 + 2 + 2 + 4)
    for name in names:
        library.get_accelerator(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("xrbench-4k-Z", "unknown system 'xrbench-4k-Z'; did you mean xrbench-4k-"),
        ("xrbench-4k-J/7", "accelerator index 7 is out of range (allowed: 0 … 1"),
        ("xrbench-4k-J/accX", "unknown accelerator of xrbench-4k-J 'accX'"),
        ("eyeris", "unknown accelerator 'eyeris'; did you mean eyeriss, eyeriss-v1?"),
    ],
)
def test_unknown_names(name, message):
    getter = library.get_accelerator if ("/" in name or "eye" in name) else library.get_system
    with pytest.raises(UnknownNameError) as info:
        getter(name)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_files():
    with pytest.raises(SpecError, match="nope.yaml: file not found"):
        library.get_system("nope.yaml")
    with pytest.raises(SpecError, match="nope.yaml: file not found"):
        library.get_accelerator("nope.yaml")


def test_references_in_system_files(tmp_path):
    (tmp_path / "little.yaml").write_text(
        dump_accelerator(dataclasses.replace(library.get_accelerator("xrbench-4k-H/0"), name="lit"))
    )
    (tmp_path / "sys.yaml").write_text(
        "name: mixed\n"
        "offchip_bw_words_per_cycle: 64\n"
        "accelerators:\n"
        "  - xrbench-4k-A/0\n"
        "  - little.yaml\n"
        "  - {base: xrbench-4k-A/0, name: big-l2, l2_bytes: 8388608,"
        " noc_top: {bw_words_per_cycle: 512}}\n"
    )
    system = library.get_system(tmp_path / "sys.yaml")
    a, b, c = system.accelerators
    assert a == library.get_accelerator("xrbench-4k-A/0")
    assert (b.name, b.num_pes, b.dataflow.name) == ("lit", 1024, "OS")
    assert (c.name, c.l2_bytes, c.noc_top.bw_words_per_cycle) == ("big-l2", 8 * MiB, 512)
    assert c.noc_top.latency_cycles == 1 and c.num_pes == 4096
    assert system.description == ""


def test_reference_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\nname: b\n")
    with pytest.raises(RtmmError, match="reference cycle"):
        library.get_accelerator(tmp_path / "a.yaml")


def test_offchip_bw_defaults_to_the_systems_inside_a_system():
    text = dump_system(library.get_system("xrbench-4k-A")).replace(
        "  offchip_bw_words_per_cycle: 128\n", ""
    )
    assert "  offchip_bw_words_per_cycle" not in text
    assert system_from_text(text) == library.get_system("xrbench-4k-A")
