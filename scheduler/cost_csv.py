"""External cost tables: their columns and bounds, the CSV reader and the validator.

A cost table (``--costs FILE.csv``, or a cost model's table) has one row per (model, layer_idx,
accelerator) with the columns ``model, layer_idx, accelerator, latency_cycles, energy_nj``
(``accelerator`` = index in the system). :func:`read_cost_csv` reads a file; :func:`validate_table`
checks a table against a scenario's models and a system's accelerator count (called by
:func:`scheduler.costs.from_table`): every problem is a :class:`rtmm.errors.SpecError` naming the
file, the row (1-based line in the file) and the column.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from rtmm.errors import SpecError
from rtmm.fileio import check_regular_file

#: Columns every cost table must provide to the scheduler.
COST_COLUMNS = ("model", "layer_idx", "accelerator", "latency_cycles", "energy_nj")
#: Largest value per column: a layer runs at most 2^40 cycles (18 minutes at 1 GHz, beyond any
#: horizon the simulator accepts) so prefix sums stay exact in int64 and event times in float64;
#: a layer index is below 2^20 like every layer dimension; a layer costs at most 1 kJ (10^12 nJ).
COLUMN_MAX = {
    "layer_idx": 2**20,
    "accelerator": 2**20,
    "latency_cycles": 2**40,
    "energy_nj": 1e12,
}


def validate_table(
    table: pd.DataFrame,
    model_ids: Iterable[str],
    num_accelerators: int,
    *,
    source: str,
    layer_counts: Mapping[str, int] | None = None,
) -> None:
    """Check a cost table; raise :class:`SpecError` naming ``source``, the row and the column.

    Rows are reported as 1-based CSV lines (header = line 1) when the table came from a file.
    With ``layer_counts`` (model id -> number of layers of the model that will run), a model's
    rows must cover exactly layers ``0..n-1``: a missing last layer or an extra layer index is an
    error (without it only gaps inside the rows present can be detected).
    """
    missing = [c for c in COST_COLUMNS if c not in table.columns]
    if missing:
        raise SpecError(
            f"missing column '{missing[0]}'", source=source, allowed=", ".join(COST_COLUMNS)
        )
    for col in ("layer_idx", "accelerator", "latency_cycles", "energy_nj"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(float))
        if col != "energy_nj":
            bad |= values.notna() & (values.astype(float) % 1 != 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SpecError(
                f"column '{col}': value {table[col].iloc[row]!r} is not a finite number"
                + ("" if col == "energy_nj" else " (integer expected)"),
                source=source,
                field=f"line {row + 2}",
            )
        negative = values.to_numpy(dtype=float) < 0
        if negative.any():
            row = int(np.flatnonzero(negative)[0])
            raise SpecError(
                f"column '{col}': negative value {table[col].iloc[row]!r}",
                source=source,
                field=f"line {row + 2}",
                allowed="numbers >= 0",
            )
        huge = values.to_numpy(dtype=float) > COLUMN_MAX[col]
        if huge.any():
            row = int(np.flatnonzero(huge)[0])
            raise SpecError(
                f"column '{col}': value {_plain(table[col].iloc[row])} is too large",
                source=source,
                field=f"line {row + 2}",
                allowed=f"numbers from 0 to {COLUMN_MAX[col]:.6g}",
            )
    acc = table["accelerator"].to_numpy(dtype=float)
    out = acc >= num_accelerators
    if out.any():
        row = int(np.flatnonzero(out)[0])
        raise SpecError(
            f"column 'accelerator': index {int(acc[row])} out of range for a system with "
            f"{num_accelerators} accelerator(s)",
            source=source,
            field=f"line {row + 2}",
            allowed=f"0..{num_accelerators - 1}",
        )
    dup = table.duplicated(subset=["model", "layer_idx", "accelerator"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise SpecError(
            "duplicate (model, layer_idx, accelerator) row",
            source=source,
            field=f"line {row + 2}",
        )
    names = table["model"]
    blank = names.isna().to_numpy() | (names.astype(object).map(str).str.strip() == "").to_numpy()
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise SpecError(
            "column 'model': empty model name",
            source=source,
            field=f"line {row + 2}",
            allowed="model ids of the scenario",
        )
    present = {str(v) for v in names}
    model_ids = list(model_ids)
    for model_id in model_ids:
        if model_id not in present:
            raise SpecError(
                f"column 'model': no rows for model '{model_id}' required by the scenario",
                source=source,
                allowed=", ".join(sorted(present)) or "none present",
            )
    for model_id in model_ids:
        rows = table[table["model"] == model_id]
        num_layers = int(rows["layer_idx"].max()) + 1
        if layer_counts is not None and model_id in layer_counts:
            _check_layer_count(table, rows, model_id, layer_counts[model_id], source)
        if len(rows) != num_layers * num_accelerators:
            pairs = zip(rows["layer_idx"].astype(int), rows["accelerator"].astype(int), strict=True)
            have = set(pairs)
            for layer in range(num_layers):
                for a in range(num_accelerators):
                    if (layer, a) not in have:
                        raise SpecError(
                            f"column 'layer_idx': model '{model_id}' has no row for layer {layer}"
                            f" on accelerator {a}",
                            source=source,
                            allowed=f"layers 0..{num_layers - 1} on accelerators "
                            f"0..{num_accelerators - 1}",
                        )


def _plain(value: object) -> str:
    """A cell for a message: numpy scalars shown as plain Python numbers."""
    return repr(value.item() if hasattr(value, "item") else value)


def _check_layer_count(
    table: pd.DataFrame, rows: pd.DataFrame, model_id: str, expected: int, source: str
) -> None:
    """The rows of ``model_id`` must index layers ``0..expected-1`` exactly."""
    layer = rows["layer_idx"].to_numpy(dtype=np.int64)
    extra = layer >= expected
    if extra.any():
        row = int(table.index.get_loc(rows.index[int(np.flatnonzero(extra)[0])]))
        raise SpecError(
            f"column 'layer_idx': model '{model_id}' has {expected} layers, "
            f"no layer {int(layer[extra][0])}",
            source=source,
            field=f"line {row + 2}",
            allowed=f"layer_idx 0..{expected - 1}",
        )
    if int(layer.max()) + 1 < expected:
        last = int(table.index.get_loc(rows.index[int(np.argmax(layer))]))
        raise SpecError(
            f"column 'layer_idx': model '{model_id}' has {expected} layers but rows stop at "
            f"layer {int(layer.max())}",
            source=source,
            field=f"line {last + 2}",
            allowed=f"one row per layer 0..{expected - 1} and accelerator",
        )


def read_cost_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read an external per-layer cost CSV (columns :data:`COST_COLUMNS`) without validating it.

    Validation against a scenario and a system happens in :func:`scheduler.costs.from_table`.
    """
    p = check_regular_file(path, "cost table file")
    try:
        table = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"not a valid CSV file: {first}", source=p) from None
    if "model" in table.columns:
        table["model"] = table["model"].astype(str)
    return table
