"""Issue 12f, TUNING set only: where SDRM3's XRBench score loss against the best baselines is.

    python benchmarks/diag_score_terms.py --analysis maestro --cache DIR

1. Finds the (system, scenario) cells of :data:`scheduler.policies.sdrm3.TUNING_SYSTEMS` where
   ``sdrm3_static`` (its current defaults) has a lower mean score than the scenario's best fair
   baseline (the machinery and caches of ``benchmarks/bench_sdrm3_dev.py``).
2. Re-simulates each such cell (seeds as given, the same points as ``rtmm compare``) under
   ``sdrm3`` (defaults), ``aff`` (the defaults with the affinity term instead of the block-energy
   term), ``no-pending`` / ``no-guard`` (the defaults without pending-frame protection / without
   the starvation guard), ``12c`` (the 12c defaults, variant ``protect``: affinity term, neither
   of the two) and the cell's best fair baseline, and
   decomposes the scenario score, sum over models of S_m / n_models, into its XRBench terms.

Per model, S_m = QoE_m^2 x P_m with P_m the mean over completed frames of RT x EN x ACC (completed
over logged frames is QoE). The difference of S_m between two policies is split over
ln QoE^2, ln mean RT, ln mean EN, ln mean ACC and the remainder (covariance) in proportion to
each term's change of logarithm (log-mean Divisia; the parts sum to the difference exactly). A
model that completes no frame under one side (S_m = 0) is charged wholly to ``starved``.

Also per run: the RT slack (completion - deadline) quantiles of completed frames, the share of
frames whose RT < 0.99 (finished less than ~0.3 ms before the deadline or late), and the share of
blocks (and of their best-case time) placed on an accelerator that is not the block's fastest.
The held-out families are refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sdrm3_dev import (  # noqa: E402
    VARIANTS,
    _check_systems,
    _parse_set,
    baseline_runs,
    tuning_set_parser,
    variant_runs,
)

from dse.compare_eval import simulate_point  # noqa: E402
from dse.compare_points import (  # noqa: E402
    DEFAULT_SCENARIOS,
    FISSION_POLICIES,
    Point,
    cost_arrays,
)
from dse.compare_stats import scenario_comparison  # noqa: E402
from hardware_db import library  # noqa: E402
from scheduler.fission import fission_system  # noqa: E402
from scheduler.metrics import inference_scores  # noqa: E402
from scheduler.policies.sdrm3 import TUNING_SYSTEMS  # noqa: E402
from workloads import scenario as scenario_lib  # noqa: E402

#: SDRM3 configurations compared (name -> sdrm3_static parameters).
SDRM3_CONFIGS: dict[str, dict] = {
    "sdrm3": {},
    "aff": {"energy_term": "affinity"},
    "12c": VARIANTS["protect"],
    "no-pending": {"protect_pending": False},
    "no-guard": {"guard": None},
}
TERMS = ("qoe2", "rt", "en", "acc", "cov")
RT_OK = 0.99
#: Per-model columns averaged over seeds.
MODEL_COLUMNS = ("rt", "en", "acc", "qoe", "score", "p", "n_models", "dropped", "late",
                 "released", "e_ratio", "e_frame_mj")  # fmt: skip


def score_cells(systems, analysis: str, seeds, horizon_ms: float, cache: Path) -> pd.DataFrame:
    """Cells whose mean score under SDRM3's defaults is below the best fair baseline's."""
    base = baseline_runs(systems, analysis, seeds, horizon_ms, cache)
    runs = variant_runs("defaults", {}, systems, analysis, seeds, horizon_ms, cache)
    comp = scenario_comparison(pd.concat([base, runs], ignore_index=True))
    return comp[comp["score_sdrm3"] < comp["score_baseline"]].reset_index(drop=True)


def _block_placement(result, costs) -> pd.DataFrame:
    """Timeline rows with the block's best-case latency here and on its fastest accelerator."""
    tl = result.timeline.copy()
    clock = np.asarray(costs.clock_hz, dtype=float)
    here, best = [], []
    for row in tl.itertuples():
        v = costs.models[costs.index(row.model)].full
        lat = np.array(
            [v.block_latency_cycles(row.first_layer, row.n_layers, a) for a in range(len(clock))]
        ) / clock * 1e3  # fmt: skip
        here.append(lat[row.accelerator])
        best.append(lat.min())
    tl["lat_ms"] = here
    tl["best_ms"] = best
    tl["off_fastest"] = tl["lat_ms"] > tl["best_ms"] * (1 + 1e-9)
    return tl


