"""Sweep specs: strict validation (one-line errors naming file and field), expansion, sampling,
and modified systems built from the hardware library."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dse.sweep import SampleSpec, apply_hardware, expand, load_spec, parse_spec
from rtmm.errors import SpecError

BASE = """\
base_system: xrbench-4k-J
scenarios: [vr_gaming]
policies: [latency_greedy]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("axes:\n  accelerators[*].num_pe: [1024]\n", "axes",
         "unknown axis field 'accelerators[*].num_pe'"),
        ("axes:\n  l3_bytes: [1024]\n", "axes", "unknown axis field 'l3_bytes'"),
        ("axes:\n  accelerators[*].num_pes: []\n", "axes.accelerators[*].num_pes", "empty axis"),
        ("axes:\n  pe_split: {values: []}\n", "axes.pe_split", "empty axis"),
        ("axes:\n  accelerators[0].l2_bytes: {start: 10, stop: 1, step: 1}\n",
         "axes.accelerators[0].l2_bytes", "bad range: stop 1 < start 10"),
        ("axes:\n  accelerators[0].l2_bytes: {start: 1, stop: 10, step: 0}\n",
         "axes.accelerators[0].l2_bytes", "bad range: step 0 must be > 0"),
        ("axes:\n  accelerators[0].l2_bytes: {start: 1, stop: 10}\n",
         "axes.accelerators[0].l2_bytes", "unknown axis form"),
        ("axes:\n  accelerators[*].num_pes: {start: 1.5, stop: 10, step: 1}\n",
         "axes.accelerators[*].num_pes", "integer field needs integer"),
        ("axes:\n  accelerators[*].num_pes: [1024, -1]\n", "axes.accelerators[*].num_pes",
         "must be >= 1, got -1 (allowed: integers from 1 to 2^40)"),
        ("axes:\n  pe_split: [0.5, 1.0]\n", "axes.pe_split", "must be < 1, got 1.0"),
        ("axes:\n  accelerators[*].dataflow: [WS, XS]\n", "axes.accelerators[*].dataflow",
         "unknown dataflow 'XS'"),
        ("axes:\n  accelerators[0].noc_top.multicast: [yes, 1]\n",
         "axes.accelerators[0].noc_top.multicast", "must be true or false, got int 1"),
        ("axes:\n  offchip_bw_words_per_cycle: [64, 64]\n", "axes.offchip_bw_words_per_cycle",
         "repeated value"),
        ("executor: spark\n", "executor.name", "unknown value 'spark'"),
        ("executor: {name: dask, address: localhost}\n", "executor.address",
         "invalid address str 'localhost'"),
        ("sample: {method: sobol, n: 10}\n", "sample.method", "unknown value 'sobol'"),
        ("sample: {method: lhs}\n", "sample", "missing field 'n' (allowed: required: method, n)"),
        ("sample: {method: random, n: 5}\n", "sample.n", "n = 5 exceeds the 1 points"),
        ("modes: [xrbench, fast]\n", "modes", "unknown value 'fast'"),
        ("analysis: exact\n", "analysis", "unknown value 'exact'"),
        ("seeds: [-1]\n", "seeds", "must be >= 0, got -1"),
        ("horizon_ms: 0\n", "horizon_ms", "must be > 0, got 0"),
        ("batch_size: 0\n", "batch_size", "must be >= 1, got 0"),
        ("evaluator: not a ref\n", "evaluator", "invalid evaluator str 'not a ref'"),
    ],
)  # fmt: skip
def test_bad_specs_give_one_line_errors(tmp_path, extra, field, message):
    path = _write(tmp_path, BASE + extra)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: {field}: "), text
    assert message in text


def test_unknown_and_missing_top_level_keys(tmp_path):
    with pytest.raises(SpecError, match="unknown key 'axis'") as err:
        load_spec(_write(tmp_path, BASE + "axis: {}\n"))
    assert "allowed: name, base_system, axes" in str(err.value)
    with pytest.raises(SpecError, match="missing field 'policies'"):
        load_spec(_write(tmp_path, "base_system: A\nscenarios: [x]\n"))
    with pytest.raises(SpecError, match="duplicate key 'scenarios'"):
        load_spec(_write(tmp_path, BASE + "scenarios: [ar_gaming]\n"))


def test_full_cross_product_order_and_values(tmp_path):
    spec = load_spec(
        _write(
            tmp_path,
            BASE.replace("[vr_gaming]", "[vr_gaming, ar_gaming]")
            + "axes:\n  accelerators[*].num_pes: {start: 1024, stop: 3072, step: 1024}\n"
            "  pe_split: {start: 0.1, stop: 0.3, step: 0.1}\n"
            "seeds: {values: [0, 7]}\nmodes: [xrbench, native]\n",
        )
    )
    assert spec.hardware_axes[0].values == (1024, 2048, 3072)
    assert spec.hardware_axes[1].values == (0.1, 0.2, 0.3)  # rounded, stop inclusive
    assert spec.full_size == 3 * 3 * 2 * 2 * 2 == spec.num_points
    points = list(expand(spec))
    assert len(points) == 72 and len({p.point_id for p in points}) == 72
    # hardware varies slowest: the first 8 points share the first hardware configuration
    assert (
        len({p.hardware_key for p in points[:8]}) == 1
        and points[8].hardware_key != points[0].hardware_key
    )
    assert (points[1].seed, points[2].mode, points[4].scenario) == (7, "native", "ar_gaming")
    assert points[0].horizon_ms == 700.0 and points[0].analysis is None
    # identity is content: same parameters -> same id, different index irrelevant
    assert dataclasses.replace(points[3], index=99).point_id == points[3].point_id
    assert spec.fingerprint() == load_spec(tmp_path / "spec.yaml").fingerprint()


