"""Sweep execution: store, batching, resume after SIGKILL, executors (process pool, dask, serial).

These tests use :func:`cheap_evaluator`, a deterministic stand-in for the simulator, so that the
machinery (which never looks inside metrics) is tested on its own and fast.
"""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import dse
from dse.executors import DaskExecutor, LocalExecutor, SerialExecutor, make_executor
from dse.runner import auto_batch_size, batches, run_sweep
from dse.store import ResultStore
from dse.sweep import expand, load_spec
from rtmm.errors import RtmmError, SimulationError, SpecError, UnknownNameError

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SLEEP_S = 0.0


def cheap_evaluator(point):
    """Deterministic metrics from the point's parameters (a stand-in for the simulator)."""
    if SLEEP_S or os.environ.get("RTMM_TEST_SLEEP_S"):
        time.sleep(float(os.environ.get("RTMM_TEST_SLEEP_S", SLEEP_S)))
    hw = dict(point.hardware)
    pes = hw.get("accelerators[*].num_pes", 1024) * 2
    split = hw.get("pe_split", 0.5)
    scen = sum(map(ord, point.scenario)) % 7
    energy = 1e3 / math.sqrt(pes) * (1 + abs(split - 0.5)) + scen + 0.01 * point.seed
    score = 1 - math.exp(-pes / 4096) * (0.5 + abs(split - 0.4)) - 0.001 * point.seed
    if os.environ.get("RTMM_TEST_CRASH_SEQ") == str(point.index):
        os._exit(3)  # a worker dies without a word (segfault, OOM kill, ...)
    if hw.get("pe_split") == 0.9 and point.seed == 1:
        raise SimulationError("synthetic failure for this point", source="<test>")
    return {"energy_mj": energy, "score": score, "label": f"{point.scenario}-{point.seed}"}


SPEC = """\
name: machinery-test
base_system: xrbench-4k-J
evaluator: test_dse_runner:cheap_evaluator
axes:
  accelerators[*].num_pes: {start: 1024, stop: 4096, step: 1024}
  pe_split: [0.25, 0.5, 0.75, 0.9]
scenarios: [vr_gaming, ar_gaming]
policies: [latency_greedy]
seeds: {start: 0, stop: 2, step: 1}
"""
NUM_POINTS = 4 * 4 * 2 * 3


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    p = tmp_path / "sweep.yaml"
    p.write_text(SPEC)
    return p


def _reference(spec_path: Path, tmp_path: Path) -> pd.DataFrame:
    store = tmp_path / "reference.sqlite"
    report = run_sweep(load_spec(spec_path), store, executor=SerialExecutor(), progress=False)
    assert report.computed == NUM_POINTS and report.already_done == 0
    return dse.load(store)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO), env.get("PYTHONPATH", "")])
    return env


