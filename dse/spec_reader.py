"""Reading and validating sweep spec files (format: :mod:`dse.sweep`) into :class:`SweepSpec`.

Every problem is a one-line :class:`rtmm.errors.SpecError` naming the file, the field and the
allowed values.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dse.spec import (
    _ACCEL_RE,
    _TOP_KEYS,
    ACCELERATOR_FIELDS,
    SYSTEM_FIELDS,
    Axis,
    ExecutorSpec,
    PointValues,
    SampleSpec,
    SweepFile,
    SweepSpec,
    presets,
)
from rtmm.errors import SpecError
from rtmm.fileio import load_yaml
from rtmm.limits import INT64_MAX
from rtmm.names import did_you_mean
from rtmm.validation import Checker, field_checker, lookup, validate

# --------------------------------------------------------------------------------------------
# Reading and validation
# --------------------------------------------------------------------------------------------


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep spec file (:class:`SpecError` naming file and field)."""
    return parse_spec(load_yaml(path), source=str(path))


def parse_spec(data: Any, *, source: str = "<api>") -> SweepSpec:
    """Validate the parsed YAML of a sweep spec (:class:`SweepFile`, then every axis value by its
    field's model) and build a :class:`SweepSpec`."""
    if not isinstance(data, Mapping):
        raise SpecError(
            "a sweep spec must be a mapping", source=source, allowed=", ".join(_TOP_KEYS)
        )
    doc: SweepFile = validate(SweepFile, data, source=source)
    bases = _axis("base_system", doc.base_system, _point("base_system"), source)
    hardware = tuple(_hardware_axis(str(k), v, source) for k, v in (doc.axes or {}).items())
    sample = None if doc.sample is None else SampleSpec(**doc.sample.model_dump())
    executor = ExecutorSpec(**(doc.executor.model_dump() if doc.executor else {}))
    spec = SweepSpec(
        source=source,
        base_systems=bases,
        base_system_refs=tuple(_resolve_system_ref(b, source) for b in bases.values),
        hardware_axes=hardware,
        scenarios=_axis("scenarios", doc.scenarios, _point("scenarios"), source),
        policies=_axis("policies", doc.policies, _point("policies"), source),
        modes=_axis("modes", doc.modes, _point("modes"), source),
        seeds=_axis("seeds", doc.seeds, _point("seeds"), source),
        horizon_ms=_axis("horizon_ms", doc.horizon_ms, _point("horizon_ms"), source),
        analysis=_optional_axis("analysis", doc.analysis, "analysis", source),
        cascade_probabilities=_optional_axis(
            "cascade_probabilities", doc.cascade_probabilities, "cascade_probability", source
        ),
        name=doc.name,
        sample=sample,
        executor=executor,
        batch_size=doc.batch_size,
        evaluator=doc.evaluator,
    )
    if (
        spec.sample is not None
        and spec.sample.method == "random"
        and spec.sample.n > spec.full_size
    ):
        raise SpecError(
            f"n = {spec.sample.n} exceeds the {spec.full_size} points of the full cross product",
            source=source,
            field="sample.n",
            allowed=f"1..{spec.full_size}",
        )
    if spec.full_size > INT64_MAX:
        raise SpecError(
            f"the axes' cross product has {spec.full_size} points",
            source=source,
            allowed="fewer than 2^63 points (use fewer or shorter axes)",
        )
    return spec


@functools.cache
def _checker(model: type[BaseModel], name: str) -> Checker:
    return field_checker(model, name)


def _point(name: str) -> Checker:
    return _checker(PointValues, name)


def _optional_axis(key: str, raw: Any, axis_name: str, source: str) -> Axis:
    """An axis that is absent unless given (``None``: the default of each point)."""
    if raw is None:
        return Axis(axis_name, (None,))
    return _axis(key, raw, _point(key), source, axis_name=axis_name)


def _resolve_system_ref(base: str, source: str) -> str:
    """A base system that looks like a path is resolved relative to the spec file."""
    if base.endswith((".yaml", ".yml")) or "/" in base or os.sep in base:
        p = Path(base)
        if not p.is_absolute() and source not in ("<api>", "<string>"):
            p = Path(source).resolve().parent / p
        return str(p)
    return base


