"""Strict reading of data files and atomic writing of outputs.

Reading: only regular files are opened (a FIFO or a device would block or never end), YAML is
parsed with duplicate keys refused and aliases bounded (a "billion laughs" document whose aliases
expand to more than :data:`MAX_YAML_NODES` nodes is refused before it is ever expanded).
Writing: a temporary file next to the target, renamed onto it only when complete, with the mode
an ordinary ``open()`` would have given it (``0o666`` minus the umask).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from rtmm.errors import RtmmError, SpecError

#: Most nodes a YAML document may have once its aliases are expanded. Data files are a few
#: thousand nodes; an alias bomb (``&a [*b, *b, ...]`` nested) reaches billions.
MAX_YAML_NODES = 100_000


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects duplicate mapping keys (PyYAML silently keeps the last one) and
    documents whose aliases expand beyond :data:`MAX_YAML_NODES` nodes."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node, self.name)
        return self.construct_document(node)


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a node graph whose expanded size exceeds the bound, or that contains itself.

    Aliases make the composed graph a DAG sharing nodes; its expanded size is computed once per
    distinct node (memoised), so the check is linear in the document, not in its expansion.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise SpecError(
                f"line {node.start_mark.line + 1}: a YAML alias refers to itself",
                source=source,
                allowed="aliases of complete, non-recursive nodes",
            )
        total = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            active.add(key)
            for child in node.value:  # nodes, or (key, value) pairs of a mapping
                for sub in child if isinstance(child, tuple) else (child,):
                    total += size(sub)
                    if total > MAX_YAML_NODES:
                        raise SpecError(
                            f"YAML aliases expand to more than {MAX_YAML_NODES} nodes",
                            source=source,
                            allowed="documents without alias bombs",
                        )
            active.discard(key)
        sizes[key] = total
        return total

    size(root)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise SpecError(
                f"line {key_node.start_mark.line + 1}: mapping key is not a scalar",
                source=loader.name,
            ) from None
        if key in mapping:
            raise SpecError(
                f"line {key_node.start_mark.line + 1}: duplicate key '{key}'",
                source=loader.name,
                allowed="each key once per mapping",
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def check_regular_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` as a Path if it names a regular file (after symlinks); else a one-line SpecError.

    Called before opening any input: reading a FIFO blocks until a writer appears, a device may
    never end, a directory is not a file.
    """
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise SpecError(f"{what} not found", source=p) from None
    except (OSError, ValueError) as exc:
        raise SpecError(
            f"cannot read {what} ({getattr(exc, 'strerror', None) or exc})", source=p
        ) from None
    if stat.S_ISDIR(mode):
        raise SpecError(f"is a directory, expected a {what}", source=p)
    if not stat.S_ISREG(mode):
        raise SpecError(
            f"is not a regular file (a FIFO, socket or device), expected a {what}",
            source=p,
            allowed="regular files",
        )
    return p


def read_text(path: str | os.PathLike) -> str:
    """Read a UTF-8 text file, turning I/O and decoding failures into :class:`SpecError`."""
    p = check_regular_file(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise SpecError("file not found", source=p) from None
    except IsADirectoryError:
        raise SpecError("is a directory, expected a file", source=p) from None
    except (OSError, ValueError) as exc:
        raise SpecError(
            f"cannot read file ({getattr(exc, 'strerror', None) or exc})", source=p
        ) from None
    if b"\x00" in data:
        raise SpecError("binary data, expected a UTF-8 text file", source=p)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"byte {exc.start}: not valid UTF-8 text", source=p, allowed="UTF-8 text files"
        ) from None


def load_yaml_text(text: str, source: str | os.PathLike = "<string>") -> Any:
    """Parse YAML text strictly (no duplicate keys, safe types only); errors name the source."""
    try:
        loader = _StrictLoader(text)  # the reader rejects non-printable characters here
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML: {str(exc).splitlines()[0]}", source=source) from None
    loader.name = str(source)
    try:
        return loader.get_single_data()
    except SpecError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"not valid YAML: {problem}", source=source, field=where) from None
    except (ValueError, RecursionError, TypeError) as exc:
        raise SpecError(f"not valid YAML: {exc}", source=source) from None
    finally:
        loader.dispose()


def load_yaml(path: str | os.PathLike) -> Any:
    """Read and strictly parse a YAML file."""
    return load_yaml_text(read_text(path), source=path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    An interrupted or failing writer therefore never leaves a truncated file at ``path``, nor its
    hidden temporary file (the temporary is removed in the same ``finally`` that created it, so a
    Ctrl-C at any point cleans up). The file gets the mode ``open()`` would give a new file
    (``0o666`` minus the umask) rather than ``mkstemp``'s private ``0o600``.
    """
    target = Path(path)
    if target.is_dir():
        raise RtmmError(
            "is a directory, expected a file path", source=target, allowed="a file path"
        )
    tmp: Path | None = None
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # named before it is created, so the finally below removes it whenever it exists
            tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except (OSError, ValueError) as exc:
            raise RtmmError(
                f"cannot write here ({getattr(exc, 'strerror', None) or exc})",
                source=target,
                allowed="a path in a writable folder",
            ) from None
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no read-only call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to ``path`` atomically (temporary file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_csv(path: str | os.PathLike, frame: Any, **to_csv_kwargs: Any) -> None:
    """Write a pandas DataFrame as CSV atomically; ``index=False`` unless told otherwise."""
    to_csv_kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **to_csv_kwargs)
