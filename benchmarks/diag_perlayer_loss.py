"""Issue 12l, TUNING set only: which SDRM3 mechanism loses frames under the per-layer engine.

    python benchmarks/diag_perlayer_loss.py --analysis maestro \
        --cells xrbench-8k-L:ar_assistant,xrbench-4k-L:outdoor_activity_a \
        --configs "sdrm3;nohold:contention_hold=False;planaria" --trace ASR_EM_24L

Per cell, one row per configuration (``sdrm3`` = ``sdrm3_static`` with its defaults,
``NAME:k=v,...`` = ``sdrm3_static`` with those options, any other name = that fair baseline; the
points of ``rtmm compare``: 2 s, jitter 2 ms, fair mechanics, contention): the mean UXCost and
score over the seeds and, per model, frames on time / late / dropped summed over the seeds.

With ``--trace MODEL``, per configuration, that model's frames in seed 0: status, ready, first
dispatch and completion (ms), the number of blocks, the milliseconds its blocks ran on each
accelerator, and the share of its block time during which the other accelerators were busy (the
contention it ran under). ``--value-ratio R`` (and ``--value-scope``) runs every SDRM3
configuration with the value-aware protection prototype of ``diag_value_protect.py``. Run from
another checkout (``PYTHONPATH=that``) it measures that engine. The held-out families are refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sdrm3_dev import _check_systems, tuning_set_parser  # noqa: E402
from diag_native_homog import _point  # noqa: E402  (one copy of the point builder)

from dse.compare_eval import simulate_point  # noqa: E402


def busy_overlap_share(tl: pd.DataFrame, rows: pd.DataFrame) -> float:
    """Share of ``rows``' block time during which another accelerator ran a block."""
    total = float((rows["completion_ms"] - rows["dispatch_ms"]).sum())
    if total <= 0:
        return float("nan")
    shared = 0.0
    for r in rows.itertuples():
        other = tl[(tl["accelerator"] != r.accelerator) & (tl["dispatch_ms"] < r.completion_ms)
                   & (tl["completion_ms"] > r.dispatch_ms)]  # fmt: skip
        if other.empty:
            continue
        # union of the other accelerators' busy intervals clipped to this block
        iv = np.sort(np.clip(other[["dispatch_ms", "completion_ms"]].to_numpy(),
                             r.dispatch_ms, r.completion_ms), axis=0)  # fmt: skip
        iv = iv[np.argsort(iv[:, 0])]
        end = r.dispatch_ms
        for a, b in iv:
            a = max(a, end)
            if b > a:
                shared += b - a
                end = b
    return shared / total


def frame_trace(result, model: str) -> pd.DataFrame:
    """One row per frame of ``model`` that was released into the run (not ``not_triggered``)."""
    fr = result.frames
    fr = fr[(fr["model"] == model) & (fr["status"] != "not_triggered")]
    tl = result.timeline
    out = []
    for f in fr.itertuples():
        rows = tl[(tl["model"] == model) & (tl["frame"] == f.frame)]
        row = {"frame": f.frame, "status": f.status, "ready": f.ready_ms,
               "first": f.first_dispatch_ms, "done": f.completion_ms, "deadline": f.deadline_ms,
               "blocks": len(rows)}  # fmt: skip
        for acc, g in rows.groupby("accelerator_name"):
            row[f"ms@{acc}"] = float((g["completion_ms"] - g["dispatch_ms"]).sum())
        row["shared"] = busy_overlap_share(tl, rows) if len(rows) else float("nan")
        out.append(row)
    return pd.DataFrame(out)


def main() -> None:
    ap = tuning_set_parser(__doc__.splitlines()[0])
    ap.add_argument("--cells", required=True, help="SYSTEM:SCENARIO,...")
    ap.add_argument("--configs", default="sdrm3", help="semicolon-separated configurations")
    ap.add_argument("--trace", default="", help="print this model's frames in seed 0")
    ap.add_argument(
        "--value-ratio",
        type=float,
        default=None,
        help="SDRM3 with diag_value_protect's prototype at this ratio (every config)",
    )
    ap.add_argument("--value-scope", choices=("model", "accelerator", "density"), default="model")
    args = ap.parse_args()
    if args.value_ratio is not None:
        from diag_value_protect import patch

        patch(args.value_ratio, args.value_scope)
    cells = [c.split(":") for c in args.cells.split(",")]
    _check_systems(tuple(s for s, _ in cells))
    pd.set_option("display.width", 250)
    fmt = {"float_format": lambda v: f"{v:.4g}"}
    for system, scenario in cells:
        rows, traces = [], {}
        for config in args.configs.split(";"):
            row: dict = {"config": config.split(":")[0], "uxcost": 0.0, "score": 0.0}
            for seed in range(args.seeds):
                name, pt = _point(config, system, scenario, seed, args)
                result, _ = simulate_point(pt)
                s = result.summary()
                total = s[s["model"] == ""].iloc[0]
                row["uxcost"] += float(total["uxcost"]) / args.seeds
                row["score"] += float(total["score"]) / args.seeds
                for r in s[s["model"] != ""].itertuples():
                    key = r.model.split("_")[0]
                    prev = row.get(key, (0, 0, 0))
                    row[key] = (prev[0] + r.on_time, prev[1] + r.late, prev[2] + r.dropped)
                if args.trace and seed == 0:
                    traces[name] = frame_trace(result, args.trace)
            rows.append(row)
        df = pd.DataFrame(rows)
        for c in df.columns[3:]:
            df[c] = df[c].map(lambda t: "/".join(str(int(x)) for x in t))
        print(f"== {system} {scenario} (seeds 0-{args.seeds - 1}; per model on time/late/dropped)")
        print(df.to_string(index=False, **fmt))
        for name, tr in traces.items():
            print(f"-- {args.trace} seed 0 under {name}")
            print(tr.to_string(index=False, **fmt))


if __name__ == "__main__":
    main()
