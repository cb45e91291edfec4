"""A candidate engine mechanic on vs off, for EVERY policy on the TUNING set.

    python benchmarks/bench_drop_estimate.py --analysis maestro   # --option contention_drop
    python benchmarks/bench_drop_estimate.py --analysis native --option contention_placement

Runs (or reads from ``--cache``, shared with ``benchmarks/bench_sdrm3_dev.py``) the fair
baselines and ``sdrm3_static`` (its defaults) on :data:`scheduler.policies.sdrm3.TUNING_SYSTEMS`
twice: with compare's fair mechanics and with the boolean ``FrameMechanics`` option ``--option``
switched on (``contention_drop``: the contention-aware hopeless-drop test;
``contention_placement``: the contention-aware placement test). Both runs have off-chip
contention. Prints per policy, over the 240 (system, scenario, seed) points:
the mean lost-frame rate (late + dropped over released), the late and drop rates, the mean
XRBench score, the geomean UXCost ratio on/off and the starved (model, point) count; then the
totals the adoption rule of ``benchmarks/RESULTS.md`` ("Issue 12e") reads:

- ``lost``: mean over policies and points of the lost-frame rate (must be lower with it on);
- ``score``: mean over policies and points of the score (must not be lower);
- ``starved``: starved (model, point) cells summed over policies (must not be higher).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sdrm3_dev import (  # noqa: E402
    _check_systems,
    baseline_runs,
    tuning_set_parser,
    variant_runs,
)

from dse.compare_stats import REFERENCE  # noqa: E402
from scheduler.metrics import geomean  # noqa: E402
from scheduler.policies.sdrm3 import TUNING_SYSTEMS  # noqa: E402

KEYS = ["policy", "system", "scenario", "seed"]


def all_runs(systems, analysis: str, seeds, horizon_ms: float, cache: Path, cd: tuple):
    base = baseline_runs(systems, analysis, seeds, horizon_ms, cache, cd)
    sd = variant_runs("defaults", {}, systems, analysis, seeds, horizon_ms, cache, cd)
    sd = sd.assign(policy="sdrm3_static")
    assert REFERENCE not in set(base["policy"])
    return pd.concat([base, sd], ignore_index=True)


def per_policy(off: pd.DataFrame, on: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    pair = off.merge(on, on=KEYS, suffixes=("_off", "_on"), validate="one_to_one")
    if len(pair) != len(off) or len(pair) != len(on):
        raise SystemExit("off and on runs do not pair up")
    rows = []
    for policy, g in pair.groupby("policy", sort=False):
        row: dict = {"policy": policy}
        for side in ("off", "on"):
            row[f"lost_{side}"] = float((g[f"miss_rate_{side}"] + g[f"drop_rate_{side}"]).mean())
            row[f"late_{side}"] = float(g[f"miss_rate_{side}"].mean())
            row[f"drop_{side}"] = float(g[f"drop_rate_{side}"].mean())
            row[f"score_{side}"] = float(g[f"score_{side}"].mean())
            row[f"starved_{side}"] = int(g[f"starved_{side}"].sum())
        row["ux_on/off"] = geomean(g["uxcost_on"] / g["uxcost_off"], "UXCost on/off")
        rows.append(row)
    table = pd.DataFrame(rows)
    totals = {
        "lost_off": float(table["lost_off"].mean()),
        "lost_on": float(table["lost_on"].mean()),
        "score_off": float(table["score_off"].mean()),
        "score_on": float(table["score_on"].mean()),
        "starved_off": int(table["starved_off"].sum()),
        "starved_on": int(table["starved_on"].sum()),
        "ux_on/off": geomean(pair["uxcost_on"] / pair["uxcost_off"], "UXCost on/off"),
    }
    return table, totals


def verdict(t: dict) -> bool:
    """The adoption rule for one analysis (stated in RESULTS.md before the 'on' runs)."""
    return (
        t["lost_on"] < t["lost_off"]
        and t["score_on"] >= t["score_off"]
        and t["starved_on"] <= t["starved_off"]
    )


def main() -> None:
    ap = tuning_set_parser(__doc__.splitlines()[0])
    ap.add_argument("--option", default="contention_drop", help="a boolean FrameMechanics option")
    ap.add_argument("--per-system", action="store_true", help="also the lost rate per system")
    args = ap.parse_args()
    systems = tuple(args.systems.split(",")) if args.systems else TUNING_SYSTEMS
    _check_systems(systems)
    seeds = tuple(np.arange(args.seeds).tolist())
    cache = Path(args.cache)
    off = all_runs(systems, args.analysis, seeds, args.horizon_ms, cache, ())
    on = all_runs(systems, args.analysis, seeds, args.horizon_ms, cache, ((args.option, True),))
    table, totals = per_policy(off, on)
    print(f"tuning set {len(systems)} systems, {args.analysis}, seeds {seeds}, {args.option}")
    with pd.option_context("display.width", 250):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if args.per_system:
            for cd, runs in (("off", off), ("on", on)):
                lost = (
                    (runs["miss_rate"] + runs["drop_rate"])
                    .groupby([runs["system"], runs["policy"]])
                    .mean()
                    .unstack()
                )
                print(f"\nlost-frame rate per system, {args.option} {cd}")
                print(lost.to_string(float_format=lambda v: f"{v:.3f}"))
    print(
        "totals: lost {lost_off:.4f} -> {lost_on:.4f}, score {score_off:.4f} -> {score_on:.4f}, "
        "starved {starved_off} -> {starved_on}, UXCost on/off geomean {ux:.4f}".format(
            ux=totals["ux_on/off"], **totals
        )
    )
    ok = "PASS" if verdict(totals) else "FAIL"
    print(f"rule (lost lower, score not lower, starved not higher): {ok}")


if __name__ == "__main__":
    main()
