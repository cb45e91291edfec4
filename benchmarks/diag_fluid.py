"""Dispatch-time vs progressive ("fluid") off-chip sharing, every policy, TUNING set only.

    python benchmarks/diag_fluid.py --analysis native --out /tmp/fluid_native.csv
    python benchmarks/diag_fluid.py --analysis maestro --systems xrbench-4k-J --seeds 1

A diagnostic of the engine option ``offchip_sharing="fluid"`` (:mod:`scheduler.fluid`), not an
adoption run. Each (system, scenario, seed, policy) point runs as ``rtmm compare`` runs it (fair
mechanics, off-chip contention, 2 ms release jitter, 2 s, Planaria on the split system) twice:
with the engine's default dispatch-time sharing and with fluid sharing. Prints per policy and
sharing rule: mean XRBench score, geomean UXCost, mean miss (late) and drop rates, starved
(model, point) cells, the paired geomean UXCost ratio fluid / dispatch, and the engine's speed
(simulated seconds per CPU second, ``time.process_time``, with the load average).

``--speed``: instead, the engine's speed on ar_assistant (bench_scheduler-like: a 500 ms warm-up,
then one 20 s run per policy, analysis and sharing rule, contention on, CPU time).

``--late POLICY``: instead, for POLICY's fluid runs, how many blocks took longer than at the share
of their dispatch instant (plus a possible migration: an upper estimate of the dispatch rule's
time), and how many late frames had such a block.

The held-out families (K, M) are refused.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from dse.compare_points import DEFAULT_JITTER_MS, DEFAULT_SCENARIOS, FAIR, FISSION_POLICIES
from dse.compare_points import cost_arrays as compare_costs
from hardware_db import library
from scheduler import policies, simulate
from scheduler.fission import fission_system
from scheduler.metrics import geomean
from workloads import scenario as scenario_lib

HELDOUT_FAMILIES = ("K", "M")
DEFAULT_DIAG_SYSTEMS = ("xrbench-4k-J", "xrbench-8k-J", "xrbench-4k-L", "xrbench-8k-L")
SHARINGS = ("dispatch", "fluid")


def run_point(system_name: str, scenario_name: str, policy: str, seed: int, analysis: str,
              horizon_ms: float, sharing: str) -> dict:  # fmt: skip
    """One compare-style run under ``sharing``; its metrics and CPU time."""
    scenario = scenario_lib.load(scenario_name)
    system = library.get_system(system_name)
    partition = None
    if policy in FISSION_POLICIES:
        system, partition = fission_system(system)
    costs = compare_costs(scenario, system, analysis)  # outside the timed section
    t0 = time.process_time()
    result = simulate(
        scenario, system, policies.get(policy), costs=costs, horizon_ms=horizon_ms, seed=seed,
        jitter_ms=DEFAULT_JITTER_MS, offchip_contention=True, mechanics=replace(FAIR),
        partition=partition, offchip_sharing=sharing,
    )  # fmt: skip
    cpu_s = time.process_time() - t0
    summary = result.summary()
    s = summary.iloc[-1]
    starved = int(((summary["model"] != "") & (summary["starved"] > 0)).sum())
    return {
        "system": system_name, "scenario": scenario_name, "policy": policy, "seed": seed,
        "sharing": sharing, "uxcost": float(s["uxcost"]), "score": float(s["score"]),
        "miss_rate": float(s["miss_rate"]), "drop_rate": float(s["drop_rate"]),
        "starved": starved, "cpu_s": cpu_s,
    }  # fmt: skip


def table(runs: pd.DataFrame, horizon_ms: float) -> pd.DataFrame:
    """Per policy: each sharing rule's aggregates and the paired UXCost ratio."""
    keys = ["system", "scenario", "policy", "seed"]
    d, f = (runs[runs["sharing"] == s].set_index(keys) for s in SHARINGS)
    rows = []
    for policy in dict.fromkeys(runs["policy"]):
        row: dict = {"policy": policy}
        for name, side in (("disp", d), ("fluid", f)):
            g = side.xs(policy, level="policy")
            row[f"score_{name}"] = g["score"].mean()
            row[f"ux_{name}"] = geomean(g["uxcost"], f"UXCost {policy} {name}")
            row[f"miss_{name}"] = g["miss_rate"].mean()
            row[f"drop_{name}"] = g["drop_rate"].mean()
            row[f"starved_{name}"] = int(g["starved"].sum())
            row[f"s/cpu_{name}"] = len(g) * horizon_ms / 1e3 / g["cpu_s"].sum()
        ratio = f.xs(policy, level="policy")["uxcost"] / d.xs(policy, level="policy")["uxcost"]
        row["ux_f/d"] = geomean(ratio, f"UXCost ratio {policy}")
        rows.append(row)
    return pd.DataFrame(rows)


