"""Statistics of ``rtmm compare``: ideal load, per-scenario SDRM3 vs best fair baseline, CIs.

- *Ideal load* of a scenario on a system: the work released per millisecond — for each model, the
  probability that a frame is triggered (product of the cascade probabilities up its chain) times
  its fastest whole-model latency on any accelerator, over its period — divided by the number of
  accelerators. Above 1 no schedule can meet every deadline even with perfect packing: the
  scenario is *overloaded*.
- *Best fair baseline* of a (system, scenario): the non-SDRM3 policy with the lowest geometric-mean
  UXCost over seeds, every policy having run with the same engine mechanics.
- SDRM3's reduction against it: ``1 - geomean(ux_sdrm3 / ux_baseline)`` over seeds (runs paired
  by seed, i.e. by identical triggers and release jitter), with a 95 % bootstrap confidence
  interval (``scipy.stats.bootstrap``, BCa, over the paired log-ratios). The overall reduction
  is the geomean over every (scenario, seed) pair of its system, each against its scenario's best
  fair baseline, with a bootstrap CI over those pairs.

Geometric means go through :func:`scheduler.metrics.geomean`, which refuses zero or NaN points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from scheduler.costs import CostArrays
from scheduler.metrics import geomean

#: The policy whose reductions are reported.
REFERENCE = "sdrm3"
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000


def ideal_load(
    costs: CostArrays,
    periods_ms: np.ndarray,
    parents: tuple[int | None, ...],
    probabilities: np.ndarray,
) -> float:
    """Work per unit time over capacity (module docstring); > 1 means overloaded."""
    ms_per_cycle = 1e3 / np.asarray(costs.clock_hz, dtype=float)
    load = 0.0
    for m, mc in enumerate(costs.models):
        p, k, depth = float(probabilities[m]), parents[m], 0
        while k is not None and depth <= len(parents):
            p *= float(probabilities[k])
            k, depth = parents[k], depth + 1
        best = float(np.min(mc.full.total_latency_cycles * ms_per_cycle))
        load += p * best / float(periods_ms[m])
    return load / costs.num_accelerators


def is_baseline(policy: str) -> bool:
    """A baseline run (fair or "as published")."""
    return not policy.startswith("sdrm3")


def is_fair_baseline(policy: str) -> bool:
    """A baseline run with the same mechanics as SDRM3 (not an ``<name>@published`` run)."""
    return is_baseline(policy) and "@" not in policy


def bootstrap_reduction(log_ratios: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """``(reduction, ci_low, ci_high)`` of ``1 - exp(mean log-ratio)``; CI NaN for < 2 points."""
    x = np.asarray(log_ratios, dtype=float)
    point = 1.0 - float(np.exp(x.mean()))
    if len(x) < 2:
        return point, float("nan"), float("nan")
    if np.allclose(x, x[0]):
        return point, point, point
    res = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="BCa",
        random_state=np.random.default_rng(seed),
    )
    lo, hi = res.confidence_interval
    return point, 1.0 - float(np.exp(hi)), 1.0 - float(np.exp(lo))


def best_baselines(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (system, scenario): the fair baseline with the lowest geomean UXCost over seeds."""
    base = runs[runs["policy"].map(is_fair_baseline)]
    rows = []
    for (system, scenario), g in base.groupby(["system", "scenario"], sort=False):
        ux = g.groupby("policy")["uxcost"].apply(lambda s: geomean(s, f"UXCost of {s.name}"))
        rows.append({"system": system, "scenario": scenario, "best_baseline": ux.idxmin()})
    return pd.DataFrame(rows, columns=["system", "scenario", "best_baseline"])


def _starved(runs: pd.DataFrame) -> str:
    """Models starved in any of ``runs`` (``;``-joined); empty when runs carry no such column."""
    if "starved_models" not in runs:
        return ""
    names = sorted({n for s in runs["starved_models"].fillna("") for n in str(s).split(";") if n})
    return ";".join(names)


def scenario_comparison(
    runs: pd.DataFrame, loads: pd.DataFrame | None = None, reference: str = REFERENCE
) -> pd.DataFrame:
    """One row per (system, scenario): SDRM3 vs its best fair baseline with a bootstrap CI."""
    ref = runs[runs["policy"] == reference]
    if not len(ref):
        return pd.DataFrame()
    rows = []
    for b in best_baselines(runs).itertuples(index=False):
        mine = ref[(ref["system"] == b.system) & (ref["scenario"] == b.scenario)]
        other = runs[
            (runs["system"] == b.system)
            & (runs["scenario"] == b.scenario)
            & (runs["policy"] == b.best_baseline)
        ]
        pair = mine.merge(other, on="seed", suffixes=("_ref", "_base"))
        geomean(pair["uxcost_ref"], f"UXCost of {reference}")
        logr = np.log(pair["uxcost_ref"].to_numpy(float) / pair["uxcost_base"].to_numpy(float))
        red, lo, hi = bootstrap_reduction(logr)
        row = {
            "system": b.system,
            "scenario": b.scenario,
            "best_baseline": b.best_baseline,
            "uxcost_sdrm3": geomean(pair["uxcost_ref"]),
            "uxcost_baseline": geomean(pair["uxcost_base"]),
            "reduction": red,
            "ci_low": lo,
            "ci_high": hi,
            "score_sdrm3": float(pair["score_ref"].mean()),
            "score_baseline": float(pair["score_base"].mean()),
            "miss_sdrm3": float(pair["miss_rate_ref"].mean()),
            "miss_baseline": float(pair["miss_rate_base"].mean()),
            "drop_sdrm3": float(pair["drop_rate_ref"].mean()),
            "drop_baseline": float(pair["drop_rate_base"].mean()),
            "starved_sdrm3": _starved(mine),
            "starved_baseline": _starved(other),
            "seeds": len(pair),
        }
        if "uxcost_bound_base" in pair:
            row.update(_headroom(pair))
        if loads is not None:
            hit = loads[(loads["system"] == b.system) & (loads["scenario"] == b.scenario)]
            row["ideal_load"] = float(hit["ideal_load"].iloc[0]) if len(hit) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _headroom(pair: pd.DataFrame) -> dict[str, float]:
    """The bound of paired runs (``uxcost_bound`` of :mod:`scheduler.uxcost_bound`, the same for
    every policy of a seed) and the largest reduction any full-model schedule could reach against
    the baseline: ``1 - geomean(bound / ux_baseline)``. Empty when a run has no bound."""
    bound = pair["uxcost_bound_base"].to_numpy(float)
    if not np.isfinite(bound).all():
        return {}
    return {
        "uxcost_bound": geomean(bound, "UXCost bound"),
        "max_reduction": 1.0 - geomean(bound / pair["uxcost_base"].to_numpy(float)),
    }


