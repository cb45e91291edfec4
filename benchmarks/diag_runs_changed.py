"""How many cached tuning-set runs an engine change alters, per policy and per system (issue 12o).

    python benchmarks/diag_runs_changed.py --analysis native \
        --before DIR[:VARIANT] --after DIR[:VARIANT]

Reads two ``bench_sdrm3_dev.py`` caches (the fair baselines' ``base_*`` files and, with
``VARIANT``, that SDRM3 variant's file, shown as ``sdrm3_static``) and compares their runs point by
point (system, scenario, policy, seed) on UXCost, score, miss and drop rates and energy. A run
counts as changed when any of them differs by more than 1e-12 (relative).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from diag_policy_table import load

KEYS = ["system", "scenario", "policy", "seed"]
FIGURES = ["uxcost", "score", "miss_rate", "drop_rate", "energy_mj"]


def changed(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in FIGURES if c in before.columns and c in after.columns]
    both = before[KEYS + cols].merge(after[KEYS + cols], on=KEYS, suffixes=("_b", "_a"))
    if len(both) != len(before) or len(both) != len(after):
        n = (len(before), len(after), len(both))
        raise SystemExit(f"the caches hold different points (before, after, common): {n}")
    diff = np.zeros(len(both), dtype=bool)
    for c in cols:
        b, a = both[f"{c}_b"].astype(float), both[f"{c}_a"].astype(float)
        diff |= ~np.isclose(b, a, rtol=1e-12, atol=0.0)
    return both.assign(changed=diff)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analysis", required=True)
    ap.add_argument("--before", required=True, help="DIR[:VARIANT]")
    ap.add_argument("--after", required=True, help="DIR[:VARIANT]")
    args = ap.parse_args()
    _, before = load(f"before={args.before}", args.analysis)
    _, after = load(f"after={args.after}", args.analysis)
    both = changed(before, after)
    print(f"{int(both.changed.sum())} of {len(both)} runs changed")
    print("\nper policy (changed / runs):")
    print(both.groupby("policy")["changed"].agg(["sum", "size"]).to_string())
    print("\nper system (changed / runs):")
    print(both.groupby("system")["changed"].agg(["sum", "size"]).to_string())


if __name__ == "__main__":
    main()
