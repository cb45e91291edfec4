"""Design-space sweep throughput and memory: 1,000 and 4,000 XRBench-compatible points.

    python benchmarks/bench_dse.py [--workers 2] [--sizes 1000 4000] [--keep DIR]

Each size runs in a fresh subprocess (``--run N``) as a real sweep: a random sample of N points of a
space of 6 hardware configurations (PE split x dataflow of the second accelerator of style J) x the
7 XRBench scenarios x 2 policies x 100 seeds, on a local process pool, committed to a SQLite store.
The subprocess reports its wall time and peak resident memory: its own (``RUSAGE_SELF``, the parent
that writes the store) and its largest worker (``RUSAGE_CHILDREN``, after the pool is shut down).

Targets (issue 7): 1,000 points in < 60 s on 2 cores; peak memory flat from 1,000 to 4,000 points
(within 15 %). Costs come from ``costmodel.table.system_cost_table`` when installed, otherwise from
a MAC-proportional stand-in (same table shape; the sweep machinery and the simulator are measured,
not the cost model). Prints one line per size and a verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = [
    "social_interaction_a",
    "social_interaction_b",
    "outdoor_activity_a",
    "outdoor_activity_b",
    "ar_assistant",
    "ar_gaming",
    "vr_gaming",
]


def spec_data(n: int) -> dict:
    return {
        "name": f"bench-{n}",
        "base_system": "xrbench-4k-J",
        "axes": {"pe_split": [0.25, 0.5, 0.75], "accelerators[1].dataflow": ["OS", "RS"]},
        "scenarios": SCENARIOS,
        "policies": ["latency_greedy", "edp_greedy"],
        "modes": "xrbench",
        "seeds": {"start": 0, "stop": 99, "step": 1},
        "sample": {"method": "random", "n": n, "seed": 0},
    }


def install_stand_in_costs() -> str:
    """Use the real cost model when present, else a MAC-proportional stand-in table."""
    try:
        import costmodel.table  # noqa: F401

        return "maestro"
    except ImportError:
        pass
    import types

    import numpy as np
    import pandas as pd

    import costmodel

    def system_cost_table(models, system, analysis="maestro"):
        rows = []
        for model in models:
            macs = np.array([max(1, abs(layer.macs)) for layer in model.layers], float)
            for a, acc in enumerate(system.accelerators):
                speed = acc.num_pes * (0.6 if acc.dataflow.name == "WS" else 0.4)
                lat = np.ceil(macs / speed).astype(np.int64) + 100
                for i, (m, c) in enumerate(zip(macs, lat, strict=True)):
                    rows.append((model.name, i, f"l{i}", a, acc.name, int(c), m * 0.00288 * 3))
        cols = ["model", "layer_idx", "layer", "accelerator", "accelerator_name",
                "latency_cycles", "energy_nj"]  # fmt: skip
        return pd.DataFrame(rows, columns=cols)

    module = types.ModuleType("costmodel.table")
    module.system_cost_table = system_cost_table
    sys.modules["costmodel.table"] = module
    costmodel.table = module
    return "stand-in"


def run_one(n: int, workers: int, store: Path) -> dict:
    """Run one sweep in this process; return timings and peak memory."""
    costs = install_stand_in_costs()
    from dse.executors import LocalExecutor
    from dse.runner import run_sweep
    from dse.sweep import parse_spec

    spec = parse_spec(spec_data(n), source=f"<bench {n}>")
    t0 = time.perf_counter()
    with LocalExecutor(workers) as ex:
        report = run_sweep(spec, store, executor=ex, progress=False)
    wall = time.perf_counter() - t0
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before reading results
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    import dse

    frame = dse.load(store)
    return {
        "points": n,
        "computed": report.computed,
        "errors": report.errors,
        "ok_rows": int((frame["status"] == "ok").sum()),
        "wall_s": wall,
        "parent_maxrss_mib": parent,
        "worker_maxrss_mib": worker,
        "store_mib": store.stat().st_size / 2**20,
        "costs": costs,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--keep", type=Path, default=None, help="keep the stores in this folder")
    ap.add_argument("--run", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--store", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run is not None:
        print(json.dumps(run_one(args.run, args.workers, args.store)))
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in args.sizes:
            store = folder / f"bench_{n}.sqlite"
            store.unlink(missing_ok=True)
            cmd = [sys.executable, __file__, "--run", str(n), "--workers", str(args.workers),
                   "--store", str(store)]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(
                f"{r['points']:5d} points  {r['wall_s']:6.1f} s wall  "
                f"{r['points'] / r['wall_s']:6.1f} pt/s  "
                f"parent peak {r['parent_maxrss_mib']:6.0f} MiB"
                f"  worker peak {r['worker_maxrss_mib']:6.0f} MiB  store {r['store_mib']:5.1f} MiB"
                f"  ({r['ok_rows']} ok, {r['errors']} errors, {r['costs']} costs,"
                f" {args.workers} workers)"
            )
    small, large = results[0], results[-1]
    fast = small["points"] > 1000 or small["wall_s"] < 60.0
    peak = lambda r: r["parent_maxrss_mib"] + args.workers * r["worker_maxrss_mib"]  # noqa: E731
    flat = peak(large) <= 1.15 * peak(small)
    print(
        f"1,000-point sweep under 60 s: {'PASS' if fast else 'FAIL'}; "
        f"peak memory {peak(small):.0f} -> {peak(large):.0f} MiB "
        f"(parent + {args.workers} x worker): {'PASS' if flat else 'FAIL'} (flat within 15 %)"
    )
    return 0 if fast and flat else 1


if __name__ == "__main__":
    sys.exit(main())
