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

from rtmm.errors import RtmmError

#: Modules that contribute sub-commands, in the order they appear in ``rtmm --help``.
_COMMAND_MODULES = (
    "hardware_db.cli",
    "workloads.cli",
    "costmodel.cli",
    "costmodel.map_cli",
    "scheduler.cli",
    "dse.compare",
    "dse.sweep_cli",
)


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
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
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
