"""Every policy's tuning-set figures from ``bench_sdrm3_dev.py`` caches, side by side (issue 12j).

    python benchmarks/diag_policy_table.py --analysis native \
        --cache before=/tmp/old_cache:hold+wait2 --cache after=/tmp/new_cache:defaults

Each ``--cache LABEL=DIR[:VARIANT]`` names a cache directory of ``bench_sdrm3_dev.py`` (the fair
baselines' ``base_*`` files and, with ``VARIANT``, that SDRM3 variant's ``var_VARIANT-*`` file,
shown as ``sdrm3_static``). Per policy: mean XRBench score and geomean UXCost over the cells
(system, scenario, seed), mean miss and drop rates, and the runs with a starved model — the
companions of every aggregate. Used to show what an engine change does to every policy, not only
to SDRM3's ratio.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def load(spec: str, analysis: str) -> tuple[str, pd.DataFrame]:
    label, _, rest = spec.partition("=")
    folder, _, variant = rest.partition(":")
    files = sorted(Path(folder).glob(f"base_*_{analysis}_*.csv"))
    if variant:
        files += sorted(Path(folder).glob(f"var_{variant}-*_{analysis}_*.csv"))
    if not files:
        raise SystemExit(f"{folder}: no cached runs for analysis {analysis!r}")
    runs = pd.concat([pd.read_csv(f, keep_default_na=False) for f in files], ignore_index=True)
    # a cache may hold baseline files of two baseline sets (the name carries their digest since
    # 12r): a run present twice is counted once, from the later (newer-named) file
    key = ["scenario", "system", "policy", "seed"]
    return label, runs.drop_duplicates(subset=key, keep="last")


def table(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby("policy")
    return pd.DataFrame(
        {
            "score": g["score"].mean(),
            "uxcost_geomean": g["uxcost"].apply(lambda u: float(np.exp(np.log(u).mean()))),
            "miss_rate": g["miss_rate"].mean(),
            "drop_rate": g["drop_rate"].mean(),
            "starved_runs": g["starved"].apply(lambda s: int((s > 0).sum())),
            "runs": g.size(),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analysis", required=True)
    ap.add_argument("--cache", action="append", required=True, help="LABEL=DIR[:VARIANT]")
    args = ap.parse_args()
    parts = {label: table(runs) for label, runs in (load(c, args.analysis) for c in args.cache)}
    both = pd.concat(parts, axis=1).sort_values((next(iter(parts)), "score"), ascending=False)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(both.to_string(float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
