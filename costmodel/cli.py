"""``rtmm cost``: per-layer latency and energy from the command line.

Two forms:

- ``rtmm cost --layers LAYERS.csv --pes N --noc-bw B --dataflow {ws,os,rs} [--analysis A]
  [--l1-bytes ..] [--l2-bytes ..] [--offchip-bw ..] [--energy xrbench|eyeriss|maestro]
  [--clock-hz ..] [--out OUT.csv]`` — a layer table (columns ``name,type,N,K,C,Y,X,R,S``, optional
  ``stride, groups, padding``, any others kept) on an accelerator described by the flags. OUT.csv
  keeps the input rows in order and adds the cost columns (a same-named input column, e.g.
  ``macs``, is replaced by the computed one).
- ``rtmm cost --model NAME|FILE (--accelerator NAME|FILE | --system NAME|FILE) [--analysis A]
  [--out OUT.csv]`` — a model on a library accelerator or on every accelerator of a system.

Without ``--out`` the table is printed. Defaults: ``maestro`` analysis, XRBench energy, 1 GHz.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from costmodel.batch import read_layer_table
from costmodel.levels import plan_dataflow
from costmodel.table import (
    COST_COLUMNS,
    analysis_names,
    layer_costs,
    model_cost_table,
    system_cost_table,
)
from hardware_db.accelerator import Accelerator, NocLevel
from hardware_db.dataflow import PRESETS as DATAFLOWS
from hardware_db.energy import PRESETS as ENERGY_PRESETS
from hardware_db.schema import CLOCK_HZ_RANGE, MAX_INT
from rtmm.errors import CostModelError, RtmmError
from rtmm.fileio import atomic_write_csv

#: Columns added to a layer table by ``--layers`` (the per-layer cost columns).
ADDED_COLUMNS = tuple(
    c
    for c in COST_COLUMNS
    if c not in ("model", "layer_idx", "layer", "accelerator", "accelerator_name")
)
_SHOWN = (
    "model",
    "layer_idx",
    "layer",
    "accelerator_name",
    "latency_cycles",
    "energy_nj",
    "macs",
    "utilisation",
    "bound",
)


_INT_ALLOWED = f"(allowed: integers from 1 to 2^40 = {MAX_INT})"


def _positive_int(text: str) -> int:
    """A flag's integer, 1..2^40 like every hardware integer (derived counts stay in int64)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text[:40]}' is not an integer {_INT_ALLOWED}"
        ) from None
    if not 1 <= value <= MAX_INT:
        raise argparse.ArgumentTypeError(f"{text[:40]} is out of range {_INT_ALLOWED}")
    return value


def _clock_hz(text: str) -> float:
    low, high = CLOCK_HZ_RANGE
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"'{text[:40]}' is not a clock rate (allowed: numbers from {low:g} to {high:g})"
        )
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="per-layer latency and energy of a layer table or a model",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--layers", metavar="LAYERS.csv", help="layer table to cost")
    source.add_argument("--model", metavar="NAME|FILE", help="zoo model name or model file")
    hw = parser.add_argument_group("hardware for --model")
    target = hw.add_mutually_exclusive_group()
    target.add_argument("--accelerator", metavar="NAME|FILE", help="library accelerator or file")
    target.add_argument("--system", metavar="NAME|FILE", help="all accelerators of a system")
    flags = parser.add_argument_group("hardware for --layers")
    flags.add_argument("--pes", type=_positive_int, help="number of PEs")
    flags.add_argument("--noc-bw", type=_positive_int, help="NoC bandwidth, words per cycle")
    flags.add_argument(
        "--dataflow", type=str.upper, choices=sorted(DATAFLOWS), help="dataflow preset"
    )
    flags.add_argument("--l1-bytes", type=_positive_int, default=8192, help="L1 bytes per PE")
    flags.add_argument("--l2-bytes", type=_positive_int, default=4 << 20, help="shared L2 bytes")
    flags.add_argument(
        "--offchip-bw", type=_positive_int, default=128, help="off-chip words per cycle"
    )
    flags.add_argument("--energy", choices=sorted(ENERGY_PRESETS), default="xrbench")
    flags.add_argument("--clock-hz", type=_clock_hz, default=1e9)
    parser.add_argument("--analysis", default="maestro", help=", ".join(analysis_names()))
    parser.add_argument("--out", metavar="OUT.csv", help="write CSV here instead of printing")
    parser.set_defaults(func=run)