@pytest.mark.parametrize("method", ["lhs", "random"])
def test_sampling_is_seeded_distinct_and_inside_the_space(tmp_path, method):
    spec = load_spec(
        _write(
            tmp_path,
            BASE + "axes:\n  accelerators[*].num_pes: {start: 512, stop: 4096, step: 512}\n"
            "  accelerators[*].l2_bytes: [1048576, 2097152, 4194304]\n"
            "  pe_split: [0.25, 0.5, 0.75]\n"
            "seeds: {start: 0, stop: 9, step: 1}\n"
            f"sample: {{method: {method}, n: 50, seed: 3}}\n",
        )
    )
    full = {p.point_id for p in expand(dataclasses.replace(spec, sample=None))}
    points = list(expand(spec))
    ids = [p.point_id for p in points]
    assert len(set(ids)) == len(ids) and set(ids) <= full
    assert 40 <= len(points) <= 50 if method == "lhs" else len(points) == 50
    assert ids == [p.point_id for p in expand(spec)]  # deterministic
    other = [
        p.point_id for p in expand(dataclasses.replace(spec, sample=SampleSpec(method, 50, 4)))
    ]
    assert other != ids
    keys = [p.hardware_key for p in points]
    # sorted by hardware: each configuration's points are contiguous
    assert all(k not in keys[:i] or keys[i - 1] == k for i, k in enumerate(keys))
    if method == "lhs":  # Latin hypercube: every PE-count value is visited
        assert {dict(p.hardware)["accelerators[*].num_pes"] for p in points} == set(
            range(512, 4097, 512)
        )


def test_base_system_path_resolves_relative_to_spec(tmp_path):
    path = _write(tmp_path, BASE.replace("xrbench-4k-J", "systems/mine.yaml"))
    spec = load_spec(path)
    assert spec.base_systems.values == ("systems/mine.yaml",)
    assert spec.base_system_refs == (str(tmp_path / "systems" / "mine.yaml"),)
    point = next(expand(spec))
    assert point.base_system == "systems/mine.yaml"
    assert point.base_system_ref == str(tmp_path / "systems" / "mine.yaml")


def test_base_systems_are_an_axis(tmp_path):
    spec = load_spec(
        _write(
            tmp_path,
            BASE.replace("xrbench-4k-J", "[xrbench-4k-A, xrbench-8k-M]") + "seeds: [0, 1]\n",
        )  # fmt: skip
    )
    points = list(expand(spec))
    assert [p.base_system for p in points] == ["xrbench-4k-A"] * 2 + ["xrbench-8k-M"] * 2
    assert points[0].hardware_key != points[2].hardware_key
    with pytest.raises(SpecError, match="empty axis"):
        load_spec(_write(tmp_path, BASE.replace("xrbench-4k-J", "[]")))


# -- modified systems (hardware library) ------------------------------------------------------


def test_apply_hardware_pe_split_dataflow_and_offchip():
    from hardware_db.library import get_system

    base = get_system("xrbench-4k-J")
    system = apply_hardware(
        base,
        [("accelerators[*].num_pes", 3072), ("accelerators[1].dataflow", "RS"),
         ("offchip_bw_words_per_cycle", 64), ("accelerators[0].noc_top.bw_words_per_cycle", 32),
         ("pe_split", 0.25)],
    )  # fmt: skip
    a, b = system.accelerators
    assert (a.num_pes, b.num_pes) == (1536, 4608)  # 0.25 of 6144 PEs
    assert (
        a.array_shape[0] * a.array_shape[1] == 1536 and b.array_shape[0] * b.array_shape[1] == 4608
    )
    assert b.dataflow.name == "RS" and a.dataflow.name == "WS"
    assert system.offchip_bw_words_per_cycle == 64
    assert a.offchip_bw_words_per_cycle == b.offchip_bw_words_per_cycle == 64
    assert a.noc_top.bw_words_per_cycle == 32 and b.noc_top.bw_words_per_cycle == 128
    assert base.accelerators[0].num_pes == 2048  # the base is untouched (frozen, replaced)
    assert apply_hardware(base, []) == base


@pytest.mark.parametrize(
    ("system", "hardware", "message"),
    [
        ("xrbench-4k-A", [("pe_split", 0.5)], "pe_split needs a two-accelerator system"),
        ("xrbench-4k-J", [("pe_split", 0.0001)], "leaves an accelerator without PEs"),
        ("xrbench-4k-J", [("accelerators[2].l2_bytes", 1024)], "accelerator index 2 out of range"),
        ("xrbench-4k-J", [("accelerators[*].num_pes", 64)], "exceed num_pes 64"),
    ],
)
def test_apply_hardware_errors_name_source_and_field(system, hardware, message):
    from hardware_db.library import get_system

    with pytest.raises(SpecError, match=message) as err:
        apply_hardware(get_system(system), hardware, source="my.yaml")
    assert str(err.value).startswith("my.yaml: ") and "\n" not in str(err.value)


def test_parse_spec_requires_mapping():
    with pytest.raises(SpecError, match="a sweep spec must be a mapping"):
        parse_spec([1, 2], source="x.yaml")
