"""Malformed hardware files: each gives one specific one-line error; nothing else escapes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware_db import library
from hardware_db.library import load_accelerator, load_system, system_from_text
from hardware_db.loader import dump_system
from rtmm.errors import RtmmError, SpecError, UnknownNameError

GOOD = dump_system(library.get_system("xrbench-4k-J"))


def _edit(old: str, new: str, count: int = 1) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, count)


def _in_acc1(old: str, new: str) -> str:
    """Replace the first occurrence inside accelerators[1]."""
    start = GOOD.index("- name: acc1-OS")
    return GOOD[:start] + GOOD[start:].replace(old, new, 1)


CASES = [
    ("duplicate key", _edit("word_bytes: 1\n", "word_bytes: 1\n  word_bytes: 1\n"),
     SpecError, "line 16: duplicate key 'word_bytes' (allowed: each key once per mapping)"),
    ("unknown key", _edit("  l2_bytes:", "  l2_byte: 5\n  l2_bytes:"),
     SpecError, "accelerators[0]: unknown key 'l2_byte' (did you mean 'l2_bytes'?) (allowed: base"),
    ("missing field", _edit("  clock_hz: 1000000000.0\n", ""),
     SpecError, "accelerators[0]: missing field 'clock_hz' (allowed: required: name, num_pes,"),
    ("negative num_pes", _edit("num_pes: 2048", "num_pes: -2048"),
     SpecError, "accelerators[0].num_pes: must be >= 1, got -2048 "
     "(allowed: integers from 1 to 2^40)"),
    ("zero l2_bytes", _in_acc1("l2_bytes: 2097152", "l2_bytes: 0"),
     SpecError, "accelerators[1].l2_bytes: must be >= 1, got 0 (allowed: integers from 1 to 2^40)"),
    ("NaN bandwidth", _in_acc1("{bw_words_per_cycle: 128,", "{bw_words_per_cycle: .nan,"),
     SpecError, "accelerators[1].noc_top.bw_words_per_cycle: must be a finite number, got nan"),
    ("inf bandwidth", _edit("cycle: 128\naccel", "cycle: .inf\naccel"),
     SpecError, "offchip_bw_words_per_cycle: must be a finite number, got inf"),
    ("bool for int", _edit("word_bytes: 1", "word_bytes: true"),
     SpecError, "accelerators[0].word_bytes: must be an integer, got bool True"),
    ("float for int", _edit("l1_bytes_per_pe: 8192", "l1_bytes_per_pe: 8192.5"),
     SpecError, "accelerators[0].l1_bytes_per_pe: must be an integer, got float 8192.5"),
    ("clock as text", _edit("clock_hz: 1000000000.0", "clock_hz: 1e9"),
     SpecError, "accelerators[0].clock_hz: must be a number, got str '1e9' (YAML reads this as"),
    ("bool for multicast", _edit("multicast: true", "multicast: 1"),
     SpecError, "accelerators[0].noc_top.multicast: must be true or false, got int 1"),
    ("unknown dataflow", _edit("dataflow: WS", "dataflow: XS"),
     UnknownNameError, "accelerators[0].dataflow: unknown dataflow 'XS' (did you mean 'WS'?)"),
    ("dim mapped twice", _edit("dataflow: WS", "dataflow: \"T(16,16) C; S(1,1) K; T(4,4) C\""),
     SpecError, "accelerators[0].dataflow: dimension C is mapped twice at cluster level 0"),
    ("unknown dimension", _edit("dataflow: WS", "dataflow: {name: d, directives: ['T(1,1) W']}"),
     SpecError, "accelerators[0].dataflow.directives: unknown dimension 'W' in 'T(1,1) W'"),
    ("cluster > PEs", _edit("dataflow: WS", "dataflow: \"T(1,1) K; Cluster(4096); S(1,1) C\""),
     SpecError, "accelerators[0].dataflow: Cluster(4096) is larger than num_pes 2048"),
    ("no directives", _edit("dataflow: WS", "dataflow: {name: d, directives: []}"),
     SpecError, "accelerators[0].dataflow.directives: no map directives"),
    ("unknown energy preset", _in_acc1("energy: xrbench", "energy: xrbenchh"),
     UnknownNameError, "accelerators[1].energy: unknown energy preset 'xrbenchh'"),
    ("array shape mismatch", _edit("array_shape: [8, 256]", "array_shape: [8, 8]"),
     SpecError, "accelerators[0].array_shape: 8x8 = 64 PEs does not match num_pes 2048"),
    ("duplicate accelerator names", _edit("name: acc1-OS", "name: acc0-WS"),
     SpecError, "accelerators[1].name: accelerator name 'acc0-WS' is used twice"),
    ("empty accelerator list", GOOD[: GOOD.index("accelerators:")] + "accelerators: []\n",
     SpecError, "accelerators: expected a non-empty list, got list []"),
    ("negative energy", _edit("energy: xrbench", "energy: {base: eyeriss, dram_pj: -1}"),
     SpecError, "accelerators[0].energy.dram_pj: must be >= 0, got -1"),
    ("bad name", _edit("name: acc0-WS", "name: acc 0/WS"),
     SpecError, "accelerators[0].name: invalid name str 'acc 0/WS'"),
    ("empty file", "", SpecError, "expected a mapping, got empty"),
    ("not a mapping", "- 1\n- 2\n", SpecError, "expected a mapping, got list [1, 2]"),
    ("YAML syntax", "name: [unclosed\n", SpecError, "not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "text", "kind", "message"), CASES, ids=[c[0] for c in CASES])
def test_malformed_system_file(tmp_path, label, text, kind, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(kind) as info:
        load_system(path)
    rendered = str(info.value)
    assert rendered.startswith(str(path)), rendered
    assert message in rendered, rendered
    assert "\n" not in rendered


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(SpecError, match="garbage.yaml: binary data, expected a UTF-8 text file"):
        load_system(path)


def test_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError, match="latin1.yaml: byte 9: not valid UTF-8 text"):
        load_accelerator(path)


def test_system_file_given_as_accelerator(tmp_path):
    path = tmp_path / "sys.yaml"
    path.write_text(GOOD)
    with pytest.raises(SpecError, match="is a system file, not an accelerator file"):
        load_accelerator(path)


def test_unknown_reference(tmp_path):
    path = tmp_path / "sys.yaml"
    path.write_text("name: s\noffchip_bw_words_per_cycle: 1\naccelerators: [xrbench-4k-Q/0]\n")
    with pytest.raises(UnknownNameError, match="unknown system 'xrbench-4k-Q'"):
        load_system(path)


# Random YAML-ish documents: loading may fail, but only ever with an RtmmError.
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10_000), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["WS", "OS", "xrbench", "T(1,1) C", "Cluster(2)"]),
)  # fmt: skip
_keys = st.sampled_from(
    ["name", "num_pes", "dataflow", "energy", "noc_top", "noc_col", "l2_bytes", "accelerators",
     "bw_words_per_cycle", "base", "directives", "clock_hz", "array_shape", "bogus"]
)  # fmt: skip
_docs = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=6)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_docs)
def test_random_documents_only_raise_rtmm_errors(doc):
    import yaml

    base = yaml.safe_load(GOOD)
    for candidate in (
        doc,
        {**base, "accelerators": [doc]},
        {**base, **(doc if isinstance(doc, dict) else {})},
    ):
        text = yaml.safe_dump(candidate)
        try:
            system_from_text(text, "<random>")
        except RtmmError as err:
            assert "\n" not in str(err)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_only_raises_rtmm_errors(text):
    with contextlib.suppress(RtmmError):
        system_from_text(text, "<random>")
