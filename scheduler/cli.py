"""``rtmm simulate``: run one scenario on one system under one policy and write the results."""

from __future__ import annotations

import argparse
from pathlib import Path

from costmodel.analyses import analysis_names
from rtmm.errors import RtmmError
from rtmm.limits import INT64_MAX, MAX_FRAMES, MAX_HORIZON_MS
from rtmm.names import spec_label, unknown_name
from scheduler import policies
from scheduler.outputs import engine_label, write_outputs
from scheduler.pipeline import default_analysis


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate a usage scenario on a system under a scheduling policy",
        description="Discrete-event simulation of a usage scenario on a multi-accelerator system. "
        "Writes summary.csv (XRBench scores on the 0-1 scale, UXCost), frames.csv, timeline.csv, "
        "utilisation.csv, trace.json (Chrome/Perfetto), run.json (what produced the numbers: "
        "engine, cost analysis, inputs) and gantt.png/scores.png into --out (default "
        "results/simulate/<scenario>_<system>_<policy>/).",
    )
    p.add_argument("--scenario", required=True, help="scenario name or YAML path")
    p.add_argument("--system", required=True, help="system name or YAML path")
    p.add_argument(
        "--policy", default="latency_greedy", help=f"one of: {', '.join(policies.names())}"
    )
    p.add_argument(
        "--xrbench-compatible",
        action="store_true",
        help="reproduce the XRBench runtime (float32 ms, base ticks, whole-model dispatch)",
    )
    p.add_argument("--costs", help="external per-layer cost CSV (model,layer_idx,accelerator,...)")
    p.add_argument("--horizon-ms", type=float, default=700.0, help="simulated time (default 700)")
    p.add_argument("--seed", type=int, default=0, help="random seed (cascade triggers, jitter)")
    p.add_argument(
        "--analysis",
        default=None,
        help="maestro or native (default: native; maestro with --xrbench-compatible)",
    )
    p.add_argument("--jitter-ms", type=float, default=0.0, help="native mode: max release jitter")
    p.add_argument(
        "--offchip-contention",
        action="store_true",
        help="native mode: share the off-chip bandwidth between busy accelerators",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument(
        "--out", help="output directory (default results/simulate/<scenario>_<system>_<policy>/)"
    )
    p.set_defaults(
        func=run, default_out=lambda a: default_out_dir(a.scenario, a.system, a.policy)
    )  # the CLI shell fills --out with it before checking every output path


def run(args: argparse.Namespace) -> int:
    from scheduler.simulate import simulate
    from workloads.scenario import load as load_scenario

    if not 0 < args.horizon_ms <= MAX_HORIZON_MS:
        allowed = f"> 0 and <= {MAX_HORIZON_MS:g}"
        raise RtmmError(f"--horizon-ms {args.horizon_ms}", source="<cli>", allowed=allowed)
    if not 0 <= args.jitter_ms <= MAX_HORIZON_MS:
        allowed = f">= 0 and <= {MAX_HORIZON_MS:g}"
        raise RtmmError(f"--jitter-ms {args.jitter_ms}", source="<cli>", allowed=allowed)
    if args.seed > INT64_MAX:
        raise RtmmError(f"--seed {args.seed}", source="<cli>", allowed="integers >= 0 and < 2^63")
    policy = policies.get(args.policy)  # unknown names fail before any work
    scenario = load_scenario(args.scenario)
    frames = sum(m.fps for m in scenario.models) * args.horizon_ms / 1000
    if frames > MAX_FRAMES:
        raise RtmmError(
            f"--horizon-ms {args.horizon_ms} releases {frames:.3g} frames of {args.scenario}",
            source="<cli>",
            allowed=f"at most {MAX_FRAMES} frames per run (a shorter --horizon-ms)",
        )
    if args.analysis is None:
        args.analysis = default_analysis(args.xrbench_compatible)
    if args.analysis not in analysis_names():
        raise unknown_name("analysis", args.analysis, analysis_names(), source="<cli>")
    result = simulate(
        args.scenario,
        args.system,
        policy,
        costs=args.costs,
        xrbench_compatible=args.xrbench_compatible,
        horizon_ms=args.horizon_ms,
        seed=args.seed,
        analysis=args.analysis,
        jitter_ms=args.jitter_ms,
        offchip_contention=args.offchip_contention,
    )
    out = args.out or default_out_dir(args.scenario, args.system, args.policy)
    info = run_info(result, args)
    write_outputs(result, out, plots=not args.no_plots, run=info)
    s = result.summary().iloc[-1]
    print(
        f"{result.scenario} on {result.system} ({result.policy}; engine: {info['engine']}; "
        f"cost analysis: {info['cost_analysis']}): score {s['score']:.4f}  "
        f"uxcost {s['uxcost']:.4g}  miss {s['miss_rate']:.3f}  drop {s['drop_rate']:.3f}  "
        f"energy {s['energy_mj']:.4g} mJ -> {out}"
    )
    return 0


def default_out_dir(scenario: str, system: str, policy: str) -> Path:
    """``results/simulate/<scenario>_<system>_<policy>`` with file paths shortened to stems."""
    label = "_".join(spec_label(x) for x in (scenario, system, policy))
    return Path("results") / "simulate" / label


def run_info(result, args: argparse.Namespace) -> dict:
    """What produced the numbers, for ``run.json`` and the banner."""
    return {
        "scenario": result.scenario,
        "scenario_spec": str(args.scenario),
        "system": result.system,
        "system_spec": str(args.system),
        "policy": result.policy,
        "engine": engine_label(result.mode),
        "cost_analysis": f"external ({args.costs})" if args.costs else args.analysis,
        "costs_file": args.costs,
        "horizon_ms": args.horizon_ms,
        "seed": args.seed,
        "jitter_ms": args.jitter_ms,
        "offchip_contention": bool(args.offchip_contention),
    }
