"""Issue 12h, TUNING set only: which models' frames SDRM3 loses on a cell, against other configs.

    python benchmarks/diag_native_homog.py --analysis native \
        --cells xrbench-4k-E:outdoor_activity_a,xrbench-4k-H:outdoor_activity_a \
        --configs "sdrm3;hold:contention_hold=True;herald;edp_greedy"

Per cell and configuration (``sdrm3`` = ``sdrm3_static`` with its defaults, ``NAME:k=v,...`` =
``sdrm3_static`` with those options, any other name = that fair baseline), the per-model frames
on time / late / dropped summed over the seeds (the points of ``rtmm compare``: 2 s, jitter 2 ms,
fair mechanics, contention), the run's UXCost (mean over seeds) and, with ``--trace MODEL``, the
blocks of that model in seed 0 (layers, accelerator, dispatch, completion, latency). The held-out
families are refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sdrm3_dev import _check_systems, _parse_set, tuning_set_parser  # noqa: E402

from dse.compare_eval import simulate_point  # noqa: E402
from dse.compare_points import Point  # noqa: E402


def _point(config: str, system: str, scenario: str, seed: int, args) -> tuple[str, Point]:
    if config == "sdrm3":
        name, policy, params = config, "sdrm3_static", {}
    elif ":" in config:
        name, params = next(iter(_parse_set([config]).items()))
        policy = "sdrm3_static"
    else:
        name, policy, params = config, config, {}
    pt = Point(scenario, system, policy, seed, args.horizon_ms, args.analysis,
               tuple(params.items()))  # fmt: skip
    return name, pt


def main() -> None:
    ap = tuning_set_parser(__doc__.splitlines()[0])
    ap.add_argument("--cells", required=True, help="SYSTEM:SCENARIO,...")
    ap.add_argument("--configs", default="sdrm3", help="semicolon-separated configurations")
    ap.add_argument("--trace", default="", help="print this model's blocks in seed 0")
    args = ap.parse_args()
    cells = [c.split(":") for c in args.cells.split(",")]
    _check_systems(tuple(s for s, _ in cells))
    pd.set_option("display.width", 200)
    for system, scenario in cells:
        rows, traces, ux = [], [], {}
        for config in args.configs.split(";"):
            for seed in range(args.seeds):
                name, pt = _point(config, system, scenario, seed, args)
                result, _ = simulate_point(pt)
                s = result.summary()
                total = s[s["model"] == ""].iloc[0]
                s = s[s["model"] != ""]
                ux[name] = ux.get(name, 0.0) + float(total["uxcost"]) / args.seeds
                rows += [{"config": name, "model": r.model, "on_time": r.on_time, "late": r.late,
                          "dropped": r.dropped} for r in s.itertuples()]  # fmt: skip
                if args.trace and seed == 0:
                    tl = result.timeline
                    tl = tl[tl["model"] == args.trace].assign(config=name)
                    tl["ms"] = tl["completion_ms"] - tl["dispatch_ms"]
                    traces.append(tl)
        df = pd.DataFrame(rows)
        frames = df.groupby(["config", "model"], sort=False)[["on_time", "late", "dropped"]].sum()
        print(f"== {system} {scenario} (seeds 0-{args.seeds - 1})")
        print(frames.unstack("config").to_string())
        print("mean UXCost:", " ".join(f"{k} {v:.4g}" for k, v in ux.items()))
        if traces:
            cols = ["config", "frame", "block", "first_layer", "n_layers", "accelerator",
                    "dispatch_ms", "completion_ms", "deadline_ms", "ms"]  # fmt: skip
            print(pd.concat(traces)[cols].head(60).to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
