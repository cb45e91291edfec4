"""What a worker sends back for one design point, and how its values are encoded for the store.

:class:`PointResult` is the outcome of evaluating a point (parameters, metrics or the one-line
error, optional artifacts, timing); :func:`sql_value` and :func:`dumps` turn its values into
SQLite column values and canonical JSON, :func:`quote` an arbitrary name into an SQL identifier.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PointResult:
    """The outcome of evaluating one design point (what a worker sends back to the parent)."""

    point_id: str
    seq: int
    params: Mapping[str, Any]
    flat_params: Mapping[str, Any]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    wall_s: float = 0.0
    worker: str = ""
    artifacts: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "ok" if self.error is None else "error"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_value(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if v is None or isinstance(v, int | float | str):
        return v
    if hasattr(v, "item"):  # numpy scalar
        return sql_value(v.item())
    return dumps(v)


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"not JSON-serialisable: {type(v).__name__}")
