"""``rtmm compare``: every scheduler on the RTMM scenarios under the same engine mechanics.

The main job of the project (README). On built-in defaults it runs the five RTMM scenarios on the
dual WS+OS systems ``xrbench-4k-J`` and ``xrbench-8k-J`` — SDRM3's *tuning set*
(:data:`scheduler.policies.sdrm3.TUNING_SYSTEMS`); the held-out evaluation on other systems is
``benchmarks/bench_compare.py --heldout`` — under every registered baseline and the SDRM3
variants, over several seeds, in native mode, and writes into ``--out``:

- ``runs.csv``: one row per (scenario, system, policy, seed) — uxcost, score (XRBench, 0-1 scale),
  miss_rate, drop_rate, energy_mj, e_norm, v, accuracy, starved models;
- ``scenarios.csv``: per (system, scenario) its ideal load, the best fair baseline, SDRM3's
  UXCost reduction against it with a 95 % bootstrap CI, scores, miss/drop rates, starved models;
- ``overall.csv``: per system SDRM3's geomean reduction against the per-scenario best baselines;
- ``reductions.csv``: per (baseline, system) SDRM3's geomean reduction against that baseline;
- ``summary.csv``: per (system, scenario, policy) means over seeds (UXCost: geomean);
- ``accuracy.csv`` / ``tuner.csv``: Supernet accuracy and tuner traces; figures (PNG).

Protocol: every policy runs with the same :class:`~scheduler.mechanics.FrameMechanics` (hopeless
frames dropped, feasibility-aware placement, migration cost) and the same off-chip contention
model; release jitter (default 2 ms, uniform per frame) makes seeds differ. ``--as-published``
adds each baseline once more without the engine's drop and placement, labelled
``<name>@published``; those runs never enter the "best fair baseline".

Points run in a process pool (``--jobs``); cost tables are built once per (scenario, system) per
worker.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dse import compare_plots
from dse.compare_points import (
    DEFAULT_JITTER_MS,
    FAIR,
    Point,
    cost_arrays,
    run_group,
)
from dse.compare_stats import (
    REFERENCE,
    geomean_by_policy,
    ideal_load,
    overall,
    reductions,
    scenario_comparison,
    summary_table,
)
from rtmm.errors import RtmmError
from rtmm.fileio import atomic_write_csv, atomic_write_text
from rtmm.limits import INT64_MAX, MAX_HORIZON_MS, MAX_SEEDS
from rtmm.names import spec_label
from scheduler.metrics import geomean
from scheduler.outputs import engine_label
from scheduler.pipeline import DEFAULT_ANALYSIS

DEFAULT_SCENARIOS = (
    "social_interaction_a",
    "outdoor_activity_a",
    "ar_assistant",
    "ar_gaming",
    "vr_gaming",
)
DEFAULT_SYSTEMS = ("xrbench-4k-J", "xrbench-8k-J")
SDRM3_POLICIES = ("sdrm3", "sdrm3_static", "sdrm3_supernet", "sdrm3_static_supernet")
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
    "starved",
    "starved_models",
)


@dataclass(frozen=True)
class CompareConfig:
    """What to run. Defaults are the README's ``rtmm compare``."""

    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    systems: tuple[str, ...] = DEFAULT_SYSTEMS
    policies: tuple[str, ...] = field(default_factory=lambda: default_policies())
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    horizon_ms: float = 2000.0
    analysis: str = DEFAULT_ANALYSIS["native"]
    jobs: int = 2
    policy_params: tuple[tuple[str, tuple], ...] = ()
    jitter_ms: float = DEFAULT_JITTER_MS
    contention: bool = True
    as_published: bool = False


def default_policies() -> tuple[str, ...]:
    """Every registered baseline, then the SDRM3 variants."""
    from scheduler import policies

    names = policies.names()
    baselines = [n for n in names if not n.startswith("sdrm3")]
    return tuple(baselines) + tuple(p for p in SDRM3_POLICIES if p in names)


# --- the whole comparison -------------------------------------------------------------------------


@dataclass
class CompareResult:
    runs: pd.DataFrame
    reductions: pd.DataFrame
    summary: pd.DataFrame
    traces: pd.DataFrame
    accuracy: pd.DataFrame
    scenarios: pd.DataFrame
    overall: pd.DataFrame
    loads: pd.DataFrame


def points_of(config: CompareConfig) -> list[Point]:
    params = dict(config.policy_params)
    out = []
    for sc in config.scenarios:
        for sy in config.systems:
            for p in config.policies:
                published = (
                    (False, True) if config.as_published and not p.startswith("sdrm3") else (False,)
                )
                for pub in published:
                    for seed in config.seeds:
                        out.append(
                            Point(
                                sc, sy, p, seed, config.horizon_ms, config.analysis,
                                params.get(p, ()), config.jitter_ms, config.contention, pub,
                            )
                        )  # fmt: skip
    return out


