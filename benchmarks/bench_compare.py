"""``rtmm compare`` wall time, SDRM3's tuning sweep, and the held-out evaluation.

    python benchmarks/bench_compare.py              # time the default comparison
    python benchmarks/bench_compare.py --sweep      # theta sweep of sdrm3_static on the TUNING set
    python benchmarks/bench_compare.py --heldout --analysis maestro --out results/heldout_maestro
    python benchmarks/bench_compare.py --heldout --analysis native --out results/heldout_native
    python benchmarks/bench_compare.py --tuner-synthetic  # tuner on the tests' objectives
    python benchmarks/bench_compare.py --tuner-grid     # tuner options on the TUNING set's changes
    python benchmarks/bench_compare.py --tuner-grid --method replay   # the paired-replay tuner's
    python benchmarks/bench_compare.py --tuner-change   # tuner after a change, held-out systems

Protocol (results in ``benchmarks/RESULTS.md``, "Issue 12"): SDRM3's defaults are chosen with
``--sweep`` on the tuning systems :data:`scheduler.policies.sdrm3.TUNING_SYSTEMS` only; the
reported figures come from ``--heldout`` on :data:`HELDOUT_SYSTEMS`, disjoint from them, with the
fair mechanics of ``rtmm compare`` (same drop, placement, migration, contention for every policy),
2 ms release jitter, 10 s horizons and 3 seeds. The held-out subset is two heterogeneous systems,
one per size, whose families (K, M) are not in the tuning set: a big.LITTLE pair (4K-K) and a quad
WS+OS+WS+OS (8K-M) — what fits the 2-core machine in about 10 minutes per analysis.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_sdrm3_dev import parse_options
from tuner_change import CHANGE_SYSTEMS, tuner_change, tuner_grid, tuner_synthetic

from dse.compare import CompareConfig, default_policies, format_report, run_compare, write_outputs
from scheduler.metrics import geomean
from scheduler.policies.sdrm3 import TUNING_SYSTEMS

#: Systems the held-out evaluation reports on (never used to choose SDRM3's defaults).
HELDOUT_SYSTEMS = ("xrbench-4k-K", "xrbench-8k-M")
assert not set(HELDOUT_SYSTEMS) & set(TUNING_SYSTEMS)
assert CHANGE_SYSTEMS == HELDOUT_SYSTEMS  # the tuner's changes are reported on the same
# whole families are held out: no size of a held-out system's family is in the tuning set
assert not {s.rsplit("-", 1)[-1] for s in HELDOUT_SYSTEMS} & {
    s.rsplit("-", 1)[-1] for s in TUNING_SYSTEMS
}
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


def heldout(analysis: str, out: Path, jobs: int, mechanics: dict | None = None) -> None:
    """The held-out comparison; ``mechanics``: FrameMechanics options for every policy on top of
    compare's fair mechanics (a sensitivity check, labelled in the output)."""
    policies = tuple(p for p in default_policies() if p in ("sdrm3",) or not p.startswith("sdrm3"))
    cfg = CompareConfig(
        systems=HELDOUT_SYSTEMS,
        policies=policies,
        seeds=HELDOUT_SEEDS,
        horizon_ms=HELDOUT_HORIZON_MS,
        analysis=analysis,
        jobs=jobs,
        mechanics_overrides=tuple(sorted((mechanics or {}).items())),
    )
    t0 = time.perf_counter()
    result = run_compare(cfg, progress=False)
    write_outputs(result, out, cfg, plots=True)
    print(format_report(result))
    label = ", ".join(f"{k}={v}" for k, v in cfg.mechanics_overrides) or "fair"
    wall_s = time.perf_counter() - t0
    print(f"held-out ({analysis}, mechanics {label}): {len(result.runs)} runs, {wall_s:.0f} s wall")
    o = result.overall
    if len(o):
        red = geomean(1.0 - o["reduction_vs_best_fair"].to_numpy(float), "UXCost ratios")
        print(f"geomean over held-out systems of the UXCost ratio to best fair: {red:.4f}")
    print(f"-> {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="theta sweep on the tuning systems")
    ap.add_argument("--heldout", action="store_true", help="the held-out evaluation")
    ap.add_argument("--tuner-change", action="store_true", help="tuner after a workload change")
    ap.add_argument("--tuner-synthetic", action="store_true", help="tuner on synthetic objectives")
    ap.add_argument("--tuner-grid", action="store_true", help="tuner options on the tuning set")
    ap.add_argument("--systems", default="", help="comma-separated systems of --tuner-change")
    ap.add_argument("--tuner-options", default="{}", help="JSON Tuner options of --tuner-change")
    ap.add_argument("--method", default="evidence", help="tuner of --tuner-grid: evidence, replay")
    ap.add_argument("--analysis", default="maestro", help="cost analysis (maestro or native)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds of the sweep")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="results/heldout", help="output folder of --heldout")
    ap.add_argument(
        "--mechanics", default="",
        help="FrameMechanics options for every policy of --heldout, e.g. contention_placement=True",
    )  # fmt: skip
    args = ap.parse_args()
    if args.sweep:
        sweep(tuple(np.arange(args.seeds).tolist()))
    elif args.tuner_synthetic:
        tuner_synthetic()
    elif args.tuner_grid:
        tuner_grid(tuple(np.arange(args.seeds).tolist()), args.method)
    elif args.tuner_change:
        systems = tuple(args.systems.split(",")) if args.systems else CHANGE_SYSTEMS
        tuner_change(tuple(np.arange(args.seeds).tolist()), systems, json.loads(args.tuner_options))
    elif args.heldout:
        heldout(args.analysis, Path(args.out), args.jobs, parse_options(args.mechanics))
    else:
        time_default()


if __name__ == "__main__":
    main()
