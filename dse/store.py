"""The sweep results store: one SQLite file (WAL mode), one row per design point.

Tables:

- ``meta(key, value)``: ``schema_version``, ``spec_fingerprint`` and ``spec_json`` (the spec's
  point-determining content) — a store belongs to exactly one spec.
- ``points``: primary key ``point_id`` (content hash of the point's parameters), ``seq`` (position
  in the sweep's expansion), ``status`` (``ok`` or ``error``), ``error`` (the one-line message of a
  point whose evaluation raised an :class:`~rtmm.errors.RtmmError`), ``params_json`` and
  ``metrics_json``, then one column per parameter (hardware axes under their field path) and one per
  metric, added as metrics appear. Every value in this table is a deterministic function of the
  spec, so an interrupted and resumed sweep ends with the same table as an uninterrupted one.
- ``timings(point_id, wall_s, worker, finished_unix)``: wall-clock data, kept apart on purpose.
- ``artifacts(point_id, name, data)``: optional per-point blobs an evaluator returns beside its
  metrics (``rtmm compare`` keeps tuner traces and the block traces of its Gantt charts there, so
  figures are drawn from the store). Written in the point's transaction; a store without this
  table (older writers) simply has none.

Rows are written only by the parent process, one transaction per finished batch, so a killed sweep
leaves every committed batch intact and nothing half-written.

Safety: a writer (:meth:`ResultStore.open`) holds an exclusive ``flock`` on the store file for as
long as it is open, so a second sweep on the same store is refused at once with one line (nothing
is lost: the first keeps running, the second writes nothing); a file that is not a results store
(another application's database, a text file) is refused before anything is written to it; a store
created by a run that then failed before committing a result is removed again. Readers
(:func:`load`) open the file read-only (SQLite ``mode=ro``; ``immutable`` when no ``-wal`` or
``-journal`` file shows a writer, so not even a reader's side files appear), so reading never
modifies anything, and give up after :data:`READ_TIMEOUT_S` on a store another process holds
locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from dse.point_result import PointResult, dumps, quote, sql_value
from rtmm.errors import SpecError
from rtmm.fileio import check_regular_file

SCHEMA_VERSION = "1"
#: Columns of ``points`` that come before the parameter and metric columns.
BASE_COLUMNS = ("seq", "point_id", "status", "error", "params_json", "metrics_json")
#: The tables of a results store; a database with other tables belongs to something else.
TABLES = ("meta", "points", "timings", "artifacts")
#: Seconds a reader waits for a lock held by another process before giving up with one line.
READ_TIMEOUT_S = 2.0
_NOT_A_STORE = "a results store written by rtmm sweep or rtmm compare"


class ResultStore:
    """An open results store. Use :meth:`open` (checks the spec) or :func:`load` (read-only)."""

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.created = False
        self._lock_fd: int | None = None
        self._con: sqlite3.Connection | None = None
        try:
            if read_only:
                check_regular_file(self.path, "results store")
                uri = f"{self.path.absolute().as_uri()}?mode=ro"
                if not any(Path(f"{self.path}{x}").exists() for x in ("-wal", "-journal")):
                    # nobody is writing and every commit is in the main file: read it as
                    # immutable, so not even the -wal/-shm side files of a reader appear
                    uri += "&immutable=1"
                self._con = sqlite3.connect(
                    uri, uri=True, timeout=READ_TIMEOUT_S, isolation_level=None
                )
                self._check_schema()
            else:
                self._lock()
                self._con = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
                self._check_schema(allow_empty=True)
                self._con.execute("PRAGMA journal_mode=WAL")
                self._con.execute("PRAGMA synchronous=NORMAL")
                self._create_tables()
            self._columns = self._existing_columns()
        except sqlite3.OperationalError as exc:
            self.close()
            raise self._operational_error(
                exc, "cannot open the results store", "(e.g. a running sweep) "
            ) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise SpecError(
                f"not a results store ({exc})", source=self.path, allowed=_NOT_A_STORE
            ) from None
        except BaseException:
            self.close()
            raise

    def _operational_error(
        self, exc: sqlite3.OperationalError, what: str, example: str = ""
    ) -> SpecError:
        """The one-line error of a failed SQLite operation: a lock held by another process, or
        ``what`` with SQLite's reason."""
        if "locked" in str(exc) or "busy" in str(exc):
            return SpecError(
                "store is locked by another process",
                source=self.path,
                allowed=f"try again when the other process {example}is done",
            )
        return SpecError(f"{what} ({exc})", source=self.path)

    def _lock(self) -> None:
        """Create the file if needed and take the writer's exclusive lock, or refuse at once."""
        if self.path.exists():
            check_regular_file(self.path, "results store")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            self.created = True
        except FileExistsError:
            fd = os.open(self.path, os.O_RDWR)
        except OSError as exc:
            raise SpecError(
                f"cannot create the results store ({exc.strerror})",
                source=self.path,
                allowed="a path in a writable folder",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self.created = False  # the other process owns it now; never remove it
            raise SpecError(
                "store is in use by another rtmm sweep or compare",
                source=self.path,
                allowed="wait for that sweep to finish (then --resume), or another --store path",
            ) from None
        self._lock_fd = fd

    def _check_schema(self, *, allow_empty: bool = False) -> None:
        """Refuse, without writing anything, a database that is not a results store."""
        assert self._con is not None
        tables = {
            row[0]
            for row in self._con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not tables and allow_empty:
            return
        if not tables or not tables <= set(TABLES) or "points" not in tables:
            found = ", ".join(sorted(tables)) or "none"
            raise SpecError(
                f"not a results store (tables: {found})", source=self.path, allowed=_NOT_A_STORE
            )
        columns = [row[1] for row in self._con.execute("PRAGMA table_info(points)")]
        missing = [c for c in BASE_COLUMNS if c not in columns]
        version = None
        if "meta" in tables:
            row = self._con.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
            version = row[0] if row else None
        if missing or version not in (None, SCHEMA_VERSION):
            what = f"points lacks {', '.join(missing)}" if missing else f"schema {version}"
            raise SpecError(
                f"not a results store of this version ({what})",
                source=self.path,
                allowed=f"{_NOT_A_STORE} (schema {SCHEMA_VERSION})",
            )

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        *,
        fingerprint: str,
        spec_json: str,
        resume: bool,
        adopt: bool = False,
        refusal: tuple[str, str] | None = None,
    ) -> ResultStore:
        """Open (or create) the store of the spec with this ``fingerprint``.

        A store holding results of a different spec is an error unless ``adopt`` (the store then
        keeps them and records this spec as its latest); so is a non-empty store of the same spec
        without ``resume`` (the user must say whether to continue it). ``refusal`` words the
        first error for other callers than ``rtmm sweep``: (what made the results, what is
        allowed).
        """
        store = cls(path)
        try:
            stored = store.meta().get("spec_fingerprint")
            count = store.count()
            other = stored is not None and stored != fingerprint
            if other and not adopt and (count or resume):
                what, allowed = refusal or (
                    f"a different sweep spec (fingerprint {stored}, this spec {fingerprint})",
                    "a new --store path, or the spec that created this store",
                )
                raise SpecError(
                    f"store holds {count} results of {what}", source=store.path, allowed=allowed
                )
            if count and not resume:
                raise SpecError(
                    f"store already holds {count} results of this sweep",
                    source=store.path,
                    allowed="--resume to compute only the missing points, or a new --store path",
                )
            store._set_meta(
                {
                    "schema_version": SCHEMA_VERSION,
                    "spec_fingerprint": fingerprint,
                    "spec_json": spec_json,
                }  # fmt: skip
            )
        except BaseException:
            store.discard_if_empty()
            raise
        return store

    def close(self) -> None:
        """Close the connection, then release the writer's lock (in that order: closing another
        descriptor of the file first would drop SQLite's own POSIX locks)."""
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def discard_if_empty(self) -> bool:
        """Close; if this run created the store and it holds no result, remove it (and its WAL
        files) so a failed run leaves nothing behind. Returns whether it was removed."""
        empty = self.created and self._con is not None and self.count() == 0
        if self._con is not None:
            self._con.close()
            self._con = None
        if empty:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
        self.close()
        return empty

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        return dict(self._con.execute("SELECT key, value FROM meta").fetchall())

    def count(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def completed_ids(self) -> set[str]:
        """Point ids with a committed result (``ok`` or ``error``)."""
        return {row[0] for row in self._con.execute("SELECT point_id FROM points")}

    def to_frame(self) -> pd.DataFrame:
        """All points, ordered by ``seq`` (JSON columns kept; timings not included)."""
        cols = ", ".join(quote(c) for c in self._columns)
        try:
            return pd.read_sql_query(f"SELECT {cols} FROM points ORDER BY seq", self._con)
        except sqlite3.OperationalError as exc:
            raise self._operational_error(exc, "unreadable results store") from None
        except sqlite3.DatabaseError as exc:
            raise SpecError(f"corrupted results store ({exc})", source=self.path) from None

    def timings(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM timings ORDER BY point_id", self._con)

    def artifacts(self, name: str, point_ids: Iterable[str] | None = None) -> dict[str, bytes]:
        """``point_id -> data`` of the artifact ``name`` (of ``point_ids`` only, when given)."""
        if "artifacts" not in self._tables():
            return {}
        rows = self._con.execute("SELECT point_id, data FROM artifacts WHERE name = ?", (name,))
        wanted = None if point_ids is None else set(point_ids)
        return {pid: bytes(d) for pid, d in rows if wanted is None or pid in wanted}

    def artifact_ids(self, name: str) -> set[str]:
        """Point ids that have the artifact ``name``."""
        if "artifacts" not in self._tables():
            return set()
        rows = self._con.execute("SELECT point_id FROM artifacts WHERE name = ?", (name,))
        return {row[0] for row in rows}

    def _tables(self) -> set[str]:
        rows = self._con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}

    # -- writing --------------------------------------------------------------------------------

    def write(self, results: Sequence[PointResult]) -> None:
        """Commit a batch of results in one transaction (re-writing a point replaces it)."""
        if not results:
            return
        self._ensure_columns(results)
        cur = self._con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for r in results:
                row = {
                    "seq": r.seq,
                    "point_id": r.point_id,
                    "status": r.status,
                    "error": r.error,
                    "params_json": dumps(r.params),
                    "metrics_json": dumps(r.metrics),
                    **{k: sql_value(v) for k, v in r.flat_params.items()},
                    **{k: sql_value(v) for k, v in r.metrics.items()},
                }
                names = ", ".join(quote(k) for k in row)
                marks = ", ".join("?" for _ in row)
                cur.execute(
                    f"INSERT OR REPLACE INTO points ({names}) VALUES ({marks})", list(row.values())
                )
                cur.execute(
                    "INSERT OR REPLACE INTO timings VALUES (?, ?, ?, ?)",
                    (r.point_id, r.wall_s, r.worker, time.time()),
                )
                cur.execute("DELETE FROM artifacts WHERE point_id = ?", (r.point_id,))
                cur.executemany(
                    "INSERT INTO artifacts VALUES (?, ?, ?)",
                    [(r.point_id, k, sqlite3.Binary(v)) for k, v in r.artifacts.items()],
                )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    # -- internals ------------------------------------------------------------------------------

    def _create_tables(self) -> None:
        self._con.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS points (
                seq INTEGER NOT NULL,
                point_id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                error TEXT,
                params_json TEXT NOT NULL,
                metrics_json TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS timings (
                point_id TEXT PRIMARY KEY, wall_s REAL, worker TEXT, finished_unix REAL
            );
            CREATE TABLE IF NOT EXISTS artifacts (
                point_id TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,
                PRIMARY KEY (point_id, name)
            );
            """
        )

    def _set_meta(self, values: Mapping[str, str]) -> None:
        with self._con:
            self._con.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items())
            )

    def _existing_columns(self) -> list[str]:
        return [row[1] for row in self._con.execute("PRAGMA table_info(points)")]

    def _ensure_columns(self, results: Iterable[PointResult]) -> None:
        """Add a column for every parameter and metric not seen before (in first-seen order)."""
        known = set(self._columns)
        new: list[str] = []
        for r in results:
            for k in [*r.flat_params, *r.metrics]:
                if k not in known:
                    known.add(k)
                    new.append(k)
        for r in results:
            clash = (set(r.metrics) & set(r.flat_params)) | (set(r.metrics) & set(BASE_COLUMNS))
            if clash:
                raise SpecError(
                    f"metric names {sorted(clash)} clash with parameter or store columns",
                    source=self.path,
                    allowed="metric names other than " + ", ".join([*BASE_COLUMNS, *r.flat_params]),
                )
        for k in new:
            try:
                self._con.execute(f"ALTER TABLE points ADD COLUMN {quote(k)}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):
                    raise
        self._columns = self._existing_columns()


def load(path: str | os.PathLike, *, with_json: bool = False) -> pd.DataFrame:
    """Read a results store into a DataFrame (one row per point, in sweep order).

    The JSON columns (``params_json``, ``metrics_json``) are dropped unless ``with_json``.
    """
    p = Path(path)
    if not p.exists():
        raise SpecError("file not found", source=p, allowed=_NOT_A_STORE)
    with ResultStore(p, read_only=True) as store:
        frame = store.to_frame()
    if not with_json:
        frame = frame.drop(columns=["params_json", "metrics_json"])
    return frame
