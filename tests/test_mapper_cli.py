"""``rtmm map``: one row per layer, a reusable directive list, one-line errors with exit code 2."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from costmodel.batch import read_layer_table
from costmodel.native import analyse_native
from dse.cli import main
from hardware_db.dataflow import Dataflow
from hardware_db.library import get_accelerator
from hardware_db.maestro_format import parse_directives

LAYERS = "name,type,N,K,C,Y,X,R,S\nrows,CONV,1,64,32,16,1,1,1\ncols,CONV,1,64,32,1,16,1,1\n"


def test_map_writes_one_row_per_layer_that_recosts(tmp_path):
    layers = tmp_path / "g.csv"
    layers.write_text(LAYERS)
    out = tmp_path / "m.csv"
    args = ["map", "--layers", str(layers), "--accelerator", "xrbench-4k-B/0", "--objective",
            "latency", "--budget", "20", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    frame = pd.read_csv(out)
    assert list(frame.layer) == ["rows", "cols"]
    assert {"latency_cycles", "energy_nj", "edp", "utilisation", "bound", "directives"} <= set(
        frame.columns
    )
    assert frame.latency_cycles[0] == frame.latency_cycles[1]
    acc = get_accelerator("xrbench-4k-B/0")
    _, batch = read_layer_table(layers)
    flow = Dataflow("saved", parse_directives(frame.directives[0]))
    again = analyse_native(batch.take([0]), dataclasses.replace(acc, dataflow=flow))
    assert again["latency_cycles"][0] == frame.latency_cycles[0]
    assert layers.read_text() == LAYERS  # input untouched


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--accelerator", "no-such-acc"], "unknown accelerator 'no-such-acc'"),
        (["--accelerator", "xrbench-4k-A/0", "--objective", "speed"], "invalid choice: 'speed'"),
        ([], "map needs --accelerator"),
        (["--accelerator", "xrbench-4k-A/0", "--budget", "-3"], "-3 is negative"),
    ],
)
def test_map_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, extra, message):
    layers = tmp_path / "g.csv"
    layers.write_text(LAYERS)
    assert main(["map", "--layers", str(layers), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
