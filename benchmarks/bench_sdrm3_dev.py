"""SDRM3 development on the TUNING set only: ablation of candidate mechanisms against the baselines.

    python benchmarks/bench_sdrm3_dev.py --analysis maestro            # every variant in VARIANTS
    python benchmarks/bench_sdrm3_dev.py --analysis native --only defaults,eft -v

Runs the fair baselines once per (system, analysis, seeds, horizon) (cached as CSV in ``--cache``)
and ``sdrm3_static`` with each variant's parameters (its runs cached too) on
:data:`scheduler.policies.sdrm3.TUNING_SYSTEMS` (five scenarios, jitter 2 ms, the fair mechanics of
``rtmm compare``), then prints per variant:

- ``rule``: the geomean over every (system, scenario, seed) of SDRM3's UXCost over its scenario's
  best fair baseline (lower is better; 1 - rule is the overall reduction);
- ``vs edf``: the same ratio against fair EDF, per scenario (the no-regression reference);
- per system the geomean reduction against each scenario's best fair baseline
  (``dse.compare_stats.overall``), cells whose mean score is below the best baselines' and models
  starved only under SDRM3.

The held-out families (K and M, both sizes) are refused: they are never touched here.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from dse.compare import CompareConfig, default_policies, run_compare
from dse.compare_stats import REFERENCE, overall, scenario_comparison
from scheduler.metrics import geomean
from scheduler.policies.sdrm3 import TUNING_SYSTEMS

#: Families held out whole (``benchmarks/bench_compare.py``'s HELDOUT_SYSTEMS are two of them).
HELDOUT_FAMILIES = ("K", "M")

#: SDRM3's defaults of issue 12b (laxity urgency, affinity term, queue- and load-aware deferral).
DEFAULTS_12B: dict = {
    "urgency": "laxity", "energy_term": "affinity", "defer": True, "defer_margin": 0.5,
    "defer_when_loaded": False, "defer_load": 0.75, "affinity_load": False, "protect": False,
    "protect_pending": False, "guard": None, "guard_mode": "first", "lax_wait": None,
    "contention_hold": False,
}  # fmt: skip

#: Candidate changes, each relative to :data:`DEFAULTS_12B` (``defaults`` = the policy's own).
VARIANTS: dict[str, dict] = {
    "12b": DEFAULTS_12B,
    "energy": {**DEFAULTS_12B, "energy_term": "energy"},
    "finish": {**DEFAULTS_12B, "energy_term": "finish"},
    "finish-defer": {**DEFAULTS_12B, "energy_term": "finish", "defer": False},
    **{
        f"{term}/load{m:g}": {**DEFAULTS_12B, "energy_term": term, "affinity_load": True,
                              "affinity_margin": m}
        for term in ("aff", "energy")
        for m in (0.0, 0.25, 0.5)
    },
    "protect": {**DEFAULTS_12B, "protect": True},
    "home": {**DEFAULTS_12B, "energy_term": "home"},
    "home/expected": {**DEFAULTS_12B, "energy_term": "home", "home_load": "expected"},
    "home+protect": {**DEFAULTS_12B, "energy_term": "home", "protect": True},
    "home+load0.5": {**DEFAULTS_12B, "energy_term": "home", "affinity_load": True},
    "finish+protect": {**DEFAULTS_12B, "energy_term": "finish", "protect": True},
    "commit": {**DEFAULTS_12B, "commit": True},
    "protect+commit": {**DEFAULTS_12B, "protect": True, "commit": True},
    "finish+protect+commit": {**DEFAULTS_12B, "energy_term": "finish", "protect": True,
                              "commit": True},
    "energy+protect": {**DEFAULTS_12B, "energy_term": "energy", "protect": True},
    "aff/load0.5+protect": {**DEFAULTS_12B, "affinity_load": True, "protect": True},
    "defaults": {},
    # issue 12e, relative to the defaults of 12c (DEFAULTS_12B + protect): the starvation guard,
    # protection of frames whose release is pending under jitter
    "pending": {**DEFAULTS_12B, "protect": True, "protect_pending": True},
    **{
        f"guard{n}": {**DEFAULTS_12B, "protect": True, "guard": n} for n in (2, 4, 8)
    },
    **{
        f"energy+protect+guard{n}": {**DEFAULTS_12B, "energy_term": "energy", "protect": True,
                                     "guard": n}
        for n in (2, 4, 8)
    },
    "energy+protect+pending": {**DEFAULTS_12B, "energy_term": "energy", "protect": True,
                               "protect_pending": True},
    **{
        f"energy+protect+pending+guard{n}": {**DEFAULTS_12B, "energy_term": "energy",
                                             "protect": True, "protect_pending": True, "guard": n}
        for n in (2, 4, 8)
    },
    "pending+guard4": {**DEFAULTS_12B, "protect": True, "protect_pending": True, "guard": 4},
    # issue 12h, relative to the defaults of 12e (which had the hold off): the contention hold
    "hold": {"contention_hold": True, "guard_mode": "first", "lax_wait": None},
    # the defaults of 12e (commit 8a8b899), for the record
    "defaults-12e": {"contention_hold": False, "guard_mode": "first", "lax_wait": None},
}  # fmt: skip
for _v in VARIANTS.values():
    if _v.get("energy_term") == "aff":
        _v["energy_term"] = "affinity"


def _check_systems(systems: tuple[str, ...]) -> None:
    bad = [s for s in systems if s.rsplit("-", 1)[-1] in HELDOUT_FAMILIES]
    if bad:
        raise SystemExit(f"held-out families are never run here: {bad}")


def _runs(cfg: CompareConfig, path: Path) -> pd.DataFrame:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        run_compare(cfg, progress=False).runs.to_csv(path, index=False)
    return pd.read_csv(path, keep_default_na=False)


def _tag(mechanics: tuple) -> str:
    """Cache-file suffix of the mechanics' overrides (none for compare's fair mechanics)."""
    return "".join(f"_{k}={v}" for k, v in mechanics)


def baseline_runs(systems, analysis: str, seeds, horizon_ms: float, cache: Path,
                  mechanics: tuple = ()) -> pd.DataFrame:  # fmt: skip
    """The fair baselines' runs (every registered non-SDRM3 policy), one cached CSV per system.

    The file name carries a digest of the baselines' names, so a cache written before a baseline
    was added is not read as if it held that baseline's runs."""
    base = tuple(p for p in default_policies() if not p.startswith("sdrm3"))
    names = hashlib.sha1(repr(base).encode()).hexdigest()[:8]
    frames = []
    for s in systems:
        cfg = CompareConfig(
            systems=(s,), policies=base, seeds=seeds, horizon_ms=horizon_ms, analysis=analysis,
            jobs=2, mechanics_overrides=mechanics,
        )  # fmt: skip
        name = f"base_{s}_{analysis}_{len(seeds)}_{horizon_ms:g}{_tag(mechanics)}_p{names}.csv"
        frames.append(_runs(cfg, cache / name))
    return pd.concat(frames, ignore_index=True)