def run_stats(point: Point) -> tuple[pd.DataFrame, dict]:
    """Per-model terms of one run, and the run's slack and placement figures."""
    result, _ = simulate_point(point)
    system = library.get_system(point.system)
    if point.policy in FISSION_POLICIES:  # the run's accelerators are the sub-arrays
        system = fission_system(system)[0]
    costs = cost_arrays(scenario_lib.load(point.scenario), system, point.analysis)
    s = result.summary()
    s = s[s["model"] != ""].copy()
    inf = inference_scores(result.frames)
    s["p"] = [
        float((g["rt"] * g["en"] * g["acc"]).mean()) if len(g) else 0.0
        for g in (inf[inf["model"] == m] for m in s["model"])
    ]
    s["n_models"] = len(s)
    # energy of the completed frames over their reference (every layer on its cheapest accelerator)
    s["e_ratio"] = [
        float(g["energy_nj"].sum() / g["min_energy_nj"].sum()) if len(g) else np.nan
        for g in (inf[inf["model"] == m] for m in s["model"])
    ]
    s["e_frame_mj"] = [
        float(g["energy_nj"].mean() / 1e6) if len(g) else np.nan
        for g in (inf[inf["model"] == m] for m in s["model"])
    ]
    delay = (inf["completion_ms"] - inf["deadline_ms"]).to_numpy(float)
    tl = _block_placement(result, costs)
    off = tl[tl["off_fastest"]]
    frames_off = set(zip(off["model"], off["frame"], strict=True))
    key = list(zip(inf["model"], inf["frame"], strict=True))
    inf_off = inf[[k in frames_off for k in key]]
    run = {
        "slack_p05": float(np.quantile(delay, 0.05)) if len(delay) else np.nan,
        "slack_p50": float(np.quantile(delay, 0.50)) if len(delay) else np.nan,
        "slack_p95": float(np.quantile(delay, 0.95)) if len(delay) else np.nan,
        "rt_low": float(np.mean(inf["rt"] < RT_OK)) if len(inf) else np.nan,
        "blocks_off": float(tl["off_fastest"].mean()) if len(tl) else np.nan,
        "time_off": float((off["lat_ms"] - off["best_ms"]).sum() / tl["best_ms"].sum()),
        "rt_off": float(inf_off["rt"].mean()) if len(inf_off) else np.nan,
        "rt_low_off": float(np.mean(inf_off["rt"] < RT_OK)) if len(inf_off) else np.nan,
        "energy_mj": float(result.frames["energy_nj"].sum() / 1e6),
    }
    return s, run


