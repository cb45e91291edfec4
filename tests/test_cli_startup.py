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


# -- the cost path: no pandas, networkx, matplotlib or scipy; output as pandas printed it -------

GOLDEN = REPO / "tests" / "data" / "cli_golden"
COST_PATH_FORBIDDEN = ("pandas", "networkx", "matplotlib", "scipy")
#: (golden file, rtmm arguments; ``{layers}`` is the vendored layer table, ``{out}`` the CSV).
GOLDEN_RUNS = (
    ("kd_J0.txt", "cost --model KD_res8_narrow --accelerator xrbench-4k-J/0"),
    ("kd_M.txt", "cost --model KD_res8_narrow --system xrbench-4k-M"),
    ("kd_M.csv", "cost --model KD_res8_narrow --system xrbench-4k-M --out {out}"),
    ("es_J0.txt", "cost --model ES_RITNet --accelerator xrbench-4k-J/0"),
    ("es_J0.csv", "cost --model ES_RITNet --accelerator xrbench-4k-J/0 --out {out}"),
    ("layers_J.txt", "cost --layers {layers} --system xrbench-4k-J"),
    ("layers_J.csv", "cost --layers {layers} --system xrbench-4k-J --out {out}"),
    ("layers_flags.txt", "cost --layers {layers} --pes 256 --noc-bw 32 --dataflow WS"),
    ("models_list.txt", "models list"),
)


def _modules_loaded_by(argv: list[str], tmp_path: Path) -> list[str]:
    code = (
        "import sys\nfrom dse.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({COST_PATH_FORBIDDEN!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "args",
    [
        "cost --model ES_RITNet --accelerator xrbench-4k-J/0",
        "cost --model GE_FBNet_C --system xrbench-4k-M --out o.csv",
        "cost --layers {layers} --accelerator xrbench-4k-A/0 --out o.csv",
        "cost --layers {layers} --pes 256 --noc-bw 32 --dataflow OS",
        "models list",
    ],
)
def test_cost_and_models_list_import_no_pandas_networkx_matplotlib_scipy(args, tmp_path):
    argv = args.format(layers=GOLDEN / "layers.csv").split()
    assert _modules_loaded_by(argv, tmp_path) == "[]"


@pytest.mark.parametrize("golden, args", GOLDEN_RUNS, ids=[g for g, _ in GOLDEN_RUNS])
def test_cli_output_is_byte_identical_to_the_pandas_path(golden, args, tmp_path, capsys):
    out = tmp_path / "out.csv"
    argv = args.format(layers=GOLDEN / "layers.csv", out=out).split()
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    expected = (GOLDEN / golden).read_bytes()
    if "--out" in argv:
        assert out.read_bytes() == expected
    else:
        assert printed.encode() == expected


def test_second_run_with_a_disk_cache_skips_costing(tmp_path, monkeypatch, capsys):
    """``RTMM_COST_CACHE``: the first run writes the cost table, a second process (simulated by
    clearing the in-process caches) prints the same bytes without running any analysis."""
    from costmodel import analyses as analyses_mod
    from costmodel import cache

    argv = ["cost", "--model", "KD_res8_narrow", "--system", "xrbench-4k-M"]
    monkeypatch.setenv(cache.DISK_ENV, str(tmp_path / "costs"))
    cache.follow_environment()  # an earlier set_disk_dir() must not hide the variable
    cache.clear()
    try:
        assert cli.main(argv) == 0
        first = capsys.readouterr().out
        assert len(list((tmp_path / "costs").glob("*.pkl"))) == 1
        cache.clear()

        def no_costing(*args, **kwargs):
            raise AssertionError("costed again")

        monkeypatch.setitem(analyses_mod.ANALYSES, "maestro", no_costing)
        assert cli.main(argv) == 0
        assert capsys.readouterr().out == first == (GOLDEN / "kd_M.txt").read_text()
    finally:
        cache.clear()


def test_disk_cache_entry_is_read_without_pandas(tmp_path):
    """A cached table is a pickle of numpy arrays: reading it in a second process loads no
    pandas (a pickled DataFrame would import it)."""
    argv = ["cost", "--model", "ES_RITNet", "--accelerator", "xrbench-4k-J/0"]
    code = (
        "import sys\nfrom dse.cli import main\nfrom costmodel import analyses\n"
        "analyses.ANALYSES['maestro'] = None\n"  # a second run must not cost anything
        f"assert main({argv!r}) == 0\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({COST_PATH_FORBIDDEN!r})))"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "", "RTMM_COST_CACHE": str(tmp_path / "c")}
    first = subprocess.run(
        [sys.executable, "-m", "dse.cli", *argv], capture_output=True, text=True, check=True,
        cwd=tmp_path, env=env,
    ).stdout  # fmt: skip
    second = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
        env=env,
    ).stdout  # fmt: skip
    assert first == (GOLDEN / "es_J0.txt").read_text()
    assert second.endswith("[]\n") and second[: -len("[]\n")] == first
