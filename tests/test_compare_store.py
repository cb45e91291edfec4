"""``rtmm compare`` on the sweep runner and store: same numbers, resume, refusal, --extend,
--figures-only without simulation, Dask, a stopped run keeping its committed runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from dse import compare_eval
from dse.cli import main
from dse.compare import CompareConfig, points_of, run_compare
from dse.compare_run import STORE_NAME
from dse.store import PointResult, ResultStore
from rtmm.errors import RtmmError

GOLDEN = Path(__file__).parent / "data" / "compare_golden"
TINY = ["--scenarios", "vr_gaming", "--systems", "xrbench-4k-J", "--policies", "edf,sdrm3",
        "--seeds", "1", "--horizon-ms", "150", "--jobs", "1", "--quiet"]  # fmt: skip


def _compare(out: Path, *args: str) -> int:
    return main(["compare", *TINY, "--out", str(out), *args])


def _no_simulation(monkeypatch) -> None:
    def boom(*_a, **_k):
        raise AssertionError("simulated")

    monkeypatch.setattr(compare_eval, "simulate_point", boom)
    monkeypatch.setattr(compare_eval, "simulate", boom)


def test_same_numbers_as_before_the_store(tmp_path):
    """runs.csv and loads.csv of a 2-run compare equal the golden files written by the compare
    of commit 1bb87b1 (its own process pool, no store) — edf and the fission path of planaria."""
    out = tmp_path / "o"
    args = ["compare", "--scenarios", "ar_assistant", "--systems", "xrbench-4k-J", "--policies",
            "edf,planaria", "--seeds", "1", "--horizon-ms", "300", "--jobs", "1", "--quiet",
            "--no-plots", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    for name in ("runs.csv", "loads.csv"):
        got = pd.read_csv(out / name, keep_default_na=False)
        want = pd.read_csv(GOLDEN / name, keep_default_na=False)
        # runs.csv has gained the UXCost bound since (scheduler/uxcost_bound.py)
        assert set(got.columns) - set(want.columns) <= {"uxcost_bound"}
        pd.testing.assert_frame_equal(got[list(want.columns)], want, check_exact=True)


def test_rerun_reuses_every_run_and_figures_only_never_simulates(tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    assert _compare(out) == 0
    assert "runs: 2 computed, 0 reused" in capsys.readouterr().out
    first = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".csv", ".png")}
    assert "gantt_vr_gaming_xrbench-4k-J.png" in first and "tuner.csv" in first
    _no_simulation(monkeypatch)
    assert _compare(out) == 0
    assert "runs: 0 computed, 2 reused" in capsys.readouterr().out
    for name in first:
        (out / name).unlink()
    assert main(["compare", "--figures-only", "--out", str(out)]) == 0
    assert "nothing simulated" in capsys.readouterr().out
    again = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".csv", ".png")}
    assert again == first  # every table and figure, byte for byte, from the store alone


def test_stored_gantt_run_draws_the_simulated_figure(tmp_path):
    """The block trace kept in the store draws the same PNG as the simulation's own result."""
    from scheduler.outputs import plot_gantt

    config = CompareConfig(scenarios=("vr_gaming",), systems=("xrbench-4k-J",),
                           policies=("sdrm3",), seeds=(0,), horizon_ms=150.0, jobs=1)  # fmt: skip
    result = run_compare(config, progress=False, store=tmp_path / STORE_NAME)
    (point,) = points_of(config)
    fresh, _ = compare_eval.simulate_point(point)
    pd.testing.assert_frame_equal(result.gantt.timeline, fresh.timeline, check_exact=True)
    plot_gantt(result.gantt, tmp_path / "stored.png", max_ms=700.0)
    plot_gantt(fresh, tmp_path / "fresh.png", max_ms=700.0)
    assert (tmp_path / "stored.png").read_bytes() == (tmp_path / "fresh.png").read_bytes()


def test_other_options_are_refused_unless_extend(tmp_path, capsys):
    out = tmp_path / "o"
    assert _compare(out) == 0
    capsys.readouterr()
    before = (out / STORE_NAME).read_bytes()
    assert _compare(out, "--seeds", "2") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rtmm: error:") and "\n" not in err
    assert "other options" in err and "--extend" in err
    assert (out / STORE_NAME).read_bytes() == before
    assert _compare(out, "--seeds", "2", "--extend") == 0  # seeds 0, 1: seed 0 reused
    assert "runs: 2 computed, 2 reused" in capsys.readouterr().out
    assert len(pd.read_csv(out / "runs.csv")) == 4