def decompose(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Per model, the score-point change from ``a`` to ``b`` split into :data:`TERMS`."""
    m = a.merge(b, on="model", suffixes=("_a", "_b"))
    rows = []
    for r in m.itertuples():
        sa, sb = r.score_a, r.score_b
        d = (sb - sa) / r.n_models_a
        parts = dict.fromkeys((*TERMS, "starved"), 0.0)
        if sa <= 0 or sb <= 0:
            parts["starved"] = d
        elif abs(sb - sa) > 1e-15:
            lm = (sb - sa) / (np.log(sb) - np.log(sa))
            logs = {
                "qoe2": 2 * np.log(r.qoe_b / r.qoe_a),
                "rt": np.log(r.rt_b / r.rt_a),
                "en": np.log(r.en_b / r.en_a),
                "acc": np.log(r.acc_b / r.acc_a),
            }
            logs["cov"] = np.log(sb / sa) - sum(logs.values())
            for k, v in logs.items():
                parts[k] = lm * v / r.n_models_a
        rows.append({"model": r.model, "d_score": d, **parts})
    return pd.DataFrame(rows)


def cell_report(cell, analysis: str, seeds, horizon_ms: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean per-model terms and run figures of every configuration in one cell."""
    configs = {**{k: ("sdrm3_static", v) for k, v in SDRM3_CONFIGS.items()},
               cell.best_baseline: (cell.best_baseline, {})}  # fmt: skip
    models, runs = [], []
    for name, (policy, params) in configs.items():
        for seed in seeds:
            pt = Point(cell.scenario, cell.system, policy, int(seed), horizon_ms, analysis,
                       tuple(params.items()))  # fmt: skip
            s, run = run_stats(pt)
            models.append(s.assign(config=name, seed=seed))
            runs.append({"config": name, "seed": seed, **run})
    return pd.concat(models, ignore_index=True), pd.DataFrame(runs)


def mean_scores(names, systems, analysis: str, seeds, horizon_ms: float, cache: Path) -> str:
    """Per ``bench_sdrm3_dev`` variant: mean score over every point, beside the per-scenario best
    fair baselines' (by UXCost), and the number of cells whose mean score is below theirs."""
    base = baseline_runs(systems, analysis, seeds, horizon_ms, cache)
    lines = []
    for name in names:
        if ":" in name:  # NAME:k=v,... relative to the defaults (bench_sdrm3_dev's --set)
            name, params = next(iter(_parse_set([name]).items()))
        else:
            params = {**VARIANTS, "aff": SDRM3_CONFIGS["aff"]}[name]
        runs = variant_runs(name, params, systems, analysis, seeds, horizon_ms, cache)
        comp = scenario_comparison(pd.concat([base, runs], ignore_index=True))
        lower = int((comp["score_sdrm3"] < comp["score_baseline"]).sum())
        lines.append(
            f"{name:32s} mean score {comp['score_sdrm3'].mean():.6f} vs best baselines "
            f"{comp['score_baseline'].mean():.6f}; cells lower {lower} of {len(comp)}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = tuning_set_parser(__doc__.splitlines()[0])
    ap.add_argument("--cells", default="", help="SYSTEM:SCENARIO,... (default: the lower cells)")
    ap.add_argument("--out", default="/tmp/d12f/diag")
    ap.add_argument(
        "--mean-scores", default="",
        help="semicolon-separated bench_sdrm3_dev variants, 'aff' (the defaults with the affinity "
        "term) or NAME:k=v,... (the defaults with options): print their mean scores only",
    )  # fmt: skip
    args = ap.parse_args()
    systems = tuple(args.systems.split(",")) if args.systems else TUNING_SYSTEMS
    _check_systems(systems)
    seeds = tuple(range(args.seeds))
    if args.mean_scores:
        names = args.mean_scores.split(";")
        print(mean_scores(names, systems, args.analysis, seeds, args.horizon_ms, Path(args.cache)))
        return
    if args.cells:
        cells = pd.DataFrame(
            [c.split(":") for c in args.cells.split(",")], columns=["system", "scenario"]
        )
        comp = score_cells(tuple(cells["system"].unique()), args.analysis, seeds,
                           args.horizon_ms, Path(args.cache))  # fmt: skip
        cells = cells.merge(comp, on=["system", "scenario"])
    else:
        cells = score_cells(systems, args.analysis, seeds, args.horizon_ms, Path(args.cache))
    _check_systems(tuple(cells["system"]))
    assert set(cells["scenario"]) <= set(DEFAULT_SCENARIOS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    allm, allr, alld = [], [], []
    for cell in cells.itertuples():
        models, runs = cell_report(cell, args.analysis, seeds, args.horizon_ms)
        tag = {"system": cell.system, "scenario": cell.scenario, "base": cell.best_baseline}
        mean = models.groupby(["config", "model"], as_index=False)[list(MODEL_COLUMNS)].mean()
        sd = mean[mean["config"] == "sdrm3"].drop(columns="config")
        for other in [c for c in mean["config"].unique() if c != "sdrm3"]:
            d = decompose(sd, mean[mean["config"] == other].drop(columns="config"))
            alld.append(d.assign(vs=other, **tag))
        allm.append(mean.assign(**tag))
        allr.append(runs.groupby("config", as_index=False).mean(numeric_only=True).assign(**tag))
        print(f"{cell.system} {cell.scenario} (best {cell.best_baseline}) done", flush=True)
    m, r, d = (pd.concat(x, ignore_index=True) for x in (allm, allr, alld))
    m.to_csv(out / "models.csv", index=False)
    r.to_csv(out / "runs.csv", index=False)
    d.to_csv(out / "decomposition.csv", index=False)
    pd.set_option("display.width", 250)
    print(cells[["system", "scenario", "best_baseline", "score_sdrm3", "score_baseline"]])
    print("\nscore points other - sdrm3, summed over models and cells (mean over cells):")
    tot = d.groupby("vs")[["d_score", *TERMS, "starved"]].sum() / len(cells)
    print(tot.to_string(float_format=lambda v: f"{v:+.4f}"))
    print("\nper cell, baseline - sdrm3:")
    base = d[~d["vs"].isin(list(SDRM3_CONFIGS))]
    print(base.groupby(["system", "scenario", "vs"])[["d_score", *TERMS, "starved"]].sum()
          .to_string(float_format=lambda v: f"{v:+.4f}"))  # fmt: skip
    print("\nper model (|d_score| > 0.002), baseline - sdrm3:")
    print(base[base["d_score"].abs() > 0.002].to_string(float_format=lambda v: f"{v:+.4f}"))
    print("\nrun figures (mean over seeds):")
    print(r.to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
