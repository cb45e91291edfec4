"""``rtmm sweep``: run (or resume) a design-space sweep into a SQLite results store;
``rtmm pareto``: the non-dominated points of a store (table, CSV, plot)."""

from __future__ import annotations

import argparse
import difflib
import sys

import pandas as pd
from pydantic import BaseModel

from dse.executors import EXECUTOR_NAMES, make_executor
from dse.pareto import pareto_front, parse_objectives
from dse.runner import run_sweep
from dse.spec import ExecutorModel, SweepFile
from dse.store import load
from dse.sweep import load_spec
from rtmm.errors import SpecError
from rtmm.fileio import atomic_write_csv
from rtmm.validation import field_checker, flag_help, validate
from scheduler.outputs import engine_label
from scheduler.pipeline import default_analysis

#: Flags that set a field of the sweep spec: their bounds (and help) come from the spec model.
FLAG_FIELDS: dict[str, tuple[type[BaseModel], str]] = {
    "workers": (ExecutorModel, "workers"),
    "batch_size": (SweepFile, "batch_size"),
}


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
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help=flag_help(*FLAG_FIELDS["workers"], "worker processes"),
    )
    p.add_argument(
        "--scheduler-address",
        default=None,
        metavar="tcp://HOST:PORT",
        help="a running dask scheduler (implies --executor dask)",
    )
    p.add_argument("--resume", action="store_true", help="continue a sweep already in the store")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help=flag_help(*FLAG_FIELDS["batch_size"], "points per task"),
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary line")
    p.set_defaults(func=handle_sweep)

    q = subparsers.add_parser(
        "pareto",
        help="the Pareto front of a sweep's results store",
        description="Print the non-dominated design points of a results store for two or more "
        "metrics, optionally restricted to some parameter values; write them as CSV and plot "
        "the front (the first two objectives) over all points.",
    )
    q.add_argument("store", metavar="STORE", help="results store written by rtmm sweep")
    q.add_argument(
        "--objectives",
        default="energy_mj:min,score:max",
        metavar="M:min|max,...",
        help="metrics and directions (default: energy_mj:min,score:max)",
    )
    q.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="keep only rows whose column equals the value (repeatable)",
    )
    q.add_argument("--csv", default=None, metavar="PATH", help="write the front as CSV")
    q.add_argument("--plot", default=None, metavar="PATH", help="plot the front (.png/.pdf/.svg)")
    q.set_defaults(func=handle_pareto)


def handle_sweep(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    for key, value in (("workers", args.workers), ("batch_size", args.batch_size)):
        if value is not None:
            flag = "--" + key.replace("_", "-")
            validate(field_checker(*FLAG_FIELDS[key]), value, source="<cli>", prefix=flag)
    name = args.executor or ("dask" if args.scheduler_address else spec.executor.name)
    address = args.scheduler_address or (spec.executor.address if name == "dask" else None)
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
        print(what_produced(spec), file=sys.stderr)
    return 0


#: Columns that define *what* is being run rather than the design: a front across several values
#: of one of them compares unlike workloads, so ``rtmm pareto`` refuses to mix them.
WORKLOAD_COLUMNS = ("scenario",)


def what_produced(spec) -> str:
    """The cost analyses and engine modes of a sweep, named (the store's ``analysis`` column is
    empty for points that use the mode's default analysis, so the default is named here)."""
    modes = list(dict.fromkeys(spec.modes.values))
    if len(modes) == 1:
        default = f"{default_analysis(modes[0] == 'xrbench')} (default)"
    else:
        default = (
            "default ("
            + ", ".join(f"{default_analysis(m == 'xrbench')} in {m} mode" for m in modes)
            + ")"
        )
    analyses = ", ".join(a or default for a in spec.analysis.values)
    engines = ", ".join(engine_label(m) for m in spec.modes.values)
    return f"cost analysis: {analyses}; engine: {engines}"


def handle_pareto(args: argparse.Namespace) -> int:
    """Print (and write/plot) the Pareto front of a store's ``ok`` points.

    ``--where`` values must exist in the store (else the error lists the allowed values, closest
    first). A store holding several scenarios is refused unless ``--where`` selects one: a front
    across scenarios would let a light workload's points dominate a heavy one's.
    """
    frame = load(args.store)
    frame = frame[frame["status"] == "ok"]
    for condition in args.where:
        frame = _where(frame, condition)
    for column in WORKLOAD_COLUMNS:
        values = sorted(map(str, frame[column].dropna().unique())) if column in frame else []
        if len(values) > 1:
            raise SpecError(
                f"the store holds {len(values)} {column}s ({', '.join(values)}); "
                "a front across them would compare unlike workloads",
                source=args.store,
                field="--where",
                allowed=f"--where {column}=NAME with NAME one of {', '.join(values)}",
            )
    objectives = parse_objectives(args.objectives)
    front = pareto_front(frame, objectives)
    shown = [c for c in front.columns if c not in ("seq", "status", "error")]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(front[shown].to_string(index=False))
    print(f"{len(front)} of {len(frame)} points on the front", file=sys.stderr)
    if args.csv:
        atomic_write_csv(args.csv, front)
    if args.plot:
        from dse.plots import plot_pareto

        x, y = list(objectives)[:2]
        plot_pareto(frame, x, y, {x: objectives[x], y: objectives[y]}, path=args.plot)
    return 0


def _where(frame: pd.DataFrame, condition: str) -> pd.DataFrame:
    column, sep, value = condition.partition("=")
    if not sep or column not in frame.columns:
        raise SpecError(
            f"bad condition '{condition}'",
            source="<cli>",
            field="--where",
            allowed="COLUMN=VALUE with a column of the store: " + ", ".join(map(str, frame)),
        )
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series):
        try:
            kept = frame[series == float(value)]
        except ValueError:
            raise SpecError(f"'{value}' is not a number", source="<cli>", field="--where") from None
    else:
        kept = frame[series.astype(str) == value]
    if kept.empty:
        present = [str(v) for v in series.dropna().unique()]
        close = difflib.get_close_matches(value, present, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        shown = sorted(present)[:20] + (["..."] if len(present) > 20 else [])
        raise SpecError(
            f"no point has {column} = {value!r}; {hint}".rstrip("; "),
            source="<cli>",
            field="--where",
            allowed=f"{column} values in the store: {', '.join(shown) or 'none'}",
        )
    return kept
