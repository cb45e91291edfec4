"""``rtmm hardware``: list and show the hardware library.

``rtmm hardware list [--accelerators]`` prints one row per library system (or accelerator);
``rtmm hardware show NAME [--dataflow DF] [--format table|yaml]`` prints a system or accelerator
given by library name, ``SYSTEM/INDEX``, or file (YAML, or MAESTRO ``.m`` with ``--dataflow``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hardware_db import library
from hardware_db.accelerator import Accelerator
from hardware_db.loader import YAML_SUFFIXES, dump_accelerator, dump_system
from hardware_db.system import System
from hardware_db.tables import accelerators_table, dataflow_table, energy_table, systems_table
from rtmm.errors import UnknownNameError
from rtmm.fileio import load_yaml


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hardware", help="list and show accelerators and systems")
    sub = parser.add_subparsers(dest="hardware_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    listing = sub.add_parser("list", help="list the library systems")
    listing.add_argument(
        "--accelerators", action="store_true", help="list accelerators instead of systems"
    )
    listing.set_defaults(func=_list)

    show = sub.add_parser("show", help="show a system or an accelerator")
    show.add_argument("name", help="library name, SYSTEM/INDEX, or a YAML / MAESTRO .m file")
    show.add_argument(
        "--dataflow", help="for a MAESTRO .m hardware file: a preset WS/OS/RS or a dataflow file"
    )
    show.add_argument("--format", choices=("table", "yaml"), default="table")
    show.set_defaults(func=_show)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _print_frame(frame: pd.DataFrame, index: bool = False) -> None:
    with pd.option_context("display.max_colwidth", 200, "display.width", 250):
        print(frame.to_string(index=index, float_format=_number))


def _number(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 1e6 else f"{x:.6g}"


def _list(args: argparse.Namespace) -> int:
    if args.accelerators:
        names = library.list_accelerators()
        frame = accelerators_table([library.get_accelerator(n) for n in names])
        frame.insert(0, "id", names)
        frame = frame.drop(columns=["noc_col", "word_bytes"])
    else:
        frame = systems_table(library.get_system(n) for n in library.list_systems())
    _print_frame(frame)
    return 0


def _resolve(name: str, dataflow: str | None) -> System | Accelerator:
    path = Path(name)
    if path.is_file():
        if path.suffix in YAML_SUFFIXES:
            doc = load_yaml(path)
            if not (isinstance(doc, dict) and "accelerators" in doc):
                return library.get_accelerator(path)
        return library.get_system(path, dataflow=dataflow)
    if "/" in name and not name.endswith(YAML_SUFFIXES + library.MAESTRO_SUFFIXES):
        return library.get_accelerator(name)
    try:
        return library.get_system(name, dataflow=dataflow)
    except UnknownNameError as system_error:
        try:
            return library.get_accelerator(name)
        except UnknownNameError:
            raise system_error from None


def _show_accelerator(acc: Accelerator, index: int | None = None) -> None:
    title = f"Accelerator {acc.name}" if index is None else f"Accelerator {index}: {acc.name}"
    print(f"{title} ({acc.num_pes} PEs, dataflow {acc.dataflow.name})")
    frame = accelerators_table([acc]).T
    frame.columns = ["value"]
    _print_frame(frame, index=True)
    print("dataflow directives (outermost level first):")
    _print_frame(dataflow_table(acc))
    print()


def _show(args: argparse.Namespace) -> int:
    spec = _resolve(args.name, args.dataflow)
    if args.format == "yaml":
        text = dump_system(spec) if isinstance(spec, System) else dump_accelerator(spec)
        print(text, end="")
        return 0
    if isinstance(spec, System):
        print(f"System {spec.name}: {spec.description}")
        print(
            f"{len(spec)} accelerators, {spec.num_pes} PEs, shared off-chip bandwidth "
            f"{spec.offchip_bw_words_per_cycle} words/cycle"
        )
        print()
        _print_frame(accelerators_table(spec.accelerators), index=True)
        print()
        for i, acc in enumerate(spec.accelerators):
            print(f"accelerator {i} ({acc.name}) dataflow {acc.dataflow.name}:")
            _print_frame(dataflow_table(acc))
            print()
        accelerators = spec.accelerators
    else:
        _show_accelerator(spec)
        accelerators = (spec,)
    print("energy per access (pJ):")
    _print_frame(energy_table(a.energy for a in accelerators))
    return 0
