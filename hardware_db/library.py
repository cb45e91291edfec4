"""The hardware library: shipped systems and accelerators, looked up by name or by file.

Library systems live in ``hardware_db/data/systems/NAME.yaml`` (the 26 XRBench systems
``xrbench-4k-A`` … ``xrbench-8k-M``), standalone accelerators in
``hardware_db/data/accelerators/NAME.yaml``. Names match case-insensitively. An accelerator of a
system is named ``SYSTEM/INDEX`` (``xrbench-4k-J/1``) or ``SYSTEM/ACCELERATOR_NAME``
(``xrbench-4k-J/acc1-OS``). Wherever a name is accepted, a path to a file is accepted too: a YAML
system/accelerator file, or a MAESTRO ``.m`` hardware file (which needs ``dataflow=``).
Parsed library entries are cached: specs are immutable.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Sequence
from pathlib import Path

from hardware_db import loader
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from hardware_db.loader import YAML_SUFFIXES
from hardware_db.maestro_system import read_maestro_system
from hardware_db.system import System
from rtmm.errors import SpecError, UnknownNameError
from rtmm.fileio import check_regular_file

DATA_DIR = Path(__file__).resolve().parent / "data"
SYSTEMS_DIR = DATA_DIR / "systems"
ACCELERATORS_DIR = DATA_DIR / "accelerators"
MAESTRO_SUFFIXES = (".m",)

DataflowSpec = str | os.PathLike | Dataflow | Sequence


def _stems(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def list_systems() -> list[str]:
    """Names of the library systems, sorted."""
    return _stems(SYSTEMS_DIR)


def _standalone_accelerators() -> list[str]:
    return _stems(ACCELERATORS_DIR)


def list_accelerators() -> list[str]:
    """Standalone library accelerators, then every ``SYSTEM/INDEX`` of the library systems."""
    out = _standalone_accelerators()
    for name in list_systems():
        out.extend(f"{name}/{i}" for i in range(len(get_system(name))))
    return out


def _unknown(what: str, name: str, choices: list[str], extra: str = "") -> UnknownNameError:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    shown = ", ".join(choices) + (f" {extra}" if extra else "")
    return UnknownNameError(f"unknown {what} '{name}'{hint}", source="<library>", allowed=shown)


def _match(name: str, choices: list[str]) -> str | None:
    for choice in choices:
        if choice.lower() == name.lower():
            return choice
    return None


def _looks_like_path(text: str) -> bool:
    return text.endswith(YAML_SUFFIXES + MAESTRO_SUFFIXES) or os.sep in text or text.startswith(".")


@functools.cache
def _library_system(name: str) -> System:
    path = SYSTEMS_DIR / f"{name}.yaml"
    system = loader.load_system(path, get_accelerator)
    if system.name != name:
        raise SpecError(
            f"name '{system.name}' differs from the file name", source=path, field="name",
            allowed=f"'{name}'",
        )  # fmt: skip
    return system


@functools.cache
def _library_accelerator(name: str) -> Accelerator:
    path = ACCELERATORS_DIR / f"{name}.yaml"
    acc = loader.load_accelerator(path, get_accelerator)
    if acc.name != name:
        raise SpecError(
            f"name '{acc.name}' differs from the file name", source=path, field="name",
            allowed=f"'{name}'",
        )  # fmt: skip
    return acc


def _system_from_file(path: Path, dataflow: DataflowSpec | None) -> System:
    if path.suffix in MAESTRO_SUFFIXES:
        if dataflow is None:
            raise SpecError(
                "a MAESTRO hardware file states no dataflow",
                source=path,
                allowed="pass a dataflow: a preset WS/OS/RS or a MAESTRO dataflow file",
            )
        return read_maestro_system(path, dataflow)
    if dataflow is not None:
        raise SpecError(
            "a YAML system file carries its own dataflows", source=path,
            allowed="no dataflow argument with a YAML file",
        )  # fmt: skip
    return loader.load_system(path, get_accelerator)


def get_system(name_or_path: str | os.PathLike, *, dataflow: DataflowSpec | None = None) -> System:
    """A library system by name, or a system file (YAML, or MAESTRO ``.m`` with ``dataflow``)."""
    text = str(name_or_path)
    path = Path(text)
    if isinstance(name_or_path, os.PathLike) or path.is_file() or _looks_like_path(text):
        if not path.is_file():
            check_regular_file(path)  # says: not found, a directory, or a FIFO/device
        return _system_from_file(path, dataflow)
    names = list_systems()
    match = _match(text, names)
    if match is None:
        raise _unknown("system", text, names)
    if dataflow is not None:
        raise SpecError(
            "a library system carries its own dataflows", source=text,
            allowed="no dataflow argument with a library name",
        )  # fmt: skip
    return _library_system(match)


def _accelerator_of(system: System, selector: str, label: str) -> Accelerator:
    names = [a.name for a in system.accelerators]
    if selector.isdigit():
        index = int(selector)
        if index < len(system):
            return system.accelerators[index]
        raise UnknownNameError(
            f"accelerator index {index} is out of range", source=label,
            allowed=f"0 … {len(system) - 1} or a name: {', '.join(names)}",
        )  # fmt: skip
    match = _match(selector, names)
    if match is None:
        raise _unknown(f"accelerator of {system.name}", selector, names)
    return system.accelerators[names.index(match)]


def get_accelerator(name_or_path: str | os.PathLike) -> Accelerator:
    """A library accelerator, ``SYSTEM/INDEX`` or ``SYSTEM/NAME``, or a YAML accelerator file.

    ``SYSTEM`` may itself be a YAML system file (``my_system.yaml/1``).
    """
    text = str(name_or_path)
    path = Path(text)
    if path.is_file():
        if path.suffix in MAESTRO_SUFFIXES:
            raise SpecError(
                "a MAESTRO hardware file states no dataflow",
                source=path,
                allowed="get_system(FILE, dataflow=...) and take one of its accelerators",
            )
        return loader.load_accelerator(path, get_accelerator)
    system_part, sep, selector = text.rpartition("/")
    if text.endswith(YAML_SUFFIXES + MAESTRO_SUFFIXES):
        check_regular_file(text)  # says: not found, a directory, or a FIFO/device
    if sep:
        if not selector:
            raise UnknownNameError(f"'{text}' names no accelerator", allowed="SYSTEM/INDEX")
        return _accelerator_of(get_system(system_part), selector, text)
    standalone = _standalone_accelerators()
    match = _match(text, standalone)
    if match is None:
        raise _unknown(
            "accelerator", text, standalone, extra="or SYSTEM/INDEX for a system of list_systems()"
        )
    return _library_accelerator(match)


def load_system(path: str | os.PathLike) -> System:
    """A YAML system file; its accelerator references may name library accelerators."""
    return loader.load_system(path, get_accelerator)


def load_accelerator(path: str | os.PathLike) -> Accelerator:
    """A YAML accelerator file; its references may name library accelerators."""
    return loader.load_accelerator(path, get_accelerator)


def system_from_text(text: str, source: str = "<string>") -> System:
    """A system from YAML text; references resolve against the library."""
    return loader.system_from_text(text, source, get_accelerator)


def accelerator_from_text(text: str, source: str = "<string>") -> Accelerator:
    """An accelerator from YAML text; references resolve against the library."""
    return loader.accelerator_from_text(text, source, get_accelerator)
