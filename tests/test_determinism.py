"""Determinism (issue 8): the same inputs and seed give byte-identical CSVs across runs, across
modes of execution (in-process vs a worker process pool) and across sweep executors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dse.cli import main


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "extra",
    [
        ["--policy", "latency_greedy", "--xrbench-compatible"],
        ["--policy", "sdrm3", "--horizon-ms", "300", "--jitter-ms", "2"],
        ["--policy", "edf", "--horizon-ms", "300", "--analysis", "native"],
    ],
    ids=["xrbench", "sdrm3-native-jitter", "edf-native-costs"],
)
def test_simulate_twice_gives_identical_csvs(tmp_path, extra, capsys):
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run
        argv = ["simulate", "--scenario", "vr_gaming_p50", "--system", "xrbench-4k-J"]
        assert main([*argv, *extra, "--seed", "7", "--no-plots", "--out", str(out)]) == 0
        outs.append(out)
    capsys.readouterr()
    for name in ("summary.csv", "timeline.csv", "frames.csv"):
        assert _digest(outs[0] / name) == _digest(outs[1] / name), name


def test_different_seeds_differ_where_randomness_matters(tmp_path, capsys):
    digests = set()
    for seed in ("1", "2"):
        out = tmp_path / seed
        argv = ["simulate", "--scenario", "vr_gaming_p50", "--system", "xrbench-4k-J"]
        assert main([*argv, "--seed", seed, "--no-plots", "--out", str(out)]) == 0
        digests.add(_digest(out / "timeline.csv"))
    capsys.readouterr()
    assert len(digests) == 2


def test_compare_serial_and_process_pool_give_identical_runs_csv(tmp_path, capsys):
    common = [
        "compare",
        "--scenarios",
        "vr_gaming,outdoor_activity_a",
        "--systems",
        "xrbench-4k-J",
        "--policies",
        "edf,sdrm3",
        "--seeds",
        "0,1",
        "--horizon-ms",
        "400",
        "--no-plots",
        "--quiet",
    ]
    assert main([*common, "--jobs", "1", "--out", str(tmp_path / "serial")]) == 0
    assert main([*common, "--jobs", "2", "--out", str(tmp_path / "pool")]) == 0
    capsys.readouterr()
    for name in ("runs.csv", "reductions.csv"):
        assert _digest(tmp_path / "serial" / name) == _digest(tmp_path / "pool" / name), name
