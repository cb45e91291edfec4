"""Validation of parsed hardware documents (the first half of validate-then-construct).

:func:`validate_accelerator` and :func:`validate_system` are pure functions over the dict that
:func:`rtmm.fileio.load_yaml` returns. They reject unknown keys, missing fields, wrong types (a
bool is not an int), non-positive / NaN / inf numbers, unknown preset names and malformed
directive lists, each with a one-line :class:`rtmm.errors.SpecError` naming the file, the field path
(``accelerators[1].noc_top.bw_words_per_cycle``) and what is allowed. They return a *checked* dict
with defaults filled in, which :mod:`hardware_db.factory` turns into frozen dataclasses without
further checks. The file format itself is documented in :mod:`hardware_db.loader`.

References (``base: NAME`` in an accelerator mapping, or a bare string in a system's accelerator
list) are resolved by a caller-supplied ``resolve(ref, where) -> dict`` returning the referenced
accelerator as a document (see :func:`hardware_db.loader.accelerator_to_dict`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from hardware_db import dataflow as dataflow_presets
from hardware_db import energy as energy_presets
from hardware_db.directives import DirectiveSyntaxError, parse_directives
from hardware_db.energy import EnergyTable
from rtmm.errors import SpecError, UnknownNameError

Resolver = Callable[[str, str], Mapping[str, Any]]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_NAME_ALLOWED = "letters, digits and _ . + - (no '/' or spaces), starting with a letter or digit"

SYSTEM_KEYS = ("name", "description", "offchip_bw_words_per_cycle", "accelerators")
ACCELERATOR_KEYS = (
    "base", "name", "num_pes", "array_shape", "dataflow", "clock_hz", "l1_bytes_per_pe",
    "l2_bytes", "noc_top", "noc_col", "offchip_bw_words_per_cycle", "word_bytes", "energy",
    "offchip_clock_hz", "fmap_compression", "double_buffered", "l2_weight_bytes",
)  # fmt: skip
_ACCELERATOR_OPTIONAL = (
    "base", "array_shape", "offchip_clock_hz", "fmap_compression", "double_buffered",
    "l2_weight_bytes",
)  # fmt: skip
COMPRESSION_KEYS = ("input", "output")
NOC_KEYS = ("bw_words_per_cycle", "latency_cycles", "multicast")
DATAFLOW_KEYS = ("name", "directives")
ENERGY_KEYS = tuple(f.name for f in fields(EnergyTable)) + ("base",)
_ENERGY_FLOATS = ("mac_pj", "l1_pj", "l2_pj", "noc_pj", "dram_pj")


class UnknownPresetError(SpecError, UnknownNameError):
    """A file names a dataflow/energy preset or a library accelerator that does not exist."""


class _Ctx:
    """Where we are: the source file and a field path prefix."""

    def __init__(self, source: str, path: str = "") -> None:
        self.source = source
        self.path = path

    def at(self, key: str | int) -> _Ctx:
        if isinstance(key, int):
            return _Ctx(self.source, f"{self.path}[{key}]")
        return _Ctx(self.source, f"{self.path}.{key}" if self.path else key)

    def error(self, message: str, allowed: str | None = None) -> SpecError:
        return SpecError(message, source=self.source, field=self.path or None, allowed=allowed)


def _describe(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _mapping(value: Any, ctx: _Ctx, keys: tuple[str, ...], required: tuple[str, ...]) -> dict:
    """Check that ``value`` is a mapping with string keys from ``keys`` and all of ``required``."""
    if not isinstance(value, Mapping):
        what = "empty" if value is None else _describe(value)
        raise ctx.error(f"expected a mapping, got {what}", f"a mapping with keys {', '.join(keys)}")
    for key in value:
        if not isinstance(key, str) or key not in keys:
            raise ctx.error(f"unknown key '{key}'{_hint(str(key), list(keys))}", ", ".join(keys))
    missing = [k for k in required if k not in value]
    if missing:
        raise ctx.error(f"missing field '{missing[0]}'", f"required: {', '.join(required)}")
    return dict(value)


def _numeric_hint(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return " (YAML reads this as text; write e.g. 1.0e+9 or 1000000000)"
    return ""


#: Largest integer a hardware field may hold: keeps every derived count inside int64.
MAX_INT = 2**40


def positive_int(value: Any, ctx: _Ctx, minimum: int = 1) -> int:
    """An int (not a bool, not a float) from ``minimum`` to :data:`MAX_INT`."""
    allowed = f"integers from {minimum} to 2^40"
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and not math.isfinite(value):
            raise ctx.error(f"must be a finite integer, got {value}", allowed)
        got = f"{_describe(value)}{_numeric_hint(value)}"
        raise ctx.error(f"must be an integer, got {got}", allowed)
    if value < minimum:
        raise ctx.error(f"must be >= {minimum}, got {value}", allowed)
    if value > MAX_INT:
        raise ctx.error(f"too large ({len(str(value))} digits)", allowed)
    return value


def bandwidth(value: Any, ctx: _Ctx) -> int | float:
    """A bandwidth in words per cycle: an int as :func:`positive_int`, or a finite float > 0
    (kept a float only when it is not integral, so integral values stay exact ints)."""
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        if value.is_integer() and value <= MAX_INT:
            return int(value)
        if value > MAX_INT:
            raise ctx.error(f"too large ({value:g})", "numbers > 0 and <= 2^40")
        return value
    if isinstance(value, float):
        raise ctx.error(f"must be a finite number, got {value}", "numbers > 0 and <= 2^40")
    if isinstance(value, bool) or not isinstance(value, int):
        got = f"{_describe(value)}{_numeric_hint(value)}"
        raise ctx.error(f"must be a number, got {got}", "numbers > 0 and <= 2^40")
    return positive_int(value, ctx)


#: Bounds that keep every derived energy and time finite: an access costs at most 1 µJ (10^6 pJ;
#: real ones are 0.01-1000 pJ), a clock runs at 1 kHz to 1 THz.
MAX_ENERGY_PJ = 1e6
CLOCK_HZ_RANGE = (1e3, 1e12)


def finite_float(
    value: Any,
    ctx: _Ctx,
    *,
    positive: bool,
    lowest: float | None = None,
    highest: float | None = None,
) -> float:
    """A finite number (int or float, not a bool); ``> 0`` if ``positive`` else ``>= 0``, and
    within ``[lowest, highest]`` when given."""
    allowed = "finite numbers > 0" if positive else "finite numbers >= 0"
    if lowest is not None or highest is not None:
        allowed = f"numbers from {lowest if lowest is not None else 0:g} to {highest:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ctx.error(f"must be a number, got {_describe(value)}{_numeric_hint(value)}", allowed)
    if isinstance(value, int) and abs(value) > 2**1000:
        raise ctx.error(f"too large ({len(str(value))} digits)", allowed)
    number = float(value)
    if not math.isfinite(number):
        raise ctx.error(f"must be finite, got {value}", allowed)
    if number < 0 or (positive and number == 0):
        raise ctx.error(f"must be {'> 0' if positive else '>= 0'}, got {value}", allowed)
    if (lowest is not None and number < lowest) or (highest is not None and number > highest):
        raise ctx.error(f"out of range, got {value}", allowed)
    return number


def boolean(value: Any, ctx: _Ctx) -> bool:
    if not isinstance(value, bool):
        raise ctx.error(f"must be true or false, got {_describe(value)}", "true, false")
    return value


def name(value: Any, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ctx.error(f"invalid name {_describe(value)}", _NAME_ALLOWED)
    return value


def _lookup_preset(word: str, presets: Mapping[str, Any], ctx: _Ctx, what: str, extra: str) -> str:
    for key in presets:
        if key.lower() == word.lower():
            return key
    raise UnknownPresetError(
        f"unknown {what} '{word}'{_hint(word, list(presets))}",
        source=ctx.source,
        field=ctx.path or None,
        allowed=", ".join(presets) + extra,
    )


# --------------------------------------------------------------------------------------------
# Nested values


def validate_noc(value: Any, ctx: _Ctx) -> dict:
    doc = _mapping(value, ctx, NOC_KEYS, ("bw_words_per_cycle",))
    return {
        "bw_words_per_cycle": bandwidth(doc["bw_words_per_cycle"], ctx.at("bw_words_per_cycle")),
        "latency_cycles": positive_int(doc.get("latency_cycles", 1), ctx.at("latency_cycles"), 0),
        "multicast": boolean(doc.get("multicast", True), ctx.at("multicast")),
    }


def validate_compression(value: Any, ctx: _Ctx) -> tuple[float, float]:
    """``{input: r, output: r}``: feature-map size in DRAM relative to raw, 0 < r <= 1 each."""
    doc = _mapping(value, ctx, COMPRESSION_KEYS, ())
    out = []
    for key in COMPRESSION_KEYS:
        ratio = finite_float(doc.get(key, 1.0), ctx.at(key), positive=True)
        if ratio > 1:
            raise ctx.at(key).error(f"must be <= 1, got {ratio}", "numbers > 0 and <= 1")
        out.append(ratio)
    return out[0], out[1]


def _directives(value: Any, ctx: _Ctx) -> tuple:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ctx.at(i).error(f"expected a directive string, got {_describe(item)}")
    elif not isinstance(value, str):
        raise ctx.error(
            f"expected a directive list, got {_describe(value)}",
            "a string 'TemporalMap(16,16) C; ...' or a list of directive strings",
        )
    try:
        return parse_directives(value)
    except DirectiveSyntaxError as exc:
        raise ctx.error(exc.message, exc.allowed) from None


def validate_dataflow(value: Any, ctx: _Ctx) -> dict:
    """A preset name, a directive list (string or list; named ``custom``) or {name, directives}."""
    presets = dataflow_presets.PRESETS
    if isinstance(value, str) and value.strip().lower().partition(":")[0] == "search":
        objective = value.strip().lower().partition(":")[2] or "edp"
        if objective not in dataflow_presets.SEARCH_OBJECTIVES:
            allowed = ", ".join(f"search:{o}" for o in dataflow_presets.SEARCH_OBJECTIVES)
            raise ctx.error(f"unknown mapping objective in '{value.strip()}'", f"search, {allowed}")
        flow = dataflow_presets.search_dataflow(objective)
        return {"name": flow.name, "directives": flow.directives}
    if isinstance(value, str) and "(" not in value:
        key = _lookup_preset(value.strip(), presets, ctx, "dataflow", " or a directive list")
        return {"name": key, "directives": presets[key].directives}
    if isinstance(value, (str, list)):
        return {"name": "custom", "directives": _directives(value, ctx)}
    if isinstance(value, Mapping):
        doc = _mapping(value, ctx, DATAFLOW_KEYS, DATAFLOW_KEYS)
        return {
            "name": name(doc["name"], ctx.at("name")),
            "directives": _directives(doc["directives"], ctx.at("directives")),
        }
    raise ctx.error(
        f"expected a dataflow, got {_describe(value)}",
        f"a preset ({', '.join(presets)}), a directive list or {{name, directives}}",
    )


def _preset_energy(word: str, ctx: _Ctx) -> dict:
    presets = energy_presets.PRESETS
    key = _lookup_preset(word, presets, ctx, "energy preset", " or an explicit table")
    table = presets[key]
    return {f.name: getattr(table, f.name) for f in fields(EnergyTable)}


def validate_energy(value: Any, ctx: _Ctx) -> dict:
    """A preset name, or a table of EnergyTable fields (optionally ``base: PRESET`` + overrides)."""
    if isinstance(value, str):
        return _preset_energy(value, ctx)
    table_fields = tuple(f.name for f in fields(EnergyTable))
    required = () if isinstance(value, Mapping) and "base" in value else table_fields[:-1]
    doc = _mapping(value, ctx, ENERGY_KEYS, required)
    out: dict[str, Any] = {}
    if "base" in doc:
        if not isinstance(doc["base"], str):
            raise ctx.at("base").error(f"expected a preset name, got {_describe(doc['base'])}")
        out = _preset_energy(doc["base"], ctx.at("base"))
        out["name"] = f"{out['name']}-custom"
    for key in table_fields:
        if key not in doc:
            continue
        where = ctx.at(key)
        if key == "name":
            out[key] = name(doc[key], where)
        elif key in _ENERGY_FLOATS:
            out[key] = finite_float(
                doc[key], where, positive=key == "mac_pj", highest=MAX_ENERGY_PJ
            )
        elif key == "charges_maestro_computations":
            out[key] = boolean(doc[key], where)
        else:
            out[key] = positive_int(doc[key], where)
    out.setdefault("charges_maestro_computations", False)
    return out


def _array_shape(value: Any, ctx: _Ctx, num_pes: int) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ctx.error(f"expected [rows, cols], got {_describe(value)}", "two integers >= 1")
    rows = positive_int(value[0], ctx.at(0))
    cols = positive_int(value[1], ctx.at(1))
    if rows * cols != num_pes:
        raise ctx.error(
            f"{rows}x{cols} = {rows * cols} PEs does not match num_pes {num_pes}",
            "rows * cols == num_pes",
        )
    return rows, cols


def default_array_shape(num_pes: int, directives: tuple) -> tuple[int, int]:
    """Rows = level-0 units, cols = PEs per level-0 unit (product of the Cluster sizes).

    Falls back to a single row when the cluster product does not divide ``num_pes``.
    """
    per_unit = math.prod(d.size for d in directives if d.kind == "C")
    if num_pes % per_unit == 0:
        return num_pes // per_unit, per_unit
    return 1, num_pes


def _check_clusters(directives: tuple, num_pes: int, ctx: _Ctx) -> None:
    sizes = [d.size for d in directives if d.kind == "C"]
    for size in sizes:
        if size > num_pes:
            raise ctx.error(
                f"Cluster({size}) is larger than num_pes {num_pes}", "cluster sizes <= num_pes"
            )
    if math.prod(sizes) > num_pes:
        raise ctx.error(
            f"cluster sizes {'x'.join(map(str, sizes))} = {math.prod(sizes)} PEs exceed "
            f"num_pes {num_pes}",
            "a product of cluster sizes <= num_pes",
        )


# --------------------------------------------------------------------------------------------
# Accelerators and systems


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        if key == "base":
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _resolve_base(doc: dict, ctx: _Ctx, resolve: Resolver | None) -> dict:
    ref = doc["base"]
    where = ctx.at("base")
    if not isinstance(ref, str) or not ref:
        raise where.error(f"expected an accelerator name or file, got {_describe(ref)}")
    if resolve is None:
        raise where.error("references are not allowed here", "an inline accelerator mapping")
    return _merge(resolve(ref, where.path), doc)


def validate_accelerator(
    value: Any,
    *,
    source: str,
    path: str = "",
    offchip_bw_default: int | float | None = None,
    resolve: Resolver | None = None,
) -> dict:
    """Check one accelerator document; return its checked dict (field names of Accelerator).

    ``offchip_bw_default``: inside a system the accelerator's off-chip bandwidth defaults to the
    system's. A string ``value`` is a reference (same as ``{base: value}``).
    """
    ctx = _Ctx(source, path)
    if isinstance(value, str):
        value = {"base": value}
    doc = _mapping(value, ctx, ACCELERATOR_KEYS, ())
    if "base" in doc:
        doc = _resolve_base(doc, ctx, resolve)
    optional = _ACCELERATOR_OPTIONAL + (
        ("offchip_bw_words_per_cycle",) if offchip_bw_default is not None else ()
    )
    required = tuple(k for k in ACCELERATOR_KEYS if k not in optional)
    _mapping(doc, ctx, ACCELERATOR_KEYS, required)

    num_pes = positive_int(doc["num_pes"], ctx.at("num_pes"))
    flow = validate_dataflow(doc["dataflow"], ctx.at("dataflow"))
    _check_clusters(flow["directives"], num_pes, ctx.at("dataflow"))
    if "array_shape" in doc:
        shape = _array_shape(doc["array_shape"], ctx.at("array_shape"), num_pes)
    else:
        shape = default_array_shape(num_pes, flow["directives"])
    offchip = doc.get("offchip_bw_words_per_cycle", offchip_bw_default)
    return {
        "name": name(doc["name"], ctx.at("name")),
        "num_pes": num_pes,
        "array_shape": shape,
        "dataflow": flow,
        "clock_hz": finite_float(
            doc["clock_hz"],
            ctx.at("clock_hz"),
            positive=True,
            lowest=CLOCK_HZ_RANGE[0],
            highest=CLOCK_HZ_RANGE[1],
        ),  # fmt: skip
        "l1_bytes_per_pe": positive_int(doc["l1_bytes_per_pe"], ctx.at("l1_bytes_per_pe")),
        "l2_bytes": positive_int(doc["l2_bytes"], ctx.at("l2_bytes")),
        "noc_top": validate_noc(doc["noc_top"], ctx.at("noc_top")),
        "noc_col": validate_noc(doc["noc_col"], ctx.at("noc_col")),
        "offchip_bw_words_per_cycle": bandwidth(offchip, ctx.at("offchip_bw_words_per_cycle")),
        "word_bytes": positive_int(doc["word_bytes"], ctx.at("word_bytes")),
        "energy": validate_energy(doc["energy"], ctx.at("energy")),
        "offchip_clock_hz": (
            None
            if doc.get("offchip_clock_hz") is None
            else finite_float(doc["offchip_clock_hz"], ctx.at("offchip_clock_hz"), positive=True)
        ),
        "fmap_compression": validate_compression(
            doc.get("fmap_compression", {}), ctx.at("fmap_compression")
        ),
        "double_buffered": boolean(doc.get("double_buffered", True), ctx.at("double_buffered")),
        "l2_weight_bytes": _weight_share(doc, ctx),
    }


def _weight_share(doc: Mapping[str, Any], ctx: _Ctx) -> int | None:
    """``l2_weight_bytes``: absent/null, or an int from 1 to ``l2_bytes`` − 1."""
    value = doc.get("l2_weight_bytes")
    if value is None:
        return None
    where = ctx.at("l2_weight_bytes")
    share = positive_int(value, where)
    total = positive_int(doc["l2_bytes"], ctx.at("l2_bytes"))
    if share >= total:
        raise where.error(f"must be < l2_bytes ({total}), got {share}", "1 to l2_bytes - 1")
    return share


def validate_system(value: Any, *, source: str, resolve: Resolver | None = None) -> dict:
    """Check a system document; return its checked dict (field names of System)."""
    ctx = _Ctx(source)
    required = ("name", "offchip_bw_words_per_cycle", "accelerators")
    doc = _mapping(value, ctx, SYSTEM_KEYS, required)
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise ctx.at("description").error(f"expected text, got {_describe(description)}")
    offchip = bandwidth(doc["offchip_bw_words_per_cycle"], ctx.at("offchip_bw_words_per_cycle"))
    items = doc["accelerators"]
    if not isinstance(items, list) or not items:
        raise ctx.at("accelerators").error(
            f"expected a non-empty list, got {_describe(items)}",
            "a list of accelerator mappings or accelerator names/files",
        )
    accelerators = []
    for i, item in enumerate(items):
        accelerators.append(
            validate_accelerator(
                item,
                source=source,
                path=ctx.at("accelerators").at(i).path,
                offchip_bw_default=offchip,
                resolve=resolve,
            )
        )
    names = [a["name"] for a in accelerators]
    for i, acc_name in enumerate(names):
        if acc_name in names[:i]:
            raise (
                ctx.at("accelerators")
                .at(i)
                .at("name")
                .error(
                    f"accelerator name '{acc_name}' is used twice", "distinct names within a system"
                )
            )
    return {
        "name": name(doc["name"], ctx.at("name")),
        "description": description,
        "offchip_bw_words_per_cycle": offchip,
        "accelerators": accelerators,
    }
