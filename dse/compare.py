"""``rtmm compare``: every scheduler on the RTMM scenarios, SDRM3 against the baselines.

The main job of the project (README): on built-in defaults it runs the five RTMM scenarios on the
heterogeneous dual WS+OS systems ``xrbench-4k-J`` and ``xrbench-8k-J``, every registered baseline
and the four SDRM3 variants (with/without the online tuner, with/without the Supernet selector),
over several seeds, in native mode, and writes into ``--out``:

- ``runs.csv``: one row per (scenario, system, policy, seed) — uxcost, score (XRBench, 0-1 scale),
  miss_rate, drop_rate, energy_mj, e_norm, v, plus the mean delivered accuracy;
- ``reductions.csv``: one row per (baseline, system) — the geometric-mean UXCost reduction of SDRM3
  with tuner against that baseline over scenarios and seeds, as a fraction (0.4 = 40 % lower), and
  the mean XRBench scores of both;
- ``summary.csv``: the printed table (mean over seeds per scenario, system and policy);
- ``accuracy.csv``: delivered accuracy per model for the Supernet variants;
- ``tuner.csv``: the tuner's trace (theta and UXCost per window) of every tuned run;
- ``uxcost_<system>.png`` (UXCost bars per scenario and policy), ``tuner_convergence.png``,
  ``gantt_<scenario>_<system>.png`` (SDRM3 on the hardest scenario: highest baseline UXCost).

Points run in a process pool (``--jobs``, default: the CPU count, at most 2 here); cost tables
are built once per (scenario, system) in each worker.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rtmm.errors import RtmmError
from rtmm.fileio import atomic_write_csv
from rtmm.limits import INT64_MAX, MAX_HORIZON_MS, MAX_SEEDS

DEFAULT_SCENARIOS = (
    "social_interaction_a",
    "outdoor_activity_a",
    "ar_assistant",
    "ar_gaming",
    "vr_gaming",
)
DEFAULT_SYSTEMS = ("xrbench-4k-J", "xrbench-8k-J")
SDRM3_POLICIES = ("sdrm3", "sdrm3_static", "sdrm3_supernet", "sdrm3_static_supernet")
#: The policy every reduction is computed for.
REFERENCE = "sdrm3"
RUN_COLUMNS = (
    "scenario",
    "system",
    "policy",
    "seed",
    "uxcost",
    "score",
    "miss_rate",
    "drop_rate",
    "energy_mj",
    "e_norm",
    "v",
    "accuracy",
)
REDUCTION_COLUMNS = (
    "baseline",
    "system",
    "geomean_uxcost_reduction",
    "score_sdrm3",
    "score_baseline",
    "points",
)


@dataclass(frozen=True)
class CompareConfig:
    """What to run. Defaults are the README's ``rtmm compare``."""

    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    systems: tuple[str, ...] = DEFAULT_SYSTEMS
    policies: tuple[str, ...] = field(default_factory=lambda: default_policies())
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    horizon_ms: float = 2000.0
    analysis: str = "maestro"
    jobs: int = 2
    policy_params: tuple[tuple[str, tuple], ...] = ()


def default_policies() -> tuple[str, ...]:
    """Every registered baseline, then the SDRM3 variants."""
    from scheduler import policies

    names = policies.names()
    baselines = [n for n in names if not n.startswith("sdrm3")]
    return tuple(baselines) + tuple(p for p in SDRM3_POLICIES if p in names)


# --- one point ----------------------------------------------------------------------------------

_COSTS: dict[tuple, object] = {}