def accelerator_from_flags(args: argparse.Namespace) -> Accelerator:
    """The accelerator described by ``--pes/--noc-bw/--dataflow/...``."""
    needed = {"pes": "--pes", "noc_bw": "--noc-bw", "dataflow": "--dataflow"}
    missing = [flag for attr, flag in needed.items() if not getattr(args, attr)]
    if missing:
        raise RtmmError(f"--layers needs {', '.join(missing)}", source="<cli>")
    dataflow = DATAFLOWS[args.dataflow]
    product = plan_dataflow(dataflow).cluster_product
    shape = (args.pes // product, product) if args.pes % product == 0 else (1, args.pes)
    noc = NocLevel(bw_words_per_cycle=args.noc_bw)
    return Accelerator(
        name=f"{dataflow.name}-{args.pes}pe-bw{args.noc_bw}",
        num_pes=args.pes,
        array_shape=shape,
        dataflow=dataflow,
        clock_hz=args.clock_hz,
        l1_bytes_per_pe=args.l1_bytes,
        l2_bytes=args.l2_bytes,
        noc_top=noc,
        noc_col=noc,
        offchip_bw_words_per_cycle=args.offchip_bw,
        word_bytes=1,
        energy=ENERGY_PRESETS[args.energy],
    )


def cost_layer_file(args: argparse.Namespace) -> pd.DataFrame:
    """The input table with the cost columns added (rows in input order)."""
    raw, batch = read_layer_table(args.layers)
    costs = layer_costs(batch, accelerator_from_flags(args), analysis=args.analysis)
    out = raw.copy()
    for column in ADDED_COLUMNS:
        out[column] = costs[column].to_numpy()
    return out


def cost_model(args: argparse.Namespace) -> pd.DataFrame:
    if args.system:
        return system_cost_table([args.model], args.system, analysis=args.analysis)
    if not args.accelerator:
        raise RtmmError("--model needs --accelerator or --system", source="<cli>")
    return model_cost_table(args.model, args.accelerator, analysis=args.analysis)


def _check_finite(frame: pd.DataFrame, *, source: str) -> None:
    """Refuse a result with an infinite or NaN cost: never print or write overflowed numbers."""
    numeric = frame.select_dtypes("number")
    values = numeric.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise CostModelError(
            f"row {row}: {numeric.columns[col]} = {values[row, col]} is not finite",
            source=source,
            allowed="hardware and layer values within their documented bounds",
        )


def run(args: argparse.Namespace) -> int:
    if args.layers:
        frame = cost_layer_file(args)
    elif args.model:
        frame = cost_model(args)
    else:
        raise RtmmError("give --layers LAYERS.csv or --model NAME", source="<cli>")
    _check_finite(frame, source=args.layers or args.model)
    if args.out:
        atomic_write_csv(args.out, frame)
        print(f"wrote {len(frame)} rows to {args.out}")
        return 0
    shown = [c for c in _SHOWN if c in frame.columns] or list(frame.columns)
    if args.layers:
        label = "name" if "name" in frame.columns else "layer"
        wanted = [label, "type", "latency_cycles", "energy_nj", "macs", "utilisation", "bound"]
        shown = [c for c in wanted if c in frame.columns]
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(frame[shown].to_string(index=False))
        if "accelerator_name" in frame:
            sums = frame.groupby("accelerator_name")[["latency_cycles", "energy_nj"]].sum()
            print("\ntotal per accelerator:")
            print(sums.to_string())
        else:
            total = frame[["latency_cycles", "energy_nj"]].sum()
            print(f"\ntotal: {int(total.latency_cycles)} cycles, {total.energy_nj:.6g} nJ")
    return 0
