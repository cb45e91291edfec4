"""``rtmm hardware list`` / ``rtmm hardware show`` through dse.cli.main."""

from __future__ import annotations

from dse.cli import main
from hardware_db import library
from hardware_db.library import system_from_text


def test_list(capsys):
    assert main(["hardware", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 26
    assert out[0].split()[:4] == ["name", "accelerators", "total_pes", "dataflows"]
    row = next(line for line in out if line.startswith("xrbench-4k-M"))
    assert row.split()[:4] == ["xrbench-4k-M", "4", "4096", "WS+OS+WS+OS"]


def test_list_accelerators(capsys):
    assert main(["hardware", "list", "--accelerators"]) == 0
    out = capsys.readouterr().out
    assert "xrbench-8k-K/0" in out and "eyeriss" in out


def test_show_system_table(capsys):
    assert main(["hardware", "show", "xrbench-4k-K"]) == 0
    out = capsys.readouterr().out
    assert "System xrbench-4k-K: Dual big.LITTLE" in out
    assert "3072" in out and "12x256" in out and "16x64" in out
    assert "TemporalMap(64,64) C" in out and "Cluster(16)" in out
    assert "energy per access (pJ)" in out and "17.28" in out


def test_show_accelerator_and_yaml(capsys):
    assert main(["hardware", "show", "xrbench-4k-J/1"]) == 0
    assert "Accelerator acc1-OS (2048 PEs, dataflow OS)" in capsys.readouterr().out
    assert main(["hardware", "show", "xrbench-8k-L", "--format", "yaml"]) == 0
    text = capsys.readouterr().out
    assert system_from_text(text) == library.get_system("xrbench-8k-L")


def test_show_files(tmp_path, capsys):
    hw = tmp_path / "Quad.m"
    hw.write_text(
        "".join(
            f"Accelerator Acc{i} {{ num_pes: 1024\n offchip_bw: 128\n top_noc_bw: 128\n"
            " col_noc_bw: 128\n global_shared_memory: 2097152\n PE_local_memory: 8192\n}\n"
            for i in range(4)
        )
    )
    assert main(["hardware", "show", str(hw), "--dataflow", "OS"]) == 0
    out = capsys.readouterr().out
    assert "System Quad: MAESTRO hardware Quad.m" in out and "Acc3" in out
    acc = tmp_path / "acc.yaml"
    acc.write_text("base: eyeriss\nname: eyeriss-2\nl2_bytes: 4096\n")
    assert main(["hardware", "show", str(acc), "--format", "yaml"]) == 0
    assert "l2_bytes: 4096" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["hardware", "show", "xrbench-4k-Q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rtmm: error: <library>: unknown system 'xrbench-4k-Q'")
    assert err.count("\n") == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\noffchip_bw_words_per_cycle: true\naccelerators: [eyeriss]\n")
    assert main(["hardware", "show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: offchip_bw_words_per_cycle: must be a number, got bool True" in err
    assert err.count("\n") == 1
    hw = tmp_path / "hw.m"
    hw.write_text("Accelerator A {\n num_pes: lots\n}\n")
    assert main(["hardware", "show", str(hw), "--dataflow", "WS"]) == 2
    err = capsys.readouterr().err
    assert "hw.m: line 2: num_pes: 'lots' is not a positive integer" in err
    assert main(["hardware", "show", "xrbench-4k-A", "--format", "xml"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
