"""``rtmm models`` and ``rtmm scenarios`` through dse.cli.main."""

from __future__ import annotations

import io

import pandas as pd

from dse.cli import main


def test_models_list(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "ES_RITNet" in out and "SS_HRViT_b1" in out and "D2go_FastRCNN" in out
    ss_line = next(line for line in out.splitlines() if line.strip().startswith("SS_HRViT_b1"))
    assert " 423 " in ss_line and "20.095" in ss_line and "w0.5" in ss_line


def test_models_show_table(capsys):
    assert main(["models", "show", "KD_res8_narrow"]) == 0
    out = capsys.readouterr().out
    assert "layers: 8" in out and "MACs: 5345688" in out
    assert "fc1" in out and "623808" in out
    assert "total: 8 layers, 5345688 MACs" in out


def test_models_show_csv(capsys):
    assert main(["models", "show", "ES_RITNet", "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    for col in ["name", "type", "N", "K", "C", "Y", "X", "R", "S", "macs"]:
        assert col in frame.columns
    assert len(frame) == 42 and frame["macs"].sum() == 1_040_138_240


def test_models_show_file_and_variant(tmp_path, capsys):
    path = tmp_path / "tiny.csv"
    path.write_text("name,type,N,K,C,Y,X,R,S\nc1,CONV,1,4,3,8,8,3,3\n")
    assert main(["models", "show", str(path), "--format", "csv"]) == 0
    assert "c1,CONV,1,4,3,8,8,3,3" in capsys.readouterr().out
    assert main(["models", "show", "GE_FBNet_C@w0.5"]) == 0
    assert "variant of: GE_FBNet_C" in capsys.readouterr().out


def test_scenarios_list_and_show(capsys):
    assert main(["scenarios", "list"]) == 0
    out = capsys.readouterr().out
    assert "vr_gaming_p25" in out and "GE_FBNet_C<-ES_RITNet (0.25)" in out
    assert main(["scenarios", "show", "ar_assistant"]) == 0
    out = capsys.readouterr().out
    sr_line = next(line for line in out.splitlines() if line.strip().startswith("ASR_EM_24L"))
    assert "KD_res8_narrow" in sr_line and "0.5" in sr_line and "333" in sr_line
    assert "PD_Plane_RCNN_Quarter" in out


def test_scenarios_show_xrbench_file(tmp_path, capsys):
    layer = "Layer l { Type: CONV\n Dimensions: { N: 1, K: 2, C: 2, Y: 4, X: 4, R: 1, S: 1 } }"
    text = f"Network A {{\nFPS: 30\n{layer}\n}}\nNetwork B {{\nFPS: 30\nProbability: 0.5\n"
    text += f"Dependency: {{ A }}\n{layer}\n}}\n"
    path = tmp_path / "two.m"
    path.write_text(text)
    assert main(["scenarios", "show", str(path), "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(frame["model"]) == ["A", "B"]
    assert frame.loc[1, "parent"] == "A" and frame.loc[1, "probability"] == 0.5


def test_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["models", "show", "NoSuchNet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rtmm: error:") and "unknown model 'NoSuchNet'" in err
    assert err.count("\n") == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - {model: ES_RITNet, fps: -5}\n")
    assert main(["scenarios", "show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "models[0].fps: must be >= 0.001, got -5" in err and err.count("\n") == 1
