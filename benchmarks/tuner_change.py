"""Workload-change runs of SDRM3's online tuner (the ``--tuner-*`` modes of ``bench_compare.py``).

    python benchmarks/bench_compare.py --tuner-synthetic  # tuner rules on synthetic objectives
    python benchmarks/bench_compare.py --tuner-grid [--method replay]  # options, TUNING systems
    python benchmarks/bench_compare.py --tuner-change   # tuner after a change, held-out systems

A change (a model joins or leaves, a cascade probability moves) happens at half of a 10 s run;
``sdrm3`` (tuned) and ``sdrm3_static`` run on the same seeds, hence the same arrivals and
triggers (drawn independently of the policy). Results: ``benchmarks/RESULTS.md``, "Issue 12a"
(the evidence tuner) and "Issue 12d" (the paired-replay tuner).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from dse.compare_plots import running_mean
from dse.compare_points import DEFAULT_JITTER_MS, FAIR, cost_arrays
from hardware_db import library
from scheduler import policies, simulate
from scheduler.metrics import frames_uxcost, geomean
from scheduler.policies.sdrm3 import THETA_NAMES, TUNING_SYSTEMS
from scheduler.policies.sdrm3_terms import tuner_window_ms
from scheduler.tuner_trace import settling_window
from workloads import scenario as scenario_lib

#: Systems of ``--tuner-change`` (the held-out systems of ``bench_compare.py``).
HELDOUT_SYSTEMS = ("xrbench-4k-K", "xrbench-8k-M")

#: Workload changes at half the run: (scenario, model index, old and new trigger probability, what).
CHANGES = (
    ("ar_gaming", 1, 0.0, 1.0, "DE joins"),
    ("social_interaction_a", 2, 1.0, 0.0, "DR leaves"),
    ("outdoor_activity_a", 1, 0.2, 0.8, "ASR cascade p 0.2 -> 0.8"),
)
CHANGE_SYSTEMS = HELDOUT_SYSTEMS
CHANGE_HORIZON_MS = 10_000.0
#: The part of the tuning set the tuner's options are chosen on: its J pair (the systems of issues
#: 12a and 12d; the whole 16-system set of issue 12c would take about 8x as long per option).
TUNER_TUNING_SYSTEMS = tuple(s for s in TUNING_SYSTEMS if s.endswith("-J"))
assert TUNER_TUNING_SYSTEMS == ("xrbench-4k-J", "xrbench-8k-J")

#: Tuner hyperparameters tried on the TUNING systems (``--tuner-grid``); the Tuner's defaults are
#: the one chosen there (benchmarks/RESULTS.md, "Issue 12a").
TUNER_GRID = (
    {"baseline_rounds": 6, "probe_rounds": 3},
    {"baseline_rounds": 4, "probe_rounds": 3},
    {"baseline_rounds": 6, "probe_rounds": 2},
    {"baseline_rounds": 6, "probe_rounds": 3, "alpha": 0.1},
    {"baseline_rounds": 6, "probe_rounds": 3, "cusum_h": 8.0},
)

#: Options of the paired-replay tuner tried on the TUNING systems (``--tuner-grid --method
#: replay``; :class:`scheduler.replay_tuner.ReplayTuner`, results in RESULTS.md "Issue 12d").
REPLAY_GRID = (
    {"method": "replay", "step0": 0.1, "evidence": 2},
    {"method": "replay", "step0": 0.2, "evidence": 2},
    {"method": "replay", "step0": 0.1, "evidence": 3},
    {"method": "replay", "step0": 0.1, "evidence": 2, "tolerance": 0.02},
)


def window_uxcosts(frames, window_ms: float, start_ms: float) -> np.ndarray:
    """UXCost of the frames resolved in each window from ``start_ms`` (by completion time)."""
    done = frames[frames["status"] != "not_triggered"]
    k = np.floor((done["completion_ms"].to_numpy(float) - start_ms) / window_ms).astype(int)
    out = []
    for w in range(int(k.max()) + 1 if len(k) else 0):
        sel = done[k == w]
        out.append(frames_uxcost(sel)[0] if len(sel) else np.nan)
    return np.array(out)


def settle_after_change(series: np.ndarray, tolerance: float = 0.05, k: int = 5) -> tuple:
    """(settle window, settled value): running UXCost = mean of the last ``k`` windows; settled
    value = its mean over the last 10 windows; settle window = first window from which the
    running UXCost stays within ``tolerance`` of the settled value."""
    run = running_mean(series, k)
    settled = float(np.nanmean(run[-10:]))
    ok = np.abs(run - settled) <= tolerance * settled
    bad = np.flatnonzero(~ok)
    return (int(bad[-1]) + 1 if len(bad) else 0), settled


def cumulative_settle(series: np.ndarray, tolerance: float = 0.05) -> int:
    """Settle window of the cumulative mean since the change (NOT the target's definition)."""
    v = np.where(np.isfinite(series), series, 0.0)
    n = np.cumsum(np.isfinite(series))
    cum = np.cumsum(v) / np.maximum(n, 1)
    return settling_window(cum[n > 0], tolerance) + int(np.argmax(n > 0))


def theta_after_change(trace, change_ms: float) -> tuple[int, int, int]:
    """(windows after the change until the accepted theta last changed, until the tuner first
    held theta after its first restart there (or after the change if none), restarts) — counted
    over the tuner's windows that end after the change."""
    after = trace[trace["end_ms"] > change_ms].reset_index(drop=True)
    accepted = after[[c for c in after.columns if c.startswith("accepted_")]].to_numpy(float)
    moved = np.flatnonzero(np.any(np.diff(accepted, axis=0) != 0, axis=1))
    last_move = int(moved[-1]) + 1 if len(moved) else 0
    restarts = np.flatnonzero(after["event"].to_numpy() == "restart")
    start = int(restarts[0]) + 1 if len(restarts) else 0  # held after exploring the new workload
    hold = np.flatnonzero(after["phase"].to_numpy()[start:] == "hold")
    first_hold = start + int(hold[0]) if len(hold) else len(after)
    return last_move, first_hold, int((after["event"] == "restart").sum())


def change_runs(systems, seeds, tuner_options: dict, static_cache: dict | None = None) -> list:
    """One row per (system, change, policy, seed) of the workload-change protocol."""
    rows = []
    half = CHANGE_HORIZON_MS / 2
    for system_name in systems:
        system = library.get_system(system_name)
        for name, model, p0, p1, what in CHANGES:
            scenario = scenario_lib.load(name)
            models = list(scenario.models)
            models[model] = dataclasses.replace(models[model], probability=p0)
            scenario = dataclasses.replace(scenario, models=tuple(models))
            costs = cost_arrays(scenario, system, "maestro")
            window = tuner_window_ms([1000.0 / m.fps for m in scenario.models])
            for policy_name in ("sdrm3", "sdrm3_static"):
                for seed in seeds:
                    key = (system_name, what, seed)
                    if policy_name == "sdrm3_static" and static_cache and key in static_cache:
                        rows.append(static_cache[key])
                        continue
                    kw = {"tuner_options": tuner_options} if policy_name == "sdrm3" else {}
                    policy = policies.get(policy_name, **kw)
                    cpu0 = time.process_time()
                    r = simulate(
                        scenario, system, policy, costs=costs,
                        horizon_ms=CHANGE_HORIZON_MS, seed=seed, jitter_ms=DEFAULT_JITTER_MS,
                        offchip_contention=True, mechanics=FAIR,
                        probability_changes=((model, half, p1),),
                    )  # fmt: skip
                    series = window_uxcosts(r.frames, window, half)
                    settle, settled = settle_after_change(series)
                    row = {
                        "system": system_name, "change": what, "policy": policy_name,
                        "seed": seed, "windows_after": len(series), "settle_w": settle,
                        "settle_cum_w": cumulative_settle(series), "settled_ux": settled,
                        "ux_after": frames_uxcost(r.frames[r.frames["completion_ms"] >= half])[0],
                        "cv": float(np.nanstd(series) / np.nanmean(series)),
                        "cpu_s": time.process_time() - cpu0, "series": series,
                    }  # fmt: skip
                    tuner = getattr(policy, "tuner", None) or getattr(policy, "replay", None)
                    if tuner is not None:
                        trace = tuner.trace_frame()
                        row["theta_moved_w"], row["first_hold_w"], row["restarts"] = (
                            theta_after_change(trace, half)
                        )
                        end = trace.iloc[-1]
                        row["theta_end"] = "/".join(
                            f"{end[f'accepted_{n}']:.2g}" for n in THETA_NAMES
                        )
                        row["restarts_before"] = int(
                            ((trace["end_ms"] <= half) & (trace["event"] == "restart")).sum()
                        )
                        row["windows"] = len(trace)
                        if "cpu_s" in trace:  # the replays' own CPU time, per window
                            row["replay_ms_per_window"] = 1e3 * float(trace["cpu_s"].mean())
                    elif static_cache is not None:
                        static_cache[key] = row
                    rows.append(row)
    return rows


def tuner_change(seeds: tuple[int, ...], systems: tuple[str, ...], tuner_options: dict) -> None:
    """sdrm3 (tuned) vs sdrm3_static after a workload change at half of a 10 s run."""
    print(
        f"systems {', '.join(systems)}, {CHANGE_HORIZON_MS:.0f} ms, change at half, seeds {seeds}"
    )
    print(f"tuner options {tuner_options or 'defaults'}")
    frame = paired_settle(pd.DataFrame(change_runs(systems, seeds, tuner_options)))
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(frame.drop(columns="series").round(4).to_string(index=False))
        print("\nper change (seeds as lists):")
        cols = ["settle_w", "settle_cum_w", "settled_ux", "cv", "theta_moved_w", "first_hold_w"]
        cols += ["restarts", "theta_end", "paired_settle_w", "ratio_after", "cpu_s"]
        agg = frame.groupby(["system", "change", "policy"], sort=False)[cols]
        print(
            agg.agg(
                lambda c: ", ".join(v if isinstance(v, str) else f"{v:.3g}" for v in c)
            ).to_string()
        )
    summarise(frame)


def paired_settle(frame: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """Diagnostic (NOT the target's definition): the tuned run's running UXCost divided by the
    static run's of the same seed (same arrivals and triggers, drawn independently of the
    policy), window by window; its settle window as :func:`settle_after_change`. Also the
    tuned/static ratio of the UXCost after the change (``ratio_after``)."""
    frame = frame.copy()
    frame["paired_settle_w"], frame["ratio_after"] = np.nan, np.nan
    static = frame[frame.policy == "sdrm3_static"].set_index(["system", "change", "seed"])
    for i, row in frame[frame.policy == "sdrm3"].iterrows():
        base = static.loc[(row.system, row.change, row.seed)]
        n = min(len(row.series), len(base.series))
        ratio = running_mean(row.series[:n], k) / running_mean(base.series[:n], k)
        frame.loc[i, "paired_settle_w"] = settle_after_change(ratio, k=1)[0]
        frame.loc[i, "ratio_after"] = row.ux_after / base.ux_after
    return frame


def summarise(frame: pd.DataFrame) -> None:
    """One line: the target's settle counts, tuned/static after the change, CPU overhead."""
    t, st = frame[frame.policy == "sdrm3"], frame[frame.policy == "sdrm3_static"]
    ratio = geomean(t["ratio_after"].to_numpy(float), "ratios")
    over = t["cpu_s"].sum() / st["cpu_s"].sum()
    per = (t["cpu_s"].to_numpy() - st["cpu_s"].to_numpy()) / t["windows"].to_numpy()
    print(
        f"UXCost after change tuned/static geomean {ratio:.4f}; settle_w <= 5 in "
        f"{(t.settle_w <= 5).sum()}/{len(t)} (static {(st.settle_w <= 5).sum()}/{len(st)}); "
        f"paired settle <= 5 in {(t.paired_settle_w <= 5).sum()}/{len(t)}; theta moved until "
        f"window median {t.theta_moved_w.median():.0f}; CPU tuned/static {over:.1f}x, "
        f"+{1e3 * np.median(per):.0f} ms per window (median; measured under load)",
        flush=True,
    )


def tuner_grid(seeds: tuple[int, ...], method: str = "evidence") -> None:
    """Each :data:`TUNER_GRID` (or :data:`REPLAY_GRID`) configuration on the TUNING systems'
    workload changes."""
    print(f"tuning systems {', '.join(TUNER_TUNING_SYSTEMS)}, seeds {seeds}")
    cache: dict = {}
    for options in REPLAY_GRID if method == "replay" else TUNER_GRID:
        f = pd.DataFrame(change_runs(TUNER_TUNING_SYSTEMS, seeds, options, cache))
        if method == "replay":
            print(options, end=": ")
            summarise(paired_settle(f))
            continue
        tuned, static = f[f.policy == "sdrm3"], f[f.policy == "sdrm3_static"]
        ratio = geomean(tuned["ux_after"].to_numpy() / static["ux_after"].to_numpy(), "ratios")
        t, st = tuned, static
        print(
            f"{options}: UXCost after change tuned/static geomean {ratio:.4f}; "
            f"settle_w median {t.settle_w.median():.0f} (static {st.settle_w.median():.0f}), "
            f"<= 5 in {(t.settle_w <= 5).sum()}/{len(t)} (static {(st.settle_w <= 5).sum()}); "
            f"theta moved until window median {t.theta_moved_w.median():.0f}, first hold median "
            f"{t.first_hold_w.median():.0f}; restarts before/after change "
            f"{t.restarts_before.sum()}/{t.restarts.sum()}",
            flush=True,
        )


def tuner_synthetic(runs: int = 20) -> None:
    """The tests' synthetic objectives over more seeds (tests/test_sdrm3_tuner.py uses fewer)."""
    from scheduler.tuner import Tuner

    bounds = np.array([[0.0, 4.0], [0.0, 4.0]])
    first, second = np.array([3.0, 1.0]), np.array([1.0, 3.0])
    dist = []
    for seed in range(runs):  # noisy quadratic, the optimum moves at window 150
        rng = np.random.default_rng(seed)
        tuner = Tuner([1.0, 3.0], bounds, names=("a", "b"))
        theta = tuner.current
        for k in range(300):
            opt = first if k < 150 else second
            noise = np.exp(rng.normal(0.0, 0.05))
            theta = tuner.step((1.0 + 0.25 * float(np.sum((theta - opt) ** 2))) * noise)
            if k == 149:
                dist.append([np.linalg.norm(tuner.theta - first), 0.0])
        dist[-1][1] = np.linalg.norm(tuner.theta - second)
    d = np.array(dist)
    print(f"quadratic: within 0.6 of the optimum {(d < 0.6).sum(axis=0)} of {runs}, max {d.max(0)}")
    moved = 0
    for seed in range(30):  # pure noise
        rng = np.random.default_rng(100 + seed)
        tuner = Tuner([1.0, 1.0], bounds, names=("a", "b"))
        for _ in range(300):
            tuner.step(float(np.exp(rng.normal(0.0, 0.05))))
        moved += int(not np.array_equal(tuner.theta, [1.0, 1.0]))
    print(f"pure noise: theta moved in {moved} of 30 runs of 300 windows")
    delays, false = [], 0
    for seed in range(runs):  # a 30 % level shift at window 100
        rng = np.random.default_rng(200 + seed)
        tuner = Tuner([1.0, 1.0], bounds, names=("a", "b"))
        for k in range(200):
            tuner.step((1.0 if k < 100 else 1.3) * float(np.exp(rng.normal(0.0, 0.03))))
        restarts = np.flatnonzero(tuner.trace_frame().event.to_numpy() == "restart")
        false += int((restarts < 100).sum())
        late = restarts[restarts >= 100]
        delays.append(int(late[0]) - 99 if len(late) else -1)
    print(f"30 % shift: detected after {sorted(delays)} windows; false alarms {false}")
    replay_synthetic(runs)


def replay_synthetic(runs: int = 20) -> None:
    """The paired-replay rule (tests/test_replay_tuner.py): a bowl whose optimum moves at window
    100 (each window: its own level, common to all candidates, lognormal sd 0.3, and its own
    optimum, scattered with sd 0.3); pure noise (theta without effect, 0.3 % candidate noise)."""
    from scheduler.replay_tuner import ReplayTuner

    bounds = np.array([[0.0, 4.0], [0.0, 4.0]])
    first, second = np.array([3.0, 1.0]), np.array([1.0, 3.0])
    settle, held = [], []
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        tuner = ReplayTuner([1.0, 3.0], bounds, names=("a", "b"))
        d = []
        for k in range(200):
            target = first if k < 100 else second
            opt = target + rng.normal(0.0, 0.3, 2)
            level = float(np.exp(rng.normal(0.0, 0.3)))
            tuner.step([level * (1 + 0.25 * np.sum((c - opt) ** 2)) for c in tuner.candidates()])
            d.append(np.linalg.norm(tuner.theta - target))
        far = np.array(d) >= 0.8
        settle.append([settling_index(far[:100]), settling_index(far[100:])])
        held.append(max(d[80:100] + d[180:]))
    s = np.array(settle)
    print(
        f"replay rule, bowl: within 0.8 of the optimum from window (start) median "
        f"{np.median(s[:, 0]):.0f} max {s[:, 0].max()}, after the move median "
        f"{np.median(s[:, 1]):.0f} max {s[:, 1].max()}; largest distance while held "
        f"{max(held):.2f}"
    )
    moved = 0
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        tuner = ReplayTuner([1.0, 1.0], bounds, names=("a", "b"))
        for _ in range(300):
            level = float(np.exp(rng.normal(0.0, 0.3)))
            tuner.step(level * np.exp(rng.normal(0.0, 0.003, len(tuner.candidates()))))
        moved += int(not np.array_equal(tuner.theta, [1.0, 1.0]))
    print(f"replay rule, pure noise: theta moved in {moved} of 30 runs of 300 windows")


def settling_index(outside: np.ndarray) -> int:
    """First index after which no entry is True."""
    bad = np.flatnonzero(outside)
    return int(bad[-1]) + 1 if len(bad) else 0