def variant_map(model_ids: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
    """Supernet sub-networks of the scenario's models: ``{model: [(variant name, accuracy)]}``."""
    from workloads import supernet

    out = {}
    for model_id in model_ids:
        if supernet.has_variants(model_id):
            out[model_id] = [(v.name, v.accuracy) for v in supernet.variants(model_id)[1:]]
    return out


def cost_arrays(scenario, system, analysis: str):
    """Dense costs of the scenario's models and their supernet variants (cached per process)."""
    from costmodel.table import system_cost_table
    from scheduler import costs as cost_lib
    from scheduler.simulate import scenario_arrays
    from workloads import supernet, zoo

    key = (scenario.name, system.name, analysis)
    if key not in _COSTS:
        ids = scenario_arrays(scenario)[0]
        variants = variant_map(ids)
        models = [zoo.load(i) for i in ids]
        for model_id in variants:
            models += [v.model for v in supernet.variants(model_id)[1:]]
        table = system_cost_table(models, system, analysis=analysis)
        _COSTS[key] = cost_lib.from_table(
            table,
            ids,
            [a.name for a in system.accelerators],
            [float(a.clock_hz) for a in system.accelerators],
            variants=variants,
            source=f"<{analysis} cost table>",
        )
    return _COSTS[key]


@dataclass(frozen=True)
class Point:
    scenario: str
    system: str
    policy: str
    seed: int
    horizon_ms: float
    analysis: str
    params: tuple = ()


def run_point(point: Point) -> tuple[dict, pd.DataFrame | None, pd.DataFrame | None]:
    """Simulate one point; return its runs.csv row, its tuner trace and its accuracy table."""
    from hardware_db import library
    from scheduler import policies, simulate
    from scheduler.supernet_selector import delivered_accuracy
    from workloads import scenario as scenario_lib

    scenario = scenario_lib.load(point.scenario)
    system = library.get_system(point.system)
    costs = cost_arrays(scenario, system, point.analysis)
    policy = policies.get(point.policy, **dict(point.params))
    result = simulate(
        scenario, system, policy, costs=costs, horizon_ms=point.horizon_ms, seed=point.seed
    )
    s = result.summary().iloc[-1]
    acc = delivered_accuracy(result.frames)
    row = {
        "scenario": point.scenario,
        "system": point.system,
        "policy": point.policy,
        "seed": point.seed,
        **{k: float(s[k]) for k in ("uxcost", "score", "miss_rate", "drop_rate", "energy_mj")},
        "e_norm": float(s["e_norm"]),
        "v": float(s["v"]),
        "accuracy": float(acc["accuracy"].iloc[-1]),
    }
    ident = {k: row[k] for k in ("scenario", "system", "policy", "seed")}
    trace = None
    tuner = getattr(policy, "tuner", None)
    if tuner is not None:
        trace = tuner.trace_frame().assign(**ident)
    accuracy = acc.assign(**ident) if getattr(policy, "selector", None) is not None else None
    return row, trace, accuracy


def _run_group(points: Sequence[Point]) -> list[tuple]:
    return [run_point(p) for p in points]


# --- the whole comparison -------------------------------------------------------------------------


@dataclass
class CompareResult:
    runs: pd.DataFrame
    reductions: pd.DataFrame
    summary: pd.DataFrame
    traces: pd.DataFrame
    accuracy: pd.DataFrame


def points_of(config: CompareConfig) -> list[Point]:
    params = dict(config.policy_params)
    return [
        Point(sc, sy, p, seed, config.horizon_ms, config.analysis, params.get(p, ()))
        for sc in config.scenarios
        for sy in config.systems
        for p in config.policies
        for seed in config.seeds
    ]


def run_compare(config: CompareConfig, progress: bool = True) -> CompareResult:
    """Run every point of ``config`` (in a process pool when ``jobs > 1``)."""
    from tqdm import tqdm

    validate(config)
    points = points_of(config)
    # one group per (scenario, system, seed): the worker builds that cost table once
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        groups.setdefault((p.scenario, p.system, p.seed), []).append(p)
    outputs: list[tuple] = []
    with tqdm(total=len(points), disable=not progress, unit="run", desc="compare") as bar:
        if config.jobs > 1 and len(groups) > 1:
            with ProcessPoolExecutor(max_workers=config.jobs) as pool:
                for out in pool.map(_run_group, groups.values()):
                    outputs += out
                    bar.update(len(out))
        else:
            for group in groups.values():
                out = _run_group(group)
                outputs += out
                bar.update(len(out))
    runs = pd.DataFrame([o[0] for o in outputs], columns=list(RUN_COLUMNS))
    traces = [o[1] for o in outputs if o[1] is not None]
    accuracy = [o[2] for o in outputs if o[2] is not None]
    return CompareResult(
        runs=runs,
        reductions=reductions(runs),
        summary=summary_table(runs),
        traces=pd.concat(traces, ignore_index=True) if traces else pd.DataFrame(),
        accuracy=pd.concat(accuracy, ignore_index=True) if accuracy else pd.DataFrame(),
    )


def validate(config: CompareConfig) -> None:
    from hardware_db import library
    from scheduler import policies
    from workloads import scenario as scenario_lib

    for name in config.scenarios:
        scenario_lib.load(name)
    for name in config.systems:
        library.get_system(name)
    for name in config.policies:
        policies.get_class(name)
    if not config.seeds:
        raise RtmmError("no seeds", source="<cli>", allowed="one or more integers")
    if not config.horizon_ms > 0:
        raise RtmmError(f"--horizon-ms {config.horizon_ms}", source="<cli>", allowed="> 0")
    if not config.policies or not config.scenarios or not config.systems:
        raise RtmmError("empty selection", source="<cli>", allowed="at least one of each")


def _geomean_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """Geometric mean of a / b over pairs with both finite and positive."""
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not ok.any():
        return float("nan")
    return float(np.exp(np.mean(np.log(a[ok] / b[ok]))))


def reductions(runs: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Geomean UXCost reduction of ``reference`` against every other policy, per system.

    Runs are paired on (scenario, seed); the reduction is ``1 - geomean(ux_ref / ux_baseline)``.
    Empty when ``reference`` was not run.
    """
    rows = []
    keys = ["scenario", "system", "seed"]
    ref = runs[runs["policy"] == reference]
    if len(ref):
        for system in runs["system"].unique():
            mine = ref[ref["system"] == system]
            for baseline in runs["policy"].unique():
                if baseline == reference or baseline.startswith("sdrm3"):
                    continue
                other = runs[(runs["policy"] == baseline) & (runs["system"] == system)]
                pair = mine.merge(other, on=keys, suffixes=("_ref", "_base"))
                ratio = _geomean_ratio(
                    pair["uxcost_ref"].to_numpy(float), pair["uxcost_base"].to_numpy(float)
                )
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
    return pd.DataFrame(rows, columns=list(REDUCTION_COLUMNS))


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (system, scenario, policy); UXCost as the geometric mean."""
    cols = ["score", "miss_rate", "drop_rate", "energy_mj", "accuracy"]
    grouped = runs.groupby(["system", "scenario", "policy"], sort=False)
    table = grouped[cols].mean()
    table.insert(0, "uxcost", grouped["uxcost"].apply(lambda s: float(np.exp(np.log(s).mean()))))
    return table.reset_index()


def geomean_by_policy(runs: pd.DataFrame) -> pd.DataFrame:
    """Geomean UXCost and mean score per (system, policy) over scenarios and seeds."""
    g = runs.groupby(["system", "policy"], sort=False)
    out = g["uxcost"].apply(lambda s: float(np.exp(np.log(s).mean()))).to_frame("geomean_uxcost")
    out["score"] = g["score"].mean()
    return out.reset_index()


# --- outputs ------------------------------------------------------------------------------------


def write_outputs(result: CompareResult, out: Path, config: CompareConfig, plots: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out / "runs.csv", result.runs)
    atomic_write_csv(out / "reductions.csv", result.reductions)
    atomic_write_csv(out / "summary.csv", result.summary)
    if len(result.traces):
        atomic_write_csv(out / "tuner.csv", result.traces)
    if len(result.accuracy):
        atomic_write_csv(out / "accuracy.csv", result.accuracy)
    if plots:
        for system in result.runs["system"].unique():
            plot_uxcost_bars(result.summary, system, out / f"uxcost_{system}.png")
        if len(result.traces):
            plot_tuner_convergence(result.traces, out / "tuner_convergence.png")
        write_gantt(result.runs, config, out)


def plot_uxcost_bars(summary: pd.DataFrame, system: str, path: Path) -> None:
    import matplotlib

    from rtmm.fileio import atomic_path
    from scheduler.outputs import new_figure

    s = summary[summary["system"] == system]
    scenarios = list(dict.fromkeys(s["scenario"]))
    pols = list(dict.fromkeys(s["policy"]))
    width = 0.8 / max(1, len(pols))
    fig = new_figure((max(7, 1.8 * len(scenarios)), 3.6))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab20"]
    x = np.arange(len(scenarios))
    for k, p in enumerate(pols):
        vals = [
            float(s[(s["scenario"] == sc) & (s["policy"] == p)]["uxcost"].iloc[0])
            for sc in scenarios
        ]
        ax.bar(x + (k - (len(pols) - 1) / 2) * width, vals, width, label=p, color=cmap(k % 20))
    ax.set_xticks(x, scenarios, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("UXCost (geomean over seeds, lower is better)")
    ax.set_title(f"UXCost per scenario on {system}", fontsize=9)
    ax.legend(fontsize=6, ncol=1, loc="upper left", bbox_to_anchor=(1.005, 1.0))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)


#: Windows of the trailing running mean drawn in the tuner convergence plot.
SMOOTH_WINDOWS = 5


def running_mean(values: np.ndarray, k: int = SMOOTH_WINDOWS) -> np.ndarray:
    """Trailing mean over the last ``k`` finite values (fewer at the start; NaN if none)."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(v), np.nan)
    for i in range(len(v)):
        seg = v[max(0, i - k + 1) : i + 1]
        seg = seg[np.isfinite(seg)]
        if len(seg):
            out[i] = seg.mean()
    return out


def plot_tuner_convergence(traces: pd.DataFrame, path: Path) -> None:
    """The online tuner per scenario, one column per system (seed 0 of :data:`REFERENCE`).

    Top row: window UXCost relative to the final smoothed value — raw windows as faint points, the
    trailing running mean over :data:`SMOOTH_WINDOWS` windows as a line, and the *settle window*
    (from then on the running mean stays within 5 % of its final value) as a filled marker; the
    grey band is +-5 %. Rows below: theta = (alpha, beta, gamma, delta) in effect per window.
    """
    import matplotlib

    from rtmm.fileio import atomic_path
    from scheduler.outputs import new_figure
    from scheduler.policies.sdrm3 import THETA_BOUNDS, THETA_NAMES
    from scheduler.tuner import settling_window

    t = traces[traces["policy"] == REFERENCE]
    if not len(t):
        t = traces
    seed = int(t["seed"].min())
    t = t[t["seed"] == seed]
    systems = list(dict.fromkeys(t["system"]))
    scenarios = list(dict.fromkeys(t["scenario"]))
    colors = {sc: matplotlib.colormaps["tab10"](k % 10) for k, sc in enumerate(scenarios)}
    rows = 1 + len(THETA_NAMES)
    fig = new_figure((5.2 * len(systems), 1.9 * rows + 1.2))
    axes = fig.subplots(
        rows,
        len(systems),
        sharex="col",
        squeeze=False,
        gridspec_kw={"height_ratios": [2.2] + [1.0] * len(THETA_NAMES)},
    )
    for col, system in enumerate(systems):
        top = axes[0, col]
        top.axhspan(0.95, 1.05, color="0.88", zorder=0)
        for scenario in scenarios:
            g = t[(t["system"] == system) & (t["scenario"] == scenario)].sort_values("window")
            if not len(g):
                continue
            w = g["window"].to_numpy()
            ux = g["uxcost"].to_numpy(float)
            smooth = running_mean(ux)
            finite = np.isfinite(smooth)
            ref = smooth[finite][-1] if finite.any() and smooth[finite][-1] > 0 else 1.0
            c = colors[scenario]
            top.plot(w, ux / ref, ".", color=c, alpha=0.25, markersize=3)
            settle = settling_window(smooth[finite])
            label = f"{scenario} (settles w{int(w[finite][settle])})" if finite.any() else scenario
            top.plot(w, smooth / ref, "-", color=c, lw=1.4, label=label)
            if finite.any():
                top.plot(w[finite][settle], smooth[finite][settle] / ref, "o", color=c, ms=6)
            for k, name in enumerate(THETA_NAMES):
                axes[1 + k, col].plot(w, g[name], "-", color=c, lw=1.1, drawstyle="steps-post")
        top.set_yscale("log")
        top.set_ylim(0.5, 2.0)
        top.set_title(f"{system}: window UXCost / final running mean", fontsize=9)
        top.legend(fontsize=6, loc="upper right")
        for k, name in enumerate(THETA_NAMES):
            ax = axes[1 + k, col]
            lo, hi = THETA_BOUNDS[k]
            ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
            ax.set_ylabel(name, fontsize=8)
            ax.tick_params(labelsize=7)
        axes[-1, col].set_xlabel(
            "tuner window (short hyperperiod, else longest period)", fontsize=8
        )
    axes[0, 0].set_ylabel(f"UXCost ratio (dots: windows,\nline: mean of last {SMOOTH_WINDOWS})")
    fig.suptitle(
        f"SDRM3 online tuner, seed {seed}; filled marker: settle window "
        "(running mean within 5 % of final from then on)",
        fontsize=9,
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def hardest(runs: pd.DataFrame) -> tuple[str, str]:
    """(scenario, system) with the highest geomean UXCost of the baselines."""
    base = runs[~runs["policy"].str.startswith("sdrm3")]
    if not len(base):
        base = runs
    g = base.groupby(["scenario", "system"])["uxcost"].apply(lambda s: np.exp(np.log(s).mean()))
    return tuple(g.idxmax())


def write_gantt(runs: pd.DataFrame, config: CompareConfig, out: Path) -> None:
    from hardware_db import library
    from scheduler import policies, simulate
    from scheduler.outputs import plot_gantt
    from workloads import scenario as scenario_lib

    scenario_name, system_name = hardest(runs)
    policy = REFERENCE if REFERENCE in config.policies else config.policies[0]
    scenario = scenario_lib.load(scenario_name)
    system = library.get_system(system_name)
    costs = cost_arrays(scenario, system, config.analysis)
    result = simulate(
        scenario,
        system,
        policies.get(policy, **dict(dict(config.policy_params).get(policy, ()))),
        costs=costs,
        horizon_ms=config.horizon_ms,
        seed=config.seeds[0],
    )
    plot_gantt(result, out / f"gantt_{scenario_name}_{system_name}.png", max_ms=700.0)


def format_report(result: CompareResult) -> str:
    """The printed table and the reductions, as text."""
    lines = []
    pd_opts = {"float_format": lambda v: f"{v:.4g}"}
    for system, s in result.summary.groupby("system", sort=False):
        lines.append(f"== {system}: mean over seeds (UXCost: geomean) ==")
        shown = s.drop(columns=["system"]).rename(columns={"energy_mj": "energy_mJ"})
        lines.append(shown.to_string(index=False, **pd_opts))
    g = geomean_by_policy(result.runs)
    lines.append("== geomean UXCost over scenarios and seeds ==")
    lines.append(g.sort_values(["system", "geomean_uxcost"]).to_string(index=False, **pd_opts))
    if len(result.reductions):
        lines.append(f"== geomean UXCost reduction of {REFERENCE} (with tuner) ==")
        r = result.reductions.copy()
        r["geomean_uxcost_reduction"] = r["geomean_uxcost_reduction"].map(lambda v: f"{v:+.1%}")
        lines.append(r.to_string(index=False, **pd_opts))
    return "\n".join(lines)


# --- CLI ----------------------------------------------------------------------------------------


def _csv_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _seeds(text: str) -> tuple[int, ...]:
    try:
        if ".." in text:
            lo, hi = text.split("..")
            if not 0 <= int(lo) <= int(hi) < min(int(lo) + MAX_SEEDS, INT64_MAX):
                raise ValueError(text)
            return tuple(range(int(lo), int(hi) + 1))
        if "," not in text and text.strip().isdigit() and int(text) > 0:
            if int(text) > MAX_SEEDS:
                raise ValueError(text)
            return tuple(range(int(text)))
        seeds = tuple(int(t) for t in _csv_list(text))
        if not 0 < len(seeds) <= MAX_SEEDS or not all(0 <= s <= INT64_MAX for s in seeds):
            raise ValueError(text)
        return seeds
    except ValueError:
        raise RtmmError(
            f"--seeds {text!r}",
            source="<cli>",
            allowed=f"a count N, a list 0,1,2 or a range 0..4 (at most {MAX_SEEDS} seeds >= 0)",
        ) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare SDRM3 with every baseline on the RTMM scenarios (the main job)",
        description="Run the RTMM scenarios on the dual WS+OS systems under every baseline and "
        "SDRM3 (with/without tuner, with/without Supernet) over several seeds; print a table and "
        "the geomean UXCost reduction of SDRM3; write runs.csv, reductions.csv, summary.csv, "
        "tuner.csv, accuracy.csv and PNG figures into --out.",
    )
    p.add_argument("--scenarios", type=_csv_list, default=DEFAULT_SCENARIOS, help="comma list")
    p.add_argument("--systems", type=_csv_list, default=DEFAULT_SYSTEMS, help="comma list")
    p.add_argument("--policies", type=_csv_list, default=None, help="comma list (default: all)")
    p.add_argument(
        "--seeds", type=_seeds, default=(0, 1, 2, 3, 4), help="N, a list or a range (default 5)"
    )
    p.add_argument("--horizon-ms", type=float, default=2000.0, help="simulated time per run")
    p.add_argument("--analysis", default="maestro", help="cost analysis (maestro or native)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", default="results/compare", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.jobs <= 1024:
        raise RtmmError(f"--jobs {args.jobs}", source="<cli>", allowed="1..1024")
    if not 0 < args.horizon_ms <= MAX_HORIZON_MS:
        allowed = f"> 0 and <= {MAX_HORIZON_MS:g}"
        raise RtmmError(f"--horizon-ms {args.horizon_ms}", source="<cli>", allowed=allowed)
    config = CompareConfig(
        scenarios=tuple(args.scenarios),
        systems=tuple(args.systems),
        policies=tuple(args.policies) if args.policies else default_policies(),
        seeds=tuple(args.seeds),
        horizon_ms=float(args.horizon_ms),
        analysis=args.analysis,
        jobs=int(args.jobs),
    )
    result = run_compare(config, progress=not args.quiet)
    write_outputs(result, Path(args.out), config, plots=not args.no_plots)
    print(format_report(result))
    print(f"-> {args.out}")
    return 0
