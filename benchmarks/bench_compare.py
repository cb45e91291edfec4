"""``rtmm compare`` wall time, SDRM3's tuning sweep, and the held-out evaluation.

    python benchmarks/bench_compare.py              # time the default comparison
    python benchmarks/bench_compare.py --sweep      # theta sweep of sdrm3_static on the TUNING set
    python benchmarks/bench_compare.py --heldout --analysis maestro --out results/heldout_maestro
    python benchmarks/bench_compare.py --heldout --analysis native --out results/heldout_native
    python benchmarks/bench_compare.py --tuner-change   # tuner after a mid-run workload change

Protocol (results in ``benchmarks/RESULTS.md``, "Issue 12"): SDRM3's defaults are chosen with
``--sweep`` on the tuning systems :data:`scheduler.policies.sdrm3.TUNING_SYSTEMS` only; the
reported figures come from ``--heldout`` on :data:`HELDOUT_SYSTEMS`, disjoint from them, with the
fair mechanics of ``rtmm compare`` (same drop, placement, migration, contention for every policy),
2 ms release jitter, 10 s horizons and 3 seeds. The held-out subset is two heterogeneous systems,
one per size, different from the tuning set's dual WS+OS: a big.LITTLE pair (4K-K) and a quad
WS+OS+WS+OS (8K-M) — what fits the 2-core machine in about 10 minutes per analysis.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dse.compare import CompareConfig, default_policies, format_report, run_compare, write_outputs
from dse.compare_plots import running_mean
from dse.compare_points import DEFAULT_JITTER_MS, FAIR, cost_arrays
from hardware_db import library
from scheduler import policies, simulate
from scheduler.metrics import frames_uxcost, geomean
from scheduler.policies.sdrm3 import TUNING_SYSTEMS
from scheduler.policies.sdrm3_terms import tuner_window_ms
from workloads import scenario as scenario_lib

#: Systems the held-out evaluation reports on (never used to choose SDRM3's defaults).
HELDOUT_SYSTEMS = ("xrbench-4k-K", "xrbench-8k-M")
assert not set(HELDOUT_SYSTEMS) & set(TUNING_SYSTEMS)
HELDOUT_HORIZON_MS = 10_000.0
HELDOUT_SEEDS = (0, 1, 2)

NEIGHBOURS = {
    "defaults": {},
    "alpha=0": {"alpha": 0.0},
    "alpha=1": {"alpha": 1.0},
    "beta=0.5": {"beta": 0.5},
    "beta=2": {"beta": 2.0},
    "gamma=0": {"gamma": 0.0},
    "gamma=0.5": {"gamma": 0.5},
    "gamma=1": {"gamma": 1.0},
    "defer": {"defer": True},
}


def time_default() -> None:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dse.cli", "compare", "--quiet", "--out", out],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"rtmm compare (defaults): {time.perf_counter() - t0:.1f} s wall")


def sweep(seeds: tuple[int, ...]) -> None:
    """One-at-a-time neighbours of the default theta on the tuning systems (2 s, jitter 2 ms)."""
    print(f"tuning set: {', '.join(TUNING_SYSTEMS)}; seeds {seeds}")
    print(f"{'theta':12s} " + " ".join(f"{'ux ' + s[-4:]:>10s}" for s in TUNING_SYSTEMS))
    for label, params in NEIGHBOURS.items():
        cfg = CompareConfig(
            systems=TUNING_SYSTEMS,
            seeds=seeds,
            policies=("sdrm3_static",),
            policy_params=(("sdrm3_static", tuple(params.items())),),
        )
        runs = run_compare(cfg, progress=False).runs
        cells = []
        for s in TUNING_SYSTEMS:
            r = runs[runs["system"] == s]
            cells.append(f"{geomean(r['uxcost']):10.4g}")
        score = ", ".join(f"{runs[runs.system == s].score.mean():.3f}" for s in TUNING_SYSTEMS)
        print(f"{label:12s} " + " ".join(cells) + f"   score {score}")


def heldout(analysis: str, out: Path, jobs: int) -> None:
    policies = tuple(p for p in default_policies() if p in ("sdrm3",) or not p.startswith("sdrm3"))
    cfg = CompareConfig(
        systems=HELDOUT_SYSTEMS,
        policies=policies,
        seeds=HELDOUT_SEEDS,
        horizon_ms=HELDOUT_HORIZON_MS,
        analysis=analysis,
        jobs=jobs,
    )
    t0 = time.perf_counter()
    result = run_compare(cfg, progress=False)
    write_outputs(result, out, cfg, plots=True)
    print(format_report(result))
    print(f"held-out ({analysis}): {len(result.runs)} runs, {time.perf_counter() - t0:.0f} s wall")
    o = result.overall
    if len(o):
        red = geomean(1.0 - o["reduction_vs_best_fair"].to_numpy(float), "UXCost ratios")
        print(f"geomean over held-out systems of the UXCost ratio to best fair: {red:.4f}")
    print(f"-> {out}")


#: Workload changes at half the run: (scenario, model index, new trigger probability, what).
CHANGES = (
    ("ar_gaming", 1, 0.0, 1.0, "DE joins"),
    ("social_interaction_a", 2, 1.0, 0.0, "DR leaves"),
    ("outdoor_activity_a", 1, 0.2, 0.8, "ASR cascade p 0.2 -> 0.8"),
)
CHANGE_SYSTEM = "xrbench-4k-K"
CHANGE_HORIZON_MS = 10_000.0


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


def tuner_change(seeds: tuple[int, ...]) -> None:
    """sdrm3 (tuned) vs sdrm3_static after a workload change at half of a 10 s run."""
    system = library.get_system(CHANGE_SYSTEM)
    print(f"system {CHANGE_SYSTEM} (held out), {CHANGE_HORIZON_MS:.0f} ms, change at half")
    head = ("change", "policy", "seed", "settle_w", "settled_ux", "ux_after")
    print("{:28s} {:13s} {:>4s} {:>8s} {:>10s} {:>9s}".format(*head))
    half = CHANGE_HORIZON_MS / 2
    for name, model, p0, p1, what in CHANGES:
        scenario = scenario_lib.load(name)
        models = list(scenario.models)
        models[model] = dataclasses.replace(models[model], probability=p0)
        scenario = dataclasses.replace(scenario, models=tuple(models))
        costs = cost_arrays(scenario, system, "maestro")
        window = tuner_window_ms([1000.0 / m.fps for m in scenario.models])
        for policy_name in ("sdrm3", "sdrm3_static"):
            for seed in seeds:
                r = simulate(
                    scenario, system, policies.get(policy_name), costs=costs,
                    horizon_ms=CHANGE_HORIZON_MS, seed=seed, jitter_ms=DEFAULT_JITTER_MS,
                    offchip_contention=True, mechanics=FAIR,
                    probability_changes=((model, half, p1),),
                )  # fmt: skip
                settle, settled = settle_after_change(window_uxcosts(r.frames, window, half))
                after = frames_uxcost(r.frames[r.frames["completion_ms"] >= half])[0]
                cells = (what, policy_name, seed, settle, settled, after)
                print("{:28s} {:13s} {:4d} {:8d} {:10.4g} {:9.4g}".format(*cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="theta sweep on the tuning systems")
    ap.add_argument("--heldout", action="store_true", help="the held-out evaluation")
    ap.add_argument("--tuner-change", action="store_true", help="tuner after a workload change")
    ap.add_argument("--analysis", default="maestro", help="cost analysis (maestro or native)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds of the sweep")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="results/heldout", help="output folder of --heldout")
    args = ap.parse_args()
    if args.sweep:
        sweep(tuple(np.arange(args.seeds).tolist()))
    elif args.tuner_change:
        tuner_change(tuple(np.arange(args.seeds).tolist()))
    elif args.heldout:
        heldout(args.analysis, Path(args.out), args.jobs)
    else:
        time_default()


if __name__ == "__main__":
    main()
