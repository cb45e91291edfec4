"""The ``rtmm`` command line.

Each package contributes its sub-commands through a ``register(subparsers)`` function in its
own ``cli`` module; this module assembles them and turns every :class:`rtmm.RtmmError` into one
line on stderr and exit code 2.

Start-up is lazy: :data:`COMMANDS` names every sub-command with its module and one-line help, so
``rtmm --help`` lists them without importing any of those modules (nor pandas, matplotlib or the
results store); ``rtmm COMMAND ...`` imports only COMMAND's module. ``tests/test_cli_startup.py``
checks that the table matches what the modules register.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rtmm import paths
from rtmm.errors import RtmmError

#: Sub-command -> (module whose ``register`` adds it, the one-line help of ``rtmm --help``), in
#: the order of ``rtmm --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "hardware": ("hardware_db.cli", "list and show accelerators and systems"),
    "models": ("workloads.cli", "list and show DNN models (the XRBench zoo)"),
    "scenarios": ("workloads.cli", "list and show usage scenarios"),
    "cost": ("costmodel.cli", "per-layer latency and energy of a layer table or a model"),
    "map": ("costmodel.map_cli", "search the best mapping of every layer on an accelerator"),
    "simulate": (
        "scheduler.cli",
        "simulate a usage scenario on a system under a scheduling policy",
    ),
    "compare": (
        "dse.compare",
        "compare SDRM3 with every baseline on the RTMM scenarios (the main job)",
    ),
    "sweep": (
        "dse.sweep_cli",
        "run a design-space sweep (hardware x scenarios x policies x seeds) into a store",
    ),
    "pareto": ("dse.sweep_cli", "the Pareto front of a sweep's results store"),
}


#: Per command, the arguments that name outputs: (attribute, flag, kind, members or suffixes).
#: Every other argument naming an existing path is an input that no output may resolve to; all
#: are checked before the command runs. ``dir`` outputs get a MANIFEST.json written last.
_SIMULATE_FILES = ("summary.csv", "timeline.csv", "frames.csv", "utilisation.csv", "trace.json",
                   "run.json", "gantt.png", "scores.png")  # fmt: skip
_OUTPUTS: dict[str, tuple[tuple[str, str, str, tuple[str, ...] | None], ...]] = {
    "cost": (("out", "--out", "file", None),),
    "map": (("out", "--out", "file", None),),
    "simulate": (("out", "--out", "dir", _SIMULATE_FILES),),
    "compare": (("out", "--out", "dir", None),),
    "sweep": (("store", "--store", "file", None),),
    "pareto": (
        ("csv", "--csv", "file", None),
        ("plot", "--plot", "file", (".png", ".pdf", ".svg")),
    ),
}


def check_paths(args: argparse.Namespace) -> dict[str, dict]:
    """Check every output path of the parsed command before any work (see :mod:`rtmm.paths`);
    return the snapshot of each output folder, to find what the run wrote.

    A command whose output has a default computed from its other arguments sets
    ``default_<attr>`` (a function of ``args``) with ``set_defaults``; the default is filled in
    here so that it is checked like a given path."""
    outputs = _OUTPUTS.get(getattr(args, "command", None) or "", ())
    for attr, *_ in outputs:
        fill = getattr(args, f"default_{attr}", None)
        if getattr(args, attr, None) is None and callable(fill):
            setattr(args, attr, str(fill(args)))
    given = {attr for attr, *_ in outputs if getattr(args, attr, None)}
    inputs = paths.existing_paths(
        v for k, v in vars(args).items() if k not in given and k != "func"
    )
    folders = {}
    for attr, flag, kind, extra in outputs:
        value = getattr(args, attr, None)
        if not value:
            continue
        if kind == "file":
            paths.check_output_file(value, inputs=inputs, flag=flag, suffixes=extra)
        else:
            paths.check_output_dir(value, members=extra, inputs=inputs, flag=flag)
            folders[value] = paths.snapshot(value)
    return folders


def _finish_folders(args: argparse.Namespace, folders: dict[str, dict]) -> None:
    """Write each output folder's manifest, last, listing the files this run wrote."""
    for folder, before in folders.items():
        written = paths.written_since(folder, before)
        if written:
            paths.write_manifest(folder, written, command=f"rtmm {args.command}")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so errors stay one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise RtmmError(f"{self.prog}: {message}", source="<cli>")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``rtmm`` parser. Only ``command``'s module is imported (and registers its full
    sub-parsers); every other sub-command is a placeholder carrying its help line."""
    parser = _ArgumentParser(
        prog="rtmm",
        description="Real-time multi-model ML on multi-accelerator hardware "
        "(XRBench workloads, MAESTRO-compatible costs, schedulers, design-space exploration).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    loaded = COMMANDS[command][0] if command in COMMANDS else None
    if loaded is not None:
        importlib.import_module(loaded).register(sub)
    for name, (module, help_text) in COMMANDS.items():
        if module != loaded:
            sub.add_parser(name, help=help_text)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (the first argument that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        # imports the command's module: a Ctrl-C here is one line too
        parser = build_parser(_command(args_list))
        args = parser.parse_args(args_list)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        folders = check_paths(args)
        for folder in folders:
            paths.clear_manifest(folder)
        code = int(args.func(args) or 0)
        if code == 0:
            _finish_folders(args, folders)
        return code
    except RtmmError as err:
        print(f"rtmm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rtmm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
