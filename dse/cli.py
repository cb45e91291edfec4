"""The ``rtmm`` command line.

Each package contributes its sub-commands through a ``register(subparsers)`` function in its
own ``cli`` module; this module only assembles them and turns every :class:`rtmm.RtmmError`
into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rtmm import paths
from rtmm.errors import RtmmError

#: Modules that contribute sub-commands, in the order they appear in ``rtmm --help``.
_COMMAND_MODULES = (
    "hardware_db.cli",
    "workloads.cli",
    "costmodel.cli",
    "scheduler.cli",
    "dse.compare",
    "dse.sweep_cli",
)


#: Per command, the arguments that name outputs: (attribute, flag, kind, members or suffixes).
#: Every other argument naming an existing path is an input that no output may resolve to; all
#: are checked before the command runs. ``dir`` outputs get a MANIFEST.json written last.
_SIMULATE_FILES = ("summary.csv", "timeline.csv", "frames.csv", "utilisation.csv", "trace.json",
                   "gantt.png", "scores.png")  # fmt: skip
_OUTPUTS: dict[str, tuple[tuple[str, str, str, tuple[str, ...] | None], ...]] = {
    "cost": (("out", "--out", "file", None),),
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
    return the snapshot of each output folder, to find what the run wrote."""
    outputs = _OUTPUTS.get(getattr(args, "command", None) or "", ())
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


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="rtmm",
        description="Real-time multi-model ML on multi-accelerator hardware "
        "(XRBench workloads, MAESTRO-compatible costs, schedulers, design-space exploration).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()  # imports the command modules: Ctrl-C here is one line too
        args = parser.parse_args(argv)
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
