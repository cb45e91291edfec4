"""Fuzzing of every file parser (issue 8): random bytes and structurally valid but wrong documents.

Whatever the input, a parser either returns a result or raises the project's own error type
(:class:`rtmm.RtmmError`); any other exception is a bug. Files are written to a temporary folder and
read through the same public functions the CLI uses.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel.batch import read_layer_table
from dse.sweep import load_spec
from hardware_db.library import load_system
from hardware_db.maestro_format import read_dataflow_file, read_hardware_file
from rtmm.errors import RtmmError
from scheduler.cost_csv import read_cost_csv, validate_table
from workloads import scenario as scenario_lib
from workloads import zoo

FUZZ = settings(
    max_examples=int(os.environ.get("RTMM_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _read_onnx_bytes(path: Path):
    return zoo.load(path)


#: (file suffix, reader) for every entry point that reads a user file.
READERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "hardware-yaml": (".yaml", load_system),
    "maestro-hardware": (".m", read_hardware_file),
    "maestro-dataflow": (".m", read_dataflow_file),
    "model-csv": (".csv", zoo.load),
    "maestro-model": (".m", zoo.load),
    "onnx-model": (".onnx", _read_onnx_bytes),
    "scenario-yaml": (".yaml", scenario_lib.load),
    "xrbench-scenario": (".m", scenario_lib.load),
    "sweep-spec": (".yaml", load_spec),
    "cost-table": (".csv", read_cost_csv),
    "layer-table": (".csv", read_layer_table),
}


def _parse(reader_key: str, payload: bytes | str) -> None:
    suffix, reader = READERS[reader_key]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            path.write_text(payload, encoding="utf-8")
        try:
            reader(path)
        except RtmmError as err:
            assert "\n" not in str(err), f"multi-line error: {err!r}"


@pytest.mark.parametrize("reader_key", sorted(READERS))
@FUZZ
@given(payload=st.binary(max_size=300))
def test_random_bytes_only_raise_rtmm_errors(reader_key, payload):
    _parse(reader_key, payload)


# --- structurally valid documents with wrong values ------------------------------------------

_WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(10**400), max_value=10**400),  # beyond int64 and float range
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-300, max_value=1e-300),  # denormals and tiny values
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _mutations(doc: dict) -> list[list]:
    """Paths (lists of keys/indices) to every leaf of a nested document."""
    paths: list[list] = []

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, prefix + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, prefix + [i])
        else:
            paths.append(prefix)

    walk(doc, [])
    return paths


def _set(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


HW_DOC = {
    "name": "s",
    "offchip_bw_words_per_cycle": 128,
    "accelerators": [
        {
            "name": "a",
            "num_pes": 1024,
            "dataflow": "OS",
            "clock_hz": 1000000000,
            "l1_bytes_per_pe": 8192,
            "l2_bytes": 2097152,
            "noc_top": {"bw_words_per_cycle": 128, "latency_cycles": 1, "multicast": True},
            "noc_col": {"bw_words_per_cycle": 128, "latency_cycles": 1, "multicast": True},
            "word_bytes": 1,
            "energy": "xrbench",
        }
    ],
}

SCENARIO_DOC = {
    "name": "s",
    "models": [
        {"model": "ES_RITNet", "fps": 60},
        {"model": "GE_FBNet_C", "fps": 60, "parent": "ES_RITNet", "probability": 0.5},
    ],
}

SWEEP_DOC = {
    "base_system": "xrbench-4k-J",
    "axes": {"accelerators[*].num_pes": [1024, 2048], "offchip_bw_words_per_cycle": [64, 128]},
    "scenarios": ["vr_gaming"],
    "policies": ["latency_greedy"],
    "modes": "xrbench",
    "seeds": {"start": 0, "stop": 1, "step": 1},
    "horizon_ms": 100,
    "sample": {"method": "lhs", "n": 3, "seed": 0},
}

DOCS = {"hardware-yaml": HW_DOC, "scenario-yaml": SCENARIO_DOC, "sweep-spec": SWEEP_DOC}


@pytest.mark.parametrize("reader_key", sorted(DOCS))
@FUZZ
@given(data=st.data())
def test_wrong_values_in_valid_documents_only_raise_rtmm_errors(reader_key, data):
    doc = yaml.safe_load(yaml.safe_dump(DOCS[reader_key]))  # a deep copy
    paths = _mutations(doc)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(paths))
        _set(doc, path, data.draw(_WRONG_VALUES))
    try:
        text = yaml.safe_dump(doc)
    except (ValueError, OverflowError):
        return
    _parse(reader_key, text)


@FUZZ
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["ES_RITNet", "GE_FBNet_C", "", "nope"]),
            st.one_of(st.integers(min_value=-3, max_value=80), st.just("x")),
            st.one_of(st.integers(min_value=-2, max_value=3), st.just("")),
            st.one_of(st.integers(min_value=-5, max_value=10**30), st.floats(), st.just("x")),
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.just("e"),
                st.floats(min_value=1e12, max_value=1e308),
            ),  # fmt: skip
        ),
        max_size=8,
    )
)
def test_cost_tables_with_wrong_rows_only_raise_rtmm_errors(rows):
    text = "model,layer_idx,accelerator,latency_cycles,energy_nj\n" + "".join(
        ",".join(str(v) for v in row) + "\n" for row in rows
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.csv"
        path.write_text(text)
        try:
            table = read_cost_csv(path)
            validate_table(table, ["ES_RITNet", "GE_FBNet_C"], 2, source=str(path))
        except RtmmError as err:
            assert "\n" not in str(err)


def test_nan_is_rejected_by_the_hardware_loader():
    doc = yaml.safe_load(yaml.safe_dump(HW_DOC))
    doc["accelerators"][0]["noc_top"]["bw_words_per_cycle"] = math.nan
    with pytest.raises(RtmmError, match="bw_words_per_cycle"):
        _parse_strict("hardware-yaml", yaml.safe_dump(doc))


def _parse_strict(reader_key: str, text: str):
    suffix, reader = READERS[reader_key]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"f{suffix}"
        path.write_text(text)
        return reader(path)


# --- issue 13: alias bombs, deep nesting, huge integers -------------------------------------------


def _alias_value(levels: int, width: int) -> str:
    """A flow-style YAML value whose aliases expand to ``width ** levels`` scalars."""
    anchors = [f"&x0 [{', '.join(['z'] * width)}]"]
    anchors += [f"&x{i} [{', '.join([f'*x{i - 1}'] * width)}]" for i in range(1, levels)]
    return "[" + ", ".join(anchors) + "]"


@pytest.mark.parametrize("reader_key", sorted(DOCS))
@FUZZ
@given(data=st.data(), levels=st.integers(1, 12), width=st.integers(1, 12))
def test_alias_expansion_is_bounded_and_messages_stay_short(reader_key, data, levels, width):
    """A YAML alias DAG put anywhere in a valid document parses quickly or is refused; no error
    message ever carries the expansion."""
    import time

    doc = yaml.safe_load(yaml.safe_dump(DOCS[reader_key]))
    path = data.draw(st.sampled_from(_mutations(doc)))
    _set(doc, path, "__BOMB__")
    text = yaml.safe_dump(doc).replace("__BOMB__", _alias_value(levels, width))
    suffix, reader = READERS[reader_key]
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / f"f{suffix}"
        file.write_text(text)
        t0 = time.perf_counter()
        try:
            reader(file)
        except RtmmError as err:
            assert "\n" not in str(err) and len(str(err)) < 3000
        assert time.perf_counter() - t0 < 10.0


@pytest.mark.parametrize("reader_key", ["maestro-model", "xrbench-scenario", "maestro-hardware",
                                        "maestro-dataflow"])  # fmt: skip
@FUZZ
@given(depth=st.integers(1, 30_000), opener=st.sampled_from(["Layer L {", "{", "Dimensions {"]))
def test_deeply_nested_maestro_blocks_only_raise_rtmm_errors(reader_key, depth, opener):
    _parse(reader_key, "Network N {\n" + (opener + "\n") * depth + "}\n" * (depth + 1))


_HUGE = st.integers(min_value=2**31, max_value=10**4000).map(str)


@FUZZ
@given(value=_HUGE, column=st.integers(0, 6))
def test_huge_integers_in_layer_tables_only_raise_rtmm_errors(value, column):
    cells = ["1", "8", "3", "16", "16", "3", "3"]
    cells[column] = value
    text = "name,type,N,K,C,Y,X,R,S\nc1,CONV," + ",".join(cells) + "\n"
    for reader_key in ("model-csv", "layer-table"):
        _parse(reader_key, text)


@FUZZ
@given(value=_HUGE, key=st.sampled_from(["num_pes", "offchip_bw", "global_shared_memory"]),
       size=_HUGE)  # fmt: skip
def test_huge_integers_in_maestro_files_only_raise_rtmm_errors(value, key, size):
    _parse("maestro-hardware", f"Accelerator A {{\n  num_pes: 256\n  {key}: {value}\n}}\n")
    _parse(
        "maestro-dataflow",
        f"Dataflow {{\n SpatialMap({size},1) K;\n TemporalMap(1,{size}) C;\n}}\n",
    )
    _parse("maestro-model", "Network N {\n Layer L {\n Type: CONV\n Dimensions { "
           f"K: {value}, C: 3, R: 3, S: 3, Y: 16, X: 16 }}\n }}\n}}\n")  # fmt: skip
