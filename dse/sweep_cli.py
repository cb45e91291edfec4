"""``rtmm sweep``: run (or resume) a design-space sweep into a SQLite results store."""

from __future__ import annotations

import argparse
import sys

from dse.executors import EXECUTOR_NAMES, make_executor
from dse.runner import run_sweep
from dse.sweep import load_spec
from rtmm.errors import SpecError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run a design-space sweep (hardware x scenarios x policies x seeds) into a store",
        description="Expand a sweep spec (YAML) into design points, evaluate them in parallel and "
        "commit each result to a SQLite store as it finishes. An interrupted sweep continues "
        "with --resume and computes only the missing points.",
    )
    p.add_argument("spec", metavar="SPEC.yaml", help="the sweep spec")
    p.add_argument("--store", required=True, metavar="PATH", help="results store (SQLite file)")
    p.add_argument(
        "--executor",
        choices=EXECUTOR_NAMES,
        default=None,
        help="where to run (default: the spec's, else local)",
    )
    p.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes")
    p.add_argument(
        "--scheduler-address",
        default=None,
        metavar="tcp://HOST:PORT",
        help="a running dask scheduler (implies --executor dask)",
    )
    p.add_argument("--resume", action="store_true", help="continue a sweep already in the store")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="points per task")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary line")
    p.set_defaults(func=handle_sweep)


def handle_sweep(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    for flag, value in (("--workers", args.workers), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise SpecError(f"must be >= 1, got {value}", source="<cli>", field=flag)
    address = args.scheduler_address or spec.executor.address
    name = args.executor or ("dask" if args.scheduler_address else spec.executor.name)
    workers = args.workers or spec.executor.workers
    with make_executor(name, workers=workers, address=address) as executor:
        report = run_sweep(
            spec,
            args.store,
            executor=executor,
            resume=args.resume,
            batch_size=args.batch_size,
            progress=not args.quiet,
        )
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
    return 0
