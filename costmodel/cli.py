"""``rtmm cost``: per-layer latency and energy from the command line.

What to cost (one of):

- ``--layers LAYERS.csv`` — a layer table (columns ``name,type,N,K,C,Y,X,R,S``, optional
  ``stride, groups, padding`` with padding ``xrbench``, ``same`` or rows/columns per side; any
  other columns kept). The output keeps the input rows in order and adds the cost columns (a
  same-named input column, e.g. ``macs``, is replaced by the computed one).
- ``--model NAME|FILE`` — a zoo model or a model file (.csv, .onnx, MAESTRO .m). A MAESTRO
  layer's own ``Dataflow { ... }`` block is honoured: that layer is costed with it.

On what (one of):

- ``--accelerator NAME|FILE`` — a library accelerator, ``SYSTEM/INDEX``, or a YAML file;
- ``--system NAME|FILE`` — every accelerator of a library system or a YAML file;
- a MAESTRO hardware file (``--system hw.m`` or ``--accelerator hw.m``) with ``--dataflow``
  (a preset WS/OS/RS, or a MAESTRO dataflow file with one block per accelerator);
- for ``--layers`` only, an accelerator described by flags: ``--pes N --noc-bw B --dataflow DF
  [--l1-bytes ..] [--l2-bytes ..] [--offchip-bw ..] [--energy ..] [--clock-hz ..]``.

Without ``--out`` the table is printed with totals per accelerator in cycles, seconds (each
accelerator at its own clock) and energy. Every output names the cost analysis that produced it
(``analysis`` column; printed banner). Defaults: ``maestro`` analysis, XRBench energy, 1 GHz.

The command works on column arrays (:func:`costmodel.table.cost_columns`) and prints and writes
them with :mod:`rtmm.columns`, byte for byte what pandas printed and wrote, without importing
pandas or networkx: start-up is most of what costing one model takes. With ``RTMM_COST_CACHE``
set, a second run reads the model's cost table from disk instead of costing it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from costmodel.analyses import analysis_names
from costmodel.batch import read_layer_columns
from costmodel.levels import plan_dataflow
from costmodel.table import (
    COST_COLUMNS,
    CostColumns,
    cost_columns,
    layer_cost_columns,
)
from hardware_db.accelerator import Accelerator, NocLevel
from hardware_db.dataflow import PRESETS as DATAFLOWS
from hardware_db.energy import PRESETS as ENERGY_PRESETS
from hardware_db.library import MAESTRO_SUFFIXES, get_accelerator, get_system
from hardware_db.schema import accelerator_flag
from hardware_db.system import System
from rtmm.columns import format_table, write_csv
from rtmm.errors import CostModelError, RtmmError
from rtmm.names import unknown_name

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
    "dataflow",
    "latency_cycles",
    "energy_nj",
    "macs",
    "utilisation",
    "bound",
)


def _dataflow_arg(text: str) -> str:
    """``--dataflow``: a preset name (any case) or a MAESTRO dataflow file; did-you-mean else."""
    for name in DATAFLOWS:
        if name.lower() == text.lower():
            return name
    if Path(text).is_file():
        return text
    if Path(text).suffix:
        raise RtmmError(f"--dataflow {text}: file not found", source="<cli>")
    raise unknown_name(
        "dataflow", text, sorted(DATAFLOWS), source="<cli>", extra="or a MAESTRO dataflow file"
    )


def _energy_arg(text: str) -> str:
    if text in ENERGY_PRESETS:
        return text
    raise unknown_name("energy preset", text, sorted(ENERGY_PRESETS), source="<cli>")


def _analysis_arg(text: str) -> str:
    if text not in analysis_names():
        raise unknown_name("analysis", text, analysis_names(), source="<cli>")
    return text


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
    hw = parser.add_argument_group("hardware")
    target = hw.add_mutually_exclusive_group()
    target.add_argument("--accelerator", metavar="NAME|FILE", help="library accelerator or file")
    target.add_argument("--system", metavar="NAME|FILE", help="all accelerators of a system")
    hw.add_argument(
        "--dataflow",
        type=_dataflow_arg,
        help=f"{', '.join(sorted(DATAFLOWS))} or a MAESTRO dataflow file: for a MAESTRO hardware "
        "file or the flags below",
    )
    flags = parser.add_argument_group("hardware described by flags (--layers only)")
    flags.add_argument("--pes", **accelerator_flag("num_pes", "number of PEs"))
    flags.add_argument(
        "--noc-bw",
        **accelerator_flag("noc_top.bw_words_per_cycle", "NoC bandwidth, words per cycle"),
    )
    for flag, field, default, text in _FLAG_DEFAULTS:
        if field is None:  # a preset name, looked up with "did you mean"
            kind = {"type": _energy_arg, "help": f"{text} (default {default})"}
        else:  # a number: type and allowed values from the hardware model
            kind = accelerator_flag(field, f"{text}, default {default}")
        flags.add_argument(flag, default=None, **kind)
    parser.add_argument(
        "--analysis", type=_analysis_arg, default="maestro", help=", ".join(analysis_names())
    )
    parser.add_argument("--out", metavar="OUT.csv", help="write CSV here instead of printing")
    parser.set_defaults(func=run)


#: Optional accelerator flags: (flag, accelerator field, default, help). A number flag's type and
#: allowed values come from the hardware model (:func:`hardware_db.schema.accelerator_flag`);
#: ``--energy`` (field None) is a preset name. Only valid without --accelerator and --system
#: (which carry their own values); defaults applied in :func:`accelerator_from_flags`.
_FLAG_DEFAULTS: tuple[tuple[str, str | None, object, str], ...] = (
    ("--l1-bytes", "l1_bytes_per_pe", 8192, "L1 bytes per PE"),
    ("--l2-bytes", "l2_bytes", 4 << 20, "shared L2 bytes"),
    ("--offchip-bw", "offchip_bw_words_per_cycle", 128, "off-chip words per cycle"),
    ("--energy", None, "xrbench", ", ".join(sorted(ENERGY_PRESETS))),
    ("--clock-hz", "clock_hz", 1e9, "clock"),
)


def _flag_attr(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _given_flags(args: argparse.Namespace) -> list[str]:
    flags = ["--pes", "--noc-bw", *(f for f, *_ in _FLAG_DEFAULTS)]
    return [f for f in flags if getattr(args, _flag_attr(f), None) is not None]


def accelerator_from_flags(args: argparse.Namespace) -> Accelerator:
    """The accelerator described by ``--pes/--noc-bw/--dataflow/...``."""
    needed = {"pes": "--pes", "noc_bw": "--noc-bw", "dataflow": "--dataflow"}
    missing = [flag for attr, flag in needed.items() if not getattr(args, attr)]
    if missing:
        raise RtmmError(
            f"--layers needs {', '.join(missing)}",
            source="<cli>",
            allowed="--accelerator NAME|FILE, --system NAME|FILE, or --pes, --noc-bw, --dataflow",
        )
    if args.dataflow not in DATAFLOWS:
        raise RtmmError(
            f"--dataflow {args.dataflow}: a dataflow file needs a MAESTRO hardware file",
            source="<cli>",
            allowed=f"with --pes/--noc-bw: a preset {', '.join(sorted(DATAFLOWS))}",
        )
    value = {_flag_attr(f): default for f, _, default, _ in _FLAG_DEFAULTS}
    value.update({k: v for k, v in vars(args).items() if k in value and v is not None})
    dataflow = DATAFLOWS[args.dataflow]
    product = plan_dataflow(dataflow).cluster_product
    shape = (args.pes // product, product) if args.pes % product == 0 else (1, args.pes)
    noc = NocLevel(bw_words_per_cycle=args.noc_bw)
    return Accelerator(
        name=f"{dataflow.name}-{args.pes}pe-bw{args.noc_bw}",
        num_pes=args.pes,
        array_shape=shape,
        dataflow=dataflow,
        clock_hz=value["clock_hz"],
        l1_bytes_per_pe=value["l1_bytes"],
        l2_bytes=value["l2_bytes"],
        noc_top=noc,
        noc_col=noc,
        offchip_bw_words_per_cycle=value["offchip_bw"],
        word_bytes=1,
        energy=ENERGY_PRESETS[value["energy"]],
    )


def _is_maestro(spec: str) -> bool:
    return Path(spec).suffix.lower() in MAESTRO_SUFFIXES


def hardware(args: argparse.Namespace) -> Accelerator | System:
    """What to cost on: ``--accelerator``, ``--system`` (or a MAESTRO file) or the flags."""
    spec = args.accelerator or args.system
    if spec is None:
        if args.model:
            raise RtmmError(
                "--model needs --accelerator or --system",
                source="<cli>",
                allowed="--accelerator NAME|FILE or --system NAME|FILE",
            )
        return accelerator_from_flags(args)
    given = _given_flags(args)
    if given:
        raise RtmmError(
            f"{', '.join(given)} describe an accelerator; {spec} already is one",
            source="<cli>",
            allowed="either --accelerator/--system or the hardware flags",
        )
    if _is_maestro(spec):
        if args.dataflow is None:
            raise RtmmError(
                "a MAESTRO hardware file states no dataflow",
                source=spec,
                allowed=f"--dataflow {'|'.join(sorted(DATAFLOWS))} or a MAESTRO dataflow file",
            )
        system = get_system(spec, dataflow=args.dataflow)
        if args.accelerator and len(system) != 1:
            raise RtmmError(
                f"the file holds {len(system)} accelerators",
                source=spec,
                allowed="--system FILE to cost on each of them",
            )
        return system.accelerators[0] if args.accelerator else system
    if args.dataflow is not None:
        raise RtmmError(
            f"--dataflow {args.dataflow}: {spec} carries its own dataflow",
            source="<cli>",
            allowed="--dataflow only with a MAESTRO hardware file (.m) or the hardware flags",
        )
    return get_accelerator(spec) if args.accelerator else get_system(spec)


def cost_layer_file(args: argparse.Namespace) -> CostColumns:
    """The input table with ``accelerator_name`` and the cost columns added (rows in input
    order), once per accelerator of the target."""
    raw, batch = read_layer_columns(args.layers)
    target = hardware(args)
    accelerators = target.accelerators if isinstance(target, System) else (target,)
    parts = []
    for acc in accelerators:
        costs = layer_cost_columns(batch, acc, analysis=args.analysis)
        out: CostColumns = {name: np.array(cells, dtype=object) for name, cells in raw.items()}
        out["accelerator_name"] = np.full(len(batch), acc.name, dtype=object)
        for column in ADDED_COLUMNS:
            out[column] = costs[column]
        parts.append(out)
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def cost_model(args: argparse.Namespace) -> CostColumns:
    target = hardware(args)
    accelerators = target.accelerators if isinstance(target, System) else [target]
    return cost_columns([args.model], accelerators, analysis=args.analysis)


def totals(columns: CostColumns) -> CostColumns:
    """Per accelerator (in order of first row): layers, cycles, clock, seconds and energy
    (cycles of accelerators with different clocks are not comparable; seconds are)."""
    n = len(columns["latency_cycles"])
    keys = columns.get("accelerator_name", np.full(n, "", dtype=object))
    names = list(dict.fromkeys(keys.tolist()))
    rows: dict[str, list] = {
        k: [] for k in ("accelerator", "layers", "latency_cycles", "clock_ghz", "latency_ms")
    }
    rows["energy_uj"] = []
    for name in names:
        part = keys == name
        cycles = int(columns["latency_cycles"][part].sum())
        seconds = float(columns["latency_s"][part].sum())
        rows["accelerator"].append(name)
        rows["layers"].append(int(part.sum()))
        rows["latency_cycles"].append(cycles)
        rows["clock_ghz"].append(cycles / seconds / 1e9 if seconds > 0 else float("nan"))
        rows["latency_ms"].append(seconds * 1e3)
        rows["energy_uj"].append(float(columns["energy_nj"][part].sum()) / 1e3)
    return {
        "accelerator": np.array(rows["accelerator"], dtype=object),
        "layers": np.array(rows["layers"], dtype=np.int64),
        "latency_cycles": np.array(rows["latency_cycles"], dtype=np.int64),
        **{
            k: np.array(rows[k], dtype=np.float64) for k in ("clock_ghz", "latency_ms", "energy_uj")
        },
    }


def _check_finite(columns: CostColumns, *, source: str) -> None:
    """Refuse a result with an infinite or NaN cost: never print or write overflowed numbers."""
    numeric = [name for name, values in columns.items() if values.dtype.kind in "iuf"]
    if not numeric:
        return
    values = np.column_stack([columns[name].astype(float) for name in numeric])
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise CostModelError(
            f"row {row}: {numeric[col]} = {values[row, col]} is not finite",
            source=source,
            allowed="hardware and layer values within their documented bounds",
        )


def run(args: argparse.Namespace) -> int:
    if args.layers:
        columns = cost_layer_file(args)
    elif args.model:
        columns = cost_model(args)
    else:
        raise RtmmError("give --layers LAYERS.csv or --model NAME", source="<cli>")
    _check_finite(columns, source=args.layers or args.model)
    banner = f"cost analysis: {args.analysis}"
    n_rows = len(columns["latency_cycles"])
    if args.out:
        write_csv(args.out, columns)
        print(f"wrote {n_rows} rows to {args.out} ({banner}; 'analysis' column)")
        return 0
    shown = [c for c in _SHOWN if c in columns] or list(columns)
    if args.layers:
        label_col = "name" if "name" in columns else "layer"
        wanted = [label_col, "accelerator_name", "type", "dataflow", "latency_cycles"]
        wanted += ["energy_nj", "macs", "utilisation", "bound"]
        shown = [c for c in wanted if c in columns]
    print(banner)
    print(format_table({c: columns[c] for c in shown}))
    print("\ntotal per accelerator (each at its own clock):")
    print(format_table(totals(columns), float_format=lambda v: f"{v:.6g}"))
    return 0