def speed(system_name: str, horizon_ms: float) -> None:
    """Simulated seconds per CPU second under each sharing rule (module docstring)."""
    scenario = scenario_lib.load("ar_assistant")
    system = library.get_system(system_name)
    print(f"speed, ar_assistant on {system_name}, {horizon_ms / 1e3:g} s, contention on; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    for analysis in ("native", "maestro"):
        costs = compare_costs(scenario, system, analysis)
        for policy in ("edf", "veltair", "herald", "sdrm3_static", "sdrm3"):
            line = f"{analysis:8s} {policy:13s}"
            for sharing in SHARINGS:
                kw = dict(costs=costs, offchip_contention=True, offchip_sharing=sharing,
                          mechanics=replace(FAIR), jitter_ms=DEFAULT_JITTER_MS)  # fmt: skip
                simulate(scenario, system, policy, horizon_ms=500.0, **kw)  # warm-up
                t0 = time.process_time()
                r = simulate(scenario, system, policy, horizon_ms=horizon_ms, **kw)
                cpu_s = time.process_time() - t0
                rate = horizon_ms / 1e3 / cpu_s
                line += f"  {sharing} {rate:6.1f} s/s CPU ({len(r.timeline)} blocks)"
            print(line)


def slowed_blocks(timeline: pd.DataFrame, costs, ids: list[str], bw: float) -> np.ndarray:
    """Per block: took longer than at the share of its dispatch instant (``--late``)."""
    d, e = timeline["dispatch_ms"].to_numpy(), timeline["completion_ms"].to_numpy()
    acc = timeline["accelerator"].to_numpy()
    out = np.zeros(len(timeline), dtype=bool)
    for i, row in enumerate(timeline.itertuples()):
        other = acc != row.accelerator
        before = (d < row.dispatch_ms) | ((d == row.dispatch_ms) & (np.arange(len(d)) < i))
        k = 1 + int((other & before & (e > row.dispatch_ms)).sum())
        v = costs.models[ids.index(row.model)].full
        a, mpc = row.accelerator, 1e3 / costs.clock_hz[row.accelerator]
        est = v.contended_latency_cycles(row.first_layer, row.n_layers, k / bw)[a] * mpc
        if row.block > 0 and v.input_words is not None:  # a migration may precede it
            est += v.input_words[row.first_layer] / bw * mpc
        out[i] = row.completion_ms - row.dispatch_ms > est + 1e-6
    return out


def late_cause(policy: str, systems, scenarios, seeds: int, analysis: str) -> None:
    """``--late`` (module docstring)."""
    blocks = slowed = late = late_slowed = 0
    for sy_name in systems:
        system = library.get_system(sy_name)
        for sc_name in scenarios:
            scenario = scenario_lib.load(sc_name)
            costs = compare_costs(scenario, system, analysis)
            ids = [m.model_id for m in scenario.models]
            for seed in range(seeds):
                r = simulate(scenario, system, policy, costs=costs, horizon_ms=2000.0, seed=seed,
                             jitter_ms=DEFAULT_JITTER_MS, offchip_contention=True,
                             mechanics=replace(FAIR), offchip_sharing="fluid")  # fmt: skip
                tl = r.timeline.assign(
                    slowed=slowed_blocks(r.timeline, costs, ids, system.offchip_bw_words_per_cycle)
                )
                blocks, slowed = blocks + len(tl), slowed + int(tl["slowed"].sum())
                hit = tl.groupby(["model", "frame"])["slowed"].any()
                for f in r.frames[r.frames["status"] == "late"].itertuples():
                    late += 1
                    late_slowed += bool(hit.get((f.model, f.frame), False))
    print(f"{analysis} {policy} fluid: {slowed} of {blocks} blocks slowed after dispatch; "
          f"{late} late frames, {late_slowed} of them with a slowed block")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analysis", default="native", choices=("native", "maestro"))
    ap.add_argument("--systems", default=",".join(DEFAULT_DIAG_SYSTEMS))
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--horizon-ms", type=float, default=2000.0)
    ap.add_argument("--policies", default=None, help="comma list (default: baselines + sdrm3)")
    ap.add_argument("--out", default=None, help="CSV of every run (read back if it exists)")
    ap.add_argument("--speed", action="store_true", help="measure the engine's speed instead")
    ap.add_argument("--late", default=None, help="a policy: why its fluid runs have late frames")
    args = ap.parse_args()
    systems = args.systems.split(",")
    bad = [s for s in systems if s.rsplit("-", 1)[-1] in HELDOUT_FAMILIES]
    if bad:
        raise SystemExit(f"held-out families are never run here: {bad}")
    if args.speed:
        speed(systems[0], 20_000.0)
        return
    if args.late:
        late_cause(args.late, systems, args.scenarios.split(","), args.seeds, args.analysis)
        return
    names = policies.names()
    chosen = args.policies.split(",") if args.policies else [
        n for n in names if not n.startswith("sdrm3")] + ["sdrm3_static", "sdrm3"]  # fmt: skip
    out = Path(args.out) if args.out else None
    if out is not None and out.exists():
        runs = pd.read_csv(out)
    else:
        rows = [
            run_point(sy, sc, p, seed, args.analysis, args.horizon_ms, sh)
            for sy in systems
            for sc in args.scenarios.split(",")
            for seed in range(args.seeds)
            for p in chosen
            for sh in SHARINGS
        ]
        runs = pd.DataFrame(rows)
        if out is not None:
            runs.to_csv(out, index=False)
    load = os.getloadavg()
    print(f"{args.analysis}, systems {systems}, {args.seeds} seeds, {args.horizon_ms:g} ms, "
          f"{len(runs)} runs; load average {load[0]:.2f} {load[1]:.2f}")  # fmt: skip
    t = table(runs, args.horizon_ms)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(t.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    d, f = (runs[runs["sharing"] == s] for s in SHARINGS)
    print(
        f"all policies: score {d['score'].mean():.4f} -> {f['score'].mean():.4f}, "
        f"miss {d['miss_rate'].mean():.4f} -> {f['miss_rate'].mean():.4f}, "
        f"drop {d['drop_rate'].mean():.4f} -> {f['drop_rate'].mean():.4f}, "
        f"starved {int(d['starved'].sum())} -> {int(f['starved'].sum())}, "
        f"UXCost fluid/dispatch geomean {float(np.exp(np.log(t['ux_f/d']).mean())):.4f} "
        f"(per-policy geomeans' geomean), CPU {d['cpu_s'].sum():.1f} s -> {f['cpu_s'].sum():.1f} s"
    )


if __name__ == "__main__":
    main()
