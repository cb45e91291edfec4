"""Reading and validating sweep spec files (format: :mod:`dse.sweep`) into :class:`SweepSpec`.

Every problem is a one-line :class:`rtmm.errors.SpecError` naming the file, the field and the
allowed values.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dse.spec import (
    _ACCEL_RE,
    _KIND_ALLOWED,
    _TOP_KEYS,
    ACCELERATOR_FIELDS,
    ANALYSES,
    DEFAULT_HORIZON_MS,
    EXECUTORS,
    MODES,
    SAMPLE_METHODS,
    SYSTEM_FIELDS,
    Axis,
    ExecutorSpec,
    SampleSpec,
    SweepSpec,
    presets,
)
from rtmm.errors import SpecError
from rtmm.fileio import load_yaml
from rtmm.limits import INT64_MAX, MAX_HORIZON_MS, MAX_POINTS
from rtmm.names import did_you_mean

# --------------------------------------------------------------------------------------------
# Reading and validation
# --------------------------------------------------------------------------------------------


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep spec file (:class:`SpecError` naming file and field)."""
    return parse_spec(load_yaml(path), source=str(path))


def parse_spec(data: Any, *, source: str = "<api>") -> SweepSpec:
    """Validate the parsed YAML of a sweep spec and build a :class:`SweepSpec`."""
    if not isinstance(data, Mapping):
        raise SpecError(
            "a sweep spec must be a mapping", source=source, allowed=", ".join(_TOP_KEYS)
        )
    for key in data:
        if key not in _TOP_KEYS:
            raise SpecError(
                f"unknown key '{key}'{did_you_mean(str(key), _TOP_KEYS)}",
                source=source,
                allowed=", ".join(_TOP_KEYS),
            )
    for key in ("base_system", "scenarios", "policies"):
        if key not in data:
            raise SpecError(f"missing required key '{key}'", source=source)
    bases = _axis("base_system", data["base_system"], "str", source)
    axes_data = data.get("axes") or {}
    if not isinstance(axes_data, Mapping):
        raise SpecError("must be a mapping of field path to values", source=source, field="axes")
    hardware = tuple(_hardware_axis(str(k), v, source) for k, v in axes_data.items())
    horizon = _axis("horizon_ms", data.get("horizon_ms", DEFAULT_HORIZON_MS), "pos_float", source)
    for value in horizon.values:
        if value > MAX_HORIZON_MS:
            raise SpecError(
                f"bad value {value!r}",
                source=source,
                field="horizon_ms",
                allowed=f"0 < horizon_ms <= {MAX_HORIZON_MS:g}",
            )
    spec = SweepSpec(
        source=source,
        base_systems=bases,
        base_system_refs=tuple(_resolve_system_ref(b, source) for b in bases.values),
        hardware_axes=hardware,
        scenarios=_axis("scenarios", data["scenarios"], "str", source),
        policies=_axis("policies", data["policies"], "str", source),
        modes=_choice_axis("modes", data.get("modes", "xrbench"), MODES, source),
        seeds=_axis("seeds", data.get("seeds", 0), "nonneg_int", source),
        horizon_ms=Axis("horizon_ms", tuple(float(v) for v in horizon.values)),
        analysis=_analysis_axis(data.get("analysis"), source),
        cascade_probabilities=_cascade_axis(data.get("cascade_probabilities"), source),
        name=_scalar(data.get("name", ""), "str", source, "name") if "name" in data else "",
        sample=_sample(data.get("sample"), source),
        executor=_executor(data.get("executor"), source),
        batch_size=_opt_pos_int(data.get("batch_size"), source, "batch_size"),
        evaluator=_evaluator_ref(data.get("evaluator"), source),
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


def _resolve_system_ref(base: str, source: str) -> str:
    """A base system that looks like a path is resolved relative to the spec file."""
    if base.endswith((".yaml", ".yml")) or "/" in base or os.sep in base:
        p = Path(base)
        if not p.is_absolute() and source not in ("<api>", "<string>"):
            p = Path(source).resolve().parent / p
        return str(p)
    return base


def _hardware_axis(name: str, raw: Any, source: str) -> Axis:
    if name in SYSTEM_FIELDS:
        return _axis(f"axes.{name}", raw, SYSTEM_FIELDS[name], source, axis_name=name)
    m = _ACCEL_RE.match(name)
    if m is None or m.group(2) not in ACCELERATOR_FIELDS:
        allowed = ", ".join(
            [*SYSTEM_FIELDS, *(f"accelerators[i|*].{f}" for f in ACCELERATOR_FIELDS)]
        )
        raise SpecError(
            f"unknown axis field '{name}'{did_you_mean(name, allowed.split(', '))}",
            source=source,
            field="axes",
            allowed=allowed,
        )
    return _axis(f"axes.{name}", raw, ACCELERATOR_FIELDS[m.group(2)], source, axis_name=name)


def _axis(where: str, raw: Any, kind: str, source: str, *, axis_name: str | None = None) -> Axis:
    """Parse an axis: a list, ``{values: [...]}``, ``{start, stop, step}`` or a single scalar."""
    if isinstance(raw, Mapping):
        keys = set(raw)
        if keys == {"values"}:
            values = raw["values"]
            if not isinstance(values, list):
                raise SpecError("'values' must be a list", source=source, field=where)
        elif keys == {"start", "stop", "step"}:
            values = _range(raw, kind, source, where)
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
    parsed = tuple(_scalar(v, kind, source, where) for v in values)
    if len(set(map(_canon, parsed))) != len(parsed):
        raise SpecError("repeated value in axis", source=source, field=where, allowed="each once")
    return Axis(axis_name or where, parsed)


def _canon(v: Any) -> str:
    return json.dumps(v)


def _range(raw: Mapping, kind: str, source: str, where: str) -> list[Any]:
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
    if kind in ("pos_int", "nonneg_int", "int"):
        raise SpecError(
            "bad range: integer field needs integer start/stop/step", source=source, field=where
        )
    return [float(f"{start + i * step:.12g}") for i in range(count)]


def _scalar(v: Any, kind: str, source: str, where: str) -> Any:
    """Check one value against ``kind``; return it normalised (ints for int kinds, floats...)."""
    ok = True
    if kind in ("pos_int", "nonneg_int", "int"):
        ok = isinstance(v, int) and not isinstance(v, bool)
        ok = ok and (kind == "int" or v >= (1 if kind == "pos_int" else 0))
    elif kind in ("pos_float", "fraction", "probability"):
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if kind == "pos_float":
            ok = ok and v > 0
        else:
            ok = ok and (0 < v < 1 if kind == "fraction" else 0 <= v <= 1)
        v = float(v) if ok else v
    elif kind == "bool":
        ok = isinstance(v, bool)
    elif kind in ("str", "dataflow", "energy"):
        ok = isinstance(v, str) and v.strip() != ""
        if ok and kind in ("dataflow", "energy"):
            known = presets(kind)
            if v not in known:
                raise SpecError(
                    f"unknown {kind} '{v}'{did_you_mean(v, known)}",
                    source=source,
                    field=where,
                    allowed=", ".join(sorted(known)),
                )
    if not ok:
        raise SpecError(f"bad value {v!r}", source=source, field=where, allowed=_KIND_ALLOWED[kind])
    if isinstance(v, int) and abs(v) > INT64_MAX:
        raise SpecError(f"bad value {v}", source=source, field=where, allowed="integers < 2^63")
    return v


def _choice_axis(where: str, raw: Any, choices: Sequence[str], source: str) -> Axis:
    axis = _axis(where, raw, "str", source)
    for v in axis.values:
        if v not in choices:
            raise SpecError(
                f"unknown value '{v}'{did_you_mean(str(v), choices)}",
                source=source,
                field=where,
                allowed=", ".join(choices),
            )
    return axis


def _analysis_axis(raw: Any, source: str) -> Axis:
    if raw is None:
        return Axis("analysis", (None,))
    return _choice_axis("analysis", raw, ANALYSES, source)


def _cascade_axis(raw: Any, source: str) -> Axis:
    if raw is None:
        return Axis("cascade_probability", (None,))
    axis = _axis("cascade_probabilities", raw, "probability", source)
    return Axis("cascade_probability", axis.values)


def _sample(raw: Any, source: str) -> SampleSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SpecError("must be a mapping {method, n, seed}", source=source, field="sample")
    for key in raw:
        if key not in ("method", "n", "seed"):
            raise SpecError(
                f"unknown key '{key}'", source=source, field="sample", allowed="method, n, seed"
            )
    method = raw.get("method")
    if method not in SAMPLE_METHODS:
        raise SpecError(
            f"unknown sample method {method!r}",
            source=source,
            field="sample.method",
            allowed=", ".join(SAMPLE_METHODS),
        )
    if "n" not in raw:
        raise SpecError("missing 'n'", source=source, field="sample.n", allowed="an integer >= 1")
    n = _scalar(raw["n"], "pos_int", source, "sample.n")
    if n > MAX_POINTS:
        raise SpecError(
            f"n = {n}", source=source, field="sample.n", allowed=f"1..{MAX_POINTS} points"
        )
    seed = _scalar(raw.get("seed", 0), "nonneg_int", source, "sample.seed")
    return SampleSpec(method=method, n=n, seed=seed)


def _executor(raw: Any, source: str) -> ExecutorSpec:
    if raw is None:
        return ExecutorSpec()
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, Mapping):
        raise SpecError(
            "must be a name or a mapping {name, workers, address}", source=source, field="executor"
        )
    for key in raw:
        if key not in ("name", "workers", "address"):
            raise SpecError(
                f"unknown key '{key}'",
                source=source,
                field="executor",
                allowed="name, workers, address",
            )
    name = raw.get("name", "local")
    if name not in EXECUTORS:
        raise SpecError(
            f"unknown executor {name!r}",
            source=source,
            field="executor.name",
            allowed=", ".join(EXECUTORS),
        )
    workers = _opt_pos_int(raw.get("workers"), source, "executor.workers")
    address = raw.get("address")
    if address is not None and not (isinstance(address, str) and "://" in address):
        raise SpecError(
            f"bad address {address!r}",
            source=source,
            field="executor.address",
            allowed="a scheduler address like tcp://HOST:PORT",
        )
    return ExecutorSpec(name=name, workers=workers, address=address)


def _opt_pos_int(raw: Any, source: str, where: str) -> int | None:
    return None if raw is None else _scalar(raw, "pos_int", source, where)


def _evaluator_ref(raw: Any, source: str) -> str | None:
    if raw is None:
        return None
    if not (isinstance(raw, str) and re.fullmatch(r"[\w.]+:\w+", raw)):
        raise SpecError(
            f"bad evaluator {raw!r}",
            source=source,
            field="evaluator",
            allowed="module.path:function",
        )
    return raw
