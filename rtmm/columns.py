"""Column tables printed and written as pandas does, for command lines that must start fast.

A *column table* is an ordered mapping of column name → 1-D array (numpy arrays or lists of equal
length). :func:`format_table` gives the text of ``pandas.DataFrame(columns).to_string(index=False)``
and :func:`write_csv` the bytes of ``DataFrame.to_csv(path, index=False)``, for columns of int,
float, bool and str values, so that ``rtmm cost`` and ``rtmm models list`` keep their output byte
for byte without importing pandas (about 0.7 s of CPU at start-up, several times the work they
do). Only the rules these outputs use are reproduced — pandas' default ``display.precision``
(6), ``float_format`` as a function, no index, no wrapping, no cutting of long cells (``to_string``
ignores ``display.max_colwidth``). ``tests/test_rtmm_columns.py`` checks them against pandas on
edge cases and on the tables the commands print; ``tests/test_cli_startup.py`` against outputs
vendored from the pandas path. Libraries that want a DataFrame build one from the same columns
with one call.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from rtmm.fileio import atomic_path

#: pandas' ``display.precision``: digits after the decimal point of printed floats.
PRECISION = 6
_DECIMAL_NUMBER = re.compile(r"^\s*[+-]?[0-9]+\.[0-9]*$")
_ESCAPES = str.maketrans({"\t": r"\t", "\n": r"\n", "\r": r"\r"})

Columns = Mapping[str, "np.ndarray | Sequence[Any]"]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _trim_zeros(texts: list[str]) -> list[str]:
    """Drop trailing zeros equally from every decimal number, keeping one after the point."""
    is_number = [_DECIMAL_NUMBER.match(t) is not None for t in texts]
    if not any(is_number):
        return texts
    while all(t.endswith("0") for t, num in zip(texts, is_number, strict=True) if num):
        texts = [t[:-1] if num else t for t, num in zip(texts, is_number, strict=True)]
    return [
        t + "0" if num and t.endswith(".") else t for t, num in zip(texts, is_number, strict=True)
    ]


def _float_texts(values: np.ndarray) -> list[str]:
    """Fixed-point with :data:`PRECISION` digits, zeros trimmed; exponent notation when a value
    would print as 0 or when large values make the column too wide (pandas' rule)."""
    finite = ~np.isnan(values)

    def fmt(spec: str) -> list[str]:
        texts = [
            format(v, spec) if ok else "NaN" for v, ok in zip(values.tolist(), finite, strict=True)
        ]
        return _trim_zeros(texts)

    texts = fmt(f".{PRECISION}f")
    too_long = max(len(t) for t in texts) > PRECISION + 6
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(values)
        large = bool((magnitude > 1e6).any())
        small = bool(((magnitude < 10.0**-PRECISION) & (magnitude > 0)).any())
    if small or (too_long and large):
        texts = fmt(f".{PRECISION}e")
    return texts


def _object_text(value: Any) -> str:
    if value is None:
        return "None"
    if _is_missing(value):
        return "NaN"
    if isinstance(value, float):
        text = f"{value: .{PRECISION}f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return str(value).translate(_ESCAPES)


def _column_texts(
    values: np.ndarray, float_format: Callable[[float], str] | None
) -> tuple[list[str], bool]:
    """The formatted cells of one column and whether pandas counts it as numeric."""
    kind = values.dtype.kind
    if kind in "iu":
        return [str(v) for v in values.tolist()], True
    if kind == "b":
        return [str(v) for v in values.tolist()], True
    if kind == "f":
        if float_format is not None:
            nan = np.isnan(values)
            return [
                "NaN" if missing else float_format(v)
                for v, missing in zip(values.tolist(), nan, strict=True)
            ], True
        return _float_texts(values), True
    return [_object_text(v) for v in values.tolist()], False


def _as_array(values: np.ndarray | Sequence[Any]) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    array = np.asarray(values)
    return array if array.dtype.kind in "iufb" else np.asarray(values, dtype=object)


def format_table(columns: Columns, *, float_format: Callable[[float], str] | None = None) -> str:
    """The text of ``DataFrame(columns).to_string(index=False, float_format=float_format)``:
    each column right-justified to its widest cell or header, one space between columns."""
    arrays = {str(name): _as_array(values) for name, values in columns.items()}
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"columns must be non-empty and of equal length, got {sorted(lengths)}")
    blocks = []
    for name, values in arrays.items():
        texts, numeric = _column_texts(values, float_format)
        header = f" {name}" if numeric else name
        width = max(len(header), *(len(t) for t in texts))
        blocks.append([t.rjust(width) for t in (header, *texts)])
    return "\n".join(" ".join(row) for row in zip(*blocks, strict=True))


def _csv_cells(values: np.ndarray) -> list[str]:
    kind = values.dtype.kind
    if kind == "f":
        texts = values.astype(str)
        texts[np.isnan(values)] = ""
        return texts.tolist()
    if kind in "iub":
        return values.astype(str).tolist()
    return ["" if _is_missing(v) else str(v) for v in values.tolist()]


def csv_text(columns: Columns) -> str:
    """The text of ``DataFrame(columns).to_csv(index=False)``: floats in shortest round-trip
    form, missing values empty, minimal quoting, ``os.linesep`` line ends."""
    arrays = [_as_array(values) for values in columns.values()]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=os.linesep)
    writer.writerow([str(name) for name in columns])
    writer.writerows(zip(*(_csv_cells(a) for a in arrays), strict=True))
    return buffer.getvalue()


def write_csv(path: str | os.PathLike, columns: Columns) -> None:
    """Write :func:`csv_text` of ``columns`` to ``path`` atomically (temporary file + rename)."""
    text = csv_text(columns)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