def overall(runs: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Per system: geomean reduction of SDRM3 against each scenario's best fair baseline."""
    comp = scenario_comparison(runs, reference=reference)
    if not len(comp):
        return pd.DataFrame()
    rows = []
    for system, c in comp.groupby("system", sort=False):
        logs, bound_logs = [], []
        for b in c.itertuples(index=False):
            sel = runs[(runs["system"] == system) & (runs["scenario"] == b.scenario)]
            mine = sel[sel["policy"] == reference]
            other = sel[sel["policy"] == b.best_baseline]
            pair = mine.merge(other, on="seed", suffixes=("_ref", "_base"))
            logs += list(np.log(pair["uxcost_ref"] / pair["uxcost_base"]))
            if "uxcost_bound_base" in pair:
                bound_logs += list(np.log(pair["uxcost_bound_base"] / pair["uxcost_base"]))
        red, lo, hi = bootstrap_reduction(np.array(logs))
        new_starved = [
            b.scenario + ":" + n
            for b in c.itertuples(index=False)
            for n in b.starved_sdrm3.split(";")
            if n and n not in b.starved_baseline.split(";")
        ]
        rows.append(
            {
                "system": system,
                "reduction_vs_best_fair": red,
                "ci_low": lo,
                "ci_high": hi,
                "score_sdrm3": float(c["score_sdrm3"].mean()),
                "score_best_baselines": float(c["score_baseline"].mean()),
                "starved_only_under_sdrm3": ";".join(new_starved),
                "points": len(logs),
            }
        )
        if bound_logs and np.isfinite(bound_logs).all():
            rows[-1]["max_reduction"] = 1.0 - float(np.exp(np.mean(bound_logs)))
    return pd.DataFrame(rows)


def reductions(runs: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Geomean UXCost reduction of ``reference`` against every baseline, per system.

    Runs are paired on (scenario, seed); the reduction is ``1 - geomean(ux_ref / ux_baseline)``.
    """
    rows = []
    keys = ["scenario", "system", "seed"]
    ref = runs[runs["policy"] == reference]
    if len(ref):
        for system in runs["system"].unique():
            mine = ref[ref["system"] == system]
            for baseline in runs["policy"].unique():
                if not is_baseline(baseline):
                    continue
                other = runs[(runs["policy"] == baseline) & (runs["system"] == system)]
                pair = mine.merge(other, on=keys, suffixes=("_ref", "_base"))
                ratio = geomean(pair["uxcost_ref"] / pair["uxcost_base"], "UXCost ratios")
                rows.append(
                    {
                        "baseline": baseline,
                        "system": system,
                        "geomean_uxcost_reduction": 1.0 - ratio,
                        "score_sdrm3": float(pair["score_ref"].mean()),
                        "score_baseline": float(pair["score_base"].mean()),
                        "points": len(pair),
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "baseline",
            "system",
            "geomean_uxcost_reduction",
            "score_sdrm3",
            "score_baseline",
            "points",
        ],
    )


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (system, scenario, policy): geomean UXCost and mean score/miss/drop/energy over seeds."""
    cols = ["score", "miss_rate", "drop_rate", "energy_mj", "accuracy"]
    grouped = runs.groupby(["system", "scenario", "policy"], sort=False)
    table = grouped[cols].mean()
    table.insert(0, "uxcost", grouped["uxcost"].apply(lambda s: geomean(s)))
    table["starved"] = grouped.apply(_starved, include_groups=False)
    return table.reset_index()


def geomean_by_policy(runs: pd.DataFrame) -> pd.DataFrame:
    """Geomean UXCost and mean score/miss/drop per (system, policy) over scenarios and seeds."""
    g = runs.groupby(["system", "policy"], sort=False)
    out = g["uxcost"].apply(lambda s: geomean(s)).to_frame("geomean_uxcost")
    for col in ("score", "miss_rate", "drop_rate", "energy_mj"):
        out[col] = g[col].mean()
    out["starved"] = g.apply(_starved, include_groups=False)
    return out.reset_index()