def variant_runs(name: str, params: dict, systems, analysis: str, seeds, horizon_ms: float,
                 cache: Path, mechanics: tuple = ()) -> pd.DataFrame:  # fmt: skip
    """``sdrm3_static`` with ``params`` (labelled as the reference policy), cached per variant.

    The cache key is the variant's name and a digest of its options (two variants of one name
    with different options never share a file); delete the cache after changing SDRM3's code.
    """
    cfg = CompareConfig(
        systems=tuple(systems), policies=("sdrm3_static",), seeds=seeds, horizon_ms=horizon_ms,
        analysis=analysis, jobs=2, policy_params=(("sdrm3_static", tuple(params.items())),),
        mechanics_overrides=mechanics,
    )  # fmt: skip
    digest = hashlib.sha1(repr(sorted(params.items())).encode()).hexdigest()[:8]
    key = f"{name.replace('/', '_')}-{digest}{_tag(mechanics)}"
    runs = _runs(
        cfg, cache / f"var_{key}_{analysis}_{len(systems)}_{len(seeds)}_{horizon_ms:g}.csv"
    )
    runs["policy"] = REFERENCE
    return runs


def _ratio_to(runs: pd.DataFrame, base: pd.DataFrame, policy_of: pd.Series) -> float:
    """Geomean over (system, scenario, seed) of UXCost over ``policy_of[system, scenario]``'s."""
    b = base.merge(policy_of.rename("pick").reset_index(), on=["system", "scenario"])
    b = b[b["policy"] == b["pick"]]
    pair = runs.merge(b, on=["system", "scenario", "seed"], suffixes=("", "_base"))
    return geomean(pair["uxcost"] / pair["uxcost_base"], "UXCost ratios")