def _hardware_axis(name: str, raw: Any, source: str) -> Axis:
    m = _ACCEL_RE.match(name)
    where = SYSTEM_FIELDS.get(name) or (ACCELERATOR_FIELDS.get(m.group(2)) if m else None)
    if where is None:
        allowed = ", ".join(
            [*SYSTEM_FIELDS, *(f"accelerators[i|*].{f}" for f in ACCELERATOR_FIELDS)]
        )
        raise SpecError(
            f"unknown axis field '{name}'{did_you_mean(name, allowed.split(', '))}",
            source=source,
            field="axes",
            allowed=allowed,
        )
    field = m.group(2).rsplit(".", 1)[-1] if m else name
    if field in ("dataflow", "energy"):
        return _axis(f"axes.{name}", raw, field, source, axis_name=name)
    return _axis(f"axes.{name}", raw, _checker(*where), source, axis_name=name)


def _axis(
    where: str, raw: Any, check: Checker | str, source: str, *, axis_name: str | None = None
) -> Axis:
    """Parse an axis: a list, ``{values: [...]}``, ``{start, stop, step}`` or a single scalar;
    each value checked by ``check`` (a field's checker, or ``dataflow``/``energy``: preset names).
    """
    if isinstance(raw, Mapping):
        keys = set(raw)
        if keys == {"values"}:
            values = raw["values"]
            if not isinstance(values, list):
                raise SpecError("'values' must be a list", source=source, field=where)
        elif keys == {"start", "stop", "step"}:
            values = _range(raw, _is_int(check), source, where)
        else:
            raise SpecError(
                f"unknown axis form with keys {sorted(map(str, keys))}",
                source=source,
                field=where,
                allowed="a list, {values: [...]} or {start, stop, step}",
            )
    elif isinstance(raw, list):
        values = raw
    else:
        values = [raw]
    if not values:
        raise SpecError("empty axis", source=source, field=where, allowed="at least one value")
    parsed = tuple(_value(v, check, source, where) for v in values)
    if len(set(map(_canon, parsed))) != len(parsed):
        raise SpecError("repeated value in axis", source=source, field=where, allowed="each once")
    return Axis(axis_name or where, parsed)


def _is_int(check: Checker | str) -> bool:
    found = None if isinstance(check, str) else lookup(check.model, (check.name,))
    return found is not None and found[0] is int


def _value(v: Any, check: Checker | str, source: str, where: str) -> Any:
    """One axis value, checked (and normalised: ints stay ints, numbers become floats)."""
    if isinstance(check, Checker):
        return validate(check, v, source=source, prefix=where)
    known = presets(check)
    if not isinstance(v, str) or v not in known:
        raise SpecError(
            f"unknown {check} {v!r}{did_you_mean(str(v), known)}",
            source=source,
            field=where,
            allowed=", ".join(sorted(known)),
        )
    return v


def _canon(v: Any) -> str:
    return json.dumps(v)


def _range(raw: Mapping, integer: bool, source: str, where: str) -> list[Any]:
    nums = {}
    for key in ("start", "stop", "step"):
        v = raw[key]
        if (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or (isinstance(v, int) and abs(v) > INT64_MAX)
            or not math.isfinite(v)
        ):
            raise SpecError(
                f"range '{key}' must be a finite number", source=source, field=where,
                allowed="numbers of magnitude < 2^63",
            )  # fmt: skip
        nums[key] = v
    start, stop, step = nums["start"], nums["stop"], nums["step"]
    if step <= 0:
        raise SpecError(f"bad range: step {step} must be > 0", source=source, field=where)
    if stop < start:
        raise SpecError(
            f"bad range: stop {stop} < start {start}",
            source=source,
            field=where,
            allowed="start <= stop (stop is inclusive)",
        )
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 1_000_000:
        raise SpecError(f"bad range: {count} values", source=source, field=where, allowed="<= 1e6")
    if all(isinstance(nums[k], int) for k in nums):
        return [start + i * step for i in range(count)]
    if integer:
        raise SpecError(
            "bad range: integer field needs integer start/stop/step", source=source, field=where
        )
    return [float(f"{start + i * step:.12g}") for i in range(count)]
