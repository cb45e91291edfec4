"""Content-keyed caches of cost results (in-process).

Two levels, both keyed by *content*, never by names or object identity:

- :class:`RowCache` — per (analysis, options, accelerator spec) the results of every distinct layer
  already costed, looked up vectorised by each layer's int64 key row. A sweep that meets the same
  layer on the same accelerator again never costs it twice.
- :data:`TABLES` — whole cost tables (as columns: column name → numpy array, see
  :func:`costmodel.table.cost_columns`) keyed by a hash of everything they depend on.

Optionally the tables are also kept on disk, so that a second process (another ``rtmm`` run)
skips costing: set the environment variable ``RTMM_COST_CACHE`` to a folder, or call
:func:`set_disk_dir`. On-disk keys also cover the source code of the ``costmodel`` package
(:func:`code_digest`), so a changed cost model never reads tables computed by an older one; an
unreadable entry is ignored and recomputed. Entries are pickled dicts of numpy arrays, so reading
one needs neither pandas nor the cost analyses.

:func:`clear` empties the in-process caches (tests and benchmarks use it to measure cold runs).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from hardware_db.accelerator import Accelerator
from rtmm.fileio import atomic_path

#: Bounds of the caches (least recently used entries are evicted).
MAX_CONFIGS = 1024
MAX_TABLES = 256


def accelerator_key(accelerator: Accelerator) -> tuple:
    """The accelerator's spec without its name (two identically built accelerators share costs)."""
    return dataclasses.astuple(dataclasses.replace(accelerator, name=""))


def digest(*parts: Any) -> str:
    """Stable hex digest of ``parts`` (arrays: dtype, shape, bytes; bytes as is; others: repr)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
        else:
            h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def _void_rows(keys: np.ndarray) -> np.ndarray:
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    return keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).reshape(-1)


class RowCache:
    """Per-layer results of one (analysis, options, accelerator): sorted keys + column arrays."""

    def __init__(self) -> None:
        self._keys: np.ndarray | None = None  # sorted void rows
        self._values: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return 0 if self._keys is None else len(self._keys)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, position)`` per key row; ``position`` is valid where ``found``."""
        rows = _void_rows(keys)
        if self._keys is None or len(self._keys) == 0:
            return np.zeros(len(rows), bool), np.zeros(len(rows), np.int64)
        pos = np.searchsorted(self._keys, rows)
        pos = np.minimum(pos, len(self._keys) - 1)
        return self._keys[pos] == rows, pos

    def take(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v[positions] for k, v in self._values.items()}

    def insert(self, keys: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Add rows (keys not yet present) with their result arrays."""
        rows = _void_rows(keys)
        if self._keys is None:
            all_keys, merged = rows, dict(values)
        else:
            all_keys = np.concatenate([self._keys, rows])
            merged = {k: np.concatenate([self._values[k], values[k]]) for k in self._values}
        order = np.argsort(all_keys, kind="stable")
        self._keys = all_keys[order]
        self._values = {k: v[order] for k, v in merged.items()}


_ROWS: OrderedDict[Hashable, RowCache] = OrderedDict()
#: A cost table as columns (column name → 1-D array).
Table = dict[str, np.ndarray]
#: Whole cost tables by content digest.
TABLES: OrderedDict[str, Table] = OrderedDict()


def row_cache(key: Hashable) -> RowCache:
    """The :class:`RowCache` of one (analysis, options, accelerator) key, created on demand."""
    cache = _ROWS.get(key)
    if cache is None:
        cache = _ROWS[key] = RowCache()
        while len(_ROWS) > MAX_CONFIGS:
            _ROWS.popitem(last=False)
    else:
        _ROWS.move_to_end(key)
    return cache


#: Environment variable naming the on-disk cache folder.
DISK_ENV = "RTMM_COST_CACHE"
_DISK: dict[str, Path | None] = {}


def set_disk_dir(path: str | os.PathLike | None) -> None:
    """Keep cost tables in ``path`` too; ``None``: in process only (``RTMM_COST_CACHE`` ignored)."""
    _DISK["dir"] = None if path is None else Path(path)


def follow_environment() -> None:
    """Drop a :func:`set_disk_dir` override: the on-disk folder is ``RTMM_COST_CACHE`` again."""
    _DISK.pop("dir", None)


def disk_dir() -> Path | None:
    """The on-disk cache folder in force, if any."""
    if "dir" in _DISK:
        return _DISK["dir"]
    env = os.environ.get(DISK_ENV, "").strip()
    return Path(env) if env else None


@functools.cache
def code_digest() -> str:
    """Digest of the ``costmodel`` package's source files (part of every on-disk key)."""
    files = sorted(Path(__file__).resolve().parent.glob("*.py"))
    return digest(*(f.read_bytes() for f in files))


def _disk_path(key: str) -> Path | None:
    folder = disk_dir()
    return None if folder is None else folder / f"{digest(key, code_digest())}.pkl"


def get_table(key: str) -> Table | None:
    """The cached table of ``key`` (in process, else on disk when enabled), or ``None``."""
    table = TABLES.get(key)
    if table is not None:
        TABLES.move_to_end(key)
        return table
    path = _disk_path(key)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            loaded = pickle.load(fh)
    except Exception:  # a truncated or foreign file is a miss, never an error
        return None
    if not isinstance(loaded, dict) or not all(isinstance(v, np.ndarray) for v in loaded.values()):
        return None
    _remember(key, loaded)
    return loaded


def put_table(key: str, table: Table) -> None:
    """Cache ``table`` under ``key`` (and write it to disk when enabled)."""
    _remember(key, table)
    path = _disk_path(key)
    if path is not None:
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            pickle.dump(table, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _remember(key: str, table: Table) -> None:
    TABLES[key] = table
    while len(TABLES) > MAX_TABLES:
        TABLES.popitem(last=False)


def clear() -> None:
    """Forget every cached result."""
    _ROWS.clear()
    TABLES.clear()


def stats() -> dict[str, int]:
    """Numbers of cached configurations, layer rows and tables."""
    return {
        "configs": len(_ROWS),
        "rows": sum(len(c) for c in _ROWS.values()),
        "tables": len(TABLES),
    }