def report(label: str, runs: pd.DataFrame, base: pd.DataFrame, systems, verbose: bool) -> str:
    both = pd.concat([base, runs], ignore_index=True)
    comp = scenario_comparison(both)
    best = comp.set_index(["system", "scenario"])["best_baseline"]
    rule = _ratio_to(runs, base, best)
    edf = _ratio_to(runs, base, pd.Series("edf", index=best.index))
    o = overall(both).set_index("system")
    lower = [s for s in systems if o.loc[s, "score_sdrm3"] < o.loc[s, "score_best_baselines"]]
    starved = [f"{s[-4:]}:{o.loc[s, 'starved_only_under_sdrm3']}" for s in systems
               if o.loc[s, "starved_only_under_sdrm3"]]  # fmt: skip
    cells = " ".join(f"{100 * o.loc[s, 'reduction_vs_best_fair']:+6.1f}" for s in systems)
    line = (
        f"{label:14s} rule {rule:.4f} ({100 * (1 - rule):+5.1f}%) vs edf {edf:.4f} | {cells} | "
        f"score lower: {' '.join(s[-4:] for s in lower) or '-'} | "
        f"starved: {' '.join(starved) or '-'}"
    )
    if verbose:
        cols = ["system", "scenario", "best_baseline", "uxcost_sdrm3", "uxcost_baseline",
                "reduction", "score_sdrm3", "score_baseline", "drop_sdrm3", "drop_baseline",
                "starved_sdrm3", "starved_baseline"]  # fmt: skip
        with pd.option_context("display.width", 250):
            line += "\n" + comp[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return line


def parse_options(kv: str) -> dict:
    """``"k=v,k=v"`` as keyword options: True/False/None and numbers converted, else strings."""
    params: dict = {}
    for item in filter(None, kv.split(",")):
        k, _, v = item.partition("=")
        params[k] = {"True": True, "False": False, "None": None}.get(v, v)
        with contextlib.suppress(ValueError):
            params[k] = float(v)
    return params


def _parse_set(specs: list[str]) -> dict[str, dict]:
    out = {}
    for spec in specs:
        name, _, kv = spec.partition(":")
        base_name, _, kv = kv.partition("+") if kv.startswith("@") else ("", "", kv)
        params = dict(VARIANTS[base_name[1:]]) if base_name else {}
        out[name] = {**params, **parse_options(kv)}
    return out


def tuning_set_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every tuning-set bench takes (analysis, seeds, horizon, systems, cache)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--analysis", default="maestro")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--horizon-ms", type=float, default=2000.0)
    ap.add_argument("--systems", default="", help="comma-separated subset of TUNING_SYSTEMS")
    ap.add_argument("--cache", default="/tmp/s12a/dev")
    return ap


def main() -> None:
    ap = tuning_set_parser(__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated variant names")
    ap.add_argument(
        "--set", action="append", default=[],
        help="extra variant NAME:k=v,k=v or NAME:@BASE+k=v (relative to variant BASE)",
    )  # fmt: skip
    ap.add_argument(
        "--mechanics", default="",
        help="FrameMechanics options for every policy, e.g. contention_placement=True",
    )  # fmt: skip
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    systems = tuple(args.systems.split(",")) if args.systems else TUNING_SYSTEMS
    _check_systems(systems)
    seeds = tuple(np.arange(args.seeds).tolist())
    variants = {**VARIANTS, **_parse_set(args.set)}
    chosen = args.only.split(",") if args.only else list(variants)
    cache = Path(args.cache)
    cd = tuple(_parse_set([f"m:{args.mechanics}"])["m"].items())
    base = baseline_runs(systems, args.analysis, seeds, args.horizon_ms, cache, cd)
    print(
        f"tuning set {len(systems)} systems, {args.analysis}, seeds {seeds}, {args.horizon_ms:g} ms"
        f", mechanics {'fair' + _tag(cd)}"
    )
    print(f"{'variant':14s} rule = geomean ratio to per-scenario best fair | per-system reduction: "
          + " ".join(s[-4:] for s in systems))  # fmt: skip
    for name in chosen:
        runs = variant_runs(name, variants[name], systems, args.analysis, seeds,
                            args.horizon_ms, cache, cd)  # fmt: skip
        print(report(name, runs, base, systems, args.verbose), flush=True)


if __name__ == "__main__":
    main()
