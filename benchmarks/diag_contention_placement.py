"""Issue 12n-cp, TUNING set only: where ``contention_placement`` fails 12e's adoption rule.

    python benchmarks/diag_contention_placement.py --analysis native  --cache DIR
    python benchmarks/diag_contention_placement.py --analysis maestro --cache DIR --top 10

Reads the runs of ``benchmarks/bench_drop_estimate.py --option contention_placement`` from
``--cache`` (the fair baselines and ``sdrm3_static``, compare's fair mechanics with and
without the option; any missing file is run first) and re-simulates only the points it explains:

1. **starved cells that change**: every (policy, system, scenario, seed) whose starved models
   differ between off and on, with the changed models' frames on time / late / dropped both ways
   (a model is *starved* when none of its frames completed, late ones included);
2. **score losses**: the ``--top`` points whose XRBench score falls most, with per run the frames
   late and dropped and the late frames' delay past the deadline (median, max);
3. **starvation counted on time**: the (model, point) cells with no frame *on time*, summed over
   the policies, off and on. Only the points with a late frame in either run are re-simulated
   (elsewhere "none completed" and "none on time" coincide). Reported beside the rule, not a rule.

With ``--split-gain`` it prints instead, per tuning system, how much faster a whole zoo model
could be with each layer on its fastest accelerator than on the fastest single accelerator
(migration ignored; cost tables only): where that is above 0, the best case the placement test
and the hopeless drop use is not a strict lower bound. The held-out families are refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_drop_estimate import KEYS, all_runs  # noqa: E402
from bench_sdrm3_dev import _check_systems, tuning_set_parser  # noqa: E402

from dse.compare_eval import simulate_point  # noqa: E402
from dse.compare_points import Point  # noqa: E402
from hardware_db.library import get_system  # noqa: E402
from scheduler.pipeline import cost_table  # noqa: E402
from scheduler.policies.sdrm3 import TUNING_SYSTEMS  # noqa: E402
from workloads import scenario  # noqa: E402


def _run(row, analysis: str, horizon_ms: float, overrides: tuple):
    pt = Point(row.scenario, row.system, row.policy, int(row.seed), horizon_ms, analysis, (),
               mechanics_overrides=overrides)  # fmt: skip
    result, _ = simulate_point(pt)
    return result


def _models(result) -> pd.DataFrame:
    s = result.summary()
    return s[s["model"] != ""].set_index("model")[["on_time", "late", "dropped"]]


def _names(cell: str) -> set[str]:
    return set(filter(None, str(cell).split(";")))


def split_gain(systems, analysis: str) -> None:
    """Per system: the largest 1 - (sum of per-layer fastest) / (fastest single accelerator)."""
    scenarios = [scenario.load(n) for n in scenario.names()]
    for name in systems:
        system = get_system(name)
        table = pd.concat([cost_table(sc, system, analysis) for sc in scenarios])
        lat = table.drop_duplicates(["model", "layer", "accelerator"]).pivot_table(
            index=["model", "layer"], columns="accelerator", values="latency_cycles"
        )
        single = lat.groupby(level=0).sum().min(axis=1)
        gain = 1.0 - lat.min(axis=1).groupby(level=0).sum() / single
        print(f"{name} {analysis}: {lat.shape[1]} accelerators, max split gain "
              f"{gain.max():.3f} ({gain.idxmax()})")  # fmt: skip


def main() -> None:
    ap = tuning_set_parser(__doc__.splitlines()[0])
    ap.add_argument("--option", default="contention_placement")
    ap.add_argument("--top", type=int, default=10, help="score losses to re-simulate")
    ap.add_argument("--split-gain", action="store_true", help="cost-table check only")
    args = ap.parse_args()
    systems = tuple(args.systems.split(",")) if args.systems else TUNING_SYSTEMS
    _check_systems(systems)
    if args.split_gain:
        split_gain(systems, args.analysis)
        return
    seeds = tuple(np.arange(args.seeds).tolist())
    cache, h, an = Path(args.cache), args.horizon_ms, args.analysis
    ov = ((args.option, True),)
    off = all_runs(systems, an, seeds, h, cache, ())
    on = all_runs(systems, an, seeds, h, cache, ov)
    pair = off.merge(on, on=KEYS, suffixes=("_off", "_on"), validate="one_to_one")
    pd.set_option("display.width", 250)

    print(f"== 1. starved cells that change ({an}, {args.option})")
    rows = []
    for r in pair.itertuples():
        a, b = _names(r.starved_models_off), _names(r.starved_models_on)
        if a == b:
            continue
        m_off, m_on = _models(_run(r, an, h, ())), _models(_run(r, an, h, ov))
        for m in sorted(a ^ b):
            rows.append({"policy": r.policy, "system": r.system, "scenario": r.scenario,
                         "seed": r.seed, "model": m, "change": "+starved" if m in b else "-starved",
                         "off on/late/drop": "/".join(str(int(v)) for v in m_off.loc[m]),
                         "on on/late/drop": "/".join(str(int(v)) for v in m_on.loc[m]),
                         "score off": r.score_off, "score on": r.score_on})  # fmt: skip
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    print(f"\n== 2. the {args.top} largest score losses")
    d = (pair["score_on"] - pair["score_off"]).rename("dscore")
    worst = pair.assign(dscore=d).sort_values("dscore").head(args.top)
    rows = []
    for r in worst.itertuples():
        row = {"policy": r.policy, "system": r.system, "scenario": r.scenario, "seed": r.seed,
               "dscore": r.dscore}  # fmt: skip
        for side, o in (("off", ()), ("on", ov)):
            f = _run(r, an, h, o).frames
            late = f[f["status"] == "late"]
            delay = late["completion_ms"] - late["deadline_ms"]
            row[f"late {side}"] = len(late)
            row[f"dropped {side}"] = int((f["status"] == "dropped").sum())
            row[f"on time {side}"] = int((f["status"] == "on_time").sum())
            row[f"delay med/max ms {side}"] = (
                f"{delay.median():.2f}/{delay.max():.2f}" if len(late) else "-"
            )
        rows.append(row)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    down, up = d[d < -1e-12], d[d > 1e-12]
    print(f"points with score down / up: {len(down)} / {len(up)} of {len(d)}; "
          f"summed change down {down.sum():.3f}, up {up.sum():.3f}")  # fmt: skip

    print("\n== 3. starvation counted on time (no frame on time), (model, point) cells")
    counts = {"off": pair["starved_off"].astype(int).copy(), "on": pair["starved_on"].astype(int)}
    counts["on"] = counts["on"].copy()
    redo = pair[(pair["miss_rate_off"] > 0) | (pair["miss_rate_on"] > 0)]
    for idx, r in zip(redo.index, redo.itertuples(), strict=True):
        for side, o in (("off", ()), ("on", ov)):
            m = _models(_run(r, an, h, o))
            counts[side].loc[idx] = int(((m["on_time"] == 0) & (m.sum(axis=1) > 0)).sum())
    by = pd.DataFrame({"policy": pair["policy"], "completed off": pair["starved_off"],
                       "completed on": pair["starved_on"], "on time off": counts["off"],
                       "on time on": counts["on"]}).groupby("policy").sum()  # fmt: skip
    print(f"re-simulated {len(redo)} points with a late frame off or on")
    print(by.to_string())
    print("totals:", by.sum().to_dict())


if __name__ == "__main__":
    main()