def _rtmm(*args: str, **kwargs) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dse.cli", *args]
    return subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def _count(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM points").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --------------------------------------------------------------------------------------------


def test_store_rows_params_and_metrics(spec_path, tmp_path):
    frame = _reference(spec_path, tmp_path)
    assert len(frame) == NUM_POINTS
    assert list(frame["seq"]) == list(range(NUM_POINTS))
    assert frame["point_id"].is_unique
    for col in ("accelerators[*].num_pes", "pe_split", "scenario", "seed", "energy_mj", "score"):
        assert col in frame.columns
    errors = frame[frame["status"] == "error"]
    # pe_split 0.9 x seed 1: 4 PE counts x 2 scenarios raise SimulationError -> error rows
    assert len(errors) == 8
    assert errors["error"].str.contains("synthetic failure").all()
    assert errors["energy_mj"].isna().all()
    ok = frame[frame["status"] == "ok"]
    point = next(p for p in expand(load_spec(spec_path)) if p.index == 5)
    expected = cheap_evaluator(point)
    row = ok.loc[ok["seq"] == 5].iloc[0]
    assert row["energy_mj"] == expected["energy_mj"] and row["label"] == expected["label"]
    assert row["point_id"] == point.point_id
    full = dse.load(tmp_path / "reference.sqlite", with_json=True)
    assert '"pe_split":0.25' in full.loc[0, "params_json"]


def test_resume_after_sigkill_equals_uninterrupted_run(spec_path, tmp_path):
    reference = _reference(spec_path, tmp_path)
    store = tmp_path / "killed.sqlite"
    env_sleep = {"RTMM_TEST_SLEEP_S": "0.15"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dse.cli", "sweep", str(spec_path), "--store", str(store),
         "--workers", "2", "--batch-size", "2", "--quiet"],
        env={**_env(), **env_sleep}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _count(store) < 12:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "sweep made no progress"
            time.sleep(0.02)
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 of the sweep process only
        proc.wait(timeout=10)
        # orphaned workers notice their parent is gone and exit on their own
        t_end = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < t_end:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    done = _count(store)
    assert 12 <= done < NUM_POINTS

    # without --resume a non-empty store is refused with one line
    refused = _rtmm("sweep", str(spec_path), "--store", str(store), "--quiet")
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert len(err.strip().splitlines()) == 1 and "--resume" in err

    resumed = _rtmm("sweep", str(spec_path), "--store", str(store), "--resume", "--workers", "2")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert f"{NUM_POINTS - done} computed" in err and f"{done} already in store" in err
    pd.testing.assert_frame_equal(dse.load(store), reference)

    # resuming a complete store computes nothing and changes nothing
    report = run_sweep(load_spec(spec_path), store, executor=SerialExecutor(), resume=True,
                       progress=False)  # fmt: skip
    assert report.computed == 0 and report.already_done == NUM_POINTS
    pd.testing.assert_frame_equal(dse.load(store), reference)


def test_local_process_pool_equals_serial(spec_path, tmp_path):
    reference = _reference(spec_path, tmp_path)
    store = tmp_path / "local.sqlite"
    with LocalExecutor(2) as ex:
        report = run_sweep(load_spec(spec_path), store, executor=ex, batch_size=5, progress=False)
    assert report.computed == NUM_POINTS and report.errors == 8
    pd.testing.assert_frame_equal(dse.load(store), reference)


def test_dask_local_cluster_equals_local(spec_path, tmp_path):
    pytest.importorskip("distributed")
    reference = _reference(spec_path, tmp_path)
    store = tmp_path / "dask.sqlite"
    with DaskExecutor(workers=1, processes=False) as ex:
        assert ex.workers == 1
        report = run_sweep(load_spec(spec_path), store, executor=ex, batch_size=4, progress=False)
    assert report.computed == NUM_POINTS
    pd.testing.assert_frame_equal(dse.load(store), reference)


def test_store_refuses_other_spec(spec_path, tmp_path):
    store = tmp_path / "s.sqlite"
    run_sweep(load_spec(spec_path), store, executor=SerialExecutor(), progress=False)
    other = tmp_path / "other.yaml"
    other.write_text(SPEC.replace("[0.25, 0.5, 0.75, 0.9]", "[0.25, 0.5]"))
    for resume in (False, True):
        with pytest.raises(SpecError, match="different sweep spec") as err:
            run_sweep(load_spec(other), store, executor=SerialExecutor(), resume=resume,
                      progress=False)  # fmt: skip
        assert "\n" not in str(err.value) and str(store) in str(err.value)


def test_load_errors(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        dse.load(tmp_path / "missing.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not sqlite, just text " * 100)
    with pytest.raises(SpecError, match="not a results store"):
        dse.load(junk)


def test_batches_group_by_hardware(spec_path):
    points = list(expand(load_spec(spec_path)))
    out = list(batches(points, 4))
    assert sum(len(b) for b in out) == len(points)
    assert [p.index for b in out for p in b] == list(range(len(points)))
    for b in out:
        assert 1 <= len(b) <= 4
        assert len({p.hardware_key for p in b}) == 1
    # 16 hardware configurations x 6 points each -> 2 batches of <= 4 per configuration
    assert len(out) == 32
    assert auto_batch_size(1000, 2) == 63 and auto_batch_size(3, 8) == 1
    assert auto_batch_size(10**6, 2) == 64


def test_make_executor_errors():
    with pytest.raises(UnknownNameError, match="unknown executor 'spark'") as err:
        make_executor("spark")
    assert "local, dask, serial" in str(err.value)
    with pytest.raises(SpecError, match="needs --executor dask"):
        make_executor("local", address="tcp://127.0.0.1:1")


def test_cli_unknown_executor_is_one_line(spec_path, tmp_path):
    proc = _rtmm("sweep", str(spec_path), "--store", str(tmp_path / "x.sqlite"),
                 "--executor", "spark")  # fmt: skip
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert len(err.strip().splitlines()) == 1 and "invalid choice: 'spark'" in err


def test_rtmm_errors_become_error_rows_other_exceptions_stop_the_sweep(spec_path, tmp_path):
    spec = load_spec(spec_path)

    def broken(point):
        raise ZeroDivisionError("bug")

    with pytest.raises(
        SimulationError, match="evaluator crashed with ZeroDivisionError: bug"
    ) as err:
        run_sweep(spec, tmp_path / "b.sqlite", executor=SerialExecutor(), evaluator=broken,
                  progress=False)  # fmt: skip
    assert "\n" not in str(err.value)
    assert not (tmp_path / "b.sqlite").exists(), "a failed sweep without results left its store"

    def bad(point):
        raise RtmmError("bad point", source="<test>")

    report = run_sweep(spec, tmp_path / "c.sqlite", executor=SerialExecutor(), evaluator=bad,
                       progress=False)  # fmt: skip
    assert report.errors == NUM_POINTS
    assert set(dse.load(tmp_path / "c.sqlite")["error"]) == {"<test>: bad point"}


def test_store_write_is_transactional(tmp_path):
    with ResultStore.open(tmp_path / "t.sqlite", fingerprint="f", spec_json="{}",
                          resume=False) as store:  # fmt: skip
        assert store.count() == 0 and store.meta()["spec_fingerprint"] == "f"


def _default_sigint() -> None:
    """A child of a shell's background job inherits SIGINT ignored (POSIX), and Python then
    installs no KeyboardInterrupt handler: restore the default so the test does not depend on how
    the suite was started (a suite run with ``cmd &`` failed here)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_stops_cleanly_and_resume_completes(spec_path, tmp_path):
    reference = _reference(spec_path, tmp_path)
    store = tmp_path / "ctrl_c.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dse.cli", "sweep", str(spec_path), "--store", str(store),
         "--workers", "2", "--batch-size", "2", "--quiet"],
        env={**_env(), "RTMM_TEST_SLEEP_S": "0.15"}, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_default_sigint,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _count(store) < 8:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130 and err.strip() == "rtmm: interrupted"
    assert _count(store) < NUM_POINTS
    report = run_sweep(load_spec(spec_path), store, executor=SerialExecutor(), resume=True,
                       progress=False)  # fmt: skip
    assert report.already_done + report.computed == NUM_POINTS
    pd.testing.assert_frame_equal(dse.load(store), reference)


def test_dask_client_on_a_scheduler_address(spec_path, tmp_path):
    distributed = pytest.importorskip("distributed")
    reference = _reference(spec_path, tmp_path)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        store = tmp_path / "remote.sqlite"
        with make_executor("dask", address=cluster.scheduler_address) as ex:
            run_sweep(load_spec(spec_path), store, executor=ex, progress=False)
        pd.testing.assert_frame_equal(dse.load(store), reference)
    with pytest.raises(SpecError, match="cannot connect to dask scheduler") as err:
        DaskExecutor(address="tcp://127.0.0.1:9", connect_timeout_s=1)
    assert "--scheduler-address" in str(err.value) and "\n" not in str(err.value)


def test_pareto_cli(spec_path, tmp_path):
    _reference(spec_path, tmp_path)
    store = tmp_path / "reference.sqlite"
    out_csv, out_png = tmp_path / "front.csv", tmp_path / "front.png"
    proc = _rtmm("pareto", str(store), "--objectives", "energy_mj:min,score:max",
                 "--where", "scenario=vr_gaming", "--where", "seed=0",
                 "--csv", str(out_csv), "--plot", str(out_png))  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    front = pd.read_csv(out_csv)
    frame = dse.load(store)
    subset = frame[(frame["scenario"] == "vr_gaming") & (frame["seed"] == 0)]
    from dse.pareto import pareto_front

    expected = pareto_front(subset, {"energy_mj": "min", "score": "max"})
    assert list(front["point_id"]) == list(expected["point_id"])
    assert f"{len(front)} of {len(subset)} points on the front" in err
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    bad = _rtmm("pareto", str(store), "--where", "colour=red")
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 2 and "--where: bad condition 'colour=red'" in err
    # issue 15: a value matching nothing names the allowed values (closest first)
    typo = _rtmm("pareto", str(store), "--where", "scenario=vr_gamin", "--csv", str(out_csv))
    _, err = typo.communicate(timeout=60)
    assert typo.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert "did you mean vr_gaming" in err and "ar_gaming, vr_gaming" in err
    # issue 15: without --where, two scenarios are not mixed into one front
    mixed = _rtmm("pareto", str(store), "--csv", str(tmp_path / "mixed.csv"))
    _, err = mixed.communicate(timeout=60)
    assert mixed.returncode == 2 and "holds 2 scenarios (ar_gaming, vr_gaming)" in err
    assert not (tmp_path / "mixed.csv").exists()
    # issue 13: a bad --plot is refused before the CSV is written; the store is never an output
    before = store.read_bytes()
    for argv in (["--csv", str(tmp_path / "ok.csv"), "--plot", str(tmp_path / "bad.xyz")],
                 ["--csv", str(store)]):  # fmt: skip
        proc = _rtmm("pareto", str(store), "--where", "scenario=vr_gaming", *argv)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "ok.csv").exists() and store.read_bytes() == before


def test_worker_crash_is_one_error_and_resume_completes(spec_path, tmp_path, monkeypatch):
    reference = _reference(spec_path, tmp_path)
    store = tmp_path / "crash.sqlite"
    monkeypatch.setenv("RTMM_TEST_CRASH_SEQ", "40")
    with (
        pytest.raises(SimulationError, match="a worker process died") as err,
        LocalExecutor(2) as ex,
    ):
        run_sweep(load_spec(spec_path), store, executor=ex, batch_size=3, progress=False)
    assert "rerun with --resume" in str(err.value) and "\n" not in str(err.value)
    saved = dse.load(store)
    assert 0 < len(saved) < NUM_POINTS and 40 not in set(saved["seq"])
    monkeypatch.delenv("RTMM_TEST_CRASH_SEQ")
    with LocalExecutor(2) as ex:
        run_sweep(load_spec(spec_path), store, executor=ex, resume=True, progress=False)
    pd.testing.assert_frame_equal(dse.load(store), reference)


def test_unimportable_evaluator_names_spec_and_field(spec_path, tmp_path):
    spec_path.write_text(SPEC.replace("test_dse_runner:cheap_evaluator", "no_such_mod:fn"))
    with pytest.raises(SpecError) as err:
        run_sweep(load_spec(spec_path), tmp_path / "x.sqlite", executor=SerialExecutor())
    assert str(err.value).startswith(f"{spec_path}: evaluator: cannot import evaluator")
    assert not (tmp_path / "x.sqlite").exists()


def test_metric_named_like_a_parameter_is_refused(spec_path, tmp_path):
    with pytest.raises(SpecError, match=r"metric names \['seed'\] clash"):
        run_sweep(load_spec(spec_path), tmp_path / "c.sqlite", executor=SerialExecutor(),
                  evaluator=lambda p: {"seed": 1.0}, progress=False)  # fmt: skip


# --- issue 13: concurrent writers, read-only readers, no store from a failed run -------------


def test_two_sweep_processes_on_one_store_second_refused_nothing_lost(spec_path, tmp_path):
    """Two real ``rtmm sweep`` processes start on the same new store at once: exactly one runs,
    the other exits 2 with one line (in use / already holds), and the store ends complete."""
    reference = _reference(spec_path, tmp_path)
    store = tmp_path / "shared.sqlite"
    env = {**_env(), "RTMM_TEST_SLEEP_S": "0.05"}
    args = ("sweep", str(spec_path), "--store", str(store), "--quiet", "--workers", "1")
    cmd = [sys.executable, "-m", "dse.cli", *args]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=240), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(err for code, err in results if code == 2)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "in use by another rtmm sweep" in err or "already holds" in err
    pd.testing.assert_frame_equal(dse.load(store), reference)


def test_writer_lock_refuses_a_second_open_at_once(spec_path, tmp_path):
    spec = load_spec(spec_path)
    store = tmp_path / "locked.sqlite"
    kwargs = {"fingerprint": spec.fingerprint(), "spec_json": "{}", "resume": True}
    with ResultStore.open(store, **kwargs):
        t0 = time.perf_counter()
        with pytest.raises(SpecError, match="in use by another rtmm sweep"):
            ResultStore.open(store, **kwargs)
        assert time.perf_counter() - t0 < 2.0
        assert store.exists(), "the refused opener removed the first writer's store"
    with ResultStore.open(store, **kwargs):  # released on close
        pass


def test_load_never_modifies_a_foreign_or_empty_database(tmp_path):
    foreign = tmp_path / "other.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    for path in (foreign, empty):
        before = path.read_bytes()
        with pytest.raises(SpecError, match="not a results store") as err:
            dse.load(path)
        assert str(path) in str(err.value)
        assert path.read_bytes() == before
        assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()


def test_sweep_refuses_a_foreign_database_without_touching_it(spec_path, tmp_path):
    foreign = tmp_path / "app.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    with pytest.raises(SpecError, match="not a results store"):
        run_sweep(load_spec(spec_path), foreign, executor=SerialExecutor(), progress=False)
    assert foreign.read_bytes() == before


def test_wrong_schema_store_is_refused(tmp_path):
    odd = tmp_path / "odd.sqlite"
    con = sqlite3.connect(odd)
    con.execute("CREATE TABLE points (seq INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(SpecError, match="points lacks point_id"):
        dse.load(odd)


@pytest.mark.parametrize(
    "result, message",
    [([1, 2], "returned list"), ({"m": [1]}, "metric 'm' is a list"), ({3: 1.0}, "name 3")],
)
def test_evaluator_returning_junk_stops_with_one_line_and_no_store(
    spec_path, tmp_path, result, message
):
    with pytest.raises(SimulationError, match=message) as err:
        run_sweep(load_spec(spec_path), tmp_path / "j.sqlite", executor=SerialExecutor(),
                  evaluator=lambda p: result, progress=False)  # fmt: skip
    assert "\n" not in str(err.value)
    assert not list(tmp_path.glob("j.sqlite*"))


def test_infinite_metric_is_an_error_row(spec_path, tmp_path):
    store = tmp_path / "inf.sqlite"
    metrics = {"energy_mj": float("inf"), "score": 1.0}
    run_sweep(load_spec(spec_path), store, executor=SerialExecutor(),
              evaluator=lambda p: metrics, progress=False)  # fmt: skip
    frame = dse.load(store)
    assert (frame["status"] == "error").all()
    assert frame["error"].str.contains("energy_mj' is inf").all()
