"""Issue 12n-pipe, TUNING set only: which models SDRM3's ``pipeline_split`` splits, where, and
whether the engine charges the cut activation's migration.

    python benchmarks/diag_pipeline_split.py --analysis maestro --threshold 0.5
    python benchmarks/diag_pipeline_split.py --analysis maestro --migration \
        --cells xrbench-8k-L:social_interaction_a

Per (system, scenario) of the tuning set (or ``--cells``), seed 0 of the point ``rtmm compare``
runs, with ``sdrm3_static`` and ``pipeline_split=THRESHOLD``: every split candidate (pinned, loaded
beyond the threshold), its whole-frame latencies, its load, and its cut (first suffix layer,
prefix accelerator, prefix ms, suffix ms with the migration) or ``None``. With ``--migration``:
for every frame of a split model that ran as two stages, the suffix block's span and energy
beyond its layers' latency and energy, against the engine's migration formula. The held-out
families are refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sdrm3_dev import _check_systems  # noqa: E402
from diag_native_homog import _point  # noqa: E402

import scheduler.policies.sdrm3 as sdrm3_module  # noqa: E402
from dse.compare_eval import simulate_point  # noqa: E402
from scheduler.policies.sdrm3 import TUNING_SYSTEMS  # noqa: E402

SCENARIOS = ("social_interaction_a", "outdoor_activity_a", "ar_assistant", "ar_gaming", "vr_gaming")


def run(system: str, scenario: str, args) -> tuple:
    """(result, policy, mechanics) of seed 0 with the option at ``args.threshold``."""
    seen: dict = {}
    decide = sdrm3_module.SDRM3.decide

    def spy(self, state):
        seen.setdefault("policy", self)
        seen.setdefault("mech", state.mechanics)
        return decide(self, state)

    sdrm3_module.SDRM3.decide = spy  # type: ignore[method-assign]
    try:
        pt_args = argparse.Namespace(analysis=args.analysis, seeds=1, horizon_ms=2000.0)
        _, pt = _point(f"pipe:pipeline_split={args.threshold}", system, scenario, 0, pt_args)
        result, _ = simulate_point(pt)
    finally:
        sdrm3_module.SDRM3.decide = decide  # type: ignore[method-assign]
    return result, seen.get("policy"), seen.get("mech")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analysis", default="maestro")
    ap.add_argument("--threshold", type=float, default=0.75)
    ap.add_argument("--cells", default="", help="SYSTEM:SCENARIO,... (default: the tuning set)")
    ap.add_argument("--migration", action="store_true")
    args = ap.parse_args()
    cells = [tuple(c.split(":")) for c in args.cells.split(",")] if args.cells else [
        (s, sc) for s in TUNING_SYSTEMS for sc in SCENARIOS
    ]  # fmt: skip
    _check_systems(tuple(s for s, _ in cells))
    for system, scenario in cells:
        result, pol, mech = run(system, scenario, args)
        if pol is None:  # every frame dropped before SDRM3 was asked: nothing to report
            print(f"{system} {scenario}: no decision point")
            continue
        split = pol._split
        for m in np.flatnonzero(split.home >= 0).tolist():
            a, period = int(split.home[m]), float(pol.ctx.periods_ms[m])
            v = pol.ctx.costs.models[m].full
            cut = split.cut(m, v, mech)
            where = "None" if cut is None else (
                f"layer {cut.layer}/{v.num_layers}, prefix on {cut.prefix_acc} "
                f"{cut.prefix_ms:.2f} ms, suffix {cut.suffix_ms:.2f} ms"
            )  # fmt: skip
            print(f"{system} {scenario} {pol.ctx.model_ids[m]}: pinned to {a}, whole "
                  f"{np.round(pol.full_ms[m], 1).tolist()} ms, period {period:.1f} ms, load "
                  f"{pol.full_ms[m, a] / period:.2f}; cut {where}")  # fmt: skip
            if not args.migration or cut is None or mech.migration is None:
                continue
            tl = result.timeline[result.timeline.model == pol.ctx.model_ids[m]]
            extra_ms, extra_nj, n = [], [], 0
            for _, g in tl.groupby("frame"):
                g = g.sort_values("first_layer")
                if g.accelerator.tolist() != [cut.prefix_acc, a]:
                    continue
                s = g.iloc[1]
                c, k = int(s.first_layer), int(s.n_layers)
                lat = v.block_latency_cycles(c, k, a) * float(mech.ms_per_cycle[a])
                extra_ms.append(float(s.completion_ms - s.dispatch_ms) - lat)
                extra_nj.append(float(s.energy_nj) - v.block_energy_nj(c, k, a))
                n += 1
            words = float(v.input_words[cut.layer])
            print(f"  {n} frames ran as two stages; suffix span - latency {min(extra_ms):.4f}.."
                  f"{max(extra_ms):.4f} ms (engine's move: {words:.0f} words / "
                  f"{mech.migration.bw_words_per_cycle:g} per cycle = "
                  f"{mech.migration.cycles(words) * float(mech.ms_per_cycle[a]):.4f} ms); energy "
                  f"beyond the layers {min(extra_nj):.1f}..{max(extra_nj):.1f} nJ (formula: "
                  f"{mech.migration.energy_nj(words, cut.prefix_acc, a):.1f} nJ, DRAM pJ/word "
                  f"{mech.migration.dram_pj_per_word.tolist()})")  # fmt: skip


if __name__ == "__main__":
    main()
