"""Lazy CLI start-up: ``rtmm --help`` lists every sub-command without importing their modules."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from dse import cli

REPO = Path(__file__).resolve().parents[1]
HEAVY = (
    "pandas",
    "matplotlib",
    "scipy",
    "networkx",
    "pydantic",
    "dse.store",
    "costmodel",
    "scheduler",
)


def registered(module: str) -> dict[str, str]:
    """Sub-command -> help line, as ``module.register`` adds them."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(module).register(sub)
    return {action.dest: action.help for action in sub._choices_actions}


def test_command_table_matches_the_modules():
    modules = {module for module, _ in cli.COMMANDS.values()}
    found = {}
    for module in modules:
        found.update(registered(module))
    assert found == {name: help_text for name, (_, help_text) in cli.COMMANDS.items()}


def test_help_imports_no_subcommand_module():
    code = (
        "import sys\nfrom dse.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
        f"    print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    ).stdout  # fmt: skip
    assert "simulate" in out and "pareto" in out
    assert out.strip().splitlines()[-1] == "[]"


def test_a_command_imports_only_its_module(capsys):
    assert cli.main(["models", "list"]) == 0
    assert "ES_RITNet" in capsys.readouterr().out
    parser = cli.build_parser("simulate")
    with pytest.raises(SystemExit):
        parser.parse_args(["simulate", "--help"])
    assert "--scenario" in capsys.readouterr().out


def test_unknown_command_is_one_line(capsys):
    assert cli.main(["simulat"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'simulat'" in err
