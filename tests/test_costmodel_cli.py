"""``rtmm cost``: MAESTRO hardware with --dataflow, layer tables on library/YAML accelerators,
``padding: same``, per-accelerator seconds, did-you-mean on the CLI's names (issue 15)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel import cli as cost_cli
from costmodel.batch import read_layer_table
from costmodel.table import cost_columns, layer_costs, system_cost_table
from dse.cli import main
from hardware_db.library import get_accelerator, get_system
from rtmm.errors import SpecError
from workloads.layer import same_padding

HW_M = """
Accelerator Acc0 {
  num_pes: 1024
  offchip_bw: 64
  top_noc_bw: 64
  col_noc_bw: 64
  global_shared_memory: 2097152
  PE_local_memory: 8192
}
"""
NET_M = """
Network tiny {
  Layer c1 {
    Type: CONV
    Stride { X: 2, Y: 2 }
    Dimensions { N: 1, K: 32, C: 3, Y: 66, X: 66, R: 3, S: 3 }
  }
  Layer c2 {
    Type: CONV
    Dimensions { N: 1, K: 64, C: 32, Y: 34, X: 34, R: 3, S: 3 }
  }
}
"""
LAYERS = "name,type,N,K,C,Y,X,R,S,stride,padding\nc1,CONV,1,32,3,224,224,3,3,2,same\n"
LAYERS += "c2,CONV,1,64,32,112,112,3,3,1,same\nfc,GEMM,1,10,64,1,1,1,1,1,\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "hw.m").write_text(HW_M)
    (tmp_path / "net.m").write_text(NET_M)
    (tmp_path / "layers.csv").write_text(LAYERS)
    return tmp_path


@pytest.mark.parametrize("dataflow", ["RS", "ws", "Os"])
def test_maestro_hardware_uses_the_passed_dataflow(files, dataflow):
    out = files / "o.csv"
    argv = ["cost", "--model", str(files / "net.m"), "--system", str(files / "hw.m")]
    assert main([*argv, "--dataflow", dataflow, "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert set(frame["dataflow"]) == {dataflow.upper()}
    assert set(frame["analysis"]) == {"maestro"}
    # the same numbers as the library route with that dataflow
    system = get_system(files / "hw.m", dataflow=dataflow.upper())
    ref = system_cost_table([str(files / "net.m")], system)
    assert frame["latency_cycles"].tolist() == ref["latency_cycles"].tolist()
    # --accelerator with a one-accelerator MAESTRO file works too
    argv[-2] = "--accelerator"
    assert main([*argv, "--dataflow", dataflow, "--out", str(out)]) == 0


def test_maestro_hardware_without_dataflow_says_which_flag(files, capsys):
    argv = ["cost", "--model", str(files / "net.m"), "--system", str(files / "hw.m")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hw.m" in err and "--dataflow" in err


def test_dataflow_with_a_yaml_or_library_system_is_refused(files, capsys):
    argv = ["cost", "--layers", str(files / "layers.csv"), "--system", "xrbench-4k-K"]
    assert main([*argv, "--dataflow", "WS"]) == 2
    assert "carries its own dataflow" in capsys.readouterr().err


def test_layer_table_on_a_library_accelerator_and_system(files, capsys):
    out = files / "o.csv"
    argv = ["cost", "--layers", str(files / "layers.csv")]
    assert main([*argv, "--accelerator", "eyeriss", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    ref = layer_costs(read_layer_table(files / "layers.csv")[1], get_accelerator("eyeriss"))
    assert frame["latency_cycles"].tolist() == ref["latency_cycles"].tolist()
    assert set(frame["accelerator_name"]) == {"eyeriss"}
    assert main([*argv, "--system", "xrbench-4k-K", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 6 and frame["accelerator_name"].nunique() == 2
    assert frame["name"].tolist() == ["c1", "c2", "fc"] * 2
    # hardware flags and a named accelerator are two descriptions of the hardware
    assert main([*argv, "--accelerator", "eyeriss", "--pes", "64"]) == 2
    assert "--pes" in capsys.readouterr().err


def test_padding_same_gives_ceil_output(files):
    _, batch = read_layer_table(files / "layers.csv")
    assert batch.padding[:2].tolist() == [[1, 1], [1, 1]]
    assert batch.out_y[:2].tolist() == [112, 112]


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 300),
    k=st.sampled_from([1, 3, 5, 7, 11]),
    s=st.integers(1, 4),
)
def test_same_padding_property(n, k, s):
    """Odd kernels: the derived per-side padding always gives ceil(n / stride) outputs."""
    pad, _ = same_padding((n, n), (k, k), (s, s))
    assert (n + 2 * pad - k) // s + 1 == -(-n // s)
    assert pad >= 0


def test_same_padding_refuses_one_sided_cases():
    with pytest.raises(SpecError, match="one side only"):
        same_padding((5, 5), (2, 2), (1, 1), source="l.csv", field="line 2")


def test_totals_report_seconds_at_each_clock():
    """Two accelerators with different clocks: seconds, not summed cycles."""
    base = get_system("xrbench-4k-K")
    slow = dataclasses.replace(base.accelerators[1], clock_hz=0.5e9)
    system = dataclasses.replace(base, accelerators=(base.accelerators[0], slow))
    columns = cost_columns(["KD_res8_narrow"], system.accelerators)
    frame = pd.DataFrame(columns)
    totals = pd.DataFrame(cost_cli.totals(columns)).set_index("accelerator")
    for acc in system.accelerators:
        cycles = frame.loc[frame.accelerator_name == acc.name, "latency_cycles"].sum()
        assert totals.loc[acc.name, "latency_cycles"] == cycles
        np.testing.assert_allclose(totals.loc[acc.name, "latency_ms"], cycles / acc.clock_hz * 1e3)
        np.testing.assert_allclose(totals.loc[acc.name, "clock_ghz"], acc.clock_hz / 1e9)


def test_printed_output_names_the_analysis_and_seconds(capsys):
    argv = ["cost", "--model", "KD_res8_narrow", "--system", "xrbench-4k-J", "--analysis", "native"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("cost analysis: native")
    assert "latency_ms" in out and "energy_uj" in out


@pytest.mark.parametrize(
    "argv,hint",
    [
        (["--dataflow", "xs"], "did you mean 'WS'"),
        (["--energy", "eyeris"], "did you mean 'eyeriss'"),
        (["--analysis", "nativ"], "did you mean 'native'"),
    ],
)
def test_cli_names_suggest_the_closest(files, capsys, argv, hint):
    base = ["cost", "--layers", str(files / "layers.csv"), "--pes", "256", "--noc-bw", "64"]
    if "--dataflow" not in argv:
        base += ["--dataflow", "ws"]
    assert main([*base, *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and hint in err


def test_model_files_accept_padding_same(tmp_path):
    from workloads import zoo

    path = tmp_path / "net.csv"
    path.write_text(
        "name,type,N,K,C,Y,X,R,S,stride,padding\n"
        "c1,CONV,1,16,3,225,225,3,3,2,same\n"
        "c2,CONV,1,16,16,113,113,5,5,1,same\n"
    )
    model = zoo.load(path)
    assert [(layer.out_y, layer.out_x) for layer in model.layers] == [(113, 113), (113, 113)]
    assert [layer.padding for layer in model.layers] == [(1, 1), (2, 2)]