def scenario_loads(config: CompareConfig) -> pd.DataFrame:
    """Ideal load (work / capacity) of every (system, scenario) of ``config``."""
    from hardware_db import library
    from scheduler.simulate import scenario_arrays
    from workloads import scenario as scenario_lib

    rows = []
    for sc in config.scenarios:
        scenario = scenario_lib.load(sc)
        _, fps, parents, prob = scenario_arrays(scenario)
        periods = np.array([1000.0 / f for f in fps])
        for sy in config.systems:
            costs = cost_arrays(scenario, library.get_system(sy), config.analysis)
            load = ideal_load(costs, periods, parents, prob)
            rows.append(
                {
                    "system": spec_label(sy),
                    "scenario": spec_label(sc),
                    "ideal_load": load,
                    "overloaded": load > 1,
                }
            )
    return pd.DataFrame(rows, columns=["system", "scenario", "ideal_load", "overloaded"])


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
                for out in pool.map(run_group, groups.values()):
                    outputs += out
                    bar.update(len(out))
        else:
            for group in groups.values():
                out = run_group(group)
                outputs += out
                bar.update(len(out))
    runs = pd.DataFrame([o[0] for o in outputs], columns=list(RUN_COLUMNS))
    traces = [o[1] for o in outputs if o[1] is not None]
    accuracy = [o[2] for o in outputs if o[2] is not None]
    loads = scenario_loads(config)
    return CompareResult(
        runs=runs,
        reductions=reductions(runs),
        summary=summary_table(runs),
        traces=pd.concat(traces, ignore_index=True) if traces else pd.DataFrame(),
        accuracy=pd.concat(accuracy, ignore_index=True) if accuracy else pd.DataFrame(),
        scenarios=scenario_comparison(runs, loads),
        overall=overall(runs),
        loads=loads,
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
    for kind, specs in (("scenarios", config.scenarios), ("systems", config.systems)):
        labels = [spec_label(s) for s in specs]
        if len(set(labels)) != len(labels):
            raise RtmmError(
                f"two {kind} have the same name ({', '.join(map(str, specs))})",
                source="<cli>",
                allowed=f"{kind} whose names (file stems) differ",
            )
    if not config.seeds:
        raise RtmmError("no seeds", source="<cli>", allowed="one or more integers")
    if not (np.isfinite(config.jitter_ms) and config.jitter_ms >= 0):
        raise RtmmError(f"--jitter-ms {config.jitter_ms}", source="<cli>", allowed=">= 0")
    if not config.horizon_ms > 0:
        raise RtmmError(f"--horizon-ms {config.horizon_ms}", source="<cli>", allowed="> 0")
    if not config.policies or not config.scenarios or not config.systems:
        raise RtmmError("empty selection", source="<cli>", allowed="at least one of each")


# --- outputs ------------------------------------------------------------------------------------


def write_outputs(result: CompareResult, out: Path, config: CompareConfig, plots: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    run_info = {
        "engine": engine_label("native"),
        "cost_analysis": config.analysis,
        **{k: v for k, v in dataclasses.asdict(config).items() if k != "analysis"},
    }
    atomic_write_text(out / "run.json", json.dumps(run_info, indent=2, default=str) + "\n")
    atomic_write_csv(out / "runs.csv", result.runs)
    atomic_write_csv(out / "reductions.csv", result.reductions)
    atomic_write_csv(out / "summary.csv", result.summary)
    atomic_write_csv(out / "loads.csv", result.loads)
    if len(result.scenarios):
        atomic_write_csv(out / "scenarios.csv", result.scenarios)
        atomic_write_csv(out / "overall.csv", result.overall)
    if len(result.traces):
        atomic_write_csv(out / "tuner.csv", result.traces)
    if len(result.accuracy):
        atomic_write_csv(out / "accuracy.csv", result.accuracy)
    if plots:
        for system in result.runs["system"].unique():
            compare_plots.plot_uxcost_bars(result.summary, system, out / f"uxcost_{system}.png")
        if len(result.traces):
            compare_plots.plot_tuner_convergence(result.traces, out / "tuner_convergence.png")
        write_gantt(result.runs, config, out)


def hardest(runs: pd.DataFrame) -> tuple[str, str]:
    """(scenario, system) with the highest geomean UXCost of the baselines."""
    base = runs[~runs["policy"].str.startswith("sdrm3")]
    if not len(base):
        base = runs
    g = base.groupby(["scenario", "system"])["uxcost"].apply(lambda s: geomean(s))
    return tuple(g.idxmax())


def write_gantt(runs: pd.DataFrame, config: CompareConfig, out: Path) -> None:
    from hardware_db import library
    from scheduler import policies, simulate
    from scheduler.outputs import plot_gantt
    from workloads import scenario as scenario_lib

    scenario_name, system_name = hardest(runs)  # labels (file stems); map back to the specs
    scenario_spec = {spec_label(s): s for s in config.scenarios}[scenario_name]
    system_spec = {spec_label(s): s for s in config.systems}[system_name]
    policy = REFERENCE if REFERENCE in config.policies else config.policies[0]
    scenario = scenario_lib.load(scenario_spec)
    system = library.get_system(system_spec)
    costs = cost_arrays(scenario, system, config.analysis)
    result = simulate(
        scenario,
        system,
        policies.get(policy, **dict(dict(config.policy_params).get(policy, ()))),
        costs=costs,
        horizon_ms=config.horizon_ms,
        seed=config.seeds[0],
        jitter_ms=config.jitter_ms,
        offchip_contention=config.contention,
        mechanics=FAIR,
    )
    plot_gantt(result, out / f"gantt_{scenario_name}_{system_name}.png", max_ms=700.0)


def format_report(result: CompareResult) -> str:
    """The printed tables, as text: UXCost always beside score, miss, drop, energy, starved."""
    lines = []
    pd_opts = {"float_format": lambda v: f"{v:.4g}"}
    if len(result.loads):
        lines.append("== ideal load (work / capacity; > 1: overloaded, no schedule meets all) ==")
        loads = result.loads.copy()
        loads["overloaded"] = loads["overloaded"].map({True: "OVERLOADED", False: ""})
        lines.append(loads.to_string(index=False, **pd_opts))
    for system, s in result.summary.groupby("system", sort=False):
        lines.append(f"== {system}: mean over seeds (UXCost: geomean) ==")
        shown = s.drop(columns=["system"]).rename(columns={"energy_mj": "energy_mJ"})
        lines.append(shown.to_string(index=False, **pd_opts))
    lines.append("== geomean UXCost over scenarios and seeds ==")
    g = geomean_by_policy(result.runs)
    lines.append(g.sort_values(["system", "geomean_uxcost"]).to_string(index=False, **pd_opts))
    if len(result.scenarios):
        lines.append(
            f"== {REFERENCE} vs the best fair baseline per scenario "
            "(reduction of geomean UXCost, 95 % bootstrap CI; load > 1: overloaded) =="
        )
        c = result.scenarios.copy()
        for col in ("reduction", "ci_low", "ci_high"):
            c[col] = c[col].map(lambda v: f"{v:+.1%}")
        if "ideal_load" in c:
            c["ideal_load"] = c["ideal_load"].map(lambda v: f"{v:.2f}" + (" OVER" if v > 1 else ""))
        lines.append(c.to_string(index=False, **pd_opts))
        o = result.overall.copy()
        for col in ("reduction_vs_best_fair", "ci_low", "ci_high"):
            o[col] = o[col].map(lambda v: f"{v:+.1%}")
        lines.append("== overall: geomean reduction against each scenario's best fair baseline ==")
        lines.append(o.to_string(index=False, **pd_opts))
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
        "SDRM3 (with/without tuner, with/without Supernet) over several seeds, all with the same "
        "engine mechanics and release jitter; print per scenario SDRM3 against the best fair "
        "baseline with 95 %% bootstrap CIs; write runs.csv, scenarios.csv, overall.csv, "
        "reductions.csv, summary.csv, loads.csv, tuner.csv, accuracy.csv and PNG figures.",
    )
    p.add_argument("--scenarios", type=_csv_list, default=DEFAULT_SCENARIOS, help="comma list")
    p.add_argument("--systems", type=_csv_list, default=DEFAULT_SYSTEMS, help="comma list")
    p.add_argument("--policies", type=_csv_list, default=None, help="comma list (default: all)")
    p.add_argument(
        "--seeds", type=_seeds, default=(0, 1, 2, 3, 4), help="N, a list or a range (default 5)"
    )
    p.add_argument("--horizon-ms", type=float, default=2000.0, help="simulated time per run")
    p.add_argument(
        "--analysis",
        default=DEFAULT_ANALYSIS["native"],
        help=f"cost analysis: maestro or native (default {DEFAULT_ANALYSIS['native']})",
    )
    p.add_argument(
        "--jitter-ms", type=float, default=DEFAULT_JITTER_MS, help="release jitter (default 2)"
    )
    p.add_argument(
        "--no-contention", action="store_true", help="no shared off-chip bandwidth contention"
    )
    p.add_argument(
        "--as-published",
        action="store_true",
        help="also run each baseline without the engine's drop and placement (labelled)",
    )
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
        jitter_ms=float(args.jitter_ms),
        contention=not args.no_contention,
        as_published=bool(args.as_published),
    )
    result = run_compare(config, progress=not args.quiet)
    write_outputs(result, Path(args.out), config, plots=not args.no_plots)
    print(
        f"rtmm compare: engine: {engine_label('native')}; cost analysis: {config.analysis}; "
        f"{len(config.seeds)} seeds x {config.horizon_ms:g} ms; jitter {config.jitter_ms:g} ms"
    )
    print(format_report(result))
    print(f"-> {args.out}")
    return 0
