"""Issue 12j, adoption condition 2: zoo layers whose off-chip transfers alone, at the system's
shared off-chip bandwidth, take longer than their cost-table latency.

For those layers the per-layer contention rule charges more than the table latency even when the
block runs alone (k = 1); the old block rule could hide them under the block's other layers.
Usage: ``PYTHONPATH=$PWD python3 benchmarks/diag_contention_alone.py``.
"""

from __future__ import annotations

import pandas as pd

from hardware_db.library import get_system
from scheduler.pipeline import cost_table
from scheduler.policies.sdrm3 import TUNING_SYSTEMS
from workloads import scenario

HELDOUT_SYSTEMS = ("xrbench-4k-K", "xrbench-8k-M")


def rows():
    scenarios = [scenario.load(n) for n in scenario.names()]
    for system_name in TUNING_SYSTEMS + HELDOUT_SYSTEMS:
        system = get_system(system_name)
        for analysis in ("maestro", "native"):
            seen = set()
            for sc in scenarios:
                table = cost_table(sc, system, analysis)
                table = table[~table["model"].isin(seen)]
                if table.empty:  # every model already counted for this system
                    continue
                seen.update(table["model"].unique())
                alone = table["offchip_words"] / system.offchip_bw_words_per_cycle
                over = alone > table["latency_cycles"]
                yield {
                    "system": system_name,
                    "analysis": analysis,
                    "scenario": sc.name,
                    "layer_rows": len(table),
                    "bound_alone": int(over.sum()),
                    "extra_cycles_share": float(
                        (alone - table["latency_cycles"]).clip(lower=0).sum()
                        / table["latency_cycles"].sum()
                    ),
                }


def main() -> None:
    df = pd.DataFrame(list(rows()))
    out = df.groupby(["system", "analysis"])[["layer_rows", "bound_alone"]].sum()
    extra = df.groupby(["system", "analysis"])["extra_cycles_share"].max()
    print(out.assign(max_extra_latency_share=extra).to_string())


if __name__ == "__main__":
    main()
