"""SDRM3 development on the TUNING set only: ablation of candidate mechanisms against the baselines.

    python benchmarks/bench_sdrm3_dev.py --analysis maestro            # every variant in VARIANTS
    python benchmarks/bench_sdrm3_dev.py --analysis native --only current,slack

Runs the fair baselines once per (analysis, seeds, horizon) (cached as CSV in ``--cache``) and
``sdrm3_static`` with each variant's parameters on :data:`scheduler.policies.sdrm3.TUNING_SYSTEMS`
(five scenarios, jitter 2 ms, the fair mechanics of ``rtmm compare``), then prints per system the
geomean UXCost, the mean XRBench score and the geomean reduction against each scenario's best fair
baseline (``dse.compare_stats.overall``). The held-out systems are never touched here.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import numpy as np
import pandas as pd

from dse.compare import CompareConfig, default_policies, run_compare
from dse.compare_stats import REFERENCE, overall, scenario_comparison
from scheduler.metrics import geomean
from scheduler.policies.sdrm3 import TUNING_SYSTEMS

#: SDRM3 before issue 12b: density urgency, raw block energy, no deferral or admission.
BEFORE: dict = {
    "urgency": "density", "energy_term": "energy", "energy_slack": None, "admission": False,
    "cut_on_affinity": False, "defer": False, "defer_when_loaded": True, "defer_load": 1.0,
    "starvation": "job",
}  # fmt: skip
_LAX_DEFER = {"urgency": "laxity", "defer": True}
_AFF = {"energy_term": "affinity"}

#: Candidate changes, each relative to :data:`BEFORE` (``defaults`` = the policy's own defaults).
VARIANTS: dict[str, dict] = {
    "before": BEFORE,
    "laxity": {**BEFORE, "urgency": "laxity"},
    "affinity": {**BEFORE, **_AFF},
    "admission": {**BEFORE, "admission": True},
    "lax+admission": {**BEFORE, "urgency": "laxity", "admission": True},
    "lax+slack0.5": {**BEFORE, "urgency": "laxity", "energy_slack": 0.5},
    "lax+affinity": {**BEFORE, "urgency": "laxity", **_AFF},
    "lax+cut": {**BEFORE, "urgency": "laxity", "cut_on_affinity": True},
    "lax+defer": {**BEFORE, **_LAX_DEFER},
    "lax+defer.75": {**BEFORE, **_LAX_DEFER, "defer_margin": 0.75},
    "lax+aff+defer": {**BEFORE, **_LAX_DEFER, **_AFF},
    "lax+cut+defer.75": {**BEFORE, **_LAX_DEFER, "cut_on_affinity": True, "defer_margin": 0.75},
    **{
        f"lax{aff}+defer/ol{load:g}": {
            **BEFORE,
            **_LAX_DEFER,
            **(_AFF if aff else {}),
            "defer_when_loaded": False,
            "defer_load": load,
        }
        for aff in ("", "+aff")
        for load in (1.0, 0.75, 0.5)
    },
    "lax+defer/ol0.5+ms": {
        **BEFORE,
        **_LAX_DEFER,
        "defer_when_loaded": False,
        "defer_load": 0.5,
        "starvation": "model",
    },
    "defaults": {},
}


def baseline_runs(analysis: str, seeds: tuple[int, ...], horizon_ms: float, cache: Path):
    path = cache / f"baselines_{analysis}_{len(seeds)}_{horizon_ms:g}.csv"
    if path.exists():
        return pd.read_csv(path, keep_default_na=False)
    base = tuple(p for p in default_policies() if not p.startswith("sdrm3"))
    cfg = CompareConfig(
        systems=TUNING_SYSTEMS, policies=base, seeds=seeds, horizon_ms=horizon_ms,
        analysis=analysis, jobs=2,
    )  # fmt: skip
    runs = run_compare(cfg, progress=False).runs
    cache.mkdir(parents=True, exist_ok=True)
    runs.to_csv(path, index=False)
    return pd.read_csv(path, keep_default_na=False)


def variant_runs(params: dict, analysis: str, seeds: tuple[int, ...], horizon_ms: float):
    cfg = CompareConfig(
        systems=TUNING_SYSTEMS, policies=("sdrm3_static",), seeds=seeds, horizon_ms=horizon_ms,
        analysis=analysis, jobs=2, policy_params=(("sdrm3_static", tuple(params.items())),),
    )  # fmt: skip
    runs = run_compare(cfg, progress=False).runs
    runs["policy"] = REFERENCE
    return runs


def report(label: str, runs: pd.DataFrame, base: pd.DataFrame, verbose: bool) -> str:
    both = pd.concat([base, runs], ignore_index=True)
    o = overall(both).set_index("system")
    cells = []
    for s in TUNING_SYSTEMS:
        r = runs[runs["system"] == s]
        red = float(o.loc[s, "reduction_vs_best_fair"])
        starved = o.loc[s, "starved_only_under_sdrm3"] or "-"
        cells.append(
            f"{geomean(r['uxcost']):8.4g} {r['score'].mean():6.3f} {100 * red:+6.1f}% "
            f"(base score {o.loc[s, 'score_best_baselines']:.3f}, drop {r['drop_rate'].mean():.3f},"
            f" starved {starved})"
        )
    line = f"{label:16s} " + " | ".join(cells)
    if verbose:
        comp = scenario_comparison(both)
        cols = ["system", "scenario", "best_baseline", "uxcost_sdrm3", "uxcost_baseline",
                "reduction", "score_sdrm3", "score_baseline", "drop_sdrm3", "drop_baseline",
                "starved_sdrm3", "starved_baseline"]  # fmt: skip
        line += "\n" + comp[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analysis", default="maestro")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--horizon-ms", type=float, default=2000.0)
    ap.add_argument("--only", default="", help="comma-separated variant names")
    ap.add_argument("--set", action="append", default=[], help="extra variant NAME:k=v,k=v")
    ap.add_argument("--cache", default="/tmp/i12b/dev")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    seeds = tuple(np.arange(args.seeds).tolist())
    variants = dict(VARIANTS)
    for spec in args.set:
        name, _, kv = spec.partition(":")
        params = {}
        for item in filter(None, kv.split(",")):
            k, _, v = item.partition("=")
            params[k] = {"True": True, "False": False}.get(v, v)
            with contextlib.suppress(ValueError):
                params[k] = float(v)
        variants[name] = params
    chosen = args.only.split(",") if args.only else list(variants)
    base = baseline_runs(args.analysis, seeds, args.horizon_ms, Path(args.cache))
    best = base.groupby(["system", "policy"])["uxcost"].apply(lambda s: geomean(s))
    print(f"tuning set {TUNING_SYSTEMS}, {args.analysis}, seeds {seeds}, {args.horizon_ms:g} ms")
    for s in TUNING_SYSTEMS:
        top = best[s].sort_values().head(3)
        print(f"  {s} best single baselines: " + ", ".join(f"{p} {v:.4g}" for p, v in top.items()))
    print(f"{'variant':16s} " + " | ".join(f"{'ux ' + s[-4:]:>8s} {'score':>6s} {'vs best':>7s}"
                                          for s in TUNING_SYSTEMS))  # fmt: skip
    for name in chosen:
        runs = variant_runs(variants[name], args.analysis, seeds, args.horizon_ms)
        print(report(name, runs, base, args.verbose), flush=True)


if __name__ == "__main__":
    main()
