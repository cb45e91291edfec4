"""The hardware spec models: every field of an accelerator or system file, its type, unit-bearing
name, bounds and doc, stated once (the first half of validate-then-construct).

:class:`AcceleratorSpec`, :class:`SystemSpec` and their parts are frozen pydantic models.
:func:`validate_accelerator` and :func:`validate_system` check the dict that
:func:`rtmm.fileio.load_yaml` returns against them and return a *checked* dict with defaults
filled in, which :mod:`hardware_db.factory` turns into the frozen dataclasses without further
checks. Problems become one-line :class:`rtmm.errors.SpecError` naming the file, the field path
(``accelerators[1].noc_top.bw_words_per_cycle``) and the allowed values, derived from the field's
constraints by :mod:`rtmm.validation`. The file format itself is documented in
:mod:`hardware_db.loader`; the sweepable fields (:func:`sweep_fields`) are read off these models.

References (``base: NAME`` in an accelerator mapping, or a bare string in a system's accelerator
list) are resolved before validation by a caller-supplied ``resolve(ref, where) -> dict`` returning
the referenced accelerator as a document (see :func:`hardware_db.loader.accelerator_to_dict`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.fields import FieldInfo

from hardware_db import dataflow as dataflow_presets
from hardware_db import energy as energy_presets
from hardware_db.directives import DirectiveSyntaxError, parse_directives
from hardware_db.energy import EnergyTable
from rtmm.errors import SpecError, UnknownNameError
from rtmm.limits import CLOCK_HZ_RANGE, MAX_ENERGY_PJ, MAX_INT
from rtmm.validation import (
    custom,
    describe,
    flag_help,
    flag_type,
    hint_for,
    unwrap,
    validate,
)

Resolver = Callable[[str, str], Mapping[str, Any]]


class UnknownPresetError(SpecError, UnknownNameError):
    """A file names a dataflow/energy preset or a library accelerator that does not exist."""


#: Error classes of the custom errors raised below.
_CLASSES = {"unknown_name": UnknownPresetError}


# --------------------------------------------------------------------------------------------
# Value types


def _int_if_integral(value: float) -> int | float:
    """Integral bandwidths stay exact ints; fractional ones (a word every few cycles) floats."""
    return int(value) if value.is_integer() else value


#: A count (PEs, bytes, bits): an int (not a bool, not a float) from 1 to :data:`MAX_INT`.
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_INT)]
#: A count that may be zero (latencies).
Count0 = Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
#: A bandwidth in words per cycle: a finite number > 0 and <= 2^40 (integral values kept ints).
Bandwidth = Annotated[
    float,
    Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_INT),
    AfterValidator(_int_if_integral),
]
#: An energy per access in picojoules.
EnergyPj = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_ENERGY_PJ)]
#: A clock frequency in Hz.
ClockHz = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=CLOCK_HZ_RANGE[0], le=CLOCK_HZ_RANGE[1])
]
Flag = Annotated[bool, Field(strict=True)]
Ratio = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=1)]
Name = Annotated[
    str,
    Field(
        strict=True,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$",
        json_schema_extra={
            "pattern_name": "name",
            "allowed": "letters, digits and _ . + - (no '/' or spaces), starting with a letter "
            "or digit",
        },
    ),
]
Text = Annotated[str, Field(strict=True)]

_FROZEN = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _preset_key(word: str, presets: Mapping[str, Any], what: str, extra: str, at=()) -> str:
    for key in presets:
        if key.lower() == word.lower():
            return key
    raise custom(
        f"unknown {what} '{word}'{hint_for(word, presets)}",
        ", ".join(presets) + extra,
        at=at,
        kind="unknown_name",
    )


# --------------------------------------------------------------------------------------------
# Nested values


class NocSpec(BaseModel):
    """One NoC level (``noc_top``: L2 -> clusters, ``noc_col``: inside clusters)."""

    model_config = _FROZEN

    bw_words_per_cycle: Bandwidth = Field(description="words per cycle (fractional allowed)")
    latency_cycles: Count0 = Field(1, description="cycles per hop")
    multicast: Flag = Field(True, description="one read delivered to several units")


class CompressionSpec(BaseModel):
    """Feature-map size in DRAM relative to raw (0 < r <= 1; 1.0: stored raw)."""

    model_config = _FROZEN

    input: Ratio = 1.0
    output: Ratio = 1.0


def _directives(value: Any, at: tuple = ()) -> tuple:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise custom(f"expected a directive string, got {describe(item)}", at=(*at, i))
    elif not isinstance(value, str):
        raise custom(
            f"expected a directive list, got {describe(value)}",
            "a string 'TemporalMap(16,16) C; ...' or a list of directive strings",
            at=at,
        )
    try:
        return parse_directives(value)
    except DirectiveSyntaxError as exc:
        raise custom(exc.message, exc.allowed, at=at) from None


class _PresetName(str):
    """The name of a shipped dataflow (``search:edp`` included), not a user-written name."""


def _preset_name(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
    return str(value) if isinstance(value, _PresetName) else handler(value)


class DataflowSpec(BaseModel):
    """A preset name (WS / OS / RS, any case; ``search[:objective]``), a directive list (string or
    list; named ``custom``) or ``{name, directives}``."""

    model_config = _FROZEN

    name: Annotated[Name, WrapValidator(_preset_name)]
    directives: tuple

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        presets = dataflow_presets.PRESETS
        if isinstance(value, str) and value.strip().lower().partition(":")[0] == "search":
            objective = value.strip().lower().partition(":")[2] or "edp"
            if objective not in dataflow_presets.SEARCH_OBJECTIVES:
                objectives = ", ".join(f"search:{o}" for o in dataflow_presets.SEARCH_OBJECTIVES)
                raise custom(
                    f"unknown mapping objective in '{value.strip()}'", f"search, {objectives}"
                )
            flow = dataflow_presets.search_dataflow(objective)
            return {"name": _PresetName(flow.name), "directives": flow.directives}
        if isinstance(value, str) and "(" not in value:
            key = _preset_key(value.strip(), presets, "dataflow", " or a directive list")
            return {"name": _PresetName(key), "directives": presets[key].directives}
        if isinstance(value, str | list):
            return {"name": "custom", "directives": _directives(value)}
        if isinstance(value, Mapping):
            if "directives" in value and not isinstance(value["directives"], tuple):
                return {**value, "directives": _directives(value["directives"], ("directives",))}
            return value
        raise custom(
            f"expected a dataflow, got {describe(value)}",
            f"a preset ({', '.join(presets)}), a directive list or {{name, directives}}",
        )


_ENERGY_NAMES = tuple(f.name for f in fields(EnergyTable))


class EnergySpec(BaseModel):
    """Per-access energies: a preset name (xrbench / eyeriss / maestro), a full table, or
    ``{base: PRESET, <overrides>}``."""

    model_config = _FROZEN

    base: Name | None = Field(None, description="preset the other fields override")
    name: Name
    mac_pj: Annotated[EnergyPj, Field(gt=0)] = Field(description="one multiply-accumulate")
    l1_pj: EnergyPj = Field(description="one PE-local buffer access")
    l2_pj: EnergyPj = Field(description="one shared-buffer access")
    noc_pj: EnergyPj = Field(description="one word over the NoC")
    dram_pj: EnergyPj = Field(description="one off-chip access")
    word_bits: Count = Field(description="word width")
    process_nm: Count = Field(description="process node")
    charges_maestro_computations: Flag = Field(
        False, description="charge MAESTRO's partial-sum count instead of MACs (XRBench)"
    )

    @model_validator(mode="before")
    @classmethod
    def _presets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _preset_table(value)
        if isinstance(value, Mapping) and "base" in value:
            base = value["base"]
            if not isinstance(base, str):
                raise custom(f"expected a preset name, got {describe(base)}", at=("base",))
            table = _preset_table(base, at=("base",))
            return {**table, "name": f"{table['name']}-custom", **value}
        return value


def _preset_table(word: str, at: tuple = ()) -> dict[str, Any]:
    presets = energy_presets.PRESETS
    key = _preset_key(word, presets, "energy preset", " or an explicit table", at)
    table = presets[key]
    return {name: getattr(table, name) for name in _ENERGY_NAMES}


def default_array_shape(num_pes: int, directives: tuple) -> tuple[int, int]:
    """Rows = level-0 units, cols = PEs per level-0 unit (product of the Cluster sizes).

    Falls back to a single row when the cluster product does not divide ``num_pes``.
    """
    per_unit = math.prod(d.size for d in directives if d.kind == "C")
    if num_pes % per_unit == 0:
        return num_pes // per_unit, per_unit
    return 1, num_pes


def _array_shape(value: Any) -> Any:
    if value is not None and (not isinstance(value, list | tuple) or len(value) != 2):
        raise custom(f"expected [rows, cols], got {describe(value)}", "two integers >= 1")
    return value


def _l1_tensor_bytes(value: Any) -> Any:
    if value is not None and (not isinstance(value, list | tuple) or len(value) != 3):
        raise custom(
            f"expected [weights, inputs, outputs] bytes, got {describe(value)}",
            "three integers >= 1 summing to l1_bytes_per_pe",
        )
    return value


# --------------------------------------------------------------------------------------------
# Accelerators and systems


class AcceleratorSpec(BaseModel):
    """A spatial accelerator (an accelerator file, or one entry of a system's list)."""

    model_config = _FROZEN

    base: str | None = Field(None, description="library accelerator or file this one overrides")
    name: Name
    num_pes: Count = Field(description="processing elements")
    array_shape: Annotated[tuple[Count, Count] | None, BeforeValidator(_array_shape)] = Field(
        None, description="[rows, cols], rows * cols == num_pes (default from the dataflow)"
    )
    dataflow: DataflowSpec = Field(description="preset, directive list or {name, directives}")
    clock_hz: ClockHz = Field(description="core clock")
    l1_bytes_per_pe: Count = Field(description="PE-local buffer")
    l2_bytes: Count = Field(description="shared buffer")
    noc_top: NocSpec = Field(description="NoC from the L2 to the level-0 clusters")
    noc_col: NocSpec = Field(description="NoC inside a cluster")
    offchip_bw_words_per_cycle: Bandwidth = Field(
        description="port to DRAM, words per core cycle (per link cycle with offchip_clock_hz); "
        "inside a system defaults to the system's"
    )
    word_bytes: Count = Field(description="bytes per word")
    energy: EnergySpec = Field(description="energy preset or table")
    offchip_clock_hz: ClockHz | None = Field(
        None, description="the DRAM link's own clock (default: core clock)"
    )
    fmap_compression: CompressionSpec = Field(
        default_factory=CompressionSpec, description="feature-map size in DRAM / raw"
    )
    double_buffered: Flag = Field(True, description="PE buffers load the next pass meanwhile")
    l2_weight_bytes: Count | None = Field(
        None, description="part of l2_bytes only weights use (a filter buffer)"
    )
    l1_tensor_bytes: Annotated[
        tuple[Count, Count, Count] | None, BeforeValidator(_l1_tensor_bytes)
    ] = Field(
        None,
        description="l1_bytes_per_pe as one buffer per tensor, [weights, inputs, outputs] bytes "
        "(scratchpads; only the mapper's capacity check reads it)",
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> AcceleratorSpec:
        sizes = [d.size for d in self.dataflow.directives if d.kind == "C"]
        for size in sizes:
            if size > self.num_pes:
                raise custom(
                    f"Cluster({size}) is larger than num_pes {self.num_pes}",
                    "cluster sizes <= num_pes",
                    at=("dataflow",),
                )
        if math.prod(sizes) > self.num_pes:
            raise custom(
                f"cluster sizes {'x'.join(map(str, sizes))} = {math.prod(sizes)} PEs exceed "
                f"num_pes {self.num_pes}",
                "a product of cluster sizes <= num_pes",
                at=("dataflow",),
            )
        if self.array_shape is not None:
            rows, cols = self.array_shape
            if rows * cols != self.num_pes:
                raise custom(
                    f"{rows}x{cols} = {rows * cols} PEs does not match num_pes {self.num_pes}",
                    "rows * cols == num_pes",
                    at=("array_shape",),
                )
        if self.l2_weight_bytes is not None and self.l2_weight_bytes >= self.l2_bytes:
            raise custom(
                f"must be < l2_bytes ({self.l2_bytes}), got {self.l2_weight_bytes}",
                "1 to l2_bytes - 1",
                at=("l2_weight_bytes",),
            )
        split = self.l1_tensor_bytes
        total = 0 if split is None else sum(split)
        if split is not None and total != self.l1_bytes_per_pe:
            raise custom(
                f"[weights, inputs, outputs] sum to {total} B, must equal l1_bytes_per_pe "
                f"({self.l1_bytes_per_pe})",
                f"three buffers of >= 1 B summing to {self.l1_bytes_per_pe}",
                at=("l1_tensor_bytes",),
            )
        return self


class SystemSpec(BaseModel):
    """Accelerators (index = position) sharing one off-chip memory."""

    model_config = _FROZEN

    name: Name
    description: Text = ""
    offchip_bw_words_per_cycle: Bandwidth = Field(description="shared off-chip memory")
    accelerators: list[AcceleratorSpec] = Field(
        min_length=1,
        json_schema_extra={"allowed": "a list of accelerator mappings or accelerator names/files"},
    )

    @model_validator(mode="after")
    def _distinct_names(self) -> SystemSpec:
        names = [a.name for a in self.accelerators]
        for i, acc_name in enumerate(names):
            if acc_name in names[:i]:
                raise custom(
                    f"accelerator name '{acc_name}' is used twice",
                    "distinct names within a system",
                    at=("accelerators", i, "name"),
                )
        return self


# --------------------------------------------------------------------------------------------
# Validation entry points


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


def _resolved(value: Any, source: str, path: str, resolve: Resolver | None) -> Any:
    """An accelerator document with its ``base`` reference (or a bare string) resolved."""
    if isinstance(value, str):
        value = {"base": value}
    if not isinstance(value, Mapping) or "base" not in value:
        return value
    ref = value["base"]
    where = f"{path}.base" if path else "base"
    if not isinstance(ref, str) or not ref:
        raise SpecError(
            f"expected an accelerator name or file, got {describe(ref)}", source=source, field=where
        )
    if resolve is None:
        raise SpecError(
            "references are not allowed here",
            source=source,
            field=where,
            allowed="an inline accelerator mapping",
        )
    return _merge(resolve(ref, where), value)


def _checked_accelerator(spec: AcceleratorSpec) -> dict:
    """The checked dict (field names of :class:`~hardware_db.accelerator.Accelerator`)."""
    directives = spec.dataflow.directives
    energy = spec.energy.model_dump(exclude={"base"})
    return {
        **spec.model_dump(exclude={"base", "dataflow", "energy", "fmap_compression"}),
        "array_shape": spec.array_shape or default_array_shape(spec.num_pes, directives),
        "dataflow": {"name": spec.dataflow.name, "directives": directives},
        "energy": energy,
        "fmap_compression": (spec.fmap_compression.input, spec.fmap_compression.output),
    }


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
    doc = _resolved(value, source, path, resolve)
    if isinstance(doc, Mapping) and offchip_bw_default is not None:
        doc = {"offchip_bw_words_per_cycle": offchip_bw_default, **doc}
    spec = validate(AcceleratorSpec, doc, source=source, prefix=path, classes=_CLASSES)
    return _checked_accelerator(spec)


def validate_system(value: Any, *, source: str, resolve: Resolver | None = None) -> dict:
    """Check a system document; return its checked dict (field names of System)."""
    doc = value
    if isinstance(value, Mapping) and isinstance(value.get("accelerators"), list):
        offchip = value.get("offchip_bw_words_per_cycle")
        items = []
        for i, item in enumerate(value["accelerators"]):
            item = _resolved(item, source, f"accelerators[{i}]", resolve)
            if isinstance(item, Mapping) and offchip is not None:
                item = {"offchip_bw_words_per_cycle": offchip, **item}
            items.append(item)
        doc = {**value, "accelerators": items}
    spec = validate(SystemSpec, doc, source=source, classes=_CLASSES)
    return {
        "name": spec.name,
        "description": spec.description,
        "offchip_bw_words_per_cycle": spec.offchip_bw_words_per_cycle,
        "accelerators": [_checked_accelerator(a) for a in spec.accelerators],
    }


# --------------------------------------------------------------------------------------------
# Sweepable fields (read off the models)


def _axis_kind(info: FieldInfo) -> str | None:
    """``int``, ``float``, ``bool``, ``preset`` or ``nested`` for a field; None for text, lists."""
    bare, _ = unwrap(info.annotation)
    if bare in (DataflowSpec, EnergySpec):
        return "preset"
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return "nested"
    if bare in (int, float, bool):
        return bare.__name__
    return None


def sweep_fields(
    model: type[BaseModel] = AcceleratorSpec,
) -> dict[str, tuple[type[BaseModel], str]]:
    """The fields of ``model`` a sweep axis may set, by dotted path, with (model, field name):
    every number and flag, the dataflow and energy presets, and those of nested parts
    (``noc_top.bw_words_per_cycle``). Read off the model, so a new field is sweepable at once."""
    out: dict[str, tuple[type[BaseModel], str]] = {}
    for name, info in model.model_fields.items():
        kind = _axis_kind(info)
        if kind == "nested":
            nested, _ = unwrap(info.annotation)
            for sub, where in sweep_fields(nested).items():
                out[f"{name}.{sub}"] = where
        elif kind is not None:
            out[name] = (model, name)
    return out


def accelerator_flag(path: str, text: str) -> dict[str, Any]:
    """``type`` and ``help`` for a command-line flag that sets accelerator field ``path``
    (``num_pes``, ``noc_top.bw_words_per_cycle``, ...), derived from the model:
    ``parser.add_argument("--pes", **accelerator_flag("num_pes", "number of PEs"))``."""
    model, name = sweep_fields()[path]
    return {"type": flag_type(model, name), "help": flag_help(model, name, text)}
