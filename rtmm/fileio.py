"""Strict reading of data files and atomic writing of outputs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from rtmm.errors import RtmmError, SpecError


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects duplicate mapping keys (PyYAML silently keeps the last one)."""


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


def read_text(path: str | os.PathLike) -> str:
    """Read a UTF-8 text file, turning I/O and decoding failures into :class:`SpecError`."""
    p = Path(path)
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

    An interrupted or failing writer therefore never leaves a truncated file at ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except (OSError, ValueError) as exc:
        raise RtmmError(
            f"cannot write here ({getattr(exc, 'strerror', None) or exc})",
            source=target,
            allowed="a path in a writable folder",
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to ``path`` atomically (temporary file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_csv(path: str | os.PathLike, frame: Any, **to_csv_kwargs: Any) -> None:
    """Write a pandas DataFrame as CSV atomically; ``index=False`` unless told otherwise."""
    to_csv_kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **to_csv_kwargs)
