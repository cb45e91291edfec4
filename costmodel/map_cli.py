"""``rtmm map``: the best mapping of every layer of a layer table or a model on one accelerator.

``rtmm map (--layers LAYERS.csv | --model NAME|FILE) --accelerator NAME|FILE
[--objective latency|energy|edp] [--budget N] [--out mappings.csv] [--no-progress]``

One row per layer: ``layer, latency_cycles, energy_nj, edp, utilisation, bound, feasible,
exhaustive, directives`` (``edp`` = energy_nj x latency_cycles; ``directives`` is the found
mapping as a MAESTRO directive list, usable as an accelerator's ``dataflow``). Costs are the
``native`` analysis's; the search is documented in docs/MAPPER.md. Without ``--out`` the table is
printed. A progress bar (tqdm, on stderr) counts the candidate mappings costed.
"""

from __future__ import annotations

import argparse

import pandas as pd
from tqdm import tqdm

from costmodel.batch import LayerBatch, read_layer_table
from costmodel.mapper import OBJECTIVES, search_mappings
from costmodel.mapper.search import DEFAULT_BUDGET
from hardware_db.library import get_accelerator
from rtmm.errors import RtmmError
from rtmm.fileio import atomic_write_csv
from workloads import zoo


def _budget(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "map",
        help="search the best mapping of every layer on an accelerator",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--layers", metavar="LAYERS.csv", help="layer table to map")
    source.add_argument("--model", metavar="NAME|FILE", help="zoo model name or model file")
    parser.add_argument("--accelerator", metavar="NAME|FILE", help="library accelerator or file")
    parser.add_argument("--objective", type=str.lower, choices=list(OBJECTIVES), default="edp")
    parser.add_argument("--budget", type=_budget, default=DEFAULT_BUDGET,
                        help=f"tile searches per layer (default {DEFAULT_BUDGET})")  # fmt: skip
    parser.add_argument("--out", metavar="OUT.csv", help="write CSV here instead of printing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _layers(args: argparse.Namespace) -> LayerBatch:
    if args.layers:
        return read_layer_table(args.layers)[1]
    if args.model:
        return LayerBatch.from_layers(zoo.load(args.model).layers)
    raise RtmmError("give --layers LAYERS.csv or --model NAME", source="<cli>")


def run(args: argparse.Namespace) -> int:
    if not args.accelerator:
        raise RtmmError("map needs --accelerator NAME|FILE", source="<cli>")
    batch = _layers(args)
    accelerator = get_accelerator(args.accelerator)
    with tqdm(disable=args.no_progress, unit="cand", desc="map", leave=False) as bar:
        found = search_mappings(batch, accelerator, args.objective, budget=args.budget,
                                progress=bar.update)  # fmt: skip
    frame = found.frame
    if args.out:
        atomic_write_csv(args.out, frame)
        print(f"wrote {len(frame)} rows to {args.out} ({found.calls} analysis calls, "
              f"{found.seconds:.1f} s)")  # fmt: skip
        return 0
    with pd.option_context("display.max_rows", None, "display.width", 250,
                           "display.max_colwidth", 200):  # fmt: skip
        print(frame.to_string(index=False))
    return 0
