"""The shared foundation: one-line errors, strict YAML, atomic writes, the CLI shell."""

from __future__ import annotations

import pytest

from dse.cli import main
from rtmm.errors import RtmmError, SpecError
from rtmm.fileio import atomic_path, atomic_write_text, load_yaml, load_yaml_text


def test_error_renders_one_line_with_source_field_allowed():
    err = SpecError("must be > 0\n got -1", source="hw.yaml", field="num_pes", allowed="1..")
    assert str(err) == "hw.yaml: num_pes: must be > 0 got -1 (allowed: 1..)"
    assert isinstance(err, RtmmError)


def test_yaml_duplicate_key_rejected_with_line():
    with pytest.raises(SpecError, match=r"f.yaml: line 3: duplicate key 'a'"):
        load_yaml_text("a: 1\nb: 2\na: 3\n", source="f.yaml")


def test_yaml_syntax_error_is_spec_error():
    with pytest.raises(SpecError, match="not valid YAML"):
        load_yaml_text("a: [1, 2\n", source="f.yaml")


def test_binary_file_rejected(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(SpecError, match="binary"):
        load_yaml(p)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        load_yaml(tmp_path / "nope.yaml")


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    atomic_write_text(target, "ok\n")
    assert target.read_text() == "ok\n"


def test_cli_unknown_command_exits_2(capsys):
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rtmm: error:") and err.count("\n") == 1


def test_cli_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "COMMAND" in capsys.readouterr().out
