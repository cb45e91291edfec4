"""``rtmm simulate``: run one scenario on one system under one policy and write the results."""

from __future__ import annotations

import argparse

from rtmm.errors import RtmmError
from rtmm.limits import INT64_MAX, MAX_FRAMES, MAX_HORIZON_MS
from scheduler import policies


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate a usage scenario on a system under a scheduling policy",
        description="Discrete-event simulation of a usage scenario on a multi-accelerator system. "
        "Writes summary.csv (XRBench scores on the 0-1 scale, UXCost), frames.csv, timeline.csv, "
        "utilisation.csv, trace.json (Chrome/Perfetto) and gantt.png/scores.png into --out.",
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
    p.add_argument("--analysis", default="maestro", help="cost analysis: maestro or native")
    p.add_argument("--jitter-ms", type=float, default=0.0, help="native mode: max release jitter")
    p.add_argument(
        "--offchip-contention",
        action="store_true",
        help="native mode: share the off-chip bandwidth between busy accelerators",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--out", required=True, help="output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hardware_db.library import get_system
    from scheduler.costs import check_cost_file
    from scheduler.outputs import write_outputs
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
    if args.costs:  # checked against the models that run, before any simulation
        counts = {m.model_id: len(m.get_model()) for m in scenario.models}
        check_cost_file(args.costs, counts, len(get_system(args.system)))
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
    write_outputs(result, args.out, plots=not args.no_plots)
    s = result.summary().iloc[-1]
    print(
        f"{result.scenario} on {result.system} ({result.policy}, {result.mode}): "
        f"score {s['score']:.4f}  uxcost {s['uxcost']:.4g}  miss {s['miss_rate']:.3f}  "
        f"drop {s['drop_rate']:.3f}  energy {s['energy_mj']:.4g} mJ -> {args.out}"
    )
    return 0
