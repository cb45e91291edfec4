"""Scheduler speed: XRBench-compatible 700 ms runs and native layer-block runs.

    python benchmarks/bench_scheduler.py [--system xrbench-4k-M] [--repeat 20]

Targets (issue 5): an XRBench-compatible 700 ms run of any scenario < 20 ms once the cost arrays are
cached; a native layer-block run of ar_assistant simulates >= 20 s of workload per wall-clock
second, for every policy (the research baselines and SDRM3 included), with and without the off-chip
contention ``rtmm compare`` turns on. Native speeds are also given per CPU second (the machine may
be shared; the load average is printed). Cost tables come from ``costmodel.table.system_cost_table``
(maestro) when it is available, otherwise from a MAC-proportional stand-in built from the zoo (same
shapes, same event counts; the timing of the engine, not the cost model, is what is measured).
Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from hardware_db import library
from scheduler import simulate
from scheduler.simulate import build_costs
from workloads import scenario as scenario_lib
from workloads import zoo


def stand_in_table(model_ids, system) -> pd.DataFrame:
    rows = []
    for model_id in model_ids:
        macs = np.array([max(1, abs(layer.macs)) for layer in zoo.load(model_id).layers], float)
        for a, acc in enumerate(system.accelerators):
            speed = acc.num_pes * (0.6 if acc.dataflow.name == "WS" else 0.4)
            for i, m in enumerate(macs):
                rows.append((model_id, i, a, int(np.ceil(m / speed)) + 100, m * 0.00288 * 3))
    cols = ["model", "layer_idx", "accelerator", "latency_cycles", "energy_nj"]
    return pd.DataFrame(rows, columns=cols)


def arrays_for(scenario, system, analysis: str = "maestro"):
    try:
        return build_costs(scenario, system, None, analysis=analysis), analysis
    except ImportError:
        ids = [m.model_id for m in scenario.models]
        return build_costs(scenario, system, stand_in_table(ids, system)), "stand-in"


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--system", default="xrbench-4k-M")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--native-horizon-ms", type=float, default=20_000.0)
    args = ap.parse_args()
    system = library.get_system(args.system)
    for name in scenario_lib.names():
        sc = scenario_lib.load(name)
        costs, kind = arrays_for(sc, system)
        t = best_of(
            lambda sc=sc, c=costs: simulate(sc, system, costs=c, xrbench_compatible=True),
            args.repeat,
        )
        print(f"xrbench  {name:22s} {args.system}  700 ms  {t * 1e3:7.2f} ms wall  ({kind} costs)")
    sc = scenario_lib.load("ar_assistant")
    horizon = args.native_horizon_ms
    print(f"load average {os.getloadavg()[0]:.2f}")
    policies = ("edf", "round_robin", "fcfs", "latency_greedy")
    research = ("prema", "veltair", "planaria", "herald", "sdrm3", "sdrm3_static")
    runs = [("maestro", p, False) for p in policies + research]
    runs += [(a, p, True) for a in ("maestro", "native") for p in ("edf", *research)]
    tables = {a: arrays_for(sc, system, a) for a in ("maestro", "native")}
    for analysis, policy, contention in runs:
        costs, kind = tables[analysis]
        kw = dict(costs=costs, horizon_ms=horizon, offchip_contention=contention)
        simulate(sc, system, policy, **{**kw, "horizon_ms": 500.0})  # warm-up (imports, caches)
        cpu = time.process_time()
        t0 = time.perf_counter()
        r = simulate(sc, system, policy, **kw)
        t, cpu = time.perf_counter() - t0, time.process_time() - cpu
        label = policy + (" +contention" if contention else "")
        print(
            f"native   ar_assistant {label:25s} {horizon / 1e3:.0f} s simulated in {t:6.2f} s wall"
            f" = {horizon / 1e3 / t:6.1f} s/s wall, {horizon / 1e3 / cpu:6.1f} s/s CPU,"
            f" {len(r.timeline)} blocks  ({kind} costs)"
        )


if __name__ == "__main__":
    main()