def test_figures_only_refuses_run_options_and_a_missing_store(tmp_path, capsys):
    assert main(["compare", "--figures-only", "--out", str(tmp_path / "none")]) == 2
    assert "no results store" in capsys.readouterr().err
    out = tmp_path / "o"
    assert _compare(out) == 0
    capsys.readouterr()
    assert main(["compare", "--figures-only", "--seeds", "3", "--out", str(out)]) == 2
    assert "--seeds with --figures-only" in capsys.readouterr().err


def test_a_stopped_run_keeps_its_committed_runs(tmp_path, capsys, monkeypatch):
    """A run that stops at its third point (batches of one run) keeps the first two; the same
    command then computes only the rest, and ends with the table of an uninterrupted run."""
    out = tmp_path / "o"
    real = compare_eval.simulate_point
    calls = []

    def third_fails(point):
        calls.append(point)
        if len(calls) == 3:
            raise KeyError("stop")  # not an RtmmError: the runner stops the whole run
        return real(point)

    monkeypatch.setattr(compare_eval, "simulate_point", third_fails)
    args = ("--policies", "edf,fcfs,sdrm3,llf", "--batch-size", "1")
    assert _compare(out, *args) == 2
    assert "crashed with KeyError" in capsys.readouterr().err
    monkeypatch.setattr(compare_eval, "simulate_point", real)
    assert _compare(out, *args) == 0
    assert "runs: 2 computed, 2 reused" in capsys.readouterr().out
    whole = tmp_path / "whole"
    assert _compare(whole, *args) == 0  # an uninterrupted run gives the same table
    assert (out / "runs.csv").read_bytes() == (whole / "runs.csv").read_bytes()


def test_dask_scheduler_gives_the_serial_numbers(tmp_path):
    distributed = pytest.importorskip("distributed")
    config = CompareConfig(
        scenarios=("vr_gaming",), systems=("xrbench-4k-J",), policies=("edf", "sdrm3"),
        seeds=(0,), horizon_ms=150.0, jobs=1,
    )  # fmt: skip
    serial = run_compare(config, progress=False, store=tmp_path / "serial.sqlite")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as c:
        dask = dataclasses.replace(config, executor="dask", scheduler_address=c.scheduler_address)
        remote = run_compare(dask, progress=False, store=tmp_path / "dask.sqlite")
    assert remote.computed == 2
    pd.testing.assert_frame_equal(remote.runs, serial.runs, check_exact=True)
    pd.testing.assert_frame_equal(remote.traces, serial.traces, check_exact=True)


def test_store_artifacts_are_written_with_their_point(tmp_path):
    path = tmp_path / "s.sqlite"
    store = ResultStore.open(path, fingerprint="f", spec_json="{}", resume=False)
    ok = PointResult("a", 0, {}, {"x": 1}, {"m": 1.0}, artifacts={"blob": b"\x00\x01"})
    store.write([ok, PointResult("b", 1, {}, {"x": 2}, error="bad")])
    assert store.artifacts("blob") == {"a": b"\x00\x01"} and store.artifact_ids("blob") == {"a"}
    store.write([dataclasses.replace(ok, artifacts={})])  # re-writing a point replaces them
    assert store.artifacts("blob") == {}
    store.close()
    with ResultStore(path, read_only=True) as ro:
        assert ro.count() == 2
    with pytest.raises(RtmmError, match="different sweep spec"):
        ResultStore.open(path, fingerprint="g", spec_json="{}", resume=True)
    ResultStore.open(path, fingerprint="g", spec_json="{}", resume=True, adopt=True).close()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scheduler-address", "tcp://no port"], "--scheduler-address"),
        (["--scheduler-address", "tcp://127.0.0.1:9", "--jobs", "2"], "cannot connect"),
        (["--batch-size", "0"], "--batch-size"),
        (["--executor", "serial", "--scheduler-address", "tcp://127.0.0.1:9"], "needs --executor"),
    ],
)
def test_executor_errors_are_one_line_and_leave_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "o"
    assert _compare(out, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rtmm: error:") and "\n" not in err and message in err
    assert not out.exists()


def test_a_foreign_file_as_the_store_is_refused_untouched(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / STORE_NAME).write_text("not a database\n")
    assert _compare(out) == 2
    assert "not a results store" in capsys.readouterr().err
    assert (out / STORE_NAME).read_text() == "not a database\n"
