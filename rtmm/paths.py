"""Output paths checked before any work is done, and the completeness manifest of an output folder.

Two promises rest on this module:

- an output never replaces an input: :func:`check_output_file` and :func:`check_output_dir` refuse,
  before anything is computed, an output that resolves (symlinks and ``..`` followed, or the same
  inode) to one of the inputs, a file path that is a directory, a folder path that is a file, a
  folder member that is a directory, and a location that cannot be written;
- an output folder says whether it is complete: :func:`clear_manifest` removes the previous run's
  ``MANIFEST.json`` before a run writes anything, and :func:`write_manifest` writes a new one last,
  listing each file with its size and SHA-256. A folder without a manifest, or whose files differ
  from it (:func:`verify_manifest`), holds an interrupted or partial run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from rtmm.errors import RtmmError
from rtmm.fileio import atomic_write_text

MANIFEST_NAME = "MANIFEST.json"


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True if ``a`` and ``b`` name the same file: equal real paths, or the same inode."""
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def existing_paths(values: Iterable[object]) -> list[Path]:
    """The values (strings, paths, or sequences of them) that name existing filesystem entries."""
    found: list[Path] = []
    for value in values:
        items = value if isinstance(value, list | tuple) else (value,)
        for item in items:
            if not isinstance(item, str | os.PathLike) or not str(item):
                continue
            try:
                if os.path.lexists(item):
                    found.append(Path(item))
            except (OSError, ValueError):
                continue
    return found


def _check_writable_parent(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable directory."""
    try:
        ancestor = path.absolute().parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        ok_dir = ancestor.is_dir()
    except (OSError, ValueError) as exc:
        raise RtmmError(
            f"cannot write here ({getattr(exc, 'strerror', None) or exc})",
            source=path,
            field=flag,
            allowed="a path in a writable folder",
        ) from None
    if not ok_dir:
        raise RtmmError(
            f"cannot write here ({ancestor} is a file, not a folder)",
            source=path,
            field=flag,
            allowed="a path in a writable folder",
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise RtmmError(
            f"cannot write here ({ancestor} is not writable)",
            source=path,
            field=flag,
            allowed="a path in a writable folder",
        )


def _refuse_inputs(output: Path, inputs: Iterable[str | os.PathLike], flag: str) -> None:
    for given in inputs:
        if same_file(output, given):
            raise RtmmError(
                f"would overwrite the input {given}",
                source=output,
                field=flag,
                allowed="an output path that is none of the command's inputs",
            )


def check_output_file(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    flag: str = "--out",
    suffixes: Sequence[str] | None = None,
) -> Path:
    """Refuse, before any work, an output file path that cannot be written or is an input."""
    p = Path(path)
    if "\x00" in str(p):
        raise RtmmError("cannot write here (embedded null byte)", source=repr(str(p)), field=flag)
    if p.is_dir():
        raise RtmmError("is a directory, expected a file path", source=p, field=flag)
    if p.exists() and not p.is_file():
        raise RtmmError(
            "is not a regular file (a FIFO, socket or device)",
            source=p,
            field=flag,
            allowed="a regular file path",
        )
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise RtmmError(
            f"unknown file format '{p.suffix}'", source=p, field=flag, allowed=", ".join(suffixes)
        )
    _check_writable_parent(p, flag)
    _refuse_inputs(p, inputs, flag)
    return p


def check_output_dir(
    path: str | os.PathLike,
    *,
    members: Sequence[str] | None = None,
    inputs: Iterable[str | os.PathLike] = (),
    flag: str = "--out",
) -> Path:
    """Refuse, before any work, an output folder that cannot hold the run's files.

    ``members`` are the file names the run writes into the folder (``None``: not known, so every
    input inside the folder is protected).
    """
    p = Path(path)
    if "\x00" in str(p):
        raise RtmmError("cannot write here (embedded null byte)", source=repr(str(p)), field=flag)
    if p.exists() and not p.is_dir():
        raise RtmmError(
            "is a file, expected an output folder",
            source=p,
            field=flag,
            allowed="a folder path (existing or new)",
        )
    _check_writable_parent(p / "x", flag)
    names = [*(members or ()), MANIFEST_NAME]
    for name in names:
        member = p / name
        if member.is_dir() or (member.exists() and not member.is_file()):
            raise RtmmError(
                "is not a regular file, so the output cannot be written there",
                source=member,
                field=flag,
                allowed="a folder where the outputs' names are free or plain files",
            )
    inputs = list(inputs)
    if members is None:
        real = os.path.realpath(p)
        for given in inputs:
            inside = os.path.realpath(given)
            if os.path.commonpath([real, inside]) == real and inside != real:
                raise RtmmError(
                    f"holds the input {given}, which the outputs may overwrite",
                    source=p,
                    field=flag,
                    allowed="an output folder that contains none of the command's inputs",
                )
    for name in names:
        _refuse_inputs(p / name, inputs, flag)
    return p


def snapshot(folder: str | os.PathLike) -> dict[str, tuple[int, int, int]]:
    """``name -> (inode, size, mtime_ns)`` of the regular files in ``folder`` (empty if absent)."""
    out: dict[str, tuple[int, int, int]] = {}
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return out
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
            st = entry.stat(follow_symlinks=False)
            out[entry.name] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def clear_manifest(folder: str | os.PathLike) -> None:
    """Remove the folder's manifest (called before a run writes, so a partial run has none)."""
    with contextlib.suppress(FileNotFoundError):
        (Path(folder) / MANIFEST_NAME).unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: str | os.PathLike, names: Iterable[str], *, command: str = "") -> Path:
    """Write ``MANIFEST.json`` (last, atomically): the run's files with sizes and SHA-256."""
    root = Path(folder)
    files = [
        {"name": n, "bytes": (root / n).stat().st_size, "sha256": _sha256(root / n)}
        for n in sorted(set(names))
        if n != MANIFEST_NAME
    ]
    doc = {"complete": True, "command": command, "files": files}
    path = root / MANIFEST_NAME
    atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    return path


def written_since(
    folder: str | os.PathLike, before: Mapping[str, tuple[int, int, int]]
) -> list[str]:
    """Files of ``folder`` that are new or changed (inode, size or mtime) since ``before``."""
    now = snapshot(folder)
    return sorted(n for n, sig in now.items() if before.get(n) != sig and n != MANIFEST_NAME)


def verify_manifest(folder: str | os.PathLike) -> list[str]:
    """Problems with the folder's completeness (empty list: complete and unchanged)."""
    root = Path(folder)
    try:
        doc = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"no {MANIFEST_NAME}: the run that wrote this folder did not finish"]
    except (OSError, ValueError) as exc:
        return [f"unreadable {MANIFEST_NAME} ({exc})"]
    problems = []
    for entry in doc.get("files", []):
        path = root / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']}: missing")
        elif path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            problems.append(f"{entry['name']}: changed since the run")
    return problems
