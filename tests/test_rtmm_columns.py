"""rtmm.columns prints and writes column tables byte for byte as pandas does (no index)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from costmodel import cli as cost_cli
from costmodel.table import cost_columns
from hardware_db.library import get_system
from rtmm.columns import csv_text, format_table, write_csv

REPO_LAYERS = "tests/data/xrbench_model_layers.csv"


def _pandas_text(columns, **kwargs):
    return pd.DataFrame(columns).to_string(index=False, **kwargs)


def assert_like_pandas(columns, **kwargs):
    assert format_table(columns, **kwargs) == _pandas_text(columns, **kwargs)
    assert csv_text(columns) == pd.DataFrame(columns).to_csv(index=False)


EDGE_CASES = {
    "fixed point, zeros trimmed equally": {"a": np.array([1.5, 2.25, 3.0]), "b": [1, 2, 3]},
    "a value that would print as 0 switches to exponents": {"x": np.array([1e-7, 2.0, 3.5])},
    "large values in a wide column switch to exponents": {"x": np.array([1.234567e7, 0.5])},
    "large values in a narrow column stay fixed": {"x": np.array([2e6, 3e6])},
    "NaN and inf": {"x": np.array([np.nan, 1.25, np.inf, -np.inf]), "s": ["a", "b", "c", "d"]},
    "negative numbers and zero": {"i": np.array([-5, 0, 12]), "f": np.array([-0.5, 0.0, 1e-3])},
    "bools and empty strings": {"b": np.array([True, False]), "s": ["", "x"], "t": ["a", ""]},
    "long cells are never cut (to_string ignores max_colwidth)": {
        "s": ["x" * 90, "y"],
        "n": [1, 2],
    },
    "headers wider than cells": {"a_very_long_header_name": [1], "another_long_one": ["z"]},
    "tabs, newlines, commas and quotes": {"s": ["a\tb", 'q"uote', "c,d"], "v": [1.0, 2.0, 3.0]},
    "mixed objects": {"o": np.array([1.5, "a", None, 2], dtype=object), "k": [1, 2, 3, 4]},
    "floats with many digits": {"x": np.array([1 / 3, 2 / 3, 12345.678901234])},
}


@pytest.mark.parametrize("columns", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_cases_match_pandas(columns):
    assert_like_pandas(columns)


def test_float_format_matches_pandas():
    columns = {"s": ["y" * 100, "b"], "f": np.array([1234.56789, np.nan]), "i": [3, 4]}
    assert_like_pandas(columns, float_format=lambda v: f"{v:.6g}")


@pytest.mark.parametrize(
    "models, system, analysis",
    [
        (["ES_RITNet", "KD_res8_narrow"], "xrbench-4k-M", "maestro"),
        (["AS_ED_TCN", "GE_FBNet_C@w0.5"], "xrbench-4k-J", "native"),  # optional columns
    ],
)
def test_cost_tables_and_totals_match_pandas(models, system, analysis):
    columns = cost_columns(models, get_system(system).accelerators, analysis)
    assert_like_pandas(columns)
    assert_like_pandas(cost_cli.totals(columns), float_format=lambda v: f"{v:.6g}")


def test_layer_table_with_annotations_matches_pandas(tmp_path):
    """All 1,439 XRBench layers with their string columns, as ``rtmm cost --layers`` builds them."""
    args = cost_cli.argparse.Namespace(
        layers=REPO_LAYERS, accelerator="xrbench-4k-B/0", system=None, dataflow=None,
        pes=None, noc_bw=None, l1_bytes=None, l2_bytes=None, offchip_bw=None, energy=None,
        clock_hz=None, analysis="maestro",
    )  # fmt: skip
    columns = cost_cli.cost_layer_file(args)
    assert len(columns["latency_cycles"]) == 1439
    assert_like_pandas(columns)
    write_csv(tmp_path / "t.csv", columns)
    assert (tmp_path / "t.csv").read_text() == pd.DataFrame(columns).to_csv(index=False)


def test_unequal_or_empty_columns_are_refused():
    with pytest.raises(ValueError, match="equal length"):
        format_table({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="non-empty"):
        format_table({"a": []})
