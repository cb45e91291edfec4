"""``rtmm compare``: every scheduler on the RTMM scenarios under the same engine mechanics.

The main job of the project (README). On built-in defaults it runs the five RTMM scenarios on the
dual WS+OS systems ``xrbench-4k-J`` and ``xrbench-8k-J`` — two of the 16 systems of SDRM3's
*tuning set* (:data:`scheduler.policies.sdrm3.TUNING_SYSTEMS`); the held-out evaluation on
other systems is ``benchmarks/bench_compare.py --heldout`` — under every registered baseline and
the SDRM3 variants, over several seeds, in native mode, and writes into ``--out``:

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

The runs are a built-in sweep (:mod:`dse.compare_run`): they run on the sweep runner and its
executors (``--executor local|dask|serial``, ``--jobs``, ``--scheduler-address``) into the results
store ``OUT/results.sqlite`` (``results.sqlite`` beside the tables), batched per (scenario, system)
so a worker costs a system once. Running the same command again computes only the runs the store
lacks; ``--figures-only`` redraws every table and figure from the store without simulating.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from dse import compare_plots
from dse.compare_points import (
    DEFAULT_JITTER_MS,
    DEFAULT_SCENARIOS,
    DEFAULT_SYSTEMS,
    FAIR,
    SDRM3_POLICIES,
    CompareConfig,
    Point,
    cost_arrays,
    default_policies,
    points_of,
)
from dse.compare_run import (
    RUN_COLUMNS,
    STORE_NAME,
    CompareResult,
    hardest,
    results_from_store,
    run_compare,
    stored_config,
    validate,
)
from dse.compare_stats import (
    REFERENCE,
    geomean_by_policy,
    overall,
    reductions,
    scenario_comparison,
    summary_table,
)
from dse.executors import EXECUTOR_NAMES, check_address
from rtmm.errors import RtmmError
from rtmm.fileio import atomic_write_csv, atomic_write_text
from rtmm.limits import INT64_MAX, MAX_HORIZON_MS, MAX_SEEDS
from scheduler.outputs import engine_label
from scheduler.pipeline import DEFAULT_ANALYSIS

__all__ = [
    "DEFAULT_JITTER_MS", "DEFAULT_SCENARIOS", "DEFAULT_SYSTEMS", "FAIR", "REFERENCE",
    "RUN_COLUMNS", "SDRM3_POLICIES", "STORE_NAME", "CompareConfig", "CompareResult", "Point",
    "cost_arrays", "default_policies", "format_report", "geomean_by_policy", "hardest", "overall",
    "points_of", "reductions", "results_from_store", "run_compare", "scenario_comparison",
    "summary_table", "validate", "write_outputs",
]  # fmt: skip


# --- outputs ------------------------------------------------------------------------------------


def write_outputs(result: CompareResult, out: Path, config: CompareConfig, plots: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    run_info = {
        "engine": engine_label("native"),
        "cost_analysis": config.analysis,
        **{k: v for k, v in dataclasses.asdict(config).items() if k != "analysis"},
        "runs_computed": result.computed,
        "runs_reused": result.reused,
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
        write_gantt(result, out)


def write_gantt(result: CompareResult, out: Path) -> None:
    """The Gantt chart of the stored run of the hardest scenario (no simulation)."""
    from scheduler.outputs import plot_gantt

    run = result.gantt
    if run is not None:
        scenario, system = hardest(result.runs)
        plot_gantt(run, out / f"gantt_{scenario}_{system}.png", max_ms=700.0)


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
            "(reduction of geomean UXCost, 95 % bootstrap CI; load > 1: overloaded; max_reduction: "
            "the most any full-model schedule could reach, from a lower bound on UXCost) =="
        )
        c = result.scenarios.copy()
        for col in ("reduction", "ci_low", "ci_high", "max_reduction"):
            if col in c:
                c[col] = c[col].map(lambda v: f"{v:+.1%}")
        if "ideal_load" in c:
            c["ideal_load"] = c["ideal_load"].map(lambda v: f"{v:.2f}" + (" OVER" if v > 1 else ""))
        lines.append(c.to_string(index=False, **pd_opts))
        o = result.overall.copy()
        for col in ("reduction_vs_best_fair", "ci_low", "ci_high", "max_reduction"):
            if col in o:
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


#: Options that choose the runs (``None``: not given); ``--figures-only`` takes them from the store.
_RUN_OPTIONS: dict[str, Any] = {
    "scenarios": DEFAULT_SCENARIOS,
    "systems": DEFAULT_SYSTEMS,
    "policies": None,
    "seeds": (0, 1, 2, 3, 4),
    "horizon_ms": 2000.0,
    "analysis": DEFAULT_ANALYSIS["native"],
    "jitter_ms": DEFAULT_JITTER_MS,
    "no_contention": False,
    "as_published": False,
    "extend": False,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare SDRM3 with every baseline on the RTMM scenarios (the main job)",
        description="Run the RTMM scenarios on the dual WS+OS systems under every baseline and "
        "SDRM3 (with/without tuner, with/without Supernet) over several seeds, all with the same "
        "engine mechanics and release jitter; print per scenario SDRM3 against the best fair "
        "baseline with 95 %% bootstrap CIs; write runs.csv, scenarios.csv, overall.csv, "
        "reductions.csv, summary.csv, loads.csv, tuner.csv, accuracy.csv and PNG figures. Every "
        "run is kept in OUT/results.sqlite: the same command again computes only the runs it "
        "lacks, and --figures-only redraws the outputs from it without simulating.",
    )
    p.add_argument("--scenarios", type=_csv_list, default=None, help="comma list")
    p.add_argument("--systems", type=_csv_list, default=None, help="comma list")
    p.add_argument("--policies", type=_csv_list, default=None, help="comma list (default: all)")
    p.add_argument("--seeds", type=_seeds, default=None, help="N, a list or a range (default 5)")
    p.add_argument("--horizon-ms", type=float, default=None, help="simulated time per run (2000)")
    p.add_argument(
        "--analysis",
        default=None,
        help=f"cost analysis: maestro or native (default {DEFAULT_ANALYSIS['native']})",
    )
    p.add_argument("--jitter-ms", type=float, default=None, help="release jitter (default 2)")
    p.add_argument(
        "--no-contention", action="store_true", help="no shared off-chip bandwidth contention"
    )
    p.add_argument(
        "--as-published",
        action="store_true",
        help="also run each baseline without the engine's drop and placement (labelled)",
    )
    p.add_argument(
        "--jobs", "--workers", dest="jobs", type=int, default=min(2, os.cpu_count() or 1),
        metavar="N", help="worker processes (1: in this process)",
    )  # fmt: skip
    p.add_argument(
        "--executor",
        choices=EXECUTOR_NAMES,
        default=None,
        help="where to run (default: local, or serial with --jobs 1)",
    )
    p.add_argument(
        "--scheduler-address",
        default=None,
        metavar="tcp://HOST:PORT",
        help="a running dask scheduler (implies --executor dask)",
    )
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="runs per task")
    p.add_argument(
        "--extend",
        action="store_true",
        help=f"add to an OUT/{STORE_NAME} of other options (keeping its runs) instead of refusing",
    )
    p.add_argument(
        "--figures-only",
        action="store_true",
        help=f"redraw tables and figures from OUT/{STORE_NAME} with its options; never simulate",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", default="results/compare", help="output folder")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> dict:
    """How to run (never changes a number), checked."""
    for flag, value, most in (("--jobs", args.jobs, 1024), ("--batch-size", args.batch_size,
                                                            1_000_000)):  # fmt: skip
        if value is not None and not 1 <= value <= most:
            raise RtmmError(f"{flag} {value}", source="<cli>", allowed=f"1..{most}")
    executor = args.executor or ("dask" if args.scheduler_address else "local")
    if args.scheduler_address is not None:
        check_address(args.scheduler_address)
    return {
        "jobs": int(args.jobs),
        "executor": executor,
        "scheduler_address": args.scheduler_address,
        "batch_size": args.batch_size,
    }


def _config(args: argparse.Namespace, settings: dict) -> CompareConfig:
    given = {k: getattr(args, k) for k in _RUN_OPTIONS}
    v: dict[str, Any] = {k: _RUN_OPTIONS[k] if x is None else x for k, x in given.items()}
    if not 0 < v["horizon_ms"] <= MAX_HORIZON_MS:
        allowed = f"> 0 and <= {MAX_HORIZON_MS:g}"
        raise RtmmError(f"--horizon-ms {v['horizon_ms']}", source="<cli>", allowed=allowed)
    return CompareConfig(
        scenarios=tuple(v["scenarios"]),
        systems=tuple(v["systems"]),
        policies=tuple(v["policies"]) if v["policies"] else default_policies(),
        seeds=tuple(v["seeds"]),
        horizon_ms=float(v["horizon_ms"]),
        analysis=v["analysis"],
        jitter_ms=float(v["jitter_ms"]),
        contention=not v["no_contention"],
        as_published=bool(v["as_published"]),
        **settings,
    )


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    out = Path(args.out)
    store = out / STORE_NAME
    if args.figures_only:
        given = [k for k in _RUN_OPTIONS if getattr(args, k) not in (None, False)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise RtmmError(
                f"{flag} with --figures-only",
                source="<cli>",
                allowed=f"--figures-only alone: it redraws the runs of the options in {store}",
            )
        config = stored_config(store, **settings)
        result = results_from_store(store, config)
        result.reused = len(result.runs)
    else:
        config = _config(args, settings)
        validate(config)
        created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        try:
            result = run_compare(config, progress=not args.quiet, store=store, extend=args.extend)
        except BaseException:
            if created and not any(out.iterdir()):
                out.rmdir()  # a run that failed before storing anything leaves no folder
            raise
    write_outputs(result, out, config, plots=not args.no_plots)
    print(
        f"rtmm compare: engine: {engine_label('native')}; cost analysis: {config.analysis}; "
        f"{len(config.seeds)} seeds x {config.horizon_ms:g} ms; jitter {config.jitter_ms:g} ms"
    )
    print(
        f"runs: {result.computed} computed, {result.reused} reused from {store}"
        + (" (figures only, nothing simulated)" if args.figures_only else "")
    )
    print(format_report(result))
    print(f"-> {args.out}")
    return 0
